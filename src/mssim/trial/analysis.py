"""Trial analyses vectorised over Monte Carlo replicates.

Every vectorised estimator takes arrays of shape ``(R, N)``: ``R`` replicate trials of ``N``
(padded) patients. ``observed`` (bool) selects the patients analysed in each replicate and
``arm`` marks the treatment arm of the contrast (1 or True) against the comparator (0 or
False); patients in neither arm of the contrast must have ``observed=False``. A 1-D input is
treated as a single replicate. Values of observed patients must be finite; values of
unobserved patients are ignored (they may be NaN).

Estimates are always treatment minus comparator, in the units of the outcome (so for symptom
scores a negative estimate is a benefit). Each estimator returns an :class:`Estimates` with
one entry per replicate. A degenerate replicate never raises or warns: its float fields are
NaN and its ``reason`` is one of the nonzero codes in :data:`REASONS`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import special

REASONS: dict[int, str] = {
    0: "ok",
    1: "too_few_analysed",
    2: "zero_variance",
    3: "singular_design",
    4: "too_few_clusters",
    5: "fit_failed",
}
OK, TOO_FEW, ZERO_VARIANCE, SINGULAR, TOO_FEW_CLUSTERS, FIT_FAILED = range(6)

ESTIMAND: dict[str, str] = {
    "welch_change": "mean_difference",
    "ancova": "mean_difference",
    "ancova_cluster": "mean_difference",
    "crossover": "mean_difference",
    "responder": "risk_difference",
    "mann_whitney": "probability_index",
    "mmrm": "mean_difference",
}

# A sum of squares (or determinant) at most this fraction of its natural scale, e.g. the
# uncentred sum of squares, is rounding noise and counts as 0: for constant data the noise
# is ~(N * 2.2e-16)**2 of the scale, while real data are many orders above 1e-10.
_REL_TOL = 1e-10
# Fisher's test counts a table as extreme when its probability is <= (1 + tol) p_observed.
# Rounding of the log-factorial sums is < 1e-12 for N <= 600, while distinct tables can be
# as close as 8.4e-8 (e.g. arms 58/146): R's 1e-7 would wrongly count such a table.
_FISHER_REL_TOL = 1e-9


@dataclass(frozen=True)
class Estimates:
    """Per-replicate results of one analysis; every field has shape (R,).

    Attributes:
        estimate: Treatment minus comparator, in the estimand's units.
        se: Standard error of ``estimate``.
        ci_low: Lower limit of the two-sided 1 - alpha confidence interval.
        ci_high: Upper limit of the two-sided 1 - alpha confidence interval.
        p_value: Two-sided p-value of the method's test of no effect.
        n_analysed: Number of patients analysed (int64).
        reason: Status code (int8), a key of :data:`REASONS`; 0 means ok.
    """

    estimate: np.ndarray
    se: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    p_value: np.ndarray
    n_analysed: np.ndarray
    reason: np.ndarray

    def to_frame(self) -> pd.DataFrame:
        """Return one row per replicate, with ``reason`` given by name."""
        frame = pd.DataFrame(
            {
                "estimate": self.estimate,
                "se": self.se,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
                "p_value": self.p_value,
                "n_analysed": self.n_analysed,
            }
        )
        frame["reason"] = [REASONS[int(code)] for code in self.reason]
        return frame

    def reason_counts(self) -> dict[str, int]:
        """Return the number of replicates for every reason name (zeros included)."""
        counts = np.bincount(self.reason, minlength=len(REASONS))
        return {name: int(counts[code]) for code, name in REASONS.items()}


# ---------------------------------------------------------------------------- helpers


def _arrays(*arrays: np.ndarray) -> list[np.ndarray]:
    """Return the inputs as 2-D arrays of one common shape (R, N)."""
    out = [np.atleast_2d(np.asarray(a)) for a in arrays]
    shapes = {a.shape for a in out}
    if len(shapes) != 1 or out[0].ndim != 2:
        raise ValueError(f"inputs must share one 2-D shape (R, N), got {sorted(shapes)}")
    return out


def _arms(arm: np.ndarray, observed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the (treatment, comparator) masks of analysed patients."""
    observed = observed.astype(bool)
    treat = observed & arm.astype(bool)
    return treat, observed & ~treat


def _check_alpha(alpha: float) -> None:
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")


def _clean(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Return ``x`` as float64 with unanalysed entries (possibly NaN) set to 0."""
    return np.where(mask, x, 0.0)


def _centre(x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centre ``x`` on its row mean over the patients with weight ``w`` = 1.

    Args:
        x: Finite values, shape (R, N) (see :func:`_clean`).
        w: 0/1 float64 selection, shape (R, N).

    Returns:
        The centred values (0 where ``w`` is 0), the row counts and the row means (NaN
        for an empty row).
    """
    n = w.sum(axis=1)
    mean = np.einsum("ij,ij->i", w, x) / n
    centred = x - mean[:, None]
    centred *= w
    return centred, n, mean


def _moments(x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the row count, mean and centred sum of squares over ``w`` (see :func:`_centre`)."""
    centred, n, mean = _centre(x, w)
    return n, mean, np.einsum("ij,ij->i", centred, centred)


def _negligible(part: np.ndarray, total: np.ndarray) -> np.ndarray:
    """Flag a sum of squares that is rounding noise relative to ``total`` (or exactly 0)."""
    return part <= _REL_TOL * total


def _reasons(*checks: tuple[int, np.ndarray]) -> np.ndarray:
    """Return the code of the first failing check per replicate (0 if none fails)."""
    codes = [code for code, _ in checks]
    return np.select([failed for _, failed in checks], codes, OK).astype(np.int8)


def _runs(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Locate the runs of equal values in each row of a row-wise sorted (R, N) array.

    Returns:
        The flat index of the first element of every run and the row it lies in.
    """
    new = np.ones(rows.shape, bool)
    new[:, 1:] = rows[:, 1:] != rows[:, :-1]
    start = np.flatnonzero(new)
    return start, start // rows.shape[1]


def _wald(
    estimate: np.ndarray, se: np.ndarray, df: np.ndarray | float, alpha: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the 1 - alpha CI limits and two-sided p-value, t on ``df`` (np.inf: normal)."""
    half = special.stdtrit(df, 1 - alpha / 2) * se
    p = 2 * special.stdtr(df, -np.abs(estimate / se))
    return estimate - half, estimate + half, p


def _result(
    estimate: np.ndarray,
    se: np.ndarray,
    ci: tuple[np.ndarray, np.ndarray, np.ndarray],
    n: np.ndarray,
    reason: np.ndarray,
) -> Estimates:
    """Assemble an :class:`Estimates`, blanking the float fields of degenerate replicates."""
    bad = reason != OK

    def clean(a: np.ndarray) -> np.ndarray:
        return np.where(bad, np.nan, a).astype(np.float64)

    lo, hi, p = ci
    return Estimates(
        estimate=clean(estimate),
        se=clean(se),
        ci_low=clean(lo),
        ci_high=clean(hi),
        p_value=clean(p),
        n_analysed=np.asarray(n, dtype=np.int64),
        reason=reason,
    )


# ---------------------------------------------------------------------------- estimators


def welch_change(
    change: np.ndarray, arm: np.ndarray, observed: np.ndarray, alpha: float = 0.05
) -> Estimates:
    """Welch's unequal-variance t-test on change from baseline.

    Args:
        change: Change scores (outcome units), shape (R, N).
        arm: 1/True for the treatment arm, 0/False for the comparator, shape (R, N).
        observed: True for analysed patients, shape (R, N).
        alpha: Two-sided significance level; the CI level is 1 - alpha.

    Returns:
        Mean difference (treatment minus comparator), Welch SE, CI and p-value on the
        Welch–Satterthwaite df, equal to ``scipy.stats.ttest_ind(treat, comp,
        equal_var=False)``. Reasons: ``too_few_analysed`` if an arm has fewer than 2
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
        return _result(estimate, se, _wald(estimate, se, df, alpha), n1 + n0, reason)


def _ancova_fit(
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
) -> Estimates:
    """ANCOVA: OLS of outcome on intercept + arm + baseline, classical SE.

    Args:
        outcome: Follow-up outcome (outcome units), shape (R, N).
        baseline: Baseline value of the covariate (usually the outcome), shape (R, N).
        arm: 1/True for the treatment arm, 0/False for the comparator, shape (R, N).
        observed: True for analysed patients, shape (R, N).
        alpha: Two-sided significance level; the CI level is 1 - alpha.

    Returns:
        The adjusted mean difference (arm coefficient) with the classical OLS SE and a t
        CI/p-value on n - 3 df, equal to ``statsmodels`` ``OLS(...).fit()``. Reasons:
        ``too_few_analysed`` (an empty arm or n < 4), ``singular_design`` (constant baseline
        or baseline collinear with arm), ``zero_variance`` (the model fits exactly).
    """
    _check_alpha(alpha)
    outcome, baseline, arm, observed = _arrays(outcome, baseline, arm, observed)
    with np.errstate(all="ignore"):
        estimate, weights, _, rss, n, reason = _ancova_fit(outcome, baseline, arm, observed)
        df = n - 3
        se = np.sqrt(rss / df * np.einsum("ij,ij->i", weights, weights))
        return _result(estimate, se, _wald(estimate, se, df, alpha), n, reason)


def _cluster_labels(cluster: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, int]:
    """Map the cluster ids of each replicate to labels 0..K-1, with K <= N.

    Ids whose observed range spans at most N values (e.g. practitioners 0..P-1) are only
    shifted; otherwise each row is relabelled by sorting it. Unanalysed patients get some
    label too; callers must weight them by ``mask``.

    Returns:
        The labels, shape (R, N), and the number of possible labels K.
    """
    ids = np.where(mask, cluster, 0).astype(np.int64)
    observed_ids = ids[mask]
    low, high = (int(observed_ids.min()), int(observed_ids.max())) if mask.any() else (0, 0)
    if high - low < ids.shape[1]:
        return np.where(mask, ids - low, 0), high - low + 1
    order = np.argsort(np.where(mask, ids, np.iinfo(np.int64).max), axis=1)
    ranked = np.take_along_axis(ids, order, axis=1)
    new = np.ones(ids.shape, np.int64)
    new[:, 1:] = ranked[:, 1:] != ranked[:, :-1]
    labels = np.empty_like(ids)
    np.put_along_axis(labels, order, new.cumsum(axis=1) - 1, axis=1)
    return labels, ids.shape[1]


def ancova_cluster(
    outcome: np.ndarray,
    baseline: np.ndarray,
    arm: np.ndarray,
    cluster: np.ndarray,
    observed: np.ndarray,
    alpha: float = 0.05,
) -> Estimates:
    """ANCOVA with a cluster-robust (CR1) SE, clustering patients by practitioner.

    The point estimate is that of :func:`ancova`. The variance is the sandwich
    ``c * sum_g (sum_{i in g} w_i e_i)**2`` with ``w`` the arm row of (X'X)^-1 X', ``e``
    the OLS residuals and the CR1 small-sample correction ``c = G/(G-1) * (n-1)/(n-3)``
    (statsmodels' default for ``cov_type="cluster"``). CI and p-value use a t distribution
    on G - 1 df (statsmodels with ``use_t=True``).

    Clusters are identified within each replicate: ids may be any integers (not
    necessarily 0..G-1), and the same id in two replicates denotes unrelated clusters. G
    counts the clusters with at least one analysed patient. A patient treated by no
    practitioner should get an id of its own (a singleton cluster). Ids whose observed
    values span at most N consecutive integers (e.g. 0..P-1) take a fast path; others are
    relabelled by sorting each replicate (about twice as slow).

    Args:
        outcome: Follow-up outcome (outcome units), shape (R, N).
        baseline: Baseline covariate, shape (R, N).
        arm: 1/True for the treatment arm, 0/False for the comparator, shape (R, N).
        cluster: Integer cluster (practitioner) id of each patient, shape (R, N).
        observed: True for analysed patients, shape (R, N).
        alpha: Two-sided significance level; the CI level is 1 - alpha.

    Returns:
        As :func:`ancova`, plus reason ``too_few_clusters`` when G < 2, and
        ``zero_variance`` also when the patients' scores cancel within every cluster so
        that the sandwich is 0 (possible in tiny trials).
    """
    _check_alpha(alpha)
    outcome, baseline, arm, cluster, observed = _arrays(outcome, baseline, arm, cluster, observed)
    with np.errstate(all="ignore"):
        estimate, weights, resid, rss, n, reason = _ancova_fit(outcome, baseline, arm, observed)
        mask = observed.astype(bool)
        labels, n_labels = _cluster_labels(cluster, mask)
        n_rows = len(labels)
        key = (np.arange(n_rows)[:, None] * n_labels + labels).ravel()

        def per_cluster(values: np.ndarray) -> np.ndarray:
            """Sum ``values`` per (replicate, cluster label): shape (R, K)."""
            sums = np.bincount(key, weights=values.ravel(), minlength=n_rows * n_labels)
            return sums.reshape(n_rows, n_labels)

        meat = (per_cluster(weights * resid) ** 2).sum(1)
        g = (per_cluster(mask) > 0).sum(1)
        se = np.sqrt(g / (g - 1) * (n - 1) / (n - 3) * meat)
        # In tiny trials the scores can cancel within every cluster (or vanish, e.g. at
        # leverage-1 points), leaving a sandwich of rounding noise; its scale is that of the
        # classical variance, rss * sum(w**2).
        cancelled = _negligible(meat, rss * np.einsum("ij,ij->i", weights, weights))
        extra = _reasons((TOO_FEW_CLUSTERS, g < 2), (ZERO_VARIANCE, cancelled))
        reason = np.where(reason == OK, extra, reason)
        return _result(estimate, se, _wald(estimate, se, g - 1, alpha), n, reason)


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


def mann_whitney(
    outcome: np.ndarray, arm: np.ndarray, observed: np.ndarray, alpha: float = 0.05
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

    Returns:
        Per-replicate results. Reasons: ``too_few_analysed`` if an arm is empty,
        ``zero_variance`` if all analysed outcomes are tied.
    """
    _check_alpha(alpha)
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
        z = (np.maximum(u1, n1 * n0 - u1) - n1 * n0 / 2 - 0.5) / sd_u
        p_value = np.minimum(2 * special.ndtr(-z), 1.0)
        estimate = u1 / (n1 * n0) - 0.5
        se = sd_u / (n1 * n0)
        lo, hi, _ = _wald(estimate, se, np.inf, alpha)
        reason = _reasons(
            (TOO_FEW, (n1 < 1) | (n0 < 1)),
            (ZERO_VARIANCE, tie_term == n**3 - n),
        )
        return _result(estimate, se, (lo, hi, p_value), n, reason)


def crossover(
    period1: np.ndarray,
    period2: np.ndarray,
    sequence: np.ndarray,
    observed: np.ndarray,
    alpha: float = 0.05,
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
        return _result(estimate, se, _wald(estimate, se, df, alpha), n, reason)


def mmrm(frame: pd.DataFrame, alpha: float = 0.05) -> Estimates:
    """Mixed model for repeated measures of ONE trial: the arm effect at the last visit.

    statsmodels has no MMRM with an unstructured within-patient covariance, so this is a
    random-intercept linear mixed model (compound-symmetric covariance) fitted by REML
    with ``statsmodels.formula.api.mixedlm("value ~ C(visit) * arm + baseline",
    groups=patient_id)``. The estimate is ``arm + C(visit)[T.last]:arm``, its SE comes
    from the covariance of the fixed effects, and the CI and p-value use the normal
    distribution, as statsmodels does. It takes ~0.1-0.5 s per trial: use it to check a
    few trials, not inside Monte Carlo loops.

    Args:
        frame: Long data, one row per observed post-baseline visit (missing visits are
            absent), with columns ``patient_id``, ``arm`` (1 treatment, 0 comparator),
            ``visit`` (week, numeric), ``baseline`` and ``value`` (outcome units).
        alpha: Two-sided significance level; the CI level is 1 - alpha.

    Returns:
        A one-replicate :class:`Estimates`; ``n_analysed`` counts patients. Reasons:
        ``too_few_analysed`` (an empty arm at the last visit or fewer than 4 patients) and
        ``fit_failed`` (the fit raised, did not converge or gave a non-finite SE); the
        model's warnings are suppressed.
    """
    import statsmodels.formula.api as smf  # lazily: the formula API takes ~1 s to import

    _check_alpha(alpha)
    n = np.array([frame["patient_id"].nunique()], dtype=np.int64)
    last = frame["visit"].max()
    arms_at_last = frame.loc[frame["visit"] == last, "arm"].nunique()
    estimate = se = np.array([np.nan])
    reason = _reasons((TOO_FEW, np.array([n[0] < 4 or arms_at_last < 2])))
    if reason[0] == OK:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            try:
                model = smf.mixedlm(
                    "value ~ C(visit) * arm + baseline", frame, groups=frame["patient_id"]
                )
                fit = model.fit(reml=True)
            except (ValueError, np.linalg.LinAlgError):
                fit = None
        if fit is not None and fit.converged:
            names = list(fit.fe_params.index)
            contrast = pd.Series(0.0, index=names)
            contrast["arm"] = 1.0
            if frame["visit"].nunique() > 1:
                contrast[f"C(visit)[T.{last}]:arm"] = 1.0
            estimate = np.array([contrast @ fit.fe_params])
            se = np.sqrt([contrast @ fit.cov_params().loc[names, names] @ contrast])
        reason = _reasons((FIT_FAILED, ~np.isfinite(se) | (se <= 0)))
    with np.errstate(all="ignore"):
        return _result(estimate, se, _wald(estimate, se, np.inf, alpha), n, reason)


# ---------------------------------------------------------------------------- missing data


def locf(values: np.ndarray, observed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Last observation carried forward over visits.

    Args:
        values: Outcomes, shape (R, N, V); visit 0 is baseline.
        observed: True where a visit was observed, shape (R, N, V).

    Returns:
        ``(values, observed)`` after imputation: every missing visit that follows an
        observed one takes the latest observed value and becomes observed. Visits before
        a patient's first observation are left as they were (and stay unobserved).
    """
    observed = np.asarray(observed, dtype=bool)
    values = np.asarray(values)
    index = np.where(observed, np.arange(observed.shape[-1]), -1)
    source = np.maximum.accumulate(index, axis=-1)
    filled = source >= 0
    carried = np.take_along_axis(values, np.maximum(source, 0), axis=-1)
    return np.where(filled, carried, values), filled


def bocf(values: np.ndarray, observed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Baseline observation carried forward into every missing post-baseline visit.

    Args:
        values: Outcomes, shape (R, N, V); visit 0 is baseline.
        observed: True where a visit was observed, shape (R, N, V).

    Returns:
        ``(values, observed)`` after imputation. Patients without an observed baseline
        are left unchanged.
    """
    observed = np.asarray(observed, dtype=bool)
    values = np.asarray(values)
    impute = ~observed & observed[..., :1]
    return np.where(impute, values[..., :1], values), observed | impute


# ---------------------------------------------------------------------------- multiplicity


def adjust_pvalues(p: np.ndarray, method: str, alpha: float = 0.05) -> np.ndarray:
    """Decide which of K pre-specified hypotheses to reject in each replicate.

    Args:
        p: p-values, shape (R, K), columns in the pre-specified order of the hypotheses.
            NaN (a degenerate analysis) counts as a non-rejection; it still counts towards
            K for Bonferroni and Holm.
        method: ``"none"`` (each at alpha), ``"bonferroni"`` (each at alpha / K),
            ``"holm"`` (step-down Holm) or ``"fixed_sequence"`` (in column order at alpha,
            stopping at the first non-rejection).
        alpha: Familywise two-sided significance level.

    Returns:
        Boolean reject array, shape (R, K). Bonferroni and Holm equal
        ``statsmodels.stats.multitest.multipletests(row, alpha, method)[0]``.
    """
    _check_alpha(alpha)
    p = np.atleast_2d(np.asarray(p, dtype=np.float64))
    k = p.shape[1]
    with np.errstate(invalid="ignore"):
        if method == "none":
            return p <= alpha
        if method == "bonferroni":
            return p <= alpha / k
        if method == "fixed_sequence":
            return np.logical_and.accumulate(p <= alpha, axis=1)
        if method == "holm":
            order = np.argsort(p, axis=1)  # NaN sorts last
            ordered = np.take_along_axis(p, order, axis=1) <= alpha / np.arange(k, 0, -1)
            reject = np.empty_like(ordered)
            np.put_along_axis(reject, order, np.logical_and.accumulate(ordered, axis=1), 1)
            return reject
    raise ValueError(f"unknown method {method!r}; use none, bonferroni, holm, fixed_sequence")


METHODS: dict[str, Callable[..., Estimates]] = {
    "welch_change": welch_change,
    "ancova": ancova,
    "ancova_cluster": ancova_cluster,
    "responder": responder,
    "mann_whitney": mann_whitney,
    "crossover": crossover,
}
