"""Estimands: the counterfactual true effect of each contrast.

Every patient has potential outcomes under every regimen, from the same noise.
The true effect averages them over every enrolled patient, before any
allocation or missingness, with the same endpoint definition the observed data
use. Under the hypothetical strategy it uses the outcomes had no relapse
happened.

:data:`EFFECT_MEASURES` is the one list of effect measures (what an analysis
estimates): each has its truth and its units.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from mssim.config.n_of_1 import scores_diary
from mssim.config.scenario import Scenario
from mssim.registry import ANALYSES, DESIGNS
from mssim.trial.diary import first_period_truth
from mssim.trial.grid import on_grid, summary_grid
from mssim.trial.randomization import contrast_regimens

if TYPE_CHECKING:  # the engine (numba) is not imported to validate a scenario
    from mssim.model.outcomes import Outcomes


def potential_endpoint(
    scenario: Scenario, outcomes: Outcomes, endpoint: str, no_relapse: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Endpoint under every regimen, without missingness: (change, responded).

    Shapes (R, N, regimens). For a crossover, ``change`` holds the period-1
    score (the contrast of period-1 scores is the parallel-group effect).
    ``change`` is exactly on the endpoint's grid (:mod:`mssim.trial.grid`).
    """
    if scores_diary(scenario.trial):  # an N-of-1 series: treatment policy, no responder truth
        first = first_period_truth(scenario, outcomes, endpoint)
        return first, np.zeros(first.shape, dtype=bool)
    k = outcomes.tracked.index(endpoint)
    scores = outcomes.scores_no_relapse if no_relapse else outcomes.scores
    design = DESIGNS.get(scenario.trial.design)
    change, responded = design.potential(scenario, endpoint, scores[..., k], outcomes.visit_days)
    # exactly on the endpoint's grid, as the observed data (mssim.trial.data), so that
    # equal potential outcomes tie in the probabilistic index
    scale = getattr(scenario.symptoms, endpoint).scale
    origin, resolution = summary_grid(
        lambda s: design.potential(scenario, endpoint, s[:, :, None], outcomes.visit_days)[0][
            ..., 0
        ],
        len(outcomes.visit_days),
        scale.low,
        scale.step,
    )
    change = on_grid(change, origin, resolution)
    if scenario.trial.estimand == "composite":
        responded &= ~relapsed_by(outcomes, 7 * scenario.trial.weeks)[..., None]
    return change, responded


def relapsed_by(outcomes: Outcomes, day: int) -> np.ndarray:
    """A relapse began after randomization and on or before ``day``, (R, N)."""
    onsets = outcomes.relapse_onsets
    return ((onsets >= 1) & (onsets <= day)).any(axis=-1)


def true_effects(
    scenario: Scenario,
    outcomes: Outcomes,
    endpoint: str,
    measures: Collection[str] | None = None,
) -> dict[str, np.ndarray]:
    """Per-replicate true effect of each contrast, by estimand kind.

    The effect averages the potential outcomes of every enrolled patient (no
    allocation, no missingness); under the hypothetical strategy the outcomes
    had no relapse happened.

    Args:
        scenario: The scenario.
        outcomes: The simulated chunk.
        endpoint: The endpoint.
        measures: Names in :data:`EFFECT_MEASURES` to compute; default all.

    Returns:
        ``{effect measure name: (R, contrasts)}`` for each measure asked for.
    """
    hypothetical = scenario.trial.estimand == "hypothetical"
    change, responded = potential_endpoint(scenario, outcomes, endpoint, no_relapse=hypothetical)
    pairs = contrast_regimens(scenario)
    names = EFFECT_MEASURES if measures is None else measures
    return {
        name: np.stack([EFFECT_MEASURES[name].truth(change, responded, a, b) for a, b in pairs], 1)
        for name in names
    }


def estimated(analyses: list[str]) -> list[str]:
    """The effect measures some of the analyses estimate, in :data:`EFFECT_MEASURES` order."""
    wanted = {ANALYSES.get(m).estimand for m in analyses}
    return [name for name in EFFECT_MEASURES if name in wanted]


def _probability_index(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """P(X > Y) + P(X = Y) / 2 - 1/2 over all pairs, per replicate row."""
    out = np.empty(len(x))
    for r in range(len(x)):
        ys = np.sort(y[r])
        below = np.searchsorted(ys, x[r], side="left")
        ties = np.searchsorted(ys, x[r], side="right") - below
        out[r] = (below.sum() + 0.5 * ties.sum()) / (x.shape[1] * y.shape[1]) - 0.5
    return out


@dataclass(frozen=True)
class EffectMeasure:
    """What an analysis estimates, and how its truth is computed.

    Attributes:
        name: As in ``power.csv``'s ``estimand`` column.
        units: Units for tables and axis labels (``points`` means instrument points).
        truth: ``(change, responded, a, b)`` -> per-replicate true effect of regimen
            ``a`` minus ``b``; arrays are (R, N, regimens).
        better: Sign of a benefit: -1 when a lower effect favours the treatment (symptom
            scores are higher-is-worse), +1 when a higher one does.
        margin: The ``trial`` field holding this measure's non-inferiority margin, or
            None when a margin in its units has no clinical meaning.
    """

    name: str
    units: str
    truth: Callable[[np.ndarray, np.ndarray, int, int], np.ndarray]
    better: int
    margin: str | None


EFFECT_MEASURES: dict[str, EffectMeasure] = {
    m.name: m
    for m in (
        EffectMeasure(
            "mean_difference",
            "points",
            lambda change, responded, a, b: (change[..., a] - change[..., b]).mean(1),
            better=-1,
            margin="margin",
        ),
        EffectMeasure(
            "risk_difference",
            "(risk difference)",
            lambda change, responded, a, b: responded[..., a].mean(1) - responded[..., b].mean(1),
            better=1,
            margin="margin_risk_difference",
        ),
        EffectMeasure(
            "probability_index",
            "(probabilistic index - 1/2)",
            lambda change, responded, a, b: _probability_index(change[..., a], change[..., b]),
            better=-1,
            margin=None,
        ),
    )
}
