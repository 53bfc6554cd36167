"""The scenario: every input of a simulated trial, validated and frozen.

Defaults live here, one line each, with the unit and the source (author year)
from the project's parameter dossier, or marked ``(A)`` where the number is our
assumption. A scenario file (TOML) only needs what differs from these defaults.

Symptom scores: every symptom has a latent daily severity on a 0-10 numeric
rating scale (NRS; higher is worse). Instruments (:mod:`mssim.config.instruments`)
map a recall-window mean of the daily severity onto their own range, and bring
their own reference SD, MCID, measurement SD and screening cut-off.

Names of instruments, intervention kinds, designs, endpoints and analyses are
checked against their registries (:mod:`mssim.registry`).
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mssim.registry import ANALYSES, DESIGNS, ENDPOINTS, INSTRUMENTS, INTERVENTIONS

# Every float is finite (``allow_inf_nan=False`` on every model) and bounded.
Probability = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegative = Annotated[float, Field(ge=0.0, le=100.0)]  # SDs, weights, rates, points
Positive = Annotated[float, Field(gt=0.0, le=36_500.0)]  # time constants (days), SDs, shapes
Level = Annotated[float, Field(ge=-10.0, le=20.0)]  # latent NRS, clipped to 0-10 when felt
Effect = Annotated[float, Field(ge=-100.0, le=100.0)]  # SD or instrument points
Loading = Annotated[float, Field(ge=-10.0, le=10.0)]  # NRS points or SD per SD
Score = Annotated[float, Field(ge=-100.0, le=100.0)]  # instrument points (all within 0-84)
Weeks = Annotated[int, Field(ge=1, le=520)]

SYMPTOMS = ("fatigue", "pain", "sleep", "spasticity", "bladder", "cognition")
MEDIATORS = ("autonomic", "cortisol", "melatonin", "inflammation", "pain_sensitivity")
#: Symptom fields whose default comes from the symptom's instrument.
SCORED_FIELDS = ("reference_sd", "mcid", "measurement_sd")


class Strict(BaseModel):
    """Closed, frozen parameter set: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Symptom(Strict):
    """One symptom's latent daily process and its instrument.

    The latent severity of patient i on day t is
    ``level_i + drift_i(t) + fluctuation_i(t) + relapse_i(t) - treatment_i(t)``
    (0-10 NRS units), clipped to 0-10 when it is felt and scored.
    """

    enabled: bool = Field(True, description="Simulate this symptom.")
    instrument: str = Field("nrs", description="Instrument that scores the symptom at visits.")
    prevalence: Probability = Field(1.0, description="Share of patients who have the symptom.")
    mean: Level = Field(5.0, description="Population mean of personal levels (0-10 NRS).")
    between_sd: NonNegative = Field(2.0, description="SD of personal levels (NRS).")
    day_sd: NonNegative = Field(1.5, description="SD of day-to-day fluctuation (NRS).")
    autocorrelation: float = Field(
        0.6, ge=0.0, lt=1.0, description="Lag-1 autocorrelation of daily fluctuation."
    )
    drift_sd: NonNegative = Field(0.5, description="SD of slow drift of the level (NRS).")
    drift_days: Positive = Field(60.0, description="Time constant of slow drift (days).")
    measurement_sd: NonNegative = Field(
        0.3, description="Instrument measurement error SD (instrument points)."
    )
    diary_sd: NonNegative = Field(0.5, description="Daily diary error SD (NRS points).")
    relapse_jump: NonNegative = Field(
        1.5, description="Rise in severity at a relapse's onset (NRS points)."
    )
    reference_sd: Positive = Field(
        2.3, description="Between-patient SD of the instrument score: converts SD effects."
    )
    mcid: Positive = Field(2.0, description="Minimal important improvement (instrument points).")

    @field_validator("instrument")
    @classmethod
    def _known_instrument(cls, value: str) -> str:
        return INSTRUMENTS.check(value)

    @model_validator(mode="after")
    def _plausible_for_instrument(self) -> Symptom:
        scale = self.scale
        for name in SCORED_FIELDS:
            problem = scale.implausible(name, getattr(self, name))
            if problem:
                raise ValueError(f"@{name}: {problem}")
        return self

    @property
    def scale(self) -> Any:
        """The :class:`~mssim.config.instruments.Instrument` this symptom is scored on."""
        return INSTRUMENTS.get(self.instrument)


# Per-symptom defaults of the latent process and the default instrument. Levels
# are chosen so that the untreated cohort reproduces the dossier's figures.
# Reference SD, MCID and measurement SD come from the instrument
# (mssim.config.instruments) unless SCORED_DEFAULTS gives a symptom-specific value
# for the symptom's default instrument.
SYMPTOM_DEFAULTS: dict[str, dict[str, Any]] = {
    "fatigue": {
        "instrument": "fss",
        "prevalence": 1.0,  # fatigue is graded, not absent/present: FSS >= 1 for everyone
        "mean": 6.1,  # entry FSS 5.2 after FSS >= 4 (Rammohan 2002; Learmonth 2013); calib.
        "between_sd": 2.2,  # 6-month FSS ICC 0.75 (Learmonth 2013); calibrated
        "day_sd": 1.2,  # (A) daily fatigue varies considerably (Kratz 2017; Powell 2017)
        "autocorrelation": 0.6,  # (A) not published; with day_sd gives SEM 0.7 (Learmonth 2013)
        "drift_sd": 0.3,  # (A) slow wandering; part of the 6-month SEM 0.7 (Learmonth 2013)
        "drift_days": 60.0,  # (A)
        "diary_sd": 0.5,  # NRS points (A)
        "relapse_jump": 2.0,  # NRS points; not published (A)
    },
    "pain": {
        "instrument": "nrs",
        "prevalence": 0.63,  # Foley 2013 (63%, 55-70%)
        "mean": 5.2,  # NRS 5.2 in those with pain (Ehde 2003)
        "between_sd": 2.1,  # NRS SD 2.3 in those with pain (Ehde 2003); calibrated
        "day_sd": 1.3,  # (A) pain varies day to day (Kratz 2017)
        "autocorrelation": 0.6,  # (A)
        "drift_sd": 0.5,  # (A)
        "drift_days": 60.0,  # (A)
        "diary_sd": 0.5,  # (A)
        "relapse_jump": 1.0,  # (A)
    },
    "sleep": {
        "instrument": "psqi",
        "prevalence": 1.0,
        "mean": 3.5,  # PSQI 7.3 in MS (case-control study; Sarraf 2014), 21 * 3.5 / 10
        "between_sd": 1.2,  # PSQI SD 2.8 (Sarraf 2014); calibrated
        "day_sd": 1.5,  # (A)
        "autocorrelation": 0.4,  # (A)
        "drift_sd": 0.4,  # (A)
        "drift_days": 60.0,  # (A)
        "diary_sd": 0.5,  # (A)
        "relapse_jump": 1.0,  # (A)
    },
    "spasticity": {
        "enabled": False,
        "instrument": "nrs",
        "prevalence": 0.8,  # > 80% report some (Rizzo 2004)
        "mean": 4.0,  # (A) a third moderate or worse (Rizzo 2004; NARCOMS 2016)
        "between_sd": 2.0,  # (A)
        "day_sd": 1.0,  # (A) NRS test-retest ICC 0.83 over 7-14 days (Farrar 2008)
        "autocorrelation": 0.6,  # (A)
        "drift_sd": 0.4,  # (A)
        "drift_days": 60.0,  # (A)
        "diary_sd": 0.5,  # (A)
        "relapse_jump": 1.5,  # (A)
    },
    "bladder": {
        "enabled": False,
        "instrument": "nrs",
        "prevalence": 0.68,  # 68% pooled (Int J MS Care 2020 meta-analysis)
        "mean": 4.0,  # (A)
        "between_sd": 2.0,  # (A)
        "day_sd": 1.0,  # (A)
        "autocorrelation": 0.6,  # (A)
        "drift_sd": 0.4,  # (A)
        "drift_days": 60.0,  # (A)
        "diary_sd": 0.5,  # (A)
        "relapse_jump": 1.0,  # (A)
    },
    "cognition": {
        "enabled": False,
        "instrument": "nrs",
        "prevalence": 1.0,
        "mean": 3.5,  # (A) clusters with fatigue and pain (Motl symptom-cluster study)
        "between_sd": 2.0,  # (A)
        "day_sd": 0.8,  # (A)
        "autocorrelation": 0.7,  # (A)
        "drift_sd": 0.3,  # (A)
        "drift_days": 90.0,  # (A)
        "diary_sd": 0.5,  # (A)
        "relapse_jump": 1.0,  # (A)
    },
}


# Symptom-specific values on the symptom's default instrument (they replace the
# instrument's own defaults only while that instrument is used).
SCORED_DEFAULTS: dict[str, dict[str, float]] = {
    "spasticity": {"reference_sd": 1.8},  # NRS 6.1 +/- 1.8 in those treated (Flachenecker 2014)
    "bladder": {"reference_sd": 2.0},  # (A)
    "cognition": {"reference_sd": 2.0, "mcid": 1.0},  # (A)
}


def symptom_defaults(name: str, instrument: str | None = None) -> dict[str, Any]:
    """Defaults of one symptom scored on ``instrument`` (default: its usual one).

    Args:
        name: Symptom name.
        instrument: Instrument name; an unknown name is left for validation to refuse.

    Returns:
        Field -> default: the latent process, then the instrument's reference SD,
        MCID and measurement SD (symptom-specific on the usual instrument).
    """
    usual = SYMPTOM_DEFAULTS[name]["instrument"]
    chosen = usual if instrument is None else instrument
    scored = INSTRUMENTS.get(chosen).defaults() if chosen in INSTRUMENTS else {}
    if chosen == usual:
        scored.update(SCORED_DEFAULTS.get(name, {}))
    return {**SYMPTOM_DEFAULTS[name], "instrument": chosen, **scored}


def _merge_defaults(defaults: dict[str, Any], given: Any) -> Any:
    """Lay a user's table over a defaults table (user wins); leave non-tables to pydantic."""
    if isinstance(given, Symptom | BaseModel):
        return given
    if not isinstance(given, dict):
        return given
    return {**defaults, **given}


class Symptoms(Strict):
    """The symptoms in the model. Fatigue, pain and sleep are always present."""

    fatigue: Symptom = Symptom(**symptom_defaults("fatigue"))
    pain: Symptom = Symptom(**symptom_defaults("pain"))
    sleep: Symptom = Symptom(**symptom_defaults("sleep"))
    spasticity: Symptom = Symptom(**symptom_defaults("spasticity"))
    bladder: Symptom = Symptom(**symptom_defaults("bladder"))
    cognition: Symptom = Symptom(**symptom_defaults("cognition"))

    @model_validator(mode="before")
    @classmethod
    def _fill_per_symptom_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data

        def fill(name: str, value: Any) -> Any:
            if name not in SYMPTOMS:
                return value
            instrument = value.get("instrument") if isinstance(value, dict) else None
            return _merge_defaults(symptom_defaults(name, instrument), value)

        return {name: fill(name, value) for name, value in data.items()}

    @model_validator(mode="after")
    def _core_symptoms_stay_on(self) -> Symptoms:
        for name in ("fatigue", "pain", "sleep"):
            if not getattr(self, name).enabled:
                raise ValueError(f"{name} is a core symptom and cannot be disabled")
        return self

    def active(self) -> list[str]:
        """Names of the simulated symptoms, in model order."""
        return [name for name in SYMPTOMS if getattr(self, name).enabled]


class Coupling(Strict):
    """How the symptoms move together."""

    sleep_to_fatigue: float = Field(
        0.25,
        ge=-1.0,
        le=1.0,
        description="Rise in next-day fatigue per NRS point of a poor night (A).",
    )
    pain_to_sleep: float = Field(
        0.2,
        ge=-1.0,
        le=1.0,
        description="Rise in that night's sleep disturbance per NRS point of pain (A).",
    )
    day_correlation: float = Field(
        0.3,
        ge=0.0,
        lt=1.0,
        description="Correlation of same-day fluctuations between symptoms (A).",
    )
    between_correlation: float = Field(
        0.4,
        ge=0.0,
        lt=1.0,
        description="Correlation of personal levels between symptoms: r 0.3-0.5 (A).",
    )


class Mechanism(Strict):
    """Optional latent mediators through which treatments act (all (A)).

    When enabled, needling acts only through the mediators: each course's
    effect (in SD) is a treatment signal that moves every mediator by
    ``treatment_response``, and the mediators move symptoms by ``loadings``.
    The arms' ``targets`` are then not used; a background drug still acts
    directly.
    """

    enabled: bool = Field(False, description="Simulate the mediator layer.")
    persistence: float = Field(
        0.9, ge=0.0, lt=1.0, description="Lag-1 autocorrelation of each mediator (A)."
    )
    loadings: dict[str, dict[str, Loading]] = Field(
        default_factory=lambda: {
            # NRS points of symptom per mediator SD (A): sympathetic dominance
            # disturbs sleep and adds fatigue; cortisol and inflammation tire;
            # melatonin helps sleep; central sensitisation amplifies pain.
            "fatigue": {"autonomic": 0.3, "cortisol": 0.2, "inflammation": 0.4},
            "pain": {"pain_sensitivity": 0.6, "inflammation": 0.2},
            "sleep": {"autonomic": 0.4, "cortisol": 0.2, "melatonin": -0.5},
        },
        description="symptom -> mediator -> NRS points per mediator SD.",
    )
    treatment_response: dict[str, Loading] = Field(
        default_factory=lambda: {
            # mediator SD moved per SD of treatment effect (A): parasympathetic
            # tone up, cortisol down, melatonin up, pain networks dampened.
            # Scaled so that, with the loadings above, one SD of treatment
            # signal moves fatigue, pain and sleep by 0.6-1.4 of their
            # reference SDs, comparable to the direct route.
            "autonomic": -2.0,
            "cortisol": -1.5,
            "melatonin": 1.5,
            "inflammation": -1.0,
            "pain_sensitivity": -3.0,
        },
        description="mediator -> SD moved per SD of treatment effect.",
    )

    @field_validator("loadings")
    @classmethod
    def _known_loadings(cls, value: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        for symptom, row in value.items():
            if symptom not in SYMPTOMS:
                raise ValueError(f"unknown symptom {symptom!r}; allowed: {', '.join(SYMPTOMS)}")
            for mediator in row:
                if mediator not in MEDIATORS:
                    raise ValueError(
                        f"unknown mediator {mediator!r} for {symptom}; allowed: "
                        + ", ".join(MEDIATORS)
                    )
        return value

    @field_validator("treatment_response")
    @classmethod
    def _known_mediators(cls, value: dict[str, float]) -> dict[str, float]:
        for mediator in value:
            if mediator not in MEDIATORS:
                raise ValueError(f"unknown mediator {mediator!r}; allowed: {', '.join(MEDIATORS)}")
        return value


class MSTypes(Strict):
    """Shares of MS types among people screened (Learmonth 2013; Rammohan 2002)."""

    rrms: Probability = 0.75
    spms: Probability = 0.15
    ppms: Probability = 0.10

    @model_validator(mode="after")
    def _sum_to_one(self) -> MSTypes:
        total = self.rrms + self.spms + self.ppms
        if not math.isclose(total, 1.0, abs_tol=1e-9):
            raise ValueError(f"shares of rrms, spms and ppms must sum to 1; they sum to {total:g}")
        return self


class RelapseProcess(Strict):
    """Relapses: a Poisson process per patient with gamma frailty."""

    annual_rate: dict[str, NonNegative] = Field(
        default_factory=lambda: {
            "rrms": 0.40,  # placebo arm (Kappos 2010, FREEDOMS)
            "spms": 0.15,  # (A) fewer relapses in the progressive phase
            "ppms": 0.03,  # (A) rare by definition
        },
        description="Annualized relapse rate without therapy, by MS type.",
    )
    therapy_rate_ratio: Probability = Field(
        0.6, description="Rate ratio on disease-modifying therapy: 0.16-0.33 vs 0.40 (H)."
    )
    frailty_shape: Positive = Field(
        2.0, description="Gamma shape of relapse propensity between patients (A)."
    )
    recovery_half_life_days: Positive = Field(
        30.0,
        description="Half-life of recovery: 55% back by 3 months (Eur Neurol 2008) (M).",
    )
    residual_probability: Probability = Field(
        0.42, description="Chance a relapse leaves a residual deficit (Lublin 2003)."
    )
    residual_fraction: Probability = Field(
        0.3, description="Share of the jump that stays when residual (A)."
    )

    @field_validator("annual_rate")
    @classmethod
    def _all_types(cls, value: dict[str, float]) -> dict[str, float]:
        missing = {"rrms", "spms", "ppms"} - set(value)
        extra = set(value) - {"rrms", "spms", "ppms"}
        if missing or extra:
            raise ValueError(
                "annual_rate needs exactly rrms, spms and ppms; "
                f"given {', '.join(sorted(value)) or 'none'}"
            )
        return value


class Screening(Strict):
    """Eligibility assessed on a noisy screening measurement before baseline."""

    enabled: bool = Field(True, description="Apply the eligibility rules below.")
    symptom: str = Field("fatigue", description="Symptom scored at screening.")
    min_score: Score | None = Field(
        None,
        description="Lowest eligible screening score (instrument points); default: the "
        "instrument's screening cut-off (FSS >= 4).",
    )
    max_score: Score | None = Field(None, description="Highest eligible score, if any.")
    max_edss: float = Field(6.5, ge=0.0, le=10.0, description="Entry EDSS <= 6-7 (Charité).")
    days_before_baseline: int = Field(
        28, ge=1, le=180, description="Days from screening to baseline (A: 4-week screening)."
    )
    max_candidates: int = Field(
        16, ge=1, le=200, description="Candidates screened per enrolment slot at most."
    )


class Population(Strict):
    """Who is screened: MS type, disability, therapy, response and expectation."""

    ms_types: MSTypes = MSTypes()
    edss_median: float = Field(3.0, ge=0.0, le=10.0, description="Learmonth 2013 (M).")
    edss_sd: NonNegative = Field(1.5, description="SD of EDSS in symptom trials (A).")
    on_therapy: Probability = Field(0.6, description="Share on disease-modifying therapy (A).")
    responder_fraction: Probability = Field(
        0.6, description="Share who respond to needling at all (A)."
    )
    response_sd: NonNegative = Field(
        0.3, description="Log-SD of responders' continuous response modifier (A)."
    )
    expectation_sd: NonNegative = Field(
        0.3, description="Log-SD of expectation (mean 1), scales the non-specific effect (A)."
    )
    screening: Screening = Screening()


class AdverseEvent(Strict):
    """One adverse-event type of an intervention."""

    per_session: Probability = Field(description="Probability per attended session.")
    dropout: Probability = Field(description="Chance the event makes the patient drop out.")


class Drug(Strict):
    """A background drug given in an arm from day 1 (for example amantadine)."""

    name: str = "amantadine"
    effect: Effect = Field(0.3, description="Effect once at full strength (units of the arm).")
    onset_days: Positive = Field(14.0, description="Time constant of onset (days) (A).")


class Arm(Strict):
    """One arm: an intervention, its schedule and its effects.

    Effects are improvements (positive = less severe), in ``effect_units``:
    ``sd`` means multiples of each targeted symptom's ``reference_sd``; ``points``
    means points of the targeted symptoms' instrument (all targets must then share
    one instrument). :meth:`Scenario.effects_in_sd` resolves them at load time.
    Defaults for each field come from the intervention kind
    (:mod:`mssim.config.intervention_kinds`).
    """

    intervention: str
    sham_type: Literal["penetrating", "non_penetrating"] = "penetrating"
    specific_effect: Effect = Field(0.0, description="Effect of verum needling itself.")
    specific_fraction: Probability = Field(
        0.0,
        description="Share of the acupuncture arm's specific effect a penetrating sham carries.",
    )
    nonspecific_effect: Effect = Field(
        0.0, description="Effect of expectation and ritual, scaled by expectation."
    )
    effect_units: Literal["sd", "points"] = "sd"
    targets: dict[str, NonNegative] = Field(
        default_factory=lambda: {"fatigue": 1.0, "pain": 1.0, "sleep": 1.0},
        description="Weight of the effect on each symptom (1 = full effect) (A).",
    )
    sessions_per_week: float = Field(0.0, ge=0.0, le=7.0)
    weeks: int = Field(0, ge=0, le=104, description="Weeks of sessions.")
    start_day: int = Field(
        1, ge=1, le=728, description="Day of the first session (day 0 = baseline)."
    )
    gain_per_session: Probability = Field(
        0.15, description="Share of the remaining effect gained per session (A)."
    )
    half_life_days: Positive = Field(
        1560.0,
        description="Half-life after sessions stop: 15% lost by 12 months (Vickers 2018) (M).",
    )
    adherence: Probability = Field(0.9, description="Chance a session is attended (A).")
    guess_verum: Probability = Field(0.5, description="Chance a patient guesses 'verum'.")
    guess_dont_know: Probability = Field(0.2, description="Chance of 'don't know' (A).")
    practitioners: int = Field(4, ge=1, le=1000, description="Practitioners treating this arm.")
    practitioner_sd: NonNegative = Field(
        0.05, description="SD of practitioners' own effect: real but very small (Vickers 2021)."
    )
    adverse_events: dict[str, AdverseEvent] = Field(default_factory=dict)
    drug: Drug | None = None

    @field_validator("intervention")
    @classmethod
    def _known_intervention(cls, value: str) -> str:
        return INTERVENTIONS.check(value)

    @model_validator(mode="before")
    @classmethod
    def _fill_intervention_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict) or data.get("intervention") not in INTERVENTIONS:
            return data
        kind = INTERVENTIONS.get(data["intervention"])
        filled = {**kind.defaults, **data}
        given_ae = data.get("adverse_events", {})
        if isinstance(given_ae, dict):
            allowed = kind.adverse_events
            for name in given_ae:
                if name not in allowed:
                    raise ValueError(
                        f"adverse event {name!r} is not modelled for {kind.name}; allowed: "
                        + (", ".join(allowed) or "none")
                    )
            filled["adverse_events"] = {
                name: _merge_defaults(allowed[name], given_ae.get(name, {})) for name in allowed
            }
        return filled

    @model_validator(mode="after")
    def _consistent(self) -> Arm:
        if self.guess_verum + self.guess_dont_know > 1.0:
            raise ValueError("guess_verum + guess_dont_know must be at most 1")
        kind = self.kind
        if not kind.needled:
            if self.sessions_per_week or self.weeks:
                raise ValueError(f"{self.intervention} has no sessions")
            if self.specific_effect or self.nonspecific_effect:
                raise ValueError(f"{self.intervention} has no needling effects")
        if not kind.verum and self.specific_effect:
            raise ValueError(
                f"{self.intervention} has no specific effect of its own"
                + ("; use specific_fraction" if kind.sham else "")
            )
        if self.specific_fraction and not (kind.sham and self.sham_type == "penetrating"):
            raise ValueError("only a penetrating sham can carry a specific_fraction")
        for name in self.targets:
            if name not in SYMPTOMS:
                raise ValueError(f"unknown target symptom {name!r}; allowed: {', '.join(SYMPTOMS)}")
        return self

    def n_sessions(self) -> int:
        """Scheduled sessions over the course (sessions)."""
        return round(self.sessions_per_week * self.weeks)

    @property
    def kind(self) -> Any:
        """The :class:`~mssim.config.intervention_kinds.InterventionKind` of this arm."""
        return INTERVENTIONS.get(self.intervention)


def _default_arms() -> dict[str, Arm]:
    return {
        "acupuncture": Arm(intervention="acupuncture"),
        "sham": Arm(intervention="sham", sham_type="penetrating"),
    }


class Dropout(Strict):
    """Dropout over the trial (Rog 2005; Möller 2011; Rammohan 2002; Collin 2010)."""

    rate: Probability = Field(
        0.10, description="Share dropping out by the last visit under MCAR (about 10%/12 wk)."
    )
    mechanism: Literal["mcar", "mar", "mnar"] = "mcar"
    strength: NonNegative = Field(
        1.0,
        description="Log hazard ratio per reference SD of worsening (mar: observed; mnar: latent).",
    )


class Blinding(Strict):
    """How a patient's guess of their arm changes the non-specific effect."""

    expectation_gain: NonNegative = Field(
        0.3,
        description="Relative rise (fall) of the non-specific effect on guessing verum (sham) (A).",
    )


class MultiplicityGraph(Strict):
    """A Bonferroni-based graphical multiple test (Bretz, Maurer, Brannath, Posch 2009).

    Hypotheses are the (endpoint, contrast) pairs, primary endpoint first, contrasts in
    order within an endpoint.
    """

    weights: list[Annotated[float, Field(ge=0.0, le=1.0)]] = Field(
        description="Initial share of alpha of each hypothesis (sum at most 1)."
    )
    transitions: list[list[Annotated[float, Field(ge=0.0, le=1.0)]]] = Field(
        description="Share of a rejected hypothesis's alpha passed to each other one "
        "(rows sum to at most 1, zero diagonal)."
    )

    @model_validator(mode="after")
    def _a_graph(self) -> MultiplicityGraph:
        k = len(self.weights)
        if sum(self.weights) > 1 + 1e-12:
            raise ValueError(f"weights sum to {sum(self.weights)}, more than 1")
        if len(self.transitions) != k or any(len(row) != k for row in self.transitions):
            raise ValueError(f"transitions must be a {k} x {k} matrix, one row per weight")
        for i, row in enumerate(self.transitions):
            if row[i] != 0 or sum(row) > 1 + 1e-12:
                raise ValueError(f"row {i} of transitions needs a 0 diagonal and sum <= 1")
        return self


class Trial(Strict):
    """The trial design, endpoints and analysis."""

    design: str = Field("parallel", description="A registered design (parallel, crossover).")
    n_per_arm: int = Field(
        50,
        ge=2,
        le=100_000,
        description="Patients per arm; with unequal allocation, in each smallest arm.",
    )
    allocation: dict[str, Annotated[int, Field(ge=1, le=10)]] = Field(
        default_factory=dict,
        description="Allocation ratio per arm (default 1 each); the smallest ratio is 1.",
    )
    randomization: Literal["simple", "blocks", "stratified"] = "blocks"
    block_size: int = Field(4, ge=1, le=100, description="Block length (patients).")
    stratify_by: Literal["ms_type", "severity"] = "ms_type"
    weeks: int = Field(12, ge=1, le=104, description="Week of the primary visit.")
    extra_visit_weeks: list[Weeks] = Field(
        default_factory=lambda: [6],
        description="Visits before the primary one (weeks); data only, no interim analysis.",
    )
    follow_up_weeks: list[Weeks] = Field(default_factory=list)
    washout_weeks: int = Field(4, ge=0, le=52, description="Crossover washout (weeks).")
    period_effect: Loading = Field(
        0.0, description="Crossover period-2 shift of every symptom (NRS points)."
    )
    primary_endpoint: str = Field("fatigue", description="Symptom scored for the primary test.")
    endpoint: str = Field("change", description="A registered endpoint (change, mean_post).")
    secondary_endpoints: list[str] = Field(default_factory=list)
    analysis: str = Field("ancova", description="A registered analysis (see mssim schema).")
    alpha: float = Field(0.05, gt=0.0, le=0.5, description="Two-sided significance level.")
    missing_data: Literal["complete_case", "locf", "bocf"] = "complete_case"
    estimand: Literal["treatment_policy", "hypothetical", "composite"] = "treatment_policy"
    multiplicity: Literal[
        "fixed_sequence", "holm", "hochberg", "bonferroni", "graphical", "none"
    ] = Field(
        "fixed_sequence",
        description="Strategy over the (endpoint, contrast) family, primary first: "
        "fixed_sequence (primary at full alpha, then each secondary gated by the ones "
        "before), holm, hochberg, bonferroni, graphical (trial.multiplicity_graph), none.",
    )
    multiplicity_graph: MultiplicityGraph | None = Field(
        None, description="Graph of the graphical strategy (Bretz et al. 2009)."
    )
    contrasts: list[str] = Field(
        default_factory=list, description='"arm - comparator"; default: each arm vs the last.'
    )

    @field_validator("design")
    @classmethod
    def _known_design(cls, value: str) -> str:
        return DESIGNS.check(value)

    @field_validator("endpoint")
    @classmethod
    def _known_endpoint(cls, value: str) -> str:
        return ENDPOINTS.check(value)

    @field_validator("analysis")
    @classmethod
    def _known_analysis(cls, value: str) -> str:
        return ANALYSES.check(value)

    def visit_weeks(self) -> list[int]:
        """Visit weeks, baseline (0) first (the design decides)."""
        return DESIGNS.get(self.design).visit_weeks(self)


class PowerSettings(Strict):
    """Monte Carlo settings for ``mssim run``."""

    n_per_arm: list[Annotated[int, Field(ge=2, le=100_000)]] = Field(
        default_factory=lambda: [20, 40, 60, 80, 100, 150], min_length=1
    )
    replicates: int = Field(1000, ge=1, le=10_000_000)
    target: float = Field(0.8, gt=0.0, lt=1.0, description="Target power.")
    mcse_target: float = Field(
        0.01, ge=0.001, le=0.1, description="Largest power MCSE near the sample-size answer."
    )
    chunk_size: int = Field(100, ge=1, le=100_000, description="Replicates per chunk.")


class Scenario(Strict):
    """A complete, validated scenario. Build it with :func:`mssim.config.load.load_scenario`."""

    name: str = "default"
    description: str = "Acupuncture vs penetrating sham for MS fatigue (FSS), 12 weeks."
    seed: int = Field(20261123, ge=0, description="Root seed of the run.")
    symptoms: Symptoms = Symptoms()
    coupling: Coupling = Coupling()
    mechanism: Mechanism = Mechanism()
    population: Population = Population()
    relapses: RelapseProcess = RelapseProcess()
    arms: dict[str, Arm] = Field(default_factory=_default_arms)
    dropout: Dropout = Dropout()
    blinding: Blinding = Blinding()
    trial: Trial = Trial()
    power: PowerSettings = PowerSettings()

    @model_validator(mode="before")
    @classmethod
    def _screening_cutoff_from_instrument(cls, data: Any) -> Any:
        """An unset screening cut-off is the screening symptom's instrument's default."""
        if not isinstance(data, dict):
            return data
        population = data.get("population", {})
        screening = population.get("screening", {}) if isinstance(population, dict) else None
        if not isinstance(screening, dict) or screening.get("min_score") is not None:
            return data
        symptom = screening.get("symptom", Screening.model_fields["symptom"].default)
        if symptom not in SYMPTOMS:
            return data  # refused by the cross-field checks
        given = data.get("symptoms", {})
        table = given.get(symptom, {}) if isinstance(given, dict) else {}
        instrument = table.get("instrument") if isinstance(table, dict) else None
        if instrument is None:
            instrument = SYMPTOM_DEFAULTS[symptom]["instrument"]
        if instrument not in INSTRUMENTS:
            return data  # refused by the symptom's own validation
        cutoff = INSTRUMENTS.get(instrument).screening_cutoff
        return {
            **data,
            "population": {**population, "screening": {**screening, "min_score": cutoff}},
        }

    @model_validator(mode="after")
    def _cross_checks(self) -> Scenario:
        _check_cross_fields(self)
        return self

    # ---- derived views used by the engine and the report -----------------
    def arm_names(self) -> list[str]:
        """Arm names in file order."""
        return list(self.arms)

    def endpoints(self) -> list[str]:
        """Primary endpoint first, then secondary endpoints."""
        return [self.trial.primary_endpoint, *self.trial.secondary_endpoints]

    def allocation_ratio(self) -> dict[str, int]:
        """Allocation ratio per arm (1 where not given), reduced by the common divisor."""
        given = {name: self.trial.allocation.get(name, 1) for name in self.arms}
        common = math.gcd(*given.values())
        return {name: ratio // common for name, ratio in given.items()}

    def contrasts(self) -> list[tuple[str, str]]:
        """(arm, comparator) pairs, in the order tested."""
        if self.trial.contrasts:
            return [tuple(part.strip() for part in c.split(" - ")) for c in self.trial.contrasts]
        *others, last = self.arm_names()
        return [(name, last) for name in others]

    def effects_in_sd(self, arm: str, symptom: str) -> tuple[float, float]:
        """(specific, non-specific) full effect of an arm, in SD of a symptom.

        The arm's target weight for the symptom is not applied. A penetrating
        sham's specific effect is its ``specific_fraction`` of the arm it mimics.
        Effects given in points are points of the symptom's instrument, divided by
        its reference SD; in SD they are the same for every symptom.
        """
        a = self.arms[arm]
        sd = getattr(self.symptoms, symptom).reference_sd

        def in_sd(value: float, units: str) -> float:
            return value if units == "sd" else value / sd

        spec = in_sd(a.specific_effect, a.effect_units)
        if a.kind.sham and a.specific_fraction:
            verum = self.mimicked_arm(arm)
            spec = a.specific_fraction * in_sd(verum.specific_effect, verum.effect_units)
        return spec, in_sd(a.nonspecific_effect, a.effect_units)

    def effect_points(self, arm: str, symptom: str) -> tuple[float, float]:
        """(specific, non-specific) effect of an arm on a symptom, in instrument points.

        The arm's target weight for the symptom is applied.
        """
        weight = self.arms[arm].targets.get(symptom, 0.0)
        sd = getattr(self.symptoms, symptom).reference_sd
        spec, nonspec = self.effects_in_sd(arm, symptom)
        return weight * spec * sd, weight * nonspec * sd

    def drug_in_sd(self, arm: str, symptom: str) -> float:
        """Full effect of an arm's background drug in SD of a symptom (0 without a drug)."""
        a = self.arms[arm]
        if a.drug is None:
            return 0.0
        sd = getattr(self.symptoms, symptom).reference_sd
        return a.drug.effect if a.effect_units == "sd" else a.drug.effect / sd

    def mimicked_arm(self, arm: str) -> Arm:
        """The arm whose specific effect a sham arm carries a share of."""
        mimics = self.arms[arm].kind.mimics
        return next(a for a in self.arms.values() if a.intervention == mimics)

    def horizon_days(self) -> int:
        """Last simulated day (the last visit)."""
        return 7 * self.trial.visit_weeks()[-1]


def _check_cross_fields(s: Scenario) -> None:
    """Checks that span several fields; raise ValueError with a dotted field first."""
    active = s.symptoms.active()

    def fail(field: str, message: str) -> None:
        raise ValueError(f"@{field}: {message}")

    for i, name in enumerate(s.endpoints()):
        field = "trial.primary_endpoint" if i == 0 else f"trial.secondary_endpoints.{i - 1}"
        if name not in active:
            fail(field, f"{name!r} is not a simulated symptom; allowed: {', '.join(active)}")
    screening = s.population.screening
    if screening.symptom not in active:
        fail(
            "population.screening.symptom",
            f"{screening.symptom!r} is not a simulated symptom; allowed: {', '.join(active)}",
        )
    scale = getattr(s.symptoms, screening.symptom).scale
    for name in ("min_score", "max_score"):
        value = getattr(screening, name)
        problem = None if value is None else scale.implausible("screening_cutoff", value)
        if problem:
            fail(f"population.screening.{name}", problem)
    design = DESIGNS.get(s.trial.design)
    low, high = design.n_arms
    if not low <= len(s.arms) <= high:
        allowed = str(low) if low == high else f"{low} to {high}"
        fail("arms", f"a {design.name} design has {allowed} arms; given {len(s.arms)}")
    for field, message in design.check(s):
        fail(field, message)
    for name in s.trial.allocation:
        if name not in s.arms:
            fail(
                f"trial.allocation.{name}",
                f"arm {name!r} is not defined; defined arms: {', '.join(s.arms)}",
            )
    if s.trial.allocation and min(s.allocation_ratio().values()) != 1:
        fail(
            "trial.allocation",
            "n_per_arm counts the patients of the smallest arm, so the smallest ratio "
            f"must be 1 (after dividing by a common factor); given {dict(s.allocation_ratio())}",
        )
    for i, text in enumerate(s.trial.contrasts):
        parts = [p.strip() for p in text.split(" - ")]
        if len(parts) != 2:
            fail(f"trial.contrasts.{i}", f'write "arm - comparator"; given {text!r}')
        for part in parts:
            if part not in s.arms:
                fail(
                    f"trial.contrasts.{i}",
                    f"arm {part!r} is not defined; defined arms: {', '.join(s.arms)}",
                )
    for name, arm in s.arms.items():
        if arm.specific_fraction and not any(
            a.intervention == arm.kind.mimics for a in s.arms.values()
        ):
            fail(
                f"arms.{name}.specific_fraction",
                f"a sham's specific_fraction refers to a {arm.kind.mimics} arm, "
                "and none is defined",
            )
        if arm.effect_units == "points" and s.mechanism.enabled:
            fail(
                f"arms.{name}.effect_units",
                "the mechanism layer moves mediators by effects in SD: use effect_units = 'sd'",
            )
        if arm.effect_units == "points":
            scales = {
                getattr(s.symptoms, sym).instrument
                for sym, weight in arm.targets.items()
                if weight and sym in active
            }
            if len(scales) > 1:
                fail(
                    f"arms.{name}.effect_units",
                    "effects in points need targets scored on one instrument; the targets "
                    f"use {', '.join(sorted(scales))}: use effect_units = 'sd'",
                )
    analysis = ANALYSES.get(s.trial.analysis)
    problem = analysis.misfit(s.trial.design, s.trial.estimand)
    if problem:
        fail("trial.analysis", problem)
    for i, week in enumerate(s.trial.follow_up_weeks):
        if week <= s.trial.weeks:
            fail(f"trial.follow_up_weeks.{i}", f"must be after trial.weeks={s.trial.weeks}")
    family = len(s.endpoints()) * len(s.contrasts())
    graph = s.trial.multiplicity_graph
    if s.trial.multiplicity == "graphical" and graph is None:
        fail("trial.multiplicity_graph", "the graphical strategy needs weights and transitions")
    if graph is not None and len(graph.weights) != family:
        fail(
            "trial.multiplicity_graph.weights",
            f"one weight per (endpoint, contrast) hypothesis: {family}; given {len(graph.weights)}",
        )
    unit = sum(s.allocation_ratio().values())
    if s.trial.randomization != "simple" and s.trial.block_size % unit:
        fail(
            "trial.block_size",
            f"must be a multiple of the allocation total {unit}; given {s.trial.block_size}",
        )
    _check_contradictions(s, fail)


def _check_contradictions(s: Scenario, fail: Any) -> None:
    """Inputs that validate one by one but cannot all hold: each says what to change."""
    for name in s.arms:
        if not name.strip() or name != name.strip() or " - " in name or "." in name:
            fail(
                f"arms.{name}",
                f"arm name {name!r} cannot name a contrast; use a non-empty name without "
                "surrounding spaces, ' - ' or '.'",
            )
    endpoints = s.endpoints()
    for i, name in enumerate(endpoints[1:]):
        if name in endpoints[: i + 1]:
            fail(
                f"trial.secondary_endpoints.{i}",
                f"{name!r} is already an endpoint; list each endpoint once",
            )
    seen: set[tuple[str, ...]] = set()
    for i, text in enumerate(s.trial.contrasts):
        pair = tuple(part.strip() for part in text.split(" - "))
        if len(set(pair)) == 1:
            fail(f"trial.contrasts.{i}", f"{text!r} compares an arm with itself; use two arms")
        if pair in seen:
            fail(f"trial.contrasts.{i}", f"{text!r} is listed twice; list each contrast once")
        seen.add(pair)
    primary_day = 7 * s.trial.weeks
    for name, arm in s.arms.items():
        if arm.kind.needled and arm.n_sessions() == 0:
            fail(
                f"arms.{name}.weeks",
                f"a {arm.intervention} arm needs sessions; give weeks >= 1 and "
                f"sessions_per_week > 0 (given weeks={arm.weeks}, "
                f"sessions_per_week={arm.sessions_per_week:g})",
            )
        if arm.n_sessions() and arm.start_day > primary_day:
            fail(
                f"arms.{name}.start_day",
                f"day {arm.start_day} is after the primary visit (day {primary_day} = "
                f"7 x trial.weeks), so no session would count; give start_day <= {primary_day}",
            )
    screening = s.population.screening
    low, high = screening.min_score, screening.max_score
    if screening.enabled and low is not None and high is not None and high < low:
        fail(
            "population.screening.max_score",
            f"{high:g} is below min_score {low:g}, so nobody is eligible; "
            "give max_score >= min_score",
        )
