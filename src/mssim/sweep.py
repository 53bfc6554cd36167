"""Parameter sweeps: operating characteristics over a grid of scenario fields.

A sweep varies numeric scenario fields (dotted paths, as for ``--set``) over a
Cartesian grid, or over a Latin hypercube in the box the values span. Every
cell is the scenario with overrides applied and validated by the ordinary
loader, so a bad field or value fails before anything runs. Every cell uses the
scenario's seed: replicate r draws the same noise in every cell (common random
numbers), so differences between cells are not Monte Carlo noise.

All (cell, chunk) tasks go to one :func:`mssim.parallel.run_chunks` call, so
cells and chunks run in parallel together. Chunk k of cell c is kept in
``out/cells/<c>/chunks/``; re-running the same sweep into the same folder
resumes. The folder then gets ``sweep.csv``, ``manifest.json``, figures and
``report.html``.
"""

from __future__ import annotations

import itertools
import numbers
import re
import sys
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import qmc

from mssim.errors import MssimError
from mssim.load import load_scenario, with_overrides
from mssim.parallel import (
    Checkpoints,
    ChunkResult,
    chunk_ranges,
    run_chunks,
    run_key,
)
from mssim.plots import power_heatmap, sample_size_curve
from mssim.power import check_analyses, chunk_statistics, summarize
from mssim.provenance import Provenance
from mssim.report import write_report
from mssim.run import SHOWN, write_csv
from mssim.scenario import Scenario

_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$")
_GRID_HELP = "allowed: --grid dotted.field=v1,v2,... with numbers, e.g. dropout.rate=0.1,0.2"

Point = dict[str, float]


def parse_grid(args: list[str]) -> dict[str, list[float]]:
    """Parse ``--grid dotted.field=v1,v2,...`` arguments into a grid.

    Args:
        args: One string per swept field.

    Returns:
        Field -> values, in the order given (integers stay integers).

    Raises:
        MssimError: For a malformed argument, a repeated field or a value that
            is not a number.
    """
    if not args:
        raise MssimError(f"--grid: give at least one swept field; {_GRID_HELP}")
    grid: dict[str, list[float]] = {}
    for text in args:
        field, sep, values = (part.strip() for part in text.partition("="))
        items = [v.strip() for v in values.split(",")]
        if not sep or not _FIELD.match(field) or not all(items):
            raise MssimError(f"--grid {text!r}: malformed; {_GRID_HELP}")
        if field in grid:
            raise MssimError(f"--grid {field}: given twice; give all its values in one --grid")
        grid[field] = [_parse_number(field, item) for item in items]
    return grid


def _parse_number(field: str, text: str) -> float:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        raise MssimError(f"--grid {field}: {text!r} is not a number; {_GRID_HELP}") from None


def _check_grid(grid: dict[str, list[Any]]) -> dict[str, list[float]]:
    """Refuse an empty grid, malformed field names and non-numeric values."""
    if not grid:
        raise MssimError(f"--grid: give at least one swept field; {_GRID_HELP}")
    checked: dict[str, list[float]] = {}
    for field, values in grid.items():
        if not _FIELD.match(str(field)):
            raise MssimError(f"--grid {field!r}: not a dotted field name; {_GRID_HELP}")
        one = isinstance(values, str | bytes) or not isinstance(values, Iterable)
        values = [values] if one else list(values)
        if not values:
            raise MssimError(f"--grid {field}: give a non-empty list of numbers; {_GRID_HELP}")
        for value in values:
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise MssimError(f"--grid {field}: {value!r} is not a number; {_GRID_HELP}")
        checked[field] = [int(v) if isinstance(v, numbers.Integral) else float(v) for v in values]
    return checked


def _value_at(table: dict[str, Any], field: str) -> Any:
    """The value at a dotted path of a raw scenario table (None if absent)."""
    node: Any = table
    for part in field.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def sweep_points(scenario: Scenario, grid: dict[str, list[float]], lhs: int | None) -> list[Point]:
    """The cells of a sweep: the Cartesian grid, or ``lhs`` Latin-hypercube points.

    Args:
        scenario: The base scenario (its seed seeds the hypercube; integer
            fields get rounded hypercube values).
        grid: Field -> values. With ``lhs`` only each field's min and max matter.
        lhs: Number of Latin-hypercube points, or None for the full grid.

    Returns:
        One ``{field: value}`` per cell, first field varying slowest.
    """
    grid = _check_grid(grid)
    fields = list(grid)
    if lhs is None:
        return [
            dict(zip(fields, combo, strict=True)) for combo in itertools.product(*grid.values())
        ]
    if lhs < 1:
        raise MssimError(f"--lhs: expected a positive number of points; given {lhs}")
    low = np.array([min(v) for v in grid.values()], dtype=float)
    high = np.array([max(v) for v in grid.values()], dtype=float)
    unit = qmc.LatinHypercube(d=len(fields), seed=scenario.seed).random(lhs)
    box = low + unit * (high - low)
    base = scenario.model_dump(mode="python")
    integer = [
        isinstance(_value_at(base, f), int) and not isinstance(_value_at(base, f), bool)
        for f in fields
    ]
    return [
        {
            f: round(float(v)) if is_int else float(v)
            for f, v, is_int in zip(fields, row, integer, strict=True)
        }
        for row in box
    ]


def _describe(point: Point) -> str:
    return ", ".join(f"{field}={value!r}" for field, value in point.items())


def cell_scenario(base: Scenario, point: Point, index: int) -> Scenario:
    """One cell: the base scenario with the cell's overrides, validated.

    Raises:
        MssimError: Naming the cell and the dotted field, for an unknown field
            or an invalid value.
    """
    label = f"sweep cell {index} ({_describe(point)})"
    return with_overrides(base, [f"{field}={value!r}" for field, value in point.items()], label)


class CellCheckpoints(Checkpoints):
    """Checkpoints of a flattened (cell, chunk) run: chunk k of cell c lives in cell c's folder.

    Args:
        cells: One :class:`~mssim.parallel.Checkpoints` per cell.
        chunks_per_cell: Chunks in every cell.
    """

    def __init__(self, cells: list[Checkpoints], chunks_per_cell: int) -> None:
        super().__init__(None, "")  # no folder of its own; path() points into the cells
        self.cells = cells
        self.chunks_per_cell = chunks_per_cell

    def path(self, index: int) -> Path | None:
        """Where flat chunk ``index`` is kept (None when not checkpointing)."""
        cell, chunk = divmod(index, self.chunks_per_cell)
        return self.cells[cell].path(chunk)


class _CellTask:
    """A picklable task: simulate one chunk of one cell, given rows of (cell, replicate).

    It carries the base scenario and the cells' overrides rather than every
    cell's Scenario, so each task pickles small however many cells there are.
    """

    def __init__(
        self, base: Scenario, points: list[Point], n_values: list[int], methods: list[str]
    ) -> None:
        self.base = base
        self.points = points
        self.n_values = n_values
        self.methods = methods

    def __call__(self, work: np.ndarray) -> ChunkResult:
        cell = int(work[0, 0])
        scenario = cell_scenario(self.base, self.points[cell], cell)
        return chunk_statistics(scenario, self.n_values, self.methods, work[:, 1])


def run_sweep(
    scenario: Scenario,
    grid: dict[str, list[float]],
    lhs: int | None = None,
    replicates: int | None = None,
    n_per_arm: list[int] | None = None,
    n_jobs: int = 1,
    backend: str = "processes",
    out: Path | None = None,
    progress: bool | None = None,
    scheduler: str | None = None,
) -> pd.DataFrame:
    """Operating characteristics in every cell of a sweep, with common random numbers.

    Args:
        scenario: The base scenario.
        grid: Dotted field -> numeric values (the Cartesian product is run).
        lhs: Run this many Latin-hypercube points in the box spanned by each
            field's min and max instead of the grid (seeded by the scenario seed).
        replicates: Trials per design point and cell; default ``power.replicates``.
        n_per_arm: Design points (patients per arm); default ``power.n_per_arm``.
        n_jobs: Parallel workers, shared by all cells and chunks.
        backend: ``threads``, ``processes`` or ``dask``.
        out: Sweep folder (checkpoints, ``sweep.csv``, figures, manifest,
            report); None keeps nothing.
        progress: Progress bar; None = only on a terminal.
        scheduler: Dask scheduler address for ``backend="dask"``.

    Returns:
        One row per (cell, analysis, endpoint, contrast, n_per_arm): ``cell``,
        one column per swept field (its dotted path), then the columns of
        :func:`mssim.power.estimate`.

    Raises:
        MssimError: For a bad grid, an unknown field or an invalid value in any
            cell; raised before anything runs or is written.
    """
    prov = Provenance(scenario)
    grid = _check_grid(grid)  # plain ints and floats from here on (JSON, CSV)
    points = sweep_points(scenario, grid, lhs)
    cells = [cell_scenario(scenario, point, i) for i, point in enumerate(points)]
    n_values = sorted(set(n_per_arm or scenario.power.n_per_arm))
    reps = replicates or scenario.power.replicates
    methods = [scenario.trial.analysis]
    for cell in cells:
        check_analyses(cell, methods)
    size = scenario.power.chunk_size
    ranges = chunk_ranges(reps, size)
    checkpoints = CellCheckpoints(
        [
            Checkpoints(
                None if out is None else Path(out) / "cells" / str(i),
                # the same payload as power.estimate's key: a cell folder is a run folder
                run_key(
                    {
                        "scenario": cell.model_dump(mode="json"),
                        "n": n_values,
                        "replicates": reps,
                        "analyses": methods,
                        "chunk": size,
                    }
                ),
            )
            for i, cell in enumerate(cells)
        ],
        len(ranges),
    )
    work = [np.column_stack([np.full(len(r), c), r]) for c in range(len(cells)) for r in ranges]
    parts = run_chunks(
        _CellTask(scenario, points, n_values, methods),
        work,
        checkpoints,
        n_jobs=n_jobs,
        backend=backend,
        scheduler=scheduler,
        progress=progress,
    )
    frames = []
    for c, (cell, point) in enumerate(zip(cells, points, strict=True)):
        mine = parts[c * len(ranges) : (c + 1) * len(ranges)]
        stats = {k: np.concatenate([p[k] for p in mine], axis=-1) for k in mine[0]}
        frame = summarize(cell, n_values, methods, stats)
        frame.insert(0, "cell", c)
        for position, (field, value) in enumerate(point.items(), start=1):
            frame.insert(position, field, value)
        frames.append(frame)
    table = pd.concat(frames, ignore_index=True)
    if out is not None:
        _write_folder(Path(out), table, scenario, points, grid, lhs, prov)
    return table


def _write_folder(
    out: Path,
    table: pd.DataFrame,
    scenario: Scenario,
    points: list[Point],
    grid: dict[str, list[float]],
    lhs: int | None,
    prov: Provenance,
) -> None:
    """Write sweep.csv, figures, manifest.json and report.html."""
    write_csv(table, out / "sweep.csv")
    for name, figure in sweep_figures(table, scenario, list(grid), lhs is None).items():
        figure.savefig(out / name, dpi=100, bbox_inches="tight")
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


def held_values(scenario: Scenario, table: pd.DataFrame, fields: list[str]) -> dict[str, float]:
    """Where each swept field is held when a figure shows fewer fields.

    The scenario's own value when the grid contains it, else the first grid value.
    """
    base = scenario.model_dump(mode="python")
    held = {}
    for field in fields:
        values = list(dict.fromkeys(table[field]))
        own = _value_at(base, field)
        held[field] = own if own in values else values[0]
    return held


def sweep_figures(
    table: pd.DataFrame, scenario: Scenario, fields: list[str], is_grid: bool
) -> dict[str, Any]:
    """Figures of a sweep, by file name: power heatmap and sample-size curve.

    Both show the primary endpoint and the first analysis. The heatmap (two or
    more fields) shows the first two fields at the largest n; the sample-size
    curve runs across the first field. Other swept fields are held at
    :func:`held_values`. A Latin hypercube with several fields has no grid to
    slice, so it gets no figures.
    """
    if not is_grid and len(fields) > 1:
        return {}
    first = table.iloc[0]
    data = table[(table.endpoint == first.endpoint) & (table.analysis == first.analysis)]
    held = held_values(scenario, data, fields)
    target = scenario.power.target

    def hold(frame: pd.DataFrame, keep: list[str]) -> tuple[pd.DataFrame, str]:
        others = [f for f in fields if f not in keep]
        for field in others:
            frame = frame[frame[field] == held[field]]
        return frame, "; ".join(f"{f} = {held[f]:g}" for f in others)

    figures = {}
    if len(fields) >= 2:
        sliced, note = hold(data, fields[:2])
        figure = power_heatmap(sliced, x=fields[0], y=fields[1], target=target)
        if note:
            axes = figure.axes[0]
            axes.set_title(f"{axes.get_title()}\n({note})")
        figures["power_heatmap.png"] = figure
    sliced, note = hold(data, fields[:1])
    figure = sample_size_curve(sliced, field=fields[0], target=target)
    if note:
        axes = figure.axes[0]
        axes.set_title(f"{axes.get_title()}\n({note})")
    figures["sample_size.png"] = figure
    return figures


def print_summary(table: pd.DataFrame, fields: list[str]) -> None:
    """Print the primary endpoint's power in every cell as a readable table."""
    first = table.iloc[0]
    rows = table[(table.endpoint == first.endpoint) & (table.analysis == first.analysis)]
    shown = ["contrast", "n_per_arm", "power", "power_mcse", "true_effect", "exaggeration"]
    view = rows[[*fields, *shown]].rename(columns={k: SHOWN[k] for k in shown})
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(view.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    print(
        f"\n{table.cell.nunique()} cells x {table.n_per_arm.nunique()} sizes, "
        f"{int(first.replicates)} replicate trials each, common random numbers; "
        f"{first.analysis} on {first.endpoint}; power MCSE at most {table.power_mcse.max():.3f}."
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

    Returns:
        The sweep folder.
    """
    scenario = load_scenario(file, overrides)
    grid = parse_grid(grid_args)
    folder = Path(out) if out is not None else _default_folder(scenario)
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
    print_summary(table, list(grid))
    return folder


def _default_folder(scenario: Scenario) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path("results") / scenario.name / f"sweep-{stamp}"
