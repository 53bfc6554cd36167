"""The trial design, its endpoints and analysis, dropout, blinding and Monte Carlo settings."""

from __future__ import annotations

import math
from itertools import pairwise
from typing import Annotated, Any, Literal, get_args

from pydantic import Field, field_validator, model_validator

from mssim.config.bayesian import BayesianRule
from mssim.config.n_of_1 import NOf1Scoring
from mssim.config.strict import Loading, NonNegative, Strict, Weeks
from mssim.registry import ANALYSES, DESIGNS, ENDPOINTS


class Dropout(Strict):
    """Dropout over the trial (Rog 2005; Möller 2011; Rammohan 2002; Collin 2010)."""

    rate: float = Field(
        0.10,
        ge=0.0,
        lt=1.0,
        description="Share gone by the last visit, adverse-event dropouts included, under "
        "any mechanism (about 10% over 12 weeks; below 1, or no one is left to analyse); "
        "see mssim.model.dropout.",
    )
    mechanism: Literal["mcar", "mar", "mnar"] = "mcar"
    strength: NonNegative = Field(
        1.0,
        description="Log hazard ratio per reference SD of worsening (mar: observed; mnar: "
        "latent); shapes who drops out, not how many.",
    )


class Blinding(Strict):
    """How patients' guesses of their arm change the non-specific effect.

    A patient's non-specific effect is multiplied by ``1 + expectation_gain *
    guess`` (guess 1 'verum', 0 'don't know', -1 'sham'). By default the needled
    arms guess alike ('verum' as often as 'sham'), so blinding holds: acupuncture
    and sham differ by the specific effect only, and a zero specific effect is a
    true null. Unblinding is asked for explicitly, with ``unblinding`` (or unequal
    ``guess_verum`` between arms); the effect breakdown reports its part.
    """

    expectation_gain: float = Field(
        0.1,
        ge=0.0,
        le=0.5,
        description="Relative rise (fall) of the non-specific effect on guessing verum (sham); "
        "at most 0.5, so an open-label verum arm (all guess verum) stays near 0.5 SD vs "
        "usual care, as in the open comparisons (Vickers 2012) (A).",
    )
    unblinding: float = Field(
        0.0,
        ge=0.0,
        le=0.5,
        description="Share of a blinded verum arm's other guesses turned into 'verum' because "
        "the needling gives itself away; 0 = blinding holds. The published verum-vs-sham "
        "SMDs already include the unblinding of those trials, so the default adds none (A).",
    )


class MultiplicityGraph(Strict):
    """A Bonferroni-based graphical multiple test (Bretz, Maurer, Brannath, Posch 2009).

    Hypotheses are the (endpoint, contrast) pairs, primary endpoint first, contrasts in
    order within an endpoint.
    """

    weights: list[Annotated[float, Field(ge=0.0, le=1.0)]] = Field(
        description="Initial share of alpha of each hypothesis (sum at most 1)."
    )
    transitions: list[list[Annotated[float, Field(ge=0.0, le=1.0)]]] = Field(
        description="Share of a rejected hypothesis's alpha passed to each other one "
        "(rows sum to at most 1, zero diagonal)."
    )

    @model_validator(mode="after")
    def _a_graph(self) -> MultiplicityGraph:
        k = len(self.weights)
        if sum(self.weights) > 1 + 1e-12:
            raise ValueError(f"weights sum to {sum(self.weights)}, more than 1")
        if len(self.transitions) != k or any(len(row) != k for row in self.transitions):
            raise ValueError(f"transitions must be a {k} x {k} matrix, one row per weight")
        for i, row in enumerate(self.transitions):
            if row[i] != 0 or sum(row) > 1 + 1e-12:
                raise ValueError(f"row {i} of transitions needs a 0 diagonal and sum <= 1")
        return self


SpendingFamily = Literal["obrien_fleming", "pocock", "hsd", "kim_demets"]
FutilityRule = Literal["none", "z", "conditional_power", "beta_spending"]
SPENDING_FAMILIES: tuple[str, ...] = get_args(SpendingFamily)
FUTILITY_RULES: tuple[str, ...] = get_args(FutilityRule)


class Accrual(Strict):
    """Recruitment in calendar time: when each patient is randomized."""

    rate_per_week: float = Field(
        4.0, gt=0.0, le=1000.0, description="Patients randomized per week at full pace (A)."
    )
    ramp_up_weeks: float = Field(
        0.0,
        ge=0.0,
        le=104.0,
        description="Weeks over which the rate rises linearly from 0 to full pace (A).",
    )


class SampleSizeReestimation(Strict):
    """Blinded sample-size re-estimation from the pooled SD at an interim look."""

    look: int = Field(1, ge=1, le=19, description="Interim look whose data re-estimate n.")
    planned_sd: float = Field(
        gt=0.0, le=100.0, description="SD of the endpoint the maximum n was planned with (points)."
    )
    max_factor: float = Field(
        1.5, ge=1.0, le=4.0, description="Largest re-estimated n, as a multiple of the planned n."
    )


class Sequential(Strict):
    """Interim looks of a group-sequential design, its spending and futility rules."""

    looks: list[Annotated[float, Field(gt=0.0, lt=1.0)]] = Field(
        default_factory=lambda: [1 / 3, 2 / 3],
        description="Interim looks: share of the maximum n with the primary visit reached "
        "(none when look_weeks are given).",
    )
    look_weeks: list[Weeks] = Field(
        default_factory=list,
        description="Interim looks at these calendar weeks from the first randomization "
        "instead of at trial.sequential.looks.",
    )
    efficacy: SpendingFamily = Field("obrien_fleming", description="Alpha-spending family.")
    efficacy_parameter: float = Field(
        0.0, ge=-40.0, le=40.0, description="gamma of hsd, rho (> 0) of kim_demets."
    )
    futility: FutilityRule = Field(
        "none",
        description="Futility stop: none, z (Z <= futility_value), conditional_power "
        "(under the current trend below futility_value) or beta_spending.",
    )
    futility_value: float = Field(
        0.0, ge=-10.0, le=10.0, description="The z, or the conditional power (0-1)."
    )
    binding: bool = Field(
        False, description="Efficacy boundaries count on futility stops being obeyed."
    )
    beta: float = Field(0.2, gt=0.0, lt=0.5, description="Type II error spent by beta_spending.")
    beta_spending: SpendingFamily = Field("hsd", description="Beta-spending family.")
    beta_parameter: float = Field(-2.0, ge=-40.0, le=40.0, description="Its gamma or rho.")
    reestimation: SampleSizeReestimation | None = Field(
        None, description="Blinded sample-size re-estimation (off when absent)."
    )

    @model_validator(mode="before")
    @classmethod
    def _no_share_looks_beside_weeks(cls, data: Any) -> Any:
        """Looks at calendar weeks replace the default looks at shares of patients."""
        if isinstance(data, dict) and data.get("look_weeks") and "looks" not in data:
            return {**data, "looks": []}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> Sequential:
        if self.look_weeks and self.looks:
            raise ValueError("give interim looks as looks or as look_weeks, not both")
        for name, values in (("looks", self.looks), ("look_weeks", self.look_weeks)):
            if any(b <= a for a, b in pairwise(values)):
                raise ValueError(f"{name} must increase; given {values}")
        for which, family, value in (
            ("efficacy", self.efficacy, self.efficacy_parameter),
            ("beta_spending", self.beta_spending, self.beta_parameter),
        ):
            if family == "kim_demets" and value <= 0:
                raise ValueError(f"{which} kim_demets needs a parameter rho > 0; given {value}")
        if self.futility == "conditional_power" and not 0 < self.futility_value < 1:
            raise ValueError(
                f"futility_value is a conditional power in (0, 1); given {self.futility_value}"
            )
        if self.reestimation is not None and self.reestimation.look > self.interim_looks():
            raise ValueError(
                f"reestimation.look {self.reestimation.look} is after the last interim look "
                f"{self.interim_looks()}"
            )
        return self

    def interim_looks(self) -> int:
        """Number of interim looks (the final analysis is one more)."""
        return len(self.look_weeks) or len(self.looks)

    def most_per_arm(self, n_per_arm: int) -> int:
        """Largest n per arm a trial planned with ``n_per_arm`` may reach (re-estimation)."""
        ssr = self.reestimation
        return n_per_arm if ssr is None else math.floor(n_per_arm * ssr.max_factor)


class Trial(Strict):
    """The trial design, endpoints and analysis."""

    design: str = Field(
        "parallel", description="A registered design (parallel, crossover, group_sequential)."
    )
    n_per_arm: int = Field(
        50,
        ge=2,
        le=100_000,
        description="Patients per arm; with unequal allocation, in each smallest arm.",
    )
    allocation: dict[str, Annotated[int, Field(ge=1, le=10)]] = Field(
        default_factory=dict,
        description="Allocation ratio per arm (default 1 each); the smallest ratio is 1.",
    )
    randomization: Literal["simple", "blocks", "stratified"] = "blocks"
    block_size: int = Field(4, ge=1, le=100, description="Block length (patients).")
    stratify_by: Literal["ms_type", "severity"] = "ms_type"
    weeks: int = Field(12, ge=1, le=104, description="Week of the primary visit.")
    extra_visit_weeks: list[Weeks] = Field(
        default_factory=lambda: [6],
        description="Visits before the primary one (weeks); data only, no interim analysis.",
    )
    follow_up_weeks: list[Weeks] = Field(default_factory=list)
    washout_weeks: int = Field(4, ge=0, le=52, description="Crossover washout (weeks).")
    period_effect: Loading = Field(
        0.0, description="Crossover period-2 shift of every symptom (NRS points)."
    )
    primary_endpoint: str = Field("fatigue", description="Symptom scored for the primary test.")
    endpoint: str = Field("change", description="A registered endpoint (change, mean_post).")
    secondary_endpoints: list[str] = Field(default_factory=list)
    analysis: str = Field("ancova", description="A registered analysis (see mssim schema).")
    alpha: float = Field(
        0.05,
        gt=0.0,
        le=0.5,
        description="Two-sided significance level; one-sided hypotheses are tested at alpha / 2.",
    )
    hypothesis: Literal["two_sided", "superiority", "non_inferiority"] = Field(
        "two_sided",
        description="What each contrast tests: two_sided (no effect); superiority (one-sided, "
        "benefit); non_inferiority (one-sided, worse by less than the margin). One-sided "
        "tests are at alpha / 2, so they reject when the 1 - alpha CI clears the null value "
        "(ICH E9 5.5).",
    )
    margin: NonNegative = Field(
        0.0,
        description="Non-inferiority margin of mean-difference analyses: the worsening "
        "(treatment minus comparator) still tolerated, in margin_units of each endpoint.",
    )
    margin_units: Literal["points", "sd"] = Field(
        "points",
        description="Units of trial.margin: instrument points, or the instrument's reference SD.",
    )
    margin_risk_difference: float = Field(
        0.0,
        ge=0.0,
        lt=1.0,
        description="Non-inferiority margin of the responder analysis: the shortfall in the "
        "share of responders still tolerated (a risk difference).",
    )
    missing_data: Literal["complete_case", "locf", "bocf"] = "complete_case"
    estimand: Literal["treatment_policy", "hypothetical", "composite"] = "treatment_policy"
    multiplicity: Literal[
        "fixed_sequence", "holm", "hochberg", "bonferroni", "graphical", "none"
    ] = Field(
        "fixed_sequence",
        description="Strategy over the (endpoint, contrast) family, primary first: "
        "fixed_sequence (primary at full alpha, then each secondary gated by the ones "
        "before), holm, hochberg, bonferroni, graphical (trial.multiplicity_graph), none.",
    )
    multiplicity_graph: MultiplicityGraph | None = Field(
        None, description="Graph of the graphical strategy (Bretz et al. 2009)."
    )
    contrasts: list[str] = Field(
        default_factory=list, description='"arm - comparator"; default: each arm vs the last.'
    )
    accrual: Accrual = Field(default_factory=Accrual)
    sequential: Sequential = Field(
        default_factory=Sequential, description="Looks of the group_sequential design."
    )
    bayesian: BayesianRule = Field(
        default_factory=BayesianRule,
        description="Prior, delta and threshold of the Bayesian decision rule 'bayes'.",
    )
    n_of_1: NOf1Scoring = Field(
        default_factory=NOf1Scoring,
        description="How each period of an N-of-1 series is scored (n_of_1 designs only).",
    )

    @field_validator("design")
    @classmethod
    def _known_design(cls, value: str) -> str:
        return DESIGNS.check(value)

    @field_validator("endpoint")
    @classmethod
    def _known_endpoint(cls, value: str) -> str:
        return ENDPOINTS.check(value)

    @field_validator("analysis")
    @classmethod
    def _known_analysis(cls, value: str) -> str:
        return ANALYSES.check(value)

    @model_validator(mode="after")
    def _margins_with_their_hypothesis(self) -> Trial:
        margins = [f for f in ("margin", "margin_risk_difference") if getattr(self, f) > 0]
        if self.hypothesis != "non_inferiority" and margins:
            raise ValueError(
                f"@trial.{margins[0]}: a margin is used only by hypothesis = "
                f"'non_inferiority'; given hypothesis = {self.hypothesis!r}: remove the "
                "margin or change the hypothesis"
            )
        if self.hypothesis == "non_inferiority" and not margins:
            raise ValueError(
                "@trial.margin: hypothesis = 'non_inferiority' needs a margin > 0: "
                "trial.margin (mean differences) or trial.margin_risk_difference (responder)"
            )
        return self

    def visit_weeks(self) -> list[int]:
        """Visit weeks, baseline (0) first (the design decides)."""
        return DESIGNS.get(self.design).visit_weeks(self)


class PowerSettings(Strict):
    """Monte Carlo settings for ``mssim run``."""

    n_per_arm: list[Annotated[int, Field(ge=2, le=100_000)]] = Field(
        default_factory=lambda: [20, 40, 60, 80, 100, 150], min_length=1
    )
    replicates: int = Field(1000, ge=1, le=10_000_000)
    target: float = Field(0.8, gt=0.0, lt=1.0, description="Target power.")
    mcse_target: float = Field(
        0.01, ge=0.001, le=0.1, description="Largest power MCSE near the sample-size answer."
    )
    chunk_size: int = Field(100, ge=1, le=100_000, description="Replicates per chunk.")
