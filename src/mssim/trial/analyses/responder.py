"""Responder analysis: difference in the shares improving by at least the MCID."""

from __future__ import annotations

from dataclasses import replace

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
    _wald,
)
from mssim.trial.data import TrialData

# Fisher's test counts a table as extreme when its probability is <= (1 + tol) p_observed.
# Rounding of the log-factorial sums is < 1e-12 for N <= 600, while distinct tables can be
# as close as 8.4e-8 (e.g. arms 58/146): R's 1e-7 would wrongly count such a table.
_FISHER_REL_TOL = 1e-9


def _fisher_pvalue(x1: np.ndarray, n1: np.ndarray, x0: np.ndarray, n0: np.ndarray) -> np.ndarray:
    """Two-sided Fisher exact p-values of the 2x2 tables [[x1, n1 - x1], [x0, n0 - x0]].

    The p-value sums the hypergeometric probabilities (given the margins) of all tables at
    most (1 + 1e-9) times as likely as the observed one. The probabilities are formed from
    a table of log-factorials, vectorised over tables (1-D int arrays with n1, n0 >= 1).
    """
    k, n1, n0, x1 = (a[:, None] for a in (x1 + x0, n1, n0, x1))
    log_fact = special.gammaln(np.arange((n1 + n0).max() + 1) + 1.0)
    low = np.maximum(0, k - n0)
    size = np.minimum(n1, k) - low + 1
    grid = low + np.arange(size.max())
    in_support = grid < low + size
    grid = np.where(in_support, grid, low)

    def log_kernel(x: np.ndarray) -> np.ndarray:
        """Log-probability of x treatment responders, up to a per-table constant."""
        return -(log_fact[x] + log_fact[n1 - x] + log_fact[k - x] + log_fact[n0 - k + x])

    observed = log_kernel(x1)
    relative = log_kernel(grid) - observed
    # The tolerance keeps equally likely tables in despite rounding in the log domain.
    extreme = in_support & (relative <= np.log1p(_FISHER_REL_TOL))
    ratio_sum = np.where(extreme, np.exp(relative), 0.0).sum(1)
    n = n1 + n0
    log_constant = log_fact[n1] + log_fact[n0] + log_fact[k] + log_fact[n - k] - log_fact[n]
    return np.minimum(np.exp(observed + log_constant)[:, 0] * ratio_sum, 1.0)


def responder(
    responded: np.ndarray, arm: np.ndarray, observed: np.ndarray, alpha: float = 0.05
) -> Estimates:
    """Difference in responder proportions with a Wald CI and Fisher's exact p-value.

    The SE is the unpooled Wald SE ``sqrt(p1 (1 - p1) / n1 + p0 (1 - p0) / n0)`` and the
    CI is ``estimate ± z_{1-alpha/2} SE``. The p-value is the two-sided Fisher exact test:
    the total probability of the tables, given both margins, that are no more likely than
    the observed one, with a relative tolerance of 1e-9 so that equally likely tables count
    despite rounding. This equals ``scipy.stats.fisher_exact`` (tolerance 1e-14 on its own
    probabilities) unless two distinct tables have probabilities within 1e-9 of each other
    (none was found for arm sizes up to 150; the closest pair differs by 8.4e-8).

    When every proportion is 0 or 1 the Wald SE is 0: the replicate gets reason
    ``zero_variance`` and NaN SE/CI, but keeps its estimate and Fisher p-value, which remain
    valid (e.g. 0/10 vs 10/10 responders is a significant result).

    Args:
        responded: 1/True for responders, shape (R, N).
        arm: 1/True for the treatment arm, 0/False for the comparator, shape (R, N).
        observed: True for analysed patients, shape (R, N).
        alpha: Two-sided significance level; the CI level is 1 - alpha.

    Returns:
        Risk difference (treatment minus comparator, proportion units). Reason
        ``too_few_analysed`` if an arm is empty.
    """
    _check_alpha(alpha)
    responded, arm, observed = _arrays(responded, arm, observed)
    treat, comp = _arms(arm, observed)
    responded = responded.astype(bool)
    n1, n0 = treat.sum(1), comp.sum(1)
    x1, x0 = (responded & treat).sum(1), (responded & comp).sum(1)
    valid = (n1 >= 1) & (n0 >= 1)
    p_value = np.full(len(n1), np.nan)
    if valid.any():
        p_value[valid] = _fisher_pvalue(x1[valid], n1[valid], x0[valid], n0[valid])
    with np.errstate(all="ignore"):
        p1, p0 = x1 / n1, x0 / n0
        estimate = p1 - p0
        se = np.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
        reason = _reasons((TOO_FEW, ~valid), (ZERO_VARIANCE, se == 0))
        lo, hi, _ = _wald(estimate, se, np.inf, alpha)
        out = _result(estimate, se, (lo, hi, p_value), n1 + n0, reason)
    keep = reason == ZERO_VARIANCE
    return replace(
        out,
        estimate=np.where(keep, estimate, out.estimate),
        p_value=np.where(keep, p_value, out.p_value),
    )


def _responder(data: TrialData, treatment: int, comparator: int, alpha: float) -> Estimates:
    observed, arm = data.contrast(treatment, comparator)
    return responder(data.responded, arm, observed, alpha)


ANALYSES.register(
    Analysis(
        name="responder",
        estimand="risk_difference",
        wording="difference in responder shares (improvement of at least the MCID), "
        "Fisher's exact test",
        function=_responder,
        strategies=("treatment_policy", "hypothetical", "composite"),
    )
)
