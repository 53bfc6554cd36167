"""Series of N-of-1 trials: the design, its analyses and per-patient effects (issue 17, part 3)."""

import math
import shutil
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mssim.config.load import load_scenario
from mssim.errors import MssimError
from mssim.model.engine import simulate
from mssim.model.interventions import regimens
from mssim.montecarlo.calibration import NULL_EFFECT
from mssim.montecarlo.n_of_1 import power_by_patients_and_cycles
from mssim.montecarlo.power import estimate
from mssim.outputs.figures.n_of_1 import power_by_cycles
from mssim.trial.analyses.n_of_1 import fit_mixed, long_frame, mixed, paired
from mssim.trial.analyses.n_of_1_patients import (
    patient_effects,
    responders_classified,
    true_patient_effects,
)
from mssim.trial.data import trial_data
from mssim.trial.designs.n_of_1 import on_treatment
from mssim.trial.randomization import randomize, total_patients

SCENARIO = Path(__file__).parent.parent / "scenarios" / "n_of_1.toml"


def test_sequences_periods_and_visits():
    s = load_scenario(SCENARIO, ['trial.design="n_of_1_2"'])
    names = [r.name for r in regimens(s)]
    a, b = "acupuncture", "sham"
    assert names == [
        " then ".join(order) for order in ([a, b, a, b], [b, a, a, b], [a, b, b, a], [b, a, b, a])
    ]
    np.testing.assert_array_equal(
        on_treatment(np.array([0, 1, 2, 3]), 2),
        [[1, 0, 1, 0], [0, 1, 1, 0], [1, 0, 0, 1], [0, 1, 0, 1]],
    )
    # 3-week periods, 2-week washouts: visits at the end of every period
    assert s.trial.visit_weeks() == [0, 3, 8, 13, 18]
    starts = [c.start_day for c in regimens(s)[0].courses]
    assert starts == [0, 35, 70, 105]
    assert total_patients(s, 3) == 12


def test_block_randomization_is_refused():
    with pytest.raises(MssimError, match=r"trial\.randomization"):
        load_scenario(SCENARIO, ['trial.randomization="blocks"'])


def one_series(replicates: int, *more: str):
    s = load_scenario(SCENARIO, ["arms.acupuncture.specific_effect=1.0", *more])
    n = total_patients(s, 4)
    outcomes = simulate(s, np.arange(replicates), n)
    data = trial_data(s, outcomes, randomize(s, outcomes), "fatigue", n)
    return s, outcomes, data


# R 4.2.2, nlme 3.1.162, on long_frame(data, 0, r) of one_series(3) written to CSV:
#   m <- lme(y ~ treat, random = ~ treat | id, data = d, method = "REML")
#   summary(m)$tTable["treat", c("Value", "Std.Error")]
#   getVarCov(m)[1, 1]; getVarCov(m)[2, 2]; m$sigma^2
R_LME = [
    # (estimate, SE, var(intercept), var(treat), residual variance)
    (-0.50068587105624, 0.15695300567133, 0.9025743, 0.3720306, 0.4396410),
    (-0.53512132822478, 0.15690496440334, 1.0011681, 0.4533253, 0.3909458),
    (-0.37037037037037, 0.15901494671744, 0.6530719, 0.3010051, 0.4967080),
]


def test_mixed_model_agrees_with_nlme_lme():
    _, _, data = one_series(3)
    for r, (est, se, var_id, var_treat, resid) in enumerate(R_LME):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = fit_mixed(long_frame(data, 0, r))
        assert abs(fit.fe_params["treat"] - est) < 1e-4
        assert abs(fit.bse_fe["treat"] - se) < 1e-4
        np.testing.assert_allclose(
            [fit.cov_re.iloc[0, 0], fit.cov_re.iloc[1, 1], fit.scale],
            [var_id, var_treat, resid],
            atol=1e-4,
        )


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="R is not installed")
def test_mixed_model_agrees_with_live_nlme(tmp_path):
    _, _, data = one_series(2)
    for r in range(2):
        path = tmp_path / f"series{r}.csv"
        long_frame(data, 0, r).to_csv(path, index=False)
        call = (
            f"library(nlme); d <- read.csv('{path}'); "
            "m <- lme(y ~ treat, random = ~ treat | id, data = d, method = 'REML'); "
            "cat(sprintf('%.12f', summary(m)$tTable['treat', c('Value', 'Std.Error')]))"
        )
        out = subprocess.run(["Rscript", "-e", call], capture_output=True, text=True, check=True)
        est, se = map(float, out.stdout.split())
        result = mixed(data, 0, 0, 0.05)
        assert abs(result.estimate[r] - est) < 1e-4 and abs(result.se[r] - se) < 1e-4


def test_paired_analysis_equals_the_mixed_model_on_complete_series():
    """Complete, balanced series with interior variance estimates: the same effect and SE."""
    _, _, data = one_series(3)
    p, m = paired(data, 0, 0, 0.05), mixed(data, 0, 0, 0.05)
    np.testing.assert_allclose(p.estimate, m.estimate, atol=1e-10)
    np.testing.assert_allclose(p.se, m.se, atol=1e-4)


def test_type_i_error_under_no_effect():
    s = load_scenario(SCENARIO, [*NULL_EFFECT, "power.n_per_arm=[2]"])
    row = estimate(s, replicates=400, progress=False).iloc[0]
    mcse = math.sqrt(s.trial.alpha * (1 - s.trial.alpha) / row.replicates)
    assert abs(row.power - s.trial.alpha) < 3.5 * mcse, row.power
    assert abs(row.true_effect) < 1e-12


def test_power_grows_with_cycles_at_the_same_number_of_patients():
    s = load_scenario(SCENARIO, ["arms.acupuncture.specific_effect=0.3"])
    table = power_by_patients_and_cycles(s, [32], [2, 3, 4], replicates=300, progress=False)
    power = table.power.tolist()
    assert power[0] < power[1] < power[2], power
    spread = math.hypot(table.power_mcse.iloc[0], table.power_mcse.iloc[2])
    assert power[2] - power[0] > 3 * spread, power
    assert table.patients.tolist() == [32, 32, 32]
    assert len(power_by_cycles(table).axes) == 1


def test_patients_that_do_not_split_into_sequences_are_refused():
    s = load_scenario(SCENARIO)
    with pytest.raises(MssimError, match="16 sequences of at least 2 patients"):
        power_by_patients_and_cycles(s, [24], [4], replicates=2)
    with pytest.raises(MssimError, match="cycles: 5 has no design"):
        power_by_patients_and_cycles(s, [64], [5], replicates=2)


def test_shrunken_estimates_and_responders():
    s, outcomes, data = one_series(2)
    truth = true_patient_effects(s, outcomes, "fatigue", 0, 7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        effects = patient_effects(data, 0, 0)
    np.testing.assert_allclose(
        effects.paired_estimate.mean(), paired(data, 0, 0, 0.05).estimate[0], atol=1e-12
    )
    # shrinkage: the shrunken estimates spread less than the paired ones
    assert effects.shrunken_estimate.std() < effects.paired_estimate.std()
    shares = responders_classified(effects, truth[0], s.symptoms.fatigue.mcid)
    assert 0 < shares["true_responders"] < 1
    mcid = s.symptoms.fatigue.mcid
    responder = truth[0][effects.patient] <= -mcid
    expected = ((effects.shrunken_estimate <= -mcid) == responder).mean()
    assert shares["shrunken_correct"] == expected


def test_simulate_writes_the_patients_of_a_series(cli, tmp_path):
    status, out, err = cli(
        "simulate",
        SCENARIO,
        "--n",
        3,
        "--set",
        "arms.acupuncture.specific_effect=1.0",
        "--out",
        tmp_path / "one",
    )
    assert status == 0, err
    table = pd.read_csv(tmp_path / "one" / "n_of_1_patients.csv")
    analysis = pd.read_csv(tmp_path / "one" / "analysis.csv")
    assert len(table) == analysis.n_analysed.iloc[0]
    assert abs(table.paired_estimate.mean() - analysis.estimate.iloc[0]) < 1e-12
    assert f"right for {table.shrunken_correct.mean():.0%} by the shrunken" in out
