"""Sample size: the smallest n per arm whose power reaches a target.

One rule reads every answer off a power curve (:func:`n_for_power`): the
search of :func:`solve_n` and the table of a sweep (:func:`n_needed`, one
answer per cell). A run has one answer, its :class:`Headline`: the search's
when there was one (:func:`headline_from_search`), else the one read off the
run's power curve (:func:`headline_from_curve`). An answer at the edge of the
sizes examined says so (``<= 20``, ``> 150``) instead of posing as a point.
Figures and the report read these; they do not compute sample sizes themselves.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mssim.config.scenario import Scenario
from mssim.montecarlo.power import estimate
from mssim.trial.randomization import total_patients


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
    Wilson bounds reach it. When the fine pass reaches the target (or the
    upper Wilson bound does) at its first n, it is extended downwards (halving)
    until it does not, or n = 2.

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
        curve = primary_curve(estimate(scenario, grid, coarse_reps, **run))
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
    fine = primary_curve(estimate(scenario, list(range(lower, top + 1)), fine_reps, **run))
    # The fine pass may reach the target (or its Wilson upper bound may) at its very
    # first n, where the coarse pass did not: search below it too, so the answer is
    # never an edge of the range searched unless that edge is n = 2.
    while lower > 2 and lower in (
        _first_n(fine, "power", goal),
        _first_n(fine, "power_ci_high", goal),
    ):
        below_n = list(range(max(2, lower // 2), lower))
        extra = primary_curve(estimate(scenario, below_n, fine_reps, **run))
        fine = pd.concat([extra, fine], ignore_index=True)
        lower = below_n[0]
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


def primary_curve(frame: pd.DataFrame) -> pd.DataFrame:
    """The power curve of the first analysis, the primary endpoint and the first contrast."""
    first = frame.iloc[0]
    keep = (
        (frame.analysis == first.analysis)
        & (frame.endpoint == first.endpoint)
        & (frame.contrast == first.contrast)
    )
    return frame[keep].reset_index(drop=True)


#: ``edge`` of a :class:`Headline`: the target is already reached at the smallest
#: n examined, so the answer is that n or fewer.
AT_OR_BELOW = "at or below"
#: ``edge`` of a :class:`Headline`: the target is not reached at the largest n examined.
ABOVE = "above"


@dataclass(frozen=True)
class Headline:
    """The one sample-size answer of a run, as the terminal, JSON and report give it.

    Attributes:
        target: Target power.
        n_per_arm: Smallest n per arm (patients per allocation unit) reaching the
            target; the smallest n examined when ``edge`` is :data:`AT_OR_BELOW`,
            None when it is :data:`ABOVE`.
        edge: None for an answer inside the sizes examined, else :data:`AT_OR_BELOW`
            or :data:`ABOVE`.
        n_examined: Smallest and largest n per arm examined.
        n_low: Lower end of the Monte Carlo interval (where the upper Wilson bound
            of power reaches the target).
        n_high: Upper end (where the lower Wilson bound does); None above the
            largest n examined.
        total_n: Patients to randomize over every arm at ``n_per_arm`` (None
            when the answer is above the range).
        expected_analysed: Expected patients analysed in the primary contrast
            at ``n_per_arm`` (after dropout), from the simulation.
        power: Power at ``n_per_arm`` (at the largest n examined when above).
        power_mcse: Its Monte Carlo standard error.
        replicates: Replicate trials per n behind ``power``.
        method: How the answer was found, in words.
    """

    target: float
    n_per_arm: int | None
    edge: str | None
    n_examined: tuple[int, int]
    n_low: int | None
    n_high: int | None
    total_n: int | None
    expected_analysed: float | None
    power: float
    power_mcse: float
    replicates: int
    method: str

    def n_text(self) -> str:
        """The answer as text: ``95``, ``<= 20`` (edge below) or ``> 150`` (not reached)."""
        return edge_text(self.n_per_arm, self.n_examined)

    def interval_text(self) -> str:
        """The Monte Carlo interval as text, with open ends at the edges examined."""
        low = edge_text(self.n_low, self.n_examined)
        high = edge_text(self.n_high, self.n_examined)
        return f"{low} to {high}"

    def as_dict(self) -> dict[str, object]:
        """Plain data for ``sample_size.json`` (the report reads it back)."""
        return {
            "target": self.target,
            "n_per_arm": self.n_per_arm,
            "n_text": self.n_text(),
            "edge": self.edge,
            "n_examined": list(self.n_examined),
            "n_low": self.n_low,
            "n_high": self.n_high,
            "interval_text": self.interval_text(),
            "total_n": self.total_n,
            "expected_analysed": self.expected_analysed,
            "power": self.power,
            "power_mcse": self.power_mcse,
            "replicates": self.replicates,
            "method": self.method,
        }

    def sentence(self) -> str:
        """One line for the terminal."""
        if self.n_per_arm is None:
            return (
                f"Sample size for power {self.target:.0%}: n per arm {self.n_text()} "
                f"(power {self.power:.3f} ± {self.power_mcse:.3f} MCSE at n = "
                f"{self.n_examined[1]}, the largest examined). {self.method}"
            )
        edge = (
            f" The target is already reached at the smallest n examined ({self.n_examined[0]})."
            if self.edge == AT_OR_BELOW
            else ""
        )
        return (
            f"Sample size for power {self.target:.0%}: n per arm {self.n_text()}, "
            f"total N to randomize {self.total_n}, expected analysed "
            f"{self.expected_analysed:.0f}; Monte Carlo interval {self.interval_text()}; "
            f"power reached {self.power:.3f} ± {self.power_mcse:.3f} MCSE "
            f"({self.replicates} replicates).{edge} {self.method}"
        )


def edge_text(n: int | None, examined: tuple[int, int]) -> str:
    """An n per arm as text: ``> largest`` when None, ``<= smallest`` at the lower edge."""
    if n is None:
        return f"> {examined[1]}"
    return f"<= {n}" if n <= examined[0] else str(n)


def headline_from_search(scenario: Scenario, answer: SampleSize) -> Headline:
    """The headline of a :func:`solve_n` search.

    Args:
        scenario: The scenario searched (its allocation gives the total N).
        answer: The search's answer.

    Returns:
        The answer with total N, expected number analysed and its edge flagged.
    """
    curve = answer.curve
    examined = (int(curve.n_per_arm.min()), int(curve.n_per_arm.max()))
    method = (
        f"Found by search: every n per arm from {examined[0]} to {examined[1]} simulated "
        f"with {answer.replicates} replicate trials each (common random numbers); the "
        "answer is the smallest n whose estimated power reaches the target."
    )
    if answer.n_per_arm is None:
        return Headline(
            answer.target, None, ABOVE, examined, answer.n_low, None, None, None,
            answer.power, answer.power_mcse, answer.replicates, method,
        )  # fmt: skip
    row = curve[curve.n_per_arm == answer.n_per_arm].iloc[0]
    return Headline(
        answer.target,
        answer.n_per_arm,
        AT_OR_BELOW if answer.n_per_arm <= examined[0] else None,
        examined,
        answer.n_low,
        answer.n_high,
        total_patients(scenario, answer.n_per_arm),
        float(row.mean_n_analysed),
        answer.power,
        answer.power_mcse,
        answer.replicates,
        method,
    )


def headline_from_curve(scenario: Scenario, curve: pd.DataFrame, target: float) -> Headline:
    """The headline read off a run's power curve (primary endpoint, contrast, analysis).

    The n is interpolated linearly between the simulated sizes (:func:`n_for_power`)
    and rounded up; power, its MCSE and the share analysed at that n are
    interpolated the same way between the two sizes around it.

    Args:
        scenario: The scenario (its allocation gives the total N).
        curve: Rows of one power curve: ``n_per_arm, power, power_mcse,
            power_ci_low, power_ci_high, mean_n_analysed, replicates``.
        target: Target power.

    Returns:
        The answer with total N, expected number analysed and its edge flagged.
    """
    curve = curve.sort_values("n_per_arm")
    n = curve.n_per_arm.to_numpy(dtype=float)
    examined = (int(n.min()), int(n.max()))
    reps = int(curve.replicates.iloc[0])

    def bound(column: str) -> int | None:
        value = n_for_power(n, curve[column], target)
        return None if math.isnan(value) else math.ceil(value)

    found = bound("power")
    if found is None:
        top = curve.iloc[-1]
        method = (
            f"Read off the power curve at n per arm {', '.join(str(int(v)) for v in n)} "
            f"({reps} replicate trials each): the target is not reached; simulate larger "
            "sizes or use --solve-n."
        )
        return Headline(
            target, None, ABOVE, examined, bound("power_ci_high"), None, None, None,
            float(top.power), float(top.power_mcse), reps, method,
        )  # fmt: skip
    share = curve.mean_n_analysed.to_numpy(dtype=float) / n
    method = (
        f"Read off the power curve by linear interpolation between the simulated n per arm "
        f"{', '.join(str(int(v)) for v in n)} ({reps} replicate trials each) and rounded "
        "up; 'mssim run --solve-n' simulates every n near the answer instead."
    )
    return Headline(
        target,
        found,
        AT_OR_BELOW if found <= examined[0] else None,
        examined,
        bound("power_ci_high"),
        bound("power_ci_low"),
        total_patients(scenario, found),
        float(np.interp(found, n, share) * found),
        float(np.interp(found, n, curve.power)),
        float(np.interp(found, n, curve.power_mcse)),
        reps,
        method,
    )
