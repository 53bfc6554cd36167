"""Bayesian decision rule in the analysis registry (issue 17, part 2)."""

import math

import numpy as np
import pytest
from scipy import integrate, stats

from mssim.config.bayesian import ALTERNATIVE, BayesianRule
from mssim.config.load import load_scenario
from mssim.config.relevance import inert_reason
from mssim.config.sources import provenance_table
from mssim.errors import MssimError
from mssim.montecarlo.analyses import check_analyses
from mssim.montecarlo.power import estimate
from mssim.outputs.provenance import Provenance
from mssim.registry import ANALYSES
from mssim.trial.analyses.analysis import for_trial
from mssim.trial.analyses.ancova import ancova
from mssim.trial.analyses.bayesian import (
    NormalPrior,
    normal_posterior,
    posterior_rule,
    prior_of,
)

#: The built-in rules' threshold (the default of a [trial.bayesian] table).
THRESHOLD = BayesianRule().threshold


def normal_trials(r: int, n: int, effect: float, seed: int, sigma: float = 1.0):
    """R trials of n per arm: baseline N(0, 1), outcome 0.5 baseline + effect arm + N(0, sigma)."""
    g = np.random.default_rng(seed)
    baseline = g.standard_normal((r, 2 * n))
    arm = np.zeros((r, 2 * n), dtype=bool)
    arm[:, :n] = True
    outcome = 0.5 * baseline + effect * arm + sigma * g.standard_normal((r, 2 * n))
    return outcome, baseline, arm, np.ones((r, 2 * n), dtype=bool)


def test_conjugate_posterior_matches_numerical_integration():
    est, se, m0, s0 = -0.4, 0.2, 0.1, 0.3
    mean, sd = normal_posterior(np.array([est]), np.array([se]), m0, s0)

    def density(t):
        return stats.norm.pdf(est, t, se) * stats.norm.pdf(t, m0, s0)

    z = integrate.quad(density, -5, 5)[0]
    m = integrate.quad(lambda t: t * density(t), -5, 5)[0] / z
    v = integrate.quad(lambda t: (t - m) ** 2 * density(t), -5, 5)[0] / z
    np.testing.assert_allclose([mean[0], sd[0]], [m, math.sqrt(v)], rtol=1e-9)


def test_flat_prior_equals_the_z_test():
    """A flat prior, delta 0 and threshold 1 - alpha/2: the two-sided z-test's benefit rejections."""
    outcome, baseline, arm, observed = normal_trials(3000, 25, -0.6, seed=1)
    fit = ancova(outcome, baseline, arm, observed)
    rule = posterior_rule(outcome, baseline, arm, observed, NormalPrior.flat(), 0.0, 0.05)
    np.testing.assert_array_equal(rule.estimate, fit.estimate)
    np.testing.assert_array_equal(rule.se, fit.se)
    z_test = (2 * stats.norm.sf(np.abs(fit.estimate / fit.se)) <= 0.05) & (fit.estimate < 0)
    decided = rule.p_value <= 1 - 0.975
    np.testing.assert_array_equal(decided, z_test)
    assert 0.3 < decided.mean() < 0.9  # the comparison is not vacuous


def closed_form(theta: float, se: float, prior: NormalPrior, delta: float, c: float) -> float:
    """P(decide for benefit) when estimate ~ N(theta, se^2), known se, baseline SD 1.

    Decide when Phi((mu + delta) / tau) <= 1 - c, i.e. mu <= -delta - tau z_c; mu is
    increasing in the estimate, so the rule is estimate <= k with
    k = ((-delta - tau z_c)(1/se^2 + 1/s0^2) - m0/s0^2) se^2.
    """
    data, prior_precision = 1 / se**2, 1 / prior.sd**2
    tau = 1 / math.sqrt(data + prior_precision)
    k = (
        (-delta - tau * stats.norm.ppf(c)) * (data + prior_precision) - prior.mean * prior_precision
    ) / data
    return float(stats.norm.cdf((k - theta) / se))


@pytest.mark.parametrize(
    "prior",
    [
        NormalPrior.flat(),
        NormalPrior.sceptical(ALTERNATIVE),
        NormalPrior.enthusiastic(ALTERNATIVE),
    ],
    ids=["flat", "sceptical", "enthusiastic"],
)
@pytest.mark.parametrize("theta", [0.0, -0.15])
@pytest.mark.parametrize("delta", [0.0, 0.05])
def test_type_i_error_and_power_match_the_closed_form(prior, theta, delta):
    """Normal endpoint, 400 per arm, 4000 trials: within 3.5 MCSE of the closed form.

    The ANCOVA SE of n per arm with residual SD 1 is sqrt(2 / n) (its estimate's spread
    adds about 1/(2n - 4), 0.1%, here); the baseline SD is 1.
    """
    n, r = 400, 4000
    outcome, baseline, arm, observed = normal_trials(r, n, theta, seed=7)
    rule = posterior_rule(outcome, baseline, arm, observed, prior, delta, 0.05)
    simulated = float((rule.p_value <= 1 - THRESHOLD).mean())
    expected = closed_form(theta, math.sqrt(2 / n), prior, delta, THRESHOLD)
    mcse = math.sqrt(expected * (1 - expected) / r)
    assert abs(simulated - expected) < 3.5 * mcse, (simulated, expected, mcse)


def test_operating_characteristics_appear_like_any_other_analysis():
    s = load_scenario(None, ["power.n_per_arm=[20]"])
    names = ["ancova", "bayes_flat", "bayes_sceptical", "bayes_enthusiastic"]
    frame = estimate(s, replicates=40, analyses=names, progress=False).set_index("analysis")
    assert set(ANALYSES.names()) >= set(names)
    assert np.isnan(frame.loc["ancova", "mean_posterior_probability"])
    for name in names[1:]:
        row = frame.loc[name]
        assert row.decision_threshold == THRESHOLD
        assert 0 < row.mean_posterior_probability < 1
        assert 0 <= row.power <= 1 and row.replicates == 40
    # shrinkage: a sceptical prior decides less often than an enthusiastic one
    assert frame.loc["bayes_sceptical", "power"] <= frame.loc["bayes_enthusiastic", "power"]


#: A planner's own rule: a normal prior leaning to benefit, a minimal benefit and a lower bar.
USER_RULE = BayesianRule(prior="normal", mean=-0.1, sd=0.2, delta=0.05, threshold=0.9)


@pytest.mark.parametrize("theta", [0.0, -0.15])
def test_a_user_set_prior_delta_and_threshold_match_the_closed_form(theta):
    """The scenario's rule, as ``bayes`` runs it, against the closed form within 3.5 MCSE."""
    scenario = load_scenario(
        None,
        [
            'trial.analysis="bayes"',
            'trial.bayesian.prior="normal"',
            "trial.bayesian.mean=-0.1",
            "trial.bayesian.sd=0.2",
            "trial.bayesian.delta=0.05",
            "trial.bayesian.threshold=0.9",
        ],
    )
    assert scenario.trial.bayesian == USER_RULE
    entry = for_trial("bayes", scenario.trial)
    assert entry.threshold == 0.9 and "mean -0.1, SD 0.2" in entry.wording
    n, r = 400, 4000
    outcome, baseline, arm, observed = normal_trials(r, n, theta, seed=11)
    rule = posterior_rule(outcome, baseline, arm, observed, prior_of(USER_RULE), 0.05, 0.05)
    simulated = float((rule.p_value <= entry.level(0.05)).mean())
    expected = closed_form(theta, math.sqrt(2 / n), prior_of(USER_RULE), 0.05, 0.9)
    mcse = math.sqrt(expected * (1 - expected) / r)
    assert abs(simulated - expected) < 3.5 * mcse, (simulated, expected, mcse)


def test_the_scenario_rule_runs_in_monte_carlo_with_its_threshold():
    """``bayes`` with a flat prior decides exactly as ``bayes_flat``; its threshold is the table's."""
    flat = ["power.n_per_arm=[20]", 'trial.analysis="bayes"', 'trial.bayesian.prior="flat"']
    s = load_scenario(None, flat)
    frame = estimate(s, replicates=40, analyses=["bayes", "bayes_flat"], progress=False)
    a, b = frame.set_index("analysis").loc[["bayes", "bayes_flat"]].itertuples()
    assert (a.power, a.mean_posterior_probability) == (b.power, b.mean_posterior_probability)
    lower = load_scenario(None, [*flat, "trial.bayesian.threshold=0.6"])
    row = estimate(lower, replicates=40, analyses=["bayes"], progress=False).iloc[0]
    assert row.decision_threshold == 0.6 and row.test_level == pytest.approx(0.4)
    assert row.power >= a.power  # a lower bar decides at least as often, same trials


def test_the_rule_settings_are_in_provenance_and_the_sources_table():
    s = load_scenario(None, ['trial.analysis="bayes"', "trial.bayesian.delta=0.1"])
    manifest = Provenance(s, command=["mssim"]).manifest()
    assert manifest["scenario"]["trial"]["bayesian"] == {
        "prior": "sceptical",
        "alternative": 0.3,
        "mean": None,
        "sd": None,
        "delta": 0.1,
        "threshold": 0.975,
    }
    table = provenance_table(s).set_index("field")
    assert table.loc["trial.bayesian.alternative", "status"] == "assumption"
    assert table.loc["trial.bayesian.delta", "status"] == "changed in this scenario"
    assert "Spiegelhalter" in table.loc["trial.bayesian.prior", "source"]


@pytest.mark.parametrize(
    "overrides,fragments",
    [
        (["trial.bayesian.delta=0.1"], ["trial.bayesian:", "'ancova' does not use it"]),
        (
            ['trial.analysis="bayes_flat"', "trial.bayesian.threshold=0.9"],
            ["trial.bayesian:", "'bayes_flat' does not use it"],
        ),
        (
            ['trial.analysis="bayes"', 'trial.bayesian.prior="normal"', "trial.bayesian.sd=1"],
            ["trial.bayesian.prior:", "missing mean"],
        ),
        (
            ['trial.analysis="bayes"', "trial.bayesian.mean=0.1"],
            ["trial.bayesian.mean:", "prior = 'normal' only", "'sceptical'"],
        ),
        (
            [
                'trial.analysis="bayes"',
                'trial.bayesian.prior="flat"',
                "trial.bayesian.alternative=1",
            ],
            ["trial.bayesian.alternative:", "sceptical or enthusiastic prior only"],
        ),
        (
            ['trial.analysis="bayes"', "trial.bayesian.threshold=1"],
            ["trial.bayesian.threshold", "less than 1", "given 1"],
        ),
        (['trial.analysis="bayes"', "trial.bayesian.delta=-0.1"], ["trial.bayesian.delta"]),
    ],
)
def test_bad_rule_settings_exit_2_naming_the_field(tmp_path, cli, overrides, fragments):
    path = tmp_path / "s.toml"
    path.write_text("")
    args = ["validate", path]
    for o in overrides:
        args += ["--set", o]
    status, out, err = cli(*args)
    assert (status, out) == (2, "") and str(path) in err and "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, (fragment, err)


def test_rule_settings_are_inert_for_other_analyses():
    s = load_scenario(None, ['trial.analysis="bayes"', "trial.bayesian.delta=0.1"])
    assert inert_reason(s, "trial.bayesian.delta") is None
    with pytest.raises(MssimError, match="does not use it"):
        check_analyses(s, ["ancova", "bayes_flat"])
    check_analyses(s, ["ancova", "bayes"])
    plain = load_scenario(None, [])
    assert "set trial.analysis = 'bayes'" in inert_reason(plain, "trial.bayesian.threshold")


def test_the_matched_null_of_a_bayesian_rule_claims_no_nominal_level(cli, tmp_path):
    sets = ['trial.analysis="bayes"', "trial.bayesian.threshold=0.9", "power.n_per_arm=[20]"]
    options = [part for value in sets for part in ("--set", value)]
    status, out, err = cli("run", *options, "--replicates", 20, "--out", tmp_path / "run")
    assert status == 0, err
    assert "a Bayesian rule deciding at P(benefit | data) > 0.9: no nominal level" in out
    assert "nominal 0.05" not in out
