"""Daily diary endpoints of a series of N-of-1 trials (issue 17: daily diary endpoints)."""

import math
import warnings
from pathlib import Path

import numpy as np
import pytest

from mssim.config import sizes
from mssim.config.load import load_scenario
from mssim.config.relevance import inert_reason
from mssim.errors import MssimError
from mssim.model.engine import one_trial, simulate
from mssim.montecarlo.assurance import run_assurance
from mssim.montecarlo.calibration import NULL_EFFECT
from mssim.montecarlo.n_of_1 import power_by_patients_and_cycles
from mssim.montecarlo.power import chunk_statistics, estimate
from mssim.montecarlo.prior_replicate import replicate_scenario
from mssim.registry import INSTRUMENTS
from mssim.trial.analyses.n_of_1 import fit_mixed, long_frame, mixed, paired
from mssim.trial.analyses.n_of_1_patients import series_patients
from mssim.trial.data import trial_data
from mssim.trial.estimands import true_effects
from mssim.trial.randomization import randomize, randomized, total_patients

SCENARIO = Path(__file__).parent.parent / "scenarios" / "n_of_1.toml"
DIARY = 'trial.n_of_1.period_score="diary"'
EFFECT = "arms.acupuncture.specific_effect"


def diary_series(replicates: int, *more: str):
    s = load_scenario(SCENARIO, ["arms.acupuncture.specific_effect=1.0", DIARY, *more])
    n = total_patients(s, 4)
    outcomes = simulate(s, np.arange(replicates), n, keep_daily=True)
    data = trial_data(s, outcomes, randomize(s, outcomes), "fatigue", n)
    return s, outcomes, data


def test_periods_are_scored_by_the_mean_diary_after_the_wash_in():
    """Against a loop over patients and periods of the allocated sequence's daily diary."""
    s, o, data = diary_series(2, "dropout.rate=0.4")
    k = s.symptoms.active().index("fatigue")
    days, wash_in, length = o.daily.days, s.trial.n_of_1.wash_in_days, 7 * s.trial.weeks
    starts = [7 * p * (s.trial.weeks + s.trial.washout_weeks) for p in range(6)]
    partial = 0
    for r in range(2):
        for i in range(data.regimen.shape[1]):
            diary = o.daily.diary[r, i, data.regimen[r, i], :, k]
            windows = [days <= 0] + [(days > a + wash_in) & (days <= a + length) for a in starts]
            for v, window in enumerate(windows):
                seen = window & np.isfinite(diary)
                assert data.seen[r, i, v] == seen.any()
                if seen.any():
                    assert data.scores[r, i, v] == pytest.approx(diary[seen].mean(), abs=1e-12)
                    partial += seen.sum() < window.sum()
            assert data.observed[r, i] == data.seen[r, i, 1:].all()
    assert partial > 0 and not data.observed.all()  # dropout cut some periods short
    np.testing.assert_array_equal(data.baseline, data.scores[..., 0])


# R 4.x, nlme, on long_frame(data, 0, r) of diary_series(2), r = 0, 1, written to CSV:
#   m <- lme(y ~ treat, random = ~ treat | id, data = d, method = "REML")
#   summary(m)$tTable["treat", c("Value", "Std.Error")]
#   v <- getVarCov(m); c(v[1, 1], v[2, 2], m$sigma^2)
R_LME_DIARY = [
    # (estimate, SE, var(intercept), var(treat), residual variance)
    (-0.48252078609221, 0.16023604636862, 2.4359354, 0.2950382, 0.6358175),
    (-0.78160919540230, 0.20914812000740, 2.3951645, 0.8981289, 0.5556244),
]


def test_mixed_model_on_diary_means_agrees_with_nlme_lme():
    """The aggregated estimate and its SE to 1e-4; the variance components (a flat REML
    surface, where statsmodels and nlme stop at slightly different points) to 1e-3 relative."""
    _, _, data = diary_series(2)
    expected = np.array(R_LME_DIARY)
    result = mixed(data, 0, 0, 0.05)
    np.testing.assert_allclose(result.estimate, expected[:, 0], rtol=0, atol=1e-4)
    np.testing.assert_allclose(result.se, expected[:, 1], rtol=0, atol=1e-4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fits = [fit_mixed(long_frame(data, 0, r)) for r in range(2)]
    components = [[f.cov_re.iloc[0, 0], f.cov_re.iloc[1, 1], f.scale] for f in fits]
    np.testing.assert_allclose(components, expected[:, 2:], rtol=1e-3)
    # the per-patient paired analysis works on the same means
    np.testing.assert_allclose(paired(data, 0, 0, 0.05).estimate, mixed(data, 0, 0, 0.05).estimate)


def test_type_i_error_of_the_diary_endpoint_under_no_effect():
    s = load_scenario(SCENARIO, [*NULL_EFFECT, DIARY, "power.n_per_arm=[2]"])
    row = estimate(s, replicates=1000, progress=False).iloc[0]
    mcse = math.sqrt(s.trial.alpha * (1 - s.trial.alpha) / row.replicates)
    assert abs(row.power - s.trial.alpha) < 3.5 * mcse, row.power
    assert row.true_effect == 0.0


def test_diary_power_grows_with_cycles_at_the_same_number_of_patients():
    s = load_scenario(SCENARIO, ["arms.acupuncture.specific_effect=0.3", DIARY])
    table = power_by_patients_and_cycles(s, [32], [2, 3, 4], replicates=300, progress=False)
    power = table.power.tolist()
    assert power[0] < power[1] < power[2], power
    spread = math.hypot(table.power_mcse.iloc[0], table.power_mcse.iloc[2])
    assert power[2] - power[0] > 3 * spread, power


def test_the_truth_is_the_first_period_latent_contrast():
    s, o, _ = diary_series(2)
    k = s.symptoms.active().index("fatigue")
    window = (o.daily.days > s.trial.n_of_1.wash_in_days) & (o.daily.days <= 7 * s.trial.weeks)
    first = o.daily.latent[..., window, k].mean(-1)  # (R, N, regimens)
    expected = (first[..., 0] - first[..., -1]).mean(1)
    np.testing.assert_allclose(true_effects(s, o, "fatigue")["mean_difference"][:, 0], expected)


@pytest.mark.parametrize(
    "overrides,field",
    [
        ([DIARY, 'trial.design="crossover"', 'trial.analysis="crossover"'], "trial.n_of_1"),
        ([DIARY, "trial.n_of_1.wash_in_days=21"], "trial.n_of_1.wash_in_days"),
        (['trial.n_of_1.period_score="daily"'], "trial.n_of_1.period_score"),
    ],
)
def test_bad_diary_settings_are_refused_naming_the_field(overrides, field):
    with pytest.raises(MssimError, match=rf"{field}: "):
        load_scenario(SCENARIO, overrides)


def test_wash_in_is_inert_without_the_diary():
    s = load_scenario(SCENARIO, [])
    assert "period_score = 'diary'" in inert_reason(s, "trial.n_of_1.wash_in_days")
    assert inert_reason(load_scenario(SCENARIO, [DIARY]), "trial.n_of_1.wash_in_days") is None


def test_per_patient_responders_on_the_diary_use_the_nrs_mcid():
    """Diary means are NRS points: a responder improves by the NRS's MCID, not the FSS's."""
    s = load_scenario(SCENARIO, ["arms.acupuncture.specific_effect=3.0", DIARY])
    n = total_patients(s, 4)
    series = series_patients(randomized(s, one_trial(s, n)))
    nrs = INSTRUMENTS.get("nrs").mcid
    assert nrs != s.symptoms.fatigue.mcid
    np.testing.assert_array_equal(series.true_responder, series.true_effect <= -nrs)
    assert series.true_responder.any() and not series.true_responder.all()
    np.testing.assert_array_equal(
        series.paired_correct, (series.paired_estimate <= -nrs) == series.true_responder
    )


def test_the_memory_preflight_counts_every_sequence_and_the_daily_paths():
    instrument = load_scenario(SCENARIO, [])
    diary = load_scenario(SCENARIO, [DIARY])
    two = load_scenario(SCENARIO, ['trial.design="n_of_1_2"'])
    # the engine simulates every patient under all 2**k sequences
    assert sizes.patient_bytes(instrument) > sizes.patient_bytes(two)
    plain = sizes.monte_carlo(instrument, 1000, [6], budget=2**40)
    daily = sizes.monte_carlo(diary, 1000, [6], budget=2**40)
    assert daily.memory > plain.memory
    per_replicate = total_patients(diary, 6) * sizes.patient_bytes(diary, keep_daily=True)
    assert daily.memory - plain.memory == daily.chunk_size * (
        per_replicate - total_patients(diary, 6) * sizes.patient_bytes(diary)
    )


def test_assurance_over_a_diary_scored_series_is_each_replicates_own_trial():
    s = load_scenario(
        SCENARIO,
        [DIARY, f'priors={{"{EFFECT}"={{distribution="normal", mean=0.3, sd=0.2}}}}'],
    )
    result = run_assurance(s, n_per_arm=[2], replicates=3, chunk_size=3, progress=False)
    for k in range(3):
        drawn, _ = replicate_scenario(s, k)
        alone = chunk_statistics(drawn, [2], [s.trial.analysis], np.array([k]))
        assert result.stats["estimate"][0, 0, 0, 0, k] == alone["estimate"][0, 0, 0, 0, 0]
