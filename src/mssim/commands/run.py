"""``mssim run``: a Monte Carlo run written to a results folder.

The folder holds ``power.csv`` (operating characteristics with MCSE),
``power.png``, ``estimates.parquet`` (every replicate trial's result),
``sample_size.json`` (the one sample-size answer, :class:`~mssim.montecarlo.sample_size.Headline`),
``matched_null.json`` and ``matched_null.csv`` (type I error under the scenario's
own null, same random numbers), ``crosscheck.json`` (the closed-form ANCOVA
n for the simulated effect, parallel designs), ``manifest.json``, ``report.html`` and, with
``--solve-n``, ``sample_size.csv`` (the search's power curve); a group-sequential
design adds ``boundaries.csv``, ``sequential_boundaries.png`` and
``sequential_stopping.png``. Chunks are checkpointed under ``chunks/`` so the same
command resumes an interrupted run. A scenario with ``[priors]`` gets power at the
priors' centre in ``power.csv`` and assurance beside it: ``assurance.csv``,
``assurance_curve.csv`` (power by true effect), ``prior_draws.csv`` and
``assurance.png`` (:mod:`mssim.montecarlo.assurance`).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from mssim.commands.folders import (
    RESULTS,
    default_folder,
    open_folder,
    read_marker,
    slug,
)
from mssim.config import sizes
from mssim.config.load import with_options
from mssim.config.scenario import Scenario
from mssim.files import atomic_write_bytes, write_figure, write_table
from mssim.montecarlo import sequential
from mssim.montecarlo.analyses import check_analyses
from mssim.montecarlo.assurance import centre_scenario, check_priors, next_to_power, run_assurance
from mssim.montecarlo.breakdown import breakdown_columns
from mssim.montecarlo.crosscheck import NoClosedForm, crosscheck
from mssim.montecarlo.matched_null import matched_null
from mssim.montecarlo.parallel import check_scheduler, run_key
from mssim.montecarlo.power import estimate
from mssim.montecarlo.sample_size import (
    headline_from_curve,
    headline_from_search,
    primary_curve,
    solve_n,
)
from mssim.outputs.figures.assurance import assurance_figure
from mssim.outputs.figures.power import power_curve
from mssim.outputs.figures.sequential import boundary_paths, stopping
from mssim.outputs.provenance import Provenance
from mssim.outputs.report import write_report

SHOWN = {
    "analysis": "analysis",
    "contrast": "contrast",
    "n_per_arm": "n/arm",
    "power": "power",
    "power_mcse": "±mcse",
    "true_effect": "true",
    "mean_estimate": "mean est",
    "bias": "bias",
    "coverage": "coverage",
    "type_s": "type S",
    "exaggeration": "exagg.",
    "dropout_fraction": "dropout",
}


def resumable_folder(scenario: Scenario, key: str, root: Path = RESULTS) -> Path:
    """The newest unfinished folder of this run under ``root/<slug>/``, or a new one.

    Args:
        scenario: The scenario (its name is slugged into a folder name).
        key: The run key; only a folder marked with the same key is resumed.
        root: The results root.

    Returns:
        An unfinished folder of the same run, or a new timestamped folder.
    """
    base = root / slug(scenario.name)
    if base.is_dir() and not base.is_symlink():
        for folder in sorted(base.iterdir(), reverse=True):
            marker = read_marker(folder) if folder.is_dir() else None
            if marker and marker.get("key") == key and not (folder / "power.csv").exists():
                return folder
    return default_folder(scenario.name, "run", root)


def run_power(
    scenario: Scenario,
    out: Path | None = None,
    replicates: int | None = None,
    seed: int | None = None,
    n_jobs: int = 1,
    backend: str = "processes",
    scheduler: str | None = None,
    solve: bool = False,
    target: float | None = None,
    analyses: list[str] | None = None,
    chunk_size: int | None = None,
    progress: bool | None = None,
    max_memory: int | None = None,
    force_jobs: bool = False,
    max_hours: float | None = None,
) -> Path:
    """Run the Monte Carlo, write the results folder and print the table.

    Every input is checked before anything is written: the options go through
    the scenario's own validation, the analyses must fit the design, and the
    folder must be new, empty or a folder of the same run.

    Args:
        scenario: The scenario.
        out: Results folder; default: resume the newest unfinished run of this
            scenario under ``results/<slug of its name>/``, else a new timestamped folder.
        replicates: Trials per design point (default ``power.replicates``).
        seed: Root seed (default the scenario's).
        n_jobs: Parallel workers.
        backend: ``threads``, ``processes`` or ``dask``.
        scheduler: Dask scheduler address.
        solve: Also find the smallest n reaching the target power.
        target: Target power (default ``power.target``).
        analyses: Analyses (default ``[trial.analysis]``).
        chunk_size: Replicates per chunk.
        progress: Progress bar; None = only on a terminal.
        max_memory: Memory the run may use (bytes); default: what the machine
            has available. The chunk size is lowered to fit it.
        force_jobs: Allow more workers than cores.
        max_hours: Longest run accepted (default 24 hours).

    Returns:
        The results folder.

    Raises:
        MssimError: For an invalid option, analysis or folder, or a run that
            would not fit in memory (with the estimate); nothing is written then.
    """
    scenario = with_options(
        scenario, seed=seed, target=target, replicates=replicates, chunk_size=chunk_size
    )
    priors = scenario
    if scenario.priors:
        check_priors(scenario)
        scenario = centre_scenario(scenario)
    methods = analyses or [scenario.trial.analysis]
    check_analyses(scenario, methods)
    n_jobs = sizes.check_jobs(n_jobs, force_jobs)
    reps = replicates or scenario.power.replicates
    workers = n_jobs if backend != "threads" else 1
    plan = sizes.monte_carlo(
        scenario,
        reps,
        scenario.power.n_per_arm,
        len(methods),
        3 if priors.priors else 2,  # the run, its matched null and the assurance run
        chunk_size,
        workers,
        max_memory,
        max_hours,
    )
    if solve:  # the fine pass: more replicates around the answer
        top = math.ceil(1.3 * max(scenario.power.n_per_arm)) + 1
        sizes.monte_carlo(
            scenario,
            sizes.fine_replicates(scenario, reps),
            [top],
            1,
            1,
            plan.chunk_size,
            workers,
            max_memory,
            max_hours,
        )
    if plan.chunk_size < (chunk_size or scenario.power.chunk_size):
        chunk_size = plan.chunk_size
    key = run_key(
        {
            "kind": "run",
            "scenario": scenario.model_dump(mode="json"),
            "replicates": reps,
            "analyses": methods,
            "solve": solve,
            "priors": priors.model_dump(mode="json")["priors"],
        }
    )
    if backend == "dask" and scheduler:
        check_scheduler(scheduler)
    out = Path(out) if out is not None else resumable_folder(scenario, key)
    out = open_folder(out, "run", key)
    prov = Provenance(scenario)
    run = {"n_jobs": n_jobs, "backend": backend, "scheduler": scheduler, "progress": progress}
    amounts = {"replicates": replicates, "chunk_size": chunk_size}
    stats: dict = {}
    frame = estimate(
        scenario,
        analyses=methods,
        out=out,
        estimates=out / "estimates.parquet",
        keep=stats,
        **amounts,
        **run,
    )
    frame = breakdown_columns(scenario, frame, reps)
    figure = power_curve(frame, target=scenario.power.target)
    if solve:
        search = solve_n(scenario, **amounts, **run)
        write_table(search.curve, out / "sample_size.csv")
        headline = headline_from_search(scenario, search)
    else:
        headline = headline_from_curve(scenario, primary_curve(frame), scenario.power.target)
    null_sizes = set(scenario.power.n_per_arm) | {headline.n_per_arm or headline.n_examined[1]}
    null = matched_null(
        scenario, sorted(null_sizes), int(frame.replicates.iloc[0]), methods[0], **run
    )
    print_table(frame)
    write_table(frame, out / "power.csv")
    write_figure(figure, out / "power.png")
    if priors.priors:
        result = run_assurance(priors, analyses=methods, out=out / "assurance", **amounts, **run)
        table = next_to_power(result.table, frame)
        print_assurance(table)
        write_table(table, out / "assurance.csv")
        write_table(result.curve, out / "assurance_curve.csv")
        write_table(result.draws, out / "prior_draws.csv")
        write_figure(assurance_figure(table, result.curve), out / "assurance.png")
    if sequential.applies(scenario):
        table = sequential.boundaries_table(scenario, scenario.power.n_per_arm)
        write_table(table, out / "boundaries.csv")
        paths = sequential.paths(stats, sorted(set(scenario.power.n_per_arm)), methods)
        write_figure(boundary_paths(paths, table), out / "sequential_boundaries.png")
        first = frame[frame.analysis == methods[0]]
        write_figure(stopping(first), out / "sequential_stopping.png")
    write_table(null.curve, out / "matched_null.csv")
    prov.extra["replicates"] = int(frame.replicates.iloc[0])
    written = {"sample_size": headline.as_dict(), "matched_null": null.as_dict()}
    check = None
    if scenario.trial.design == "parallel":  # the closed form is for two parallel groups
        at = headline.n_per_arm or headline.n_examined[1]
        check = crosscheck(scenario, at, headline.n_per_arm, min(200, prov.extra["replicates"]))
        if isinstance(check, NoClosedForm):
            prov.extra["crosscheck"] = {"no_closed_form": check.reason}
        else:
            written["crosscheck"] = check.as_dict()
    for name, data in written.items():
        atomic_write_bytes(out / f"{name}.json", json.dumps(data, indent=2).encode())
        prov.extra[name] = data
    print(f"\n{headline.sentence()}")
    print(null.sentence(headline.n_per_arm or headline.n_examined[1], scenario.trial.alpha))
    if check is not None:
        print(check.sentence())
    prov.write(out)
    write_report(out)
    return out


def print_table(frame: pd.DataFrame) -> None:
    """Print the operating characteristics as a readable table."""
    shown = frame[list(SHOWN)].rename(columns=SHOWN)
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(shown.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    reps = int(frame.replicates.iloc[0])
    worst = frame.power_mcse.max()
    print(
        f"\n{reps} replicate trials per design point; power MCSE at most {worst:.3f}. "
        "Effects are treatment minus comparator (negative = fewer symptoms)."
    )


def print_assurance(table: pd.DataFrame) -> None:
    """Print assurance with its MCSE next to power at the priors' centre."""
    shown = {
        "analysis": "analysis",
        "contrast": "contrast",
        "n_per_arm": "n/arm",
        "assurance": "assurance",
        "assurance_mcse": "±mcse",
        "power_at_centre": "power at centre",
        "power_at_centre_mcse": "±mcse ",
        "true_effect_mean": "true (prior mean)",
        "estimate_q2.5": "est 2.5%",
        "estimate_q50": "est 50%",
        "estimate_q97.5": "est 97.5%",
    }
    print("\nAssurance: probability of success over the priors (prior predictive estimate)")
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(
            table[list(shown)]
            .rename(columns=shown)
            .to_string(index=False, float_format="{:.3f}".format)
        )
