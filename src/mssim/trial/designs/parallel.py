"""The parallel-group design: each patient receives one arm for the whole trial."""

from __future__ import annotations

import numpy as np

from mssim.registry import DESIGNS, ENDPOINTS
from mssim.trial.designs.design import Design, Scenario, Trial


def _visit_weeks(trial: Trial) -> list[int]:
    return sorted({0, *trial.extra_visit_weeks, trial.weeks, *trial.follow_up_weeks})


def _summarized(
    scenario: Scenario, scores: np.ndarray, visit_days: np.ndarray
) -> tuple[np.ndarray, list[int]]:
    """(endpoint score over its visits, indices of those visits)."""
    endpoint = ENDPOINTS.get(scenario.trial.endpoint)
    visits = endpoint.visits(visit_days, 7 * scenario.trial.weeks)
    return scores[..., visits].mean(axis=-1), visits


def _observe(
    scenario: Scenario, scores: np.ndarray, seen: np.ndarray, visit_days: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    outcome, visits = _summarized(scenario, scores, visit_days)
    observed = seen[..., visits].all(axis=-1) & seen[..., 0]
    return outcome, np.full(scores.shape[:2], np.nan), observed


def _potential(
    scenario: Scenario, symptom: str, scores: np.ndarray, visit_days: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    outcome, _ = _summarized(scenario, scores, visit_days)
    change = outcome - scores[..., 0]
    return change, change <= -getattr(scenario.symptoms, symptom).mcid


def _contrast_regimens(scenario: Scenario) -> list[tuple[int, int]]:
    names = scenario.arm_names()
    return [(names.index(a), names.index(b)) for a, b in scenario.contrasts()]


def _check(scenario: Scenario) -> list[tuple[str, str]]:
    trial = scenario.trial
    return [
        (f"trial.extra_visit_weeks.{i}", f"must be before trial.weeks={trial.weeks}")
        for i, week in enumerate(trial.extra_visit_weeks)
        if week >= trial.weeks
    ]


def _endpoint_wording(trial: Trial) -> str:
    return ENDPOINTS.get(trial.endpoint).wording(trial.weeks)


PARALLEL = DESIGNS.register(
    Design(
        name="parallel",
        n_arms=(2, 3),
        visit_weeks=_visit_weeks,
        regimen_orders=lambda arms: [(name,) for name in arms],
        periods=lambda trial: [(0, None)],
        allocation_units=lambda scenario: list(scenario.allocation_ratio().values()),
        contrast_regimens=_contrast_regimens,
        observe=_observe,
        potential=_potential,
        check=_check,
        describe=lambda trial: "Parallel-group trial",
        endpoint_wording=_endpoint_wording,
    )
)
