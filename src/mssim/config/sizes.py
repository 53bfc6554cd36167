"""Preflight: peak memory and run time estimated from a scenario's sizes, before any work.

The engine's memory is dominated by the daily noise of a chunk: one normal per
(replicate, patient, day, channel), with ``2 x symptoms`` channels (plus the
mediators when the mechanism layer is on). Results keep eight numbers per
(replicate, design point, endpoint, contrast, analysis). Both are known from
the sizes alone, so an absurd request is refused in a fraction of a second,
before anything is allocated or written.

The constants below were fitted to measured peaks (``tracemalloc``) and times;
``tests/test_sizes.py`` checks that the estimate stays above the measured peak
and within a small factor of it.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

from mssim.config.n_of_1 import scores_diary
from mssim.config.scenario import Scenario
from mssim.errors import MssimError
from mssim.registry import DESIGNS

MIB = 2**20
GIB = 2**30
BASE_BYTES = 160 * MIB  # the interpreter with numpy, numba, pandas and matplotlib loaded
PATIENT_BYTES = 384  # per replicate x patient: traits, dropout, sessions, relapse onsets
RESULT_FIELDS = 8 + 3 + 2  # per-replicate statistics kept to the summary, truth, per-period
SECONDS_PER_UNIT = 3e-6  # measured: per replicate x patient x day x regimen, one core
MAX_HOURS = 24.0  # default longest run accepted without --max-hours
_AMOUNT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Estimate:
    """The preflight estimate of one command.

    Attributes:
        memory: Peak memory (bytes) of the whole run with its workers.
        seconds: Run time on this machine's workers (seconds).
        chunk_size: Replicates per chunk (the memory budget may lower it).
        workers: Parallel workers.
    """

    memory: int
    seconds: float
    chunk_size: int
    workers: int

    def describe(self) -> str:
        """The estimate in words, e.g. ``peak memory about 1.2 GiB, time about 3 min``."""
        memory, seconds = format_bytes(self.memory), format_seconds(self.seconds)
        return f"peak memory about {memory}, time about {seconds}"


def format_bytes(n: float) -> str:
    """Bytes in MiB, GiB or TiB."""
    for unit, size in (("TiB", 2**40), ("GiB", GIB)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n / MIB:.3g} MiB"


def format_seconds(seconds: float) -> str:
    """Seconds in s, min, h or days."""
    if seconds < 90:
        return f"{seconds:.2g} s"
    if seconds < 5400:
        return f"{seconds / 60:.2g} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.2g} h"
    return f"{seconds / 86400:.3g} days"


def parse_memory(text: str) -> int:
    """``--max-memory`` as bytes: a number with K, M, G or T (powers of 1024), e.g. ``4G``.

    Raises:
        MssimError: For anything else, or an amount below 1 MiB.
    """
    found = _AMOUNT.match(text)
    if not found:
        raise MssimError(f"--max-memory: expected an amount such as 500M or 4G; given {text!r}")
    number, unit = float(found.group(1)), found.group(2).upper()
    value = int(number * 1024 ** "_KMGT".index(unit or "_"))
    if value < MIB:
        raise MssimError(f"--max-memory: expected at least 1M; given {text!r}")
    return value


def available_memory() -> int:
    """Memory the machine can give a new run now (``MemAvailable``), in bytes."""
    meminfo = Path("/proc/meminfo")
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def cores() -> int:
    """CPU cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def check_jobs(jobs: int, force: bool = False) -> int:
    """``--jobs`` capped at the number of cores unless forced.

    Raises:
        MssimError: For more workers than cores without ``force``, saying how many there are.
    """
    available = cores()
    if jobs > available and not force:
        raise MssimError(
            f"--jobs {jobs}: this machine has {available} cores; give --jobs {available} or "
            "fewer (more workers than cores only adds memory), or add --force-jobs"
        )
    return jobs


def _days(scenario: Scenario) -> int:
    return scenario.horizon_days() + scenario.population.screening.days_before_baseline


def _per_unit(scenario: Scenario) -> int:
    """Patients per unit of n_per_arm: the design's allocation total (as ``total_patients``)."""
    return sum(DESIGNS.get(scenario.trial.design).allocation_units(scenario))


def patient_bytes(scenario: Scenario, keep_daily: bool = False) -> int:
    """Working memory per simulated (replicate, patient) of a chunk, in bytes."""
    days = _days(scenario)
    symptoms = len(scenario.symptoms.active())
    regimens = len(DESIGNS.get(scenario.trial.design).regimen_orders(list(scenario.arms)))
    visits = len(scenario.trial.visit_weeks())
    endpoints = len(scenario.endpoints())
    # the fused kernel keeps each patient's state in registers: only visit scores
    # (with and without relapses, observed and potential), counts and traits remain
    per = regimens * (visits * endpoints * 8 * 4 + 64)
    if keep_daily:  # daily latent paths, diaries and attendance, and their tables
        per += days * symptoms * (regimens * 8 + 8) * 12
    return per + PATIENT_BYTES


def monte_carlo(
    scenario: Scenario,
    replicates: int,
    n_per_arm: list[int],
    analyses: int = 1,
    cells: int = 1,
    chunk_size: int | None = None,
    workers: int = 1,
    budget: int | None = None,
    max_hours: float | None = None,
) -> Estimate:
    """Estimate a Monte Carlo run (``run``, or ``sweep`` with ``cells``) and fit it to a budget.

    The chunk size is lowered until every worker's chunk fits the budget
    (results do not depend on it).

    Args:
        scenario: The scenario.
        replicates: Trials per design point (and cell).
        n_per_arm: Design points.
        analyses: Analyses per design point.
        cells: Sweep cells (1 for a plain run).
        chunk_size: Replicates per chunk (default ``power.chunk_size``).
        workers: Parallel workers.
        budget: Memory available (bytes); default: the machine's available memory.
        max_hours: Longest run accepted (default :data:`MAX_HOURS`).

    Returns:
        The estimate, with the chunk size to use.

    Raises:
        MssimError: If the run cannot fit the budget or would run longer than
            ``max_hours``, with the estimate and what to change.
    """
    budget = available_memory() if budget is None else budget
    most = max(n_per_arm)
    if scenario.trial.design == "group_sequential":  # re-estimation may enrol more
        most = scenario.trial.sequential.most_per_arm(most)
    patients = most * _per_unit(scenario)
    contrasts = len(scenario.contrasts())
    kept = RESULT_FIELDS * analyses * len(n_per_arm) * len(scenario.endpoints()) * contrasts
    results = 2 * 8 * kept * replicates * cells  # the chunks' parts and their concatenation
    # a diary-scored N-of-1 series keeps the daily paths (mssim.trial.diary)
    per_replicate = patients * patient_bytes(scenario, keep_daily=scores_diary(scenario.trial))
    size = chunk_size or scenario.power.chunk_size
    room = budget - BASE_BYTES * (workers + 1) - results
    if room > 0 and size * per_replicate * workers > room:
        size = max(1, room // (per_replicate * workers))
    memory = BASE_BYTES * (workers + 1) + results + min(size, replicates) * per_replicate * workers
    units = replicates * cells * patients * _days(scenario) * len(scenario.arms)
    seconds = units * SECONDS_PER_UNIT / workers
    estimate = Estimate(int(memory), seconds, int(size), workers)
    if memory > budget:
        raise MssimError(
            f"this run needs more memory than it may use: {estimate.describe()} "
            f"({replicates} replicates x {cells} cells x {patients} patients x "
            f"{_days(scenario)} days), but {format_bytes(budget)} is available; "
            "lower the replicates, cells, sizes or --jobs, or raise --max-memory"
        )
    _check_time(estimate, max_hours, "lower the replicates, cells or sizes, or add --jobs")
    return estimate


def _check_time(estimate: Estimate, max_hours: float | None, advice: str) -> None:
    """Refuse an estimate longer than ``max_hours`` (default :data:`MAX_HOURS`)."""
    limit = MAX_HOURS if max_hours is None else max_hours
    if not math.isfinite(limit) or limit <= 0:
        raise MssimError(f"--max-hours: expected a positive number of hours; given {limit}")
    if estimate.seconds > 3600 * limit:
        raise MssimError(
            f"this would run too long: {estimate.describe()}, more than --max-hours "
            f"{limit:g}; {advice}, or raise --max-hours"
        )


def single_trial(
    scenario: Scenario,
    n_per_arm: int,
    replicates: int = 1,
    budget: int | None = None,
    max_hours: float | None = None,
) -> Estimate:
    """Estimate simulating ``replicates`` trials at once, keeping daily paths for one.

    Used by ``simulate`` (one trial with daily tables) and ``literature`` (one
    replicate per study, all in one chunk).

    Raises:
        MssimError: If it cannot fit the budget or would run longer than
            ``max_hours``, with the estimate.
    """
    budget = available_memory() if budget is None else budget
    patients = n_per_arm * _per_unit(scenario)
    keep_daily = replicates == 1
    memory = BASE_BYTES + replicates * patients * patient_bytes(scenario, keep_daily)
    seconds = replicates * patients * _days(scenario) * len(scenario.arms) * SECONDS_PER_UNIT
    estimate = Estimate(int(memory), seconds, replicates, 1)
    if memory > budget:
        raise MssimError(
            f"this needs more memory than it may use: {estimate.describe()} "
            f"({replicates} trials x {patients} patients x {_days(scenario)} days), but "
            f"{format_bytes(budget)} is available; lower the number of patients or "
            "studies, or raise --max-memory"
        )
    _check_time(estimate, max_hours, "lower the number of patients or studies")
    return estimate


def fine_replicates(scenario: Scenario, replicates: int) -> int:
    """Replicates of the sample-size search's fine pass (``solve_n``)."""
    goal = scenario.power.target
    return max(replicates, math.ceil(goal * (1 - goal) / scenario.power.mcse_target**2))
