"""Meta-analysis of a simulated literature: pooling study estimates.

A simulated literature is a set of small trials, each reporting an estimate of
the treatment effect (treatment − control, in the outcome's units) and its
sampling variance (units²) or standard error (units). This module pools such a
literature; :mod:`mssim.literature.bias` probes it for small-study effects and
publication bias, and :mod:`mssim.outputs.figures.meta` draws it.

Conventions shared by every function:

* Pooling uses inverse-variance weights ``1 / (v_i + tau2)`` (``tau2 = 0`` for
  the fixed-effect model). Confidence intervals and p-values use the normal
  distribution with the model-based standard error (no Hartung–Knapp /
  HKSJ scale correction, no t quantiles).
* Cochran's Q is always computed with fixed-effect weights, and
  I² = max(0, (Q − (k − 1)) / Q) (Higgins & Thompson) for every method.
* Estimates and intervals are in the outcome's units, variances in units².

References:
    DerSimonian R, Laird N (1986). Meta-analysis in clinical trials.
    Viechtbauer W (2005). Bias and efficiency of meta-analytic variance
    estimators in the random-effects model.
"""

import dataclasses
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, stats

__all__ = ["Pooled", "cumulative", "pool"]

Method = Literal["fixed", "dl", "reml"]

#: The pooling methods: fixed effect, DerSimonian–Laird and REML random effects.
METHODS = ("fixed", "dl", "reml")
_REML_TOL = 1e-12  # bracket width on tau² (units²) at which the REML root search stops
_REML_GRID = 400  # log-spaced points scanned for sign changes of the REML score


class AsDict:
    """Mixin giving frozen result dataclasses a plain-dict view."""

    def as_dict(self) -> dict[str, Any]:
        """Return the fields as a dict (nested results become dicts too)."""
        return dataclasses.asdict(self)  # type: ignore[call-overload]


@dataclasses.dataclass(frozen=True)
class Pooled(AsDict):
    """Result of pooling k study estimates.

    Attributes:
        method: Pooling method, one of ``"fixed"``, ``"dl"``, ``"reml"``.
        estimate: Pooled effect (outcome units).
        se: Model-based standard error of ``estimate`` (outcome units).
        ci_low: Lower normal-based confidence limit (outcome units).
        ci_high: Upper normal-based confidence limit (outcome units).
        p_value: Two-sided normal p-value for ``estimate = 0``.
        tau2: Between-study variance used in the weights (units²); 0 for the
            fixed-effect model and for k = 1.
        i2: Higgins' I² in [0, 1] from Cochran's Q; NaN for k = 1.
        q: Cochran's Q with fixed-effect weights (dimensionless); 0 for k = 1.
        k: Number of studies pooled.
    """

    method: str
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float
    tau2: float
    i2: float
    q: float
    k: int


# ----------------------------------------------------------------------------- validation


def finite_vector(values: ArrayLike, name: str) -> NDArray[np.float64]:
    """Return ``values`` as a finite 1-D float array or raise ValueError."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite")
    return arr


def paired_studies(
    estimates: ArrayLike, spreads: ArrayLike, spread_name: str
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Validate paired study estimates and variances (or SEs); require k >= 1."""
    y = finite_vector(estimates, "estimates")
    s = finite_vector(spreads, spread_name)
    if y.shape != s.shape:
        raise ValueError(f"estimates and {spread_name} differ in length ({y.size} vs {s.size})")
    if y.size == 0:
        raise ValueError("meta-analysis needs at least one study (got k = 0)")
    if np.any(s <= 0):
        raise ValueError(f"{spread_name} must be strictly positive")
    return y, s


def check_choice(value: str, options: Sequence[str], name: str) -> None:
    """Raise ValueError unless ``value`` is one of ``options``."""
    if value not in options:
        raise ValueError(f"{name} must be one of {tuple(options)}, got {value!r}")


# ----------------------------------------------------------------------------- pooling


def _weighted_mean(
    y: NDArray[np.float64], v: NDArray[np.float64], tau2: float
) -> tuple[float, float]:
    """Inverse-variance weighted mean and its SE with weights 1/(v_i + tau2).

    Every pooled number in this module goes through this one helper.
    """
    w = 1.0 / (v + tau2)
    total = w.sum()
    return float(w @ y / total), float(np.sqrt(1.0 / total))


def _cochran_q(y: NDArray[np.float64], v: NDArray[np.float64]) -> float:
    """Cochran's Q with fixed-effect weights (centred form, no cancellation)."""
    mu_fe, _ = _weighted_mean(y, v, 0.0)
    return float(np.sum((y - mu_fe) ** 2 / v))


def _tau2_dl(v: NDArray[np.float64], q: float) -> float:
    """DerSimonian–Laird moment estimator of tau², truncated at 0."""
    w = 1.0 / v
    c = w.sum() - np.sum(w**2) / w.sum()
    return max(0.0, (q - (v.size - 1)) / c)


def _reml_score(tau2: ArrayLike, y: NDArray[np.float64], v: NDArray[np.float64]) -> NDArray[Any]:
    """Twice the REML score d logL_R / d tau², vectorised over ``tau2``.

    With P = W − w wᵀ / Σw (W = diag(w), w_i = 1/(v_i + tau²)) the score is
    ½ (yᵀPPy − tr P); P y = w (y − mu) keeps it O(k) per tau².
    """
    w = 1.0 / (v + np.asarray(tau2, dtype=np.float64)[..., None])
    total = w.sum(axis=-1)
    resid = y - (w @ y / total)[..., None]
    return np.sum((w * resid) ** 2, axis=-1) - (total - np.sum(w**2, axis=-1) / total)


def _reml_loglik(tau2: float, y: NDArray[np.float64], v: NDArray[np.float64]) -> float:
    """REML log-likelihood of tau² up to a constant."""
    w = 1.0 / (v + tau2)
    total = w.sum()
    resid = y - (w @ y) / total
    return float(-0.5 * (np.sum(np.log(v + tau2)) + np.log(total) + np.sum(w * resid**2)))


def _tau2_reml(y: NDArray[np.float64], v: NDArray[np.float64]) -> float:
    """REML estimate of tau²: global maximiser of the REML likelihood on tau² >= 0.

    The REML likelihood can be bimodal (a boundary maximum at 0 plus an
    interior one) when study variances span orders of magnitude, so a single
    Fisher-scoring or Newton run may stop at the wrong mode, and plain Fisher
    scoring can also oscillate for thousands of steps. Instead: every
    stationary point satisfies tau² = Σw²(r² − v)/Σw² + 1/Σw <= (k R² + v_max)/(k − 1)
    (R = range of y), so scan the score on a log grid below that bound, refine
    each +/− sign change with Brent's method to 1e-12, and keep the candidate
    (including the boundary 0 when the score there is <= 0) with the largest
    likelihood.
    """
    k = y.size
    upper = (k * np.ptp(y) ** 2 + v.max()) / (k - 1)
    grid = np.concatenate([[0.0], np.geomspace(upper * 1e-12, upper, _REML_GRID)])
    score = _reml_score(grid, y, v)
    candidates = [0.0] if score[0] <= 0.0 else []
    for i in np.flatnonzero((score[:-1] > 0.0) & (score[1:] <= 0.0)):
        candidates.append(
            float(optimize.brentq(_reml_score, grid[i], grid[i + 1], args=(y, v), xtol=_REML_TOL))
        )
    return max(candidates, key=lambda t: _reml_loglik(t, y, v))


def pool(
    estimates: ArrayLike,
    variances: ArrayLike,
    method: Method = "dl",
    alpha: float = 0.05,
) -> Pooled:
    """Pool study estimates by inverse-variance weighting.

    Args:
        estimates: Study effect estimates (outcome units), shape (k,).
        variances: Their sampling variances (units²), shape (k,), all > 0.
        method: ``"fixed"`` (common effect), ``"dl"`` (DerSimonian–Laird
            random effects, tau² truncated at 0) or ``"reml"`` (restricted
            maximum likelihood random effects: the root of the REML
            estimating equation that maximises the REML likelihood on
            tau² >= 0, located to 1e-12 by Brent's method).
        alpha: Two-sided level; the CI has normal coverage 1 − alpha.

    Returns:
        The pooled result. The CI is ``estimate ± z_{1−alpha/2} · se`` with the
        model-based SE ``(Σ 1/(v_i + tau2))^{-1/2}`` (normal, no HKSJ scale).
        For k = 1 the single study is returned with tau2 = 0, q = 0, i2 = NaN.

    Raises:
        ValueError: If k = 0, inputs are malformed, or method/alpha invalid.
    """
    y, v = paired_studies(estimates, variances, "variances")
    check_choice(method, METHODS, "method")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    k = y.size
    if k == 1:
        tau2, q, i2 = 0.0, 0.0, float("nan")
    else:
        q = _cochran_q(y, v)
        # Q <= k − 1 (including Q = 0 for identical estimates) means no excess
        # heterogeneity; testing it first avoids dividing by Q = 0.
        i2 = (q - (k - 1)) / q if q > k - 1 else 0.0
        if method == "fixed":
            tau2 = 0.0
        elif method == "dl":
            tau2 = _tau2_dl(v, q)
        else:
            tau2 = _tau2_reml(y, v)
    estimate, se = _weighted_mean(y, v, tau2)
    z = float(stats.norm.isf(alpha / 2.0))
    return Pooled(
        method=method,
        estimate=estimate,
        se=se,
        ci_low=estimate - z * se,
        ci_high=estimate + z * se,
        p_value=float(2.0 * stats.norm.sf(abs(estimate / se))),
        tau2=float(tau2),
        i2=float(i2),
        q=float(q),
        k=int(k),
    )


def cumulative(
    estimates: ArrayLike,
    variances: ArrayLike,
    method: Method = "dl",
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Cumulative meta-analysis in the given (e.g. publication) order.

    Args:
        estimates: Study effect estimates (outcome units), shape (K,).
        variances: Their sampling variances (units²), shape (K,).
        method: Pooling method, as in :func:`pool`.
        alpha: Two-sided level for the CIs.

    Returns:
        One row per step (index ``step`` = 1..K) holding the :class:`Pooled`
        fields of the first ``step`` studies; column ``k`` equals ``step``.
    """
    y, v = paired_studies(estimates, variances, "variances")
    rows = [pool(y[:n], v[:n], method=method, alpha=alpha).as_dict() for n in range(1, y.size + 1)]
    return pd.DataFrame(rows, index=pd.RangeIndex(1, y.size + 1, name="step"))
