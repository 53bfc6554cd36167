"""Teaching demonstrations: each returns a frame and a Figure, and teaches what it says."""

import math
from pathlib import Path

import pandas as pd
import pytest
from matplotlib.figure import Figure

from mssim.config.load import load_scenario
from mssim.views import demonstrations as demo

ROOT = Path(__file__).parent.parent


@pytest.fixture(scope="module")
def default():
    return load_scenario(ROOT / "scenarios" / "default.toml")


@pytest.fixture(scope="module")
def null():
    return load_scenario(ROOT / "scenarios" / "null_effect.toml")


def check(result):
    frame, fig = result
    assert isinstance(frame, pd.DataFrame) and len(frame)
    assert isinstance(fig, Figure)
    return frame


def test_significance_filter_exaggerates_at_small_n(default):
    frame = check(demo.significance_filter(default, n_per_arm=(10, 20, 80), replicates=200))
    small, large = frame.iloc[1], frame.iloc[-1]
    assert small.n_per_arm == 20
    assert small.exaggeration > 1.5 + 3 * small.exaggeration_mcse
    assert large.exaggeration < small.exaggeration
    assert frame.power.is_monotonic_increasing


def test_type_s_is_large_only_for_tiny_effects(default):
    # 0.05 SD: tiny but not zero (a zero specific effect is a true null: type S undefined)
    frame = check(demo.type_s_at_small_effects(default, (0.05, 0.4), replicates=300))
    tiny, big = frame.iloc[0], frame.iloc[1]
    assert abs(tiny.true_effect) < abs(big.true_effect)
    assert tiny.type_s > big.type_s + 2 * tiny.type_s_mcse


def test_regression_to_the_mean_without_treatment(default):
    frame = check(demo.regression_to_the_mean(default))
    usual = frame[frame.arm == "usual_care"].set_index("screening")
    gap = usual.change_from_entry["off"] - usual.change_from_entry["on"]
    se = math.hypot(usual.change_from_entry_se["on"], usual.change_from_entry_se["off"])
    assert usual.change_from_entry["on"] < 0  # apparent improvement, no treatment at all
    assert gap > 3 * se
    assert usual.mean_entry["on"] > usual.mean_entry["off"]


def test_open_label_contrast_is_bigger(default):
    frame = check(demo.open_label_vs_sham(default, n_per_arm=(20,), replicates=60))
    truth = frame.set_index("contrast").true_effect
    assert truth["acupuncture - usual_care"] < truth["acupuncture - sham"] < 0


def test_uncorrected_endpoints_inflate_the_familywise_error(null):
    frame = check(demo.multiple_endpoints(null, replicates=300))
    six = frame[frame.n_endpoints == 6].set_index("multiplicity")
    assert six.familywise_error["none"] > 0.05 + 3 * six.familywise_error_mcse["none"]
    assert six.familywise_error["holm"] < 0.05 + 3 * six.familywise_error_mcse["holm"]


def test_small_trials_start_unbalanced(default):
    frame = check(demo.baseline_imbalance(default, n_per_arm=(10, 60), replicates=150))
    spread = frame.groupby("n_per_arm").difference.std()
    assert spread[10] > 2 * spread[60]  # about sqrt(6) = 2.4


def test_locf_bias_differs_from_complete_case(default):
    frame = check(demo.locf_under_informative_dropout(default, replicates=150))
    frame = frame.set_index("missing_data")
    locf = frame.loc["locf"]
    assert abs(locf.difference_from_complete_case) > 3 * locf.difference_mcse
    assert frame.dropout_fraction.iloc[0] > 0.2


def test_ignoring_clustering_inflates_the_type_i_error(null):
    frame = check(demo.ignoring_clustering(null, replicates=300))
    verum = frame[frame.setting == "verum only"].set_index("analysis")
    naive, robust = verum.loc["ancova"], verum.loc["ancova_cluster"]
    assert naive.type_i_error > 0.05 + 3 * naive.type_i_error_mcse
    assert robust.type_i_error < naive.type_i_error


def test_plots_draw_on_a_given_axes(default):
    fig = Figure()
    ax = fig.add_subplot()
    _, drawn = demo.regression_to_the_mean(default, n_patients=20, replicates=3, ax=ax)
    assert drawn is fig
