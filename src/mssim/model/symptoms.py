"""Daily symptom dynamics and instrument scoring, as array functions.

Each symptom's latent daily severity (0-10 NRS, higher is worse) is the sum of
a personal level, a slow drift, a fast day-to-day fluctuation, a relapse
component and, when the mechanism layer is on, mediator contributions, minus
the treatment effect. Fast fluctuations are coupled across symptoms:

* pain disturbs that night's sleep (``coupling.pain_to_sleep``);
* a poor night raises the next day's fatigue (``coupling.sleep_to_fatigue``).

All functions take arrays whose last axis is the symptom (or mediator) axis,
so the engine (many replicate trials) and the agent view (one trial) call the
very same code. Matrix products are written out as sums so that results do
not depend on BLAS kernels or array sizes (bit-identical across chunkings).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit
from scipy.linalg import cholesky, solve_discrete_lyapunov

from mssim.config.instruments import Instrument
from mssim.config.scenario import MEDIATORS, Scenario


@dataclass(frozen=True)
class SymptomModel:
    """Per-symptom parameters as arrays (symptom axis last), derived once per run.

    Attributes:
        names: Active symptoms, in model order (fatigue, pain, sleep first).
        instruments: Instrument of each symptom.
        mean: Population mean of personal levels (NRS).
        between_chol: Cholesky factor of the between-patient level covariance.
        prevalence: Share of patients having each symptom.
        phi: Lag-1 autocorrelation of fluctuations.
        innovation_sd: SD of daily innovations (NRS).
        day_chol: Cholesky factor of the same-day innovation correlation.
        sleep_to_fatigue: Coupling (NRS per NRS).
        pain_to_sleep: Coupling (NRS per NRS).
        stationary_chol: Cholesky factor of the stationary fluctuation covariance.
        drift_rho: Daily persistence of the slow drift.
        drift_innovation_sd: SD of the drift's daily innovation (NRS).
        drift_sd: Stationary SD of the drift (NRS).
        relapse_jump: Severity added at a relapse's onset (NRS).
        mediator_persistence: Daily persistence of mediators (0 mediators if off).
        loadings: NRS per mediator SD, shape (symptoms, mediators).
        mediator_response: Mediator SD moved per SD of treatment signal.
    """

    names: tuple[str, ...]
    instruments: tuple[Instrument, ...]
    mean: np.ndarray
    between_chol: np.ndarray
    prevalence: np.ndarray
    phi: np.ndarray
    innovation_sd: np.ndarray
    day_chol: np.ndarray
    sleep_to_fatigue: float
    pain_to_sleep: float
    stationary_chol: np.ndarray
    drift_rho: np.ndarray
    drift_innovation_sd: np.ndarray
    drift_sd: np.ndarray
    relapse_jump: np.ndarray
    mediator_persistence: float
    loadings: np.ndarray
    mediator_response: np.ndarray

    @property
    def n_symptoms(self) -> int:
        """Number of simulated symptoms."""
        return len(self.names)

    @property
    def n_mediators(self) -> int:
        """Number of simulated mediators (0 when the mechanism layer is off)."""
        return self.loadings.shape[1]

    @property
    def noise_channels(self) -> int:
        """Standard normals drawn per patient-day: fluctuation, drift, mediators."""
        return 2 * self.n_symptoms + self.n_mediators

    def index(self, name: str) -> int:
        """Position of a symptom on the symptom axis."""
        return self.names.index(name)

    @classmethod
    def from_scenario(cls, scenario: Scenario) -> SymptomModel:
        """Derive the arrays from a validated scenario."""
        names = tuple(scenario.symptoms.active())
        params = [getattr(scenario.symptoms, n) for n in names]
        n = len(names)

        def correlation(r: float) -> np.ndarray:
            return np.full((n, n), r) + (1.0 - r) * np.eye(n)

        between_sd = np.array([p.between_sd for p in params])
        between_cov = correlation(scenario.coupling.between_correlation) * np.outer(
            between_sd, between_sd
        )
        phi = np.array([p.autocorrelation for p in params])
        # day_sd is the stationary SD of an uncoupled fluctuation
        innovation_sd = np.array([p.day_sd for p in params]) * np.sqrt(1.0 - phi**2)
        day_corr = correlation(scenario.coupling.day_correlation)
        reduced_a, reduced_b = _reduced_form(
            phi,
            innovation_sd,
            scenario.coupling.sleep_to_fatigue,
            scenario.coupling.pain_to_sleep,
        )
        stationary = solve_discrete_lyapunov(reduced_a, reduced_b @ day_corr @ reduced_b.T)
        drift_rho = np.exp(-1.0 / np.array([p.drift_days for p in params]))
        drift_sd = np.array([p.drift_sd for p in params])
        mech = scenario.mechanism
        mediators = MEDIATORS if mech.enabled else ()
        loadings = np.array(
            [[mech.loadings.get(s, {}).get(m, 0.0) for m in mediators] for s in names]
        ).reshape(n, len(mediators))
        return cls(
            names=names,
            instruments=tuple(p.scale for p in params),
            mean=np.array([p.mean for p in params]),
            between_chol=_chol(between_cov),
            prevalence=np.array([p.prevalence for p in params]),
            phi=phi,
            innovation_sd=innovation_sd,
            day_chol=_chol(day_corr),
            sleep_to_fatigue=scenario.coupling.sleep_to_fatigue,
            pain_to_sleep=scenario.coupling.pain_to_sleep,
            stationary_chol=_chol(stationary),
            drift_rho=drift_rho,
            drift_innovation_sd=drift_sd * np.sqrt(1.0 - drift_rho**2),
            drift_sd=drift_sd,
            relapse_jump=np.array([p.relapse_jump for p in params]),
            mediator_persistence=mech.persistence,
            loadings=loadings,
            mediator_response=np.array([mech.treatment_response.get(m, 0.0) for m in mediators]),
        )


def _chol(cov: np.ndarray) -> np.ndarray:
    """Lower Cholesky factor that tolerates zero variances (degenerate rows stay 0)."""
    scale = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    safe = np.where(scale > 0, scale, 1.0)
    corr = cov / np.outer(safe, safe)
    np.fill_diagonal(corr, 1.0)
    return cholesky(corr, lower=True) * scale[:, None]


def _reduced_form(
    phi: np.ndarray, sd: np.ndarray, sleep_to_fatigue: float, pain_to_sleep: float
) -> tuple[np.ndarray, np.ndarray]:
    """f_t = A f_{t-1} + B e_t, with e_t the correlated unit innovations.

    Symptoms 0, 1, 2 are fatigue, pain and sleep (model order).
    """
    a = np.diag(phi).astype(float)
    b = np.diag(sd).astype(float)
    a[0, 2] += sleep_to_fatigue  # last night's sleep -> today's fatigue
    a[2, 1] += pain_to_sleep * phi[1]  # today's pain -> tonight's sleep
    b[2, 1] += pain_to_sleep * sd[1]
    return a, b


def lower_times(chol: np.ndarray, z: np.ndarray) -> np.ndarray:
    """``z @ chol.T`` written as explicit sums (chunk-size independent)."""
    out = np.zeros_like(z)
    for i in range(chol.shape[0]):
        for j in range(i + 1):
            if chol[i, j] != 0.0:
                out[..., i] += chol[i, j] * z[..., j]
    return out


@dataclass(frozen=True)
class Relapses:
    """Each patient's relapses, flattened to the unit axis.

    Attributes:
        onset: Onset day of each relapse slot (a large number if none), (U, slots).
        size: Size relative to each symptom's ``relapse_jump``, (U, slots).
        residual: Share of the size that never recovers, (U, slots).
        retain: Share of the acute part kept per day (recovery).
    """

    onset: np.ndarray
    size: np.ndarray
    residual: np.ndarray
    retain: float


def no_relapses(units: int) -> Relapses:
    """Relapse slots for units that cannot relapse (the run-in before screening)."""
    empty = np.zeros((units, 0))
    return Relapses(np.zeros((units, 0), dtype=np.int64), empty, empty, 1.0)


def advance_day(
    model: SymptomModel,
    day: int,
    noise: np.ndarray,
    index: int,
    state: tuple[np.ndarray, ...],
    level: np.ndarray,
    presence: np.ndarray,
    relapses: Relapses,
    dose: np.ndarray,
    direct: np.ndarray,
    signal: np.ndarray,
    extra: np.ndarray,
    latent: np.ndarray,
) -> None:
    """Advance every unit (replicate x patient) by one day, in place.

    Order within the day: mediators (moved by yesterday's dose), coupled fast
    fluctuation, slow drift, relapses (onsets jump, earlier relapses recover),
    then the latent severity under each regimen.

    Args:
        model: Symptom parameters.
        day: Day number (relapse onsets are compared with it).
        noise: Standard normals, day-major, (days, U, noise channels).
        index: Today's position on the noise's day axis.
        state: (fluctuation (U, S), drift (U, S), mediators (U, G, M),
            acute (U,), residual (U,)), updated in place.
        level: Personal levels (NRS), (U, S).
        presence: 1 where the patient has the symptom, (U, S).
        relapses: Relapse draws.
        dose: Dose of each course, (U, G, courses).
        direct: Improvement at full dose (NRS), (U, G, courses, S).
        signal: Mediator signal at full dose (SD), (U, G, courses).
        extra: Dose-free improvement per regimen today (NRS), (G, S).
        latent: Output: latent severity (NRS), (U, G, S).
    """
    fluctuation, drift, mediators, acute, residual = state
    _advance(
        day, noise, index, fluctuation, drift, mediators, acute, residual, level, presence,
        model.phi, model.innovation_sd, model.day_chol, model.sleep_to_fatigue,
        model.pain_to_sleep, model.drift_rho, model.drift_innovation_sd,
        model.mediator_persistence, model.loadings, model.mediator_response,
        relapses.onset, relapses.size, relapses.residual, relapses.retain, model.relapse_jump,
        dose, direct, signal, extra, latent,
    )  # fmt: skip


A = np.ndarray  # short alias for the kernel's signature


@njit(cache=True, nogil=True)
def _advance(
    day: int, noise: A, index: int, fluct: A, drift: A, med: A, acute: A, residual: A,
    level: A, presence: A, phi: A, sd: A, chol: A, sleep_to_fatigue: float,
    pain_to_sleep: float, rho: A, drift_sd: A, psi: float, loadings: A, response: A,
    onset: A, size: A, resid: A, retain: float, jump: A, dose: A, direct: A, signal: A,
    extra: A, latent: A,
) -> None:  # fmt: skip
    units, n_sym = fluct.shape
    n_reg, n_med, n_course = med.shape[1], med.shape[2], dose.shape[2]
    keep, shock_sd = psi, np.sqrt(1.0 - psi * psi)
    z = noise[index]
    for u in range(units):
        for g in range(n_reg):
            sig = 0.0
            for c in range(n_course):
                sig += dose[u, g, c] * signal[u, g, c]
            for m in range(n_med):
                target = sig * response[m]
                med[u, g, m] = (
                    keep * med[u, g, m] + (1.0 - keep) * target + shock_sd * z[u, 2 * n_sym + m]
                )
        last_sleep = fluct[u, 2]
        for s in range(n_sym):
            shock = 0.0
            for j in range(s + 1):
                shock += chol[s, j] * z[u, j]
            fluct[u, s] = phi[s] * fluct[u, s] + sd[s] * shock
            drift[u, s] = rho[s] * drift[u, s] + drift_sd[s] * z[u, n_sym + s]
        fluct[u, 2] += pain_to_sleep * fluct[u, 1]  # today's pain disturbs tonight's sleep
        fluct[u, 0] += sleep_to_fatigue * last_sleep  # last night's sleep tires today
        acute[u] *= retain
        for k in range(onset.shape[1]):
            if onset[u, k] == day:
                acute[u] += size[u, k] * (1.0 - resid[u, k])
                residual[u] += size[u, k] * resid[u, k]
        relapse = acute[u] + residual[u]
        for g in range(n_reg):
            for s in range(n_sym):
                x = level[u, s] + drift[u, s] + fluct[u, s] + relapse * jump[s] - extra[g, s]
                for m in range(n_med):
                    x += loadings[s, m] * med[u, g, m]
                for c in range(n_course):
                    x -= dose[u, g, c] * direct[u, g, c, s]
                latent[u, g, s] = presence[u, s] * x


def relapse_load(
    model: SymptomModel, state: tuple[np.ndarray, ...], presence: np.ndarray
) -> np.ndarray:
    """Severity carried by relapses today (NRS), (U, 1, S): for the no-relapse outcome."""
    acute, residual = state[3], state[4]
    return (presence * ((acute + residual)[:, None] * model.relapse_jump))[:, None, :]


def stationary_start(model: SymptomModel, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fluctuation and drift drawn from their stationary distribution.

    Args:
        model: Symptom parameters.
        z: Standard normals, shape (..., 2 * symptoms).

    Returns:
        (fluctuation, drift), each (..., symptoms) (NRS).
    """
    s = model.n_symptoms
    return lower_times(model.stationary_chol, z[..., :s]), model.drift_sd * z[..., s : 2 * s]


def felt(latent: np.ndarray) -> np.ndarray:
    """Severity as felt and scored: the latent clipped to the 0-10 scale."""
    return np.clip(latent, 0.0, 10.0)


def score(instrument: Instrument, recall_mean: np.ndarray, error: np.ndarray) -> np.ndarray:
    """Instrument score from the mean felt severity over its recall window.

    Args:
        instrument: The instrument.
        recall_mean: Mean felt severity over the recall window (NRS 0-10).
        error: Measurement error (instrument points).

    Returns:
        Scores on the instrument's own scale, rounded to its step and kept
        within its floor and ceiling.
    """
    raw = instrument.low + instrument.points_per_nrs() * recall_mean + error
    stepped = instrument.low + np.round((raw - instrument.low) / instrument.step) * instrument.step
    return np.clip(stepped, instrument.low, instrument.high)


def diary(latent: np.ndarray, error: np.ndarray) -> np.ndarray:
    """Daily diary NRS (integer 0-10) from the latent severity and diary error (NRS)."""
    return np.clip(np.round(felt(latent) + error), 0.0, 10.0)
