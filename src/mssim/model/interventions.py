"""Interventions: session schedules, effect kinetics and who responds how much.

A *regimen* is what a patient receives over the trial: one course of one arm
in a parallel design, or two courses in sequence in a crossover. Every patient
is simulated under every regimen from the same noise (potential outcomes).

Effect of a course on a patient (improvement, NRS points of a symptom)::

    dose(t) * [specific * response_i + nonspecific * expectation_i * blind_i
               + practitioner_j]

with ``blind_i = 1 + expectation_gain * guess_i`` (guess 1 'verum', 0 'don't
know', -1 'sham'). The specific and non-specific effects add: the defaults are
calibrated so that verum vs sham, sham vs no treatment and verum vs usual care
land in their published windows together (PARAMETERS section 9). Guesses are
drawn from one uniform per patient, so arms with the same guess shares give
every patient the same guess: with default blinding a zero specific effect is
an exact null for verum vs sham. Unblinding (``blinding.unblinding``) turns a
share of a blinded verum arm's other guesses into 'verum'.

``dose`` rises by ``gain_per_session * (1 - dose)`` at each attended session
and, after the course's last scheduled session (or dropout), halves every
``half_life_days``. A session's effect starts the next day.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields

import numpy as np
from scipy.special import ndtr

from mssim.config.scenario import Scenario
from mssim.model import libm, rng
from mssim.model.symptoms import SymptomModel
from mssim.registry import DESIGNS

GUESS_SHAM, GUESS_DONT_KNOW, GUESS_VERUM = -1, 0, 1


@dataclass(frozen=True)
class Course:
    """One arm's course of sessions inside a regimen.

    Attributes:
        arm: Arm name.
        session_days: Scheduled session days (day 0 = baseline).
        first_slot: Index of its first session among the regimen's sessions.
        start_day: First day of the course.
        end_day: Last day of the course (its last session, or its last day).
    """

    arm: str
    session_days: np.ndarray
    first_slot: int
    start_day: int
    end_day: int


@dataclass(frozen=True)
class Regimen:
    """What a patient receives over the trial."""

    name: str
    courses: tuple[Course, ...]

    @property
    def n_sessions(self) -> int:
        """Scheduled sessions over the whole regimen."""
        return sum(len(c.session_days) for c in self.courses)


def session_days(sessions_per_week: float, weeks: int, start_day: int) -> np.ndarray:
    """Evenly spaced session days (for 2 a week: every 3.5 days, rounded down)."""
    n = round(sessions_per_week * weeks)
    return start_day + np.floor(np.arange(n) * 7.0 / max(sessions_per_week, 1e-12)).astype(int)


def regimens(scenario: Scenario) -> list[Regimen]:
    """The regimens of the design: one per arm, or the crossover sequences.

    The design (:data:`mssim.registry.DESIGNS`) gives the order of arms in each
    regimen and the periods: a course starts with its period and its sessions
    stop at the period's last treatment day.
    """
    design = DESIGNS.get(scenario.trial.design)
    periods = design.periods(scenario.trial)
    out = []
    for order in design.regimen_orders(scenario.arm_names()):
        courses, slot = [], 0
        for arm_name, (offset, last) in zip(order, periods, strict=False):
            arm = scenario.arms[arm_name]
            days = session_days(arm.sessions_per_week, arm.weeks, offset + arm.start_day)
            end = int(days[-1]) if len(days) else offset
            courses.append(
                Course(arm_name, days, slot, offset, end if last is None else min(end, last))
            )
            slot += len(days)
        out.append(Regimen(" then ".join(order), tuple(courses)))
    return out


@dataclass(frozen=True)
class Responses:
    """Per-patient effect magnitudes under every regimen and course.

    Attributes:
        direct: Improvement at full dose (NRS), (R, N, regimens, courses, symptoms);
            zero when the mechanism layer carries the effect.
        signal: Treatment signal at full dose (SD units) for the mediators,
            (R, N, regimens, courses).
        guess: Arm guess (-1 sham, 0 don't know, 1 verum), (R, N, regimens).
        practitioner: Global practitioner id, -1 if none, (R, N, regimens).
        responder: Responder status, (R, N).
        expectation: Expectation multiplier (mean 1), (R, N).
        practitioner_z: Practitioners' own effects before scaling by each
            arm's ``practitioner_sd`` (SD units), (R, practitioners).
    """

    direct: np.ndarray
    signal: np.ndarray
    guess: np.ndarray
    practitioner: np.ndarray
    responder: np.ndarray
    expectation: np.ndarray
    practitioner_z: np.ndarray


def concatenate_responses(parts: list[Responses]) -> Responses:
    """Several chunks' responses as one, replicates in the order given."""
    return Responses(
        **{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(Responses)}
    )


@dataclass(frozen=True)
class ResponseNormals:
    """The random half of the responses: a chunk's keyed standard normals.

    Attributes:
        patient: Per patient (purpose ``response``): responder, response size,
            expectation, guess and practitioner, (R, N, 5).
        uniform: ``ndtr(patient)``, the same draws as uniforms, (R, N, 5).
        practitioner: Practitioners' own effects before scaling by each arm's
            ``practitioner_sd`` (purpose ``practitioners``, SD units), (R, practitioners).
    """

    patient: np.ndarray
    uniform: np.ndarray
    practitioner: np.ndarray


#: ``respond(scenario, model, regimens, normals) -> Responses``: the mapping of a
#: chunk's response draws to responses (:func:`responses_from_normals`).
Respond = Callable[[Scenario, SymptomModel, list[Regimen], ResponseNormals], Responses]


def response_normals(
    scenario: Scenario, replicates: np.ndarray, n_patients: int
) -> ResponseNormals:
    """The keyed normals behind the responses (they depend on no real-valued field).

    Args:
        scenario: The scenario (its seed and the arms' practitioner counts).
        replicates: Replicate indices (they key the streams).
        n_patients: Patients enrolled per replicate.
    """
    max_prac = max(a.practitioners for a in scenario.arms.values())
    z = rng.normals(scenario.seed, replicates, "response", (n_patients, 5))
    # One pool of practitioners gives verum and sham alike, as in most trials.
    zp = rng.normals(scenario.seed, replicates, "practitioners", (max_prac,))
    return ResponseNormals(z, ndtr(z), zp)


def responses_from_normals(
    scenario: Scenario,
    model: SymptomModel,
    regimen_list: list[Regimen],
    normals: ResponseNormals,
) -> Responses:
    """Who responds, how much they expect, their guesses and practitioners, from the draws.

    Args:
        scenario: The scenario (population response fields, arms' effects,
            guesses and practitioners, blinding).
        model: Its symptom model.
        regimen_list: Its regimens.
        normals: The chunk's draws (:func:`response_normals`).
    """
    return grouped_responses([scenario], [len(normals.patient)], model, regimen_list, normals)


def grouped_responses(
    scenarios: list[Scenario],
    sizes: list[int],
    model: SymptomModel,
    regimen_list: list[Regimen],
    normals: ResponseNormals,
) -> Responses:
    """:func:`responses_from_normals` for consecutive groups of replicates, in one pass.

    The chunk's first ``sizes[0]`` replicates are mapped with ``scenarios[0]``'s
    values, the next ``sizes[1]`` with ``scenarios[1]``'s, and so on: each value
    read here becomes a column over the replicates, so every patient gets the
    same arithmetic, bit for bit, as :func:`responses_from_normals` with its
    group's scenario. The scenarios may differ only in the fields that shape the
    responses (:data:`mssim.montecarlo.assurance.READ_BY_RESPONSES_ONLY`); the
    rest (arms' kinds, targets and practitioners, the mechanism switch, the
    symptoms' scales) is read from the first.

    Args:
        scenarios: One scenario per group.
        sizes: Replicates per group (they add up to the chunk's).
        model: The symptom model.
        regimen_list: The regimens.
        normals: The chunk's draws (:func:`response_normals`).
    """
    first = scenarios[0]

    def column(value: Callable[[Scenario], float | tuple[float, ...]]) -> np.ndarray:
        """A value of each group's scenario, repeated over its replicates, (R, 1, ...)."""
        values = np.array([value(sc) for sc in scenarios], dtype=float)
        return np.repeat(values, sizes, axis=0)[:, None]

    z, u, zp = normals.patient, normals.uniform, normals.practitioner
    fraction = column(lambda sc: sc.population.responder_fraction)
    responder = u[..., 0] < fraction
    frac = column(lambda sc: max(sc.population.responder_fraction, 1e-12))
    # Mean-one lognormal modifiers, so the average response is the configured effect.
    response_sd = column(lambda sc: sc.population.response_sd)
    response_half_var = column(lambda sc: sc.population.response_sd**2 / 2)
    modifier = libm.exp(response_sd * z[..., 1] - response_half_var)
    response = responder * modifier / frac
    expectation_sd = column(lambda sc: sc.population.expectation_sd)
    expectation_half_var = column(lambda sc: sc.population.expectation_sd**2 / 2)
    expectation = libm.exp(expectation_sd * z[..., 2] - expectation_half_var)
    r, n = z.shape[:2]
    g, j, s = len(regimen_list), max(len(x.courses) for x in regimen_list), model.n_symptoms
    direct = np.zeros((r, n, g, j, s))
    signal = np.zeros((r, n, g, j))
    guess = np.zeros((r, n, g), dtype=np.int8)
    practitioner = np.full((r, n, g), -1, dtype=np.int64)
    mechanistic = first.mechanism.enabled
    weight = {
        a: np.array([first.arms[a].targets.get(x, 0.0) for x in model.names]) for a in first.arms
    }
    ref = np.array([getattr(first.symptoms, name).reference_sd for name in model.names])
    per_nrs = np.array([instrument.points_per_nrs() for instrument in model.instruments])
    gain = column(lambda sc: sc.blinding.expectation_gain)
    for gi, regimen in enumerate(regimen_list):
        for ci, course in enumerate(regimen.courses):
            arm = first.arms[course.arm]
            needled = arm.kind.needled
            verum_share = column(lambda sc, a=course.arm: guess_shares(sc, a)[0])
            either = column(lambda sc, a=course.arm: sum(guess_shares(sc, a)))
            arm_guess = np.where(
                u[..., 3] < verum_share,
                GUESS_VERUM,
                np.where(u[..., 3] < either, GUESS_DONT_KNOW, GUESS_SHAM),
            ).astype(np.int8)
            blind = 1.0 + gain * arm_guess
            prac = np.minimum(
                (u[..., 4] * arm.practitioners).astype(np.int64), arm.practitioners - 1
            )
            prac_sd = column(lambda sc, a=course.arm: sc.arms[a].practitioner_sd)
            prac_effect = prac_sd * zp[np.arange(r)[:, None], prac] * needled
            if ci == 0:
                guess[:, :, gi] = arm_guess * needled
                practitioner[:, :, gi] = np.where(needled, prac, -1)
            if mechanistic:  # effects in SD (checked at load): the same for every symptom
                spec_sd = column(lambda sc, a=course.arm: sc.effects_in_sd(a, model.names[0])[0])
                nonspec_sd = column(lambda sc, a=course.arm: sc.effects_in_sd(a, model.names[0])[1])
                signal[:, :, gi, ci] = (
                    spec_sd * response + nonspec_sd * expectation * blind + prac_effect
                )
                continue
            # symptom by symptom over (R, N), so numpy's inner loops run over patients
            spec_sd, nonspec_sd = (
                column(
                    lambda sc, a=course.arm, k=k: [sc.effects_in_sd(a, x)[k] for x in model.names]
                )
                for k in (0, 1)
            )
            for si in range(s):
                person_sd = (
                    spec_sd[..., si] * response
                    + nonspec_sd[..., si] * expectation * blind
                    + prac_effect
                )
                direct[:, :, gi, ci, si] = (
                    weight[course.arm][si] * person_sd * ref[si] / per_nrs[si]
                )
    return Responses(direct, signal, guess, practitioner, responder, expectation, zp)


def guess_shares(scenario: Scenario, arm: str) -> tuple[float, float]:
    """Shares of an arm's patients guessing 'verum' and 'don't know'.

    In a needled verum arm, ``blinding.unblinding`` of the patients who would
    otherwise guess 'don't know' or 'sham' guess 'verum' instead.

    Args:
        scenario: The scenario.
        arm: Arm name.

    Returns:
        (share guessing verum, share answering don't know), each 0-1.
    """
    a = scenario.arms[arm]
    unblinding = scenario.blinding.unblinding if a.kind.verum and a.kind.needled else 0.0
    return (
        a.guess_verum + unblinding * (1.0 - a.guess_verum),
        a.guess_dont_know * (1.0 - unblinding),
    )


def dose_step(
    dose: np.ndarray, attended: np.ndarray, decaying: np.ndarray, gain: float, retain: float
) -> np.ndarray:
    """One day of a course's dose (0-1).

    Args:
        dose: Dose before today's session.
        attended: A session was attended today.
        decaying: The course is over for this patient (after its last
            scheduled session, or after dropout).
        gain: Share of the remaining dose gained per session.
        retain: Share of the dose kept per day once decaying (0.5 per half-life).

    Returns:
        The dose from tomorrow on.
    """
    return np.where(attended, dose + gain * (1.0 - dose), np.where(decaying, dose * retain, dose))


def drug_effect(
    scenario: Scenario, model: SymptomModel, regimen: Regimen, days: np.ndarray
) -> np.ndarray:
    """Improvement from an arm's background drug on each of ``days`` (NRS), (days, symptoms)."""
    days = np.asarray(days, dtype=np.float64)
    out = np.zeros((len(days), model.n_symptoms))
    arm = scenario.arms[regimen.courses[0].arm]
    if arm.drug is None:
        return out
    ramp = np.where(days < 1, 0.0, 1.0 - libm.exp(-days / arm.drug.onset_days))
    for si, name in enumerate(model.names):
        size = scenario.drug_in_sd(regimen.courses[0].arm, name)
        ref = getattr(scenario.symptoms, name).reference_sd
        out[:, si] = (
            arm.targets.get(name, 0.0) * size * ramp * ref / model.instruments[si].points_per_nrs()
        )
    return out
