"""The hypothesis each contrast is tested against (``trial.hypothesis``).

Symptom scores are higher-is-worse, so every effect measure has a direction of benefit
(:attr:`mssim.trial.estimands.EffectMeasure.better`). With ``theta`` the true effect
(treatment minus comparator) and ``b`` that sign:

* ``two_sided`` (default): H0 ``theta = 0`` against ``theta != 0``, at level alpha.
* ``superiority``: H0 ``b * theta <= 0`` against ``b * theta > 0``, one-sided.
* ``non_inferiority``: H0 ``b * theta <= -margin`` (the treatment is worse by at least
  the margin) against ``b * theta > -margin``, one-sided.

A one-sided test is at level alpha / 2, so it rejects exactly when the two-sided
1 - alpha confidence interval lies wholly on the side of benefit of the null value: the
convention of ICH E9 (1998, section 5.5) and of the CPMP Points to consider on switching
between superiority and non-inferiority (CPMP/EWP/482/99, 2000). The interval reported
stays the two-sided 1 - alpha interval; ``trial.alpha`` stays the two-sided level.
"""

from __future__ import annotations

from dataclasses import dataclass

from mssim.config.scenario import Scenario
from mssim.registry import ANALYSES
from mssim.trial.estimands import EFFECT_MEASURES

HYPOTHESES = ("two_sided", "superiority", "non_inferiority")


@dataclass(frozen=True)
class NullHypothesis:
    """What the test of one contrast rejects.

    Attributes:
        sides: 2 for the two-sided test, 1 for a one-sided one.
        null: Null value of the effect (estimand units): 0, or the margin on the side
            of harm for non-inferiority.
        better: Sign of a benefit in the estimand's units (-1 or +1).
    """

    sides: int = 2
    null: float = 0.0
    better: int = -1

    def level(self, alpha: float) -> float:
        """Rejection level of the p-value: alpha two-sided, alpha / 2 one-sided."""
        return alpha if self.sides == 2 else alpha / 2


TWO_SIDED = NullHypothesis()


def margin_in_units(scenario: Scenario, measure: str, endpoint: str) -> float:
    """The non-inferiority margin of an effect measure, in its units (0 if not given).

    ``trial.margin`` is in instrument points of the endpoint, or in its instrument's
    reference SD when ``trial.margin_units = "sd"``; ``trial.margin_risk_difference`` is a
    difference in responder shares.

    Args:
        scenario: The scenario.
        measure: A key of :data:`~mssim.trial.estimands.EFFECT_MEASURES`.
        endpoint: The symptom tested.

    Returns:
        The margin (estimand units, >= 0); NaN when the measure takes no margin.
    """
    field = EFFECT_MEASURES[measure].margin
    if field is None:
        return float("nan")
    trial = scenario.trial
    value = float(getattr(trial, field))
    if field == "margin" and trial.margin_units == "sd":
        value *= getattr(scenario.symptoms, endpoint).reference_sd
    return value


def contrast_test(scenario: Scenario, analysis: str, endpoint: str) -> NullHypothesis:
    """The test a registered analysis runs on one endpoint under the scenario's hypothesis.

    Args:
        scenario: The scenario (``trial.hypothesis`` and its margin).
        analysis: A registered analysis name.
        endpoint: The symptom tested.

    Returns:
        The :class:`NullHypothesis`; the null value is minus ``better`` times the margin.
    """
    measure = EFFECT_MEASURES[ANALYSES.get(analysis, "analysis").estimand]
    hypothesis = scenario.trial.hypothesis
    if hypothesis == "two_sided":
        return NullHypothesis(better=measure.better)
    if hypothesis == "superiority":
        return NullHypothesis(sides=1, better=measure.better)
    margin = margin_in_units(scenario, measure.name, endpoint)
    return NullHypothesis(sides=1, null=-measure.better * margin, better=measure.better)
