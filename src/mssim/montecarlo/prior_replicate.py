"""One replicate of an assurance run: the values it drew from the priors, and its scenario.

``mssim simulate --replicate k`` on a scenario with ``[priors]`` simulates the
very trial that replicate k of ``mssim run`` simulated for assurance: the same
keyed draws (:func:`mssim.montecarlo.assurance.prior_draws`, purpose
``assurance``) put into the scenario, and the same keyed streams of replicate k.
"""

from __future__ import annotations

import numpy as np

from mssim.config.load import with_overrides
from mssim.config.scenario import Scenario
from mssim.montecarlo.assurance import check_priors, prior_draws


def replicate_values(scenario: Scenario, replicate: int) -> dict[str, float]:
    """Replicate ``replicate``'s value of every prior field (field units), in table order.

    Raises:
        MssimError: For a bad prior field (:func:`~mssim.montecarlo.assurance.check_priors`).
    """
    check_priors(scenario)
    draws = prior_draws(scenario, np.array([replicate], dtype=np.int64))
    return {field: float(draws[k, 0]) for k, field in enumerate(scenario.priors)}


def replicate_scenario(scenario: Scenario, replicate: int) -> tuple[Scenario, dict[str, float]]:
    """The scenario replicate ``replicate`` of an assurance run simulates, and its drawn values.

    Without priors: the scenario itself and no values.
    """
    if not scenario.priors:
        return scenario, {}
    values = replicate_values(scenario, replicate)
    drawn = with_overrides(
        scenario, values=values, source=f"replicate {replicate} drawn from the priors"
    )
    return drawn, values


def drawn_sentence(replicate: int, values: dict[str, float]) -> str:
    """One line saying what replicate ``replicate`` drew."""
    shown = ", ".join(f"{field} = {value:.6g}" for field, value in values.items())
    return f"replicate {replicate} drew from the priors: {shown}"
