"""Keyed random streams: statistical quality and independence of the results from loop order.

Fixed seeds throughout. Each tolerance is a multiple of the statistic's
sampling error under the null (a z-score bound of 5 on samples of about a
million, so a correct generator fails about once in 3 million runs).
"""

import math
from pathlib import Path

import numpy as np
import pytest
from numba import njit
from scipy import stats

from mssim.config.load import load_scenario
from mssim.model import rng
from mssim.model.engine import TrialRun, _Setup, simulate
from mssim.model.gamma import gamma_quantile

Z = 5.0  # z-score bound on every statistic


@njit(cache=True)
def _first_draws(key, purpose, n, gaussian):
    """The first draw of n neighbouring keys (patients 0..n-1 of replicate 0)."""
    out = np.empty(n)
    for i in range(n):
        st = rng.open_stream(key, 0, purpose, i, 0)
        x, st = rng.normal(st) if gaussian else rng.uniform(st)
        out[i] = x
    return out


@pytest.fixture(scope="module")
def sample():
    """One long stream of normals per key, 1,000 keys x 1,000 draws."""
    return rng.normals(20261123, np.arange(1), "symptoms", (1000, 1000))[0]


def test_normal_moments(sample):
    x = sample.ravel()
    n = x.size
    assert abs(x.mean()) < Z / math.sqrt(n)
    assert abs(x.var() - 1.0) < Z * math.sqrt(2.0 / n)
    assert abs(stats.skew(x)) < Z * math.sqrt(6.0 / n)
    assert abs(stats.kurtosis(x)) < Z * math.sqrt(24.0 / n)


def test_normal_distribution_and_tails(sample):
    x = sample.ravel()
    n = x.size
    assert stats.kstest(x, "norm").pvalue > 1e-6
    for c in (1.0, 2.0, 3.0, 3.6, 4.0):  # 3.65 is the ziggurat's tail boundary
        expected = 2 * stats.norm.sf(c)
        observed = (np.abs(x) > c).mean()
        assert abs(observed - expected) < Z * math.sqrt(expected * (1 - expected) / n), c


def test_uniform_bins_and_pairs():
    u = rng.uniforms(7, np.arange(1), "behaviour", (1000, 1000))[0].ravel()
    assert u.min() >= 0.0 and u.max() < 1.0
    counts = np.bincount((u * 256).astype(int), minlength=256)
    assert stats.chisquare(counts).pvalue > 1e-6
    # serial pairs: successive draws fall evenly on a 16 x 16 grid
    cells = (u[:-1:2] * 16).astype(int) * 16 + (u[1::2] * 16).astype(int)
    assert stats.chisquare(np.bincount(cells, minlength=256)).pvalue > 1e-6


def test_no_autocorrelation_within_a_stream(sample):
    n = sample.shape[1] - 10
    for lag in (1, 2, 3, 6, 7):  # 6: one day of the default kernel's draws
        r = np.mean([np.corrcoef(row[:-lag], row[lag:])[0, 1] for row in sample[:200]])
        assert abs(r) < Z / math.sqrt(200 * n), lag


def test_neighbouring_keys_are_independent():
    key = rng.root_key(1)
    for gaussian in (True, False):
        first = _first_draws(key, rng.purpose_code("symptoms"), 200_000, gaussian)
        # adjacent patients' first draws: uncorrelated, and correctly distributed
        r = np.corrcoef(first[:-1], first[1:])[0, 1]
        assert abs(r) < Z / math.sqrt(len(first))
        dist = "norm" if gaussian else "uniform"
        assert stats.kstest(first, dist).pvalue > 1e-6


def test_keys_differing_in_one_field_give_unrelated_streams():
    seed = 3
    base = rng.normals(seed, np.arange(2000), "symptoms", (4, 64))
    others = {
        "seed": rng.normals(seed + 1, np.arange(2000), "symptoms", (4, 64)),
        "purpose": rng.normals(seed, np.arange(2000), "relapses", (4, 64)),
        "replicate": rng.normals(seed, np.arange(1, 2001), "symptoms", (4, 64)),
    }
    a = base.ravel()
    for name, other in others.items():
        r = np.corrcoef(a, other.ravel())[0, 1]
        assert abs(r) < Z / math.sqrt(a.size), name
    # patients of one replicate
    r = np.corrcoef(base[:, :-1].ravel(), base[:, 1:].ravel())[0, 1]
    assert abs(r) < Z / math.sqrt(a.size)


def test_bits_of_first_outputs_are_balanced_across_keys():
    u = _first_draws(rng.root_key(11), rng.purpose_code("enrolment"), 100_000, False)
    bits = (u * 2.0**32).astype(np.uint64)
    n = len(bits)
    for b in range(32):
        share = ((bits >> np.uint64(b)) & np.uint64(1)).mean()
        assert abs(share - 0.5) < Z * 0.5 / math.sqrt(n), b


def test_prefix_property_of_keyed_rows():
    small = rng.normals(5, np.array([3, 9]), "response", (7, 5))
    large = rng.normals(5, np.array([3, 9]), "response", (30, 5))
    np.testing.assert_array_equal(small, large[:, :7])


def test_gamma_quantile_matches_scipy():
    from scipy.special import gammaincinv

    for a in (0.3, 1.0, 2.0, 7.5):
        for u in (1e-9, 1e-4, 0.01, 0.3, 0.5, 0.9, 0.999, 1 - 1e-9):
            assert gamma_quantile(a, u) == pytest.approx(gammaincinv(a, u), rel=1e-9), (a, u)


# ---- results do not depend on threads, chunks or day-by-day stepping -----------

EVENTFUL = [
    "dropout.rate=0.4",
    "dropout.mechanism=mnar",
    "relapses.annual_rate={rrms=2.0, spms=2.0, ppms=2.0}",
    "trial.estimand=hypothetical",
]


def _same(a, b):
    for name in ("scores", "scores_no_relapse", "dropout_day", "relapse_onsets",
                 "sessions_attended", "adverse_events"):  # fmt: skip
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    np.testing.assert_array_equal(a.cohort.level, b.cohort.level)
    np.testing.assert_array_equal(a.cohort.screening_score, b.cohort.screening_score)


@pytest.mark.parametrize("threads", [2, 3, 7])
def test_threads_inside_a_chunk_change_nothing(threads):
    s = load_scenario(None, EVENTFUL)
    _same(simulate(s, np.arange(5), 14), simulate(s, np.arange(5), 14, threads=threads))


def test_chunking_changes_nothing():
    s = load_scenario(None, EVENTFUL)
    whole = simulate(s, np.arange(6), 10)
    parts = [simulate(s, np.arange(k, k + 2), 10) for k in (0, 2, 4)]
    for name in ("scores", "dropout_day", "adverse_events", "relapse_onsets"):
        joined = np.concatenate([getattr(p, name) for p in parts])
        np.testing.assert_array_equal(getattr(whole, name), joined, err_msg=name)


def test_fused_engine_equals_day_by_day_stepping():
    s = load_scenario(None, EVENTFUL)
    fused = simulate(s, [4, 9], 12, keep_daily=True)
    stepped = TrialRun(s, np.array([4, 9]), 12, keep_daily=True).run()
    _same(fused, stepped)
    np.testing.assert_array_equal(fused.daily.latent, stepped.daily.latent)
    np.testing.assert_array_equal(fused.daily.attended, stepped.daily.attended)
    assert (fused.dropout_day < 10**9).any() and (fused.relapse_onsets < 10**9).any()


# MCAR with nothing read daily: the fused engine passes over quiet days (no anchor,
# recall window, visit, session or course end), which stepping never does.
QUIET_DAYS = [
    "dropout.rate=0.5",
    "relapses.annual_rate={rrms=3.0, spms=3.0, ppms=3.0}",
    "arms.acupuncture.adverse_events.minor={per_patient=0.3, dropout=0.5}",
    "arms.acupuncture.weeks=6",  # the course ends and its dose wanes before the last visit
    "arms.sham.sessions_per_week=1",
]


@pytest.mark.parametrize("path", [None, "crossover.toml", "three_arm.toml"])
def test_passing_over_quiet_days_equals_stepping_through_them(path):
    scenario = None if path is None else Path(__file__).parents[1] / "scenarios" / path
    s = load_scenario(scenario, QUIET_DAYS)
    assert s.dropout.mechanism == "mcar"
    assert _Setup(s, np.arange(1), 1, None, False).params.hazard0 > 0  # MCAR dropout happens
    fused = simulate(s, [3, 8], 40)
    stepped = TrialRun(s, np.array([3, 8]), 40).run()
    _same(fused, stepped)
    assert (fused.dropout_day < 10**9).any() and (fused.relapse_onsets < 10**9).any()
    assert fused.adverse_events.any()
