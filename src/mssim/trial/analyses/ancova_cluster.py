"""ANCOVA adjusted for baseline with standard errors clustered by practitioner."""

from __future__ import annotations

import numpy as np

from mssim.registry import ANALYSES
from mssim.trial.analyses.analysis import Analysis
from mssim.trial.analyses.ancova import ancova_fit
from mssim.trial.analyses.estimates import (
    OK,
    TOO_FEW_CLUSTERS,
    ZERO_VARIANCE,
    Estimates,
    _arrays,
    _check_alpha,
    _negligible,
    _reasons,
    _result,
    _wald,
)
from mssim.trial.data import TrialData


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
        estimate, weights, resid, rss, n, reason = ancova_fit(outcome, baseline, arm, observed)
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


def _clustered(data: TrialData, treatment: int, comparator: int, alpha: float) -> Estimates:
    observed, arm = data.contrast(treatment, comparator)
    # patients seen by no practitioner are clusters of their own
    own = -1 - np.arange(data.cluster.shape[1])
    cluster = np.where(data.cluster >= 0, data.cluster, own)
    return ancova_cluster(data.outcome, data.baseline, arm, cluster, observed, alpha)


ANALYSES.register(
    Analysis(
        name="ancova_cluster",
        estimand="mean_difference",
        wording="ANCOVA adjusted for baseline, SEs clustered by practitioner",
        function=_clustered,
    )
)
