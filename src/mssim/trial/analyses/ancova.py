"""ANCOVA of the endpoint adjusted for baseline."""

from __future__ import annotations

import numpy as np

from mssim.registry import ANALYSES
from mssim.trial.analyses.analysis import Analysis
from mssim.trial.analyses.estimates import (
    SINGULAR,
    TOO_FEW,
    ZERO_VARIANCE,
    Estimates,
    _arms,
    _arrays,
    _centre,
    _check_alpha,
    _clean,
    _negligible,
    _reasons,
    _result,
    _wald,
)
from mssim.trial.analyses.hypothesis import HYPOTHESES, TWO_SIDED, NullHypothesis
from mssim.trial.data import TrialData


def ancova_fit(
    outcome: np.ndarray, baseline: np.ndarray, arm: np.ndarray, observed: np.ndarray
) -> tuple[np.ndarray, ...]:
    """Closed-form OLS of outcome on intercept + arm + baseline, per replicate.

    Must be called under ``np.errstate(all="ignore")``.

    Returns:
        ``(estimate, weights, residuals, rss, n, reason)``: the arm coefficient, its
        observation weights (arm row of (X'X)^-1 X', so estimate = sum(weights * outcome)),
        the residuals (0 for unanalysed patients), the residual sum of squares, the number
        analysed and the reason code.
    """
    treat, comp = _arms(arm, observed)
    mask = treat | comp
    w = mask.astype(np.float64)
    t, n, _ = _centre(treat.astype(np.float64), w)
    x, _, x_mean = _centre(_clean(baseline, mask), w)
    y, _, y_mean = _centre(_clean(outcome, mask), w)

    def dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.einsum("ij,ij->i", a, b)

    s_tt, s_xx, s_tx = dot(t, t), dot(x, x), dot(t, x)
    s_ty, s_xy, s_yy = dot(t, y), dot(x, y), dot(y, y)
    det = s_tt * s_xx - s_tx**2
    estimate = (s_xx * s_ty - s_tx * s_xy) / det
    slope = (s_tt * s_xy - s_tx * s_ty) / det
    weights = s_xx[:, None] * t
    weights -= s_tx[:, None] * x
    weights /= det[:, None]
    # Residuals from the centred fit, rather than s_yy - fitted SS, avoid cancellation.
    resid = y - estimate[:, None] * t
    resid -= slope[:, None] * x
    rss = dot(resid, resid)
    reason = _reasons(
        (TOO_FEW, (treat.sum(1) < 1) | (comp.sum(1) < 1) | (n < 4)),
        (SINGULAR, _negligible(s_xx, s_xx + n * x_mean**2) | _negligible(det, s_tt * s_xx)),
        (ZERO_VARIANCE, _negligible(rss, s_yy + n * y_mean**2)),
    )
    return estimate, weights, resid, rss, n, reason


def ancova(
    outcome: np.ndarray,
    baseline: np.ndarray,
    arm: np.ndarray,
    observed: np.ndarray,
    alpha: float = 0.05,
    test: NullHypothesis = TWO_SIDED,
) -> Estimates:
    """ANCOVA: OLS of outcome on intercept + arm + baseline, classical SE.

    Args:
        outcome: Follow-up outcome (outcome units), shape (R, N).
        baseline: Baseline value of the covariate (usually the outcome), shape (R, N).
        arm: 1/True for the treatment arm, 0/False for the comparator, shape (R, N).
        observed: True for analysed patients, shape (R, N).
        alpha: Two-sided significance level; the CI level is 1 - alpha.
        test: The hypothesis tested; default two-sided (see
            :mod:`mssim.trial.analyses.hypothesis`).

    Returns:
        The adjusted mean difference (arm coefficient) with the classical OLS SE and a t
        CI/p-value on n - 3 df, equal to ``statsmodels`` ``OLS(...).fit()``. Reasons:
        ``too_few_analysed`` (an empty arm or n < 4), ``singular_design`` (constant baseline
        or baseline collinear with arm), ``zero_variance`` (the model fits exactly).
    """
    _check_alpha(alpha)
    outcome, baseline, arm, observed = _arrays(outcome, baseline, arm, observed)
    with np.errstate(all="ignore"):
        estimate, weights, _, rss, n, reason = ancova_fit(outcome, baseline, arm, observed)
        df = n - 3
        se = np.sqrt(rss / df * np.einsum("ij,ij->i", weights, weights))
        return _result(estimate, se, _wald(estimate, se, df, alpha, test), n, reason)


def _ancova(
    data: TrialData, treatment: int, comparator: int, alpha: float, test: NullHypothesis = TWO_SIDED
) -> Estimates:
    observed, arm = data.contrast(treatment, comparator)
    return ancova(data.outcome, data.baseline, arm, observed, alpha, test)


ANALYSES.register(
    Analysis(
        name="ancova",
        estimand="mean_difference",
        wording="ANCOVA of the endpoint adjusted for baseline",
        function=_ancova,
        hypotheses=HYPOTHESES,
    )
)
