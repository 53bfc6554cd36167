"""What patients do: attend sessions, suffer adverse events, drop out, guess.

Dropout is a hazard process. Each patient draws one unit-exponential
threshold; they drop out on the day their cumulative hazard passes it, so
the same patient drops out at the same point under every regimen unless the
regimen changes their hazard. The daily base hazard gives ``dropout.rate``
by the last visit under MCAR. Under ``mar`` the hazard grows with the
worsening seen at the last visit; under ``mnar`` with the current, unseen,
worsening of the latent primary symptom (so patients without benefit leave).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from mssim.config.scenario import Scenario
from mssim.model import rng
from mssim.model.interventions import GUESS_SHAM, GUESS_VERUM, Regimen

# Per-slot uniforms: attendance, adverse-event type, dropout after the event.
SLOT_DRAWS = 3


@dataclass(frozen=True)
class BehaviourDraws:
    """Uniforms and thresholds behind behaviour, shared by every regimen.

    Attributes:
        threshold: Unit-exponential dropout threshold, (R, N).
        slots: Uniforms per session slot, (R, N, slots, SLOT_DRAWS).
    """

    threshold: np.ndarray
    slots: np.ndarray


def draw_behaviour(
    scenario: Scenario, regimen_list: list[Regimen], replicates: np.ndarray, n_patients: int
) -> BehaviourDraws:
    """Draw the behaviour stream for a chunk (patient-major)."""
    n_slots = max(max(r.n_sessions for r in regimen_list), 1)
    z = rng.normals(scenario.seed, replicates, "behaviour", (n_patients, 1 + n_slots * SLOT_DRAWS))
    u = ndtr(z)
    threshold = -np.log(ndtr(-z[..., 0]))  # -log(1 - U), accurate in the tail
    return BehaviourDraws(threshold, u[..., 1:].reshape(*z.shape[:2], n_slots, SLOT_DRAWS))


def base_hazard(rate: float, days: int) -> float:
    """Daily hazard giving dropout probability ``rate`` over ``days`` days."""
    return -np.log1p(-min(rate, 1.0 - 1e-12)) / max(days, 1)


def adverse_event_types(scenario: Scenario) -> list[str]:
    """All adverse-event types across arms, as ``arm:type`` labels."""
    return [f"{arm}:{ae}" for arm, a in scenario.arms.items() for ae in a.adverse_events]


def session_events(
    scenario: Scenario, arm: str, slot_uniforms: np.ndarray, present: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Attendance and adverse events at one scheduled session.

    Args:
        scenario: The scenario.
        arm: The course's arm.
        slot_uniforms: This slot's uniforms, (..., SLOT_DRAWS).
        present: Patient still in the trial.

    Returns:
        (attended, event type index into the arm's adverse events or -1,
        dropout caused by the event).
    """
    a = scenario.arms[arm]
    attended = present & (slot_uniforms[..., 0] < a.adherence)
    event = np.full(attended.shape, -1, dtype=np.int64)
    leaves = np.zeros(attended.shape, dtype=bool)
    upper = 0.0
    # Rarer, more serious events first so a rate change moves few patients.
    for k, ae in reversed(list(enumerate(a.adverse_events.values()))):
        lower, upper = upper, upper + ae.per_session
        hit = attended & (slot_uniforms[..., 1] >= lower) & (slot_uniforms[..., 1] < upper)
        event[hit] = k
        leaves |= hit & (slot_uniforms[..., 2] < ae.dropout)
    return attended, event, leaves


def bang_index(guess: np.ndarray, verum: bool) -> float:
    """Bang's blinding index for one arm (-1 to 1; 0 = guesses at chance).

    Args:
        guess: Guesses of the arm's patients (-1 sham, 0 don't know, 1 verum).
        verum: The arm truly received verum needling.

    Returns:
        (correct - incorrect) / all guesses; NaN if nobody guessed.
    """
    if guess.size == 0:
        return float("nan")
    # "don't know" answers count in the denominator only
    right, wrong = (GUESS_VERUM, GUESS_SHAM) if verum else (GUESS_SHAM, GUESS_VERUM)
    return float((np.sum(guess == right) - np.sum(guess == wrong)) / guess.size)
