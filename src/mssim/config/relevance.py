"""Which scenario fields a scenario does not use, so sweeping them would change nothing."""

from __future__ import annotations

from mssim.config.bayesian import inert_bayesian
from mssim.config.n_of_1 import inert_n_of_1, is_n_of_1
from mssim.config.scenario import Scenario
from mssim.registry import ANALYSES


def inert_reason(scenario: Scenario, field: str) -> str | None:
    """Why a dotted field has no effect on a scenario's simulated trials, or None.

    Args:
        scenario: The scenario.
        field: A dotted field, as for ``--set`` and ``--grid``.

    Returns:
        A sentence saying why the field changes nothing and what to change
        instead, or None when the field may change the results.
    """
    parts = field.split(".")
    head, rest = parts[0], parts[1:]
    if head == "power":
        return (
            "power settings do not change a simulated trial; give sample sizes in "
            "power.n_per_arm and replicates with --replicates"
        )
    if head in ("name", "description"):
        return "a scenario's name and description do not change the results"
    if head == "mechanism" and rest and rest[0] != "enabled" and not scenario.mechanism.enabled:
        return "the mechanism layer is off; set mechanism.enabled = true to use it"
    if head == "symptoms" and len(rest) >= 2 and rest[1] != "enabled":
        symptom = getattr(scenario.symptoms, rest[0], None)
        if symptom is not None and not symptom.enabled:
            return f"symptom {rest[0]!r} is not simulated; set symptoms.{rest[0]}.enabled = true"
    screening = scenario.population.screening
    if (
        field.startswith("population.screening.")
        and rest[1:] != ["enabled"]
        and not screening.enabled
    ):
        return "screening is off; set population.screening.enabled = true to use it"
    if field == "dropout.strength" and scenario.dropout.mechanism == "mcar":
        return "dropout.strength acts only when dropout.mechanism is 'mar' or 'mnar'"
    crossover_only = field in ("trial.washout_weeks", "trial.period_effect")
    if crossover_only and scenario.trial.design == "parallel":
        return f"{field} is used by a crossover design only"
    sequential_only = field.startswith(("trial.sequential.", "trial.accrual."))
    if sequential_only and scenario.trial.design != "group_sequential":
        return f"{field} is used by the group_sequential design only"
    if field == "trial.block_size" and scenario.trial.randomization == "simple":
        return "trial.block_size is not used by simple randomization"
    if field.startswith("trial.n_of_1") and not is_n_of_1(scenario.trial.design):
        return inert_n_of_1(scenario.trial.design)
    if field == "trial.n_of_1.wash_in_days" and scenario.trial.n_of_1.period_score != "diary":
        return "trial.n_of_1.wash_in_days is used by period_score = 'diary' only"
    configurable = ANALYSES.get(scenario.trial.analysis).configure is not None
    if field.startswith("trial.bayesian") and not configurable:
        return inert_bayesian(scenario.trial.analysis)
    if head == "arms" and len(rest) >= 2 and rest[1] == "targets" and scenario.mechanism.enabled:
        return "with mechanism.enabled, needling acts through the mediators, not the targets"
    return None
