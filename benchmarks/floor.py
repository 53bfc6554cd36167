"""The cost floors: a bare coupled AR(1) doing the engine's symptom work, in numpy and in numba.

Each floor advances the same replicates x patients x days x symptoms as the
engine, with the same coupled fast fluctuation (same-day correlated shocks,
pain -> tonight's sleep, last night's sleep -> today's fatigue) and the same
slow drift, and sums them into a latent severity. It has no treatments,
relapses, behaviour or observation, and it draws only its own ``2 x symptoms``
standard normals per unit-day.

:func:`run` is the numpy floor. It is written to be as fast as plain numpy
allows: float64 like the engine, symptom-major contiguous rows, preallocated
buffers, in-place ufuncs only, no BLAS (so it stays on one core like the
engine's chunk), and a block of units sized to stay in cache. Generator: PCG64.

:func:`run_fused` is the numba floor: the same coupled AR(1) over the same
patient-days, fused into one loop per unit with its state in registers and a
numpy ``Generator`` (PCG64, ziggurat normals) passed into ``@njit``, on one
core, written out for fatigue, pain and sleep so the state stays in registers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from numba import njit

BLOCK = 8192  # units advanced together: fastest of 2k-30k on a 2 MiB-L2 EPYC


@dataclass(frozen=True)
class ArParams:
    """Coefficients of the coupled AR(1), symptom axis last.

    Symptoms 0, 1, 2 are fatigue, pain and sleep, as in the engine.

    Attributes:
        level: Personal level added to every unit (NRS), (S,).
        phi: Lag-1 autocorrelation of the fast fluctuation, (S,).
        shock: Same-day shock loadings ``diag(innovation_sd) @ day_chol``, (S, S), lower.
        sleep_to_fatigue: Coupling of last night's sleep to today's fatigue.
        pain_to_sleep: Coupling of today's pain to tonight's sleep.
        drift_rho: Daily persistence of the slow drift, (S,).
        drift_sd: SD of the drift's daily innovation, (S,).
    """

    level: np.ndarray
    phi: np.ndarray
    shock: np.ndarray
    sleep_to_fatigue: float
    pain_to_sleep: float
    drift_rho: np.ndarray
    drift_sd: np.ndarray

    @property
    def n_symptoms(self) -> int:
        """Number of symptoms."""
        return len(self.phi)


@dataclass(frozen=True)
class FloorWork:
    """What the floor must do.

    Attributes:
        units: Replicates x enrolled patients.
        days: Days simulated per unit.
    """

    units: int
    days: int


class _Block:
    """Preallocated state of ``m`` units, symptom-major (each row contiguous)."""

    def __init__(self, params: ArParams, m: int) -> None:
        s = params.n_symptoms
        self.p = params
        self.z = np.empty((2 * s, m))  # today's deviates: shocks, then drift innovations
        self.fluct = np.zeros((s, m))
        self.drift = np.zeros((s, m))
        self.latent = np.empty((s, m))
        self.tmp = np.empty(m)
        self.level = np.ascontiguousarray(np.broadcast_to(params.level[:, None], (s, m)))
        self.rho = params.drift_rho[:, None]
        self.dsd = params.drift_sd[:, None]

    def day(self, generator: np.random.Generator) -> None:
        """Draw one day's deviates and advance every unit of the block."""
        p, z, f, tmp = self.p, self.z, self.fluct, self.tmp
        s = p.n_symptoms
        generator.standard_normal(out=z)
        # correlated shocks in place, last row first (it reads the rows above it)
        for i in range(s - 1, -1, -1):
            z[i] *= p.shock[i, i]
            for j in range(i):
                if p.shock[i, j] != 0.0:
                    np.multiply(z[j], p.shock[i, j], out=tmp)
                    z[i] += tmp
        coupled = s >= 3
        if coupled:  # fatigue uses last night's sleep: keep it before sleep moves
            np.multiply(f[2], p.sleep_to_fatigue, out=tmp)
        for i in range(s):
            f[i] *= p.phi[i]
            f[i] += z[i]
        if coupled:
            f[0] += tmp
            np.multiply(f[1], p.pain_to_sleep, out=tmp)  # today's pain -> tonight's sleep
            f[2] += tmp
        # slow drift, then the latent severity
        drift_z = z[s:]
        drift_z *= self.dsd
        self.drift *= self.rho
        self.drift += drift_z
        np.add(self.level, self.drift, out=self.latent)
        self.latent += f


def run(work: FloorWork, params: ArParams, seed: int = 0, block: int = BLOCK) -> float:
    """Do the floor's work once.

    Args:
        work: Units and days.
        params: AR(1) coefficients.
        seed: Seed of the PCG64 generator.
        block: Units advanced together (the last block may be smaller).

    Returns:
        Wall time in seconds.
    """
    generator = np.random.Generator(np.random.PCG64(seed))
    start = time.perf_counter()
    for first in range(0, work.units, block):
        state = _Block(params, min(block, work.units - first))
        for _ in range(work.days):
            state.day(generator)
    return time.perf_counter() - start


@njit(cache=True, nogil=True)
def _fused(
    generator: np.random.Generator,
    units: int,
    days: int,
    level: np.ndarray,
    phi: np.ndarray,
    shock: np.ndarray,
    sleep_to_fatigue: float,
    pain_to_sleep: float,
    drift_rho: np.ndarray,
    drift_sd: np.ndarray,
) -> float:
    """Advance ``units`` units ``days`` days, fatigue, pain and sleep in registers.

    Returns the sum of the latent severities (so nothing is optimized away).
    """
    total = 0.0
    for _ in range(units):
        f0 = f1 = f2 = d0 = d1 = d2 = 0.0
        for _ in range(days):
            z0, z1, z2 = (
                generator.standard_normal(),
                generator.standard_normal(),
                generator.standard_normal(),
            )
            e0, e1, e2 = (
                generator.standard_normal(),
                generator.standard_normal(),
                generator.standard_normal(),
            )
            last_sleep = f2
            f0 = phi[0] * f0 + shock[0, 0] * z0
            f1 = phi[1] * f1 + shock[1, 0] * z0 + shock[1, 1] * z1
            f2 = phi[2] * f2 + shock[2, 0] * z0 + shock[2, 1] * z1 + shock[2, 2] * z2
            f2 += pain_to_sleep * f1  # today's pain disturbs tonight's sleep
            f0 += sleep_to_fatigue * last_sleep  # last night's sleep tires today
            d0 = drift_rho[0] * d0 + drift_sd[0] * e0
            d1 = drift_rho[1] * d1 + drift_sd[1] * e1
            d2 = drift_rho[2] * d2 + drift_sd[2] * e2
            total += level[0] + d0 + f0 + level[1] + d1 + f1 + level[2] + d2 + f2
    return total


def run_fused(work: FloorWork, params: ArParams, seed: int = 0) -> float:
    """The numba floor once, for fatigue, pain and sleep (call it once first to compile).

    Args:
        work: Units and days.
        params: AR(1) coefficients of exactly three symptoms.
        seed: Seed of the PCG64 generator.

    Returns:
        Wall time in seconds.
    """
    if params.n_symptoms != 3:
        raise ValueError(f"the numba floor runs fatigue, pain and sleep; got {params.n_symptoms}")
    generator = np.random.Generator(np.random.PCG64(seed))
    p = params
    start = time.perf_counter()
    _fused(
        generator, work.units, work.days, p.level, p.phi, p.shock,
        p.sleep_to_fatigue, p.pain_to_sleep, p.drift_rho, p.drift_sd,
    )  # fmt: skip
    return time.perf_counter() - start
