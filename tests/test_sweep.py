"""Sweeps: grid and Latin hypercube, common random numbers, resume, user errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mssim.commands import sweep as sweep_cmd
from mssim.commands.sweep import sweep_command, write_sweep
from mssim.config.load import load_scenario
from mssim.errors import MssimError
from mssim.montecarlo import power, sweep
from mssim.montecarlo.breakdown import breakdown_columns
from mssim.montecarlo.power import estimate
from mssim.montecarlo.sweep import cell_scenario, parse_grid, run_sweep, sweep_points
from mssim.outputs.provenance import Provenance

# Small chunks, so a cell has several and an interrupt can fall inside one.
SCENARIO = load_scenario(None, ["power.chunk_size=10"])
EFFECT, DROPOUT = "arms.acupuncture.specific_effect", "dropout.rate"
GRID = {EFFECT: [0.2, 0.6], DROPOUT: [0.1, 0.3]}
N = [20, 40]
REPS = 40
CHUNKS = 4 * REPS // 10  # cells x chunks per cell


def _run(out, **kwargs):
    prov = Provenance(SCENARIO)
    frame = run_sweep(
        SCENARIO, GRID, replicates=REPS, n_per_arm=N, out=out, progress=False, **kwargs
    )
    write_sweep(out, frame, SCENARIO, GRID, None, prov)
    return frame


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep")
    return out, _run(out)


def test_grid_writes_tidy_csv_with_swept_columns(swept):
    out, frame = swept
    csv = pd.read_csv(out / "sweep.csv")
    assert list(csv.columns[:3]) == ["cell", EFFECT, DROPOUT]
    assert {"power", "power_mcse", "true_effect", "exaggeration", "n_per_arm"} <= set(csv.columns)
    assert len(csv) == 2 * 2 * 2
    assert sorted(set(zip(csv[EFFECT], csv[DROPOUT], strict=True))) == [
        (0.2, 0.1),
        (0.2, 0.3),
        (0.6, 0.1),
        (0.6, 0.3),
    ]
    pd.testing.assert_frame_equal(csv, frame, check_dtype=False)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["grid"] == GRID
    assert manifest["seed"] == SCENARIO.seed
    for name in ("power_heatmap.png", "sample_size.png", "report.html"):
        assert (out / name).stat().st_size > 0, name
    assert len(list((out / "cells" / "3" / "chunks").glob("chunk-*.npz"))) == REPS // 10


def test_larger_specific_effect_has_more_power_at_same_n(swept):
    _, frame = swept
    low = frame[frame[EFFECT] == 0.2].set_index([DROPOUT, "n_per_arm"])
    high = frame[frame[EFFECT] == 0.6].set_index([DROPOUT, "n_per_arm"])
    # effects are treatment minus comparator: a benefit is negative
    assert (high.true_effect < low.true_effect).all()
    assert (high.power >= low.power).all()
    assert high.power.mean() > low.power.mean() + 0.1


def test_cell_is_the_plain_run_of_its_scenario(swept):
    """Common random numbers: a cell's numbers are those of a run of its scenario."""
    _, frame = swept
    point = {EFFECT: 0.6, DROPOUT: 0.3}
    cell = cell_scenario(SCENARIO, point, 3)
    assert cell.seed == SCENARIO.seed
    alone = breakdown_columns(cell, estimate(cell, N, REPS, progress=False), REPS)
    mine = frame[frame.cell == 3].drop(columns=["cell", EFFECT, DROPOUT])
    pd.testing.assert_frame_equal(mine.reset_index(drop=True), alone)


def test_cell_folder_is_a_run_folder_of_its_scenario(swept, monkeypatch):
    """power.estimate resumes from a cell's chunks without simulating anything."""
    out, frame = swept
    cell = cell_scenario(SCENARIO, {EFFECT: 0.2, DROPOUT: 0.3}, 1)
    monkeypatch.setattr(power, "chunk_statistics", _never)
    loaded = estimate(cell, N, REPS, out=out / "cells" / "1", progress=False)
    loaded = breakdown_columns(cell, loaded, REPS)  # a run adds it, as the sweep does
    mine = frame[frame.cell == 1].drop(columns=["cell", EFFECT, DROPOUT])
    pd.testing.assert_frame_equal(mine.reset_index(drop=True), loaded)


def test_interrupted_sweep_resumes_to_the_same_csv(swept, tmp_path, monkeypatch):
    reference, _ = swept
    real = sweep.chunk_statistics
    calls = []

    def interrupted(*args):
        if len(calls) == 5:
            raise KeyboardInterrupt
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(sweep, "chunk_statistics", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path)
    assert not (tmp_path / "sweep.csv").exists()
    assert len(list(tmp_path.glob("cells/*/chunks/chunk-*.npz"))) == 5

    def counted(*args):
        calls.append(1)
        return real(*args)

    calls.clear()
    monkeypatch.setattr(sweep, "chunk_statistics", counted)
    _run(tmp_path, n_jobs=2, backend="threads")  # threads: the counter lives in this process
    assert len(calls) == CHUNKS - 5  # finished chunks are not run again
    pd.testing.assert_frame_equal(
        pd.read_csv(tmp_path / "sweep.csv"), pd.read_csv(reference / "sweep.csv")
    )


def _never(*args):
    raise AssertionError("nothing may run before every cell is valid")


@pytest.mark.parametrize(
    ("grid", "field"),
    [
        ({"arms.acupuncture.specfic_effect": [0.1]}, "arms.acupuncture.specfic_effect"),
        ({EFFECT: [0.2], "dropout.rate": [0.1, 1.5]}, "dropout.rate"),
        ({"dropout.rate": [0.1, "high"]}, "dropout.rate"),
        ({"dropout.rate": [True]}, "dropout.rate"),
        ({"trial.alpha": []}, "trial.alpha"),
    ],
)
def test_bad_grid_is_refused_before_anything_runs(grid, field, tmp_path, monkeypatch):
    monkeypatch.setattr(sweep, "chunk_statistics", _never)
    out = tmp_path / "never"
    with pytest.raises(MssimError, match=field.replace(".", r"\.")):
        run_sweep(SCENARIO, grid, replicates=10, n_per_arm=[20], out=out, progress=False)
    assert not out.exists()


def test_unknown_field_suggests_the_right_one():
    with pytest.raises(MssimError, match="did you mean 'specific_effect'"):
        run_sweep(SCENARIO, {"arms.acupuncture.specfic_effect": [0.1]}, replicates=1)


def test_parse_grid():
    grid = parse_grid(["dropout.rate=0.1, 0.2", "trial.weeks=8,12"])
    assert grid == {"dropout.rate": [0.1, 0.2], "trial.weeks": [8, 12]}
    assert all(isinstance(v, int) for v in grid["trial.weeks"])
    # numpy values from the Python API become plain numbers (for JSON and CSV)
    points = sweep_points(SCENARIO, {"trial.weeks": np.array([8, 12])}, None)
    assert points == [{"trial.weeks": 8}, {"trial.weeks": 12}]
    assert all(type(p["trial.weeks"]) is int for p in points)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["dropout.rate"], "malformed"),
        (["=0.1"], "malformed"),
        (["dropout.rate=0.1,,0.2"], "malformed"),
        (["dropout.rate=0.1", "dropout.rate=0.2"], "given twice"),
        ([], "at least one"),
    ],
)
def test_parse_grid_errors(args, message):
    with pytest.raises(MssimError, match=message):
        parse_grid(args)


def test_categorical_values_parse_as_text_and_booleans():
    grid = parse_grid(["dropout.mechanism=mcar, mnar", "mechanism.enabled=true,false"])
    assert grid == {"dropout.mechanism": ["mcar", "mnar"], "mechanism.enabled": [True, False]}
    # text where a number belongs is refused by the scenario's validation, naming the cell
    with pytest.raises(MssimError, match=r"sweep cell 1 .*dropout\.rate"):
        run_sweep(SCENARIO, {DROPOUT: [0.1, "abc"]}, replicates=1)
    with pytest.raises(MssimError, match=r"numeric values; given dropout\.mechanism=mcar,mnar"):
        sweep_points(SCENARIO, {"dropout.mechanism": ["mcar", "mnar"], DROPOUT: [0.1, 0.2]}, 4)


def test_sweep_over_mechanism_analysis_and_intervention_kind():
    grid = {"dropout.mechanism": ["mcar", "mnar"], "trial.analysis": ["ancova", "welch_change"]}
    base = load_scenario(None, ["dropout.rate=0.3", "power.chunk_size=10"])
    frame = run_sweep(base, grid, replicates=20, n_per_arm=[30], progress=False)
    assert list(frame["trial.analysis"]) == list(frame.analysis)  # each cell its own analysis
    assert list(zip(frame["dropout.mechanism"], frame.analysis, strict=True)) == [
        ("mcar", "ancova"), ("mcar", "welch_change"), ("mnar", "ancova"), ("mnar", "welch_change"),
    ]  # fmt: skip
    # a cell is the plain run of its scenario (common random numbers)
    mnar = load_scenario(None, ["dropout.rate=0.3", "dropout.mechanism='mnar'"])
    plain = estimate(mnar, [30], 20, analyses=["welch_change"], progress=False)
    cell = frame[(frame["dropout.mechanism"] == "mnar") & (frame.analysis == "welch_change")]
    assert cell.power.iloc[0] == plain.power.iloc[0]
    assert cell.mean_estimate.iloc[0] == plain.mean_estimate.iloc[0]
    # an arm's intervention kind: the new kind's defaults, not the old kind's settings
    kinds = run_sweep(
        base, {"arms.sham.intervention": ["sham", "usual_care"]}, replicates=20, n_per_arm=[30]
    )
    sham, usual = kinds.true_effect
    assert usual < sham < 0  # against usual care the non-specific effect counts too
    usual_arm = cell_scenario(base, {"arms.sham.intervention": "usual_care"}, 1).arms["sham"]
    assert usual_arm.intervention == "usual_care" and usual_arm.sessions_per_week == 0


def test_latin_hypercube_fills_the_box_reproducibly():
    grid = {EFFECT: [0.0, 0.8], DROPOUT: [0.3, 0.05, 0.1], "trial.weeks": [8, 16]}
    k = 7
    points = sweep_points(SCENARIO, grid, lhs=k)
    assert len(points) == k
    assert points == sweep_points(SCENARIO, grid, lhs=k)
    other = SCENARIO.model_copy(update={"seed": SCENARIO.seed + 1})
    assert points != sweep_points(other, grid, lhs=k)
    for field, values in grid.items():
        drawn = np.array([p[field] for p in points], dtype=float)
        assert ((drawn >= min(values)) & (drawn <= max(values))).all(), field
    assert all(isinstance(p["trial.weeks"], int) for p in points)
    # Latin hypercube: one point in each of the k equal slices of every continuous axis
    for field in (EFFECT, DROPOUT):
        lo, hi = min(grid[field]), max(grid[field])
        drawn = np.array([p[field] for p in points])
        slices = np.minimum(((drawn - lo) / (hi - lo) * k).astype(int), k - 1)
        assert sorted(slices) == list(range(k)), field


def test_latin_hypercube_sweep_runs_its_points():
    grid = {EFFECT: [0.1, 0.5], DROPOUT: [0.05, 0.2]}
    frame = run_sweep(SCENARIO, grid, lhs=3, replicates=10, n_per_arm=[20], progress=False)
    assert len(frame) == 3
    expected = sweep_points(SCENARIO, grid, lhs=3)
    assert frame[[EFFECT, DROPOUT]].to_dict("records") == expected


def test_sweep_command_prints_a_summary(tmp_path, capsys):
    out = sweep_command(
        None,
        ["power.chunk_size=10", "power.n_per_arm=[20]"],
        ["arms.acupuncture.specific_effect=0.2,0.6"],
        None,
        20,
        1,
        "threads",
        tmp_path / "cmd",
    )
    assert out == tmp_path / "cmd"
    assert (out / "sweep.csv").is_file()
    assert (out / "sample_size.png").is_file()
    assert not (out / "power_heatmap.png").exists()  # one swept field: no heatmap
    printed = capsys.readouterr().out
    assert EFFECT in printed
    assert "common random numbers" in printed


def test_interrupted_sweep_command_says_how_to_resume(monkeypatch, capsys):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(sweep_cmd, "run_sweep", interrupted)
    with pytest.raises(KeyboardInterrupt):
        sweep_command(None, [], ["dropout.rate=0.1,0.2"], None, 10, 1, "threads", None)
    assert "add --out results/default/sweep-" in capsys.readouterr().err


def test_sweep_takes_a_seed(tmp_path, cli):
    args = ["--grid", f"{EFFECT}=0.2,0.4", "--replicates", 5, "--set", "power.n_per_arm=[10]"]
    status, _, err = cli("sweep", *args, "--seed", 7, "--out", tmp_path / "a")
    assert status == 0, err
    assert json.loads((tmp_path / "a" / "manifest.json").read_text())["seed"] == 7
    cli("sweep", *args, "--out", tmp_path / "b")
    seeded = pd.read_csv(tmp_path / "a" / "sweep.csv")
    default = pd.read_csv(tmp_path / "b" / "sweep.csv")
    assert not np.allclose(seeded.mean_estimate, default.mean_estimate)  # other random numbers


def test_a_latin_hypercube_over_text_values_is_refused_showing_them(cli, tmp_path):
    out = tmp_path / "s"
    status, printed, err = cli(
        "sweep", "--lhs", 3, "--grid", "dropout.rate=0.05:0.3", "--replicates", 2, "--out", out
    )
    assert (status, printed) == (2, "") and "Traceback" not in err
    assert "--lhs: a Latin hypercube needs numeric values; given dropout.rate=0.05:0.3" in err
    assert not out.exists()
