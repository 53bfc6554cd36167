"""Daily trajectories: mean latent score by arm, and individual patients with their events."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from mssim.outputs.figures.axes import (
    SCORE_UNITS,
    axes_grid,
    place_legend,
    require_columns,
    shade_band,
    single_axes,
)
from mssim.outputs.figures.style import BAND_ALPHA, arm_colors, ordered_arms

# Symptom lines in the per-patient panels use Paul Tol's "muted" colours, kept apart from
# the arm palette so that colour never means both an arm and a symptom.
_SYMPTOM_COLORS = ("#332288", "#117733", "#AA4499", "#44AA99", "#999933", "#88CCEE", "#DDCC77")
_RELAPSE_COLOR = "#CC0000"
_SESSION_COLOR = "#9A9A9A"

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
    require_columns(daily, ["patient_id", "arm", "day", "symptom", "latent"], "daily frame")
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
    fig, ax = single_axes(ax, (8.5, 4.5))
    crowded = len(colours) > 2
    for arm, colour in colours.items():
        sub = stats[stats["arm"].astype(str) == arm].sort_values("day")
        shade_band(
            ax,
            sub["day"],
            sub["low"],
            sub["high"],
            colour,
            alpha=0.1 if crowded else BAND_ALPHA,
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
    ax.set_ylabel(f"{symptom}: latent score ({SCORE_UNITS})")
    ax.set_title(f"Mean latent {symptom} by arm (band: {band_text})")
    ax.grid(alpha=0.3)
    place_legend(fig, ax, own)
    return fig


def _default_patients(arms_by_patient: pd.Series, n_patients: int) -> list[Any]:
    """First ids of each arm, taken round-robin so every arm is represented."""
    queues = {
        arm: sorted(arms_by_patient.index[arms_by_patient == arm])
        for arm in ordered_arms(arms_by_patient.unique())
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
    require_columns(daily, DAILY_COLUMNS, "daily frame")
    if sessions is not None:
        require_columns(sessions, ["patient_id", "day", "attended"], "sessions frame")
    if relapses is not None:
        require_columns(relapses, ["patient_id", "onset_day"], "relapses frame")
    arms_by_patient = daily.groupby("patient_id", sort=True)["arm"].first().astype(str)
    if patient_ids is None:
        ids = _default_patients(arms_by_patient, int(n_patients))
        rank = {arm: i for i, arm in enumerate(ordered_arms(arms_by_patient.unique()))}
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
    fig, axes = axes_grid(
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
            panel.set_ylabel(f"Daily score ({SCORE_UNITS})")
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
    place_legend(fig, axes[-1], own=True, handles=handles)
    if own_grid:
        fig.suptitle("Individual patients: latent symptom scores and diary entries")
    return fig
