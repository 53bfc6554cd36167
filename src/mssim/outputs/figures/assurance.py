"""Assurance figure: assurance beside power, power by true effect, the predictive estimate.

Assurance is shown next to power at the priors' centre; power against the true
effect drawn from the priors; and the prior predictive distribution of the estimate.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from mssim.outputs.figures.axes import (
    SCORE_UNITS,
    axes_grid,
    design_ticks,
    place_legend,
    require_columns,
    shade_band,
)
from mssim.outputs.figures.series import line_series

_LINESTYLES = ("-", "--", ":", "-.")


def assurance_figure(
    table: pd.DataFrame, curve: pd.DataFrame, ax: Sequence[Axes] | None = None
) -> Figure:
    """Assurance and power against n, power by true effect, predictive estimate against n.

    Args:
        table: Assurance table (:func:`mssim.montecarlo.assurance.summarize_assurance`)
            with ``power_at_centre`` and its Wilson interval
            (:func:`mssim.montecarlo.assurance.next_to_power`).
        curve: Power by bin of the true effect.
        ax: Three axes to draw on; a new figure when ``None``.

    Returns:
        The figure.

    Raises:
        ValueError: If a required column is missing.
    """
    require_columns(
        table,
        [
            *("contrast", "n_per_arm", "assurance", "assurance_ci_low", "assurance_ci_high"),
            *("power_at_centre", "power_at_centre_ci_low", "power_at_centre_ci_high"),
            *("estimate_q2.5", "estimate_q25", "estimate_q50", "estimate_q75", "estimate_q97.5"),
        ],
        "assurance table",
    )
    require_columns(
        curve, ["contrast", "n_per_arm", "true_effect", "power", "power_mcse"], "assurance curve"
    )
    fig, (left, middle, right) = axes_grid(ax, 3, ncols=3, panel_size=(5.0, 4.2))
    for key, sub, style in line_series(table):
        x = sub["n_per_arm"].to_numpy(dtype=float)
        label = " · ".join(key)
        shade_band(left, x, sub["assurance_ci_low"], sub["assurance_ci_high"], style["color"])
        left.plot(x, sub["assurance"], label=f"{label}: assurance", **style)
        shade_band(left, x, sub["power_at_centre_ci_low"], sub["power_at_centre_ci_high"], "0.5")
        left.plot(
            x,
            sub["power_at_centre"],
            label=f"{label}: power at the prior centre",
            color="0.35",
            linestyle="--",
            marker=style["marker"],
        )
        _predictive(right, sub, style["color"])
    left.set_ylim(0.0, 1.0)
    left.yaxis.set_major_formatter(lambda v, _pos: f"{v:.0%}")
    design_ticks(left, table["n_per_arm"])
    left.set_xlabel("n per arm")
    left.set_ylabel("Probability of success")
    left.set_title("Assurance and power at the prior centre\n(band: 95% Wilson interval)")
    left.grid(alpha=0.3)
    _power_by_truth(middle, curve)
    design_ticks(right, table["n_per_arm"])
    right.axhline(0.0, color="0.25", linewidth=0.8)
    right.set_xlabel("n per arm")
    right.set_ylabel(f"Estimate ({SCORE_UNITS})")
    right.set_title(
        "Prior predictive distribution of the estimate\n(box 25-75%, whiskers 2.5-97.5%)"
    )
    right.grid(alpha=0.3)
    place_legend(fig, left, ax is None)
    return fig


def _power_by_truth(ax: Axes, curve: pd.DataFrame) -> None:
    sizes = sorted(curve["n_per_arm"].unique())
    colours = colormaps["viridis"](np.linspace(0.0, 0.85, len(sizes)))
    contrasts = list(dict.fromkeys(curve["contrast"]))
    for (contrast, n), sub in curve.groupby(["contrast", "n_per_arm"], sort=False):
        sub = sub.sort_values("true_effect")
        ax.errorbar(
            sub["true_effect"],
            sub["power"],
            yerr=2 * sub["power_mcse"],
            color=colours[sizes.index(n)],
            linestyle=_LINESTYLES[contrasts.index(contrast) % len(_LINESTYLES)],
            marker="o",
            markersize=4,
            capsize=2,
            label=f"n {n}" + (f" · {contrast}" if len(contrasts) > 1 else ""),
        )
    ax.set_ylim(0.0, 1.0)
    ax.yaxis.set_major_formatter(lambda v, _pos: f"{v:.0%}")
    ax.set_xlabel(f"True effect ({SCORE_UNITS}; bins of replicates)")
    ax.set_ylabel("Power (share of replicates significant)")
    ax.set_title("Power by the true effect drawn from the prior\n(bars: 2 MCSE)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")


def _predictive(ax: Axes, sub: pd.DataFrame, colour: str) -> None:
    x = sub["n_per_arm"].to_numpy(dtype=float)
    width = 0.35 * (np.diff(x).min() if len(x) > 1 else 10.0)
    for xi, (_, row) in zip(x, sub.iterrows(), strict=True):
        ax.vlines(xi, row["estimate_q2.5"], row["estimate_q97.5"], color=colour, linewidth=1)
        low, high = row["estimate_q25"], row["estimate_q75"]
        box = Rectangle((xi - width / 2, low), width, high - low, facecolor=colour, alpha=0.35)
        ax.add_patch(box)
        ax.hlines(row["estimate_q50"], xi - width / 2, xi + width / 2, color="black", linewidth=1.2)
