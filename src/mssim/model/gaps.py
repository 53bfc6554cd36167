"""The coupled symptoms' daily update, its jumps over the days nothing reads, and the bridge.

The coupled symptoms' day-to-day state (fatigue, pain, sleep and any further
symptom: fast fluctuation and slow drift, 2S numbers) is a linear Gaussian
process,

    x[t] = A x[t-1] + B z[t],    z[t] ~ N(0, I_2S),

with ``A`` and ``B`` from the daily update of :func:`symptom_day`
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


@njit(inline="always")
def coefficients(
    chol: np.ndarray,
    phi: np.ndarray,
    sd: np.ndarray,
    rho: np.ndarray,
    drift_sd: np.ndarray,
    pain_to_sleep: float,
    sleep_to_fatigue: float,
) -> tuple:
    """Fatigue's, pain's and sleep's coefficients as scalars, for :func:`symptom_day`."""
    return (
        chol[0, 0], chol[1, 0], chol[1, 1], chol[2, 0], chol[2, 1], chol[2, 2],
        phi[0], phi[1], phi[2], sd[0], sd[1], sd[2], rho[0], rho[1], rho[2],
        drift_sd[0], drift_sd[1], drift_sd[2], pain_to_sleep, sleep_to_fatigue,
    )  # fmt: skip


@njit(inline="always")
def symptom_day(
    state: tuple,
    k: tuple,
    z: np.ndarray,
    fluct: np.ndarray,
    drift: np.ndarray,
    chol: np.ndarray,
    phi: np.ndarray,
    sd: np.ndarray,
    rho: np.ndarray,
    drift_sd: np.ndarray,
) -> tuple:
    """Coupled fast fluctuation and slow drift of one patient, one day.

    Fatigue, pain and sleep (always the first three symptoms, the coupled ones)
    are carried in registers: ``state`` is their (fluctuation x 3, drift x 3),
    returned one day on, and ``k`` their coefficients (:func:`coefficients`).
    Further symptoms move in place in ``fluct`` and ``drift``. ``z`` holds the
    day's standard normals: S shocks, then S drift innovations.
    """
    f0, f1, f2, d0, d1, d2 = state
    c00, c10, c11, c20, c21, c22, p0, p1, p2, s0, s1, s2, r0, r1, r2, q0, q1, q2, pts, stf = k
    n_sym = fluct.shape[0]
    last_sleep = f2
    f0 = p0 * f0 + s0 * (0.0 + c00 * z[0])  # same-day shocks correlated (Cholesky rows)
    f1 = p1 * f1 + s1 * (0.0 + c10 * z[0] + c11 * z[1])
    f2 = p2 * f2 + s2 * (0.0 + c20 * z[0] + c21 * z[1] + c22 * z[2])
    d0 = r0 * d0 + q0 * z[n_sym]
    d1 = r1 * d1 + q1 * z[n_sym + 1]
    d2 = r2 * d2 + q2 * z[n_sym + 2]
    for s in range(3, n_sym):
        shock = 0.0
        for j in range(s + 1):
            shock += chol[s, j] * z[j]
        fluct[s] = phi[s] * fluct[s] + sd[s] * shock
        drift[s] = rho[s] * drift[s] + drift_sd[s] * z[n_sym + s]
    f2 += pts * f1  # today's pain disturbs tonight's sleep
    f0 += stf * last_sleep  # last night's sleep tires today
    return f0, f1, f2, d0, d1, d2


@njit(inline="always")
def store_state(state: tuple, fluct: np.ndarray, drift: np.ndarray) -> None:
    """Write fatigue's, pain's and sleep's state (registers) into the patient's rows."""
    fluct[0], fluct[1], fluct[2], drift[0], drift[1], drift[2] = state


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
def advance(
    x: np.ndarray, step: np.ndarray, shift: np.ndarray, w: np.ndarray, out: np.ndarray
) -> None:
    """``x <- step x + shift w`` in place (``shift`` lower triangular; ``out`` is scratch)."""
    n = x.shape[0]
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
    u: np.ndarray, out: np.ndarray,
) -> None:  # fmt: skip
    """One bridge day in place: ``x <- M x + G end + C u`` (``out`` is scratch)."""
    n = x.shape[0]
    for i in range(n):
        total = 0.0
        for k in range(n):
            total += pull[i, k] * x[k] + toward[i, k] * end[k]
        for k in range(i + 1):
            total += spread[i, k] * u[k]
        out[i] = total
    x[:] = out
