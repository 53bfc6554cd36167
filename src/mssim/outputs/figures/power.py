"""Power figures: the power curve over n per arm, and the heatmap over two swept fields."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib import colormaps, patheffects
from matplotlib.axes import Axes
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from mssim.outputs.figures.axes import (
    SCORE_UNITS,
    design_ticks,
    field_label,
    pick_rows,
    place_legend,
    reference_line,
    require_columns,
    shade_band,
    short_number,
    single_axes,
)
from mssim.outputs.figures.series import check_one_row_per_n, effect_suffix, line_series


def power_curve(power: pd.DataFrame, target: float = 0.8, ax: Axes | None = None) -> Figure:
    """Power against n per arm, one line per contrast (and analysis/endpoint if varied).

    Each line has markers at the simulated design points and a shaded Wilson interval
    (``power_ci_low`` to ``power_ci_high``); a dashed line marks the target power.

    Args:
        power: Power frame with at least ``contrast, n_per_arm, power, power_ci_low,
            power_ci_high``; ``true_effect`` (shown in the legend), ``analysis`` and
            ``endpoint`` are used when present.
        target: Target power drawn as a dashed horizontal line.
        ax: Axes to draw on; a new figure is created when ``None``.

    Returns:
        The figure holding the plot.

    Raises:
        ValueError: If a required column is missing or a series has two rows at one n.
    """
    require_columns(
        power, ["contrast", "n_per_arm", "power", "power_ci_low", "power_ci_high"], "power frame"
    )
    own = ax is None
    fig, ax = single_axes(ax, (8.0, 4.5))
    for key, sub, style in line_series(power):
        check_one_row_per_n(sub, key, "filter a sweep to one scenario before power_curve")
        suffix = effect_suffix(sub) if "true_effect" in sub else ""
        x = sub["n_per_arm"].to_numpy(dtype=float)
        shade_band(ax, x, sub["power_ci_low"], sub["power_ci_high"], style["color"])
        ax.plot(
            x,
            sub["power"].to_numpy(dtype=float),
            label=" · ".join(key) + suffix,
            markersize=5,
            clip_on=False,
            zorder=3,
            **style,
        )
    reference_line(ax, target, f"target power {target:.0%}")
    ax.set_ylim(0.0, 1.0)
    ax.yaxis.set_major_formatter(lambda v, _pos: f"{v:.0%}")
    design_ticks(ax, power["n_per_arm"])
    ax.set_xlabel("n per arm (patients randomised)")
    ax.set_ylabel("Power (share of replicates significant)")
    ax.set_title("Power by sample size (band: 95% Wilson interval)")
    ax.grid(alpha=0.3)
    with_effect = "true_effect" in power and power["true_effect"].notna().any()
    place_legend(fig, ax, own, title=f"true effect in {SCORE_UNITS}" if with_effect else None)
    return fig


def power_heatmap(
    sweep: pd.DataFrame,
    x: str,
    y: str,
    n_per_arm: float | None = None,
    contrast: str | None = None,
    target: float = 0.8,
    ax: Axes | None = None,
) -> Figure:
    """Power over two swept scenario fields at one sample size, cells annotated.

    The swept values are shown as an evenly spaced grid (labelled with their values).
    A white contour follows the target power; on a coarse grid (fewer than 4 values
    on either axis), where a contour between cell centres misleads, the cells
    reaching the target are outlined instead.

    Args:
        sweep: Sweep frame: a power frame plus the swept columns ``x`` and ``y``.
        x: Dotted name of the swept field for the horizontal axis.
        y: Dotted name of the swept field for the vertical axis.
        n_per_arm: Sample size to show; defaults to the largest in the frame.
        contrast: Contrast to show; defaults to the first in the frame.
        target: Target power for the contour.
        ax: Axes to draw on; a new figure is created when ``None``.

    Returns:
        The figure holding the heatmap and its colour bar.

    Raises:
        ValueError: If a column is missing, the chosen n or contrast is absent, or a
            cell has several rows (filter other swept fields or analyses first).
    """
    require_columns(sweep, ["contrast", "n_per_arm", "power", x, y], "sweep frame")
    data = pick_rows(sweep, "contrast", contrast, sweep["contrast"].iloc[0], "contrast")
    chosen_contrast = str(data["contrast"].iloc[0])
    data = pick_rows(data, "n_per_arm", n_per_arm, data["n_per_arm"].max(), "n_per_arm")
    chosen_n = float(data["n_per_arm"].iloc[0])
    if data.duplicated([x, y]).any():
        raise ValueError(
            f"several rows per ({x}, {y}) cell at n_per_arm={short_number(chosen_n)}; "
            "filter the other swept fields, analyses or endpoints first"
        )
    grid = data.pivot(index=y, columns=x, values="power").sort_index().sort_index(axis=1)
    z = np.ma.masked_invalid(grid.to_numpy(dtype=float))

    own = ax is None
    fig, ax = single_axes(ax, (7.0, 5.2))
    cmap = colormaps["viridis"].with_extremes(bad="0.85")
    image = ax.imshow(z, origin="lower", cmap=cmap, vmin=0.0, vmax=1.0, aspect="auto")
    for (row, col), value in np.ndenumerate(grid.to_numpy(dtype=float)):
        if not np.isfinite(value):
            continue
        background = cmap(value)
        light = np.dot(to_rgb(background), (0.299, 0.587, 0.114)) > 0.5
        ax.text(
            col,
            row,
            f"{value:.2f}",
            ha="center",
            va="center",
            fontsize="small",
            color="black" if light else "white",
            gid="power-cell",
            zorder=4,
            bbox={"boxstyle": "square,pad=0.15", "facecolor": background, "linewidth": 0},
        )

    outline = [patheffects.withStroke(linewidth=3.5, foreground="black")]
    target_label = f"power = {target:.0%}"
    crosses = z.count() > 0 and z.min() < target <= z.max()
    if crosses and min(z.shape) >= 4:
        contour = ax.contour(
            np.arange(z.shape[1]),
            np.arange(z.shape[0]),
            z,
            levels=[target],
            colors="white",
            linewidths=2.0,
        )
        contour.set(path_effects=outline)
        handle: Any = Line2D(
            [], [], color="white", linewidth=2.0, path_effects=outline, label=target_label
        )
    else:
        for (row, col), value in np.ndenumerate(z.filled(np.nan)):
            if np.isfinite(value) and value >= target:
                ax.add_patch(
                    Rectangle(
                        (col - 0.5, row - 0.5),
                        1,
                        1,
                        fill=False,
                        edgecolor="white",
                        linewidth=2.0,
                        path_effects=outline,
                    )
                )
        reached = bool(z.count() > 0 and z.max() >= target)
        handle = Patch(
            facecolor="none",
            edgecolor="black",
            label=f"power ≥ {target:.0%}" if reached else f"{target_label} not reached",
        )
    ax.set_xticks(range(grid.shape[1]), [short_number(v) for v in grid.columns])
    ax.set_yticks(range(grid.shape[0]), [short_number(v) for v in grid.index])
    ax.set_xlabel(field_label(x))
    ax.set_ylabel(field_label(y))
    ax.set_title(f"Power at n = {short_number(chosen_n)} per arm · {chosen_contrast}")
    fig.colorbar(image, ax=ax, label="Power (share of replicates significant)", shrink=0.9)
    place_legend(fig, ax, own, handles=[handle])
    return fig
