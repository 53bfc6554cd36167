"""Per-replicate estimates and the shared arithmetic of the vectorized analyses.

Every vectorized estimator takes arrays of shape ``(R, N)``: ``R`` replicate trials of ``N``
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

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

from mssim.trial.analyses.hypothesis import TWO_SIDED, NullHypothesis

REASONS: dict[int, str] = {
    0: "ok",
    1: "too_few_analysed",
    2: "zero_variance",
    3: "singular_design",
    4: "too_few_clusters",
    5: "fit_failed",
}
OK, TOO_FEW, ZERO_VARIANCE, SINGULAR, TOO_FEW_CLUSTERS, FIT_FAILED = range(6)

# A sum of squares (or determinant) at most this fraction of its natural scale, e.g. the
# uncentred sum of squares, is rounding noise and counts as 0: for constant data the noise
# is ~(N * 2.2e-16)**2 of the scale, while real data are many orders above 1e-10.
_REL_TOL = 1e-10


@dataclass(frozen=True)
class Estimates:
    """Per-replicate results of one analysis; every field has shape (R,).

    Attributes:
        estimate: Treatment minus comparator, in the estimand's units.
        se: Standard error of ``estimate``.
        ci_low: Lower limit of the two-sided 1 - alpha confidence interval.
        ci_high: Upper limit of the two-sided 1 - alpha confidence interval.
        p_value: p-value of the method's test: two-sided of no effect by default,
            one-sided for superiority and non-inferiority (see
            :mod:`mssim.trial.analyses.hypothesis`).
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
    estimate: np.ndarray,
    se: np.ndarray,
    df: np.ndarray | float,
    alpha: float,
    test: NullHypothesis = TWO_SIDED,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the two-sided 1 - alpha CI limits and the p-value of ``test``, t on ``df``.

    ``df = np.inf`` gives the normal reference. With ``t = (estimate - test.null) / se``
    the two-sided p-value is ``2 P(T > |t|)`` and the one-sided one ``P(T > -better t)``,
    small when the estimate lies beyond the null value on the side of benefit.
    """
    half = special.stdtrit(df, 1 - alpha / 2) * se
    t = (estimate - test.null) / se
    if test.sides == 2:
        p = 2 * special.stdtr(df, -np.abs(t))
    else:
        p = special.stdtr(df, -test.better * t)
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
