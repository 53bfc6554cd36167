"""Group-sequential boundaries against rpact (R 4, rpact 4.x), to 1e-6 on the z scale.

Every reference value below was printed by the R call quoted beside it, with
``sprintf("%.9f", ...)``.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from mssim.trial.sequential.boundaries import (
    conditional_power_z,
    crossing,
    group_sequential,
    wang_tsiatis,
)
from mssim.trial.sequential.spending import spent

THIRDS = np.array([1 / 3, 2 / 3, 1.0])
TOL = 1e-6


def test_classical_obrien_fleming_and_pocock():
    # getDesignGroupSequential(kMax=3, alpha=0.025, sided=1, typeOfDesign="OF")$criticalValues
    #   3.471091445 2.454432299 2.004035580
    assert wang_tsiatis(THIRDS, 0.025, 0.0) == pytest.approx(
        [3.471091445, 2.454432299, 2.004035580], abs=TOL
    )
    # getDesignGroupSequential(kMax=3, alpha=0.025, sided=1, typeOfDesign="P")$criticalValues
    #   2.289478456 2.289478456 2.289478456
    assert wang_tsiatis(THIRDS, 0.025, 0.5) == pytest.approx([2.289478456] * 3, abs=TOL)


def test_lan_demets_obrien_fleming():
    # getDesignGroupSequential(kMax=3, alpha=0.025, sided=1, typeOfDesign="asOF")
    #   $criticalValues 3.710302873 2.511427484 1.993047483
    #   $alphaSpent     0.000103506 0.006048389 0.024999990
    #   $stageLevels    0.000103506 0.006012199 0.023128124
    b = group_sequential(THIRDS, 0.025, "obrien_fleming")
    assert b.efficacy[0] == pytest.approx([3.710302873, 2.511427484, 1.993047483], abs=TOL)
    assert b.alpha_spent[0] == pytest.approx([0.000103506, 0.006048389, 0.025], abs=1e-8)
    assert norm.sf(b.efficacy[0]) == pytest.approx(
        [0.000103506, 0.006012199, 0.023128124], abs=1e-8
    )
    assert np.all(np.isneginf(b.futility[0, :2]))
    # unequal looks: ... typeOfDesign="asOF", informationRates=c(0.3,0.55,1)
    #   3.928572543 2.807876863 1.974015959
    b = group_sequential([0.3, 0.55, 1.0], 0.025, "obrien_fleming")
    assert b.efficacy[0] == pytest.approx([3.928572543, 2.807876863, 1.974015959], abs=TOL)


def test_lan_demets_pocock_and_kim_demets():
    # getDesignGroupSequential(kMax=3, alpha=0.025, sided=1, typeOfDesign="asP")
    #   2.279428239 2.294911139 2.295939587
    b = group_sequential(THIRDS, 0.025, "pocock")
    assert b.efficacy[0] == pytest.approx([2.279428239, 2.294911139, 2.295939587], abs=TOL)
    # getDesignGroupSequential(kMax=4, alpha=0.025, sided=1, typeOfDesign="asKD", gammaA=3,
    #   informationRates=c(0.2,0.45,0.7,1))  3.540083799 2.856092833 2.432067327 2.017321907
    b = group_sequential([0.2, 0.45, 0.7, 1.0], 0.025, "kim_demets", 3.0)
    assert b.efficacy[0] == pytest.approx(
        [3.540083799, 2.856092833, 2.432067327, 2.017321907], abs=TOL
    )


def test_hsd_with_beta_spending_futility_as_gsdesign_test_type_4():
    # gsDesign(k=3, test.type=4, sfu=sfHSD, sfupar=-4) (sfl=sfHSD, sflpar=-2, beta=0.1),
    # computed with rpact since gsDesign is not installed:
    # getDesignGroupSequential(kMax=3, alpha=0.025, beta=0.1, sided=1, typeOfDesign="asHSD",
    #   gammaA=-4, typeBetaSpending="bsHSD", gammaB=-2, bindingFutility=FALSE)
    #   $criticalValues 3.010739485 2.546530552 1.999226354
    #   $futilityBounds -0.238724031 0.941067241
    #   $betaSpent      0.014833710 0.043725832 0.100000001
    #   getDesignCharacteristics(d)$shift 11.241714550 (the squared drift)
    b = group_sequential(THIRDS, 0.025, "hsd", -4.0, "beta_spending", beta=0.1,
                         beta_spending="hsd", beta_parameter=-2.0)  # fmt: skip
    assert b.efficacy[0] == pytest.approx([3.010739485, 2.546530552, 1.999226354], abs=TOL)
    assert b.futility[0, :2] == pytest.approx([-0.238724031, 0.941067241], abs=TOL)
    assert b.futility[0, 2] == b.efficacy[0, 2]
    assert b.drift[0] ** 2 == pytest.approx(11.241714550, abs=1e-5)
    _, down = crossing(b.information, b.efficacy, b.futility, b.drift)
    assert np.cumsum(down[0, :2]) == pytest.approx([0.014833710, 0.043725832], abs=1e-8)
    # ... the same with bindingFutility=TRUE
    #   $criticalValues 3.010739485 2.546219207 1.964336790
    #   $futilityBounds -0.257924278 0.913905388; shift 11.019815917
    b = group_sequential(THIRDS, 0.025, "hsd", -4.0, "beta_spending", beta=0.1, binding=True)
    assert b.efficacy[0] == pytest.approx([3.010739485, 2.546219207, 1.964336790], abs=TOL)
    assert b.futility[0, :2] == pytest.approx([-0.257924278, 0.913905388], abs=TOL)
    assert b.drift[0] ** 2 == pytest.approx(11.019815917, abs=1e-5)


def test_binding_z_futility():
    # getDesignGroupSequential(kMax=3, alpha=0.025, sided=1, typeOfDesign="asOF",
    #   futilityBounds=c(0,0), bindingFutility=TRUE)  3.710302873 2.510358103 1.968275674
    b = group_sequential(THIRDS, 0.025, "obrien_fleming", futility="z", futility_value=0.0,
                         binding=True)  # fmt: skip
    assert b.efficacy[0] == pytest.approx([3.710302873, 2.510358103, 1.968275674], abs=TOL)
    # non-binding: the efficacy boundaries ignore futility
    nb = group_sequential(THIRDS, 0.025, "obrien_fleming", futility="z", futility_value=0.0)
    assert nb.efficacy[0] == pytest.approx([3.710302873, 2.511427484, 1.993047483], abs=TOL)


def test_crossing_probabilities_equal_rpact_power():
    # d <- getDesignGroupSequential(kMax=3, alpha=0.025, sided=1, typeOfDesign="asOF",
    #   futilityBounds=c(0,0), bindingFutility=FALSE)
    # getPowerMeans(d, groups=2, normalApproximation=TRUE, alternative=0.5, stDev=1,
    #   maxNumberOfSubjects=200)
    #   $overallReject 0.928264121; $rejectPerStage 0.047552604 0.598294914 0.282416603
    #   $futilityPerStage 0.020613417 0.000760648; $expectedNumberOfSubjects 150.974159813
    b = group_sequential(THIRDS, 0.025, "obrien_fleming", futility="z", futility_value=0.0)
    drift = 0.5 / np.sqrt(1 / 100 + 1 / 100)
    up, down = crossing(b.information, b.efficacy, b.futility, drift)
    assert up[0] == pytest.approx([0.047552604, 0.598294914, 0.282416603], abs=1e-8)
    assert down[0, :2] == pytest.approx([0.020613417, 0.000760648], abs=1e-8)
    stop = up[0] + down[0]
    asn = 200 * (THIRDS[0] * stop[0] + THIRDS[1] * stop[1] + (1 - stop[:2].sum()))
    assert asn == pytest.approx(150.974159813, abs=1e-5)


def test_crossing_with_beta_spending_design():
    # d: the asHSD(-4) / bsHSD(-2) non-binding design above;
    # getPowerMeans(d, groups=2, normalApproximation=TRUE, alternative=0.4, stDev=1,
    #   maxNumberOfSubjects=240)
    #   $rejectPerStage 0.110875540 0.388677262 0.350487465
    #   $futilityPerStage 0.021301647 0.044247769
    # ... alternative=0: $overallReject 0.023304515; $futilityPerStage 0.405659791 0.429004488
    b = group_sequential(THIRDS, 0.025, "hsd", -4.0, "beta_spending", beta=0.1)
    up, down = crossing(b.information, b.efficacy, b.futility, 0.4 / np.sqrt(2 / 120))
    assert up[0] == pytest.approx([0.110875540, 0.388677262, 0.350487465], abs=1e-8)
    assert down[0, :2] == pytest.approx([0.021301647, 0.044247769], abs=1e-8)
    up, down = crossing(b.information, b.efficacy, b.futility, 0.0)
    assert up[0].sum() == pytest.approx(0.023304515, abs=1e-8)
    assert down[0, :2] == pytest.approx([0.405659791, 0.429004488], abs=1e-8)


def test_vectorized_rows_equal_one_at_a_time():
    t = np.array([[0.3, 0.6, 1.0], [0.25, 0.5, 1.0], [0.4, 0.9, 1.0]])
    together = group_sequential(t, 0.025, "hsd", -2.0, "beta_spending", beta=0.2, drift=3.0)
    for i, row in enumerate(t):
        alone = group_sequential(row, 0.025, "hsd", -2.0, "beta_spending", beta=0.2, drift=3.0)
        assert together.efficacy[i] == pytest.approx(alone.efficacy[0], abs=1e-12)
        assert together.futility[i] == pytest.approx(alone.futility[0], abs=1e-12)


@settings(max_examples=15, deadline=None)
@given(
    st.lists(st.floats(0.1, 0.95), min_size=1, max_size=3, unique=True),
    st.sampled_from(["obrien_fleming", "pocock", "hsd", "kim_demets"]),
)
def test_alpha_is_spent_exactly(interims, family):
    t = np.array([*sorted(interims), 1.0])
    if np.any(np.diff(t) < 0.02):
        return
    parameter = {"hsd": 1.0, "kim_demets": 2.0}.get(family, 0.0)
    b = group_sequential(t, 0.025, family, parameter)
    up, _ = crossing(b.information, b.efficacy, b.futility, 0.0)
    assert np.cumsum(up[0]) == pytest.approx(spent(family, t, 0.025, parameter), abs=1e-9)


def test_conditional_power_futility():
    t, final, power = 0.5, 1.96, 0.2
    z = conditional_power_z(np.array(t), np.array(final), power)
    # conditional power under the current trend (Jennison and Turnbull 2000, 10.2), directly
    theta = z / np.sqrt(t)
    direct = norm.sf((final - z * np.sqrt(t) - theta * (1 - t)) / np.sqrt(1 - t))
    assert direct == pytest.approx(power, abs=1e-12)
    b = group_sequential(THIRDS, 0.025, "obrien_fleming", futility="conditional_power",
                         futility_value=0.2, binding=True)  # fmt: skip
    expected = conditional_power_z(THIRDS[:2], b.efficacy[0, -1], 0.2)
    assert b.futility[0, :2] == pytest.approx(expected, abs=1e-9)
    up, _ = crossing(b.information, b.efficacy, b.futility, 0.0)
    assert up.sum() == pytest.approx(0.025, abs=1e-9)  # binding: alpha spent with futility


@pytest.mark.parametrize("nodes", [5, 8, 13, 96, 100])
def test_compiled_transition_density_is_the_numpy_expression_bit_for_bit(nodes):
    from mssim.trial.sequential.boundaries import _phi
    from mssim.trial.sequential.convolution import transition_density

    rng = np.random.default_rng(nodes)
    b = 7
    z = rng.normal(size=(b, nodes)) * 3
    mean = rng.normal(size=(b, nodes)) * 3
    sd = rng.uniform(0.2, 1.5, size=(b, 1))
    g = rng.uniform(0, 0.1, size=(b, nodes))
    sd[0, 0] = 0.05  # a narrow transition: terms far enough out that exp underflows to 0
    assert (((z[0, :, None] - mean[0, None, :]) / sd[0, 0]) ** 2 > 1500).any()
    expected = (_phi((z[:, :, None] - mean[:, None, :]) / sd[:, :, None]) * g[:, None, :]).sum(
        axis=2
    ) / sd
    assert np.array_equal(transition_density(z, mean, sd, g), expected)


def test_compiled_transition_density_refuses_rows_numpy_would_split():
    from mssim.trial.sequential.convolution import transition_density

    wide = np.ones((1, 129))
    with pytest.raises(ValueError, match="at most 128"):
        transition_density(wide, wide, np.ones((1, 1)), wide)
