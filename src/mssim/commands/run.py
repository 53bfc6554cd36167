"""``mssim run``: a Monte Carlo run written to a results folder.

The folder holds ``power.csv`` (operating characteristics with MCSE),
``power.png``, ``manifest.json``, ``report.html`` and, with ``--solve-n``,
``sample_size.json`` and ``sample_size.csv``. Chunks are checkpointed under ``chunks/`` so the same
command resumes an interrupted run.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pandas as pd

from mssim.config.load import with_overrides
from mssim.config.scenario import Scenario
from mssim.files import atomic_write_bytes, write_table
from mssim.montecarlo.power import check_analyses, estimate
from mssim.montecarlo.sample_size import SampleSize, solve_n
from mssim.outputs.figures.power import power_curve
from mssim.outputs.provenance import Provenance
from mssim.outputs.report import write_report

SHOWN = {
    "analysis": "analysis",
    "contrast": "contrast",
    "n_per_arm": "n/arm",
    "power": "power",
    "power_mcse": "±mcse",
    "true_effect": "true",
    "mean_estimate": "mean est",
    "bias": "bias",
    "coverage": "coverage",
    "type_s": "type S",
    "exaggeration": "exagg.",
    "dropout_fraction": "dropout",
}


def resumable_folder(scenario: Scenario, root: Path = Path("results")) -> Path:
    """The newest unfinished run folder of this scenario, or a new timestamped one."""
    base = root / scenario.name
    if base.is_dir():
        for folder in sorted(base.iterdir(), reverse=True):
            if (folder / "chunks").is_dir() and not (folder / "power.csv").exists():
                return folder
    return base / datetime.now().strftime("%Y%m%d-%H%M%S")


def run_power(
    scenario: Scenario,
    out: Path | None = None,
    replicates: int | None = None,
    seed: int | None = None,
    n_jobs: int = 1,
    backend: str = "processes",
    scheduler: str | None = None,
    solve: bool = False,
    target: float | None = None,
    analyses: list[str] | None = None,
    chunk_size: int | None = None,
    progress: bool | None = None,
) -> Path:
    """Run the Monte Carlo, write the results folder and print the table.

    Args:
        scenario: The scenario.
        out: Results folder; default: resume the newest unfinished run of this
            scenario under ``results/<name>/``, else a new timestamped folder.
        replicates: Trials per design point (default ``power.replicates``).
        seed: Root seed (default the scenario's).
        n_jobs: Parallel workers.
        backend: ``threads``, ``processes`` or ``dask``.
        scheduler: Dask scheduler address.
        solve: Also find the smallest n reaching the target power.
        target: Target power (default ``power.target``).
        analyses: Analyses (default ``[trial.analysis]``).
        chunk_size: Replicates per chunk.
        progress: Progress bar; None = only on a terminal.

    Returns:
        The results folder.
    """
    flags = {"seed": seed, "power.target": target}
    given = {field: value for field, value in flags.items() if value is not None}
    if given:
        scenario = with_overrides(scenario, values=given, source="command-line flags")
    check_analyses(scenario, analyses or [scenario.trial.analysis])  # before any folder
    out = Path(out) if out is not None else resumable_folder(scenario)
    out.mkdir(parents=True, exist_ok=True)
    prov = Provenance(scenario)
    run = {"n_jobs": n_jobs, "backend": backend, "scheduler": scheduler, "progress": progress}
    frame = estimate(
        scenario,
        replicates=replicates,
        analyses=analyses,
        chunk_size=chunk_size,
        out=out,
        **run,
    )
    print_table(frame)
    write_table(frame, out / "power.csv")
    figure = power_curve(frame, target=scenario.power.target)
    figure.savefig(out / "power.png", dpi=100, bbox_inches="tight")
    prov.extra["replicates"] = int(frame.replicates.iloc[0])
    if solve:
        answer = solve_n(scenario, replicates=replicates, chunk_size=chunk_size, **run)
        write_table(answer.curve, out / "sample_size.csv")
        atomic_write_bytes(
            out / "sample_size.json", json.dumps(sample_size_dict(answer), indent=2).encode()
        )
        print_sample_size(answer)
        prov.extra["sample_size"] = sample_size_dict(answer)
    prov.write(out)
    write_report(out)
    return out


def sample_size_dict(answer: SampleSize) -> dict[str, object]:
    """The sample-size answer as plain data (``n_high`` None: above ``n_examined``)."""
    return {
        "target": answer.target,
        "n_per_arm": answer.n_per_arm,
        "n_low": answer.n_low,
        "n_high": answer.n_high,
        "n_examined": int(answer.curve.n_per_arm.max()),
        "power": answer.power,
        "power_mcse": answer.power_mcse,
        "replicates": answer.replicates,
    }


def print_table(frame: pd.DataFrame) -> None:
    """Print the operating characteristics as a readable table."""
    shown = frame[list(SHOWN)].rename(columns=SHOWN)
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(shown.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    reps = int(frame.replicates.iloc[0])
    worst = frame.power_mcse.max()
    print(
        f"\n{reps} replicate trials per design point; power MCSE at most {worst:.3f}. "
        "Effects are treatment minus comparator (negative = fewer symptoms)."
    )


def print_sample_size(answer: SampleSize) -> None:
    """Print the sample-size answer with its Monte Carlo interval."""
    if answer.n_per_arm is None:
        print(f"\nNo n per arm up to the search limit reaches power {answer.target:.2f}.")
        return
    top = int(answer.curve.n_per_arm.max())
    high = answer.n_high if answer.n_high is not None else f"more than {top}"
    print(
        f"\nSmallest n per arm with power >= {answer.target:.2f}: {answer.n_per_arm} "
        f"(power {answer.power:.3f} ± {answer.power_mcse:.3f} MCSE, {answer.replicates} "
        f"replicates); Monte Carlo interval {answer.n_low} to {high}."
    )
