"""Welch's unequal-variance t-test on change from baseline."""

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


def welch_change(
    change: np.ndarray,
    arm: np.ndarray,
    observed: np.ndarray,
    alpha: float = 0.05,
    test: NullHypothesis = TWO_SIDED,
) -> Estimates:
    """Welch's unequal-variance t-test on change from baseline.

    Args:
        change: Change scores (outcome units), shape (R, N).
        arm: 1/True for the treatment arm, 0/False for the comparator, shape (R, N).
        observed: True for analysed patients, shape (R, N).
        alpha: Two-sided significance level; the CI level is 1 - alpha.
        test: The hypothesis tested; default two-sided (see
            :mod:`mssim.trial.analyses.hypothesis`).

    Returns:
        Mean difference (treatment minus comparator), Welch SE, CI and p-value on the
        Welch–Satterthwaite df, equal to ``scipy.stats.ttest_ind(treat, comp,
        equal_var=False)`` (one-sided: its ``alternative``, with the treatment
        arm shifted by ``-test.null``). Reasons: ``too_few_analysed`` if an arm has fewer than 2
        patients, ``zero_variance`` if both arms are constant.
    """
    _check_alpha(alpha)
    change, arm, observed = _arrays(change, arm, observed)
    treat, comp = _arms(arm, observed)
    change = _clean(change, treat | comp)
    with np.errstate(all="ignore"):
        n1, m1, ss1 = _moments(change, treat.astype(np.float64))
        n0, m0, ss0 = _moments(change, comp.astype(np.float64))
        v1 = ss1 / (n1 - 1) / n1
        v0 = ss0 / (n0 - 1) / n0
        se = np.sqrt(v1 + v0)
        df = (v1 + v0) ** 2 / (v1**2 / (n1 - 1) + v0**2 / (n0 - 1))
        estimate = m1 - m0
        reason = _reasons(
            (TOO_FEW, (n1 < 2) | (n0 < 2)),
            (
                ZERO_VARIANCE,
                _negligible(ss1, ss1 + n1 * m1**2) & _negligible(ss0, ss0 + n0 * m0**2),
            ),
        )
        return _result(estimate, se, _wald(estimate, se, df, alpha, test), n1 + n0, reason)


def _welch(
    data: TrialData, treatment: int, comparator: int, alpha: float, test: NullHypothesis = TWO_SIDED
) -> Estimates:
    observed, arm = data.contrast(treatment, comparator)
    return welch_change(data.change, arm, observed, alpha, test)


ANALYSES.register(
    Analysis(
        name="welch_change",
        estimand="mean_difference",
        wording="Welch's t-test on change from baseline",
        function=_welch,
        hypotheses=HYPOTHESES,
    )
)
