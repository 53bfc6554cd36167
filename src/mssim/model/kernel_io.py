"""What the fused kernel reads and writes: its parameters, outputs and per-patient scratch.

The engine (:mod:`mssim.model.engine`) builds :class:`Params` from the scenario
and :class:`Outputs` for a chunk; :func:`mssim.model.kernel.drive` fills them,
keeping each patient's state between days in a :class:`Scratch` row.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class Params(NamedTuple):
    """Everything the kernel reads, as arrays and scalars (built by the engine).

    Shapes: S symptoms, M mediators, G regimens, C courses, A arms, L adverse
    event types per arm (padded), V visits, T tracked symptoms, D trial days.
    """

    key: np.ndarray  # uint64 (2,)
    # symptoms: the fields of SymptomModel of the same name, taken as they are
    mean: np.ndarray
    between_chol: np.ndarray
    prevalence: np.ndarray
    phi: np.ndarray
    innovation_sd: np.ndarray
    day_chol: np.ndarray
    sleep_to_fatigue: float
    pain_to_sleep: float
    stationary_chol: np.ndarray
    drift_rho: np.ndarray
    drift_innovation_sd: np.ndarray
    drift_sd: np.ndarray
    relapse_jump: np.ndarray
    mediator_persistence: float
    loadings: np.ndarray  # (S, M)
    mediator_response: np.ndarray  # (M,)
    # population and screening
    type_shares: np.ndarray  # cumulative (3,)
    edss_shift: np.ndarray  # (3,)
    edss_median: float
    edss_sd: float
    on_therapy: float
    max_edss: float
    candidates: int
    screening: int  # 1 if score criteria apply
    min_score: float
    max_score: float
    screen_symptom: int
    screen_error_sd: float
    screen_scale: np.ndarray  # (low, high, step, points per NRS)
    screen_recall: int
    window: int  # run-in days ending on the screening day
    frailty_shape: float
    # relapses
    annual_rate: np.ndarray  # (3,) by MS type
    therapy_rate_ratio: float
    residual_probability: float
    residual_fraction: float
    recovery_retain: float
    relapse_slots: int
    severity_sd: float
    # days and regimens
    first_day: int
    horizon: int
    extra: np.ndarray  # (D, G, S)
    n_courses: np.ndarray  # (G,)
    course_arm: np.ndarray  # (G, C)
    end_day: np.ndarray  # (G, C)
    dose_retain: np.ndarray  # (G, C)
    slot_of: np.ndarray  # (G, C, D), -1 if no session that day
    adherence: np.ndarray  # (A,)
    gain: np.ndarray  # (A,)
    ae_rate: np.ndarray  # (A, L)
    ae_dropout: np.ndarray  # (A, L)
    ae_count: np.ndarray  # (A,)
    ae_offset: np.ndarray  # (A,)
    # behaviour
    hazard0: float
    mechanism: int
    strength: float
    primary_symptom: int
    primary_track: int
    primary_per_ref_sd: float  # instrument points per NRS / reference SD
    primary_ref_sd: float
    # observation
    visit_days: np.ndarray  # (V,)
    visit_of: np.ndarray  # (D,), visit index or -1
    in_window: np.ndarray  # (D, T, V) 1 if the day is in visit V's recall window for T
    recalled: np.ndarray  # (D,) 1 if the day is in any recall window
    anchor: np.ndarray  # (D,) 1 if the symptom state is simulated that day (mssim.model.gaps)
    next_anchor: np.ndarray  # (D,) index of the first anchor day on or after the day
    bridged: int  # 1 if some recalled day is not an anchor (days between anchors filled)
    gap_power: np.ndarray  # (K + 1, 2S, 2S) A^k
    gap_jump: np.ndarray  # (K + 1, 2S, 2S) L_k
    bridge_pull: np.ndarray  # (K + 1, 2S, 2S) M_r
    bridge_toward: np.ndarray  # (K + 1, 2S, 2S) G_r
    bridge_spread: np.ndarray  # (K + 1, 2S, 2S) C_r
    track: np.ndarray  # (T,)
    recall: np.ndarray  # (T,)
    scales: np.ndarray  # (T, 4): low, high, step, points per NRS
    measurement_sd: np.ndarray  # (S,)
    hypothetical: int


class Outputs(NamedTuple):
    """Per-patient results, (R, N, ...) arrays filled by the kernel."""

    ms_type: np.ndarray
    edss: np.ndarray
    on_therapy: np.ndarray
    relapse_propensity: np.ndarray
    level: np.ndarray
    presence: np.ndarray
    screening_score: np.ndarray
    candidates_screened: np.ndarray
    screen_exhausted: np.ndarray
    fluctuation: np.ndarray
    drift: np.ndarray
    mediators: np.ndarray
    relapse_onsets: np.ndarray
    scores: np.ndarray  # (R, N, G, V, T)
    scores_no_relapse: np.ndarray  # same, or empty
    dropout_day: np.ndarray  # (R, N, G)
    sessions: np.ndarray  # (R, N, G)
    adverse_events: np.ndarray  # (R, N, G, labels)
    daily_latent: np.ndarray  # (R, N, G, D, S), or empty
    daily_attended: np.ndarray  # (R, N, G, D), or empty


class Scratch(NamedTuple):
    """A patient's state between days; one row per concurrently simulated patient."""

    fluct: np.ndarray  # (rows, S)
    drift: np.ndarray  # (rows, S)
    med: np.ndarray  # (rows, G, M)
    relapse: np.ndarray  # (rows, 2): acute, residual
    rsize: np.ndarray  # (rows, slots)
    rresid: np.ndarray  # (rows, slots)
    dose: np.ndarray  # (rows, G, C)
    hazard: np.ndarray  # (rows, G) cumulative hazard (MAR and MNAR; MCAR looks it up)
    leaving: np.ndarray  # (rows, G) 1 if an adverse event makes them leave tomorrow
    worsening: np.ndarray  # (rows, G)
    baseline_felt: np.ndarray  # (rows, G)
    threshold: np.ndarray  # (rows,)
    acc: np.ndarray  # (rows, G, V, T) recall-window sums
    acc_nr: np.ndarray  # (rows, G, V, T) the same without relapses
    latent: np.ndarray  # (rows, G, S)
    stream: np.ndarray  # (rows, 4) uint64: the symptom stream's state
    anchor_state: np.ndarray  # (rows, 2S) the next anchor's state, drawn at its gap's start
    noise: np.ndarray  # (rows, 2S + M)
    run_in: np.ndarray  # (rows, window, S) felt severity of the candidate's run-in


def new_scratch(p: Params, rows: int, n_mediators: int) -> Scratch:
    """Zeroed scratch for ``rows`` patients simulated at once."""
    s = len(p.mean)
    g, c = p.course_arm.shape
    v, t = len(p.visit_days), len(p.track)
    return Scratch(
        fluct=np.zeros((rows, s)),
        drift=np.zeros((rows, s)),
        med=np.zeros((rows, g, n_mediators)),
        relapse=np.zeros((rows, 2)),
        rsize=np.zeros((rows, p.relapse_slots)),
        rresid=np.zeros((rows, p.relapse_slots)),
        dose=np.zeros((rows, g, c)),
        hazard=np.zeros((rows, g)),
        leaving=np.zeros((rows, g), dtype=np.int8),
        worsening=np.zeros((rows, g)),
        baseline_felt=np.zeros((rows, g)),
        threshold=np.zeros(rows),
        acc=np.zeros((rows, g, v, t)),
        acc_nr=np.zeros((rows, g, v, t)),
        latent=np.zeros((rows, g, s)),
        stream=np.zeros((rows, 4), dtype=np.uint64),
        anchor_state=np.zeros((rows, 2 * s)),
        noise=np.zeros((rows, 2 * s + n_mediators)),
        run_in=np.zeros((rows, max(p.window, 1), s)),
    )
