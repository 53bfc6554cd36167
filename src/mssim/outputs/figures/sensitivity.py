"""The tornado figure: power with each assumption at the low and the high end of its range."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from mssim.outputs.figures.axes import require_columns, short_number, single_axes

#: Bar colours of the low and the high end (Okabe-Ito blue and vermillion).
LOW_COLOUR, HIGH_COLOUR = "#0072B2", "#D55E00"


def tornado(
    table: pd.DataFrame, base_power: float, top: int = 15, ax: Axes | None = None
) -> Figure:
    """Power with each field at its low and high end, the most influential at the top.

    Each row is one field of a sensitivity table, in its rank order (Morris
    ``mu_star``); its two bars run from the scenario's power to the power with
    that field at the low end (blue) and at the high end (orange) of its range,
    the other fields at their values.

    Args:
        table: Rows of :class:`mssim.montecarlo.sensitivity.Sensitivity.table`
            with ``field, value, low, high, power_low, power_high``, ranked.
        base_power: Power of the scenario as it is.
        top: Fields shown (the first ``top`` rows).
        ax: Axes to draw on; a new figure is created when ``None``.

    Returns:
        The figure holding the plot.

    Raises:
        ValueError: If a column is missing or the table is empty.
    """
    require_columns(table, ["field", "value", "low", "high", "power_low", "power_high"], "table")
    if table.empty:
        raise ValueError("the sensitivity table is empty")
    shown = table.head(top).iloc[::-1]
    fig, ax = single_axes(ax, (9.0, 0.42 * len(shown) + 1.6))
    y = np.arange(len(shown))
    for column, colour, end, name in (
        ("power_low", LOW_COLOUR, "low", "low end"),
        ("power_high", HIGH_COLOUR, "high", "high end"),
    ):
        ax.barh(
            y,
            shown[column] - base_power,
            left=base_power,
            height=0.38,
            align="edge" if end == "high" else "center",
            color=colour,
            label=f"field at the {name} of its range",
        )
    labels = [
        f"{row.field}  ({short_number(row.low)} to {short_number(row.high)})"
        for row in shown.itertuples()
    ]
    ax.set_yticks(y, labels, fontsize="small")
    ax.axvline(base_power, color="0.2", linewidth=1.0)
    ax.set_xlabel(f"power (scenario as it is: {base_power:.0%})")
    ax.set_xlim(0.0, 1.0)
    ax.set_title("Which assumptions move power (ranked by Morris mu*)")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="lower right", fontsize="small")
    return fig
