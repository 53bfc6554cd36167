"""Group-sequential boundaries by recursive numerical integration.

The z statistics of K looks at information fractions ``t_1 < ... < t_K`` are
jointly normal with ``E[Z_k] = theta sqrt(t_k)`` (``theta``, the drift, is the
standardized effect times the square root of the maximum information) and
``Cov(Z_j, Z_k) = sqrt(t_j / t_k)``. The probability of reaching look k inside
the continuation regions and then crossing a boundary is computed by the
recursion of Armitage, McPherson and Rowe (1969) as set out by Jennison and
Turnbull (2000, ch. 19): the sub-density of ``Z_k`` on the continuation region
is carried from look to look on Gauss-Legendre nodes, and the crossing
probability of the next look is the normal tail integrated against it.

Everything is vectorized over B designs at once (one row per simulated trial,
whose observed information fractions differ), so boundaries recomputed from the
information actually observed cost one pass for a whole chunk of replicates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np
from scipy.special import ndtr
from scipy.stats import norm

from mssim.config.trial import FUTILITY_RULES
from mssim.trial.sequential.spending import spent

NODES = 96  # Gauss-Legendre nodes per look
TAIL = 12.0  # the continuation region is cut at the mean +- TAIL (phi(12) ~ 1e-32)
BISECTIONS = 64  # halvings of a search interval of width 32: below 1e-15
NEWTON_TOL = 1e-12  # Newton's method stops when every step is below this (z units)
HIGH = 20.0  # a boundary at z = 20 never crosses (phi(20) ~ 1e-88)

_ROOT_TWO_PI = np.sqrt(2 * np.pi)

FUTILITY = FUTILITY_RULES


class Paths:
    """The sub-density of the look statistics on the continuation region, for B designs.

    Args:
        drift: ``theta`` per design, (B,): ``E[Z_k] = theta sqrt(t_k)``.
        nodes: Gauss-Legendre nodes per look.
    """

    def __init__(self, drift: np.ndarray, nodes: int = NODES) -> None:
        self._x, self._w = _legendre(nodes)
        self.theta = np.asarray(drift, dtype=float)
        self.t = np.zeros_like(self.theta)
        self.z: np.ndarray | None = None  # nodes (B, NODES)
        self.g: np.ndarray | None = None  # weight x sub-density at the nodes (B, NODES)

    def _step(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean (B, NODES) and SD (B, 1) of Z at fraction t given Z at the previous nodes."""
        delta = t - self.t
        if np.any(delta <= 0):
            raise ValueError("information fractions must increase from look to look")
        root = np.sqrt(t)[:, None]
        mean = (self.z * np.sqrt(self.t)[:, None] + (self.theta * delta)[:, None]) / root
        return mean, np.sqrt(delta)[:, None] / root

    def tail(self, t: np.ndarray, x: np.ndarray, upper: bool) -> tuple[np.ndarray, np.ndarray]:
        """P(continue to this look, then Z >= x (upper) or Z <= x), and its slope in x, (B,)."""
        sign = -1.0 if upper else 1.0
        if self.g is None:
            u = x - self.theta * np.sqrt(t)
            return ndtr(sign * u), sign * _phi(u)
        mean, sd = self._step(t)
        u = (x[:, None] - mean) / sd
        return (self.g * ndtr(sign * u)).sum(axis=1), sign * (self.g * _phi(u) / sd).sum(axis=1)

    def up(self, t: np.ndarray, b: np.ndarray) -> np.ndarray:
        """P(continue to this look, then Z >= b), (B,)."""
        return self.tail(t, b, True)[0]

    def down(self, t: np.ndarray, a: np.ndarray) -> np.ndarray:
        """P(continue to this look, then Z <= a), (B,)."""
        return self.tail(t, a, False)[0]

    def keep(self, rows: np.ndarray) -> None:
        """Follow only some of the designs on (each design's numbers do not depend on the others).

        Args:
            rows: Boolean mask or indices of the designs kept, over the current B.
        """
        self.theta, self.t = self.theta[rows], self.t[rows]
        if self.z is not None and self.g is not None:
            self.z, self.g = self.z[rows], self.g[rows]

    def advance(self, t: np.ndarray, a: np.ndarray, b: np.ndarray) -> None:
        """Continue past the look at fraction t with continuation region (a, b), (B,) each."""
        centre = self.theta * np.sqrt(t)
        lo = np.maximum(a, centre - TAIL)
        hi = np.maximum(np.minimum(b, centre + TAIL), lo)
        half = ((hi - lo) / 2)[:, None]
        z = lo[:, None] + half * (self._x + 1)
        if self.g is None:
            density = _phi(z - centre[:, None])
        else:
            from mssim.trial.sequential.convolution import transition_density  # loads numba

            mean, sd = self._step(t)
            density = transition_density(z, mean, sd, self.g)
        self.z, self.g, self.t = z, half * self._w * density, np.asarray(t, dtype=float)


@cache
def _legendre(nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights on [-1, 1]."""
    return np.polynomial.legendre.leggauss(nodes)


def _log(p: np.ndarray) -> np.ndarray:
    """Log of a probability (-inf at 0, without a warning)."""
    from mssim.model import libm  # here, so validating a scenario never loads numba

    with np.errstate(divide="ignore"):
        return libm.log(p)


def _logged(pair: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Log of a tail probability and its slope: Newton's method is near-linear on it."""
    value, slope = pair
    with np.errstate(divide="ignore", invalid="ignore"):
        return _log(value), slope / value


def _negated(pair: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Minus a value and its slope (an upper tail, decreasing, as an increasing function)."""
    return -pair[0], -pair[1]


def _phi(x: np.ndarray) -> np.ndarray:
    """Standard normal density."""
    from mssim.model import libm  # here, so validating a scenario never loads numba

    return libm.exp(-0.5 * x * x) / _ROOT_TWO_PI


def _solve(
    f: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
    target: np.ndarray,
    start: np.ndarray,
    lo: float = -12.0,
    hi: float = HIGH,
) -> np.ndarray:
    """The x with f(x) = target for f increasing in x, by Newton's method kept in a bracket.

    ``f`` returns the value and its slope; ``start`` is the first guess. A Newton
    step leaving the bracket (or a flat slope) is replaced by bisection, so it
    converges wherever bisection does.
    """
    lo_, hi_ = np.full(target.shape, lo), np.full(target.shape, hi)
    x = np.clip(np.nan_to_num(start, nan=(lo + hi) / 2), lo, hi)
    for _ in range(BISECTIONS):
        value, slope = f(x)
        below = value < target
        lo_, hi_ = np.where(below, x, lo_), np.where(below, hi_, x)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = x - (value - target) / slope
        inside = np.isfinite(step) & (step >= lo_) & (step <= hi_)
        new = np.where(inside, step, (lo_ + hi_) / 2)
        if np.all(np.abs(new - x) < NEWTON_TOL):
            return new
        x = new
    return x


def _bisect(
    f: Callable[[np.ndarray], np.ndarray], target: np.ndarray, lo: float = -12.0, hi: float = HIGH
) -> np.ndarray:
    """The x with f(x) = target for f increasing in x, vectorized over B (within [lo, hi])."""
    lo_, hi_ = np.full(target.shape, lo), np.full(target.shape, hi)
    for _ in range(BISECTIONS):
        mid = (lo_ + hi_) / 2
        below = f(mid) < target
        lo_, hi_ = np.where(below, mid, lo_), np.where(below, hi_, mid)
    return (lo_ + hi_) / 2


@dataclass(frozen=True)
class Boundaries:
    """Efficacy and futility boundaries on the z scale, one row per design.

    Attributes:
        information: Information fractions of the looks, (B, K).
        efficacy: Stop for efficacy when Z >= efficacy, (B, K).
        futility: Stop for futility when Z <= futility, (B, K) (-inf: no futility
            stop at that look); equal to ``efficacy`` at the last look.
        alpha_spent: Cumulative one-sided alpha spent by each look under the null
            (futility counted only when binding), (B, K).
        drift: The drift under which beta is spent (NaN without beta spending), (B,).
    """

    information: np.ndarray
    efficacy: np.ndarray
    futility: np.ndarray
    alpha_spent: np.ndarray
    drift: np.ndarray


def conditional_power_z(t: np.ndarray, final: np.ndarray, power: float) -> np.ndarray:
    """The z at fraction t whose conditional power under the current trend is ``power``.

    Under the current trend (drift estimated as ``z / sqrt(t)``) the conditional
    power of crossing ``final`` at t = 1 is ``Phi((z / sqrt(t) - final) / sqrt(1 - t))``
    (Jennison and Turnbull 2000, sec. 10.2); this inverts it.

    Args:
        t: Information fraction of the look (< 1).
        final: The efficacy boundary at the last look.
        power: The conditional power threshold, in (0, 1).
    """
    return np.sqrt(t) * (final + np.sqrt(1 - t) * norm.ppf(power))


def group_sequential(
    t: np.ndarray,
    alpha: float,
    efficacy: str = "obrien_fleming",
    efficacy_parameter: float = 0.0,
    futility: str = "none",
    futility_value: float | np.ndarray = 0.0,
    binding: bool = False,
    beta: float = 0.2,
    beta_spending: str = "hsd",
    beta_parameter: float = -2.0,
    drift: np.ndarray | float | None = None,
    spend_at: np.ndarray | None = None,
) -> Boundaries:
    """Boundaries of B group-sequential designs by alpha (and beta) spending.

    The efficacy boundary of look k spends ``alpha(s_k) - alpha(s_{k-1})`` under
    the null; with non-binding futility it ignores the futility boundary (so the
    type I error holds whether or not futility stops are obeyed), with binding
    futility it counts on it. Futility is none, a fixed z, a conditional-power
    threshold under the current trend (its z, :func:`conditional_power_z`,
    against the last look's efficacy boundary), or beta spending under the drift
    ``drift``; with beta spending and no drift given, the drift is solved so that
    both boundaries meet at the last look (rpact ``typeBetaSpending``, gsDesign
    ``test.type`` 3 and 4). A futility boundary above the efficacy boundary is
    lowered to it. The last look has no region between them.

    Args:
        t: Information fractions of the looks, increasing, (K,) or (B, K); the
            last is the fraction at the final analysis (1 as planned).
        alpha: One-sided alpha.
        efficacy: Alpha-spending family (:data:`~mssim.trial.sequential.spending.SPENDING`).
        efficacy_parameter: gamma (hsd) or rho (kim_demets).
        futility: One of :data:`FUTILITY`.
        futility_value: The z (``z``; a scalar, or one per design and look) or the
            conditional power (``conditional_power``).
        binding: Whether the efficacy boundary counts on futility stops.
        beta: Type II error spent (``beta_spending``).
        beta_spending: Beta-spending family.
        beta_parameter: Its gamma or rho.
        drift: Drift for beta spending, (B,) or scalar; None: solved.
        spend_at: Fractions at which the error is spent, same shape as t; default
            ``t``. The last look always spends what is left (fraction 1).

    Returns:
        The boundaries.

    Raises:
        ValueError: For an unknown futility rule or fractions that do not increase.
    """
    t = np.atleast_2d(np.asarray(t, dtype=float))
    s = t.copy() if spend_at is None else np.atleast_2d(np.asarray(spend_at, dtype=float)).copy()
    s[:, -1] = 1.0
    spend = (alpha, efficacy, efficacy_parameter)
    none = np.full(t.shape, -np.inf)
    if futility == "none":
        return _boundaries(t, s, spend, none, binding, None)
    if futility == "z":
        given = np.broadcast_to(np.asarray(futility_value, dtype=float), t.shape).copy()
        return _boundaries(t, s, spend, given, binding, None)
    if futility == "beta_spending":
        beta_spend = (beta, beta_spending, beta_parameter)
        if drift is None:
            drift = _bisect(
                lambda x: _meet(t, s, spend, binding, beta_spend, x), np.zeros(t.shape[0]), 0.0
            )
        theta = np.broadcast_to(np.asarray(drift, dtype=float), t.shape[:1]).copy()
        return _boundaries(t, s, spend, none, binding, (beta_spend, theta))
    if futility == "conditional_power":
        plain = _boundaries(t, s, spend, none, binding, None)
        final = plain.efficacy[:, -1]
        fixed = plain
        for _ in range(100 if binding else 1):
            lower = conditional_power_z(t, final[:, None], futility_value)
            fixed = _boundaries(t, s, spend, lower, binding, None) if binding else plain
            moved = np.abs(fixed.efficacy[:, -1] - final).max()
            final = fixed.efficacy[:, -1]
            if moved < 1e-12:
                break
        lower = np.minimum(conditional_power_z(t, final[:, None], futility_value), fixed.efficacy)
        lower[:, -1] = fixed.efficacy[:, -1]
        return Boundaries(t, fixed.efficacy, lower, fixed.alpha_spent, fixed.drift)
    raise ValueError(f"unknown futility rule {futility!r}; allowed: {', '.join(FUTILITY)}")


Spend = tuple[float, str, float]  # (total error, spending family, its parameter)


def _meet(
    t: np.ndarray, s: np.ndarray, spend: Spend, binding: bool, beta_spend: Spend, drift: np.ndarray
) -> np.ndarray:
    """Futility minus efficacy boundary at the last look if beta is spent under ``drift``."""
    bounds = _boundaries(t, s, spend, np.full(t.shape, -np.inf), binding, (beta_spend, drift),
                         meet=False)  # fmt: skip
    return bounds.futility[:, -1] - bounds.efficacy[:, -1]


def _boundaries(
    t: np.ndarray,
    s: np.ndarray,
    spend: Spend,
    given: np.ndarray,
    binding: bool,
    beta: tuple[Spend, np.ndarray] | None,
    meet: bool = True,
) -> Boundaries:
    """Look by look: the efficacy boundary, then the futility boundary (given or spent).

    Args:
        t: Information fractions (correlation of the looks), (B, K).
        s: Fractions at which the errors are spent, (B, K); the last is 1.
        spend: Alpha spending.
        binding: Whether the null paths stop at the futility boundary.
        given: Futility z per design and look (-inf: none); ignored with ``beta``.
        beta: (beta spending, drift) to spend beta under the alternative, or None.
        meet: Set the last futility boundary to the efficacy boundary; False keeps the
            one that spends the last of beta (to solve the drift).
    """
    b_count, k_count = t.shape
    cumulative = spent(spend[1], s, spend[0], spend[2])
    upper, lower, alpha_spent = np.zeros_like(t), np.full_like(t, -np.inf), np.zeros_like(t)
    null = Paths(np.zeros(b_count))
    alt = None
    if beta is not None:
        (total, family, parameter), drift = beta
        beta_cumulative = spent(family, s, total, parameter)
        alt = Paths(drift)
        theta = np.asarray(drift, dtype=float)
    else:
        theta = np.full(b_count, np.nan)
    done = np.zeros(b_count)
    for k in range(k_count):
        tk = t[:, k]
        target = cumulative[:, k] - done
        # first guess: the boundary of this look alone
        guess = norm.isf(np.clip(target, 1e-300, 1.0))
        b = _solve(lambda x, tk=tk: _negated(_logged(null.tail(tk, x, True))), -_log(target), guess)
        b = np.where(target <= 0, HIGH, b)
        if alt is not None:
            before = beta_cumulative[:, k - 1] if k else 0.0
            more = beta_cumulative[:, k] - before
            guess = norm.ppf(np.clip(more, 1e-300, 1.0)) + alt.theta * np.sqrt(tk)
            a = _solve(lambda x, tk=tk: _logged(alt.tail(tk, x, False)), _log(more), guess)
        else:
            a = given[:, k]
        if k == k_count - 1 and (meet or alt is None):
            a = b
        upper[:, k] = b
        lower[:, k] = np.minimum(a, b) if k < k_count - 1 or meet else a
        done = done + null.up(tk, b)
        alpha_spent[:, k] = done
        if k < k_count - 1:
            null.advance(tk, lower[:, k] if binding else np.full(b_count, -np.inf), b)
            if alt is not None:
                alt.advance(tk, lower[:, k], b)
    return Boundaries(t, upper, lower, alpha_spent, theta)


def crossing(
    t: np.ndarray, efficacy: np.ndarray, futility: np.ndarray, drift: np.ndarray | float
) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities of stopping at each look for efficacy and for futility.

    Args:
        t: Information fractions, (B, K).
        efficacy: Efficacy boundaries, (B, K).
        futility: Futility boundaries, (B, K) (equal to efficacy at the last look).
        drift: ``theta`` per design (0: the null).

    Returns:
        (P(stop for efficacy at look k), P(stop for futility at look k)), each (B, K).
    """
    t, efficacy, futility = (
        np.atleast_2d(np.asarray(x, dtype=float)) for x in (t, efficacy, futility)
    )
    paths = Paths(np.broadcast_to(np.asarray(drift, dtype=float), t.shape[:1]).copy())
    up, down = np.zeros_like(t), np.zeros_like(t)
    for k in range(t.shape[1]):
        up[:, k] = paths.up(t[:, k], efficacy[:, k])
        down[:, k] = paths.down(t[:, k], np.minimum(futility[:, k], efficacy[:, k]))
        if k < t.shape[1] - 1:
            paths.advance(t[:, k], futility[:, k], efficacy[:, k])
    return up, down


def wang_tsiatis(t: np.ndarray, alpha: float, shape: float) -> np.ndarray:
    """Classical Wang and Tsiatis (1987) boundaries ``c t_k**(shape - 1/2)``, efficacy only.

    ``shape`` 0 is O'Brien and Fleming (1979), 0.5 is Pocock (1977); ``c`` is
    solved so that the one-sided type I error is ``alpha`` at these fractions.

    Args:
        t: Information fractions, (K,), increasing.
        alpha: One-sided alpha.
        shape: The Wang-Tsiatis Delta.

    Returns:
        The efficacy boundaries, (K,).
    """
    t = np.atleast_2d(np.asarray(t, dtype=float))
    profile = t ** (shape - 0.5)

    def error(c: np.ndarray) -> np.ndarray:
        bounds = c[:, None] * profile
        up, _ = crossing(t, bounds, np.full(t.shape, -np.inf), 0.0)
        return -up.sum(axis=1)

    c = _bisect(error, np.array([-alpha]), 0.0, 10.0)
    return (c[:, None] * profile)[0]
