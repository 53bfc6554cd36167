"""Figures of a meta-analysis: funnel plot, forest plot and cumulative meta-analysis.

Estimates are treatment − control in the outcome's units. The figures draw the
numbers :mod:`mssim.literature.meta` pools; the funnel's default centre is its
fixed-effect pool of the published studies.
"""

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Polygon
from matplotlib.ticker import MaxNLocator
from numpy.typing import ArrayLike
from scipy import stats

from mssim.literature.meta import Pooled, finite_vector, paired_studies, pool
from mssim.outputs.figures.axes import root_figure, single_axes

__all__ = ["DEFAULT_EFFECT_LABEL", "cumulative_plot", "forest_plot", "funnel_plot"]

DEFAULT_EFFECT_LABEL = "effect (treatment − control)"

_FUNNEL_Z = float(stats.norm.isf(0.025))  # pseudo-95% funnel limits


def _row_fontsize(ax: Axes, n_rows: int) -> float:
    """Tick-label size (pt) letting ``n_rows`` labels fit the axes height.

    Each label gets at most ~60 % of its row so neighbours never touch.
    """
    height_pt = ax.get_position().height * root_figure(ax).get_size_inches()[1] * 72.0
    return float(np.clip(0.6 * height_pt / max(n_rows, 1), 4.0, 10.0))


def funnel_plot(
    estimates: ArrayLike,
    ses: ArrayLike,
    published: ArrayLike | None = None,
    true_effect: float | None = None,
    pooled: Pooled | float | None = None,
    ax: Axes | None = None,
    effect_label: str = DEFAULT_EFFECT_LABEL,
    title: str = "Funnel plot",
) -> Figure:
    """Funnel plot: estimate (x) against standard error (inverted y).

    Draws the pseudo-95% region ``centre ± 1.96 · se`` as two dashed lines,
    a vertical line at the centre and, if given, at the true effect.

    Args:
        estimates: Study estimates (outcome units), shape (k,).
        ses: Their standard errors (outcome units), shape (k,).
        published: Boolean mask, True for published studies; None = all
            published. Unpublished studies are drawn as hollow grey circles.
        true_effect: Simulated true effect (outcome units), drawn if given.
        pooled: Funnel centre: a :class:`Pooled`, a number, or None for the
            fixed-effect pooled estimate of the published studies (of all
            studies if none is published).
        ax: Axes to draw on; a new figure is created if None.
        effect_label: x-axis label, including the outcome's units.
        title: Axes title.

    Returns:
        The figure holding the axes.
    """
    y, se = paired_studies(estimates, ses, "ses")
    shown = np.ones(y.size, dtype=bool) if published is None else np.asarray(published, bool)
    if shown.shape != y.shape:
        raise ValueError("published must be a boolean mask of the same length as estimates")
    if pooled is None:
        basis = shown if shown.any() else np.ones_like(shown)
        centre, centre_label = pool(y[basis], se[basis] ** 2, "fixed").estimate, "pooled (fixed)"
    elif isinstance(pooled, Pooled):
        centre, centre_label = pooled.estimate, f"pooled ({pooled.method})"
    else:
        centre, centre_label = float(pooled), "pooled"

    fig, ax = single_axes(ax, (7.0, 5.0))
    size = float(np.clip(2000.0 / y.size, 12.0, 40.0))  # smaller markers for big literatures
    label = "studies" if published is None else "published"
    ax.scatter(y[shown], se[shown], s=size, color="C0", label=f"{label} (n = {shown.sum()})")
    if not shown.all():
        ax.scatter(
            y[~shown],
            se[~shown],
            s=size,
            facecolors="none",
            edgecolors="0.5",
            label=f"unpublished (n = {(~shown).sum()})",
        )
    se_grid = np.linspace(0.0, 1.05 * se.max(), 50)
    ax.plot(centre - _FUNNEL_Z * se_grid, se_grid, ls="--", color="0.4", label="pseudo-95% limits")
    ax.plot(centre + _FUNNEL_Z * se_grid, se_grid, ls="--", color="0.4")
    ax.axvline(centre, color="C0", lw=1.0, label=centre_label)
    if true_effect is not None:
        ax.axvline(true_effect, color="C3", lw=1.5, label="true effect")
    ax.set_ylim(se_grid[-1], 0.0)  # inverted: precise studies at the top
    ax.set_xlabel(effect_label)
    ax.set_ylabel("standard error (same units)")
    ax.set_title(title)
    ax.legend(loc="best", fontsize="small")
    return fig


def forest_plot(
    labels: Sequence[str],
    estimates: ArrayLike,
    ci_low: ArrayLike,
    ci_high: ArrayLike,
    pooled_rows: Mapping[str, Pooled] | Sequence[tuple[str, Pooled]] = (),
    true_effect: float | None = None,
    ax: Axes | None = None,
    effect_label: str = DEFAULT_EFFECT_LABEL,
    title: str = "Forest plot",
) -> Figure:
    """Forest plot of study estimates with CIs and pooled diamonds.

    Studies run top to bottom in the given order; pooled results follow below
    a gap as diamonds spanning their CIs, with bold labels. A new figure grows
    0.22 inch per row and tick labels are sized to ~60 % of a row, so labels
    do not overlap for literatures of ~60 studies (or more). In a caller's
    ``ax`` the labels shrink to fit its height, down to 4 pt; below about
    7 pt of height per row they can collide.

    Args:
        labels: Study labels, length k.
        estimates: Study estimates (outcome units), shape (k,).
        ci_low: Lower CI limits (outcome units), shape (k,).
        ci_high: Upper CI limits (outcome units), shape (k,).
        pooled_rows: Pooled results to show as diamonds, as ``{label: Pooled}``
            or a sequence of ``(label, Pooled)`` pairs, drawn in that order.
        true_effect: Simulated true effect (outcome units), drawn if given.
        ax: Axes to draw on; a new figure is created if None.
        effect_label: x-axis label, including the outcome's units.
        title: Axes title.

    Returns:
        The figure holding the axes.
    """
    est = finite_vector(estimates, "estimates")
    lo, hi = finite_vector(ci_low, "ci_low"), finite_vector(ci_high, "ci_high")
    names = [str(label) for label in labels]
    if not len(names) == est.size == lo.size == hi.size:
        raise ValueError("labels, estimates, ci_low and ci_high must have the same length")
    rows = list(pooled_rows.items()) if isinstance(pooled_rows, Mapping) else list(pooled_rows)
    k, n_pooled = est.size, len(rows)
    gap = 1 if n_pooled and k else 0
    n_rows = k + gap + n_pooled

    fig, ax = single_axes(ax, (7.0, 1.6 + 0.22 * n_rows))
    y_study = np.arange(n_rows - 1, n_rows - 1 - k, -1, dtype=float)
    y_pooled = np.arange(n_pooled - 1, -1, -1, dtype=float)
    ax.hlines(y_study, lo, hi, color="0.3", lw=1.0)
    ax.scatter(est, y_study, marker="s", s=18, color="0.2", zorder=3, label="study (CI)")
    for i, (_, res) in enumerate(rows):
        diamond = [
            (res.ci_low, y_pooled[i]),
            (res.estimate, y_pooled[i] + 0.35),
            (res.ci_high, y_pooled[i]),
            (res.estimate, y_pooled[i] - 0.35),
        ]
        ax.add_patch(Polygon(diamond, color="C0", label="pooled (CI)" if i == 0 else None))
    ax.axvline(0.0, color="0.6", lw=0.8, ls=":", label="no effect")
    if true_effect is not None:
        ax.axvline(true_effect, color="C3", lw=1.5, label="true effect")

    ax.set_yticks(np.concatenate([y_study, y_pooled]))
    ax.set_yticklabels(names + [name for name, _ in rows], fontsize=_row_fontsize(ax, n_rows))
    for tick in ax.get_yticklabels()[k:]:
        tick.set_fontweight("bold")
    ax.set_ylim(-0.7, n_rows - 0.3)
    ax.set_xlabel(effect_label)
    ax.set_title(title)
    ax.legend(loc="best", fontsize="small")
    return fig


def cumulative_plot(
    cum_frame: pd.DataFrame,
    true_effect: float | None = None,
    ax: Axes | None = None,
    effect_label: str = DEFAULT_EFFECT_LABEL,
    title: str = "Cumulative meta-analysis",
) -> Figure:
    """Pooled estimate and CI band as studies accumulate.

    Args:
        cum_frame: Output of :func:`mssim.literature.meta.cumulative` (columns
            ``k``, ``estimate``, ``ci_low``, ``ci_high``, ``method``).
        true_effect: Simulated true effect (outcome units), drawn if given.
        ax: Axes to draw on; a new figure is created if None.
        effect_label: y-axis label, including the outcome's units.
        title: Axes title.

    Returns:
        The figure holding the axes.
    """
    k = cum_frame["k"].to_numpy()
    method = str(cum_frame["method"].iloc[0]) if len(cum_frame) else ""
    fig, ax = single_axes(ax, (7.0, 4.0))
    ax.fill_between(
        k, cum_frame["ci_low"], cum_frame["ci_high"], color="C0", alpha=0.25, label="CI"
    )
    ax.plot(
        k,
        cum_frame["estimate"],
        marker="o",
        ms=float(np.clip(300.0 / max(k.size, 1), 2.0, 5.0)),
        color="C0",
        label=f"pooled estimate ({method})",
    )
    ax.axhline(0.0, color="0.6", lw=0.8, ls=":", label="no effect")
    if true_effect is not None:
        ax.axhline(true_effect, color="C3", lw=1.5, label="true effect")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("number of studies pooled (in publication order)")
    ax.set_ylabel(effect_label)
    ax.set_title(title)
    ax.legend(loc="best", fontsize="small")
    return fig
