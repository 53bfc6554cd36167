"""The calibration matrix: every registered analysis on every kind of trial, null and not.

Each registered Monte Carlo analysis runs on four kinds of trial (:data:`TRIALS`) under
no effect and under a real effect, wherever it fits the design (the others are listed
with the reason). Every contrast of every run is checked:

* under no effect, the type I error (share rejected) is within 3.5 MCSE of the test's
  level and the CI coverage within 3.5 MCSE of 1 - alpha;
* under an effect, the coverage is within 3.5 MCSE of 1 - alpha and the power is
  reported;
* at the non-inferiority margin (parallel and crossover trials): the treatment is
  harmful and the margin is set to its true effect, found by a first run of the same
  trials, so the one-sided type I error is within 3.5 MCSE of alpha / 2.

The MCSE is that of a binomial share at the nominal rate, ``sqrt(q (1 - q) / R)``. The
scenarios are overrides of the embedded default scenario, so the matrix runs wherever
mssim is installed. Each hypothesis is tested on its own (``trial.multiplicity =
"none"``): the matrix checks the analyses, not a multiplicity strategy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from mssim.config.load import load_scenario
from mssim.config.scenario import Scenario
from mssim.montecarlo.power import estimate
from mssim.registry import ANALYSES
from mssim.trial.estimands import EFFECT_MEASURES

#: Checks fail beyond this many Monte Carlo standard errors of the nominal rate.
MCSE_LIMIT = 3.5

# The shipped scenarios/null_effect.toml, as overrides of the embedded default
# (a test checks they agree).
NULL_EFFECT = ["arms.acupuncture.specific_effect=0.0"]

_ONE_TEST_EACH = ['trial.multiplicity="none"']


@dataclass(frozen=True)
class TrialKind:
    """One kind of trial of the matrix: scenario overrides under no effect and under one.

    Attributes:
        name: As printed (parallel, three_arm, crossover, clustered).
        null: Overrides of the embedded default with no effect in any contrast.
        alternative: Overrides with a real effect.
        clustered: Practitioners' own effects vary materially, so only analyses whose
            standard error allows for clustering (``Analysis.clustered``) are valid.
        harm: Overrides making the treatment harmful, for the non-inferiority test at
            the margin (empty: not run).
    """

    name: str
    null: tuple[str, ...]
    alternative: tuple[str, ...]
    clustered: bool = False
    harm: tuple[str, ...] = ()


_CROSSOVER = (
    'trial.design="crossover"',
    'trial.analysis="crossover"',
    "trial.weeks=6",
    "trial.extra_visit_weeks=[]",
    "arms.acupuncture.weeks=6",
    "arms.sham.weeks=6",
    # effects fade within days of the last session, so the 4-week washout leaves no
    # carry-over and the within-patient contrast estimates the parallel-group effect
    "arms.acupuncture.half_life_days=2.0",
    "arms.sham.half_life_days=2.0",
)

_HARM = "arms.acupuncture.specific_effect=-0.3"

TRIALS: tuple[TrialKind, ...] = (
    TrialKind(
        "parallel",
        tuple(NULL_EFFECT),
        ("arms.acupuncture.specific_effect=0.4",),
        harm=(_HARM,),
    ),
    TrialKind(
        "three_arm",
        (
            *NULL_EFFECT,
            "arms.usual_care={intervention='usual_care'}",
            "arms.acupuncture.nonspecific_effect=0.0",
            "arms.sham.nonspecific_effect=0.0",
            "trial.block_size=6",
        ),
        (
            "arms.usual_care={intervention='usual_care'}",
            "arms.acupuncture.specific_effect=0.3",
            "trial.block_size=6",
        ),
    ),
    TrialKind("crossover", (*NULL_EFFECT, *_CROSSOVER), _CROSSOVER, harm=(*_CROSSOVER, _HARM)),
    # acupuncture by 4 practitioners whose own effects vary (SD 0.3) against usual care:
    # no effect at all, or the default's
    TrialKind(
        "clustered",
        (
            "arms={acupuncture={intervention='acupuncture', specific_effect=0.0, "
            "nonspecific_effect=0.0, practitioner_sd=0.3}, usual_care={intervention='usual_care'}}",
        ),
        (
            "arms={acupuncture={intervention='acupuncture', practitioner_sd=0.3}, "
            "usual_care={intervention='usual_care'}}",
        ),
        clustered=True,
    ),
)


def calibration_matrix(
    replicates: int = 1000, n_per_arm: int = 40, n_jobs: int = 2
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run the matrix.

    Args:
        replicates: Replicate trials per (trial kind, effect).
        n_per_arm: Patients per arm.
        n_jobs: Parallel workers.

    Returns:
        ``(checks, skipped)``. ``checks`` has one row per (trial, effect, analysis,
        contrast, quantity): ``trial, effect, analysis, contrast, quantity, value, mcse,
        expected, tolerance, passed`` (``expected`` NaN and ``passed`` True for power,
        which is reported, not checked). ``skipped`` has one row per (trial, analysis)
        that does not run, with the ``reason``.
    """
    rows, skipped = [], []
    for kind in TRIALS:
        runs = [("null", kind.null), ("alternative", kind.alternative)]
        if kind.harm:
            runs.append(("margin", (*kind.harm, *_margins(kind, replicates, n_per_arm, n_jobs))))
        for effect, overrides in runs:
            scenario = load_scenario(None, [*overrides, *_ONE_TEST_EACH])
            methods = []
            for entry in ANALYSES:
                reason = _unfit(kind, entry, scenario)
                if reason is None:
                    methods.append(entry.name)
                elif effect != "alternative":
                    name = kind.name + (" (non-inferiority)" if effect == "margin" else "")
                    skipped.append({"trial": name, "analysis": entry.name, "reason": reason})
            table = estimate(
                scenario, [n_per_arm], replicates, analyses=methods, n_jobs=n_jobs, progress=False
            )
            for _, result in table.iterrows():
                rows.extend(_checks(kind.name, effect, result, scenario.trial.alpha))
    return pd.DataFrame(rows), pd.DataFrame(skipped, columns=["trial", "analysis", "reason"])


def _unfit(kind: TrialKind, entry: Any, scenario: Scenario) -> str | None:
    """Why a registered analysis is not run on a trial of the matrix, or None."""
    trial = scenario.trial
    reason = entry.misfit(trial.design, trial.estimand, trial)
    if reason is None and not entry.monte_carlo:
        reason = "a single-trial analysis, too slow for Monte Carlo"
    if reason is None and entry.threshold is not None:
        reason = "a Bayesian decision rule: its type I error is not alpha (test_bayesian.py)"
    if reason is None and kind.clustered and not entry.clustered:
        reason = "its SE assumes independent patients; practitioners cluster them"
    return reason


def _margins(kind: TrialKind, replicates: int, n_per_arm: int, n_jobs: int) -> list[str]:
    """Non-inferiority overrides whose margins are the harmful treatment's true effects.

    The true effects come from a two-sided run of the same trials (same seed), one
    analysis per effect measure that has a margin.
    """
    scenario = load_scenario(None, [*kind.harm, *_ONE_TEST_EACH])
    first = {}
    for entry in ANALYSES:
        field = EFFECT_MEASURES[entry.estimand].margin
        if field and field not in first and _unfit(kind, entry, scenario) is None:
            first[field] = entry.name
    table = estimate(
        scenario,
        [n_per_arm],
        replicates,
        analyses=list(first.values()),
        n_jobs=n_jobs,
        progress=False,
    )
    overrides = ['trial.hypothesis="non_inferiority"']
    for field, name in first.items():
        truth = float(table[table.analysis == name].true_effect.iloc[0])
        better = EFFECT_MEASURES[ANALYSES.get(name).estimand].better
        overrides.append(f"trial.{field}={max(-better * truth, 0.0)!r}")
    return overrides


def _checks(trial: str, effect: str, result: pd.Series, alpha: float) -> list[dict[str, object]]:
    """The checks of one contrast of one analysis (a row of power.csv)."""
    where = {
        "trial": trial,
        "effect": effect,
        "analysis": result.analysis,
        "contrast": result.contrast,
    }
    out = [_within(where, "coverage", result.coverage, 1 - alpha, int(result.replicates))]
    if effect in ("null", "margin"):
        out.append(
            _within(where, "type I error", result.power, result.test_level, result.replicates)
        )
    else:
        out.append(
            {
                **where,
                "quantity": "power",
                "value": result.power,
                "mcse": result.power_mcse,
                "expected": math.nan,
                "tolerance": math.nan,
                "passed": True,
            }
        )
    return out


def _within(
    where: dict[str, object], quantity: str, value: float, nominal: float, replicates: int
) -> dict[str, object]:
    """A check that ``value`` is within 3.5 MCSE of a nominal rate."""
    mcse = math.sqrt(nominal * (1 - nominal) / replicates)
    return {
        **where,
        "quantity": quantity,
        "value": value,
        "mcse": mcse,
        "expected": nominal,
        "tolerance": MCSE_LIMIT * mcse,
        "passed": bool(abs(value - nominal) <= MCSE_LIMIT * mcse),
    }
