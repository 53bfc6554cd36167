"""Assurance over priors on scenario fields (issue 17, part 1)."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from mssim.config.load import load_scenario
from mssim.errors import MssimError
from mssim.montecarlo.assurance import centre_scenario, next_to_power, prior_draws, run_assurance
from mssim.montecarlo.power import KINDS, estimate
from mssim.outputs.figures.assurance import assurance_figure

EFFECT = "arms.acupuncture.specific_effect"


def with_prior(prior: str, *more: str):
    return load_scenario(None, [f'priors={{"{EFFECT}"={{{prior}}}}}', *more])


def test_point_mass_prior_gives_power_bit_for_bit():
    s = with_prior('distribution="normal", mean=0.3, sd=0.0', "power.n_per_arm=[10, 20]")
    result = run_assurance(s, replicates=30, chunk_size=12, progress=False)
    power = estimate(centre_scenario(s), replicates=30, chunk_size=12, progress=False)
    assert (result.draws[EFFECT] == 0.3).all()
    np.testing.assert_array_equal(result.table.assurance.to_numpy(), power.power.to_numpy())
    np.testing.assert_array_equal(
        result.table.true_effect_mean.to_numpy(), power.true_effect.to_numpy()
    )
    np.testing.assert_array_equal(
        result.table.estimate_mean.to_numpy(), power.mean_estimate.to_numpy()
    )


def test_draws_are_keyed_by_replicate_whatever_the_chunks():
    s = with_prior('distribution="beta", alpha=2.0, beta=5.0, low=0.0, high=0.6')
    whole = prior_draws(s, np.arange(50))
    parts = np.concatenate([prior_draws(s, np.arange(a, b)) for a, b in [(0, 7), (7, 50)]], -1)
    np.testing.assert_array_equal(whole, parts)
    a = run_assurance(s, n_per_arm=[10], replicates=12, chunk_size=12, progress=False)
    b = run_assurance(s, n_per_arm=[10], replicates=12, chunk_size=5, progress=False)
    pd.testing.assert_frame_equal(a.table, b.table, check_exact=True)
    pd.testing.assert_frame_equal(a.curve, b.curve, check_exact=True)


@pytest.mark.parametrize(
    ("prior", "mean", "sd", "low", "high"),
    [
        ('distribution="normal", mean=0.2, sd=0.1', 0.2, 0.1, -math.inf, math.inf),
        # truncated to [0, 0.3] around 0.1: scipy's truncnorm moments
        (
            'distribution="truncated_normal", mean=0.1, sd=0.2, low=0.0, high=0.3',
            None,
            None,
            0.0,
            0.3,
        ),
        ('distribution="beta", alpha=2.0, beta=6.0, low=0.0, high=0.4', 0.1, None, 0.0, 0.4),
        ('distribution="uniform", low=0.05, high=0.25', 0.15, 0.2 / math.sqrt(12), 0.05, 0.25),
    ],
)
def test_draws_follow_the_prior(prior, mean, sd, low, high):
    from scipy.stats import kstest, truncnorm

    s = with_prior(prior)
    p = s.priors[EFFECT]
    x = prior_draws(s, np.arange(4000))[0]
    assert low <= x.min() and x.max() <= high
    if p.distribution == "truncated_normal":
        a, b = (0.0 - 0.1) / 0.2, (0.3 - 0.1) / 0.2
        mean, sd = truncnorm.mean(a, b, 0.1, 0.2), truncnorm.std(a, b, 0.1, 0.2)
        assert kstest(x, truncnorm(a, b, 0.1, 0.2).cdf).pvalue > 1e-3
    assert abs(p.centre() - mean) < 1e-12
    assert abs(x.mean() - mean) < 4 * x.std() / math.sqrt(len(x))
    if sd is not None:
        assert abs(x.std() / sd - 1) < 4 / math.sqrt(2 * len(x))


def test_normal_prior_agrees_with_ohagan_closed_form():
    """O'Hagan, Stevens & Campbell (2005): with theta ~ N(m, v) and estimate ~ N(theta, s^2),
    P(|estimate| > z s) = Phi((m - z s) / sqrt(s^2 + v)) + Phi((-m - z s) / sqrt(s^2 + v)).

    The prior on the true effect (endpoint units) is what the prior on the specific
    effect (SD units) implies: the replicates' true effects regressed on their drawn
    values give the line and the scatter about it (sampling of patients).
    """
    s = with_prior('distribution="normal", mean=0.15, sd=0.25', "power.n_per_arm=[60]")
    r = 400
    result = run_assurance(s, replicates=r, chunk_size=100, progress=False)
    row = result.table.iloc[0]
    x = result.draws[EFFECT].to_numpy()
    truth = result.stats["truth"][KINDS.index("mean_difference"), 0, 0]
    se = result.stats["se"][0, 0, 0, 0]
    slope, intercept = np.polyfit(x, truth, 1)
    scatter = np.var(truth - (intercept + slope * x), ddof=2)
    m = intercept + slope * 0.15
    v = slope**2 * 0.25**2 + scatter
    sigma = math.sqrt(np.mean(se**2))
    z = norm.ppf(1 - s.trial.alpha / 2)
    closed = norm.cdf((m - z * sigma) / math.sqrt(sigma**2 + v)) + norm.cdf(
        (-m - z * sigma) / math.sqrt(sigma**2 + v)
    )
    assert slope**2 * 0.25**2 > 10 * scatter  # the prior, not patient sampling, drives v
    assert abs(row.assurance - closed) < 3 * row.assurance_mcse, (row.assurance, closed)


@pytest.mark.parametrize(
    ("prior", "message"),
    [
        ('"trial.weeks"={distribution="uniform", low=8.0, high=12.0}', "real-valued fields only"),
        ('"arms.acupuncture.specific_efect"={distribution="normal", mean=0.1, sd=0.1}', "unknown"),
        ('"dropout.rate"={distribution="uniform", low=0.0, high=1.5}', "dropout.rate"),
        ('"dropout.strength"={distribution="uniform", low=0.0, high=1.0}', "change nothing"),
        ('"dropout.rate"={distribution="beta", alpha=2.0}', "missing beta"),
        ('"dropout.rate"={distribution="normal", mean=0.1, sd=0.1, low=0.0}', "not used: low"),
    ],
)
def test_bad_priors_are_refused_with_the_field(prior, message):
    with pytest.raises(MssimError, match=message) as err:
        run_assurance(load_scenario(None, [f"priors={{{prior}}}"]), replicates=2)
    assert "priors" in str(err.value)


def test_run_writes_assurance_next_to_power(cli, tmp_path):
    status, out, err = cli(
        "run",
        "--set",
        f'priors={{"{EFFECT}"={{distribution="uniform", low=0.0, high=0.4}}}}',
        "--set",
        "power.n_per_arm=[10, 20]",
        "--replicates",
        20,
        "--out",
        tmp_path / "r",
    )
    assert status == 0, err
    assert "Assurance" in out
    table = pd.read_csv(tmp_path / "r" / "assurance.csv")
    power = pd.read_csv(tmp_path / "r" / "power.csv")
    np.testing.assert_array_equal(table.power_at_centre, power.power)
    assert (tmp_path / "r" / "assurance.png").stat().st_size > 0
    assert len(pd.read_csv(tmp_path / "r" / "prior_draws.csv")) == 20
    html = (tmp_path / "r" / "report.html").read_text()
    assert "probability of success over the priors" in html
    assert 'id="assurance"' in html and "uniform (low 0, high 0.4)" in html
    first = table.iloc[0]
    assert f"{first.assurance:.3f} ± {first.assurance_mcse:.3f}" in html
    # a damaged assurance table is refused, naming the file and column
    table.drop(columns="assurance_mcse").to_csv(tmp_path / "r" / "assurance.csv", index=False)
    status, _, err = cli("report", tmp_path / "r")
    assert status == 2 and "assurance.csv: missing column(s) assurance_mcse" in err


def test_bad_prior_on_the_command_line_exits_2_and_writes_nothing(cli, tmp_path):
    status, _out, err = cli(
        "run",
        "--set",
        'priors={"trial.weeks"={distribution="uniform", low=8.0, high=12.0}}',
        "--out",
        tmp_path / "r",
    )
    assert status == 2
    assert 'priors."trial.weeks"' in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()


def test_figure_has_three_panels():
    s = with_prior('distribution="uniform", low=0.0, high=0.4', "power.n_per_arm=[10, 20]")
    result = run_assurance(s, replicates=20, progress=False)
    power = estimate(centre_scenario(s), replicates=20, progress=False)
    fig = assurance_figure(next_to_power(result.table, power), result.curve)
    assert len(fig.axes) == 3


def test_resume_gives_the_same_numbers(tmp_path):
    s = with_prior('distribution="uniform", low=0.0, high=0.4', "power.n_per_arm=[10]")
    first = run_assurance(s, replicates=12, chunk_size=4, out=tmp_path, progress=False)
    chunks = sorted((tmp_path / "chunks").glob("chunk-*.npz"))
    assert len(chunks) == 3
    chunks[1].unlink()  # as if interrupted before the second chunk was kept
    again = run_assurance(s, replicates=12, chunk_size=4, out=tmp_path, progress=False)
    pd.testing.assert_frame_equal(first.table, again.table, check_exact=True)
    pd.testing.assert_frame_equal(first.draws, again.draws, check_exact=True)
