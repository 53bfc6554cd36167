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
is an improvement of at least ``threshold`` (default: the instrument's MCID).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mssim.config.scenario import Scenario
from mssim.model.outcomes import Outcomes
from mssim.trial.analyses.n_of_1 import fit_mixed, long_frame, paired_differences
from mssim.trial.data import TrialData
from mssim.trial.estimands import potential_endpoint


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
