"""The data one trial observes, summarized into one endpoint.

The allocated regimen's visit scores, after dropout, the estimand strategy and
the missing-data rule; the design says how visits become the endpoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from mssim.config.n_of_1 import scores_diary
from mssim.config.scenario import Scenario
from mssim.registry import DESIGNS, ENDPOINTS
from mssim.trial.diary import endpoint_mcid, observed_scores
from mssim.trial.estimands import relapsed_by
from mssim.trial.grid import GRID_TOL, grid_steps, on_grid, summary_grid
from mssim.trial.missing import bocf, locf

if TYPE_CHECKING:  # the engine (numba) is not imported to validate a scenario
    from mssim.model.outcomes import Outcomes


@dataclass(frozen=True)
class TrialData:
    """One endpoint of a set of replicate trials, ready for the analyses.

    Arrays are (R, N) over the enrolled patients (N = this design point's size).

    Attributes:
        regimen: Allocated regimen index.
        baseline: Baseline score (instrument points, on the instrument's grid).
        outcome: Endpoint score (instrument points; crossover: period 1), exactly on
            the endpoint's grid (e.g. steps of 1/9 / 2 for the mean of two FSS visits).
        change: Outcome minus baseline, exactly on the endpoint's grid: patients with
            the same change have bit-identical values (real ties).
        responded: Improvement of at least the MCID (and no relapse if composite).
        observed: The endpoint is observed (after the missing-data rule).
        cluster: Practitioner id (-1 for unneedled arms).
        period2: Crossover period-2 score (NaN for parallel designs).
        dropped_out: Dropped out by the endpoint's last visit (a crossover: the end of
            period 2).
        period_seen: The score at the end of each period counts as observed, (R, N,
            periods): one period in a parallel design, two in a crossover.
        scores: Visit scores after the missing-data rule, (R, N, visits). For an N-of-1
            series scored by the diary (:mod:`mssim.trial.diary`): the run-in and period
            means of the daily diary NRS, on no grid, with ``seen`` the periods that have
            an observed diary day.
        seen: The visit counts as observed (dropout, estimand strategy and the
            missing-data rule applied), (R, N, visits).
        visit_weeks: Visit weeks, baseline (0) first.
        endpoint_visits: Indices of the visits the endpoint summarizes (parallel
            designs; from the endpoint registry).
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
    period_seen: np.ndarray
    scores: np.ndarray
    seen: np.ndarray
    visit_weeks: np.ndarray
    endpoint_visits: tuple[int, ...]

    def contrast(self, treatment: int, comparator: int) -> tuple[np.ndarray, np.ndarray]:
        """(analysed, in treatment arm) masks, (R, N), for a contrast of two regimens."""
        in_contrast = (self.regimen == treatment) | (self.regimen == comparator)
        return self.observed & in_contrast, self.regimen == treatment


def trial_data(
    scenario: Scenario, outcomes: Outcomes, allocation: np.ndarray, endpoint: str, n: int
) -> TrialData:
    """The observed data of the first ``n`` enrolled patients of each replicate."""
    sc, trial = scenario, scenario.trial
    k = outcomes.tracked.index(endpoint)
    pick = allocation[:, :n, None]

    def allocated(a: np.ndarray) -> np.ndarray:
        return np.take_along_axis(a[:, :n], pick, axis=2)[:, :, 0]

    dropout = allocated(outcomes.dropout_day)
    diary = scores_diary(trial)
    if diary:
        scores, seen = observed_scores(sc, outcomes, allocation[:, :n], endpoint)
    else:
        scores = np.stack(
            [allocated(outcomes.scores[..., v, k]) for v in range(len(outcomes.visit_days))],
            axis=-1,
        )
        seen = outcomes.visit_days[None, None, :] < dropout[..., None]
    if trial.estimand == "hypothetical":
        onsets = outcomes.relapse_onsets[:, :n]
        first = np.where(onsets >= 1, onsets, np.iinfo(np.int64).max).min(axis=-1)
        seen &= outcomes.visit_days[None, None, :] < first[..., None]
    if trial.missing_data == "locf":
        scores, seen = locf(scores, seen)
    elif trial.missing_data == "bocf":
        scores, seen = bocf(scores, seen)
    primary = 7 * trial.weeks
    # each period's endpoint is its visit trial.weeks after the period starts
    period_ends = [first + primary for first, _ in DESIGNS.get(trial.design).periods(trial)]
    period_visits = [int(np.flatnonzero(outcomes.visit_days == day)[0]) for day in period_ends]
    cluster = allocated(outcomes.responses.practitioner)
    design = DESIGNS.get(trial.design)
    outcome, period2, observed = design.observe(sc, scores, seen, outcomes.visit_days)
    # Scores, endpoint and change exactly on the instrument's grid: equal values are
    # equal numbers, so rank tests see the instrument's real ties.
    symptom = getattr(sc.symptoms, endpoint)
    low, step = symptom.scale.low, symptom.scale.step

    def grid(part: int) -> tuple[float, float]:
        """(origin, resolution) of the design's outcome (0) or period-2 score (1)."""
        return summary_grid(
            lambda s: design.observe(sc, s, np.ones(s.shape, bool), outcomes.visit_days)[part],
            len(outcomes.visit_days),
            low,
            step,
        )

    if diary:  # means of diary days: on no grid; a responder improves by the NRS's MCID
        baseline = scores[..., 0]
        change = outcome - baseline
        responded = change <= -endpoint_mcid(sc, endpoint)
    else:
        origin, resolution = grid(0)
        baseline = on_grid(scores[..., 0], low, step)
        outcome = on_grid(outcome, origin, resolution)
        period2 = on_grid(period2, *grid(1))
        # outcome - baseline lies on the grid from origin - low in steps of the resolution
        # (the outcome's resolution divides the instrument's step)
        change_steps = grid_steps(outcome - baseline, origin - low, resolution)
        change = (origin - low) + change_steps * resolution
        # change <= -mcid, counted in whole grid steps so that a change of exactly -mcid counts
        mcid_steps = np.floor((-symptom.mcid - (origin - low)) / resolution + GRID_TOL)
        responded = change_steps <= mcid_steps
    if trial.estimand == "composite":
        responded &= ~relapsed_by(outcomes, primary)[:, :n]
    return TrialData(
        regimen=allocation[:, :n],
        baseline=baseline,
        outcome=outcome,
        change=change,
        responded=responded,
        observed=observed,
        cluster=cluster,
        period2=period2,
        dropped_out=dropout <= period_ends[-1],
        period_seen=seen[..., period_visits],
        scores=scores,
        seen=seen,
        visit_weeks=outcomes.visit_days // 7,
        endpoint_visits=tuple(ENDPOINTS.get(trial.endpoint).visits(outcomes.visit_days, primary)),
    )
