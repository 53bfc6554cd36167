"""``mssim sweep``: a sweep written to a folder (table, figures, manifest, report)."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pandas as pd

from mssim.commands.folders import default_folder, open_folder
from mssim.commands.priors import refuse_priors
from mssim.commands.run import SHOWN
from mssim.config import sizes
from mssim.config.load import load_scenario, with_options
from mssim.config.scenario import Scenario
from mssim.files import write_figure, write_table
from mssim.montecarlo.analyses import check_analyses
from mssim.montecarlo.parallel import run_key
from mssim.montecarlo.sweep import (
    Value,
    cell_scenario,
    check_grid,
    parse_grid,
    run_sweep,
    sweep_points,
)
from mssim.outputs.figures.sweep import sweep_figures
from mssim.outputs.provenance import Provenance
from mssim.outputs.report import write_report


def write_sweep(
    out: Path,
    table: pd.DataFrame,
    scenario: Scenario,
    grid: dict[str, list[Value]],
    lhs: int | None,
    prov: Provenance,
) -> None:
    """Write sweep.csv, figures, manifest.json and report.html into ``out``."""
    points = sweep_points(scenario, grid, lhs)
    figures = sweep_figures(table, scenario, list(grid), lhs is None)
    write_table(table, out / "sweep.csv")
    for name, figure in figures.items():
        write_figure(figure, out / name)
    prov.extra.update(
        {
            "replicates": int(table.replicates.iloc[0]),
            "grid": {field: list(values) for field, values in grid.items()},
            "lhs": lhs,
            "cells": [{"cell": i, **point} for i, point in enumerate(points)],
            "n_per_arm": sorted(int(n) for n in table.n_per_arm.unique()),
        }
    )
    prov.write(out)
    write_report(out)


def print_summary(table: pd.DataFrame, fields: list[str]) -> None:
    """Print the primary endpoint's power in every cell as a readable table."""
    first = table.iloc[0]
    rows = table[table.endpoint == first.endpoint]  # one analysis per cell (it may be swept)
    shown = [
        "analysis",
        "contrast",
        "n_per_arm",
        "power",
        "power_mcse",
        "true_effect",
        "exaggeration",
    ]
    view = rows[[*fields, *shown]].rename(columns={k: SHOWN[k] for k in shown})
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(view.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    print(
        f"\n{table.cell.nunique()} cells x {table.n_per_arm.nunique()} sizes, "
        f"{int(first.replicates)} replicate trials each, common random numbers; "
        f"{', '.join(table.analysis.unique())} on {first.endpoint}; "
        f"power MCSE at most {table.power_mcse.max():.3f}."
    )


def sweep_command(
    file: Path | None,
    overrides: list[str],
    grid_args: list[str],
    lhs: int | None,
    replicates: int | None,
    n_jobs: int,
    backend: str,
    out: Path | None,
    max_memory: int | None = None,
    force_jobs: bool = False,
    max_hours: float | None = None,
    seed: int | None = None,
) -> Path:
    """``mssim sweep``: run a sweep into a folder and print a summary.

    Args:
        file: Scenario file, or None for the embedded default.
        overrides: ``--set`` overrides applied before sweeping.
        grid_args: ``--grid dotted.field=v1,v2,...`` strings.
        lhs: Latin-hypercube points instead of the full grid, or None.
        replicates: Trials per design point and cell.
        n_jobs: Parallel workers.
        backend: ``threads``, ``processes`` or ``dask``.
        out: Sweep folder; default ``results/<name>/sweep-<timestamp>/``.
        max_memory: Memory the sweep may use (bytes); default: what is available.
        force_jobs: Allow more workers than cores.
        max_hours: Longest sweep accepted (default 24 hours).
        seed: Root seed of every cell (default the scenario's).

    Returns:
        The sweep folder.
    """
    scenario = with_options(load_scenario(file, overrides), seed=seed, replicates=replicates)
    refuse_priors(scenario, file, "sweep")
    grid = check_grid(parse_grid(grid_args))
    n_jobs = sizes.check_jobs(n_jobs, force_jobs)
    cells = lhs if lhs is not None else math.prod(len(values) for values in grid.values())
    sizes.monte_carlo(
        scenario,
        replicates or scenario.power.replicates,
        scenario.power.n_per_arm,
        cells=cells,
        workers=n_jobs if backend != "threads" else 1,
        budget=max_memory,
        max_hours=max_hours,
    )
    points = sweep_points(scenario, grid, lhs)
    for i, point in enumerate(points):  # every cell valid before anything is written
        cell = cell_scenario(scenario, point, i)
        check_analyses(cell, [cell.trial.analysis])
    key = run_key(
        {
            "kind": "sweep",
            "scenario": scenario.model_dump(mode="json"),
            "grid": grid,
            "lhs": lhs,
            "replicates": replicates or scenario.power.replicates,
        }
    )
    folder = Path(out) if out is not None else default_folder(scenario.name, "sweep")
    open_folder(folder, "sweep", key)
    prov = Provenance(scenario)
    try:
        table = run_sweep(
            scenario,
            grid,
            lhs=lhs,
            replicates=replicates,
            n_jobs=n_jobs,
            backend=backend,
            out=folder,
        )
    except KeyboardInterrupt:
        # the default folder is new each time: say which one to resume
        print(f"\nmssim: to resume this sweep, add --out {folder}", file=sys.stderr)
        raise
    write_sweep(folder, table, scenario, grid, lhs, prov)
    print_summary(table, list(grid))
    return folder
