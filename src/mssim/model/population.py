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

from mssim.config.scenario import Scenario
from mssim.model import rng
from mssim.model.symptoms import (
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
# Per-candidate trait draws: MS type, EDSS, therapy, relapse propensity, screening error.
TRAITS = 5


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
    s, m = model.n_symptoms, model.n_mediators
    window = run_in_days(scenario, model)
    # One patient-major draw: slot i's candidates use only slot i's numbers.
    z = generator.standard_normal(
        (n, k, TRAITS + 2 * s + 2 * s + m + window * model.noise_channels)
    )
    shares = np.cumsum([getattr(pop.ms_types, t) for t in MS_TYPES])
    ms_type = np.minimum(np.searchsorted(shares, ndtr(z[..., 0]), side="right"), 2)
    edss = np.clip(pop.edss_median + EDSS_SHIFT[ms_type] + pop.edss_sd * z[..., 1], 0.0, 9.5)
    edss = np.round(edss * 2.0) / 2.0
    j = model.index(rule.symptom)
    instrument = model.instruments[j]
    error_sd = getattr(scenario.symptoms, rule.symptom).measurement_sd

    # Screen candidate 1 of every slot, then candidate 2 of the slots still
    # searching, and so on: only candidates actually screened are simulated.
    chosen = np.full(n, k - 1)
    found = np.zeros(n, dtype=bool)
    fluct, drift = np.empty((n, s)), np.empty((n, s))
    mediators, run_in = np.empty((n, m)), np.empty((n, window, s))
    level, presence = np.empty((n, s)), np.empty((n, s))
    screening_score = np.empty(n)
    searching = np.ones(n, dtype=bool)
    for cand in range(k):
        last = cand == k - 1
        slots = np.flatnonzero(searching & ((edss[:, cand] <= rule.max_edss) | last))
        if not slots.size:
            continue
        zc = z[slots, cand]
        lev = model.mean + lower_times(model.between_chol, zc[:, TRAITS : TRAITS + s])
        has = (ndtr(zc[:, TRAITS + s : TRAITS + 2 * s]) < model.prevalence).astype(float)
        state, felt_days = _run_in(model, zc, lev, has)
        recall = felt_days[:, window - instrument.recall_days :, j].mean(axis=1)
        result = score(instrument, recall, error_sd * zc[:, 4])
        eligible = edss[slots, cand] <= rule.max_edss
        if rule.enabled:
            eligible &= result >= rule.min_score
            if rule.max_score is not None:
                eligible &= result <= rule.max_score
        take = eligible | last
        where = slots[take]
        chosen[where], found[where], searching[where] = cand, eligible[take], False
        fluct[where], drift[where], mediators[where] = (x[take] for x in state)
        run_in[where], screening_score[where] = felt_days[take], result[take]
        level[where], presence[where] = lev[take], has[take]
        if not searching.any():
            break
    pick = np.arange(n), chosen
    u = ndtr(z[pick][:, 2:4])  # therapy and relapse propensity, for those enrolled
    shape = scenario.relapses.frailty_shape
    return Cohort(
        ms_type=ms_type[pick].astype(np.int8),
        edss=edss[pick],
        on_therapy=u[:, 0] < pop.on_therapy,
        relapse_propensity=gammaincinv(shape, u[:, 1]) / shape,
        level=level,
        presence=presence,
        screening_score=screening_score,
        candidates_screened=chosen + 1,
        screen_exhausted=~found,
        fluctuation=fluct,
        drift=drift,
        mediators=mediators,
        run_in=run_in,
    )


def _run_in(
    model: SymptomModel, z: np.ndarray, level: np.ndarray, presence: np.ndarray
) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], np.ndarray]:
    """Simulate candidates' run-in from their stationary start.

    Args:
        model: Symptom parameters.
        z: The candidates' enrolment draws, (units, draws).
        level: Personal levels (NRS), (units, symptoms).
        presence: Symptom presence, (units, symptoms).

    Returns:
        ((fluctuation, drift, mediators) on the screening day, felt severity
        on each run-in day (units, days, symptoms)).
    """
    units, s, m, c = len(z), model.n_symptoms, model.n_mediators, model.noise_channels
    start = TRAITS + 2 * s
    fluct, drift = stationary_start(model, z[:, start : start + 2 * s])
    state = (fluct, drift, z[:, start + 2 * s : start + 2 * s + m].reshape(units, 1, m).copy(),
             np.zeros(units), np.zeros(units))  # fmt: skip
    noise = np.ascontiguousarray(z[:, start + 2 * s + m :].reshape(units, -1, c).transpose(1, 0, 2))
    days = noise.shape[0]
    untreated = np.zeros((units, 1, 0))
    latent, no_extra = np.zeros((units, 1, s)), np.zeros((1, s))
    felt_days = np.empty((units, days, s))
    for day in range(days):
        advance_day(
            model, day, noise, day, state, level, presence, no_relapses(units),
            untreated, untreated[..., None], untreated, no_extra, latent,
        )  # fmt: skip
        felt_days[:, day] = felt(latent[:, 0])
    return (state[0], state[1], state[2][:, 0]), felt_days
