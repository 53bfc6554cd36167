"""Per-replicate estimates: every simulated trial's result, for analysing the runs oneself.

``estimates.parquet`` holds one row per replicate trial, design point, endpoint,
contrast and analysis: the estimate, its standard error and confidence
interval, the p-value, the decision after the multiplicity strategy, the number
analysed and the replicate's true effect in the analysis's estimand.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mssim.config.scenario import Scenario
from mssim.files import write_parquet
from mssim.registry import ANALYSES
from mssim.trial.estimands import EFFECT_MEASURES

#: Per-replicate fields of :func:`mssim.montecarlo.power.chunk_statistics`, as written.
COLUMNS = ("estimate", "se", "ci_low", "ci_high", "p_value", "reject", "n_analysed")


def estimates_frame(
    scenario: Scenario, n_per_arm: list[int], analyses: list[str], stats: dict[str, np.ndarray]
) -> pd.DataFrame:
    """Every replicate's result as a long table.

    Args:
        scenario: The scenario run (endpoints and contrasts name the axes).
        n_per_arm: Design points of the run, in the order of ``stats``.
        analyses: Analyses of the run, in the order of ``stats``.
        stats: Per-replicate statistics of
            :func:`mssim.montecarlo.power.chunk_statistics` over every chunk,
            shaped (analyses, design points, endpoints, contrasts, R) and
            ``truth`` (kinds, endpoints, contrasts, R).

    Returns:
        Columns ``replicate, analysis, n_per_arm, endpoint, contrast``, the
        :data:`COLUMNS` (``reject`` boolean: the decision after multiplicity)
        and ``true_effect`` (that replicate's, in the analysis's estimand units).
    """
    endpoints = scenario.endpoints()
    contrasts = [f"{a} - {b}" for a, b in scenario.contrasts()]
    shape = stats["estimate"].shape
    index = pd.MultiIndex.from_product(
        [analyses, n_per_arm, endpoints, contrasts, np.arange(shape[-1])],
        names=["analysis", "n_per_arm", "endpoint", "contrast", "replicate"],
    )
    frame = pd.DataFrame({c: stats[c].ravel() for c in COLUMNS}, index=index).reset_index()
    frame["reject"] = frame["reject"].astype(bool)
    frame["n_analysed"] = frame["n_analysed"].astype(np.int64)
    kinds = list(EFFECT_MEASURES)
    truth = np.stack(
        [stats["truth"][kinds.index(ANALYSES.get(m).estimand)] for m in analyses]
    )  # (analyses, endpoints, contrasts, R)
    frame["true_effect"] = np.broadcast_to(
        truth[:, None], (len(analyses), len(n_per_arm), *truth.shape[1:])
    ).ravel()
    first = ["replicate", "analysis", "n_per_arm", "endpoint", "contrast"]
    return frame[[*first, *COLUMNS, "true_effect"]]


def write_estimates(
    scenario: Scenario,
    n_per_arm: list[int],
    analyses: list[str],
    stats: dict[str, np.ndarray],
    path: Path,
) -> None:
    """Write :func:`estimates_frame` to ``path`` as Parquet, atomically."""
    write_parquet(estimates_frame(scenario, n_per_arm, analyses, stats), path)
