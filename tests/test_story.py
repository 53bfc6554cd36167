"""The literature story: every sentence against a field where its premise is false.

The fields are built from hand-made study tables (no simulation), so each
premise (a small-study effect, missing trials, open-label trials, a
publication filter, switched outcomes, a non-zero truth) can be switched off
alone; the sentence that reports it must then be absent.
"""

import numpy as np
import pandas as pd
import pytest

from mssim.literature.bias import EGGER_ALPHA
from mssim.literature.field import OPEN_LABEL, PUBLISHED_SHAM, SHAM_CONTROLLED, field_from_studies
from mssim.outputs.story import story

SES = np.repeat([0.1, 0.2, 0.3, 0.4, 0.5], 2)  # pairs of equal precision


def make(estimates, ses=SES, designs=None, published=None, switched=None, truth=-0.25):
    k = len(estimates)
    published = np.ones(k, bool) if published is None else np.asarray(published)
    studies = pd.DataFrame(
        {
            "study": np.arange(1, k + 1),
            "design": designs if designs is not None else [SHAM_CONTROLLED] * k,
            "n_per_arm": np.rint(2.4**2 / np.asarray(ses) ** 2).astype(int),
            "estimate": estimates,
            "se": ses,
            "significant": np.abs(np.asarray(estimates) / ses) > 1.96,
            "published": published,
            "switched": np.zeros(k, bool) if switched is None else switched,
        }
    )
    studies["publication_order"] = (
        pd.Series(np.where(published, np.arange(k), np.nan)).rank().astype("Int64")
    )
    return field_from_studies(studies, truth, -0.8, "fatigue", "FSS points")


def symmetric():
    """Each pair of equally precise studies straddles -0.3 by the same amount."""
    return -0.3 + np.tile([0.05, -0.05], 5) * np.arange(1, 11) / 5


def funnel(sign=-1.0):
    """Small studies report larger effects (sign -1: larger benefits), with scatter."""
    return -0.2 + sign * 3.0 * SES + np.tile([0.03, -0.03], 5)


def test_a_symmetric_all_published_sham_literature_claims_none_of_the_biases():
    field = make(symmetric())
    pooled = field.pooled("published")
    row = field.meta[(field.meta.subset == "published") & (field.meta.method == "dl")].iloc[0]
    assert row.egger_p > EGGER_ALPHA
    text = story(field)
    for absent in (
        "small trials report",  # Egger's test shows no asymmetry
        "missing trials on",  # trim-and-fill imputes none
        "open-label",  # no open-label trial
        "usual care",
        "Comparator bias",
        "Publication bias",  # every trial was published
        "trials run:",
        "Outcome switching",  # nobody switched
        "sham-controlled trials:",  # the only design: no separate pool is told
    ):
        assert absent not in text, absent
    assert "no funnel asymmetry shown" in text and "k0 = 0" in text
    assert f"{pooled.estimate:+.2f}" in text


def test_a_funnel_of_larger_benefits_is_told_and_its_mirror_is_not():
    larger, smaller = story(make(funnel(-1.0))), story(make(funnel(+1.0)))
    assert "small trials report larger benefits" in larger
    assert "small trials report smaller benefits" in smaller
    assert "larger benefits)" not in smaller


def test_no_ratio_to_a_zero_truth():
    assert "times the true effect" in story(make(symmetric()))
    assert "times the true effect" not in story(make(symmetric(), truth=0.0))


def test_publication_bias_needs_a_filter_and_comparator_bias_a_published_open_label_trial():
    designs = [SHAM_CONTROLLED, OPEN_LABEL] * 5
    filtered = np.array([True, False] * 5)  # only sham-controlled trials reach print
    text = story(make(funnel(), designs=designs, published=filtered))
    assert "Publication bias:" in text and "Comparator bias" not in text
    assert "open-label trials estimate acupuncture - usual care" in text
    both = story(make(funnel(), designs=designs, published=np.arange(10) < 8))
    assert "Publication bias:" in both and "Comparator bias: 4 published open-label" in both


def test_without_a_published_sham_trial_the_two_biases_are_not_separated():
    designs = [SHAM_CONTROLLED, OPEN_LABEL] * 5
    field = make(funnel(), designs=designs, published=np.array([False, True] * 5))
    assert (field.meta[field.meta.subset == PUBLISHED_SHAM].k == 0).all()
    text = story(field)
    assert "cannot be told apart" in text
    assert "Publication bias:" not in text and "Comparator bias" not in text


def test_switched_outcomes_are_told_only_when_a_published_trial_switched():
    switched = np.zeros(10, bool)
    switched[3] = True
    assert "Outcome switching: 1 of 10" in story(make(symmetric(), switched=switched))
    hidden = story(make(symmetric(), switched=switched, published=np.arange(10) != 3))
    assert "Outcome switching" not in hidden


def test_nothing_published_means_nothing_pooled():
    text = story(make(symmetric(), published=np.zeros(10, bool)))
    assert text.splitlines()[-1] == "No trial was published: there is nothing to pool."
    assert "Pooled" not in text and "Egger" not in text


@pytest.mark.parametrize("subset", ["published", "all", SHAM_CONTROLLED, PUBLISHED_SHAM])
def test_meta_has_each_subset_pooled_from_its_own_studies(subset):
    designs = np.array([SHAM_CONTROLLED, OPEN_LABEL] * 5)
    published = np.arange(10) < 7
    field = make(funnel(), designs=designs, published=published)
    chosen = {
        "published": published,
        "all": np.ones(10, bool),
        SHAM_CONTROLLED: designs == SHAM_CONTROLLED,
        PUBLISHED_SHAM: published & (designs == SHAM_CONTROLLED),
    }[subset]
    y, v = funnel()[chosen], SES[chosen] ** 2
    w = 1 / v  # DerSimonian-Laird by hand
    q = float(w @ (y - w @ y / w.sum()) ** 2)
    tau2 = max(0.0, (q - (len(y) - 1)) / (w.sum() - (w**2).sum() / w.sum()))
    pooled = field.pooled(subset)
    assert pooled.k == chosen.sum()
    assert pooled.estimate == pytest.approx(float((y / (v + tau2)).sum() / (1 / (v + tau2)).sum()))


def test_a_shift_that_rounds_to_zero_claims_no_direction():
    from mssim.outputs.story import _shift

    assert _shift(-0.004) == "no shift at two decimals"
    assert _shift(-0.006) == "a shift of -0.01 toward larger benefits"
    assert _shift(0.02) == "a shift of +0.02 toward smaller benefits"
