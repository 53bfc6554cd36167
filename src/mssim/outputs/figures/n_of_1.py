"""N-of-1 figure: power of a series of N-of-1 trials against patients, one line per cycles."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from mssim.outputs.figures.axes import (
    design_ticks,
    place_legend,
    reference_line,
    require_columns,
    shade_band,
    single_axes,
)


def power_by_cycles(power: pd.DataFrame, target: float = 0.8, ax: Axes | None = None) -> Figure:
    """Power against patients per series, one line per number of cycles per patient.

    Args:
        power: :func:`mssim.montecarlo.n_of_1.power_by_patients_and_cycles` rows (one
            analysis, endpoint and contrast) with ``cycles, patients, power,
            power_ci_low, power_ci_high``.
        target: Target power, drawn as a dashed line.
        ax: Axes to draw on; a new figure when ``None``.

    Returns:
        The figure.

    Raises:
        ValueError: If a required column is missing.
    """
    require_columns(
        power, ["cycles", "patients", "power", "power_ci_low", "power_ci_high"], "power frame"
    )
    own = ax is None
    fig, ax = single_axes(ax, (8.0, 4.5))
    levels = sorted(power["cycles"].unique())
    colours = colormaps["viridis"](np.linspace(0.0, 0.85, len(levels)))
    for colour, k in zip(colours, levels, strict=True):
        sub = power[power["cycles"] == k].sort_values("patients")
        x = sub["patients"].to_numpy(dtype=float)
        shade_band(ax, x, sub["power_ci_low"], sub["power_ci_high"], colour)
        ax.plot(x, sub["power"], color=colour, marker="o", label=f"{k} AB/BA cycles")
    reference_line(ax, target, f"target power {target:.0%}")
    ax.set_ylim(0.0, 1.0)
    ax.yaxis.set_major_formatter(lambda v, _pos: f"{v:.0%}")
    design_ticks(ax, power["patients"])
    ax.set_xlabel("Patients in the series")
    ax.set_ylabel("Power (share of replicates significant)")
    ax.set_title("Series of N-of-1 trials: power by patients and cycles (band: 95% Wilson)")
    ax.grid(alpha=0.3)
    place_legend(fig, ax, own)
    return fig
