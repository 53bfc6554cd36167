"""Looks in calendar time: when each look happens and what it has observed.

A patient's endpoint is observed on calendar day ``randomization day + the
endpoint's last visit day`` (if not missing). An interim look happens either
when a given share of the planned patients has reached that visit, or at a
calendar week; the final analysis happens when the last patient has. A look
analyses the patients whose endpoint visit is on or before its day. Nothing
else changes: the same simulated patients, filtered by calendar time.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
from scipy.stats import norm

from mssim.config.scenario import Scenario
from mssim.config.trial import Sequential
from mssim.registry import ENDPOINTS
from mssim.trial.data import TrialData
from mssim.trial.sequential.boundaries import Boundaries, conditional_power_z, group_sequential


def endpoint_day(scenario: Scenario, visit_days: np.ndarray) -> int:
    """Days from randomization to the endpoint's last visit."""
    endpoint = ENDPOINTS.get(scenario.trial.endpoint)
    return int(np.max(visit_days[endpoint.visits(visit_days, 7 * scenario.trial.weeks)]))


def interim_days(sequential: Sequential, ready: np.ndarray) -> np.ndarray:
    """Calendar days of the interim looks.

    Args:
        sequential: The looks (shares of patients, or calendar weeks).
        ready: Day each planned patient's endpoint visit happens, (R, N), increasing.

    Returns:
        Days, (R, interim looks): the day the ``ceil(share x N)``-th patient reaches
        the visit, or ``7 x week``.
    """
    if sequential.look_weeks:
        return np.broadcast_to(
            7.0 * np.asarray(sequential.look_weeks, dtype=float),
            (len(ready), len(sequential.look_weeks)),
        ).copy()
    n = ready.shape[1]
    index = [max(math.ceil(share * n), 1) - 1 for share in sequential.looks]
    return ready[:, index]


def at_look(data: TrialData, ready: np.ndarray, day: np.ndarray, n: np.ndarray) -> TrialData:
    """The data a look on calendar day ``day`` analyses.

    Args:
        data: The trial's data (its first columns are the earliest patients).
        ready: Day each patient's endpoint visit happens, (R, N).
        day: Calendar day of the look, (R,).
        n: Patients in the trial (the first n), (R,).

    Returns:
        The same data with ``observed`` restricted to patients among the first n
        whose endpoint visit is on or before ``day``.
    """
    width = data.observed.shape[1]
    seen = (ready[:, :width] <= day[:, None]) & (np.arange(width)[None, :] < n[:, None])
    return replace(data, observed=data.observed & seen)


def z_statistic(p_value: np.ndarray) -> np.ndarray:
    """The z of a one-sided p-value (benefit beyond the null value is positive).

    The p-value is that of the analysis's own one-sided test (t, Satterthwaite,
    score, ...), so the boundaries apply to the test the analysis actually does.
    """
    return norm.isf(p_value)


def design_boundaries(
    sequential: Sequential,
    alpha: float,
    t: np.ndarray,
    spend_at: np.ndarray | None = None,
    drift: np.ndarray | float | None = None,
    final: float | None = None,
) -> Boundaries:
    """The scenario's boundaries at information fractions ``t``.

    Args:
        sequential: Spending and futility settings.
        alpha: One-sided alpha (half the trial's two-sided level).
        t: Information fractions of the looks held, (K,) or (B, K).
        spend_at: Fractions at which alpha and beta are spent (default ``t``).
        drift: Drift for beta spending (None: solved from these fractions).
        final: For conditional-power futility at looks recomputed from observed
            information: the planned last efficacy boundary, against which
            conditional power is judged (None: this design's own).
    """
    futility, value = sequential.futility, sequential.futility_value
    if futility == "conditional_power" and final is not None:
        at = np.atleast_2d(t if spend_at is None else spend_at)
        futility, value = "z", conditional_power_z(at, final, value)
    return group_sequential(
        t,
        alpha,
        efficacy=sequential.efficacy,
        efficacy_parameter=sequential.efficacy_parameter,
        futility=futility,
        futility_value=value,
        binding=sequential.binding,
        beta=sequential.beta,
        beta_spending=sequential.beta_spending,
        beta_parameter=sequential.beta_parameter,
        drift=drift,
        spend_at=spend_at,
    )
