"""A power frame as line series: one per contrast (and analysis or endpoint if varied).

Colour follows the contrast (by the arm that sets it apart), line style and
marker the other keys, so a series looks the same in every figure.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from mssim.outputs.figures.axes import short_number
from mssim.outputs.figures.style import contrast_colors

_LINESTYLES = ("-", "--", ":", "-.")
_MARKERS = ("o", "s", "^", "D", "v", "P")


def line_series(frame: pd.DataFrame) -> list[tuple[tuple[str, ...], pd.DataFrame, dict[str, Any]]]:
    """Split a power frame into line series: one per contrast (× analysis × endpoint).

    ``analysis`` and ``endpoint`` only split the series when they take more than one value.
    Colour follows the contrast; line style and marker follow the other keys.
    """
    extra = [c for c in ("analysis", "endpoint") if c in frame and frame[c].nunique() > 1]
    keys = ["contrast", *extra]
    colours = contrast_colors(list(frame["contrast"].astype(str)))
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


def check_one_row_per_n(sub: pd.DataFrame, key: tuple[str, ...], hint: str) -> None:
    """Refuse series with several rows at the same n (they would draw a zigzag)."""
    if sub["n_per_arm"].duplicated().any():
        raise ValueError(f"series {' / '.join(key)} has several rows per n_per_arm; {hint}")


def effect_suffix(sub: pd.DataFrame) -> str:
    """Legend suffix with the true effect(s) of a series, empty when unknown."""
    effects = pd.to_numeric(sub["true_effect"], errors="coerce").dropna().unique()
    if effects.size == 0:
        return ""
    if effects.size == 1:
        return f" (true effect {short_number(effects[0])})"
    return f" (true effect {short_number(effects.min())} to {short_number(effects.max())})"
