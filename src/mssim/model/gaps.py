"""Closed-form jumps over the days nothing reads, and the bridge that fills them when asked.

The coupled symptoms' day-to-day state (fatigue, pain, sleep and any further
symptom: fast fluctuation and slow drift, 2S numbers) is a linear Gaussian
process,

    x[t] = A x[t-1] + B z[t],    z[t] ~ N(0, I_2S),

with ``A`` and ``B`` from the daily update of :func:`mssim.model.kernel._symptom_day`
(:func:`transition`). A trial reads the state only on its *anchor days*: the
recall windows of the scenario's endpoints at its visits
(:func:`mssim.model.engine._params` decides which days are anchors). Between two
anchors ``k`` days apart the kernel jumps in one step,

    x[t+k] = A^k x[t] + L_k w,   w ~ N(0, I_2S),   L_k L_k' = Q_k = sum_{j<k} A^j B B' A^j',

which has exactly the distribution of ``k`` daily steps. When the days in between
are wanted (the Mesa view, daily paths, or a symptom scored outside the
endpoints' windows), they are filled by the Gaussian bridge from ``x[t]`` to the
already drawn ``x[t+k]``: with ``r`` days left to the anchor,

    x[j] = M_r x[j-1] + G_r x[t+k] + C_r u,   u ~ N(0, I_2S),
    G_r = Q_1 (A^(r-1))' Q_r^-1,   M_r = A - G_r A^r,   C_r C_r' = Q_1 - G_r A^(r-1) Q_1,

so every path, with or without the days in between, has the anchor days' values
bit for bit (the bridge draws from its own stream, purpose ``bridge``).

Everything here is plain loops compiled by numba, so the matrices have the same
bits on every CPU (no BLAS, whose kernels the CPU chooses).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from mssim.model.symptoms import SymptomModel


class GapMatrices(NamedTuple):
    """Jump and bridge matrices for gaps of up to K days, each (K + 1, 2S, 2S).

    Index k of ``power`` and ``jump`` is a gap of k days; index r of ``pull``,
    ``toward`` and ``spread`` is a bridge day with r days left to its anchor
    (rows 0 and 1 of the bridge's matrices are unused).
    """

    power: np.ndarray  # A^k
    jump: np.ndarray  # L_k, lower triangular
    pull: np.ndarray  # M_r
    toward: np.ndarray  # G_r
    spread: np.ndarray  # C_r, lower triangular


def transition(model: SymptomModel) -> tuple[np.ndarray, np.ndarray]:
    """``(A, B)`` of the daily update, state order (fluctuation x S, drift x S).

    Fatigue, pain and sleep are symptoms 0, 1 and 2: today's pain adds to
    tonight's sleep disturbance and last night's sleep to today's fatigue.
    """
    phi, innovation_sd, day_chol = model.phi, model.innovation_sd, model.day_chol
    drift_rho, drift_innovation_sd = model.drift_rho, model.drift_innovation_sd
    pain_to_sleep, sleep_to_fatigue = model.pain_to_sleep, model.sleep_to_fatigue
    s = len(phi)
    a, b = np.zeros((2 * s, 2 * s)), np.zeros((2 * s, 2 * s))
    for i in range(s):
        a[i, i] = phi[i]
        a[s + i, s + i] = drift_rho[i]
        b[s + i, s + i] = drift_innovation_sd[i]
        for j in range(i + 1):
            b[i, j] = innovation_sd[i] * day_chol[i, j]
    a[2, 1] += pain_to_sleep * phi[1]
    for j in range(2):
        b[2, j] += pain_to_sleep * b[1, j]
    a[0, 2] += sleep_to_fatigue
    return a, b


@njit(cache=True)
def _matmul(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    n, m, p = x.shape[0], x.shape[1], y.shape[1]
    out = np.zeros((n, p))
    for i in range(n):
        for j in range(p):
            total = 0.0
            for k in range(m):
                total += x[i, k] * y[k, j]
            out[i, j] = total
    return out


@njit(cache=True)
def _cholesky(q: np.ndarray) -> np.ndarray:
    """Lower Cholesky factor of a symmetric positive semi-definite matrix.

    A pivot that is zero (or negative by rounding) gives a zero column: the
    state does not move in that direction (a symptom without drift, say).
    """
    n = q.shape[0]
    low = np.zeros((n, n))
    for j in range(n):
        d = q[j, j]
        for k in range(j):
            d -= low[j, k] * low[j, k]
        if d <= 1e-300:
            continue
        low[j, j] = np.sqrt(d)
        for i in range(j + 1, n):
            v = q[i, j]
            for k in range(j):
                v -= low[i, k] * low[j, k]
            low[i, j] = v / low[j, j]
    return low


@njit(cache=True)
def _solve(low: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """``Q^-1 rhs`` from ``Q``'s Cholesky factor (zero pivots: that component is 0)."""
    n, m = rhs.shape
    y = np.zeros((n, m))
    for c in range(m):
        for i in range(n):
            if low[i, i] == 0.0:
                continue
            v = rhs[i, c]
            for k in range(i):
                v -= low[i, k] * y[k, c]
            y[i, c] = v / low[i, i]
        for i in range(n - 1, -1, -1):
            if low[i, i] == 0.0:
                y[i, c] = 0.0
                continue
            v = y[i, c]
            for k in range(i + 1, n):
                v -= low[k, i] * y[k, c]
            y[i, c] = v / low[i, i]
    return y


@njit(cache=True)
def _gap_arrays(a: np.ndarray, b: np.ndarray, longest: int) -> tuple:
    n = a.shape[0]
    k_all = longest + 1
    power = np.zeros((k_all, n, n))
    jump = np.zeros((k_all, n, n))
    pull = np.zeros((k_all, n, n))
    toward = np.zeros((k_all, n, n))
    spread = np.zeros((k_all, n, n))
    q1 = _matmul(b, b.T.copy())
    cov = np.zeros((k_all, n, n))
    for i in range(n):
        power[0, i, i] = 1.0
    for k in range(1, k_all):
        power[k] = _matmul(a, power[k - 1])
        cov[k] = _matmul(_matmul(a, cov[k - 1]), a.T.copy()) + q1
        jump[k] = _cholesky(cov[k])
    for r in range(2, k_all):
        # G_r' = Q_r^-1 A^(r-1) Q_1 (Q_1 and Q_r are symmetric)
        g = _solve(jump[r], _matmul(power[r - 1], q1)).T.copy()
        toward[r] = g
        pull[r] = a - _matmul(g, power[r])
        left = q1 - _matmul(_matmul(g, power[r - 1]), q1)
        spread[r] = _cholesky(0.5 * (left + left.T))
    return power, jump, pull, toward, spread


def gap_matrices(a: np.ndarray, b: np.ndarray, longest: int) -> GapMatrices:
    """Jump and bridge matrices of the process ``(A, B)`` for gaps up to ``longest`` days."""
    return GapMatrices(*_gap_arrays(np.ascontiguousarray(a), np.ascontiguousarray(b), longest))


@njit(inline="always")
def advance(x: np.ndarray, step: np.ndarray, shift: np.ndarray, w: np.ndarray) -> None:
    """``x <- step x + shift w`` in place (``shift`` lower triangular)."""
    n = x.shape[0]
    out = np.empty(n)
    for i in range(n):
        total = 0.0
        for k in range(n):
            total += step[i, k] * x[k]
        for k in range(i + 1):
            total += shift[i, k] * w[k]
        out[i] = total
    x[:] = out


@njit(inline="always")
def bridge_step(
    x: np.ndarray, pull: np.ndarray, toward: np.ndarray, end: np.ndarray, spread: np.ndarray,
    u: np.ndarray,
) -> None:  # fmt: skip
    """One bridge day in place: ``x <- M x + G end + C u``."""
    n = x.shape[0]
    out = np.empty(n)
    for i in range(n):
        total = 0.0
        for k in range(n):
            total += pull[i, k] * x[k] + toward[i, k] * end[k]
        for k in range(i + 1):
            total += spread[i, k] * u[k]
        out[i] = total
    x[:] = out
