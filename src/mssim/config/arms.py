"""Arms: an intervention kind with its schedule, effects, adverse events and a drug."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from mssim.config.strict import Effect, NonNegative, Positive, Probability, Strict, merge_defaults
from mssim.config.symptoms import SYMPTOMS
from mssim.registry import INTERVENTIONS


class AdverseEvent(Strict):
    """One adverse-event type of an intervention, as a risk per patient over the course.

    Published safety figures count patients with at least one event over a whole
    course, so that is what is given. :func:`mssim.model.behaviour.per_session_risk`
    turns it into the same risk at every attended session, such that a patient
    attending the expected share (``adherence``) of the scheduled sessions has
    this risk over the course; whoever attends fewer sessions has less.
    """

    per_patient: Probability = Field(
        description="Chance a patient has this event at least once over the whole course."
    )
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
                name: merge_defaults(allowed[name], given_ae.get(name, {})) for name in allowed
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


def default_arms() -> dict[str, Arm]:
    """The default arms: acupuncture against a penetrating sham."""
    return {
        "acupuncture": Arm(intervention="acupuncture"),
        "sham": Arm(intervention="sham", sham_type="penetrating"),
    }
