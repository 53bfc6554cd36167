"""The distribution of replicate estimates, significant ones stacked on top."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from mssim.montecarlo.power import type_s_and_exaggeration
from mssim.outputs.figures.axes import SCORE_UNITS, place_legend, short_number, single_axes
from mssim.outputs.figures.style import OKABE_ITO

_NOT_SIGNIFICANT = "#A0A0A0"


def estimate_distribution(
    estimates: Sequence[float] | np.ndarray,
    significant: Sequence[bool] | np.ndarray,
    true_effect: float,
    ax: Axes | None = None,
    label: str = f"estimate ({SCORE_UNITS})",
) -> Figure:
    """Histogram of replicate estimates with the significant ones stacked on top.

    Vertical lines mark the true effect and zero; a text box gives the share
    significant, the type S error rate (share of significant estimates whose sign
    differs from the true effect) and the exaggeration ratio (mean |estimate| among
    significant over |true effect|). Both are "n/a" when nothing is significant or the
    true effect is 0. Non-finite estimates are dropped.

    Args:
        estimates: Effect estimate of each replicate (1-D).
        significant: Whether each replicate was significant (1-D, same length).
        true_effect: The simulated true effect.
        ax: Axes to draw on; a new figure is created when ``None``.
        label: The x-axis label, with units.

    Returns:
        The figure holding the histogram.

    Raises:
        ValueError: If the arrays are not 1-D of the same length or ``true_effect`` is
            not finite.
    """
    est = np.asarray(estimates, dtype=float)
    sig = np.asarray(significant, dtype=bool)
    if est.ndim != 1 or sig.shape != est.shape:
        raise ValueError(
            f"estimates and significant must be 1-D of the same length, got shapes "
            f"{est.shape} and {sig.shape}"
        )
    if not np.isfinite(true_effect):
        raise ValueError(f"true_effect must be a finite number, got {true_effect!r}")
    keep = np.isfinite(est)
    est, sig = est[keep], sig[keep]
    n_sig = int(sig.sum())
    summary = {
        "n": est.size,
        "n_significant": n_sig,
        "share_significant": n_sig / est.size if est.size else math.nan,
        **type_s_and_exaggeration(est[sig], float(true_effect)),
    }

    own = ax is None
    fig, ax = single_axes(ax, (8.0, 4.5))
    span = np.concatenate([est, [0.0, float(true_effect)]])
    edges = np.histogram_bin_edges(
        est if est.size else span, bins="auto", range=(span.min(), span.max()) if est.size else None
    )
    if edges.size > 61:
        edges = np.linspace(edges[0], edges[-1], 61)
    colours = [_NOT_SIGNIFICANT, OKABE_ITO["vermillion"]]
    _, _, containers = ax.hist(
        [est[~sig], est[sig]],
        bins=edges,
        stacked=True,
        color=colours,
        label=["not significant", "significant"],
        edgecolor="white",
        linewidth=0.4,
    )
    for container, gid in zip(containers, ("not-significant", "significant"), strict=True):
        for bar in container:
            bar.set_gid(gid)
    ax.axvline(
        float(true_effect),
        color="black",
        linewidth=1.6,
        label=f"true effect ({short_number(float(true_effect))})",
    )
    ax.axvline(0.0, color="0.35", linestyle=":", linewidth=1.4, label="zero (no effect)")

    def show(value: float, fmt: str, why: str) -> str:
        return format(value, fmt) if np.isfinite(value) else f"n/a ({why})"

    why = "true effect is 0" if summary["n_significant"] else "none significant"
    text = "\n".join(
        [
            f"significant: {summary['share_significant']:.1%} "
            f"({summary['n_significant']} of {summary['n']})",
            f"type S: {show(summary['type_s'], '.3f', why)}",
            f"exaggeration: {show(summary['exaggeration'], '.2f', why)}",
        ]
    )
    ax.text(
        0.98,
        0.97,
        text,
        transform=ax.transAxes,
        ha="right",
        va="top",
        fontsize="small",
        multialignment="left",
        gid="estimate-summary",
        bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "0.7", "alpha": 0.9},
    )
    top = ax.get_ylim()[1]
    ax.set_ylim(0, top * 1.3)  # head-room so the text box sits above the bars
    ax.set_xlabel(label)
    ax.set_ylabel("Replicates (count)")
    ax.set_title(f"Distribution of the {label} over {summary['n']} replicates")
    place_legend(fig, ax, own)
    return fig
