"""Type S error rate and exaggeration ratio (type M) against n per arm, read from a power frame."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from mssim.outputs.figures.axes import (
    axes_grid,
    design_ticks,
    place_legend,
    reference_line,
    require_columns,
)
from mssim.outputs.figures.series import check_one_row_per_n, line_series


def error_rates(power: pd.DataFrame, ax: Sequence[Axes] | None = None) -> Figure:
    """Type S error rate and exaggeration ratio against n per arm, with ±2 MCSE bars.

    Left panel: share of significant results with the wrong sign. Right panel: mean
    |estimate| among significant results over |true effect|, with a reference line at 1
    (no exaggeration). Points where no replicate was significant (NaN) are left out.

    Args:
        power: Power frame with ``contrast, n_per_arm, type_s, type_s_mcse,
            exaggeration, exaggeration_mcse`` (``analysis``/``endpoint`` optional).
        ax: Two Axes (type S, exaggeration); a new side-by-side figure when ``None``.

    Returns:
        The figure holding both panels.

    Raises:
        ValueError: If a column is missing or ``ax`` is not a sequence of two Axes.
    """
    require_columns(
        power,
        ["contrast", "n_per_arm", "type_s", "type_s_mcse", "exaggeration", "exaggeration_mcse"],
        "power frame",
    )
    own = ax is None
    fig, (ax_s, ax_m) = axes_grid(ax, 2, ncols=2, panel_size=(5.6, 4.3), sharex=True)
    panels = (
        (ax_s, "type_s", "Type S error rate\n(share of significant with wrong sign)", "Type S"),
        (
            ax_m,
            "exaggeration",
            "Exaggeration ratio (type M)\n(mean |sig. estimate| / |true effect|)",
            "Exaggeration",
        ),
    )
    series = line_series(power)
    for panel, column, ylabel, title in panels:
        finite = nonzero = 0
        for key, sub, style in series:
            check_one_row_per_n(sub, key, "filter a sweep to one scenario before error_rates")
            values = sub[column].to_numpy(dtype=float)
            finite += int(np.isfinite(values).sum())
            nonzero += int((np.isfinite(values) & (values != 0)).sum())
            panel.errorbar(
                sub["n_per_arm"].to_numpy(dtype=float),
                values,
                yerr=2.0 * sub[f"{column}_mcse"].to_numpy(dtype=float),
                label=" · ".join(key),
                capsize=3,
                markersize=5,
                **style,
            )
        if finite == 0:
            panel.text(
                0.5,
                0.5,
                "no significant results at any n",
                transform=panel.transAxes,
                ha="center",
                va="center",
                color="0.4",
            )
        elif column == "type_s" and nonzero == 0:
            # every point on 0: lift the axis off them and say so, rather than an empty frame
            panel.set_ylim(-0.01, 0.1)
            panel.text(
                0.5,
                0.55,
                "type S = 0 at every n:\nno significant result had the wrong sign",
                transform=panel.transAxes,
                ha="center",
                va="center",
                color="0.3",
                gid="type-s-all-zero",
            )
        panel.set_xlabel("n per arm (patients randomised)")
        panel.set_ylabel(ylabel)
        panel.set_title(f"{title} vs sample size (bars: ±2 MCSE)")
        panel.grid(alpha=0.3)
        design_ticks(panel, power["n_per_arm"])
    if ax_s.get_ylim()[0] > -0.01:  # not lifted off an all-zero panel above
        ax_s.set_ylim(bottom=0.0)
    reference_line(ax_m, 1.0, "no exaggeration (ratio 1)")
    ax_m.set_ylim(bottom=0.0)
    ax_m.set_ylim(top=max(ax_m.get_ylim()[1], 1.5))
    place_legend(fig, ax_m, own)
    return fig
