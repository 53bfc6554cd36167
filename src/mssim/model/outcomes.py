"""What the engine returns: the types the trial layer reads.

The trial layer (randomization, endpoints, analyses) works on these types and
never imports the engine that fills them.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

from mssim.model.interventions import Regimen, Responses, concatenate_responses
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


#: Outcomes arrays with a leading replicate axis and the same shape in every chunk.
PER_REPLICATE = (
    "scores",
    "scores_no_relapse",
    "dropout_day",
    "sessions_attended",
    "adverse_events",
)


def concatenate(parts: list[Outcomes]) -> Outcomes:
    """Outcomes of several chunks as one, replicates in the order given.

    The chunks may come from scenarios that differ in model parameters (an
    assurance run draws them per replicate), but must share regimens, tracked
    symptoms and visits. Relapse slots are padded with :data:`NEVER` to the
    largest count.

    Raises:
        ValueError: If the parts differ in regimens, tracked symptoms or visits,
            or keep daily paths.
    """
    first = parts[0]
    for part in parts[1:]:
        if (
            _schedule(part.regimens) != _schedule(first.regimens)
            or part.tracked != first.tracked
            or not np.array_equal(part.visit_days, first.visit_days)
        ):
            raise ValueError("outcomes differ in regimens, tracked symptoms or visits")
    if any(part.daily is not None for part in parts):
        raise ValueError("outcomes with daily paths are not concatenated")
    slots = max(part.relapse_onsets.shape[-1] for part in parts)
    onsets = [
        np.pad(
            p.relapse_onsets,
            [(0, 0)] * (p.relapse_onsets.ndim - 1) + [(0, slots - p.relapse_onsets.shape[-1])],
            constant_values=NEVER,
        )
        for p in parts
    ]

    def joined(name: str, of: list) -> object:
        arrays = [getattr(x, name) for x in of]
        return None if arrays[0] is None else np.concatenate(arrays)

    return replace(
        first,
        replicates=np.concatenate([p.replicates for p in parts]),
        relapse_onsets=np.concatenate(onsets),
        **{name: joined(name, parts) for name in PER_REPLICATE},
        cohort=Cohort(
            **{f.name: joined(f.name, [p.cohort for p in parts]) for f in fields(Cohort)}
        ),
        responses=concatenate_responses([p.responses for p in parts]),
    )


def _schedule(regimens: list[Regimen]) -> list[tuple]:
    """Regimens as comparable tuples (names, arms, days of every course)."""
    return [
        (r.name, *[(c.arm, tuple(c.session_days), c.first_slot, c.start_day, c.end_day)
                   for c in r.courses])
        for r in regimens
    ]  # fmt: skip
