"""The calibration matrix behind ``mssim selfcheck`` (run here in its --quick form)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from mssim.montecarlo.calibration import MCSE_LIMIT, TRIALS, _checks
from mssim.montecarlo.selfcheck import print_checks
from mssim.registry import ANALYSES


def test_quick_selfcheck_passes_and_lists_what_it_skips(cli):
    status, out, _ = cli("selfcheck", "--quick", "--jobs", "1")
    assert status == 0, out
    assert "0 failed" in out and "FAILED" not in out
    # every (trial kind, analysis) pair is either checked or listed as skipped
    for kind in TRIALS:
        for entry in ANALYSES:
            checked = f"{kind.name} null: type I error, {entry.name}," in out
            skipped = any(line.split()[:2] == [kind.name, entry.name] for line in out.splitlines())
            assert checked != skipped, (kind.name, entry.name)
    assert "clustered null: type I error, ancova_cluster" in out
    assert "crossover alternative: coverage, crossover" in out
    assert "its SE assumes independent patients" in out
    # one-sided type I error at the non-inferiority margin, alpha / 2
    for name in ("ancova", "ancova_cluster", "responder", "welch_change"):
        assert f"parallel margin: type I error, {name}," in out
    assert "crossover margin: type I error, crossover," in out
    assert "'mann_whitney' does not test the non_inferiority hypothesis" in out


def _result(power: float, coverage: float, replicates: int = 1000) -> pd.Series:
    return pd.Series(
        {
            "analysis": "ancova",
            "contrast": "acupuncture - usual_care",
            "power": power,
            "power_mcse": math.sqrt(power * (1 - power) / replicates),
            "coverage": coverage,
            "replicates": replicates,
            "test_level": 0.05,
        }
    )


def test_an_anti_conservative_analysis_fails_and_is_named(capsys):
    # type I error 0.0745 and coverage 0.92 at 1000 replicates: 0.0245 and 0.03 from
    # nominal, beyond 3.5 MCSE (0.0241 for both)
    rows = _checks("clustered", "null", _result(0.0745, 0.92), 0.05)
    tol = MCSE_LIMIT * math.sqrt(0.05 * 0.95 / 1000)
    assert [r["tolerance"] for r in rows] == pytest.approx([tol, tol], rel=1e-12)
    assert [r["passed"] for r in rows] == [False, False]
    table = pd.DataFrame(
        [
            {
                "check": f"{r['trial']} {r['effect']}: {r['quantity']}, {r['analysis']}",
                **{k: r[k] for k in ("value", "mcse", "expected", "tolerance", "passed")},
            }
            for r in rows
        ]
    )
    print_checks(table, pd.DataFrame(columns=["trial", "analysis", "reason"]))
    out = capsys.readouterr().out
    assert "0 passed, 2 failed" in out
    assert "FAILED: clustered null: type I error, ancova" in out
    assert "FAILED: clustered null: coverage, ancova" in out


def test_within_the_limit_passes_and_power_is_reported():
    assert all(r["passed"] for r in _checks("parallel", "null", _result(0.06, 0.94), 0.05))
    power = _checks("parallel", "alternative", _result(0.8, 0.95), 0.05)[1]
    assert power["quantity"] == "power" and math.isnan(power["expected"])
