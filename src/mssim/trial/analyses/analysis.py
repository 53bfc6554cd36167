"""What an analysis is: the entry every analysis registers (:data:`mssim.registry.ANALYSES`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mssim.registry import ANALYSES, DESIGNS
from mssim.trial.analyses.estimates import Estimates
from mssim.trial.data import TrialData

ALL_STRATEGIES = ("treatment_policy", "hypothetical", "composite")


@dataclass(frozen=True)
class Analysis:
    """A registered analysis of one contrast between two regimens.

    Attributes:
        name: Registry name, as written in ``trial.analysis`` and ``--analysis``.
        estimand: The effect measure it estimates (a key of
            :data:`mssim.trial.estimands.EFFECT_MEASURES`).
        wording: What it is, for the report ("ANCOVA of the endpoint adjusted for baseline").
        function: ``(data, treatment, comparator, alpha)`` -> per-replicate
            :class:`Estimates` of treatment minus comparator; ``data`` holds R
            replicate trials.
        designs: Designs it fits.
        strategies: Intercurrent-event strategies (``trial.estimand``) it supports.
        monte_carlo: Fast enough to run over many replicates (else single trials only).
        threshold: For a Bayesian decision rule, the posterior probability of benefit it
            requires: its ``p_value`` is the posterior probability of no benefit, and it
            decides for benefit when that is at most ``1 - threshold`` (in place of
            alpha). None for a frequentist test.
    """

    name: str
    estimand: str
    wording: str
    function: Callable[[TrialData, int, int, float], Estimates]
    designs: tuple[str, ...] = ("parallel",)
    strategies: tuple[str, ...] = ("treatment_policy", "hypothetical")
    monte_carlo: bool = True
    threshold: float | None = None

    def level(self, alpha: float) -> float:
        """What a ``p_value`` is compared with: alpha, or ``1 - threshold`` for a rule."""
        return alpha if self.threshold is None else 1.0 - self.threshold

    def fits(self, design: str) -> bool:
        """Whether this analysis fits a design's data (directly or as another design)."""
        return design in self.designs or DESIGNS.get(design).analysed_as in self.designs

    def misfit(self, design: str, strategy: str) -> str | None:
        """Why this analysis does not fit a design and strategy, or None if it does."""
        if not self.fits(design):
            fits = [a.name for a in ANALYSES if a.fits(design)]
            return f"{self.name!r} does not fit design {design!r}; allowed: " + (
                ", ".join(fits) or "none"
            )
        if strategy not in self.strategies:
            fits = [a.name for a in ANALYSES if a.fits(design) and strategy in a.strategies]
            return f"{self.name!r} does not support the {strategy} estimand; allowed with it: " + (
                ", ".join(fits) or "none"
            )
        return None


def analyse(name: str, data: TrialData, treatment: int, comparator: int, alpha: float) -> Estimates:
    """Run a registered analysis of one contrast.

    Args:
        name: A registered analysis name.
        data: The trial data (R replicates).
        treatment: Regimen index of the arm (crossover: the first sequence, AB).
        comparator: Regimen index of the comparator (crossover: BA).
        alpha: Two-sided significance level.

    Returns:
        Per-replicate estimates (treatment minus comparator).

    Raises:
        MssimError: For an unknown name.
    """
    return ANALYSES.get(name, "analysis").function(data, treatment, comparator, alpha)
