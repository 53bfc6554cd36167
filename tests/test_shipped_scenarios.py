"""Every shipped scenario runs end to end from the command line, and its report renders.

A new user's first step is ``mssim run scenarios/<name>.toml``; a crash there
(e.g. a closed form with no answer for a true effect of 0) is caught here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

SCENARIOS = sorted((Path(__file__).parent.parent / "scenarios").glob("*.toml"))


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_run_and_report(cli, tmp_path, path):
    out = tmp_path / "run"
    status, printed, err = cli("run", path, "--replicates", 3, "--out", out)
    assert status == 0, err
    assert "Traceback" not in err
    assert "results in" in printed
    assert (out / "power.csv").exists() and (out / "manifest.json").exists()
    status, _, err = cli("report", out)
    assert status == 0, err
    assert (out / "report.html").stat().st_size > 1000
