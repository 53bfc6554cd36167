"""Multiplicity: which of several pre-specified hypotheses to reject in each replicate."""

from __future__ import annotations

import numpy as np


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
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
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
