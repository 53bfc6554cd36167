"""Morris screening of 20 assumptions at 200 replicate trials per point, on 2 cores.

The target (under 10 minutes on 2 cores) lives in ``benchmarks/RESULTS.md``;
here the time is measured and reported, with no assertions. The fields are the
first 20 of :func:`mssim.montecarlo.sensitivity.candidate_fields` of the
default scenario; 10 Morris trajectories (``10 x 21`` points) plus the
scenario itself and each field's two ends for the tornado.

Run: ``.venv/bin/python benchmarks/bench_sensitivity.py`` (a few minutes on 2 cores).
"""

from __future__ import annotations

import time

from mssim.config.load import load_scenario
from mssim.montecarlo.power import estimate
from mssim.montecarlo.sensitivity import candidate_fields, morris_screening


def measure(
    fields: int = 20, replicates: int = 200, trajectories: int = 10, n_jobs: int = 2
) -> dict:
    """Wall time of one Morris screening, the numba kernel compiled beforehand.

    Args:
        fields: Fields screened (the first of the default scenario's candidates).
        replicates: Replicate trials per point.
        trajectories: Morris trajectories.
        n_jobs: Worker processes.

    Returns:
        Sizes, the number of points, the wall time (s) and the top 3 fields.
    """
    scenario = load_scenario()
    estimate(scenario, [10], 2, progress=False)  # compile or load the kernel outside the timing
    chosen = candidate_fields(scenario)[:fields]
    start = time.perf_counter()
    result = morris_screening(
        scenario, chosen, None, replicates, trajectories, n_jobs=n_jobs, progress=False
    )
    seconds = time.perf_counter() - start
    return {
        "fields": len(chosen),
        "replicates": replicates,
        "trajectories": trajectories,
        "points": len(result.points),
        "n_jobs": n_jobs,
        "seconds": seconds,
        "top": list(result.table.field.head(3)),
    }


if __name__ == "__main__":
    print(measure())
