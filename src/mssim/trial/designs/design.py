"""What a design is: the entry every design registers (:data:`mssim.registry.DESIGNS`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

Scenario = Any  # mssim.config.scenario.Scenario (kept loose: the config layer reads designs)
Trial = Any  # mssim.config.trial.Trial


@dataclass(frozen=True)
class Design:
    """A trial design: its regimens, visits, allocation and what a trial observes.

    Attributes:
        name: Registry name, as written in ``trial.design``.
        n_arms: (fewest, most) arms the design takes.
        visit_weeks: Trial -> visit weeks, baseline (0) first.
        regimen_orders: Arm names -> the regimens, each an order of arms in periods.
        periods: Trial -> ``(first day, last treatment day or None)`` of each period.
        allocation_units: Scenario -> allocation ratio per regimen.
        contrast_regimens: Scenario -> (treatment, comparator) regimen index per contrast.
        observe: ``(scenario, scores, seen, visit_days)`` -> ``(outcome, period2,
            observed)``: scores and seen are (R, N, visits) for the allocated regimen.
        potential: ``(scenario, endpoint, scores, visit_days)`` -> ``(change, responded)``
            under each regimen without missingness, (R, N, regimens), for the truth.
        check: Scenario -> ``[(dotted field, message), ...]`` of what the design refuses.
        describe: Trial -> one line for the report.
        endpoint_wording: Trial -> what the endpoint is, for the report.
        analysed_as: The design whose analyses fit this one's data (None: only
            analyses that name this design).
        all_in_contrast: Every patient takes part in every contrast (an N-of-1
            series: each sequence gives both arms), not only those allocated to its
            two regimens.
    """

    name: str
    n_arms: tuple[int, int]
    visit_weeks: Callable[[Trial], list[int]]
    regimen_orders: Callable[[list[str]], list[tuple[str, ...]]]
    periods: Callable[[Trial], list[tuple[int, int | None]]]
    allocation_units: Callable[[Scenario], list[int]]
    contrast_regimens: Callable[[Scenario], list[tuple[int, int]]]
    observe: Callable[
        [Scenario, np.ndarray, np.ndarray, np.ndarray],
        tuple[np.ndarray, np.ndarray, np.ndarray],
    ]
    potential: Callable[[Scenario, str, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
    check: Callable[[Scenario], list[tuple[str, str]]]
    describe: Callable[[Trial], str]
    endpoint_wording: Callable[[Trial], str]
    analysed_as: str | None = None
    all_in_contrast: bool = False
