"""The report of a results folder: one self-contained HTML file.

:func:`write_report` reads whatever the folder holds (``manifest.json``,
``power.csv``, ``sample_size.json``/``.csv``, ``sweep.csv`` and its figures,
and a simulated literature's ``studies.csv``/``meta.csv`` with its figures) and
writes ``report.html``: inline CSS, figures embedded as base64 PNG data URIs,
no scripts and no external assets, so the file can be mailed or archived as is.
Every piece of text from the folder is escaped.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import shlex
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from mssim.config.load import validate
from mssim.config.scenario import Scenario
from mssim.config.sources import ASSUMPTION, CHANGED, STATUSES, provenance_table
from mssim.errors import MssimError
from mssim.files import atomic_write_bytes
from mssim.montecarlo.sample_size import n_needed
from mssim.outputs.figures.error_rates import error_rates
from mssim.outputs.figures.power import power_curve
from mssim.registry import ANALYSES, DESIGNS
from mssim.trial.estimands import EFFECT_MEASURES

RESULT_FILES = ("power.csv", "sweep.csv", "studies.csv", "meta.csv")
LITERATURE_FIGURES = {
    "funnel.png": "Funnel plot of the simulated literature",
    "forest.png": "Forest plot of the simulated literature",
    "cumulative.png": "Cumulative meta-analysis",
}
MAX_ROWS = 300  # longer tables are cut (the CSV beside the report has every row)

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


@dataclass
class Folder:
    """What a results folder holds (None or empty where a file is absent)."""

    path: Path
    manifest: dict[str, Any] = field(default_factory=dict)
    scenario: Scenario | None = None
    scenario_error: str | None = None
    power: pd.DataFrame | None = None
    sweep: pd.DataFrame | None = None
    sample_size: dict[str, Any] | None = None
    sample_curve: pd.DataFrame | None = None
    studies: pd.DataFrame | None = None
    meta: pd.DataFrame | None = None

    @property
    def target(self) -> float:
        """Target power of the scenario (0.8 when the scenario is unknown)."""
        return self.scenario.power.target if self.scenario else 0.8

    @property
    def results(self) -> pd.DataFrame | None:
        """The operating characteristics: the sweep's or the run's."""
        return self.sweep if self.sweep is not None else self.power

    @property
    def grid(self) -> dict[str, list[float]]:
        """Swept fields and their values (empty for a plain run)."""
        return self.manifest.get("grid") or {}


def read_folder(folder: Path) -> Folder:
    """Read every file the report uses from a results folder.

    Raises:
        MssimError: If the folder is missing, holds no results, or a file
            cannot be read.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise MssimError(f"{folder}: no such results folder")
    if not any((folder / name).is_file() for name in RESULT_FILES):
        raise MssimError(
            f"{folder}: no results to report; expected one of {', '.join(RESULT_FILES)} "
            "(write them with 'mssim run --out DIR' or 'mssim sweep --out DIR')"
        )
    found = Folder(folder)
    try:
        if (folder / "manifest.json").is_file():
            found.manifest = json.loads((folder / "manifest.json").read_text())
        if (folder / "sample_size.json").is_file():
            found.sample_size = json.loads((folder / "sample_size.json").read_text())
        for attr, name in (
            ("power", "power.csv"),
            ("sweep", "sweep.csv"),
            ("sample_curve", "sample_size.csv"),
            ("studies", "studies.csv"),
            ("meta", "meta.csv"),
        ):
            if (folder / name).is_file():
                setattr(found, attr, pd.read_csv(folder / name))
    except (OSError, ValueError) as err:  # JSONDecodeError and pandas' parser errors
        raise MssimError(f"{folder}: cannot read the results: {err}") from None
    if "scenario" in found.manifest:
        try:
            found.scenario = validate(found.manifest["scenario"], str(folder / "manifest.json"))
        except MssimError as err:  # results of another mssim version: report what we can
            found.scenario_error = str(err)
    return found


# ---------------------------------------------------------------- HTML helpers


def _e(value: Any) -> str:
    return html.escape(str(value))


def _fmt(value: Any, digits: int = 3) -> str:
    """A cell value as text: numbers rounded, missing as a dash."""
    if not isinstance(value, list | dict) and pd.isna(value):  # None, NaN and pd.NA
        return "—"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.{digits}f}" if abs(value) >= 1e-3 or value == 0 else f"{value:.2g}"
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _pm_column(frame: pd.DataFrame, column: str, digits: int = 3) -> list[str]:
    """``value ± MCSE`` texts of a column and its ``<column>_mcse``."""
    out = []
    for value, mcse in zip(frame[column], frame[f"{column}_mcse"], strict=True):
        if math.isnan(value):
            out.append("—")
        elif math.isnan(mcse):
            out.append(f"{value:.{digits}f}")
        else:
            out.append(f"{value:.{digits}f} ± {mcse:.{digits}f}")
    return out


def _table(
    frame: pd.DataFrame,
    row_classes: list[str] | None = None,
    wide: bool = False,
    limit: int | None = MAX_ROWS,
) -> str:
    """An HTML table of a frame (already formatted or raw; everything escaped).

    ``wide`` keeps cells on one line and lets the table scroll sideways instead;
    ``limit`` cuts long tables (None: every row).
    """
    shown = frame if limit is None else frame.head(limit)
    # dotted field names may break after a dot, so long paths do not widen the table
    head = "".join(f"<th>{_e(c).replace('.', '.<wbr>')}</th>" for c in shown.columns)
    rows = []
    for i, record in enumerate(shown.itertuples(index=False)):
        cls = f' class="{row_classes[i]}"' if row_classes and row_classes[i] else ""
        cells = "".join(
            f'<td class="num">{_e(_fmt(v))}</td>'
            if isinstance(v, int | float) and not isinstance(v, bool)
            else f"<td>{_e(_fmt(v))}</td>"
            for v in (x.item() if hasattr(x, "item") else x for x in record)
        )
        rows.append(f"<tr{cls}>{cells}</tr>")
    more = ""
    if len(shown) < len(frame):
        more = f'<p class="note">First {len(shown)} of {len(frame)} rows (all are in the CSV).</p>'
    opening = '<div class="scroll"><table class="wide">' if wide else "<table>"
    closing = "</table></div>" if wide else "</table>"
    body = f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody>"
    return opening + body + closing + more


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return buffer.getvalue()


def _image(png: bytes, caption: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{_e(caption)}">'
        f"<figcaption>{_e(caption)}</figcaption></figure>"
    )


def _section(anchor: str, title: str, body: str) -> str:
    return f'<section id="{anchor}"><h2>{_e(title)}</h2>{body}</section>'


def _bullets(items: list[str]) -> str:
    """A list of already-escaped HTML items."""
    return "<ul>" + "".join(f"<li>{item}</li>" for item in items) + "</ul>"


def _primary(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows of the first analysis, endpoint and contrast."""
    first = frame.iloc[0]
    keep = (
        (frame.analysis == first.analysis)
        & (frame.endpoint == first.endpoint)
        & (frame.contrast == first.contrast)
    )
    return frame[keep]


def _units(found: Folder, row: pd.Series) -> str:
    """Units of a results row: its effect measure's, in its endpoint's instrument points."""
    measure = str(row.estimand).split(" ")[0]
    if measure not in EFFECT_MEASURES:
        raise MssimError(
            f"{found.path}: unknown effect measure {measure!r} in the results; "
            f"allowed: {', '.join(EFFECT_MEASURES)}"
        )
    units = EFFECT_MEASURES[measure].units
    if units == "points" and found.scenario is not None:
        label = getattr(found.scenario.symptoms, row.endpoint).scale.label
        return f"{label} points"
    return units


# ---------------------------------------------------------------- sections


def _summary(found: Folder) -> str:
    results = found.results
    if results is None:
        return ""
    rows = _primary(results)
    first = rows.iloc[0]
    units = _units(found, first)
    lines = [
        f"<p>Contrast <b>{_e(first.contrast)}</b> on <b>{_e(first.endpoint)}</b> "
        f"({_e(first.analysis)}). Effects are treatment minus comparator; a negative "
        "effect means fewer symptoms.</p>"
    ]
    if found.sweep is None:
        top = rows.iloc[-1]
        text = (
            f"<p>The model's true effect is <b>{_e(_fmt(top.true_effect))}</b> {_e(units)}. "
            f"With <b>{int(top.n_per_arm)}</b> patients per arm, power is "
            f"<b>{top.power:.0%}</b> (± {top.power_mcse:.1%} MCSE)"
        )
        if math.isfinite(top.exaggeration):
            text += (
                f"; a significant result overstates the effect {top.exaggeration:.2f} times "
                "on average"
            )
        lines.append(text + ".</p>")
    else:
        largest = rows[rows.n_per_arm == rows.n_per_arm.max()]
        lines.append(
            f"<p>{results.cell.nunique()} scenarios (cells) swept. At "
            f"<b>{int(largest.n_per_arm.iloc[0])}</b> per arm, power ranges from "
            f"<b>{largest.power.min():.0%}</b> to <b>{largest.power.max():.0%}</b>.</p>"
        )
    if found.sample_size and found.sample_size.get("n_per_arm") is not None:
        answer = found.sample_size
        lines.append(
            f"<p>Smallest n per arm for {answer['target']:.0%} power: "
            f"<b>{answer['n_per_arm']}</b> (Monte Carlo interval {_interval(answer)}).</p>"
        )
    return '<div class="box">' + "".join(lines) + "</div>"


def _scenario_section(found: Folder) -> str:
    s = found.scenario
    if s is None:
        reason = found.scenario_error or "the folder has no manifest.json with a scenario"
        return _section("scenario", "The scenario", f'<p class="note">{_e(reason)}</p>')
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
    items = [
        f"<b>Design:</b> {_e(design)}, {len(s.arms)} arms allocated {_e(ratio)} by "
        f"{_e(randomization)}; contrasts {_e(', '.join(f'{a} - {b}' for a, b in s.contrasts()))}.",
        f"<b>Primary endpoint:</b> {_e(t.primary_endpoint)} on the {_e(label)}, "
        f"{_e(endpoint)}; visits at weeks {_e(visits)}"
        + (f"; secondary: {_e(', '.join(t.secondary_endpoints))}" if t.secondary_endpoints else "")
        + ".",
        f"<b>Who:</b> RRMS {types.rrms:.0%}, SPMS {types.spms:.0%}, PPMS {types.ppms:.0%}; "
        f"median EDSS {s.population.edss_median:g}; {s.population.on_therapy:.0%} on "
        f"disease-modifying therapy; {s.relapses.annual_rate['rrms']:g} relapses a year in "
        "untreated RRMS.",
        f"<b>Screening:</b> {_e(screening)}",
        f"<b>Dropout:</b> {_e(dropout)}.",
        f"<b>Analysis:</b> {_e(ANALYSES.get(t.analysis).wording)}; "
        f"{_e(MISSING_WORDS[t.missing_data])}; two-sided alpha = {t.alpha:g}; "
        f"multiplicity: {_e(t.multiplicity)}.",
        f"<b>Estimand:</b> {_e(ESTIMAND_WORDS[t.estimand])}.",
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
        items.insert(0, f"<b>Swept:</b> {_e(swept)} (see The design); the rest is as below.")
    body = (
        f'<p class="lead">{_e(s.description)}</p>'
        + _bullets(items)
        + "<h3>Arms</h3>"
        + _table(pd.DataFrame(arms))
        + f'<p class="note">Effects are improvements on the primary endpoint (positive = '
        f"less severe), in SD of the {_e(label)} between patients (reference SD "
        f"{primary.reference_sd:g} points) and in points. The non-specific effect is scaled "
        "by each patient's expectation.</p>"
    )
    return _section("scenario", "The scenario in plain words", body)


def _effect(points: float, reference_sd: float) -> str:
    if points == 0:
        return "none"
    return f"{points / reference_sd:.2f} SD = {points:.2f} points"


def _sources_section(found: Folder) -> str:
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
        value=lambda t: t.value.map(_setting), default=lambda t: t.default.map(_setting)
    )
    counts = shown.status.value_counts()
    chips = "".join(
        f'<span class="chip {_status_class(status)}">{_e(status)}: {counts.get(status, 0)}</span>'
        for status in STATUSES
    )
    grid = found.grid
    if grid:
        swept = shown.field.isin(list(grid))
        shown = shown.assign(
            source=[
                f"swept: {', '.join(_fmt(v) for v in grid[f])}; {src}" if sw else src
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
        + _table(
            shown.rename(columns={"field": "field (dotted path)"}),
            [_status_class(status) for status in shown.status],
            limit=None,
        )
        + "</details>"
    )
    return _section("sources", "Which numbers are assumptions", body)


def _setting(value: Any) -> str:
    """A scenario value as written in a scenario file (no rounding)."""
    return f"{value:g}" if isinstance(value, float) else _fmt(value)


def _status_class(status: str) -> str:
    return {ASSUMPTION: "assumption", CHANGED: "changed"}.get(status, "")


def _design_section(found: Folder) -> str:
    results = found.results
    if results is None:
        return ""
    reps = int(results.replicates.iloc[0])
    n_values = ", ".join(str(int(n)) for n in sorted(results.n_per_arm.unique()))
    seed = found.manifest.get("seed", "unknown")
    items = [
        f"<b>Sizes simulated:</b> n per arm = {_e(n_values)}. The patients of a smaller trial "
        "are the first patients of the larger one, so the power curve is smooth.",
        f"<b>Replicate trials:</b> {reps} per design point, from root seed {_e(seed)}.",
        f"<b>Analyses:</b> {_e(', '.join(results.analysis.unique()))}; endpoints: "
        f"{_e(', '.join(results.endpoint.unique()))}.",
        f"<b>Target power:</b> {found.target:.0%}.",
        "<b>Truth:</b> every simulated patient has an outcome under every arm, so the true "
        "effect is known; bias, coverage, type S and exaggeration are measured against it.",
    ]
    if found.sweep is not None:
        lhs = found.manifest.get("lhs")
        how = (
            f"{lhs} Latin-hypercube points in the box spanned by these values"
            if lhs
            else "the full grid of these values"
        )
        items.append(
            f"<b>Sweep:</b> {found.sweep.cell.nunique()} cells, {_e(how)}. Common random "
            "numbers: every cell uses the same seed, so replicate r draws the same noise in "
            "every cell and differences between cells are not Monte Carlo noise."
        )
        grid = pd.DataFrame(
            {"swept field": list(found.grid), "values": [_fmt(v) for v in found.grid.values()]}
        )
        return _section("design", "The design", _bullets(items) + _table(grid))
    return _section("design", "The design", _bullets(items))


def _results_section(found: Folder) -> str:
    results = found.results
    if results is None:
        return ""
    fields = [c for c in found.grid if c in results.columns]
    keys = [c for c in ("analysis", "endpoint", "contrast") if results[c].nunique() > 1]
    table = results[[*fields, *keys]].copy()
    table[fields] = table[fields].map(_setting)
    table["n/arm"] = results.n_per_arm.astype(int)
    table["power ± MCSE"] = _pm_column(results, "power")
    table["true effect"] = results.true_effect
    table["bias ± MCSE"] = _pm_column(results, "bias")
    table["RMSE"] = results.rmse
    table["coverage ± MCSE"] = _pm_column(results, "coverage", digits=2)
    table["type S ± MCSE"] = _pm_column(results, "type_s", digits=2)
    table["exaggeration ± MCSE"] = _pm_column(results, "exaggeration", digits=2)
    table["dropout"] = results.dropout_fraction
    first = results.iloc[0]
    body = (
        f"<p>One row per design point{' and cell' if fields else ''}"
        f"{' (first contrast: ' + _e(first.contrast) + ')' if 'contrast' not in keys else ''}. "
        f"Effects in {_e(_units(found, first))}, treatment minus comparator. "
        "Type S: share of significant results with the wrong sign. Exaggeration: mean "
        "|estimate| of significant results over |true effect|. Wilson intervals of power are "
        "drawn as bands in the power curve and listed in the CSV.</p>" + _table(table, wide=True)
    )
    return _section("results", "Results", body)


def _figures_section(found: Folder) -> str:
    parts = []
    if found.sweep is None and found.power is not None:
        parts.append(
            _image(
                _png(power_curve(found.power, target=found.target)),
                "Power by n per arm; the band is the 95% Wilson interval of the Monte Carlo "
                "estimate, the dashed line the target.",
            )
        )
        parts.append(
            _image(
                _png(error_rates(found.power)),
                "Type S (wrong sign among significant results) and exaggeration (type M) "
                "by n per arm, with ±2 MCSE bars.",
            )
        )
    for name, caption in (
        ("power_heatmap.png", "Power over the first two swept fields at the largest n."),
        ("sample_size.png", "n per arm needed for the target power across the first field."),
    ):
        if (found.path / name).is_file():
            parts.append(_image((found.path / name).read_bytes(), caption))
    if found.sweep is not None and not parts:
        parts.append(
            '<p class="note">A Latin hypercube over several fields has no grid to draw; '
            "see the results table.</p>"
        )
    return _section("figures", "Figures", "".join(parts)) if parts else ""


def _sample_size_section(found: Folder) -> str:
    target = found.target
    parts = []
    answer = found.sample_size
    if answer:
        if answer.get("n_per_arm") is None:
            parts.append(
                f'<div class="box answer"><p>No n per arm up to the search limit reaches '
                f"{answer['target']:.0%} power.</p></div>"
            )
        else:
            parts.append(
                f'<div class="box answer"><p>Smallest n per arm with power at least '
                f"{answer['target']:.0%}: <b>{answer['n_per_arm']}</b> (power "
                f"{answer['power']:.3f} ± {answer['power_mcse']:.3f} MCSE, "
                f"{answer['replicates']} replicate trials per n).</p><p>Monte Carlo interval: "
                f"<b>{_interval(answer)}</b>, the n where the upper and the "
                "lower Wilson bound of power reach the target.</p></div>"
            )
        if found.sample_curve is not None and len(found.sample_curve) > 1:
            parts.append(
                _image(
                    _png(power_curve(found.sample_curve, target=answer["target"])),
                    "Power at every n near the answer (fine pass).",
                )
            )
    results = found.results
    if results is not None:
        fields = [c for c in found.grid if c in results.columns]
        first = results.iloc[0]
        data = results[(results.analysis == first.analysis) & (results.endpoint == first.endpoint)]
        keys = ["cell", *fields, "contrast"] if fields else ["contrast"]
        rows = [
            {
                **{k: _setting(row[k]) for k in keys if k != "cell"},
                "n per arm": _n_text(row["n_per_arm"], row["max_n"]),
                "interval": f"{_n_text(row['n_low'], row['max_n'])} to "
                f"{_n_text(row['n_high'], row['max_n'])}",
            }
            for row in n_needed(data, keys, target).to_dict("records")
        ]
        parts.append(
            f"<p>Read from the power {'curves' if fields else 'curve'} by linear interpolation "
            f"between the simulated sizes: the n per arm where power reaches {target:.0%}, and "
            "where the upper and lower Wilson bounds reach it (rounded up; '> n': not reached "
            "at the largest n simulated)."
            + (
                ""
                if answer
                else " For an answer with its own Monte Carlo interval, use "
                "<code>mssim run --solve-n</code>."
            )
            + "</p>"
            + _table(pd.DataFrame(rows))
        )
    return _section("sample-size", "Sample size", "".join(parts)) if parts else ""


def _n_text(n: float, max_n: float) -> str:
    """An n per arm read off a power curve, rounded up; ``> max`` when not reached."""
    return f"> {max_n:.0f}" if math.isnan(n) else f"{math.ceil(n)}"


def _monte_carlo_section(found: Folder) -> str:
    results = found.results
    if results is None:
        return ""
    worst = float(results.power_mcse.max())
    reps = int(results.replicates.iloc[0])
    text = (
        f"<p>Power estimates are within ±2 MCSE = <b>±{2 * worst:.3f}</b> of the truth of the "
        f"model (at most, with about 95% confidence), from <b>{reps}</b> replicate trials per "
        "design point"
        + (" and cell" if found.sweep is not None else "")
        + ". The MCSE of a power p from R trials is sqrt(p(1 - p)/R); it is largest near "
        "50%. Halving it takes four times the replicates.</p>"
    )
    if found.sample_size:
        text += (
            f"<p>The sample-size search used {found.sample_size['replicates']} replicate trials "
            "per n near the answer.</p>"
        )
    text += (
        '<p class="note">This is the error of the simulation only. It says nothing about '
        "whether the model is right: the assumptions listed above matter more.</p>"
    )
    return _section("monte-carlo", "Monte Carlo error", text)


def _whole_numbers(frame: pd.DataFrame) -> pd.DataFrame:
    """Float columns holding only whole numbers (and gaps) as integers, e.g. counts with NaN."""
    out = frame.copy()
    for column in out.select_dtypes("float").columns:
        values = out[column].dropna()
        if len(values) and (values == values.round()).all():
            out[column] = out[column].astype("Int64")
    return out


def _literature_section(found: Folder) -> str:
    parts = []
    for title, frame in (("Pooled estimates", found.meta), ("Studies", found.studies)):
        if frame is not None:
            parts.append(f"<h3>{_e(title)}</h3>" + _table(_whole_numbers(frame), wide=True))
    for name, caption in LITERATURE_FIGURES.items():
        if (found.path / name).is_file():
            parts.append(_image((found.path / name).read_bytes(), caption))
    return _section("literature", "Simulated literature", "".join(parts)) if parts else ""


def _provenance_section(found: Folder) -> str:
    m = found.manifest
    if not m:
        return _section(
            "provenance", "Provenance", '<p class="note">No manifest.json in the folder.</p>'
        )
    command = m.get("command")
    rows = {
        "mssim version": m.get("mssim_version"),
        "git commit": m.get("git_commit") or "unknown",
        "seed": m.get("seed"),
        "command": shlex.join(command) if isinstance(command, list) else command,
        "started (UTC)": m.get("started"),
        "finished (UTC)": m.get("finished"),
        "wall time (s)": m.get("wall_time_s"),
        "replicates": m.get("replicates"),
        "python / numpy": f"{m.get('python')} / {m.get('numpy')}",
        "platform": m.get("platform"),
    }
    frame = pd.DataFrame(
        [(k, _fmt(v)) for k, v in rows.items() if v is not None], columns=["item", "value"]
    )
    return _section("provenance", "Provenance", _table(frame))


SECTIONS = (
    ("scenario", "Scenario"),
    ("sources", "Assumptions"),
    ("design", "Design"),
    ("results", "Results"),
    ("figures", "Figures"),
    ("sample-size", "Sample size"),
    ("monte-carlo", "Monte Carlo error"),
    ("literature", "Literature"),
    ("provenance", "Provenance"),
)


def render(found: Folder) -> str:
    """The report of a read folder as one HTML document."""
    name = found.scenario.name if found.scenario else found.path.name
    kind = "sweep" if found.sweep is not None else "run"
    sections = [
        _scenario_section(found),
        _sources_section(found),
        _design_section(found),
        _results_section(found),
        _figures_section(found),
        _sample_size_section(found),
        _monte_carlo_section(found),
        _literature_section(found),
        _provenance_section(found),
    ]
    present = [
        f'<a href="#{anchor}">{_e(label)}</a>'
        for (anchor, label), body in zip(SECTIONS, sections, strict=True)
        if body
    ]
    stamp = datetime.now().strftime("%Y-%m-%d %H:%M")
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>mssim report: {_e(name)}</title><style>{CSS}</style></head><body>"
        f"<header><h1>mssim report: {_e(name)}</h1>"
        f'<p class="note">Monte Carlo {kind} in <code>{_e(found.path)}</code>; report '
        f"written {_e(stamp)}.</p></header>"
        f"<nav>{''.join(present)}</nav>"
        + _summary(found)
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


def _interval(answer: dict[str, Any]) -> str:
    """The sample-size interval; an open upper end when not reached in the range examined."""
    high = answer["n_high"]
    if high is None:
        high = f"more than {answer.get('n_examined', answer['n_per_arm'])}"
    return f"{answer['n_low']} to {high}"
