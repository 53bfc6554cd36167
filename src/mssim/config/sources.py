"""Where each scenario number comes from: a published source, a calibration, or an assumption.

:data:`SOURCES` maps dotted field paths of a scenario to a :class:`Source`, taken
from the comments beside the defaults in the config tables and the project's
parameter dossier. Arm fields are keyed by intervention, not by arm name
(``arms.acupuncture.specific_effect`` is the default of any acupuncture arm). A
``*`` stands for any one path segment; the entry with the fewest ``*`` wins.

Statuses:

* ``published source``: the number is a published figure (author year);
* ``calibrated to published figures``: chosen or derived so that the model
  reproduces published figures;
* ``assumption``: our assumption (``(A)`` beside a default). A model number with
  neither a source nor ``(A)`` is counted as an assumption too, so that the
  report never presents an unsourced number as a choice of the trial's design;
* ``design setting``: a choice the trial planner makes (arms, schedule, visits,
  analysis, Monte Carlo settings);
* ``changed in this scenario``: differs from the packaged default.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from mssim.config.arms import Arm
from mssim.config.citations import (
    ASSUMPTION,
    CALIBRATED,
    CHANGED,
    DESIGN,
    PUBLISHED,
    STATUSES,
    Source,
    assumed,
    design,
)
from mssim.config.scenario import Scenario
from mssim.config.symptoms import (
    SCORED_DEFAULTS,
    SCORED_FIELDS,
    SYMPTOM_DEFAULTS,
    Symptom,
    symptom_defaults,
)

__all__ = ["ASSUMPTION", "CALIBRATED", "CHANGED", "DESIGN", "PUBLISHED", "STATUSES", "Source"]

#: Source text of a field that has no entry in :data:`SOURCES` (tests keep this empty).
UNRECORDED = "no source recorded in mssim.config.sources"
_a, _design = assumed, design


_NO_SOURCE = "no source given"

# Per symptom: fields that are (A) without a note are filled in below.
_SYMPTOMS: dict[str, dict[str, Source]] = {
    "fatigue": {
        "prevalence": _a("graded, not absent or present: everyone has an FSS score; no source"),
        "mean": Source(CALIBRATED, "entry FSS 5.2 after FSS >= 4 (Rammohan 2002; Learmonth 2013)"),
        "between_sd": Source(CALIBRATED, "6-month FSS ICC 0.75 (Learmonth 2013)"),
        "day_sd": _a("size not published; fatigue varies day to day (Kratz 2017; Powell 2017)"),
        "autocorrelation": _a("not published; with day_sd gives FSS SEM 0.7 (Learmonth 2013)"),
        "drift_sd": _a("slow wandering; part of the 6-month FSS SEM 0.7 (Learmonth 2013)"),
        "relapse_jump": _a("not published"),
    },
    "pain": {
        "prevalence": Source(PUBLISHED, "63% (55-70%) (Foley 2013)"),
        "mean": Source(PUBLISHED, "NRS 5.2 in those with pain (Ehde 2003)"),
        "between_sd": Source(CALIBRATED, "NRS SD 2.3 in those with pain (Ehde 2003)"),
        "day_sd": _a("size not published; pain varies day to day (Kratz 2017)"),
    },
    "sleep": {
        "prevalence": _a("everyone has a PSQI score; " + _NO_SOURCE),
        "mean": Source(CALIBRATED, "PSQI 7.3 in MS (Sarraf 2014) = 21 x 3.5 / 10"),
        "between_sd": Source(CALIBRATED, "PSQI SD 2.8 (Sarraf 2014)"),
    },
    "spasticity": {
        "prevalence": Source(PUBLISHED, "> 80% report some (Rizzo 2004)"),
        "mean": _a("a third moderate or worse (Rizzo 2004; NARCOMS 2016)"),
        "day_sd": _a("NRS test-retest ICC 0.83 over 7-14 days (Farrar 2008)"),
    },
    "bladder": {
        "prevalence": Source(PUBLISHED, "68% pooled (Int J MS Care 2020 meta-analysis)"),
    },
    "cognition": {
        "prevalence": _a(_NO_SOURCE),
        "mean": _a("clusters with fatigue and pain (Motl symptom-cluster study)"),
    },
}
# Symptom-specific sources of SCORED_DEFAULTS (on the symptom's usual instrument).
_SCORED: dict[str, dict[str, Source]] = {
    "spasticity": {
        "reference_sd": Source(PUBLISHED, "NRS 6.1 +/- 1.8 in those treated (Flachenecker 2014)")
    },
    "bladder": {"reference_sd": _a()},
    "cognition": {"reference_sd": _a(), "mcid": _a()},
}
_SYMPTOM_FIELDS = (
    "mean",
    "between_sd",
    "day_sd",
    "autocorrelation",
    "drift_sd",
    "drift_days",
    "diary_sd",
    "relapse_jump",
)

_CHARITE = "24 sessions in 12 weeks (Charité trial, NCT01864707)"
_NONSPECIFIC = (
    "0.5 vs no acupuncture minus 0.2 vs sham (Vickers 2018) to 0.42-0.45 (Madsen 2009; "
    "Linde 2010); the three contrasts land in their windows together"
)
_WITT = "any AE in 8.6% (Witt 2009) to 9.3% (Bäumler 2021) of patients"
_SERIOUS = "about 1 per 10,000 patients (Bäumler 2021)"
_NONE_BY_DEFINITION = "none by definition"

#: Dotted field path (``*`` = any one segment; arms keyed by intervention) -> source.
SOURCES: dict[str, Source] = {
    "name": _design(),
    "description": _design(),
    "seed": _design("Monte Carlo setting"),
    # ---- symptoms
    "symptoms.*.enabled": _design("which symptoms are simulated"),
    "symptoms.*.instrument": _design("instrument scoring the symptom"),
    **{
        f"symptoms.{name}.{field}": notes.get(field, _a())
        for name, notes in _SYMPTOMS.items()
        for field in ("prevalence", *_SYMPTOM_FIELDS)
    },
    # ---- coupling and mediators
    "coupling.sleep_to_fatigue": _a(),
    "coupling.pain_to_sleep": _a(),
    "coupling.day_correlation": _a(),
    "coupling.between_correlation": _a("r 0.3-0.5; no published figure found"),
    "mechanism.enabled": _design("mediator layer on or off"),
    "mechanism.persistence": _a(),
    "mechanism.loadings.*.*": _a(),
    "mechanism.treatment_response.*": _a(),
    # ---- population and screening
    "population.ms_types.*": Source(
        PUBLISHED, "RRMS 70-80%, SPMS 12-20%, PPMS 7-10% (Learmonth 2013; Rammohan 2002)"
    ),
    "population.edss_median": Source(PUBLISHED, "median about 3 (Learmonth 2013)"),
    "population.edss_sd": _a(),
    "population.on_therapy": _a(),
    "population.responder_fraction": _a(),
    "population.response_sd": _a(),
    "population.expectation_sd": _a(),
    "population.screening.enabled": _design(),
    "population.screening.symptom": _design(),
    "population.screening.max_score": _design(),
    "population.screening.max_edss": _design("entry EDSS <= 6-7 (Charité trial)"),
    "population.screening.days_before_baseline": _a("4-week screening"),
    "population.screening.max_candidates": _design("simulation limit"),
    # ---- relapses
    "relapses.annual_rate.rrms": Source(PUBLISHED, "0.40 in a placebo arm (Kappos 2010, FREEDOMS)"),
    "relapses.annual_rate.spms": _a("fewer relapses in the progressive phase"),
    "relapses.annual_rate.ppms": _a("rare by definition"),
    "relapses.therapy_rate_ratio": Source(
        CALIBRATED, "0.16-0.33 on therapy vs 0.40 on placebo (Kappos 2010; TRANSFORMS)"
    ),
    "relapses.frailty_shape": _a(),
    "relapses.recovery_half_life_days": Source(
        CALIBRATED, "55% back to the pre-relapse level by 3 months (Eur Neurol 2008)"
    ),
    "relapses.residual_probability": Source(PUBLISHED, "42% keep a deficit (Lublin 2003)"),
    "relapses.residual_fraction": _a(),
    # ---- arms: any intervention
    "arms.*.intervention": _design(),
    "arms.*.sham_type": _design(),
    "arms.*.specific_effect": _design(_NONE_BY_DEFINITION),
    "arms.*.specific_fraction": _design("only a penetrating sham carries one"),
    "arms.*.nonspecific_effect": _design("none: no sessions"),
    "arms.*.effect_units": _design(),
    "arms.*.targets.*": _a(),
    "arms.*.sessions_per_week": _design("no sessions"),
    "arms.*.weeks": _design("no sessions"),
    "arms.*.start_day": _design(),
    "arms.*.gain_per_session": _a(),
    "arms.*.half_life_days": Source(
        CALIBRATED, "15% of the effect lost by 12 months (Vickers 2018)"
    ),
    "arms.*.adherence": _a(),
    "arms.*.guess_verum": _design("no sessions: nothing to guess"),
    "arms.*.guess_dont_know": _a(),
    "arms.*.practitioners": _design(),
    # The size is ours; the source only says the variation is small.
    "arms.*.practitioner_sd": _a("real but very small (Vickers 2021); 0.05 SD is ours"),
    "arms.*.adverse_events": _design("no adverse events modelled"),
    "arms.*.drug": _design("no background drug"),
    "arms.*.drug.name": _design(),
    "arms.*.drug.effect": _a(_NO_SOURCE),
    "arms.*.drug.onset_days": _a(),
    # ---- arms: by intervention
    "arms.acupuncture.specific_effect": Source(
        PUBLISHED, "SMD about 0.2 vs sham (Vickers 2012; Vickers 2018)"
    ),
    "arms.acupuncture.nonspecific_effect": Source(CALIBRATED, _NONSPECIFIC),
    "arms.acupuncture.sessions_per_week": _design(_CHARITE),
    "arms.acupuncture.weeks": _design(_CHARITE),
    "arms.acupuncture.guess_verum": _a("blinding holds: 'verum' as often as 'sham'"),
    "arms.acupuncture.adverse_events.minor.per_patient": Source(PUBLISHED, _WITT),
    "arms.acupuncture.adverse_events.serious.per_patient": Source(PUBLISHED, _SERIOUS),
    "arms.sham.specific_effect": _design("none by definition; see specific_fraction"),
    "arms.sham.specific_fraction": _a("a penetrating sham carries no specific effect; no source"),
    "arms.sham.nonspecific_effect": Source(CALIBRATED, _NONSPECIFIC),
    "arms.sham.sessions_per_week": _design("as the acupuncture arm"),
    "arms.sham.weeks": _design("as the acupuncture arm"),
    "arms.sham.guess_verum": _a("blinding holds: as the acupuncture arm"),
    "arms.sham.adverse_events.minor.per_patient": _a(
        "a penetrating sham pierces the skin as verum does: " + _WITT
    ),
    "arms.sham.adverse_events.serious.per_patient": _a(
        "a penetrating sham pierces the skin as verum does: " + _SERIOUS
    ),
    "arms.bee_venom.specific_effect": Source(PUBLISHED, "no effect on fatigue (Wesselius 2005)"),
    "arms.bee_venom.nonspecific_effect": Source(
        PUBLISHED, "no effect in an open comparison vs no stings (Wesselius 2005)"
    ),
    "arms.bee_venom.sessions_per_week": _a("stings three times a week"),
    "arms.bee_venom.weeks": _design("24 weeks of stings (Wesselius 2005)"),
    "arms.bee_venom.guess_verum": _a("stings cannot be hidden"),
    "arms.bee_venom.guess_dont_know": _a("stings cannot be hidden"),
    "arms.bee_venom.adverse_events.local.per_patient": Source(
        PUBLISHED, "any AE in a median 28.9% of patients, mostly local (Park 2015 PLoS One)"
    ),
    "arms.bee_venom.adverse_events.systemic.per_patient": _a(_NO_SOURCE),
    "arms.bee_venom.adverse_events.anaphylaxis.per_patient": Source(
        PUBLISHED, "0.045% of patients, 95% CI 0.028-0.062% (Ko 2022 Toxins 14:238)"
    ),
    "arms.*.adverse_events.*.dropout": _a("share of events that end participation"),
    # ---- dropout, blinding
    "dropout.rate": Source(
        PUBLISHED,
        "about 10% over 12 weeks: 9-10% over 8-9 weeks, 21% over 15 weeks "
        "(Rog 2005; Möller 2011; Rammohan 2002; Collin 2010)",
    ),
    "dropout.mechanism": _a("missing completely at random; " + _NO_SOURCE),
    "dropout.strength": _a(_NO_SOURCE),
    "blinding.expectation_gain": _a(
        "at most 0.5; open-label verum stays near 0.5 SD vs usual care (Vickers 2012)"
    ),
    "blinding.unblinding": _a(
        "none added: published verum-vs-sham SMDs already include their trials' unblinding"
    ),
    # ---- the trial and the Monte Carlo
    "trial.*": _design(),
    "trial.allocation.*": _design(),
    "trial.period_effect": _a("no period effect"),
    "trial.accrual.*": _a("recruitment pace of a few MS outpatient centres; " + _NO_SOURCE),
    "trial.sequential.*": _design(),
    "trial.bayesian.*": _design(),
    "trial.n_of_1.*": _design(),
    "trial.n_of_1.wash_in_days": _a(
        "a week for the new treatment to build up and the last one's carry-over to fade; "
        + _NO_SOURCE
    ),
    "trial.bayesian.prior": _design(
        "sceptical and enthusiastic priors as in Spiegelhalter, Freedman and Parmar 1994"
    ),
    "trial.bayesian.alternative": _a(
        "upper end of the plausible specific effect of needling, 0 to 0.3 SD; " + _NO_SOURCE
    ),
    "power.*": _design("Monte Carlo setting"),
    "priors": _design("assurance: the planner's uncertainty about a field"),
}


def leaves(table: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Flatten nested tables into ``{dotted path: value}``; empty tables are leaves."""
    out: dict[str, Any] = {}
    for key, value in table.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(leaves(value, path + "."))
        else:
            out[path] = value
    return out


def source_of(path: str, scenario: Scenario) -> Source | None:
    """The source of a field's default, or None when :data:`SOURCES` has no entry.

    Args:
        path: Dotted field path, as in a scenario file.
        scenario: The scenario (its arms say which intervention an arm is).
    """
    parts = path.split(".")
    if parts[0] == "priors":  # a prior's field is a dotted path itself
        return SOURCES["priors"]
    if parts[:2] == ["population", "screening"] and parts[2:] == ["min_score"]:
        symptom = scenario.population.screening.symptom
        return getattr(scenario.symptoms, symptom).scale.sources["screening_cutoff"]
    if parts[0] == "symptoms" and len(parts) == 3 and parts[2] in SCORED_FIELDS:
        name, field = parts[1], parts[2]
        symptom = getattr(scenario.symptoms, name, None)
        if symptom is None:
            return None
        usual = symptom.instrument == SYMPTOM_DEFAULTS[name]["instrument"]
        if usual and field in SCORED_DEFAULTS.get(name, {}):
            return _SCORED[name][field]
        return symptom.scale.sources[field]
    if parts[0] == "arms" and len(parts) > 2 and parts[1] in scenario.arms:
        parts[1] = scenario.arms[parts[1]].intervention
    best: tuple[int, Source] | None = None
    for pattern, source in SOURCES.items():
        segments = pattern.split(".")
        if len(segments) != len(parts):
            continue
        if all(s in ("*", p) for s, p in zip(segments, parts, strict=True)):
            wild = segments.count("*")
            if best is None or wild < best[0]:
                best = (wild, source)
    return None if best is None else best[1]


def default_leaves(scenario: Scenario) -> dict[str, Any]:
    """Packaged defaults at every path.

    Each symptom's defaults are those of the instrument it is scored on, and each
    arm's those of its intervention kind.
    """
    table = Scenario().model_dump(mode="python")
    for name in table["symptoms"]:
        chosen = getattr(scenario.symptoms, name).instrument
        table["symptoms"][name] = Symptom(**symptom_defaults(name, chosen)).model_dump()
    screening = scenario.population.screening
    scale = getattr(scenario.symptoms, screening.symptom).scale
    table["population"]["screening"]["min_score"] = scale.screening_cutoff
    table["arms"] = {
        name: Arm(intervention=arm.intervention).model_dump(mode="python")
        for name, arm in scenario.arms.items()
    }
    return leaves(table)


def provenance_table(scenario: Scenario) -> pd.DataFrame:
    """Every leaf field of a scenario with its value, default, status and source.

    Args:
        scenario: The scenario.

    Returns:
        Columns ``field`` (dotted path), ``value``, ``default`` (None where the
        packaged defaults have no such field), ``status`` (one of
        :data:`STATUSES`) and ``source`` (of the default).
    """
    defaults = default_leaves(scenario)
    rows = []
    for path, value in leaves(scenario.model_dump(mode="python")).items():
        source = source_of(path, scenario) or Source(ASSUMPTION, UNRECORDED)
        default = defaults.get(path)
        changed = path not in defaults or value != default
        rows.append(
            {
                "field": path,
                "value": value,
                "default": default,
                "status": CHANGED if changed else source.status,
                "source": source.source,
            }
        )
    return pd.DataFrame(rows, columns=["field", "value", "default", "status", "source"])
