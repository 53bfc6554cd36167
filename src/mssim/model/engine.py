"""The daily loop, vectorized over (replicate, patient, regimen).

One :class:`TrialRun` simulates a chunk of replicate trials. Every patient is
simulated under every regimen from the same noise (potential outcomes), so
the true effect of any contrast is known exactly. The allocation picks which
potential outcome a trial observes (see :mod:`mssim.trial.designs`).

Order of one day (each step fills one slot; :meth:`TrialRun.step`):

1. **treat**: the dose of each course (from earlier sessions) gives the
   direct improvement and the mediators' treatment signal;
2. **mediators**: latent mediators move (mechanism layer only);
3. **symptoms**: slow drift and coupled fast fluctuation;
4. **relapses**: onsets jump, earlier relapses recover;
5. **behaviour**: dropout, then today's sessions (attendance, adverse
   events, dose for tomorrow);
6. **observe**: recall sums, visit scores, daily diaries.

The Mesa model (:mod:`mssim.views.abm`) drives this same class one day at a time.
"""

from __future__ import annotations

import threading

import numpy as np
from scipy.special import ndtr

from mssim.config.scenario import Scenario
from mssim.model import rng
from mssim.model.behaviour import (
    BehaviourDraws,
    adverse_event_types,
    base_hazard,
    draw_behaviour,
    session_events,
)
from mssim.model.interventions import (
    dose_step,
    draw_responses,
    drug_effect,
    regimens,
)
from mssim.model.outcomes import NEVER, DailyPaths, Outcomes
from mssim.model.population import MS_TYPES, draw_cohort
from mssim.model.symptoms import (
    Relapses,
    SymptomModel,
    advance_day,
    diary,
    felt,
    relapse_load,
    score,
)
from mssim.registry import DESIGNS

_reusable = threading.local()
RELAPSE_SEVERITY_SD = 0.5  # (A) log-SD of a relapse's size relative to the jump


class TrialRun:
    """A chunk of replicate trials stepping through their days together.

    Args:
        scenario: The scenario.
        replicates: Replicate indices (they pick the random streams).
        n_patients: Patients enrolled per replicate.
        track: Symptoms to score at visits (default: the endpoints).
        keep_daily: Keep daily latent paths and diaries (memory grows with days).
        noise_buffer: An array to reuse for the daily noise (see :func:`simulate`).
    """

    def __init__(
        self,
        scenario: Scenario,
        replicates: np.ndarray,
        n_patients: int,
        track: list[str] | None = None,
        keep_daily: bool = False,
        noise_buffer: np.ndarray | None = None,
    ) -> None:
        self.scenario = scenario
        self.model = model = SymptomModel.from_scenario(scenario)
        self.replicates = reps = np.asarray(replicates, dtype=np.int64)
        self.regimens = regimens(scenario)
        self.tracked = tuple(track or scenario.endpoints())
        self.track_index = [model.index(t) for t in self.tracked]
        self.visit_days = np.array([7 * w for w in scenario.trial.visit_weeks()])
        self.horizon = scenario.horizon_days()
        lead = scenario.population.screening.days_before_baseline
        self.first_day = -lead + 1
        self.day = self.first_day
        r, n, g, s = len(reps), n_patients, len(self.regimens), model.n_symptoms
        t, v = len(self.tracked), len(self.visit_days)

        self.cohort = draw_cohort(scenario, model, reps, n)
        self.responses = draw_responses(scenario, model, self.regimens, reps, n)
        self.behaviour: BehaviourDraws = draw_behaviour(scenario, self.regimens, reps, n)
        n_days = self.horizon - self.first_day + 1
        self.noise = rng.day_major_normals(
            scenario.seed, reps, "symptoms", n, n_days, model.noise_channels, noise_buffer
        )
        self.visit_error = rng.normals(scenario.seed, reps, "measurement", (n, v, s)) * np.array(
            [getattr(scenario.symptoms, name).measurement_sd for name in model.names]
        )
        self._draw_relapses(r, n)

        c = self.cohort
        u = r * n
        mediators = np.broadcast_to(c.mediators[:, :, None, :], (r, n, g, model.n_mediators))
        self.state = (
            c.fluctuation.reshape(u, s).copy(),
            c.drift.reshape(u, s).copy(),
            mediators.reshape(u, g, model.n_mediators).copy(),
            np.zeros(u),
            np.zeros(u),
        )
        self._level, self._presence = c.level.reshape(u, s), c.presence.reshape(u, s)
        n_courses = max(len(x.courses) for x in self.regimens)
        self.dose = np.zeros((r, n, g, n_courses))
        self.dropout_day = np.full((r, n, g), NEVER, dtype=np.int64)
        self.leaving = np.zeros((r, n, g), dtype=bool)
        self.cum_hazard = np.zeros((r, n, g))
        self.worsening = np.zeros((r, n, g))
        self.hazard0 = base_hazard(scenario.dropout.rate, self.horizon)
        self.sessions_attended = np.zeros((r, n, g), dtype=np.int64)
        self.ae_labels = adverse_event_types(scenario)
        self._ae_offset = {
            name: sum(len(a.adverse_events) for a in list(scenario.arms.values())[:k])
            for k, name in enumerate(scenario.arms)
        }
        self.adverse_events = np.zeros((r, n, g, len(self.ae_labels)), dtype=np.int64)
        self.scores = np.full((r, n, g, v, t), np.nan)
        self.hypothetical = scenario.trial.estimand == "hypothetical"
        self.scores_no_relapse = np.full_like(self.scores, np.nan) if self.hypothetical else None
        self._slots = [
            [{int(d): c.first_slot + k for k, d in enumerate(c.session_days)} for c in x.courses]
            for x in self.regimens
        ]
        self._retain = [
            [0.5 ** (1.0 / scenario.arms[c.arm].half_life_days) for c in x.courses]
            for x in self.regimens
        ]
        self._extra = self._dose_free_improvement(n_days)
        self._init_recall_sums(r, n, g)
        self.keep_daily = keep_daily
        if keep_daily:
            self._daily_latent = np.zeros((r, n, g, n_days, s))
            self._daily_attended = np.zeros((r, n, g, n_days), dtype=bool)
            self._diary_error = rng.normals(
                scenario.seed, reps, "diary", (n, n_days, s)
            ) * np.array([getattr(scenario.symptoms, name).diary_sd for name in model.names])
        self._latent = np.zeros((r * n, g, s))
        self.latent = self._latent.reshape(r, n, g, s)

    # ---- set-up ------------------------------------------------------------
    def _draw_relapses(self, r: int, n: int) -> None:
        rel = self.scenario.relapses
        years = (self.horizon - self.first_day + 1) / 365.25
        slots = 4 + int(np.ceil(6 * max(rel.annual_rate.values()) * years))
        z = rng.normals(self.scenario.seed, self.replicates, "relapses", (n, slots, 3))
        c = self.cohort
        annual = np.array([rel.annual_rate[t] for t in MS_TYPES])[c.ms_type]
        annual = annual * np.where(c.on_therapy, rel.therapy_rate_ratio, 1.0) * c.relapse_propensity
        per_day = annual / 365.25
        gaps = -np.log(ndtr(-z[..., 0]))  # unit exponentials
        with np.errstate(divide="ignore"):
            onset = self.first_day + np.cumsum(gaps, axis=-1) / per_day[..., None]
        self.relapse_onsets = np.where(onset <= self.horizon, np.floor(onset), NEVER).astype(
            np.int64
        )
        sd = RELAPSE_SEVERITY_SD
        size = np.exp(sd * z[..., 1] - sd**2 / 2)
        residual = (ndtr(z[..., 2]) < rel.residual_probability) * rel.residual_fraction
        self._relapses = Relapses(
            self.relapse_onsets.reshape(r * n, slots),
            size.reshape(r * n, slots),
            residual.reshape(r * n, slots),
            0.5 ** (1.0 / rel.recovery_half_life_days),
        )

    def _init_recall_sums(self, r: int, n: int, g: int) -> None:
        """Running sums of felt severity, and the days whose sums visits need."""
        recall = [self.model.instruments[i].recall_days for i in self.track_index]
        self._needed = {int(v - w) for v in self.visit_days for w in recall} | set(
            self.visit_days.tolist()
        )
        run_in = self.cohort.run_in[..., self.track_index]  # (R, N, W, T)
        w = run_in.shape[2]
        start = self.first_day - 1 - w  # the day before the run-in
        cum = np.concatenate([np.zeros_like(run_in[:, :, :1]), np.cumsum(run_in, axis=2)], axis=2)
        self._snap: dict[int, np.ndarray] = {}
        self._snap_nr: dict[int, np.ndarray] = {}
        for day in self._needed:
            if day < start:
                raise ValueError(f"recall window reaches day {day}, before the run-in")
            if day < self.first_day:
                snap = np.broadcast_to(cum[:, :, day - start, None, :], (r, n, g, len(recall)))
                self._snap[day] = self._snap_nr[day] = snap
        self._sum = np.broadcast_to(cum[:, :, -1, None, :], (r, n, g, len(recall))).copy()
        self._sum_nr = self._sum.copy() if self.hypothetical else None
        self._recall = np.array(recall, dtype=float)

    def _dose_free_improvement(self, n_days: int) -> np.ndarray:
        """Improvement that needs no dose, per day and regimen (NRS), (days, G, S).

        Background drugs ramp up from day 1; in a design with a second period
        every symptom shifts by ``trial.period_effect`` from then on (a worsening
        is positive).
        """
        sc, model = self.scenario, self.model
        days = range(self.first_day, self.first_day + n_days)
        extra = np.stack(
            [np.stack([drug_effect(sc, model, x, day) for x in self.regimens]) for day in days]
        )
        periods = DESIGNS.get(sc.trial.design).periods(sc.trial)
        if len(periods) > 1:
            period2 = np.array(days) > periods[1][0]
            extra[period2] -= sc.trial.period_effect
        return extra

    # ---- the loop ----------------------------------------------------------
    @property
    def done(self) -> bool:
        """All days simulated."""
        return self.day > self.horizon

    def run(self) -> Outcomes:
        """Simulate every remaining day and return the outcomes."""
        while not self.done:
            self.step()
        return self.outcomes()

    def step(self) -> None:
        """Simulate one day (see the module docstring for the order)."""
        day, i = self.day, self.day - self.first_day
        r, n, g, c = self.dose.shape
        # 1-4. treat (doses from earlier sessions; drugs and period effects, precomputed),
        # mediators, symptoms, relapses: one fused kernel
        advance_day(
            self.model,
            day,
            self.noise,
            i,
            self.state,
            self._level,
            self._presence,
            self._relapses,
            self.dose.reshape(r * n, g, c),
            self.responses.direct.reshape(r * n, g, c, -1),
            self.responses.signal.reshape(r * n, g, c),
            self._extra[i],
            self._latent,
        )
        # 5. behaviour
        if day >= 1:
            self._behave(day)
        # 6. observe
        self._observe(day, i)
        self.day += 1

    def _behave(self, day: int) -> None:
        sc = self.scenario
        present = self.dropout_day > day
        leave = present & self.leaving
        hazard = self.hazard0
        if sc.dropout.mechanism != "mcar":
            hazard = self.hazard0 * np.exp(sc.dropout.strength * self._worsening_now())
        self.cum_hazard += np.where(present, hazard, 0.0)
        leave |= present & (self.cum_hazard >= self.behaviour.threshold[:, :, None])
        self.dropout_day[leave] = day
        present &= ~leave
        self.leaving[:] = False
        for g, regimen in enumerate(self.regimens):
            for j, course in enumerate(regimen.courses):
                arm = sc.arms[course.arm]
                slot = self._slots[g][j].get(day)
                here = present[:, :, g]
                attended = np.zeros_like(here)
                if slot is not None:
                    attended, event, leaves = session_events(
                        sc, course.arm, self.behaviour.slots[:, :, slot], here
                    )
                    self.sessions_attended[:, :, g] += attended
                    first = self._ae_offset[course.arm]
                    for k in range(len(arm.adverse_events)):
                        self.adverse_events[:, :, g, first + k] += event == k
                    self.leaving[:, :, g] |= leaves
                    if self.keep_daily:
                        self._daily_attended[:, :, g, day - self.first_day] |= attended
                decaying = (day >= course.end_day) | ~here
                self.dose[:, :, g, j] = dose_step(
                    self.dose[:, :, g, j],
                    attended,
                    decaying & ~attended,
                    arm.gain_per_session,
                    self._retain[g][j],
                )

    def _worsening_now(self) -> np.ndarray:
        """Worsening that drives MAR/MNAR dropout, in reference SDs."""
        sc = self.scenario
        if sc.dropout.mechanism == "mar":
            return self.worsening
        j = self.model.index(sc.trial.primary_endpoint)
        sym = getattr(sc.symptoms, sc.trial.primary_endpoint)
        per_nrs = self.model.instruments[j].points_per_nrs()
        return (felt(self.latent[..., j]) - self._baseline_felt) * per_nrs / sym.reference_sd

    def _observe(self, day: int, i: int) -> None:
        felt_now = felt(self.latent[..., self.track_index])
        self._sum += felt_now
        if self.hypothetical:
            relapse = relapse_load(self.model, self.state, self._presence)
            no_relapse = (self._latent - relapse).reshape(self.latent.shape)
            self._sum_nr += felt(no_relapse)[..., self.track_index]
        if day in self._needed:
            self._snap[day] = self._sum.copy()
            if self.hypothetical:
                self._snap_nr[day] = self._sum_nr.copy()
        if self.keep_daily:
            self._daily_latent[:, :, :, i] = self.latent
        if day not in self.visit_days:
            return
        v = int(np.flatnonzero(self.visit_days == day)[0])
        error = self.visit_error[:, :, None, v, self.track_index]
        self.scores[:, :, :, v] = self._visit_scores(self._snap, day, error)
        if self.hypothetical:
            self.scores_no_relapse[:, :, :, v] = self._visit_scores(self._snap_nr, day, error)
        primary = self.tracked.index(self.scenario.trial.primary_endpoint)
        if v == 0:
            w = int(self._recall[primary])
            self._baseline_felt = (
                self._snap[day][..., primary] - self._snap[day - w][..., primary]
            ) / w
        else:
            sym = getattr(self.scenario.symptoms, self.scenario.trial.primary_endpoint)
            seen = self.dropout_day > day
            change = self.scores[:, :, :, v, primary] - self.scores[:, :, :, 0, primary]
            self.worsening = np.where(seen, change / sym.reference_sd, self.worsening)

    def _visit_scores(self, snap: dict[int, np.ndarray], day: int, error: np.ndarray) -> np.ndarray:
        out = np.empty(snap[day].shape)
        for k, t in enumerate(self.track_index):
            w = int(self._recall[k])
            mean = (snap[day][..., k] - snap[day - w][..., k]) / w
            out[..., k] = score(self.model.instruments[t], mean, error[..., k])
        return out

    def outcomes(self) -> Outcomes:
        """Collect the results (call after the last day)."""
        daily = None
        if self.keep_daily:
            days = np.arange(self.first_day, self.horizon + 1)
            absent = days[None, None, None, :] >= self.dropout_day[..., None]
            noisy = diary(self._daily_latent, self._diary_error[:, :, None])
            daily = DailyPaths(
                days,
                self._daily_latent,
                np.where(absent[..., None], np.nan, noisy),
                self._daily_attended,
            )
        return Outcomes(
            replicates=self.replicates,
            regimens=self.regimens,
            tracked=self.tracked,
            visit_days=self.visit_days,
            scores=self.scores,
            scores_no_relapse=self.scores_no_relapse,
            dropout_day=self.dropout_day,
            relapse_onsets=self.relapse_onsets,
            sessions_attended=self.sessions_attended,
            adverse_events=self.adverse_events,
            cohort=self.cohort,
            responses=self.responses,
            daily=daily,
        )


def simulate(
    scenario: Scenario,
    replicates: np.ndarray | list[int],
    n_patients: int,
    track: list[str] | None = None,
    keep_daily: bool = False,
) -> Outcomes:
    """Simulate replicate trials under every regimen.

    Args:
        scenario: The scenario.
        replicates: Replicate indices.
        n_patients: Patients enrolled per replicate.
        track: Symptoms scored at visits (default: the endpoints).
        keep_daily: Keep daily paths (for one trial's files and figures).

    Returns:
        The potential outcomes of the chunk.
    """
    # A run to completion can reuse this thread's noise array from the last
    # chunk: a fresh one costs page faults comparable to drawing the noise.
    run = TrialRun(
        scenario,
        np.asarray(replicates),
        n_patients,
        track,
        keep_daily,
        noise_buffer=getattr(_reusable, "noise", None),
    )
    _reusable.noise = run.noise
    return run.run()


def one_trial_run(scenario: Scenario, n_patients: int, replicate: int = 0) -> TrialRun:
    """A single-trial run that keeps daily paths and scores every symptom.

    Args:
        scenario: The scenario.
        n_patients: Patients enrolled (all arms together).
        replicate: Replicate index: picks the random streams.

    Returns:
        The run, ready to ``step()`` day by day or ``run()`` to the end.
    """
    return TrialRun(
        scenario,
        np.array([replicate]),
        n_patients,
        track=scenario.symptoms.active(),
        keep_daily=True,
    )
