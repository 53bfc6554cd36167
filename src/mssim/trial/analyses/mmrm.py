"""Mixed model for repeated measures (MMRM): unstructured covariance, REML, Satterthwaite df."""

from __future__ import annotations

import numpy as np

from mssim.registry import ANALYSES
from mssim.trial.analyses import mmrm_reml
from mssim.trial.analyses.analysis import Analysis
from mssim.trial.analyses.estimates import (
    FIT_FAILED,
    OK,
    SINGULAR,
    TOO_FEW,
    Estimates,
    _check_alpha,
    _negligible,
    _reasons,
    _result,
    _wald,
)
from mssim.trial.analyses.hypothesis import HYPOTHESES, TWO_SIDED, NullHypothesis
from mssim.trial.data import TrialData

# Replicates fitted together: bounds the per-pattern work arrays (a few MB per replicate
# at 6 visits) without costing speed.
_BLOCK = 250


def mmrm(
    change: np.ndarray,
    baseline: np.ndarray,
    arm: np.ndarray,
    seen: np.ndarray,
    visits: list[int],
    alpha: float = 0.05,
    max_iter: int = mmrm_reml.MAX_ITER,
    test: NullHypothesis = TWO_SIDED,
) -> Estimates:
    """MMRM of the change from baseline at every post-baseline visit.

    The model is ``change ~ visit + arm:visit + baseline:visit`` with an unstructured
    covariance over the T visits, fitted by REML from every observed visit (missing
    visits are ignored by the likelihood, valid when they are missing at random), as
    R ``nlme::gls(change ~ visit + visit:arm + visit:baseline, correlation =
    corSymm(form = ~ visit | id), weights = varIdent(form = ~ 1 | visit), method =
    "REML")``. The estimate is the arm coefficient averaged over ``visits`` (one visit:
    the adjusted mean difference there), its SE the model-based one from the GLS
    covariance of the fixed effects, and the CI and p-value use a t distribution with
    Satterthwaite df (the observed information of the covariance parameters, as the R
    packages mmrm and lmerTest). With complete data the df of a single visit is n - 3.
    Fitting: :mod:`mssim.trial.analyses.mmrm_reml`, batched over replicates.

    Args:
        change: Change from baseline at each post-baseline visit (points), (R, N, T);
            ignored where not ``seen``.
        baseline: Baseline score (points), (R, N); finite for analysed patients.
        arm: 1/True for the treatment arm, 0/False for the comparator, (R, N).
        seen: The visit is analysed, (R, N, T); all False for patients outside the
            contrast. Patients with no analysed visit are not analysed.
        visits: Indices (0-based, into the T visits) of the visits whose arm effects are
            averaged into the estimate.
        alpha: Two-sided significance level; the CI level is 1 - alpha.
        max_iter: Newton iterations of the batched fit before a replicate is refitted
            on its own.
        test: The hypothesis tested; default two-sided (see
            :mod:`mssim.trial.analyses.hypothesis`): the t statistic shifted to the null
            value, on the same Satterthwaite df.

    Returns:
        One entry per replicate; ``n_analysed`` counts patients. Reasons:
        ``too_few_analysed`` (an arm empty at some visit, or fewer than 4 patients
        there), ``singular_design`` (baseline constant or collinear with arm at some
        visit) and ``fit_failed`` (REML did not converge, or the information of the
        covariance parameters is singular; e.g. with monotone dropout and at most 3 + t - 1
        patients at visit t, whose regression on the earlier visits and the 3
        covariates then fits exactly and the restricted likelihood is unbounded).
    """
    _check_alpha(alpha)
    seen = np.asarray(seen, bool)
    seen = seen if seen.ndim == 3 else seen[None]  # one replicate
    change = np.asarray(change, np.float64).reshape(seen.shape)
    baseline = np.asarray(baseline, np.float64).reshape(seen.shape[:2])
    arm = np.asarray(arm).astype(bool).reshape(seen.shape[:2])
    n_rows, _, t = seen.shape
    analysed = seen.any(-1)
    n = analysed.sum(1)
    with np.errstate(all="ignore"):
        centre = np.where(analysed, baseline, 0.0).sum(1) / n
        x = np.stack(
            [
                np.ones(analysed.shape),
                arm.astype(np.float64),
                np.where(analysed, baseline - centre[:, None], 0.0),
            ],
            -1,
        )
        treated = (seen & arm[..., None]).sum(1)
        control = (seen & ~arm[..., None]).sum(1)
        mom = mmrm_reml.moments(change, x, seen)
        _, xx_t = mom.by_visit()
        det = np.linalg.det(xx_t)
        scale = np.prod(np.diagonal(xx_t, axis1=-2, axis2=-1), -1)
        reason = _reasons(
            (TOO_FEW, ((treated < 1) | (control < 1) | (treated + control < 4)).any(1)),
            (SINGULAR, _negligible(det, scale).any(1)),
        )
        contrast = np.zeros((t, 3))
        contrast[visits, 1] = 1 / len(visits)
        estimate, variance, df = np.full((3, n_rows), np.nan)
        fitted = np.flatnonzero(reason == OK)
        for block in np.array_split(fitted, max(1, -(-len(fitted) // _BLOCK))):
            if not len(block):
                continue
            sub = mom.take(block)
            sigma, converged = mmrm_reml.fit(sub, max_iter)
            # unconverged fits (possibly a singular Sigma) are blanked below
            sigma = np.where(converged[:, None, None], sigma, np.eye(t))
            tm = mmrm_reml.terms(sigma, sub, information=True)
            v, d = mmrm_reml.satterthwaite(sub, tm, contrast)
            estimate[block] = np.einsum("rtk,tk->r", tm.beta, contrast)
            variance[block] = np.where(converged, v, np.nan)
            df[block] = d
        se = np.sqrt(variance)
        failed = (reason == OK) & ~(np.isfinite(se) & (se > 0) & np.isfinite(df) & (df > 0))
        reason = np.where(failed, FIT_FAILED, reason).astype(np.int8)
        return _result(estimate, se, _wald(estimate, se, df, alpha, test), n, reason)


def visit_data(
    data: TrialData, treatment: int, comparator: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[int]]:
    """The MMRM's visits of one contrast: the post-baseline visits up to the endpoint's last.

    A visit is analysed when the trial observed it (dropout, the estimand strategy -- under
    the hypothetical strategy no visit after a relapse -- and the missing-data rule
    applied, as for every analysis) and the baseline was observed.

    Returns:
        ``(change, arm, seen, visits)``: change from baseline (R, N, T), treatment arm
        (R, N), analysed visits (R, N, T) and the endpoint's visits among the T.
    """
    last = max(data.endpoint_visits)
    in_contrast = (data.regimen == treatment) | (data.regimen == comparator)
    seen = data.seen[..., 1 : last + 1] & (data.seen[..., :1] & in_contrast[..., None])
    change = data.scores[..., 1 : last + 1] - data.baseline[..., None]
    return change, data.regimen == treatment, seen, [v - 1 for v in data.endpoint_visits]


def _mmrm(
    data: TrialData, treatment: int, comparator: int, alpha: float, test: NullHypothesis = TWO_SIDED
) -> Estimates:
    change, arm, seen, visits = visit_data(data, treatment, comparator)
    return mmrm(change, data.baseline, arm, seen, visits, alpha, test=test)


ANALYSES.register(
    Analysis(
        name="mmrm",
        estimand="mean_difference",
        wording="mixed model for repeated measures of the change from baseline (arm and "
        "baseline by visit, unstructured covariance, REML, Satterthwaite df)",
        function=_mmrm,
        hypotheses=HYPOTHESES,
    )
)
