"""One simulated trial as tidy tables: patients, visits, daily diaries, analyses.

``mssim simulate`` writes these tables; the Mesa view must produce the very
same tables for the same seed (ARCHITECTURE invariant 3).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mssim.config.scenario import Scenario
from mssim.model.behaviour import bang_index
from mssim.model.interventions import GUESS_DONT_KNOW, GUESS_SHAM, GUESS_VERUM
from mssim.model.outcomes import NEVER, Outcomes
from mssim.model.population import MS_TYPES
from mssim.registry import ANALYSES
from mssim.trial.analyses.analysis import analyse
from mssim.trial.analyses.hypothesis import contrast_test
from mssim.trial.data import trial_data
from mssim.trial.multiplicity import family_adjusted
from mssim.trial.randomization import Trials, contrast_regimens

GUESS_NAMES = {GUESS_SHAM: "sham", GUESS_DONT_KNOW: "don't know", GUESS_VERUM: "verum"}


@dataclass(frozen=True)
class TrialTables:
    """The tables of one trial (replicate ``outcomes.replicates[0]``)."""

    patients: pd.DataFrame
    visits: pd.DataFrame
    daily: pd.DataFrame
    sessions: pd.DataFrame
    relapses: pd.DataFrame
    arms: pd.DataFrame


def tables(trials: Trials) -> TrialTables:
    """Tidy tables of the first replicate trial (observed regimen only)."""
    scenario, outcomes, alloc = trials.scenario, trials.outcomes, trials.allocation[0]
    n = len(alloc)
    rows = np.arange(n)
    names = [r.name for r in outcomes.regimens]
    arm = np.array(names)[alloc]
    horizon = int(outcomes.visit_days[-1])
    primary = scenario.trial.primary_endpoint
    data = trial_data(scenario, outcomes, alloc[None], primary, n)
    onsets = outcomes.relapse_onsets[0]
    in_trial = (onsets >= 1) & (onsets <= horizon)
    c, resp = outcomes.cohort, outcomes.responses
    dropout = outcomes.dropout_day[0, rows, alloc]
    patients = pd.DataFrame(
        {
            "patient_id": rows,
            "arm": arm,
            "baseline": data.baseline[0],
            "outcome": data.outcome[0],
            "change": data.change[0],
            "observed": data.observed[0],
            "dropped_out": dropout <= horizon,
            "dropout_day": np.where(dropout <= horizon, dropout, -1),
            "relapses": in_trial.sum(axis=1),
            "ms_type": np.array(MS_TYPES)[c.ms_type[0]],
            "edss": c.edss[0],
            "on_therapy": c.on_therapy[0],
            "screening_score": c.screening_score[0],
            "candidates_screened": c.candidates_screened[0],
            "responder": resp.responder[0],
            "expectation": resp.expectation[0],
            "guess": [GUESS_NAMES[int(g)] for g in resp.guess[0, rows, alloc]],
            "practitioner": resp.practitioner[0, rows, alloc],
            "sessions_attended": outcomes.sessions_attended[0, rows, alloc],
        }
    )
    for k, label in enumerate(_ae_labels(scenario)):
        patients[f"ae_{label}"] = outcomes.adverse_events[0, rows, alloc, k]
    visits = _visits(outcomes, alloc, arm, dropout)
    daily, sessions = _daily(outcomes, alloc, arm)
    pid, slot = np.nonzero(onsets < NEVER)
    relapses = pd.DataFrame(
        {
            "patient_id": pid,
            "onset_day": onsets[pid, slot],
            # onsets before randomization are history, not intercurrent events
            "during_trial": in_trial[pid, slot],
        }
    )
    return TrialTables(patients, visits, daily, sessions, relapses, _arms(scenario, patients))


def _ae_labels(scenario: Scenario) -> list[str]:
    return [f"{a}_{e}" for a, arm in scenario.arms.items() for e in arm.adverse_events]


def _visits(
    outcomes: Outcomes, alloc: np.ndarray, arm: np.ndarray, dropout: np.ndarray
) -> pd.DataFrame:
    n, v, t = len(alloc), len(outcomes.visit_days), len(outcomes.tracked)
    scores = outcomes.scores[0, np.arange(n), alloc]  # (N, visits, tracked)
    days = np.broadcast_to(outcomes.visit_days[None, :, None], scores.shape)
    return pd.DataFrame(
        {
            "patient_id": np.repeat(np.arange(n), v * t),
            "arm": np.repeat(arm, v * t),
            "week": (days // 7).ravel(),
            "day": days.ravel(),
            "symptom": np.tile(outcomes.tracked, n * v),
            "score": scores.ravel(),
            "observed": (days < dropout[:, None, None]).ravel(),
        }
    )


def _daily(
    outcomes: Outcomes, alloc: np.ndarray, arm: np.ndarray
) -> tuple[pd.DataFrame, pd.DataFrame]:
    daily = outcomes.daily
    n = len(alloc)
    latent = daily.latent[0, np.arange(n), alloc]  # (N, days, symptoms)
    diary = daily.diary[0, np.arange(n), alloc]
    d, s = latent.shape[1:]
    names = list(outcomes.tracked)
    frame = pd.DataFrame(
        {
            "patient_id": np.repeat(np.arange(n), d * s),
            "arm": np.repeat(arm, d * s),
            "day": np.tile(np.repeat(daily.days, s), n),
            "symptom": np.tile(names, n * d),
            "latent": latent.ravel(),
            "observed": diary.ravel(),
        }
    )
    attended = daily.attended[0, np.arange(n), alloc]
    pid, day = np.nonzero(attended)
    sessions = pd.DataFrame({"patient_id": pid, "day": daily.days[day], "attended": True})
    return frame, sessions


def _arms(scenario: Scenario, patients: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for name, group in patients.groupby("arm", sort=False):
        first = name.split(" then ")[0]
        arm = scenario.arms[first]
        codes = group.guess.map({v: k for k, v in GUESS_NAMES.items()}).to_numpy()
        needled = arm.kind.needled
        rows.append(
            {
                "arm": name,
                "intervention": arm.intervention,
                "n": len(group),
                "sessions_mean": group.sessions_attended.mean(),
                "dropped_out": int(group.dropped_out.sum()),
                "relapses": int(group.relapses.sum()),
                "adverse_events": int(group.filter(like="ae_").to_numpy().sum()),
                "bang_index": bang_index(codes, not arm.kind.sham) if needled else np.nan,
            }
        )
    return pd.DataFrame(rows)


def analysis_table(trials: Trials, methods: list[str]) -> pd.DataFrame:
    """One row per (endpoint, contrast, method) for the first replicate trial.

    ``p_adjusted`` is the p-value adjusted by ``trial.multiplicity`` over the family of
    every (endpoint, contrast) of the same method, primary endpoint first; ``p_value``
    is that of ``trial.hypothesis`` (one-sided for superiority and non-inferiority,
    then significant at alpha / 2).
    """
    scenario, outcomes = trials.scenario, trials.outcomes
    alloc = trials.allocation[:1]
    n = alloc.shape[1]
    rows = []
    names = [f"{a} - {b}" for a, b in scenario.contrasts()]
    for endpoint in scenario.endpoints():
        data = trial_data(scenario, outcomes, alloc, endpoint, n)
        for (g_t, g_c), contrast in zip(contrast_regimens(scenario), names, strict=True):
            for method in methods:
                test = contrast_test(scenario, method, endpoint)
                est = analyse(method, data, g_t, g_c, scenario.trial.alpha, test, scenario.trial)
                frame = est.to_frame().iloc[0]
                rows.append(
                    {
                        "endpoint": endpoint,
                        "contrast": contrast,
                        "method": method,
                        "estimand": f"{ANALYSES.get(method).estimand} ({scenario.trial.estimand})",
                        **frame.to_dict(),
                    }
                )
    table = pd.DataFrame(rows)
    # rows run endpoint by endpoint, contrast by contrast: the family's order per method
    table["multiplicity"] = scenario.trial.multiplicity
    table["hypothesis"] = scenario.trial.hypothesis
    table["p_adjusted"] = np.nan
    for method in methods:
        rows_of = table.index[table.method == method]
        p = table.loc[rows_of, "p_value"].to_numpy(np.float64)[None]
        table.loc[rows_of, "p_adjusted"] = family_adjusted(scenario, p)[0]
    return table
