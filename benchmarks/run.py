"""``make bench``: the engine's speed and memory on the default scenario.

Every figure is measured within this one run, as a ratio where a target is a
ratio, with no assertions. Each run prints what it ran (sizes, counts) and
appends a dated section to ``benchmarks/RESULTS.md`` (``--quick`` runs small
sizes and records nothing).

Figures (see RESULTS.md for the targets):

1. engine throughput per core (observed patient-days per second);
2. per core, the time of a bare coupled AR(1) over the same patient-days
   (``floor.py``: numpy, and fused in numba) over the engine's time;
3. the engine against stepping the Mesa agents (``bench_mesa.measure()``);
4. speed-up of ``n_jobs=2`` over ``n_jobs=1`` for threads and processes;
5. peak memory of ``power.estimate`` at 1,000 and 20,000 replicates;
6. a power curve with common random numbers against one run per sample size;
7. the per-trial cost of every registered Monte Carlo analysis as a share of the
   simulation cost of the same trials;
8. a 6-point power curve x 10,000 replicates with ``n_jobs=2`` (measured);
9. R's Mediana (``bench_mediana.R``) against mssim on the same trials, one
   core each (skipped, saying so, without R or Mediana);
10. memory per replicate in a chunk (``tracemalloc``), with the preflight estimate;
11. the MMRM of 1,000 trials of 100 per arm with 4 post-baseline visits, as a share
    of the simulation cost of the same trials (figure 7's timing);
12. a group-sequential run (``scenarios/group_sequential.toml``) against the fixed
    parallel design with the same maximum n;
13. a Morris screening of 20 assumptions at 200 replicates per point with
    ``n_jobs=2`` (``bench_sensitivity.measure()``; about 5-7 minutes, outside
    the 5-minute budget of figures 1-12);
14. assurance (a normal prior on the specific effect) against the simulations of
    a plain ``mssim run`` (power curve and matched null) with the same replicates.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import bench_sensitivity
import floor
import numpy as np

from mssim.config import sizes as sizes_module
from mssim.config.load import load_scenario, with_overrides
from mssim.config.scenario import Scenario
from mssim.model.engine import simulate
from mssim.model.population import run_in_days
from mssim.model.symptoms import SymptomModel
from mssim.montecarlo import calibration, power
from mssim.montecarlo.assurance import AssuranceTask, centre_scenario, run_assurance
from mssim.montecarlo.breakdown import BREAKDOWN_REPLICATES, counterfactual_chain, effect_breakdown
from mssim.montecarlo.matched_null import matched_null
from mssim.registry import ANALYSES
from mssim.trial.analyses.analysis import analyse
from mssim.trial.data import trial_data
from mssim.trial.randomization import contrast_regimens, randomize, total_patients

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "RESULTS.md"
LOADS: list[float] = []  # 1-minute load average at each section start


@dataclass(frozen=True)
class Sizes:
    """How much each figure runs (the whole run must stay under 5 minutes on 2 cores)."""

    engine_replicates: int = 100  # one default chunk
    engine_repeats: int = 3  # best of, engine and floor interleaved
    parallel_replicates: int = 1000  # figures 4 and 8
    memory_replicates: tuple[int, ...] = (1000, 20000)
    memory_n_per_arm: int = 10  # small trials keep R=20,000 affordable (~35 s)
    memory_jobs: int = 1
    crn_replicates: int = 100  # the ratio is scale-free; one chunk per estimate call
    analysis_replicates: int = 500  # the ratio is scale-free; scaled to 10,000 in the output
    analysis_n_per_arm: int = 100
    curve_replicates: int = 10000
    mediana_replicates: int = 1000
    mediana_rounds: int = 3  # interleaved, best of
    mmrm_replicates: int = 1000
    sequential_replicates: int = 300  # figure 12; the ratio is scale-free
    sequential_n_per_arm: int = 80
    sensitivity_fields: int = 20
    sensitivity_replicates: int = 200
    sensitivity_trajectories: int = 10
    assurance_replicates: int = 200  # the ratio is scale-free; two chunks per run


QUICK = Sizes(
    engine_replicates=20,
    engine_repeats=1,
    parallel_replicates=40,
    memory_replicates=(100, 400),
    crn_replicates=20,
    analysis_replicates=100,
    curve_replicates=400,
    mediana_replicates=100,
    mediana_rounds=1,
    mmrm_replicates=100,
    sequential_replicates=40,
    sensitivity_fields=4,
    sensitivity_replicates=20,
    sensitivity_trajectories=2,
    assurance_replicates=40,
)


@dataclass(frozen=True)
class Figure:
    """One reported figure with its target.

    Attributes:
        name: What was measured.
        value: The figure as printed.
        target: The target as printed ("" if none).
        met: True / False against the target, None if there is no target.
    """

    name: str
    value: str
    target: str = ""
    met: bool | None = None

    @property
    def status(self) -> str:
        """MET, NOT MET or info."""
        return "info" if self.met is None else ("MET" if self.met else "NOT MET")


# ---- helpers -----------------------------------------------------------------


def say(text: str = "") -> None:
    """Print at once (the run is long)."""
    print(text, flush=True)


def heading(title: str) -> None:
    """A section title, with the load average (other processes skew timings)."""
    load = os.getloadavg()[0]
    LOADS.append(load)
    say(f"## {title}")
    say(f"   (load average {load:.2f} on {os.cpu_count()} cores)")


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Wall time of one call and its result."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def yes(flag: bool) -> str:
    """yes / NO, loud when a check fails."""
    return "yes" if flag else "NO"


def sh(*args: str) -> str:
    """Output of a command in the repository, or "" if it fails."""
    try:
        return subprocess.run(
            args, cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def src_fingerprint() -> str:
    """Hash of every src/mssim/**/*.py: identifies the code measured when the tree is dirty."""
    digest = hashlib.sha256()
    package = ROOT / "src" / "mssim"
    for path in sorted(package.rglob("*.py")):
        digest.update(str(path.relative_to(package)).encode() + path.read_bytes())
    return digest.hexdigest()[:12]


def machine() -> dict[str, str]:
    """Machine, versions, commit and load, for the record."""
    try:
        import numba

        numba_version = numba.__version__
    except ImportError:
        numba_version = "not installed"
    dirty = [
        line.split(None, 1)[1]
        for line in sh("git", "status", "--porcelain", "--", "src").splitlines()
    ]
    return {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "cpu": platform.processor() or platform.machine(),
        "cores": f"{os.cpu_count()} ({len(os.sched_getaffinity(0))} usable)",
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba_version,
        "commit": sh("git", "rev-parse", "--short", "HEAD") or "unknown",
        "src": f"fingerprint {src_fingerprint()}; uncommitted src changes: "
        + (", ".join(dirty) if dirty else "none"),
        "load average at start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


# ---- 1-2. engine throughput and the floors --------------------------------------


def floor_params(model: SymptomModel) -> floor.ArParams:
    """The floor's coefficients, taken from the scenario's symptom model."""
    return floor.ArParams(
        level=model.mean,
        phi=model.phi,
        shock=model.innovation_sd[:, None] * model.day_chol,
        sleep_to_fatigue=model.sleep_to_fatigue,
        pain_to_sleep=model.pain_to_sleep,
        drift_rho=model.drift_rho,
        drift_sd=model.drift_innovation_sd,
    )


def engine_shape(scenario: Scenario) -> tuple[int, int, int]:
    """(simulated days per enrolled patient, regimens, symptoms), read off daily paths."""
    latent = simulate(scenario, [0], 2, keep_daily=True).daily.latent
    _, _, regimens, days, symptoms = latent.shape
    return days, regimens, symptoms


def cpu_timed(fn: Callable[[], Any]) -> tuple[float, float]:
    """(wall, CPU time of this process) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def engine_vs_floor(scenario: Scenario, sizes: Sizes) -> list[Figure]:
    """Figures 1 and 2: the engine on one core against the numpy and numba floors."""
    model = SymptomModel.from_scenario(scenario)
    r = sizes.engine_replicates
    n = total_patients(scenario, max(scenario.power.n_per_arm))
    days, regimens, symptoms = engine_shape(scenario)
    heading(f"1-2. Engine throughput and the floors (R={r} replicates x N={n} patients, one core)")
    say(
        f"   work: {days} simulated days per enrolled patient (screening day+1 .. last visit) "
        f"x {symptoms} symptoms x {regimens} regimens (every patient under every regimen)"
    )
    say(
        f"   not counted: the screening run-in ({run_in_days(scenario, model)} days per "
        "candidate screened) and everything but the symptoms' AR(1)"
    )
    work = floor.FloorWork(units=r * n, days=days)
    params = floor_params(model)
    simulate(scenario, [0, 1], n)  # warm up (compiled kernels, caches)
    floor.run_fused(floor.FloorWork(units=2, days=2), params)
    runs: dict[str, list[tuple[float, float]]] = {"engine": [], "numpy": [], "numba": []}
    for k in range(sizes.engine_repeats):  # interleaved, so background load hits all three
        runs["engine"].append(cpu_timed(lambda: simulate(scenario, np.arange(r), n)))
        runs["numpy"].append(cpu_timed(lambda k=k: floor.run(work, params, seed=k)))
        runs["numba"].append(cpu_timed(lambda k=k: floor.run_fused(work, params, seed=k)))
    wall = {name: min(w for w, _ in times) for name, times in runs.items()}
    cpu = {name: min(c for _, c in times) for name, times in runs.items()}
    patient_days = r * n * days
    for name, label in (("engine", "engine.simulate"), ("numpy", "numpy floor"),
                        ("numba", "numba floor")):  # fmt: skip
        say(
            f"   {label:16s} best of {len(runs[name])}: wall {wall[name]:.3f} s, CPU "
            f"{cpu[name]:.3f} s; {patient_days / cpu[name] / 1e6:6.1f} M patient-days/s per core"
        )
    potential = patient_days * symptoms * regimens / cpu["engine"]
    say(
        f"   engine: {potential / 1e6:.1f} M potential-outcome patient-symptom-days/s per core "
        f"(x {symptoms} symptoms x {regimens} regimens)"
    )
    ratios = {name: cpu[name] / cpu["engine"] for name in ("numpy", "numba")}
    say(
        f"   floor / mssim per core (CPU time, same {patient_days:,d} patient-days): "
        f"numpy {ratios['numpy']:.3f}, numba {ratios['numba']:.3f} "
        f"(wall: {wall['numpy'] / wall['engine']:.3f}, {wall['numba'] / wall['engine']:.3f})"
    )
    say()
    return [
        Figure(
            "1. engine, observed patient-days per core",
            f"{patient_days / cpu['engine'] / 1e6:.1f} M/s",
        ),
        Figure("2. numpy floor / mssim per core", f"{ratios['numpy']:.3f}"),
        Figure(
            "2. numba floor / mssim per core",
            f"{ratios['numba']:.3f}",
            ">= 0.15 (moonshot 0.3)",
            ratios["numba"] >= 0.15,
        ),
    ]


# ---- 2b. the Mediana peer ---------------------------------------------------------


def mediana_ratio(scenario: Scenario, sizes: Sizes) -> list[Figure]:
    """Figure 9: R's Mediana (normal endpoint, t-test) against mssim on the same trials.

    Both on one core and timed alike, from inside the running process: mssim's
    ``power.estimate`` at ``n_per_arm`` (simulation and the scenario's analysis,
    after a warm-up call, so no process start, imports or compilation) and
    Mediana's ``CSE()`` with ``proc.load = 1`` (R start-up and library loading
    excluded). The ratio is of CPU time, which other load on a shared machine
    disturbs far less than wall time; the wall ratio is printed beside it.
    mssim's CPU time is that of this process; Mediana's is that of the R
    process and of the one-core cluster worker that runs its trials (a fork, so
    R collects the worker's CPU time; ``bench_mediana.R`` says why). mssim's
    side also simulates every patient under both regimens and screens
    candidates, none of which Mediana does. A ``mssim run`` adds the effect
    breakdown once per run (its first replicates again under each scenario of
    the counterfactual chain); it is timed on its own and printed, not counted.

    Like figures 1-2, the two sides are timed in interleaved rounds (mssim, then
    Mediana, ``sizes.mediana_rounds`` times), so background load on the shared
    machine falls on both, and the figure is the best (least disturbed) CPU time
    of each side; every round is printed.
    """
    r, per_arm = sizes.mediana_replicates, sizes.analysis_n_per_arm
    heading(f"9. Mediana peer: {r:,d} trials of {per_arm} per arm, one core each")
    script = HERE / "bench_mediana.R"
    check = subprocess.run(
        ["Rscript", "-e", "library(Mediana)"], capture_output=True, text=True, check=False
    ) if shutil.which("Rscript") else None  # fmt: skip
    if check is None or check.returncode:
        why = "Rscript not found" if check is None else "R has no Mediana package"
        say(f"   SKIPPED: {why} (Debian: r-base-core, r-cran-mediana)")
        say()
        return [Figure("9. Mediana / mssim, same trials", f"skipped ({why})", ">= 1.5")]
    curve(scenario, 2, n_per_arm=[per_arm])  # warm up
    mssim_runs: list[tuple[float, float]] = []
    peers: list[dict[str, Any]] = []
    for k in range(sizes.mediana_rounds):
        mssim_runs.append(cpu_timed(lambda: curve(scenario, r, n_per_arm=[per_arm], n_jobs=1)))
        done = subprocess.run(
            ["Rscript", str(script), str(r), str(per_arm), str(scenario.seed % 2**31)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        peers.append(json.loads(done.stdout.strip().splitlines()[-1]))
        ours, theirs = mssim_runs[-1][1], peers[-1]["cpu_seconds"]
        say(
            f"   round {k + 1}: mssim CPU {ours:.2f} s, Mediana CPU {theirs:.2f} s, "
            f"ratio {theirs / ours:.2f}"
        )
    t_mssim, c_mssim = min(w for w, _ in mssim_runs), min(c for _, c in mssim_runs)
    peer = min(peers, key=lambda x: x["cpu_seconds"])
    t_peer = min(x["seconds"] for x in peers)
    n_total, k = total_patients(scenario, per_arm), min(r, BREAKDOWN_REPLICATES)
    _, c_breakdown = cpu_timed(lambda: effect_breakdown(scenario, np.arange(k), n_total))
    ratio = peer["cpu_seconds"] / c_mssim
    best = f"best of {len(peers)}"
    say(
        f"   mssim power.estimate (n_jobs=1), {best}: wall {t_mssim:.2f} s (CPU {c_mssim:.2f} s), "
        f"analysis {scenario.trial.analysis}"
    )
    say(
        f"   Mediana {peer['version']} CSE (proc.load=1), {best}: wall {t_peer:.2f} s "
        f"(CPU {peer['cpu_seconds']:.2f} s, of which the R process itself "
        f"{peer['parent_cpu_seconds']:.2f} s and its cluster worker the rest), "
        f"power {peer['power']:.3f} (normal endpoint, effect 0.3 SD, t-test)"
    )
    rounds = sorted(x["cpu_seconds"] / c for x, (_, c) in zip(peers, mssim_runs, strict=True))
    say(
        f"   Mediana / mssim: CPU {ratio:.2f} (wall {t_peer / t_mssim:.2f}); "
        f"round by round {rounds[0]:.2f}-{rounds[-1]:.2f}"
    )
    say(
        f"   not counted: the effect breakdown a mssim run adds once ({k} replicates x "
        f"{len(counterfactual_chain(scenario))} scenarios) took {c_breakdown:.2f} s of CPU; "
        f"with it, Mediana / mssim would be {peer['cpu_seconds'] / (c_mssim + c_breakdown):.2f}"
    )
    say()
    return [
        Figure(
            f"9. Mediana / mssim, {r:,d} trials of {per_arm}/arm, one core each, CPU time, "
            f"{best} interleaved",
            f"{ratio:.2f} (rounds {rounds[0]:.2f}-{rounds[-1]:.2f})",
            ">= 1.5",
            ratio >= 1.5,
        )
    ]


# ---- 3. Mesa -------------------------------------------------------------------


def mesa_ratio() -> list[Figure]:
    """Figure 3, from ``bench_mesa.measure()`` when another engineer's benchmark exists."""
    heading("3. Engine vs stepping the Mesa agents")
    try:
        from bench_mesa import measure
    except ImportError:
        say("   mesa benchmark: not available")
        say()
        return [Figure("3. engine / Mesa agents", "not available", ">= 100x")]
    try:
        result = measure()
    except Exception as err:  # a failing hook must not lose the other figures
        say(f"   mesa benchmark failed: {type(err).__name__}: {err}")
        say()
        return [Figure("3. engine / Mesa agents", f"failed ({type(err).__name__})", ">= 100x")]
    for key, value in result.items():
        say(f"   {key}: {value}")
    ratios = [v for k, v in result.items() if "ratio" in k and isinstance(v, int | float)]
    if isinstance(result.get("engine_over_mesa_ratio"), int | float):
        ratios.insert(0, result["engine_over_mesa_ratio"])
    say()
    if not ratios:
        return [Figure("3. engine / Mesa agents", "no 'ratio' in measure()", ">= 100x")]
    return [Figure("3. engine / Mesa agents", f"{ratios[0]:.0f}x", ">= 100x", ratios[0] >= 100)]


# ---- 4 and 8. parallel speed-up and the 10,000-replicate curve -----------------


def curve(scenario: Scenario, replicates: int, **run: Any) -> Any:
    """``power.estimate`` of the default 6-point curve, without a progress bar."""
    return power.estimate(scenario, replicates=replicates, progress=False, **run)


def parallel(scenario: Scenario, sizes: Sizes) -> list[Figure]:
    """Figures 4 and 8."""
    r = sizes.parallel_replicates
    ns = scenario.power.n_per_arm
    heading(
        f"4. n_jobs=2 vs n_jobs=1: power.estimate, default scenario, n_per_arm={ns}, "
        f"R={r}, chunk {scenario.power.chunk_size}, analysis {scenario.trial.analysis}"
    )
    t1, base = timed(lambda: curve(scenario, r, n_jobs=1))
    say(f"   n_jobs=1:                 {t1:7.2f} s")
    figures, times = [], {}
    for backend in ("threads", "processes"):
        # the first call starts the pool (and loads compiled kernels in workers)
        cold, _ = timed(lambda b=backend: curve(scenario, 4, n_jobs=2, backend=b, chunk_size=1))
        t2, frame = timed(lambda b=backend: curve(scenario, r, n_jobs=2, backend=b))
        same = frame.equals(base)
        times[backend] = t2
        say(
            f"   n_jobs=2 {backend:9s}:      {t2:7.2f} s  speed-up {t1 / t2:.2f}x  "
            f"(warm-up call {cold:.2f} s; results identical to n_jobs=1: {yes(same)})"
        )
        figures.append(
            Figure(
                f"4. speed-up n_jobs=2/1, {backend}", f"{t1 / t2:.2f}x", ">= 1.7x", t1 / t2 >= 1.7
            )
        )
    best = min(times, key=times.get)
    say(f"   faster backend for n_jobs=2: {best}")
    say()
    target = sizes.curve_replicates
    heading(f"8. 6-point power curve x {target:,d} replicates, n_jobs=2 ({best}), measured")
    t8, _ = timed(lambda: curve(scenario, target, n_jobs=2, backend=best))
    say(f"   power.estimate(replicates={target:,d}, n_jobs=2, backend={best!r}): {t8:.1f} s")
    say()
    figures.append(
        Figure(
            f"8. 6-point curve x {target:,d}, n_jobs=2 ({best})",
            f"{t8:.1f} s",
            "< 20 s",
            t8 < 20,
        )
    )
    return figures


# ---- 10. memory per replicate in a chunk -------------------------------------------


def memory_per_replicate(scenario: Scenario, sizes: Sizes) -> list[Figure]:
    """Figure 10: ``tracemalloc`` peak of one chunk of the default curve, per replicate.

    The same measurement ``tests/test_sizes.py`` holds the preflight estimate
    (``config/sizes.py``) to; both are printed.
    """
    chunk, ns = scenario.power.chunk_size, scenario.power.n_per_arm
    heading(f"10. Memory per replicate in a chunk: chunk_statistics, {chunk} replicates, n={ns}")
    analyses = [scenario.trial.analysis]
    power.chunk_statistics(scenario, [10], analyses, np.arange(1))  # compiled, imported
    tracemalloc.start()
    power.chunk_statistics(scenario, ns, analyses, np.arange(chunk))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    per = peak / chunk / 2**20
    patients = total_patients(scenario, max(ns))
    estimate = patients * sizes_module.patient_bytes(scenario) / 2**20
    say(
        f"   tracemalloc peak {peak / 2**20:.1f} MiB = {per:.3f} MiB per replicate "
        f"({patients} patients); preflight estimate {estimate:.3f} MiB per replicate"
    )
    say()
    return [
        Figure(
            f"10. memory per replicate in a chunk ({patients} patients)",
            f"{per:.3f} MiB",
            "<= 0.168 MiB (0.84 / 5)",
            per <= 0.84 / 5,
        )
    ]


# ---- 5. peak memory ------------------------------------------------------------

CHILD = """
import json, re, resource, sys, time
from mssim.config.load import load_scenario
from mssim.montecarlo import power


def status(key):
    return int(re.search(key + r":\\s+(\\d+)", open("/proc/self/status").read()).group(1))


args = json.loads(sys.argv[1])
run = dict(n_per_arm=args["n"], chunk_size=args["chunk"], n_jobs=args["jobs"], progress=False)
scenario = load_scenario()
power.estimate(scenario, replicates=2, **run)  # imports and compiled kernels loaded
try:
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")  # reset the high-water mark to the current RSS
    reset = True
except OSError:
    reset = False
before = status("VmRSS")
start = time.perf_counter()
power.estimate(scenario, replicates=args["r"], **run)
wall = time.perf_counter() - start
peak = status("VmHWM") if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"before_kib": before, "peak_kib": peak, "reset": reset, "wall": wall}))
"""


def peak_memory(scenario: Scenario, sizes: Sizes) -> list[Figure]:
    """Figure 5: each R in a fresh interpreter, after a warm-up call.

    The child resets its RSS high-water mark (``/proc/self/clear_refs``) after
    imports and a 2-replicate warm-up, so the peak it reports (``VmHWM``) is
    that of the measured ``estimate`` call; without the reset it reports
    ``ru_maxrss``, which also covers imports.
    """
    chunk = scenario.power.chunk_size
    n = sizes.memory_n_per_arm
    heading(
        f"5. Peak memory of power.estimate: n_per_arm=[{n}], chunk {chunk}, "
        f"n_jobs={sizes.memory_jobs}, each R in a fresh subprocess"
    )
    peaks, used = {}, {}
    for r in sizes.memory_replicates:
        args = json.dumps({"n": [n], "r": r, "chunk": chunk, "jobs": sizes.memory_jobs})
        done = subprocess.run(
            [sys.executable, "-c", CHILD, args], capture_output=True, text=True, cwd=ROOT
        )
        if done.returncode:
            say(f"   R={r}: child failed: {done.stderr.strip().splitlines()[-1:]}")
            return [Figure("5. peak memory flat in R", "child failed", "flat in R")]
        child = json.loads(done.stdout.strip().splitlines()[-1])
        peaks[r], before = child["peak_kib"] / 1024, child["before_kib"] / 1024
        used[r] = peaks[r] - before
        how = "VmHWM after reset" if child["reset"] else "ru_maxrss (includes imports)"
        say(
            f"   R={r:>6,d}: peak RSS {peaks[r]:7.1f} MiB ({how}); RSS before the call "
            f"{before:.1f} MiB, so +{used[r]:.1f} MiB; wall {child['wall']:.1f} s"
        )
    low, high = min(peaks), max(peaks)
    growth = peaks[high] / peaks[low]
    say(f"   peak at R={high:,d} / peak at R={low:,d}: {growth:.3f}")
    say()
    return [
        Figure(
            f"5. peak RSS R={low:,d} -> R={high:,d} (n_per_arm=[{n}])",
            f"{peaks[low]:.0f} -> {peaks[high]:.0f} MiB ({growth:.2f}x; "
            f"+{used[low]:.0f} -> +{used[high]:.0f} MiB over baseline)",
            "flat in R (<= 1.10x)",
            growth <= 1.10,
        )
    ]


# ---- 6. common random numbers ---------------------------------------------------


def crn(scenario: Scenario, sizes: Sizes) -> list[Figure]:
    """Figure 6: one estimate over 6 sizes vs 6 estimates of one size each."""
    r = sizes.crn_replicates
    ns = sorted(scenario.power.n_per_arm)
    heading(f"6. Power curve with common random numbers vs one run per size (R={r}, n_jobs=1)")
    t_joint, joint = timed(lambda: curve(scenario, r, n_per_arm=ns))
    parts = [timed(lambda n=n: curve(scenario, r, n_per_arm=[n])) for n in ns]
    t_apart = sum(t for t, _ in parts)
    same = all(
        np.array_equal(
            joint[joint.n_per_arm == n].power.to_numpy(), frame.power.to_numpy(), equal_nan=True
        )
        for n, (_, frame) in zip(ns, parts, strict=True)
    )
    say(f"   one estimate over n_per_arm={ns}: {t_joint:6.2f} s")
    say(
        f"   {len(ns)} estimates, one n each:          {t_apart:6.2f} s  "
        f"({', '.join(f'{n}: {t:.1f}' for n, (t, _) in zip(ns, parts, strict=True))})"
    )
    say(f"   reuse is {t_apart / t_joint:.2f}x faster; same power at every n: {yes(same)}")
    say()
    return [
        Figure(
            "6. separate runs / CRN curve (wall time)",
            f"{t_apart / t_joint:.2f}x ({t_apart:.1f} s vs {t_joint:.1f} s)",
        )
    ]


# ---- 7. analysis cost ----------------------------------------------------------


def analysis_share(sizes: Sizes) -> list[Figure]:
    """Figure 7: per-trial cost of every registered analysis as a share of simulation.

    Each Monte Carlo analysis runs on the alternative scenario of the first kind of
    trial of the calibration matrix whose design it fits (parallel, or crossover), on
    the same chunks whose simulation is timed, so each ratio is measured in this run.
    """
    figures = []
    done: set[str] = set()
    for kind in calibration.TRIALS:
        scenario = load_scenario(None, list(kind.alternative))
        trial = scenario.trial
        fits = [
            a
            for a in ANALYSES
            if a.name not in done and a.misfit(trial.design, trial.estimand, trial) is None
        ]
        if not fits:
            continue
        done.update(a.name for a in fits)
        single = [a.name for a in fits if not a.monte_carlo]
        methods = [a.name for a in fits if a.monte_carlo]
        figures += _analysis_costs(kind.name, scenario, methods, single, sizes)
    return figures


def _analysis_costs(
    name: str,
    scenario: Scenario,
    methods: list[str],
    single: list[str],
    sizes: Sizes,
    figure: int = 7,
) -> list[Figure]:
    """Time simulation, data preparation and each analysis on the same chunks (figure 7)."""
    r, per_arm = sizes.analysis_replicates, sizes.analysis_n_per_arm
    n = total_patients(scenario, per_arm)
    chunk = scenario.power.chunk_size
    endpoint = scenario.trial.primary_endpoint
    a, b = contrast_regimens(scenario)[0]
    heading(
        f"{figure}. Analyses vs simulation ({name} alternative): R={r} trials of {per_arm}/arm "
        f"(N={n}), chunks of {chunk}; {endpoint}, first contrast"
    )
    if single:
        say(f"   not timed (single-trial analyses): {', '.join(single)}")
    spent: Counter = Counter()
    for first in range(0, r, chunk):
        reps = np.arange(first, min(first + chunk, r))
        t, outcomes = timed(partial(simulate, scenario, reps, n))
        spent["simulate"] += t
        t, allocation = timed(partial(randomize, scenario, outcomes))
        spent["randomize"] += t
        t, data = timed(partial(trial_data, scenario, outcomes, allocation, endpoint, n))
        spent["trial_data"] += t
        if not first:  # untimed first calls: imports and caches are not the analysis's cost
            for method in methods:
                analyse(method, data, a, b, scenario.trial.alpha, trial=scenario.trial)
        for method in methods:
            run = partial(analyse, method, data, a, b, scenario.trial.alpha, trial=scenario.trial)
            t, _ = timed(run)
            spent[method] += t
    say(f"   {'simulate':14s} {1e3 * spent['simulate'] / r:8.3f} ms/trial")
    for k in ("randomize", "trial_data", *methods):
        share = spent[k] / spent["simulate"]
        say(f"   {k:14s} {1e3 * spent[k] / r:8.3f} ms/trial, {share:.4f} of simulation")
    say()
    return [
        Figure(
            f"{figure}. {method} / simulation per trial, {per_arm}/arm ({name}, R={r})",
            f"{spent[method] / spent['simulate']:.4f}",
            "< 1 (analysis faster than simulation)",
            spent[method] < spent["simulate"],
        )
        for method in methods
    ]


# ---- 11. MMRM at 4 visits -------------------------------------------------------

# Visits at weeks 3, 6 and 9 before the primary visit (week 12)
MMRM_VISITS = ("trial.extra_visit_weeks=[3, 6, 9]",)


def mmrm_cost(sizes: Sizes) -> list[Figure]:
    """Figure 11: the MMRM of many trials with 4 post-baseline visits, timed as figure 7."""
    kind = calibration.TRIALS[0]  # parallel
    scenario = load_scenario(None, [*kind.alternative, *MMRM_VISITS])
    name = f"{kind.name}, 4 post-baseline visits"
    mmrm_sizes = replace(sizes, analysis_replicates=sizes.mmrm_replicates)
    return _analysis_costs(name, scenario, ["mmrm"], [], mmrm_sizes, figure=11)


# ---- 12. group-sequential cost --------------------------------------------------


def sequential_cost(sizes: Sizes) -> list[Figure]:
    """Figure 12: group-sequential run / fixed design with the same maximum n (best of 2)."""
    r, n = sizes.sequential_replicates, sizes.sequential_n_per_arm
    looks = load_scenario(ROOT / "scenarios" / "group_sequential.toml")
    fixed = load_scenario(ROOT / "scenarios" / "group_sequential.toml", ["trial.design=parallel"])
    heading(f"12. Group-sequential run vs fixed design, {n} per arm at most (R={r}, n_jobs=1)")
    times: dict[str, list[float]] = {"sequential": [], "fixed": []}
    for _ in range(2):  # interleaved, so load changes hit both
        for name, scenario in (("sequential", looks), ("fixed", fixed)):
            seconds, _ = timed(
                lambda s=scenario: power.estimate(s, n_per_arm=[n], replicates=r, progress=False)
            )
            times[name].append(seconds)
    seq, fix = min(times["sequential"]), min(times["fixed"])
    say(f"   group-sequential (3 looks): {seq:6.2f} s; fixed parallel: {fix:6.2f} s")
    say(f"   ratio {seq / fix:.2f}x (target <= 1.3)")
    say()
    return [
        Figure(
            "12. group-sequential / fixed run (same max n)",
            f"{seq / fix:.2f}x ({seq:.1f} s vs {fix:.1f} s)",
            "<= 1.3x",
            seq / fix <= 1.3,
        )
    ]


# ---- 14. assurance -------------------------------------------------------------


def assurance_cost(scenario: Scenario, sizes: Sizes) -> list[Figure]:
    """Figure 14: assurance over a normal prior against a plain run of the same replicates.

    The issue's measure: the CPU time of assurance (``run_assurance``, every
    design point, ``R`` replicates) over that of the simulations of a plain
    ``mssim run`` with the same ``R`` (``power.estimate``, whose curve is also the
    assurance run's power at the prior's centre, and the matched null), both in
    this process after a warm-up, without the run's fixed extras (the effect
    breakdown, files). Beside it, what assurance adds per replicate: the
    assurance task over the plain ``chunk_statistics`` of the same chunk (each
    replicate's drawn values validated, the responses mapped group by group).
    """
    r = sizes.assurance_replicates
    field = "arms.acupuncture.specific_effect"
    prior = {field: {"distribution": "normal", "mean": 0.2, "sd": 0.1}}
    with_prior = with_overrides(scenario, values={"priors": prior})
    centre = centre_scenario(with_prior)
    ns = sorted(scenario.power.n_per_arm)
    methods = [scenario.trial.analysis]
    replicates = np.arange(r)
    task = AssuranceTask(with_prior, ns, methods)
    heading(f"14. Assurance vs a plain run: R={r}, n_per_arm={ns}, N(0.2, 0.1) on {field}")
    quiet = {"n_jobs": 1, "progress": False}
    task(replicates[:2]), power.chunk_statistics(centre, ns, methods, replicates[:2])  # warm
    run_assurance(with_prior, n_per_arm=ns, replicates=2, analyses=methods, **quiet)

    def plain_run() -> None:
        power.estimate(centre, replicates=r, n_per_arm=ns, analyses=methods, **quiet)
        matched_null(centre, ns, r, methods[0], **quiet)

    _, c_run = cpu_timed(plain_run)
    _, c_assurance = cpu_timed(
        lambda: run_assurance(with_prior, n_per_arm=ns, replicates=r, analyses=methods, **quiet)
    )
    _, c_plain = cpu_timed(lambda: power.chunk_statistics(centre, ns, methods, replicates))
    _, c_task = cpu_timed(lambda: task(replicates))
    ratio = c_assurance / c_run
    say(f"   plain run (power curve and matched null): {c_run:6.2f} CPU s")
    say(f"   assurance:                                {c_assurance:6.2f} CPU s  ({ratio:.2f}x)")
    say(
        f"   per replicate, the assurance task / the same chunk simulated plain: "
        f"{c_task:.2f} / {c_plain:.2f} CPU s = {c_task / c_plain:.2f}x"
    )
    say()
    return [
        Figure(
            f"14. assurance / a plain run's simulations, same replicates (R={r}, CPU)",
            f"{ratio:.2f}x ({c_assurance:.1f} s vs {c_run:.1f} s); per chunk "
            f"{c_task / c_plain:.2f}x the plain simulation of its replicates",
            "<= 1",
            ratio <= 1,
        )
    ]


# ---- record -----------------------------------------------------------------------


def sensitivity(sizes: Sizes) -> list[Figure]:
    """Figure 13: wall time of a Morris screening (target: under 10 minutes on 2 cores)."""
    heading("13. Morris screening of the assumptions, n_jobs=2")
    found = bench_sensitivity.measure(
        sizes.sensitivity_fields, sizes.sensitivity_replicates, sizes.sensitivity_trajectories
    )
    say(f"   {found}")
    minutes = found["seconds"] / 60
    return [
        Figure(
            f"13. Morris, {found['fields']} fields x {found['replicates']} replicates "
            f"({found['points']} points), n_jobs=2",
            f"{minutes:.1f} min",
            "< 10 min",
            minutes < 10,
        )
    ]


def header() -> str:
    """RESULTS.md header, used when the file does not exist yet."""
    return (
        "# mssim benchmark results\n\n"
        "Appended by `make bench` (`.venv/bin/python benchmarks/run.py`), one section per run.\n"
    )


def record(info: dict[str, str], sizes: Sizes, figures: list[Figure], wall: float) -> None:
    """Append this run's section to RESULTS.md."""
    lines = [f"\n## Run {info['date']}\n"]
    lines += [f"- {k}: {v}" for k, v in info.items() if k != "date"]
    lines += [
        f"- sizes: {sizes}",
        f"- total wall time: {wall:.0f} s",
        "",
        "| figure | value | target | status |",
        "|---|---|---|---|",
    ]
    lines += [f"| {f.name} | {f.value} | {f.target or '-'} | {f.status} |" for f in figures]
    if not RESULTS.exists():
        RESULTS.write_text(header())
    with RESULTS.open("a") as handle:
        handle.write("\n".join(lines) + "\n")


def main() -> None:
    """Run every figure, print a summary and record it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes; record nothing")
    args = parser.parse_args()
    sizes = QUICK if args.quick else Sizes()
    start = time.perf_counter()
    info = machine()
    say("# mssim benchmarks" + (" (QUICK: small sizes, not recorded)" if args.quick else ""))
    for key, value in info.items():
        say(f"   {key}: {value}")
    say(f"   sizes: {sizes}")
    say()
    scenario = load_scenario()
    figures = engine_vs_floor(scenario, sizes)
    figures += mediana_ratio(scenario, sizes)
    figures += parallel(scenario, sizes)
    figures += peak_memory(scenario, sizes)
    figures += memory_per_replicate(scenario, sizes)
    figures += crn(scenario, sizes)
    figures += analysis_share(sizes)
    figures += mmrm_cost(sizes)
    figures += sequential_cost(sizes)
    figures += sensitivity(sizes)
    figures += assurance_cost(scenario, sizes)
    figures += mesa_ratio()  # last: importing mesa changes the multiprocessing start method
    wall = time.perf_counter() - start
    info["load average at end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    say("## Summary")
    busy = max([*LOADS, os.getloadavg()[0]])
    info["highest 1-min load average seen"] = f"{busy:.2f} on {os.cpu_count()} cores"
    if busy > 0.5:
        say(
            f"   NOTE: load average up to {busy:.1f} on {os.cpu_count()} cores: other processes "
            "shared the CPU, so times are pessimistic and n_jobs=2 speed-ups understated"
        )
    width = max(len(f.name) for f in figures)
    for f in figures:
        say(f"   {f.name:{width}s}  {f.value:>32s}  target {f.target or '-':>22s}  {f.status}")
    say(f"   total wall time: {wall:.0f} s")
    if not args.quick:
        record(info, sizes, figures, wall)
        say(f"   appended to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
