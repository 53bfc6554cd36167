"""Endpoints on the instrument's grid: real ties, as R sees them (mssim.trial.grid)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from mssim.config.load import load_scenario
from mssim.model.engine import simulate
from mssim.registry import DESIGNS
from mssim.trial.analyses.mann_whitney import mann_whitney
from mssim.trial.data import trial_data
from mssim.trial.estimands import potential_endpoint
from mssim.trial.grid import grid_steps, on_grid, summary_grid
from mssim.trial.randomization import randomize, total_patients

FSS_STEP = 1 / 9

# FSS scores of 24 patients in ninths above the floor of 1: (baseline, visit 1, visit 2);
# the first 12 are treated. The endpoint is the mean of the two visits minus baseline.
NINTHS = [
    [49, 41, 36], [27, 29, 19], [20, 18, 24], [48, 42, 51], [36, 40, 53], [44, 41, 38],
    [38, 52, 28], [48, 42, 18], [32, 49, 38], [19, 46, 44], [49, 24, 21], [49, 18, 38],
    [20, 29, 35], [33, 32, 19], [18, 22, 18], [42, 37, 41], [27, 40, 46], [32, 35, 54],
    [47, 54, 32], [43, 53, 42], [49, 43, 44], [32, 50, 22], [39, 44, 49], [37, 31, 29],
]  # fmt: skip


def mean_post_minus_baseline(scores: np.ndarray) -> np.ndarray:
    """The parallel design's mean_post endpoint with visits at baseline and two follow-ups."""
    return scores[..., 1:].mean(axis=-1) - scores[..., 0]


def test_summary_grid_of_a_mean_of_two_visits_minus_baseline():
    origin, resolution = summary_grid(mean_post_minus_baseline, 3, 1.0, FSS_STEP)
    assert origin == 0.0
    assert resolution == pytest.approx(FSS_STEP / 2, rel=1e-15)
    origin, resolution = summary_grid(lambda s: s[..., 1], 3, 1.0, FSS_STEP)
    assert (origin, resolution) == (1.0, FSS_STEP)


def test_off_grid_values_and_weights_are_refused():
    with pytest.raises(ValueError, match="not on the grid"):
        grid_steps(np.array([0.0, 0.3]), 0.0, 0.25)
    with pytest.raises(ValueError, match="not simple fractions"):
        summary_grid(lambda s: np.pi * s[..., 0], 2, 0.0, 1.0)


def test_mann_whitney_on_the_grid_matches_wilcox_test():
    """R 4.2.2, on the changes in 18ths of an FSS point (exact rationals, true ties):

    x <- c(-21, -6, 2, -3, 21, -9, 4, -36, 23, 52, -53, -42) / 18
    y <- c(24, -15, 4, -6, 32, 25, -8, 9, -11, 8, 15, -14) / 18
    wilcox.test(x, y, exact = FALSE, correct = TRUE)   # W = 53, p-value = 0.285266767339266
    """
    scores = 1 + np.array(NINTHS) * FSS_STEP
    naive = mean_post_minus_baseline(scores)
    arm = np.r_[np.ones(12), np.zeros(12)]
    everyone = np.ones(24, bool)
    exact = np.array(NINTHS) @ [-2, 1, 1]  # changes in 18ths
    # Floating-point noise splits a true tie, which moves the p-value by 0.013.
    assert len(np.unique(naive)) > len(np.unique(exact))
    assert abs(mann_whitney(naive, arm, everyone).p_value[0] - 0.285266767339266) > 1e-3
    gridded = on_grid(naive, *summary_grid(mean_post_minus_baseline, 3, 1.0, FSS_STEP))
    assert len(np.unique(gridded)) == len(np.unique(exact))
    res = mann_whitney(gridded, arm, everyone)
    u_treated = (res.estimate[0] + 0.5) * 144
    assert u_treated == pytest.approx(53, abs=1e-9)
    assert res.p_value[0] == pytest.approx(0.285266767339266, abs=1e-12)


@pytest.mark.parametrize(
    "overrides",
    [
        ['trial.endpoint="mean_post"', "trial.extra_visit_weeks=[4]"],
        ['trial.estimand="hypothetical"', 'trial.missing_data="locf"'],
        ['trial.design="crossover"', 'trial.analysis="crossover"'],
    ],
    ids=["mean_post", "hypothetical_locf", "crossover"],
)
def test_trial_data_lie_exactly_on_the_endpoint_grid(overrides):
    scenario = load_scenario(None, overrides)
    n = total_patients(scenario, 40)
    outcomes = simulate(scenario, np.arange(4), n)
    data = trial_data(scenario, outcomes, randomize(scenario, outcomes), "fatigue", n)
    design = DESIGNS.get(scenario.trial.design)
    days = outcomes.visit_days
    origin, resolution = summary_grid(
        lambda s: design.observe(scenario, s, np.ones(s.shape, bool), days)[0],
        len(days),
        1.0,
        FSS_STEP,
    )
    expected = resolution if scenario.trial.endpoint == "change" else FSS_STEP / 2
    assert resolution == pytest.approx(expected, rel=1e-15)
    for values, start in ((data.outcome, origin), (data.change, origin - 1.0)):
        steps = np.rint((values - start) / resolution)
        finite = np.isfinite(values)
        # bit-identical to the grid point: equal grid points are equal numbers
        assert np.array_equal(values[finite], (start + steps * resolution)[finite])
        assert len(np.unique(values[finite])) == len(np.unique(steps[finite]))
    mcid = scenario.symptoms.fatigue.mcid
    ok = data.observed
    exact = np.rint(data.change[ok] / resolution) * resolution
    assert np.array_equal(data.responded[ok], exact <= -mcid + 1e-12)
    # the observed Mann-Whitney equals scipy on the changes counted in grid steps
    if scenario.trial.design == "parallel":
        treated, arm = data.contrast(0, 1)[0], data.regimen == 0
        res = mann_whitney(data.change, arm, data.contrast(0, 1)[0])
        for r in range(4):
            a = np.rint(data.change[r, treated[r] & arm[r]] / resolution)
            b = np.rint(data.change[r, treated[r] & ~arm[r]] / resolution)
            ref = stats.mannwhitneyu(a, b, method="asymptotic", use_continuity=True)
            assert res.p_value[r] == pytest.approx(ref.pvalue, rel=1e-12)


def test_potential_outcomes_lie_on_the_endpoint_grid():
    scenario = load_scenario(None, ['trial.endpoint="mean_post"', "trial.extra_visit_weeks=[4]"])
    outcomes = simulate(scenario, np.arange(2), total_patients(scenario, 30))
    change, _ = potential_endpoint(scenario, outcomes, "fatigue")
    steps = np.rint(change / (FSS_STEP / 2))
    assert np.array_equal(change, steps * (FSS_STEP / 2))
