"""Sample size: the smallest n per arm whose power reaches a target.

One rule reads every answer off a power curve (:func:`n_for_power`): the
search of :func:`solve_n`, the table of a run or sweep (:func:`n_needed`) and
the figures and report that show them. Figures and the report read the
columns of :func:`n_needed` and the fields of :class:`SampleSize`; they do not
compute sample sizes themselves.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mssim.config.scenario import Scenario
from mssim.montecarlo.power import estimate


def n_for_power(
    n: Sequence[float] | np.ndarray,
    power: Sequence[float] | np.ndarray,
    target: float,
    interpolate: bool = True,
) -> float:
    """Smallest n per arm at which power reaches ``target`` on a grid of sizes.

    The points are sorted by ``n``; pairs with a missing power are dropped. The
    result is the first crossing of the power curve: ``n[0]`` if power is
    already at or above the target there, NaN if it never gets there. Between
    two sizes of the grid the curve is linear (``interpolate``), or the answer
    is the first size of the grid that reaches the target.

    Args:
        n: Sample sizes per arm of the design grid (distinct values).
        power: Power (or a Wilson bound of it) at each ``n``.
        target: Power to reach, e.g. 0.8.
        interpolate: Interpolate linearly between the grid's sizes; else give
            the first size of the grid reaching the target.

    Returns:
        The n per arm, or NaN when the target is not reached on the grid.

    Raises:
        ValueError: If ``n`` and ``power`` differ in length or ``n`` has repeated values.
    """
    n_arr = np.asarray(n, dtype=float).ravel()
    p_arr = np.asarray(power, dtype=float).ravel()
    if n_arr.shape != p_arr.shape:
        raise ValueError(f"n and power differ in length ({n_arr.size} vs {p_arr.size})")
    keep = np.isfinite(n_arr) & np.isfinite(p_arr)
    n_arr, p_arr = n_arr[keep], p_arr[keep]
    if n_arr.size == 0 or not np.isfinite(target):
        return math.nan
    order = np.argsort(n_arr, kind="stable")
    n_arr, p_arr = n_arr[order], p_arr[order]
    if np.any(np.diff(n_arr) == 0):
        raise ValueError("n has repeated values; give one power per n")
    reached = np.flatnonzero(p_arr >= target)
    if reached.size == 0:
        return math.nan
    i = int(reached[0])
    if i == 0 or not interpolate:
        return float(n_arr[i])
    n0, n1, p0, p1 = n_arr[i - 1], n_arr[i], p_arr[i - 1], p_arr[i]
    return float(n0 + (target - p0) * (n1 - n0) / (p1 - p0))


def n_needed(results: pd.DataFrame, by: Sequence[str], target: float) -> pd.DataFrame:
    """The n per arm reaching the target power on each power curve of a results table.

    Each group of ``by`` is one power curve over the simulated sizes; the
    answer is interpolated linearly between them (:func:`n_for_power`). Its
    Monte Carlo interval runs from the n where the upper Wilson bound of power
    reaches the target to the n where the lower bound does.

    Args:
        results: Operating characteristics with ``n_per_arm, power,
            power_ci_low, power_ci_high`` and the ``by`` columns.
        by: Columns whose values make one power curve (e.g. ``["contrast"]``).
        target: Target power.

    Returns:
        One row per group, in order of appearance: the ``by`` columns,
        ``n_per_arm`` (power reaches the target), ``n_low`` (the upper Wilson
        bound does), ``n_high`` (the lower Wilson bound does), each NaN when
        not reached on the grid, and ``max_n``, the largest n simulated.

    Raises:
        ValueError: If a group has several rows at one n.
    """
    keys = list(by)
    rows = []
    for key, group in results.groupby(keys, sort=False):
        n = group["n_per_arm"].to_numpy(dtype=float)
        rows.append(
            {
                **dict(zip(keys, key, strict=True)),
                "n_per_arm": n_for_power(n, group["power"], target),
                "n_low": n_for_power(n, group["power_ci_high"], target),
                "n_high": n_for_power(n, group["power_ci_low"], target),
                "max_n": float(n.max()),
            }
        )
    return pd.DataFrame(rows, columns=[*keys, "n_per_arm", "n_low", "n_high", "max_n"])


@dataclass(frozen=True)
class SampleSize:
    """The smallest n per arm reaching the target power, with its Monte Carlo interval.

    Attributes:
        n_per_arm: Smallest n whose estimated power reaches the target (None
            if no n up to ``max_n`` does).
        n_low: Smallest n whose Wilson upper bound reaches the target.
        n_high: Smallest n whose Wilson lower bound reaches the target (None
            if none in the range examined, i.e. above ``curve``'s largest n).
        power: Estimated power at ``n_per_arm``.
        power_mcse: Its Monte Carlo standard error.
        replicates: Replicates used near the answer.
        target: Target power.
        curve: Power at every n examined near the answer.
    """

    n_per_arm: int | None
    n_low: int | None
    n_high: int | None
    power: float
    power_mcse: float
    replicates: int
    target: float
    curve: pd.DataFrame


def solve_n(
    scenario: Scenario,
    target: float | None = None,
    replicates: int | None = None,
    max_n: int = 2000,
    **run: object,
) -> SampleSize:
    """Find the smallest n per arm whose power reaches ``target``.

    A coarse pass over ``power.n_per_arm`` (extended by doubling) brackets the
    answer; a fine pass evaluates every n in the bracket with enough
    replicates that the power MCSE there is at most ``power.mcse_target``.
    Common random numbers make power nearly monotone in n, so the first n
    reaching the target is well defined; the interval reports the n where the
    Wilson bounds reach it.

    Args:
        scenario: The scenario (primary endpoint, first contrast, ``trial.analysis``).
        target: Target power; default ``power.target``.
        replicates: Replicates of the coarse pass; default ``power.replicates``.
        max_n: Largest n per arm considered.
        **run: Passed to :func:`~mssim.montecarlo.power.estimate` (n_jobs,
            backend, progress, ...).

    Returns:
        The answer with its Monte Carlo interval and the fine power curve.
    """
    goal = target or scenario.power.target
    coarse_reps = replicates or scenario.power.replicates
    grid = sorted(set(scenario.power.n_per_arm))
    while True:
        curve = _primary(estimate(scenario, grid, coarse_reps, **run))
        reached = _first_n(curve, "power", goal)
        if reached is not None or grid[-1] >= max_n:
            break
        grid = [*grid, min(2 * grid[-1], max_n)]
    if reached is None:
        row = curve.iloc[-1]
        return SampleSize(None, None, None, row.power, row.power_mcse, coarse_reps, goal, curve)
    below = curve[curve.n_per_arm < reached]
    lower = int(below.n_per_arm.iloc[-1]) if len(below) else 2
    fine_reps = max(coarse_reps, math.ceil(goal * (1 - goal) / scenario.power.mcse_target**2))
    # Past the bracket too, so the n where the Wilson lower bound reaches the
    # target is usually inside; common random numbers make the extra n cheap.
    top = min(max_n, math.ceil(1.3 * reached) + 1)
    fine = _primary(estimate(scenario, list(range(lower, top + 1)), fine_reps, **run))
    answer = _first_n(fine, "power", goal)
    at = fine[fine.n_per_arm == (answer or reached)].iloc[0]
    return SampleSize(
        answer,
        _first_n(fine, "power_ci_high", goal),
        _first_n(fine, "power_ci_low", goal),
        float(at.power),
        float(at.power_mcse),
        fine_reps,
        goal,
        fine,
    )


def _first_n(curve: pd.DataFrame, column: str, target: float) -> int | None:
    """The first simulated n whose ``column`` (power or a Wilson bound) reaches the target."""
    n = n_for_power(curve.n_per_arm, curve[column], target, interpolate=False)
    return None if math.isnan(n) else int(n)


def _primary(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows of the primary endpoint and first contrast."""
    first = frame.iloc[0]
    keep = (frame.endpoint == first.endpoint) & (frame.contrast == first.contrast)
    return frame[keep].reset_index(drop=True)
