"""One validation path for every input: finite, in range, merged, consistent (issue 14)."""

from pathlib import Path

import pytest

from mssim.config.load import json_schema, load_scenario
from mssim.config.relevance import inert_reason
from mssim.errors import MssimError
from mssim.montecarlo.sweep import sweep_points

SCENARIOS = Path(__file__).parent.parent / "scenarios"

FLOAT_FIELDS = [
    "symptoms.fatigue.mean",
    "symptoms.fatigue.between_sd",
    "symptoms.pain.day_sd",
    "symptoms.sleep.drift_days",
    "symptoms.fatigue.measurement_sd",
    "symptoms.fatigue.reference_sd",
    "symptoms.pain.mcid",
    "symptoms.fatigue.relapse_jump",
    "coupling.sleep_to_fatigue",
    "mechanism.persistence",
    "mechanism.loadings.fatigue.autonomic",
    "mechanism.treatment_response.cortisol",
    "population.edss_median",
    "population.response_sd",
    "population.screening.min_score",
    "population.screening.max_score",
    "relapses.annual_rate.rrms",
    "relapses.frailty_shape",
    "relapses.recovery_half_life_days",
    "arms.acupuncture.specific_effect",
    "arms.acupuncture.nonspecific_effect",
    "arms.acupuncture.targets.fatigue",
    "arms.acupuncture.half_life_days",
    "arms.acupuncture.practitioner_sd",
    "arms.acupuncture.sessions_per_week",
    "arms.acupuncture.drug.effect",
    "dropout.strength",
    "blinding.expectation_gain",
    "trial.period_effect",
    "trial.alpha",
    "power.target",
    "power.mcse_target",
]


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e300"])
@pytest.mark.parametrize("field", FLOAT_FIELDS)
def test_non_finite_and_huge_floats_are_refused_naming_the_field(field, value, tmp_path, cli):
    path = tmp_path / "s.toml"
    path.write_text("")
    status, out, err = cli("validate", path, "--set", f"{field}={value}")
    assert status == 2 and out == "" and "Traceback" not in err
    assert f"{path}: " in err and field in err
    expected = "finite number" if value in ("nan", "inf", "-inf") else "less than"
    assert expected in err, err


def test_every_number_in_the_schema_has_a_range():
    """Every float field (and every number inside a table) declares its bounds."""
    schema = json_schema()
    unbounded = []

    def visit(node, path):
        if not isinstance(node, dict):
            return
        if node.get("type") == "number":
            low = "minimum" in node or "exclusiveMinimum" in node
            high = "maximum" in node or "exclusiveMaximum" in node
            if not (low and high):
                unbounded.append(path)
        for key, child in node.items():
            if isinstance(child, dict):
                visit(child, f"{path}.{key}")
            elif isinstance(child, list):
                for i, item in enumerate(child):
                    visit(item, f"{path}.{key}[{i}]")

    visit(schema, "")
    assert not unbounded


def test_nan_effect_is_refused_before_anything_is_written(tmp_path, cli):
    out = tmp_path / "run"
    status, _, err = cli(
        "run", "--set", "arms.acupuncture.specific_effect=nan", "--replicates", 2, "--out", out
    )
    assert status == 2 and "arms.acupuncture.specific_effect" in err and "finite" in err
    assert not out.exists()


def test_one_target_merges_with_the_default_targets():
    base = load_scenario(SCENARIOS / "pain.toml")
    changed = load_scenario(SCENARIOS / "pain.toml", ["arms.acupuncture.targets.fatigue=0.5"])
    assert changed.arms["acupuncture"].targets == {"fatigue": 0.5, "pain": 1.0, "sleep": 1.0}
    assert changed.effect_points("acupuncture", "pain") == base.effect_points("acupuncture", "pain")


def test_one_relapse_rate_merges_with_the_others():
    s = load_scenario(None, ["relapses.annual_rate.rrms=0.5"])
    assert s.relapses.annual_rate == {"rrms": 0.5, "spms": 0.15, "ppms": 0.03}


def test_one_loading_merges_with_the_default_loadings():
    s = load_scenario(None, ["mechanism.loadings.fatigue.autonomic=0.9"])
    assert s.mechanism.loadings["fatigue"] == {
        "autonomic": 0.9,
        "cortisol": 0.2,
        "inflammation": 0.4,
    }
    assert s.mechanism.loadings["sleep"]["melatonin"] == -0.5


def test_a_table_in_the_file_is_merged_into_not_replaced(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text("[relapses.annual_rate]\nrrms = 1.0\nspms = 0.5\nppms = 0.1\n")
    s = load_scenario(path, ["relapses.annual_rate.ppms=0.2"])
    assert s.relapses.annual_rate == {"rrms": 1.0, "spms": 0.5, "ppms": 0.2}


def test_a_whole_table_override_still_replaces():
    with pytest.raises(MssimError, match="annual_rate needs exactly rrms, spms and ppms"):
        load_scenario(None, ["relapses.annual_rate={rrms=0.5}"])


CONTRADICTIONS = [
    (["arms.acupuncture.start_day=700"], "arms.acupuncture.start_day", "give start_day <= 84"),
    (["population.screening.min_score=8"], "population.screening.min_score", "allowed 1 to 7"),
    (["population.screening.max_score=0.5"], "population.screening.max_score", "allowed 1 to 7"),
    (
        ["population.screening.max_score=3"],
        "population.screening.max_score",
        "give max_score >= min_score",
    ),
    (['trial.contrasts=["sham - sham"]'], "trial.contrasts.0", "compares an arm with itself"),
    (
        ['trial.contrasts=["acupuncture - sham", "acupuncture - sham"]'],
        "trial.contrasts.1",
        "list each contrast once",
    ),
    (['trial.secondary_endpoints=["fatigue"]'], "trial.secondary_endpoints.0", "already"),
    (
        ['trial.secondary_endpoints=["pain", "pain"]'],
        "trial.secondary_endpoints.1",
        "list each endpoint once",
    ),
    (
        ['arms={acupuncture={intervention="acupuncture"}, ""={intervention="sham"}}'],
        "arms.: arm name ''",
        "cannot name a contrast",
    ),
    (["arms.acupuncture.weeks=0"], "arms.acupuncture.weeks", "needs sessions"),
    (["arms.sham.sessions_per_week=0"], "arms.sham.weeks", "sessions_per_week > 0"),
    (["power.n_per_arm=[]"], "power.n_per_arm", "at least 1 item"),
    (["trial.follow_up_weeks=[100000]"], "trial.follow_up_weeks.0", "less than or equal to 520"),
    (["power.mcse_target=1e-6"], "power.mcse_target", "greater than or equal to 0.001"),
]


@pytest.mark.parametrize(("overrides", "field", "fix"), CONTRADICTIONS)
def test_contradictions_are_refused_saying_what_to_change(overrides, field, fix, cli):
    args = [arg for o in overrides for arg in ("--set", o)]
    status, out, err = cli("validate", *args)
    assert status == 2 and out == "" and "Traceback" not in err
    assert field in err and fix in err, err


def test_arm_names_that_break_contrasts_are_refused(tmp_path, cli):
    path = tmp_path / "s.toml"
    path.write_text(
        '[arms."verum - real"]\nintervention = "acupuncture"\n[arms.sham]\nintervention = "sham"\n'
    )
    status, _, err = cli("validate", path)
    assert status == 2 and "arms.verum - real" in err and "' - '" in err


@pytest.mark.parametrize("value", ["1.5", "nan", "0", "-0.1", "1"])
def test_target_flag_is_validated_like_the_file(value, tmp_path, cli):
    out = tmp_path / "run"
    status, _, err = cli("run", "--target", value, "--replicates", 2, "--out", out)
    assert status == 2 and "--target" in err and "power.target" in err, err
    assert not out.exists()


def test_replicates_and_chunk_size_flags_obey_the_schema_caps(tmp_path, cli):
    out = tmp_path / "run"
    status, _, err = cli("run", "--replicates", 10**9, "--out", out)
    assert status == 2 and "--replicates" in err and "power.replicates" in err
    assert "less than or equal to 10000000" in err
    status, _, err = cli("run", "--chunk-size", 10**6, "--replicates", 2, "--out", out)
    assert status == 2 and "--chunk-size" in err and "power.chunk_size" in err
    status, _, err = cli("sweep", "--grid", "dropout.rate=0.1", "--replicates", 10**9, "--out", out)
    assert status == 2 and "power.replicates" in err
    assert not out.exists()


INERT = [
    ("mechanism.persistence", [], "mechanism layer is off"),
    ("symptoms.bladder.mean", [], "not simulated"),
    ("population.screening.min_score", ["population.screening.enabled=false"], "screening is off"),
    ("dropout.strength", [], "'mar' or 'mnar'"),
    ("trial.washout_weeks", [], "crossover design only"),
    ("trial.period_effect", [], "crossover design only"),
    ("trial.block_size", ['trial.randomization="simple"'], "simple randomization"),
    ("power.target", [], "do not change a simulated trial"),
    ("arms.acupuncture.targets.fatigue", ["mechanism.enabled=true"], "through the mediators"),
]


@pytest.mark.parametrize(("field", "overrides", "reason"), INERT)
def test_sweeping_a_field_that_changes_nothing_is_refused(field, overrides, reason, tmp_path, cli):
    scenario = load_scenario(None, overrides)
    assert reason in inert_reason(scenario, field)
    args = [arg for o in overrides for arg in ("--set", o)]
    out = tmp_path / "sweep"
    status, _, err = cli("sweep", *args, "--grid", f"{field}=1,2", "--out", out)
    assert status == 2 and f"--grid {field}: sweeping it would change nothing" in err
    assert not out.exists()


@pytest.mark.parametrize(
    "field",
    ["mechanism.persistence", "symptoms.bladder.mean", "dropout.strength", "trial.period_effect"],
)
def test_the_same_fields_are_swept_once_they_matter(field):
    on = {
        "mechanism.persistence": ["mechanism.enabled=true"],
        "symptoms.bladder.mean": ["symptoms.bladder.enabled=true"],
        "dropout.strength": ['dropout.mechanism="mar"'],
        "trial.period_effect": [],
    }[field]
    scenario = load_scenario(
        SCENARIOS / "crossover.toml" if field == "trial.period_effect" else None, on
    )
    assert inert_reason(scenario, field) is None
    assert len(sweep_points(scenario, {field: [0.5, 0.6]}, None)) == 2


def test_repeated_grid_values_are_refused():
    with pytest.raises(MssimError, match=r"dropout.rate: 0.1 given more than once"):
        sweep_points(load_scenario(None), {"dropout.rate": [0.1, 0.2, 0.1]}, None)
