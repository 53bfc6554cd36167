"""Where the effect a planner enters goes: the true effect of each contrast in parts.

The same cohort (the same keyed random numbers) is simulated under a chain of
counterfactual scenarios, each switching one more part of the model on; the
last is the scenario itself. A part is the change of the true mean difference
(:func:`mssim.trial.estimands.true_effects`) when it is switched on, so the
parts add up to the scenario's true effect exactly (up to float rounding):

============== =================================================================
part           switched on
============== =================================================================
drug           background drugs (and anything else outside needling)
specific       the specific effects (and a penetrating sham's share)
nonspecific    expectation and ritual: non-specific effects, practitioners
unblinding     guesses acting on expectation (``blinding``; arms guessing alike
               give 0)
adherence      missed sessions and the dose building up session by session
dropout_decay  dropout (adverse-event dropouts included) and the fading of the
               effect after the last session or after dropout
============== =================================================================

Before its part is switched on, every patient attends every session and gets
the full dose from the first one (``adherence = 1``, ``gain_per_session = 1``),
nobody drops out, and effects do not fade (``half_life_days`` at its maximum).
Floors, ceilings and the instrument's grid act at every step, so they are
spread over the parts they act on.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mssim.config.load import with_overrides
from mssim.config.n_of_1 import scores_diary
from mssim.config.scenario import Scenario
from mssim.trial.estimands import true_effects
from mssim.trial.randomization import total_patients

PARTS = ("drug", "specific", "nonspecific", "unblinding", "adherence", "dropout_decay")
#: Replicates of the cohort broken down in ``power.csv`` (the run's first ones).
BREAKDOWN_REPLICATES = 20
#: Longest half-life a scenario accepts (days): no fading within any trial.
NO_FADING = 36_500.0


def counterfactual_chain(scenario: Scenario) -> list[Scenario]:
    """The scenarios whose successive differences are the parts, in :data:`PARTS` order.

    Returns:
        ``len(PARTS)`` scenarios: no needling effect at all (drugs only) first, the
        scenario last. The first one's true effect is the ``drug`` part.
    """
    ideal: dict[str, Any] = {"dropout.rate": 0.0}
    for name, arm in scenario.arms.items():
        ideal |= {
            f"arms.{name}.adherence": 1.0,
            f"arms.{name}.gain_per_session": 1.0,
            f"arms.{name}.half_life_days": NO_FADING,
        }
        ideal |= {f"arms.{name}.adverse_events.{ae}.dropout": 0.0 for ae in arm.adverse_events}
    blind = {"blinding.expectation_gain": 0.0, "blinding.unblinding": 0.0}
    nonspecific: dict[str, Any] = {}
    specific: dict[str, Any] = {}
    for name, arm in scenario.arms.items():
        nonspecific |= {
            f"arms.{name}.nonspecific_effect": 0.0,
            f"arms.{name}.practitioner_sd": 0.0,
        }
        if arm.kind.verum:
            specific[f"arms.{name}.specific_effect"] = 0.0
    steps = [
        ideal | blind | nonspecific | specific,  # drugs only
        ideal | blind | nonspecific,  # + specific
        ideal | blind,  # + nonspecific
        ideal,  # + unblinding
        {k: v for k, v in ideal.items() if k.endswith(".half_life_days") or "dropout" in k},
    ]
    label = f"effect breakdown of {scenario.name!r}"
    return [with_overrides(scenario, values=v, source=label) for v in steps] + [scenario]


def effect_breakdown(scenario: Scenario, replicates: np.ndarray, n_patients: int) -> pd.DataFrame:
    """The true mean difference of each contrast and endpoint, split into its parts.

    Args:
        scenario: The scenario.
        replicates: Replicate indices of the cohort (they key the random streams).
        n_patients: Patients per replicate (all arms together).

    Returns:
        One row per (endpoint, contrast): ``endpoint``, ``contrast``, one column
        per part in :data:`PARTS` (instrument points, averaged over replicates)
        and ``true_effect``, the scenario's true effect of that cohort, which the
        parts add up to.
    """
    from mssim.model.engine import simulate  # here, so a refused run never loads numba

    reps = np.asarray(replicates)
    endpoints = scenario.endpoints()
    truth = []  # per step: (endpoints, R, contrasts)
    for step in counterfactual_chain(scenario):
        outcomes = simulate(step, reps, n_patients, keep_daily=scores_diary(step.trial))
        truth.append(
            np.stack(
                [
                    true_effects(step, outcomes, e, ["mean_difference"])["mean_difference"]
                    for e in endpoints
                ]
            )
        )
    # (steps, endpoints, contrasts), from zero: the first step is the drug part
    means = np.array([np.zeros_like(truth[0].mean(axis=1))] + [t.mean(axis=1) for t in truth])
    contrasts = [f"{a} - {b}" for a, b in scenario.contrasts()]
    rows = []
    for e, endpoint in enumerate(endpoints):
        for c, contrast in enumerate(contrasts):
            parts = np.diff(means[:, e, c])
            rows.append(
                {
                    "endpoint": endpoint,
                    "contrast": contrast,
                    **{p: float(v) for p, v in zip(PARTS, parts, strict=True)},
                    "true_effect": float(means[-1, e, c]),
                }
            )
    return pd.DataFrame(rows)


def breakdown_columns(scenario: Scenario, table: pd.DataFrame, replicates: int) -> pd.DataFrame:
    """``power.csv`` with the breakdown of its mean-difference rows.

    The breakdown is of the run's first :data:`BREAKDOWN_REPLICATES` replicates
    at its largest design point: columns ``effect_<part>`` add up to
    ``breakdown_true_effect``, the true effect of those replicates (the run's
    ``true_effect`` averages all of them). Other effect measures get NaN.

    Args:
        scenario: The scenario of the run.
        table: The run's operating characteristics.
        replicates: Replicates of the run.

    Returns:
        The table with the breakdown columns added.
    """
    n = total_patients(scenario, int(table.n_per_arm.max()))
    k = min(replicates, BREAKDOWN_REPLICATES)
    parts = effect_breakdown(scenario, np.arange(k), n)
    parts = parts.rename(columns={p: f"effect_{p}" for p in (*PARTS, "true_effect")}).rename(
        columns={"effect_true_effect": "breakdown_true_effect"}
    )
    parts["breakdown_replicates"] = k
    merged = table.merge(parts, on=["endpoint", "contrast"], how="left")
    mean_difference = merged.estimand.str.startswith("mean_difference")
    added = [c for c in parts.columns if c not in ("endpoint", "contrast")]
    merged.loc[~mean_difference, added] = np.nan
    return merged
