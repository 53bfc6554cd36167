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

from mssim.config.scenario import Scenario
from mssim.model.symptoms import SymptomModel

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


def run_in_days(scenario: Scenario, model: SymptomModel) -> int:
    """Days simulated up to the screening day: the longest recall window needed."""
    lead = scenario.population.screening.days_before_baseline
    screening = model.instruments[model.index(scenario.population.screening.symptom)]
    longest = max(inst.recall_days for inst in model.instruments)
    return max(screening.recall_days, longest - lead, 1)
