"""Endpoint values on the instrument's grid, so that equal scores are equal numbers.

Visit scores lie on the instrument's grid (``low + k * step``, e.g. FSS in steps of
1/9). An endpoint that averages m visits, or subtracts baseline, lies on a finer grid
(steps of ``step / m``), but floating-point arithmetic leaves it a few units in the
last place off that grid: two patients with the same change can get numbers that
differ by 1e-16, and rank tests then split a true tie. :func:`on_grid` puts every
value exactly on its grid (``origin + k * resolution`` with integer k), so equal
values are bit-identical.

A design summarizes visits linearly (a visit, a mean of visits, their difference from
baseline). :func:`summary_grid` finds that summary's grid by applying it to unit
scores: the weight w_v of each visit gives the origin ``low * sum(w)`` and the
resolution ``step / D`` with D the least common denominator of the weights.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction

import numpy as np

# Visit weights are simple fractions (1, 1/2, 1/3, ...); larger denominators mean the
# summary is not a mean of visits.
_MAX_DENOMINATOR = 1000
# A value is within this many grid steps of its grid point: rounding error is ~1e-15 of
# the value, far below half a step of any instrument.
GRID_TOL = 1e-6


def summary_grid(
    summary: Callable[[np.ndarray], np.ndarray], n_visits: int, low: float, step: float
) -> tuple[float, float]:
    """The grid (origin, resolution) of a linear summary of visit scores.

    Args:
        summary: Maps visit scores, shape (R, N, visits), to one value per patient,
            shape (R, N) (NaN where the summary does not exist).
        n_visits: Number of visits.
        low: Lowest score of the instrument (points).
        step: The instrument's grid step (points).

    Returns:
        ``(origin, resolution)`` in instrument points: every value of the summary is
        ``origin + k * resolution`` for an integer k.

    Raises:
        ValueError: If the summary's visit weights are not simple fractions.
    """
    weights = summary(np.eye(n_visits)[None])[0]
    weights = weights[np.isfinite(weights)]
    if not len(weights):
        return low, step
    fractions = [Fraction(float(w)).limit_denominator(_MAX_DENOMINATOR) for w in weights]
    if any(abs(float(f) - w) > 1e-12 for f, w in zip(fractions, weights, strict=True)):
        raise ValueError(f"visit weights {weights.tolist()} are not simple fractions")
    denominator = math.lcm(*(f.denominator for f in fractions))
    return low * float(sum(fractions)), step / denominator


def grid_steps(values: np.ndarray, origin: float, resolution: float) -> np.ndarray:
    """Integer number of grid steps of each value from the origin (NaN stays NaN).

    Args:
        values: Values on the grid up to rounding error (points).
        origin: Grid origin (points).
        resolution: Grid step (points).

    Returns:
        ``round((values - origin) / resolution)`` as float64 integers.

    Raises:
        ValueError: If a finite value is not on the grid.
    """
    steps = np.rint((values - origin) / resolution)
    with np.errstate(invalid="ignore"):
        off = np.abs((values - origin) / resolution - steps) > GRID_TOL
    if off.any():
        raise ValueError(
            f"values are not on the grid {origin} + k * {resolution}, "
            f"e.g. {values[off].ravel()[0]!r}"
        )
    return steps


def on_grid(values: np.ndarray, origin: float, resolution: float) -> np.ndarray:
    """Values put exactly on the grid ``origin + k * resolution`` (NaN stays NaN).

    Arguments and errors as :func:`grid_steps`; returns the values (points) with
    equal grid points bit-identical.
    """
    return origin + grid_steps(values, origin, resolution) * resolution
