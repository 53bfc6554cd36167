"""Preflight: absurd sizes are refused from the sizes alone, before any work (issue 14)."""

import subprocess
import sys
import tracemalloc

import numpy as np
import pytest

from mssim.config import sizes
from mssim.config.load import load_scenario
from mssim.montecarlo.power import chunk_statistics

MIB = 2**20


@pytest.mark.parametrize(
    ("path", "overrides"),
    [
        (None, []),
        ("scenarios/three_arm.toml", []),
        ("scenarios/crossover.toml", []),
        (None, ["trial.follow_up_weeks=[52]"]),
        (None, ["mechanism.enabled=true"]),
    ],
)
def test_estimate_is_above_the_measured_peak_and_close_to_it(path, overrides):
    scenario = load_scenario(path, overrides)
    n, reps = scenario.power.n_per_arm, 20
    chunk_statistics(scenario, [10], [scenario.trial.analysis], np.arange(1))  # compile first
    tracemalloc.start()
    chunk_statistics(scenario, n, [scenario.trial.analysis], np.arange(reps))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    patients = max(n) * (2 if scenario.trial.design == "crossover" else len(scenario.arms))
    estimated = reps * patients * sizes.patient_bytes(scenario)
    assert peak <= estimated <= 2 * peak, (peak / MIB, estimated / MIB)


ABSURD = [
    ["run", "--replicates", "10000000"],
    ["run", "--max-memory", "200M"],
    ["sweep", "--grid", "dropout.rate=0.1,0.2", "--lhs", "1000000000"],
    [
        "sweep",
        "--grid",
        "arms.acupuncture.specific_effect=" + ",".join(str(i / 1000) for i in range(1000)),
        "--grid",
        "dropout.rate=" + ",".join(str(i / 1001) for i in range(1000)),
    ],
    ["literature", "--studies", "1000000000"],
    ["simulate", "--n", "10000000"],
    ["run", "--set", "trial.follow_up_weeks=[520]", "--replicates", "1000000"],
]


@pytest.mark.parametrize("args", ABSURD, ids=lambda a: " ".join(a)[:40])
def test_absurd_sizes_are_refused_before_the_engine_is_loaded(args, tmp_path):
    """In a fresh process: exit 2 with the estimate, the engine never imported, under 300 MiB."""
    code = (
        "import sys\n"
        "from mssim.commands.cli import main\n"
        f"status = main({args!r} + ['--out', 'out'])\n"
        "assert 'mssim.model.engine' not in sys.modules, 'the engine was loaded'\n"
        # the high-water mark of this process's memory since exec (kB)
        "print(open('/proc/self/status').read().split('VmHWM:')[1].split()[0])\n"
        "raise SystemExit(status)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert done.returncode == 2, done.stderr
    assert "peak memory about" in done.stderr and "Traceback" not in done.stderr
    assert int(done.stdout.split()[-1]) * 1024 < 300 * MIB
    assert list(tmp_path.iterdir()) == []


def test_jobs_are_capped_at_the_cores_unless_forced(cli, tmp_path):
    jobs = sizes.cores() + 1
    status, _, err = cli("run", "--jobs", jobs, "--replicates", 2, "--out", tmp_path / "r")
    assert status == 2 and f"this machine has {sizes.cores()} cores" in err
    assert "--force-jobs" in err and not (tmp_path / "r").exists()
    assert sizes.check_jobs(jobs, force=True) == jobs


def test_chunk_size_is_lowered_to_fit_the_budget():
    scenario = load_scenario(None)
    per_replicate = 300 * sizes.patient_bytes(scenario)
    budget = sizes.BASE_BYTES * 2 + 10 * per_replicate + 2**22
    plan = sizes.monte_carlo(scenario, 1000, [20, 150], chunk_size=100, budget=budget)
    assert 1 <= plan.chunk_size < 100 and plan.memory <= budget
    assert sizes.monte_carlo(scenario, 1000, [150], chunk_size=100, budget=2**40).chunk_size == 100


def test_lowered_chunk_size_gives_the_same_results(tmp_path, cli):
    """The budget changes the chunk size, never the numbers."""
    base = ["run", "--replicates", 6, "--set", "power.n_per_arm=[10]", "--jobs", 1]
    assert cli(*base, "--out", tmp_path / "a")[0] == 0
    scenario = load_scenario(None, ["power.n_per_arm=[10]"])
    budget = sizes.BASE_BYTES * 2 + 2**12 + 3 * 20 * sizes.patient_bytes(scenario)
    assert sizes.monte_carlo(scenario, 6, [10], budget=budget).chunk_size < 6
    assert cli(*base, "--max-memory", f"{budget // 1024}K", "--out", tmp_path / "b")[0] == 0
    assert (tmp_path / "a" / "power.csv").read_bytes() == (
        tmp_path / "b" / "power.csv"
    ).read_bytes()


@pytest.mark.parametrize(
    ("text", "value"), [("4G", 4 * 2**30), ("500M", 500 * MIB), ("1.5GiB", int(1.5 * 2**30))]
)
def test_parse_memory(text, value):
    assert sizes.parse_memory(text) == value


@pytest.mark.parametrize("text", ["", "lots", "-1G", "12Q", "0.5K"])
def test_bad_max_memory_is_refused(text, cli, capsys):
    with pytest.raises(SystemExit) as stop:
        cli("run", "--max-memory", text)
    assert stop.value.code == 2 and "--max-memory" in capsys.readouterr().err


def test_port_out_of_range_is_refused(cli, capsys):
    with pytest.raises(SystemExit) as stop:
        cli("dashboard", "--port", 70000)
    assert stop.value.code == 2 and "expected a TCP port 1-65535" in capsys.readouterr().err
