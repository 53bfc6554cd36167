"""Treatments and behaviour against closed forms (issue: treatments and behaviour)."""

import math

import numpy as np
import pytest

from mssim.config.load import load_scenario
from mssim.model.behaviour import adverse_event_types, bang_index, per_session_risk
from mssim.model.dropout import dropout_hazard
from mssim.model.engine import _dropout_pilot, simulate
from mssim.model.interventions import regimens, session_days
from mssim.trial.estimands import potential_endpoint, true_effects

# A cohort whose fatigue never touches the 0-10 floor or ceiling, with full
# adherence, instant build-up, no relapses, no dropout, neutral blinding and no
# practitioner effects: effects can then be compared with closed forms.
TRACTABLE = [
    "population.screening.enabled=false",
    "symptoms.fatigue.mean=5.0",
    "symptoms.fatigue.between_sd=0.6",
    "symptoms.fatigue.day_sd=0.4",
    "symptoms.fatigue.drift_sd=0.1",
    "coupling.sleep_to_fatigue=0.0",
    "relapses.annual_rate={rrms=0.0, spms=0.0, ppms=0.0}",
    "dropout.rate=0.0",
]
ARM = {
    "adherence": 1.0,
    "gain_per_session": 1.0,
    "guess_verum": 0.5,
    "guess_dont_know": 0.0,
    "practitioner_sd": 0.0,
}


def arms(**kinds):
    """An inline-table override for the arms, each with the tractable settings."""
    parts = []
    for name, (kind, extra) in kinds.items():
        fields = {"intervention": f'"{kind}"'}
        if kind in ("acupuncture", "sham"):
            fields |= {k: repr(v) for k, v in ARM.items()}
            fields["adverse_events"] = "{}"
        fields |= {k: repr(v) for k, v in extra.items()}
        parts.append(f"{name} = {{{', '.join(f'{k} = {v}' for k, v in fields.items())}}}")
    return "arms={" + ", ".join(parts) + "}"


def contrast_check(s, a, b, expected, visit_override=None):
    """Mean potential-outcome difference of regimens a - b vs a closed form, within 4 MCSE."""
    o = simulate(s, np.arange(6), 400)
    change, _ = potential_endpoint(s, o, s.trial.primary_endpoint)
    diff = (change[..., a] - change[..., b]).ravel()
    mcse = diff.std() / math.sqrt(diff.size)
    assert abs(diff.mean() - expected) < 4 * mcse + 1e-12, (diff.mean(), expected, mcse)
    return diff.mean()


def test_sham_minus_usual_care_is_the_nonspecific_effect():
    s = load_scenario(
        None,
        [
            *TRACTABLE,
            arms(sham=("sham", {"nonspecific_effect": 0.45}), usual_care=("usual_care", {})),
        ],
    )
    contrast_check(s, 0, 1, -0.45 * s.symptoms.fatigue.reference_sd)


def test_verum_minus_sham_is_the_specific_effect():
    s = load_scenario(
        None,
        [
            *TRACTABLE,
            arms(
                acupuncture=("acupuncture", {"specific_effect": 0.3, "nonspecific_effect": 0.45}),
                sham=("sham", {"nonspecific_effect": 0.45}),
            ),
        ],
    )
    contrast_check(s, 0, 1, -0.3 * s.symptoms.fatigue.reference_sd)


def test_effect_fades_after_the_last_session_with_its_half_life():
    half_life = 14.0
    s = load_scenario(
        None,
        [
            *TRACTABLE,
            "trial.follow_up_weeks=[16, 24]",
            arms(
                sham=("sham", {"nonspecific_effect": 0.8, "half_life_days": half_life}),
                usual_care=("usual_care", {}),
            ),
        ],
    )
    o = simulate(s, np.arange(6), 400)
    last = int(session_days(2.0, 12, 1)[-1])
    retain = 0.5 ** (1 / half_life)

    def window_dose(visit_day):
        # a session's effect starts the next day; the dose then decays daily
        days = np.arange(visit_day - 6, visit_day + 1)
        return np.mean(np.where(days > last, retain ** (days - last - 1), 1.0))

    scores = o.scores[..., 0]  # (R, N, regimens, visits)
    diff = scores[..., 0, :] - scores[..., 1, :]  # sham - usual care at each visit
    v12, v16, v24 = (list(o.visit_days).index(7 * w) for w in (12, 16, 24))
    for v in (v16, v24):
        ratio = window_dose(o.visit_days[v]) / window_dose(o.visit_days[v12])
        residual = (diff[..., v] - ratio * diff[..., v12]).ravel()
        assert abs(residual.mean()) < 4 * residual.std() / math.sqrt(residual.size)
    assert diff[..., v24].mean() > 0.3 * diff[..., v12].mean()  # still shrinking, not gone
    assert abs(diff[..., v24].mean()) < 0.5 * abs(diff[..., v12].mean())


def test_null_effect_truth_is_exactly_zero():
    from pathlib import Path

    s = load_scenario(Path(__file__).parent.parent / "scenarios" / "null_effect.toml")
    o = simulate(s, np.arange(5), 60)
    for kind, values in true_effects(s, o, "fatigue").items():
        assert (values == 0.0).all(), kind


@pytest.mark.parametrize("mechanism", ["mcar", "mnar"])
def test_complete_case_bias_under_dropout(mechanism):
    """Each arm's complete-case mean change vs the mean over all its patients."""
    s = load_scenario(
        None, [f"dropout.mechanism={mechanism}", "dropout.rate=0.35", "dropout.strength=2.0"]
    )
    o = simulate(s, np.arange(8), 200)
    change, _ = potential_endpoint(s, o, "fatigue")
    completed = o.dropout_day > o.visit_days[-1]
    for g in range(change.shape[-1]):
        everyone, completers = change[..., g], change[..., g][completed[..., g]]
        gap = completers.mean() - everyone.mean()
        mcse = completers.std() / math.sqrt(completers.size)
        if mechanism == "mcar":
            assert abs(gap) < 4 * mcse
        else:
            # those who get worse (unseen) leave: completers look better than everyone
            assert gap < -4 * mcse


def test_adverse_event_counts_match_their_rates():
    s = load_scenario(
        None,
        [
            "arms.acupuncture.adverse_events={minor={per_patient=0.3, dropout=0.0}, serious={per_patient=0.1, dropout=1.0}}",
            "dropout.rate=0.0",
        ],
    )
    o = simulate(s, np.arange(6), 200)
    labels = adverse_event_types(s)
    sessions = o.sessions_attended[..., 0].sum()
    expected = 24 * 0.9  # sessions x adherence
    for name, risk in (("minor", 0.3), ("serious", 0.1)):
        rate = 1 - (1 - risk) ** (1 / expected)  # per attended session
        count = o.adverse_events[..., 0, labels.index(f"acupuncture:{name}")].sum()
        # every attended session is a Bernoulli trial; the serious ones end attendance
        assert abs(count - rate * sessions) < 4 * math.sqrt(sessions * rate * (1 - rate))
    serious = o.adverse_events[..., 0, labels.index("acupuncture:serious")] > 0
    assert (o.dropout_day[..., 0][serious] <= o.visit_days[-1]).all()


def test_adverse_event_risks_are_per_patient_over_the_course():
    # the same per-patient risk whatever the number of sessions: 9% any event
    # (Witt 2009; Bäumler 2021) over 10 or over 72 sessions
    for weeks, per_week in ((5, 2.0), (24, 3.0)):
        s = load_scenario(
            None,
            [
                f"arms.acupuncture.weeks={weeks}",
                f"arms.acupuncture.sessions_per_week={per_week}",
                f"arms.sham.weeks={weeks}",
                f"arms.sham.sessions_per_week={per_week}",
                "arms.acupuncture.adherence=1.0",
                "arms.acupuncture.adverse_events={serious={per_patient=0.0}}",
                "dropout.rate=0.0",
                f"trial.weeks={max(weeks, 12)}",
            ],
        )
        o = simulate(s, np.arange(4), 500)
        any_event = (o.adverse_events[..., 0, :].sum(-1) > 0).mean()
        mcse = math.sqrt(0.09 * 0.91 / 2000)
        assert abs(any_event - 0.09) < 4 * mcse


def test_missed_sessions_lower_the_dose():
    full = load_scenario(
        None,
        [
            *TRACTABLE,
            arms(sham=("sham", {"nonspecific_effect": 0.5}), usual_care=("usual_care", {})),
        ],
    )
    half = load_scenario(
        None,
        [
            *TRACTABLE,
            arms(
                sham=(
                    "sham",
                    {"nonspecific_effect": 0.5, "adherence": 0.3, "gain_per_session": 0.1},
                ),
                usual_care=("usual_care", {}),
            ),
        ],
    )
    d_full = contrast_check(full, 0, 1, -0.5 * full.symptoms.fatigue.reference_sd)
    o = simulate(half, np.arange(3), 200)
    change, _ = potential_endpoint(half, o, "fatigue")
    assert abs((change[..., 0] - change[..., 1]).mean()) < 0.8 * abs(d_full)


def test_bang_blinding_index():
    g = np.array([1, 1, 1, 0, -1])  # 3 verum, 1 don't know, 1 sham
    assert bang_index(g, verum=True) == pytest.approx((3 - 1) / 5)
    assert bang_index(g, verum=False) == pytest.approx((1 - 3) / 5)
    assert math.isnan(bang_index(np.array([], dtype=int), verum=True))


def test_per_session_risk_gives_the_per_patient_risk_over_the_expected_sessions():
    s = load_scenario(None, ["arms.acupuncture.adherence=0.8"])
    arm = s.arms["acupuncture"]
    q = per_session_risk(arm)
    expected = 24 * 0.8
    for risk, ae in zip(q, arm.adverse_events.values(), strict=True):
        assert 1 - (1 - risk) ** expected == pytest.approx(ae.per_patient, rel=1e-12)


def test_dropout_rate_is_realised_with_adverse_event_dropouts_under_mcar():
    # half the patients have an event that ends participation half the time: the
    # hazard makes up the rest, so 0.3 are gone by the last visit, not more
    s = load_scenario(
        None,
        [
            "arms.acupuncture.adverse_events={minor={per_patient=0.5, dropout=0.5}}",
            "dropout.rate=0.3",
        ],
    )
    o = simulate(s, np.arange(8), 500)
    gone = (o.dropout_day <= o.visit_days[-1]).mean(axis=(1, 2))
    mcse = gone.std(ddof=1) / math.sqrt(gone.size)
    assert abs(gone.mean() - 0.3) < 4 * mcse
    acupuncture, sham = ((o.dropout_day[..., g] <= o.visit_days[-1]).mean() for g in (0, 1))
    assert acupuncture > sham + 0.1  # the events add to the acupuncture arm only


def test_pilot_calibration_reduces_to_the_closed_form_without_informative_dropout():
    # MAR with strength 0 is MCAR: the pilot's hazard equals the closed form
    no_leaving = [
        f"arms.{a}.adverse_events={{minor={{dropout=0.0}}, serious={{dropout=0.0}}}}"
        for a in ("acupuncture", "sham")
    ]
    mar = load_scenario(None, [*no_leaving, "dropout.mechanism=mar", "dropout.strength=0"])
    mcar = load_scenario(None, no_leaving)
    horizon = mcar.horizon_days()
    closed = dropout_hazard(mcar, regimens(mcar), horizon, _dropout_pilot)
    assert closed == pytest.approx(-math.log(0.9) / horizon, rel=1e-12)
    pilot = dropout_hazard(mar, regimens(mar), horizon, _dropout_pilot)
    assert pilot == pytest.approx(closed, rel=1e-9)
