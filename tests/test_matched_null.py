"""The matched null: the scenario's own null, run with the scenario's random numbers."""

import math
from pathlib import Path

import numpy as np
import pytest

from mssim.config.load import load_scenario
from mssim.model.engine import simulate
from mssim.montecarlo.matched_null import matched_null, null_overrides, null_scenario
from mssim.trial.randomization import randomize, total_patients

ROOT = Path(__file__).resolve().parents[1]


UNBLINDED = [  # verum unblinded and riskier than its sham
    "arms.acupuncture.guess_verum=0.6",
    "arms.acupuncture.adverse_events.minor.per_patient=0.3",
]


def test_null_changes_only_the_treatment_and_keeps_the_seed():
    s = load_scenario(None, UNBLINDED)
    null = null_scenario(s)
    assert null.seed == s.seed
    assert null.arms["acupuncture"].specific_effect == 0.0
    # the verum arm is blinded and risky like its sham comparator
    assert null.arms["acupuncture"].guess_verum == s.arms["sham"].guess_verum
    minor = null.arms["acupuncture"].adverse_events["minor"].per_patient
    assert minor == s.arms["sham"].adverse_events["minor"].per_patient
    assert null.arms["sham"] == s.arms["sham"]
    assert null.model_dump(exclude={"arms"}) == s.model_dump(exclude={"arms"})
    assert set(null_overrides(s)) == {
        "arms.acupuncture.specific_effect",
        "arms.acupuncture.guess_verum",
        "arms.acupuncture.adverse_events.minor.per_patient",
    }
    # arms that already match need nothing but the specific effect
    assert set(null_overrides(load_scenario(None, []))) == {"arms.acupuncture.specific_effect"}


@pytest.mark.parametrize("overrides", [UNBLINDED[:1], UNBLINDED])
def test_null_shares_the_replicates(overrides):
    s = load_scenario(None, overrides)
    null = null_scenario(s)
    reps = np.array([3, 7, 11])
    n = total_patients(s, 20)
    a, b = simulate(s, reps, n), simulate(null, reps, n)
    np.testing.assert_array_equal(randomize(s, a), randomize(null, b))
    np.testing.assert_array_equal(a.relapse_onsets, b.relapse_onsets)
    # baseline visit, every regimen: the same cohort and noise
    np.testing.assert_array_equal(a.scores[:, :, :, 0], b.scores[:, :, :, 0])
    # the treatment is what differs: acupuncture's follow-up scores change
    acu = [r.name for r in a.regimens].index("acupuncture")
    assert not np.array_equal(a.scores[:, :, acu, -1], b.scores[:, :, acu, -1])
    sham = [r.name for r in a.regimens].index("sham")
    if len(overrides) == 1:  # blinding only: the sham's potential outcomes are untouched
        np.testing.assert_array_equal(a.scores[:, :, sham], b.scores[:, :, sham])
        np.testing.assert_array_equal(a.dropout_day, b.dropout_day)
    # (a verum risk changed too moves the dropout hazard calibrated over all arms,
    # model.dropout, so some sham patients drop out on other days)


def test_matched_null_has_zero_true_effect_and_nominal_type_i_error():
    s = load_scenario(None, UNBLINDED)
    null = matched_null(s, [30], 400, progress=False)
    assert null.true_effect == 0.0 and null.defined
    row = null.at(30)
    assert int(row.replicates) == 400
    # ANCOVA at alpha 0.05 under the null: within 3 MCSE of the nominal level
    assert abs(row.power - 0.05) <= 3 * math.sqrt(0.05 * 0.95 / 400)
    assert "type I error" in null.sentence(30, 0.05)


def test_null_against_an_unneedled_arm_is_not_a_null_of_the_contrast():
    three = load_scenario(
        ROOT / "scenarios" / "three_arm.toml", ['trial.contrasts=["acupuncture - usual_care"]']
    )
    null = matched_null(three, [20], 100, progress=False)
    assert set(null_overrides(three)) == {"arms.acupuncture.specific_effect"}
    assert not null.defined and null.true_effect < 0  # needling's non-specific effect remains
    assert "not defined" in null.sentence(20, 0.05)
    assert "non-specific effect of needling against an arm without needles" in null.sentence(
        20, 0.05
    )


def test_a_non_inferiority_null_at_zero_effect_is_not_its_null(cli, tmp_path):
    sets = ['trial.hypothesis="non_inferiority"', "trial.margin=0.3", "power.n_per_arm=[10]"]
    null = matched_null(load_scenario(None, sets), [10], 20, progress=False)
    assert not null.defined
    assert "non-inferior side of the margin (the null is +0.3 or worse)" in null.sentence(10, 0.05)
    args = [x for s in sets for x in ("--set", s)]
    status, out, err = cli("run", *args, "--replicates", 20, "--out", tmp_path / "r")
    assert status == 0, err
    assert "so rejecting there is power" in out
    html = (tmp_path / "r" / "report.html").read_text()
    assert "(one-sided non-inferiority tests at alpha / 2 = 0.025, margin 0.3 points" in html
    assert "non-inferior side of the margin" in html and "two-sided alpha" not in html
