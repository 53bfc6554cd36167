"""``mssim simulate``: one trial's data, analyses and figure, written to a folder."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from mssim.commands.folders import MARKER, check_folder, read_marker, write_marker
from mssim.config import sizes
from mssim.config.scenario import Scenario
from mssim.errors import MssimError
from mssim.files import atomic_write_bytes, write_figure
from mssim.model.engine import one_trial
from mssim.montecarlo.analyses import analyses_for
from mssim.montecarlo.parallel import run_key
from mssim.montecarlo.prior_replicate import drawn_sentence, replicate_scenario
from mssim.outputs.figures.trajectories import patient_trajectories
from mssim.outputs.provenance import Provenance
from mssim.trial.analyses.n_of_1_patients import series_patients
from mssim.trial.randomization import Trials, randomized, total_patients
from mssim.trial.tables import TrialTables, analysis_table, tables

ENGINES = ("vectorized", "mesa")


def simulate_one_trial(
    scenario: Scenario,
    n_per_arm: int | None = None,
    engine: str = "vectorized",
    replicate: int = 0,
) -> tuple[Trials, TrialTables]:
    """Simulate one replicate of the scenario's seed with the chosen engine.

    Args:
        scenario: The scenario (with any prior values already put in).
        n_per_arm: Patients per arm (default ``trial.n_per_arm``).
        engine: ``vectorized`` or ``mesa``.
        replicate: Replicate index: picks the random streams (as in a Monte Carlo run).

    Returns:
        (the randomized trial, its tidy tables).
    """
    n = n_per_arm or scenario.trial.n_per_arm
    if engine == "mesa":
        from mssim.views.abm import TrialModel

        model = TrialModel(scenario=scenario, n_per_arm=n, replicate=replicate)
        model.run()
        trials = model.trials()
    elif engine == "vectorized":
        outcomes = one_trial(scenario, total_patients(scenario, n), replicate)
        trials = randomized(scenario, outcomes)
    else:
        raise MssimError(f"--engine: unknown engine {engine!r}; allowed: {', '.join(ENGINES)}")
    return trials, tables(trials)


TABLES = ("patients", "visits", "daily", "sessions", "relapses", "arms", "analysis")
FILES = (
    *(f"{name}.csv" for name in TABLES),
    "trajectories.png",
    "trajectories.svg",
    "manifest.json",
)


def write_one_trial(
    scenario: Scenario,
    n_per_arm: int | None,
    out: Path,
    analysis: str | None = None,
    engine: str = "vectorized",
    max_memory: int | None = None,
    max_hours: float | None = None,
    replicate: int = 0,
) -> Path:
    """Write patients, visits, daily, sessions, relapses, arms and analysis tables.

    Files are written to a temporary folder beside ``out`` first and moved
    into ``out`` at the end, so an error leaves nothing half-written. ``out``
    must be new, empty, or an earlier ``simulate`` folder holding only the
    files mssim wrote there (those files are replaced, nothing else is touched).

    Args:
        scenario: The scenario.
        n_per_arm: Patients per arm (default ``trial.n_per_arm``).
        out: Output folder.
        analysis: Analysis name, ``"all"`` for every fitting method, or None
            for ``trial.analysis``.
        engine: ``vectorized`` or ``mesa``.
        max_memory: Memory it may use (bytes); default: what is available.
        max_hours: Longest run accepted (default 24 hours).
        replicate: Replicate index. With ``[priors]`` the trial takes replicate
            ``replicate``'s draws (:mod:`mssim.montecarlo.prior_replicate`): the
            trial that replicate of the assurance run simulated; the values are
            printed and recorded in ``manifest.json`` (``prior_draws``).

    Returns:
        The output folder.

    Raises:
        MssimError: For an analysis that does not fit, an unknown engine or a
            folder mssim may not write into; nothing is written then.
    """
    scenario, drawn = replicate_scenario(scenario, replicate)
    methods = analyses_for(scenario, single_trial=True)
    if analysis == "all":
        chosen = methods
    else:
        chosen = [analysis or scenario.trial.analysis]
        if chosen[0] not in methods:
            raise MssimError(
                f"--analysis: {chosen[0]!r} does not fit this scenario; allowed: "
                + ", ".join([*methods, "all"])
            )
    if engine not in ENGINES:
        raise MssimError(f"--engine: unknown engine {engine!r}; allowed: {', '.join(ENGINES)}")
    n = n_per_arm or scenario.trial.n_per_arm
    key = run_key(
        {
            "kind": "simulate",
            "scenario": scenario.model_dump(mode="json"),
            "n_per_arm": n,
            "analyses": chosen,
            "engine": engine,
            "replicate": replicate,
        }
    )
    out = Path(out)
    check_folder(out, "simulate", key, refreshable=True)
    sizes.single_trial(scenario, n, budget=max_memory, max_hours=max_hours)
    prov = Provenance(scenario)
    trials, t = simulate_one_trial(scenario, n_per_arm, engine, replicate)
    result = analysis_table(trials, chosen)
    series = series_patients(trials)  # N-of-1 designs: per-patient effects
    figure = patient_trajectories(t.daily, t.sessions, t.relapses)
    frames = dict(
        zip(
            TABLES,
            (t.patients, t.visits, t.daily, t.sessions, t.relapses, t.arms, result),
            strict=True,
        )
    )
    written = list(FILES)
    if series is not None:
        frames["n_of_1_patients"] = series
        written.append("n_of_1_patients.csv")
    prov.extra.update({"engine": engine, "n_per_arm": n, "replicate": replicate})
    if drawn:
        prov.extra["prior_draws"] = drawn
    with staging_folder(out) as work:
        write_marker(work, "simulate", key)
        for name, frame in frames.items():
            atomic_write_bytes(work / f"{name}.csv", frame.to_csv(index=False).encode())
        write_figure(figure, work / "trajectories.png")
        prov.write(work)
        write_marker(work, "simulate", key, written)
        check_folder(out, "simulate", key, refreshable=True)
        _move_into(work, out)
    if drawn:
        print(drawn_sentence(replicate, drawn))
    _print_summary(t.arms, result)
    if series is not None:
        print(
            f"N-of-1 series: {series.true_responder.mean():.0%} of analysed patients respond; "
            f"responder status right for {series.shrunken_correct.mean():.0%} by the shrunken "
            f"and {series.paired_correct.mean():.0%} by the paired estimates "
            "(n_of_1_patients.csv)"
        )
    return out


@contextlib.contextmanager
def staging_folder(out: Path) -> Iterator[Path]:
    """A new, empty folder beside ``out``, removed on exit whatever happens.

    Its name is ``.<out name>.mssim-<pid>.tmp``. Staging folders left by a
    killed ``simulate`` (their process is gone) are removed first; only
    folders of that name that carry mssim's marker are ever removed.
    """
    target = Path(os.path.abspath(out))
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_staging(target)
    work = target.parent / f".{target.name}.mssim-{os.getpid()}.tmp"
    work.mkdir()
    try:
        yield work
    finally:
        if work.is_dir() and not work.is_symlink():
            shutil.rmtree(work)


def _remove_stale_staging(target: Path) -> None:
    pattern = re.compile(rf"^\.{re.escape(target.name)}\.mssim-(\d+)\.tmp$")
    for entry in target.parent.iterdir():
        found = pattern.match(entry.name)
        if not found or entry.is_symlink() or not entry.is_dir():
            continue
        pid = int(found.group(1))
        if (pid == os.getpid() or not _alive(pid)) and read_marker(entry) is not None:
            shutil.rmtree(entry)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _move_into(work: Path, out: Path) -> None:
    """Move the finished files into ``out`` (a rename when ``out`` is new)."""
    if not os.path.lexists(out):
        work.rename(out)
        work.mkdir()  # the staging context removes this empty stand-in
        return
    for name in [*FILES, MARKER]:
        os.replace(work / name, out / name)


def _print_summary(arms: pd.DataFrame, result: pd.DataFrame) -> None:
    with pd.option_context("display.width", 120, "display.max_columns", 20):
        print(arms.to_string(index=False, float_format=lambda x: f"{x:.2f}"))
        print()
        cols = [
            "endpoint",
            "contrast",
            "method",
            "estimate",
            "ci_low",
            "ci_high",
            "p_value",
            "n_analysed",
        ]
        print(result[cols].to_string(index=False, float_format=lambda x: f"{x:.3f}"))
