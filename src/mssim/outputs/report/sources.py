"""Which numbers of the scenario are assumptions, and where the others come from."""

from __future__ import annotations

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
    body = (
        f"<p>Each number of the scenario, and where it comes from. <b>Assumptions</b> "
        f"(highlighted) are ours: no published figure fixes them, so they are the first "
        f"numbers to vary in a sweep. Numbers <b>changed in this scenario</b> differ from "
        f"the packaged defaults.</p><p>{chips}</p>"
        f'<p class="note">{int(hidden.sum())} fields of parts switched off (symptoms not '
        "simulated, the mediator layer) are not listed.</p>"
        f"<details open><summary>All {len(shown)} listed fields</summary>"
        + html_table(
            shown.rename(columns={"field": "field (dotted path)"}),
            [_status_class(status) for status in shown.status],
            limit=None,
        )
        + "</details>"
    )
    return section("sources", "Which numbers are assumptions", body)


def _status_class(status: str) -> str:
    return {ASSUMPTION: "assumption", CHANGED: "changed"}.get(status, "")
