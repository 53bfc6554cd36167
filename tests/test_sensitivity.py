"""Sensitivity: Morris screening (SALib) of the assumptions, with common random numbers."""

import json

import pandas as pd
import pytest

from mssim.config.load import load_scenario, with_overrides
from mssim.errors import MssimError
from mssim.montecarlo.sensitivity import candidate_fields, factor_ranges, morris_screening

EFFECT = "arms.acupuncture.specific_effect"
DIARY = "symptoms.fatigue.diary_sd"  # diaries are not used by a visit endpoint


def test_specific_effect_ranks_above_the_diary_sd_of_a_visit_endpoint():
    s = load_scenario(None, [])
    assert s.trial.primary_endpoint == "fatigue" and s.trial.endpoint == "change"  # of visit scores
    result = morris_screening(
        s, [DIARY, EFFECT, "symptoms.fatigue.day_sd"], 60, 100, 4, progress=False
    )
    table = result.table.set_index("field")
    assert table.loc[EFFECT, "rank"] < table.loc[DIARY, "rank"]
    assert table.loc[EFFECT, "mu_star"] > 0.1
    # common random numbers: a field the endpoint never reads changes nothing at all
    assert table.loc[DIARY, "mu_star"] == 0.0
    assert table.loc[DIARY, "power_low"] == table.loc[DIARY, "power_high"] == result.base_power
    # a larger benefit has more power, one at a time
    assert table.loc[EFFECT, "power_high"] > result.base_power > table.loc[EFFECT, "power_low"]
    assert len(result.points) == 1 + 2 * 3 + 4 * (3 + 1)


def test_candidates_are_assumptions_and_effects_the_scenario_uses():
    s = load_scenario(None, [])
    fields = candidate_fields(s)
    assert EFFECT in fields and DIARY in fields
    assert "arms.acupuncture.nonspecific_effect" in fields
    assert not any(f.startswith(("power.", "trial.")) for f in fields)  # design settings
    assert not any(f.startswith("symptoms.spasticity.") for f in fields)  # not simulated
    assert "dropout.strength" not in fields  # inert under MCAR dropout


def test_ranges_are_half_the_value_either_side_and_stay_valid():
    s = load_scenario(None, ["arms.acupuncture.guess_verum=0.6"])  # 0.9 + 0.3 > 1 at the ends
    names = [EFFECT, "arms.acupuncture.guess_verum", "arms.acupuncture.guess_dont_know"]
    ranges = {f.field: f for f in factor_ranges(s, names)}
    assert (ranges[EFFECT].low, ranges[EFFECT].high) == pytest.approx((0.1, 0.3))
    verum, dont = ranges["arms.acupuncture.guess_verum"], ranges["arms.acupuncture.guess_dont_know"]
    assert verum.high + dont.high <= 1.0  # bound together: narrowed
    assert "narrowed" in verum.range_note
    with_overrides(
        s,
        [
            f"arms.acupuncture.guess_verum={verum.high!r}",
            f"arms.acupuncture.guess_dont_know={dont.high!r}",
        ],
    )


def test_bad_fields_are_refused():
    s = load_scenario(None, [])
    with pytest.raises(MssimError, match="not a field"):
        factor_ranges(s, ["arms.acupuncture.no_such_field"])
    with pytest.raises(MssimError, match="non-zero number"):
        factor_ranges(s, ["trial.period_effect"])
    with pytest.raises(MssimError, match="change nothing"):
        factor_ranges(s, ["dropout.strength"])
    with pytest.raises(MssimError, match="at least two"):
        morris_screening(s, [EFFECT], replicates=10, trajectories=2)


def test_command_writes_table_tornado_and_report(tmp_path, cli):
    args = ["--field", EFFECT, "--field", DIARY, "--replicates", 40, "--trajectories", 2]
    status, out, err = cli("sensitivity", *args, "--n", 30, "--seed", 3, "--out", tmp_path / "s")
    assert status == 0, err
    folder = tmp_path / "s"
    table = pd.read_csv(folder / "sensitivity.csv")
    assert list(table.field) == [EFFECT, DIARY]
    for name in ("tornado.png", "tornado.svg", "report.html", "sensitivity_points.csv"):
        assert (folder / name).stat().st_size > 0, name
    assert json.loads((folder / "manifest.json").read_text())["seed"] == 3
    html = (folder / "report.html").read_text()
    assert 'id="sensitivity"' in html and 'id="committee"' in html
    assert "power" in out and EFFECT in out
    # another scenario's run folder is refused, before anything runs
    status, _, err = cli("sensitivity", *args, "--run", folder)
    assert status == 2 and "not a finished run folder" in err
