"""One fused kernel per patient: screen, treat, mediators, symptoms, relapses, behave, observe.

Every patient is simulated on its own, with its whole state in a few small
arrays and its random numbers from keyed streams (:mod:`mssim.model.rng`), so
the result for a patient does not depend on which other patients are
simulated, in which order, on how many threads, or in how many calls:

* the Monte Carlo engine (:func:`run_chunk`) runs each patient from the
  screening day to the last visit in one pass of :func:`drive`, its state in
  one reused scratch row; patients may be split into blocks over threads
  (``prange``), one scratch row per block. Within a call the coupled symptoms'
  state (fatigue, pain and sleep: fluctuation and drift) is carried in
  registers (:func:`mssim.model.gaps.symptom_day`) and written to the row only on the days
  something reads it;
* the Mesa view (:class:`mssim.model.engine.TrialRun`) calls the very same
  :func:`drive` one day at a time, keeping each patient's state (including
  its symptom stream) in its own scratch row, so it is bit-identical.

The symptom state is simulated day by day only on *anchor days* (the recall
windows of the scenario's endpoints, or every day when something reads it
daily); over the days between it jumps in one step with the same
distribution, and the Gaussian bridge fills those days when they are wanted
(daily paths, the Mesa view, a symptom scored outside the endpoints' windows),
from its own stream, so the anchor days are the same bit for bit in every run
(:mod:`mssim.model.gaps`).

Under MCAR dropout, with nothing read daily, a patient still on every regimen
with no acute relapse under way passes over *quiet days* (no anchor, recall
window, visit, session or course end in any regimen, no relapse starting, no
dropout due, no leave pending): nothing of the patient changes on them.

Only what the analyses need is kept: visit scores from running recall-window
sums, dropout day, sessions and adverse-event counts, relapse onsets, and the
enrolled patient's traits. Daily paths are written only when asked for.

Streams read by one patient (key = (seed, replicate, purpose, patient, sub)):

=============  ======================  =============================================
purpose        sub                     read in this order
=============  ======================  =============================================
enrolment      candidate k             MS type (U), EDSS (N); if EDSS-eligible or the
                                       last: levels (S N), presence (S U), stationary
                                       start (2S N), mediators (M N), run-in days x
                                       (2S + M) N, screening error (N); if enrolled:
                                       therapy (U), relapse propensity (U)
relapses       0                       per relapse slot: gap (U), size (N), residual (U)
symptoms       0                       per simulated trial day: S shocks, S drift,
                                       M mediator (N); per gap: 2S (N) for its anchor
bridge         trial day index         2S (N), on a day between anchors, when wanted
behaviour      0 / slot + 1            dropout threshold (U) / attendance, event, leave (U)
measurement    visit v                 S errors (N), every symptom whether tracked or not
=============  ======================  =============================================

(U = uniform, N = standard normal; S symptoms, M mediators.)
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import njit, prange

from mssim.model.gamma import gamma_quantile
from mssim.model.gaps import advance, bridge_step, coefficients, store_state, symptom_day
from mssim.model.kernel_io import Outputs, Params, Scratch, new_scratch
from mssim.model.rng import normal, open_stream, uniform

ENROLMENT, SYMPTOMS, RELAPSES, BEHAVIOUR, MEASUREMENT, BRIDGE = 0, 1, 2, 5, 6, 12
NEVER = np.iinfo(np.int32).max
MCAR, MAR, MNAR = 0, 1, 2


# ---- small pieces ------------------------------------------------------------


@njit(inline="always")
def _clip(x: float, low: float, high: float) -> float:
    return min(max(x, low), high)


@njit(inline="always")
def _score(scale: np.ndarray, recall_mean: float, error: float) -> float:
    """Instrument score: points, rounded to the step, kept within the range."""
    low, high, step, per_nrs = scale[0], scale[1], scale[2], scale[3]
    raw = low + per_nrs * recall_mean + error
    return _clip(low + np.rint((raw - low) / step) * step, low, high)


@njit(cache=True, nogil=True)
def drive(
    p: Params,
    direct: np.ndarray,
    signal: np.ndarray,
    o: Outputs,
    sc: Scratch,
    replicates: np.ndarray,
    u_lo: int,
    u_hi: int,
    first: int,
    last: int,
    keep_daily: bool,
    row: int,
) -> None:
    """Advance patients ``u_lo..u_hi-1`` (u = replicate row x N + patient), days ``first..last``.

    Day ``p.first_day - 1`` is the screening day: simulating it screens the
    candidates and starts the patient. A patient's state lives in scratch row
    ``u`` (``row = -1``, for day-by-day stepping) or in the given ``row``,
    reused by one patient after another. The arithmetic is the same for any
    split of patients and days into calls.
    """
    # Every array is bound once here, outside the patient loop.
    key = p.key
    n_sym, n_reg, n_med = p.mean.shape[0], sc.dose.shape[1], sc.med.shape[2]
    n_track, n_visit, n_slots = p.track.shape[0], p.visit_days.shape[0], p.relapse_slots
    width = 2 * n_sym + n_med
    keep = p.mediator_persistence
    shock_sd = math.sqrt(1.0 - keep * keep)
    mean, bchol, prevalence, schol = p.mean, p.between_chol, p.prevalence, p.stationary_chol
    chol, phi, isd = p.day_chol, p.phi, p.innovation_sd
    rho, dsd, drift_sd = p.drift_rho, p.drift_innovation_sd, p.drift_sd
    pts, stf, retain = p.pain_to_sleep, p.sleep_to_fatigue, p.recovery_retain
    coupled = coefficients(chol, phi, isd, rho, dsd, pts, stf)
    jump, extra, loadings, response = p.relapse_jump, p.extra, p.loadings, p.mediator_response
    type_shares, edss_shift, screen_scale = p.type_shares, p.edss_shift, p.screen_scale
    annual_rate, first_day, horizon, window = p.annual_rate, p.first_day, p.horizon, p.window
    n_courses, course_arm, slot_of = p.n_courses, p.course_arm, p.slot_of
    end_day, dose_retain = p.end_day, p.dose_retain
    adherence, gain, ae_count, ae_offset = p.adherence, p.gain, p.ae_count, p.ae_offset
    ae_rate, ae_dropout = p.ae_rate, p.ae_dropout
    hazard0, mechanism, strength = p.hazard0, p.mechanism, p.strength
    primary, per_ref_sd, pt = p.primary_symptom, p.primary_per_ref_sd, p.primary_track
    track, recall, visit_days, visit_of = p.track, p.recall, p.visit_days, p.visit_of
    in_window, recalled = p.in_window, p.recalled
    anchor, next_anchor, gap_power, gap_jump = p.anchor, p.next_anchor, p.gap_power, p.gap_jump
    pull, toward, spread, anchor_state = (
        p.bridge_pull, p.bridge_toward, p.bridge_spread, sc.anchor_state,
    )  # fmt: skip
    scales, measurement_sd, hypothetical = p.scales, p.measurement_sd, p.hypothetical
    o_ms, o_edss, o_ther, o_prop = o.ms_type, o.edss, o.on_therapy, o.relapse_propensity
    o_level, o_presence, o_score = o.level, o.presence, o.screening_score
    o_cands, o_exhausted = o.candidates_screened, o.screen_exhausted
    o_fluct, o_drift, o_med = o.fluctuation, o.drift, o.mediators
    onsets, scores, scores_nr = o.relapse_onsets, o.scores, o.scores_no_relapse
    dropout, sessions, events = o.dropout_day, o.sessions, o.adverse_events
    daily_latent, daily_attended = o.daily_latent, o.daily_attended
    fluct, drift, med, rel, z = sc.fluct, sc.drift, sc.med, sc.relapse, sc.noise
    rsize, rresid, dose, cum_hazard = sc.rsize, sc.rresid, sc.dose, sc.hazard
    leaving, worsening, baseline_felt, threshold = (
        sc.leaving, sc.worsening, sc.baseline_felt, sc.threshold,
    )  # fmt: skip
    acc, acc_nr, latent, stream, felt = sc.acc, sc.acc_nr, sc.latent, sc.stream, sc.run_in
    med0 = np.zeros(n_med)
    level, presence, common = np.zeros(n_sym), np.zeros(n_sym), np.zeros(n_sym)
    direct_i = np.zeros(direct.shape[2:])
    n = o_edss.shape[1]
    fixed_row = row
    stepping = row < 0  # the Mesa view reads every day's latent severity
    bridging = stepping or keep_daily or p.bridged != 0  # every day's state is wanted
    xv, wv, tv = np.zeros(2 * n_sym), np.zeros(2 * n_sym), np.zeros(2 * n_sym)  # state, draws
    # Under MCAR every trial day adds the same hazard, so the cumulative hazard of a
    # patient still in the trial on day d is the same sum for everyone (the same additions
    # in the same order): the day it reaches a patient's threshold is looked up in it.
    steady = np.zeros(max(horizon, 0) + 1)
    for d in range(1, horizon + 1):
        steady[d] = steady[d - 1] + hazard0
    # Quiet days: no anchor, recall window, visit, session or course end, under MCAR with
    # nothing read daily. On such a day a patient still on every regimen, with no acute
    # relapse under way, none starting, no dropout due and no leave pending, changes in
    # nothing, so the loop jumps over a run of them (the same bits as stepping through).
    # resume[di]: the first day from di on that is not quiet (di itself if di is not).
    resume = np.arange(anchor.shape[0] + 1)
    if mechanism == MCAR and not bridging:
        for di in range(anchor.shape[0] - 1, -1, -1):
            calm = anchor[di] == 0 and not recalled[di] and visit_of[di] < 0
            for g in range(n_reg):
                for c in range(n_courses[g]):
                    calm = calm and slot_of[g, c, di] < 0 and first_day + di < end_day[g, c]
            if calm:
                resume[di] = resume[di + 1]

    for u in range(u_lo, u_hi):
        ro, i = u // n, u % n
        rep = replicates[ro]
        row = u if fixed_row < 0 else fixed_row
        if u == u_lo or fixed_row < 0:
            # the patient's scratch row, bound once (one row serves a whole block of patients)
            zr, fr, dr, medr, doser, latr = (
                z[row], fluct[row], drift[row], med[row], dose[row], latent[row],
            )  # fmt: skip
            accr, accnr, feltr = acc[row], acc_nr[row], felt[row]
            rsr, rrr, hazr, leavr = rsize[row], rresid[row], cum_hazard[row], leaving[row]
            worsr, bfr = worsening[row], baseline_felt[row]
        # the patient's rows of the outputs
        onset_i, drop_i, sess_i, ev_i = (
            onsets[ro, i],
            dropout[ro, i],
            sessions[ro, i],
            events[ro, i],
        )
        score_i, signal_i = scores[ro, i], signal[ro, i]
        day_from = first
        if day_from < first_day:
            # ---- screening: candidates in turn, the first eligible (or the last) enrolled
            day_from = first_day
            k = p.candidates
            for cand in range(k):
                is_last = cand == k - 1
                st = open_stream(key, rep, ENROLMENT, i, cand)
                x, st = uniform(st)
                ms = 0
                while ms < 2 and x >= type_shares[ms]:
                    ms += 1
                x, st = normal(st)
                edss = _clip(p.edss_median + edss_shift[ms] + p.edss_sd * x, 0.0, 9.5)
                edss = np.rint(edss * 2.0) / 2.0
                edss_ok = edss <= p.max_edss
                if not edss_ok and not is_last:
                    continue
                for s in range(n_sym):
                    x, st = normal(st)
                    zr[s] = x
                for s in range(n_sym):
                    total = mean[s]
                    for j in range(s + 1):
                        total += bchol[s, j] * zr[j]
                    o_level[ro, i, s] = total
                for s in range(n_sym):
                    x, st = uniform(st)
                    o_presence[ro, i, s] = 1.0 if x < prevalence[s] else 0.0
                for s in range(2 * n_sym):
                    x, st = normal(st)
                    zr[s] = x
                for s in range(n_sym):
                    total = 0.0
                    for j in range(s + 1):
                        total += schol[s, j] * zr[j]
                    fr[s] = total
                    dr[s] = drift_sd[s] * zr[n_sym + s]
                for m in range(n_med):
                    x, st = normal(st)
                    med0[m] = x
                state = (fr[0], fr[1], fr[2], dr[0], dr[1], dr[2])
                for d in range(window):  # untreated run-in, no relapses
                    for c in range(width):
                        x, st = normal(st)
                        zr[c] = x
                    for m in range(n_med):
                        med0[m] = keep * med0[m] + shock_sd * zr[2 * n_sym + m]
                    state = symptom_day(state, coupled, zr, fr, dr, chol, phi, isd, rho, dsd)
                    store_state(state, fr, dr)
                    for s in range(n_sym):
                        y = o_level[ro, i, s] + dr[s] + fr[s]
                        for m in range(n_med):
                            y += loadings[s, m] * med0[m]
                        feltr[d, s] = _clip(o_presence[ro, i, s] * y, 0.0, 10.0)
                total = 0.0
                for d in range(window - p.screen_recall, window):
                    total += feltr[d, p.screen_symptom]
                x, st = normal(st)
                result = _score(screen_scale, total / p.screen_recall, p.screen_error_sd * x)
                eligible = edss_ok
                if p.screening:
                    eligible = eligible and result >= p.min_score and result <= p.max_score
                if eligible or is_last:
                    x, st = uniform(st)
                    o_ther[ro, i] = x < p.on_therapy
                    x, st = uniform(st)
                    o_prop[ro, i] = gamma_quantile(p.frailty_shape, x) / p.frailty_shape
                    o_ms[ro, i] = ms
                    o_edss[ro, i] = edss
                    o_score[ro, i] = result
                    o_cands[ro, i] = cand + 1
                    o_exhausted[ro, i] = not eligible
                    break
            # ---- the patient's start: state on the screening day
            for s in range(n_sym):
                o_fluct[ro, i, s] = fr[s]
                o_drift[ro, i, s] = dr[s]
            for m in range(n_med):
                o_med[ro, i, m] = med0[m]
            for g in range(n_reg):
                for m in range(n_med):
                    medr[g, m] = med0[m]
                for c in range(dose.shape[2]):
                    doser[g, c] = 0.0
                for s in range(n_sym):
                    latr[g, s] = 0.0
                for v in range(n_visit):
                    for t in range(n_track):
                        accr[g, v, t] = 0.0
                        accnr[g, v, t] = 0.0
                hazr[g] = 0.0
                leavr[g] = 0
                worsr[g] = 0.0
                bfr[g] = 0.0
                drop_i[g] = NEVER
                sess_i[g] = 0
                for e in range(events.shape[3]):
                    ev_i[g, e] = 0
            rel[row, 0] = rel[row, 1] = 0.0
            # run-in days that fall in a recall window (the regimens do not differ yet)
            for d in range(window):
                day = first_day - window + d
                for v in range(n_visit):
                    for t in range(n_track):
                        if visit_days[v] - recall[t] < day <= visit_days[v]:
                            f = feltr[d, track[t]]
                            for g in range(n_reg):
                                accr[g, v, t] += f
                                accnr[g, v, t] += f
            # relapses
            annual = annual_rate[o_ms[ro, i]] * o_prop[ro, i]
            if o_ther[ro, i]:
                annual *= p.therapy_rate_ratio
            per_day = annual / 365.25
            sd = p.severity_sd
            st = open_stream(key, rep, RELAPSES, i, 0)
            elapsed = 0.0
            for k in range(n_slots):
                onset_i[k] = NEVER
            for k in range(n_slots):  # onsets ascend: the slots after the horizon are never read
                x, st = uniform(st)
                y, st = normal(st)
                w, st = uniform(st)
                elapsed += -math.log1p(-x)
                onset = first_day + elapsed / per_day if per_day > 0.0 else np.inf
                if onset > horizon:
                    break
                onset_i[k] = math.floor(onset)
                rsr[k] = math.exp(sd * y - sd * sd / 2.0)
                rrr[k] = p.residual_fraction if w < p.residual_probability else 0.0
            st = open_stream(key, rep, BEHAVIOUR, i, 0)
            x, st = uniform(st)
            threshold[row] = -math.log1p(-x)
            st = open_stream(key, rep, SYMPTOMS, i, 0)
            for j in range(4):
                stream[row, j] = st[j]
        if last < day_from:
            continue

        # ---- the trial days (the patient's fixed traits copied close at hand)
        for s in range(n_sym):
            level[s], presence[s] = o_level[ro, i, s], o_presence[ro, i, s]
        direct_i[:] = direct[ro, i]
        acute, residual = rel[row, 0], rel[row, 1]
        next_onset = 0  # the first relapse slot not yet begun
        while next_onset < n_slots and onset_i[next_onset] < day_from:
            next_onset += 1
        quit_at = threshold[row]
        quit_day = np.searchsorted(steady, quit_at)  # MCAR: the first day steady >= quit_at
        st = (stream[row, 0], stream[row, 1], stream[row, 2], stream[row, 3])
        drawn_slot, u0, u1, u2 = -1, 0.0, 0.0, 0.0  # the last session slot's uniforms
        state = (fr[0], fr[1], fr[2], dr[0], dr[1], dr[2])
        known = day_from - first_day - 1  # the day whose symptom state ``state`` holds
        day = day_from
        while day <= last:
            di = day - first_day
            if resume[di] > di and acute == 0.0 and day < quit_day:
                calm = next_onset == n_slots or onset_i[next_onset] != day
                for g in range(n_reg):
                    calm = calm and drop_i[g] > day and leavr[g] == 0
                if calm:  # on to the next day not quiet, the dropout day or the next onset
                    day = min(first_day + resume[di], quit_day)
                    if next_onset < n_slots:
                        day = min(day, onset_i[next_onset])
                    continue
            after_anchor = di == 0 or anchor[di - 1] != 0  # the screening day counts as one
            if anchor[di] and after_anchor:
                # a simulated day: noise, then treat -> mediators -> symptoms
                for c in range(width):
                    y, st = normal(st)
                    zr[c] = y
                for g in range(n_reg if n_med else 0):
                    sig = 0.0
                    for c in range(n_courses[g]):
                        sig += doser[g, c] * signal_i[g, c]
                    for m in range(n_med):
                        target = sig * response[m]
                        medr[g, m] = (
                            keep * medr[g, m] + (1.0 - keep) * target + shock_sd * zr[2 * n_sym + m]
                        )
                state = symptom_day(state, coupled, zr, fr, dr, chol, phi, isd, rho, dsd)
                known = di
            elif anchor[di] or bridging:
                # a gap's days (mssim.model.gaps): its anchor in one jump, drawn where the
                # gap starts when the days between are wanted (from the bridge to it)
                store_state(state, fr, dr)
                for s in range(n_sym):
                    xv[s], xv[n_sym + s] = fr[s], dr[s]
                upto = next_anchor[di]
                if anchor[di] and not bridging:
                    for c in range(2 * n_sym):
                        y, st = normal(st)
                        wv[c] = y
                    advance(xv, gap_power[di - known], gap_jump[di - known], wv, tv)
                elif anchor[di]:
                    xv[:] = anchor_state[row]
                else:
                    if after_anchor:  # the gap's start: its anchor first, from the same draws
                        for c in range(2 * n_sym):
                            y, st = normal(st)
                            wv[c] = y
                        k = upto - di + 1
                        anchor_state[row, :] = xv
                        advance(anchor_state[row], gap_power[k], gap_jump[k], wv, tv)
                    bs = open_stream(key, rep, BRIDGE, i, di)
                    for c in range(2 * n_sym):
                        y, bs = normal(bs)
                        wv[c] = y
                    r = upto - di + 1
                    bridge_step(xv, pull[r], toward[r], anchor_state[row], spread[r], wv, tv)
                for s in range(n_sym):
                    fr[s], dr[s] = xv[s], xv[n_sym + s]
                state = (fr[0], fr[1], fr[2], dr[0], dr[1], dr[2])
                known = di
            acute *= retain
            while next_onset < n_slots and onset_i[next_onset] == day:  # onsets ascend
                acute += rsr[next_onset] * (1.0 - rrr[next_onset])
                residual += rsr[next_onset] * rrr[next_onset]
                next_onset += 1
            relapse = acute + residual
            if stepping or keep_daily or recalled[di] or (day >= 1 and mechanism == MNAR):
                store_state(state, fr, dr)
                for s in range(n_sym):
                    common[s] = level[s] + dr[s] + fr[s] + relapse * jump[s]
                for g in range(n_reg):
                    for s in range(n_sym):
                        y = common[s] - extra[di, g, s]
                        for m in range(n_med):
                            y += loadings[s, m] * medr[g, m]
                        for c in range(n_courses[g]):
                            y -= doser[g, c] * direct_i[g, c, s]
                        latr[g, s] = presence[s] * y
            # behaviour: dropout, then today's sessions
            if day >= 1:
                for g in range(n_reg):
                    present = drop_i[g] > day
                    leave = present and leavr[g] != 0
                    hazard = hazard0
                    if mechanism == MAR:
                        hazard = hazard0 * math.exp(strength * worsr[g])
                    elif mechanism == MNAR:
                        now = _clip(latr[g, primary], 0.0, 10.0)
                        worse = (now - bfr[g]) * per_ref_sd
                        hazard = hazard0 * math.exp(strength * worse)
                    if present and mechanism == MCAR:
                        leave = leave or day >= quit_day
                    elif present:
                        hazr[g] += hazard
                        if hazr[g] >= quit_at:
                            leave = True
                    if leave:
                        drop_i[g] = day
                        present = False
                    leavr[g] = 0
                    for c in range(n_courses[g]):
                        arm = course_arm[g, c]
                        slot = slot_of[g, c, di]
                        attended = False
                        if slot >= 0 and present:
                            if slot != drawn_slot:  # a slot's draws are the same in every regimen
                                bs = open_stream(key, rep, BEHAVIOUR, i, slot + 1)
                                u0, bs = uniform(bs)
                                u1, bs = uniform(bs)
                                u2, bs = uniform(bs)
                                drawn_slot = slot
                            attended = u0 < adherence[arm]
                            if attended:
                                sess_i[g] += 1
                                upper = 0.0
                                # rarer, more serious events first: a rate change moves few
                                for e in range(ae_count[arm] - 1, -1, -1):
                                    lower = upper
                                    upper = upper + ae_rate[arm, e]
                                    if lower <= u1 < upper:
                                        ev_i[g, ae_offset[arm] + e] += 1
                                        if u2 < ae_dropout[arm, e]:
                                            leavr[g] = 1
                                if keep_daily:
                                    daily_attended[ro, i, g, di] = True
                        if attended:
                            doser[g, c] += gain[arm] * (1.0 - doser[g, c])
                        elif day >= end_day[g, c] or not present:
                            doser[g, c] *= dose_retain[g, c]
            # observe: recall-window sums, daily paths, visit scores
            if recalled[di]:
                for g in range(n_reg):
                    for t in range(n_track):
                        s = track[t]
                        f = _clip(latr[g, s], 0.0, 10.0)
                        f_nr = 0.0
                        if hypothetical:
                            load = presence[s] * (relapse * jump[s])
                            f_nr = _clip(latr[g, s] - load, 0.0, 10.0)
                        for v in range(n_visit):
                            if in_window[di, t, v]:
                                accr[g, v, t] += f
                                accnr[g, v, t] += f_nr
            if keep_daily:
                for g in range(n_reg):
                    for s in range(n_sym):
                        daily_latent[ro, i, g, di, s] = latr[g, s]
            v = visit_of[di]
            if v >= 0:
                ms = open_stream(key, rep, MEASUREMENT, i, v)
                for s in range(n_sym):  # errors (the day's noise is used up)
                    x, ms = normal(ms)
                    zr[s] = measurement_sd[s] * x
                for g in range(n_reg):
                    for t in range(n_track):
                        err = zr[track[t]]
                        score_i[g, v, t] = _score(scales[t], accr[g, v, t] / recall[t], err)
                        if hypothetical:
                            scores_nr[ro, i, g, v, t] = _score(
                                scales[t], accnr[g, v, t] / recall[t], err
                            )
                    if v == 0:
                        bfr[g] = accr[g, 0, pt] / recall[pt]
                    elif drop_i[g] > day:
                        change = score_i[g, v, pt] - score_i[g, 0, pt]
                        worsr[g] = change / p.primary_ref_sd
            day += 1
        store_state(state, fr, dr)
        rel[row, 0], rel[row, 1] = acute, residual
        for j in range(4):
            stream[row, j] = st[j]


@njit(cache=True, nogil=True, parallel=True)
def _drive_blocks(
    p: Params,
    direct: np.ndarray,
    signal: np.ndarray,
    o: Outputs,
    sc: Scratch,
    replicates: np.ndarray,
    blocks: int,
    keep_daily: bool,
) -> None:
    """Every patient from screening to the last visit, contiguous blocks over threads."""
    units = o.edss.size
    for block in prange(blocks):
        b = np.int64(block)  # a prange index may be unsigned
        lo, hi = units * b // blocks, units * (b + 1) // blocks
        drive(p, direct, signal, o, sc, replicates, lo, hi, p.first_day - 1, p.horizon,
              keep_daily, b)  # fmt: skip


def run_chunk(
    p: Params,
    direct: np.ndarray,
    signal: np.ndarray,
    o: Outputs,
    replicates: np.ndarray,
    n_mediators: int,
    keep_daily: bool,
    threads: int = 1,
) -> None:
    """Simulate every patient of a chunk from screening to the last visit, in place.

    With ``threads > 1`` the patients are split into that many contiguous
    blocks, each with its own scratch row, run in parallel (numba ``prange``,
    on at most the cores numba was started with); each patient's numbers are
    the same whatever the split. With one thread no parallel region is
    entered, so process pools and the threads backend run one chunk per worker.

    Args:
        p: Kernel parameters.
        direct: Direct improvement at full dose, (R, N, G, C, S).
        signal: Mediator signal at full dose, (R, N, G, C).
        o: Output arrays, filled in place.
        replicates: Replicate indices (they key the streams).
        n_mediators: Mediators simulated.
        keep_daily: Write daily paths into ``o``.
        threads: Threads inside the chunk.
    """
    blocks = max(1, min(int(threads), o.edss.size))
    sc = new_scratch(p, blocks, n_mediators)
    if blocks == 1:
        drive(p, direct, signal, o, sc, replicates, 0, o.edss.size, p.first_day - 1, p.horizon,
              keep_daily, 0)  # fmt: skip
        return
    numba.set_num_threads(min(blocks, numba.config.NUMBA_NUM_THREADS))
    _drive_blocks(p, direct, signal, o, sc, replicates, blocks, keep_daily)
