"""Plug-ins register into every seam and then work like built-ins; unknown names are refused."""

import json
from pathlib import Path

import pandas as pd
import pytest

from mssim.config.load import json_schema, load_scenario
from mssim.errors import MssimError
from mssim.montecarlo.power import estimate
from mssim.registry import ANALYSES, DESIGNS, ENDPOINTS, INTERVENTIONS, load_plugin

PLUGINS = Path(__file__).parent / "plugins"
SMALL = ["power.n_per_arm=[10]", "power.chunk_size=10"]


def _run(cli, tmp_path, plugin, *sets, jobs=1):
    out = tmp_path / "run"
    args = ["run", "--plugin", PLUGINS / plugin, "--replicates", 20, "--jobs", jobs]
    args += ["--out", out, "--backend", "processes"]
    for item in [*SMALL, *sets]:
        args += ["--set", item]
    status, _, err = cli(*args)
    assert status == 0, err
    return pd.read_csv(out / "power.csv"), json.loads((out / "manifest.json").read_text())


def test_an_analysis_plugin_runs_in_worker_processes(cli, tmp_path):
    frame, manifest = _run(
        cli, tmp_path, "outcome_welch.py", "trial.analysis=welch_outcome", jobs=2
    )
    assert list(frame.analysis) == ["welch_outcome"]
    assert frame.power.between(0, 1).all() and frame.true_effect.notna().all()
    assert str((PLUGINS / "outcome_welch.py").resolve()) in manifest["plugins"]


def test_an_analysis_plugin_is_called_on_the_same_trials_as_the_built_ins():
    """Common random numbers: same patients and truth; only the analysis differs."""
    load_plugin(str(PLUGINS / "outcome_welch.py"))
    s = load_scenario(None, SMALL)
    ours = estimate(s, [10], 20, analyses=["welch_outcome", "welch_change"], progress=False)
    assert list(ours.analysis) == ["welch_outcome", "welch_change"]
    assert ours.true_effect.nunique() == 1
    assert ours.mean_estimate.iloc[0] != pytest.approx(ours.mean_estimate.iloc[1], abs=1e-9)


def test_an_endpoint_plugin_changes_what_is_summarized(cli, tmp_path):
    frame, _ = _run(cli, tmp_path, "last_two_visits.py", "trial.endpoint=last_two_visits")
    plain = estimate(load_scenario(None, SMALL), [10], 20, progress=False)
    assert frame.true_effect.iloc[0] != pytest.approx(plain.true_effect.iloc[0], abs=1e-9)


def test_an_intervention_kind_plugin_gives_an_arm_its_defaults(cli, tmp_path):
    _, manifest = _run(
        cli,
        tmp_path,
        "electroacupuncture.py",
        'arms.acupuncture.intervention="electroacupuncture"',
    )
    arm = manifest["scenario"]["arms"]["acupuncture"]
    assert (arm["specific_effect"], arm["weeks"]) == (0.3, 8)
    assert set(arm["adverse_events"]) == {"minor"}
    assert INTERVENTIONS.get("electroacupuncture").needled


def test_a_design_plugin_sets_the_visits(cli, tmp_path):
    frame, _ = _run(cli, tmp_path, "pre_post.py", "trial.design=pre_post")
    assert list(frame.analysis) == ["ancova"]  # analysed as a parallel design
    load_plugin(str(PLUGINS / "pre_post.py"))
    s = load_scenario(None, ["trial.design=pre_post"])
    assert s.trial.visit_weeks() == [0, 12]
    assert DESIGNS.get("pre_post").analysed_as == "parallel"


def test_every_registry_lists_its_names_in_the_schema():
    load_plugin(str(PLUGINS / "outcome_welch.py"))
    trial = json_schema()["$defs"]["Trial"]["properties"]
    assert trial["analysis"]["enum"] == ANALYSES.names()
    assert "welch_outcome" in trial["analysis"]["enum"]
    assert trial["endpoint"]["enum"] == ENDPOINTS.names()
    assert trial["design"]["enum"] == DESIGNS.names()


@pytest.mark.parametrize(
    ("override", "field", "guess"),
    [
        ("trial.analysis=ancva", "trial.analysis", "ancova"),
        ("trial.design=paralel", "trial.design", "parallel"),
        ("trial.endpoint=chnage", "trial.endpoint", "change"),
        ("arms.sham.intervention=shame", "arms.sham.intervention", "sham"),
        ("symptoms.fatigue.instrument=fsss", "symptoms.fatigue.instrument", "fss"),
    ],
)
def test_unknown_names_are_refused_with_a_guess(cli, tmp_path, override, field, guess):
    with pytest.raises(MssimError, match=rf"{field}: unknown .*did you mean '{guess}'"):
        load_scenario(None, [override])
    status, _, err = cli("run", "--set", override, "--out", tmp_path / "never")
    assert status == 2 and f"did you mean '{guess}'" in err
    assert not (tmp_path / "never").exists()


def test_unknown_names_are_refused_in_every_other_place(cli, tmp_path):
    status, _, err = cli("run", "--analysis", "welch", "--out", tmp_path / "a")
    assert status == 2 and "did you mean 'welch_change'" in err
    scenario = tmp_path / "bad.toml"
    scenario.write_text('[trial]\nanalysis = "ancova_clustr"\n')
    status, _, err = cli("validate", scenario)
    assert status == 2 and "bad.toml: trial.analysis: unknown analysis" in err
    status, _, err = cli("sweep", "--grid", "trial.analysis=1,2", "--out", tmp_path / "s")
    assert status == 2 and "trial.analysis" in err
    with pytest.raises(MssimError, match="did you mean 'responder'"):
        estimate(load_scenario(None, SMALL), [10], 5, analyses=["responer"], progress=False)
    with pytest.raises(MssimError, match="unknown design"):
        DESIGNS.get("factorial")
    assert not any((tmp_path / name).exists() for name in ("a", "s"))


def test_a_bad_plugin_is_a_user_error(cli, tmp_path):
    broken = tmp_path / "broken.py"
    broken.write_text("raise RuntimeError('boom')\n")
    status, _, err = cli("validate", "--plugin", broken)
    assert status == 2 and "importing it failed: RuntimeError: boom" in err
    status, _, err = cli("validate", "--plugin", tmp_path / "absent.py")
    assert status == 2 and "no such file" in err
    status, _, err = cli("validate", "--plugin", "no_such_module_anywhere")
    assert status == 2 and "no module or file" in err


def test_a_name_cannot_be_registered_twice():
    with pytest.raises(MssimError, match="analysis 'ancova' is already registered"):
        ANALYSES.register(
            ANALYSES.get("welch_change").__class__(
                name="ancova", estimand="mean_difference", wording="", function=print
            )
        )


def test_an_analysis_plugin_works_in_simulate_sweep_and_report(cli, tmp_path):
    plugin = ["--plugin", PLUGINS / "outcome_welch.py"]
    status, _, err = cli(
        "simulate", *plugin, "--n", 12, "--analysis", "welch_outcome", "--out", tmp_path / "one"
    )
    assert status == 0, err
    table = pd.read_csv(tmp_path / "one" / "analysis.csv")
    assert list(table.method) == ["welch_outcome"]
    status, _, err = cli(
        "sweep",
        *plugin,
        "--set",
        "trial.analysis=welch_outcome",
        "--set",
        "power.n_per_arm=[10]",
        "--grid",
        "dropout.rate=0.1,0.2",
        "--replicates",
        10,
        "--out",
        tmp_path / "sweep",
    )
    assert status == 0, err
    assert set(pd.read_csv(tmp_path / "sweep" / "sweep.csv").analysis) == {"welch_outcome"}
    status, _, err = cli("report", *plugin, tmp_path / "sweep")
    assert status == 0, err
    report = (tmp_path / "sweep" / "report.html").read_text()
    assert "t-test on the endpoint score" in report  # the plug-in's own wording
