"""Parameter sweeps: operating characteristics over a grid of scenario fields.

A sweep varies scenario fields (dotted paths, as for ``--set``) over a
Cartesian grid: numbers, and categorical fields given as text or true/false
(``dropout.mechanism=mcar,mnar``, ``trial.analysis=ancova,welch_change``,
``trial.design``, an arm's ``intervention``). A Latin hypercube fills the box
numeric values span (categorical fields cannot be part of one). Every
cell is the scenario with overrides applied and validated by the ordinary
loader, so a bad field or value fails before anything runs. Every cell uses the
scenario's seed: replicate r draws the same noise in every cell (common random
numbers), so differences between cells are not Monte Carlo noise.

All (cell, chunk) tasks go to one :func:`mssim.montecarlo.parallel.run_chunks` call, so
cells and chunks run in parallel together. Chunk k of cell c is kept in
``out/cells/<c>/chunks/``; re-running the same sweep into the same folder
resumes. ``mssim sweep`` (:mod:`mssim.commands.sweep`) writes the table,
figures, manifest and report.
"""

from __future__ import annotations

import itertools
import json
import numbers
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import qmc

from mssim.config.load import with_overrides
from mssim.config.relevance import inert_reason
from mssim.config.scenario import Scenario
from mssim.errors import MssimError
from mssim.montecarlo.analyses import check_analyses
from mssim.montecarlo.breakdown import breakdown_columns
from mssim.montecarlo.parallel import (
    Checkpoints,
    ChunkResult,
    chunk_ranges,
    run_chunks,
    run_key,
)
from mssim.montecarlo.power import chunk_statistics, summarize
from mssim.registry import loaded_plugins

_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$")
_GRID_HELP = (
    "allowed: --grid dotted.field=v1,v2,... with numbers, text or true/false, "
    "e.g. dropout.rate=0.1,0.2 or dropout.mechanism=mcar,mnar"
)

Value = float | str | bool
Point = dict[str, Value]


def parse_grid(args: list[str]) -> dict[str, list[Value]]:
    """Parse ``--grid dotted.field=v1,v2,...`` arguments into a grid.

    Args:
        args: One string per swept field.

    Returns:
        Field -> values, in the order given: integers stay integers, other
        numbers are floats, ``true``/``false`` are booleans, the rest text.

    Raises:
        MssimError: For a malformed argument or a repeated field.
    """
    if not args:
        raise MssimError(f"--grid: give at least one swept field; {_GRID_HELP}")
    grid: dict[str, list[Value]] = {}
    for text in args:
        field, sep, values = (part.strip() for part in text.partition("="))
        items = [v.strip() for v in values.split(",")]
        if not sep or not _FIELD.match(field) or not all(items):
            raise MssimError(f"--grid {text!r}: malformed; {_GRID_HELP}")
        if field in grid:
            raise MssimError(f"--grid {field}: given twice; give all its values in one --grid")
        grid[field] = [_parse_value(item) for item in items]
    return grid


def _parse_value(text: str) -> Value:
    if text in ("true", "false"):
        return text == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def check_grid(grid: dict[str, list[Any]]) -> dict[str, list[Value]]:
    """Refuse an empty grid, malformed field names, and values not numbers, text or booleans."""
    if not grid:
        raise MssimError(f"--grid: give at least one swept field; {_GRID_HELP}")
    checked: dict[str, list[Value]] = {}
    for field, values in grid.items():
        if not _FIELD.match(str(field)):
            raise MssimError(f"--grid {field!r}: not a dotted field name; {_GRID_HELP}")
        one = isinstance(values, str | bytes) or not isinstance(values, Iterable)
        values = [values] if one else list(values)
        if not values:
            raise MssimError(f"--grid {field}: give a non-empty list of numbers; {_GRID_HELP}")
        for value in values:
            if not isinstance(value, numbers.Real | str) or value == "":
                raise MssimError(
                    f"--grid {field}: {value!r} is not a number, text or true/false; {_GRID_HELP}"
                )
        checked[field] = [_plain(v) for v in values]
        repeated = sorted({v for v in checked[field] if checked[field].count(v) > 1})
        if repeated:
            raise MssimError(
                f"--grid {field}: {', '.join(map(repr, repeated))} given more than once; "
                "give each value once"
            )
    return checked


def _plain(value: Value) -> Value:
    """A grid value as plain Python (JSON, CSV): bool, int, float or str."""
    if isinstance(value, bool | str):
        return value
    return int(value) if isinstance(value, numbers.Integral) else float(value)


def is_numeric(values: list[Value]) -> bool:
    """Whether a swept field's values are numbers (not text or booleans)."""
    return all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in values)


def value_at(table: dict[str, Any], field: str) -> Any:
    """The value at a dotted path of a raw scenario table (None if absent)."""
    node: Any = table
    for part in field.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def sweep_points(scenario: Scenario, grid: dict[str, list[Value]], lhs: int | None) -> list[Point]:
    """The cells of a sweep: the Cartesian grid, or ``lhs`` Latin-hypercube points.

    Args:
        scenario: The base scenario (its seed seeds the hypercube; integer
            fields get rounded hypercube values).
        grid: Field -> values. With ``lhs`` only each field's min and max matter.
        lhs: Number of Latin-hypercube points, or None for the full grid.

    Returns:
        One ``{field: value}`` per cell, first field varying slowest.
    """
    grid = check_grid(grid)
    fields = list(grid)
    base = scenario.model_dump(mode="python")
    for field in fields:
        reason = inert_reason(scenario, field)
        if reason:
            raise MssimError(f"--grid {field}: sweeping it would change nothing: {reason}")
        current = value_at(base, field)
        flags = [v for v in grid[field] if isinstance(v, bool)]
        if flags and isinstance(current, numbers.Real) and not isinstance(current, bool):
            raise MssimError(f"--grid {field}: {flags[0]!r} is not a number; {_GRID_HELP}")
    if lhs is None:
        return [
            dict(zip(fields, combo, strict=True)) for combo in itertools.product(*grid.values())
        ]
    if lhs < 1:
        raise MssimError(f"--lhs: expected a positive number of points; given {lhs}")
    categorical = [f for f in fields if not is_numeric(grid[f])]
    if categorical:
        raise MssimError(
            "--lhs: a Latin hypercube needs numeric values; given "
            + "; ".join(f"{f}={','.join(map(str, grid[f]))}" for f in categorical)
            + " (a text or true/false field is swept as a grid, without --lhs)"
        )
    low = np.array([min(v) for v in grid.values()], dtype=float)
    high = np.array([max(v) for v in grid.values()], dtype=float)
    unit = qmc.LatinHypercube(d=len(fields), seed=scenario.seed).random(lhs)
    box = low + unit * (high - low)
    integer = [
        isinstance(value_at(base, f), int) and not isinstance(value_at(base, f), bool)
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

    A new ``arms.<arm>.intervention`` replaces that arm's table by the
    intervention kind's defaults (the old kind's settings do not carry over);
    the point's other fields of that arm apply on top.

    Raises:
        MssimError: Naming the cell and the dotted field, for an unknown field
            or an invalid value.
    """
    label = f"sweep cell {index} ({_describe(point)})"
    kinds = {f.split(".")[1]: v for f, v in point.items() if _is_intervention(f)}
    tables = {f"arms.{arm}": {"intervention": kind} for arm, kind in kinds.items()}
    rest = [f"{f}={toml_value(v)}" for f, v in point.items() if not _is_intervention(f)]
    return with_overrides(base, rest, label, values=tables)


def _is_intervention(field: str) -> bool:
    """Whether a dotted field is an arm's intervention kind (``arms.<arm>.intervention``)."""
    parts = field.split(".")
    return len(parts) == 3 and parts[0] == "arms" and parts[2] == "intervention"


def toml_value(value: Value) -> str:
    """A grid value as the TOML of a ``--set`` override."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string
    return repr(value)


class CellCheckpoints(Checkpoints):
    """Checkpoints of a flattened (cell, chunk) run: chunk k of cell c lives in cell c's folder.

    Args:
        cells: One :class:`~mssim.montecarlo.parallel.Checkpoints` per cell.
        chunks_per_cell: Chunks in every cell.
    """

    def __init__(self, cells: list[Checkpoints], chunks_per_cell: int) -> None:
        super().__init__(None, "")  # no folder of its own; chunks are kept by the cells
        self.cells = cells
        self.chunks_per_cell = chunks_per_cell

    def load(self, index: int, replicates: int) -> ChunkResult | None:
        """Flat chunk ``index`` from its cell's folder, if finished and trusted."""
        cell, chunk = divmod(index, self.chunks_per_cell)
        return self.cells[cell].load(chunk, replicates)

    def save(self, index: int, result: ChunkResult) -> None:
        """Keep flat chunk ``index`` in its cell's folder."""
        cell, chunk = divmod(index, self.chunks_per_cell)
        self.cells[cell].save(chunk, result)


class _CellTask:
    """A picklable task: simulate one chunk of one cell, given rows of (cell, replicate).

    It carries the base scenario and the cells' overrides rather than every
    cell's Scenario, so each task pickles small however many cells there are.
    Each cell is analysed with its own ``trial.analysis`` (a swept field too).
    """

    def __init__(self, base: Scenario, points: list[Point], n_values: list[int]) -> None:
        self.base = base
        self.points = points
        self.n_values = n_values

    def __call__(self, work: np.ndarray) -> ChunkResult:
        cell = int(work[0, 0])
        scenario = cell_scenario(self.base, self.points[cell], cell)
        return chunk_statistics(scenario, self.n_values, [scenario.trial.analysis], work[:, 1])


def run_sweep(
    scenario: Scenario,
    grid: dict[str, list[Value]],
    lhs: int | None = None,
    **run: Any,
) -> pd.DataFrame:
    """Operating characteristics in every cell of a sweep, with common random numbers.

    Args:
        scenario: The base scenario.
        grid: Dotted field -> values (the Cartesian product is run).
        lhs: Run this many Latin-hypercube points in the box spanned by each
            field's min and max instead of the grid (seeded by the scenario seed).
        **run: Passed to :func:`run_points` (replicates, n_per_arm, n_jobs,
            backend, out, progress, scheduler).

    Returns:
        One row per (cell, analysis, endpoint, contrast, n_per_arm): ``cell``,
        one column per swept field (its dotted path), then the columns of
        :func:`mssim.montecarlo.power.estimate`.

    Raises:
        MssimError: For a bad grid, an unknown field or an invalid value in any
            cell; raised before anything runs or is written.
    """
    grid = check_grid(grid)  # plain values from here on (JSON, CSV)
    return run_points(scenario, sweep_points(scenario, grid, lhs), **run)


def run_points(
    scenario: Scenario,
    points: list[Point],
    replicates: int | None = None,
    n_per_arm: list[int] | None = None,
    n_jobs: int = 1,
    backend: str = "processes",
    out: Path | None = None,
    progress: bool | None = None,
    scheduler: str | None = None,
) -> pd.DataFrame:
    """Operating characteristics at given points of a scenario, with common random numbers.

    The engine of :func:`run_sweep` (and of the sensitivity screening): every
    point is the scenario with the point's overrides, run under the scenario's
    seed, all (point, chunk) tasks in one parallel call.

    Args:
        scenario: The base scenario.
        points: One ``{dotted field: value}`` per cell.
        replicates: Trials per design point and cell; default ``power.replicates``.
        n_per_arm: Design points (patients per arm); default ``power.n_per_arm``.
        n_jobs: Parallel workers, shared by all cells and chunks.
        backend: ``threads``, ``processes`` or ``dask``.
        out: Folder for the checkpoints of every cell (``out/cells/<c>/chunks``),
            so the same call resumes; None keeps nothing.
        progress: Progress bar; None = only on a terminal.
        scheduler: Dask scheduler address for ``backend="dask"``.

    Returns:
        As :func:`run_sweep`: one row per (cell, analysis, endpoint, contrast,
        n_per_arm), with ``cell`` and one column per field of the points.

    Raises:
        MssimError: For an unknown field or an invalid value in any cell,
            before anything runs.
    """
    cells = [cell_scenario(scenario, point, i) for i, point in enumerate(points)]
    n_values = sorted(set(n_per_arm or scenario.power.n_per_arm))
    reps = replicates or scenario.power.replicates
    for cell in cells:
        check_analyses(cell, [cell.trial.analysis])
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
                        "analyses": [cell.trial.analysis],
                        "chunk": size,
                        "plugins": loaded_plugins(),
                    }
                ),
                root=out,
            )
            for i, cell in enumerate(cells)
        ],
        len(ranges),
    )
    work = [np.column_stack([np.full(len(r), c), r]) for c in range(len(cells)) for r in ranges]
    parts = run_chunks(
        _CellTask(scenario, points, n_values),
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
        frame = breakdown_columns(
            cell, summarize(cell, n_values, [cell.trial.analysis], stats), reps
        )
        frame.insert(0, "cell", c)
        for position, (field, value) in enumerate(point.items(), start=1):
            frame.insert(position, field, value)
        frames.append(frame)
    table = pd.concat(frames, ignore_index=True)
    return table
