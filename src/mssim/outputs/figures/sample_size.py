"""The sample-size curve: n per arm needed for the target power across a swept field."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from mssim.montecarlo.sample_size import n_needed
from mssim.outputs.figures.axes import (
    design_ticks,
    field_label,
    pick_rows,
    place_legend,
    require_columns,
    short_number,
    single_axes,
)
from mssim.outputs.figures.series import line_series


def sample_size_curve(
    sweep: pd.DataFrame,
    field: str,
    target: float = 0.8,
    contrast: str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Smallest n per arm reaching the target power, for each value of a swept field.

    For every value of ``field`` the power-vs-n curve on the grid is interpolated
    linearly (:func:`mssim.montecarlo.sample_size.n_needed`). The error bar runs from
    the n where the upper Wilson bound (``power_ci_high``) reaches the target to the n
    where the lower bound does.
    Values whose target is not reached within the grid are drawn as hollow markers on a
    dotted line at the largest simulated n, labelled "> max n"; an error bar whose upper
    end is beyond the grid stops at that line.

    Args:
        sweep: Sweep frame with ``contrast, n_per_arm, power, power_ci_low,
            power_ci_high`` and the swept column ``field``.
        field: Dotted name of the swept field for the x axis.
        target: Target power.
        contrast: Contrast to show; all contrasts (one series each) when ``None``.
        ax: Axes to draw on; a new figure is created when ``None``.

    Returns:
        The figure holding the plot.

    Raises:
        ValueError: If a column is missing, the contrast is absent, or another swept
            field varies too (several rows per value and n).
    """
    require_columns(
        sweep,
        ["contrast", "n_per_arm", "power", "power_ci_low", "power_ci_high", field],
        "sweep frame",
    )
    data = sweep if contrast is None else pick_rows(sweep, "contrast", contrast, None, "contrast")
    max_n = float(data["n_per_arm"].max())
    own = ax is None
    fig, ax = single_axes(ax, (8.0, 4.5))
    series = line_series(data)
    values = np.unique(data[field].to_numpy(dtype=float))
    step = float(np.min(np.diff(values))) if values.size > 1 else 1.0
    any_open = False
    for index, (key, sub, style) in enumerate(series):
        if sub.duplicated([field, "n_per_arm"]).any():
            raise ValueError(
                f"series {' / '.join(key)} has several rows per ({field}, n_per_arm); "
                "filter the other swept fields first"
            )
        table = n_needed(sub, [field], target).sort_values(field)
        x = table[field].to_numpy(dtype=float) + (index - (len(series) - 1) / 2) * 0.12 * step
        centre = table["n_per_arm"].fillna(max_n).to_numpy()
        low = table["n_low"].fillna(max_n).clip(upper=centre).to_numpy()
        high = table["n_high"].fillna(max_n).clip(lower=centre).to_numpy()
        label = " · ".join(key)
        ax.errorbar(
            x,
            centre,
            yerr=[centre - low, high - centre],
            color=style["color"],
            linestyle="none",
            capsize=3,
            elinewidth=1.2,
            zorder=2,
        )
        reached = table["n_per_arm"].notna().to_numpy()
        ax.plot(
            x[reached],
            centre[reached],
            color=style["color"],
            marker=style["marker"],
            linestyle=style["linestyle"],
            markersize=6,
            label=label,
            zorder=3,
        )
        if (~reached).any():
            any_open = True
            ax.plot(
                x[~reached],
                centre[~reached],
                linestyle="none",
                marker=style["marker"],
                markersize=7,
                markerfacecolor="white",
                markeredgecolor=style["color"],
                markeredgewidth=1.5,
                zorder=3,
                clip_on=False,
                gid="not-reached",
            )
    if any_open:
        ax.axhline(max_n, color="0.5", linestyle=":", linewidth=1.0, zorder=1)
        ax.annotate(
            f"> max n ({short_number(max_n)})",
            xy=(1.0, max_n),
            xycoords=("axes fraction", "data"),
            xytext=(-4, 7),
            textcoords="offset points",
            ha="right",
            fontsize="small",
            color="0.3",
        )
        ax.plot(
            [],
            [],
            linestyle="none",
            marker="o",
            markerfacecolor="white",
            markeredgecolor="0.3",
            label=f"target not reached (n > {short_number(max_n)})",
        )
    ax.set_ylim(0.0, max_n * 1.15)
    ax.set_xlabel(field_label(field))
    ax.set_ylabel("n per arm needed")
    ax.set_title(
        f"Sample size for {target:.0%} power (bars: where the Wilson bounds reach {target:.0%})"
    )
    design_ticks(ax, values)
    ax.grid(alpha=0.3)
    place_legend(fig, ax, own)
    return fig
