"""Per-patient effects of a series of N-of-1 trials: raw, shrunken, and who responds.

Each analysed patient gets two estimates of their own treatment effect: the
paired estimate (their mean paired difference) and the shrunken estimate of
the mixed model (:func:`mssim.trial.analyses.n_of_1.fit_mixed`): the fixed
effect plus the patient's predicted random treatment effect (BLUP), which
pulls noisy patients towards the average.

A patient's true effect is their individual causal effect in the first period
(the score after a first period on the treatment minus after a first period on
the comparator, from the same noise: the series' counterfactual truth,
:mod:`mssim.trial.designs.n_of_1`). A patient is a responder when that effect
is an improvement of at least ``threshold`` (default: the MCID of the score analysed,
:func:`mssim.trial.diary.endpoint_mcid`).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from mssim.config.scenario import Scenario
from mssim.model.outcomes import Outcomes
from mssim.trial.analyses.n_of_1 import (
    DESIGN_NAMES,
    fit_mixed,
    long_frame,
    paired_differences,
)
from mssim.trial.data import TrialData, trial_data
from mssim.trial.diary import endpoint_mcid
from mssim.trial.estimands import potential_endpoint
from mssim.trial.randomization import Trials, contrast_regimens


def patient_effects(data: TrialData, treatment: int, replicate: int = 0) -> pd.DataFrame:
    """Paired and shrunken effect of every analysed patient of one replicate.

    Args:
        data: Trial data of an N-of-1 design.
        treatment: Regimen index of the contrast's treatment (0: the first arm).
        replicate: Which replicate trial.

    Returns:
        One row per analysed patient: ``patient``, ``paired_estimate`` and
        ``shrunken_estimate`` (treatment minus comparator, outcome units).
    """
    frame = long_frame(data, treatment, replicate)
    with warnings.catch_warnings():  # a variance on its boundary (0) is a valid fit here
        warnings.simplefilter("ignore")
        fit = fit_mixed(frame)
    ids = np.unique(frame["id"])
    slope = fit.fe_params["treat"]
    return pd.DataFrame(
        {
            "patient": ids,
            "paired_estimate": paired_differences(data, treatment)[replicate, ids],
            "shrunken_estimate": [slope + fit.random_effects[i]["treat"] for i in ids],
        }
    )


def true_patient_effects(
    scenario: Scenario, outcomes: Outcomes, endpoint: str, treatment: int, comparator: int
) -> np.ndarray:
    """Each patient's individual effect in the first period, (R, N) (outcome units)."""
    change, _ = potential_endpoint(scenario, outcomes, endpoint)
    return change[..., treatment] - change[..., comparator]


def responders_classified(
    effects: pd.DataFrame, truth: np.ndarray, threshold: float
) -> dict[str, float]:
    """Share of patients whose responder status each estimate gets right.

    Args:
        effects: :func:`patient_effects` of one replicate.
        truth: That replicate's true effects, (N,), indexed by patient.
        threshold: Improvement that makes a responder (outcome units, > 0): an
            effect at most ``-threshold``.

    Returns:
        ``true_responders`` (share), and ``paired_correct`` and ``shrunken_correct``
        (share of patients classified correctly by each estimate).
    """
    responder = truth[effects["patient"].to_numpy()] <= -threshold
    return {
        "true_responders": float(responder.mean()),
        "paired_correct": float(((effects["paired_estimate"] <= -threshold) == responder).mean()),
        "shrunken_correct": float(
            ((effects["shrunken_estimate"] <= -threshold) == responder).mean()
        ),
    }


def series_patients(trials: Trials) -> pd.DataFrame | None:
    """Per-patient effects of the first replicate of an N-of-1 series (None otherwise).

    One row per (endpoint, contrast, analysed patient): the paired and shrunken
    estimates, the true effect, and whether each classifies the patient's responder
    status (an improvement of at least the MCID of the score analysed) correctly.

    Args:
        trials: Randomized trials of any design.

    Returns:
        The table for an N-of-1 design, else None.
    """
    scenario, outcomes = trials.scenario, trials.outcomes
    if scenario.trial.design not in DESIGN_NAMES:
        return None
    n = trials.allocation.shape[1]
    names = [f"{a} - {b}" for a, b in scenario.contrasts()]
    frames = []
    for endpoint in scenario.endpoints():
        data = trial_data(scenario, outcomes, trials.allocation[:1], endpoint, n)
        mcid = endpoint_mcid(scenario, endpoint)
        for (t, c), contrast in zip(contrast_regimens(scenario), names, strict=True):
            effects = patient_effects(data, t, 0)
            truth = true_patient_effects(scenario, outcomes, endpoint, t, c)[0]
            responder = truth[effects["patient"]] <= -mcid
            frames.append(
                effects.assign(
                    endpoint=endpoint,
                    contrast=contrast,
                    true_effect=truth[effects["patient"]],
                    true_responder=responder,
                    paired_correct=(effects["paired_estimate"] <= -mcid) == responder,
                    shrunken_correct=(effects["shrunken_estimate"] <= -mcid) == responder,
                )
            )
    return pd.concat(frames, ignore_index=True)
