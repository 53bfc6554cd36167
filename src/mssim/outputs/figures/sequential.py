"""Group-sequential figures: boundaries with simulated z-paths, and when trials stop.

Both read tables the Monte Carlo layer computed: ``boundaries.csv`` and the z-paths
of :func:`mssim.montecarlo.sequential.paths`, and the stopping columns of ``power.csv``.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from mssim.outputs.figures.axes import place_legend, require_columns, single_axes

#: How each replicate trial ended, and its colour.
ENDINGS = {"efficacy": "#1B7837", "futility": "#B2182B", "final": "#6A6A6A"}


def boundary_paths(paths: pd.DataFrame, boundaries: pd.DataFrame, ax: Axes | None = None) -> Figure:
    """Planned efficacy and futility boundaries with simulated z-paths.

    Each thin line is one simulated trial's z at its looks (x: the information it
    actually had), coloured by how it ended; the thick lines are the planned
    boundaries of the same design point. A path's own boundaries were recomputed
    from its observed information, so a path may end a little off the planned line.

    Args:
        paths: ``replicate, information_fraction, z, stop_kind, n_per_arm``.
        boundaries: ``n_per_arm, information_fraction, efficacy_z, futility_z``.
        ax: Axes to draw on; a new figure when ``None``.

    Returns:
        The figure.
    """
    require_columns(paths, ["replicate", "information_fraction", "z", "stop_kind", "n_per_arm"],
                    "z-paths")  # fmt: skip
    require_columns(boundaries, ["n_per_arm", "information_fraction", "efficacy_z", "futility_z"],
                    "boundaries")  # fmt: skip
    own = ax is None
    fig, ax = single_axes(ax, (7.0, 4.8))
    n = int(paths.n_per_arm.iloc[0])
    for _, path in paths.groupby("replicate"):
        kind = path.stop_kind.iloc[-1]
        ax.plot(path.information_fraction, path.z, color=ENDINGS[kind], lw=0.6, alpha=0.35,
                marker="o", ms=1.5)  # fmt: skip
    plan = boundaries[boundaries.n_per_arm == n]
    ax.plot(plan.information_fraction, plan.efficacy_z, color="black", lw=2.2, marker="s")
    if plan.futility_z.notna().any():
        ax.plot(plan.information_fraction, plan.futility_z, color="black", lw=2.2, ls="--",
                marker="s")  # fmt: skip
    ax.axhline(0, color="grey", lw=0.6)
    ax.set_xlim(0, 1.05)
    ax.set_xlabel("Information fraction (patients analysed / at the final analysis)")
    ax.set_ylabel("z for benefit (positive: fewer symptoms on treatment)")
    trials = paths.replicate.nunique()
    ax.set_title(f"Boundaries and {trials} simulated trials, {n} per arm at most")
    counts = paths.groupby("replicate").stop_kind.last().value_counts()
    handles = [
        Line2D([], [], color="black", lw=2.2, label="efficacy boundary (planned)"),
        Line2D([], [], color="black", lw=2.2, ls="--", label="futility boundary (planned)"),
        *[
            Line2D([], [], color=c, lw=1.2, label=f"stopped: {k} ({counts.get(k, 0)})")
            for k, c in ENDINGS.items()
        ],
    ]
    place_legend(fig, ax, own, handles=handles)
    return fig


def stopping(power: pd.DataFrame, ax: Axes | None = None) -> Figure:
    """Where and why the simulated trials stopped, per n per arm (stacked shares).

    Args:
        power: ``n_per_arm`` and ``stop_efficacy_look<k>``, ``stop_futility_look<k>``
            columns (one analysis).
        ax: Axes to draw on; a new figure when ``None``.

    Returns:
        The figure.
    """
    efficacy = sorted((c for c in power if re.fullmatch(r"stop_efficacy_look\d+", c)),
                      key=lambda c: int(c.rsplit("look", 1)[1]))  # fmt: skip
    futility = sorted((c for c in power if re.fullmatch(r"stop_futility_look\d+", c)),
                      key=lambda c: int(c.rsplit("look", 1)[1]))  # fmt: skip
    require_columns(power, ["n_per_arm"], "power frame")
    if not efficacy:
        raise ValueError("power frame has no stop_efficacy_look<k> columns")
    if "analysis" in power and power.analysis.nunique() > 1:
        raise ValueError("filter the power frame to one analysis before stopping()")
    own = ax is None
    fig, ax = single_axes(ax, (7.0, 4.6))
    x = np.arange(len(power))
    bottom = np.zeros(len(power))
    looks = len(efficacy)
    greens = ["#D9F0D3", "#A6DBA0", "#5AAE61", "#1B7837", "#00441B"][-looks:]
    reds = ["#FDDBC7", "#F4A582", "#D6604D", "#B2182B"][-max(len(futility), 1) :]
    handles = []
    for k, column in enumerate(futility):
        ax.bar(x, power[column], bottom=bottom, color=reds[k], width=0.6)
        bottom += power[column].to_numpy()
        handles.append(Patch(color=reds[k], label=f"futility at look {k + 1}"))
    for k, column in enumerate(efficacy):
        ax.bar(x, power[column], bottom=bottom, color=greens[k], width=0.6)
        bottom += power[column].to_numpy()
        handles.append(Patch(color=greens[k], label=f"efficacy at look {k + 1}"))
    ax.bar(x, 1 - bottom, bottom=bottom, color=ENDINGS["final"], width=0.6)
    handles.append(Patch(color=ENDINGS["final"], label=f"look {looks}: not significant"))
    ax.set_xticks(x, [str(n) for n in power.n_per_arm])
    ax.set_xlabel("Planned maximum n per arm")
    ax.set_ylabel("Share of simulated trials")
    ax.set_ylim(0, 1)
    ax.set_title("When and why the trials stopped")
    place_legend(fig, ax, own, handles=handles)
    return fig
