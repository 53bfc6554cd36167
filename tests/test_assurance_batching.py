"""Assurance analyses replicates with different drawn values together, and that is exact.

An assurance run simulates each replicate with its own drawn values but
randomizes and analyses a whole chunk in one pass when no prior field is read
after the simulation (:data:`mssim.montecarlo.assurance.READ_AFTER_SIMULATION`).
These tests check the two halves of that claim: the one-pass chunk equals the
replicate-by-replicate one bit for bit, and every real-valued field outside the
list leaves the analysis of fixed outcomes unchanged.
"""

from __future__ import annotations

import numpy as np
import pytest

from mssim.config.load import load_scenario, with_overrides
from mssim.errors import MssimError
from mssim.model.engine import simulate
from mssim.montecarlo.analyses import analyses_for
from mssim.montecarlo.assurance import AssuranceTask, read_after_simulation
from mssim.montecarlo.power import outcome_statistics
from mssim.trial.randomization import total_patients

EFFECT = "arms.acupuncture.specific_effect"


@pytest.mark.parametrize(
    "priors",
    [
        {EFFECT: 'distribution="normal", mean=0.2, sd=0.1'},
        {
            EFFECT: 'distribution="uniform", low=0.0, high=0.4',
            "dropout.rate": 'distribution="beta", alpha=2.0, beta=8.0, low=0.0, high=0.5',
            "relapses.annual_rate.rrms": 'distribution="uniform", low=0.1, high=1.5',
        },
    ],
    ids=["effect", "effect-dropout-relapses"],
)
def test_one_pass_equals_replicate_by_replicate(priors):
    table = ", ".join(f'"{k}"={{{v}}}' for k, v in priors.items())
    s = load_scenario(None, [f"priors={{{table}}}", "power.n_per_arm=[8, 15]"])
    methods = analyses_for(s)
    task = AssuranceTask(s, [8, 15], methods)
    assert task.batched
    replicates = np.arange(3, 12)
    together = task(replicates)
    task.batched = False
    one_by_one = task(replicates)
    assert together.keys() == one_by_one.keys()
    # The MMRM's batched REML contracts all replicates of a call with BLAS, whose
    # summation order depends on how many there are: the same replicate may differ in
    # the last bit between a call on 9 replicates and a call on 1 (any chunk size
    # does the same). Every other analysis is computed replicate by replicate.
    mmrm = methods.index("mmrm")
    for name in together:
        if name in ("estimate", "se", "ci_low", "ci_high", "p_value"):
            np.testing.assert_allclose(
                together[name][mmrm], one_by_one[name][mmrm], rtol=1e-12, err_msg=name
            )
            together[name][mmrm] = one_by_one[name][mmrm]
        np.testing.assert_array_equal(together[name], one_by_one[name], err_msg=name)


def test_priors_read_after_the_simulation_are_analysed_group_by_group():
    s = load_scenario(None, ['priors={"trial.alpha"={distribution="uniform", low=0.01, high=0.1}}'])
    assert not AssuranceTask(s, [10], ["ancova"]).batched
    assert read_after_simulation("symptoms.fatigue.mcid")
    assert read_after_simulation("arms.sham.sessions_per_week")
    assert not read_after_simulation(EFFECT)


def _real_fields(table: dict, prefix: str = "") -> list[str]:
    out = []
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out += _real_fields(value, f"{name}.")
        elif isinstance(value, float):
            out.append(name)
    return out


def _nudged(scenario, field: str, value: float):
    """The scenario with the field moved a little, inside what it accepts (None if nowhere)."""
    for moved in (value * 1.1 + 0.01, value * 0.9 - 0.01, value + 0.001, value - 0.001):
        try:
            return with_overrides(scenario, values={field: moved})
        except MssimError:
            continue
    return None


@pytest.mark.parametrize(
    ("path", "sets"),
    [
        ("scenarios/default.toml", ['trial.stratify_by="severity"']),
        ("scenarios/three_arm.toml", []),
        ("scenarios/crossover.toml", []),
        ("scenarios/n_of_1.toml", []),
        ("scenarios/mechanistic.toml", []),
    ],
)
def test_fields_outside_the_list_do_not_change_the_analysis(path, sets):
    s = load_scenario(path, sets)
    methods = analyses_for(s)
    n = [6, 9]
    outcomes = simulate(s, np.arange(2), total_patients(s, max(n)))
    base = outcome_statistics(s, n, methods, outcomes)
    raw = s.model_dump(mode="python")
    checked = 0
    for field in _real_fields(raw):
        if read_after_simulation(field) or field.startswith("priors."):
            continue
        value = raw
        for part in field.split("."):
            value = value[part]
        moved = _nudged(s, field, value)
        if moved is None:
            continue
        stats = outcome_statistics(moved, n, methods, outcomes)
        for name in base:
            np.testing.assert_array_equal(stats[name], base[name], err_msg=f"{field}: {name}")
        checked += 1
    assert checked >= 40  # the walk reached the model's fields
