"""Figures of a simulated literature: its funnel, forest and cumulative meta-analysis."""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from mssim.literature.field import OPEN_LABEL, PUBLISHED_SHAM, SHAM_CONTROLLED, Field
from mssim.outputs.figures.meta import cumulative_plot, forest_plot, funnel_plot


def field_funnel_plot(field: Field, ax: Axes | None = None) -> Figure:
    """Funnel of every study; unpublished ones hollow, centred on the published DL pool.

    Args:
        field: A simulated literature.
        ax: Axes to draw on; a new figure is created when ``None``.

    Returns:
        The figure holding the plot; open-label studies are marked with a cross.
    """
    s = field.studies[np.isfinite(field.studies.estimate)]
    fig = funnel_plot(
        s.estimate,
        s.se,
        published=s.published,
        true_effect=field.true_effect,
        pooled=field.pooled("published") if s.published.any() else None,
        ax=ax,
        effect_label=field.effect_label,
        title="Funnel plot: every study, hollow = never published",
    )
    axes = ax or fig.axes[0]
    open_label = s[s.design == OPEN_LABEL]
    axes.scatter(
        open_label.estimate,
        open_label.se,
        marker="+",
        color="C1",
        s=30,
        label=f"open-label (n = {len(open_label)})",
        zorder=3,
    )
    axes.legend(loc="best", fontsize="small")
    return fig


def field_forest_plot(field: Field, ax: Axes | None = None) -> Figure:
    """Published studies in publication order, then the pooled diamonds.

    Args:
        field: A simulated literature.
        ax: Axes to draw on; a new figure is created when ``None``.

    Returns:
        The figure holding the plot: DerSimonian-Laird pools of the published
        studies, of all studies, of all and of the published sham-controlled
        ones, and trim-and-fill.
    """
    s = field.studies[field.studies.published].sort_values("publication_order")
    labels = [
        f"#{int(r.publication_order)} {r.design.replace('_', '-')}, n={r.n_per_arm}/arm"
        + (f" [{r.endpoint_reported}]" if r.switched else "")
        for r in s.itertuples()
    ]
    rows = [
        (name, field.pooled(subset))
        for subset, name in [
            ("published", "published (DL)"),
            ("all", "all studies (DL)"),
            (SHAM_CONTROLLED, "all sham-controlled (DL)"),
            (PUBLISHED_SHAM, "published sham-controlled (DL)"),
        ]
        if _k(field, subset)
    ]
    filled = field.meta[field.meta.method == "trim_and_fill"]
    if len(filled) and filled.k.iloc[0] > 0:
        rows.append(("trim-and-fill (DL)", field.pooled("published", "trim_and_fill")))
    return forest_plot(
        labels,
        s.estimate,
        s.ci_low,
        s.ci_high,
        pooled_rows=rows,
        true_effect=field.true_effect,
        ax=ax,
        effect_label=field.effect_label,
        title="Forest plot of the published studies",
    )


def field_cumulative_plot(field: Field, ax: Axes | None = None) -> Figure:
    """The pooled published estimate as studies appear, against the truth.

    Args:
        field: A simulated literature.
        ax: Axes to draw on; a new figure is created when ``None``.

    Returns:
        The figure holding the plot.

    Raises:
        ValueError: If no study was published.
    """
    if not len(field.cumulative):
        raise ValueError("no study was published: there is nothing to accumulate")
    return cumulative_plot(
        field.cumulative,
        true_effect=field.true_effect,
        ax=ax,
        effect_label=field.effect_label,
        title="Cumulative meta-analysis of the published studies",
    )


def _k(field: Field, subset: str) -> int:
    """Studies pooled in a subset (0 when it has none)."""
    rows = field.meta[(field.meta.subset == subset) & (field.meta.method == "dl")]
    return int(rows.k.iloc[0]) if len(rows) else 0
