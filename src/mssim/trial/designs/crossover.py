"""The AB/BA crossover: two periods separated by a washout, each patient gets both arms.

The endpoint is the score at the end of each period. The counterfactual truth
is the contrast of period-1 scores, which is the parallel-group effect.
"""

from __future__ import annotations

import numpy as np

from mssim.registry import DESIGNS
from mssim.trial.designs.design import Design, Scenario, Trial


def _periods(trial: Trial) -> list[tuple[int, int | None]]:
    period = 7 * (trial.weeks + trial.washout_weeks)
    return [(0, 7 * trial.weeks), (period, period + 7 * trial.weeks)]


def _observe(
    scenario: Scenario, scores: np.ndarray, seen: np.ndarray, visit_days: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return scores[..., 1], scores[..., 2], seen[..., 1] & seen[..., 2]


def _potential(
    scenario: Scenario, symptom: str, scores: np.ndarray, visit_days: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    return scores[..., 1], np.zeros(scores.shape[:3], dtype=bool)


def _contrast_regimens(scenario: Scenario) -> list[tuple[int, int]]:
    first = scenario.arm_names()[0]
    return [(0, 1) if a == first else (1, 0) for a, _ in scenario.contrasts()]


def _check(scenario: Scenario) -> list[tuple[str, str]]:
    trial, problems = scenario.trial, []
    if trial.follow_up_weeks:
        problems.append(("trial.follow_up_weeks", "not used by a crossover; remove it"))
    for name, arm in scenario.arms.items():
        if arm.drug is not None:
            problems.append(
                (f"arms.{name}.drug", "a background drug is supported in parallel designs only")
            )
    if trial.estimand != "treatment_policy":
        problems.append(
            ("trial.estimand", "a crossover supports only the treatment_policy estimand")
        )
    return problems


CROSSOVER = DESIGNS.register(
    Design(
        name="crossover",
        n_arms=(2, 2),
        visit_weeks=lambda t: [0, t.weeks, 2 * t.weeks + t.washout_weeks],
        regimen_orders=lambda arms: [(arms[0], arms[1]), (arms[1], arms[0])],
        periods=_periods,
        allocation_units=lambda scenario: [1, 1],
        contrast_regimens=_contrast_regimens,
        observe=_observe,
        potential=_potential,
        check=_check,
        describe=lambda t: f"AB/BA crossover with a {t.washout_weeks}-week washout",
        endpoint_wording=lambda t: f"score at the end of each {t.weeks}-week period",
    )
)
