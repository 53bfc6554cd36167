"""Designs: randomization, the data a trial observes, and the true effect.

The engine gives every patient's potential outcomes under every regimen.
A design turns them into one trial: it randomizes patients to regimens, keeps
the outcome of the allocated regimen, applies dropout and the estimand
strategy, and summarizes visits into endpoints. The true effect of a
contrast is computed from the potential outcomes of *all* patients, before
any allocation or missingness (ARCHITECTURE invariant 4).

Randomization lists are drawn position by position, so the trial with the
first ``n`` patients is a prefix of the trial with more (invariant 2).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from mssim.config.scenario import INSTRUMENTS, Scenario
from mssim.model import rng
from mssim.model.outcomes import Outcomes
from mssim.trial import analysis
from mssim.trial.analysis import bocf, locf

MAX_STRATA = 3  # MS types; severity uses 2


def allocation_units(scenario: Scenario) -> list[int]:
    """Allocation ratio per regimen (crossover sequences are 1:1)."""
    if scenario.trial.design == "crossover":
        return [1, 1]
    return list(scenario.allocation_ratio().values())


def total_patients(scenario: Scenario, n_per_arm: int) -> int:
    """Patients enrolled for ``n_per_arm`` per allocation unit."""
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
    # One list per possible stratum (at most 3), drawn position-major.
    u = rng_uniforms(scenario, outcomes.replicates, (length, MAX_STRATA))
    contents = np.repeat(np.arange(len(units)), units * (b // units.sum()))
    blocks = u.reshape(r, length // b, b, MAX_STRATA)
    ranks = np.argsort(np.argsort(blocks, axis=2, kind="stable"), axis=2, kind="stable")
    lists = contents[ranks].reshape(r, length, MAX_STRATA)
    position = np.zeros((r, n), dtype=np.int64)
    for s in range(MAX_STRATA):
        member = strata == s
        position = np.where(member, np.cumsum(member, axis=1) - 1, position)
    return lists[np.arange(r)[:, None], position, strata]


def rng_uniforms(scenario: Scenario, replicates: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Allocation-stream uniforms, position-major."""
    return ndtr(rng.normals(scenario.seed, replicates, "allocation", shape))


def _strata(scenario: Scenario, outcomes: Outcomes) -> np.ndarray:
    """Stratum per patient: MS type, or baseline severity above the population mean."""
    if scenario.trial.stratify_by == "ms_type":
        return outcomes.cohort.ms_type.astype(np.int64)
    primary = scenario.trial.primary_endpoint
    sym = getattr(scenario.symptoms, primary)
    inst = INSTRUMENTS[sym.instrument]
    cut = inst.low + inst.points_per_nrs() * sym.mean
    baseline = outcomes.scores[:, :, 0, 0, outcomes.tracked.index(primary)]
    return (baseline >= cut).astype(np.int64)


@dataclass(frozen=True)
class TrialData:
    """One endpoint of a set of replicate trials, ready for the analyses.

    Arrays are (R, N) over the enrolled patients (N = this design point's size).

    Attributes:
        regimen: Allocated regimen index.
        baseline: Baseline score (instrument points).
        outcome: Endpoint score (instrument points; crossover: period 1).
        change: Outcome minus baseline.
        responded: Improvement of at least the MCID (and no relapse if composite).
        observed: The endpoint is observed (after the missing-data rule).
        cluster: Practitioner id (-1 for unneedled arms).
        period2: Crossover period-2 score (NaN for parallel designs).
        dropped_out: Dropped out before the endpoint visit.
    """

    regimen: np.ndarray
    baseline: np.ndarray
    outcome: np.ndarray
    change: np.ndarray
    responded: np.ndarray
    observed: np.ndarray
    cluster: np.ndarray
    period2: np.ndarray
    dropped_out: np.ndarray


def endpoint_visits(scenario: Scenario, visit_days: np.ndarray) -> tuple[int, list[int]]:
    """(primary visit index, indices of the visits summarised by the endpoint)."""
    primary = int(np.flatnonzero(visit_days == 7 * scenario.trial.weeks)[0])
    if scenario.trial.endpoint == "mean_post":
        return primary, list(range(1, len(visit_days)))
    return primary, [primary]


def potential_endpoint(
    scenario: Scenario, outcomes: Outcomes, endpoint: str, no_relapse: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Endpoint under every regimen, without missingness: (change, responded).

    Shapes (R, N, regimens). For a crossover, ``change`` holds the period-1
    score (the contrast of period-1 scores is the parallel-group effect).
    """
    k = outcomes.tracked.index(endpoint)
    scores = outcomes.scores_no_relapse if no_relapse else outcomes.scores
    scores = scores[..., k]
    primary, visits = endpoint_visits(scenario, outcomes.visit_days)
    if scenario.trial.design == "crossover":
        return scores[..., 1], np.zeros(scores.shape[:3], dtype=bool)
    change = scores[..., visits].mean(axis=-1) - scores[..., 0]
    responded = change <= -getattr(scenario.symptoms, endpoint).mcid
    if scenario.trial.estimand == "composite":
        relapsed = _relapsed_by(outcomes, int(outcomes.visit_days[primary]))
        responded &= ~relapsed[..., None]
    return change, responded


def _relapsed_by(outcomes: Outcomes, day: int) -> np.ndarray:
    """A relapse began after randomization and on or before ``day``, (R, N)."""
    onsets = outcomes.relapse_onsets
    return ((onsets >= 1) & (onsets <= day)).any(axis=-1)


def trial_data(
    scenario: Scenario, outcomes: Outcomes, allocation: np.ndarray, endpoint: str, n: int
) -> TrialData:
    """The observed data of the first ``n`` enrolled patients of each replicate."""
    sc, trial = scenario, scenario.trial
    k = outcomes.tracked.index(endpoint)
    pick = allocation[:, :n, None]

    def allocated(a: np.ndarray) -> np.ndarray:
        return np.take_along_axis(a[:, :n], pick, axis=2)[:, :, 0]

    scores = np.stack(
        [allocated(outcomes.scores[..., v, k]) for v in range(len(outcomes.visit_days))], axis=-1
    )
    dropout = allocated(outcomes.dropout_day)
    seen = outcomes.visit_days[None, None, :] < dropout[..., None]
    if trial.estimand == "hypothetical":
        onsets = outcomes.relapse_onsets[:, :n]
        first = np.where(onsets >= 1, onsets, np.iinfo(np.int64).max).min(axis=-1)
        seen &= outcomes.visit_days[None, None, :] < first[..., None]
    if trial.missing_data == "locf":
        scores, seen = locf(scores, seen)
    elif trial.missing_data == "bocf":
        scores, seen = bocf(scores, seen)
    primary, visits = endpoint_visits(sc, outcomes.visit_days)
    cluster = allocated(outcomes.responses.practitioner)
    if trial.design == "crossover":
        observed = seen[..., 1] & seen[..., 2]
        outcome, period2 = scores[..., 1], scores[..., 2]
    else:
        observed = seen[..., visits].all(axis=-1) & seen[..., 0]
        outcome, period2 = scores[..., visits].mean(axis=-1), np.full(scores.shape[:2], np.nan)
    baseline = scores[..., 0]
    change = outcome - baseline
    responded = change <= -getattr(sc.symptoms, endpoint).mcid
    if trial.estimand == "composite":
        responded &= ~_relapsed_by(outcomes, int(outcomes.visit_days[primary]))[:, :n]
    return TrialData(
        regimen=allocation[:, :n],
        baseline=baseline,
        outcome=outcome,
        change=change,
        responded=responded,
        observed=observed,
        cluster=cluster,
        period2=period2,
        dropped_out=dropout <= outcomes.visit_days[primary],
    )


def analyse(
    method: str, data: TrialData, treatment: int, comparator: int, alpha: float
) -> analysis.Estimates:
    """Run one vectorized analysis of a contrast between two regimens.

    Args:
        method: A vectorized analysis name (``analysis.METHODS``).
        data: The trial data.
        treatment: Regimen index of the arm (crossover: the first sequence, AB).
        comparator: Regimen index of the comparator (crossover: BA).
        alpha: Two-sided significance level.

    Returns:
        Per-replicate estimates (treatment minus comparator).
    """
    in_contrast = (data.regimen == treatment) | (data.regimen == comparator)
    observed = data.observed & in_contrast
    arm = data.regimen == treatment
    if method == "crossover":
        return analysis.crossover(data.outcome, data.period2, arm, observed, alpha)
    if method == "ancova":
        return analysis.ancova(data.outcome, data.baseline, arm, observed, alpha)
    if method == "ancova_cluster":
        # patients seen by no practitioner are clusters of their own
        own = -1 - np.arange(data.cluster.shape[1])
        cluster = np.where(data.cluster >= 0, data.cluster, own)
        return analysis.ancova_cluster(data.outcome, data.baseline, arm, cluster, observed, alpha)
    if method == "responder":
        return analysis.responder(data.responded, arm, observed, alpha)
    if method == "mann_whitney":
        return analysis.mann_whitney(data.change, arm, observed, alpha)
    return analysis.welch_change(data.change, arm, observed, alpha)


def contrast_regimens(scenario: Scenario) -> list[tuple[int, int]]:
    """(treatment, comparator) regimen indices of each contrast."""
    if scenario.trial.design == "parallel":
        names = scenario.arm_names()
        return [(names.index(a), names.index(b)) for a, b in scenario.contrasts()]
    first = scenario.arm_names()[0]
    return [(0, 1) if a == first else (1, 0) for a, _ in scenario.contrasts()]


def true_effects(scenario: Scenario, outcomes: Outcomes, endpoint: str) -> dict[str, np.ndarray]:
    """Per-replicate true effect of each contrast, by estimand kind.

    The effect averages the potential outcomes of every enrolled patient (no
    allocation, no missingness); under the hypothetical strategy the outcomes
    had no relapse happened.

    Returns:
        ``{"mean_difference" | "risk_difference" | "probability_index": (R, contrasts)}``.
    """
    hypothetical = scenario.trial.estimand == "hypothetical"
    change, responded = potential_endpoint(scenario, outcomes, endpoint, no_relapse=hypothetical)
    pairs = contrast_regimens(scenario)
    return {
        "mean_difference": np.stack(
            [(change[..., a] - change[..., b]).mean(1) for a, b in pairs], 1
        ),
        "risk_difference": np.stack(
            [responded[..., a].mean(1) - responded[..., b].mean(1) for a, b in pairs], 1
        ),
        "probability_index": np.stack(
            [_probability_index(change[..., a], change[..., b]) for a, b in pairs], 1
        ),
    }


def _probability_index(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """P(X > Y) + P(X = Y) / 2 - 1/2 over all pairs, per replicate row."""
    out = np.empty(len(x))
    for r in range(len(x)):
        ys = np.sort(y[r])
        below = np.searchsorted(ys, x[r], side="left")
        ties = np.searchsorted(ys, x[r], side="right") - below
        out[r] = (below.sum() + 0.5 * ties.sum()) / (x.shape[1] * y.shape[1]) - 0.5
    return out
