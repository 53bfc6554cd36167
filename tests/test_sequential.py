"""Group-sequential design on the patient model: accrual, looks, type I error, power.

Monte Carlo checks use tolerances of 3.5 Monte Carlo standard errors.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from mssim.config.load import load_scenario, with_overrides
from mssim.config.relevance import inert_reason
from mssim.config.trial import Accrual
from mssim.errors import MssimError
from mssim.montecarlo.power import FIELDS, KINDS, PERIODS, chunk_statistics, estimate
from mssim.montecarlo.sequential import (
    boundaries_table,
    paths,
    planned,
    planned_fractions,
    stopping_look,
)
from mssim.montecarlo.sequential import chunk_statistics as sequential_chunk
from mssim.outputs.figures.sequential import boundary_paths, stopping
from mssim.trial.sequential.accrual import expected_by, randomization_days, weeks_at
from mssim.trial.sequential.boundaries import crossing, group_sequential

SCENARIOS = Path(__file__).parent.parent / "scenarios"
GS = SCENARIOS / "group_sequential.toml"
NULL = SCENARIOS / "null_effect.toml"
AS_GS = [
    "trial.design=group_sequential",
    "trial.hypothesis=superiority",
    "trial.accrual.rate_per_week=6",
]


def test_accrual_keeps_the_prefix_property_and_its_rate():
    accrual = Accrual(rate_per_week=5.0, ramp_up_weeks=6.0)
    reps = np.arange(400)
    short = randomization_days(accrual, 7, reps, 30)
    long = randomization_days(accrual, 7, reps, 90)
    assert np.array_equal(short, long[:, :30])
    assert np.all(np.diff(long, axis=1) >= 0)
    # the k-th arrival of a Poisson process with cumulative rate L(w): L(W_k) ~ Gamma(k)
    k = 90
    cumulative = expected_by(accrual, long[:, k - 1] / 7)
    mcse = math.sqrt(k / len(reps))
    assert abs(cumulative.mean() - k) < 3.5 * mcse
    assert weeks_at(accrual, expected_by(accrual, np.array([2.0, 9.0]))) == pytest.approx([2, 9])


def test_a_look_filters_what_is_observed_and_never_changes_a_patient():
    """The final look of a trial that ran to the end is the fixed parallel trial."""
    scenario = load_scenario(GS, ["trial.sequential.futility=none"])
    parallel = load_scenario(GS, ["trial.design=parallel"])  # one-sided superiority too
    reps = np.arange(12)
    seq = sequential_chunk(scenario, [30], ["ancova"], reps, FIELDS, KINDS, PERIODS)
    fixed = chunk_statistics(parallel, [30], ["ancova"], reps)
    ran = seq["stop_look"][0, 0] == 3
    assert ran.sum() >= 6
    for field in ("estimate", "se", "p_value", "n_analysed"):
        assert np.array_equal(seq[field][0, 0, 0, 0][ran], fixed[field][0, 0, 0, 0][ran])
    assert np.array_equal(seq["truth"], fixed["truth"], equal_nan=True)  # NaN: not estimated
    assert not np.isnan(seq["truth"][KINDS.index("mean_difference")]).any()
    # other looks: the same patients, so the same final analysis
    other = load_scenario(GS, ["trial.sequential.futility=none", "trial.sequential.looks=[0.5]"])
    seq2 = sequential_chunk(other, [30], ["ancova"], reps, FIELDS, KINDS, PERIODS)
    both = ran & (seq2["stop_look"][0, 0] == 2)
    assert both.sum() >= 6
    assert np.array_equal(seq["estimate"][0, 0, 0, 0][both], seq2["estimate"][0, 0, 0, 0][both])
    # interim looks see fewer patients than the final
    z_first = seq["look_fraction"][0, 0, 0]
    assert np.all((z_first > 0.2) & (z_first < 0.5))


def _type_one(overrides: list[str], replicates: int) -> tuple[float, float]:
    scenario = load_scenario(NULL, [*AS_GS, *overrides])
    frame = estimate(scenario, n_per_arm=[40], replicates=replicates, progress=False)
    row = frame.iloc[0]
    assert abs(row.true_effect) < 1e-9
    return float(row.power), float(row.power_mcse)


def test_type_one_error_of_the_whole_design():
    """One-sided type I error (efficacy stop at any look) is alpha = trial.alpha / 2."""
    power, _ = _type_one(["trial.sequential.futility=none"], 2000)
    mcse = math.sqrt(0.025 * 0.975 / 2000)
    assert abs(power - 0.025) < 3.5 * mcse, (power, mcse)


def test_type_one_error_with_blinded_sample_size_reestimation():
    ssr = "trial.sequential.reestimation={look = 1, planned_sd = 0.5, max_factor = 2.0}"
    scenario = load_scenario(NULL, [*AS_GS, "trial.sequential.futility=none", ssr])
    stats: dict = {}
    frame = estimate(scenario, n_per_arm=[40], replicates=2000, progress=False, keep=stats)
    power = float(frame.power.iloc[0])
    mcse = math.sqrt(0.025 * 0.975 / 2000)
    assert abs(power - 0.025) < 3.5 * mcse, (power, mcse)
    # the re-estimation did act: some trials grew, none beyond the cap
    grown = stats["n_reestimated"][0, 0]
    assert (grown > 40).mean() > 0.2 and grown.max() <= 80
    assert frame.maximum_n.iloc[0] > 80


def test_non_binding_futility_obeyed_keeps_type_one_error_below_alpha():
    """With futility obeyed, the type I error is the exact crossing probability at drift 0."""
    futility = ["trial.sequential.futility=z", "trial.sequential.futility_value=0"]
    power, _ = _type_one(futility, 2000)
    plan = planned(load_scenario(NULL, [*AS_GS, *futility]), 40)
    up, _ = crossing(plan.information, plan.efficacy, plan.futility, 0.0)
    exact = float(up.sum())
    assert exact < 0.025
    mcse = math.sqrt(exact * (1 - exact) / 2000)
    assert abs(power - exact) < 3.5 * mcse, (power, exact, mcse)


def test_power_of_the_looks_on_a_normal_endpoint_equals_rpact():
    """Direct normal simulation of the look statistics through the stopping rule.

    d <- getDesignGroupSequential(kMax=3, alpha=0.025, sided=1, typeOfDesign="asOF",
      informationRates=c(1/3,2/3,1), futilityBounds=c(0,0), bindingFutility=FALSE)
    getPowerMeans(d, groups=2, normalApproximation=TRUE, alternative=0.5, stDev=1,
      maxNumberOfSubjects=150)
      $overallReject 0.844592868; $rejectPerStage 0.026036128 0.469042756 0.349513984
      $futilityPerStage 0.038549936 0.002361784; $expectedNumberOfSubjects 119.971166646
    """
    rng = np.random.default_rng(16)
    r, n_arm = 20_000, 75
    # 25 patients per arm join between looks; each look's z is the two-sample z so far
    treat = rng.normal(0.5, 1.0, (r, n_arm))
    control = rng.normal(0.0, 1.0, (r, n_arm))
    cuts = np.array([25, 50, 75])
    z = np.stack([(treat[:, :c].mean(1) - control[:, :c].mean(1)) / math.sqrt(2 / c)
                  for c in cuts], axis=1)  # fmt: skip
    b = group_sequential(cuts / n_arm, 0.025, "obrien_fleming", futility="z", futility_value=0.0)
    stop, kind = stopping_look(
        z, np.broadcast_to(b.efficacy, z.shape), np.broadcast_to(b.futility, z.shape)
    )

    def close(hits: np.ndarray, reference: float) -> bool:
        return abs(hits.mean() - reference) < 3.5 * math.sqrt(reference * (1 - reference) / r)

    assert close(kind == 1, 0.844592868), (kind == 1).mean()
    for k, ref in enumerate([0.026036128, 0.469042756, 0.349513984]):
        assert close((stop == k) & (kind == 1), ref)
    for k, ref in enumerate([0.038549936, 0.002361784]):
        assert close((stop == k) & (kind == 2), ref)
    n = 2 * cuts[stop]
    assert abs(n.mean() - 119.971166646) < 3.5 * n.std() / math.sqrt(r), n.mean()


def test_boundaries_table_and_figures():
    scenario = load_scenario(GS)
    table = boundaries_table(scenario, [40])
    # rpact asOF thirds: 3.710302873 2.511427484 1.993047483 (test_sequential_boundaries)
    assert table.efficacy_z.to_numpy() == pytest.approx([3.710302873, 2.511427484, 1.993047483],
                                                       abs=1e-6)  # fmt: skip
    assert list(table.futility_z[:2]) == [0.0, 0.0]
    stats: dict = {}
    frame = estimate(scenario, n_per_arm=[20, 30], replicates=20, progress=False, keep=stats)
    shares = frame.filter(like="stop_").sum(axis=1)
    assert np.all(shares <= 1 + 1e-12)
    assert np.all(frame.expected_n <= frame.maximum_n)
    drawn = paths(stats, [20, 30], ["ancova"])
    assert set(drawn.stop_kind) <= {"efficacy", "futility", "final"}
    assert boundary_paths(drawn, boundaries_table(scenario, [20, 30])).axes
    assert stopping(frame).axes


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ("trial.sequential.looks=[0.6, 0.3]", "trial.sequential"),
        ("trial.sequential.efficacy=kim_demets", "trial.sequential"),
        ("trial.sequential.futility=conditional_power", "trial.sequential"),
        ('trial.secondary_endpoints=["pain"]', "trial.secondary_endpoints"),
        ("trial.analysis=responder", "trial.analysis"),
        ("trial.sequential.look_weeks=[20]", "trial.sequential"),
        ("trial.hypothesis=two_sided", "trial.hypothesis"),
        ("trial.sequential.reestimation={look = 3, planned_sd = 1.0}", "trial.sequential"),
    ],
)
def test_bad_sequential_settings_are_refused(override, field, cli):
    status, out, err = cli("validate", GS, "--set", override)
    assert status == 2 and out == "" and "Traceback" not in err
    assert field in err and str(GS) in err


def test_mssim_run_writes_the_sequential_outputs(tmp_path, cli):
    out = tmp_path / "run"
    sets = ["--set", "power.n_per_arm=[10, 20]", "--set", "power.replicates=20"]
    status, _, err = cli("run", GS, *sets, "--jobs", "1", "--out", out)
    assert status == 0, err
    table = (out / "boundaries.csv").read_text().splitlines()
    assert table[0] == (
        "n_per_arm,look,information_fraction,efficacy_z,futility_z,alpha_spent,nominal_p"
    )
    assert len(table) == 1 + 2 * 3
    for name in ("sequential_boundaries.png", "sequential_stopping.png"):
        assert (out / name).stat().st_size > 10_000
    report = (out / "report.html").read_text()
    assert 'id="sequential"' in report and "Interim looks" in report


@pytest.mark.parametrize(
    "rule",
    [
        ["trial.sequential.futility=beta_spending", "trial.sequential.beta=0.2"],
        ["trial.sequential.futility=conditional_power", "trial.sequential.futility_value=0.2"],
        ["trial.sequential.futility=z", "trial.sequential.binding=true"],
        ["trial.sequential.efficacy=hsd", "trial.sequential.efficacy_parameter=-4"],
        ["trial.sequential.efficacy=kim_demets", "trial.sequential.efficacy_parameter=2"],
        ["trial.sequential.efficacy=pocock"],
    ],
)
def test_each_rule_stops_where_its_boundaries_say(rule):
    scenario = load_scenario(GS, rule)
    stats = sequential_chunk(scenario, [30], ["ancova"], np.arange(60), FIELDS, KINDS, PERIODS)
    z, up, low = stats["look_z"][0, 0], stats["look_efficacy"][0, 0], stats["look_futility"][0, 0]
    stop, kind = stats["stop_look"][0, 0].astype(int) - 1, stats["stop_kind"][0, 0]
    for j in range(60):
        k = stop[j]
        assert np.all(~(z[:k, j] >= up[:k, j]) & ~(z[:k, j] <= low[:k, j]))  # went on
        if kind[j] == 1:
            assert z[k, j] >= up[k, j]
        elif kind[j] == 2:
            assert z[k, j] <= low[k, j] and k < 2
        else:
            assert k == 2 and not z[k, j] >= up[k, j]
    assert np.all(np.isfinite(stats["median_unbiased"][0, 0]))


def test_a_scenario_with_calendar_looks_takes_further_overrides():
    """Looks at weeks leave no looks at shares, so the resolved scenario validates again."""
    weeks = "trial.sequential.look_weeks=[14, 18]"
    scenario = load_scenario(SCENARIOS / "default.toml", [*AS_GS, weeks])
    assert scenario.trial.sequential.looks == []
    again = with_overrides(scenario, ["trial.sequential.futility=z"])  # the whole dump validated
    assert again.trial.sequential.look_weeks == [14, 18]
    assert again.trial.sequential.futility == "z"
    with pytest.raises(MssimError, match="not both"):
        with_overrides(scenario, ["trial.sequential.looks=[0.5]"])


def test_calendar_looks_and_looks_after_the_end():
    """Looks at calendar weeks see the patients whose endpoint visit has passed by then."""
    weeks = "trial.sequential.look_weeks=[14, 18, 400]"  # 6 a week: 60 randomized by week 10
    scenario = load_scenario(SCENARIOS / "default.toml", [*AS_GS, weeks])
    reps = np.arange(20)
    stats = sequential_chunk(scenario, [30], ["ancova"], reps, FIELDS, KINDS, PERIODS)
    fraction = stats["look_fraction"][0, 0]
    assert np.all(np.isnan(fraction[2]))  # week 400 comes after the final analysis
    assert np.all((fraction[0] > 0) & (fraction[0] < fraction[1]) & (fraction[1] < 1))
    assert np.all(fraction[3] == 1)
    # planned: the expected share of the 60 patients randomized 12 weeks before each look
    plan = planned_fractions(scenario, 30)
    expected = expected_by(scenario.trial.accrual, np.array([14 - 12, 18 - 12])) / 60
    assert plan == pytest.approx([*expected, 1.0])
    # the analysed share at a look is near the share of patients whose visit has passed
    days = randomization_days(scenario.trial.accrual, scenario.seed, reps, 60)
    ready = ((days + 7 * 12) <= 7 * 14).sum(axis=1) / 60
    assert abs(np.mean(fraction[0]) - np.mean(ready)) < 0.1


def test_sequential_settings_change_nothing_in_a_fixed_design():
    fixed = load_scenario(SCENARIOS / "default.toml")
    for field in ("trial.sequential.efficacy", "trial.accrual.rate_per_week"):
        assert "group_sequential design only" in inert_reason(fixed, field)
    assert inert_reason(load_scenario(GS), "trial.sequential.efficacy") is None
