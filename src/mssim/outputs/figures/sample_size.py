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
    end is beyond the grid stops at that line. Values whose target is already reached at
    the smallest simulated n are drawn as hollow downward triangles at that n ("<= min
    n"): neither edge is drawn as if it were a point estimate. A categorical field
    (text values, e.g. ``dropout.mechanism``) gets one x position per value, in order.

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
    min_n = float(data["n_per_arm"].min())
    own = ax is None
    fig, ax = single_axes(ax, (8.0, 4.5))
    series = line_series(data)
    numeric = pd.api.types.is_numeric_dtype(data[field]) and not pd.api.types.is_bool_dtype(
        data[field]
    )
    categories = [] if numeric else list(dict.fromkeys(data[field]))

    def position(column: pd.Series) -> np.ndarray:
        if numeric:
            return column.to_numpy(dtype=float)
        return column.map({c: i for i, c in enumerate(categories)}).to_numpy(dtype=float)

    values = np.unique(position(data[field]))
    step = float(np.min(np.diff(values))) if values.size > 1 else 1.0
    any_open = any_low = False
    for index, (key, sub, style) in enumerate(series):
        if sub.duplicated([field, "n_per_arm"]).any():
            raise ValueError(
                f"series {' / '.join(key)} has several rows per ({field}, n_per_arm); "
                "filter the other swept fields first"
            )
        table = n_needed(sub, [field], target)
        table = table.assign(x=position(table[field])).sort_values("x")
        x = table["x"].to_numpy() + (index - (len(series) - 1) / 2) * 0.12 * step
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
        at_min = reached & (table["n_per_arm"] <= min_n).to_numpy()
        inside = reached & ~at_min
        ax.plot(
            x[inside],
            centre[inside],
            color=style["color"],
            marker=style["marker"],
            linestyle=style["linestyle"],
            markersize=6,
            label=label,
            zorder=3,
        )
        if at_min.any():
            any_low = True
            _hollow(ax, x[at_min], centre[at_min], "v", style["color"], "at-smallest-n")
        if (~reached).any():
            any_open = True
            _hollow(
                ax, x[~reached], centre[~reached], style["marker"], style["color"], "not-reached"
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
        _legend_entry(ax, "o", f"target not reached (n > {short_number(max_n)})")
    if any_low:
        _legend_entry(ax, "v", f"reached at the smallest n simulated (n <= {short_number(min_n)})")
    ax.set_ylim(0.0, max_n * 1.15)
    ax.set_xlabel(field_label(field))
    ax.set_ylabel("n per arm needed")
    ax.set_title(
        f"Sample size for {target:.0%} power (bars: where the Wilson bounds reach {target:.0%})"
    )
    if numeric:
        design_ticks(ax, values)
    else:
        ax.set_xticks(range(len(categories)), [str(c) for c in categories])
    ax.grid(alpha=0.3)
    place_legend(fig, ax, own)
    return fig


def _hollow(ax: Axes, x: np.ndarray, y: np.ndarray, marker: str, colour: str, gid: str) -> None:
    """Hollow markers for answers at an edge of the simulated sizes (bounds, not points)."""
    ax.plot(
        x,
        y,
        linestyle="none",
        marker=marker,
        markersize=8 if marker == "v" else 7,
        markerfacecolor="white",
        markeredgecolor=colour,
        markeredgewidth=1.5,
        zorder=3,
        clip_on=False,
        gid=gid,
    )


def _legend_entry(ax: Axes, marker: str, label: str) -> None:
    """A grey hollow marker in the legend explaining one kind of edge answer."""
    ax.plot(
        [], [], linestyle="none", marker=marker, markerfacecolor="white",
        markeredgecolor="0.3", label=label,
    )  # fmt: skip
