"""The hodges_lehmann example plug-in gives R's wilcox.test(conf.int = TRUE) numbers.

Each R call below was run in R 4.2.2 and its output is quoted, so these tests hold
without R; ``test_agrees_with_r_on_random_data`` runs R itself where ``Rscript`` exists.

Tolerances: the plug-in ports R's algorithm operation for operation (the rank sums and
tie terms at every shift, the root finder ``R_zeroin2`` and the normal quantile), so the
confidence limits and estimates agree with R to the last printed digit, not just to
R's root tolerance of 1e-4. R prints 15 significant digits, hence ``rel=1e-12``. The
p-values use scipy's normal and an exactly summed Wilcoxon distribution rather than
R's own code, which differ from R's by a few units in the last place; ``1e-12`` allows
for that too.
"""

import json
import math
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mssim.config.load import load_scenario
from mssim.montecarlo.power import estimate
from mssim.registry import ANALYSES, load_plugin
from mssim.trial.analyses.estimates import REASONS
from mssim.trial.estimands import EFFECT_MEASURES

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = ROOT / "examples" / "plugins" / "hodges_lehmann.py"
REL = 1e-12  # see the module docstring
FIELDS = ("statistic", "p_value", "ci_low", "ci_high", "estimate")


@pytest.fixture(scope="module")
def hl():
    """The plug-in module, loaded the way a user loads it."""
    load_plugin(str(PLUGIN))
    return sys.modules[ANALYSES.get("hodges_lehmann").function.__module__]


def _fss_changes():
    """FSS changes as the simulator makes them: outcome / 9 - baseline / 9, 300 per arm."""
    i = np.arange(1, 301)
    bx, ox = (i * 17) % 55 + 9, (i * 29) % 53 + 9
    by, oy = (i * 23) % 57 + 9, (i * 31) % 51 + 12
    return ox / 9 - bx / 9, oy / 9 - by / 9


HELP_X = np.array([0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46])
HELP_Y = np.array([1.15, 0.88, 0.90, 0.74, 1.21])
DEPRESSION_X = np.array([1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30])
DEPRESSION_Y = np.array([0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29])
SQRT_X = np.sqrt(np.arange(1, 61)) / 2
SQRT_Y = np.sqrt(np.arange(1, 56) + 0.5) / 2 - 0.3
GRID_X = ((np.arange(1, 41) * 13) % 37 - 20) / 9
GRID_Y = ((np.arange(1, 46) * 7) % 31 - 14) / 9

# (id, x, y, alpha, exact regime?, R's statistic, p.value, conf.int1, conf.int2, estimate)
# Every R call prints with: print(unlist(w[c("statistic","p.value","conf.int","estimate")]),
# digits = 15), e.g. show(wilcox.test(x, y, conf.int = TRUE, conf.level = 0.95)).
R_CASES = [
    # x <- c(0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46)
    # y <- c(1.15, 0.88, 0.90, 0.74, 1.21)         # (wilcox.test's help page; no ties)
    # wilcox.test(x, y, conf.int = TRUE, conf.level = 0.95)
    #   statistic.W 35.000000000000000   p.value 0.254412254412254
    #   conf.int1 -0.150000000000000   conf.int2 0.760000000000000
    #   estimate.difference in location 0.305000000000000
    ("exact", HELP_X, HELP_Y, 0.05, True, 35.0, 0.254412254412254, -0.15, 0.76, 0.305),
    # wilcox.test(y, x, conf.int = TRUE, conf.level = 0.90)
    #   statistic.W 15.000000000000000   p.value 0.254412254412254
    #   conf.int1 -0.720000000000000   conf.int2 0.080000000000000
    #   estimate.difference in location -0.305000000000000
    ("exact_lower", HELP_Y, HELP_X, 0.10, True, 15.0, 0.254412254412254, -0.72, 0.08, -0.305),
    # x <- c(1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30)
    # y <- c(0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29)   # ties in y
    # wilcox.test(x, y, conf.int = TRUE, conf.level = 0.95)
    #   statistic.W 58.000000000000000   p.value 0.132919458185319
    #   conf.int1 -0.369977374727254   conf.int2 1.182970773687922
    #   estimate.difference in location 0.560056160835873
    (
        "small_ties",
        DEPRESSION_X,
        DEPRESSION_Y,
        0.05,
        False,
        58.0,
        0.132919458185319,
        -0.369977374727254,
        1.182970773687922,
        0.560056160835873,
    ),
    # wilcox.test(c(1, 2, 2, 3), c(0, 1), conf.int = TRUE, conf.level = 0.95)
    #   statistic.W 7.50000000000000   p.value 0.15266138035243
    #   conf.int1 0.00000000000000   conf.int2 3.00000000000000   (the ends of the range)
    #   estimate.difference in location 1.50000000000000
    (
        "tiny_ties",
        np.array([1.0, 2, 2, 3]),
        np.array([0.0, 1]),
        0.05,
        False,
        7.5,
        0.15266138035243,
        0.0,
        3.0,
        1.5,
    ),
    # x <- sqrt(1:60) / 2; y <- sqrt(1:55 + 0.5) / 2 - 0.3          # no ties, n >= 50
    # wilcox.test(x, y, conf.int = TRUE, conf.level = 0.95)
    #   statistic.W 2.07400000000000e+03   p.value 1.77330830526826e-02
    #   conf.int1 7.28664303568216e-02   conf.int2 7.08355152626740e-01
    #   estimate.difference in location 3.95484988264243e-01
    (
        "large",
        SQRT_X,
        SQRT_Y,
        0.05,
        False,
        2074.0,
        1.77330830526826e-02,
        7.28664303568216e-02,
        7.08355152626740e-01,
        3.95484988264243e-01,
    ),
    # wilcox.test(x, y, conf.int = TRUE, conf.level = 0.99)
    #   statistic.W 2074.0000000000000000   p.value 0.0177330830526826
    #   conf.int1 -0.0371197574813993   conf.int2 0.8165234845209319
    #   estimate.difference in location 0.3954849882642426
    (
        "large_99",
        SQRT_X,
        SQRT_Y,
        0.01,
        False,
        2074.0,
        0.0177330830526826,
        -0.0371197574813993,
        0.8165234845209319,
        0.3954849882642426,
    ),
    # x <- (((1:40) * 13) %% 37 - 20) / 9; y <- (((1:45) * 7) %% 31 - 14) / 9    # FSS grid
    # wilcox.test(x, y, conf.int = TRUE, conf.level = 0.95)
    #   statistic.W 740.000000000000000   p.value 0.160054285345099
    #   conf.int1 -0.888841952849034   conf.int2 0.111167518109278
    #   estimate.difference in location -0.333380334252268
    (
        "fss_grid",
        GRID_X,
        GRID_Y,
        0.05,
        False,
        740.0,
        0.160054285345099,
        -0.888841952849034,
        0.111167518109278,
        -0.333380334252268,
    ),
    # bx <- ((1:300) * 17) %% 55 + 9; ox <- ((1:300) * 29) %% 53 + 9
    # by <- ((1:300) * 23) %% 57 + 9; oy <- ((1:300) * 31) %% 51 + 12
    # wilcox.test(ox / 9 - bx / 9, oy / 9 - by / 9, conf.int = TRUE, conf.level = 0.95)
    #   statistic.W 43712.500000000000000   p.value 0.544371206844624
    #   conf.int1 -0.555543124985895   conf.int2 0.333290511772387
    #   estimate.difference in location -0.111118582446776
    # (values a rounding error apart, e.g. 5/9 - 2/9 and 4/9 - 1/9: R's limits move by
    # ~1e-6 with the last bit of qnorm(0.025), so this case needs R's qnorm exactly; its
    # estimate is not the median of the pairwise differences, -1/9, but R's root.)
    (
        "fss_changes",
        *_fss_changes(),
        0.05,
        False,
        43712.5,
        0.544371206844624,
        -0.555543124985895,
        0.333290511772387,
        -0.111118582446776,
    ),
]


def test_the_plugin_registers_a_mean_difference_analysis(hl):
    analysis = ANALYSES.get("hodges_lehmann")
    assert analysis.name in ANALYSES.names()
    assert analysis.estimand == "mean_difference"
    assert analysis.estimand in EFFECT_MEASURES
    assert "parallel" in analysis.designs and analysis.monte_carlo
    assert analysis.function.__module__ == hl.__name__
    load_plugin(str(PLUGIN))  # loading it again registers nothing twice
    assert ANALYSES.names().count("hodges_lehmann") == 1


@pytest.mark.parametrize("case", R_CASES, ids=[c[0] for c in R_CASES])
def test_matches_r_quoted(hl, case):
    _, x, y, alpha, exact, *expected = case
    got = hl.wilcox_test(x, y, alpha)
    assert got.reason == 0
    assert got.exact is exact
    assert got.statistic == expected[0]
    for field, want in zip(FIELDS[1:], expected[1:], strict=True):
        assert getattr(got, field) == pytest.approx(want, rel=REL, abs=1e-15), field


def test_r_estimate_is_its_root_not_the_median_of_differences(hl):
    """On tied grid data R's normal-regime estimate is uniroot's, 1e-4 from the median."""
    x, y = _fss_changes()
    got = hl.wilcox_test(x, y, 0.05)
    median = np.median(np.subtract.outer(x, y))
    assert median == pytest.approx(-1 / 9, abs=1e-12)
    assert 1e-7 < abs(got.estimate - median) < 1e-4


def _replicates(cases):
    """Stack datasets into (R, N) arrays, padded with unobserved NaN, arms interleaved."""
    width = max(len(x) + len(y) for _, x, y, *_ in cases) + 3
    change = np.full((len(cases), width), np.nan)
    arm = np.zeros((len(cases), width), bool)
    observed = np.zeros((len(cases), width), bool)
    rng = np.random.default_rng(7)
    for r, (_, x, y, *_) in enumerate(cases):
        slots = rng.permutation(width)[: len(x) + len(y)]
        change[r, slots] = np.concatenate([x, y])
        arm[r, slots[: len(x)]] = True
        observed[r, slots] = True
        change[r, ~observed[r]] = rng.normal(size=(~observed[r]).sum())  # ignored
    return change, arm, observed


def test_replicates_are_analysed_each_as_r_would(hl):
    cases = [c for c in R_CASES if c[3] == 0.05]
    change, arm, observed = _replicates(cases)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est = hl.hodges_lehmann(change, arm.astype(int), observed, 0.05)
    want = np.array([c[6:] for c in cases])  # p, ci_low, ci_high, estimate
    np.testing.assert_allclose(est.p_value, want[:, 0], rtol=REL)
    np.testing.assert_allclose(est.ci_low, want[:, 1], rtol=REL, atol=1e-15)
    np.testing.assert_allclose(est.ci_high, want[:, 2], rtol=REL)
    np.testing.assert_allclose(est.estimate, want[:, 3], rtol=REL)
    z = 1.959963984540054  # qnorm(0.975)
    np.testing.assert_allclose(est.se, (want[:, 2] - want[:, 1]) / (2 * z), rtol=1e-12)
    assert list(est.n_analysed) == [len(c[1]) + len(c[2]) for c in cases]
    assert est.n_analysed.dtype == np.int64 and est.reason.dtype == np.int8
    assert not est.reason.any()


def test_degenerate_replicates_are_nan_with_a_reason(hl):
    """Where R stops with an error, the replicate is NaN with a reason, never an error.

    R 4.2.2: wilcox.test(c(1, 1, 1), c(2, 2), conf.int = TRUE) and
    wilcox.test(c(1, 1, 1), c(1, 1), conf.int = TRUE) stop with "missing value where
    TRUE/FALSE needed"; wilcox.test(c(1, 2), numeric(0)) with "not enough 'y'
    observations".
    """
    x = np.array([[1, 1, 1, 2, 2, 0], [1, 1, 1, 1, 1, 0], [1, 2, 0, 0, 0, 0], [1, 2, 3, 0, 1, 1]])
    arm = np.array([[1, 1, 1, 0, 0, 0], [1, 1, 1, 0, 0, 0], [1, 1, 0, 0, 0, 0], [1, 1, 1, 0, 0, 0]])
    observed = np.array([[1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 1, 0], [1, 1, 0, 0, 0, 0], [1] * 6])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est = hl.hodges_lehmann(x.astype(float), arm, observed.astype(bool), 0.05)
    names = [REASONS[int(code)] for code in est.reason]
    assert names == ["zero_variance", "zero_variance", "too_few_analysed", "ok"]
    for field in ("estimate", "se", "ci_low", "ci_high", "p_value"):
        values = getattr(est, field)
        assert np.isnan(values[:3]).all() and np.isfinite(values[3]), field
    assert list(est.n_analysed) == [5, 5, 2, 6]
    with pytest.raises(ValueError):
        hl.hodges_lehmann(x.astype(float), arm, observed.astype(bool), 1.5)


def test_it_runs_in_a_monte_carlo_power_estimate(hl):
    s = load_scenario(None, ["power.n_per_arm=[10]", "power.chunk_size=10"])
    frame = estimate(s, [10], 20, analyses=["hodges_lehmann", "welch_change"], progress=False)
    ours = frame[frame.analysis == "hodges_lehmann"].iloc[0]
    welch = frame[frame.analysis == "welch_change"].iloc[0]
    assert ours.true_effect == welch.true_effect  # same estimand, same truth
    assert ours.failed == 0 and 0 <= ours.power <= 1 and 0 <= ours.coverage <= 1
    assert math.isfinite(ours.mean_estimate) and ours.mean_se > 0
    assert ours.mean_estimate != pytest.approx(welch.mean_estimate, abs=1e-9)


def test_mssim_run_loads_it_in_worker_processes(hl, cli, tmp_path):
    out = tmp_path / "run"
    status, _, err = cli(
        *["run", "--plugin", str(PLUGIN), "--replicates", 20, "--jobs", 2],
        *["--backend", "processes", "--out", out, "--set", "trial.analysis=hodges_lehmann"],
        *["--set", "power.n_per_arm=[10]", "--set", "power.chunk_size=10"],
    )
    assert status == 0, err
    frame = pd.read_csv(out / "power.csv")
    assert list(frame.analysis) == ["hodges_lehmann"]
    assert frame.failed.iloc[0] == 0 and frame.power.between(0, 1).all()
    manifest = json.loads((out / "manifest.json").read_text())
    assert str(PLUGIN) in manifest["plugins"]


# ---------------------------------------------------------------- R itself, if present

R_SCRIPT = r"""
lines <- readLines(commandArgs(TRUE)[1])
for (k in seq(1, length(lines), by = 3)) {
  x <- as.numeric(strsplit(lines[k], " ")[[1]])
  y <- as.numeric(strsplit(lines[k + 1], " ")[[1]])
  alpha <- as.numeric(lines[k + 2])
  w <- tryCatch(suppressWarnings(wilcox.test(x, y, conf.int = TRUE, conf.level = 1 - alpha)),
                error = function(e) NULL)
  if (is.null(w)) cat("error\n") else
    cat(sprintf("%a", unlist(w[c("statistic", "p.value", "conf.int", "estimate")])), "\n")
}
"""


def _random_cases(rng):
    """Samples of every kind the simulator and a user can give, both regimes."""
    cases = []
    for k in range(120):
        kind = k % 6
        nx, ny = rng.integers(2, 49, 2)
        if kind == 0:  # continuous, small: exact regime
            x, y = rng.normal(0.4, 1, nx), rng.normal(0, 1, ny)
        elif kind == 1:  # continuous, n >= 50
            nx, ny = rng.integers(50, 200, 2)
            x, y = rng.normal(0.2, 1, nx), rng.normal(0, 1, ny)
        elif kind == 2:  # FSS grid, small
            x = np.round(rng.normal(-0.5, 1, nx) * 9) / 9
            y = np.round(rng.normal(0, 1, ny) * 9) / 9
        elif kind == 3:  # FSS changes as the simulator makes them, up to 300 per arm
            nx, ny = rng.integers(100, 301, 2)
            bx, by = rng.integers(9, 64, nx), rng.integers(9, 64, ny)
            x = np.clip(bx + np.round(rng.normal(-3, 6, nx)), 9, 63) / 9 - bx / 9
            y = np.clip(by + np.round(rng.normal(0, 6, ny)), 9, 63) / 9 - by / 9
        elif kind == 4:  # coarse integer scores, tiny to small, many ties
            nx, ny = rng.integers(1, 30, 2)
            x, y = rng.integers(-2, 3, nx).astype(float), rng.integers(-2, 2, ny).astype(float)
        else:  # half-point grid far from zero
            x = 50 + np.round(rng.normal(0.5, 1, nx) * 2) / 2
            y = 50 + np.round(rng.normal(0, 1, ny) * 2) / 2
        cases.append((x, y, [0.05, 0.1, 0.01][k % 3]))
    return cases


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="Rscript is not installed (R)")
def test_agrees_with_r_on_random_data(hl, tmp_path):
    cases = _random_cases(np.random.default_rng(20240611))
    data = tmp_path / "cases.txt"
    data.write_text(
        "".join(
            f"{' '.join(map(repr, x.tolist()))}\n{' '.join(map(repr, y.tolist()))}\n{a!r}\n"
            for x, y, a in cases
        )
    )
    script = tmp_path / "wilcox.R"
    script.write_text(R_SCRIPT)
    run = subprocess.run(
        ["Rscript", str(script), str(data)], capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert len(lines) == len(cases)
    regimes = set()
    for (x, y, alpha), line in zip(cases, lines, strict=True):
        got = hl.wilcox_test(x, y, alpha)
        if line.strip() == "error":
            assert got.reason != 0, (x, y)
            continue
        assert got.reason == 0, (x, y)
        regimes.add(got.exact)
        want = [float.fromhex(v) for v in line.split()]
        scale = max(1.0, float(np.abs(np.concatenate([x, y])).max()))
        for field, value in zip(FIELDS, want, strict=True):
            assert getattr(got, field) == pytest.approx(value, rel=REL, abs=1e-14 * scale), (
                field,
                x,
                y,
                alpha,
            )
    assert regimes == {True, False}
