"""Symptoms: each one's latent daily process, its instrument, and how symptoms move together.

Every symptom has a latent daily severity on a 0-10 numeric rating scale (NRS;
higher is worse). Instruments (:mod:`mssim.config.instruments`) map a
recall-window mean of the daily severity onto their own range, and bring their
own reference SD, MCID, measurement SD and screening cut-off. Defaults are one
line each with their source, or ``(A)`` where the number is our assumption.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator, model_validator

from mssim.config.strict import (
    Level,
    Loading,
    NonNegative,
    Positive,
    Probability,
    Strict,
    merge_defaults,
)
from mssim.registry import INSTRUMENTS

SYMPTOMS = ("fatigue", "pain", "sleep", "spasticity", "bladder", "cognition")
MEDIATORS = ("autonomic", "cortisol", "melatonin", "inflammation", "pain_sensitivity")
#: Symptom fields whose default comes from the symptom's instrument.
SCORED_FIELDS = ("reference_sd", "mcid", "measurement_sd")


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
            return merge_defaults(symptom_defaults(name, instrument), value)

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
