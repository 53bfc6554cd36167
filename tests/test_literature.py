"""A simulated literature: publication filter, meta-analysis, the story it tells."""

import json
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure

from mssim.commands.literature import literature_command
from mssim.config.load import load_scenario
from mssim.errors import MssimError
from mssim.literature.field import (
    OPEN_LABEL,
    SHAM_CONTROLLED,
    Publication,
    simulate_field,
    study_design,
    trial_scenario,
)
from mssim.model.engine import simulate
from mssim.outputs.figures.literature import (
    field_cumulative_plot,
    field_forest_plot,
    field_funnel_plot,
)
from mssim.outputs.story import story
from mssim.trial.analyses.analysis import analyse
from mssim.trial.data import trial_data
from mssim.trial.randomization import randomize, total_patients

ROOT = Path(__file__).parent.parent
DEFAULT = ROOT / "scenarios" / "default.toml"
STUDY_COLUMNS = {
    "study", "n_per_arm", "design", "estimate", "se", "p_value", "significant", "published",
    "smd", "endpoint_reported", "switched", "publication_order", "ci_low", "ci_high",
    "design_effect", "true_effect",
}  # fmt: skip
META_COLUMNS = {
    "method", "subset", "estimate", "se", "ci_low", "ci_high", "tau2", "i2", "k",
    "true_effect", "egger_p", "egger_intercept", "k0",
}  # fmt: skip


@pytest.fixture(scope="module")
def scenario():
    return load_scenario(DEFAULT)


@pytest.fixture(scope="module")
def field(scenario):
    """The default literature at the scenario's own seed (the issue's done-when)."""
    return simulate_field(scenario)


def dl(field, subset):
    m = field.meta
    return m[(m.subset == subset) & (m.method == "dl")].iloc[0]


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"n_studies": 0}, "--studies"),
        ({"publication": Publication(p_nonsignificant=1.5)}, "--p-nonsignificant"),
        ({"publication": Publication(p_nonsignificant=-0.1)}, "[0, 1]"),
        ({"sizes": (1, 20)}, "--min-n"),
        ({"sizes": (30, 20)}, "min <= max"),
        ({"sizes": [10, 20, 30]}, "one size >= 2 per study"),
        ({"open_label_share": 1.2}, "--open-label-share"),
    ],
)
def test_bad_inputs_name_the_option(scenario, kwargs, named):
    with pytest.raises(MssimError, match=named.replace("[", r"\[").replace("]", r"\]")):
        simulate_field(scenario, **{"n_studies": 4, **kwargs})


def test_bad_input_writes_nothing(tmp_path):
    out = tmp_path / "lit"
    with pytest.raises(MssimError, match="--studies"):
        literature_command(DEFAULT, [], out, n_studies=0)
    assert not out.exists()


def test_a_scenario_without_acupuncture_is_refused():
    bee = load_scenario(ROOT / "scenarios" / "wesselius_like.toml")
    with pytest.raises(MssimError, match=r"arms: .*acupuncture"):
        simulate_field(bee, n_studies=4)


def test_the_default_literature_tells_the_story(field):
    """Published DL estimate overstates the benefit; the funnel leans toward benefit."""
    published, truth = dl(field, "published"), field.true_effect
    assert truth < 0
    assert published.estimate - truth < -published.se
    assert published.egger_intercept < 0  # small trials report larger benefits
    assert published.egger_p < 0.05
    all_studies = dl(field, "all")
    assert abs(all_studies.estimate - truth) < abs(published.estimate - truth)
    # pooling every sham-controlled trial, published or not, recovers the truth
    sham = dl(field, SHAM_CONTROLLED)
    assert abs(sham.estimate - truth) < 3 * sham.se
    assert field.open_label_effect < truth  # open label adds expectation and ritual


def test_tables_have_their_columns_and_subsets(field):
    s, m = field.studies, field.meta
    assert set(s.columns) >= STUDY_COLUMNS
    assert set(m.columns) >= META_COLUMNS
    assert len(s) == 40 and set(s.design) == {SHAM_CONTROLLED, OPEN_LABEL}
    assert s.n_per_arm.between(10, 80).all()
    assert set(m.method) == {"dl", "reml", "trim_and_fill"}
    assert set(m.subset) == {"published", "all", SHAM_CONTROLLED, "published_sham_controlled"}
    assert (m.true_effect == field.true_effect).all()
    np.testing.assert_allclose(s.smd * 1.2, s.estimate)  # FSS reference SD 1.2
    assert (s.significant == (s.p_value < 0.05)).all()
    # published is a subset of all: every significant study, plus some others
    assert (s.published >= s.significant).all()
    assert dl(field, "published").k == s.published.sum() < dl(field, "all").k == len(s)
    order = s.publication_order[s.published].sort_values()
    assert order.tolist() == list(range(1, s.published.sum() + 1))
    assert s.publication_order[~s.published].isna().all()
    assert len(field.cumulative) == s.published.sum()
    last = field.cumulative.iloc[-1]
    assert last.estimate == pytest.approx(dl(field, "published").estimate)
    filled = m[m.method == "trim_and_fill"].iloc[0]
    assert filled.k == dl(field, "published").k + filled.k0


def test_each_study_is_the_prefix_of_its_replicate(scenario, field):
    """The shortcut (one simulation at the largest size) equals simulating each study alone."""
    s = field.studies
    for design in (SHAM_CONTROLLED, OPEN_LABEL):
        row = s[s.design == design].iloc[0]
        built = study_design(scenario, design, "welch_change")
        n = total_patients(built, int(row.n_per_arm))
        outcomes = simulate(built, [int(row.study) - 1], n)
        data = trial_data(built, outcomes, randomize(built, outcomes), "fatigue", n)
        alone = analyse("welch_change", data, 0, 1, 0.05)
        assert alone.estimate[0] == pytest.approx(row.estimate, rel=1e-12)
        assert alone.p_value[0] == pytest.approx(row.p_value, rel=1e-12)


def test_publication_probability_extremes(scenario):
    everything = simulate_field(scenario, 12, publication=Publication(1.0), seed=3)
    assert everything.studies.published.all()
    only_significant = simulate_field(scenario, 12, publication=Publication(0.0), seed=3)
    s = only_significant.studies
    assert (s.published == s.significant).all()


def test_outcome_switching_only_adds_significant_results(scenario):
    honest = simulate_field(scenario, 16, seed=5).studies
    switched = simulate_field(scenario, 16, seed=5, publication=Publication(0.2, True)).studies
    assert (switched.significant >= honest.significant).all()
    assert switched.switched.any() and not honest.switched.any()
    kept = ~switched.switched
    np.testing.assert_allclose(switched.estimate[kept], honest.estimate[kept])
    assert (honest.p_value[switched.switched] >= 0.05).all()  # only unlucky authors switch
    assert (switched.estimate[switched.switched] < 0).all()  # and only toward a benefit


def test_explicit_sizes_and_no_open_label(scenario):
    f = simulate_field(scenario, 3, sizes=[12, 20, 30], open_label_share=0.0)
    assert f.studies.n_per_arm.tolist() == [12, 20, 30]
    assert (f.studies.design == SHAM_CONTROLLED).all()
    assert np.isfinite(f.open_label_effect)  # the open-label truth is still reported


def test_figures(field):
    import matplotlib

    for draw in (field_funnel_plot, field_forest_plot, field_cumulative_plot):
        assert isinstance(draw(field), Figure)
    fig = Figure()
    ax = fig.add_subplot()
    assert field_funnel_plot(field, ax=ax) is fig
    assert matplotlib.get_backend().lower() == "agg"


def test_literature_command_writes_the_folder_and_tells_the_story(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    folder = literature_command(DEFAULT, [], None, n_studies=12)
    assert folder.parent == Path("results") / "default"
    assert folder.name.startswith("literature-")
    names = {"studies.csv", "meta.csv", "funnel.png", "forest.png", "cumulative.png"}
    assert names | {"manifest.json"} <= {p.name for p in folder.iterdir()}
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["literature"]["n_studies"] == 12
    printed = capsys.readouterr().out
    for words in ("True specific effect", "Pooled published estimate", "all 12 trials", "k0 ="):
        assert words in printed


def test_story_of_the_default_field(field):
    """Every premise holds in the default field, so every sentence is told."""
    text = story(field)
    assert "Egger's test" in text and "small trials report larger benefits" in text
    for words in ("Publication bias: the published sham-controlled", "Comparator bias:"):
        assert words in text
    assert "missing trials on the side of smaller benefits" in text


def test_designs_are_built_from_the_scenario_arms():
    charite = load_scenario(ROOT / "scenarios" / "charite_like.toml")  # no sham arm
    sham = trial_scenario(charite, ["sham"])
    assert list(sham.arms) == ["acupuncture", "sham"]
    assert sham.arms["sham"].nonspecific_effect == charite.arms["acupuncture"].nonspecific_effect
    assert sham.contrasts() == [("acupuncture", "sham")]
    open_label = trial_scenario(load_scenario(DEFAULT), ["usual_care"], open_label=True)
    assert open_label.arms["acupuncture"].guess_verum == 1.0
    assert open_label.arms["usual_care"].intervention == "usual_care"
