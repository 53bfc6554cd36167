"""Operating characteristics of a group-sequential design, by Monte Carlo.

Each replicate trial is simulated once at its largest possible size (the
engine is the same as for a fixed design). Its patients are randomized in
calendar time (:mod:`mssim.trial.sequential.accrual`); each look analyses the
patients whose endpoint visit has passed (:mod:`mssim.trial.sequential.looks`),
with boundaries recomputed from the information each look actually has: the
correlation of the looks from the numbers analysed, alpha spent at the share of
planned patients whose endpoint visit has passed. The trial stops at the first
look whose z crosses a boundary.

What a run reports per design point (added to ``power.csv``): the overall power
(``power``: stopped for efficacy at any look), the probability of stopping at
each look for efficacy and for futility, the expected and maximum number of
patients randomized and the expected calendar duration; ``bias`` and
``coverage`` are those of the naive estimate and confidence interval at the
look where the trial stopped.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.stats import norm

from mssim.config.scenario import Scenario
from mssim.registry import DESIGNS
from mssim.trial.analyses.analysis import analyse
from mssim.trial.analyses.hypothesis import NullHypothesis, contrast_test
from mssim.trial.data import TrialData, trial_data
from mssim.trial.designs.group_sequential import MEASURE
from mssim.trial.estimands import EFFECT_MEASURES, estimated, true_effects
from mssim.trial.randomization import allocation_units, contrast_regimens, randomize, total_patients
from mssim.trial.sequential.accrual import expected_by, randomization_days
from mssim.trial.sequential.boundaries import Boundaries
from mssim.trial.sequential.estimation import median_unbiased
from mssim.trial.sequential.looks import (
    at_look,
    design_boundaries,
    endpoint_day,
    interim_days,
    z_statistic,
)

NAME = "group_sequential"
EFFICACY, FUTILITY, FINAL = 1, 2, 0  # how a replicate trial stopped


def applies(scenario: Scenario) -> bool:
    """Whether the scenario's design is group-sequential."""
    return scenario.trial.design == DESIGNS.get(NAME).name


def planned_fractions(scenario: Scenario, n_per_arm: int) -> np.ndarray:
    """Planned information fractions of the looks held, the final (1) last.

    Looks at shares of patients are those shares; looks at calendar weeks are
    the expected share of patients whose endpoint visit has passed by then
    (looks at or after the planned end are not held).
    """
    trial = scenario.trial
    seq = trial.sequential
    if not seq.look_weeks:
        return np.array([*seq.looks, 1.0])
    n = total_patients(scenario, n_per_arm)
    visit_days = 7 * np.array(trial.visit_weeks())
    lag = endpoint_day(scenario, visit_days) / 7
    shares = expected_by(trial.accrual, np.array(seq.look_weeks) - lag) / n
    return np.array([*[s for s in shares if 0 < s < 1], 1.0])


def planned(scenario: Scenario, n_per_arm: int) -> Boundaries:
    """The boundaries as planned, at the planned information fractions."""
    alpha = scenario.trial.alpha / 2
    return design_boundaries(
        scenario.trial.sequential, alpha, planned_fractions(scenario, n_per_arm)
    )


def boundaries_table(scenario: Scenario, n_per_arm: list[int]) -> pd.DataFrame:
    """``boundaries.csv``: the planned boundaries, one row per design point and look.

    Columns: ``n_per_arm``, ``look``, ``information_fraction``, ``efficacy_z``,
    ``futility_z`` (empty where there is no futility stop), ``alpha_spent``
    (cumulative, one-sided) and ``nominal_p`` (the one-sided p-value that crosses
    the efficacy boundary).
    """
    rows = []
    for n in sorted(set(n_per_arm)):
        plan = planned(scenario, n)
        for k in range(plan.information.shape[1]):
            futility = plan.futility[0, k]
            rows.append(
                {
                    "n_per_arm": n,
                    "look": k + 1,
                    "information_fraction": plan.information[0, k],
                    "efficacy_z": plan.efficacy[0, k],
                    "futility_z": futility if np.isfinite(futility) else math.nan,
                    "alpha_spent": plan.alpha_spent[0, k],
                    "nominal_p": norm.sf(plan.efficacy[0, k]),
                }
            )
    return pd.DataFrame(rows)


def _blinded_sd(data: TrialData) -> np.ndarray:
    """SD of the change from baseline over every analysed patient, arms pooled, (R,)."""
    x = np.where(data.observed, data.change, np.nan)
    count = data.observed.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 1, np.nanstd(x, axis=1, ddof=1), np.nan)


class _Schedule:
    """Look days, patients and information of one design point, per replicate."""

    def __init__(
        self, scenario: Scenario, data: TrialData, days: np.ndarray, lag: int, n_per_arm: int
    ) -> None:
        seq = scenario.trial.sequential
        units = sum(allocation_units(scenario))
        planned_n = total_patients(scenario, n_per_arm)
        r = len(days)
        self.days = days.copy()
        ready = self.days + lag
        interim = interim_days(seq, ready[:, :planned_n])
        self.n = np.full(r, planned_n)
        self.n_per_arm = np.full(r, float(n_per_arm))
        final = ready[:, planned_n - 1]
        ssr = seq.reestimation
        if ssr is not None:
            day = interim[:, ssr.look - 1]
            held = day < final
            sd = _blinded_sd(at_look(data, ready, day, self.n))
            wanted = np.ceil(n_per_arm * (sd / ssr.planned_sd) ** 2)
            per_arm = np.clip(np.nan_to_num(wanted, nan=n_per_arm), n_per_arm,
                              seq.most_per_arm(n_per_arm))  # fmt: skip
            per_arm = np.where(held, per_arm, n_per_arm)
            self.n_per_arm = per_arm
            self.n = (per_arm * units).astype(np.int64)
            # patients beyond the planned n are recruited from the re-estimation on
            last = self.days[:, planned_n - 1]
            start = np.maximum(last, day)[:, None]
            extra = self.days[:, planned_n:]
            self.days[:, planned_n:] = start + (extra - last[:, None])
            ready = self.days + lag
            final = ready[np.arange(r), self.n - 1]
        self.ready = ready
        self.look_days = np.concatenate([interim, final[:, None]], axis=1)
        width = data.observed.shape[1]
        in_trial = np.arange(width)[None, :] < self.n[:, None]
        counts = np.stack(
            [
                (data.observed & in_trial & (ready <= d[:, None])).sum(axis=1)
                for d in self.look_days.T
            ],
            axis=1,
        )
        reached = np.stack(
            [(in_trial & (ready <= d[:, None])).sum(axis=1) for d in self.look_days.T], axis=1
        )
        k = self.look_days.shape[1]
        held = np.zeros((r, k), dtype=bool)
        held[:, -1] = True
        previous = np.zeros(r, dtype=np.int64)
        for j in range(k - 1):
            held[:, j] = (
                (self.look_days[:, j] < final)
                & (counts[:, j] > previous)
                & (counts[:, j] < counts[:, -1])
            )
            previous = np.where(held[:, j], counts[:, j], previous)
        self.held = held
        self.counts = counts
        self.fraction = counts / np.maximum(counts[:, -1:], 1)
        # alpha is spent at the share of the trial's patients whose endpoint visit has
        # passed: of the planned n up to the re-estimation, of the new n after it
        spend_n = np.full((r, k), float(planned_n))
        if ssr is not None:
            spend_n[:, ssr.look :] = self.n[:, None]
        self.spend_at = np.minimum(reached / spend_n, 1.0)

    def boundaries(self, scenario: Scenario, plan: Boundaries) -> tuple[np.ndarray, np.ndarray]:
        """Efficacy and futility z per replicate and look (NaN at looks not held)."""
        seq = scenario.trial.sequential
        r, k = self.held.shape
        upper, lower = np.full((r, k), np.nan), np.full((r, k), np.nan)
        patterns, which = np.unique(self.held, axis=0, return_inverse=True)
        for p, pattern in enumerate(patterns):
            rows = np.flatnonzero(which.ravel() == p)
            cols = np.flatnonzero(pattern)
            bounds = design_boundaries(
                seq,
                scenario.trial.alpha / 2,
                self.fraction[np.ix_(rows, cols)],
                self.spend_at[np.ix_(rows, cols)],
                drift=plan.drift[0] if seq.futility == "beta_spending" else None,
                final=plan.efficacy[0, -1],
            )
            upper[np.ix_(rows, cols)] = bounds.efficacy
            lower[np.ix_(rows, cols)] = bounds.futility
        return upper, lower

    def median_unbiased(
        self,
        upper: np.ndarray,
        lower: np.ndarray,
        z: np.ndarray,
        stop: np.ndarray,
        se: np.ndarray,
        test: NullHypothesis,
    ) -> np.ndarray:
        """Median-unbiased mean difference of each trial (NaN where its last z failed).

        Args:
            upper: Efficacy boundaries, (R, K) (NaN at looks not held).
            lower: Futility boundaries, (R, K).
            z: z at each look, (R, K).
            stop: Look index where each trial stopped, (R,).
            se: Standard error of the estimate at each look, (R, K).
            test: The one-sided test whose z the looks used (null value, benefit sign).
        """
        r = len(stop)
        rows_all = np.arange(r)
        out = np.full(r, np.nan)
        finite = np.isfinite(z[rows_all, stop])
        patterns, which = np.unique(self.held, axis=0, return_inverse=True)
        for p, pattern in enumerate(patterns):
            rows = np.flatnonzero((which.ravel() == p) & finite)
            if not len(rows):
                continue
            cols = np.flatnonzero(pattern)
            at = np.searchsorted(cols, stop[rows])
            theta = median_unbiased(
                self.fraction[np.ix_(rows, cols)],
                upper[np.ix_(rows, cols)],
                lower[np.ix_(rows, cols)],
                at,
                z[rows, stop[rows]],
            )
            # z measures benefit beyond the null value: back to treatment minus comparator
            shift = theta * np.sqrt(self.fraction[rows, stop[rows]]) * se[rows, stop[rows]]
            out[rows] = test.null + test.better * shift
        return out


def chunk_statistics(
    scenario: Scenario,
    n_per_arm: list[int],
    analyses: list[str],
    replicates: np.ndarray,
    fields: tuple[str, ...],
    kinds: tuple[str, ...],
    periods: int,
) -> dict[str, np.ndarray]:
    """Simulate one chunk of replicates and run the looks at every design point.

    Args:
        scenario: A group-sequential scenario.
        n_per_arm: Design points (planned maximum n per arm).
        analyses: Analyses run at each look.
        replicates: Replicate indices.
        fields: Per-replicate statistics of :mod:`mssim.montecarlo.power`, here at the
            look where each trial stopped.
        kinds: Effect measures of the truth (NaN rows for those no analysis estimates).
        periods: Periods of ``not_analysed`` (the share of the contrast's patients due
            by the stopping look without a score at the end of each period).

    Returns:
        Arrays shaped (analyses, design points, 1, 1, R) for ``fields`` and ``truth``
        (kinds, 1, 1, R) as for a fixed design, plus per look (analyses, design
        points, looks, R): ``look_z``, ``look_efficacy``, ``look_futility``,
        ``look_fraction``; and per trial (analyses, design points, R): ``stop_look``
        (1-based), ``stop_kind`` (1 efficacy, 2 futility, 0 final without
        rejection), ``n_randomized``, ``n_maximum``, ``weeks``, ``n_reestimated``
        (per arm), ``median_unbiased`` (the median-unbiased estimate, stage-wise
        ordering, :mod:`mssim.trial.sequential.estimation`).
    """
    from mssim.model.engine import simulate  # here, so a refused run never loads numba

    trial = scenario.trial
    endpoint = trial.primary_endpoint
    ((a, b),) = contrast_regimens(scenario)
    widest = max(
        total_patients(scenario, scenario.trial.sequential.most_per_arm(n)) for n in n_per_arm
    )
    outcomes = simulate(scenario, replicates, widest)
    allocation = randomize(scenario, outcomes)
    effects = true_effects(scenario, outcomes, endpoint, estimated(analyses))
    unknown = np.full((1, 1, len(replicates)), np.nan)  # a measure no analysis estimates
    truth = np.stack([effects[k].T[None] if k in effects else unknown for k in kinds])
    data = trial_data(scenario, outcomes, allocation, endpoint, widest)
    days = randomization_days(trial.accrual, scenario.seed, replicates, widest)
    lag = endpoint_day(scenario, outcomes.visit_days)
    r, looks = len(replicates), trial.sequential.interim_looks() + 1
    shape = (len(analyses), len(n_per_arm))
    out = {f: np.zeros((*shape, 1, 1, r)) for f in fields}
    out["not_analysed"] = np.full((periods, len(n_per_arm), 1, 1, r), np.nan)
    per_look = ("look_z", "look_efficacy", "look_futility", "look_fraction")
    per_trial = (
        "stop_look",
        "stop_kind",
        "n_randomized",
        "n_maximum",
        "weeks",
        "n_reestimated",
        "median_unbiased",
    )
    extra = {f: np.zeros((*shape, looks, r)) for f in per_look}
    extra |= {f: np.zeros((*shape, r)) for f in per_trial}
    in_contrast = (data.regimen == a) | (data.regimen == b)
    tests = [contrast_test(scenario, m, endpoint) for m in analyses]  # one-sided (design check)
    for i, n in enumerate(n_per_arm):
        schedule = _Schedule(scenario, data, days, lag, n)
        upper, lower = schedule.boundaries(scenario, planned(scenario, n))
        estimates = []
        for k in range(looks):
            seen = at_look(data, schedule.ready, schedule.look_days[:, k], schedule.n)
            estimates.append(
                [
                    analyse(m, seen, a, b, trial.alpha, t, trial)
                    for m, t in zip(analyses, tests, strict=True)
                ]
            )
        for m in range(len(analyses)):
            z = np.stack([z_statistic(e[m].p_value) for e in estimates], axis=1)
            z = np.where(schedule.held, z, np.nan)
            stop, kind = stopping_look(z, upper, lower)
            rows = np.arange(r)
            for field in fields[:5]:
                values = np.stack([getattr(e[m], field) for e in estimates], axis=1)
                out[field][m, i, 0, 0] = values[rows, stop]
            analysed = np.stack([e[m].n_analysed for e in estimates], axis=1)
            out["n_analysed"][m, i, 0, 0] = analysed[rows, stop]
            out["reject"][m, i, 0, 0] = kind == EFFICACY
            day = schedule.look_days[rows, stop]
            in_trial = np.arange(widest)[None, :] < schedule.n[:, None]
            due = in_trial & in_contrast & (schedule.ready <= day[:, None])
            out["dropped"][m, i, 0, 0] = (data.dropped_out & due).sum(1) / np.maximum(due.sum(1), 1)
            extra["look_z"][m, i] = z.T
            extra["look_efficacy"][m, i] = upper.T
            extra["look_futility"][m, i] = lower.T
            extra["look_fraction"][m, i] = np.where(schedule.held, schedule.fraction, np.nan).T
            extra["stop_look"][m, i] = stop + 1
            extra["stop_kind"][m, i] = kind
            extra["n_randomized"][m, i] = (in_trial & (schedule.days <= day[:, None])).sum(1)
            extra["n_maximum"][m, i] = schedule.n
            extra["weeks"][m, i] = day / 7
            extra["n_reestimated"][m, i] = schedule.n_per_arm
            se = np.stack([e[m].se for e in estimates], axis=1)
            extra["median_unbiased"][m, i] = schedule.median_unbiased(
                upper, lower, z, stop, se, tests[m]
            )
    return {**out, "truth": truth, **extra}


def stopping_look(
    z: np.ndarray, upper: np.ndarray, lower: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Look index where each trial stops and why, from z and boundaries (R, K).

    The trial stops at the first look held whose z is at or above the efficacy
    boundary (efficacy) or at or below the futility boundary (futility); at the
    last look it stops whatever z is (efficacy if at or above the boundary). A
    look whose analysis failed (z NaN) does not stop the trial.
    """
    r = z.shape[0]
    with np.errstate(invalid="ignore"):
        efficacy = z >= upper
        futility = (z <= lower) & ~efficacy
    futility[:, -1] = False
    decided = efficacy | futility
    decided[:, -1] = True
    stop = decided.argmax(axis=1)
    rows = np.arange(r)
    kind = np.where(efficacy[rows, stop], EFFICACY, np.where(futility[rows, stop], FUTILITY, FINAL))
    return stop, kind


def characteristics(
    scenario: Scenario, n_per_arm: list[int], analyses: list[str], stats: dict[str, np.ndarray]
) -> pd.DataFrame:
    """Sequential operating characteristics, one row per (analysis, n_per_arm).

    Columns: ``stop_efficacy_look<k>`` (k = 1..K) and ``stop_futility_look<k>``
    (interim looks), the share of trials stopping there for that reason;
    ``expected_n`` (patients randomized when the trial stopped) with MCSE,
    ``maximum_n`` (largest trial size reached), ``expected_weeks`` (calendar weeks
    from the first randomization to the stopping look) with MCSE,
    ``expected_n_per_arm_reestimated`` (mean maximum n per arm after re-estimation;
    the planned n without it), ``median_unbiased_bias`` (mean median-unbiased
    estimate minus the true effect) with MCSE, and ``median_unbiased_below_truth``
    (share of trials whose median-unbiased estimate is below the true effect: 1/2
    if it is median-unbiased) with MCSE.
    """
    looks = scenario.trial.sequential.interim_looks() + 1
    kind = list(EFFECT_MEASURES).index(MEASURE)  # the truth's rows follow EFFECT_MEASURES
    rows = []
    for m, method in enumerate(analyses):
        theta = float(stats["truth"][kind, 0, 0].mean())
        for i, n in enumerate(n_per_arm):
            stop, kind = stats["stop_look"][m, i], stats["stop_kind"][m, i]
            randomized, weeks = stats["n_randomized"][m, i], stats["weeks"][m, i]
            r = len(stop)
            row: dict[str, float | int | str] = {"analysis": method, "n_per_arm": n}
            for k in range(1, looks + 1):
                row[f"stop_efficacy_look{k}"] = float(((stop == k) & (kind == EFFICACY)).mean())
            for k in range(1, looks):
                row[f"stop_futility_look{k}"] = float(((stop == k) & (kind == FUTILITY)).mean())
            row |= {
                "expected_n": float(randomized.mean()),
                "expected_n_mcse": float(randomized.std(ddof=1) / math.sqrt(r))
                if r > 1
                else math.nan,
                "maximum_n": int(stats["n_maximum"][m, i].max()),
                "expected_weeks": float(weeks.mean()),
                "expected_weeks_mcse": float(weeks.std(ddof=1) / math.sqrt(r))
                if r > 1
                else math.nan,
                "expected_n_per_arm_reestimated": float(stats["n_reestimated"][m, i].mean()),
                **_median_unbiased_columns(stats["median_unbiased"][m, i], theta),
            }
            rows.append(row)
    return pd.DataFrame(rows)


def _median_unbiased_columns(estimates: np.ndarray, theta: float) -> dict[str, float]:
    """Bias and median position of the median-unbiased estimates against the truth."""
    e = estimates[np.isfinite(estimates)]
    if len(e) < 2:
        return dict.fromkeys(
            ("median_unbiased_bias", "median_unbiased_bias_mcse", "median_unbiased_below_truth",
             "median_unbiased_below_truth_mcse"), math.nan)  # fmt: skip
    below = float((e < theta).mean())
    return {
        "median_unbiased_bias": float(e.mean() - theta),
        "median_unbiased_bias_mcse": float(e.std(ddof=1) / math.sqrt(len(e))),
        "median_unbiased_below_truth": below,
        "median_unbiased_below_truth_mcse": math.sqrt(below * (1 - below) / len(e)),
    }


def paths(
    stats: dict[str, np.ndarray], n_per_arm: list[int], analyses: list[str], keep: int = 200
) -> pd.DataFrame:
    """Simulated z-paths of the first ``keep`` replicates, the largest design point.

    Returns:
        One row per (replicate, look held): ``analysis``, ``n_per_arm``,
        ``replicate``, ``look``, ``information_fraction``, ``z``, ``efficacy_z``,
        ``futility_z``, ``stop_look``, ``stop_kind`` (efficacy, futility, final).
    """
    i = int(np.argmax(n_per_arm))
    names = {EFFICACY: "efficacy", FUTILITY: "futility", FINAL: "final"}
    rows = []
    r = min(keep, stats["look_z"].shape[-1])
    for j in range(r):
        stop = int(stats["stop_look"][0, i, j])
        for k in range(stop):
            t = stats["look_fraction"][0, i, k, j]
            if np.isnan(t):
                continue
            rows.append(
                {
                    "analysis": analyses[0],
                    "n_per_arm": n_per_arm[i],
                    "replicate": j,
                    "look": k + 1,
                    "information_fraction": t,
                    "z": stats["look_z"][0, i, k, j],
                    "efficacy_z": stats["look_efficacy"][0, i, k, j],
                    "futility_z": stats["look_futility"][0, i, k, j],
                    "stop_look": stop,
                    "stop_kind": names[int(stats["stop_kind"][0, i, j])],
                }
            )
    return pd.DataFrame(rows)
