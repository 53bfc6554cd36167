"""Assurance analyses replicates with different drawn values together, and that is exact.

An assurance run simulates each replicate with its own drawn values but
randomizes and analyses a whole chunk in one pass when no prior field is read
after the simulation (:data:`mssim.montecarlo.assurance.READ_AFTER_SIMULATION`).
These tests check the two halves of that claim: the one-pass chunk equals the
replicate-by-replicate one bit for bit, and every real-valued field outside the
list leaves the analysis of fixed outcomes unchanged.

When every prior field only shapes the patients' responses
(:data:`mssim.montecarlo.assurance.READ_BY_RESPONSES_ONLY`), a chunk is simulated
in one engine call. The tests below check that every real-valued field matching
those patterns leaves the kernel's parameters, symptom model and regimens of the
shipped scenarios unchanged, that a pattern too broad is caught, and that the
one call equals one call per group bit for bit.
"""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from fnmatch import fnmatchcase
from pathlib import Path

import numpy as np
import pytest

from mssim.config.load import load_scenario, with_overrides
from mssim.errors import MssimError
from mssim.model import engine
from mssim.model.dropout import calibrated_on_pilot
from mssim.model.engine import _Setup, simulate
from mssim.montecarlo.analyses import analyses_for
from mssim.montecarlo.assurance import (
    READ_BY_RESPONSES_ONLY,
    AssuranceTask,
    read_after_simulation,
)
from mssim.montecarlo.power import outcome_statistics
from mssim.montecarlo.sweep import value_at
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


# ---- one engine call per chunk when the priors only shape the responses ------------

SHIPPED = [None, *sorted(Path("scenarios").glob("*.toml"))]


def _differences(a, b, name: str = "") -> list[str]:
    """Where two engine inputs differ (arrays exactly, NaN equal to NaN)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        same = np.shape(a) == np.shape(b) and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
        return [] if same else [name]
    if is_dataclass(a):
        return [
            d
            for f in fields(a)
            for d in _differences(getattr(a, f.name), getattr(b, f.name), f"{name}.{f.name}")
        ]
    if isinstance(a, tuple) and hasattr(a, "_fields"):  # Params
        return [
            d for f in a._fields for d in _differences(getattr(a, f), getattr(b, f), f"{name}.{f}")
        ]
    if isinstance(a, list | tuple):
        if len(a) != len(b):
            return [name]
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in _differences(x, y, f"{name}[{i}]")
        ]
    return [] if a == b or (a != a and b != b) else [name]


def _engine_inputs(scenario):
    """What one engine call shares between replicates: kernel parameters, symptom model, regimens."""
    setup = _Setup(scenario, np.arange(1), 4, None, False)
    return setup.params, setup.model, setup.regimens


def _moved_engine_inputs(scenario, patterns) -> tuple[list[str], int]:
    """Fields matching the patterns whose nudge moves the engine's shared inputs; fields nudged."""
    base = _engine_inputs(scenario)
    raw = scenario.model_dump(mode="python")
    moved, nudged = [], 0
    for field in _real_fields(raw):
        if field.startswith("priors.") or not any(fnmatchcase(field, p) for p in patterns):
            continue
        other = _nudged(scenario, field, value_at(raw, field))
        if other is None:
            continue
        nudged += 1
        if _differences(_engine_inputs(other), base):
            moved.append(field)
    return moved, nudged


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem if p else "embedded")
def test_fields_read_by_responses_only_leave_the_engine_inputs(path):
    s = load_scenario(path)
    assert not calibrated_on_pilot(s)
    moved, nudged = _moved_engine_inputs(s, READ_BY_RESPONSES_ONLY)
    assert moved == []
    assert nudged >= 8  # the walk reached the response fields of two arms at least


def test_a_pattern_too_broad_is_caught():
    s = load_scenario()
    moved, _ = _moved_engine_inputs(s, ("arms.*.*", "symptoms.*.reference_sd"))
    assert "arms.acupuncture.adherence" in moved  # sessions attended, in the kernel
    assert "symptoms.fatigue.reference_sd" in moved  # the primary endpoint's SD, in the kernel
    drug = load_scenario("scenarios/triumphant_like.toml")
    moved, _ = _moved_engine_inputs(drug, ("arms.*.targets.*", "arms.*.drug.effect"))
    assert "arms.amantadine.drug.effect" in moved and "arms.placebo.targets.fatigue" in moved


def test_a_dropout_pilot_sees_the_responses():
    prior = f'priors={{"{EFFECT}"={{distribution="normal", mean=0.2, sd=0.1}}}}'
    s = load_scenario(None, [prior, 'dropout.mechanism="mnar"', "dropout.strength=0.5"])
    assert calibrated_on_pilot(s)
    moved, _ = _moved_engine_inputs(s, (EFFECT,))
    assert moved == [EFFECT]  # the base hazard h0, solved on a pilot simulation
    assert not AssuranceTask(s, [10], ["ancova"])._one_simulation()


@pytest.mark.parametrize(
    ("path", "priors"),
    [
        (
            None,
            {
                EFFECT: 'distribution="normal", mean=0.2, sd=0.1',
                "arms.sham.nonspecific_effect": 'distribution="uniform", low=0.2, high=0.5',
                "population.responder_fraction": 'distribution="uniform", low=0.3, high=0.9',
                "blinding.unblinding": 'distribution="uniform", low=0.0, high=0.4',
                "arms.acupuncture.practitioner_sd": 'distribution="uniform", low=0.0, high=0.2',
            },
        ),
        ("scenarios/crossover.toml", {EFFECT: 'distribution="normal", mean=0.2, sd=0.1'}),
        ("scenarios/mechanistic.toml", {EFFECT: 'distribution="normal", mean=0.2, sd=0.1'}),
        (
            "scenarios/three_arm.toml",
            {"arms.sham.nonspecific_effect": 'distribution="uniform", low=0.2, high=0.5'},
        ),
    ],
    ids=["default", "crossover", "mechanistic", "three-arm"],
)
def test_one_engine_call_equals_one_call_per_group(path, priors, monkeypatch):
    table = ", ".join(f'"{k}"={{{v}}}' for k, v in priors.items())
    s = load_scenario(path, [f"priors={{{table}}}"])
    methods = analyses_for(s)
    task = AssuranceTask(s, [6, 9], methods)
    assert task.batched and task._one_simulation()
    replicates = np.arange(5, 12)
    calls = []
    monkeypatch.setattr(engine, "simulate", _counted(engine.simulate, calls))
    together = task(replicates)
    assert calls == [len(replicates)]
    monkeypatch.setattr(task, "_one_simulation", lambda: False)
    per_group = task(replicates)
    assert calls[1:] == [1] * len(replicates)
    assert together.keys() == per_group.keys()
    for name in together:  # analysed together both ways: the MMRM too is exact
        np.testing.assert_array_equal(together[name], per_group[name], err_msg=name)


def _counted(simulate, calls: list[int]):
    def counted(scenario, replicates, *args, **kwargs):
        calls.append(len(replicates))
        return simulate(scenario, replicates, *args, **kwargs)

    return counted
