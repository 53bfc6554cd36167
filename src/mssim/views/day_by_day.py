"""Day by day: the Mesa model of one trial, stepped with Mesa's SolaraViz controller.

Part of the dashboard (:mod:`mssim.views.dashboard`): Mesa's ``ModelController``
(reset, play/pause, step) steps a :class:`mssim.views.abm.TrialModel`, one
step per trial day, and the page draws its patients as agents. Scores are shown
in the primary endpoint's instrument points, the units of the estimate.
"""

from __future__ import annotations

import threading
import warnings
from typing import Any

import numpy as np
import pandas as pd
import solara
from matplotlib.figure import Figure

from mssim.config.instruments import Instrument
from mssim.config.scenario import Scenario
from mssim.outputs.figures.style import arm_colors
from mssim.registry import INSTRUMENTS
from mssim.views.abm import PatientAgent, TrialModel

with warnings.catch_warnings():
    # Solara's hook linter flags a hook in Mesa 3.3.1's own ComponentsView (unused here).
    warnings.filterwarnings("ignore", "(?s).*mesa/visualization/solara_viz.py:", UserWarning)
    from mesa.visualization.solara_viz import ModelController
    from mesa.visualization.utils import update_counter

PLAY_INTERVAL_MS = 150  # pause between days when playing (ms)
NOT_RANDOMIZED = "not yet randomized"


def primary_instrument(scenario: Scenario) -> Instrument:
    """The instrument that scores the primary endpoint's symptom."""
    symptom = getattr(scenario.symptoms, scenario.trial.primary_endpoint)
    return INSTRUMENTS.get(symptom.instrument)


def instrument_points(latent: np.ndarray, instrument: Instrument) -> np.ndarray:
    """Latent 0-10 NRS severity in the instrument's points.

    The linear map the engine scores visits with (before recall averaging,
    measurement error and rounding to the grid): ``low + points_per_nrs * latent``.

    Args:
        latent: Latent severity (NRS points).
        instrument: The instrument.

    Returns:
        The same severity in instrument points.
    """
    return instrument.low + instrument.points_per_nrs() * np.asarray(latent, dtype=float)


def score_axis(ax: Any, symptom: str, instrument: Instrument) -> None:
    """Label a score axis with the symptom and instrument, over the instrument's range."""
    ax.set_ylabel(f"{symptom}: {instrument.label} points")
    ax.set_ylim(instrument.low, instrument.high)


class SteppedTrial(TrialModel):
    """The Mesa trial model with steps and reads taken in turn.

    Mesa's controller plays the model in a thread while the page reads it:
    ``lock`` keeps a read from seeing a day half collected. The model and
    its numbers are :class:`TrialModel`'s.

    Args:
        **kwargs: :class:`TrialModel`'s keywords.

    Attributes:
        lock: Held while stepping and while a figure reads the model.
    """

    def __init__(self, **kwargs: Any) -> None:
        self.lock = threading.Lock()
        super().__init__(**kwargs)

    def step(self) -> None:
        """One trial day, as :meth:`TrialModel.step`, holding ``lock``."""
        with self.lock:
            super().step()


def day_text(model: TrialModel) -> str:
    """Where the stepped trial stands: its last simulated day and the trial's phase."""
    run = model.run_
    if model.steps == 0:
        return f"Day: not started (the run-in begins on day {run.first_day})"
    phase = "run-in" if model.day < 0 else "baseline" if model.day == 0 else "treatment/follow-up"
    return f"Day {model.day} ({phase})"


def step_text(model: TrialModel) -> str:
    """Steps taken out of the trial's days (one Mesa step per day)."""
    run = model.run_
    return f"Step {model.steps} of {run.horizon - run.first_day + 1}"


def patients_today(model: SteppedTrial, instrument: Instrument) -> Figure:
    """The stepped trial so far: mean primary score by arm, and every patient today.

    Left, the mean over patients of each day simulated so far (before
    randomization, after baseline, all patients together; afterwards, by
    arm over all days). Right, each patient agent's score today by arm, hollow
    once dropped out. Scores are latent severities in instrument points.

    Args:
        model: A Mesa trial model stepped at least once.
        instrument: The primary endpoint's instrument.

    Returns:
        The figure.
    """
    primary = model.primary
    with model.lock:
        agents = model.datacollector.get_agenttype_vars_dataframe(PatientAgent)[primary]
        days = model.datacollector.get_model_vars_dataframe()["day"].to_numpy()
        arm_of = {p.unique_id: p.arm or NOT_RANDOMIZED for p in model.patient_agents}
        today = [
            (p.arm or NOT_RANDOMIZED, p.symptoms[primary], p.dropped_out)
            for p in model.patient_agents
        ]
        day = model.day
    frame = pd.DataFrame(
        {
            "day": days[agents.index.get_level_values("Step").to_numpy() - 1],
            "arm": agents.index.get_level_values("AgentID").map(arm_of),
            "score": instrument_points(agents.to_numpy(), instrument),
        }
    )
    arms = list(dict.fromkeys(frame["arm"]))
    colours = arm_colors(arms)
    figure = Figure(figsize=(10, 3.8), layout="constrained")
    left, right = figure.subplots(1, 2, width_ratios=[3, 2], sharey=True)
    means = frame.groupby(["arm", "day"])["score"].mean()
    for arm in arms:
        path = means.loc[arm]
        left.plot(path.index, path.to_numpy(), color=colours[arm], linewidth=2, label=arm)
    left.axvline(0.0, color="black", linewidth=0.9, alpha=0.7)
    left.set_xlim(model.run_.first_day, model.run_.horizon)
    left.set_xlabel("Day since randomization (days)")
    left.set_title(f"Mean {primary} so far (day {day})")
    left.legend(loc="lower left", fontsize="small")
    left.grid(alpha=0.3)
    score_axis(left, primary, instrument)
    jitter = np.random.default_rng(0).uniform(-0.25, 0.25, len(today))  # fixed dot places
    for k, arm in enumerate(arms):
        mine = [i for i, patient in enumerate(today) if patient[0] == arm]
        x = k + jitter[mine]
        y = instrument_points(np.array([today[i][1] for i in mine]), instrument)
        gone = np.array([today[i][2] for i in mine])
        colour = colours[arm]
        right.scatter(x[~gone], y[~gone], color=colour, s=22, label="in the trial")
        right.scatter(
            x[gone], y[gone], facecolors="none", edgecolors=colour, s=22, label="dropped out"
        )
    right.set_xticks(range(len(arms)), arms)
    right.set_xlim(-0.6, len(arms) - 0.4)
    right.set_title(f"Patients on day {day} (hollow: dropped out)")
    right.grid(alpha=0.3, axis="y")
    return figure


@solara.component
def DayByDay(scenario: Scenario, n_per_arm: int) -> None:
    """The Mesa model of the trial shown, stepped with Mesa's SolaraViz controller.

    Reset rebuilds the model with the same scenario and size (the same trial).
    """
    params = solara.use_memo(
        lambda: {"scenario": scenario, "n_per_arm": n_per_arm}, [scenario, n_per_arm]
    )
    first = solara.use_memo(lambda: SteppedTrial(**params), [params])
    model = solara.use_reactive(first)
    play_interval = solara.use_reactive(PLAY_INTERVAL_MS)
    render_interval = solara.use_reactive(1)
    use_threads = solara.use_reactive(False)
    update_counter.get()  # the controller bumps it after each step: render again
    m, instrument = model.value, primary_instrument(scenario)
    with solara.Card("Day by day: the Mesa model, one step per day"):
        ModelController(
            model,
            model_parameters=params,
            play_interval=play_interval,
            render_interval=render_interval,
            use_threads=use_threads,
        ).key(f"controller-{id(first)}")
        with solara.Row(gap="32px"):
            solara.Text(step_text(m), classes=["mssim-step"])
            solara.Text(day_text(m), classes=["mssim-day"])
            solara.Text(
                f"In the trial: {m.in_trial} of {len(m.patient_agents)} patients",
                classes=["mssim-in-trial"],
            )
        if m.steps > 0:
            solara.FigureMatplotlib(patients_today(m, instrument), dependencies=[id(m), m.steps])
