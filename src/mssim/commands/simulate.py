"""``mssim simulate``: one trial's data, analyses and figure, written to a folder."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pandas as pd

from mssim.config.scenario import Scenario
from mssim.errors import MssimError
from mssim.model.engine import one_trial
from mssim.montecarlo.power import analyses_for
from mssim.outputs.plots import patient_trajectories
from mssim.outputs.provenance import Provenance
from mssim.trial.randomization import Trials, randomized, total_patients
from mssim.trial.tables import TrialTables, analysis_table, tables

ENGINES = ("vectorized", "mesa")


def simulate_one_trial(
    scenario: Scenario, n_per_arm: int | None = None, engine: str = "vectorized"
) -> tuple[Trials, TrialTables]:
    """Simulate replicate 0 of the scenario's seed with the chosen engine.

    Returns:
        (the randomized trial, its tidy tables).
    """
    n = n_per_arm or scenario.trial.n_per_arm
    if engine == "mesa":
        from mssim.views.abm import TrialModel

        model = TrialModel(scenario=scenario, n_per_arm=n)
        model.run()
        trials = model.trials()
    elif engine == "vectorized":
        trials = randomized(scenario, one_trial(scenario, total_patients(scenario, n)))
    else:
        raise MssimError(f"--engine: unknown engine {engine!r}; allowed: {', '.join(ENGINES)}")
    return trials, tables(trials)


def write_one_trial(
    scenario: Scenario,
    n_per_arm: int | None,
    out: Path,
    analysis: str | None = None,
    engine: str = "vectorized",
) -> Path:
    """Write patients, visits, daily, sessions, relapses, arms and analysis tables.

    Files are written to a temporary folder first and moved into ``out`` at
    the end, so an error leaves nothing half-written.

    Args:
        scenario: The scenario.
        n_per_arm: Patients per arm (default ``trial.n_per_arm``).
        out: Output folder.
        analysis: Analysis name, ``"all"`` for every fitting method, or None
            for ``trial.analysis``.
        engine: ``vectorized`` or ``mesa``.

    Returns:
        The output folder.
    """
    methods = analyses_for(scenario, single_trial=True)
    if analysis == "all":
        chosen = methods
    else:
        chosen = [analysis or scenario.trial.analysis]
        if chosen[0] not in methods:
            raise MssimError(
                f"--analysis: {chosen[0]!r} does not fit this scenario; allowed: "
                + ", ".join([*methods, "all"])
            )
    prov = Provenance(scenario)
    trials, t = simulate_one_trial(scenario, n_per_arm, engine)
    result = analysis_table(trials, chosen)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}.") as tmp:
        work = Path(tmp)
        for name, frame in {
            "patients": t.patients,
            "visits": t.visits,
            "daily": t.daily,
            "sessions": t.sessions,
            "relapses": t.relapses,
            "arms": t.arms,
            "analysis": result,
        }.items():
            frame.to_csv(work / f"{name}.csv", index=False)
        figure = patient_trajectories(t.daily, t.sessions, t.relapses)
        figure.savefig(work / "trajectories.png", dpi=100, bbox_inches="tight")
        prov.extra.update(
            {"engine": engine, "n_per_arm": n_per_arm or scenario.trial.n_per_arm, "replicate": 0}
        )
        prov.write(work)
        if out.exists():
            shutil.rmtree(out)
        work.rename(out)
        work.mkdir()  # TemporaryDirectory removes this empty stand-in
    _print_summary(t.arms, result)
    return out


def _print_summary(arms: pd.DataFrame, result: pd.DataFrame) -> None:
    with pd.option_context("display.width", 120, "display.max_columns", 20):
        print(arms.to_string(index=False, float_format=lambda x: f"{x:.2f}"))
        print()
        cols = [
            "endpoint",
            "contrast",
            "method",
            "estimate",
            "ci_low",
            "ci_high",
            "p_value",
            "n_analysed",
        ]
        print(result[cols].to_string(index=False, float_format=lambda x: f"{x:.3f}"))
