"""Priors outside ``mssim run``: simulate shows one assurance replicate; the others refuse."""

import json

import numpy as np
import pandas as pd
import pytest

from mssim.config.load import load_scenario
from mssim.montecarlo.assurance import run_assurance
from mssim.montecarlo.power import chunk_statistics

EFFECT = "arms.acupuncture.specific_effect"
PRIORS = f"""[trial]
n_per_arm = 10
[power]
n_per_arm = [10]
[priors."{EFFECT}"]
distribution = "normal"
mean = 0.2
sd = 0.1
"""


def scenario_file(tmp_path, text=PRIORS):
    path = tmp_path / "priors.toml"
    path.write_text(text)
    return path


def primary_estimate(folder) -> float:
    table = pd.read_csv(folder / "analysis.csv")
    row = table[(table.endpoint == "fatigue") & (table.method == "ancova")].iloc[0]
    return float(row.estimate)


def test_simulate_replicate_k_is_the_trial_that_assurance_simulated(cli, tmp_path):
    path = scenario_file(tmp_path)
    result = run_assurance(load_scenario(path), replicates=4, chunk_size=4, progress=False)
    out = tmp_path / "one"
    status, printed, err = cli("simulate", path, "--replicate", 3, "--out", out)
    assert status == 0, err
    drawn = float(result.draws[EFFECT].iloc[3])
    assert len(set(result.draws[EFFECT])) == 4  # the replicates drew different values
    assert f"replicate 3 drew from the priors: {EFFECT} = {drawn:.6g}" in printed
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["replicate"] == 3
    assert manifest["prior_draws"] == {EFFECT: drawn}
    assert manifest["scenario"]["arms"]["acupuncture"]["specific_effect"] == drawn
    # the very trial: the estimate assurance analysed for replicate 3
    assert primary_estimate(out) == result.stats["estimate"][0, 0, 0, 0, 3]  # bit for bit


def test_simulate_replicate_k_without_priors_uses_replicate_ks_streams(cli, tmp_path):
    path = scenario_file(tmp_path, PRIORS.split("[priors")[0])
    status, printed, _ = cli("simulate", path, "--replicate", 2, "--out", tmp_path / "two")
    assert status == 0 and "drew from the priors" not in printed
    stats = chunk_statistics(load_scenario(path), [10], ["ancova"], np.array([2]))
    assert primary_estimate(tmp_path / "two") == stats["estimate"][0, 0, 0, 0, 0]
    status, _, _ = cli("simulate", path, "--out", tmp_path / "zero")
    assert primary_estimate(tmp_path / "zero") != primary_estimate(tmp_path / "two")


@pytest.mark.parametrize(
    "command,arguments",
    [
        ("sweep", ["--grid", "dropout.rate=0.1,0.2", "--replicates", "2"]),
        ("sensitivity", ["--replicates", "2"]),
        ("literature", []),
    ],
)
def test_commands_that_use_fixed_values_refuse_priors(cli, tmp_path, command, arguments):
    path = scenario_file(tmp_path)
    out = tmp_path / "out"
    status, printed, err = cli(command, path, *arguments, "--out", out)
    assert (status, printed) == (2, "") and "Traceback" not in err
    assert f"{path}: priors: mssim {command} does not draw from priors" in err
    assert "run 'mssim run'" in err and "remove the [priors] table" in err
    assert not out.exists()


def test_the_dashboard_refuses_priors_before_serving(cli, tmp_path, monkeypatch):
    import mssim.views.dashboard as dashboard

    served = []
    monkeypatch.setattr(dashboard, "serve", lambda *a, **k: served.append(a))
    path = scenario_file(tmp_path)
    status, printed, err = cli("dashboard", path)
    assert (status, printed) == (2, "") and "Traceback" not in err
    assert f"{path}: priors: mssim dashboard does not draw from priors" in err
    assert served == []
