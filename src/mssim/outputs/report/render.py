"""The whole report: one self-contained HTML page, written into the results folder."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from mssim.files import atomic_write_bytes
from mssim.outputs.report.assurance import assurance_section
from mssim.outputs.report.committee import committee_section, sensitivity_section
from mssim.outputs.report.figures import figures_section
from mssim.outputs.report.folder import Folder, read_folder
from mssim.outputs.report.html import esc
from mssim.outputs.report.literature import literature_section
from mssim.outputs.report.provenance import provenance_section
from mssim.outputs.report.results import (
    design_section,
    monte_carlo_section,
    results_section,
    summary_box,
)
from mssim.outputs.report.sample_size import sample_size_section
from mssim.outputs.report.scenario import scenario_section
from mssim.outputs.report.sequential import sequential_section
from mssim.outputs.report.sources import sources_section

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
  max-width: 1100px; margin: 1.5em auto 4em; padding: 0 1.2em; color: #1b1b1b;
  line-height: 1.45; background: #fff; }
h1 { font-size: 1.75em; margin: 0 0 .15em; }
h2 { font-size: 1.3em; margin-top: 2.2em; padding-bottom: .2em; border-bottom: 2px solid #0072B2; }
h3 { font-size: 1.05em; margin: 1.4em 0 .4em; }
p.lead { font-size: 1.1em; color: #333; margin-top: 0; }
.note { color: #555; font-size: .9em; }
nav { font-size: .9em; margin: 1em 0; }
nav a { margin-right: 1em; color: #0072B2; text-decoration: none; white-space: nowrap; }
.box { background: #eef6fb; border-left: 4px solid #0072B2; padding: .7em 1.1em; margin: 1em 0; }
.answer { background: #eaf6ef; border-left-color: #009E73; }
.box p { margin: .3em 0; }
table { border-collapse: collapse; font-size: .85em; margin: .6em 0 1em; }
th, td { padding: .28em .6em; border-bottom: 1px solid #dde3ea; text-align: left;
  vertical-align: top; }
th { background: #eef2f6; font-weight: 600; }
.scroll { overflow-x: auto; }
table.wide td { white-space: nowrap; }
table.wide th, table.wide td { padding: .25em .4em; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.assumption td { background: #fff3d1; }
tr.changed td { background: #e1eefa; }
.chip { display: inline-block; padding: .05em .55em; border-radius: .8em; margin: 0 .3em .3em 0;
  font-size: .85em; border: 1px solid #ccd; }
.chip.assumption { background: #fff3d1; border-color: #e6c46a; }
.chip.changed { background: #e1eefa; border-color: #8db7de; }
figure { margin: 1.2em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #e4e8ee; }
figcaption { font-size: .88em; color: #444; margin-top: .3em; }
details > summary { cursor: pointer; color: #0072B2; margin: .4em 0; }
code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: .9em; }
ul { padding-left: 1.3em; }
footer { margin-top: 3em; font-size: .85em; color: #666; }
@media print { nav { display: none; } h2 { break-after: avoid; } figure { break-inside: avoid; } }
"""


SECTIONS = (
    ("committee", "For the committee"),
    ("scenario", "Scenario"),
    ("sources", "Assumptions"),
    ("design", "Design"),
    ("results", "Results"),
    ("figures", "Figures"),
    ("assurance", "Assurance"),
    ("sequential", "Interim looks"),
    ("sample-size", "Sample size"),
    ("sensitivity", "Sensitivity"),
    ("monte-carlo", "Monte Carlo error"),
    ("literature", "Literature"),
    ("provenance", "Provenance"),
)


def render(found: Folder) -> str:
    """The report of a read folder as one HTML document."""
    name = found.scenario.name if found.scenario else found.path.name
    kind = (
        "sweep"
        if found.sweep is not None
        else "run"
        if found.power is not None
        else "sensitivity screening"
    )
    sections = [
        committee_section(found),
        scenario_section(found),
        sources_section(found),
        design_section(found),
        results_section(found),
        figures_section(found),
        assurance_section(found),
        sequential_section(found),
        sample_size_section(found),
        sensitivity_section(found),
        monte_carlo_section(found),
        literature_section(found),
        provenance_section(found),
    ]
    present = [
        f'<a href="#{anchor}">{esc(label)}</a>'
        for (anchor, label), body in zip(SECTIONS, sections, strict=True)
        if body
    ]
    stamp = datetime.now().strftime("%Y-%m-%d %H:%M")
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>mssim report: {esc(name)}</title><style>{CSS}</style></head><body>"
        f"<header><h1>mssim report: {esc(name)}</h1>"
        f'<p class="note">Monte Carlo {kind} in <code>{esc(found.path)}</code>; report '
        f"written {esc(stamp)}.</p></header>"
        f"<nav>{''.join(present)}</nav>"
        + summary_box(found)
        + "".join(sections)
        + "<footer>Simulated people with MS in acupuncture trials (mssim). The numbers "
        "describe the model, not any real trial.</footer></body></html>"
    )


def write_report(folder: Path) -> Path:
    """Write ``folder/report.html`` from the results the folder holds.

    Args:
        folder: A results folder of ``mssim run`` or ``mssim sweep`` (or a simulated
            literature's folder).

    Returns:
        The path of the report.

    Raises:
        MssimError: If the folder is missing or holds no results.
    """
    found = read_folder(Path(folder))
    path = found.path / "report.html"
    atomic_write_bytes(path, render(found).encode("utf-8"))
    return path
