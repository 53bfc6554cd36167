"""What the engine returns: the types the trial layer reads.

The trial layer (randomization, endpoints, analyses) works on these types and
never imports the engine that fills them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mssim.model.interventions import Regimen, Responses
from mssim.model.population import Cohort

NEVER = np.iinfo(np.int32).max  # day of an event that never happens


@dataclass(frozen=True)
class DailyPaths:
    """Daily trajectories, kept only when asked (``keep_daily=True``).

    Attributes:
        days: Day numbers, (days,).
        latent: Latent severity (NRS), (R, N, regimens, days, symptoms).
        diary: Diary score (NRS, NaN once dropped out), same shape.
        attended: A session was attended that day, (R, N, regimens, days).
    """

    days: np.ndarray
    latent: np.ndarray
    diary: np.ndarray
    attended: np.ndarray


@dataclass(frozen=True)
class Outcomes:
    """Everything a chunk of replicate trials produced, under every regimen.

    Attributes:
        replicates: Replicate indices.
        regimens: The regimens (potential-outcome axis).
        tracked: Symptoms scored at visits.
        visit_days: Visit days, baseline (0) first.
        scores: Visit scores (instrument points), (R, N, regimens, visits, tracked).
        scores_no_relapse: The same had no relapse happened (or None).
        dropout_day: First day absent (NEVER if completed), (R, N, regimens).
        relapse_onsets: Relapse onset days (NEVER if none), (R, N, slots).
        sessions_attended: Sessions attended, (R, N, regimens).
        adverse_events: Event counts per ``arm:type`` label, (R, N, regimens, types).
        cohort: Enrolled patients' traits.
        responses: Response traits, guesses and practitioners.
        daily: Daily paths, if kept.
    """

    replicates: np.ndarray
    regimens: list[Regimen]
    tracked: tuple[str, ...]
    visit_days: np.ndarray
    scores: np.ndarray
    scores_no_relapse: np.ndarray | None
    dropout_day: np.ndarray
    relapse_onsets: np.ndarray
    sessions_attended: np.ndarray
    adverse_events: np.ndarray
    cohort: Cohort
    responses: Responses
    daily: DailyPaths | None
