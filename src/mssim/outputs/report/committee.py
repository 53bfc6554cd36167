"""What to tell the committee, and the sensitivity screening of a folder."""

from __future__ import annotations

from typing import Any

import pandas as pd

from mssim.outputs.report.folder import Folder
from mssim.outputs.report.html import bullets, embedded_image, esc, html_table, section
from mssim.outputs.report.scenario import hypothesis_words
from mssim.registry import DESIGNS

#: Fields of the committee summary's top assumptions.
TOP = 3


def committee_section(found: Folder) -> str:
    """Design, N, power ± MCSE, matched-null type I error and the top assumptions, in words."""
    s = found.scenario
    if s is None or found.sweep is not None:
        return ""
    if not (found.sample_size or found.sensitivity is not None):
        return ""
    t = s.trial
    items = [
        f"<b>Design:</b> {esc(DESIGNS.get(t.design).describe(t))}; arms "
        f"{esc(', '.join(s.arms))}; primary endpoint {esc(t.primary_endpoint)} "
        f"({esc(getattr(s.symptoms, t.primary_endpoint).scale.label)}), analysed by "
        f"{esc(t.analysis)} ({esc(hypothesis_words(t))})."
    ]
    answer = found.sample_size
    if answer and "n_text" in answer:
        if answer["n_per_arm"] is None:
            items.append(
                f"<b>N:</b> the target power {answer['target']:.0%} is not reached by "
                f"{answer['n_examined'][1]:d} per arm (power there {answer['power']:.2f} ± "
                f"{answer['power_mcse']:.2f} MCSE); the trial needs more than that."
            )
        else:
            items.append(
                f"<b>N:</b> {esc(answer['n_text'])} per arm, <b>{answer['total_n']:d} to "
                f"randomize</b>, about {answer['expected_analysed']:.0f} analysed; power "
                f"<b>{answer['power']:.2f} ± {answer['power_mcse']:.2f}</b> (MCSE) for a target "
                f"of {answer['target']:.0%}; Monte Carlo interval for n "
                f"{esc(answer['interval_text'])}."
            )
    null = found.matched_null
    if null:
        items.append(_null_text(null, answer))
    check = found.crosscheck
    if check:
        ratio = f"; the simulation needs {check['ratio']:.2f} times that" if check["ratio"] else ""
        items.append(
            f"<b>Closed form:</b> ANCOVA with SD {check['outcome_sd']:.3g}, baseline-outcome "
            f"r = {check['correlation']:.2f} and {check['dropout']:.0%} dropout needs "
            f"{check['n_ttest']} per arm for the same effect{ratio} (see Sample size)."
        )
    items.append(_assumptions_text(found))
    return section("committee", "What to tell the committee", bullets(items))


def _null_text(null: dict[str, Any], answer: dict[str, Any] | None) -> str:
    """The matched null's type I error at the answer's n (or the nearest simulated)."""
    if not null["defined"]:
        reason = null["undefined_reason"] or "the null's true effect is not negligible"
        return f"<b>Type I error:</b> not defined here: {esc(reason)}."
    rows = pd.DataFrame(null["alpha_rows"])
    want = (answer or {}).get("n_per_arm") or int(rows.n_per_arm.max())
    row = rows.loc[(rows.n_per_arm - want).abs().idxmin()]
    return (
        f"<b>Type I error</b> of this analysis under the scenario's own null (no specific "
        f"effect, same random numbers): <b>{row.type_i_error:.3f} ± {row.mcse:.3f}</b> (MCSE) "
        f"at {int(row.n_per_arm)} per arm, from {int(row.replicates)} replicate trials."
    )


def _assumptions_text(found: Folder) -> str:
    """The top assumptions and what power becomes if each is wrong either way."""
    table = found.sensitivity
    if table is None:
        return (
            "<b>Assumptions that matter most:</b> not screened for this folder; "
            "<code>mssim sensitivity FILE --run FOLDER</code> ranks them and adds them here."
        )
    info = found.manifest.get("sensitivity", {})
    base, n = info.get("base_power"), info.get("n_per_arm")
    lines = []
    for row in table.head(TOP).itertuples():
        low, high = sorted((row.power_low, row.power_high))
        lines.append(
            f"{esc(row.field)} = {row.value:g} ({esc(row.status)}): if it is "
            f"{row.low:g} to {row.high:g} instead, power is {low:.0%} to {high:.0%}"
        )
    where = f" (power {base:.0%} at {n} per arm as assumed)" if base is not None else ""
    return f"<b>Assumptions that matter most</b>{where}: " + "; ".join(lines) + "."


def sensitivity_section(found: Folder) -> str:
    """The tornado figure and the ranking table of a sensitivity screening."""
    table = found.sensitivity
    if table is None:
        return ""
    info = found.manifest.get("sensitivity", {})
    parts = [
        f"<p>Morris screening (SALib) of {len(table)} fields: each varied over its range "
        f"({esc(table.range_note.iloc[0])} unless noted), power measured at "
        f"{esc(info.get('n_per_arm', '?'))} per arm with {esc(info.get('replicates', '?'))} "
        f"replicate trials at each of {esc(info.get('points', '?'))} points, all under one "
        "seed (common random numbers), so differences between points are not noise. mu* is "
        "the mean absolute change of power across a field's range; sigma its spread "
        "(interactions or curvature).</p>"
    ]
    if (found.path / "tornado.png").is_file():
        parts.append(
            embedded_image(
                (found.path / "tornado.png").read_bytes(),
                "Power with each field at the low (blue) and high (orange) end of its range, "
                "the others as assumed; most influential at the top.",
            )
        )
    shown = table[
        ["rank", "field", "status", "value", "low", "high", "mu_star", "mu_star_conf", "sigma"]
    ]
    parts.append(html_table(shown, wide=True))
    return section("sensitivity", "Which assumptions drive power", "".join(parts))
