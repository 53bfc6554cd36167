"""``mssim selfcheck``: checks a user can trust, in under a minute.

1. The type I error of every frequentist analysis on the ``null_effect`` scenario is
   within 3 MCSE of alpha.
2. Monte Carlo power equals statsmodels' analytic power of the two-sample t
   test, within 3 MCSE, on a scenario built so that the change score is
   close to normal (no floors, ceilings, relapses, dropout or screening).
3. Results are identical for 1 and 2 parallel workers.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from statsmodels.stats.power import TTestIndPower

from mssim.config.load import load_scenario
from mssim.model.engine import simulate
from mssim.montecarlo.power import analyses_for, estimate
from mssim.registry import ANALYSES
from mssim.trial.estimands import potential_endpoint

TRACTABLE = [
    "population.screening.enabled=false",
    "symptoms.fatigue.mean=5.0",
    "symptoms.fatigue.between_sd=0.6",
    "symptoms.fatigue.day_sd=0.6",
    "symptoms.fatigue.drift_sd=0.1",
    "symptoms.fatigue.measurement_sd=0.3",
    "relapses.annual_rate={rrms=0.0, spms=0.0, ppms=0.0}",
    "dropout.rate=0.0",
    "arms.acupuncture.specific_effect=0.4",
]


# The shipped scenarios/null_effect.toml, as overrides of the embedded default
# (a test checks they agree), so the check runs wherever mssim is installed.
NULL_EFFECT = [
    "arms.acupuncture.specific_effect=0.0",
    "arms.acupuncture.guess_verum=0.5",
    "arms.sham.guess_verum=0.5",
    "arms.sham.adverse_events={minor={per_session=0.01}, serious={per_session=1e-5}}",
]


def selfcheck(replicates: int = 1000, n_per_arm: int = 40, n_jobs: int = 2) -> pd.DataFrame:
    """Run the checks.

    Args:
        replicates: Replicate trials per check.
        n_per_arm: Patients per arm in each check.
        n_jobs: Workers for the parallel run compared with a serial one.

    Returns:
        One row per check: ``check, value, expected, tolerance, passed``.
    """
    rows = []
    null = load_scenario(None, NULL_EFFECT)
    # frequentist tests: a Bayesian rule's type I error is not alpha (tests/test_bayesian.py)
    methods = [m for m in analyses_for(null) if ANALYSES.get(m).threshold is None]
    table = estimate(null, [n_per_arm], replicates, analyses=methods, n_jobs=n_jobs, progress=False)
    alpha = null.trial.alpha
    for _, row in table.iterrows():
        tol = 3 * math.sqrt(alpha * (1 - alpha) / row.replicates)
        rows.append(_row(f"type I error, {row.analysis}", row.power, alpha, tol))

    tractable = load_scenario(None, TRACTABLE)
    mc = estimate(
        tractable, [n_per_arm], replicates, analyses=["welch_change"], n_jobs=n_jobs, progress=False
    ).iloc[0]
    analytic = analytic_power(tractable, n_per_arm)
    rows.append(_row("power vs statsmodels t test", mc.power, analytic, 3 * mc.power_mcse))

    serial, parallel = (
        estimate(tractable, [n_per_arm], 64, n_jobs=jobs, chunk_size=16, progress=False)
        for jobs in (1, 2)
    )
    same = serial.equals(parallel)
    rows.append(
        {
            "check": "identical for n_jobs 1 and 2",
            "value": float(same),
            "expected": 1.0,
            "tolerance": 0.0,
            "passed": same,
        }
    )
    return pd.DataFrame(rows)


def analytic_power(scenario: object, n_per_arm: int) -> float:
    """Statsmodels' two-sample t-test power at the scenario's true standardized effect.

    The true effect and the SD of the change score come from the potential
    outcomes of a large simulated cohort (Monte Carlo error well below the
    check's tolerance).
    """
    o = simulate(scenario, np.arange(10_000, 10_020), 500)
    change, _ = potential_endpoint(scenario, o, scenario.trial.primary_endpoint)
    effect = (change[..., 0] - change[..., 1]).mean()
    sd = math.sqrt((change[..., 0].var(ddof=1) + change[..., 1].var(ddof=1)) / 2)
    return float(
        TTestIndPower().power(
            abs(effect) / sd, nobs1=n_per_arm, alpha=scenario.trial.alpha, ratio=1.0
        )
    )


def _row(check: str, value: float, expected: float, tolerance: float) -> dict[str, object]:
    return {
        "check": check,
        "value": value,
        "expected": expected,
        "tolerance": tolerance,
        "passed": abs(value - expected) <= tolerance,
    }


def print_checks(table: pd.DataFrame) -> None:
    """Print the pass/fail table."""
    shown = table.assign(passed=table.passed.map({True: "PASS", False: "FAIL"}))
    with pd.option_context("display.width", 120):
        print(shown.to_string(index=False, float_format=lambda x: f"{x:.4f}"))
    failed = int((~table.passed).sum())
    print(f"\n{len(table) - failed} passed, {failed} failed")
