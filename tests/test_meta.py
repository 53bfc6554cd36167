"""Tests for mssim.literature.meta: pooling, small-study tests, trim-and-fill, cumulative MA, plots."""

import dataclasses
import itertools
import warnings

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from matplotlib.collections import LineCollection, PathCollection, PolyCollection
from matplotlib.figure import Figure
from matplotlib.patches import Polygon
from scipy import optimize, stats
from statsmodels.stats.meta_analysis import combine_effects

from mssim.literature.bias import EggerResult, egger_test, trim_and_fill
from mssim.literature.meta import Pooled, cumulative, pool
from mssim.outputs.figures.meta import cumulative_plot, forest_plot, funnel_plot

SETTINGS = settings(deadline=None, max_examples=50)


@st.composite
def literatures(draw):
    """k in [2, 40] studies, estimates in [-3, 3], variances in [1e-3, 10]."""
    k = draw(st.integers(2, 40))
    est = draw(arrays(np.float64, k, elements=st.floats(-3.0, 3.0, allow_subnormal=False)))
    var = draw(arrays(np.float64, k, elements=st.floats(1e-3, 10.0)))
    return est, var


def assert_close(actual, expected, tol=1e-8):
    np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol)


def combine_dl(est, var):
    """statsmodels DL fit with normal (use_t=False) fixed- and random-effects CIs."""
    with warnings.catch_warnings():
        # statsmodels does not truncate DL tau² at 0; with tau² < 0 its RE and
        # HKSJ ("wls") variances can be negative and their sqrt warns. For such
        # inputs we compare with its fixed-effect results only.
        warnings.simplefilter("ignore", RuntimeWarning)
        ref = combine_effects(est, var, method_re="dl")
        ci_fe, ci_re, _, _ = ref.conf_int(alpha=0.05, use_t=False)
    return ref, ci_fe, ci_re


# ----------------------------------------------------------------------------- pool vs statsmodels


def check_against_statsmodels(est, var):
    k = est.size
    ref, ci_fe, ci_re = combine_dl(est, var)
    fe, dl = pool(est, var, "fixed"), pool(est, var, "dl")

    # statsmodels' i2 = 1 − (k − 1)/q is untruncated (negative, or ±inf at q = 0).
    i2_ref = ref.i2 if ref.q > k - 1 else 0.0
    for res in (fe, dl):
        assert res.k == k
        assert_close(res.q, ref.q)
        assert_close(res.i2, i2_ref)

    fe_ref = [ref.mean_effect_fe, ref.sd_eff_w_fe, *ci_fe]
    assert fe.tau2 == 0.0
    assert_close([fe.estimate, fe.se, fe.ci_low, fe.ci_high], fe_ref)
    assert_close(fe.p_value, 2 * stats.norm.sf(abs(fe_ref[0] / fe_ref[1])))

    assert_close(dl.tau2, max(ref.tau2, 0.0))
    # our truncated tau² = 0 reduces DL to the fixed-effect model
    dl_ref = [ref.mean_effect_re, ref.sd_eff_w_re, *ci_re] if ref.tau2 > 0 else fe_ref
    assert_close([dl.estimate, dl.se, dl.ci_low, dl.ci_high], dl_ref)
    assert_close(dl.p_value, 2 * stats.norm.sf(abs(dl_ref[0] / dl_ref[1])))
    return ref


@SETTINGS
@given(literatures())
def test_fixed_and_dl_match_statsmodels_combine_effects(lit):
    check_against_statsmodels(*lit)


@pytest.mark.parametrize("seed", range(10))
def test_fixed_and_dl_match_statsmodels_on_heterogeneous_literatures(seed):
    # Hypothesis favours simple (often homogeneous) inputs; make sure the
    # tau² > 0 branch is exercised on every run.
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 41))
    est, var = rng.uniform(-3, 3, k), 10 ** rng.uniform(-3, 0, k)
    assert check_against_statsmodels(est, var).tau2 > 0


def test_dl_truncates_negative_tau2_that_statsmodels_keeps():
    est, var = np.array([0.1, 0.12, 0.09, 0.11]), np.array([0.04, 0.05, 0.03, 0.06])
    ref, _, _ = combine_dl(est, var)
    assert ref.tau2 < 0 and ref.i2 < 0  # the case where the two conventions differ
    dl = pool(est, var, "dl")
    assert dl.tau2 == 0.0 and dl.i2 == 0.0
    assert_close(dl.estimate, ref.mean_effect_fe)


def test_pool_single_and_identical_and_empty():
    one = pool([0.4], [0.09], "reml", alpha=0.1)
    assert (one.estimate, one.se, one.tau2, one.q, one.k) == (0.4, 0.3, 0.0, 0.0, 1)
    assert np.isnan(one.i2)
    assert_close(one.ci_high - one.estimate, stats.norm.isf(0.05) * 0.3)
    for method in ("fixed", "dl", "reml"):
        same = pool(np.full(6, 0.7), np.linspace(0.01, 1, 6), method)
        assert same.tau2 == 0.0 and same.i2 == 0.0 and same.q == pytest.approx(0.0, abs=1e-20)
        assert same.estimate == pytest.approx(0.7, rel=1e-14)
    with pytest.raises(ValueError, match="at least one study"):
        pool([], [])
    with pytest.raises(ValueError, match="method"):
        pool([1.0, 2.0], [1.0, 1.0], method="pm")
    with pytest.raises(ValueError, match="strictly positive"):
        pool([1.0, 2.0], [1.0, 0.0])


def test_pooled_is_frozen_with_dict_view():
    res = pool([0.1, 0.5, 0.3], [0.1, 0.2, 0.05])
    assert list(res.as_dict()) == [f.name for f in dataclasses.fields(Pooled)]
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.estimate = 0.0


# ----------------------------------------------------------------------------- REML


def reml_matrix(est, var, tau2_grid):
    """Independent REML: textbook matrix form, batched over tau² values.

    Returns (−2 × log-likelihood up to a constant, 2 × score) with
    V = diag(v + tau²), X = 1, P = V⁻¹ − V⁻¹X(XᵀV⁻¹X)⁻¹XᵀV⁻¹:
    −2 logL = log|V| + log|XᵀV⁻¹X| + yᵀPy and 2 score = yᵀPPy − tr P.
    """
    t = np.atleast_1d(np.asarray(tau2_grid, dtype=float))
    k = est.size
    V = np.eye(k) * (var[None, :, None] + t[:, None, None])
    Vi = np.linalg.inv(V)
    X = np.ones((k, 1))
    xtvix = X.T @ Vi @ X
    P = Vi - Vi @ X @ np.linalg.inv(xtvix) @ X.T @ Vi
    Py = P @ est  # (grid, k)
    m2ll = np.linalg.slogdet(V)[1] + np.linalg.slogdet(xtvix)[1] + Py @ est
    score = np.einsum("gi,gi->g", Py, Py) - np.trace(P, axis1=1, axis2=2)
    return m2ll, score


def reml_reference(est, var):
    """Global REML maximiser by a fine grid, polished by Brent on the matrix score."""
    grid = np.linspace(0.0, np.sqrt(4 * (np.ptp(est) ** 2 + var.max())), 1001) ** 2
    m2ll, _ = reml_matrix(est, var, grid)
    i = int(np.argmin(m2ll))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]

    def score(t):
        return reml_matrix(est, var, t)[1][0]

    if score(lo) > 0 > score(hi):
        return optimize.brentq(score, lo, hi, xtol=1e-15)
    assert i == 0  # the maximum is at the boundary
    return 0.0


@settings(deadline=None, max_examples=40)
@given(literatures())
def test_reml_matches_independent_maximiser(lit):
    est, var = lit
    res = pool(est, var, "reml")
    tau2 = reml_reference(est, var)
    assert res.tau2 >= 0.0
    assert res.tau2 == pytest.approx(tau2, abs=1e-6)
    w = 1 / (var + tau2)
    assert res.estimate == pytest.approx(w @ est / w.sum(), abs=1e-8)
    assert res.se == pytest.approx(np.sqrt(1 / w.sum()), rel=1e-6)
    # and it is a maximum at least as high as a bounded scalar optimiser's
    upper = 4 * (np.ptp(est) ** 2 + var.max())
    opt = optimize.minimize_scalar(
        lambda t: reml_matrix(est, var, t)[0][0], bounds=(0, upper), method="bounded"
    )
    assert (
        reml_matrix(est, var, res.tau2)[0][0]
        <= min(opt.fun, reml_matrix(est, var, 0.0)[0][0]) + 1e-10
    )


def test_reml_picks_global_mode_of_bimodal_likelihood():
    # REML score < 0 at tau² = 0 (a boundary maximum), a trough near 0.004 and
    # a higher interior mode near 0.049: stopping at 0 would be wrong.
    est = np.array([0.414, -0.899, 0.295, -0.19, 0.169, 0.154, 1.084, 0.288])
    var = np.array([0.0697, 2.7186, 0.0016, 0.0955, 0.8887, 0.0269, 0.0883, 0.1776])
    m2ll, score = reml_matrix(est, var, [0.0, 0.004, 0.049])
    assert score[0] < 0 and m2ll[1] > m2ll[0] > m2ll[2]
    res = pool(est, var, "reml")
    assert res.tau2 == pytest.approx(reml_reference(est, var), abs=1e-9)
    assert res.tau2 == pytest.approx(0.04889560, abs=1e-7)


def test_reml_zero_for_identical_estimates():
    assert pool(np.full(5, -0.2), [0.1, 0.2, 0.3, 0.05, 1.0], "reml").tau2 == 0.0


# ----------------------------------------------------------------------------- Egger


@pytest.mark.parametrize("seed", range(5))
def test_egger_matches_statsmodels_ols(seed):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(3, 40))
    se = np.sqrt(rng.uniform(1e-3, 10, k))
    est = rng.normal(0.3 + 0.8 * se * (seed % 2), se)  # odd seeds: small-study effect
    fit = sm.OLS(est / se, sm.add_constant(1 / se)).fit()
    res = egger_test(est, se)
    assert isinstance(res, EggerResult)
    np.testing.assert_allclose(
        [res.intercept, res.se, res.p_value, res.slope],
        [fit.params[0], fit.bse[0], fit.pvalues[0], fit.params[1]],
        rtol=1e-10,
        atol=1e-12,
    )


def test_egger_rejects_degenerate_input():
    with pytest.raises(ValueError, match="at least 3"):
        egger_test([0.1, 0.2], [0.1, 0.2])
    with pytest.raises(ValueError, match="differing standard errors"):
        egger_test([0.1, 0.2, 0.3], [0.2, 0.2, 0.2])


# ----------------------------------------------------------------------------- trim and fill

CENTRE = 0.25


def mirror_funnel():
    """12 exact mirror pairs CENTRE ± d_i (d grows with se), sorted by se."""
    se = np.geomspace(0.05, 0.8, 12)
    d = se * np.array([0.3, 1.1, 0.7, 1.6, 0.2, 0.9, 1.3, 0.5, 1.9, 0.8, 1.2, 0.6])
    return np.concatenate([CENTRE + d, CENTRE - d]), np.concatenate([se, se]) ** 2


@pytest.mark.parametrize("method", ["fixed", "dl", "reml"])
def test_trim_and_fill_symmetric_funnel_has_nothing_missing(method):
    est, var = mirror_funnel()
    assert egger_test(est, np.sqrt(var)).intercept == pytest.approx(0.0, abs=1e-12)
    for side in (None, "left", "right"):
        res = trim_and_fill(est, var, method=method, side=side)
        assert res.k0 == 0 and res.filled_estimates.size == 0
        assert res.pooled == pool(est, var, method)


@pytest.mark.parametrize("method", ["fixed", "dl", "reml"])
@pytest.mark.parametrize("flip", [1.0, -1.0])
def test_trim_and_fill_restores_removed_small_studies(method, flip):
    est, var = mirror_funnel()
    keep = np.ones(est.size, dtype=bool)
    keep[-4:] = False  # the 4 least precise studies below the centre are unpublished
    est, var, centre = flip * est[keep], var[keep], flip * CENTRE
    naive = pool(est, var, method)
    res = trim_and_fill(est, var, method=method)
    assert res.side == ("left" if flip > 0 else "right")
    assert res.k0 > 0 and res.filled_estimates.size == res.filled_variances.size == res.k0
    assert np.all(flip * (res.filled_estimates - centre) < 0)  # on the missing side
    assert abs(res.pooled.estimate - centre) < abs(naive.estimate - centre)
    assert res.pooled.k == est.size + res.k0


def test_trim_and_fill_l0_by_hand():
    # Fixed effect, unit variances, so every centre is a plain mean; n = 5.
    # Round 1 (k0 = 0): centre 37/5 = 7.4; residuals −7.4 −0.4 0.6 1.6 5.6;
    #   |ranks| 5 1 2 3 4; T_n = 2+3+4 = 9; L0 = (4·9 − 30)/9 = 0.67 → 1.
    # Round 2 (drop 13): centre 6; residuals −6 1 2 3 7; ranks 4 1 2 3 5;
    #   T_n = 1+2+3+5 = 11; L0 = (44 − 30)/9 = 1.56 → 2.
    # Round 3 (drop 13, 9): centre 5; residuals −5 2 3 4 8; ranks 4 1 2 3 5;
    #   T_n = 11 → k0 = 2 again: stop. Fill 2·5 − 9 = 1 and 2·5 − 13 = −3.
    res = trim_and_fill([7, 13, 0, 9, 8], np.ones(5), method="fixed", side="left")
    assert res.k0 == 2
    np.testing.assert_array_equal(np.sort(res.filled_estimates), [-3.0, 1.0])
    np.testing.assert_array_equal(res.filled_variances, [1.0, 1.0])
    assert res.pooled.estimate == pytest.approx(35 / 7)
    # The same literature reflected is filled on the other side.
    right = trim_and_fill([-7, -13, 0, -9, -8], np.ones(5), method="fixed", side="right")
    assert right.k0 == 2 and right.pooled.estimate == pytest.approx(-5.0)
    np.testing.assert_array_equal(np.sort(right.filled_estimates), [-1.0, 3.0])


def test_trim_and_fill_r0_by_hand():
    # Round 1: centre 50/6; residuals −4.33 −3.33 −2.33 −1.33 4.67 6.67: the two
    #   largest |residuals| are positive → R0 = 2 − 1 = 1.
    # Round 2 (drop 15): centre 7; residuals −3 −2 −1 0 6 8 → R0 = 1: stop.
    res = trim_and_fill(
        [4, 5, 6, 7, 13, 15], np.ones(6), method="fixed", estimator="R0", side="left"
    )
    assert res.k0 == 1
    np.testing.assert_array_equal(res.filled_estimates, [-1.0])


def test_trim_and_fill_rejects_bad_input():
    with pytest.raises(ValueError, match="at least 3"):
        trim_and_fill([0.1, 0.2], [0.1, 0.1])
    with pytest.raises(ValueError, match="side="):
        trim_and_fill([0.1, 0.2, 0.5], [0.1, 0.1, 0.1])
    with pytest.raises(ValueError, match="estimator"):
        trim_and_fill([0.1, 0.2, 0.5], [0.1, 0.2, 0.3], estimator="Q0")


# ----------------------------------------------------------------------------- cumulative


@pytest.mark.parametrize("method", ["fixed", "dl", "reml"])
def test_cumulative_steps_and_last_row(method):
    rng = np.random.default_rng(3)
    var = rng.uniform(0.01, 0.5, 15)
    est = rng.normal(0.2, np.sqrt(var + 0.05))
    frame = cumulative(est, var, method=method, alpha=0.1)
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.index) == list(range(1, 16)) and list(frame["k"]) == list(range(1, 16))
    assert list(frame.columns) == [f.name for f in dataclasses.fields(Pooled)]
    assert frame.iloc[-1].to_dict() == pool(est, var, method, alpha=0.1).as_dict()
    assert frame.iloc[4].to_dict() == pool(est[:5], var[:5], method, alpha=0.1).as_dict()
    assert frame["estimate"].iloc[0] == est[0]


# ----------------------------------------------------------------------------- plots


def small_literature(k=20, seed=1):
    rng = np.random.default_rng(seed)
    se = np.sqrt(rng.uniform(0.01, 0.3, k))
    est = rng.normal(0.3, se)
    return est, se


def test_funnel_plot_artists(tmp_path):
    est, se = small_literature()
    published = np.arange(est.size) % 3 != 0
    fig = funnel_plot(est, se, published=published, true_effect=0.3, effect_label="EDSS points")
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    points = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert [len(c.get_offsets()) for c in points] == [published.sum(), (~published).sum()]
    assert len(ax.lines) == 4  # two funnel limits, pooled centre, true effect
    centre = pool(est[published], se[published] ** 2, "fixed").estimate
    left, right = ax.lines[0].get_xydata(), ax.lines[1].get_xydata()
    np.testing.assert_allclose(left[:, 0] + right[:, 0], 2 * centre)
    np.testing.assert_allclose(right[:, 0] - left[:, 0], 2 * stats.norm.isf(0.025) * left[:, 1])
    assert ax.yaxis_inverted() and ax.get_xlabel() == "EDSS points" and ax.get_title()
    assert len(ax.get_legend().get_texts()) == 5
    fig.savefig(tmp_path / "funnel.png")
    assert (tmp_path / "funnel.png").read_bytes()[:4] == b"\x89PNG"

    plain = funnel_plot(est, se, pooled=pool(est, se**2, "dl")).axes[0]
    assert len([c for c in plain.collections if isinstance(c, PathCollection)]) == 1
    assert len(plain.lines) == 3


def test_forest_plot_artists_and_no_label_overlap(tmp_path):
    k = 60
    est, se = small_literature(k)
    labels = [f"Trial {i + 1} (2011)" for i in range(k)]
    pooled = {"fixed effect": pool(est, se**2, "fixed"), "REML": pool(est, se**2, "reml")}
    lo, hi = est - 1.96 * se, est + 1.96 * se
    fig = forest_plot(labels, est, lo, hi, pooled_rows=pooled, true_effect=0.3)
    (ax,) = fig.axes
    (points,) = [c for c in ax.collections if isinstance(c, PathCollection)]
    (bars,) = [c for c in ax.collections if isinstance(c, LineCollection)]
    assert len(points.get_offsets()) == k and len(bars.get_segments()) == k
    diamonds = [p for p in ax.patches if isinstance(p, Polygon)]
    assert len(diamonds) == 2
    assert diamonds[1].get_xy()[:, 0].min() == pytest.approx(pooled["REML"].ci_low)
    assert len(ax.lines) == 2  # no-effect and true-effect lines
    ticks = ax.get_yticklabels()
    assert [t.get_text() for t in ticks] == [*labels, *pooled]
    assert ax.get_xlabel() == "effect (treatment − control)"

    fig.savefig(tmp_path / "forest.png")
    assert_no_overlap(ticks)
    assert ticks[0].get_fontsize() >= 5

    # In a caller's shorter axes the labels shrink instead of colliding.
    small = Figure(figsize=(6, 9)).add_subplot()
    forest_plot(labels, est, lo, hi, pooled_rows=pooled, ax=small)
    assert small.get_yticklabels()[0].get_fontsize() < ticks[0].get_fontsize()
    assert_no_overlap(small.get_yticklabels())


def assert_no_overlap(texts):
    boxes = sorted((t.get_window_extent() for t in texts), key=lambda b: b.y0)
    assert all(lower.y1 <= upper.y0 for lower, upper in itertools.pairwise(boxes))


def test_plots_draw_into_given_axes(tmp_path):
    est, se = small_literature(8)
    fig = Figure(figsize=(12, 4))
    axes = fig.subplots(1, 3)
    frame = cumulative(est, se**2, method="dl")
    assert funnel_plot(est, se, ax=axes[0]) is fig
    assert forest_plot([str(i) for i in range(8)], est, est - se, est + se, ax=axes[1]) is fig
    assert cumulative_plot(frame, true_effect=0.3, ax=axes[2]) is fig
    assert len(axes[1].patches) == 0  # no pooled rows requested
    fig.savefig(tmp_path / "all.png")


def test_cumulative_plot_artists(tmp_path):
    est, se = small_literature(30)
    frame = cumulative(est, se**2, method="reml")
    fig = cumulative_plot(frame, true_effect=0.3, effect_label="MSIS-29 points")
    (ax,) = fig.axes
    estimate_line = ax.lines[0]
    np.testing.assert_array_equal(estimate_line.get_xdata(), np.arange(1, 31))
    np.testing.assert_allclose(estimate_line.get_ydata(), frame["estimate"])
    assert len(ax.lines) == 3  # estimates, no effect, true effect
    assert len([c for c in ax.collections if isinstance(c, PolyCollection)]) == 1
    assert ax.get_ylabel() == "MSIS-29 points" and "reml" in estimate_line.get_label()
    fig.savefig(tmp_path / "cumulative.png")
    assert (tmp_path / "cumulative.png").stat().st_size > 0
