"""Axes, legends and labels shared by the figures.

Every figure takes an optional ``ax`` and returns the
:class:`matplotlib.figure.Figure` it drew on. When ``ax`` is ``None`` a new
stand-alone ``Figure`` (not registered with ``pyplot``) is created with a
constrained layout, so figures are safe under the Agg backend, in worker
processes and in notebooks. Nothing here calls ``show()`` or selects a backend.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from mssim.outputs.figures.style import BAND_ALPHA

#: Units of the simulated scores on every axis that shows them.
SCORE_UNITS = "score points"


def require_columns(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    """Raise ``ValueError`` naming every required column missing from ``frame``."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{what} must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} is missing required column(s): {', '.join(missing)}")


def root_figure(ax: Axes) -> Figure:
    """Return the top-level Figure holding ``ax`` (also when ``ax`` sits in a SubFigure)."""
    fig: Any = ax.figure
    while not isinstance(fig, Figure):
        fig = fig.figure
    return fig


def new_figure(figsize: tuple[float, float]) -> Figure:
    """Create a stand-alone figure with constrained layout (no pyplot state)."""
    return Figure(figsize=figsize, layout="constrained")


def single_axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    """Return ``(figure, axes)``: the given axes or one on a new figure."""
    if ax is None:
        fig = new_figure(figsize)
        return fig, fig.add_subplot()
    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes, got {type(ax).__name__}")
    return root_figure(ax), ax


def axes_grid(
    ax: Sequence[Axes] | None,
    n: int,
    *,
    ncols: int,
    panel_size: tuple[float, float],
    extra_height: float = 0.0,
    sharex: bool = False,
    sharey: bool = False,
) -> tuple[Figure, list[Axes]]:
    """Return ``(figure, axes)`` with ``n`` panels: the given sequence or a new grid."""
    if ax is None:
        ncols = max(1, min(ncols, n))
        nrows = math.ceil(n / ncols)
        fig = new_figure((panel_size[0] * ncols, panel_size[1] * nrows + extra_height))
        grid = fig.subplots(nrows, ncols, squeeze=False, sharex=sharex, sharey=sharey).ravel()
        for unused in grid[n:]:
            unused.remove()
        return fig, list(grid[:n])
    if isinstance(ax, Axes) or not isinstance(ax, Iterable):
        raise ValueError(f"ax must be a sequence of {n} Axes, got {type(ax).__name__}")
    axes = list(ax)
    if len(axes) != n or not all(isinstance(a, Axes) for a in axes):
        raise ValueError(f"ax must be a sequence of exactly {n} Axes, got {len(axes)} item(s)")
    return root_figure(axes[0]), axes


def shade_band(
    ax: Axes,
    x: Any,
    low: Any,
    high: Any,
    color: str,
    label: str | None = None,
    alpha: float = BAND_ALPHA,
    edges: bool = False,
) -> Any:
    """Shade the band between ``low`` and ``high`` in a light tint of ``color``.

    With ``edges`` the band's borders are also traced thinly, which keeps several
    overlapping bands apart.
    """
    x_arr = np.asarray(x, dtype=float)
    low_arr = np.asarray(low, dtype=float)
    high_arr = np.asarray(high, dtype=float)
    if edges:
        for bound in (low_arr, high_arr):
            ax.plot(x_arr, bound, color=color, linewidth=0.6, alpha=0.6, zorder=1.8)
    return ax.fill_between(
        x_arr, low_arr, high_arr, color=color, alpha=alpha, linewidth=0, label=label
    )


def reference_line(ax: Axes, y: float, label: str) -> Line2D:
    """Draw a horizontal dashed reference line (power target, exaggeration of 1)."""
    return ax.axhline(y, color="0.25", linestyle="--", linewidth=1.1, zorder=1.5, label=label)


def _row_major(items: Sequence[Any], ncols: int) -> list[Any]:
    """Reorder items so a column-filled legend with ``ncols`` columns reads row by row."""
    nrows = math.ceil(len(items) / ncols)
    return [
        items[r * ncols + c]
        for c in range(ncols)
        for r in range(nrows)
        if r * ncols + c < len(items)
    ]


def place_legend(
    fig: Figure,
    ax: Axes,
    own: bool,
    handles: Sequence[Any] | None = None,
    title: str | None = None,
) -> Any:
    """Place a legend where it cannot hide data.

    On a figure created here (``own``) the legend goes below the axes, spread over as
    many balanced rows as the figure width needs; on a caller's axes it goes to the
    right of ``ax``.
    """
    if handles is None:
        handles, labels = ax.get_legend_handles_labels()
    else:
        labels = [h.get_label() for h in handles]
    if not handles:
        return None
    options: dict[str, Any] = {
        "frameon": False,
        "fontsize": "small",
        "title": title,
        "title_fontsize": "small",
    }
    if not own:
        return ax.legend(
            handles,
            labels,
            loc="upper left",
            bbox_to_anchor=(1.02, 1.0),
            borderaxespad=0.0,
            **options,
        )
    entry_px = 6.0 * max(len(str(label)) for label in labels) + 45.0
    fit = max(1, int(fig.get_figwidth() * 100.0 // entry_px))
    ncols = math.ceil(len(handles) / math.ceil(len(handles) / fit))
    return fig.legend(
        _row_major(list(handles), ncols),
        _row_major(list(labels), ncols),
        loc="outside lower center",
        ncols=ncols,
        **options,
    )


def short_number(value: float | str) -> str:
    """Compact number formatting for labels (``3``, ``0.25``, ``1.5e+03``); text as it is."""
    if isinstance(value, str | bool | np.bool_):
        return str(value)
    return f"{value:.3g}"


def design_ticks(ax: Axes, values: Iterable[float], max_ticks: int = 12) -> None:
    """Put x ticks at the simulated design points when there are few enough of them."""
    ticks = np.unique(np.asarray(list(values), dtype=float))
    ticks = ticks[np.isfinite(ticks)]
    crowded = ticks.size > 1 and np.diff(ticks).min() < 0.05 * (ticks[-1] - ticks[0])
    if 0 < ticks.size <= max_ticks and not crowded:
        ax.set_xticks(ticks, [short_number(t) for t in ticks])


_UNIT_HINTS: tuple[tuple[str, str], ...] = (
    ("rate", "proportion"),
    ("fraction", "proportion"),
    ("probability", "proportion"),
    ("prob", "proportion"),
    ("adherence", "proportion"),
    ("effect", "SD, or points if effect_units = points"),
    ("sd", SCORE_UNITS),
    ("days", "days"),
    ("day", "days"),
    ("sessions", "sessions"),
)


def field_label(field: str) -> str:
    """Readable axis label for a dotted scenario path, with a unit when it is clear.

    ``dropout.rate`` → ``dropout rate (proportion)``.
    """
    parts = [p for p in str(field).split(".") if p]
    if len(parts) > 1 and parts[0] == "arms":
        parts = parts[1:]
    words = " ".join(p.replace("_", " ") for p in parts) or str(field)
    tokens = parts[-1].lower().split("_") if parts else []
    unit = next((u for hint, u in _UNIT_HINTS if hint in tokens), None)
    return f"{words} ({unit})" if unit else words


def pick_rows(
    frame: pd.DataFrame, column: str, value: Any, default: Any, what: str
) -> pd.DataFrame:
    """Keep the rows where ``column == value`` (or ``default``), checking it exists."""
    chosen = default if value is None else value
    available = list(dict.fromkeys(frame[column]))
    if chosen not in available:
        raise ValueError(f"{what} {chosen!r} not in the frame; available: {available}")
    return frame[frame[column] == chosen]
