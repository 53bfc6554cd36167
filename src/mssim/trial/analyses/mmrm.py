"""Mixed model of the visits of ONE trial (statsmodels), not for Monte Carlo."""

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
    Estimates,
    _check_alpha,
    _reasons,
    _result,
    _wald,
)
from mssim.trial.data import TrialData


def mmrm(frame: pd.DataFrame, alpha: float = 0.05) -> Estimates:
    """Mixed model for repeated measures of ONE trial: the arm effect at the last visit.

    statsmodels has no MMRM with an unstructured within-patient covariance, so this is a
    random-intercept linear mixed model (compound-symmetric covariance) fitted by REML
    with ``statsmodels.formula.api.mixedlm("value ~ C(visit) * arm + baseline",
    groups=patient_id)``. The estimate is ``arm + C(visit)[T.last]:arm``, its SE comes
    from the covariance of the fixed effects, and the CI and p-value use the normal
    distribution, as statsmodels does. It takes ~0.1-0.5 s per trial: use it to check a
    few trials, not inside Monte Carlo loops.

    Args:
        frame: Long data, one row per observed post-baseline visit (missing visits are
            absent), with columns ``patient_id``, ``arm`` (1 treatment, 0 comparator),
            ``visit`` (week, numeric), ``baseline`` and ``value`` (outcome units).
        alpha: Two-sided significance level; the CI level is 1 - alpha.

    Returns:
        A one-replicate :class:`Estimates`; ``n_analysed`` counts patients. Reasons:
        ``too_few_analysed`` (an empty arm at the last visit or fewer than 4 patients) and
        ``fit_failed`` (the fit raised, did not converge or gave a non-finite SE); the
        model's warnings are suppressed.
    """
    import statsmodels.formula.api as smf  # lazily: the formula API takes ~1 s to import

    _check_alpha(alpha)
    n = np.array([frame["patient_id"].nunique()], dtype=np.int64)
    last = frame["visit"].max()
    arms_at_last = frame.loc[frame["visit"] == last, "arm"].nunique()
    estimate = se = np.array([np.nan])
    reason = _reasons((TOO_FEW, np.array([n[0] < 4 or arms_at_last < 2])))
    if reason[0] == OK:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            try:
                model = smf.mixedlm(
                    "value ~ C(visit) * arm + baseline", frame, groups=frame["patient_id"]
                )
                fit = model.fit(reml=True)
            except (ValueError, np.linalg.LinAlgError):
                fit = None
        if fit is not None and fit.converged:
            names = list(fit.fe_params.index)
            contrast = pd.Series(0.0, index=names)
            contrast["arm"] = 1.0
            if frame["visit"].nunique() > 1:
                contrast[f"C(visit)[T.{last}]:arm"] = 1.0
            estimate = np.array([contrast @ fit.fe_params])
            se = np.sqrt([contrast @ fit.cov_params().loc[names, names] @ contrast])
        reason = _reasons((FIT_FAILED, ~np.isfinite(se) | (se <= 0)))
    with np.errstate(all="ignore"):
        return _result(estimate, se, _wald(estimate, se, np.inf, alpha), n, reason)


def long_frame(data: TrialData, replicate: int, treatment: int, comparator: int) -> pd.DataFrame:
    """Long visit data of one contrast in one replicate: the visits the trial observed.

    A patient's post-baseline visit is a row when it was observed under the trial's
    estimand strategy and missing-data rule (the same visits the vectorized analyses
    see) and the baseline was observed.
    """
    regimen = data.regimen[replicate]
    seen = data.seen[replicate]
    rows = []
    for i in np.flatnonzero(((regimen == treatment) | (regimen == comparator)) & seen[:, 0]):
        for v in np.flatnonzero(seen[i, 1:]) + 1:
            rows.append(
                (
                    i,
                    int(regimen[i] == treatment),
                    int(data.visit_weeks[v]),
                    data.scores[replicate, i, 0],
                    data.scores[replicate, i, v],
                )
            )
    return pd.DataFrame(rows, columns=["patient_id", "arm", "visit", "baseline", "value"])


def _mmrm(data: TrialData, treatment: int, comparator: int, alpha: float) -> Estimates:
    fits = [
        mmrm(long_frame(data, r, treatment, comparator), alpha)
        for r in range(data.regimen.shape[0])
    ]
    fields = {
        f: np.concatenate([getattr(e, f) for e in fits]) for f in Estimates.__dataclass_fields__
    }
    return Estimates(**fields)


ANALYSES.register(
    Analysis(
        name="mmrm",
        estimand="mean_difference",
        wording="random-intercept linear mixed model of the post-baseline visits",
        function=_mmrm,
        monte_carlo=False,
    )
)
