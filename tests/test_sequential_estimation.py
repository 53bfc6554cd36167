"""The median-unbiased estimate after a group-sequential trial (stage-wise ordering)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mssim.montecarlo.sequential import stopping_look
from mssim.trial.sequential.boundaries import group_sequential
from mssim.trial.sequential.estimation import median_unbiased

THIRDS = np.array([1 / 3, 2 / 3, 1.0])


def test_median_unbiased_estimate_equals_rpact():
    # d <- getDesignGroupSequential(kMax=3, alpha=0.025, sided=1, typeOfDesign="asOF")
    # ds <- getDataset(n1=c(30,30), n2=c(30,30), means1=c(0.55,0.55), means2=c(0,0),
    #   stDevs1=c(1,1), stDevs2=c(1,1))
    # fc <- getFinalConfidenceInterval(d, ds, normalApproximation=TRUE)
    # st <- getStageResults(d, ds, normalApproximation=TRUE)
    #   fc$medianUnbiased 0.549205017, fc$medianUnbiasedGeneral 0.553919309
    #   st$overallTestStatistics[2] 3.038332687 (stops at stage 2), st$overallStDevs[2] 0.991489207
    b = group_sequential(THIRDS, 0.025)
    theta = median_unbiased(b.information, b.efficacy, b.futility, np.array([1]),
                            np.array([3.038332687]))  # fmt: skip
    unit = math.sqrt(2 / 3) * math.sqrt(2 / 60)  # sqrt(t_2) x the SE of a unit-SD difference
    assert theta[0] * unit == pytest.approx(0.553919309, abs=1e-6)
    assert theta[0] * unit * 0.991489207 == pytest.approx(0.549205017, abs=1e-6)


def test_a_trial_stopping_at_its_first_look_keeps_the_naive_estimate():
    b = group_sequential(np.tile(THIRDS, (2, 1)), 0.025)
    z = np.array([3.9, 4.4])
    theta = median_unbiased(b.information, b.efficacy, b.futility, np.array([0, 0]), z)
    assert theta == pytest.approx(z / math.sqrt(1 / 3), abs=1e-12)


def test_median_unbiased_in_simulated_trials():
    """Half the simulated trials estimate below the true drift; the naive estimate does not."""
    rng = np.random.default_rng(20261130)
    r, drift = 4000, 2.5
    increments = rng.normal(drift * np.diff(THIRDS, prepend=0), np.sqrt(np.diff(THIRDS, prepend=0)),
                            (r, 3))  # fmt: skip
    z = np.cumsum(increments, axis=1) / np.sqrt(THIRDS)
    b = group_sequential(np.tile(THIRDS, (r, 1)), 0.025, futility="z", futility_value=0.0)
    stop, _ = stopping_look(z, b.efficacy, b.futility)
    at = z[np.arange(r), stop]
    estimate = np.concatenate([
        median_unbiased(b.information[s], b.efficacy[s], b.futility[s], stop[s], at[s])
        for s in np.array_split(np.arange(r), 4)
    ])  # fmt: skip
    below = (estimate < drift).mean()
    assert abs(below - 0.5) < 3.5 * math.sqrt(0.25 / r), below
    naive = at / np.sqrt(THIRDS[stop])
    naive_below = (naive < drift).mean()
    assert abs(naive_below - 0.5) > 3.5 * math.sqrt(0.25 / r), naive_below
