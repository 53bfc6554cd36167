"""Daily symptom dynamics and instrument scoring, as array functions.

Each symptom's latent daily severity (0-10 NRS, higher is worse) is the sum of
a personal level, a slow drift, a fast day-to-day fluctuation, a relapse
component and, when the mechanism layer is on, mediator contributions, minus
the treatment effect. Fast fluctuations are coupled across symptoms:

* pain disturbs that night's sleep (``coupling.pain_to_sleep``);
* a poor night raises the next day's fatigue (``coupling.sleep_to_fatigue``).

:class:`SymptomModel` holds these parameters as arrays (symptom axis last).
The daily step itself is part of the engine's fused per-patient kernel
(:mod:`mssim.model.kernel`), which the Monte Carlo engine and the agent view
both run; sums are written out in a fixed order, so results do not depend on
BLAS kernels, array sizes or threads.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import cholesky, solve_discrete_lyapunov

from mssim.config.instruments import Instrument
from mssim.config.scenario import Scenario
from mssim.config.symptoms import MEDIATORS
from mssim.model import libm


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
        drift_rho = libm.exp(-1.0 / np.array([p.drift_days for p in params]))
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


def felt(latent: np.ndarray) -> np.ndarray:
    """Severity as felt and scored: the latent clipped to the 0-10 scale."""
    return np.clip(latent, 0.0, 10.0)


def diary(latent: np.ndarray, error: np.ndarray) -> np.ndarray:
    """Daily diary NRS (integer 0-10) from the latent severity and diary error (NRS)."""
    return np.clip(np.round(felt(latent) + error), 0.0, 10.0)
