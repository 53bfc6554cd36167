"""The scenario: every input of a simulated trial, validated and frozen.

Defaults live here, one line each, with the unit and the source (author year)
from the project's parameter dossier, or marked ``(A)`` where the number is our
assumption. A scenario file (TOML) only needs what differs from these defaults.

Symptom scores: every symptom has a latent daily severity on a 0-10 numeric
rating scale (NRS; higher is worse). Instruments map a recall-window mean of the
daily severity onto their own range (see ``INSTRUMENTS``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegative = Annotated[float, Field(ge=0.0)]
Positive = Annotated[float, Field(gt=0.0)]

SYMPTOMS = ("fatigue", "pain", "sleep", "spasticity", "bladder", "cognition")
MEDIATORS = ("autonomic", "cortisol", "melatonin", "inflammation", "pain_sensitivity")
INTERVENTIONS = ("acupuncture", "sham", "bee_venom", "usual_care", "waitlist")
NEEDLED = ("acupuncture", "sham", "bee_venom")
ANALYSES = (
    "welch_change",
    "ancova",
    "ancova_cluster",
    "responder",
    "mann_whitney",
    "crossover",
    "mmrm",
)


@dataclass(frozen=True)
class Instrument:
    """A published instrument: its range, recall window and scoring step.

    Attributes:
        label: Name shown in tables and figures.
        low: Lowest possible score (instrument points).
        high: Highest possible score (instrument points).
        recall_days: Days averaged by one administration.
        step: Smallest difference between two possible scores (points).
    """

    label: str
    low: float
    high: float
    recall_days: int
    step: float

    def points_per_nrs(self) -> float:
        """Instrument points per point of latent 0-10 severity."""
        return (self.high - self.low) / 10.0


INSTRUMENTS: dict[str, Instrument] = {
    "fss": Instrument("FSS (1-7)", 1.0, 7.0, 7, 1.0 / 9.0),  # mean of 9 items, 1-week recall
    "mfis": Instrument("MFIS (0-84)", 0.0, 84.0, 28, 1.0),  # 21 items 0-4, 4-week recall
    "nrs": Instrument("NRS (0-10)", 0.0, 10.0, 7, 1.0),  # average over the past week
    "psqi": Instrument("PSQI (0-21)", 0.0, 21.0, 30, 1.0),  # 1-month recall
}


class Strict(BaseModel):
    """Closed, frozen parameter set: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Symptom(Strict):
    """One symptom's latent daily process and its instrument.

    The latent severity of patient i on day t is
    ``level_i + drift_i(t) + fluctuation_i(t) + relapse_i(t) - treatment_i(t)``
    (0-10 NRS units), clipped to 0-10 when it is felt and scored.
    """

    enabled: bool = Field(True, description="Simulate this symptom.")
    instrument: Literal["fss", "mfis", "nrs", "psqi"] = Field(
        "nrs", description="Instrument that scores the symptom at visits."
    )
    prevalence: Probability = Field(1.0, description="Share of patients who have the symptom.")
    mean: float = Field(5.0, description="Population mean of personal levels (0-10 NRS).")
    between_sd: NonNegative = Field(2.0, description="SD of personal levels (NRS).")
    day_sd: NonNegative = Field(1.5, description="SD of day-to-day fluctuation (NRS).")
    autocorrelation: float = Field(
        0.6, ge=0.0, lt=1.0, description="Lag-1 autocorrelation of daily fluctuation."
    )
    drift_sd: NonNegative = Field(0.5, description="SD of slow drift of the level (NRS).")
    drift_days: Positive = Field(60.0, description="Time constant of slow drift (days).")
    measurement_sd: NonNegative = Field(
        0.25, description="Instrument measurement error SD (instrument points)."
    )
    diary_sd: NonNegative = Field(0.5, description="Daily diary error SD (NRS points).")
    relapse_jump: NonNegative = Field(
        1.5, description="Rise in severity at a relapse's onset (NRS points)."
    )
    reference_sd: Positive = Field(
        2.3, description="Between-patient SD of the instrument score: converts SD effects."
    )
    mcid: Positive = Field(2.0, description="Minimal important improvement (instrument points).")

    @property
    def scale(self) -> Instrument:
        """The instrument this symptom is scored on."""
        return INSTRUMENTS[self.instrument]


# Per-symptom defaults. Levels are chosen so that the untreated cohort reproduces
# the dossier's figures (calibration test: tests/test_calibration.py).
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
        "measurement_sd": 0.25,  # FSS points (A); part of SEM 0.7 (Learmonth 2013)
        "diary_sd": 0.5,  # NRS points (A)
        "relapse_jump": 2.0,  # NRS points; not published (A)
        "reference_sd": 1.2,  # FSS SD at trial entry 1.0-1.4 (Rammohan 2002; Learmonth 2013)
        "mcid": 0.5,  # FSS MCID 0.45-0.88 (Rooney 2019)
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
        "measurement_sd": 0.3,  # NRS points (A)
        "diary_sd": 0.5,  # (A)
        "relapse_jump": 1.0,  # (A)
        "reference_sd": 2.3,  # Ehde 2003
        "mcid": 2.0,  # 2 points or 30% (Farrar 2001)
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
        "measurement_sd": 1.0,  # PSQI points (A); test-retest r = 0.87 (Backhaus 2002)
        "diary_sd": 0.5,  # (A)
        "relapse_jump": 1.0,  # (A)
        "reference_sd": 2.8,  # Sarraf 2014
        "mcid": 3.0,  # (A) no MS-specific PSQI MCID found
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
        "measurement_sd": 0.3,  # (A)
        "diary_sd": 0.5,  # (A)
        "relapse_jump": 1.5,  # (A)
        "reference_sd": 1.8,  # NRS 6.1 +/- 1.8 in those treated (Flachenecker 2014)
        "mcid": 2.0,  # (A) by analogy with pain NRS (Farrar 2001)
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
        "measurement_sd": 0.3,  # (A)
        "diary_sd": 0.5,  # (A)
        "relapse_jump": 1.0,  # (A)
        "reference_sd": 2.0,  # (A)
        "mcid": 2.0,  # (A)
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
        "measurement_sd": 0.3,  # (A)
        "diary_sd": 0.5,  # (A)
        "relapse_jump": 1.0,  # (A)
        "reference_sd": 2.0,  # (A)
        "mcid": 1.0,  # (A)
    },
}


def _merge_defaults(defaults: dict[str, Any], given: Any) -> Any:
    """Lay a user's table over a defaults table (user wins); leave non-tables to pydantic."""
    if isinstance(given, Symptom | BaseModel):
        return given
    if not isinstance(given, dict):
        return given
    return {**defaults, **given}


class Symptoms(Strict):
    """The symptoms in the model. Fatigue, pain and sleep are always present."""

    fatigue: Symptom = Symptom(**SYMPTOM_DEFAULTS["fatigue"])
    pain: Symptom = Symptom(**SYMPTOM_DEFAULTS["pain"])
    sleep: Symptom = Symptom(**SYMPTOM_DEFAULTS["sleep"])
    spasticity: Symptom = Symptom(**SYMPTOM_DEFAULTS["spasticity"])
    bladder: Symptom = Symptom(**SYMPTOM_DEFAULTS["bladder"])
    cognition: Symptom = Symptom(**SYMPTOM_DEFAULTS["cognition"])

    @model_validator(mode="before")
    @classmethod
    def _fill_per_symptom_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        return {
            name: _merge_defaults(SYMPTOM_DEFAULTS[name], value) if name in SYMPTOMS else value
            for name, value in data.items()
        }

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
    loadings: dict[str, dict[str, float]] = Field(
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
    treatment_response: dict[str, float] = Field(
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


class Relapses(Strict):
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
    min_score: float = Field(
        4.0, description="Lowest eligible screening score (instrument points); FSS >= 4."
    )
    max_score: float | None = Field(None, description="Highest eligible score, if any.")
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
    effect: float = Field(0.3, description="Effect once at full strength (units of the arm).")
    onset_days: Positive = Field(14.0, description="Time constant of onset (days) (A).")


_AE_BY_INTERVENTION: dict[str, dict[str, dict[str, float]]] = {
    # Acupuncture: any AE in 9.3% of patients over a course of about 10
    # sessions -> ~1% per session (Bäumler 2021, M); serious 1 per 10,000
    # patients (Bäumler 2021); 2.2% need treatment (Witt 2009).
    "acupuncture": {
        "minor": {"per_session": 0.01, "dropout": 0.05},
        "serious": {"per_session": 1e-5, "dropout": 1.0},
    },
    "sham": {
        "minor": {"per_session": 0.006, "dropout": 0.05},  # (A) nocebo (Mult Scler 2010)
        "serious": {"per_session": 0.0, "dropout": 1.0},
    },
    # Bee venom: any AE median 29% of patients (Park 2015); anaphylaxis 0.045%
    # of patients (Toxins 2022); per session over ~30 sessions (M).
    "bee_venom": {
        "local": {"per_session": 0.01, "dropout": 0.1},
        "systemic": {"per_session": 0.001, "dropout": 0.5},
        "anaphylaxis": {"per_session": 1.5e-5, "dropout": 1.0},
    },
    "usual_care": {},
    "waitlist": {},
}

INTERVENTION_DEFAULTS: dict[str, dict[str, Any]] = {
    "acupuncture": {
        "specific_effect": 0.2,  # SD vs sham (Vickers 2012; Vickers 2018)
        "nonspecific_effect": 0.45,  # SD, sham vs no acupuncture (Madsen 2009; Linde 2010)
        "sessions_per_week": 2.0,  # 24 sessions in 12 weeks (Charité, NCT01864707)
        "weeks": 12,
        "guess_verum": 0.6,  # (A) mild unblinding
    },
    "sham": {
        "nonspecific_effect": 0.45,  # Madsen 2009; Linde 2010
        "sessions_per_week": 2.0,
        "weeks": 12,
        "guess_verum": 0.45,  # (A)
    },
    "bee_venom": {
        "specific_effect": 0.0,  # no effect on fatigue (Wesselius 2005)
        "nonspecific_effect": 0.0,  # open comparison vs no stings (Wesselius 2005)
        "sessions_per_week": 3.0,  # (A) stings three times a week
        "weeks": 24,  # Wesselius 2005
        "guess_verum": 1.0,  # stings cannot be hidden
        "guess_dont_know": 0.0,
    },
    "usual_care": {"sessions_per_week": 0.0, "weeks": 0, "guess_verum": 0.0},
    "waitlist": {"sessions_per_week": 0.0, "weeks": 0, "guess_verum": 0.0},
}


class Arm(Strict):
    """One arm: an intervention, its schedule and its effects.

    Effects are improvements (positive = less severe), in ``effect_units``:
    ``sd`` means multiples of each symptom's ``reference_sd``; ``points`` means
    points of the primary endpoint's instrument.
    """

    intervention: Literal["acupuncture", "sham", "bee_venom", "usual_care", "waitlist"]
    sham_type: Literal["penetrating", "non_penetrating"] = "penetrating"
    specific_effect: float = Field(0.0, description="Effect of verum needling itself.")
    specific_fraction: Probability = Field(
        0.0,
        description="Share of the acupuncture arm's specific effect a penetrating sham carries.",
    )
    nonspecific_effect: float = Field(
        0.0, description="Effect of expectation and ritual, scaled by expectation."
    )
    effect_units: Literal["sd", "points"] = "sd"
    targets: dict[str, NonNegative] = Field(
        default_factory=lambda: {"fatigue": 1.0, "pain": 1.0, "sleep": 1.0},
        description="Weight of the effect on each symptom (1 = full effect) (A).",
    )
    sessions_per_week: float = Field(0.0, ge=0.0, le=7.0)
    weeks: int = Field(0, ge=0, le=104, description="Weeks of sessions.")
    start_day: int = Field(1, ge=1, description="Day of the first session (day 0 = baseline).")
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

    @model_validator(mode="before")
    @classmethod
    def _fill_intervention_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict) or data.get("intervention") not in INTERVENTIONS:
            return data
        kind = data["intervention"]
        filled = {**INTERVENTION_DEFAULTS[kind], **data}
        given_ae = data.get("adverse_events", {})
        if isinstance(given_ae, dict):
            allowed = _AE_BY_INTERVENTION[kind]
            for name in given_ae:
                if name not in allowed:
                    raise ValueError(
                        f"adverse event {name!r} is not modelled for {kind}; allowed: "
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
        if self.intervention in ("usual_care", "waitlist"):
            if self.sessions_per_week or self.weeks:
                raise ValueError(f"{self.intervention} has no sessions")
            if self.specific_effect or self.nonspecific_effect:
                raise ValueError(f"{self.intervention} has no needling effects")
        if self.intervention == "sham" and self.specific_effect:
            raise ValueError("a sham has no specific effect of its own; use specific_fraction")
        if self.specific_fraction and not (
            self.intervention == "sham" and self.sham_type == "penetrating"
        ):
            raise ValueError("only a penetrating sham can carry a specific_fraction")
        for name in self.targets:
            if name not in SYMPTOMS:
                raise ValueError(f"unknown target symptom {name!r}; allowed: {', '.join(SYMPTOMS)}")
        return self

    def n_sessions(self) -> int:
        """Scheduled sessions over the course (sessions)."""
        return round(self.sessions_per_week * self.weeks)


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


class Trial(Strict):
    """The trial design, endpoints and analysis."""

    design: Literal["parallel", "crossover"] = "parallel"
    n_per_arm: int = Field(50, ge=2, le=100_000, description="Patients per allocation unit.")
    allocation: dict[str, Annotated[int, Field(ge=1, le=10)]] = Field(
        default_factory=dict, description="Allocation ratio per arm (default 1 each)."
    )
    randomization: Literal["simple", "blocks", "stratified"] = "blocks"
    block_size: int = Field(4, ge=1, le=100, description="Block length (patients).")
    stratify_by: Literal["ms_type", "severity"] = "ms_type"
    weeks: int = Field(12, ge=1, le=104, description="Week of the primary visit.")
    interim_weeks: list[Annotated[int, Field(ge=1)]] = Field(default_factory=lambda: [6])
    follow_up_weeks: list[Annotated[int, Field(ge=1)]] = Field(default_factory=list)
    washout_weeks: int = Field(4, ge=0, le=52, description="Crossover washout (weeks).")
    period_effect: float = Field(
        0.0, description="Crossover period-2 shift of every symptom (NRS points)."
    )
    primary_endpoint: str = Field("fatigue", description="Symptom scored for the primary test.")
    endpoint: Literal["change", "mean_post"] = "change"
    secondary_endpoints: list[str] = Field(default_factory=list)
    analysis: str = Field("ancova", description=f"One of {', '.join(ANALYSES)}.")
    alpha: float = Field(0.05, gt=0.0, le=0.5, description="Two-sided significance level.")
    missing_data: Literal["complete_case", "locf", "bocf"] = "complete_case"
    estimand: Literal["treatment_policy", "hypothetical", "composite"] = "treatment_policy"
    multiplicity: Literal["none", "bonferroni", "holm", "fixed_sequence"] = "holm"
    contrasts: list[str] = Field(
        default_factory=list, description='"arm - comparator"; default: each arm vs the last.'
    )

    @field_validator("analysis")
    @classmethod
    def _known_analysis(cls, value: str) -> str:
        if value not in ANALYSES:
            raise ValueError(f"unknown analysis {value!r}; allowed: {', '.join(ANALYSES)}")
        return value

    def visit_weeks(self) -> list[int]:
        """Visit weeks, baseline (0) first."""
        if self.design == "crossover":
            return [0, self.weeks, 2 * self.weeks + self.washout_weeks]
        return sorted({0, *self.interim_weeks, self.weeks, *self.follow_up_weeks})


class PowerSettings(Strict):
    """Monte Carlo settings for ``mssim run``."""

    n_per_arm: list[Annotated[int, Field(ge=2, le=100_000)]] = Field(
        default_factory=lambda: [20, 40, 60, 80, 100, 150]
    )
    replicates: int = Field(1000, ge=1, le=10_000_000)
    target: float = Field(0.8, gt=0.0, lt=1.0, description="Target power.")
    mcse_target: float = Field(
        0.01, gt=0.0, le=0.1, description="Largest power MCSE near the sample-size answer."
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
    relapses: Relapses = Relapses()
    arms: dict[str, Arm] = Field(default_factory=_default_arms)
    dropout: Dropout = Dropout()
    blinding: Blinding = Blinding()
    trial: Trial = Trial()
    power: PowerSettings = PowerSettings()

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
        """Allocation ratio per arm (1 where not given)."""
        return {name: self.trial.allocation.get(name, 1) for name in self.arms}

    def contrasts(self) -> list[tuple[str, str]]:
        """(arm, comparator) pairs, in the order tested."""
        if self.trial.contrasts:
            return [tuple(part.strip() for part in c.split(" - ")) for c in self.trial.contrasts]
        *others, last = self.arm_names()
        return [(name, last) for name in others]

    def effect_points(self, arm: str, symptom: str) -> tuple[float, float]:
        """(specific, non-specific) effect of an arm on a symptom, in instrument points."""
        a = self.arms[arm]
        spec = a.specific_effect
        if a.intervention == "sham" and a.specific_fraction:
            spec = a.specific_fraction * self.verum_arm().specific_effect
            source_units = self.verum_arm().effect_units
        else:
            source_units = a.effect_units
        weight = a.targets.get(symptom, 0.0)
        sym = getattr(self.symptoms, symptom)
        primary = getattr(self.symptoms, self.trial.primary_endpoint)

        def to_points(value: float, units: str) -> float:
            if units == "sd":
                return value * sym.reference_sd
            # points of the primary instrument -> SD -> this symptom's points
            return value / primary.reference_sd * sym.reference_sd

        return (
            weight * to_points(spec, source_units),
            weight * to_points(a.nonspecific_effect, a.effect_units),
        )

    def verum_arm(self) -> Arm:
        """The acupuncture arm, whose specific effect a penetrating sham shares."""
        return next(a for a in self.arms.values() if a.intervention == "acupuncture")

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
    if s.population.screening.symptom not in active:
        fail(
            "population.screening.symptom",
            f"{s.population.screening.symptom!r} is not a simulated symptom; "
            f"allowed: {', '.join(active)}",
        )
    if len(s.arms) < 2:
        fail("arms", f"a trial needs at least 2 arms; given {len(s.arms)}")
    if s.trial.design == "parallel" and len(s.arms) > 3:
        fail("arms", f"a parallel design has 2 or 3 arms; given {len(s.arms)}")
    if s.trial.design == "crossover":
        if len(s.arms) != 2:
            fail("arms", f"a crossover (AB/BA) has exactly 2 arms; given {len(s.arms)}")
        if s.trial.follow_up_weeks:
            fail("trial.follow_up_weeks", "not used by a crossover; remove it")
    for name in s.trial.allocation:
        if name not in s.arms:
            fail(
                f"trial.allocation.{name}",
                f"arm {name!r} is not defined; defined arms: {', '.join(s.arms)}",
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
        if arm.drug is not None and s.trial.design != "parallel":
            fail(f"arms.{name}.drug", "a background drug is supported in parallel designs only")
    needs_verum = [n for n, a in s.arms.items() if a.specific_fraction]
    if needs_verum and not any(a.intervention == "acupuncture" for a in s.arms.values()):
        fail(
            f"arms.{needs_verum[0]}.specific_fraction",
            "a sham's specific_fraction refers to an acupuncture arm, and none is defined",
        )
    analysis = s.trial.analysis
    if (analysis == "crossover") != (s.trial.design == "crossover"):
        fail(
            "trial.analysis",
            f"{analysis!r} does not fit design {s.trial.design!r}; allowed: "
            + ("crossover" if s.trial.design == "crossover" else "any analysis but crossover"),
        )
    if s.trial.estimand == "composite" and analysis != "responder":
        fail("trial.estimand", "composite (relapse = failure) needs trial.analysis = 'responder'")
    if s.trial.design == "crossover" and s.trial.estimand != "treatment_policy":
        fail("trial.estimand", "a crossover supports only the treatment_policy estimand")
    for i, week in enumerate(s.trial.interim_weeks):
        if week >= s.trial.weeks and s.trial.design == "parallel":
            fail(f"trial.interim_weeks.{i}", f"must be before trial.weeks={s.trial.weeks}")
    for i, week in enumerate(s.trial.follow_up_weeks):
        if week <= s.trial.weeks:
            fail(f"trial.follow_up_weeks.{i}", f"must be after trial.weeks={s.trial.weeks}")
    unit = sum(s.allocation_ratio().values())
    if s.trial.randomization != "simple" and s.trial.block_size % unit:
        fail(
            "trial.block_size",
            f"must be a multiple of the allocation total {unit}; given {s.trial.block_size}",
        )
