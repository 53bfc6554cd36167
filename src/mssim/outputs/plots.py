"""Figures for power studies and simulated trial data, drawn with matplotlib only.

Every plotting function takes an optional ``ax`` and returns the
:class:`matplotlib.figure.Figure` it drew on. When ``ax`` is ``None`` a new
stand-alone ``Figure`` (not registered with ``pyplot``) is created with a
constrained layout, so the functions are safe under the Agg backend, in worker
processes and in notebooks (return the figure from a cell to display it, or call
``fig.savefig``). Nothing here calls ``show()`` or selects a backend.

Inputs are tidy pandas frames (see the function docstrings for the columns).
Arm colours come from :func:`arm_colors` so an arm has the same colour in every
figure; the palette is Okabe–Ito (colour-blind safe) with greys for the
non-needled control arms.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import colormaps, patheffects
from matplotlib.axes import Axes
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from mssim.montecarlo.power import type_s_and_exaggeration
from mssim.montecarlo.sample_size import n_needed

__all__ = [
    "CONTROL_ARMS",
    "OKABE_ITO",
    "arm_colors",
    "arm_trajectories",
    "error_rates",
    "estimate_distribution",
    "patient_trajectories",
    "power_curve",
    "power_heatmap",
    "sample_size_curve",
]

#: The Okabe–Ito palette (Okabe & Ito 2008), safe for the common colour-vision deficiencies.
OKABE_ITO: dict[str, str] = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}

#: Non-needled comparator arms; these are drawn in greys.
CONTROL_ARMS: dict[str, str] = {"usual_care": "#505050", "waitlist": "#A0A0A0"}
_EXTRA_GREYS = ("#787878", "#C0C0C0", "#303030")
_CONTROL_HINTS = ("usual", "wait", "control", "no_treatment", "untreated")

# Needled arms with a fixed colour, then the order in which other needled arms get colours.
_KNOWN_NEEDLED = {
    "acupuncture": OKABE_ITO["blue"],
    "sham": OKABE_ITO["orange"],
    "electroacupuncture": OKABE_ITO["bluish_green"],
}
_NEEDLED_CYCLE = tuple(
    OKABE_ITO[name]
    for name in (
        "blue",
        "orange",
        "bluish_green",
        "reddish_purple",
        "sky_blue",
        "vermillion",
        "black",
        "yellow",
    )
)

# Symptom lines in the per-patient panels use Paul Tol's "muted" colours, kept apart from
# the arm palette so that colour never means both an arm and a symptom.
_SYMPTOM_COLORS = ("#332288", "#117733", "#AA4499", "#44AA99", "#999933", "#88CCEE", "#DDCC77")
_RELAPSE_COLOR = "#CC0000"
_SESSION_COLOR = "#9A9A9A"
_LINESTYLES = ("-", "--", ":", "-.")
_MARKERS = ("o", "s", "^", "D", "v", "P")
_SCORE_UNITS = "score points"
_BAND_ALPHA = 0.18


# --------------------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------------------


def _require_columns(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    """Raise ``ValueError`` naming every required column missing from ``frame``."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{what} must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} is missing required column(s): {', '.join(missing)}")


def _root_figure(ax: Axes) -> Figure:
    """Return the top-level Figure holding ``ax`` (also when ``ax`` sits in a SubFigure)."""
    fig: Any = ax.figure
    while not isinstance(fig, Figure):
        fig = fig.figure
    return fig


def _new_figure(figsize: tuple[float, float]) -> Figure:
    """Create a stand-alone figure with constrained layout (no pyplot state)."""
    return Figure(figsize=figsize, layout="constrained")


def _single_axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    """Return ``(figure, axes)``: the given axes or one on a new figure."""
    if ax is None:
        fig = _new_figure(figsize)
        return fig, fig.add_subplot()
    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes, got {type(ax).__name__}")
    return _root_figure(ax), ax


def _axes_grid(
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
        fig = _new_figure((panel_size[0] * ncols, panel_size[1] * nrows + extra_height))
        grid = fig.subplots(nrows, ncols, squeeze=False, sharex=sharex, sharey=sharey).ravel()
        for unused in grid[n:]:
            unused.remove()
        return fig, list(grid[:n])
    if isinstance(ax, Axes) or not isinstance(ax, Iterable):
        raise ValueError(f"ax must be a sequence of {n} Axes, got {type(ax).__name__}")
    axes = list(ax)
    if len(axes) != n or not all(isinstance(a, Axes) for a in axes):
        raise ValueError(f"ax must be a sequence of exactly {n} Axes, got {len(axes)} item(s)")
    return _root_figure(axes[0]), axes


def _band(
    ax: Axes,
    x: Any,
    low: Any,
    high: Any,
    color: str,
    label: str | None = None,
    alpha: float = _BAND_ALPHA,
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


def _reference_line(ax: Axes, y: float, label: str) -> Line2D:
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


def _legend(
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


def _fmt(value: float) -> str:
    """Compact number formatting for labels (``3``, ``0.25``, ``1.5e+03``)."""
    return f"{value:.3g}"


def _design_ticks(ax: Axes, values: Iterable[float], max_ticks: int = 12) -> None:
    """Put x ticks at the simulated design points when there are few enough of them."""
    ticks = np.unique(np.asarray(list(values), dtype=float))
    ticks = ticks[np.isfinite(ticks)]
    crowded = ticks.size > 1 and np.diff(ticks).min() < 0.05 * (ticks[-1] - ticks[0])
    if 0 < ticks.size <= max_ticks and not crowded:
        ax.set_xticks(ticks, [_fmt(t) for t in ticks])


def _is_control(arm: str) -> bool:
    key = _normalise_arm(arm)
    return key in CONTROL_ARMS or any(hint in key for hint in _CONTROL_HINTS)


def _normalise_arm(arm: str) -> str:
    return re.sub(r"[\s\-]+", "_", str(arm).strip().lower())


def _ordered_arms(arms: Iterable[str]) -> list[str]:
    """Needled arms first (known ones in a fixed order, then alphabetical), controls last."""
    unique = list(dict.fromkeys(str(a) for a in arms))
    known = list(_KNOWN_NEEDLED)
    controls = list(CONTROL_ARMS)

    def key(arm: str) -> tuple[int, int, str]:
        norm = _normalise_arm(arm)
        if _is_control(arm):
            rank = controls.index(norm) if norm in controls else len(controls)
            return (1, rank, norm)
        rank = known.index(norm) if norm in known else len(known)
        return (0, rank, norm)

    return sorted(unique, key=key)


def arm_colors(arms: Sequence[str]) -> dict[str, str]:
    """Map trial arms to colours that stay the same across figures.

    ``usual_care`` and ``waitlist`` (and other arms whose name says control, usual or
    wait) get greys; needled arms get Okabe–Ito colours. ``acupuncture``, ``sham`` and
    ``electroacupuncture`` have fixed colours whatever else is passed; other needled arms
    take the remaining palette colours in alphabetical order, so pass the full list of
    arms of a study to keep those consistent between figures.

    Args:
        arms: Arm names, in any order; duplicates are ignored.

    Returns:
        A dict from arm name to hex colour, ordered needled arms first, controls last.
    """
    ordered = _ordered_arms(arms)
    colours: dict[str, str] = {}
    spare_needled = [c for c in _NEEDLED_CYCLE if c not in _KNOWN_NEEDLED.values()]
    spare_greys = list(_EXTRA_GREYS)
    for arm in ordered:
        norm = _normalise_arm(arm)
        if norm in CONTROL_ARMS:
            colours[arm] = CONTROL_ARMS[norm]
        elif _is_control(arm):
            colours[arm] = spare_greys.pop(0) if spare_greys else "#888888"
        elif norm in _KNOWN_NEEDLED:
            colours[arm] = _KNOWN_NEEDLED[norm]
        else:
            colours[arm] = spare_needled.pop(0) if spare_needled else "#000000"
    return colours


def _contrast_arms(contrast: str) -> tuple[str, str] | None:
    """Split ``"acupuncture - sham"`` (or ``vs``/``−``) into its two arm names."""
    parts = re.split(r"\s+(?:-|−|–|vs\.?|versus)\s+", str(contrast).strip())
    return (parts[0], parts[1]) if len(parts) == 2 else None


def _contrast_colors(contrasts: Sequence[str]) -> dict[str, str]:
    """Colour contrasts by the arm that distinguishes them, using the arm palette.

    Contrasts sharing the treatment arm (``acupuncture - sham``, ``acupuncture -
    usual_care``) take the comparator's colour; contrasts sharing the comparator take the
    treatment's colour; anything else falls back to the palette in order.
    """
    contrasts = list(dict.fromkeys(str(c) for c in contrasts))
    pairs = [_contrast_arms(c) for c in contrasts]
    if all(p is not None for p in pairs):
        arms_of = [p for p in pairs if p is not None]
        for index in (1, 0):
            chosen = [p[index] for p in arms_of]
            if len(set(chosen)) == len(chosen):
                palette = arm_colors([a for p in arms_of for a in p])
                return {c: palette[a] for c, a in zip(contrasts, chosen, strict=True)}
    return {c: _NEEDLED_CYCLE[i % len(_NEEDLED_CYCLE)] for i, c in enumerate(contrasts)}


def _series(frame: pd.DataFrame) -> list[tuple[tuple[str, ...], pd.DataFrame, dict[str, Any]]]:
    """Split a power frame into line series: one per contrast (× analysis × endpoint).

    ``analysis`` and ``endpoint`` only split the series when they take more than one value.
    Colour follows the contrast; line style and marker follow the other keys.
    """
    extra = [c for c in ("analysis", "endpoint") if c in frame and frame[c].nunique() > 1]
    keys = ["contrast", *extra]
    colours = _contrast_colors(list(frame["contrast"].astype(str)))
    extra_levels: list[tuple[str, ...]] = []
    out: list[tuple[tuple[str, ...], pd.DataFrame, dict[str, Any]]] = []
    for key, sub in frame.groupby(keys, sort=False, dropna=False):
        key_t = tuple(str(k) for k in (key if isinstance(key, tuple) else (key,)))
        if key_t[1:] not in extra_levels:
            extra_levels.append(key_t[1:])
        level = extra_levels.index(key_t[1:])
        style = {
            "color": colours[key_t[0]],
            "linestyle": _LINESTYLES[level % len(_LINESTYLES)],
            "marker": _MARKERS[level % len(_MARKERS)],
        }
        out.append((key_t, sub.sort_values("n_per_arm"), style))
    return out


def _check_one_row_per_n(sub: pd.DataFrame, key: tuple[str, ...], hint: str) -> None:
    """Refuse series with several rows at the same n (they would draw a zigzag)."""
    if sub["n_per_arm"].duplicated().any():
        raise ValueError(f"series {' / '.join(key)} has several rows per n_per_arm; {hint}")


def _effect_suffix(sub: pd.DataFrame) -> str:
    """Legend suffix with the true effect(s) of a series, empty when unknown."""
    effects = pd.to_numeric(sub["true_effect"], errors="coerce").dropna().unique()
    if effects.size == 0:
        return ""
    if effects.size == 1:
        return f" (true effect {_fmt(effects[0])})"
    return f" (true effect {_fmt(effects.min())} to {_fmt(effects.max())})"


_UNIT_HINTS: tuple[tuple[str, str], ...] = (
    ("rate", "proportion"),
    ("fraction", "proportion"),
    ("probability", "proportion"),
    ("prob", "proportion"),
    ("adherence", "proportion"),
    ("effect", "SD, or points if effect_units = points"),
    ("sd", _SCORE_UNITS),
    ("days", "days"),
    ("day", "days"),
    ("sessions", "sessions"),
)


def _field_label(field: str) -> str:
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


# --------------------------------------------------------------------------------------
# 1. Power curve
# --------------------------------------------------------------------------------------


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
    _require_columns(
        power, ["contrast", "n_per_arm", "power", "power_ci_low", "power_ci_high"], "power frame"
    )
    own = ax is None
    fig, ax = _single_axes(ax, (8.0, 4.5))
    for key, sub, style in _series(power):
        _check_one_row_per_n(sub, key, "filter a sweep to one scenario before power_curve")
        suffix = _effect_suffix(sub) if "true_effect" in sub else ""
        x = sub["n_per_arm"].to_numpy(dtype=float)
        _band(ax, x, sub["power_ci_low"], sub["power_ci_high"], style["color"])
        ax.plot(
            x,
            sub["power"].to_numpy(dtype=float),
            label=" · ".join(key) + suffix,
            markersize=5,
            clip_on=False,
            zorder=3,
            **style,
        )
    _reference_line(ax, target, f"target power {target:.0%}")
    ax.set_ylim(0.0, 1.0)
    ax.yaxis.set_major_formatter(lambda v, _pos: f"{v:.0%}")
    _design_ticks(ax, power["n_per_arm"])
    ax.set_xlabel("n per arm (patients randomised)")
    ax.set_ylabel("Power (share of replicates significant)")
    ax.set_title("Power by sample size (band: 95% Wilson interval)")
    ax.grid(alpha=0.3)
    with_effect = "true_effect" in power and power["true_effect"].notna().any()
    _legend(fig, ax, own, title=f"true effect in {_SCORE_UNITS}" if with_effect else None)
    return fig


# --------------------------------------------------------------------------------------
# 2. Power heatmap
# --------------------------------------------------------------------------------------


def _pick(frame: pd.DataFrame, column: str, value: Any, default: Any, what: str) -> pd.DataFrame:
    """Keep the rows where ``column == value`` (or ``default``), checking it exists."""
    chosen = default if value is None else value
    available = list(dict.fromkeys(frame[column]))
    if chosen not in available:
        raise ValueError(f"{what} {chosen!r} not in the frame; available: {available}")
    return frame[frame[column] == chosen]


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
    _require_columns(sweep, ["contrast", "n_per_arm", "power", x, y], "sweep frame")
    data = _pick(sweep, "contrast", contrast, sweep["contrast"].iloc[0], "contrast")
    chosen_contrast = str(data["contrast"].iloc[0])
    data = _pick(data, "n_per_arm", n_per_arm, data["n_per_arm"].max(), "n_per_arm")
    chosen_n = float(data["n_per_arm"].iloc[0])
    if data.duplicated([x, y]).any():
        raise ValueError(
            f"several rows per ({x}, {y}) cell at n_per_arm={_fmt(chosen_n)}; "
            "filter the other swept fields, analyses or endpoints first"
        )
    grid = data.pivot(index=y, columns=x, values="power").sort_index().sort_index(axis=1)
    z = np.ma.masked_invalid(grid.to_numpy(dtype=float))

    own = ax is None
    fig, ax = _single_axes(ax, (7.0, 5.2))
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
    ax.set_xticks(range(grid.shape[1]), [_fmt(v) for v in grid.columns])
    ax.set_yticks(range(grid.shape[0]), [_fmt(v) for v in grid.index])
    ax.set_xlabel(_field_label(x))
    ax.set_ylabel(_field_label(y))
    ax.set_title(f"Power at n = {_fmt(chosen_n)} per arm · {chosen_contrast}")
    fig.colorbar(image, ax=ax, label="Power (share of replicates significant)", shrink=0.9)
    _legend(fig, ax, own, handles=[handle])
    return fig


# --------------------------------------------------------------------------------------
# 3. Error rates
# --------------------------------------------------------------------------------------


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
    _require_columns(
        power,
        ["contrast", "n_per_arm", "type_s", "type_s_mcse", "exaggeration", "exaggeration_mcse"],
        "power frame",
    )
    own = ax is None
    fig, (ax_s, ax_m) = _axes_grid(ax, 2, ncols=2, panel_size=(5.6, 4.3), sharex=True)
    panels = (
        (ax_s, "type_s", "Type S error rate\n(share of significant with wrong sign)", "Type S"),
        (
            ax_m,
            "exaggeration",
            "Exaggeration ratio (type M)\n(mean |sig. estimate| / |true effect|)",
            "Exaggeration",
        ),
    )
    series = _series(power)
    for panel, column, ylabel, title in panels:
        finite = 0
        for key, sub, style in series:
            _check_one_row_per_n(sub, key, "filter a sweep to one scenario before error_rates")
            values = sub[column].to_numpy(dtype=float)
            finite += int(np.isfinite(values).sum())
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
        panel.set_xlabel("n per arm (patients randomised)")
        panel.set_ylabel(ylabel)
        panel.set_title(f"{title} vs sample size (bars: ±2 MCSE)")
        panel.grid(alpha=0.3)
        _design_ticks(panel, power["n_per_arm"])
    ax_s.set_ylim(bottom=0.0)
    _reference_line(ax_m, 1.0, "no exaggeration (ratio 1)")
    ax_m.set_ylim(bottom=0.0)
    ax_m.set_ylim(top=max(ax_m.get_ylim()[1], 1.5))
    _legend(fig, ax_m, own)
    return fig


# --------------------------------------------------------------------------------------
# 4. Estimate distribution
# --------------------------------------------------------------------------------------


def estimate_distribution(
    estimates: Sequence[float] | np.ndarray,
    significant: Sequence[bool] | np.ndarray,
    true_effect: float,
    ax: Axes | None = None,
    label: str = f"estimate ({_SCORE_UNITS})",
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
    fig, ax = _single_axes(ax, (8.0, 4.5))
    span = np.concatenate([est, [0.0, float(true_effect)]])
    edges = np.histogram_bin_edges(
        est if est.size else span, bins="auto", range=(span.min(), span.max()) if est.size else None
    )
    if edges.size > 61:
        edges = np.linspace(edges[0], edges[-1], 61)
    colours = [CONTROL_ARMS["waitlist"], OKABE_ITO["vermillion"]]
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
        label=f"true effect ({_fmt(float(true_effect))})",
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
    _legend(fig, ax, own)
    return fig


# --------------------------------------------------------------------------------------
# 5. Arm trajectories
# --------------------------------------------------------------------------------------

DAILY_COLUMNS = ("patient_id", "arm", "day", "symptom", "latent", "observed")


def _mark_randomisation(ax: Axes, label: str | None = "randomisation (day 0)") -> Line2D:
    return ax.axvline(
        0.0, color="black", linewidth=0.9, linestyle="-", alpha=0.7, zorder=1.5, label=label
    )


def arm_trajectories(
    daily: pd.DataFrame, symptom: str, ax: Axes | None = None, band: str = "sd"
) -> Figure:
    """Mean latent daily score of one symptom by arm over days, with a band.

    Args:
        daily: Daily frame with ``patient_id, arm, day, symptom, latent``.
        symptom: Symptom to show (a value of the ``symptom`` column).
        ax: Axes to draw on; a new figure is created when ``None``.
        band: ``"sd"`` for ±1 SD across patients, ``"ci"`` for a normal-approximation
            95% confidence interval of the mean (±1.96 SD/√n).

    Returns:
        The figure holding the plot.

    Raises:
        ValueError: If a column is missing, the symptom is absent or ``band`` is unknown.
    """
    _require_columns(daily, ["patient_id", "arm", "day", "symptom", "latent"], "daily frame")
    if band not in ("sd", "ci"):
        raise ValueError(f"band must be 'sd' or 'ci', got {band!r}")
    data = daily[daily["symptom"] == symptom]
    if data.empty:
        raise ValueError(
            f"symptom {symptom!r} not in the daily frame; available: "
            f"{sorted(daily['symptom'].astype(str).unique())}"
        )
    stats = data.groupby(["arm", "day"])["latent"].agg(["mean", "std", "count"]).reset_index()
    half = stats["std"] if band == "sd" else 1.96 * stats["std"] / np.sqrt(stats["count"])
    stats["low"], stats["high"] = stats["mean"] - half, stats["mean"] + half
    patients = data.groupby("arm")["patient_id"].nunique()
    colours = arm_colors(list(data["arm"].astype(str).unique()))

    own = ax is None
    fig, ax = _single_axes(ax, (8.5, 4.5))
    crowded = len(colours) > 2
    for arm, colour in colours.items():
        sub = stats[stats["arm"].astype(str) == arm].sort_values("day")
        _band(
            ax,
            sub["day"],
            sub["low"],
            sub["high"],
            colour,
            alpha=0.1 if crowded else _BAND_ALPHA,
            edges=crowded,
        )
        ax.plot(
            sub["day"].to_numpy(dtype=float),
            sub["mean"].to_numpy(dtype=float),
            color=colour,
            linewidth=2.0,
            zorder=3,
            label=f"{arm} (n = {patients[arm]})",
        )
    _mark_randomisation(ax)
    first_day, last_day = float(stats["day"].min()), float(stats["day"].max())
    if first_day < 0:
        ax.axvspan(
            first_day,
            0.0,
            color="0.94",
            linewidth=0,
            zorder=0,
            label="run-in (before randomisation)",
        )
    ax.set_xlim(first_day, last_day)
    band_text = "±1 SD across patients" if band == "sd" else "95% CI of the mean"
    ax.set_xlabel("Day since randomisation (days)")
    ax.set_ylabel(f"{symptom}: latent score ({_SCORE_UNITS})")
    ax.set_title(f"Mean latent {symptom} by arm (band: {band_text})")
    ax.grid(alpha=0.3)
    _legend(fig, ax, own)
    return fig


# --------------------------------------------------------------------------------------
# 6. Patient trajectories
# --------------------------------------------------------------------------------------


def _default_patients(arms_by_patient: pd.Series, n_patients: int) -> list[Any]:
    """First ids of each arm, taken round-robin so every arm is represented."""
    queues = {
        arm: sorted(arms_by_patient.index[arms_by_patient == arm])
        for arm in _ordered_arms(arms_by_patient.unique())
    }
    chosen: list[Any] = []
    depth = 0
    while len(chosen) < n_patients and any(len(q) > depth for q in queues.values()):
        for queue in queues.values():
            if depth < len(queue) and len(chosen) < n_patients:
                chosen.append(queue[depth])
        depth += 1
    return chosen


def patient_trajectories(
    daily: pd.DataFrame,
    sessions: pd.DataFrame | None = None,
    relapses: pd.DataFrame | None = None,
    patient_ids: Sequence[Any] | None = None,
    n_patients: int = 6,
    ax: Sequence[Axes] | None = None,
) -> Figure:
    """Small multiples of individual patients: latent scores, diary entries and events.

    One panel per patient (title: id and arm, in the arm's colour). Each symptom's latent
    score is a line and its observed diary score dots in the same colour; attended
    acupuncture sessions are shaded, relapse onsets are red dashed lines, day 0 is marked,
    and a dotted grey line marks drop-out when the diary stops before the data end.
    One legend is shared by all panels.

    Args:
        daily: Daily frame with ``patient_id, arm, day, symptom, latent, observed``.
        sessions: Optional sessions frame with ``patient_id, day, attended``.
        relapses: Optional relapses frame with ``patient_id, onset_day``.
        patient_ids: Patients to show, in order; by default the first ``n_patients``
            ids, taken in turn from each arm so every arm appears.
        n_patients: Number of patients when ``patient_ids`` is not given.
        ax: Axes to draw on, one per patient; a new grid when ``None``.

    Returns:
        The figure holding the panels.

    Raises:
        ValueError: If a column is missing, a patient id is unknown or ``ax`` has the
            wrong length.
    """
    _require_columns(daily, DAILY_COLUMNS, "daily frame")
    if sessions is not None:
        _require_columns(sessions, ["patient_id", "day", "attended"], "sessions frame")
    if relapses is not None:
        _require_columns(relapses, ["patient_id", "onset_day"], "relapses frame")
    arms_by_patient = daily.groupby("patient_id", sort=True)["arm"].first().astype(str)
    if patient_ids is None:
        ids = _default_patients(arms_by_patient, int(n_patients))
        rank = {arm: i for i, arm in enumerate(_ordered_arms(arms_by_patient.unique()))}
        ids.sort(key=lambda pid: (rank[arms_by_patient[pid]], pid))
    else:
        ids = list(patient_ids)
        unknown = [pid for pid in ids if pid not in arms_by_patient.index]
        if unknown:
            raise ValueError(f"patient id(s) not in the daily frame: {unknown}")
    if not ids:
        raise ValueError("no patients to show")

    colours = arm_colors(list(arms_by_patient.unique()))
    symptoms = list(dict.fromkeys(daily["symptom"].astype(str)))
    symptom_colour = {s: _SYMPTOM_COLORS[i % len(_SYMPTOM_COLORS)] for i, s in enumerate(symptoms)}
    fig, axes = _axes_grid(
        ax, len(ids), ncols=3, panel_size=(4.4, 2.9), extra_height=0.9, sharex=True, sharey=True
    )
    own_grid = ax is None
    ncols = min(3, len(ids))
    has_sessions = has_relapses = has_dropout = False
    by_patient = dict(tuple(daily[daily["patient_id"].isin(ids)].groupby("patient_id")))

    for index, (pid, panel) in enumerate(zip(ids, axes, strict=True)):
        rows = by_patient[pid]
        last_day = float(rows["day"].max())
        if sessions is not None:
            attended = sessions[(sessions["patient_id"] == pid) & sessions["attended"].astype(bool)]
            for day in attended["day"].astype(float):
                panel.axvspan(
                    day - 0.5,
                    day + 0.5,
                    color=_SESSION_COLOR,
                    alpha=0.3,
                    linewidth=0,
                    zorder=0,
                    gid="session",
                )
                has_sessions = True
        for symptom, sub in rows.groupby("symptom", sort=False):
            sub = sub.sort_values("day")
            colour = symptom_colour[str(symptom)]
            panel.plot(sub["day"], sub["latent"], color=colour, linewidth=1.4, zorder=3)
            panel.plot(
                sub["day"],
                sub["observed"],
                linestyle="none",
                marker="o",
                markersize=2.2,
                color=colour,
                alpha=0.55,
                zorder=2,
            )
        seen = rows.loc[rows["observed"].notna(), "day"]
        if not seen.empty and float(seen.max()) < last_day:
            panel.axvline(
                float(seen.max()) + 0.5,
                color="0.45",
                linestyle=":",
                linewidth=1.5,
                zorder=2,
                gid="dropout",
            )
            has_dropout = True
        if relapses is not None:
            for onset in relapses.loc[relapses["patient_id"] == pid, "onset_day"].astype(float):
                panel.axvline(
                    onset,
                    color=_RELAPSE_COLOR,
                    linestyle="--",
                    linewidth=1.6,
                    zorder=4,
                    gid="relapse",
                )
                has_relapses = True
        _mark_randomisation(panel, label=None)
        arm = arms_by_patient[pid]
        panel.set_title(
            f"patient {pid} · {arm}", color=colours[arm], fontweight="bold", fontsize="medium"
        )
        panel.grid(alpha=0.25)
        if not own_grid or index % ncols == 0:
            panel.set_ylabel(f"Daily score ({_SCORE_UNITS})")
        if not own_grid or index >= len(ids) - ncols:
            panel.set_xlabel("Day since randomisation (days)")
            panel.xaxis.set_tick_params(labelbottom=True)

    handles: list[Any] = [
        Line2D([], [], color=symptom_colour[s], linewidth=2, marker="o", markersize=4, label=s)
        for s in symptoms
    ]
    handles += [
        Line2D([], [], color="0.2", linewidth=1.4, label="latent score (line)"),
        Line2D(
            [],
            [],
            color="0.2",
            linestyle="none",
            marker="o",
            markersize=3,
            label="diary entry (dots)",
        ),
        Line2D([], [], color="black", linewidth=0.9, alpha=0.7, label="randomisation (day 0)"),
    ]
    if has_sessions:
        handles.append(Patch(facecolor=_SESSION_COLOR, alpha=0.3, label="session attended"))
    if has_relapses:
        handles.append(
            Line2D(
                [], [], color=_RELAPSE_COLOR, linestyle="--", linewidth=1.6, label="relapse onset"
            )
        )
    if has_dropout:
        handles.append(
            Line2D(
                [], [], color="0.45", linestyle=":", linewidth=1.5, label="drop-out (diary ends)"
            )
        )
    _legend(fig, axes[-1], own=True, handles=handles)
    if own_grid:
        fig.suptitle("Individual patients: latent symptom scores and diary entries")
    return fig


# --------------------------------------------------------------------------------------
# 7. Sample-size curve
# --------------------------------------------------------------------------------------


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
    _require_columns(
        sweep,
        ["contrast", "n_per_arm", "power", "power_ci_low", "power_ci_high", field],
        "sweep frame",
    )
    data = sweep if contrast is None else _pick(sweep, "contrast", contrast, None, "contrast")
    max_n = float(data["n_per_arm"].max())
    own = ax is None
    fig, ax = _single_axes(ax, (8.0, 4.5))
    series = _series(data)
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
            f"> max n ({_fmt(max_n)})",
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
            label=f"target not reached (n > {_fmt(max_n)})",
        )
    ax.set_ylim(0.0, max_n * 1.15)
    ax.set_xlabel(_field_label(field))
    ax.set_ylabel("n per arm needed")
    ax.set_title(
        f"Sample size for {target:.0%} power (bars: where the Wilson bounds reach {target:.0%})"
    )
    _design_ticks(ax, values)
    ax.grid(alpha=0.3)
    _legend(fig, ax, own)
    return fig
