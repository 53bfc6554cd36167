"""The model against the published record (issue: contrasts that hold together).

Each published figure is simulated on a large cohort (montecarlo/published_targets.py);
a figure passes when inside its window widened by 3 MCSE, the MCSE from the spread
over replicates. The effect breakdown adds up to the true effect exactly.
"""

import numpy as np
import pytest

from mssim.config.load import load_scenario
from mssim.model.engine import simulate
from mssim.montecarlo.breakdown import PARTS, effect_breakdown
from mssim.montecarlo.published_targets import TARGETS, published_targets
from mssim.trial.estimands import true_effects


@pytest.fixture(scope="module")
def targets():
    return published_targets().set_index("figure")


@pytest.mark.parametrize("figure", [t.figure for t in TARGETS])
def test_published_target_inside_its_window(targets, figure):
    row = targets.loc[figure]
    assert row.low - 3 * row.mcse <= row.value <= row.high + 3 * row.mcse, row


def test_zero_specific_effect_is_an_exact_null_unless_unblinding_is_asked_for():
    s = load_scenario(None, ["arms.acupuncture.specific_effect=0"])
    o = simulate(s, np.arange(3), 200)
    assert (true_effects(s, o, "fatigue")["mean_difference"] == 0).all()
    u = load_scenario(None, ["arms.acupuncture.specific_effect=0", "blinding.unblinding=0.3"])
    o = simulate(u, np.arange(3), 200)
    # more patients guess verum, so expectation (and the improvement) rises
    assert true_effects(u, o, "fatigue")["mean_difference"].mean() < 0


@pytest.mark.parametrize(
    "overrides",
    [
        [],
        ["blinding.unblinding=0.3", "dropout.mechanism=mnar", "dropout.rate=0.3"],
        ["arms.acupuncture.drug={effect=0.3}", "arms.acupuncture.adherence=0.6"],
    ],
)
def test_breakdown_adds_up_to_the_true_effect(overrides):
    s = load_scenario(None, overrides)
    reps, n = np.arange(2), 120
    table = effect_breakdown(s, reps, n)
    truth = true_effects(s, simulate(s, reps, n), "fatigue")["mean_difference"].mean()
    row = table.iloc[0]
    assert row.true_effect == pytest.approx(truth, abs=1e-12)
    assert sum(row[p] for p in PARTS) == pytest.approx(truth, abs=1e-12)
    if "blinding.unblinding=0.3" in overrides:
        assert row.unblinding < 0  # verum guessed more often: a larger improvement
    if any("drug" in o for o in overrides):
        assert row.drug < 0
    if not overrides:
        assert row.unblinding == pytest.approx(0, abs=0.01) and row.drug == 0


def test_power_table_carries_the_breakdown():
    from mssim.montecarlo.breakdown import breakdown_columns
    from mssim.montecarlo.power import estimate

    s = load_scenario(None)
    plain = estimate(s, [20], 8, progress=False)
    assert not any(c.startswith("effect_") for c in plain.columns)  # only a run adds it
    table = breakdown_columns(s, plain, 8)
    parts = table[[f"effect_{p}" for p in PARTS]].sum(axis=1)
    assert np.allclose(parts, table.breakdown_true_effect, atol=1e-12)
    assert (table.breakdown_replicates == 8).all()
    # the breakdown's cohort is the run's: the same replicates give the same truth
    assert table.breakdown_true_effect.iloc[0] == pytest.approx(table.true_effect.iloc[0])
