"""The Mesa view of one trial: patients and practitioners as agents.

:class:`TrialModel` owns one single-replicate :class:`~mssim.model.engine.TrialRun`
(built by :func:`mssim.model.engine.one_trial_run`) and calls its ``step()``
once per Mesa step, so every Mesa step is one trial day. The dynamics are not
written again here (ARCHITECTURE invariant 3): agents only *read* the run's
arrays at their own row and allocated regimen, so
``tables(model.trials())`` equals the vectorized
engine's tables for the same seed and replicate, exactly.

Timeline: the first step simulates the first run-in day (before baseline),
day 0 is the baseline visit, and sessions start on day 1. Patients are
randomized with :func:`mssim.trial.designs.randomize` at the end of day 0, as in a
real trial: that is when baseline scores exist, which severity-stratified
randomization needs. Before then ``arm`` is None; every regimen's
trajectory is the same until the first session, so nothing is lost.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

import mesa
import numpy as np

from mssim.config.load import load_scenario, with_overrides
from mssim.config.scenario import Scenario
from mssim.model.engine import one_trial_run
from mssim.model.outcomes import Outcomes
from mssim.trial.randomization import Trials, randomize, total_patients
from mssim.trial.tables import GUESS_NAMES


class PatientAgent(mesa.Agent):
    """One enrolled patient, seen through the run's arrays at its row.

    Traits fixed by randomization are properties; the daily state
    (``symptoms``, ``sessions_received``, ``relapses_so_far``,
    ``adverse_events``, ``dropped_out``) is refreshed by :meth:`step`.

    Attributes:
        row: The patient's index in the trial (``patient_id`` in the tables).
        symptoms: Latent severity today by symptom (NRS, unclipped; 0 for a
            symptom the patient does not have; NaN before the first day).
        sessions_received: Sessions attended so far (sessions).
        relapses_so_far: Relapses with onset from day 1 up to today (count).
        adverse_events: Adverse events so far by ``arm:type`` label (count).
        dropped_out: Absent from the trial by today.
    """

    def __init__(self, model: TrialModel, row: int) -> None:
        super().__init__(model)
        self.row = row
        self.symptoms: dict[str, float] = dict.fromkeys(model.run_.model.names, math.nan)
        self.sessions_received = 0
        self.relapses_so_far = 0
        self.adverse_events: dict[str, int] = dict.fromkeys(model.run_.ae_labels, 0)
        self.dropped_out = False

    @property
    def regimen(self) -> int | None:
        """Allocated regimen index (None before randomization)."""
        alloc = self.model.allocation
        return None if alloc is None else int(alloc[self.row])

    @property
    def arm(self) -> str | None:
        """Allocated arm, as in the tables' ``arm`` column (None before randomization)."""
        g = self.regimen
        return None if g is None else self.model.run_.regimens[g].name

    @property
    def guess(self) -> str | None:
        """Guess of the arm at the end ("verum", "sham", "don't know"); None if unallocated."""
        g = self.regimen
        if g is None:
            return None
        return GUESS_NAMES[int(self.model.run_.responses.guess[0, self.row, g])]

    @property
    def practitioner(self) -> PractitionerAgent | None:
        """The practitioner who needles this patient (None: unneedled or unallocated)."""
        g = self.regimen
        if g is None:
            return None
        pid = int(self.model.run_.responses.practitioner[0, self.row, g])
        return None if pid < 0 else self.model.practitioner_agents[pid]

    @property
    def schedule(self) -> np.ndarray:
        """Scheduled session days of the allocated regimen (days; empty if unallocated)."""
        g = self.regimen
        if g is None:
            return np.zeros(0, dtype=int)
        courses = self.model.run_.regimens[g].courses
        return np.concatenate([c.session_days for c in courses]).astype(int)

    def step(self) -> None:
        """Copy today's state from the run's arrays (the run has already moved)."""
        run, row, today = self.model.run_, self.row, self.model.day
        # Before randomization every regimen has the same path: read the first.
        g = 0 if self.regimen is None else self.regimen
        self.symptoms = dict(zip(run.model.names, run.latent[0, row, g].tolist(), strict=True))
        self.sessions_received = int(run.sessions_attended[0, row, g])
        onsets = run.relapse_onsets[0, row]
        self.relapses_so_far = int(((onsets >= 1) & (onsets <= today)).sum())
        counts = run.adverse_events[0, row, g].tolist()
        self.adverse_events = dict(zip(run.ae_labels, counts, strict=True))
        self.dropped_out = bool(run.dropout_day[0, row, g] <= today)


class PractitionerAgent(mesa.Agent):
    """One practitioner of the trial's shared pool (verum and sham alike).

    Attributes:
        practitioner_id: Pool index (the tables' ``practitioner`` column).
        z: Own standardized effect (SD of the practitioner effect = 1).
    """

    def __init__(self, model: TrialModel, practitioner_id: int, z: float) -> None:
        super().__init__(model)
        self.practitioner_id = practitioner_id
        self.z = z

    @property
    def patients(self) -> list[PatientAgent]:
        """Allocated patients this practitioner needles."""
        return [p for p in self.model.patient_agents if p.practitioner is self]

    @property
    def arms(self) -> list[str]:
        """First-course arms of this practitioner's patients, in scenario order."""
        mine = {self.model.run_.regimens[p.regimen].courses[0].arm for p in self.patients}
        return [name for name in self.model.scenario.arms if name in mine]

    @property
    def effect(self) -> dict[str, float]:
        """Own effect on each arm it treats (SD units: ``practitioner_sd * z``)."""
        arms = self.model.scenario.arms
        return {name: arms[name].practitioner_sd * self.z for name in self.arms}


class TrialModel(mesa.Model):
    """One simulated trial, one Mesa step per trial day.

    Every argument is a keyword with a default, so Mesa's SolaraViz can
    rebuild the model with ``type(model)(**params)``.

    Args:
        scenario: The scenario (default: the embedded default scenario).
        n_per_arm: Patients per allocation unit.
        replicate: Replicate index (picks the random streams, as in the engine).
        seed: Root seed; overrides ``scenario.seed``.
        **overrides: Dotted scenario fields and Python values, e.g.
            ``**{"dropout.rate": 0.3}`` (see :func:`with_overrides`).

    Attributes:
        scenario: The scenario after ``seed`` and overrides.
        run_: The single-replicate engine run this model steps.
        allocation: Regimen index per patient, (N,); None before randomization.
        patient_agents: Patients in row order.
        practitioner_agents: Practitioners in pool order.
        datacollector: Model reporters ``day``, ``in_trial`` and
            ``"<arm>: mean <primary>"`` (mean latent primary symptom over the
            arm's patients, NaN before randomization); agent-type reporters of
            :class:`PatientAgent`: the primary symptom, ``sessions`` and
            ``dropped_out``. Collected after each step (Step 1 = first day).
    """

    def __init__(
        self,
        *,
        scenario: Scenario | None = None,
        n_per_arm: int = 20,
        replicate: int = 0,
        seed: int | None = None,
        **overrides: Any,
    ) -> None:
        if scenario is None:
            scenario = load_scenario()
        changes = {**overrides, **({} if seed is None else {"seed": seed})}
        self.scenario = with_overrides(scenario, values=changes, source="TrialModel overrides")
        # Mesa's own generators drive nothing here (the seed tree does); seed them anyway.
        super().__init__(rng=self.scenario.seed)
        self.n_per_arm = n_per_arm
        self.replicate = replicate
        self.run_ = run = one_trial_run(
            self.scenario, total_patients(self.scenario, n_per_arm), replicate
        )
        self.allocation: np.ndarray | None = None
        self.primary = self.scenario.trial.primary_endpoint
        n_patients = run.cohort.ms_type.shape[1]
        self.patient_agents = [PatientAgent(self, row) for row in range(n_patients)]
        z = run.responses.practitioner_z[0]
        self.practitioner_agents = [PractitionerAgent(self, j, float(z[j])) for j in range(len(z))]
        arm_means = {
            f"{regimen.name}: mean {self.primary}": partial(TrialModel._arm_mean, g=g)
            for g, regimen in enumerate(run.regimens)
        }
        primary = self.primary
        self.datacollector = mesa.DataCollector(
            model_reporters={"day": "day", "in_trial": "in_trial", **arm_means},
            agenttype_reporters={
                PatientAgent: {
                    primary: lambda a: a.symptoms[primary],
                    "sessions": "sessions_received",
                    "dropped_out": "dropped_out",
                }
            },
        )

    @property
    def day(self) -> int:
        """The last simulated day (day 0 = baseline; negative = run-in)."""
        return self.run_.day - 1

    @property
    def done(self) -> bool:
        """Every day of the trial has been simulated."""
        return self.run_.done

    @property
    def in_trial(self) -> int:
        """Patients not dropped out by today (count)."""
        return sum(not p.dropped_out for p in self.patient_agents)

    def _arm_mean(self, g: int) -> float:
        if self.allocation is None:
            return math.nan
        values = [p.symptoms[self.primary] for p in self.patient_agents if p.regimen == g]
        return float(np.mean(values)) if values else math.nan

    def step(self) -> None:
        """Simulate one day, randomize after baseline, refresh agents, collect."""
        if self.run_.done:
            return
        self.run_.step()
        if self.allocation is None and self.day >= 0:
            self.allocation = randomize(self.scenario, self.run_.outcomes())[0]
        self.agents.do("step")
        self.datacollector.collect(self)
        if self.run_.done:
            self.running = False
            # Mesa 3.3.1 keeps every model alive in this class-level counter dict.
            mesa.Agent._ids.pop(self, None)

    def run(self) -> Outcomes:
        """Step to the last day and return the outcomes."""
        while not self.run_.done:
            self.step()
        return self.outcomes()

    def outcomes(self) -> Outcomes:
        """The engine run's outcomes (identical to the vectorized engine's)."""
        return self.run_.outcomes()

    def trials(self) -> Trials:
        """This trial (one replicate) with the allocation drawn after baseline."""
        if self.allocation is None:
            raise ValueError("the trial is not randomized yet: step past baseline first")
        return Trials(self.scenario, self.outcomes(), self.allocation[None])
