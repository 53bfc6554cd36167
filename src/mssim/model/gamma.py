"""The Gamma quantile inside numba: relapse propensities drawn by inversion of a keyed uniform."""

from __future__ import annotations

import math

from numba import njit


@njit(cache=True)
def _gamma_pq(a: float, x: float) -> tuple[float, float]:
    """Regularized incomplete gammas (P(a, x), Q(a, x)), each to full relative precision.

    The series gives P (and Q = 1 - P) below x = a + 1; the continued fraction
    gives Q (and P = 1 - Q) above it.
    """
    if x <= 0.0:
        return 0.0, 1.0
    gln = math.lgamma(a)
    if x < a + 1.0:
        term = total = 1.0 / a
        ap = a
        for _ in range(1000):
            ap += 1.0
            term *= x / ap
            total += term
            if abs(term) < abs(total) * 1e-16:
                break
        lower = total * math.exp(-x + a * math.log(x) - gln)
        return lower, 1.0 - lower
    tiny = 1e-300
    b = x + 1.0 - a
    c = 1.0 / tiny
    d = 1.0 / b
    h = d
    for i in range(1, 1000):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        if abs(d) < tiny:
            d = tiny
        c = b + an / c
        if abs(c) < tiny:
            c = tiny
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-16:
            break
    upper = math.exp(-x + a * math.log(x) - gln) * h
    return 1.0 - upper, upper


@njit(cache=True)
def gamma_quantile(a: float, p: float) -> float:
    """Quantile of the Gamma(a, 1) distribution (Halley steps; Numerical Recipes 6.2.1)."""
    if p <= 0.0:
        return 0.0
    gln = math.lgamma(a)
    a1 = a - 1.0
    lna1 = afac = 0.0
    if a > 1.0:
        lna1 = math.log(a1)
        afac = math.exp(a1 * (lna1 - 1.0) - gln)
        pp = p if p < 0.5 else 1.0 - p
        t = math.sqrt(-2.0 * math.log(pp))
        x = (2.30753 + t * 0.27061) / (1.0 + t * (0.99229 + t * 0.04481)) - t
        if p < 0.5:
            x = -x
        x = max(1e-3, a * (1.0 - 1.0 / (9.0 * a) - x / (3.0 * math.sqrt(a))) ** 3)
    else:
        t = 1.0 - a * (0.253 + a * 0.12)
        x = (p / t) ** (1.0 / a) if p < t else 1.0 - math.log(1.0 - (p - t) / (1.0 - t))
    for _ in range(100):
        if x <= 0.0:
            return 0.0
        lower, upper = _gamma_pq(a, x)
        err = lower - p if p < 0.5 else (1.0 - p) - upper
        if a > 1.0:
            t = afac * math.exp(-(x - a1) + a1 * (math.log(x) - lna1))
        else:
            t = math.exp(-x + a1 * math.log(x) - gln)
        if t == 0.0:
            break
        u = err / t
        step = u / (1.0 - 0.5 * min(1.0, u * ((a - 1.0) / x - 1.0)))
        x -= step
        if x <= 0.0:
            x = 0.5 * (x + step)
        if abs(step) < 1e-15 * x:
            break
    return x


# ---- the kernel ----------------------------------------------------------------
