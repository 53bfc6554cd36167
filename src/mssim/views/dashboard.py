"""The mssim dashboard: one simulated trial, a thousand like it, a literature lab.

A Solara app (``Page``) with two tabs. On the first, the controls set the
trial; the single trial is the Mesa model (:class:`mssim.views.abm.TrialModel`),
so its numbers are the engine's (ARCHITECTURE invariant 3); "New trial" draws
another one (the next root seed). Mesa's own SolaraViz controller
(``ModelController``: reset, play/pause, step) steps the same model day by day,
its patients shown as agents; scores are drawn in the primary instrument's
points, the units of the estimate. "Run 1,000 trials" runs the Monte Carlo core
on the same scenario and shows how often such a trial is significant, how
often it gets the sign wrong (type S) and by how much significant results
exaggerate (type M), each with its Monte Carlo standard error. The second tab
is the literature lab (:mod:`mssim.views.literature_lab`). Each part shows the
scenario TOML and the ``mssim`` command that reproduce it.

Start it with ``mssim dashboard [FILE] [--port P]`` (see :func:`serve`) or
``MSSIM_DASHBOARD_SCENARIO=FILE solara run mssim.views.dashboard``.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import solara
from matplotlib.figure import Figure
from solara.lab import use_task

from mssim.config.load import load_scenario, with_overrides
from mssim.config.scenario import Scenario
from mssim.errors import MssimError
from mssim.montecarlo.parallel import chunk_ranges
from mssim.montecarlo.power import chunk_statistics, summarize
from mssim.outputs.figures.estimates import estimate_distribution
from mssim.outputs.figures.meta import forest_plot
from mssim.outputs.figures.trajectories import arm_trajectories
from mssim.registry import ANALYSES
from mssim.trial.estimands import true_effects
from mssim.trial.tables import analysis_table, tables
from mssim.views.abm import TrialModel
from mssim.views.day_by_day import DayByDay, instrument_points, primary_instrument, score_axis
from mssim.views.literature_lab import LiteratureLab, Reproduce

ENV_SCENARIO = "MSSIM_DASHBOARD_SCENARIO"
MANY_TRIALS = 1000
MECHANISMS = {"mcar": "MCAR", "mar": "MAR", "mnar": "MNAR"}  # value: button label
COMPARATORS = {"sham": "sham", "usual_care": "usual care"}
# A sham built from scratch mimics the treatment's visible schedule.
SHAM_MIMICS = ("sessions_per_week", "weeks", "start_day", "targets", "practitioners")
EXPLANATION = (
    "One trial: the patients of a single simulated trial, day by day, and what its "
    "analysis concludes against the truth in these very patients. *Step* simulates one "
    "more day, *▶* plays the days, *Reset* starts the trial again; scores are in the "
    "points of the primary endpoint's instrument, like the estimate. *New trial* draws "
    "another trial from the same settings: the estimate moves by chance alone. "
    "*Run 1,000 trials* shows the whole distribution: how often such a trial is "
    "significant (power), how often a significant result has the wrong sign (type S) "
    "and how much significant results exaggerate the true effect, each with its Monte "
    "Carlo standard error (MCSE)."
)


@dataclass(frozen=True)
class Settings:
    """What the dashboard's controls set.

    Attributes:
        n_per_arm: Patients per arm.
        specific_effect: Treatment arm's specific effect (its ``effect_units``, SD by default).
        nonspecific_effect: Non-specific effect of the treatment arm and of a sham.
        dropout_rate: Share gone by the last visit, under any mechanism (0-1).
        dropout_mechanism: ``mcar``, ``mar`` or ``mnar``.
        comparator: ``sham`` or ``usual_care``.
    """

    n_per_arm: int
    specific_effect: float
    nonspecific_effect: float
    dropout_rate: float
    dropout_mechanism: str
    comparator: str

    @classmethod
    def from_scenario(cls, scenario: Scenario) -> Settings:
        """The scenario's own values (n per arm capped at 20, so 1,000 trials stay quick)."""
        name, *others = scenario.arm_names()
        arm = scenario.arms[name]
        is_sham = any(scenario.arms[o].intervention == "sham" for o in others)
        return cls(
            n_per_arm=min(scenario.trial.n_per_arm, 20),
            specific_effect=arm.specific_effect,
            nonspecific_effect=arm.nonspecific_effect,
            dropout_rate=scenario.dropout.rate,
            dropout_mechanism=scenario.dropout.mechanism,
            comparator="sham" if is_sham else "usual_care",
        )


def base_scenario() -> Scenario:
    """The scenario named by ``$MSSIM_DASHBOARD_SCENARIO``, or the embedded default."""
    return load_scenario(os.environ.get(ENV_SCENARIO) or None)


def build_scenario(base: Scenario, settings: Settings) -> Scenario:
    """Two arms: the base's first arm as set, against a sham or usual care.

    Args:
        base: The loaded scenario; its first arm is the treatment.
        settings: The controls.

    Returns:
        The validated two-arm scenario (contrast: treatment - comparator).

    Raises:
        MssimError: If the combination is invalid (the message names the field).
    """
    name = base.arm_names()[0]
    treatment = base.arms[name].model_dump(mode="python")
    treatment.update(
        specific_effect=settings.specific_effect, nonspecific_effect=settings.nonspecific_effect
    )
    if settings.comparator == "sham":
        shams = [a for a in base.arms.values() if a.intervention == "sham"]
        comparator = (
            shams[0].model_dump(mode="python")
            if shams
            else {"intervention": "sham", **{k: treatment[k] for k in SHAM_MIMICS}}
        )
        comparator["nonspecific_effect"] = settings.nonspecific_effect
    else:
        comparator = {"intervention": "usual_care"}
    return with_overrides(
        base,
        values={
            "arms": {name: treatment, settings.comparator: comparator},
            "trial.contrasts": [],
            "trial.allocation": {},
            "dropout.rate": settings.dropout_rate,
            "dropout.mechanism": settings.dropout_mechanism,
        },
    )


def effect_units(scenario: Scenario) -> str:
    """Units of the primary analysis' estimate, for labels."""
    kind = ANALYSES.get(scenario.trial.analysis).estimand
    if kind == "mean_difference":
        sym = getattr(scenario.symptoms, scenario.trial.primary_endpoint)
        return f"{sym.instrument.upper()} points"
    return kind.replace("_", " ")


def trial_trajectories(daily: pd.DataFrame, scenario: Scenario) -> Figure:
    """Mean primary score by arm over the trial's days, in the instrument's points.

    Args:
        daily: The trial's daily table (latent scores in NRS points).
        scenario: The scenario (primary endpoint and its instrument).

    Returns:
        The figure, its score axis labelled with the instrument and its range.
    """
    primary, instrument = scenario.trial.primary_endpoint, primary_instrument(scenario)
    shown = daily[daily["symptom"] == primary]
    shown = shown.assign(latent=instrument_points(shown["latent"].to_numpy(), instrument))
    figure = arm_trajectories(shown, primary)
    score_axis(figure.axes[0], primary, instrument)
    return figure


@dataclass(frozen=True)
class OneTrial:
    """One simulated trial, as the Mesa model ran it.

    Attributes:
        daily: The trial's daily table (``trial_tables.tables``).
        result: Primary endpoint, first contrast: ``analysis_table`` row
            (estimate, ci_low, ci_high, p_value, ...).
        truth: The contrast's true effect in these very patients (same units).
    """

    daily: pd.DataFrame
    result: pd.Series
    truth: float


def reproducible(scenario: Scenario, n_per_arm: int, seed: int) -> Scenario:
    """The scenario as the page ran it: this size (one trial and the power run) and seed."""
    return with_overrides(
        scenario,
        values={"trial.n_per_arm": n_per_arm, "power.n_per_arm": [n_per_arm], "seed": seed},
        source="dashboard",
    )


def one_trial(scenario: Scenario, n_per_arm: int) -> OneTrial:
    """Run the Mesa model of replicate 0 and analyse its primary endpoint."""
    model = TrialModel(scenario=scenario, n_per_arm=n_per_arm)
    model.run()
    trials = model.trials()
    method = scenario.trial.analysis
    result = analysis_table(trials, [method]).iloc[0]
    effects = true_effects(scenario, trials.outcomes, scenario.trial.primary_endpoint)
    truth = float(effects[ANALYSES.get(method).estimand][0, 0])
    return OneTrial(tables(trials).daily, result, truth)


@dataclass(frozen=True)
class ManyTrials:
    """Operating characteristics of many replicate trials.

    Attributes:
        summary: ``power.summarize`` row of the primary endpoint and first contrast.
        estimates: Per-replicate estimates (units of :func:`effect_units`).
        significant: Per-replicate significance after the multiplicity rule.
    """

    summary: pd.Series
    estimates: np.ndarray
    significant: np.ndarray


def many_trials(
    scenario: Scenario,
    n_per_arm: int,
    replicates: int = MANY_TRIALS,
    on_progress: Callable[[float], None] | None = None,
) -> ManyTrials:
    """Simulate and analyse replicate trials, chunk by chunk.

    Chunks are joined exactly as :func:`mssim.montecarlo.power.estimate` joins them
    (results do not depend on the chunking), keeping the per-replicate
    estimates that ``estimate`` does not return.

    Args:
        scenario: The scenario.
        n_per_arm: Patients per arm.
        replicates: Number of trials.
        on_progress: Called with the share done (0-1) after each chunk.

    Returns:
        The summary and per-replicate estimates of the primary analysis.
    """
    method = [scenario.trial.analysis]
    chunks = chunk_ranges(replicates, scenario.power.chunk_size)
    parts = []
    for k, reps in enumerate(chunks, start=1):
        parts.append(chunk_statistics(scenario, [n_per_arm], method, reps))
        if on_progress is not None:
            on_progress(k / len(chunks))
    stats = {key: np.concatenate([p[key] for p in parts], axis=-1) for key in parts[0]}
    summary = summarize(scenario, [n_per_arm], method, stats).iloc[0]
    # (analysis, n, endpoint, contrast, R): the primary endpoint's first contrast
    return ManyTrials(
        summary, stats["estimate"][0, 0, 0, 0], stats["reject"][0, 0, 0, 0].astype(bool)
    )


def _number(value: float, fmt: str) -> str:
    return format(value, fmt) if np.isfinite(value) else "n/a"


@solara.component
def Controls(settings: solara.Reactive[Settings], units: str) -> None:
    """Sliders and toggles, each writing one field of ``settings``."""
    s = settings.value

    def setter(field: str) -> Callable[[Any], None]:
        return lambda value: settings.set(dataclasses.replace(settings.value, **{field: value}))

    # Values sit in the labels: a person reads them without dragging a thumb.
    solara.SliderInt(
        f"Patients per arm: {s.n_per_arm}",
        s.n_per_arm,
        min=2,
        max=max(100, s.n_per_arm),
        on_value=setter("n_per_arm"),
    )
    # steps put each default on the slider's grid (non-specific: 0.38 SD)
    for label, field, top, step in (
        (f"Specific effect: {s.specific_effect:.2f} {units}", "specific_effect", 1.0, 0.05),
        (
            f"Non-specific effect: {s.nonspecific_effect:.2f} {units}",
            "nonspecific_effect",
            1.0,
            0.01,
        ),
        (f"Dropout by the last visit: {s.dropout_rate:.0%}", "dropout_rate", 0.6, 0.05),
    ):
        value = getattr(s, field)
        solara.SliderFloat(
            label, value, min=0.0, max=max(top, value), step=step, on_value=setter(field)
        )
    for title, field, labels in (
        ("Dropout mechanism", "dropout_mechanism", MECHANISMS),
        ("Comparator", "comparator", COMPARATORS),
    ):
        solara.Text(title)
        with solara.ToggleButtonsSingle(getattr(s, field), on_value=setter(field)):
            for value, label in labels.items():
                solara.Button(label, value=value, text=True)


@solara.component
def SingleTrial(scenario: Scenario, n_per_arm: int) -> None:
    """Panels (a) and (b): one trial's trajectories and its estimate with CI.

    ``scenario`` carries the seed of the trial shown ("New trial" moves it).
    """
    trial = solara.use_memo(lambda: one_trial(scenario, n_per_arm), [scenario, n_per_arm])
    r, units = trial.result, effect_units(scenario)

    def draw() -> tuple[Figure, Figure]:
        forest = forest_plot(
            [r.contrast],
            [r.estimate],
            [r.ci_low],
            [r.ci_high],
            true_effect=trial.truth,
            effect_label=f"{r.contrast} ({units})",
            title="This trial's estimate (95% CI)",
        )
        # one row leaves no free corner inside the axes: put the legend beside them
        forest.axes[0].legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
        return trial_trajectories(trial.daily, scenario), forest

    figures = solara.use_memo(draw, [trial])
    with solara.Card(f"One trial: {n_per_arm} patients per arm (Mesa model)"):
        solara.FigureMatplotlib(figures[0], dependencies=[trial])
    DayByDay(scenario, n_per_arm)
    with solara.Card("This trial's result"), solara.Column(gap="4px"):
        solara.Text(
            f"Estimate: {_number(r.estimate, '.3f')} {units} "
            f"(95% CI {_number(r.ci_low, '.3f')} to {_number(r.ci_high, '.3f')}), "
            f"p = {_number(r.p_value, '.3f')}",
            classes=["mssim-estimate"],
        )
        solara.Text(
            f"True effect in these patients: {_number(trial.truth, '.3f')} {units}",
            classes=["mssim-truth"],
        )
        solara.FigureMatplotlib(figures[1], dependencies=[trial])
        Reproduce(scenario, "mssim simulate scenario.toml --engine mesa")


@solara.component
def ThousandTrials(scenario: Scenario, settings: Settings) -> None:
    """Panel (c): the Monte Carlo run, its histogram, power, type S and exaggeration."""

    def run() -> tuple[Settings, ManyTrials, Figure]:
        def progress(share: float) -> None:
            task.progress = 100 * share

        many = many_trials(scenario, settings.n_per_arm, MANY_TRIALS, progress)
        s = many.summary
        figure = estimate_distribution(
            many.estimates,
            many.significant,
            s.true_effect,
            label=f"estimate ({effect_units(scenario)})",
        )
        return settings, many, figure

    task = use_task(run, dependencies=None, raise_error=False)
    with solara.Card(f"{MANY_TRIALS:,} trials like this one"):
        solara.Button(
            f"Run {MANY_TRIALS:,} trials",
            on_click=task,
            disabled=task.pending,
            color="primary",
            classes=["mssim-run-many"],
        )
        if task.pending:
            solara.Text(f"Running {MANY_TRIALS:,} trials…", classes=["mssim-running"])
            solara.ProgressLinear(task.progress or True)
        if task.error:
            solara.Error(f"The run failed: {task.exception}")
        if task.finished and task.value is not None:
            ran_with, many, figure = task.value
            s = many.summary
            if ran_with != settings:
                solara.Warning("These results are for earlier settings: run again to update.")
            with solara.Row(gap="32px"):
                solara.Text(
                    f"Power: {_number(s.power, '.3f')} (MCSE {_number(s.power_mcse, '.3f')})",
                    classes=["mssim-power"],
                )
                solara.Text(
                    f"Type S: {_number(s.type_s, '.3f')} (MCSE {_number(s.type_s_mcse, '.3f')})",
                    classes=["mssim-type-s"],
                )
                solara.Text(
                    f"Exaggeration: {_number(s.exaggeration, '.2f')} "
                    f"(MCSE {_number(s.exaggeration_mcse, '.2f')})",
                    classes=["mssim-exaggeration"],
                )
            solara.FigureMatplotlib(figure, dependencies=[id(figure)])
            Reproduce(scenario, f"mssim run scenario.toml --replicates {MANY_TRIALS}")


@solara.component
def Page() -> None:
    """The dashboard page."""
    base = solara.use_memo(base_scenario, [])
    settings = solara.use_reactive(Settings.from_scenario(base))

    draw = solara.use_reactive(0)  # trials drawn with "New trial"

    def build() -> tuple[Scenario | None, str | None]:
        try:
            built = build_scenario(base, settings.value)
            n = settings.value.n_per_arm
            return reproducible(built, n, base.seed + draw.value), None
        except MssimError as err:
            return None, str(err)

    scenario, problem = solara.use_memo(build, [settings.value, draw.value])
    units = "SD" if base.arms[base.arm_names()[0]].effect_units == "sd" else "points"
    solara.Title("mssim dashboard")
    solara.Text(
        "mssim: one trial, a thousand like it, and a literature",
        style={"display": "block", "font-size": "1.6rem", "margin": "8px"},
    )
    solara.Text(
        base.description, style={"display": "block", "font-style": "italic", "margin": "8px"}
    )
    with solara.lab.Tabs():
        with solara.lab.Tab("One trial and 1,000 trials"):
            solara.Markdown(EXPLANATION)
            with solara.Columns([1, 3]):
                with solara.Card("Trial settings"):
                    Controls(settings, units)
                    solara.Button(
                        "New trial",
                        on_click=lambda: draw.set(draw.value + 1),
                        color="primary",
                        classes=["mssim-new-trial"],
                    )
                    solara.Text(f"Root seed {base.seed + draw.value}", classes=["mssim-seed"])
                with solara.Column():
                    if problem is not None:
                        solara.Error(problem)
                    else:
                        SingleTrial(scenario, settings.value.n_per_arm)
                        ThousandTrials(scenario, settings.value)
        with solara.lab.Tab("Literature lab"):
            LiteratureLab(base)


def exposure_warning(host: str) -> str | None:
    """The warning for serving the dashboard on ``host``, or None on loopback.

    The dashboard has no authentication, so any interface other than loopback
    (``127.0.0.0/8``, ``::1``, ``localhost``) lets anyone who can reach it run
    simulations on this machine.

    Args:
        host: The interface given to ``--host``.
    """
    try:
        loopback = ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name
        loopback = host.lower() == "localhost"
    if loopback:
        return None
    return (
        f"dashboard --host {host}: the dashboard has no authentication; anyone who can reach "
        "this address can use it and run simulations on this machine (use the default "
        "127.0.0.1 unless the network is trusted)"
    )


def serve(file: Path | None, host: str = "127.0.0.1", port: int = 8765) -> None:
    """Replace this process with ``solara run`` serving the dashboard.

    The scenario is loaded first, so a bad file is an error message here,
    not in the browser; the app finds it in ``$MSSIM_DASHBOARD_SCENARIO``.

    Args:
        file: Scenario TOML file, or None for the embedded default.
        host: Interface to listen on (loopback by default; any other gets
            :func:`exposure_warning`).
        port: TCP port.

    Raises:
        MssimError: If the scenario file is invalid.
    """
    load_scenario(file)
    warning = exposure_warning(host)
    if warning is not None:
        warnings.warn(warning, stacklevel=2)
        sys.stderr.flush()  # before this process is replaced
    env = {k: v for k, v in os.environ.items() if k != ENV_SCENARIO}
    # Solara reports usage to a web service by default; a local tool should not.
    env.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "false")
    if file is not None:
        env[ENV_SCENARIO] = str(Path(file).resolve())
    argv = [sys.executable, "-m", "solara", "run", "mssim.views.dashboard"]
    argv += ["--host", host, "--port", str(port), "--production"]
    os.execve(sys.executable, argv, env)
