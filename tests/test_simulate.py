"""`mssim simulate`: one trial's files (issues: virtual patients, treatments, analyses)."""

import json

import numpy as np
import pandas as pd
import pytest

from mssim.registry import ANALYSES


@pytest.fixture(scope="module")
def one_trial(tmp_path_factory):
    from mssim.commands.cli import main

    out = tmp_path_factory.mktemp("sim") / "trial"
    assert (
        main(
            [
                "simulate",
                "--n",
                "15",
                "--seed",
                "7",
                "--out",
                str(out),
                "--analysis",
                "all",
                "--set",
                "dropout.rate=0.3",
            ]
        )
        == 0
    )
    return out


def test_writes_every_file(one_trial):
    names = {p.name for p in one_trial.iterdir()}
    assert {
        "patients.csv",
        "daily.csv",
        "visits.csv",
        "sessions.csv",
        "relapses.csv",
        "arms.csv",
        "analysis.csv",
        "trajectories.png",
        "manifest.json",
    } <= names
    assert not [p for p in one_trial.parent.iterdir() if p.name.startswith(".")]


def test_patient_table(one_trial):
    p = pd.read_csv(one_trial / "patients.csv")
    assert {
        "patient_id",
        "arm",
        "baseline",
        "outcome",
        "change",
        "dropped_out",
        "relapses",
        "ms_type",
        "edss",
        "responder",
        "expectation",
        "guess",
        "practitioner",
        "sessions_attended",
        "ae_acupuncture_minor",
    } <= set(p.columns)
    assert len(p) == 30 and set(p.arm) == {"acupuncture", "sham"}
    assert (p.groupby("arm").size() == 15).all()
    assert p.dropped_out.any()
    # change is outcome - baseline, exactly on the FSS grid of 1/9 (equal changes are
    # equal numbers), so it differs from the floating-point difference only by rounding
    change, difference = p.change.dropna(), (p.outcome - p.baseline).dropna()
    assert len(change) == len(difference) > 0
    np.testing.assert_allclose(change, difference, rtol=0, atol=1e-12)
    assert (change == np.rint(change * 9) * (1 / 9)).all()


def test_daily_and_visits_are_long_tables(one_trial):
    d = pd.read_csv(one_trial / "daily.csv")
    assert list(d.columns) == ["patient_id", "arm", "day", "symptom", "latent", "observed"]
    assert set(d.symptom) == {"fatigue", "pain", "sleep"}
    assert d.day.min() < 0 < d.day.max()
    dropped = pd.read_csv(one_trial / "patients.csv").query("dropped_out")
    first = dropped.iloc[0]
    after = d[(d.patient_id == first.patient_id) & (d.day >= first.dropout_day)]
    assert after.observed.isna().all()
    v = pd.read_csv(one_trial / "visits.csv")
    assert {"patient_id", "arm", "week", "symptom", "score", "observed"} <= set(v.columns)
    assert set(v.week) == {0, 6, 12}


def test_analysis_table_names_method_contrast_and_estimand(one_trial):
    a = pd.read_csv(one_trial / "analysis.csv")
    assert {
        "endpoint",
        "contrast",
        "method",
        "estimate",
        "se",
        "ci_low",
        "ci_high",
        "p_value",
        "n_analysed",
        "estimand",
    } <= set(a.columns)
    assert set(a.method) == {m.name for m in ANALYSES if m.fits("parallel")}
    assert set(a.contrast) == {"acupuncture - sham"}
    assert a.estimand.str.contains("treatment_policy").all()
    ok = a[a.method != "responder"]
    assert (ok.ci_low < ok.estimate).all() and (ok.estimate < ok.ci_high).all()


def test_manifest(one_trial):
    m = json.loads((one_trial / "manifest.json").read_text())
    assert (
        m["seed"] == 7 and m["scenario"]["dropout"]["rate"] == 0.3 and m["engine"] == "vectorized"
    )


def test_analysis_that_does_not_fit_is_refused(tmp_path, cli):
    status, _, err = cli("simulate", "--analysis", "crossover", "--out", tmp_path / "x")
    assert status == 2 and "does not fit" in err and not (tmp_path / "x").exists()
    status, _, err = cli("simulate", "--analysis", "anova", "--out", tmp_path / "x")
    assert status == 2 and "'anova'" in err


def test_crossover_trial(tmp_path, cli):
    from pathlib import Path

    path = Path(__file__).parent.parent / "scenarios" / "crossover.toml"
    status, _, _ = cli("simulate", path, "--n", "8", "--out", tmp_path / "c")
    assert status == 0
    p = pd.read_csv(tmp_path / "c" / "patients.csv")
    assert set(p.arm) == {"acupuncture then sham", "sham then acupuncture"}


def test_relapse_table_agrees_with_patient_counts(tmp_path, cli):
    out = tmp_path / "r"
    status, _, _ = cli(
        "simulate",
        "--n",
        "20",
        "--out",
        out,
        "--set",
        "relapses.annual_rate={rrms=3.0, spms=3.0, ppms=3.0}",
    )
    assert status == 0
    patients = pd.read_csv(out / "patients.csv").set_index("patient_id")
    relapses = pd.read_csv(out / "relapses.csv")
    assert relapses.during_trial.any() and (~relapses.during_trial).any()
    counts = relapses[relapses.during_trial].groupby("patient_id").size()
    counts = counts.reindex(patients.index, fill_value=0)
    assert (counts == patients.relapses).all()
    assert (relapses.onset_day[relapses.during_trial] >= 1).all()
