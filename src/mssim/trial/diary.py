"""Daily diary endpoints of an N-of-1 series: each period's mean diary score after a wash-in.

With ``trial.n_of_1.period_score = "diary"`` each period is scored by the
patient's daily diary NRS (0-10, integer, from the engine's daily paths)
averaged over the period's observed days after the first
``trial.n_of_1.wash_in_days``: days ``start + wash_in + 1`` to ``start + 7 *
weeks`` of a period starting on day ``start``. Baseline is the mean diary over
the screening run-in (days up to 0, before randomization).

Why period means, not a day-by-day model: the daily scores within a period are
autocorrelated (the symptoms' AR(1) fluctuation and slow drift), so a model
that treats days as independent residuals understates the SE and inflates the
type I error. The period is the unit that is randomized; its mean is the
summary measure that series of N-of-1 trials are analysed with (Senn 2024,
summary measures; Araujo, Julious and Senn 2016), by the same paired analysis
and mixed model as the instrument scores (:mod:`mssim.trial.analyses.n_of_1`).
Averaging the days reduces the day-to-day and diary noise, which is why a diary
often needs fewer patients than one instrument score per period.

A period counts as observed when at least one of its diary days is (the diary
stops when the patient drops out). The true effect is the contrast of the
first period's mean *latent* severity (the diary before its noise and
rounding) under each sequence, over every enrolled patient. A responder
improves by at least the NRS's MCID (:func:`endpoint_mcid`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from mssim.config.n_of_1 import scores_diary
from mssim.config.scenario import Scenario
from mssim.registry import DESIGNS, INSTRUMENTS

if TYPE_CHECKING:  # the engine (numba) is not imported to validate a scenario
    from mssim.model.outcomes import DailyPaths, Outcomes


def endpoint_mcid(scenario: Scenario, endpoint: str) -> float:
    """MCID of the score analysed (points): the diary's 0-10 NRS, or the endpoint's instrument."""
    if scores_diary(scenario.trial):
        return INSTRUMENTS.get("nrs").mcid
    return getattr(scenario.symptoms, endpoint).mcid


def windows(scenario: Scenario, days: np.ndarray) -> np.ndarray:
    """Which days each score averages: baseline (the run-in), then each period after wash-in.

    Args:
        scenario: An N-of-1 scenario.
        days: Day numbers of the daily paths, (D,).

    Returns:
        Boolean (1 + periods, D).
    """
    trial = scenario.trial
    wash_in, length = trial.n_of_1.wash_in_days, 7 * trial.weeks
    rows = [days <= 0]
    for start, _ in DESIGNS.get(trial.design).periods(trial):
        rows.append((days > start + wash_in) & (days <= start + length))
    return np.stack(rows)


def window_means(values: np.ndarray, window: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean of the finite values in each window.

    Args:
        values: Daily values, (..., D); NaN = not observed.
        window: Boolean (W, D).

    Returns:
        ``(means, seen)``, each (..., W): NaN and False for a window with no observed day.
    """
    finite = np.isfinite(values)
    weights = window.T.astype(np.float64)
    counts = finite.astype(np.float64) @ weights
    sums = np.where(finite, values, 0.0) @ weights
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / counts, np.nan), counts > 0


def _daily(outcomes: Outcomes) -> DailyPaths:
    if outcomes.daily is None:
        raise ValueError("a diary endpoint needs the daily paths: simulate with keep_daily=True")
    return outcomes.daily


def observed_scores(
    scenario: Scenario, outcomes: Outcomes, allocation: np.ndarray, endpoint: str
) -> tuple[np.ndarray, np.ndarray]:
    """The allocated sequence's diary scores: run-in mean, then each period's mean.

    Args:
        scenario: An N-of-1 scenario scored by the diary.
        outcomes: Outcomes with daily paths.
        allocation: Allocated regimen, (R, n) for the first n enrolled patients.
        endpoint: The symptom.

    Returns:
        ``(scores, seen)``, (R, n, 1 + periods), in the visits' order (NRS points).
    """
    daily = _daily(outcomes)
    k = scenario.symptoms.active().index(endpoint)
    n = allocation.shape[1]
    diary = np.take_along_axis(daily.diary[:, :n, :, :, k], allocation[:, :, None, None], axis=2)[
        :, :, 0
    ]
    return window_means(diary, windows(scenario, daily.days))


def first_period_truth(scenario: Scenario, outcomes: Outcomes, endpoint: str) -> np.ndarray:
    """Each patient's first-period mean latent severity under every sequence, (R, N, regimens)."""
    daily = _daily(outcomes)
    k = scenario.symptoms.active().index(endpoint)
    first = windows(scenario, daily.days)[1:2]
    return window_means(daily.latent[..., k], first)[0][..., 0]
