"""Mann-Whitney U test of change from baseline, with the probabilistic index."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import special

from mssim.registry import ANALYSES
from mssim.trial.analyses.analysis import Analysis
from mssim.trial.analyses.estimates import (
    TOO_FEW,
    ZERO_VARIANCE,
    Estimates,
    _arms,
    _arrays,
    _check_alpha,
    _reasons,
    _result,
    _runs,
)
from mssim.trial.analyses.hypothesis import TWO_SIDED, NullHypothesis
from mssim.trial.data import TrialData


def mann_whitney(
    outcome: np.ndarray,
    arm: np.ndarray,
    observed: np.ndarray,
    alpha: float = 0.05,
    test: NullHypothesis = TWO_SIDED,
) -> Estimates:
    """Mann–Whitney U test with midranks; estimate is the probabilistic index minus 1/2.

    The estimate is ``P(Y_treat > Y_comp) + P(tie)/2 - 1/2 = U_treat / (n1 n0) - 1/2``
    (range -0.5..0.5; negative when treated patients tend to have lower outcomes). The
    p-value is the normal approximation with tie and continuity corrections, equal to
    ``scipy.stats.mannwhitneyu(treat, comp, method="asymptotic", use_continuity=True)``.

    The CI is Newcombe's score-type interval for the probabilistic index theta (Newcombe
    2006, Stat Med 25:559-573, method 5): the thetas with ``(theta_hat - theta)**2 <=
    z**2 V(theta)``, where ``V`` is the Hanley-McNeil variance with both sample sizes
    replaced by their mean ``m = (n1 + n0) / 2``, ``V(theta) = theta (1 - theta) [1 +
    (m - 1)(1 - theta) / (2 - theta) + (m - 1) theta / (1 + theta)] / (n1 n0)``, times
    the tie factor ``1 - T / (n**3 - n)`` with ``T = sum(t**3 - t)`` over tie groups. At
    theta = 1/2, ``V`` is the tie-corrected null variance of ``U / (n1 n0)``, so the
    interval and the test share their variance under no effect; away from it the
    interval narrows as the variance does, and it keeps a positive width under
    complete separation. The SE is ``sqrt(V(theta_hat))`` (0 under complete separation).

    Args:
        outcome: Outcome (any ordinal or continuous scale), shape (R, N).
        arm: 1/True for the treatment arm, 0/False for the comparator, shape (R, N).
        observed: True for analysed patients, shape (R, N).
        alpha: Two-sided significance level; the CI level is 1 - alpha.
        test: Two-sided (default) or one-sided superiority (``test.null`` must be 0:
            a shift margin has no meaning on the probabilistic index). The one-sided
            p-value equals ``mannwhitneyu(..., alternative="less")`` when a lower
            outcome is a benefit.

    Returns:
        Per-replicate results. Reasons: ``too_few_analysed`` if an arm is empty,
        ``zero_variance`` if all analysed outcomes are tied.
    """
    _check_alpha(alpha)
    if test.null != 0:
        raise ValueError("a shift margin has no meaning on the probabilistic index; use null 0")
    outcome, arm, observed = _arrays(outcome, arm, observed)
    treat, comp = _arms(arm, observed)
    mask = treat | comp
    # One argsort per row gives the tie groups, hence the midranks and tie sizes. Unanalysed
    # patients sort last (at +inf) into one group that is left out of the tie term.
    filled = np.where(mask, outcome, np.inf)
    order = np.argsort(filled, axis=1)
    values = np.take_along_axis(filled, order, axis=1)
    n_rows, n_cols = values.shape
    start, row = _runs(values)
    size = np.diff(start, append=values.size)
    col = start - row * n_cols
    treat_sorted = np.take_along_axis(treat, order, axis=1).ravel()
    n_treat = np.add.reduceat(treat_sorted, start, dtype=np.int64)
    rank_sum = np.bincount(row, weights=n_treat * (col + (size + 1) / 2), minlength=n_rows)
    analysed = values.ravel()[start] < np.inf
    tie_term = np.bincount(row, weights=analysed * (size**3 - size), minlength=n_rows)
    n1, n0 = treat.sum(1), comp.sum(1)
    n = n1 + n0
    with np.errstate(all="ignore"):
        u1 = rank_sum - n1 * (n1 + 1) / 2
        sd_u = np.sqrt(n1 * n0 / 12 * ((n + 1) - tie_term / (n * (n - 1))))
        if test.sides == 2:
            z = (np.maximum(u1, n1 * n0 - u1) - n1 * n0 / 2 - 0.5) / sd_u
            p_value = np.minimum(2 * special.ndtr(-z), 1.0)
        else:
            z = (test.better * (u1 - n1 * n0 / 2) - 0.5) / sd_u
            p_value = special.ndtr(-z)
        theta = u1 / (n1 * n0)
        variance = _newcombe_variance(n1, n0, 1 - tie_term / (n**3 - n))
        lo, hi = _score_interval(theta, variance, special.ndtri(1 - alpha / 2))
        estimate, se = theta - 0.5, np.sqrt(variance(theta))
        lo, hi = lo - 0.5, hi - 0.5
        reason = _reasons(
            (TOO_FEW, (n1 < 1) | (n0 < 1)),
            (ZERO_VARIANCE, tie_term == n**3 - n),
        )
        return _result(estimate, se, (lo, hi, p_value), n, reason)


def _newcombe_variance(
    n1: np.ndarray, n0: np.ndarray, tie_factor: np.ndarray
) -> Callable[[np.ndarray], np.ndarray]:
    """Variance of the probabilistic index at theta (Newcombe 2006, method 5), per row."""
    m = (n1 + n0) / 2

    def variance(theta: np.ndarray) -> np.ndarray:
        spread = 1 + (m - 1) * (1 - theta) / (2 - theta) + (m - 1) * theta / (1 + theta)
        return tie_factor * theta * (1 - theta) * spread / (n1 * n0)

    return variance


def _score_interval(
    theta: np.ndarray, variance: Callable[[np.ndarray], np.ndarray], z: float
) -> tuple[np.ndarray, np.ndarray]:
    """Ends of ``{t in [0, 1]: (theta - t)**2 <= z**2 variance(t)}``, per row.

    ``(theta - t)**2 - z**2 variance(t)`` is positive at 0 and 1 unless theta is there
    (variance(0) = variance(1) = 0) and not positive at theta, so each end is found by
    bisection on its side of theta, to 2**-60.
    """
    ends = []
    for outer in (0.0, 1.0):
        inside, outside = theta.copy(), np.full_like(theta, outer)
        for _ in range(60):
            mid = (inside + outside) / 2
            within = (theta - mid) ** 2 <= z**2 * variance(mid)
            inside = np.where(within, mid, inside)
            outside = np.where(within, outside, mid)
        ends.append(inside)
    return ends[0], ends[1]


def _mann_whitney(
    data: TrialData, treatment: int, comparator: int, alpha: float, test: NullHypothesis = TWO_SIDED
) -> Estimates:
    observed, arm = data.contrast(treatment, comparator)
    return mann_whitney(data.change, arm, observed, alpha, test)


ANALYSES.register(
    Analysis(
        name="mann_whitney",
        estimand="probability_index",
        wording="Mann-Whitney U test (probabilistic index)",
        function=_mann_whitney,
        hypotheses=("two_sided", "superiority"),
    )
)
