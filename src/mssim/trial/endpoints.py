"""The endpoint registry: how visits are summarized into one endpoint score.

One definition is applied to the counterfactual truth (potential outcomes of
every patient) and to the observed data alike, so the estimand and the
estimate measure the same thing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mssim.registry import ENDPOINTS


@dataclass(frozen=True)
class Endpoint:
    """An endpoint of a parallel-group trial.

    Attributes:
        name: Registry name, as written in ``trial.endpoint``.
        visits: ``(visit_days, primary_day)`` -> indices of the visits summarized.
        wording: ``primary_week`` -> what the endpoint is, for the report.
    """

    name: str
    visits: Callable[[np.ndarray, int], list[int]]
    wording: Callable[[int], str]

    def summarize(self, scores: np.ndarray, visit_days: np.ndarray, primary_day: int) -> np.ndarray:
        """The mean score over the endpoint's visits (the caller subtracts baseline).

        Args:
            scores: Scores by visit on the last axis (instrument points).
            visit_days: Visit days, baseline (0) first.
            primary_day: Day of the primary visit.

        Returns:
            ``scores`` without the visit axis (instrument points).
        """
        return scores[..., self.visits(visit_days, primary_day)].mean(axis=-1)


def primary_visit(visit_days: np.ndarray, primary_day: int) -> int:
    """Index of the primary visit among the visit days."""
    return int(np.flatnonzero(visit_days == primary_day)[0])


ENDPOINTS.register(
    Endpoint(
        name="change",
        visits=lambda days, primary: [primary_visit(days, primary)],
        wording=lambda week: f"change from baseline to week {week}",
    )
)
ENDPOINTS.register(
    Endpoint(
        name="mean_post",
        visits=lambda days, primary: list(range(1, len(days))),
        wording=lambda week: "mean of the post-baseline visits minus baseline",
    )
)
