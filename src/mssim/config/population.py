"""Who is screened and enrolled: MS types, disability, relapses, response, screening."""

from __future__ import annotations

import math

from pydantic import Field, field_validator, model_validator

from mssim.config.strict import NonNegative, Positive, Probability, Score, Strict


class MSTypes(Strict):
    """Shares of MS types among people screened (Learmonth 2013; Rammohan 2002)."""

    rrms: Probability = 0.75
    spms: Probability = 0.15
    ppms: Probability = 0.10

    @model_validator(mode="after")
    def _sum_to_one(self) -> MSTypes:
        total = self.rrms + self.spms + self.ppms
        if not math.isclose(total, 1.0, abs_tol=1e-9):
            raise ValueError(f"shares of rrms, spms and ppms must sum to 1; they sum to {total:g}")
        return self


class RelapseProcess(Strict):
    """Relapses: a Poisson process per patient with gamma frailty."""

    annual_rate: dict[str, NonNegative] = Field(
        default_factory=lambda: {
            "rrms": 0.40,  # placebo arm (Kappos 2010, FREEDOMS)
            "spms": 0.15,  # (A) fewer relapses in the progressive phase
            "ppms": 0.03,  # (A) rare by definition
        },
        description="Annualized relapse rate without therapy, by MS type.",
    )
    therapy_rate_ratio: Probability = Field(
        0.6, description="Rate ratio on disease-modifying therapy: 0.16-0.33 vs 0.40 (H)."
    )
    frailty_shape: Positive = Field(
        2.0, description="Gamma shape of relapse propensity between patients (A)."
    )
    recovery_half_life_days: Positive = Field(
        30.0,
        description="Half-life of recovery: 55% back by 3 months (Eur Neurol 2008) (M).",
    )
    residual_probability: Probability = Field(
        0.42, description="Chance a relapse leaves a residual deficit (Lublin 2003)."
    )
    residual_fraction: Probability = Field(
        0.3, description="Share of the jump that stays when residual (A)."
    )

    @field_validator("annual_rate")
    @classmethod
    def _all_types(cls, value: dict[str, float]) -> dict[str, float]:
        missing = {"rrms", "spms", "ppms"} - set(value)
        extra = set(value) - {"rrms", "spms", "ppms"}
        if missing or extra:
            raise ValueError(
                "annual_rate needs exactly rrms, spms and ppms; "
                f"given {', '.join(sorted(value)) or 'none'}"
            )
        return value


class Screening(Strict):
    """Eligibility assessed on a noisy screening measurement before baseline."""

    enabled: bool = Field(True, description="Apply the eligibility rules below.")
    symptom: str = Field("fatigue", description="Symptom scored at screening.")
    min_score: Score | None = Field(
        None,
        description="Lowest eligible screening score (instrument points); default: the "
        "instrument's screening cut-off (FSS >= 4).",
    )
    max_score: Score | None = Field(None, description="Highest eligible score, if any.")
    max_edss: float = Field(6.5, ge=0.0, le=10.0, description="Entry EDSS <= 6-7 (Charité).")
    days_before_baseline: int = Field(
        28, ge=1, le=180, description="Days from screening to baseline (A: 4-week screening)."
    )
    max_candidates: int = Field(
        16, ge=1, le=200, description="Candidates screened per enrolment slot at most."
    )


class Population(Strict):
    """Who is screened: MS type, disability, therapy, response and expectation."""

    ms_types: MSTypes = MSTypes()
    edss_median: float = Field(3.0, ge=0.0, le=10.0, description="Learmonth 2013 (M).")
    edss_sd: NonNegative = Field(1.5, description="SD of EDSS in symptom trials (A).")
    on_therapy: Probability = Field(0.6, description="Share on disease-modifying therapy (A).")
    responder_fraction: Probability = Field(
        0.6, description="Share who respond to needling at all (A)."
    )
    response_sd: NonNegative = Field(
        0.3, description="Log-SD of responders' continuous response modifier (A)."
    )
    expectation_sd: NonNegative = Field(
        0.3, description="Log-SD of expectation (mean 1), scales the non-specific effect (A)."
    )
    screening: Screening = Screening()
