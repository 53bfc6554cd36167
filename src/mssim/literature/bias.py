"""Small-study effects and publication bias: Egger's test and trim-and-fill.

Estimates are in the outcome's units, variances in units²; pooling follows
:mod:`mssim.literature.meta`.

References:
    Egger M et al. (1997). Bias in meta-analysis detected by a simple,
    graphical test.
    Duval S, Tweedie R (2000). Trim and fill: a simple funnel-plot-based
    method of testing and adjusting for publication bias in meta-analysis.
"""

import dataclasses
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from mssim.literature.meta import (
    METHODS,
    AsDict,
    Method,
    Pooled,
    check_choice,
    paired_studies,
    pool,
)

__all__ = ["EggerResult", "TrimFillResult", "egger_test", "trim_and_fill"]

Side = Literal["left", "right"]

#: Level at which Egger's test is read as showing funnel asymmetry: Egger et al.
#: (1997) use P < 0.1, the test having low power with few studies.
EGGER_ALPHA = 0.10
_ESTIMATORS = ("L0", "R0")
_TRIMFILL_MAXITER = 100  # same cap as metafor::trimfill
_TIE_RTOL = 1e-9  # residuals closer than this × max|residual| count as tied


@dataclasses.dataclass(frozen=True)
class EggerResult(AsDict):
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
class TrimFillResult(AsDict):
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
    y, se = paired_studies(estimates, ses, "ses")
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
    y, v = paired_studies(estimates, variances, "variances")
    check_choice(method, METHODS, "method")
    check_choice(estimator, _ESTIMATORS, "estimator")
    k = y.size
    if k < 3:
        raise ValueError(f"trim-and-fill needs at least 3 studies (got k = {k})")
    if side is None:
        _, _, coef = _egger_design(y, np.sqrt(v))
        side = "right" if coef[0] < 0 else "left"
    check_choice(side, ("left", "right"), "side")

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
