"""Which numbers of the scenario are assumptions, and where the others come from."""

from __future__ import annotations

import pandas as pd

from mssim.config.sources import ASSUMPTION, CHANGED, STATUSES, provenance_table
from mssim.outputs.report.folder import Folder
from mssim.outputs.report.html import cell_text, esc, html_table, section, setting_text


def sources_section(found: Folder) -> str:
    """Every number of the scenario with its source; assumptions highlighted."""
    s = found.scenario
    if s is None:
        return ""
    table = provenance_table(s)
    off = [f"symptoms.{n}." for n in ("spasticity", "bladder", "cognition")]
    off = [p for p in off if not getattr(s.symptoms, p.split(".")[1]).enabled]
    if not s.mechanism.enabled:
        off.append("mechanism.")
    hidden = table.field.str.startswith(tuple(off)) & ~table.field.str.endswith(".enabled")
    shown = table[~hidden].assign(
        value=lambda t: t.value.map(setting_text), default=lambda t: t.default.map(setting_text)
    )
    counts = shown.status.value_counts()
    chips = "".join(
        f'<span class="chip {_status_class(status)}">{esc(status)}: {counts.get(status, 0)}</span>'
        for status in STATUSES
    )
    grid = found.grid
    if grid:
        swept = shown.field.isin(list(grid))
        shown = shown.assign(
            source=[
                f"swept: {', '.join(cell_text(v) for v in grid[f])}; {src}" if sw else src
                for f, src, sw in zip(shown.field, shown.source, swept, strict=True)
            ]
        )
    ranked = found.sensitivity is not None
    groups = topic_groups(shown, found.sensitivity)
    tables = "".join(
        f"<details{' open' if i < 3 or not ranked else ''}><summary>{esc(topic)} "
        f"({len(rows)} fields)</summary>"
        + html_table(
            rows.rename(columns={"field": "field (dotted path)"}),
            [_status_class(status) for status in rows.status],
            limit=None,
        )
        + "</details>"
        for i, (topic, rows) in enumerate(groups)
    )
    order = (
        "Topics and fields are ordered by their influence on power in this folder's "
        "sensitivity screening (Morris mu*), the most influential first."
        if ranked
        else "Run <code>mssim sensitivity</code> to rank them by their influence on power."
    )
    body = (
        f"<p>Each number of the scenario, and where it comes from, grouped by topic. "
        f"<b>Assumptions</b> (highlighted) are ours: no published figure fixes them, so they "
        f"are the first numbers to vary in a sweep. Numbers <b>changed in this scenario</b> "
        f"differ from the packaged defaults. {order}</p><p>{chips}</p>"
        f'<p class="note">{int(hidden.sum())} fields of parts switched off (symptoms not '
        "simulated, the mediator layer) are not listed.</p>" + tables
    )
    return section("sources", "Which numbers are assumptions", body)


def topic_of(field: str) -> str:
    """The topic of a dotted field: ``symptoms.fatigue``, ``arms.sham``, else its first part."""
    parts = field.split(".")
    return ".".join(parts[:2]) if parts[0] in ("symptoms", "arms") and len(parts) > 2 else parts[0]


def topic_groups(
    shown: pd.DataFrame, sensitivity: pd.DataFrame | None
) -> list[tuple[str, pd.DataFrame]]:
    """The listed fields by topic; ranked by Morris ``mu_star`` when a screening exists.

    Without a screening, topics keep the scenario's order. With one, each field
    gets its ``mu_star`` (a column of the table), fields are sorted by it within
    their topic and topics by their most influential field; unscreened fields follow.
    """
    table = shown.assign(topic=shown.field.map(topic_of))
    if sensitivity is not None:
        influence = dict(zip(sensitivity.field, sensitivity.mu_star, strict=True))
        table = table.assign(mu_star=table.field.map(influence))
        table = table.sort_values("mu_star", ascending=False, kind="stable", na_position="last")
    topics = list(dict.fromkeys(table.topic))
    return [(t, table[table.topic == t].drop(columns="topic")) for t in topics]


def _status_class(status: str) -> str:
    return {ASSUMPTION: "assumption", CHANGED: "changed"}.get(status, "")
