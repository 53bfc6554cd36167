"""Analytic cross-check: closed-form ANCOVA n next to the simulated answer."""

import json
import math

import pytest

from mssim.config.load import load_scenario
from mssim.montecarlo.crosscheck import NoClosedForm, ancova_n, crosscheck
from mssim.montecarlo.power import estimate


def test_closed_forms_match_r_and_the_normal_formula():
    # R 4: power.t.test(delta = 0.5, sd = 1, power = 0.8)$n   = 63.76576
    #      power.t.test(delta = 0.625, sd = 1, power = 0.8)$n = 41.16902
    normal, t = ancova_n(0.5, 1.0, 0.0, 0.05, 0.8, 0.0)
    assert t == math.ceil(63.76576)
    assert normal == math.ceil(2 * (1.959964 + 0.841621) ** 2 / 0.25)
    # r = 0.6 shrinks the residual SD to 0.8: d = 0.5 / 0.8 = 0.625
    assert ancova_n(0.5, 1.0, 0.6, 0.05, 0.8, 0.0)[1] == math.ceil(41.16902)
    # 20% not analysed: 1 / 0.8 more randomized
    assert ancova_n(0.5, 1.0, 0.6, 0.05, 0.8, 0.2)[1] == math.ceil(41.16902 / 0.8)


def test_inputs_are_measured_on_the_runs_own_trials():
    s = load_scenario(None, ["power.n_per_arm=[40]"])
    check = crosscheck(s, 40, 180, replicates=100)
    run = estimate(s, [40], 100, progress=False).iloc[0]
    # the same replicates: the same counterfactual truth, to rounding
    assert check.effect == pytest.approx(run.true_effect, abs=1e-12)
    assert check.dropout == pytest.approx(1 - run.mean_n_analysed / 80, abs=1e-12)
    assert 0.2 < check.correlation < 0.95  # FSS at baseline and 12 weeks
    assert 0.5 < check.outcome_sd < 2.0  # FSS points
    assert check.ratio == pytest.approx(180 / check.n_ttest)
    assert check.n_formula <= check.n_ttest
    assert any("Dropout" in reason for reason in check.reasons)
    assert "closed form n" in check.sentence()


def test_a_true_effect_of_zero_has_no_closed_form():
    s = load_scenario("scenarios/null_effect.toml", ["power.n_per_arm=[10]"])
    check = crosscheck(s, 10, None, replicates=4)
    assert isinstance(check, NoClosedForm)
    assert "true effect is 0" in check.sentence()


def test_no_one_analysed_has_no_closed_form():
    s = load_scenario(None, ["dropout.rate=0.99", "power.n_per_arm=[6]"])
    check = crosscheck(s, 6, None, replicates=4)
    assert isinstance(check, NoClosedForm)
    assert "fewer than two patients per arm" in check.reason


def test_run_on_the_null_scenario_says_why_and_the_report_renders(cli, tmp_path):
    status, out, err = cli(
        "run", "scenarios/null_effect.toml", "--replicates", 4,
        "--set", "power.n_per_arm=[10]", "--out", tmp_path / "run",
    )  # fmt: skip
    assert status == 0, err
    assert "Analytic cross-check: no closed-form n: the simulated true effect is 0" in out
    assert not (tmp_path / "run" / "crosscheck.json").exists()
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert "true effect is 0" in manifest["crosscheck"]["no_closed_form"]
    assert cli("report", tmp_path / "run")[0] == 0
