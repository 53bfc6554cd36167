"""Draw a cohort: candidates' traits, a run-in, screening and enrolment.

Each enrolment slot screens up to ``max_candidates`` people in turn. A
candidate's symptoms run for a short run-in ending on the screening day; the
screening score is the instrument applied to that run-in plus measurement
error. The first eligible candidate is enrolled. Because a noisy score
selects people, later scores regress toward the mean: regression to the mean
emerges from the model, it is never typed in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import gammaincinv, ndtr

from mssim import rng
from mssim.scenario import Scenario
from mssim.symptoms import (
    SymptomModel,
    advance_day,
    felt,
    lower_times,
    no_relapses,
    score,
    stationary_start,
)

MS_TYPES = ("rrms", "spms", "ppms")
EDSS_SHIFT = np.array([0.0, 2.5, 2.0])  # (A) progressive types are more disabled


@dataclass(frozen=True)
class Cohort:
    """Enrolled patients' traits and their state on the screening day.

    Arrays have a leading (replicate, patient) pair of axes.

    Attributes:
        ms_type: 0 = RRMS, 1 = SPMS, 2 = PPMS.
        edss: EDSS score (0-10, steps of 0.5).
        on_therapy: On disease-modifying therapy.
        relapse_propensity: Gamma frailty (mean 1) multiplying the relapse rate.
        level: Personal symptom levels (NRS), (..., symptoms).
        presence: 1 if the patient has the symptom, else 0, (..., symptoms).
        screening_score: Screening score (screening instrument points).
        candidates_screened: People screened to fill the slot.
        screen_exhausted: No candidate was eligible; the last one was enrolled.
        fluctuation: Fast fluctuation on the screening day (NRS).
        drift: Slow drift on the screening day (NRS).
        mediators: Mediators on the screening day (SD units).
        run_in: Felt severity on the run-in days, (..., days, symptoms).
    """

    ms_type: np.ndarray
    edss: np.ndarray
    on_therapy: np.ndarray
    relapse_propensity: np.ndarray
    level: np.ndarray
    presence: np.ndarray
    screening_score: np.ndarray
    candidates_screened: np.ndarray
    screen_exhausted: np.ndarray
    fluctuation: np.ndarray
    drift: np.ndarray
    mediators: np.ndarray
    run_in: np.ndarray


def run_in_days(scenario: Scenario, model: SymptomModel) -> int:
    """Days simulated up to the screening day: the longest recall window needed."""
    lead = scenario.population.screening.days_before_baseline
    screening = model.instruments[model.index(scenario.population.screening.symptom)]
    longest = max(inst.recall_days for inst in model.instruments)
    return max(screening.recall_days, longest - lead, 1)


def draw_cohort(
    scenario: Scenario, model: SymptomModel, replicates: np.ndarray, n_patients: int
) -> Cohort:
    """Screen and enrol ``n_patients`` per replicate.

    Args:
        scenario: The scenario.
        model: Its symptom arrays.
        replicates: Replicate indices.
        n_patients: Enrolment slots per replicate (patients).

    Returns:
        The enrolled cohort, arrays stacked over replicates.
    """
    parts = [
        _screen_one(scenario, model, rng.stream(scenario.seed, r, "enrolment"), n_patients)
        for r in replicates
    ]
    return Cohort(
        **{f: np.stack([getattr(p, f) for p in parts]) for f in Cohort.__dataclass_fields__}
    )


def _screen_one(
    scenario: Scenario, model: SymptomModel, generator: np.random.Generator, n: int
) -> Cohort:
    pop = scenario.population
    rule = pop.screening
    k = rule.max_candidates if rule.enabled else 1
    s, m, c = model.n_symptoms, model.n_mediators, model.noise_channels
    window = run_in_days(scenario, model)
    # One patient-major draw: slot i's candidates use only slot i's numbers.
    z = generator.standard_normal((n, k, 5 + 2 * s + 2 * s + m + window * c))
    u = ndtr(z[..., : 5 + 2 * s])  # uniforms only where traits need them
    shares = np.cumsum([getattr(pop.ms_types, t) for t in MS_TYPES])
    ms_type = np.minimum(np.searchsorted(shares, u[..., 0], side="right"), 2)
    edss = np.clip(pop.edss_median + EDSS_SHIFT[ms_type] + pop.edss_sd * z[..., 1], 0.0, 9.5)
    edss = np.round(edss * 2.0) / 2.0
    on_therapy = u[..., 2] < pop.on_therapy
    shape = scenario.relapses.frailty_shape
    propensity = gammaincinv(shape, u[..., 3]) / shape
    level = model.mean + lower_times(model.between_chol, z[..., 5 : 5 + s])
    presence = (u[..., 5 + s : 5 + 2 * s] < model.prevalence).astype(float)
    start = 5 + 2 * s
    fluct, drift = stationary_start(model, z[..., start : start + 2 * s])
    units = n * k
    state = (
        fluct.reshape(units, s),
        drift.reshape(units, s),
        z[..., start + 2 * s : start + 2 * s + m].reshape(units, 1, m),
        np.zeros(units),
        np.zeros(units),
    )
    noise = z[..., start + 2 * s + m :].reshape(units, window, c)
    untreated = np.zeros((units, 1, 0))
    latent, no_extra = np.zeros((units, 1, s)), np.zeros((1, s))
    run_in = np.empty((n, k, window, s))
    for day in range(window):
        advance_day(
            model, day, noise, day, state, level.reshape(units, s), presence.reshape(units, s),
            no_relapses(units), untreated, untreated[..., None], untreated, no_extra, latent,
        )  # fmt: skip
        run_in[:, :, day] = felt(latent.reshape(n, k, s))
    fluct, drift = state[0].reshape(n, k, s), state[1].reshape(n, k, s)
    mediators = state[2].reshape(n, k, m)

    j = model.index(rule.symptom)
    instrument = model.instruments[j]
    sd = getattr(scenario.symptoms, rule.symptom).measurement_sd
    recall = run_in[:, :, window - instrument.recall_days :, j].mean(axis=2)
    screening_score = score(instrument, recall, sd * z[..., 4])
    eligible = edss <= rule.max_edss
    if rule.enabled:
        eligible &= screening_score >= rule.min_score
        if rule.max_score is not None:
            eligible &= screening_score <= rule.max_score
    exhausted = ~eligible.any(axis=1)
    chosen = np.where(exhausted, k - 1, eligible.argmax(axis=1))
    pick = np.arange(n), chosen
    return Cohort(
        ms_type=ms_type[pick].astype(np.int8),
        edss=edss[pick],
        on_therapy=on_therapy[pick],
        relapse_propensity=propensity[pick],
        level=level[pick],
        presence=presence[pick],
        screening_score=screening_score[pick],
        candidates_screened=chosen + 1,
        screen_exhausted=exhausted,
        fluctuation=fluct[pick],
        drift=drift[pick],
        mediators=mediators[pick],
        run_in=run_in[pick],
    )
