"""``mssim sensitivity``: which assumptions drive power, written to a folder.

The folder holds ``sensitivity.csv`` (one row per field, most influential
first: range, Morris ``mu_star`` with its confidence half-width, ``sigma``, and
power at each end of the range), ``sensitivity_points.csv`` (every point run),
``tornado.png``/``.svg``, ``manifest.json`` and ``report.html``. With
``--run FOLDER`` the screening is added to a run's folder instead (its
scenario must be the one screened), so the run's report ranks its assumptions
and says what happens if the top ones are wrong.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from mssim.commands.folders import default_folder, open_folder
from mssim.commands.priors import refuse_priors
from mssim.config import sizes
from mssim.config.load import load_scenario, validate, with_options
from mssim.config.scenario import Scenario
from mssim.errors import MssimError
from mssim.files import atomic_write_bytes, write_figure, write_table
from mssim.montecarlo.parallel import run_key
from mssim.montecarlo.sensitivity import Sensitivity, morris_screening, wrong_sentence
from mssim.outputs.figures.sensitivity import tornado
from mssim.outputs.provenance import Provenance
from mssim.outputs.report import write_report


def sensitivity_command(
    file: Path | None,
    overrides: list[str],
    fields: list[str],
    n_per_arm: int | None,
    replicates: int,
    trajectories: int,
    seed: int | None,
    n_jobs: int,
    backend: str,
    out: Path | None,
    force_jobs: bool = False,
    run: Path | None = None,
) -> Path:
    """Run a Morris screening of the scenario's assumptions and write its folder.

    Args:
        file: Scenario file, or None for the embedded default.
        overrides: ``--set`` overrides.
        fields: Dotted fields to screen; empty: every assumption the scenario
            uses and the arms' effects.
        n_per_arm: n per arm at which power is measured (default: the run's answer
            with ``run``, else ``trial.n_per_arm``).
        replicates: Replicate trials per point.
        trajectories: Morris trajectories.
        seed: Root seed of every point (default the scenario's).
        n_jobs: Parallel workers.
        backend: ``threads``, ``processes`` or ``dask``.
        out: Output folder (default ``results/<name>/sensitivity-<timestamp>``).
        force_jobs: Allow more workers than cores.
        run: A run's folder to add the screening to, instead of a folder of its own.

    Returns:
        The folder.

    Raises:
        MssimError: For a bad field, or a run folder of another scenario; nothing
            is written then.
    """
    scenario = with_options(load_scenario(file, overrides), seed=seed)
    refuse_priors(scenario, file, "sensitivity")
    if run is not None:
        check_run_folder(Path(run), scenario)
        if out is not None:
            raise MssimError("--out and --run: give one; --run adds the screening to a run")
        if n_per_arm is None and (Path(run) / "sample_size.json").is_file():
            n_per_arm = headline_n(Path(run))
    n_jobs = sizes.check_jobs(n_jobs, force_jobs)
    key = run_key(
        {
            "kind": "sensitivity",
            "scenario": scenario.model_dump(mode="json"),
            "fields": fields,
            "n": n_per_arm,
            "replicates": replicates,
            "trajectories": trajectories,
        }
    )
    if run is not None:
        folder = Path(run)
    else:
        folder = Path(out) if out is not None else default_folder(scenario.name, "sensitivity")
    result = morris_screening(
        scenario,
        fields or None,
        n_per_arm,
        replicates,
        trajectories,
        n_jobs=n_jobs,
        backend=backend,
    )
    if run is None:
        open_folder(folder, "sensitivity", key)
    write_table(result.table, folder / "sensitivity.csv")
    write_table(result.points, folder / "sensitivity_points.csv")
    write_figure(tornado(result.table, result.base_power), folder / "tornado.png")
    summary = {
        "method": "Morris elementary effects (SALib), common random numbers",
        "n_per_arm": result.n_per_arm,
        "replicates": result.replicates,
        "trajectories": result.trajectories,
        "points": len(result.points),
        "base_power": result.base_power,
    }
    if run is None:
        prov = Provenance(scenario)
        prov.extra["sensitivity"] = summary
        prov.write(folder)
    else:  # the run's manifest keeps its own provenance and gains the screening's
        manifest = json.loads((folder / "manifest.json").read_text())
        atomic_write_bytes(
            folder / "manifest.json",
            json.dumps({**manifest, "sensitivity": summary}, indent=2).encode(),
        )
    write_report(folder)
    print_ranking(result)
    return folder


def check_run_folder(folder: Path, scenario: Scenario) -> None:
    """Refuse a folder that is not a run of this very scenario.

    Raises:
        MssimError: Naming the folder and what differs.
    """
    manifest = folder / "manifest.json"
    if not (folder / "power.csv").is_file() or not manifest.is_file():
        raise MssimError(f"--run {folder}: not a finished run folder (no power.csv, manifest.json)")
    try:
        recorded = validate(json.loads(manifest.read_text())["scenario"], str(manifest))
    except (OSError, ValueError, KeyError) as err:
        raise MssimError(f"--run {folder}: cannot read its scenario: {err}") from None
    # power settings (replicates, sizes) do not change a simulated trial
    if recorded.model_dump(mode="json", exclude={"power"}) != scenario.model_dump(
        mode="json", exclude={"power"}
    ):
        raise MssimError(
            f"--run {folder}: its scenario differs from the one screened; give the run's "
            "scenario file, --set overrides and --seed"
        )


def headline_n(folder: Path) -> int | None:
    """The n per arm of a run's sample-size answer (None when above the sizes examined)."""
    answer = json.loads((folder / "sample_size.json").read_text())
    return answer.get("n_per_arm")


def print_ranking(result: Sensitivity, top: int = 10) -> None:
    """Print the most influential fields and what they do to power."""
    shown = result.table.head(top)[["rank", "field", "value", "low", "high", "mu_star"]]
    with pd.option_context("display.width", 160):
        print(shown.to_string(index=False, float_format=lambda x: f"{x:.3g}"))
    print(
        f"\nPower at n = {result.n_per_arm} per arm: {result.base_power:.3f} as the scenario "
        f"is; {len(result.points)} points of {result.replicates} replicate trials, common "
        "random numbers. If the top assumptions are wrong:"
    )
    for row in result.table.head(3).itertuples():
        print(f"  {wrong_sentence(pd.Series(row._asdict()), result.base_power)}")
