"""The AB/BA crossover analysis adjusted for period."""

from __future__ import annotations

import numpy as np

from mssim.registry import ANALYSES
from mssim.trial.analyses.analysis import Analysis
from mssim.trial.analyses.estimates import (
    TOO_FEW,
    ZERO_VARIANCE,
    Estimates,
    _arms,
    _arrays,
    _check_alpha,
    _clean,
    _moments,
    _negligible,
    _reasons,
    _result,
    _wald,
)
from mssim.trial.analyses.hypothesis import HYPOTHESES, TWO_SIDED, NullHypothesis
from mssim.trial.data import TrialData


def crossover(
    period1: np.ndarray,
    period2: np.ndarray,
    sequence: np.ndarray,
    observed: np.ndarray,
    alpha: float = 0.05,
    test: NullHypothesis = TWO_SIDED,
) -> Estimates:
    """AB/BA crossover analysis adjusting for period (Grizzle; Jones & Kenward).

    With ``d = period1 - period2`` the treatment effect is ``(mean d_AB - mean d_BA) / 2``
    with SE ``s_d sqrt(1/n_AB + 1/n_BA) / 2`` from the pooled variance of ``d`` on n - 2 df.
    This equals the treatment coefficient of OLS of the stacked outcomes on patient fixed
    effects + period + treatment, and its p-value that of the pooled two-sample t-test of
    ``d_AB`` vs ``d_BA``. No carry-over is modelled. Only patients with both periods can be
    analysed: ``observed`` must be False for anyone missing a period.

    Args:
        period1: Outcome in period 1 (outcome units), shape (R, N).
        period2: Outcome in period 2, shape (R, N).
        sequence: 1/True for AB (treatment first), 0/False for BA, shape (R, N).
        observed: True for analysed patients (both periods observed), shape (R, N).
        alpha: Two-sided significance level; the CI level is 1 - alpha.
        test: The hypothesis tested; default two-sided (see
            :mod:`mssim.trial.analyses.hypothesis`).

    Returns:
        Per-replicate results. Reasons: ``too_few_analysed`` (an empty sequence or n < 3),
        ``zero_variance`` (``d`` constant within both sequences).
    """
    _check_alpha(alpha)
    period1, period2, sequence, observed = _arrays(period1, period2, sequence, observed)
    ab, ba = _arms(sequence, observed)
    d = _clean(period1 - period2, ab | ba)
    with np.errstate(all="ignore"):
        n1, m1, ss1 = _moments(d, ab.astype(np.float64))
        n0, m0, ss0 = _moments(d, ba.astype(np.float64))
        n = n1 + n0
        df = n - 2
        se = np.sqrt((ss1 + ss0) / df * (1 / n1 + 1 / n0)) / 2
        estimate = (m1 - m0) / 2
        reason = _reasons(
            (TOO_FEW, (n1 < 1) | (n0 < 1) | (n < 3)),
            (ZERO_VARIANCE, _negligible(ss1 + ss0, ss1 + ss0 + n1 * m1**2 + n0 * m0**2)),
        )
        return _result(estimate, se, _wald(estimate, se, df, alpha, test), n, reason)


def _crossover(
    data: TrialData, treatment: int, comparator: int, alpha: float, test: NullHypothesis = TWO_SIDED
) -> Estimates:
    observed, arm = data.contrast(treatment, comparator)
    return crossover(data.outcome, data.period2, arm, observed, alpha, test)


ANALYSES.register(
    Analysis(
        name="crossover",
        estimand="mean_difference",
        wording="AB/BA crossover analysis adjusted for period",
        function=_crossover,
        designs=("crossover",),
        strategies=("treatment_policy",),
        hypotheses=HYPOTHESES,
    )
)
