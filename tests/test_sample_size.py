"""Sample size: the n per arm reaching a target power, on a grid and by search."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mssim.config.load import load_scenario
from mssim.montecarlo.power import chunk_statistics
from mssim.montecarlo.sample_size import n_for_power, solve_n


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
