"""The vectorized engine against stepping the Mesa agents, on the default trial.

Both sides are measured in this one run and counted in the same unit:
patient-days of the allocated trial (replicates x enrolled patients x
simulated days, run-in included; symptoms and regimens are not multiplied
in). The engine runs ``engine.simulate`` over many replicates; the Mesa side
steps one :class:`mssim.views.abm.TrialModel` (agents refreshed and a DataCollector
collecting every day) through the same trial. No assertions: the ratio is
reported, the target (>= 100x) lives in ``benchmarks/RESULTS.md``.

Run: ``.venv/bin/python benchmarks/bench_mesa.py`` (about 10-20 s on 2 cores).
"""

from __future__ import annotations

import os
import platform
import time

import numpy as np

from mssim.config.load import load_scenario
from mssim.model.engine import simulate
from mssim.trial.randomization import total_patients
from mssim.views.abm import TrialModel

ENGINE_REPLICATES = 200
MESA_RUNS = 2  # best of


def measure(replicates: int = ENGINE_REPLICATES, mesa_runs: int = MESA_RUNS) -> dict:
    """Patient-days per second of the engine and of the Mesa model, and their ratio.

    Args:
        replicates: Replicate trials the engine simulates in one call.
        mesa_runs: Mesa trials run one after the other; the fastest counts.

    Returns:
        Sizes, seconds, rates (patient-days/s) and ``engine_over_mesa_ratio``.
    """
    scenario = load_scenario()
    n_per_arm = scenario.trial.n_per_arm
    n = total_patients(scenario, n_per_arm)
    simulate(scenario, np.arange(2), n)  # compile or load the numba kernel outside the timing

    start = time.perf_counter()
    simulate(scenario, np.arange(replicates), n)
    engine_s = time.perf_counter() - start

    mesa_s, days = np.inf, 0
    for _ in range(mesa_runs):
        start = time.perf_counter()
        model = TrialModel(scenario=scenario, n_per_arm=n_per_arm)
        model.run()
        mesa_s = min(mesa_s, time.perf_counter() - start)
        days = model.steps  # one Mesa step per simulated day

    engine_rate = replicates * n * days / engine_s
    mesa_rate = n * days / mesa_s
    return {
        "machine": f"{platform.platform()}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}",
        "trial": f"default scenario, {n} patients ({n_per_arm} per arm), {days} days",
        "engine_replicates": replicates,
        "engine_seconds": round(engine_s, 3),
        "engine_patient_days_per_s": round(engine_rate),
        "mesa_seconds_best_of": f"{mesa_s:.3f} (best of {mesa_runs})",
        "mesa_patient_days_per_s": round(mesa_rate),
        "engine_over_mesa_ratio": round(engine_rate / mesa_rate, 1),
    }


if __name__ == "__main__":
    for key, value in measure().items():
        print(f"{key}: {value}")
