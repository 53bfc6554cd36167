"""Analytic cross-check: the closed-form ANCOVA sample size for the simulated effect.

From simulated trials of the scenario (primary endpoint, first contrast) it
measures what a planner would plug into a formula: the true effect (mean
difference in change from baseline, the counterfactual truth), the SD of the
endpoint visit score within arm, the baseline-outcome correlation r within arm
and the share of patients not analysed. The closed form is the ANCOVA sample
size (Borm, Fransen and Lemmens 2007):

    n per arm = 2 (z_{1-alpha/2} + z_{1-beta})^2 sigma^2 (1 - r^2) / delta^2,

and its t-test version from statsmodels (``TTestIndPower`` with Cohen's d =
delta / (sigma sqrt(1 - r^2))), both inflated by 1 / (1 - dropout) for those
not analysed. The ratio of the simulated answer to the t-test version, and the
features of the simulated data that the formula ignores, explain the difference.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy.stats import norm, skew
from statsmodels.stats.power import TTestIndPower

from mssim.config.scenario import Scenario
from mssim.trial.data import trial_data
from mssim.trial.estimands import true_effects
from mssim.trial.randomization import contrast_regimens, randomize, total_patients

#: Skewness of the within-arm outcome beyond which the normal model is called off.
SKEWED = 0.5


@dataclass(frozen=True)
class CrossCheck:
    """The closed-form sample size next to the simulated one.

    Attributes:
        effect: True mean difference in change from baseline (instrument points).
        outcome_sd: SD of the endpoint visit score within arm, observed patients.
        correlation: Baseline-outcome correlation within arm, observed patients.
        sd_ratio: Outcome SD of the treated arm over the comparator's.
        skewness: Skewness of the within-arm outcome (0 for a normal model).
        dropout: Share of randomized patients not analysed.
        n_formula: ANCOVA n per arm by the normal formula, inflated for dropout.
        n_ttest: The same from statsmodels' t-test power (``TTestIndPower``), inflated.
        n_simulated: The run's answer (None when above the sizes examined).
        ratio: ``n_simulated / n_ttest`` (None without a simulated answer).
        reasons: Why the two differ, each a sentence.
        replicates: Simulated trials the inputs are measured on.
        n_per_arm: Their n per arm.
    """

    effect: float
    outcome_sd: float
    correlation: float
    sd_ratio: float
    skewness: float
    dropout: float
    n_formula: int
    n_ttest: int
    n_simulated: int | None
    ratio: float | None
    reasons: list[str]
    replicates: int
    n_per_arm: int

    def as_dict(self) -> dict[str, object]:
        """Plain data for ``crosscheck.json``."""
        return asdict(self)

    def sentence(self) -> str:
        """One line for the terminal."""
        ratio = f"; simulated / closed form = {self.ratio:.2f}" if self.ratio else ""
        return (
            f"Analytic cross-check: effect {self.effect:.3g} points, outcome SD "
            f"{self.outcome_sd:.3g}, baseline-outcome r {self.correlation:.2f}, dropout "
            f"{self.dropout:.0%}: ANCOVA closed form n = {self.n_ttest} per arm (t-test, "
            f"statsmodels; normal formula {self.n_formula}){ratio}."
        )


@dataclass(frozen=True)
class NoClosedForm:
    """Why the closed form has no answer for this scenario (e.g. a true effect of 0).

    Attributes:
        reason: One sentence.
    """

    reason: str

    def sentence(self) -> str:
        """One line for the terminal."""
        return f"Analytic cross-check: no closed-form n: {self.reason}."


def ancova_n(
    effect: float, sd: float, correlation: float, alpha: float, power: float, dropout: float
) -> tuple[int, int]:
    """Closed-form ANCOVA n per arm, normal formula and t-test, inflated for dropout.

    Args:
        effect: Mean difference to detect (points).
        sd: Within-arm SD of the outcome (points).
        correlation: Baseline-outcome correlation.
        alpha: Two-sided significance level.
        power: Target power.
        dropout: Share not analysed (0 to < 1).

    Returns:
        ``(normal formula, statsmodels t-test)`` n per arm, rounded up.
    """
    residual = sd * math.sqrt(1.0 - correlation**2)
    z = norm.ppf(1 - alpha / 2) + norm.ppf(power)
    normal = 2 * z**2 * residual**2 / effect**2
    t_based = TTestIndPower().solve_power(
        effect_size=abs(effect) / residual, alpha=alpha, power=power, ratio=1.0
    )
    keep = 1.0 - dropout
    return math.ceil(normal / keep), math.ceil(float(t_based) / keep)


def crosscheck(
    scenario: Scenario, n_per_arm: int, n_simulated: int | None, replicates: int = 200
) -> CrossCheck | NoClosedForm:
    """Measure the formula's inputs on simulated trials and compare the answers.

    Args:
        scenario: The scenario (primary endpoint, first contrast, ``trial.alpha``,
            ``power.target``).
        n_per_arm: n per arm of the trials measured.
        n_simulated: The simulated answer to compare with, or None.
        replicates: Simulated trials measured (replicates 0 to R-1 of the run).

    Returns:
        The inputs, both closed forms, the ratio and the reasons they differ; or why
        there is no closed-form answer (a true effect of 0, or fewer than two patients
        per arm analysed on average).
    """
    endpoint = scenario.trial.primary_endpoint
    n = total_patients(scenario, n_per_arm)
    from mssim.model.engine import simulate  # here, so a refused run never loads numba

    outcomes = simulate(scenario, np.arange(replicates), n)
    data = trial_data(scenario, outcomes, randomize(scenario, outcomes), endpoint, n)
    a, b = contrast_regimens(scenario)[0]
    effect = float(
        true_effects(scenario, outcomes, endpoint, ["mean_difference"])["mean_difference"][
            :, 0
        ].mean()
    )
    centred, base, sds = [], [], []
    for arm in (a, b):
        seen = (data.regimen == arm) & data.observed
        y = np.where(seen, data.outcome, np.nan)
        x = np.where(seen, data.baseline, np.nan)
        centred.append((y - np.nanmean(y, axis=1, keepdims=True))[seen])
        base.append((x - np.nanmean(x, axis=1, keepdims=True))[seen])
        sds.append(float(np.sqrt(np.mean(centred[-1] ** 2))))
    y, x = np.concatenate(centred), np.concatenate(base)
    if min(len(c) for c in centred) < 2 * replicates:
        return NoClosedForm(
            f"fewer than two patients per arm were analysed in the {replicates} trials "
            f"of {n_per_arm} per arm measured"
        )
    if effect == 0.0:
        return NoClosedForm("the simulated true effect is 0, which no sample size detects")
    sd = float(np.sqrt(np.mean(y**2)))
    r = float(np.corrcoef(x, y)[0, 1])
    in_contrast = (data.regimen == a) | (data.regimen == b)
    dropout = 1.0 - float((data.observed & in_contrast).sum() / in_contrast.sum())
    n_formula, n_ttest = ancova_n(
        effect, sd, r, scenario.trial.alpha, scenario.power.target, dropout
    )
    ratio = n_simulated / n_ttest if n_simulated else None
    check = CrossCheck(
        effect, sd, r, sds[0] / sds[1], float(skew(y)), dropout, n_formula, n_ttest,
        n_simulated, ratio, [], replicates, n_per_arm,
    )  # fmt: skip
    return CrossCheck(**{**asdict(check), "reasons": reasons(scenario, check)})


def reasons(scenario: Scenario, check: CrossCheck) -> list[str]:
    """What the simulation has that the formula assumes away, measured where it can be."""
    out = [
        f"The formula assumes normal outcomes with one SD in both arms; simulated, the "
        f"treated arm's SD is {check.sd_ratio:.2f} times the comparator's (patients respond "
        "unequally) and the skewness is "
        f"{check.skewness:.2f}"
        + (" (the instrument's floor or ceiling)." if abs(check.skewness) > SKEWED else ".")
    ]
    if scenario.trial.analysis != "ancova":
        out.append(
            f"The run analyses with {scenario.trial.analysis}, not ANCOVA, so its power "
            "differs from the ANCOVA formula's."
        )
    out.append(
        "Scores sit on the instrument's grid (ties, coarse steps), which adds rounding "
        "noise the formula does not see."
    )
    if any(arm.kind.needled and arm.practitioner_sd > 0 for arm in scenario.arms.values()):
        out.append(
            "Patients share practitioners, whose own effects add a small clustered "
            "variance (and slightly more with fewer practitioners)."
        )
    if check.dropout > 0:
        out.append(
            f"Dropout ({check.dropout:.0%}) is simulated patient by patient; the formula "
            "inflates n by 1 / (1 - dropout) on average only."
        )
    out.append(
        "The simulated answer carries Monte Carlo error (its interval); the inputs here "
        f"are measured on {check.replicates} trials of {check.n_per_arm} per arm."
    )
    return out
