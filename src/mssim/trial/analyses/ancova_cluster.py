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


def _sym_eigh(k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues and eigenvectors of a stack of symmetric 3x3 matrices (non-finite -> 0)."""
    k = np.where(np.isfinite(k).all(axis=(-2, -1), keepdims=True), k, 0.0)
    return np.linalg.eigh(0.5 * (k + np.swapaxes(k, -1, -2)))


def ancova_cluster(
    outcome: np.ndarray,
    baseline: np.ndarray,
    arm: np.ndarray,
    cluster: np.ndarray,
    observed: np.ndarray,
    alpha: float = 0.05,
    test: NullHypothesis = TWO_SIDED,
) -> Estimates:
    """ANCOVA with a CR2 cluster-robust SE and Satterthwaite (Bell–McCaffrey) df.

    The point estimate is that of :func:`ancova` (OLS of outcome on intercept + arm +
    baseline). The variance is the bias-reduced linearization (CR2) sandwich of Bell and
    McCaffrey (2002) in the form of Pustejovsky and Tipton (2018, J Bus Econ Stat
    36:672-683) with the identity working model::

        V = sum_g (w_g' A_g e_g)**2,  A_g = (I - H_gg)^(-1/2)

        with ``w`` the arm row of (X'X)^-1 X', ``e`` the OLS residuals and ``H_gg`` the
        block of the hat matrix for cluster g (symmetric inverse square root; eigenvalues
        of ``I - H_gg`` at most 1e-12 are dropped, as clubSandwich does). The CI and p-value
        use a t distribution on the Satterthwaite df ``tr(P)**2 / sum(P**2)`` with
        ``P_gh = q_g' q_h``, ``q_g = (I - H)[:, g] A_g w_g``: the df of a scaled chi-square
        matching the mean and variance of V under independent homoscedastic errors.
        This equals R ``clubSandwich::coef_test(lm_fit, vcov = "CR2", cluster = ...,
        test = "Satterthwaite")`` and ``conf_int(..., test = "Satterthwaite")``.

    Everything is computed from per-cluster 3x3 sums, so it is vectorized across
    replicates: with ``X_g`` the cluster's design rows, ``G_g = X_g'X_g`` and
    ``M = (X'X)^-1 = L L'``, ``A_g X_g = X_g (I + L f(K_g) L' G_g)`` with
    ``K_g = L' G_g L`` and ``f(k) = ((1 - k)^(-1/2) - 1) / k`` applied to its
    eigenvalues.

    Clusters are identified within each replicate: ids may be any integers (not
    necessarily 0..G-1), and the same id in two replicates denotes unrelated clusters. G
    counts the clusters with at least one analysed patient. A patient treated by no
    practitioner should get an id of its own (a singleton cluster). Ids whose observed
    values span at most N consecutive integers (e.g. 0..P-1) take a fast path; others are
    relabelled by sorting each replicate.

    Args:
        outcome: Follow-up outcome (outcome units), shape (R, N).
        baseline: Baseline covariate, shape (R, N).
        arm: 1/True for the treatment arm, 0/False for the comparator, shape (R, N).
        cluster: Integer cluster (practitioner) id of each patient, shape (R, N).
        observed: True for analysed patients, shape (R, N).
        alpha: Two-sided significance level; the CI level is 1 - alpha.
        test: The hypothesis tested; default two-sided (see
            :mod:`mssim.trial.analyses.hypothesis`).

    Returns:
        As :func:`ancova` (estimate and SE in outcome units), plus reason
        ``too_few_clusters`` when G < 2, and ``zero_variance`` also when the CR2 sandwich
        is rounding noise (the adjusted scores cancel within every cluster, possible in
        tiny trials).
    """
    _check_alpha(alpha)
    outcome, baseline, arm, cluster, observed = _arrays(outcome, baseline, arm, cluster, observed)
    with np.errstate(all="ignore"):
        estimate, weights, resid, rss, n, reason = ancova_fit(outcome, baseline, arm, observed)
        mask = observed.astype(bool)
        treat, _ = _arms(arm, observed)
        w = mask.astype(np.float64)
        # The centred design [1, arm, baseline] spans the same space as the raw one, so
        # the hat matrix, the arm coefficient and its weights are unchanged.
        t, _, _ = _centre(treat.astype(np.float64), w)
        x, _, _ = _centre(_clean(baseline, mask), w)
        design = np.stack([w, t, x], axis=-1)  # (R, N, 3), 0 for unanalysed patients
        labels, n_labels = _cluster_labels(cluster, mask)
        n_rows = len(labels)
        key = (np.arange(n_rows)[:, None] * n_labels + labels).ravel()

        def per_cluster(values: np.ndarray) -> np.ndarray:
            """Sum ``values`` (R, N, ...) per (replicate, cluster label): (R, K, ...)."""
            tail = values.shape[2:]
            flat = values.reshape(n_rows * values.shape[1], -1)
            sums = [
                np.bincount(key, weights=flat[:, j], minlength=n_rows * n_labels)
                for j in range(flat.shape[1])
            ]
            return np.stack(sums, axis=-1).reshape(n_rows, n_labels, *tail)

        gram = per_cluster(design[..., :, None] * design[..., None, :])  # G_g, (R, K, 3, 3)
        score = per_cluster(design * resid[..., None])  # X_g' e_g, (R, K, 3)
        g = (per_cluster(w) > 0).sum(1)

        # M = (X'X)^-1 of the centred design, block-diagonal; identity where singular.
        s_tt, s_xx, s_tx = (np.einsum("ij,ij->i", a, b) for a, b in ((t, t), (x, x), (t, x)))
        det = s_tt * s_xx - s_tx**2
        bread = np.zeros((n_rows, 3, 3))
        bread[:, 0, 0] = 1 / n
        bread[:, 1, 1], bread[:, 2, 2] = s_xx / det, s_tt / det
        bread[:, 1, 2] = bread[:, 2, 1] = -s_tx / det
        usable = (reason == OK) & np.isfinite(bread).all(axis=(1, 2))
        bread[~usable] = np.eye(3)
        chol = np.linalg.cholesky(bread)  # L, (R, 3, 3)
        coef = bread[:, :, 1]  # M c with c selecting the arm coefficient, (R, 3)

        # A_g X_g M c = X_g b_g with b_g = M c + L f(K_g) L' G_g M c.
        k_mat = np.swapaxes(chol, -1, -2)[:, None] @ gram @ chol[:, None]
        lam, vec = _sym_eigh(k_mat)
        lam = np.clip(lam, 0.0, 1.0)
        root = np.sqrt(1 - lam)
        # ((1 - k)^(-1/2) - 1) / k, stable at k = 0; -1/k where I - H_gg has a null
        # direction (k = 1: dropped by the pseudo-inverse square root).
        f = np.where(1 - lam > 1e-12, 1 / (root * (1 + root)), -1 / np.maximum(lam, 1e-300))
        f_mat = (vec * f[..., None, :]) @ np.swapaxes(vec, -1, -2)
        a_g = gram @ coef[:, None, :, None]  # G_g M c, (R, K, 3, 1)
        b_g = coef[:, None, :, None] + chol[:, None] @ f_mat @ (
            np.swapaxes(chol, -1, -2)[:, None] @ a_g
        )
        b_g = b_g[..., 0]  # (R, K, 3)
        meat = (np.einsum("rki,rki->rk", b_g, score) ** 2).sum(1)
        se = np.sqrt(meat)

        # Satterthwaite df: P_gh = q_g'q_h = [g == h] |p_g|^2 - u_g' M u_h, u_g = G_g b_g.
        u_g = np.einsum("rkij,rkj->rki", gram, b_g)
        p_sq = np.einsum("rki,rki->rk", b_g, u_g)  # |p_g|^2 = b_g' G_g b_g
        u_m_u = np.einsum("rki,rij,rkj->rk", u_g, bread, u_g)
        trace = (p_sq - u_m_u).sum(1)
        outer = np.einsum("rki,rkj->rij", u_g, u_g)  # S = sum_g u_g u_g'
        m_s = bread @ outer
        sum_sq = (p_sq**2).sum(1) - 2 * (p_sq * u_m_u).sum(1)
        sum_sq += np.einsum("rij,rji->r", m_s, m_s)  # tr(M S M S) = sum_gh (u_g' M u_h)^2
        df = trace**2 / sum_sq

        # In tiny trials the adjusted scores can cancel within every cluster (or vanish,
        # e.g. at leverage-1 points), leaving a sandwich of rounding noise; its scale is
        # that of the classical variance, rss * sum(w**2).
        cancelled = _negligible(meat, rss * np.einsum("ij,ij->i", weights, weights))
        extra = _reasons((TOO_FEW_CLUSTERS, g < 2), (ZERO_VARIANCE, cancelled))
        reason = np.where(reason == OK, extra, reason)
        return _result(estimate, se, _wald(estimate, se, df, alpha, test), n, reason)


def _clustered(
    data: TrialData, treatment: int, comparator: int, alpha: float, test: NullHypothesis = TWO_SIDED
) -> Estimates:
    observed, arm = data.contrast(treatment, comparator)
    # patients seen by no practitioner are clusters of their own
    own = -1 - np.arange(data.cluster.shape[1])
    cluster = np.where(data.cluster >= 0, data.cluster, own)
    return ancova_cluster(data.outcome, data.baseline, arm, cluster, observed, alpha, test)


ANALYSES.register(
    Analysis(
        name="ancova_cluster",
        estimand="mean_difference",
        wording="ANCOVA adjusted for baseline, CR2 SEs clustered by practitioner "
        "with Satterthwaite df",
        function=_clustered,
        hypotheses=HYPOTHESES,
        clustered=True,
    )
)
