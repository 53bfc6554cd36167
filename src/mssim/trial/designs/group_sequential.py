"""The group-sequential parallel-group design: interim looks over calendar-time accrual.

Patients, arms, visits and what a patient's data are match the parallel-group
design (its analyses fit); what differs is when the data are looked at. Patients
are randomized in calendar time (``trial.accrual``); each look analyses the
patients whose primary visit has passed, and the trial stops at a look whose z
statistic crosses an efficacy or futility boundary (``trial.sequential``,
:mod:`mssim.trial.sequential`). The engine is the same: a look filters what has
been observed by then, it never changes a patient's data.
"""

from __future__ import annotations

from dataclasses import replace

from mssim.registry import ANALYSES, DESIGNS
from mssim.trial.designs.design import Scenario, Trial
from mssim.trial.designs.parallel import PARALLEL

#: The effect measure the looks test (blinded re-estimation reads the SD of its change).
MEASURE = "mean_difference"


def _check(scenario: Scenario) -> list[tuple[str, str]]:
    trial = scenario.trial
    problems = PARALLEL.check(scenario)
    if trial.secondary_endpoints:
        problems.append(
            ("trial.secondary_endpoints", "a group_sequential design tests the primary only")
        )
    if trial.hypothesis == "two_sided":
        problems.append(
            (
                "trial.hypothesis",
                "a group-sequential design tests one-sided at alpha / 2; set 'superiority' "
                "(or 'non_inferiority' with a margin); given 'two_sided'",
            )
        )
    analysis = ANALYSES.get(trial.analysis)
    if analysis.estimand != MEASURE:
        fits = [a.name for a in ANALYSES if a.estimand == MEASURE and a.fits("parallel")]
        problems.append(
            (
                "trial.analysis",
                f"the looks test a {MEASURE}; {trial.analysis!r} estimates a "
                f"{analysis.estimand}; allowed: {', '.join(fits)}",
            )
        )
    return problems


def _describe(trial: Trial) -> str:
    seq = trial.sequential
    looks = (
        f"interim looks at weeks {', '.join(map(str, seq.look_weeks))}"
        if seq.look_weeks
        else f"interim looks at {', '.join(f'{f:.0%}' for f in seq.looks)} of patients"
    )
    binding = "binding" if seq.binding else "non-binding"
    rule = seq.futility.replace("_", " ")
    futility = "no futility stop" if seq.futility == "none" else f"{binding} {rule} futility"
    ssr = ", blinded sample-size re-estimation" if seq.reestimation else ""
    return (
        f"Group-sequential parallel-group trial: {looks}, {seq.efficacy.replace('_', ' ')}"
        f"-type alpha spending, {futility}{ssr}; accrual {trial.accrual.rate_per_week:g}"
        " patients/week"
    )


GROUP_SEQUENTIAL = DESIGNS.register(
    replace(
        PARALLEL,
        name="group_sequential",
        n_arms=(2, 2),
        check=_check,
        describe=_describe,
        analysed_as="parallel",
    )
)
