"""One-sided superiority and non-inferiority tests (trial.hypothesis), against scipy,
statsmodels and closed forms, with type I error at the margin within 3.5 MCSE."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats

from mssim.config.load import load_scenario
from mssim.errors import MssimError
from mssim.montecarlo.power import check_analyses, estimate, true_null
from mssim.outputs.report.scenario import hypothesis_words
from mssim.trial.analyses.ancova import ancova
from mssim.trial.analyses.ancova_cluster import ancova_cluster
from mssim.trial.analyses.crossover import crossover
from mssim.trial.analyses.hypothesis import TWO_SIDED, NullHypothesis, contrast_test
from mssim.trial.analyses.mann_whitney import mann_whitney
from mssim.trial.analyses.responder import responder
from mssim.trial.analyses.welch import welch_change

LOWER_BETTER = NullHypothesis(sides=1, null=0.0, better=-1)


def _two_arms(seed: int, n: int = 40, shift: float = -0.3) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    arm = np.repeat([1, 0], n)
    baseline = rng.normal(5, 1, 2 * n)
    outcome = 0.6 * baseline + rng.normal(0, 1, 2 * n) + shift * arm
    return outcome, baseline, arm, np.ones(2 * n, bool)


@pytest.mark.parametrize("seed", range(5))
def test_welch_one_sided_and_non_inferiority_equal_scipy(seed):
    change, _, arm, observed = _two_arms(seed)
    t, c = change[arm == 1], change[arm == 0]
    sup = welch_change(change, arm, observed, test=LOWER_BETTER)
    ref = stats.ttest_ind(t, c, equal_var=False, alternative="less").pvalue
    assert sup.p_value[0] == pytest.approx(ref, rel=1e-10)
    # non-inferiority with margin 0.5 (worse by 0.5 points): the shifted one-sided test
    ni = welch_change(change, arm, observed, test=NullHypothesis(sides=1, null=0.5, better=-1))
    ref = stats.ttest_ind(t - 0.5, c, equal_var=False, alternative="less").pvalue
    assert ni.p_value[0] == pytest.approx(ref, rel=1e-10)
    # the CI stays the two-sided one
    two = welch_change(change, arm, observed)
    assert ni.ci_high[0] == two.ci_high[0]


@pytest.mark.parametrize("seed", range(5))
def test_ancova_non_inferiority_equals_statsmodels_on_shifted_outcome(seed):
    outcome, baseline, arm, observed = _two_arms(seed)
    margin = 0.4
    ni = ancova(
        outcome, baseline, arm, observed, test=NullHypothesis(sides=1, null=margin, better=-1)
    )
    fit = smf.ols(
        "y ~ arm + x", pd.DataFrame({"y": outcome - margin * arm, "x": baseline, "arm": arm})
    ).fit()
    t = fit.tvalues["arm"]
    assert ni.p_value[0] == pytest.approx(stats.t.cdf(t, fit.df_resid), rel=1e-9)


def _half(two_sided: np.ndarray, estimate: np.ndarray, better: int) -> np.ndarray:
    """One-sided p from the two-sided one: p/2 on the side of benefit, 1 - p/2 otherwise."""
    return np.where(better * estimate > 0, two_sided / 2, 1 - two_sided / 2)


@pytest.mark.parametrize("shift", [-0.4, 0.0, 0.3])
def test_one_sided_p_is_half_the_two_sided_in_the_right_direction(shift):
    rng = np.random.default_rng(7)
    r, n = 50, 60
    arm = np.tile(np.repeat([1, 0], n // 2), (r, 1))
    observed = np.ones((r, n), bool)
    baseline = rng.normal(5, 1, (r, n))
    outcome = 0.5 * baseline + rng.normal(0, 1, (r, n)) + shift * arm
    period2 = rng.normal(5, 1, (r, n))
    cluster = np.where(arm == 1, rng.integers(0, 4, (r, n)), -1 - np.arange(n))
    for better in (-1, 1):
        test = NullHypothesis(sides=1, better=better)
        for run in (
            lambda t, o=outcome, b=baseline: ancova(o, b, arm, observed, test=t),
            lambda t, o=outcome, b=baseline: ancova_cluster(o, b, arm, cluster, observed, test=t),
            lambda t, o=outcome: crossover(o, period2, arm, observed, test=t),
        ):
            two, one = run(TWO_SIDED), run(test)
            np.testing.assert_allclose(
                one.p_value, _half(two.p_value, two.estimate, better), rtol=1e-12, atol=1e-15
            )


@pytest.mark.parametrize("seed", range(5))
def test_mann_whitney_one_sided_equals_scipy(seed):
    rng = np.random.default_rng(seed)
    outcome = np.round(rng.normal(0, 1, 70) * 3) / 3  # ties, as on an instrument grid
    arm = np.repeat([1, 0], 35)
    for better, alternative in ((-1, "less"), (1, "greater")):
        got = mann_whitney(
            outcome, arm, np.ones(70, bool), test=NullHypothesis(sides=1, better=better)
        )
        ref = stats.mannwhitneyu(
            outcome[arm == 1], outcome[arm == 0], alternative=alternative, method="asymptotic"
        ).pvalue
        assert got.p_value[0] == pytest.approx(ref, rel=1e-10)


def test_mann_whitney_refuses_a_shift_margin():
    with pytest.raises(ValueError, match="probabilistic index"):
        mann_whitney(
            np.arange(6.0),
            np.array([1, 1, 1, 0, 0, 0]),
            np.ones(6, bool),
            test=NullHypothesis(sides=1, null=0.1, better=-1),
        )


def test_responder_non_inferiority_agrees_with_its_score_interval():
    # reject at alpha/2 exactly when the lower limit of the 1 - alpha score interval is
    # above -margin (Farrington-Manning test inverted by the Miettinen-Nurminen interval)
    rng = np.random.default_rng(3)
    r, n = 400, 80
    arm = np.tile(np.repeat([1, 0], n // 2), (r, 1))
    responded = rng.random((r, n)) < np.where(arm == 1, 0.45, 0.5)
    observed = np.ones((r, n), bool)
    margin = 0.15
    est = responder(responded, arm, observed, 0.05, NullHypothesis(sides=1, null=-margin, better=1))
    inside = np.abs(est.ci_low + margin) > 1e-9
    assert ((est.p_value <= 0.025) == (est.ci_low > -margin))[inside].all()
    # at the null value 0 the one-sided p-value is half the two-sided one
    sup = responder(responded, arm, observed, 0.05, NullHypothesis(sides=1, better=1))
    two = responder(responded, arm, observed, 0.05)
    np.testing.assert_allclose(sup.p_value, _half(two.p_value, two.estimate, 1), atol=1e-12)


def _rejection_at_margin(rates: np.ndarray, level: float) -> tuple[float, float]:
    rate = float(rates.mean())
    return rate, 3.5 * math.sqrt(level * (1 - level) / rates.size)


def test_type_one_error_at_the_margin_is_nominal():
    # data whose true effect is exactly the margin (treatment worse by 0.5): the
    # non-inferiority test rejects at alpha/2 = 0.025, within 3.5 MCSE
    rng = np.random.default_rng(11)
    r, n, margin = 20_000, 60, 0.5
    arm = np.tile(np.repeat([1, 0], n // 2), (r, 1))
    observed = np.ones((r, n), bool)
    baseline = rng.normal(5, 1, (r, n))
    outcome = 0.5 * baseline + rng.normal(0, 1, (r, n)) + margin * arm
    test = NullHypothesis(sides=1, null=margin, better=-1)
    for est in (
        welch_change(outcome - baseline, arm, observed, test=test),
        ancova(outcome, baseline, arm, observed, test=test),
    ):
        rate, tol = _rejection_at_margin(est.p_value <= 0.025, 0.025)
        assert abs(rate - 0.025) <= tol, rate
    # crossover: within-patient effect at the margin, period effect 0.3
    subject = rng.normal(0, 1, (r, n))
    first = margin * arm  # AB patients have the treatment first
    p1 = subject + first + rng.normal(0, 0.7, (r, n))
    p2 = subject + margin * (1 - arm) + 0.3 + rng.normal(0, 0.7, (r, n))
    est = crossover(p1, p2, arm, observed, test=test)
    rate, tol = _rejection_at_margin(est.p_value <= 0.025, 0.025)
    assert abs(rate - 0.025) <= tol, rate
    # ancova_cluster: treatment arm in 6 practitioners' clusters (SD 0.3), comparator alone
    cluster = np.where(arm == 1, rng.integers(0, 6, (r, n)), -1 - np.arange(n))
    practitioner = rng.normal(0, 0.3, (r, 6))
    shift = np.where(arm == 1, np.take_along_axis(practitioner, np.maximum(cluster, 0), 1), 0)
    est = ancova_cluster(outcome + shift, baseline, arm, cluster, observed, test=test)
    rate, tol = _rejection_at_margin(est.p_value <= 0.025, 0.025)
    assert abs(rate - 0.025) <= tol, rate
    # responder: shares 0.35 vs 0.50, at a margin of 0.15, 150 per arm
    n = 300
    arm = np.tile(np.repeat([1, 0], n // 2), (r, 1))
    responded = rng.random((r, n)) < np.where(arm == 1, 0.35, 0.5)
    est = responder(responded, arm, np.ones((r, n), bool), 0.05, NullHypothesis(1, -0.15, 1))
    rate, tol = _rejection_at_margin(est.p_value <= 0.025, 0.025)
    assert abs(rate - 0.025) <= tol, rate


def test_scenario_tests_and_reports_the_hypothesis():
    s = load_scenario(
        None,
        [
            'trial.hypothesis="non_inferiority"',
            "trial.margin=0.5",
            'trial.margin_units="sd"',
            "trial.margin_risk_difference=0.1",
        ],
    )
    sd = s.symptoms.fatigue.reference_sd
    assert contrast_test(s, "ancova", "fatigue") == NullHypothesis(1, 0.5 * sd, -1)
    assert contrast_test(s, "responder", "fatigue") == NullHypothesis(1, -0.1, 1)
    table = estimate(s, [20], 40, analyses=["ancova", "responder"], progress=False)
    assert list(table.hypothesis.unique()) == ["non_inferiority"]
    assert list(table.test_level.unique()) == [0.025]
    assert table.null_value.tolist() == [0.5 * sd, -0.1]
    with pytest.raises(MssimError, match=r"mann_whitney.*non_inferiority"):
        check_analyses(s, ["mann_whitney"])


def test_default_hypothesis_is_two_sided_at_alpha():
    s = load_scenario(None, [])
    table = estimate(s, [10], 20, progress=False)
    assert table.hypothesis.tolist() == ["two_sided"] and table.test_level.tolist() == [0.05]
    assert table.null_value.tolist() == [0.0]


@pytest.mark.parametrize(
    ("sets", "field", "words"),
    [
        (["trial.margin=0.5"], "trial.margin", "only by hypothesis = 'non_inferiority'"),
        (['trial.hypothesis="non_inferiority"'], "trial.margin", "needs a margin > 0"),
        (
            ['trial.hypothesis="non_inferiority"', "trial.margin_risk_difference=0.1"],
            "trial.analysis",
            "against trial.margin; give it > 0",
        ),
        (
            [
                'trial.hypothesis="non_inferiority"',
                "trial.margin=1",
                'trial.analysis="mann_whitney"',
            ],
            "trial.analysis",
            "does not test the non_inferiority hypothesis",
        ),
        (['trial.hypothesis="one_sided"'], "trial.hypothesis", "non_inferiority"),
    ],
)
def test_bad_hypothesis_settings_exit_2_naming_the_field(sets, field, words, tmp_path, cli):
    path = tmp_path / "s.toml"
    path.write_text("")
    args = [a for s in sets for a in ("--set", s)]
    status, out, err = cli("validate", path, *args)
    assert status == 2 and out == "" and "Traceback" not in err
    assert field in err and words in err, err


def test_points_margin_needs_endpoints_on_one_instrument(tmp_path, cli):
    path = tmp_path / "s.toml"
    path.write_text("")
    sets = [
        'trial.hypothesis="non_inferiority"',
        "trial.margin=1",
        'trial.secondary_endpoints=["pain"]',
        'symptoms.pain.instrument="nrs"',
        'symptoms.fatigue.instrument="fss"',
    ]
    status, _, err = cli("validate", path, *[a for s in sets for a in ("--set", s)])
    assert status == 2 and "trial.margin_units" in err and "margin_units = 'sd'" in err, err


def test_report_says_what_is_tested():
    two = load_scenario(None, []).trial
    assert hypothesis_words(two) == "two-sided tests at alpha = 0.05"
    ni = load_scenario(
        None,
        ['trial.hypothesis="non_inferiority"', "trial.margin=0.5", 'trial.margin_units="sd"'],
    ).trial
    assert hypothesis_words(ni) == (
        "one-sided non-inferiority tests at alpha / 2 = 0.025, margin 0.5 sd for mean differences"
    )


def test_true_null_at_and_beyond_the_margin():
    noise = np.random.default_rng(0).normal(0, 1, 400)  # estimates: 2 MCSE is about 0.1
    ni = NullHypothesis(sides=1, null=0.5, better=-1)
    assert true_null(0.5, noise, ni) and true_null(0.8, noise, ni)  # at, beyond on harm
    assert not true_null(0.0, noise, ni)  # better than the margin: non-inferior
    superiority = NullHypothesis(sides=1, better=-1)
    assert true_null(0.3, noise, superiority) and not true_null(-0.3, noise, superiority)
    assert not true_null(0.3, noise, TWO_SIDED) and true_null(0.05, noise, TWO_SIDED)
