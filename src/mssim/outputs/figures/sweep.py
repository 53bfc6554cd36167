"""Figures of a sweep: the power heatmap and the sample-size curve, sliced from its table."""

from __future__ import annotations

from typing import Any

import pandas as pd

from mssim.config.scenario import Scenario
from mssim.montecarlo.sweep import value_at
from mssim.outputs.figures.axes import short_number
from mssim.outputs.figures.power import power_heatmap
from mssim.outputs.figures.sample_size import sample_size_curve


def held_values(scenario: Scenario, table: pd.DataFrame, fields: list[str]) -> dict[str, float]:
    """Where each swept field is held when a figure shows fewer fields.

    The scenario's own value when the grid contains it, else the first grid value.
    """
    base = scenario.model_dump(mode="python")
    held = {}
    for field in fields:
        values = list(dict.fromkeys(table[field]))
        own = value_at(base, field)
        held[field] = own if own in values else values[0]
    return held


def sweep_figures(
    table: pd.DataFrame, scenario: Scenario, fields: list[str], is_grid: bool
) -> dict[str, Any]:
    """Figures of a sweep, by file name: power heatmap and sample-size curve.

    Both show the primary endpoint, each cell with its own analysis. The heatmap (two or
    more fields) shows the first two fields at the largest n; the sample-size
    curve runs across the first field. Other swept fields are held at
    :func:`held_values`. A Latin hypercube with several fields has no grid to
    slice, so it gets no figures.
    """
    if not is_grid and len(fields) > 1:
        return {}
    first = table.iloc[0]
    data = table[table.endpoint == first.endpoint]  # one analysis per cell (it may be swept)
    held = held_values(scenario, data, fields)
    target = scenario.power.target

    def hold(frame: pd.DataFrame, keep: list[str]) -> tuple[pd.DataFrame, str]:
        others = [f for f in fields if f not in keep]
        for field in others:
            frame = frame[frame[field] == held[field]]
        return frame, "; ".join(f"{f} = {short_number(held[f])}" for f in others)

    figures = {}
    if len(fields) >= 2:
        sliced, note = hold(data, fields[:2])
        figure = power_heatmap(sliced, x=fields[0], y=fields[1], target=target)
        if note:
            axes = figure.axes[0]
            axes.set_title(f"{axes.get_title()}\n({note})")
        figures["power_heatmap.png"] = figure
    sliced, note = hold(data, fields[:1])
    figure = sample_size_curve(sliced, field=fields[0], target=target)
    if note:
        axes = figure.axes[0]
        axes.set_title(f"{axes.get_title()}\n({note})")
    figures["sample_size.png"] = figure
    return figures
