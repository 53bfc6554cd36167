"""Mann-Whitney U test of change from baseline, with the probabilistic index."""

from __future__ import annotations

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
    _wald,
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
    (range -0.5..0.5; negative when treated patients tend to have lower outcomes). The SE
    is the tie-corrected SE of U under the null hypothesis divided by n1 n0,
    ``sqrt((n + 1 - T / (n (n - 1))) / (12 n1 n0))`` with ``T = sum(t**3 - t)`` over tie
    groups, and the CI is Wald (normal). This SE ignores the effect size, so the CI is
    wider than needed (conservative) for large location shifts, but it stays positive
    under complete separation. The p-value is the normal approximation with tie and
    continuity corrections, equal to ``scipy.stats.mannwhitneyu(treat, comp,
    method="asymptotic", use_continuity=True)``.

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
        estimate = u1 / (n1 * n0) - 0.5
        se = sd_u / (n1 * n0)
        lo, hi, _ = _wald(estimate, se, np.inf, alpha)
        reason = _reasons(
            (TOO_FEW, (n1 < 1) | (n0 < 1)),
            (ZERO_VARIANCE, tie_term == n**3 - n),
        )
        return _result(estimate, se, (lo, hi, p_value), n, reason)


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
