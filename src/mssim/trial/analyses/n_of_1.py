"""Analyses of a series of N-of-1 trials: the paired analysis and the mixed model.

Every patient's periods are scored at the end of each period (visits 1 to 2k);
``A`` marks the periods on the contrast's treatment arm
(:func:`mssim.trial.designs.n_of_1.on_treatment`). Patients with every period
observed are analysed.

* ``n_of_1_paired`` (Monte Carlo): each patient's mean over cycles of the
  paired difference (treatment period minus comparator period of the cycle),
  then a one-sample t-test over patients on n - 1 df. For complete, balanced
  series it equals the fixed effect of the mixed model below whenever that
  model's variance estimates are interior (Senn 2024, summary measures).
* ``n_of_1_mixed`` (single trials, statsmodels): the linear mixed model with
  random patient and random treatment-by-patient effects,
  ``y ~ treat, random = ~ treat | id`` (unstructured 2 x 2 covariance, REML),
  as R ``nlme::lme``; Wald CI and p-value on the normal distribution.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from mssim.registry import ANALYSES
from mssim.trial.analyses.analysis import Analysis
from mssim.trial.analyses.estimates import (
    FIT_FAILED,
    OK,
    TOO_FEW,
    ZERO_VARIANCE,
    Estimates,
    _check_alpha,
    _moments,
    _negligible,
    _reasons,
    _result,
    _wald,
)
from mssim.trial.data import TrialData
from mssim.trial.designs.n_of_1 import CYCLES, on_treatment


def treated_periods(data: TrialData, treatment: int) -> np.ndarray:
    """Which periods give the contrast's treatment arm, (R, N, 2k).

    Args:
        data: Trial data of an N-of-1 design (visits: baseline, then one per period).
        treatment: Regimen index of the contrast's treatment (0: the first arm is
            the treatment, as in ``ABAB...``; else the second arm is).
    """
    cycles = (data.scores.shape[-1] - 1) // 2
    first_arm = on_treatment(data.regimen, cycles)
    return first_arm if treatment == 0 else ~first_arm


def paired_differences(data: TrialData, treatment: int) -> np.ndarray:
    """Each patient's mean over cycles of treatment minus comparator period, (R, N).

    NaN for a patient missing a period (``data.observed`` is False).
    """
    periods = data.scores[..., 1:]
    treated = treated_periods(data, treatment)
    cycles = periods.shape[-1] // 2
    diff = np.where(treated, periods, -periods).sum(axis=-1) / cycles
    return np.where(data.observed, diff, np.nan)


def paired(data: TrialData, treatment: int, comparator: int, alpha: float) -> Estimates:
    """Paired analysis: one-sample t-test of the patients' mean paired differences.

    Returns:
        Mean over analysed patients (treatment minus comparator, outcome units), SE
        ``sd / sqrt(n)``, t CI and p-value on n - 1 df. Reasons: ``too_few_analysed``
        (fewer than 2 patients), ``zero_variance`` (every difference equal).
    """
    _check_alpha(alpha)
    d = paired_differences(data, treatment)
    w = data.observed.astype(np.float64)
    with np.errstate(all="ignore"):
        n, mean, ss = _moments(np.where(data.observed, d, 0.0), w)
        se = np.sqrt(ss / (n - 1) / n)
        reason = _reasons((TOO_FEW, n < 2), (ZERO_VARIANCE, _negligible(ss, ss + n * mean**2)))
        return _result(mean, se, _wald(mean, se, n - 1, alpha), n, reason)


def long_frame(data: TrialData, treatment: int, replicate: int = 0) -> pd.DataFrame:
    """One replicate's analysed periods as long data: ``id, period, treat, y``."""
    treated = treated_periods(data, treatment)[replicate]
    periods = data.scores[replicate, :, 1:]
    ids = np.flatnonzero(data.observed[replicate])
    return pd.DataFrame(
        {
            "id": np.repeat(ids, periods.shape[1]),
            "period": np.tile(np.arange(1, periods.shape[1] + 1), len(ids)),
            "treat": treated[ids].astype(np.float64).ravel(),
            "y": periods[ids].ravel(),
        }
    )


def fit_mixed(frame: pd.DataFrame):  # noqa: ANN201 (a statsmodels MixedLMResults)
    """REML fit of ``y ~ treat`` with random intercept and treatment slope by ``id``."""
    import statsmodels.formula.api as smf  # lazily: the formula API takes ~1 s to import

    model = smf.mixedlm("y ~ treat", frame, groups="id", re_formula="~treat")
    return model.fit(reml=True, method=["lbfgs", "powell"])


def mixed(data: TrialData, treatment: int, comparator: int, alpha: float) -> Estimates:
    """The mixed model, replicate by replicate (slow: for single trials).

    Returns:
        The fixed treatment effect with its model SE, normal CI and p-value. Reasons:
        ``too_few_analysed`` (fewer than 3 patients), ``fit_failed`` (the fit raised,
        did not converge or gave a non-finite SE); the model's warnings are suppressed.
    """
    _check_alpha(alpha)
    r = data.scores.shape[0]
    n = data.observed.sum(axis=1).astype(np.int64)
    estimate, se = np.full(r, np.nan), np.full(r, np.nan)
    failed = np.zeros(r, dtype=bool)
    for i in range(r):
        if n[i] < 3:
            continue
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            try:
                fit = fit_mixed(long_frame(data, treatment, i))
                estimate[i], se[i] = fit.fe_params["treat"], fit.bse_fe["treat"]
                failed[i] = not fit.converged or not np.isfinite(se[i])
            except (ValueError, np.linalg.LinAlgError):
                failed[i] = True
    reason = _reasons((TOO_FEW, n < 3), (FIT_FAILED, failed))
    se = np.where(reason == OK, se, np.nan)
    return _result(estimate, se, _wald(estimate, se, np.inf, alpha), n, reason)


DESIGN_NAMES = tuple(f"n_of_1_{k}" for k in CYCLES)

ANALYSES.register(
    Analysis(
        name="n_of_1_paired",
        estimand="mean_difference",
        wording="paired analysis of an N-of-1 series: patients' mean paired differences, t-test",
        function=paired,
        designs=DESIGN_NAMES,
        strategies=("treatment_policy",),
    )
)
ANALYSES.register(
    Analysis(
        name="n_of_1_mixed",
        estimand="mean_difference",
        wording="mixed model of an N-of-1 series: y ~ treat, random = ~ treat | patient (REML)",
        function=mixed,
        designs=DESIGN_NAMES,
        strategies=("treatment_policy",),
        monte_carlo=False,
    )
)
