"""Responder analysis: difference in the shares improving by at least the MCID.

The Miettinen–Nurminen score test and the score interval that inverts it
(Miettinen O, Nurminen M. Comparative analysis of two rates. Stat Med
1985;4:213-226; method 10 of Newcombe RG. Interval estimation for the difference
between independent proportions. Stat Med 1998;17:873-890). Test and interval come
from one statistic, so they always agree: the interval excludes 0 exactly when the
p-value is below alpha.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from mssim.registry import ANALYSES
from mssim.trial.analyses.analysis import Analysis
from mssim.trial.analyses.estimates import (
    TOO_FEW,
    Estimates,
    _arms,
    _arrays,
    _check_alpha,
    _reasons,
    _result,
)
from mssim.trial.analyses.hypothesis import HYPOTHESES, TWO_SIDED, NullHypothesis
from mssim.trial.data import TrialData

# Bisection halves the bracket (width <= 1) this many times: limits to 2**-60 < 1e-18.
_BISECTIONS = 60


def restricted_mle(
    p1: np.ndarray, p0: np.ndarray, n1: np.ndarray, n0: np.ndarray, delta: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Maximum-likelihood proportions under the constraint p1 - p0 = delta.

    The closed-form root of the likelihood equation, a cubic (Miettinen and Nurminen
    1985, appendix; Farrington and Manning, Stat Med 1990;9:1447-1454, eq. 3).

    Args:
        p1: Observed share of responders in the treatment arm.
        p0: Observed share in the comparator arm.
        n1: Treatment arm size.
        n0: Comparator arm size.
        delta: Risk difference under the null hypothesis, in [-1, 1].

    Returns:
        The restricted estimates (p1, p0), with p1 - p0 = delta.
    """
    theta = n0 / n1
    a = 1 + theta
    b = -(1 + theta + p1 + theta * p0 + delta * (theta + 2))
    c = delta**2 + delta * (2 * p1 + theta + 1) + p1 + theta * p0
    d = -p1 * delta * (1 + delta)
    v = b**3 / (27 * a**3) - b * c / (6 * a**2) + d / (2 * a)
    u = np.sign(v) * np.sqrt(np.maximum(b**2 / (9 * a**2) - c / (3 * a), 0.0))
    cosine = np.where(u == 0, 0.0, v / np.where(u == 0, 1.0, u**3))
    w = (np.pi + np.arccos(np.clip(cosine, -1.0, 1.0))) / 3
    mle1 = np.clip(2 * u * np.cos(w) - b / (3 * a), 0.0, 1.0)
    return mle1, np.clip(mle1 - delta, 0.0, 1.0)


def score_statistic(
    p1: np.ndarray, p0: np.ndarray, n1: np.ndarray, n0: np.ndarray, delta: np.ndarray
) -> np.ndarray:
    """Miettinen–Nurminen score statistic of H0: p1 - p0 = delta (decreasing in delta).

    ``z = (p1 - p0 - delta) / sqrt(V)`` with ``V = (q1 (1 - q1) / n1 + q0 (1 - q0) / n0)
    * N / (N - 1)`` at the restricted estimates q (:func:`restricted_mle`). At delta = 0
    ``z**2`` is Pearson's chi-square times (N - 1) / N.
    """
    mle1, mle0 = restricted_mle(p1, p0, n1, n0, delta)
    n = n1 + n0
    variance = (mle1 * (1 - mle1) / n1 + mle0 * (1 - mle0) / n0) * n / (n - 1)
    return (p1 - p0 - delta) / np.sqrt(variance)


def _score_limit(
    p1: np.ndarray, p0: np.ndarray, n1: np.ndarray, n0: np.ndarray, z: float, lower: bool
) -> np.ndarray:
    """The delta at which the score statistic crosses +z (lower) or -z (upper limit)."""
    estimate = p1 - p0
    inside = estimate.copy()  # the statistic is 0 here, inside the interval
    outside = np.full_like(estimate, -1.0 if lower else 1.0)
    for _ in range(_BISECTIONS):
        mid = (inside + outside) / 2
        stat = score_statistic(p1, p0, n1, n0, mid)
        beyond = stat >= z if lower else stat <= -z
        outside = np.where(beyond, mid, outside)
        inside = np.where(beyond, inside, mid)
    return (inside + outside) / 2


def responder(
    responded: np.ndarray,
    arm: np.ndarray,
    observed: np.ndarray,
    alpha: float = 0.05,
    test: NullHypothesis = TWO_SIDED,
) -> Estimates:
    """Risk difference with the Miettinen–Nurminen score test and score interval.

    The p-value is that of the score test of no difference, ``2 * Phi(-|z(0)|)``,
    Pearson's chi-square test (R ``prop.test(correct = FALSE)``) with the statistic
    multiplied by (N - 1) / N. The 1 - alpha interval is every delta that the score
    test of p1 - p0 = delta does not reject, ``|z(delta)| < z_{1-alpha/2}``, found by
    bisection to 1e-15. It stays inside [-1, 1] and is defined for 0 or all responders
    (e.g. 0/10 vs 0/10 gives -0.2879 to 0.2879, Newcombe 1998 Table II). The reported
    SE is the interval's half-width over z_{1-alpha/2}.

    Args:
        responded: 1/True for responders, shape (R, N).
        arm: 1/True for the treatment arm, 0/False for the comparator, shape (R, N).
        observed: True for analysed patients, shape (R, N).
        alpha: Two-sided significance level; the CI level is 1 - alpha.
        test: The hypothesis tested; default two-sided. A one-sided test uses the
            score statistic at the null value, ``P(Z > z(test.null))`` (benefit is a
            higher share), the Farrington and Manning (1990) non-inferiority test; it
            rejects at alpha / 2 exactly when the score interval lies above the null
            value.

    Returns:
        Risk difference (treatment minus comparator, proportion units). Reason
        ``too_few_analysed`` if an arm is empty. When both arms are all responders or
        all non-responders the estimate is 0 and the p-value 1.
    """
    _check_alpha(alpha)
    responded, arm, observed = _arrays(responded, arm, observed)
    treat, comp = _arms(arm, observed)
    responded = responded.astype(bool)
    n1, n0 = treat.sum(1), comp.sum(1)
    x1, x0 = (responded & treat).sum(1), (responded & comp).sum(1)
    reason = _reasons((TOO_FEW, (n1 < 1) | (n0 < 1)))
    with np.errstate(all="ignore"):
        # an empty arm counts as one patient so the arithmetic stays finite; rows blanked
        n1f, n0f = np.maximum(n1, 1).astype(np.float64), np.maximum(n0, 1).astype(np.float64)
        p1, p0 = x1 / n1f, x0 / n0f
        z_crit = float(special.ndtri(1 - alpha / 2))
        z0 = score_statistic(p1, p0, n1f, n0f, np.zeros_like(p1))
        # pooled share 0 or 1: both arms identical, no evidence of a difference
        if test.sides == 2:
            p_value = np.where(np.isfinite(z0), 2 * special.ndtr(-np.abs(z0)), 1.0)
        else:
            z = score_statistic(p1, p0, n1f, n0f, np.full_like(p1, test.null))
            p_value = np.where(np.isfinite(z), special.ndtr(-test.better * z), 1.0)
        low = _score_limit(p1, p0, n1f, n0f, z_crit, lower=True)
        high = _score_limit(p1, p0, n1f, n0f, z_crit, lower=False)
        se = (high - low) / (2 * z_crit)
        return _result(p1 - p0, se, (low, high, p_value), n1 + n0, reason)


def _responder(
    data: TrialData, treatment: int, comparator: int, alpha: float, test: NullHypothesis = TWO_SIDED
) -> Estimates:
    observed, arm = data.contrast(treatment, comparator)
    return responder(data.responded, arm, observed, alpha, test)


ANALYSES.register(
    Analysis(
        name="responder",
        estimand="risk_difference",
        wording="difference in responder shares (improvement of at least the MCID), "
        "Miettinen-Nurminen score test and interval",
        function=_responder,
        strategies=("treatment_policy", "hypothetical", "composite"),
        hypotheses=HYPOTHESES,
    )
)
