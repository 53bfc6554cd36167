"""The daily dropout hazard, calibrated so that ``dropout.rate`` is the realised rate.

Each patient draws one unit-exponential threshold and drops out on the day
their cumulative hazard passes it, or the day after an adverse event that
ends their participation. The hazard on day ``d`` (from day 1) is
``h0 * m(d)`` with ``m = 1`` under MCAR, ``exp(strength * w)`` under MAR (``w``:
worsening of the primary score at the last visit, in reference SDs) and under
MNAR (``w``: today's unseen worsening of the latent primary symptom). ``h0`` is
chosen so that the share of patients gone by the last visit (``T``), averaged
over the regimens weighted by allocation, equals ``dropout.rate``: ``strength``
only shapes who drops out, not how many.

A patient still present on day ``T`` has not left after an adverse event and
has cumulative hazard ``h0 * H`` with ``H = sum of m(d), d = 1..T`` along their
undropped path, so

    P(gone by T) = 1 - (1 - A) * exp(-h0 * H),

with ``A`` the chance of having left after an adverse event by ``T``.

* MCAR: ``H = T`` and ``A`` is closed form (sessions up to ``T - 1``, each
  attended with probability ``adherence``, each ending participation with
  probability ``sum over events of per-session risk x dropout``), so ``h0``
  is exact.
* MAR and MNAR: ``H`` and ``A`` depend on each patient's path. A pilot cohort
  (:data:`PILOT_PATIENTS` patients on their own replicate keys, without
  hazard dropout) gives them, and ``h0`` solves the equation averaged over the
  pilot. The pilot's Monte Carlo error (SD over pilot cohorts: about 0.001 on
  a rate of 0.1, 0.002 on 0.3) is part of the realised rate's error.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache

import numpy as np
from scipy.optimize import brentq

from mssim.config.load import with_overrides
from mssim.config.scenario import Scenario
from mssim.model import libm
from mssim.model.behaviour import per_session_risk
from mssim.model.interventions import Regimen, regimens
from mssim.model.outcomes import Outcomes
from mssim.model.symptoms import SymptomModel

#: Patients in the pilot cohort of a MAR or MNAR calibration.
PILOT_PATIENTS = 3000
#: Replicate key of the pilot cohort: far from any replicate a run uses.
PILOT_REPLICATE = 2**40

#: ``pilot(scenario, replicates, n_patients, keep_daily) -> Outcomes`` (the engine).
Pilot = Callable[[Scenario, np.ndarray, int, bool], Outcomes]


def regimen_weights(scenario: Scenario, regimen_list: list[Regimen]) -> np.ndarray:
    """Share of patients in each regimen: the allocation ratio of its first arm."""
    ratio = scenario.allocation_ratio()
    w = np.array([ratio[r.courses[0].arm] for r in regimen_list], dtype=float)
    return w / w.sum()


def adverse_event_survival(scenario: Scenario, regimen: Regimen, horizon: int) -> float:
    """Chance a patient present throughout has not left after an adverse event by ``horizon``.

    A session on day ``d`` whose event ends participation makes the patient
    absent from day ``d + 1``, so sessions up to ``horizon - 1`` count.
    """
    survive = 1.0
    for course in regimen.courses:
        arm = scenario.arms[course.arm]
        leave = sum(
            q * ae.dropout
            for q, ae in zip(per_session_risk(arm), arm.adverse_events.values(), strict=True)
        )
        n = int(np.sum(course.session_days <= horizon - 1))
        survive *= (1.0 - arm.adherence * leave) ** n
    return survive


def dropout_hazard(
    scenario: Scenario, regimen_list: list[Regimen], horizon: int, pilot: Pilot
) -> float:
    """Daily base hazard ``h0`` giving the realised dropout ``dropout.rate`` by ``horizon``.

    Args:
        scenario: The scenario.
        regimen_list: Its regimens.
        horizon: Day of the last visit.
        pilot: The engine, to simulate a pilot cohort under MAR or MNAR.

    Returns:
        The hazard per day (0 when adverse events alone reach the rate).
    """
    if calibrated_on_pilot(scenario):
        return _pilot_hazard(scenario.model_dump_json(), pilot)
    rate = scenario.dropout.rate
    if rate == 0.0:
        return 0.0
    weights = regimen_weights(scenario, regimen_list)
    stay = float(weights @ [adverse_event_survival(scenario, r, horizon) for r in regimen_list])
    if stay <= 1.0 - rate:
        return 0.0
    return -math.log((1.0 - rate) / stay) / horizon


def calibrated_on_pilot(scenario: Scenario) -> bool:
    """Whether ``h0`` is solved on a pilot simulation of the scenario (MAR or MNAR, rate > 0).

    The pilot simulates the whole model, so then every field the engine reads
    (the patients' responses too) moves ``h0``.
    """
    return scenario.dropout.rate != 0.0 and scenario.dropout.mechanism != "mcar"


@lru_cache(maxsize=32)
def _pilot_hazard(scenario_json: str, pilot: Pilot) -> float:
    scenario = Scenario.model_validate_json(scenario_json)
    gone, exposure = pilot_exposure(scenario, pilot)
    return solve_hazard(scenario.dropout.rate, gone, exposure, pilot_weights(scenario, gone))


def pilot_weights(scenario: Scenario, gone: np.ndarray) -> np.ndarray:
    """Weight of each pilot patient-regimen so that regimens count by allocation."""
    w = regimen_weights(scenario, regimens(scenario))
    return np.broadcast_to(w / gone[..., 0].size, gone.shape)


def solve_hazard(rate: float, gone: np.ndarray, exposure: np.ndarray, weights: np.ndarray) -> float:
    """``h0`` with ``sum w * [gone + (1 - gone) * (1 - exp(-h0 * H))] = rate``.

    Args:
        rate: Target share gone by the last visit (0-1).
        gone: Left after an adverse event by the last visit (0/1), any shape.
        exposure: ``H``, the summed relative hazard up to the last visit (days).
        weights: Weights summing to 1, same shape.

    Returns:
        The base hazard per day (0 when adverse events alone reach the rate).
    """
    stay = 1.0 - gone

    def excess(h: float) -> float:
        return float(np.sum(weights * (gone + stay * -libm.expm1(-h * exposure)))) - rate

    if excess(0.0) >= 0.0:
        return 0.0
    high = 1.0 / float(np.mean(exposure))
    while excess(high) < 0.0:
        high *= 2.0
    return float(brentq(excess, 0.0, high, xtol=1e-14, rtol=1e-12))


def pilot_exposure(scenario: Scenario, pilot: Pilot) -> tuple[np.ndarray, np.ndarray]:
    """Simulate the pilot cohort without hazard dropout: (gone, exposure ``H``).

    Both are (patients, regimens). ``gone`` marks patients who left after an
    adverse event by the last visit; ``H`` sums the relative hazard ``m(d)``
    over days 1 to the last visit along each undropped path, as the kernel
    computes it (see the module docstring).
    """
    quiet = with_overrides(scenario, values={"dropout.rate": 0.0}, source="dropout pilot")
    mnar = scenario.dropout.mechanism == "mnar"
    o = pilot(quiet, np.array([PILOT_REPLICATE]), PILOT_PATIENTS, mnar)
    horizon = int(o.visit_days[-1])
    gone = (o.dropout_day[0] <= horizon).astype(float)
    primary = scenario.trial.primary_endpoint
    strength = scenario.dropout.strength
    if mnar:
        exposure = _latent_exposure(scenario, o, horizon, strength)
    else:
        exposure = _visit_exposure(scenario, o, horizon, strength, o.tracked.index(primary))
    return gone, exposure


def _visit_exposure(
    scenario: Scenario, o: Outcomes, horizon: int, strength: float, track: int
) -> np.ndarray:
    """MAR: ``m(d) = exp(strength * w)``, ``w`` the change at the last visit before ``d``."""
    ref = getattr(scenario.symptoms, scenario.trial.primary_endpoint).reference_sd
    scores = o.scores[0, :, :, :, track]  # (N, G, visits)
    worsening = (scores - scores[..., :1]) / ref
    days = np.arange(1, horizon + 1)
    # the visit whose score sets the hazard of day d: the last one before d (0 = none yet)
    last = np.searchsorted(o.visit_days, days, side="left") - 1
    w = np.where(last[None, None, :] >= 1, worsening[..., np.maximum(last, 0)], 0.0)
    return libm.exp(strength * w).sum(-1)


def _latent_exposure(scenario: Scenario, o: Outcomes, horizon: int, strength: float) -> np.ndarray:
    """MNAR: ``m(d) = exp(strength * w)``, ``w`` today's latent worsening since baseline."""
    primary = scenario.trial.primary_endpoint
    model = SymptomModel.from_scenario(scenario)
    s = model.index(primary)
    ref = getattr(scenario.symptoms, primary).reference_sd
    per_ref_sd = model.instruments[s].points_per_nrs() / ref
    recall = model.instruments[s].recall_days
    days = o.daily.days
    felt = np.clip(o.daily.latent[0, :, :, :, s], 0.0, 10.0)  # (N, G, days)
    window = (days > -recall) & (days <= 0)  # the baseline visit's recall window
    baseline = felt[..., window].mean(-1)
    trial_days = (days >= 1) & (days <= horizon)
    w = (felt[..., trial_days] - baseline[..., None]) * per_ref_sd
    return libm.exp(strength * w).sum(-1)
