"""Figures of power studies, simulated trials and simulated literatures (matplotlib only).

Every figure takes an optional ``ax`` and returns the
:class:`matplotlib.figure.Figure` it drew on. When ``ax`` is ``None`` a new
stand-alone ``Figure`` (not registered with ``pyplot``) is created with a
constrained layout, so figures are safe under the Agg backend, in worker
processes and in notebooks (return the figure from a cell to display it, or
call ``fig.savefig``). Nothing here calls ``show()`` or selects a backend.

Inputs are tidy pandas frames whose columns the Monte Carlo layer computed;
figures read them and compute no statistics. Arm colours come from
:func:`~mssim.outputs.figures.style.arm_colors`, so an arm has the same colour
in every figure.

One module per figure family: ``power`` (power curve, heatmap),
``error_rates`` (type S, exaggeration), ``estimates`` (estimate histogram),
``trajectories`` (arms, patients), ``sample_size`` (n needed across a swept
field), ``sweep`` (the figures of a sweep folder), ``meta`` (funnel, forest,
cumulative meta-analysis) and ``literature`` (those of a simulated field);
``style``, ``axes`` and ``series`` hold what they share.
"""

from mssim.outputs.figures.error_rates import error_rates
from mssim.outputs.figures.estimates import estimate_distribution
from mssim.outputs.figures.power import power_curve, power_heatmap
from mssim.outputs.figures.sample_size import sample_size_curve
from mssim.outputs.figures.style import OKABE_ITO, arm_colors
from mssim.outputs.figures.trajectories import (
    DAILY_COLUMNS,
    arm_trajectories,
    patient_trajectories,
)

__all__ = [
    "DAILY_COLUMNS",
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
