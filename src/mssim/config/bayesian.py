"""Settings of the Bayesian decision rule a scenario configures (``[trial.bayesian]``).

Used by the analysis ``bayes`` (:mod:`mssim.trial.analyses.bayesian`); the
built-in ``bayes_flat``, ``bayes_sceptical`` and ``bayes_enthusiastic`` are this
table with fixed values. Every effect size here is in units of the replicate's
pooled baseline SD of the analysed patients (a pre-randomization quantity, so
the prior does not see the outcomes); negative = benefit. For example::

    [trial]
    analysis = "bayes"

    [trial.bayesian]
    prior = "sceptical"
    alternative = 0.3
    delta = 0.0
    threshold = 0.975
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from mssim.config.strict import Strict

PriorKind = Literal["flat", "sceptical", "enthusiastic", "normal"]
#: Priors shaped by an alternative Delta (5% of the prior beyond it).
SHAPED = ("sceptical", "enthusiastic")
#: Delta of a sceptical or enthusiastic prior when not given (baseline SD) (A).
ALTERNATIVE = 0.3


class BayesianRule(Strict):
    """A normal prior on the treatment effect and the rule P(effect < -delta | data) > threshold."""

    prior: PriorKind = Field(
        "sceptical",
        description="flat (no prior information); sceptical (centred on no effect, 5% below "
        "-alternative) or enthusiastic (centred on -alternative, 5% above 0), as in "
        "Spiegelhalter, Freedman and Parmar 1994; normal (mean and sd given).",
    )
    alternative: float | None = Field(
        None,
        gt=0.0,
        le=5.0,
        description="The benefit Delta of a sceptical or enthusiastic prior (baseline SD); "
        "default 0.3, the upper end of the plausible specific effect of needling, 0 to 0.3 "
        "SD (A). Not used by other priors.",
    )
    mean: float | None = Field(
        None, ge=-5.0, le=5.0, description="Mean of a normal prior (baseline SD; < 0 = benefit)."
    )
    sd: float | None = Field(
        None, gt=0.0, le=100.0, description="SD of a normal prior (baseline SD)."
    )
    delta: float = Field(
        0.0,
        ge=0.0,
        le=5.0,
        description="The benefit that must be exceeded: decide for benefit when "
        "P(effect < -delta | data) > threshold (baseline SD; 0 = any benefit).",
    )
    threshold: float = Field(
        0.975,
        gt=0.5,
        lt=1.0,
        description="Posterior probability required (0.975: the conventional one-sided 2.5%).",
    )

    @model_validator(mode="before")
    @classmethod
    def _default_alternative(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("prior", "sceptical") in SHAPED:
            return {"alternative": ALTERNATIVE, **data}
        return data

    @model_validator(mode="after")
    def _parameters_fit(self) -> BayesianRule:
        given = {k for k in ("mean", "sd") if getattr(self, k) is not None}
        if self.prior == "normal" and given != {"mean", "sd"}:
            missing = ", ".join(sorted({"mean", "sd"} - given))
            raise ValueError(
                f"@prior: a normal prior needs mean and sd (baseline SD); missing {missing}"
            )
        if self.prior != "normal" and given:
            raise ValueError(
                f"@{min(given)}: used by prior = 'normal' only; given prior = {self.prior!r}: "
                "remove it or set prior = 'normal'"
            )
        if self.alternative is not None and self.prior not in SHAPED:
            raise ValueError(
                "@alternative: used by a sceptical or enthusiastic prior only; given prior = "
                f"{self.prior!r}: remove it or change the prior"
            )
        return self


def inert_bayesian(analysis: str) -> str:
    """Why ``trial.bayesian`` changes nothing for an analysis that takes no settings from it.

    A table is refused as inert when it differs from the defaults (:class:`BayesianRule`)
    and the analysis is not ``bayes``.
    """
    return (
        f"trial.bayesian sets the Bayesian rule 'bayes' only; the analysis {analysis!r} does not "
        "use it: set trial.analysis = 'bayes', or remove the [trial.bayesian] table"
    )
