"""Randomization: which regimen each enrolled patient is allocated to.

Randomization lists are drawn position by position, so the trial with the
first ``n`` patients is a prefix of the trial with more (common random numbers).
The allocation of a chunk of replicates is drawn once and passed on with the
outcomes; nothing downstream re-randomizes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy.special import ndtr

from mssim.config.scenario import Scenario
from mssim.registry import DESIGNS

if TYPE_CHECKING:  # the engine (numba) is not imported to validate a scenario
    from mssim.model.outcomes import Outcomes

MAX_STRATA = 3  # MS types; severity uses 2


def allocation_units(scenario: Scenario) -> list[int]:
    """Allocation ratio per regimen (the design decides; crossover sequences are 1:1)."""
    return DESIGNS.get(scenario.trial.design).allocation_units(scenario)


def total_patients(scenario: Scenario, n_per_arm: int) -> int:
    """Patients enrolled when the smallest arm has ``n_per_arm`` patients."""
    return n_per_arm * sum(allocation_units(scenario))


def randomize(scenario: Scenario, outcomes: Outcomes) -> np.ndarray:
    """Allocate every enrolled patient to a regimen.

    Args:
        scenario: The scenario (``trial.randomization``, ``block_size``,
            ``stratify_by``, ``allocation``).
        outcomes: The chunk's outcomes (strata come from the cohort).

    Returns:
        Regimen index per patient, (R, N).
    """
    trial = scenario.trial
    units = np.array(allocation_units(scenario))
    r, n = outcomes.cohort.ms_type.shape
    if trial.randomization == "simple":
        u = rng_uniforms(scenario, outcomes.replicates, (n, 1))[..., 0]
        return np.searchsorted(np.cumsum(units) / units.sum(), u, side="right")
    stratified = trial.randomization == "stratified"
    strata = _strata(scenario, outcomes) if stratified else np.zeros((r, n), dtype=np.int64)
    b = trial.block_size
    length = -(-n // b) * b
    # One list per possible stratum (at most 3), drawn position-major; only the
    # first is used unless stratified.
    u = rng_uniforms(scenario, outcomes.replicates, (length, MAX_STRATA))
    used = MAX_STRATA if stratified else 1
    contents = np.repeat(np.arange(len(units)), units * (b // units.sum()))
    blocks = u[..., :used].reshape(r, length // b, b, used)
    # Each block's contents in the order of its uniforms (ties by position): the
    # block's k-th smallest uniform gets contents[k].
    order = np.argsort(blocks, axis=2, kind="stable")
    lists = np.empty(blocks.shape, dtype=contents.dtype)
    np.put_along_axis(lists, order, contents[None, None, :, None], axis=2)
    lists = lists.reshape(r, length, used)
    position = np.zeros((r, n), dtype=np.int64)
    for s in range(used):
        member = strata == s
        position = np.where(member, np.cumsum(member, axis=1) - 1, position)
    return lists[np.arange(r)[:, None], position, strata]


def rng_uniforms(scenario: Scenario, replicates: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Allocation-stream uniforms, position-major."""
    from mssim.model import rng  # here, so validating a scenario does not load numba

    return ndtr(rng.normals(scenario.seed, replicates, "allocation", shape))


def _strata(scenario: Scenario, outcomes: Outcomes) -> np.ndarray:
    """Stratum per patient: MS type, or baseline severity above the population mean."""
    if scenario.trial.stratify_by == "ms_type":
        return outcomes.cohort.ms_type.astype(np.int64)
    primary = scenario.trial.primary_endpoint
    sym = getattr(scenario.symptoms, primary)
    inst = sym.scale
    cut = inst.low + inst.points_per_nrs() * sym.mean
    baseline = outcomes.scores[:, :, 0, 0, outcomes.tracked.index(primary)]
    return (baseline >= cut).astype(np.int64)


def contrast_regimens(scenario: Scenario) -> list[tuple[int, int]]:
    """(treatment, comparator) regimen indices of each contrast (the design decides)."""
    return DESIGNS.get(scenario.trial.design).contrast_regimens(scenario)


@dataclass(frozen=True)
class Trials:
    """Replicate trials: every patient's outcomes under every regimen, and the allocation.

    Built once by :func:`randomized` and passed on, so nothing downstream
    re-randomizes.

    Attributes:
        scenario: The scenario.
        outcomes: The engine's outcomes (potential outcomes under every regimen).
        allocation: Regimen index of every enrolled patient, (R, N).
    """

    scenario: Scenario
    outcomes: Outcomes
    allocation: np.ndarray


def randomized(scenario: Scenario, outcomes: Outcomes) -> Trials:
    """Randomize the enrolled patients of simulated outcomes into trials."""
    return Trials(scenario, outcomes, randomize(scenario, outcomes))
