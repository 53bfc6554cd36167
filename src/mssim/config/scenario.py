"""The scenario: every input of a simulated trial, validated and frozen.

The tables of a scenario live in their own modules (symptoms, population,
arms, trial), each default one line with its unit and source (author year), or
marked ``(A)`` where the number is our assumption. A scenario file (TOML) only
needs what differs from these defaults. This module joins them and checks
across tables.

Names of instruments, intervention kinds, designs, endpoints and analyses are
checked against their registries (:mod:`mssim.registry`).
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import Field, model_validator

from mssim.config.arms import Arm, default_arms
from mssim.config.bayesian import BayesianRule, inert_bayesian
from mssim.config.n_of_1 import NOf1Scoring, inert_n_of_1, is_n_of_1
from mssim.config.population import Population, RelapseProcess, Screening
from mssim.config.priors import Prior
from mssim.config.strict import Strict
from mssim.config.symptoms import SYMPTOM_DEFAULTS, SYMPTOMS, Coupling, Mechanism, Symptoms
from mssim.config.trial import Blinding, Dropout, PowerSettings, Trial
from mssim.registry import ANALYSES, DESIGNS, INSTRUMENTS


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
    arms: dict[str, Arm] = Field(default_factory=default_arms)
    dropout: Dropout = Dropout()
    blinding: Blinding = Blinding()
    trial: Trial = Trial()
    power: PowerSettings = PowerSettings()
    priors: dict[str, Prior] = Field(
        default_factory=dict,
        description="Dotted numeric field -> prior, for assurance (mssim.config.priors).",
    )

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
    problem = analysis.misfit(s.trial.design, s.trial.estimand, s.trial)
    if problem:
        fail("trial.analysis", problem)
    if s.trial.n_of_1 != NOf1Scoring() and not is_n_of_1(s.trial.design):
        fail("trial.n_of_1", inert_n_of_1(s.trial.design))
    if s.trial.bayesian != BayesianRule() and analysis.configure is None:
        fail("trial.bayesian", inert_bayesian(s.trial.analysis))
    instruments = {getattr(s.symptoms, e).instrument for e in s.endpoints() if e in active}
    if s.trial.margin and s.trial.margin_units == "points" and len(instruments) > 1:
        fail(
            "trial.margin_units",
            "a margin in points needs endpoints scored on one instrument; they use "
            f"{', '.join(sorted(instruments))}: use margin_units = 'sd'",
        )
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
