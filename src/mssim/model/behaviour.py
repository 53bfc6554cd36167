"""What patients do: attend sessions, suffer adverse events, guess their arm.

Attendance and adverse events are drawn in the kernel (:mod:`mssim.model.kernel`)
from per-session probabilities; dropout is calibrated in
:mod:`mssim.model.dropout`.
"""

from __future__ import annotations

import numpy as np

from mssim.config.arms import Arm
from mssim.config.scenario import Scenario
from mssim.model import libm
from mssim.model.interventions import GUESS_SHAM, GUESS_VERUM


def adverse_event_types(scenario: Scenario) -> list[str]:
    """All adverse-event types across arms, as ``arm:type`` labels."""
    return [f"{arm}:{ae}" for arm, a in scenario.arms.items() for ae in a.adverse_events]


def per_session_risk(arm: Arm) -> np.ndarray:
    """Risk of each adverse-event type at one attended session, in the arm's order.

    An event's ``per_patient`` risk ``p`` is over the whole course for a patient
    attending the expected ``n = sessions x adherence`` sessions, so the risk
    per attended session is ``1 - (1 - p) ** (1 / n)``.

    Args:
        arm: The arm.

    Returns:
        Probabilities (0-1), one per adverse-event type.
    """
    expected = max(arm.n_sessions() * arm.adherence, 1.0)
    risks = np.array([ae.per_patient for ae in arm.adverse_events.values()], dtype=float)
    return -libm.expm1(libm.log1p(-np.minimum(risks, 1.0 - 1e-15)) / expected)


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
