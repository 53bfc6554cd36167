"""A refused mssim run, sweep or validate does not load the engine or numba (issue 14).

Each case runs in a fresh interpreter, so nothing imported by another test
can hide an import.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
CHECK = """
import json, sys
from mssim.commands.cli import main
status = main(sys.argv[1:])
loaded = sorted(m for m in ("numba", "mssim.model.engine", "mssim.model.rng") if m in sys.modules)
print(json.dumps({"status": status, "loaded": loaded}))
"""


@pytest.mark.parametrize(
    "args",
    [
        ["run", "--set", "arms.acupuncture.specific_effect=nan"],
        ["run", "--set", "trial.analysis=no_such_analysis"],
        ["run", "--set", "arms.acupuncture.start_day=1000000000"],
        ["run", "--analysis", "welch", "--analysis", "welch"],
        ["run", "--analysis", "crossover"],
        ["run", "--set", "trial.design=crossover", "--analysis", "responder"],
        ["run", "--target", "1.5"],
        ["run", "--replicates", "10000000"],
        ["validate", "--set", "trial.analysis=no_such_analysis"],
        ["sweep", "--grid", "no_such.field=1,2"],
        ["sweep", "--grid", "dropout.rate=0.1,0.1"],
    ],
    ids=lambda args: " ".join(args[1:]),
)
def test_a_refusal_does_not_import_numba(tmp_path, args):
    done = subprocess.run(
        [sys.executable, "-c", CHECK, *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"},
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"status": 2, "loaded": []}, done.stderr
    assert "mssim: error:" in done.stderr and "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []
