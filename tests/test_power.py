"""Monte Carlo core: invariants, resume, scale-out, sample size (issue: parallel Monte Carlo)."""

import signal
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mssim.config.load import load_scenario
from mssim.montecarlo.calibration import NULL_EFFECT
from mssim.montecarlo.power import chunk_statistics, estimate, wilson

ROOT = Path(__file__).parent.parent
SMALL = ["power.n_per_arm=[10, 20]"]


def test_wilson_interval_matches_statsmodels():
    from statsmodels.stats.proportion import proportion_confint

    for k, n in [(0, 10), (3, 10), (57, 200), (200, 200)]:
        np.testing.assert_allclose(
            wilson(k, n), proportion_confint(k, n, method="wilson"), atol=1e-12
        )


def test_identical_for_any_jobs_backend_and_chunk_size():
    s = load_scenario(None, SMALL)
    base = estimate(s, replicates=24, chunk_size=24, n_jobs=1, progress=False)
    for jobs, chunk, backend in [(2, 5, "threads"), (1, 7, "threads"), (2, 6, "processes")]:
        other = estimate(
            s, replicates=24, chunk_size=chunk, n_jobs=jobs, backend=backend, progress=False
        )
        pd.testing.assert_frame_equal(base, other, check_exact=True)


def test_chunk_statistics_do_not_depend_on_the_chunk():
    s = load_scenario(None, SMALL)
    whole = chunk_statistics(s, [10, 20], ["ancova"], np.arange(6))
    parts = [
        chunk_statistics(s, [10, 20], ["ancova"], np.arange(a, b)) for a, b in [(0, 2), (2, 6)]
    ]
    for key, value in whole.items():
        np.testing.assert_array_equal(value, np.concatenate([p[key] for p in parts], axis=-1))


NON_NULL = ["default", "three_arm", "pain", "sleep", "crossover", "charite_like", "mechanistic"]


@pytest.mark.parametrize("name", NON_NULL)
def test_power_is_monotone_in_n_on_shipped_scenarios(name):
    """With common random numbers, power never falls as n grows beyond its paired MCSE."""
    s = load_scenario(ROOT / "scenarios" / f"{name}.toml")
    n = sorted(s.power.n_per_arm)
    reject = chunk_statistics(s, n, [s.trial.analysis], np.arange(200))["reject"][0]
    for e in range(reject.shape[1]):
        for c in range(reject.shape[2]):
            steps = np.diff(reject[:, e, c], axis=0)  # paired, replicate by replicate
            mcse = steps.std(axis=1, ddof=1) / np.sqrt(steps.shape[1])
            assert (steps.mean(axis=1) >= -3 * mcse).all(), (name, steps.mean(axis=1), mcse)
            total = reject[-1, e, c] - reject[0, e, c]
            assert (
                total.mean() > 3 * total.std(ddof=1) / np.sqrt(total.size)
                or reject[0, e, c].mean() > 0.95
            )


def test_peak_memory_is_bounded_by_the_chunk_not_by_replicates():
    s = load_scenario(None, ["power.n_per_arm=[20]"])

    def peak(replicates):
        tracemalloc.start()
        estimate(s, replicates=replicates, chunk_size=20, progress=False)
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    small, large = peak(40), peak(160)
    assert large < 1.25 * small, (small, large)


def test_selfcheck_null_matches_the_shipped_file():
    shipped = load_scenario(ROOT / "scenarios" / "null_effect.toml")
    built = load_scenario(None, NULL_EFFECT)
    skip = {"name", "description"}
    assert shipped.model_dump(exclude=skip) == built.model_dump(exclude=skip)


#: Replicates of the interrupted run, one per chunk: enough chunks that the run
#: cannot finish between two polls of ``wait_for_chunks`` (a chunk takes milliseconds).
RUN_CHUNKS = 60


def run_cli(out, *extra):
    cmd = [
        sys.executable,
        "-m",
        "mssim.commands.cli",
        "run",
        "--replicates",
        str(RUN_CHUNKS),
        "--chunk-size",
        "1",
        "--out",
        str(out),
        "--set",
        "power.n_per_arm=[10,20]",
        *extra,
    ]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)


def wait_for_chunks(out, k, proc, timeout=120):
    start = time.time()
    while len(list((out / "chunks").glob("chunk-*.npz"))) < k:
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.time() - start < timeout
        time.sleep(0.05)


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "kill-9"])
def test_interrupted_run_resumes_to_the_same_results(tmp_path, how):
    reference = tmp_path / "reference"
    assert run_cli(reference).wait() == 0
    out = tmp_path / "interrupted"
    proc = run_cli(out)
    wait_for_chunks(out, 3, proc)
    proc.send_signal(how)
    status = proc.wait()
    kept = len(list((out / "chunks").glob("chunk-*.npz")))
    assert 3 <= kept < RUN_CHUNKS and not (out / "power.csv").exists()
    if how == signal.SIGINT:
        assert status == 130 and "resume" in proc.stderr.read().decode()
    assert not list((out / "chunks").glob(".*tmp*")) or how == signal.SIGKILL
    assert run_cli(out).wait() == 0
    pd.testing.assert_frame_equal(
        pd.read_csv(reference / "power.csv"), pd.read_csv(out / "power.csv")
    )


def test_reusing_a_folder_for_another_scenario_is_refused(tmp_path, cli):
    out = tmp_path / "run"
    assert cli("run", "--replicates", 4, "--out", out, "--set", "power.n_per_arm=[10]")[0] == 0
    status, _, err = cli(
        "run",
        "--replicates",
        4,
        "--out",
        out,
        "--set",
        "power.n_per_arm=[10]",
        "--set",
        "dropout.rate=0.3",
    )
    assert status == 2 and "different run" in err


def test_dask_cluster_gives_the_same_results():
    pytest.importorskip("dask.distributed")
    s = load_scenario(None, SMALL)
    local = estimate(s, replicates=12, chunk_size=4, n_jobs=2, backend="processes", progress=False)
    dask = estimate(s, replicates=12, chunk_size=4, n_jobs=2, backend="dask", progress=False)
    pd.testing.assert_frame_equal(local, dask, check_exact=True)


def test_run_writes_table_figure_and_manifest(tmp_path, cli):
    import json

    out = tmp_path / "r"
    status, text, _ = cli(
        "run", "--replicates", 10, "--out", out, "--set", "power.n_per_arm=[10,20]"
    )
    assert status == 0 and "power" in text and str(out) in text
    frame = pd.read_csv(out / "power.csv")
    required = {
        "n_per_arm",
        "replicates",
        "power",
        "power_mcse",
        "power_ci_low",
        "power_ci_high",
        "true_effect",
        "mean_estimate",
        "bias",
        "rmse",
        "mean_se",
        "coverage",
        "type_s",
        "type_s_mcse",
        "exaggeration",
        "exaggeration_mcse",
        "mean_n_analysed",
        "dropout_fraction",
        "contrast",
    }
    assert required <= set(frame.columns)
    manifest = json.loads((out / "manifest.json").read_text())
    assert {
        "mssim_version",
        "git_commit",
        "seed",
        "scenario",
        "command",
        "started",
        "finished",
    } <= set(manifest)
    assert (out / "power.png").stat().st_size > 10_000
