"""Jumps over the days nothing reads, and the bridge that fills them (mssim.model.gaps).

The jump must have exactly the distribution of the daily steps it replaces, and
the bridge the distribution of the daily path given both ends; every run of a
scenario (daily paths or not, the Mesa view or the engine) must agree on the
anchor days bit for bit.
"""

import numpy as np
import pytest

from mssim.config.load import load_scenario
from mssim.model import gaps
from mssim.model.engine import _Setup, one_trial, simulate
from mssim.model.symptoms import SymptomModel


def _model(name="default"):
    return SymptomModel.from_scenario(load_scenario(f"scenarios/{name}.toml"))


def _ab(model):
    return gaps.transition(model)


def test_transition_is_the_kernels_daily_update():
    model = _model()
    a, b = _ab(model)
    s = model.n_symptoms
    coupled = gaps.coefficients(
        model.day_chol, model.phi, model.innovation_sd, model.drift_rho,
        model.drift_innovation_sd, model.pain_to_sleep, model.sleep_to_fatigue,
    )  # fmt: skip
    rng = np.random.default_rng(3)
    for _ in range(20):
        x, z = rng.normal(size=2 * s), rng.normal(size=2 * s)
        fluct, drift = x[:s].copy(), x[s:].copy()
        state = (*fluct[:3], *drift[:3])
        out = gaps.symptom_day(
            state, coupled, z, fluct, drift, model.day_chol, model.phi, model.innovation_sd,
            model.drift_rho, model.drift_innovation_sd,
        )  # fmt: skip
        gaps.store_state(out, fluct, drift)
        np.testing.assert_allclose(np.concatenate([fluct, drift]), a @ x + b @ z, atol=1e-14)


def test_a_jump_is_k_daily_steps():
    a, b = _ab(_model())
    m = gaps.gap_matrices(a, b, 40)
    q = np.zeros_like(a)
    for k in range(1, 41):
        q = a @ q @ a.T + b @ b.T
        np.testing.assert_allclose(m.power[k], np.linalg.matrix_power(a, k), atol=1e-13)
        np.testing.assert_allclose(m.jump[k] @ m.jump[k].T, q, atol=1e-12)
        assert np.allclose(np.triu(m.jump[k], 1), 0)


def test_the_bridge_has_the_daily_paths_distribution():
    """Days 1..k-1 drawn by the bridge vs the daily process, from x0 = 0 (MCSE tolerance)."""
    a, b = _ab(_model())
    k, n = 12, 40_000
    m = gaps.gap_matrices(a, b, k)
    rng = np.random.default_rng(11)
    dim = a.shape[0]
    end = (m.jump[k] @ rng.normal(size=(dim, n))).T
    x = np.zeros((n, dim))
    paths = []
    for day in range(1, k):
        r = k - day + 1
        x = x @ m.pull[r].T + end @ m.toward[r].T + rng.normal(size=(n, dim)) @ m.spread[r].T
        paths.append(x)
    # the daily process: Cov(x_j) = Q_j, Cov(x_j, x_k) = Q_j A^(k-j)'
    q = np.zeros_like(a)
    for day, xj in enumerate(paths, start=1):
        q = a @ q @ a.T + b @ b.T
        for emp, theory in (
            (np.cov(xj.T), q),
            (np.cov(xj.T, end.T)[:dim, dim:], q @ np.linalg.matrix_power(a, k - day).T),
        ):
            sd = np.sqrt(np.outer(np.diag(q), np.diag(q)) / n)  # MCSE of a covariance, roughly
            assert np.all(np.abs(emp - theory) <= 5 * sd + 1e-12), day


def test_anchor_days_are_the_endpoints_recall_windows():
    s = load_scenario("scenarios/default.toml")
    p = _Setup(s, np.arange(1), 4, None, False).params
    days = np.arange(p.first_day, p.horizon + 1)
    expected = np.zeros(len(days), dtype=bool)
    for visit in p.visit_days:
        expected |= (visit - 7 < days) & (days <= visit)  # FSS: 7-day recall
    assert np.array_equal(p.anchor.astype(bool), expected)
    assert p.bridged == 0
    # every day an anchor where the state is read daily
    mnar = load_scenario("scenarios/default.toml", ["dropout.mechanism=mnar"])
    assert _Setup(mnar, np.arange(1), 4, None, False).params.anchor.all()


@pytest.mark.parametrize("extra", [[], ["dropout.mechanism=mar"]])
def test_daily_paths_and_other_symptoms_leave_the_endpoints_untouched(extra):
    s = load_scenario("scenarios/default.toml", extra)
    plain = simulate(s, np.arange(3), 20)
    daily = simulate(s, np.arange(3), 20, keep_daily=True)
    every = simulate(s, np.arange(3), 20, track=list(s.symptoms.active()))
    assert np.array_equal(plain.scores, daily.scores)
    assert np.array_equal(plain.scores[..., 0], every.scores[..., every.tracked.index("fatigue")])
    assert np.array_equal(plain.dropout_day, daily.dropout_day)
    # the one-trial path (every symptom, daily) is replicate 0 of the Monte Carlo
    one = one_trial(s, 20)
    assert np.array_equal(one.scores[0, ..., one.tracked.index("fatigue")], plain.scores[0, ..., 0])
