"""The sample-size answer: a run's one headline, or the n read off each cell of a sweep."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from mssim.montecarlo.sample_size import n_needed
from mssim.outputs.figures.power import power_curve
from mssim.outputs.report.folder import Folder
from mssim.outputs.report.html import (
    bullets,
    embedded_image,
    esc,
    html_table,
    png_bytes,
    section,
    setting_text,
)


def headline_box(answer: dict[str, Any] | None) -> str:
    """The one sample-size answer of a run, for the top of the report ('' without one)."""
    if not answer:  # checked on reading (outputs.report.inputs.SampleSizeFile)
        return ""
    target = f"{answer['target']:.0%}"
    low, high = answer["n_examined"]
    if answer["n_per_arm"] is None:
        lines = [
            f"<p>Sample size for {target} power: <b>n per arm {esc(answer['n_text'])}</b>. "
            f"Power reaches only {answer['power']:.3f} ± {answer['power_mcse']:.3f} MCSE at "
            f"{high:d} per arm, the largest n examined; this is a lower bound, not an answer.</p>"
        ]
    else:
        lines = [
            f"<p>Sample size for {target} power: <b>n per arm {esc(answer['n_text'])}</b>, "
            f"<b>total N to randomize {answer['total_n']:d}</b>, expected number analysed "
            f"<b>{answer['expected_analysed']:.0f}</b> (primary contrast, after dropout).</p>"
            f"<p>Monte Carlo interval: <b>{esc(answer['interval_text'])}</b> (where the upper "
            "and the lower Wilson bound of power reach the target). Power reached: "
            f"<b>{answer['power']:.3f}</b> ± {answer['power_mcse']:.3f} MCSE "
            f"({answer['replicates']:d} replicate trials).</p>"
        ]
        if answer["edge"]:
            lines.append(
                f"<p>The target is already reached at {low:d} per arm, the smallest n "
                "examined: the answer is at most that, not a point estimate.</p>"
            )
    lines.append(f'<p class="note">{esc(answer["method"])}</p>')
    return '<div class="box answer">' + "".join(lines) + "</div>"


def sample_size_section(found: Folder) -> str:
    """A run's search curve (with ``--solve-n``), or the n per arm read off each sweep cell."""
    parts = []
    answer = found.sample_size
    if answer and found.sample_curve is not None and len(found.sample_curve) > 1:
        parts.append(
            "<p>The answer at the top of the report comes from this search.</p>"
            + embedded_image(
                png_bytes(power_curve(found.sample_curve, target=answer["target"])),
                "Power at every n near the answer (the search's fine pass).",
            )
        )
    elif answer:
        parts.append(
            "<p>The answer at the top of the report is read off the power curve of the "
            "Figures section. For an answer from simulating every n near it, use "
            "<code>mssim run --solve-n</code>.</p>"
        )
    if found.crosscheck:
        parts.append(crosscheck_box(found.crosscheck))
    if found.sweep is not None:
        parts.append(_sweep_table(found))
    return section("sample-size", "Sample size", "".join(parts)) if parts else ""


def crosscheck_box(check: dict[str, Any]) -> str:
    """The closed-form ANCOVA n for the simulated effect, the ratio and why they differ."""
    ratio = (
        f" The simulated answer is <b>{check['ratio']:.2f}</b> times the closed form."
        if check["ratio"]
        else ""
    )
    return (
        '<div class="box"><p><b>Analytic cross-check.</b> Measured on '
        f"{check['replicates']} simulated trials of {check['n_per_arm']} per arm: true effect "
        f"{check['effect']:.3g} points, outcome SD {check['outcome_sd']:.3g} within arm, "
        f"baseline-outcome correlation r = {check['correlation']:.2f}, "
        f"{check['dropout']:.0%} not analysed. The ANCOVA closed form "
        "2 (z<sub>1-&alpha;/2</sub> + z<sub>1-&beta;</sub>)<sup>2</sup> "
        "&sigma;<sup>2</sup> (1 - r<sup>2</sup>) / &delta;<sup>2</sup>, inflated by "
        f"1 / (1 - dropout), gives <b>{check['n_formula']}</b> per arm; with the t "
        f"distribution (statsmodels TTestIndPower) <b>{check['n_ttest']}</b>.{ratio}</p>"
        + bullets([esc(reason) for reason in check["reasons"]])
        + "</div>"
    )


def _sweep_table(found: Folder) -> str:
    """The n per arm reaching the target in every cell of a sweep."""
    results = found.sweep
    target = found.target
    fields = [c for c in found.grid if c in results.columns]
    first = results.iloc[0]
    data = results[results.endpoint == first.endpoint]  # one analysis per cell
    keys = ["cell", *fields, "contrast"]
    low_edge = float(data.n_per_arm.min())
    rows = [
        {
            **{k: setting_text(row[k]) for k in keys if k != "cell"},
            "n per arm": _n_text(row["n_per_arm"], low_edge, row["max_n"]),
            "interval": f"{_n_text(row['n_low'], low_edge, row['max_n'])} to "
            f"{_n_text(row['n_high'], low_edge, row['max_n'])}",
        }
        for row in n_needed(data, keys, target).to_dict("records")
    ]
    return (
        f"<p>Each cell's n per arm for {target:.0%} power, read from its power curve by "
        "linear interpolation between the simulated sizes, and where the upper and lower "
        "Wilson bounds reach it (rounded up; '&gt; n': not reached at the largest n "
        "simulated; '&lt;= n': already reached at the smallest).</p>"
        + html_table(pd.DataFrame(rows))
    )


def _n_text(n: float, min_n: float, max_n: float) -> str:
    """An n per arm read off a power curve, rounded up, with the edges of the sizes flagged."""
    if math.isnan(n):
        return f"> {max_n:.0f}"
    return f"<= {min_n:.0f}" if n <= min_n else f"{math.ceil(n)}"
