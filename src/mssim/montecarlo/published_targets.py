"""Published targets: each figure of the record, its window, its source and mssim's value.

Every target simulates a large cohort of a packaged scenario (fixed replicate
keys) and measures one figure, with its Monte Carlo standard error (MCSE)
from the spread over replicates. A target passes when the value lies in its
window widened by :data:`MCSE_WIDTH` MCSE on each side. ``mssim selfcheck``
prints the table.

Standardized mean differences (SMD) are the true mean difference of the
potential outcomes divided by the pooled SD of the primary score at the
primary visit, as the published SMDs are (Vickers 2012).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mssim.config.load import load_scenario
from mssim.config.scenario import Scenario
from mssim.errors import MssimError
from mssim.model.engine import simulate
from mssim.model.outcomes import NEVER, Outcomes
from mssim.trial.estimands import true_effects

#: A value passes when inside its window widened by this many MCSE.
MCSE_WIDTH = 3.0
#: Replicates and patients per replicate of each target's cohort.
REPLICATES, PATIENTS = 8, 500
SCENARIOS = Path(__file__).resolve().parents[3] / "scenarios"

_VICKERS = "Vickers 2012 Arch Intern Med (IPD, 17,922 patients); Vickers 2018 J Pain"


@dataclass(frozen=True)
class Target:
    """One published figure.

    Attributes:
        figure: What is measured.
        low: Lower end of the published window.
        high: Upper end of the published window.
        source: Where the figure comes from.
        measure: ``() -> per-replicate values``; the value is their mean.
    """

    figure: str
    low: float
    high: float
    source: str
    measure: Callable[[], np.ndarray]


def _scenario(name: str, overrides: list[str] | None = None) -> Scenario:
    return load_scenario(SCENARIOS / f"{name}.toml", overrides or [])


def _run(scenario: Scenario, track: list[str] | None = None) -> Outcomes:
    return simulate(scenario, np.arange(REPLICATES), PATIENTS, track=track)


def _smd(name: str, a: int, b: int, overrides: list[str] | None = None) -> Callable[[], np.ndarray]:
    """Per-replicate SMD of regimen ``a`` over ``b`` (improvement positive)."""

    def measure() -> np.ndarray:
        s = _scenario(name, overrides)
        o = _run(s)
        endpoint = s.trial.primary_endpoint
        contrasts = [(s.arm_names().index(x), s.arm_names().index(y)) for x, y in s.contrasts()]
        truth = true_effects(s, o, endpoint)["mean_difference"][:, contrasts.index((a, b))]
        visit = s.trial.visit_weeks().index(s.trial.weeks)
        score = o.scores[:, :, :, visit, o.tracked.index(endpoint)]
        sd = np.sqrt((score[..., a].var(1, ddof=1) + score[..., b].var(1, ddof=1)) / 2)
        return -truth / sd

    return measure


def _true_effect(name: str, overrides: list[str] | None = None) -> Callable[[], np.ndarray]:
    def measure() -> np.ndarray:
        s = _scenario(name, overrides)
        return true_effects(s, _run(s), s.trial.primary_endpoint)["mean_difference"][:, 0]

    return measure


def _any_adverse_event(name: str, regimen: int) -> Callable[[], np.ndarray]:
    def measure() -> np.ndarray:
        o = _run(_scenario(name))
        return (o.adverse_events[:, :, regimen].sum(-1) > 0).mean(1)

    return measure


def _dropout(name: str, overrides: list[str]) -> Callable[[], np.ndarray]:
    def measure() -> np.ndarray:
        o = _run(_scenario(name, overrides))
        return (o.dropout_day <= o.visit_days[-1]).mean(axis=(1, 2))

    return measure


UNTREATED = [
    "arms={uc={intervention='usual_care'}, wl={intervention='waitlist'}}",
    "trial.follow_up_weeks=[26]",
    "trial.extra_visit_weeks=[]",
    "dropout.rate=0.0",
]


def _entry_fss(statistic: str) -> Callable[[], np.ndarray]:
    def measure() -> np.ndarray:
        fss = _run(_scenario("default", UNTREATED)).scores[:, :, 0, 0, 0]
        return fss.mean(1) if statistic == "mean" else fss.std(1, ddof=1)

    return measure


def _six_month_icc() -> np.ndarray:
    s = _scenario("default", [*UNTREATED, "population.screening.enabled=false"])
    scores = _run(s).scores[:, :, 0, :, 0]
    return np.array([np.corrcoef(r[:, 0], r[:, -1])[0, 1] for r in scores])


def _relapse_rate(on_therapy: bool) -> Callable[[], np.ndarray]:
    def measure() -> np.ndarray:
        s = _scenario("default", [*UNTREATED, "population.screening.enabled=false"])
        o = _run(s)
        years = (o.visit_days[-1] + s.population.screening.days_before_baseline) / 365.25
        who = (o.cohort.ms_type == 0) & (o.cohort.on_therapy == on_therapy)
        counts = (o.relapse_onsets < NEVER).sum(-1)
        return (counts * who).sum(1) / (who.sum(1) * years)

    return measure


def _triumphant(what: str) -> Callable[[], np.ndarray]:
    def measure() -> np.ndarray:
        s = _scenario("triumphant_like")
        scores = _run(s).scores[:, :, 0, :, 0]
        return (
            scores[..., 0].mean(1)
            if what == "baseline"
            else (scores[..., -1] - scores[..., 0]).mean(1)
        )

    return measure


TARGETS: tuple[Target, ...] = (
    Target("SMD acupuncture vs sham (three_arm)", 0.15, 0.23, _VICKERS, _smd("three_arm", 0, 1)),
    Target(
        "SMD sham vs usual care (three_arm)",
        0.30,
        0.45,
        "0.5 - 0.2 (Vickers 2018) to 0.42-0.45 (Madsen 2009 BMJ; Linde 2010 BMC Med)",
        _smd("three_arm", 1, 2),
    ),
    Target(
        "SMD acupuncture vs usual care (three_arm)", 0.42, 0.57, _VICKERS, _smd("three_arm", 0, 2)
    ),
    Target(
        "SMD open-label acupuncture vs usual care (charite_like)",
        0.42,
        0.57,
        _VICKERS + " (open comparisons)",
        _smd("charite_like", 0, 1),
    ),
    Target(
        "true effect, FSS points (charite_like)",
        -1.21,
        -0.19,
        "FSS 4.7 vs 5.4 at 12 weeks (Charité trial, NCT01864707); 95% interval from "
        "n = 42/41 and SD 1.2 (derived)",
        _true_effect("charite_like"),
    ),
    Target(
        "true effect with specific_effect = 0 (default)",
        0.0,
        0.0,
        "a true null: arms differing in name only",
        _true_effect("default", ["arms.acupuncture.specific_effect=0"]),
    ),
    Target(
        "true effect, bee venom vs no stings (wesselius_like)",
        0.0,
        0.0,
        "no effect on fatigue (Wesselius 2005 Neurology)",
        _true_effect("wesselius_like"),
    ),
    Target(
        "patients with any acupuncture AE (default)",
        0.08,
        0.10,
        "about 9%: 8.6% (Witt 2009, 229,230 patients); 9.3% (Bäumler 2021 BMJ Open)",
        _any_adverse_event("default", 0),
    ),
    Target(
        "patients with any bee venom AE (wesselius_like)",
        0.146,
        0.397,
        "median 28.9%, IQR 14.6-39.7% (Park 2015 PLoS One)",
        _any_adverse_event("wesselius_like", 0),
    ),
    Target(
        "dropout by the last visit (default, MCAR)",
        0.10,
        0.10,
        "about 10% over 12 weeks (Möller 2011; Rammohan 2002); dropout.rate",
        _dropout("default", []),
    ),
    Target(
        "dropout by the last visit, MAR, rate 0.3",
        0.30,
        0.30,
        "dropout.rate = 0.3 is the realised rate",
        _dropout("default", ["dropout.mechanism=mar", "dropout.rate=0.3"]),
    ),
    Target(
        "dropout by the last visit, MNAR, rate 0.3",
        0.30,
        0.30,
        "dropout.rate = 0.3 is the realised rate",
        _dropout("default", ["dropout.mechanism=mnar", "dropout.rate=0.3"]),
    ),
    Target(
        "entry FSS mean, FSS >= 4", 5.2, 5.5, "Rammohan 2002; Learmonth 2013", _entry_fss("mean")
    ),
    Target("entry FSS SD, FSS >= 4", 1.0, 1.4, "Rammohan 2002; Learmonth 2013", _entry_fss("sd")),
    Target("FSS 6-month test-retest ICC", 0.70, 0.80, "ICC 0.75 (Learmonth 2013)", _six_month_icc),
    Target(
        "annualized relapse rate, RRMS untreated",
        0.35,
        0.45,
        "0.40 in a placebo arm (Kappos 2010, FREEDOMS)",
        _relapse_rate(False),
    ),
    Target(
        "annualized relapse rate, RRMS on therapy",
        0.16,
        0.33,
        "0.16-0.33 on disease-modifying therapy (Kappos 2010; TRANSFORMS)",
        _relapse_rate(True),
    ),
    Target(
        "entry MFIS, MFIS > 33 (triumphant_like)",
        49.0,
        53.6,
        "51.3, 95% CI 49.0-53.6 (Nourbakhsh 2021 Lancet Neurol)",
        _triumphant("baseline"),
    ),
    Target(
        "MFIS change on placebo, 6 weeks (triumphant_like)",
        -13.1,
        -8.3,
        "-10.7 (Nourbakhsh 2021); window: the half-width 2.4 of its published CIs",
        _triumphant("change"),
    ),
)


def published_targets() -> pd.DataFrame:
    """Measure every target.

    The targets read the packaged scenarios in the repository's ``scenarios/``
    folder (:data:`SCENARIOS`).

    Raises:
        MssimError: When that folder is missing (an installation without it).

    Returns:
        One row per target: ``figure``, ``low``, ``high``, ``source``, ``value``,
        ``mcse`` and ``passed`` (value within the window widened by
        :data:`MCSE_WIDTH` MCSE).
    """
    if not SCENARIOS.is_dir():
        raise MssimError(
            f"{SCENARIOS}: the published targets simulate the repository's scenarios; "
            "run from a source checkout"
        )
    rows = []
    for t in TARGETS:
        values = np.asarray(t.measure(), dtype=float)
        value = float(values.mean())
        mcse = float(values.std(ddof=1) / math.sqrt(values.size))
        width = MCSE_WIDTH * mcse
        rows.append(
            {
                "figure": t.figure,
                "low": t.low,
                "high": t.high,
                "source": t.source,
                "value": value,
                "mcse": mcse,
                "passed": t.low - width <= value <= t.high + width,
            }
        )
    return pd.DataFrame(rows)


def print_targets(table: pd.DataFrame) -> None:
    """Print the published-targets table with PASS or FAIL per figure."""
    shown = table.assign(
        window=[f"{lo:g} to {hi:g}" for lo, hi in zip(table.low, table.high, strict=True)],
        passed=table.passed.map({True: "PASS", False: "FAIL"}),
    )[["figure", "window", "value", "mcse", "passed", "source"]]
    print("\nPublished targets (value within its window +- 3 MCSE)")
    with pd.option_context("display.width", 200, "display.max_colwidth", 90):
        print(shown.to_string(index=False, float_format=lambda x: f"{x:.4f}"))
    failed = int((~table.passed).sum())
    print(f"\n{len(table) - failed} passed, {failed} failed")
