"""Assurance: the probability of success averaged over priors on scenario fields.

Each replicate draws its value of every prior field (``scenario.priors``,
:mod:`mssim.config.priors`) from its own keyed stream (purpose ``assurance``,
patient = the prior's position in the table), then is simulated and analysed
exactly as a plain replicate of the scenario with those values. The draws are
a pure function of (seed, replicate, prior), so results are bit-identical
whatever the chunking, workers or resume.

How replicates with different parameter values are simulated: within a chunk,
replicates are grouped by their drawn values, each group gets the scenario at
its values (validated as ``--set`` validates them), and:

* when every prior field only shapes the patients' responses
  (:data:`READ_BY_RESPONSES_ONLY`: effects, responders, expectation, guesses,
  practitioners) and no dropout calibration simulates the scenario, the chunk
  is simulated in one engine call, as a plain run's chunk is: its kernel
  parameters come from the prior's centre, the response draws are drawn once
  for the chunk, and only their mapping to responses is done per group with
  the group's values;
* otherwise the engine simulates each group with its scenario, so any numeric
  field works (the engine reads it as it always does).

When no prior field is read after the simulation (:data:`READ_AFTER_SIMULATION`),
the chunk is then randomized and analysed in one pass, as a plain run's chunk
is; otherwise each group is analysed on its own. A point-mass prior makes one
group per chunk, the very call a plain run makes: assurance equals power bit for
bit.

Reported, per analysis, endpoint, contrast and n per arm:

* ``assurance``: share of replicates rejecting (the rejection that power counts,
  after the multiplicity strategy), with MCSE and Wilson interval;
* the prior of the true effect (mean and SD over replicates of each replicate's
  counterfactual true effect);
* the prior predictive distribution of the estimate (mean, SD and quantiles);
* power as a function of the true effect: replicates binned by their true
  effect (equal-count bins), the share rejecting in each bin with its MCSE.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mssim.config.load import with_overrides
from mssim.config.n_of_1 import scores_diary
from mssim.config.relevance import inert_reason
from mssim.config.scenario import Scenario
from mssim.errors import MssimError
from mssim.montecarlo import sequential
from mssim.montecarlo.analyses import check_analyses
from mssim.montecarlo.parallel import ChunkResult
from mssim.montecarlo.power import (
    KINDS,
    chunk_statistics,
    outcome_statistics,
    replicate_statistics,
    wilson,
)
from mssim.montecarlo.sweep import value_at
from mssim.registry import ANALYSES
from mssim.trial.randomization import total_patients

if TYPE_CHECKING:  # the engine's types; importing them at run time would load numba
    from mssim.model.interventions import Regimen, ResponseNormals, Responses
    from mssim.model.symptoms import SymptomModel

#: Quantiles of the prior predictive distribution of the estimate.
PREDICTIVE_QUANTILES = (0.025, 0.1, 0.25, 0.5, 0.75, 0.9, 0.975)
#: Replicates per bin of the power-by-true-effect curve (at most 10 bins).
CURVE_BIN_REPLICATES = 100


@dataclass(frozen=True)
class Assurance:
    """The result of an assurance run.

    Attributes:
        table: One row per (analysis, endpoint, contrast, n_per_arm): assurance with
            MCSE and Wilson interval, the prior of the true effect and the prior
            predictive distribution of the estimate.
        curve: Power by bin of the true effect, one row per bin and design point.
        draws: The drawn prior values, one column per field, one row per replicate.
        stats: Per-replicate statistics, as
            :func:`mssim.montecarlo.power.chunk_statistics` returns them.
    """

    table: pd.DataFrame
    curve: pd.DataFrame
    draws: pd.DataFrame
    stats: dict[str, np.ndarray]


def check_priors(scenario: Scenario) -> None:
    """Refuse priors on fields that are unknown, not real-valued, unused or out of range.

    Each field is validated like ``--set``: the scenario must accept the ends of the
    prior's support (a normal prior: mean +- 6 SD).

    Raises:
        MssimError: Naming the scenario, the dotted field, what is allowed and what
            was given.
    """
    raw = scenario.model_dump(mode="python")
    label = f"scenario {scenario.name!r}"
    for field, prior in scenario.priors.items():
        where = f'{label}: priors."{field}"'
        if field.split(".")[0] in ("priors", "seed"):
            raise MssimError(f"{where}: a prior cannot be put on {field.split('.')[0]}")
        reason = inert_reason(scenario, field)
        if reason:
            raise MssimError(f"{where}: a prior on it would change nothing: {reason}")
        value = value_at(raw, field)
        if isinstance(value, bool) or not isinstance(value, float):
            with_overrides(scenario, values={field: prior.centre()}, source=where)  # unknown field
            shown = "a table" if isinstance(value, dict) else repr(value)
            raise MssimError(
                f"{where}: priors are allowed on real-valued fields only; this field holds {shown}"
            )
        for end, x in zip(("lower", "upper"), prior.support(), strict=True):
            with_overrides(
                scenario,
                values={field: x},
                source=f"{where} ({end} end {x:g} of the {prior.distribution} prior)",
            )


def centre_scenario(scenario: Scenario) -> Scenario:
    """The scenario with every prior field at its prior's centre (the prior mean)."""
    centres = {field: prior.centre() for field, prior in scenario.priors.items()}
    return with_overrides(
        scenario, values=centres, source=f"scenario {scenario.name!r} at the prior centre"
    )


def prior_draws(scenario: Scenario, replicates: np.ndarray) -> np.ndarray:
    """Each replicate's values of the prior fields (keyed stream ``assurance``).

    Returns:
        Array (fields, R) in the order of ``scenario.priors``, field units.
    """
    from mssim.model import rng  # here, so a refused run never loads numba

    z = rng.normals(scenario.seed, replicates, "assurance", (len(scenario.priors),))
    return np.stack([p.from_normal(z[:, k]) for k, p in enumerate(scenario.priors.values())])


#: Scenario fields read after the simulation (randomization, trial data, true
#: effects, analyses), as patterns (``*`` matches any part of a dotted name).
#: Replicates whose drawn values differ only outside these are simulated group by
#: group but randomized and analysed together; a prior on one of these makes each
#: group analysed on its own. ``tests/test_assurance_batching.py`` perturbs every
#: other real-valued field and checks that the analysis of fixed outcomes holds.
READ_AFTER_SIMULATION = (
    "seed",
    "trial.*",
    "power.*",
    "symptoms.*.mean",  # the stratification cut
    "symptoms.*.mcid",
    "symptoms.*.reference_sd",
    "symptoms.*.scale.*",
    "arms.*.sessions_per_week",  # the regimens' session days
)


def read_after_simulation(field: str) -> bool:
    """Whether a dotted scenario field is read after the simulation."""
    return any(fnmatchcase(field, pattern) for pattern in READ_AFTER_SIMULATION)


#: Scenario fields the engine reads only to map each patient's response draws to
#: effects (:func:`mssim.model.interventions.responses_from_normals`), as patterns.
#: Replicates whose drawn values differ only in these share the kernel's
#: parameters, symptom model and regimens, so a chunk is simulated in one engine
#: call. ``tests/test_assurance_batching.py`` perturbs every real-valued field
#: matching them in the shipped scenarios and checks that those hold.
READ_BY_RESPONSES_ONLY = (
    "population.responder_fraction",
    "population.response_sd",
    "population.expectation_sd",
    "arms.*.specific_effect",
    "arms.*.specific_fraction",
    "arms.*.nonspecific_effect",
    "arms.*.practitioner_sd",
    "arms.*.guess_verum",
    "arms.*.guess_dont_know",
    "blinding.expectation_gain",
    "blinding.unblinding",
)


def read_by_responses_only(field: str) -> bool:
    """Whether a dotted scenario field is read only by the mapping to responses."""
    return any(fnmatchcase(field, pattern) for pattern in READ_BY_RESPONSES_ONLY)


class AssuranceTask:
    """A picklable task: one chunk, replicates grouped by their drawn values."""

    def __init__(self, scenario: Scenario, n_values: list[int], methods: list[str]) -> None:
        self.scenario = scenario
        self.n_values = n_values
        self.methods = methods
        # analysed together unless a prior is read after the simulation, the design
        # simulates look by look, or the series keeps daily paths (not concatenated)
        self.batched = not (
            any(read_after_simulation(field) for field in scenario.priors)
            or sequential.applies(scenario)
            or scores_diary(scenario.trial)
        )

    def __call__(self, replicates: np.ndarray) -> ChunkResult:
        """Statistics of the chunk's replicates, each at its drawn values, with the draws."""
        draws = prior_draws(self.scenario, replicates)
        fields = list(self.scenario.priors)
        groups: dict[tuple[float, ...], list[int]] = {}
        for j in range(len(replicates)):
            groups.setdefault(tuple(float(v) for v in draws[:, j]), []).append(j)
        cells = {
            values: with_overrides(
                self.scenario,
                values=dict(zip(fields, values, strict=True)),
                source=f"replicate {int(replicates[positions[0]])} drawn from the priors",
            )
            for values, positions in groups.items()
        }
        if len(groups) == 1:
            (cell,) = cells.values()
            return {
                **chunk_statistics(cell, self.n_values, self.methods, replicates),
                "draws": draws,
            }
        if self.batched:
            return {**self._analysed_together(groups, cells, replicates), "draws": draws}
        out: ChunkResult = {}
        for values, positions in groups.items():
            part = chunk_statistics(
                cells[values], self.n_values, self.methods, replicates[positions]
            )
            for name, array in part.items():
                out.setdefault(name, np.zeros((*array.shape[:-1], len(replicates))))
                out[name][..., positions] = array
        return {**out, "draws": draws}

    def _one_simulation(self) -> bool:
        """Whether every prior field only shapes the responses (one engine call per chunk).

        Not under a MAR or MNAR dropout calibration: its pilot simulates the
        scenario with its responses, so the kernel's base hazard moves with them.
        """
        from mssim.model.dropout import calibrated_on_pilot  # here: no numba before a run

        return not calibrated_on_pilot(self.scenario) and all(
            read_by_responses_only(field) for field in self.scenario.priors
        )

    def _analysed_together(
        self,
        groups: dict[tuple[float, ...], list[int]],
        cells: dict[tuple[float, ...], Scenario],
        replicates: np.ndarray,
    ) -> ChunkResult:
        """The groups simulated with their values; all randomized and analysed in one pass."""
        from mssim.model.engine import simulate  # here, so a refused run never loads numba
        from mssim.model.outcomes import concatenate

        n = total_patients(self.scenario, max(self.n_values))
        order = [j for positions in groups.values() for j in positions]
        if self._one_simulation():
            respond = _GroupResponses(groups, cells)
            centre = centre_scenario(self.scenario)
            outcomes = simulate(centre, replicates[order], n, respond=respond)
        else:
            outcomes = concatenate(
                [simulate(cells[v], replicates[p], n) for v, p in groups.items()]
            )
        stats = outcome_statistics(self.scenario, self.n_values, self.methods, outcomes)
        back = np.argsort(order, kind="stable")
        return {name: array[..., back] for name, array in stats.items()}


class _GroupResponses:
    """The responses of a chunk simulated in one call: each group mapped with its values.

    Args:
        groups: Drawn values -> the group's positions in the chunk; the chunk is
            simulated group after group, in this order.
        cells: Drawn values -> the scenario at those values.
    """

    def __init__(
        self,
        groups: dict[tuple[float, ...], list[int]],
        cells: dict[tuple[float, ...], Scenario],
    ) -> None:
        self.groups, self.cells = groups, cells

    def __call__(
        self,
        centre: Scenario,
        model: SymptomModel,
        regimen_list: list[Regimen],
        normals: ResponseNormals,
    ) -> Responses:
        """The chunk's responses (``centre`` gave the kernel's parameters, not these)."""
        from mssim.model.interventions import grouped_responses

        scenarios = [self.cells[values] for values in self.groups]
        sizes = [len(positions) for positions in self.groups.values()]
        return grouped_responses(scenarios, sizes, model, regimen_list, normals)


def run_assurance(
    scenario: Scenario,
    n_per_arm: list[int] | None = None,
    replicates: int | None = None,
    analyses: list[str] | None = None,
    chunk_size: int | None = None,
    n_jobs: int = 1,
    backend: str = "processes",
    out: Path | str | None = None,
    scheduler: str | None = None,
    progress: bool | None = None,
) -> Assurance:
    """Assurance of every design point by Monte Carlo over the scenario's priors.

    Args:
        scenario: The scenario, with at least one prior.
        n_per_arm: Design points; default ``power.n_per_arm``.
        replicates: Replicate trials; default ``power.replicates``.
        analyses: Analyses; default ``[trial.analysis]``.
        chunk_size: Replicates per chunk; results do not depend on it.
        n_jobs: Parallel workers.
        backend: ``threads``, ``processes`` or ``dask``.
        out: Folder for checkpoints (``out/chunks``), so the same call resumes.
        scheduler: Dask scheduler address for ``backend="dask"``.
        progress: Progress bar; None = only on a terminal.

    Returns:
        The assurance table, the power-by-true-effect curve and the draws.

    Raises:
        MssimError: For a scenario without priors, a bad prior field or analysis.
    """
    if not scenario.priors:
        raise MssimError(f"scenario {scenario.name!r}: no [priors] table; assurance needs one")
    check_priors(scenario)
    n_values = sorted(set(n_per_arm or scenario.power.n_per_arm))
    reps = replicates or scenario.power.replicates
    methods = analyses or [scenario.trial.analysis]
    check_analyses(centre_scenario(scenario), methods)
    size = chunk_size or scenario.power.chunk_size
    stats = replicate_statistics(
        AssuranceTask(scenario, n_values, methods),
        {
            "kind": "assurance",
            "scenario": scenario.model_dump(mode="json"),
            "n": n_values,
            "analyses": methods,
        },
        reps,
        size,
        out,
        n_jobs=n_jobs,
        backend=backend,
        scheduler=scheduler,
        progress=progress,
    )
    draws = pd.DataFrame(stats["draws"].T, columns=list(scenario.priors))
    draws.insert(0, "replicate", np.arange(reps))
    table, curve = summarize_assurance(scenario, n_values, methods, stats)
    return Assurance(table, curve, draws, stats)


def summarize_assurance(
    scenario: Scenario, n_per_arm: list[int], analyses: list[str], stats: dict[str, np.ndarray]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The assurance table and the power-by-true-effect curve from per-replicate statistics.

    Args:
        scenario: The scenario (names of endpoints and contrasts).
        n_per_arm: The design points.
        analyses: The analyses.
        stats: Output of :func:`mssim.montecarlo.power.chunk_statistics` over all replicates.

    Returns:
        ``(table, curve)``; see :class:`Assurance`.
    """
    endpoints = scenario.endpoints()
    contrasts = [f"{a} - {b}" for a, b in scenario.contrasts()]
    rows, bins = [], []
    for m, method in enumerate(analyses):
        kind = KINDS.index(ANALYSES.get(method).estimand)
        for e, endpoint in enumerate(endpoints):
            for c, contrast in enumerate(contrasts):
                truth = stats["truth"][kind, e, c]
                for i, n in enumerate(n_per_arm):
                    reject = stats["reject"][m, i, e, c].astype(bool)
                    estimate = stats["estimate"][m, i, e, c]
                    head = {
                        "analysis": method,
                        "endpoint": endpoint,
                        "contrast": contrast,
                        "n_per_arm": n,
                    }
                    rows.append({**head, **_assurance_row(reject, estimate, truth)})
                    bins += [{**head, **b} for b in power_by_true_effect(reject, truth)]
    return pd.DataFrame(rows), pd.DataFrame(bins)


def _assurance_row(reject: np.ndarray, estimate: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    r = len(reject)
    k = int(reject.sum())
    share = k / r
    low, high = wilson(k, r)
    finite = estimate[np.isfinite(estimate)]
    quantiles = np.quantile(finite, PREDICTIVE_QUANTILES) if len(finite) else [math.nan] * 7
    return {
        "replicates": r,
        "assurance": share,
        "assurance_mcse": math.sqrt(share * (1 - share) / r),
        "assurance_ci_low": low,
        "assurance_ci_high": high,
        "true_effect_mean": float(truth.mean()),
        "true_effect_sd": float(truth.std(ddof=1)) if r > 1 else math.nan,
        "estimate_mean": float(finite.mean()) if len(finite) else math.nan,
        "estimate_sd": float(finite.std(ddof=1)) if len(finite) > 1 else math.nan,
        **{
            f"estimate_q{100 * q:g}": float(v)
            for q, v in zip(PREDICTIVE_QUANTILES, quantiles, strict=True)
        },
        "failed": int(r - len(finite)),
    }


def power_by_true_effect(reject: np.ndarray, truth: np.ndarray) -> list[dict[str, float]]:
    """Share rejecting in equal-count bins of the replicates' true effects.

    Args:
        reject: Per-replicate rejections (R,).
        truth: Per-replicate true effects (R,), estimand units.

    Returns:
        One dict per bin (at most 10, :data:`CURVE_BIN_REPLICATES` replicates or more
        each): its range and mean true effect, replicates, power and its MCSE.
    """
    order = np.argsort(truth, kind="stable")
    n_bins = int(np.clip(len(truth) // CURVE_BIN_REPLICATES, 1, 10))
    out = []
    for b, members in enumerate(np.array_split(order, n_bins)):
        share = float(reject[members].mean())
        out.append(
            {
                "bin": b,
                "true_effect_low": float(truth[members].min()),
                "true_effect_high": float(truth[members].max()),
                "true_effect": float(truth[members].mean()),
                "replicates": len(members),
                "power": share,
                "power_mcse": math.sqrt(share * (1 - share) / len(members)),
            }
        )
    return out


def next_to_power(table: pd.DataFrame, power: pd.DataFrame) -> pd.DataFrame:
    """The assurance table with power at the prior's centre beside it.

    Args:
        table: Assurance table.
        power: :func:`mssim.montecarlo.power.estimate` of :func:`centre_scenario`,
            same analyses and design points.

    Returns:
        ``table`` with ``power_at_centre``, its MCSE and Wilson interval.
    """
    keys = ["analysis", "endpoint", "contrast", "n_per_arm"]
    shown = {
        "power": "power_at_centre",
        "power_mcse": "power_at_centre_mcse",
        "power_ci_low": "power_at_centre_ci_low",
        "power_ci_high": "power_at_centre_ci_high",
    }
    centre = power[keys + list(shown)].rename(columns=shown)
    return table.merge(centre, on=keys, how="left", validate="one_to_one")
