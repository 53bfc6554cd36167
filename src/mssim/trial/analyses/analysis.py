"""What an analysis is: the entry every analysis registers (:data:`mssim.registry.ANALYSES`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mssim.registry import ANALYSES, DESIGNS
from mssim.trial.analyses.estimates import Estimates
from mssim.trial.analyses.hypothesis import TWO_SIDED, NullHypothesis
from mssim.trial.data import TrialData
from mssim.trial.estimands import EFFECT_MEASURES

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
            replicate trials. An analysis testing one-sided hypotheses also takes a
            fifth argument, the :class:`~mssim.trial.analyses.hypothesis.NullHypothesis`, and
            returns its one-sided p-value.
        designs: Designs it fits.
        strategies: Intercurrent-event strategies (``trial.estimand``) it supports.
        monte_carlo: Fast enough to run over many replicates (else single trials only).
        hypotheses: The ``trial.hypothesis`` values it tests (see
            :mod:`mssim.trial.analyses.hypothesis`).
        clustered: Its standard error allows for patients clustered by practitioner
            (else it assumes independent patients).
        threshold: For a Bayesian decision rule, the posterior probability of benefit it
            requires: its ``p_value`` is the posterior probability of no benefit, and it
            decides for benefit when that is at most ``1 - threshold`` (in place of
            alpha). None for a frequentist test.
        configure: For an analysis with settings in the scenario, ``trial`` -> the
            entry with the scenario's ``trial`` table applied (a Bayesian rule's
            ``trial.bayesian``); None when the registered entry is the whole analysis.
    """

    name: str
    estimand: str
    wording: str
    function: Callable[[TrialData, int, int, float], Estimates]
    designs: tuple[str, ...] = ("parallel",)
    strategies: tuple[str, ...] = ("treatment_policy", "hypothetical")
    monte_carlo: bool = True
    hypotheses: tuple[str, ...] = ("two_sided",)
    clustered: bool = False
    threshold: float | None = None
    configure: Callable[[Any], Analysis] | None = None

    def level(self, test_level: float) -> float:
        """What a ``p_value`` is compared with: the test's level, or ``1 - threshold``."""
        return test_level if self.threshold is None else 1.0 - self.threshold

    def fits(self, design: str) -> bool:
        """Whether this analysis fits a design's data (directly or as another design)."""
        return design in self.designs or DESIGNS.get(design).analysed_as in self.designs

    def misfit(self, design: str, strategy: str, trial: Any = None) -> str | None:
        """Why this analysis does not fit a design and strategy, or None if it does.

        Args:
            design: A registered design name.
            strategy: An intercurrent-event strategy (``trial.estimand``).
            trial: The scenario's ``trial`` table; when given, its ``hypothesis`` must
                be one this analysis tests, with a positive margin in its effect
                measure's units for non-inferiority.
        """
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
        if trial is not None:
            return self._hypothesis_misfit(trial)
        return None

    def _hypothesis_misfit(self, trial: Any) -> str | None:
        """Why this analysis cannot test ``trial.hypothesis``, or None if it can."""
        hypothesis = trial.hypothesis
        if hypothesis not in self.hypotheses:
            fits = [a.name for a in ANALYSES if hypothesis in a.hypotheses]
            return f"{self.name!r} does not test the {hypothesis} hypothesis; allowed: " + (
                ", ".join(fits) or "none"
            )
        field = EFFECT_MEASURES[self.estimand].margin
        if hypothesis == "non_inferiority" and field and getattr(trial, field) <= 0:
            return f"{self.name!r} tests non-inferiority against trial.{field}; give it > 0"
        return None


def for_trial(name: str, trial: Any) -> Analysis:
    """A registered analysis as the scenario runs it: with its ``trial`` settings applied.

    Args:
        name: A registered analysis name.
        trial: The scenario's ``trial`` table.

    Returns:
        The registered entry, configured by ``trial`` when it has settings there.

    Raises:
        MssimError: For an unknown name.
    """
    entry = ANALYSES.get(name, "analysis")
    return entry if entry.configure is None else entry.configure(trial)


def analyse(
    name: str,
    data: TrialData,
    treatment: int,
    comparator: int,
    alpha: float,
    test: NullHypothesis = TWO_SIDED,
    trial: Any = None,
) -> Estimates:
    """Run a registered analysis of one contrast.

    Args:
        name: A registered analysis name.
        data: The trial data (R replicates).
        treatment: Regimen index of the arm (crossover: the first sequence, AB).
        comparator: Regimen index of the comparator (crossover: BA).
        alpha: Two-sided significance level (of the CI).
        test: The hypothesis tested (:func:`~mssim.trial.analyses.hypothesis.contrast_test`);
            default two-sided.
        trial: The scenario's ``trial`` table; needed by an analysis with settings there
            (``configure``, e.g. the Bayesian rule ``bayes``).

    Returns:
        Per-replicate estimates (treatment minus comparator), with the p-value of ``test``.

    Raises:
        MssimError: For an unknown name.
        ValueError: When an analysis with scenario settings is given no ``trial``.
    """
    entry = ANALYSES.get(name, "analysis")
    if entry.configure is not None and trial is None:
        raise ValueError(f"analysis {name!r} takes its settings from the scenario's trial table")
    function = (entry if trial is None else for_trial(name, trial)).function
    if test.sides == 2:
        return function(data, treatment, comparator, alpha)
    return function(data, treatment, comparator, alpha, test)
