"""The sample-size answer: the search's, and the n read off each power curve."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from mssim.montecarlo.sample_size import n_needed
from mssim.outputs.figures.power import power_curve
from mssim.outputs.report.folder import Folder
from mssim.outputs.report.html import (
    cell_text,
    embedded_image,
    esc,
    html_table,
    png_bytes,
    section,
    setting_text,
)


def sample_size_section(found: Folder) -> str:
    """The search's answer (if any) and the n per arm read off each power curve."""
    target = found.target
    parts = []
    answer = found.sample_size
    if answer:
        if answer.get("n_per_arm") is None:
            parts.append(
                f'<div class="box answer"><p>No n per arm up to the search limit reaches '
                f"{esc(percent(answer['target']))} power.</p></div>"
            )
        else:
            parts.append(
                f'<div class="box answer"><p>Smallest n per arm with power at least '
                f"{esc(percent(answer['target']))}: <b>{esc(answer['n_per_arm'])}</b> (power "
                f"{esc(cell_text(answer['power']))} ± {esc(cell_text(answer['power_mcse']))} "
                f"MCSE, {esc(answer['replicates'])} replicate trials per n).</p><p>Monte Carlo "
                f"interval: <b>{esc(interval_text(answer))}</b>, the n where the upper and the "
                "lower Wilson bound of power reach the target.</p></div>"
            )
        if found.sample_curve is not None and len(found.sample_curve) > 1:
            parts.append(
                embedded_image(
                    png_bytes(power_curve(found.sample_curve, target=answer["target"])),
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
                **{k: setting_text(row[k]) for k in keys if k != "cell"},
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
            + html_table(pd.DataFrame(rows))
        )
    return section("sample-size", "Sample size", "".join(parts)) if parts else ""


def percent(value: Any) -> str:
    """A proportion as a whole percentage (a value that is not a number, as given)."""
    return f"{value:.0%}" if isinstance(value, int | float) else str(value)


def _n_text(n: float, max_n: float) -> str:
    """An n per arm read off a power curve, rounded up; ``> max`` when not reached."""
    return f"> {max_n:.0f}" if math.isnan(n) else f"{math.ceil(n)}"


def interval_text(answer: dict[str, Any]) -> str:
    """The sample-size interval; an open upper end when not reached in the range examined."""
    high = answer["n_high"]
    if high is None:
        high = f"more than {answer.get('n_examined') or answer['n_per_arm']}"
    return f"{answer['n_low']} to {high}"
