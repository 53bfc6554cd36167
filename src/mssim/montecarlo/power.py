"""Monte Carlo operating characteristics, each with its Monte Carlo error.

For every design point (n per arm), contrast, endpoint and analysis:

* ``power``: share of trials significant after the multiplicity rule (the
  type I error when the null hypothesis is true: no effect, or for
  non-inferiority a true effect at the margin), with MCSE and Wilson interval;
  ``hypothesis``, ``null_value`` (estimand units) and ``test_level`` (alpha, or
  alpha / 2 one-sided, or 1 - threshold for a Bayesian rule) say what was tested;
* ``bias``, ``rmse``, ``coverage`` against the counterfactual true effect;
* ``type_s``: share of significant results with the wrong sign;
* ``exaggeration`` (type M): mean |estimate| among significant results over
  |true effect|.

The sample size reaching a target power is in :mod:`mssim.montecarlo.sample_size`.

Sample sizes share common random numbers: one simulation of the largest
trial serves every smaller n, because patients are drawn patient-major.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from mssim.config.load import with_overrides
from mssim.config.n_of_1 import scores_diary
from mssim.config.scenario import Scenario
from mssim.montecarlo import sequential
from mssim.montecarlo.analyses import check_analyses
from mssim.montecarlo.parallel import Checkpoints, chunk_ranges, run_chunks, run_key
from mssim.montecarlo.replicates import write_estimates
from mssim.registry import DESIGNS, loaded_plugins
from mssim.trial.analyses.analysis import analyse, for_trial
from mssim.trial.analyses.hypothesis import NullHypothesis, contrast_test
from mssim.trial.data import trial_data
from mssim.trial.estimands import EFFECT_MEASURES, estimated, true_effects
from mssim.trial.multiplicity import adjust_pvalues, scenario_graph
from mssim.trial.randomization import contrast_regimens, randomize, total_patients

if TYPE_CHECKING:  # the engine's types; importing them at run time would load numba
    from mssim.model.outcomes import Outcomes

FIELDS = ("estimate", "se", "ci_low", "ci_high", "p_value", "reject", "n_analysed", "dropped")
#: Periods reported by ``not_analysed_period<k>`` (a crossover has two; parallel one;
#: an N-of-1 series has 2 per cycle, of which the first two are reported).
PERIODS = 2
KINDS = tuple(EFFECT_MEASURES)


def chunk_statistics(
    scenario: Scenario, n_per_arm: list[int], analyses: list[str], replicates: np.ndarray
) -> dict[str, np.ndarray]:
    """Simulate and analyse one chunk of replicates at every design point.

    Returns:
        Arrays shaped (analyses, design points, endpoints, contrasts, R), plus
        ``truth`` (kinds, endpoints, contrasts, R; NaN for a measure no analysis
        estimates, :func:`mssim.trial.estimands.estimated`); a group-sequential design's
        fields are those at the look where each trial stopped, with its looks
        (:func:`mssim.montecarlo.sequential.chunk_statistics`).
    """
    if sequential.applies(scenario):
        return sequential.chunk_statistics(
            scenario, n_per_arm, analyses, replicates, FIELDS, KINDS, PERIODS
        )
    from mssim.model.engine import simulate  # here, so a refused run never loads numba

    n_patients = total_patients(scenario, max(n_per_arm))
    outcomes = simulate(scenario, replicates, n_patients, keep_daily=scores_diary(scenario.trial))
    return outcome_statistics(scenario, n_per_arm, analyses, outcomes)


def outcome_statistics(
    scenario: Scenario, n_per_arm: list[int], analyses: list[str], outcomes: Outcomes
) -> dict[str, np.ndarray]:
    """Randomize, analyse and compare with the truth: a simulated chunk's statistics.

    Args:
        scenario: The scenario (its trial, endpoints and analyses).
        n_per_arm: Design points; ``outcomes`` holds the largest trial's patients.
        analyses: The analyses.
        outcomes: The engine's outcomes for the chunk (any replicates, in their order).

    Returns:
        As :func:`chunk_statistics` (without the group-sequential fields).
    """
    replicates = outcomes.replicates
    endpoints = scenario.endpoints()
    pairs = contrast_regimens(scenario)
    allocation = randomize(scenario, outcomes)
    shape = (len(analyses), len(n_per_arm), len(endpoints), len(pairs), len(replicates))
    out = {f: np.zeros(shape) for f in FIELDS}
    out["not_analysed"] = np.full((PERIODS, *shape[1:]), np.nan)
    truth = np.full((len(KINDS), len(endpoints), len(pairs), len(replicates)), np.nan)
    for e, endpoint in enumerate(endpoints):
        for kind, effect in true_effects(scenario, outcomes, endpoint, estimated(analyses)).items():
            truth[KINDS.index(kind), e] = effect.T
    alpha = scenario.trial.alpha
    everyone = DESIGNS.get(scenario.trial.design).all_in_contrast
    for i, n in enumerate(n_per_arm):
        for e, endpoint in enumerate(endpoints):
            data = trial_data(scenario, outcomes, allocation, endpoint, total_patients(scenario, n))
            for c, (a, b) in enumerate(pairs):
                in_contrast = (data.regimen == a) | (data.regimen == b) | everyone
                dropped = (data.dropped_out & in_contrast).sum(1) / in_contrast.sum(1)
                unseen = ~data.period_seen & in_contrast[..., None]
                for k in range(min(unseen.shape[-1], PERIODS)):
                    out["not_analysed"][k, i, e, c] = unseen[..., k].sum(1) / in_contrast.sum(1)
                for m, method in enumerate(analyses):
                    test = contrast_test(scenario, method, endpoint)
                    est = analyse(method, data, a, b, alpha, test, scenario.trial)
                    for field in FIELDS[:5]:
                        out[field][m, i, e, c] = getattr(est, field)
                    out["n_analysed"][m, i, e, c] = est.n_analysed
                    out["dropped"][m, i, e, c] = dropped
        for m, method in enumerate(analyses):
            # the family: every endpoint x contrast, primary endpoint first
            p = out["p_value"][m, i].reshape(-1, len(replicates)).T
            test_level = contrast_test(scenario, method, endpoints[0]).level(alpha)
            # a Bayesian rule compares with 1 - threshold
            level = for_trial(method, scenario.trial).level(test_level)
            reject = adjust_pvalues(p, scenario.trial.multiplicity, level, scenario_graph(scenario))
            out["reject"][m, i] = reject.T.reshape(out["reject"][m, i].shape)
    return {**out, "truth": truth}


def wilson(successes: float, trials: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion."""
    if trials == 0:
        return (math.nan, math.nan)
    z = norm.ppf(0.5 + level / 2)
    p = successes / trials
    centre = (p + z**2 / (2 * trials)) / (1 + z**2 / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z**2 / (4 * trials**2)) / (1 + z**2 / trials)
    return (centre - half, centre + half)


def summarize(
    scenario: Scenario, n_per_arm: list[int], analyses: list[str], stats: dict[str, np.ndarray]
) -> pd.DataFrame:
    """Operating characteristics from per-replicate statistics (one row per design point).

    Besides each hypothesis's own power (after the multiplicity strategy), every row
    carries its family's rates at that design point and analysis: ``disjunctive_power``
    (at least one false null hypothesis rejected), ``conjunctive_power`` (all false null
    hypotheses rejected) and ``familywise_error`` (at least one true null hypothesis
    rejected), each with its MCSE. A hypothesis counts as a true null (``true_null``)
    when its true effect is negligible (:func:`negligible`).
    """
    endpoints = scenario.endpoints()
    contrasts = [f"{a} - {b}" for a, b in scenario.contrasts()]
    hypotheses = [(e, c) for e in range(len(endpoints)) for c in range(len(contrasts))]
    rows = []
    for m, method in enumerate(analyses):
        rule = for_trial(method, scenario.trial)
        measure = rule.estimand
        kind = KINDS.index(measure)
        theta = stats["truth"][kind].mean(axis=-1)  # (endpoints, contrasts)
        nulls, families = {}, {}
        tests = [contrast_test(scenario, method, endpoint) for endpoint in endpoints]
        for i in range(len(n_per_arm)):
            for e, c in hypotheses:
                nulls[i, e, c] = true_null(
                    float(theta[e, c]), stats["estimate"][m, i, e, c], tests[e]
                )
            families[i] = family_rates(
                [stats["reject"][m, i, e, c].astype(bool) for e, c in hypotheses],
                [nulls[i, e, c] for e, c in hypotheses],
            )
        for e, c in hypotheses:
            for i, n in enumerate(n_per_arm):
                cell = {f: stats[f][m, i, e, c] for f in FIELDS}
                periods = {
                    f"not_analysed_period{k + 1}": float(stats["not_analysed"][k, i, e, c].mean())
                    for k in range(PERIODS)
                }
                rows.append(
                    {
                        "analysis": method,
                        "estimand": f"{measure} ({scenario.trial.estimand})",
                        "endpoint": endpoints[e],
                        "contrast": contrasts[c],
                        "n_per_arm": n,
                        **operating_characteristics(cell, float(theta[e, c])),
                        **posterior_characteristics(rule.threshold, cell),
                        **periods,
                        "multiplicity": scenario.trial.multiplicity,
                        "hypothesis": scenario.trial.hypothesis,
                        "null_value": tests[e].null,
                        "test_level": rule.level(tests[e].level(scenario.trial.alpha)),
                        "true_null": nulls[i, e, c],
                        **families[i],
                    }
                )
    return pd.DataFrame(rows)


def posterior_characteristics(
    threshold: float | None, cell: dict[str, np.ndarray]
) -> dict[str, float]:
    """A Bayesian rule's mean posterior probability of benefit, with MCSE (else nothing).

    Args:
        threshold: The rule's threshold (None for a frequentist test: no columns).
        cell: Per-replicate statistics; ``p_value`` holds 1 - P(benefit | data).
    """
    if threshold is None:
        return {}
    benefit = 1.0 - cell["p_value"][np.isfinite(cell["p_value"])]
    spread = benefit.std(ddof=1) / math.sqrt(len(benefit)) if len(benefit) > 1 else math.nan
    return {
        "decision_threshold": threshold,
        "mean_posterior_probability": float(benefit.mean()) if len(benefit) else math.nan,
        "mean_posterior_probability_mcse": float(spread),
    }


#: A true effect within this many Monte Carlo standard errors of the mean estimate
#: of zero is indistinguishable from zero at the run's number of replicates.
NEGLIGIBLE_MCSE = 2.0


def negligible_tolerance(estimates: np.ndarray) -> float:
    """Largest negligible true effect: :data:`NEGLIGIBLE_MCSE` MCSE of the mean estimate.

    Args:
        estimates: Per-replicate estimates (NaN for failed fits), estimand units.

    Returns:
        ``2 * SD(estimates) / sqrt(R)`` over the finite estimates (0 with fewer than 2).
    """
    e = estimates[np.isfinite(estimates)]
    return NEGLIGIBLE_MCSE * float(e.std(ddof=1) / math.sqrt(len(e))) if len(e) > 1 else 0.0


def negligible(theta: float, estimates: np.ndarray) -> bool:
    """Whether a true effect is negligible: ``|theta| <= 2 MCSE`` of the mean estimate.

    The MCSE of the mean estimate is ``SD(estimates) / sqrt(R)`` (estimand units). A
    true effect that small (e.g. 6e-21, rounding noise of a null scenario) cannot be
    told from zero by the run, so type S and exaggeration against it are undefined and
    its hypothesis counts as a true null in the family-wise error rate.

    Args:
        theta: The true effect (estimand units).
        estimates: Per-replicate estimates (NaN for failed fits).

    Returns:
        True if ``|theta|`` is at most :data:`NEGLIGIBLE_MCSE` MCSE (or exactly 0).
    """
    return abs(theta) <= negligible_tolerance(estimates)


def true_null(theta: float, estimates: np.ndarray, test: NullHypothesis) -> bool:
    """Whether the tested null hypothesis holds for a true effect.

    Two-sided: the true effect is negligible (:func:`negligible`). One-sided: it is
    within that tolerance of the null value (at the margin), or beyond it on the side
    of harm.

    Args:
        theta: The true effect (estimand units).
        estimates: Per-replicate estimates (NaN for failed fits).
        test: The test of the hypothesis (its null value and direction of benefit).
    """
    shift = theta - test.null
    if negligible(shift, estimates):
        return True
    return test.sides == 1 and test.better * shift < 0


def family_rates(rejected: list[np.ndarray], nulls: list[bool]) -> dict[str, float]:
    """Disjunctive and conjunctive power and family-wise error rate, with MCSE.

    Args:
        rejected: Per hypothesis of the family, per-replicate rejections (R,) after the
            multiplicity strategy.
        nulls: Per hypothesis, whether it is a true null.

    Returns:
        ``disjunctive_power``, ``conjunctive_power``, ``familywise_error`` and their
        ``_mcse`` (NaN when the family has no false, or no true, null hypothesis).
    """
    out = {}
    false_nulls = [r for r, null in zip(rejected, nulls, strict=True) if not null]
    true_nulls = [r for r, null in zip(rejected, nulls, strict=True) if null]
    rates = {
        "disjunctive_power": np.any(false_nulls, axis=0) if false_nulls else None,
        "conjunctive_power": np.all(false_nulls, axis=0) if false_nulls else None,
        "familywise_error": np.any(true_nulls, axis=0) if true_nulls else None,
    }
    for name, hits in rates.items():
        rate = math.nan if hits is None else float(hits.mean())
        out[name] = rate
        out[f"{name}_mcse"] = math.nan if hits is None else math.sqrt(rate * (1 - rate) / len(hits))
    return out


def operating_characteristics(
    cell: dict[str, np.ndarray], theta: float
) -> dict[str, float | int | str]:
    """Power, bias, coverage, type S and exaggeration of one design point, with MCSE.

    Type S and exaggeration are undefined (NaN) when there is no significant result or
    when the true effect is negligible (:func:`negligible`: within 2 MCSE of zero), since
    a sign or a ratio against rounding noise means nothing; ``type_s_undefined`` says
    which (NaN, an empty cell, when they are defined).
    """
    est, reject = cell["estimate"], cell["reject"].astype(bool)
    r = len(est)
    finite = np.isfinite(est)
    k = int(reject.sum())
    power = k / r
    low, high = wilson(k, r)
    e = est[finite]
    covered = (cell["ci_low"][finite] <= theta) & (theta <= cell["ci_high"][finite])
    sig = est[reject & finite]
    tolerance = negligible_tolerance(est)
    undefined: str | float = math.nan  # empty in power.csv when they are defined
    if not len(sig):
        undefined = "no significant result"
    elif abs(theta) <= tolerance:
        undefined = "true effect within 2 MCSE of 0"

    def mean(a: np.ndarray) -> float:
        return float(a.mean()) if len(a) else math.nan

    return {
        "replicates": r,
        "power": power,
        "power_mcse": math.sqrt(power * (1 - power) / r),
        "power_ci_low": low,
        "power_ci_high": high,
        "true_effect": theta,
        "mean_estimate": mean(e),
        "bias": mean(e) - theta,
        "bias_mcse": float(e.std(ddof=1) / math.sqrt(len(e))) if len(e) > 1 else math.nan,
        "rmse": math.sqrt(mean((e - theta) ** 2)) if len(e) else math.nan,
        "mean_se": mean(cell["se"][finite]),
        "coverage": mean(covered),
        "coverage_mcse": math.sqrt(mean(covered) * (1 - mean(covered)) / len(e))
        if len(e)
        else math.nan,
        **type_s_and_exaggeration(sig, theta, tolerance),
        "type_s_undefined": undefined,
        "n_significant": len(sig),
        "mean_n_analysed": float(cell["n_analysed"].mean()),
        "dropout_fraction": float(cell["dropped"].mean()),
        "failed": int((~finite).sum()),
    }


def type_s_and_exaggeration(
    significant: np.ndarray, theta: float, tolerance: float = 0.0
) -> dict[str, float]:
    """Type S error rate and exaggeration ratio (type M) of significant estimates, with MCSE.

    Args:
        significant: The finite estimates of the significant replicates.
        theta: The true effect (estimand units).
        tolerance: A true effect with ``|theta| <= tolerance`` counts as 0 (estimand
            units; Monte Carlo runs pass :func:`negligible_tolerance`).

    Returns:
        ``type_s`` (share with the sign opposite to ``theta``), ``exaggeration``
        (mean |estimate| over |theta|) and their MCSEs; NaN when no estimate is
        significant or the true effect is 0 (within ``tolerance``).
    """
    type_s = exaggeration = type_s_mcse = exaggeration_mcse = math.nan
    if len(significant) and abs(theta) > tolerance:
        wrong = np.sign(significant) != np.sign(theta)
        type_s = float(wrong.mean())
        type_s_mcse = math.sqrt(type_s * (1 - type_s) / len(significant))
        exaggeration = float(np.abs(significant).mean() / abs(theta))
        spread = np.abs(significant).std(ddof=1) if len(significant) > 1 else math.nan
        exaggeration_mcse = spread / math.sqrt(len(significant)) / abs(theta)
    return {
        "type_s": type_s,
        "type_s_mcse": type_s_mcse,
        "exaggeration": exaggeration,
        "exaggeration_mcse": exaggeration_mcse,
    }


def replicate_statistics(
    task: Callable[[np.ndarray], dict[str, np.ndarray]],
    identity: dict[str, Any],
    replicates: int,
    chunk_size: int,
    out: Path | str | None,
    **run: Any,
) -> dict[str, np.ndarray]:
    """Run a chunk task over replicates 0 to R-1, with checkpoints, and join the chunks.

    Args:
        task: Statistics of one chunk of replicate indices, each array's last axis
            the replicates (:func:`chunk_statistics`, or assurance's task).
        identity: What else determines the numbers (scenario, design points,
            analyses, a kind): with the replicates, chunk size and loaded plug-ins it
            keys the checkpoints, so a resumed run reuses only its own chunks.
        replicates: Replicate trials.
        chunk_size: Replicates per chunk.
        out: Folder for checkpoints (``out/chunks``), or None.
        **run: ``n_jobs``, ``backend``, ``scheduler``, ``progress`` of
            :func:`mssim.montecarlo.parallel.run_chunks`.

    Returns:
        Every array of the task, joined over the chunks along its last axis.
    """
    key = run_key(
        {**identity, "replicates": replicates, "chunk": chunk_size, "plugins": loaded_plugins()}
    )
    checkpoints = Checkpoints(None if out is None else Path(out), key)
    parts = run_chunks(task, chunk_ranges(replicates, chunk_size), checkpoints, **run)
    return {k: np.concatenate([p[k] for p in parts], axis=-1) for k in parts[0]}


def estimate(
    scenario: Scenario,
    n_per_arm: list[int] | None = None,
    replicates: int | None = None,
    seed: int | None = None,
    n_jobs: int = 1,
    backend: str = "processes",
    analyses: list[str] | None = None,
    chunk_size: int | None = None,
    out: Path | str | None = None,
    scheduler: str | None = None,
    progress: bool | None = None,
    keep: dict[str, np.ndarray] | None = None,
    estimates: Path | None = None,
) -> pd.DataFrame:
    """Estimate operating characteristics by Monte Carlo.

    Args:
        scenario: The scenario.
        n_per_arm: Design points (patients per allocation unit); default
            ``power.n_per_arm``.
        replicates: Replicate trials per design point; default ``power.replicates``.
        seed: Root seed; default the scenario's ``seed``.
        n_jobs: Parallel workers.
        backend: ``threads``, ``processes`` or ``dask``.
        analyses: Analyses to run; default ``[trial.analysis]``.
        chunk_size: Replicates per chunk; default ``power.chunk_size``. Results
            do not depend on it.
        out: Folder for checkpoints (resume after an interrupt), or None.
        scheduler: Dask scheduler address for ``backend="dask"``.
        progress: Progress bar; None = only on a terminal.
        keep: A dict that receives the per-replicate statistics (replicates on the
            last axis), for figures that need more than the summary.
        estimates: Also write every replicate's estimate, SE, p-value and
            decision to this Parquet file
            (:func:`mssim.montecarlo.replicates.write_estimates`), or None.

    Returns:
        One row per (analysis, endpoint, contrast, n_per_arm) with power,
        bias, RMSE, coverage, type S, exaggeration and their MCSEs; for a
        group-sequential design also its stopping probabilities, expected n and
        duration (:func:`mssim.montecarlo.sequential.characteristics`).
    """
    if seed is not None:
        scenario = with_overrides(scenario, values={"seed": seed}, source="seed")
    n_values = sorted(set(n_per_arm or scenario.power.n_per_arm))
    reps = replicates or scenario.power.replicates
    methods = analyses or [scenario.trial.analysis]
    check_analyses(scenario, methods)
    size = chunk_size or scenario.power.chunk_size
    stats = replicate_statistics(
        partial(chunk_statistics, scenario, n_values, methods),
        {"scenario": scenario.model_dump(mode="json"), "n": n_values, "analyses": methods},
        reps,
        size,
        out,
        n_jobs=n_jobs,
        backend=backend,
        scheduler=scheduler,
        progress=progress,
    )
    frame = summarize(scenario, n_values, methods, stats)
    if sequential.applies(scenario):
        looks = sequential.characteristics(scenario, n_values, methods, stats)
        frame = frame.merge(looks, on=["analysis", "n_per_arm"], validate="one_to_one")
    if estimates is not None:
        write_estimates(scenario, n_values, methods, stats, estimates)
    if keep is not None:
        keep.update(stats)
    return frame
