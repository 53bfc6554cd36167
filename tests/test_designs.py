"""Designs: randomization, estimand strategies and missing data (issue: designs and analyses)."""

import numpy as np
import pytest

from mssim.config.load import load_scenario
from mssim.errors import MssimError
from mssim.model.engine import simulate
from mssim.model.outcomes import NEVER
from mssim.trial.data import trial_data
from mssim.trial.estimands import true_effects
from mssim.trial.randomization import randomize, randomized, total_patients


def allocation(overrides, n_per_arm=24, replicates=6):
    s = load_scenario(None, overrides)
    o = simulate(s, np.arange(replicates), total_patients(s, n_per_arm))
    return s, o, randomize(s, o)


def test_permuted_blocks_balance_every_block():
    _, _, alloc = allocation(["trial.block_size=4"])
    blocks = alloc.reshape(alloc.shape[0], -1, 4)
    assert (blocks.sum(axis=-1) == 2).all()


def test_unequal_allocation_ratio():
    s, _, alloc = allocation(["trial.allocation={acupuncture=2, sham=1}", "trial.block_size=6"])
    assert total_patients(s, 24) == 72
    assert ((alloc == 0).sum(axis=1) == 48).all() and ((alloc == 1).sum(axis=1) == 24).all()


def test_stratified_blocks_balance_within_each_stratum():
    _, o, alloc = allocation(
        ["trial.randomization=stratified", "trial.stratify_by=ms_type", "trial.block_size=2"],
        n_per_arm=40,
    )
    for r in range(alloc.shape[0]):
        for stratum in range(3):
            arms = alloc[r][o.cohort.ms_type[r] == stratum]
            assert abs((arms == 0).sum() - (arms == 1).sum()) <= 1


def test_simple_randomization_is_not_forced_to_balance():
    _, _, alloc = allocation(["trial.randomization=simple"], n_per_arm=50, replicates=20)
    share = (alloc == 0).mean(axis=1)
    assert len(set(share)) > 1 and abs(share.mean() - 0.5) < 4 * 0.5 / np.sqrt(alloc.size)


def test_hypothetical_strategy_censors_after_relapse_and_uses_no_relapse_truth():
    s, o, alloc = allocation(
        [
            "trial.estimand=hypothetical",
            "relapses.annual_rate={rrms=3.0, spms=3.0, ppms=3.0}",
            "dropout.rate=0.0",
            # adverse events that never make anyone leave: only relapses censor
            *(
                f"arms.{arm}.adverse_events={{minor={{per_patient=0.2, dropout=0.0}}}}"
                for arm in ("acupuncture", "sham")
            ),
        ]
    )
    n = alloc.shape[1]
    data = trial_data(s, o, alloc, "fatigue", n)
    onsets = o.relapse_onsets
    relapsed = ((onsets >= 1) & (onsets <= 84)).any(-1)
    assert relapsed.any()
    assert not data.observed[relapsed].any() and data.observed[~relapsed].all()
    assert not np.array_equal(o.scores, o.scores_no_relapse)


def test_composite_strategy_counts_relapse_as_failure():
    s, o, alloc = allocation(
        [
            "trial.estimand=composite",
            "trial.analysis=responder",
            "relapses.annual_rate={rrms=3.0, spms=3.0, ppms=3.0}",
        ]
    )
    data = trial_data(s, o, alloc, "fatigue", alloc.shape[1])
    relapsed = ((o.relapse_onsets >= 1) & (o.relapse_onsets <= 84)).any(-1)
    assert relapsed.any() and not data.responded[relapsed].any()


@pytest.mark.parametrize("method", ["locf", "bocf"])
def test_carrying_forward_fills_dropouts(method):
    s, o, alloc = allocation([f"trial.missing_data={method}", "dropout.rate=0.5"])
    data = trial_data(s, o, alloc, "fatigue", alloc.shape[1])
    dropped = data.dropped_out
    assert dropped.any() and data.observed[dropped].mean() > 0.5
    if method == "bocf":
        day = np.take_along_axis(o.dropout_day, alloc[..., None], axis=2)[..., 0]
        early = dropped & (day <= 42)  # gone before the week-6 visit: only the baseline is seen
        assert early.any()
        np.testing.assert_array_equal(data.change[early], 0.0)


def test_truth_is_the_same_whoever_is_allocated():
    s, o, _ = allocation([])
    truth = true_effects(s, o, "fatigue")["mean_difference"]
    assert truth.shape == (6, 1) and (truth < 0).all()
    assert (
        o.relapse_onsets[o.relapse_onsets < NEVER] >= -s.population.screening.days_before_baseline
    ).all()


def test_n_per_arm_counts_patients_in_each_smallest_arm():
    """2:1 gives n in the comparator and 2n in the other arm; 2:2 is 1:1."""
    s = load_scenario(None, ["trial.allocation={acupuncture = 2, sham = 1}", "trial.block_size=6"])
    assert total_patients(s, 30) == 90
    trials = randomized(s, simulate(s, [0, 1], total_patients(s, 30)))
    counts = [np.bincount(row, minlength=2).tolist() for row in trials.allocation]
    assert counts == [[60, 30], [60, 30]]  # blocks of 6 fill exactly
    even = load_scenario(None, ["trial.allocation={acupuncture = 2, sham = 2}"])
    assert even.allocation_ratio() == {"acupuncture": 1, "sham": 1}
    assert total_patients(even, 30) == 60


def test_allocation_without_a_smallest_arm_of_ratio_one_is_refused():
    with pytest.raises(MssimError, match=r"trial\.allocation: n_per_arm counts"):
        load_scenario(None, ["trial.allocation={acupuncture = 3, sham = 2}"])
