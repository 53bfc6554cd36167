"""``mssim selfcheck``: checks a user can trust, in under 5 minutes with 2 workers.

1. The calibration matrix (:mod:`mssim.montecarlo.calibration`): type I error and
   coverage of every analysis on every kind of trial, within 3.5 MCSE of nominal.
2. Monte Carlo power equals statsmodels' analytic power of the two-sample t
   test, within 3 MCSE, on a scenario built so that the change score is
   close to normal (no floors, ceilings, relapses, dropout or screening).
3. Results are identical for 1 and 2 parallel workers.

``--quick`` (for continuous integration) runs the same checks with fewer, smaller trials.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from statsmodels.stats.power import TTestIndPower

from mssim.config.load import load_scenario
from mssim.model.engine import simulate
from mssim.montecarlo.calibration import calibration_matrix
from mssim.montecarlo.power import estimate
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

#: (replicates, patients per arm) of a full and of a quick run.
FULL, QUICK = (1000, 40), (200, 20)


def selfcheck(
    replicates: int = FULL[0], n_per_arm: int = FULL[1], n_jobs: int = 2
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run the checks.

    Args:
        replicates: Replicate trials per check.
        n_per_arm: Patients per arm in each check.
        n_jobs: Parallel workers (the reproducibility check compares 1 with 2).

    Returns:
        ``(checks, skipped)``: one row per check, ``check, value, mcse, expected,
        tolerance, passed`` (``expected`` NaN for a figure that is reported, not
        checked), and the (trial, analysis) pairs of the calibration matrix that do not
        run, with the reason.
    """
    matrix, skipped = calibration_matrix(replicates, n_per_arm, n_jobs)
    rows = [
        {
            "check": f"{m.trial} {m.effect}: {m.quantity}, {m.analysis}, {m.contrast}",
            **{k: m[k] for k in ("value", "mcse", "expected", "tolerance", "passed")},
        }
        for _, m in matrix.iterrows()
    ]

    tractable = load_scenario(None, TRACTABLE)
    mc = estimate(
        tractable, [n_per_arm], replicates, analyses=["welch_change"], n_jobs=n_jobs, progress=False
    ).iloc[0]
    analytic = analytic_power(tractable, n_per_arm)
    rows.append(
        _row("power vs statsmodels t test", mc.power, analytic, 3 * mc.power_mcse, mc.power_mcse)
    )

    serial, parallel = (
        estimate(tractable, [n_per_arm], 64, n_jobs=jobs, chunk_size=16, progress=False)
        for jobs in (1, 2)
    )
    same = serial.equals(parallel)
    rows.append(
        {
            "check": "identical for n_jobs 1 and 2",
            "value": float(same),
            "mcse": 0.0,
            "expected": 1.0,
            "tolerance": 0.0,
            "passed": same,
        }
    )
    return pd.DataFrame(rows), skipped


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


def _row(
    check: str, value: float, expected: float, tolerance: float, mcse: float
) -> dict[str, object]:
    return {
        "check": check,
        "value": value,
        "mcse": mcse,
        "expected": expected,
        "tolerance": tolerance,
        "passed": abs(value - expected) <= tolerance,
    }


def print_checks(table: pd.DataFrame, skipped: pd.DataFrame) -> None:
    """Print the pass/fail table, the combinations skipped and every failure by name."""
    status = table.passed.map({True: "PASS", False: "FAIL"}).where(
        table.expected.notna(), "reported"
    )
    shown = table.assign(passed=status).rename(columns={"passed": "status"})
    with pd.option_context("display.width", 160, "display.max_colwidth", 90):
        print(shown.to_string(index=False, float_format=lambda x: f"{x:.4f}", na_rep=""))
        if len(skipped):
            print("\nskipped:")
            print(skipped.to_string(index=False))
    failed = table[~table.passed]
    checked = int(table.expected.notna().sum())
    print(f"\n{checked - len(failed)} passed, {len(failed)} failed")
    for name in failed.check:
        print(f"FAILED: {name}")
