"""Series of N-of-1 trials: k randomized AB/BA cycles within each patient.

One registered design per number of cycles: ``n_of_1_2``, ``n_of_1_3`` and
``n_of_1_4`` (:data:`CYCLES`). Each cycle is a pair of treatment periods
(``trial.weeks`` each) in random order, AB or BA, every period followed by a
washout (``trial.washout_weeks``).
A patient's regimen is one of the 2**k sequences: regimen g gives cycle j the
order BA when bit j of g is set, else AB, so regimen 0 is ABAB... and regimen
2**k - 1 is BABA.... Simple randomization of the sequences randomizes each
cycle's order independently. Carry-over and wash-in come from the arms' own
kinetics (sessions build up the dose, which halves every ``half_life_days``).

The endpoint is the weekly instrument (its recall window) at the end of every
period: visits are baseline and one per period. The counterfactual truth is
the contrast of the first period of the first cycle (A first against B first),
free of carry-over, as for the AB/BA crossover. ``n_per_arm`` counts patients
per sequence, so a trial has ``n_per_arm * 2**k`` patients.
"""

from __future__ import annotations

import numpy as np

from mssim.config.n_of_1 import DESIGN_PREFIX
from mssim.registry import DESIGNS
from mssim.trial.designs.design import Design, Scenario, Trial


def sequences(cycles: int) -> int:
    """Number of sequences (regimens) of ``cycles`` AB/BA cycles."""
    return 2**cycles


def on_treatment(regimen: np.ndarray, cycles: int) -> np.ndarray:
    """Whether each period gives the first arm (A), per patient.

    Args:
        regimen: Regimen index per patient, any shape.
        cycles: Cycles per patient.

    Returns:
        Boolean array, ``regimen.shape + (2 * cycles,)``: periods in time order.
    """
    ba = (np.asarray(regimen)[..., None] >> np.arange(cycles)) & 1  # 1: cycle j is BA
    first = ba == 0
    return np.stack([first, ~first], axis=-1).reshape(*np.shape(regimen), 2 * cycles)


def _period_starts(trial: Trial, cycles: int) -> list[int]:
    return [7 * p * (trial.weeks + trial.washout_weeks) for p in range(2 * cycles)]


def _visit_weeks(trial: Trial, cycles: int) -> list[int]:
    cycle = trial.weeks + trial.washout_weeks
    return [0, *(p * cycle + trial.weeks for p in range(2 * cycles))]


def _regimen_orders(arms: list[str], cycles: int) -> list[tuple[str, ...]]:
    a, b = arms
    orders = []
    for g in range(sequences(cycles)):
        order: list[str] = []
        for j in range(cycles):
            order += [b, a] if (g >> j) & 1 else [a, b]
        orders.append(tuple(order))
    return orders


def _observe(
    scenario: Scenario, scores: np.ndarray, seen: np.ndarray, visit_days: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Outcome: the first period's score; observed: every period's visit seen."""
    return scores[..., 1], np.full(scores.shape[:2], np.nan), seen[..., 1:].all(axis=-1)


def _potential(
    scenario: Scenario, symptom: str, scores: np.ndarray, visit_days: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    return scores[..., 1], np.zeros(scores.shape[:3], dtype=bool)


def _contrast_regimens(scenario: Scenario, cycles: int) -> list[tuple[int, int]]:
    first, last = scenario.arm_names()[0], sequences(cycles) - 1
    return [(0, last) if a == first else (last, 0) for a, _ in scenario.contrasts()]


def _check(scenario: Scenario) -> list[tuple[str, str]]:
    trial, problems = scenario.trial, []
    if trial.follow_up_weeks or trial.extra_visit_weeks:
        field = "trial.follow_up_weeks" if trial.follow_up_weeks else "trial.extra_visit_weeks"
        problems.append((field, "an N-of-1 series has one visit per period; remove it"))
    if trial.randomization != "simple":
        problems.append(
            (
                "trial.randomization",
                "an N-of-1 series randomizes each cycle's order: use 'simple'",
            )
        )
    for name, arm in scenario.arms.items():
        if arm.drug is not None:
            problems.append(
                (f"arms.{name}.drug", "a background drug is supported in parallel designs only")
            )
    if trial.estimand != "treatment_policy":
        problems.append(("trial.estimand", "an N-of-1 series supports only treatment_policy"))
    scoring = trial.n_of_1
    if scoring.period_score == "diary" and scoring.wash_in_days >= 7 * trial.weeks:
        problems.append(
            (
                "trial.n_of_1.wash_in_days",
                f"leaves no diary day in a {trial.weeks}-week period; give fewer than "
                f"{7 * trial.weeks} days (given {scoring.wash_in_days})",
            )
        )
    return problems


#: Cycles per patient of the registered N-of-1 designs.
CYCLES = (2, 3, 4)


def n_of_1_design(cycles: int) -> Design:
    """The design of a series of N-of-1 trials with ``cycles`` AB/BA cycles per patient."""
    return Design(
        name=f"{DESIGN_PREFIX}{cycles}",
        n_arms=(2, 2),
        visit_weeks=lambda t: _visit_weeks(t, cycles),
        regimen_orders=lambda arms: _regimen_orders(arms, cycles),
        periods=lambda t: [(start, start + 7 * t.weeks) for start in _period_starts(t, cycles)],
        allocation_units=lambda scenario: [1] * sequences(cycles),
        contrast_regimens=lambda scenario: _contrast_regimens(scenario, cycles),
        observe=_observe,
        potential=_potential,
        check=_check,
        describe=lambda t: (
            f"Series of N-of-1 trials: {cycles} randomized AB/BA cycles of "
            f"{t.weeks}-week periods, each followed by a {t.washout_weeks}-week washout"
        ),
        endpoint_wording=lambda t: f"score at the end of each {t.weeks}-week period",
        all_in_contrast=True,
    )


for _cycles in CYCLES:
    DESIGNS.register(n_of_1_design(_cycles))


def cycles_of(design: str) -> int:
    """Cycles per patient of a registered N-of-1 design name (``n_of_1_3`` -> 3)."""
    return int(design.removeprefix(DESIGN_PREFIX))
