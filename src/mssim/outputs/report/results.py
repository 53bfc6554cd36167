"""The summary box, the design of the Monte Carlo study, its results and their Monte Carlo error."""

from __future__ import annotations

import math

import pandas as pd

from mssim.errors import MssimError
from mssim.outputs.report.breakdown import breakdown_table
from mssim.outputs.report.folder import Folder
from mssim.outputs.report.html import (
    bullets,
    cell_text,
    esc,
    html_table,
    plus_minus,
    section,
    setting_text,
)
from mssim.outputs.report.sample_size import headline_box
from mssim.trial.estimands import EFFECT_MEASURES


def primary_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows of the first analysis, endpoint and contrast."""
    first = frame.iloc[0]
    keep = (
        (frame.analysis == first.analysis)
        & (frame.endpoint == first.endpoint)
        & (frame.contrast == first.contrast)
    )
    return frame[keep]


def units_of(found: Folder, row: pd.Series) -> str:
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


def summary_box(found: Folder) -> str:
    """The boxes at the top: the sample-size answer, then the contrast and the power."""
    results = found.results
    if results is None:
        return ""
    rows = primary_rows(results)
    first = rows.iloc[0]
    units = units_of(found, first)
    lines = [
        f"<p>Contrast <b>{esc(first.contrast)}</b> on <b>{esc(first.endpoint)}</b> "
        f"({esc(first.analysis)}). Effects are treatment minus comparator; a negative "
        "effect means fewer symptoms.</p>"
    ]
    if found.sweep is None:
        top = rows.iloc[-1]
        text = (
            f"<p>The model's true effect is <b>{esc(cell_text(top.true_effect))}</b> {esc(units)}. "
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
    return headline_box(found.sample_size) + '<div class="box">' + "".join(lines) + "</div>"


def design_section(found: Folder) -> str:
    """Sizes, replicates, analyses, target power and, for a sweep, its grid."""
    results = found.results
    if results is None:
        return ""
    reps = int(results.replicates.iloc[0])
    n_values = ", ".join(str(int(n)) for n in sorted(results.n_per_arm.unique()))
    seed = found.manifest.get("seed", "unknown")
    items = [
        f"<b>Sizes simulated:</b> n per arm = {esc(n_values)}. The patients of a smaller trial "
        "are the first patients of the larger one, so the power curve is smooth.",
        f"<b>Replicate trials:</b> {reps} per design point, from root seed {esc(seed)}.",
        f"<b>Analyses:</b> {esc(', '.join(results.analysis.unique()))}; endpoints: "
        f"{esc(', '.join(results.endpoint.unique()))}.",
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
            f"<b>Sweep:</b> {found.sweep.cell.nunique()} cells, {esc(how)}. Common random "
            "numbers: every cell uses the same seed, so replicate r draws the same noise in "
            "every cell and differences between cells are not Monte Carlo noise."
        )
        grid = pd.DataFrame(
            {"swept field": list(found.grid), "values": [cell_text(v) for v in found.grid.values()]}
        )
        return section("design", "The design", bullets(items) + html_table(grid))
    return section("design", "The design", bullets(items))


def results_section(found: Folder) -> str:
    """One row per design point (and cell): power, bias, coverage, type S, exaggeration."""
    results = found.results
    if results is None:
        return ""
    fields = [c for c in found.grid if c in results.columns]
    keys = [c for c in ("analysis", "endpoint", "contrast") if results[c].nunique() > 1]
    table = results[[*fields, *keys]].copy()
    table[fields] = table[fields].map(setting_text)
    table["n/arm"] = results.n_per_arm.astype(int)
    table["power ± MCSE"] = plus_minus(results, "power")
    table["true effect"] = results.true_effect
    table["bias ± MCSE"] = plus_minus(results, "bias")
    table["RMSE"] = results.rmse
    table["coverage ± MCSE"] = plus_minus(results, "coverage", digits=2)
    table["type S ± MCSE"] = plus_minus(results, "type_s", digits=2)
    table["exaggeration ± MCSE"] = plus_minus(results, "exaggeration", digits=2)
    table["dropout"] = results.dropout_fraction
    first = results.iloc[0]
    body = (
        f"<p>One row per design point{' and cell' if fields else ''}"
        f"{' (first contrast: ' + esc(first.contrast) + ')' if 'contrast' not in keys else ''}. "
        f"Effects in {esc(units_of(found, first))}, treatment minus comparator. "
        "Type S: share of significant results with the wrong sign. Exaggeration: mean "
        "|estimate| of significant results over |true effect|. Wilson intervals of power are "
        "drawn as bands in the power curve and listed in the CSV.</p>"
        + html_table(table, wide=True)
        + breakdown_table(results, units_of(found, first))
    )
    return section("results", "Results", body)


def monte_carlo_section(found: Folder) -> str:
    """How precise the Monte Carlo estimates are."""
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
    if found.sample_size and found.sample_curve is not None:
        text += (
            "<p>The sample-size search used "
            f"{esc(found.sample_size['replicates'])} replicate trials per n near the answer.</p>"
        )
    text += (
        '<p class="note">This is the error of the simulation only. It says nothing about '
        "whether the model is right: the assumptions listed above matter more.</p>"
    )
    return section("monte-carlo", "Monte Carlo error", text)
