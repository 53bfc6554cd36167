"""Sample size: the n per arm reaching a target power, on a grid and by search."""

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mssim.commands.run import run_power
from mssim.config.load import load_scenario
from mssim.montecarlo import sample_size
from mssim.montecarlo.power import chunk_statistics, wilson
from mssim.montecarlo.sample_size import (
    ABOVE,
    AT_OR_BELOW,
    headline_from_curve,
    headline_from_search,
    n_for_power,
    solve_n,
)


def test_n_for_power_exact_interpolation():
    n = [10, 20, 40, 80]
    power = [0.2, 0.5, 0.7, 0.9]
    assert n_for_power(n, power, 0.8) == pytest.approx(60.0)
    assert n_for_power(n, power, 0.6) == pytest.approx(30.0)
    assert n_for_power(n, power, 0.9) == pytest.approx(80.0)
    # unsorted input gives the same answer
    assert n_for_power(n[::-1], power[::-1], 0.8) == pytest.approx(60.0)
    # already above the target at the first n
    assert n_for_power(n, power, 0.1) == 10.0
    assert n_for_power(n, power, 0.2) == 10.0
    # never reached
    assert math.isnan(n_for_power(n, power, 0.95))
    # first crossing of a noisy, non-monotone curve; NaN power ignored
    assert n_for_power([10, 20, 30, 40], [0.5, 0.85, 0.7, np.nan], 0.8) == pytest.approx(
        10 + 0.3 / 0.35 * 10
    )
    assert math.isnan(n_for_power([], [], 0.8))


def test_n_for_power_rejects_bad_input():
    with pytest.raises(ValueError, match="length"):
        n_for_power([10, 20], [0.5], 0.8)
    with pytest.raises(ValueError, match="repeated"):
        n_for_power([10, 10, 20], [0.5, 0.6, 0.9], 0.8)


@settings(max_examples=200, deadline=None)
@given(
    n=st.lists(st.integers(2, 2000), min_size=1, max_size=12, unique=True).map(sorted),
    raw_power=st.lists(st.floats(0, 1), min_size=12, max_size=12),
    target=st.floats(0.01, 1.0),
)
def test_n_for_power_property_monotone(n, raw_power, target):
    power = np.sort(np.asarray(raw_power[: len(n)]))
    result = n_for_power(n, power, target)
    if target > power.max():
        assert math.isnan(result)
        return
    i = int(np.argmax(power >= target))
    if i == 0:
        assert result == n[0]
    else:
        assert n[i - 1] <= result <= n[i]
        assert np.interp(result, n, power) == pytest.approx(target, abs=1e-9)


def test_solve_n_then_recover():
    s = load_scenario(
        None,
        [
            "arms.acupuncture.specific_effect=0.6",
            "power.n_per_arm=[10, 20, 40]",
            "power.mcse_target=0.03",
        ],
    )
    answer = solve_n(s, target=0.8, replicates=100, progress=False)
    assert answer.n_per_arm is not None
    assert answer.n_low <= answer.n_per_arm <= answer.n_high
    curve = answer.curve.set_index("n_per_arm").power
    assert curve[answer.n_per_arm] >= 0.8
    assert (curve[curve.index < answer.n_per_arm] < 0.8).all()
    assert answer.replicates >= 0.8 * 0.2 / 0.03**2


def _curve(power: list[float], n: list[int] | None = None, reps: int = 400) -> pd.DataFrame:
    """A power curve as a run's table gives it (Wilson bounds from the run's own rule)."""
    n = n or [20, 40, 60, 80]
    bounds = [wilson(round(p * reps), reps) for p in power]
    return pd.DataFrame(
        {
            "n_per_arm": n,
            "power": power,
            "power_mcse": [math.sqrt(p * (1 - p) / reps) for p in power],
            "power_ci_low": [b[0] for b in bounds],
            "power_ci_high": [b[1] for b in bounds],
            "mean_n_analysed": [1.8 * v for v in n],  # 10% dropout over both arms
            "replicates": reps,
        }
    )


def test_headline_from_curve_interpolates_and_counts_patients():
    s = load_scenario(None, [])
    answer = headline_from_curve(s, _curve([0.3, 0.5, 0.7, 0.9]), 0.8)
    assert answer.n_per_arm == 70 and answer.edge is None  # halfway between 60 and 80
    assert answer.total_n == 140  # two arms, 1:1
    assert answer.expected_analysed == pytest.approx(126.0)
    assert answer.power == pytest.approx(0.8)
    assert answer.n_low <= 70 <= answer.n_high
    assert "linear interpolation" in answer.method


def test_edge_answers_are_flagged_not_points():
    s = load_scenario(None, [])
    below = headline_from_curve(s, _curve([0.85, 0.9, 0.95, 0.97]), 0.8)
    assert below.edge == AT_OR_BELOW and below.n_per_arm == 20
    assert below.n_text() == "<= 20"
    assert "already reached at the smallest n" in below.sentence()
    above = headline_from_curve(s, _curve([0.1, 0.2, 0.3, 0.4]), 0.8)
    assert above.edge == ABOVE and above.n_per_arm is None and above.total_n is None
    assert above.n_text() == "> 80" and above.interval_text().endswith("> 80")
    assert above.power == pytest.approx(0.4)  # at the largest n examined
    inside = headline_from_curve(s, _curve([0.3, 0.5, 0.7, 0.9]), 0.8)
    assert inside.n_text() == "70"


def test_headline_equals_the_search_answer(tmp_path):
    overrides = [
        "arms.acupuncture.specific_effect=0.6",
        "power.n_per_arm=[10, 20, 40]",
        "power.mcse_target=0.03",
    ]
    s = load_scenario(None, overrides)
    search = solve_n(s, target=0.8, replicates=100, progress=False)
    headline = headline_from_search(s, search)
    assert headline.n_per_arm == search.n_per_arm
    assert (headline.n_low, headline.n_high) == (search.n_low, search.n_high)
    assert headline.power == search.power and headline.replicates == search.replicates
    assert headline.total_n == 2 * search.n_per_arm
    assert "Found by search" in headline.method
    # the run writes the same answer, once, in sample_size.json
    run_power(s, out=tmp_path, replicates=100, solve=True, target=0.8, progress=False)
    written = json.loads((tmp_path / "sample_size.json").read_text())
    assert written == json.loads(json.dumps(headline.as_dict()))


def test_search_extends_below_a_fine_pass_that_starts_above_the_answer(monkeypatch):
    # A coarse pass that underestimates power (as a few hundred replicates can) misses
    # 80% at n = 60, so the fine pass starts at 60; with more replicates it reaches 80%
    # there already. The search must look below 60 rather than report 60, the edge of
    # its range, as the answer. Power is a known curve here: 80% at n = 50.
    def curve(n: np.ndarray) -> np.ndarray:
        return 1 - 0.2 * np.exp(-(n - 50) / 30)

    def fake_estimate(scenario, n_per_arm, replicates, **run):
        n = np.asarray(n_per_arm, dtype=float)
        power = np.clip(curve(n) - (0.1 if replicates < 1000 else 0.0), 0, 1)
        bounds = [wilson(round(p * replicates), replicates) for p in power]
        return pd.DataFrame(
            {
                "analysis": "ancova",
                "endpoint": "fatigue",
                "contrast": "acupuncture - sham",
                "n_per_arm": n_per_arm,
                "power": power,
                "power_mcse": np.sqrt(power * (1 - power) / replicates),
                "power_ci_low": [b[0] for b in bounds],
                "power_ci_high": [b[1] for b in bounds],
                "mean_n_analysed": 1.8 * n,
                "replicates": replicates,
            }
        )

    monkeypatch.setattr(sample_size, "estimate", fake_estimate)
    s = load_scenario(None, ["power.n_per_arm=[20, 40, 60, 80]", "power.mcse_target=0.01"])
    answer = solve_n(s, target=0.8, replicates=200)
    first = int(answer.curve.n_per_arm.min())
    assert first < 50 < 60
    assert answer.n_per_arm == 50  # the smallest n with curve(n) >= 0.8
    assert answer.n_low > first
    assert headline_from_search(s, answer).edge is None


def test_solve_n_solves_on_the_primary_as_tested_under_the_strategy():
    # Holm over primary and secondary, one-sided superiority (level alpha/2 = 0.025): the
    # power solve_n reads is the share of trials in which Holm rejects the primary,
    # p1 <= 0.0125, or p2 <= 0.0125 and p1 <= 0.025; not the primary's unadjusted power.
    s = load_scenario(
        None,
        [
            "arms.acupuncture.specific_effect=0.6",
            'trial.secondary_endpoints=["pain"]',
            'trial.multiplicity="holm"',
            'trial.hypothesis="superiority"',
            "power.n_per_arm=[10, 20, 40]",
            "power.mcse_target=0.05",
        ],
    )
    answer = solve_n(s, target=0.5, replicates=64, progress=False)
    n_values = answer.curve.n_per_arm.tolist()
    stats = chunk_statistics(s, n_values, [s.trial.analysis], np.arange(answer.replicates))
    p1, p2 = stats["p_value"][0, :, 0, 0], stats["p_value"][0, :, 1, 0]
    holm = (p1 <= 0.0125) | ((p2 <= 0.0125) & (p1 <= 0.025))
    np.testing.assert_array_equal(answer.curve.power.to_numpy(), holm.mean(axis=-1))
    assert (answer.curve.power.to_numpy() < (p1 <= 0.025).mean(axis=-1)).any()
