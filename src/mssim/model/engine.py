"""The engine: replicate trials simulated patient by patient, under every regimen.

Every patient is simulated under every regimen from the same noise (potential
outcomes), so the true effect of any contrast is known exactly. The allocation
picks which potential outcome a trial observes (see :mod:`mssim.trial.designs`).

The dynamics live in one fused numba kernel per patient
(:mod:`mssim.model.kernel`); its order of one day is

1. **treat**: the dose of each course (from earlier sessions) gives the
   direct improvement and the mediators' treatment signal;
2. **mediators**: latent mediators move (mechanism layer only);
3. **symptoms**: slow drift and coupled fast fluctuation;
4. **relapses**: onsets jump, earlier relapses recover;
5. **behaviour**: dropout, then today's sessions (attendance, adverse
   events, dose for tomorrow);
6. **observe**: recall-window sums, visit scores, daily paths if kept.

:func:`simulate` runs each patient from screening to the last visit in one
call (the Monte Carlo path). :class:`TrialRun` keeps every patient's state
between days and runs the same kernel one day at a time; the Mesa model
(:mod:`mssim.views.abm`) drives it. Both give identical numbers, because every
random number is a pure function of its key (:mod:`mssim.model.rng`).
"""

from __future__ import annotations

import math
from dataclasses import fields

import numpy as np

from mssim.config.n_of_1 import scores_diary
from mssim.config.scenario import Scenario
from mssim.model import kernel, rng
from mssim.model.behaviour import adverse_event_types, per_session_risk
from mssim.model.dropout import dropout_hazard
from mssim.model.gaps import GapMatrices, gap_matrices, transition
from mssim.model.interventions import (
    Regimen,
    Respond,
    drug_effect,
    regimens,
    response_normals,
    responses_from_normals,
)
from mssim.model.kernel_io import Outputs, Params, new_scratch
from mssim.model.outcomes import NEVER, DailyPaths, Outcomes
from mssim.model.population import EDSS_SHIFT, MS_TYPES, Cohort, run_in_days
from mssim.model.symptoms import SymptomModel, diary
from mssim.registry import DESIGNS

RELAPSE_SEVERITY_SD = 0.5  # (A) log-SD of a relapse's size relative to the jump
#: Kernel parameters taken as they are from the symptom model (same names in both).
SYMPTOM_FIELDS = tuple(f.name for f in fields(SymptomModel) if f.name in Params._fields)


class _Setup:
    """What a chunk of replicate trials needs before its first day.

    Args:
        scenario: The scenario.
        replicates: Replicate indices (they key the random streams).
        n_patients: Patients enrolled per replicate.
        track: Symptoms scored at visits (default: the endpoints).
        keep_daily: Keep daily latent paths and diaries.
        respond: Maps the chunk's response draws to the patients' responses.
    """

    def __init__(
        self,
        scenario: Scenario,
        replicates: np.ndarray,
        n_patients: int,
        track: list[str] | None,
        keep_daily: bool,
        respond: Respond = responses_from_normals,
    ) -> None:
        self.scenario = scenario
        self.model = model = SymptomModel.from_scenario(scenario)
        self.replicates = reps = np.asarray(replicates, dtype=np.int64)
        self.regimens = regimens(scenario)
        self.tracked = tuple(track or scenario.endpoints())
        self.visit_days = np.array([7 * w for w in scenario.trial.visit_weeks()], dtype=np.int64)
        self.horizon = scenario.horizon_days()
        self.first_day = 1 - scenario.population.screening.days_before_baseline
        self.n_days = self.horizon - self.first_day + 1
        self.keep_daily = keep_daily
        self.ae_labels = adverse_event_types(scenario)
        self.params = _params(self)
        normals = response_normals(scenario, reps, n_patients)
        self.responses = respond(scenario, model, self.regimens, normals)
        self.outputs = _outputs(self, len(reps), n_patients)

    def outcomes(self) -> Outcomes:
        """The chunk's outcomes (after the last day)."""
        o, sc, model = self.outputs, self.scenario, self.model
        daily = None
        if self.keep_daily:
            days = np.arange(self.first_day, self.horizon + 1)
            absent = days[None, None, None, :] >= o.dropout_day[..., None]
            error = rng.normals(
                sc.seed, self.replicates, "diary", (o.edss.shape[1], self.n_days, model.n_symptoms)
            ) * np.array([getattr(sc.symptoms, name).diary_sd for name in model.names])
            noisy = diary(o.daily_latent, error[:, :, None])
            daily = DailyPaths(
                days, o.daily_latent, np.where(absent[..., None], np.nan, noisy), o.daily_attended
            )
        return Outcomes(
            replicates=self.replicates,
            regimens=self.regimens,
            tracked=self.tracked,
            visit_days=self.visit_days,
            scores=o.scores,
            scores_no_relapse=o.scores_no_relapse if self.params.hypothetical else None,
            dropout_day=o.dropout_day,
            relapse_onsets=o.relapse_onsets,
            sessions_attended=o.sessions,
            adverse_events=o.adverse_events,
            cohort=self.cohort(),
            responses=self.responses,
            daily=daily,
        )

    def cohort(self) -> Cohort:
        """The enrolled patients (complete after the screening day)."""
        return Cohort(**{f: getattr(self.outputs, f) for f in Cohort.__dataclass_fields__})


def _params(setup: _Setup) -> Params:
    """The kernel's parameters for a scenario (computed once per chunk)."""
    sc, model = setup.scenario, setup.model
    pop, rule, rel = sc.population, sc.population.screening, sc.relapses
    first, horizon, n_days = setup.first_day, setup.horizon, setup.n_days
    window = run_in_days(sc, model)
    j = model.index(rule.symptom)
    track = np.array([model.index(t) for t in setup.tracked], dtype=np.int64)
    recall = np.array([model.instruments[t].recall_days for t in track], dtype=np.int64)
    for v in setup.visit_days:
        for w in recall:
            if v - w + 1 < first - window:
                raise ValueError(f"recall window reaches day {v - w + 1}, before the run-in")
    years = n_days / 365.25
    arms = list(sc.arms)
    n_ae = max([len(a.adverse_events) for a in sc.arms.values()] + [1])
    ae_rate = np.zeros((len(arms), n_ae))
    ae_dropout = np.zeros((len(arms), n_ae))
    for a, arm in enumerate(sc.arms.values()):
        for e, (risk, event) in enumerate(
            zip(per_session_risk(arm), arm.adverse_events.values(), strict=True)
        ):
            ae_rate[a, e], ae_dropout[a, e] = risk, event.dropout
    g, c = len(setup.regimens), max(len(x.courses) for x in setup.regimens)
    course_arm = np.zeros((g, c), dtype=np.int64)
    end_day = np.zeros((g, c), dtype=np.int64)
    dose_retain = np.ones((g, c))
    slot_of = np.full((g, c, n_days), -1, dtype=np.int64)
    for gi, regimen in enumerate(setup.regimens):
        for ci, course in enumerate(regimen.courses):
            course_arm[gi, ci] = arms.index(course.arm)
            end_day[gi, ci] = course.end_day
            dose_retain[gi, ci] = 0.5 ** (1.0 / sc.arms[course.arm].half_life_days)
            for k, day in enumerate(course.session_days):
                if 0 <= day - first < n_days:
                    slot_of[gi, ci, day - first] = course.first_slot + k
    visit_of = np.full(n_days, -1, dtype=np.int64)
    visit_of[setup.visit_days - first] = np.arange(len(setup.visit_days))
    days = np.arange(first, first + n_days)[:, None, None]
    visits = setup.visit_days[None, None, :]
    in_window = (visits - recall[None, :, None] < days) & (days <= visits)
    recalled = in_window.any(axis=(1, 2))
    anchor = _anchor_days(sc, model, setup.visit_days, days[:, 0, 0])
    gaps = _gaps(model, anchor)
    primary = sc.trial.primary_endpoint
    p_sym = model.index(primary)
    ref_sd = getattr(sc.symptoms, primary).reference_sd

    def scale(i: int) -> np.ndarray:
        inst = model.instruments[i]
        return np.array([inst.low, inst.high, inst.step, inst.points_per_nrs()])

    return Params(
        key=rng.root_key(sc.seed),
        **{f: _contiguous(getattr(model, f)) for f in SYMPTOM_FIELDS},
        type_shares=np.cumsum([getattr(pop.ms_types, t) for t in MS_TYPES]),
        edss_shift=EDSS_SHIFT,
        edss_median=float(pop.edss_median),
        edss_sd=float(pop.edss_sd),
        on_therapy=float(pop.on_therapy),
        max_edss=float(rule.max_edss),
        candidates=int(rule.max_candidates if rule.enabled else 1),
        screening=int(rule.enabled),
        min_score=float(rule.min_score),
        max_score=math.inf if rule.max_score is None else float(rule.max_score),
        screen_symptom=j,
        screen_error_sd=float(getattr(sc.symptoms, rule.symptom).measurement_sd),
        screen_scale=scale(j),
        screen_recall=int(model.instruments[j].recall_days),
        window=int(window),
        frailty_shape=float(rel.frailty_shape),
        annual_rate=np.array([rel.annual_rate[t] for t in MS_TYPES], dtype=float),
        therapy_rate_ratio=float(rel.therapy_rate_ratio),
        residual_probability=float(rel.residual_probability),
        residual_fraction=float(rel.residual_fraction),
        recovery_retain=0.5 ** (1.0 / rel.recovery_half_life_days),
        relapse_slots=4 + math.ceil(6 * max(rel.annual_rate.values()) * years),
        severity_sd=RELAPSE_SEVERITY_SD,
        first_day=first,
        horizon=horizon,
        extra=_dose_free_improvement(sc, model, setup.regimens, first, n_days),
        n_courses=np.array([len(x.courses) for x in setup.regimens], dtype=np.int64),
        course_arm=course_arm,
        end_day=end_day,
        dose_retain=dose_retain,
        slot_of=slot_of,
        adherence=np.array([a.adherence for a in sc.arms.values()], dtype=float),
        gain=np.array([a.gain_per_session for a in sc.arms.values()], dtype=float),
        ae_rate=ae_rate,
        ae_dropout=ae_dropout,
        ae_count=np.array([len(a.adverse_events) for a in sc.arms.values()], dtype=np.int64),
        ae_offset=np.cumsum([0] + [len(a.adverse_events) for a in sc.arms.values()])[:-1],
        hazard0=dropout_hazard(sc, setup.regimens, horizon, _dropout_pilot),
        mechanism=("mcar", "mar", "mnar").index(sc.dropout.mechanism),
        strength=float(sc.dropout.strength),
        primary_symptom=p_sym,
        primary_track=setup.tracked.index(primary),
        primary_per_ref_sd=float(model.instruments[p_sym].points_per_nrs() / ref_sd),
        primary_ref_sd=float(ref_sd),
        visit_days=setup.visit_days,
        visit_of=visit_of,
        in_window=in_window.astype(np.int8),
        recalled=recalled.astype(np.int8),
        anchor=anchor.astype(np.int8),
        next_anchor=_next_anchor(anchor),
        bridged=int((recalled & ~anchor).any()),
        gap_power=gaps.power,
        gap_jump=gaps.jump,
        bridge_pull=gaps.pull,
        bridge_toward=gaps.toward,
        bridge_spread=gaps.spread,
        track=track,
        recall=recall,
        scales=np.array([scale(t) for t in track]).reshape(len(track), 4),
        measurement_sd=np.array(
            [getattr(sc.symptoms, name).measurement_sd for name in model.names], dtype=float
        ),
        hypothetical=int(sc.trial.estimand == "hypothetical"),
    )


def _anchor_days(
    scenario: Scenario, model: SymptomModel, visit_days: np.ndarray, days: np.ndarray
) -> np.ndarray:
    """Trial days whose symptom state is simulated (:mod:`mssim.model.gaps`), (D,) bool.

    The recall windows of the scenario's endpoints at its visits, and the last
    day; every day when something reads the state daily (MNAR dropout, mediators,
    a daily diary endpoint). They depend on the scenario only, so any run of it
    (with other symptoms scored, daily paths, the Mesa view) has the same anchors.
    """
    daily = (
        scenario.dropout.mechanism == "mnar"
        or model.n_mediators > 0
        or scores_diary(scenario.trial)
    )
    if daily:
        return np.ones(len(days), dtype=bool)
    recall = np.array([model.instruments[model.index(e)].recall_days for e in scenario.endpoints()])
    windows = (visit_days[None, :] - recall[:, None] < days[:, None, None]) & (
        days[:, None, None] <= visit_days[None, :]
    )
    anchor = windows.any(axis=(1, 2))
    anchor[-1] = True
    return anchor


def _next_anchor(anchor: np.ndarray) -> np.ndarray:
    """For each day, the index of the first anchor on or after it."""
    at = np.flatnonzero(anchor)
    return at[np.searchsorted(at, np.arange(len(anchor)))].astype(np.int64)


def _gaps(model: SymptomModel, anchor: np.ndarray) -> GapMatrices:
    """Jump and bridge matrices for the longest gap before an anchor (from the screening day)."""
    at = np.flatnonzero(anchor)
    longest = int(np.diff(np.concatenate([[-1], at])).max())
    return gap_matrices(*transition(model), longest)


def _contiguous(value: float | np.ndarray) -> float | np.ndarray:
    """Arrays in C order (numba compiles faster indexing for them), scalars as they are."""
    return np.ascontiguousarray(value) if isinstance(value, np.ndarray) else value


def _dropout_pilot(
    scenario: Scenario, replicates: np.ndarray, n_patients: int, keep_daily: bool
) -> Outcomes:
    """The engine run behind a MAR or MNAR dropout calibration (:mod:`mssim.model.dropout`)."""
    return simulate(scenario, replicates, n_patients, keep_daily=keep_daily)


def _dose_free_improvement(
    sc: Scenario, model: SymptomModel, regimen_list: list[Regimen], first: int, n_days: int
) -> np.ndarray:
    """Improvement that needs no dose, per day and regimen (NRS), (days, G, S).

    Background drugs ramp up from day 1; in a design with a second period
    every symptom shifts by ``trial.period_effect`` from then on (a worsening
    is positive).
    """
    days = np.arange(first, first + n_days)
    extra = np.stack([drug_effect(sc, model, x, days) for x in regimen_list], axis=1)
    periods = DESIGNS.get(sc.trial.design).periods(sc.trial)
    if len(periods) > 1:
        period2 = days > periods[1][0]
        extra[period2] -= sc.trial.period_effect
    return np.ascontiguousarray(extra)


def _outputs(setup: _Setup, r: int, n: int) -> Outputs:
    """Output arrays of a chunk, to be filled by the kernel."""
    p, model = setup.params, setup.model
    s, m = model.n_symptoms, model.n_mediators
    g, v, t = len(setup.regimens), len(setup.visit_days), len(setup.tracked)
    d = setup.n_days if setup.keep_daily else 0
    daily_r, daily_n = (r, n) if setup.keep_daily else (0, 0)
    nr = (r, n, g, v, t) if p.hypothetical else (0, 0, 0, 0, 0)
    return Outputs(
        ms_type=np.zeros((r, n), dtype=np.int8),
        edss=np.zeros((r, n)),
        on_therapy=np.zeros((r, n), dtype=bool),
        relapse_propensity=np.zeros((r, n)),
        level=np.zeros((r, n, s)),
        presence=np.zeros((r, n, s)),
        screening_score=np.zeros((r, n)),
        candidates_screened=np.zeros((r, n), dtype=np.int64),
        screen_exhausted=np.zeros((r, n), dtype=bool),
        fluctuation=np.zeros((r, n, s)),
        drift=np.zeros((r, n, s)),
        mediators=np.zeros((r, n, m)),
        relapse_onsets=np.full((r, n, p.relapse_slots), NEVER, dtype=np.int64),
        scores=np.full((r, n, g, v, t), np.nan),
        scores_no_relapse=np.full(nr, np.nan),
        dropout_day=np.full((r, n, g), NEVER, dtype=np.int64),
        sessions=np.zeros((r, n, g), dtype=np.int64),
        adverse_events=np.zeros((r, n, g, len(setup.ae_labels)), dtype=np.int64),
        daily_latent=np.zeros((daily_r, daily_n, g if d else 0, d, s if d else 0)),
        daily_attended=np.zeros((daily_r, daily_n, g if d else 0, d), dtype=bool),
    )


class TrialRun:
    """A chunk of replicate trials stepping through their days together (the Mesa path).

    Each patient's state is kept between days, and each ``step()`` runs the
    engine's kernel for one day, so the result equals :func:`simulate` exactly.
    Constructing the run simulates the screening day (the cohort exists).

    Args:
        scenario: The scenario.
        replicates: Replicate indices (they key the random streams).
        n_patients: Patients enrolled per replicate.
        track: Symptoms to score at visits (default: the endpoints).
        keep_daily: Keep daily latent paths and diaries (memory grows with days).
    """

    def __init__(
        self,
        scenario: Scenario,
        replicates: np.ndarray,
        n_patients: int,
        track: list[str] | None = None,
        keep_daily: bool = False,
    ) -> None:
        self._setup = setup = _Setup(scenario, replicates, n_patients, track, keep_daily)
        self.scenario, self.model, self.replicates = scenario, setup.model, setup.replicates
        self.regimens, self.tracked, self.visit_days = (
            setup.regimens,
            setup.tracked,
            setup.visit_days,
        )
        self.horizon, self.first_day, self.ae_labels = (
            setup.horizon,
            setup.first_day,
            setup.ae_labels,
        )
        self.responses = setup.responses
        r, n = len(self.replicates), n_patients
        self._scratch = new_scratch(setup.params, r * n, self.model.n_mediators)
        self._advance(self.first_day - 1)  # the screening day
        self.day = self.first_day
        o = setup.outputs
        self.cohort = setup.cohort()
        self.relapse_onsets, self.dropout_day = o.relapse_onsets, o.dropout_day
        self.sessions_attended, self.adverse_events = o.sessions, o.adverse_events
        self.latent = self._scratch.latent.reshape(r, n, len(self.regimens), -1)

    def _advance(self, day: int) -> None:
        s = self._setup
        units = s.outputs.edss.size
        kernel.drive(
            s.params,
            s.responses.direct,
            s.responses.signal,
            s.outputs,
            self._scratch,
            s.replicates,
            0,
            units,
            day,
            day,
            s.keep_daily,
            -1,  # each patient keeps its own scratch row between days
        )

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
        """Simulate one day for every patient (see the module docstring for the order)."""
        self._advance(self.day)
        self.day += 1

    def outcomes(self) -> Outcomes:
        """Collect the results (complete after the last day)."""
        return self._setup.outcomes()


def simulate(
    scenario: Scenario,
    replicates: np.ndarray | list[int],
    n_patients: int,
    track: list[str] | None = None,
    keep_daily: bool = False,
    threads: int = 1,
    respond: Respond = responses_from_normals,
) -> Outcomes:
    """Simulate replicate trials under every regimen, each patient in one fused call.

    Args:
        scenario: The scenario.
        replicates: Replicate indices.
        n_patients: Patients enrolled per replicate.
        track: Symptoms scored at visits (default: the endpoints).
        keep_daily: Keep daily paths (for one trial's files and figures).
        threads: Threads inside the chunk; the result does not depend on it.
        respond: Maps the chunk's response draws
            (:func:`~mssim.model.interventions.response_normals`) to the patients'
            responses; default the scenario's own mapping. An assurance run maps
            each replicate with its drawn values.

    Returns:
        The potential outcomes of the chunk.
    """
    setup = _Setup(scenario, np.asarray(replicates), n_patients, track, keep_daily, respond)
    kernel.run_chunk(
        setup.params,
        setup.responses.direct,
        setup.responses.signal,
        setup.outputs,
        setup.replicates,
        setup.model.n_mediators,
        keep_daily,
        threads,
    )
    return setup.outcomes()


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


def one_trial(scenario: Scenario, n_patients: int, replicate: int = 0) -> Outcomes:
    """One trial with daily paths and every symptom scored, in one fused call per patient."""
    return simulate(
        scenario, [replicate], n_patients, track=scenario.symptoms.active(), keep_daily=True
    )
