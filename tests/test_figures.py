"""Tests for mssim.outputs.figures: artists drawn, numbers shown, input checks, rendering."""

from __future__ import annotations

import math
import re

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection
from matplotlib.colors import to_rgb
from matplotlib.container import ErrorbarContainer
from matplotlib.figure import Figure

from mssim.montecarlo.sample_size import n_for_power
from mssim.outputs import figures as plots
from mssim.outputs.figures import (
    arm_colors,
    arm_trajectories,
    error_rates,
    estimate_distribution,
    patient_trajectories,
    power_curve,
    power_heatmap,
    sample_size_curve,
)

NS = [20, 40, 60, 80, 100]


def _wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    p = k / n
    denom = 1 + z**2 / n
    centre = (p + z**2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    return centre - half, centre + half


def _row(n: int, effect: float, contrast: str, replicates: int = 400, **extra) -> dict:
    # Normal-approximation power of a two-arm comparison with SD 2.
    se = 2.0 * math.sqrt(2.0 / n)
    z = abs(effect) / se
    power = 0.5 * math.erfc((1.96 - z) / math.sqrt(2))
    k = round(power * replicates)
    low, high = _wilson(k, replicates)
    return {
        "n_per_arm": n,
        "replicates": replicates,
        "power": k / replicates,
        "power_mcse": math.sqrt(power * (1 - power) / replicates),
        "power_ci_low": low,
        "power_ci_high": high,
        "true_effect": effect,
        "mean_estimate": effect * 1.02,
        "bias": effect * 0.02,
        "rmse": se,
        "mean_se": se,
        "coverage": 0.95,
        "type_s": 0.02 if n < 60 else np.nan,
        "type_s_mcse": 0.01 if n < 60 else np.nan,
        "exaggeration": 1 + 20 / n,
        "exaggeration_mcse": 0.05,
        "mean_n_analysed": 2 * n * 0.9,
        "dropout_fraction": 0.1,
        "contrast": contrast,
        **extra,
    }


@pytest.fixture
def power_frame() -> pd.DataFrame:
    rows = [_row(n, 1.0, "acupuncture - sham") for n in NS]
    rows += [_row(n, 1.6, "acupuncture - usual_care") for n in NS]
    return pd.DataFrame(rows)


@pytest.fixture
def sweep_frame() -> pd.DataFrame:
    rows = [
        _row(
            n,
            eff,
            "acupuncture - sham",
            **{"arms.acupuncture.specific_effect": eff, "dropout.rate": rate},
        )
        for n in NS
        for eff in (0.3, 0.8, 1.4)
        for rate in (0.0, 0.2)
    ]
    frame = pd.DataFrame(rows)
    # dropout lowers power a little so the two rows of the heatmap differ
    frame.loc[frame["dropout.rate"] > 0, "power"] *= 0.9
    return frame


@pytest.fixture
def trial_frames() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(1)
    arms = ["acupuncture", "sham", "usual_care"]
    days = np.arange(-3, 11)
    rows = []
    for pid in range(1, 13):
        arm = arms[(pid - 1) // 4]
        for symptom, base in (("fatigue", 5.0), ("pain", 3.0)):
            latent = base + rng.normal(0, 1, days.size).cumsum() * 0.2
            observed = np.round(latent + rng.normal(0, 0.5, days.size))
            if pid == 2:
                observed[days > 6] = np.nan  # drop-out
            rows += [
                (pid, arm, int(d), symptom, float(lat), float(obs))
                for d, lat, obs in zip(days, latent, observed, strict=True)
            ]
    daily = pd.DataFrame(rows, columns=list(plots.DAILY_COLUMNS))
    sessions = pd.DataFrame(
        [(pid, day, day != 5) for pid in range(1, 9) for day in (1, 3, 5, 8)],
        columns=["patient_id", "day", "attended"],
    )
    relapses = pd.DataFrame({"patient_id": [1, 1, 5, 9, 12], "onset_day": [2, 7, 4, -1, 9]})
    return daily, sessions, relapses


def _render(fig: Figure, tmp_path, name: str) -> None:
    path = tmp_path / f"{name}.png"
    fig.savefig(path, dpi=100)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 5_000


def _grey(colour: str) -> bool:
    r, g, b = to_rgb(colour)
    return r == g == b


# ---------------------------------------------------------------- colours


def test_arm_colors_greys_for_controls_and_stable_across_calls():
    colours = arm_colors(["waitlist", "sham", "usual_care", "acupuncture"])
    assert _grey(colours["usual_care"]) and _grey(colours["waitlist"])
    assert colours["usual_care"] != colours["waitlist"]
    assert not _grey(colours["acupuncture"]) and not _grey(colours["sham"])
    assert colours["acupuncture"] != colours["sham"]
    assert list(colours) == ["acupuncture", "sham", "usual_care", "waitlist"]
    # the same arm keeps its colour whatever else is in the figure
    assert arm_colors(["sham"])["sham"] == colours["sham"]
    assert arm_colors(["usual_care", "acupuncture"]) == {
        "acupuncture": colours["acupuncture"],
        "usual_care": colours["usual_care"],
    }
    extra = arm_colors(["acupuncture", "sham", "electro", "press_needles"])
    assert len(set(extra.values())) == 4
    assert not any(_grey(c) for c in extra.values() if c != "#000000")


# ---------------------------------------------------------------- power curve


def test_power_curve_one_line_per_contrast_plus_target(power_frame, tmp_path):
    fig = power_curve(power_frame, target=0.9)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert len(ax.lines) == 2 + 1
    target_lines = [line for line in ax.lines if line.get_linestyle() == "--"]
    assert len(target_lines) == 1
    assert list(target_lines[0].get_ydata()) == [0.9, 0.9]
    assert ax.get_ylim() == (0.0, 1.0)
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(bands) == 2
    sham = next(line for line in ax.lines if line.get_label().startswith("acupuncture - sham"))
    assert list(sham.get_xdata()) == NS
    assert sham.get_marker() == "o"
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert any("true effect 1.6" in label for label in labels)
    _render(fig, tmp_path, "power_curve")


def test_power_curve_splits_analyses_and_uses_given_axes(power_frame):
    two = pd.concat(
        [power_frame.assign(analysis="ancova"), power_frame.assign(analysis="change score")]
    )
    fig = Figure()
    ax = fig.add_subplot()
    assert power_curve(two, ax=ax) is fig
    assert len(ax.lines) == 4 + 1
    assert ax.get_legend() is not None  # legend beside the caller's axes
    # one analysis value only: no split
    assert len(power_curve(power_frame.assign(analysis="ancova")).axes[0].lines) == 3


def test_power_curve_refuses_several_rows_per_n(power_frame):
    with pytest.raises(ValueError, match="several rows per n_per_arm"):
        power_curve(pd.concat([power_frame, power_frame]))


# ---------------------------------------------------------------- heatmap


def test_power_heatmap_annotates_each_cell(sweep_frame, tmp_path):
    x, y = "arms.acupuncture.specific_effect", "dropout.rate"
    fig = power_heatmap(sweep_frame, x, y)
    ax = fig.axes[0]
    cells = [t for t in ax.texts if t.get_gid() == "power-cell"]
    at_max = sweep_frame[sweep_frame["n_per_arm"] == max(NS)]
    assert len(cells) == len(at_max) == 6
    assert sorted(float(t.get_text()) for t in cells) == pytest.approx(
        sorted(round(p, 2) for p in at_max["power"])
    )
    assert "n = 100" in ax.get_title()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0.3", "0.8", "1.4"]
    _render(fig, tmp_path, "power_heatmap")

    # at n = 40 power crosses 0.8 inside this coarse 3 x 2 grid: cells are outlined
    fig40 = power_heatmap(sweep_frame, x, y, n_per_arm=40, contrast="acupuncture - sham")
    ax40 = fig40.axes[0]
    assert "n = 40" in ax40.get_title()
    at40 = sweep_frame[sweep_frame["n_per_arm"] == 40]
    assert len(ax40.patches) == int((at40["power"] >= 0.8).sum()) >= 1
    assert not any(type(c).__name__ == "QuadContourSet" for c in ax40.collections)

    # on a 4 x 4 grid the target is followed by a contour
    effects, rates = [0.1, 0.2, 0.3, 0.4], [0.0, 0.1, 0.2, 0.3]
    fine = pd.DataFrame(
        [
            {
                x: e,
                y: r,
                "n_per_arm": 50,
                "contrast": "a - b",
                "power": 0.2 + 2 * e - r,
                "power_mcse": 0.01,
                "power_ci_low": 0.1,
                "power_ci_high": 0.9,
            }
            for e in effects
            for r in rates
        ]
    )
    ax_fine = power_heatmap(fine, x, y).axes[0]
    assert any(type(c).__name__ == "QuadContourSet" for c in ax_fine.collections)
    with pytest.raises(ValueError, match="n_per_arm 55"):
        power_heatmap(sweep_frame, x, y, n_per_arm=55)
    with pytest.raises(ValueError, match="several rows"):
        power_heatmap(sweep_frame, x, "n_per_arm")


def test_power_heatmap_single_row_outlines_cells(sweep_frame):
    one_rate = sweep_frame[sweep_frame["dropout.rate"] == 0.0]
    fig = power_heatmap(one_rate, "arms.acupuncture.specific_effect", "dropout.rate", n_per_arm=40)
    ax = fig.axes[0]
    reached = one_rate[(one_rate["n_per_arm"] == 40) & (one_rate["power"] >= 0.8)]
    assert len(ax.patches) == len(reached) >= 1


# ---------------------------------------------------------------- error rates


def test_error_rates_two_panels_with_2_mcse_bars(power_frame, tmp_path):
    fig = error_rates(power_frame)
    ax_s, ax_m = fig.axes
    for ax in (ax_s, ax_m):
        bars = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
        assert len(bars) == 2
    sham = next(c for c in ax_m.containers if c.get_label() == "acupuncture - sham")
    segments = sham.lines[2][0].get_segments()
    heights = [seg[1][1] - seg[0][1] for seg in segments]
    assert heights == pytest.approx([4 * 0.05] * len(NS))  # ±2 MCSE
    refs = [line for line in ax_m.lines if line.get_linestyle() == "--"]
    assert [list(line.get_ydata()) for line in refs] == [[1.0, 1.0]]
    _render(fig, tmp_path, "error_rates")


def test_error_rates_axes_argument(power_frame):
    fig = Figure()
    axes = fig.subplots(1, 2)
    assert error_rates(power_frame, ax=axes) is fig
    with pytest.raises(ValueError, match="2 Axes"):
        error_rates(power_frame, ax=fig.add_subplot())
    with pytest.raises(ValueError, match="exactly 2"):
        error_rates(power_frame, ax=[axes[0]])


def test_error_rates_all_nan_is_labelled(power_frame):
    frame = power_frame.assign(type_s=np.nan, type_s_mcse=np.nan)
    fig = error_rates(frame)
    assert any("no significant results" in t.get_text() for t in fig.axes[0].texts)
    assert not any("no significant results" in t.get_text() for t in fig.axes[1].texts)


def test_error_rates_all_zero_type_s_is_not_an_empty_panel(power_frame, tmp_path):
    frame = power_frame.assign(type_s=0.0, type_s_mcse=0.0)
    fig = error_rates(frame)
    ax_s = fig.axes[0]
    (note,) = [t for t in ax_s.texts if t.get_gid() == "type-s-all-zero"]
    assert "wrong sign" in note.get_text()
    low, high = ax_s.get_ylim()
    assert low < 0.0 < high  # the points sit inside the frame, not on its edge
    _render(fig, tmp_path, "error_rates_all_zero")
    # a panel with some wrong signs keeps its plain axis from 0
    mixed = error_rates(power_frame.assign(type_s=0.02, type_s_mcse=0.01))
    assert mixed.axes[0].get_ylim()[0] == 0.0
    assert not [t for t in mixed.axes[0].texts if t.get_gid() == "type-s-all-zero"]


# ---------------------------------------------------------------- estimate distribution


def _summary_numbers(ax: Axes) -> dict[str, str]:
    (box,) = [t for t in ax.texts if t.get_gid() == "estimate-summary"]
    text = box.get_text()
    share = re.search(r"significant: ([\d.]+)% \((\d+) of (\d+)\)", text)
    type_s = re.search(r"type S: (\S+)", text)
    exaggeration = re.search(r"exaggeration: (\S+)", text)
    assert share and type_s and exaggeration, text
    return {
        "share": share.group(1),
        "n_sig": share.group(2),
        "n": share.group(3),
        "type_s": type_s.group(1),
        "exaggeration": exaggeration.group(1),
    }


def test_estimate_distribution_counts_and_summary(tmp_path):
    rng = np.random.default_rng(3)
    estimates = rng.normal(0.3, 0.5, 500)
    estimates[:3] = np.nan  # dropped
    significant = np.abs(estimates) > 0.6
    fig = estimate_distribution(estimates, significant, true_effect=0.3, label="difference")
    ax = fig.axes[0]
    ok = np.isfinite(estimates)
    est, sig = estimates[ok], significant[ok]

    def heights(gid):
        return sum(p.get_height() for p in ax.patches if p.get_gid() == gid)

    assert heights("significant") == sig.sum() > 0
    assert heights("not-significant") == (~sig).sum()

    numbers = _summary_numbers(ax)
    assert int(numbers["n_sig"]) == sig.sum() and int(numbers["n"]) == est.size
    assert float(numbers["share"]) == pytest.approx(100 * sig.mean(), abs=0.05)
    direct_type_s = np.mean(est[sig] < 0)
    direct_exaggeration = np.mean(np.abs(est[sig])) / 0.3
    assert direct_type_s > 0  # the test data contain wrong-sign significant estimates
    assert float(numbers["type_s"]) == pytest.approx(direct_type_s, abs=5e-4)
    assert float(numbers["exaggeration"]) == pytest.approx(direct_exaggeration, abs=5e-3)

    vertical = sorted(line.get_xdata()[0] for line in ax.lines)
    assert vertical == [0.0, 0.3]
    _render(fig, tmp_path, "estimate_distribution")


@pytest.mark.parametrize(
    ("estimates", "significant", "true_effect"),
    [([0.1, 0.2, -0.1], [False, False, False], 0.5), ([0.9, -0.8, 0.1], [True, True, False], 0)],
)
def test_estimate_distribution_nan_safe(estimates, significant, true_effect):
    numbers = _summary_numbers(estimate_distribution(estimates, significant, true_effect).axes[0])
    assert numbers["type_s"] == "n/a" and numbers["exaggeration"] == "n/a"


def test_estimate_distribution_shape_mismatch():
    with pytest.raises(ValueError, match="same length"):
        estimate_distribution([1.0, 2.0], [True], 1.0)
    with pytest.raises(ValueError, match="finite"):
        estimate_distribution([1.0, 2.0], [True, False], float("nan"))


# ---------------------------------------------------------------- arm trajectories


def test_arm_trajectories_means_and_bands(trial_frames, tmp_path):
    daily, _, _ = trial_frames
    fatigue = daily[daily["symptom"] == "fatigue"]
    stats = fatigue.groupby(["arm", "day"])["latent"].agg(["mean", "std", "count"])
    widths = {}
    for band in ("sd", "ci"):
        fig = arm_trajectories(daily, "fatigue", band=band)
        ax = fig.axes[0]
        means = {
            line.get_label().split(" (")[0]: line for line in ax.lines if line.get_zorder() == 3
        }
        assert set(means) == {"acupuncture", "sham", "usual_care"}
        acu = means["acupuncture"]
        assert list(acu.get_ydata()) == pytest.approx(list(stats.loc["acupuncture", "mean"]))
        assert acu.get_color() == arm_colors(["acupuncture"])["acupuncture"]
        assert sum(1 for line in ax.lines if list(line.get_xdata()) == [0, 0]) == 1
        # band at day -3 for the first arm drawn (acupuncture)
        band_poly = next(c for c in ax.collections if isinstance(c, PolyCollection))
        verts = band_poly.get_paths()[0].vertices
        at_first = verts[verts[:, 0] == -3, 1]
        widths[band] = at_first.max() - at_first.min()
        _render(fig, tmp_path, f"arm_trajectories_{band}")
    sd = stats.loc[("acupuncture", -3), "std"]
    assert widths["sd"] == pytest.approx(2 * sd)
    assert widths["ci"] == pytest.approx(2 * 1.96 * sd / math.sqrt(4))


def test_arm_trajectories_rejects_bad_arguments(trial_frames):
    daily, _, _ = trial_frames
    with pytest.raises(ValueError, match="band"):
        arm_trajectories(daily, "fatigue", band="iqr")
    with pytest.raises(ValueError, match="'gait' not in"):
        arm_trajectories(daily, "gait")


# ---------------------------------------------------------------- patient trajectories


def _gid_lines(fig: Figure, gid: str) -> list:
    return [line for ax in fig.axes for line in ax.lines if line.get_gid() == gid]


def test_patient_trajectories_panels_and_events(trial_frames, tmp_path):
    daily, sessions, relapses = trial_frames
    fig = patient_trajectories(daily, sessions, relapses, n_patients=5)
    assert len(fig.axes) == 5
    titles = [ax.get_title() for ax in fig.axes]
    # first ids, taken in turn from each arm, grouped by arm
    assert titles == [
        "patient 1 · acupuncture",
        "patient 2 · acupuncture",
        "patient 5 · sham",
        "patient 6 · sham",
        "patient 9 · usual_care",
    ]
    shown = {1, 2, 5, 6, 9}
    expected = sorted(relapses.loc[relapses["patient_id"].isin(shown), "onset_day"])
    markers = _gid_lines(fig, "relapse")
    assert sorted(line.get_xdata()[0] for line in markers) == expected == [-1, 2, 4, 7]
    spans = [p for ax in fig.axes for p in ax.patches if p.get_gid() == "session"]
    attended = sessions[sessions["patient_id"].isin(shown) & sessions["attended"]]
    assert len(spans) == len(attended) == 12
    assert len(_gid_lines(fig, "dropout")) == 1  # patient 2 stops the diary
    # latent line + diary dots for each of 2 symptoms in every panel
    for ax in fig.axes:
        assert (
            sum(
                1
                for line in ax.lines
                if line.get_linestyle() == "-"
                and line.get_gid() is None
                and len(line.get_xdata()) > 2
            )
            == 2
        )
        assert sum(1 for line in ax.lines if line.get_marker() == "o") == 2
    assert len(fig.legends) == 1
    _render(fig, tmp_path, "patient_trajectories")


def test_patient_trajectories_explicit_ids_and_axes(trial_frames):
    daily, _, relapses = trial_frames
    fig = Figure()
    axes = fig.subplots(1, 2)
    assert patient_trajectories(daily, relapses=relapses, patient_ids=[12, 3], ax=axes) is fig
    assert [ax.get_title() for ax in axes] == ["patient 12 · usual_care", "patient 3 · acupuncture"]
    assert [line.get_xdata()[0] for line in _gid_lines(fig, "relapse")] == [9]
    with pytest.raises(ValueError, match="exactly 3 Axes"):
        patient_trajectories(daily, patient_ids=[1, 2, 3], ax=axes)
    with pytest.raises(ValueError, match=r"\[99\]"):
        patient_trajectories(daily, patient_ids=[99])
    # asking for more patients than exist shows them all
    assert len(patient_trajectories(daily, n_patients=50).axes) == 12


# ---------------------------------------------------------------- sample-size curve


def test_sample_size_curve_interpolates_and_marks_unreached(sweep_frame, tmp_path):
    field = "arms.acupuncture.specific_effect"
    sub = sweep_frame[sweep_frame["dropout.rate"] == 0.0]
    fig = sample_size_curve(sub, field, target=0.8)
    ax = fig.axes[0]
    assert ax.get_ylabel() == "n per arm needed"

    expected = {}
    for value, group in sub.groupby(field):
        expected[value] = tuple(
            n_for_power(group["n_per_arm"], group[col], 0.8)
            for col in ("power", "power_ci_high", "power_ci_low")
        )
    reached = {v: e for v, e in expected.items() if not math.isnan(e[0])}
    missing = [v for v, e in expected.items() if math.isnan(e[0])]
    assert len(reached) == 2 and missing == [0.3]

    (line,) = [line for line in ax.lines if line.get_label() == "acupuncture - sham"]
    assert list(line.get_xdata()) == pytest.approx(list(reached))
    assert list(line.get_ydata()) == pytest.approx([e[0] for e in reached.values()])
    hollow = [line for line in ax.lines if line.get_gid() == "not-reached"]
    assert len(hollow) == 1
    assert list(hollow[0].get_xdata()) == missing and list(hollow[0].get_ydata()) == [max(NS)]
    assert hollow[0].get_markerfacecolor() == "white"
    assert any(t.get_text().startswith("> max n") for t in ax.texts)

    (bars,) = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    segments = bars.lines[2][0].get_segments()
    for (bottom, top), value in zip(segments, sorted(expected), strict=True):
        _, lo, hi = expected[value]
        assert bottom[1] == pytest.approx(lo if not math.isnan(lo) else max(NS))
        assert top[1] == pytest.approx(hi if not math.isnan(hi) else max(NS))
    _render(fig, tmp_path, "sample_size_curve")


def test_sample_size_curve_flags_answers_at_the_smallest_n(sweep_frame, tmp_path):
    field = "arms.acupuncture.specific_effect"
    sub = sweep_frame[sweep_frame["dropout.rate"] == 0.0].copy()
    sub.loc[sub[field] == 1.4, ["power", "power_ci_low", "power_ci_high"]] = [0.95, 0.9, 0.98]
    fig = sample_size_curve(sub, field, target=0.8)
    ax = fig.axes[0]
    (low,) = [line for line in ax.lines if line.get_gid() == "at-smallest-n"]
    assert list(low.get_xdata()) == [1.4] and list(low.get_ydata()) == [min(NS)]
    assert low.get_markerfacecolor() == "white"
    (line,) = [line for line in ax.lines if line.get_label() == "acupuncture - sham"]
    assert 1.4 not in list(line.get_xdata())  # not drawn as a point estimate
    legend = ax.get_legend() or fig.legends[0]
    assert any("smallest n simulated" in t.get_text() for t in legend.get_texts())
    _render(fig, tmp_path, "sample_size_at_min")


def test_sample_size_curve_over_a_categorical_field(sweep_frame, tmp_path):
    sub = sweep_frame[sweep_frame["dropout.rate"] == 0.0].copy()
    labels = {0.3: "mcar", 0.8: "mar", 1.4: "mnar"}
    sub["dropout.mechanism"] = sub["arms.acupuncture.specific_effect"].map(labels)
    fig = sample_size_curve(
        sub.drop(columns="arms.acupuncture.specific_effect"), "dropout.mechanism"
    )
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["mcar", "mar", "mnar"]
    (line,) = [line for line in ax.lines if line.get_label() == "acupuncture - sham"]
    assert list(line.get_xdata()) == [1.0, 2.0]  # mar and mnar reach the target
    _render(fig, tmp_path, "sample_size_categorical")


def test_sample_size_curve_needs_one_row_per_value_and_n(sweep_frame):
    with pytest.raises(ValueError, match="other swept fields"):
        sample_size_curve(sweep_frame, "arms.acupuncture.specific_effect")
    with pytest.raises(ValueError, match="contrast 'x - y'"):
        sample_size_curve(sweep_frame, "dropout.rate", contrast="x - y")


# ---------------------------------------------------------------- missing columns


@pytest.mark.parametrize(
    ("call", "frame_name", "column"),
    [
        (lambda f: power_curve(f["power"]), "power", "power_ci_low"),
        (lambda f: error_rates(f["power"]), "power", "exaggeration_mcse"),
        (
            lambda f: power_heatmap(f["sweep"], "arms.acupuncture.specific_effect", "dropout.rate"),
            "sweep",
            "dropout.rate",
        ),
        (
            lambda f: sample_size_curve(
                f["sweep"][f["sweep"]["arms.acupuncture.specific_effect"] == 0.8], "dropout.rate"
            ),
            "sweep",
            "power_ci_high",
        ),
        (lambda f: arm_trajectories(f["daily"], "fatigue"), "daily", "latent"),
        (lambda f: patient_trajectories(f["daily"]), "daily", "observed"),
        (
            lambda f: patient_trajectories(f["daily"], sessions=f["sessions"]),
            "sessions",
            "attended",
        ),
        (
            lambda f: patient_trajectories(f["daily"], relapses=f["relapses"]),
            "relapses",
            "onset_day",
        ),
    ],
)
def test_missing_columns_are_named(
    call, frame_name, column, power_frame, sweep_frame, trial_frames
):
    daily, sessions, relapses = trial_frames
    frames = {
        "power": power_frame,
        "sweep": sweep_frame,
        "daily": daily,
        "sessions": sessions,
        "relapses": relapses,
    }
    call(frames)  # works with the column present
    frames[frame_name] = frames[frame_name].drop(columns=column)
    with pytest.raises(ValueError, match=re.escape(column)):
        call(frames)
