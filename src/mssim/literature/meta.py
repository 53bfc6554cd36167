"""Meta-analysis of a simulated literature.

A simulated literature is a set of small trials, each reporting an estimate of
the treatment effect (treatment − control, in the outcome's units) and its
sampling variance (units²) or standard error (units). This module pools such a
literature, probes it for small-study effects and publication bias, and plots it.

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
    Egger M et al. (1997). Bias in meta-analysis detected by a simple,
    graphical test.
    Duval S, Tweedie R (2000). Trim and fill: a simple funnel-plot-based
    method of testing and adjusting for publication bias in meta-analysis.
"""

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Polygon
from matplotlib.ticker import MaxNLocator
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, stats

__all__ = [
    "DEFAULT_EFFECT_LABEL",
    "EggerResult",
    "Pooled",
    "TrimFillResult",
    "cumulative",
    "cumulative_plot",
    "egger_test",
    "forest_plot",
    "funnel_plot",
    "pool",
    "trim_and_fill",
]

Method = Literal["fixed", "dl", "reml"]
Side = Literal["left", "right"]

DEFAULT_EFFECT_LABEL = "effect (treatment − control)"

_METHODS = ("fixed", "dl", "reml")
_ESTIMATORS = ("L0", "R0")
_REML_TOL = 1e-12  # bracket width on tau² (units²) at which the REML root search stops
_REML_GRID = 400  # log-spaced points scanned for sign changes of the REML score
_TRIMFILL_MAXITER = 100  # same cap as metafor::trimfill
_TIE_RTOL = 1e-9  # residuals closer than this × max|residual| count as tied
_FUNNEL_Z = float(stats.norm.isf(0.025))  # pseudo-95% funnel limits


class _AsDict:
    """Mixin giving frozen result dataclasses a plain-dict view."""

    def as_dict(self) -> dict[str, Any]:
        """Return the fields as a dict (nested results become dicts too)."""
        return dataclasses.asdict(self)  # type: ignore[call-overload]


@dataclasses.dataclass(frozen=True)
class Pooled(_AsDict):
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


@dataclasses.dataclass(frozen=True)
class EggerResult(_AsDict):
    """Egger's regression test for funnel-plot asymmetry.

    Attributes:
        intercept: OLS intercept of est/se on 1/se (dimensionless); positive
            when small (imprecise) studies report larger effects.
        se: Standard error of the intercept.
        p_value: Two-sided t-test p-value for ``intercept = 0`` (k − 2 df).
        slope: OLS slope (outcome units); the precision-weighted effect.
    """

    intercept: float
    se: float
    p_value: float
    slope: float


@dataclasses.dataclass(frozen=True)
class TrimFillResult(_AsDict):
    """Duval & Tweedie trim-and-fill result.

    Attributes:
        k0: Estimated number of missing studies.
        side: Side of the funnel on which studies are missing
            (``"left"`` = below the centre, ``"right"`` = above it).
        filled_estimates: Imputed (mirrored) study estimates only, length k0
            (outcome units).
        filled_variances: Variances of the imputed studies (units²).
        pooled: ``Pooled`` result of the observed plus imputed studies.
    """

    k0: int
    side: str
    filled_estimates: NDArray[np.float64]
    filled_variances: NDArray[np.float64]
    pooled: Pooled


# ----------------------------------------------------------------------------- validation


def _vector(values: ArrayLike, name: str) -> NDArray[np.float64]:
    """Return ``values`` as a finite 1-D float array or raise ValueError."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite")
    return arr


def _studies(
    estimates: ArrayLike, spreads: ArrayLike, spread_name: str
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Validate paired study estimates and variances (or SEs); require k >= 1."""
    y = _vector(estimates, "estimates")
    s = _vector(spreads, spread_name)
    if y.shape != s.shape:
        raise ValueError(f"estimates and {spread_name} differ in length ({y.size} vs {s.size})")
    if y.size == 0:
        raise ValueError("meta-analysis needs at least one study (got k = 0)")
    if np.any(s <= 0):
        raise ValueError(f"{spread_name} must be strictly positive")
    return y, s


def _check_choice(value: str, options: Sequence[str], name: str) -> None:
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
    y, v = _studies(estimates, variances, "variances")
    _check_choice(method, _METHODS, "method")
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
    y, v = _studies(estimates, variances, "variances")
    rows = [pool(y[:n], v[:n], method=method, alpha=alpha).as_dict() for n in range(1, y.size + 1)]
    return pd.DataFrame(rows, index=pd.RangeIndex(1, y.size + 1, name="step"))


# ----------------------------------------------------------------------------- small-study effects


def _egger_design(
    y: NDArray[np.float64], se: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Egger regression: response est/se, design [1, 1/se], and OLS coefficients."""
    design = np.column_stack([np.ones_like(se), 1.0 / se])
    if np.linalg.matrix_rank(design) < 2:
        raise ValueError(
            "Egger regression needs studies with differing standard errors"
            " (trim_and_fill: pass side= explicitly)"
        )
    response = y / se
    coef, *_ = np.linalg.lstsq(design, response, rcond=None)
    return response, design, coef


def egger_test(estimates: ArrayLike, ses: ArrayLike) -> EggerResult:
    """Egger's regression test for funnel-plot asymmetry.

    Regresses the standardised effect est/se on precision 1/se by OLS. The
    intercept measures asymmetry and is tested with a t statistic on k − 2
    degrees of freedom.

    Args:
        estimates: Study effect estimates (outcome units), shape (k,).
        ses: Their standard errors (outcome units), shape (k,), all > 0.

    Returns:
        Intercept, its SE and p-value, and the slope.

    Raises:
        ValueError: If k < 3 or all standard errors are equal.
    """
    y, se = _studies(estimates, ses, "ses")
    k = y.size
    if k < 3:
        raise ValueError(f"Egger's test needs at least 3 studies (got k = {k})")
    response, design, coef = _egger_design(y, se)
    resid = response - design @ coef
    sigma2 = resid @ resid / (k - 2)
    cov = sigma2 * np.linalg.inv(design.T @ design)
    se_intercept = float(np.sqrt(cov[0, 0]))
    with np.errstate(divide="ignore", invalid="ignore"):  # perfect fit -> se 0
        t_stat = coef[0] / se_intercept
    return EggerResult(
        intercept=float(coef[0]),
        se=se_intercept,
        p_value=float(2.0 * stats.t.sf(abs(t_stat), k - 2)),
        slope=float(coef[1]),
    )


def _k0(centred: NDArray[np.float64], estimator: str) -> int:
    """Number of missing studies from residuals about the current centre.

    The data are oriented so that studies are missing on the left, i.e. the
    excess is among the positive residuals. Residuals are compared on a grid
    of 1e-9 × the largest |residual| so that floating-point noise neither
    creates signs nor breaks ties; tied |residuals| get average ranks (the
    usual Wilcoxon convention). metafor instead breaks ties by position
    (``ties.method = "first"``), which for mirror-image pairs inflates T_n by
    1/2 per pair and can report k0 = 1 for an exactly symmetric funnel; for
    untied data the two agree.
    """
    n = centred.size
    scale = np.abs(centred).max()
    snapped = np.round(centred / (scale * _TIE_RTOL)) if scale > 0 else centred
    size = np.abs(snapped)
    positive, negative = snapped > 0, snapped < 0
    if estimator == "L0":
        t_n = stats.rankdata(size, method="average")[positive].sum()  # Wilcoxon T_n
        raw = (4.0 * t_n - n * (n + 1)) / (2.0 * n - 1.0)
    else:  # R0: rightmost run of positive residuals beyond every negative one, minus 1
        largest_negative = size[negative].max() if negative.any() else -1.0
        raw = np.sum(size[positive] > largest_negative) - 1.0
    # np.round rounds halves to even, like R's round() used by metafor.
    return int(max(0.0, np.round(raw)))


def trim_and_fill(
    estimates: ArrayLike,
    variances: ArrayLike,
    method: Method = "dl",
    estimator: Literal["L0", "R0"] = "L0",
    side: Side | None = None,
) -> TrimFillResult:
    """Duval & Tweedie trim-and-fill, iterated as in the original algorithm.

    Starting from k0 = 0: trim the k0 most extreme studies on the side
    opposite to the missing one, re-estimate the centre from the remaining
    studies with ``method``, recompute k0 from the ranks of all k studies
    about that centre, and repeat until k0 is unchanged (RuntimeError after
    100 rounds, where metafor stops too). The k0 trimmed studies are then
    mirrored about the final centre and everything is pooled again.

    Side rule when ``side`` is None: run Egger's regression (equivalently the
    fixed-effect weighted regression of est on se, whose se-coefficient is the
    Egger intercept); intercept < 0 -> studies missing on the ``"right"``,
    otherwise on the ``"left"``. This is metafor's rule
    (``beta[sei] < 0 -> "right"``) except that metafor fits that regression
    with its random-effects weights, so in borderline heterogeneous cases the
    chosen side can differ.

    Args:
        estimates: Study effect estimates (outcome units), shape (k,), k >= 3.
        variances: Their sampling variances (units²), shape (k,).
        method: Pooling method for the centre and the final estimate.
        estimator: ``"L0"`` (default) with L0 = (4 T_n − n(n+1)) / (2n − 1),
            T_n the sum of the ranks of |residual| over positive residuals
            (n = k, all observed studies), or ``"R0"`` = (number of positive
            residuals larger than every negative one in absolute value) − 1.
            Either is rounded half-to-even and truncated at 0. Ties get
            average ranks (see ``_k0``; metafor breaks them by position).
        side: ``"left"``/``"right"`` to force the side with missing studies.

    Returns:
        k0, the side, the imputed studies and the pooled result of observed
        plus imputed studies.

    Raises:
        ValueError: If k < 3, an argument is invalid, or ``side`` is None and
            all variances are equal (Egger's regression is then undefined).
        RuntimeError: If k0 has not settled after 100 rounds.
    """
    y, v = _studies(estimates, variances, "variances")
    _check_choice(method, _METHODS, "method")
    _check_choice(estimator, _ESTIMATORS, "estimator")
    k = y.size
    if k < 3:
        raise ValueError(f"trim-and-fill needs at least 3 studies (got k = {k})")
    if side is None:
        _, _, coef = _egger_design(y, np.sqrt(v))
        side = "right" if coef[0] < 0 else "left"
    _check_choice(side, ("left", "right"), "side")

    # Flip so the missing studies are always on the left, then sort ascending:
    # trimming k0 studies is then dropping the last k0.
    flip = 1.0 if side == "left" else -1.0
    order = np.argsort(flip * y, kind="stable")
    yf, vf = flip * y[order], v[order]

    k0, previous, rounds = 0, -1, 0
    while k0 != previous:
        if rounds == _TRIMFILL_MAXITER:
            raise RuntimeError(f"trim-and-fill did not converge in {_TRIMFILL_MAXITER} rounds")
        rounds += 1
        previous = k0
        centre = pool(yf[: k - k0], vf[: k - k0], method=method).estimate
        k0 = _k0(yf - centre, estimator)

    filled_y = flip * (2.0 * centre - yf[k - k0 :])
    filled_v = vf[k - k0 :].copy()
    filled_y.setflags(write=False)
    filled_v.setflags(write=False)
    return TrimFillResult(
        k0=k0,
        side=side,
        filled_estimates=filled_y,
        filled_variances=filled_v,
        pooled=pool(np.concatenate([y, filled_y]), np.concatenate([v, filled_v]), method),
    )


# ----------------------------------------------------------------------------- plots


def _axes(ax: Axes | None, height: float, width: float = 7.0) -> tuple[Figure, Axes]:
    """Use ``ax`` or create a pyplot-free (hence backend-agnostic) figure."""
    if ax is not None:
        return _root_figure(ax), ax
    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.add_subplot()


def _root_figure(ax: Axes) -> Figure:
    """The top-level Figure of ``ax`` (``.figure`` of a SubFigure is its root)."""
    return ax.figure.figure


def _row_fontsize(ax: Axes, n_rows: int) -> float:
    """Tick-label size (pt) letting ``n_rows`` labels fit the axes height.

    Each label gets at most ~60 % of its row so neighbours never touch.
    """
    height_pt = ax.get_position().height * _root_figure(ax).get_size_inches()[1] * 72.0
    return float(np.clip(0.6 * height_pt / max(n_rows, 1), 4.0, 10.0))


def funnel_plot(
    estimates: ArrayLike,
    ses: ArrayLike,
    published: ArrayLike | None = None,
    true_effect: float | None = None,
    pooled: Pooled | float | None = None,
    ax: Axes | None = None,
    effect_label: str = DEFAULT_EFFECT_LABEL,
    title: str = "Funnel plot",
) -> Figure:
    """Funnel plot: estimate (x) against standard error (inverted y).

    Draws the pseudo-95% region ``centre ± 1.96 · se`` as two dashed lines,
    a vertical line at the centre and, if given, at the true effect.

    Args:
        estimates: Study estimates (outcome units), shape (k,).
        ses: Their standard errors (outcome units), shape (k,).
        published: Boolean mask, True for published studies; None = all
            published. Unpublished studies are drawn as hollow grey circles.
        true_effect: Simulated true effect (outcome units), drawn if given.
        pooled: Funnel centre: a :class:`Pooled`, a number, or None for the
            fixed-effect pooled estimate of the published studies (of all
            studies if none is published).
        ax: Axes to draw on; a new figure is created if None.
        effect_label: x-axis label, including the outcome's units.
        title: Axes title.

    Returns:
        The figure holding the axes.
    """
    y, se = _studies(estimates, ses, "ses")
    shown = np.ones(y.size, dtype=bool) if published is None else np.asarray(published, bool)
    if shown.shape != y.shape:
        raise ValueError("published must be a boolean mask of the same length as estimates")
    if pooled is None:
        basis = shown if shown.any() else np.ones_like(shown)
        centre, centre_label = pool(y[basis], se[basis] ** 2, "fixed").estimate, "pooled (fixed)"
    elif isinstance(pooled, Pooled):
        centre, centre_label = pooled.estimate, f"pooled ({pooled.method})"
    else:
        centre, centre_label = float(pooled), "pooled"

    fig, ax = _axes(ax, height=5.0)
    size = float(np.clip(2000.0 / y.size, 12.0, 40.0))  # smaller markers for big literatures
    label = "studies" if published is None else "published"
    ax.scatter(y[shown], se[shown], s=size, color="C0", label=f"{label} (n = {shown.sum()})")
    if not shown.all():
        ax.scatter(
            y[~shown],
            se[~shown],
            s=size,
            facecolors="none",
            edgecolors="0.5",
            label=f"unpublished (n = {(~shown).sum()})",
        )
    se_grid = np.linspace(0.0, 1.05 * se.max(), 50)
    ax.plot(centre - _FUNNEL_Z * se_grid, se_grid, ls="--", color="0.4", label="pseudo-95% limits")
    ax.plot(centre + _FUNNEL_Z * se_grid, se_grid, ls="--", color="0.4")
    ax.axvline(centre, color="C0", lw=1.0, label=centre_label)
    if true_effect is not None:
        ax.axvline(true_effect, color="C3", lw=1.5, label="true effect")
    ax.set_ylim(se_grid[-1], 0.0)  # inverted: precise studies at the top
    ax.set_xlabel(effect_label)
    ax.set_ylabel("standard error (same units)")
    ax.set_title(title)
    ax.legend(loc="best", fontsize="small")
    return fig


def forest_plot(
    labels: Sequence[str],
    estimates: ArrayLike,
    ci_low: ArrayLike,
    ci_high: ArrayLike,
    pooled_rows: Mapping[str, Pooled] | Sequence[tuple[str, Pooled]] = (),
    true_effect: float | None = None,
    ax: Axes | None = None,
    effect_label: str = DEFAULT_EFFECT_LABEL,
    title: str = "Forest plot",
) -> Figure:
    """Forest plot of study estimates with CIs and pooled diamonds.

    Studies run top to bottom in the given order; pooled results follow below
    a gap as diamonds spanning their CIs, with bold labels. A new figure grows
    0.22 inch per row and tick labels are sized to ~60 % of a row, so labels
    do not overlap for literatures of ~60 studies (or more). In a caller's
    ``ax`` the labels shrink to fit its height, down to 4 pt; below about
    7 pt of height per row they can collide.

    Args:
        labels: Study labels, length k.
        estimates: Study estimates (outcome units), shape (k,).
        ci_low: Lower CI limits (outcome units), shape (k,).
        ci_high: Upper CI limits (outcome units), shape (k,).
        pooled_rows: Pooled results to show as diamonds, as ``{label: Pooled}``
            or a sequence of ``(label, Pooled)`` pairs, drawn in that order.
        true_effect: Simulated true effect (outcome units), drawn if given.
        ax: Axes to draw on; a new figure is created if None.
        effect_label: x-axis label, including the outcome's units.
        title: Axes title.

    Returns:
        The figure holding the axes.
    """
    est = _vector(estimates, "estimates")
    lo, hi = _vector(ci_low, "ci_low"), _vector(ci_high, "ci_high")
    names = [str(label) for label in labels]
    if not len(names) == est.size == lo.size == hi.size:
        raise ValueError("labels, estimates, ci_low and ci_high must have the same length")
    rows = list(pooled_rows.items()) if isinstance(pooled_rows, Mapping) else list(pooled_rows)
    k, n_pooled = est.size, len(rows)
    gap = 1 if n_pooled and k else 0
    n_rows = k + gap + n_pooled

    fig, ax = _axes(ax, height=1.6 + 0.22 * n_rows)
    y_study = np.arange(n_rows - 1, n_rows - 1 - k, -1, dtype=float)
    y_pooled = np.arange(n_pooled - 1, -1, -1, dtype=float)
    ax.hlines(y_study, lo, hi, color="0.3", lw=1.0)
    ax.scatter(est, y_study, marker="s", s=18, color="0.2", zorder=3, label="study (CI)")
    for i, (_, res) in enumerate(rows):
        diamond = [
            (res.ci_low, y_pooled[i]),
            (res.estimate, y_pooled[i] + 0.35),
            (res.ci_high, y_pooled[i]),
            (res.estimate, y_pooled[i] - 0.35),
        ]
        ax.add_patch(Polygon(diamond, color="C0", label="pooled (CI)" if i == 0 else None))
    ax.axvline(0.0, color="0.6", lw=0.8, ls=":", label="no effect")
    if true_effect is not None:
        ax.axvline(true_effect, color="C3", lw=1.5, label="true effect")

    ax.set_yticks(np.concatenate([y_study, y_pooled]))
    ax.set_yticklabels(names + [name for name, _ in rows], fontsize=_row_fontsize(ax, n_rows))
    for tick in ax.get_yticklabels()[k:]:
        tick.set_fontweight("bold")
    ax.set_ylim(-0.7, n_rows - 0.3)
    ax.set_xlabel(effect_label)
    ax.set_title(title)
    ax.legend(loc="best", fontsize="small")
    return fig


def cumulative_plot(
    cum_frame: pd.DataFrame,
    true_effect: float | None = None,
    ax: Axes | None = None,
    effect_label: str = DEFAULT_EFFECT_LABEL,
    title: str = "Cumulative meta-analysis",
) -> Figure:
    """Pooled estimate and CI band as studies accumulate.

    Args:
        cum_frame: Output of :func:`cumulative` (columns ``k``, ``estimate``,
            ``ci_low``, ``ci_high``, ``method``).
        true_effect: Simulated true effect (outcome units), drawn if given.
        ax: Axes to draw on; a new figure is created if None.
        effect_label: y-axis label, including the outcome's units.
        title: Axes title.

    Returns:
        The figure holding the axes.
    """
    k = cum_frame["k"].to_numpy()
    method = str(cum_frame["method"].iloc[0]) if len(cum_frame) else ""
    fig, ax = _axes(ax, height=4.0)
    ax.fill_between(
        k, cum_frame["ci_low"], cum_frame["ci_high"], color="C0", alpha=0.25, label="CI"
    )
    ax.plot(
        k,
        cum_frame["estimate"],
        marker="o",
        ms=float(np.clip(300.0 / max(k.size, 1), 2.0, 5.0)),
        color="C0",
        label=f"pooled estimate ({method})",
    )
    ax.axhline(0.0, color="0.6", lw=0.8, ls=":", label="no effect")
    if true_effect is not None:
        ax.axhline(true_effect, color="C3", lw=1.5, label="true effect")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("number of studies pooled (in publication order)")
    ax.set_ylabel(effect_label)
    ax.set_title(title)
    ax.legend(loc="best", fontsize="small")
    return fig
