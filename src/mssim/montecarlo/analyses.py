"""Which registered analyses a Monte Carlo run may use.

Kept apart from :mod:`mssim.montecarlo.power` so that the command line can
refuse an analysis before the engine (and numba) is imported.
"""

from __future__ import annotations

from mssim.config.bayesian import BayesianRule, inert_bayesian
from mssim.config.scenario import Scenario
from mssim.errors import MssimError
from mssim.registry import ANALYSES


def check_analyses(scenario: Scenario, analyses: list[str]) -> None:
    """Refuse analyses that are unknown, repeated, cannot run over many replicates or do not fit.

    Raises:
        MssimError: Naming the analysis and what is allowed.
    """
    if not analyses:
        raise MssimError("analysis: no analysis given")
    repeated = sorted({m for m in analyses if analyses.count(m) > 1})
    if repeated:
        raise MssimError(
            f"analysis: {', '.join(map(repr, repeated))} given more than once; give each once"
        )
    for method in analyses:
        entry = ANALYSES.get(method, "analysis")
        if not entry.monte_carlo:
            fast = [a.name for a in ANALYSES if a.monte_carlo]
            raise MssimError(
                f"analysis: {method!r} is a single-trial analysis, too slow for Monte Carlo; "
                f"use it with 'mssim simulate'. Allowed here: {', '.join(fast)}"
            )
        problem = entry.misfit(scenario.trial.design, scenario.trial.estimand, scenario.trial)
        if problem:
            raise MssimError(f"analysis: {problem}")
    configured = [m for m in analyses if ANALYSES.get(m).configure is not None]
    if scenario.trial.bayesian != BayesianRule() and not configured:
        raise MssimError(f"analysis: {inert_bayesian(', '.join(analyses))}")


def analyses_for(scenario: Scenario, single_trial: bool = False) -> list[str]:
    """Every registered analysis that fits the scenario's design and estimand.

    Args:
        scenario: The scenario.
        single_trial: Include analyses too slow for Monte Carlo (``monte_carlo=False``).
    """
    trial = scenario.trial
    return [
        a.name
        for a in ANALYSES
        if (single_trial or a.monte_carlo) and a.misfit(trial.design, trial.estimand, trial) is None
    ]
