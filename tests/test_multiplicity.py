"""Multiplicity strategies, family-wise rates in power.csv, adjusted p-values in analysis.csv."""

from __future__ import annotations

import math
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.multitest import multipletests

from mssim.config.load import load_scenario
from mssim.errors import MssimError
from mssim.montecarlo.power import (
    estimate,
    family_rates,
    negligible,
    operating_characteristics,
)
from mssim.trial.multiplicity import STRATEGIES, adjust_pvalues, adjusted_pvalues

SCENARIOS = Path(__file__).parent.parent / "scenarios"
P = [0.01, 0.04, 0.03, 0.005, 0.04, 0.2, 0.012]


@pytest.mark.parametrize(
    ("method", "quoted"),
    [
        ("holm", [0.06, 0.12, 0.12, 0.035, 0.12, 0.2, 0.06]),
        ("hochberg", [0.06, 0.08, 0.08, 0.035, 0.08, 0.2, 0.06]),
        ("bonferroni", [0.07, 0.28, 0.21, 0.035, 0.28, 1, 0.084]),
    ],
)
def test_adjusted_pvalues_match_quoted_p_adjust(method, quoted):
    """R 4.2.2: p <- c(0.01, 0.04, 0.03, 0.005, 0.04, 0.2, 0.012); p.adjust(p, method)."""
    np.testing.assert_allclose(adjusted_pvalues(P, method)[0], quoted, rtol=1e-12)


@pytest.mark.parametrize(
    ("method", "quoted"),
    [
        ("holm", [0.06, 0.16, 0.15, 0.035, 0.16, 0.4]),
        ("hochberg", [0.06, 0.12, 0.12, 0.035, 0.12, 0.4]),
        ("bonferroni", [0.07, 0.28, 0.21, 0.035, 0.28, 1]),
    ],
)
def test_a_failed_analysis_still_counts_in_the_family(method, quoted):
    """R: p.adjust(c(0.01, 0.04, 0.03, 0.005, 0.04, 0.2), method, n = 7)."""
    adjusted = adjusted_pvalues([*P[:6], np.nan], method)[0]
    np.testing.assert_allclose(adjusted[:6], quoted, rtol=1e-12)
    assert np.isnan(adjusted[6])


def test_fixed_sequence_adjusted_pvalues_are_the_running_maximum():
    p = [[0.01, 0.04, 0.03, 0.2, 0.001], [0.06, 0.001, np.nan, 0.001, 0.0]]
    adjusted = adjusted_pvalues(p, "fixed_sequence")
    np.testing.assert_allclose(adjusted[0], [0.01, 0.04, 0.04, 0.2, 0.2])
    np.testing.assert_allclose(adjusted[1], [0.06, 0.06, np.nan, 1.0, 1.0])


PVALUE_ROWS = st.integers(1, 6).flatmap(
    lambda k: st.lists(
        st.lists(
            st.one_of(st.sampled_from([0.0, 0.01, 0.0125, 0.025, 0.05, 1.0]), st.floats(0, 1)),
            min_size=k,
            max_size=k,
        ),
        min_size=1,
        max_size=4,
    )
)


@settings(max_examples=100, deadline=None)
@given(PVALUE_ROWS, st.sampled_from([0.05, 0.1]))
def test_adjusted_pvalues_match_statsmodels(p, alpha):
    p = np.array(p)
    for method, name in [("holm", "holm"), ("hochberg", "simes-hochberg"), ("bonferroni", "b")]:
        with mock.patch("gc.collect"):  # multipletests collects garbage on every call
            ref = [multipletests(row, alpha, method=name) for row in p]
        np.testing.assert_allclose(adjusted_pvalues(p, method), [r[1] for r in ref], rtol=1e-12)
        np.testing.assert_array_equal(adjust_pvalues(p, method, alpha), [r[0] for r in ref])


def holm_graph(k: int) -> tuple[np.ndarray, np.ndarray]:
    return np.full(k, 1 / k), (np.ones((k, k)) - np.eye(k)) / max(k - 1, 1)


def chain_graph(k: int) -> tuple[np.ndarray, np.ndarray]:
    return np.eye(k)[0], np.eye(k, k, 1)


@settings(max_examples=100, deadline=None)
@given(PVALUE_ROWS)
def test_graphs_of_holm_and_fixed_sequence_reproduce_them(p):
    """Bretz et al. (2009), sections 3.1-3.2: Holm and fixed sequence are graphs."""
    p = np.array(p)
    k = p.shape[1]
    np.testing.assert_allclose(
        adjusted_pvalues(p, "graphical", holm_graph(k)), adjusted_pvalues(p, "holm"), rtol=1e-12
    )
    np.testing.assert_allclose(
        adjusted_pvalues(p, "graphical", chain_graph(k)),
        adjusted_pvalues(p, "fixed_sequence"),
        rtol=1e-12,
    )


def test_graph_with_two_primaries_each_gating_a_secondary():
    """Two primaries (alpha/2 each), each passing to its secondary, which passes on to
    the other primary (Bretz et al. 2009, Figure 6 with epsilon = 0), worked by hand:

    reject H1 (0.01 / 0.5 = 0.02); H3 gets 0.5 and H3 -> H2; reject H3 (0.005 / 0.5,
    adjusted max(0.02, 0.01) = 0.02); H2 has weight 1, reject at 0.03; H4 gets 1: 0.5.
    """
    weights = np.array([0.5, 0.5, 0.0, 0.0])
    transitions = np.array([[0, 0, 1, 0], [0, 0, 0, 1], [0, 1, 0, 0], [1, 0, 0, 0]], dtype=float)
    adjusted = adjusted_pvalues([0.01, 0.03, 0.005, 0.5], "graphical", (weights, transitions))
    np.testing.assert_allclose(adjusted[0], [0.02, 0.03, 0.02, 0.5], rtol=1e-12)


def test_unknown_strategy_and_missing_graph_are_refused():
    with pytest.raises(ValueError, match="unknown method"):
        adjusted_pvalues(P, "sidak")
    with pytest.raises(ValueError, match="needs"):
        adjusted_pvalues(P, "graphical")
    with pytest.raises(ValueError, match="family has 7"):
        adjusted_pvalues(P, "graphical", holm_graph(3))


def test_scenario_graph_is_checked_against_the_family():
    two = ['trial.secondary_endpoints=["pain"]', 'trial.multiplicity="graphical"']
    load_scenario(
        None, [*two, "trial.multiplicity_graph={weights=[1, 0], transitions=[[0, 1], [1, 0]]}"]
    )
    with pytest.raises(MssimError, match=r"trial\.multiplicity_graph\.weights"):
        load_scenario(None, [*two, "trial.multiplicity_graph={weights=[1], transitions=[[0]]}"])
    with pytest.raises(MssimError, match="needs weights"):
        load_scenario(None, two)
    with pytest.raises(MssimError, match="diagonal"):
        load_scenario(
            None, [*two, "trial.multiplicity_graph={weights=[1, 0], transitions=[[1, 0], [1, 0]]}"]
        )
    assert load_scenario(None).trial.multiplicity == "fixed_sequence"
    assert set(STRATEGIES) == {
        "fixed_sequence",
        "holm",
        "hochberg",
        "bonferroni",
        "graphical",
        "none",
    }


def test_family_rates():
    rejected = [
        np.array([1, 1, 0, 0], bool),
        np.array([1, 0, 1, 0], bool),
        np.array([0, 1, 0, 0], bool),
    ]
    rates = family_rates(rejected, [False, False, True])
    assert rates["disjunctive_power"] == 0.75
    assert rates["conjunctive_power"] == 0.25
    assert rates["familywise_error"] == 0.25
    assert rates["familywise_error_mcse"] == pytest.approx(math.sqrt(0.25 * 0.75 / 4))
    none_null = family_rates(rejected, [False, False, False])
    assert math.isnan(none_null["familywise_error"]) and none_null["conjunctive_power"] == 0.0


def test_type_s_and_exaggeration_undefined_against_rounding_noise():
    rng = np.random.default_rng(1)
    est = rng.normal(0, 0.3, 400)
    cell = {
        "estimate": est,
        "se": np.full(400, 0.3),
        "ci_low": est - 0.6,
        "ci_high": est + 0.6,
        "p_value": np.full(400, 0.5),
        "reject": np.abs(est) > 0.6,
        "n_analysed": np.full(400, 60),
        "dropped": np.zeros(400),
    }
    tiny = operating_characteristics(cell, 6e-21)
    assert math.isnan(tiny["type_s"]) and math.isnan(tiny["exaggeration"])
    assert tiny["type_s_undefined"] == "true effect within 2 MCSE of 0"
    # 2 MCSE of the mean estimate: 2 SD / sqrt(400), about 0.03
    tolerance = 2 * est.std(ddof=1) / 20
    assert negligible(-0.99 * tolerance, est) and not negligible(1.01 * tolerance, est)
    real = operating_characteristics(cell, 0.1)
    assert math.isnan(real["type_s_undefined"]) and real["exaggeration"] > 1
    none = operating_characteristics({**cell, "reject": np.zeros(400, bool)}, 0.1)
    assert none["type_s_undefined"] == "no significant result"


def test_fixed_sequence_tests_the_primary_at_full_alpha():
    """Secondaries gated behind the primary leave its power as if tested alone (sleep.toml)."""
    scenario = load_scenario(SCENARIOS / "sleep.toml")
    runs = {
        method: estimate(
            load_scenario(SCENARIOS / "sleep.toml", [f'trial.multiplicity="{method}"']),
            [30],
            60,
            progress=False,
        ).set_index("endpoint")
        for method in ("fixed_sequence", "none", "holm")
    }
    primary = scenario.trial.primary_endpoint
    secondary = scenario.trial.secondary_endpoints[0]
    assert runs["fixed_sequence"].loc[primary, "power"] == runs["none"].loc[primary, "power"]
    assert runs["holm"].loc[primary, "power"] <= runs["none"].loc[primary, "power"]
    # a gated secondary is rejected only when the primary is
    assert (
        runs["fixed_sequence"].loc[secondary, "power"]
        <= runs["fixed_sequence"].loc[primary, "power"]
    )


def test_familywise_error_under_the_null_is_at_most_alpha():
    """No effect on any endpoint: every hypothesis is a true null, FWER <= alpha.

    Fixed seed; 600 trials of 20 per arm, 3 endpoints; tolerance 3.5 MCSE of alpha.
    """
    scenario = load_scenario(
        SCENARIOS / "null_effect.toml",
        ['trial.secondary_endpoints=["pain", "sleep"]', 'trial.multiplicity="holm"'],
    )
    frame = estimate(scenario, [20], 600, progress=False)
    assert frame.true_null.all()
    fwer = frame.familywise_error.iloc[0]
    assert (frame.familywise_error == fwer).all()
    assert math.isnan(frame.disjunctive_power.iloc[0])
    assert fwer <= 0.05 + 3.5 * math.sqrt(0.05 * 0.95 / 600)
    assert fwer >= frame.power.max()  # any rejection is at least each one's rate


def test_analysis_table_shows_adjusted_pvalues(cli, tmp_path):
    status, _, _ = cli(
        "simulate",
        "--set",
        'trial.secondary_endpoints=["pain", "sleep"]',
        "--set",
        'trial.multiplicity="hochberg"',
        "--n",
        "20",
        "--out",
        tmp_path,
    )
    assert status == 0
    table = pd.read_csv(tmp_path / "analysis.csv")
    assert (table.multiplicity == "hochberg").all()
    for _, rows in table.groupby("method", sort=False):
        assert list(rows.endpoint) == ["fatigue", "pain", "sleep"]
        ref = multipletests(rows.p_value.to_numpy(), method="simes-hochberg")[1]
        np.testing.assert_allclose(rows.p_adjusted, ref, rtol=1e-12)
