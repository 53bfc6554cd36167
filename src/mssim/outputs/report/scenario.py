"""The scenario in plain words: design, who is enrolled, dropout, analysis, arms."""

from __future__ import annotations

from typing import Any

import pandas as pd

from mssim.outputs.report.folder import Folder
from mssim.outputs.report.html import bullets, esc, html_table, section
from mssim.registry import DESIGNS
from mssim.trial.analyses.analysis import for_trial

ESTIMAND_WORDS = {
    "treatment_policy": "treatment policy: outcomes whatever happens, relapses included",
    "hypothetical": "hypothetical: outcomes as if no relapse had occurred",
    "composite": "composite: a relapse counts as not responding",
}


MISSING_WORDS = {
    "complete_case": "complete cases analysed",
    "locf": "last observation carried forward",
    "bocf": "baseline observation carried forward",
}


DROPOUT_WORDS = {
    "mcar": "completely at random",
    "mar": "more often after a worsening seen at the last visit",
    "mnar": "more often with a current, unseen worsening",
}


def hypothesis_words(t: Any) -> str:
    """What each contrast tests, at which level (``trial.hypothesis``, or a Bayesian rule)."""
    if for_trial(t.analysis, t).threshold is not None:
        return "no significance test: the Bayesian rule decides at its posterior threshold"
    if t.hypothesis == "two_sided":
        return f"two-sided tests at alpha = {t.alpha:g}"
    words = f"one-sided {t.hypothesis.replace('_', '-')} tests at alpha / 2 = {t.alpha / 2:g}"
    if t.hypothesis == "non_inferiority":
        margins = []
        if t.margin:
            margins.append(f"{t.margin:g} {t.margin_units} for mean differences")
        if t.margin_risk_difference:
            margins.append(f"{t.margin_risk_difference:g} for the responder risk difference")
        words += ", margin " + " and ".join(margins)
    return words


def scenario_section(found: Folder) -> str:
    """The scenario in plain words, and a table of its arms."""
    s = found.scenario
    if s is None:
        reason = found.scenario_error or "the folder has no manifest.json with a scenario"
        return section("scenario", "The scenario", f'<p class="note">{esc(reason)}</p>')
    t = s.trial
    primary = getattr(s.symptoms, t.primary_endpoint)
    label = primary.scale.label
    design = DESIGNS.get(t.design).describe(t)
    ratio = ":".join(str(v) for v in s.allocation_ratio().values())
    randomization = {
        "simple": "simple randomization",
        "blocks": f"permuted blocks of {t.block_size}",
        "stratified": f"permuted blocks of {t.block_size} stratified by {t.stratify_by}",
    }[t.randomization]
    visits = ", ".join(str(w) for w in t.visit_weeks())
    endpoint = DESIGNS.get(t.design).endpoint_wording(t)
    scr = s.population.screening
    if scr.enabled:
        scale = getattr(s.symptoms, scr.symptom).scale.label
        upper = f" and at most {scr.max_score:g}" if scr.max_score is not None else ""
        screening = (
            f"Candidates are screened {scr.days_before_baseline} days before baseline and "
            f"enrolled with a {scr.symptom} score of at least {scr.min_score:g}{upper} "
            f"({scale}) and EDSS at most {scr.max_edss:g}; up to {scr.max_candidates} "
            "candidates per place. The noisy screening score makes scores regress to the mean."
        )
    else:
        screening = "No screening: every candidate is enrolled."
    d = s.dropout
    dropout = f"{d.rate:.0%} drop out by the last visit, {DROPOUT_WORDS[d.mechanism]}"
    if d.mechanism != "mcar":
        dropout += f" (log hazard ratio {d.strength:g} per reference SD of worsening)"
    types = s.population.ms_types
    contrasts = ", ".join(f"{a} - {b}" for a, b in s.contrasts())
    items = [
        f"<b>Design:</b> {esc(design)}, {len(s.arms)} arms allocated {esc(ratio)} by "
        f"{esc(randomization)}; contrasts {esc(contrasts)}.",
        f"<b>Primary endpoint:</b> {esc(t.primary_endpoint)} on the {esc(label)}, "
        f"{esc(endpoint)}; visits at weeks {esc(visits)}"
        + (f"; secondary: {esc(', '.join(t.secondary_endpoints))}" if t.secondary_endpoints else "")
        + ".",
        f"<b>Who:</b> RRMS {types.rrms:.0%}, SPMS {types.spms:.0%}, PPMS {types.ppms:.0%}; "
        f"median EDSS {s.population.edss_median:g}; {s.population.on_therapy:.0%} on "
        f"disease-modifying therapy; {s.relapses.annual_rate['rrms']:g} relapses a year in "
        "untreated RRMS.",
        f"<b>Screening:</b> {esc(screening)}",
        f"<b>Dropout:</b> {esc(dropout)}.",
        f"<b>Analysis:</b> {esc(for_trial(t.analysis, t).wording)}; "
        f"{esc(MISSING_WORDS[t.missing_data])}; {esc(hypothesis_words(t))}; "
        f"multiplicity: {esc(t.multiplicity)}.",
        f"<b>Estimand:</b> {esc(ESTIMAND_WORDS[t.estimand])}.",
    ]
    arms = []
    for name, arm in s.arms.items():
        specific, nonspecific = s.effect_points(name, t.primary_endpoint)
        kind = arm.kind.label
        if arm.kind.sham:
            kind = f"{arm.sham_type.replace('_', '-')} {kind}"
        schedule = (
            f"{arm.sessions_per_week:g}/week x {arm.weeks} weeks = {arm.n_sessions()} sessions"
            f" from day {arm.start_day}"
            if arm.n_sessions()
            else "no sessions"
        )
        if arm.drug is not None:
            schedule += f"; plus {arm.drug.name} from day 1"
        arms.append(
            {
                "arm": name,
                "intervention": kind,
                "schedule": schedule,
                "specific effect": _effect(specific, primary.reference_sd),
                "non-specific effect": _effect(nonspecific, primary.reference_sd),
                "sessions attended": f"{arm.adherence:.0%}" if arm.n_sessions() else "—",
                "guess verum": f"{arm.guess_verum:.0%}",
            }
        )
    if found.grid:
        swept = ", ".join(found.grid)
        items.insert(0, f"<b>Swept:</b> {esc(swept)} (see The design); the rest is as below.")
    body = (
        f'<p class="lead">{esc(s.description)}</p>'
        + bullets(items)
        + "<h3>Arms</h3>"
        + html_table(pd.DataFrame(arms))
        + f'<p class="note">Effects are improvements on the primary endpoint (positive = '
        f"less severe), in SD of the {esc(label)} between patients (reference SD "
        f"{primary.reference_sd:g} points) and in points. The non-specific effect is scaled "
        "by each patient's expectation.</p>"
    )
    return section("scenario", "The scenario in plain words", body)


def _effect(points: float, reference_sd: float) -> str:
    if points == 0:
        return "none"
    return f"{points / reference_sd:.2f} SD = {points:.2f} points"
