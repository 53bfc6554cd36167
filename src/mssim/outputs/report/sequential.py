"""The report's group-sequential section: boundaries, stopping and expected size."""

from __future__ import annotations

import pandas as pd

from mssim.outputs.report.folder import Folder
from mssim.outputs.report.html import embedded_image, html_table, plus_minus, section

FIGURES = (
    (
        "sequential_boundaries.png",
        "Planned efficacy (solid) and futility (dashed) boundaries with simulated z-paths, "
        "coloured by how each trial stopped; each path's own boundaries were recomputed "
        "from the information it had.",
    ),
    ("sequential_stopping.png", "Share of trials stopping at each look, for efficacy or futility."),
)


def sequential_section(found: Folder) -> str:
    """Boundaries, stopping probabilities, expected n and duration of a group-sequential run."""
    bounds = found.boundaries
    if bounds is None or found.power is None:
        return ""
    power = found.power
    stops = [c for c in power.columns if c.startswith("stop_")]
    summary = pd.DataFrame(
        {
            "analysis": power.analysis,
            "n/arm (max)": power.n_per_arm,
            "power": plus_minus(power, "power"),
            "expected n": plus_minus(power, "expected_n", 1),
            "max n": power.maximum_n,
            "expected weeks": plus_minus(power, "expected_weeks", 1),
            **{c.replace("stop_", "").replace("_look", " @"): power[c] for c in stops},
            "bias at stop": power.bias,
            "coverage at stop": power.coverage,
            "median-unbiased bias": plus_minus(power, "median_unbiased_bias"),
            "MUE below truth": plus_minus(power, "median_unbiased_below_truth"),
        }
    )
    body = (
        "<p>One-sided boundaries on the z scale for benefit (alpha is half the "
        "two-sided level). Interim looks are recomputed in each simulated trial from the "
        "information it had; these are the planned ones.</p>"
        + html_table(bounds)
        + "<p>Stopping probabilities per look, expected number randomized and calendar "
        "duration; bias and coverage are those of the naive estimate and interval at "
        "the look where the trial stopped; the median-unbiased estimate (stage-wise "
        "ordering) should fall below the true effect in half the trials.</p>"
        + html_table(summary, wide=True)
        + "".join(
            embedded_image((found.path / name).read_bytes(), caption)
            for name, caption in FIGURES
            if (found.path / name).is_file()
        )
    )
    return section("sequential", "Interim looks", body)
