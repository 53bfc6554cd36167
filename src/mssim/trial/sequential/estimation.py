"""The median-unbiased estimate of a group-sequential trial (stage-wise ordering).

Outcomes are ordered stage-wise (Armitage 1957; Jennison and Turnbull 2000,
sec. 8.4): stopping for efficacy at an earlier look is more extreme than any
outcome at a later look, and at the same look a larger z is more extreme. The
median-unbiased drift is the theta at which the observed outcome is the
median: ``P_theta(more extreme) = 1/2``. The probability is computed with the
same recursion as the boundaries, through the continuation regions the trial
actually used (futility included).
"""

from __future__ import annotations

import numpy as np

from mssim.trial.sequential.boundaries import Paths

NODES = 48  # Gauss-Legendre nodes: Monte Carlo error dominates an estimate's accuracy
ITERATIONS = 60  # Illinois steps at most; stops when no estimate moves by TOL
TOL = 1e-9  # drift units
SPAN = 8.0  # initial half-width of the bracket around the naive drift z / sqrt(t)


def more_extreme(
    theta: np.ndarray,
    t: np.ndarray,
    efficacy: np.ndarray,
    futility: np.ndarray,
    stop: np.ndarray,
    z: np.ndarray,
) -> np.ndarray:
    """Stage-wise probability of an outcome more extreme than the observed one.

    Args:
        theta: Drift per trial, (B,).
        t: Information fractions of the looks held, (B, K).
        efficacy: Efficacy boundaries, (B, K).
        futility: Futility boundaries, (B, K).
        stop: Index of the look where each trial stopped, (B,).
        z: z at that look, (B,).

    Returns:
        ``sum_{j < stop} P(stop for efficacy at j) + P(reach stop, Z >= z)``, (B,).
    """
    paths = Paths(theta, nodes=NODES)
    total = np.zeros(len(theta))
    live = np.arange(len(theta))  # the trials that reach look k (stop >= k)
    for k in range(int(stop.max()) + 1):
        before = stop[live] > k
        cut = np.where(before, efficacy[live, k], z[live])
        total[live] = total[live] + paths.up(t[live, k], cut)
        if k < stop.max():  # a trial that stopped here is not followed further
            paths.keep(before)
            live = live[before]
            paths.advance(t[live, k], futility[live, k], efficacy[live, k])
    return total


def median_unbiased(
    t: np.ndarray,
    efficacy: np.ndarray,
    futility: np.ndarray,
    stop: np.ndarray,
    z: np.ndarray,
) -> np.ndarray:
    """Median-unbiased drift of each trial (``E[Z_k] = theta sqrt(t_k)``).

    Solved by the Illinois variant of regula falsi in a bracket around the naive
    drift ``z / sqrt(t_stop)``; a trial that stopped at its first look gets the
    naive drift exactly.

    Args:
        t: Information fractions of the looks held, (B, K).
        efficacy: Efficacy boundaries, (B, K).
        futility: Futility boundaries, (B, K).
        stop: Index of the look where each trial stopped, (B,).
        z: z at that look, (B,) (finite).

    Returns:
        The median-unbiased drift, (B,); multiply by ``sqrt(t_stop)`` times the
        standard error at the stopping look for the effect scale.
    """
    rows = np.arange(len(z))
    naive = z / np.sqrt(t[rows, stop])

    def f(theta: np.ndarray) -> np.ndarray:
        return more_extreme(theta, t, efficacy, futility, stop, z) - 0.5

    lo, hi = naive - SPAN, naive + SPAN
    f_lo, f_hi = f(lo), f(hi)
    for _ in range(8):  # widen a bracket that misses the root (rare)
        if np.all(f_lo < 0) and np.all(f_hi > 0):
            break
        lo, hi = np.where(f_lo < 0, lo, lo - SPAN), np.where(f_hi > 0, hi, hi + SPAN)
        f_lo, f_hi = f(lo), f(hi)
    x = naive
    last = np.zeros(len(z))
    for _ in range(ITERATIONS):
        new = (lo * f_hi - hi * f_lo) / (f_hi - f_lo)
        fx = f(new)
        above = fx > 0  # f increases with theta: the root is below new
        hi, f_hi = np.where(above, new, hi), np.where(above, fx, f_hi)
        lo, f_lo = np.where(above, lo, new), np.where(above, f_lo, fx)
        # Illinois: when the same end moves twice, halve the value kept at the other
        f_lo = np.where(above & (last == 1), f_lo / 2, f_lo)
        f_hi = np.where(~above & (last == -1), f_hi / 2, f_hi)
        last = np.where(above, 1.0, -1.0)
        done = np.all(np.abs(new - x) < TOL)
        x = new
        if done:
            break
    return np.where(stop == 0, naive, x)
