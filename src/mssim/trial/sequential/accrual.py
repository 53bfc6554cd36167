"""Accrual in calendar time: the day each patient is randomized.

Patients arrive as a Poisson process whose rate rises linearly from 0 to
``rate_per_week`` over ``ramp_up_weeks`` and stays there. The gap before
patient i (in units of expected arrivals) is an exponential drawn from its own
keyed stream ``(replicate, "accrual", i)``; randomization days are the inverse
of the cumulative rate at the running sums. Patient i's day depends only on the
gaps of patients 0..i, so a trial with more patients appends later patients
(prefix property) and the engine's data for patient i never depend on it: a
patient's visits fall at randomization day + visit day.
"""

from __future__ import annotations

import numpy as np

from mssim.config.trial import Accrual


def randomization_days(accrual: Accrual, seed: int, replicates: np.ndarray, n: int) -> np.ndarray:
    """Calendar day of randomization of the first ``n`` patients (day 0 = start of accrual).

    Args:
        accrual: Rate (patients per week) and ramp-up (weeks).
        seed: Root seed of the run.
        replicates: Replicate indices.
        n: Patients.

    Returns:
        Days since the start of accrual, increasing along each row, (R, n) float.
    """
    from mssim.model import libm, rng  # here, so a refused run never loads numba

    u = rng.uniforms(seed, replicates, "accrual", (n, 1))[..., 0]
    arrivals = np.cumsum(-libm.log1p(-u), axis=1)  # cumulative rate reached, in patients
    return 7.0 * weeks_at(accrual, arrivals)


def weeks_at(accrual: Accrual, expected: np.ndarray) -> np.ndarray:
    """Week at which the expected number of randomized patients reaches ``expected``.

    The cumulative rate is ``rate w**2 / (2 ramp)`` during the ramp-up and
    ``rate (w - ramp / 2)`` after it.
    """
    rate, ramp = accrual.rate_per_week, accrual.ramp_up_weeks
    during = rate * ramp / 2
    return np.where(
        expected <= during,
        np.sqrt(2 * ramp * np.minimum(expected, during) / rate),
        expected / rate + ramp / 2,
    )


def expected_by(accrual: Accrual, weeks: np.ndarray) -> np.ndarray:
    """Expected number of patients randomized by week ``weeks`` (inverse of :func:`weeks_at`)."""
    rate, ramp = accrual.rate_per_week, accrual.ramp_up_weeks
    w = np.maximum(np.asarray(weeks, dtype=float), 0.0)
    if ramp == 0:
        return rate * w
    return np.where(w <= ramp, rate * w**2 / (2 * ramp), rate * (w - ramp / 2))
