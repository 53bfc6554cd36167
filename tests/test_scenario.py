"""Scenario files: layering, validation messages, overrides (issue: installable mssim)."""

import json
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mssim.config.load import load_scenario, to_toml, validate
from mssim.config.scenario import Scenario
from mssim.config.sources import provenance_table
from mssim.errors import MssimError
from mssim.registry import INSTRUMENTS

SCENARIOS = sorted(Path(__file__).parent.parent.joinpath("scenarios").glob("*.toml"))


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_every_shipped_scenario_validates(path, cli):
    status, out, err = cli("validate", path)
    assert status == 0, err
    assert "valid" in out
    assert load_scenario(path).name == path.stem


def test_embedded_default_is_the_default_file():
    embedded = load_scenario()
    from_file = load_scenario(SCENARIOS[[p.stem for p in SCENARIOS].index("default")])
    assert embedded.model_dump(exclude={"description"}) == from_file.model_dump(
        exclude={"description"}
    )


def test_resolved_toml_loads_back_to_the_same_scenario():
    for path in SCENARIOS:
        s = load_scenario(path)
        assert validate(tomllib.loads(to_toml(s)), "roundtrip") == s


def test_scenario_is_frozen():
    s = load_scenario()
    with pytest.raises(Exception):  # noqa: B017 - pydantic's frozen-instance error
        s.seed = 3


def test_overrides_are_toml_values_and_layer_over_the_file():
    s = load_scenario(
        None,
        [
            "power.n_per_arm=[20,40]",
            'trial.analysis="welch_change"',
            "trial.analysis=responder",  # bare word: the shell ate the quotes
            "arms.acupuncture.specific_effect=0.35",
        ],
    )
    assert s.power.n_per_arm == [20, 40]
    assert s.trial.analysis == "responder"
    assert s.arms["acupuncture"].specific_effect == 0.35
    assert set(s.arms) == {"acupuncture", "sham"}  # overriding one arm keeps the others


def test_effects_in_points_and_sd_agree():
    s = load_scenario()
    spec, _ = s.effect_points("acupuncture", "fatigue")
    assert spec == pytest.approx(0.2 * s.symptoms.fatigue.reference_sd)
    pts = load_scenario(
        None,
        [
            "arms.acupuncture.effect_units=points",
            f"arms.acupuncture.specific_effect={spec}",
            "arms.acupuncture.targets={fatigue = 1.0, pain = 0.0, sleep = 0.0}",
        ],
    )
    assert pts.effect_points("acupuncture", "fatigue")[0] == pytest.approx(spec)
    assert pts.effects_in_sd("acupuncture", "fatigue")[0] == pytest.approx(0.2)


def test_effects_in_points_are_points_of_each_targeted_symptom():
    """Points convert with the targeted symptom's own reference SD, never the primary's."""
    s = load_scenario(
        None,
        [
            "trial.primary_endpoint=fatigue",
            "arms.acupuncture.effect_units=points",
            "arms.acupuncture.specific_effect=1.15",
            "arms.acupuncture.targets={fatigue = 0.0, pain = 1.0, sleep = 0.0}",
        ],
    )
    spec_sd, _ = s.effects_in_sd("acupuncture", "pain")
    assert spec_sd == pytest.approx(1.15 / s.symptoms.pain.reference_sd)
    assert s.effect_points("acupuncture", "pain")[0] == pytest.approx(1.15)
    assert s.effect_points("acupuncture", "fatigue")[0] == 0.0


def test_effects_in_points_on_several_instruments_are_refused():
    with pytest.raises(MssimError, match=r"arms\.acupuncture\.effect_units: .*fss, nrs, psqi"):
        load_scenario(None, ["arms.acupuncture.effect_units=points"])


def write(tmp_path, text):
    path = tmp_path / "s.toml"
    path.write_text(text)
    return path


BAD = [
    # (file text or None for the embedded default, overrides, expected fragments)
    (None, [], ["no such scenario file"]),  # missing file: handled below
    ("name = \n", [], ["TOML syntax error", "line 1", "column"]),
    ("[trial]\nn_per_armm = 3\n", [], ["trial.n_per_armm", "unknown key", "'n_per_arm'"]),
    ('[trial]\nn_per_arm = "many"\n', [], ["trial.n_per_arm", "integer", '"many"']),
    ("[trial]\nn_per_arm = -4\n", [], ["trial.n_per_arm", "greater than or equal to 2", "-4"]),
    ("[trial]\nalpha = 0.7\n", [], ["trial.alpha", "less than or equal to 0.5", "0.7"]),
    ("[trial]\nalpha = 0\n", [], ["trial.alpha", "greater than 0", "0"]),
    ("[dropout]\nrate = 1.5\n", [], ["dropout.rate", "less than 1", "1.5"]),
    (
        '[trial]\nprimary_endpoint = "bladder"\n',
        [],
        ["trial.primary_endpoint", "not a simulated symptom", "fatigue, pain, sleep"],
    ),
    (
        '[trial]\ncontrasts = ["acupuncture - placebo"]\n',
        [],
        ["trial.contrasts.0", "'placebo' is not defined", "acupuncture, sham"],
    ),
    (
        "[trial]\nallocation = { usual_care = 2 }\n",
        [],
        ["trial.allocation.usual_care", "not defined"],
    ),
    ("", ["trial.alpha"], ["--set 'trial.alpha'", "malformed override", "dotted.key=VALUE"]),
    ("", ["trial.alpha=[0.1,"], ["--set trial.alpha", "not a TOML value"]),
    ("", ["trial.alpha.x=1"], ["trial.alpha", "valid number", "given a table"]),
    ("[trial]\nalpha = 0.1\n", ["trial.alpha.x=1"], ["trial.alpha is a value, not a table"]),
    (
        "[symptoms.fatigue]\nday_sd = -1.0\n",
        [],
        ["symptoms.fatigue.day_sd", "greater than or equal to 0", "-1.0"],
    ),
    (
        "[symptoms.pain]\nautocorrelation = 1.0\n",
        [],
        ["symptoms.pain.autocorrelation", "less than 1", "1.0"],
    ),
    (
        '[arms.a]\nintervention = "acupuncture"\nsessions_per_week = -2\n[arms.b]\nintervention = "sham"\n',
        [],
        ["arms.a.sessions_per_week", "greater than or equal to 0"],
    ),
    (
        '[arms.a]\nintervention = "acupuncture"\nadherence = 1.2\n[arms.b]\nintervention = "sham"\n',
        [],
        ["arms.a.adherence", "less than or equal to 1"],
    ),
    (
        '[arms.a]\nintervention = "acupunture"\n[arms.b]\nintervention = "sham"\n',
        [],
        ["arms.a.intervention", "'acupuncture'", '"acupunture"'],
    ),
    ('[trial]\nanalysis = "anova"\n', [], ["trial.analysis", "unknown analysis 'anova'", "ancova"]),
    ('[trial]\nanalysis = "crossover"\n', [], ["trial.analysis", "does not fit design 'parallel'"]),
]


@pytest.mark.parametrize("text,overrides,fragments", BAD[1:], ids=[b[2][0] for b in BAD[1:]])
def test_bad_input_exits_2_with_a_message_naming_file_and_field(
    tmp_path, cli, text, overrides, fragments
):
    path = write(tmp_path, text)
    args = ["validate", path]
    for o in overrides:
        args += ["--set", o]
    status, out, err = cli(*args)
    assert status == 2
    assert out == ""
    assert "Traceback" not in err
    assert str(path) in err
    for fragment in fragments:
        assert fragment in err, (fragment, err)


def test_missing_file_exits_2(tmp_path, cli):
    status, _, err = cli("validate", tmp_path / "nope.toml")
    assert status == 2 and "nope.toml: no such scenario file" in err


def test_bad_input_writes_nothing(tmp_path, cli):
    out = tmp_path / "run"
    status, _, err = cli("run", "--set", "trial.alpha=2", "--out", out, "--replicates", 2)
    assert status == 2 and "trial.alpha" in err
    assert not out.exists()
    status, _, err = cli("simulate", "--set", "dropout.rate=-1", "--out", out)
    assert status == 2 and "dropout.rate" in err
    assert not out.exists()


def test_schema_is_json_schema(cli):
    status, out, _ = cli("schema")
    schema = json.loads(out)
    assert status == 0
    assert {"trial", "arms", "symptoms", "power", "dropout"} <= set(schema["properties"])


def test_version_and_help(cli, capsys):
    from mssim import __version__
    from mssim.commands.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0 and __version__ in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "examples:" in capsys.readouterr().out


# ---- property tests: random documents and overrides -----------------------
keys = st.sampled_from(
    [
        "name",
        "seed",
        "trial.n_per_arm",
        "trial.alpha",
        "trial.analysis",
        "dropout.rate",
        "dropout.mechanism",
        "symptoms.fatigue.day_sd",
        "symptoms.pain.autocorrelation",
        "arms.acupuncture.specific_effect",
        "arms.sham.intervention",
        "power.n_per_arm",
        "population.screening.min_score",
        "trial.design",
        "trial.primary_endpoint",
        "bogus.key",
        "trial.weeks",
        "relapses.annual_rate.rrms",
        "mechanism.enabled",
    ]
)
values = st.one_of(
    st.integers(-5, 200).map(str),
    st.floats(-2, 2, allow_nan=False).map(repr),
    st.sampled_from(
        [
            '"ancova"',
            '"crossover"',
            '"sham"',
            '"pain"',
            "true",
            "[20, 40]",
            "[]",
            '"mnar"',
            "{a = 1}",
            "nan",
            "inf",
            '"x"',
            "[1,",
            "=",
            "",
        ]
    ),
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.tuples(keys, values), max_size=5))
def test_random_overrides_give_a_scenario_or_our_error(pairs):
    try:
        s = load_scenario(None, [f"{k}={v}" for k, v in pairs])
    except MssimError as err:
        assert str(err)
    else:
        assert isinstance(s, Scenario)


toml_text = st.lists(
    st.one_of(
        st.tuples(keys, values).map(lambda kv: f"{kv[0]} = {kv[1]}"),
        st.sampled_from(["[trial]", "[arms.x]", "[symptoms.fatigue]", "[[power]]", "[", "x"]),
    ),
    max_size=6,
).map("\n".join)


@settings(max_examples=150, deadline=None)
@given(toml_text)
def test_random_documents_give_a_scenario_or_our_error(text):
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "random.toml"
        path.write_text(text)
        try:
            s = load_scenario(path)
        except MssimError as err:
            assert str(path) in str(err)
        else:
            assert isinstance(s, Scenario)


def test_choosing_an_instrument_brings_its_own_defaults_and_sources():
    s = load_scenario(None, ["symptoms.fatigue.instrument=mfis"])
    fatigue = s.symptoms.fatigue
    mfis = INSTRUMENTS.get("mfis")
    assert (fatigue.reference_sd, fatigue.mcid, fatigue.measurement_sd) == (15.0, 4.0, 2.6)
    assert s.population.screening.min_score == mfis.screening_cutoff == 34.0
    table = provenance_table(s).set_index("field")
    assert "Nourbakhsh 2021" in table.loc["symptoms.fatigue.reference_sd", "source"]
    assert "Rooney 2019" in table.loc["symptoms.fatigue.mcid", "source"]
    assert "Nourbakhsh 2021" in table.loc["population.screening.min_score", "source"]
    assert table.loc["symptoms.fatigue.reference_sd", "status"] != "changed in this scenario"
    scored = [f"symptoms.fatigue.{f}" for f in ("reference_sd", "mcid", "measurement_sd")]
    assert not any(table.loc[f, "source"].startswith("FSS") for f in scored)


def test_symptom_specific_values_hold_only_on_the_usual_instrument():
    s = load_scenario()
    assert s.symptoms.spasticity.reference_sd == 1.8  # NRS in those treated (Flachenecker 2014)
    psqi = load_scenario(None, ["symptoms.spasticity.enabled=true"])
    assert psqi.symptoms.spasticity.reference_sd == 1.8
    on_fss = load_scenario(None, ["symptoms.pain.instrument=fss"])
    assert on_fss.symptoms.pain.reference_sd == INSTRUMENTS.get("fss").reference_sd


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        (["population.screening.min_score=8"], "population.screening.min_score: 8 is outside"),
        (
            ["symptoms.fatigue.instrument=mfis", "symptoms.fatigue.reference_sd=1.2"],
            "symptoms.fatigue.reference_sd: 1.2 is implausible for MFIS",
        ),
        (["symptoms.fatigue.mcid=5"], "symptoms.fatigue.mcid: 5 is implausible for FSS"),
    ],
)
def test_values_implausible_for_the_instrument_are_refused(overrides, field):
    with pytest.raises(MssimError, match=field.replace(".", r"\.")):
        load_scenario(None, overrides)


def test_old_keys_work_for_one_release_with_a_warning_naming_the_new_key(cli, tmp_path):
    path = tmp_path / "old.toml"
    path.write_text("[trial]\ninterim_weeks = [4]\n")
    with pytest.warns(
        FutureWarning, match="trial.interim_weeks is deprecated.*trial.extra_visit_weeks"
    ):
        s = load_scenario(path)
    assert s.trial.extra_visit_weeks == [4]
    status, _, err = cli("validate", path)
    assert status == 0
    assert "mssim: warning: " in err and "use trial.extra_visit_weeks" in err
    both = tmp_path / "both.toml"
    both.write_text("[trial]\ninterim_weeks = [4]\nextra_visit_weeks = [4]\n")
    status, _, err = cli("validate", both)
    assert status == 2 and "give only trial.extra_visit_weeks" in err
