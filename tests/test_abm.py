"""The Mesa view: identical tables to the vectorized engine, and its agent API."""

import gc
import weakref
from pathlib import Path

import mesa
import numpy as np
import pandas as pd
import pytest

from mssim.commands.simulate import simulate_one_trial
from mssim.config.load import load_scenario
from mssim.errors import MssimError
from mssim.model.engine import one_trial_run
from mssim.trial.randomization import randomized, total_patients
from mssim.trial.tables import tables
from mssim.views.abm import PatientAgent, PractitionerAgent, TrialModel

SCENARIOS = sorted((Path(__file__).parents[1] / "scenarios").glob("*.toml"))
# Heavy dropout and frequent relapses, so the identity covers both paths.
EVENTFUL = ["dropout.rate=0.5", "relapses.annual_rate={rrms=3.0, spms=3.0, ppms=3.0}"]
N = 8


def _ran(model):
    """The trial of a Mesa model stepped to its last day."""
    model.run()
    return model.trials()


def _ids(paths):
    return [p.stem if p else "embedded" for p in paths]


@pytest.fixture(scope="module")
def model():
    m = TrialModel(scenario=load_scenario(None, EVENTFUL), n_per_arm=N, seed=7)
    m.run()
    return m


@pytest.mark.parametrize("path", [None, *SCENARIOS], ids=_ids([None, *SCENARIOS]))
@pytest.mark.parametrize("mechanism", ["mcar", "mnar"])
def test_mesa_tables_equal_vectorized_tables(path, mechanism):
    scenario = load_scenario(path, [*EVENTFUL, f"dropout.mechanism={mechanism}", "seed=11"])
    _, mesa_tables = simulate_one_trial(scenario, N, engine="mesa")
    _, vec_tables = simulate_one_trial(scenario, N, engine="vectorized")
    for name in ("patients", "visits", "daily", "sessions", "relapses", "arms"):
        pd.testing.assert_frame_equal(
            getattr(mesa_tables, name), getattr(vec_tables, name), check_exact=True, obj=name
        )
    patients = mesa_tables.patients
    assert patients.dropped_out.any(), "no dropout: the identity would not cover it"
    assert (patients.relapses > 0).any(), "no relapse: the identity would not cover it"


def test_crossover_is_covered():
    assert {load_scenario(p).trial.design for p in SCENARIOS} >= {"crossover", "parallel"}


def test_mar_dropout_is_identical_too():
    scenario = load_scenario(None, [*EVENTFUL, "dropout.mechanism=mar"])
    mesa_tables = tables(_ran(TrialModel(scenario=scenario, n_per_arm=N)))
    _, vec_tables = simulate_one_trial(scenario, N, engine="vectorized")
    pd.testing.assert_frame_equal(mesa_tables.daily, vec_tables.daily, check_exact=True)
    pd.testing.assert_frame_equal(mesa_tables.patients, vec_tables.patients, check_exact=True)


def test_another_seed_gives_other_tables():
    scenario = load_scenario()
    a = tables(_ran(TrialModel(scenario=scenario, n_per_arm=N, seed=1)))
    b = tables(_ran(TrialModel(scenario=scenario, n_per_arm=N, seed=2)))
    assert not a.daily.latent.equals(b.daily.latent)
    assert not a.patients.baseline.equals(b.patients.baseline)


def test_replicate_matches_engine_replicate():
    scenario = load_scenario()
    via_mesa = tables(_ran(TrialModel(scenario=scenario, n_per_arm=N, replicate=3)))
    direct = tables(
        randomized(
            scenario, one_trial_run(scenario, total_patients(scenario, N), replicate=3).run()
        )
    )
    pd.testing.assert_frame_equal(via_mesa.daily, direct.daily, check_exact=True)


def test_agents_expose_the_trial_tables(model):
    t = tables(model.trials())
    pat = t.patients.set_index("patient_id")
    assert len(model.patient_agents) == len(pat) == 2 * N
    assert model.day == model.scenario.horizon_days() and not model.running
    last = t.daily[t.daily.day == model.day].set_index(["patient_id", "symptom"]).latent
    for p in model.patient_agents:
        row = pat.loc[p.row]
        assert p.arm == row.arm
        assert p.dropped_out == row.dropped_out
        assert p.sessions_received == row.sessions_attended
        assert p.relapses_so_far == row.relapses
        assert p.guess == row.guess
        assert (p.practitioner.practitioner_id if p.practitioner else -1) == row.practitioner
        assert sum(p.adverse_events.values()) == row.filter(like="ae_").sum()
        assert p.symptoms == {s: last[(p.row, s)] for s in p.symptoms}
        attended = set(t.sessions.day[t.sessions.patient_id == p.row])
        assert attended <= set(p.schedule.tolist())
    assert t.patients.dropped_out.any() and (t.patients.relapses > 0).any()


def test_practitioners_know_their_patients(model):
    needled = [p for p in model.patient_agents if p.practitioner is not None]
    assert needled
    assert sum(len(pr.patients) for pr in model.practitioner_agents) == len(needled)
    for pr in model.practitioner_agents:
        assert isinstance(pr, PractitionerAgent)
        assert all(p.practitioner is pr for p in pr.patients)
        assert set(pr.effect) == set(pr.arms)


def test_practitioner_z_is_the_engines_draw():
    # Only the practitioner effect acts: the engine's direct effect is practitioner_sd * z.
    quiet = {"specific_effect": 0.0, "nonspecific_effect": 0.0, "practitioner_sd": 1.0}
    arms = {
        "acupuncture": {"intervention": "acupuncture", **quiet},
        "sham": {"intervention": "sham", **quiet},
    }
    m = TrialModel(n_per_arm=N, arms=arms)
    m.run()
    run, k = m.run_, m.run_.model.index(m.primary)
    for p in m.patient_agents:
        direct = run.responses.direct[0, p.row, p.regimen, 0, k]
        sym = getattr(m.scenario.symptoms, m.primary)
        per_nrs = run.model.instruments[k].points_per_nrs()
        expected = p.practitioner.z * sym.reference_sd / per_nrs
        assert direct == pytest.approx(expected, rel=1e-12)


def test_randomized_at_baseline_and_collected_daily(model):
    fresh = TrialModel(scenario=model.scenario, n_per_arm=N)
    lead = -fresh.run_.first_day  # run-in days before day 0
    for _ in range(lead):
        fresh.step()
    assert fresh.day == -1 and fresh.allocation is None
    assert {p.arm for p in fresh.patient_agents} == {None}
    fresh.step()
    assert fresh.day == 0 and {p.arm for p in fresh.patient_agents} == set(model.scenario.arms)

    frame = model.datacollector.get_model_vars_dataframe()
    assert len(frame) == model.steps
    assert frame.day.tolist() == list(range(model.run_.first_day, model.day + 1))
    assert frame.in_trial.iloc[-1] == sum(not p.dropped_out for p in model.patient_agents)
    t = tables(model.trials())
    daily = t.daily[t.daily.symptom == model.primary]
    for arm in model.scenario.arms:
        expected = daily[daily.arm == arm].groupby("day").latent.mean()
        got = frame.set_index("day")[f"{arm}: mean {model.primary}"]
        assert np.isnan(got[got.index < 0]).all()
        np.testing.assert_allclose(got[expected.index >= 0], expected[expected.index >= 0])

    agents = model.datacollector.get_agenttype_vars_dataframe(PatientAgent)
    assert list(agents.columns) == [model.primary, "sessions", "dropped_out"]
    assert len(agents) == model.steps * len(model.patient_agents)


def test_model_is_released_when_finished():
    m = TrialModel(n_per_arm=2)
    assert m in mesa.Agent._ids
    m.run()
    assert m not in mesa.Agent._ids
    m.step()  # a finished model ignores further steps
    assert m.steps == len(m.datacollector.get_model_vars_dataframe()) + 1
    ref = weakref.ref(m)
    del m
    gc.collect()
    assert ref() is None, "a finished model must not stay alive"


def test_keyword_rebuild_and_overrides():
    m = TrialModel(n_per_arm=3, seed=5, **{"dropout.rate": 0.3, "dropout.mechanism": "mar"})
    again = type(m)(n_per_arm=3, seed=5, **{"dropout.rate": 0.3, "dropout.mechanism": "mar"})
    assert m.scenario == again.scenario
    assert (m.scenario.seed, m.scenario.dropout.rate) == (5, 0.3)
    with pytest.raises(MssimError, match=r"dropout\.rate"):
        TrialModel(**{"dropout.rate": 2.0})
