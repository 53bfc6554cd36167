"""Bayesian decision rule: a normal-normal posterior from the ANCOVA estimate and its SE.

The likelihood of the treatment effect theta (treatment minus comparator,
outcome units; negative = benefit) is normal around the ANCOVA estimate with
its classical SE. The prior is normal, its mean and SD given in units of the
replicate's pooled baseline SD of the analysed patients (a pre-randomization
quantity, so the prior does not see the outcomes):

* ``flat``: no prior information (posterior = likelihood);
* ``sceptical`` (Spiegelhalter, Freedman and Parmar 1994): centred on no
  effect with P(theta < -Delta) = 5%, i.e. SD = Delta / 1.645;
* ``enthusiastic``: centred on the benefit -Delta with P(theta > 0) = 5%;
* ``normal``: a mean and SD the planner gives.

The analysis ``bayes`` takes its prior, delta and threshold from the scenario's
``[trial.bayesian]`` table (:class:`mssim.config.bayesian.BayesianRule`);
``bayes_flat``, ``bayes_sceptical`` and ``bayes_enthusiastic`` are that table
with fixed values (Delta 0.3, delta 0, threshold 0.975).

The rule decides for benefit when P(theta < -delta | data) > threshold.
Reported per replicate: the posterior mean as ``estimate``, the posterior SD
as ``se``, the equal-tailed 1 - alpha credible interval, and as ``p_value`` the
posterior probability of no benefit beyond delta, 1 - P(theta < -delta | data),
which the Monte Carlo compares with ``1 - threshold``
(:attr:`mssim.trial.analyses.analysis.Analysis.threshold`).

With a flat prior, delta = 0 and threshold 1 - alpha / 2 the rule is exactly a
two-sided z-test at alpha that counts only benefit.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special

from mssim.config.bayesian import BayesianRule
from mssim.registry import ANALYSES
from mssim.trial.analyses.analysis import Analysis
from mssim.trial.analyses.ancova import ancova
from mssim.trial.analyses.estimates import Estimates, _arrays, _moments, _result
from mssim.trial.data import TrialData

#: z such that P(Z > z) = 5%: a sceptical or enthusiastic prior puts 5% beyond its bound.
Z_95 = float(special.ndtri(0.95))


@dataclass(frozen=True)
class NormalPrior:
    """A normal prior on the treatment effect, in units of the baseline SD.

    Attributes:
        mean: Prior mean (negative = benefit).
        sd: Prior SD; ``math.inf`` for a flat prior.
    """

    mean: float
    sd: float

    @classmethod
    def flat(cls) -> NormalPrior:
        """No prior information."""
        return cls(0.0, math.inf)

    @classmethod
    def sceptical(cls, alternative: float) -> NormalPrior:
        """Centred on 0 with 5% below ``-alternative`` (baseline SD)."""
        return cls(0.0, alternative / Z_95)

    @classmethod
    def enthusiastic(cls, alternative: float) -> NormalPrior:
        """Centred on ``-alternative`` with 5% above 0 (baseline SD)."""
        return cls(-alternative, alternative / Z_95)


def normal_posterior(
    estimate: np.ndarray, se: np.ndarray, prior_mean: np.ndarray, prior_sd: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Posterior mean and SD of a normal likelihood with a normal prior (conjugate).

    Args:
        estimate: The likelihood's centre, (R,).
        se: Its SD, (R,).
        prior_mean: Prior mean, (R,) or scalar, same units.
        prior_sd: Prior SD, (R,) or scalar; ``inf`` gives the flat prior.

    Returns:
        ``(mean, sd)``: the precision-weighted mean ``estimate + w (prior_mean - estimate)``
        with the prior's share of the precision ``w = (1/prior_sd^2) / (1/se^2 +
        1/prior_sd^2)``, and ``se sqrt(1 - w)``; a flat prior (w = 0) returns
        ``estimate`` and ``se`` exactly.
    """
    prior_precision = 1.0 / np.square(prior_sd)
    w = prior_precision / (1.0 / se**2 + prior_precision)
    return estimate + w * (prior_mean - estimate), se * np.sqrt(1.0 - w)


def posterior_rule(
    outcome: np.ndarray,
    baseline: np.ndarray,
    arm: np.ndarray,
    observed: np.ndarray,
    prior: NormalPrior,
    delta: float,
    alpha: float = 0.05,
) -> Estimates:
    """The normal-normal posterior of the ANCOVA effect, per replicate.

    Args:
        outcome: Follow-up outcome, (R, N).
        baseline: Baseline score, (R, N).
        arm: 1/True for the treatment arm, (R, N).
        observed: Analysed patients, (R, N).
        prior: The prior, in baseline SD.
        delta: The benefit that must be exceeded (baseline SD, >= 0).
        alpha: Level of the equal-tailed credible interval (1 - alpha).

    Returns:
        Posterior mean (``estimate``), posterior SD (``se``), credible interval and
        ``p_value`` = 1 - P(theta < -delta | data); degenerate replicates as ANCOVA.
    """
    outcome, baseline, arm, observed = _arrays(outcome, baseline, arm, observed)
    fit = ancova(outcome, baseline, arm, observed, alpha)
    with np.errstate(all="ignore"):
        n, _, ss = _moments(np.where(observed, baseline, 0.0), observed.astype(np.float64))
        scale = np.sqrt(ss / (n - 1))
        mean, sd = normal_posterior(fit.estimate, fit.se, prior.mean * scale, prior.sd * scale)
        half = special.ndtri(1 - alpha / 2) * sd
        no_benefit = special.ndtr((mean + delta * scale) / sd)
    return _result(mean, sd, (mean - half, mean + half, no_benefit), fit.n_analysed, fit.reason)


def prior_of(rule: BayesianRule) -> NormalPrior:
    """The normal prior a rule's settings give (baseline SD)."""
    if rule.prior == "flat":
        return NormalPrior.flat()
    if rule.prior == "sceptical":
        return NormalPrior.sceptical(rule.alternative)
    if rule.prior == "enthusiastic":
        return NormalPrior.enthusiastic(rule.alternative)
    return NormalPrior(float(rule.mean), float(rule.sd))


def rule_wording(rule: BayesianRule) -> str:
    """The rule in words, for the report and the registry listing."""
    if rule.prior == "normal":
        prior = f"a normal prior (mean {rule.mean:g}, SD {rule.sd:g} baseline SD)"
    elif rule.prior == "flat":
        prior = "a flat prior"
    elif rule.prior == "sceptical":
        prior = f"a sceptical prior (mean 0, 5% below -{rule.alternative:g} baseline SD)"
    else:
        prior = f"an enthusiastic prior (mean -{rule.alternative:g} baseline SD, 5% above 0)"
    benefit = "0" if rule.delta == 0 else f"-{rule.delta:g} baseline SD"
    return (
        f"Bayesian rule P(effect < {benefit} | data) > {rule.threshold:g}: normal posterior "
        f"from the ANCOVA estimate and SE with {prior}"
    )


def bayesian_analysis(
    name: str,
    prior: NormalPrior,
    delta: float,
    threshold: float,
    wording: str,
    configure: Callable[[Any], Analysis] | None = None,
) -> Analysis:
    """An analysis entry for a Bayesian decision rule (register it in ``ANALYSES``).

    Args:
        name: Registry name.
        prior: Normal prior on the effect (baseline SD).
        delta: Decide for benefit when P(effect < -delta | data) > ``threshold``
            (baseline SD, >= 0).
        threshold: Posterior probability required, in (0, 1).
        wording: What it is, for the report.
        configure: For a rule set by the scenario, ``trial`` -> the configured entry
            (:attr:`mssim.trial.analyses.analysis.Analysis.configure`).

    Returns:
        The entry; its Monte Carlo rejections are the rule's decisions.
    """
    if not delta >= 0 or not 0 < threshold < 1:
        raise ValueError(f"{name}: delta must be >= 0 and threshold in (0, 1)")

    def function(data: TrialData, treatment: int, comparator: int, alpha: float) -> Estimates:
        observed, arm = data.contrast(treatment, comparator)
        return posterior_rule(data.outcome, data.baseline, arm, observed, prior, delta, alpha)

    return Analysis(
        name=name,
        estimand="mean_difference",
        wording=wording,
        function=function,
        threshold=threshold,
        configure=configure,
    )


def rule_analysis(name: str, rule: BayesianRule, configurable: bool = False) -> Analysis:
    """The analysis entry of a rule's settings.

    Args:
        name: Registry name.
        rule: Prior, delta and threshold.
        configurable: The scenario's ``trial.bayesian`` replaces ``rule`` (the
            analysis ``bayes``); else the settings are fixed.
    """
    return bayesian_analysis(
        name,
        prior_of(rule),
        rule.delta,
        rule.threshold,
        rule_wording(rule),
        (lambda trial: rule_analysis(name, trial.bayesian, True)) if configurable else None,
    )


#: The scenario-configured rule: its settings are the scenario's ``[trial.bayesian]``
#: (the registered entry shows the defaults).
CONFIGURED = "bayes"
ANALYSES.register(rule_analysis(CONFIGURED, BayesianRule(), configurable=True))
#: Built-in rules with fixed settings (delta 0, threshold 0.975).
for _name, _kind in (
    ("bayes_flat", "flat"),
    ("bayes_sceptical", "sceptical"),
    ("bayes_enthusiastic", "enthusiastic"),
):
    ANALYSES.register(rule_analysis(_name, BayesianRule(prior=_kind)))
