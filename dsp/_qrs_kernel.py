"""Numba kernels of the streaming QRS detector.

Two stages, each a pure function of contiguous arrays plus a small state that
carries from one chunk to the next (so a record fed whole or in pieces gives
bit-identical beats):

1. :func:`lead_features` runs per lead over a chunk: band-pass (second-order
   sections), five-point derivative, squaring and a moving-window integral
   (Pan & Tompkins 1985), and flags the samples where the lead is unusable
   (lead-off/NaN, flat or clipped at a rail, and a settling time after it).
2. :func:`detect_step` fuses the leads and decides, sample by sample: each
   lead's integral is normalised by that lead's own running QRS level, the
   usable leads are averaged (weighted by their noise quality), and peaks of
   the fused feature are judged against adaptive signal / noise levels, with
   a refractory period, T-wave discrimination by slope, and search-back for
   missed beats. The R peak is then located on the band-passed lead that
   shows the beat best.

The wrapper in :mod:`dsp._qrs` validates input, converts seconds to samples
and owns the defaults; nothing here knows seconds or hertz except through the
integer parameters it is given. State layouts are the index constants below.
"""

from __future__ import annotations

import numpy as np

from dsp._filters import sos_step
from dsp._numba_config import njit

# ---------------------------------------------------------------------------
# Stage 1: per-lead features
# ---------------------------------------------------------------------------
# integer parameters of stage 1 (LP_*)
LP_MWI_LEN = 0  # moving-window integral length, samples
LP_FLAT_LEN = 1  # constant run that marks a lead flat / clipped, samples
LP_SETTLE_LEN = 2  # samples a lead stays unusable after it recovers
N_LEAD_PARAMS = 3

# float state of one lead (LF_*)
LF_LAST_X = 0  # last finite input, mV (held through NaN)
LF_MWI_SUM = 1  # running sum of squared derivative over the window
LF_Y1 = 2  # band-passed history y[n-1] .. y[n-4]
LF_Y2 = 3
LF_Y3 = 4
LF_Y4 = 5
LF_STARTED = 6  # 0 until the first finite sample has been seen
N_LEAD_FSTATE = 7

# integer state of one lead (LI_*)
LI_NAN_RUN = 0
LI_FLAT_RUN = 1
LI_SETTLE = 2
LI_RING_POS = 3  # write position in the squared-derivative ring
N_LEAD_ISTATE = 4


@njit
def lead_features(x, sos, zi, fstate, istate, sq_ring, params, fs_scale,
                  bp_out, mwi_out, slope_out, bad_out):
    """Stage 1 for one lead over one chunk.

    Parameters
    ----------
    x : float64[n]
        Samples in mV; NaN or inf marks lead-off.
    sos, zi : float64[s, 6], float64[s, 2]
        Band-pass sections and their carried state.
    fstate, istate : float64[N_LEAD_FSTATE], int64[N_LEAD_ISTATE]
        Carried state (see the LF_* and LI_* indices).
    sq_ring : float64[mwi_len]
        Carried window of squared derivative values.
    params : int64[N_LEAD_PARAMS]
    fs_scale : float
        ``fs_hz / 8``, the five-point derivative's scale to mV/s.
    bp_out, mwi_out, slope_out : float64[n]
        Band-passed signal (mV), moving-window integral ((mV/s)^2) and
        absolute derivative (mV/s).
    bad_out : uint8[n]
        1 where the lead is unusable.
    """
    mwi_len = params[LP_MWI_LEN]
    flat_len = params[LP_FLAT_LEN]
    settle_len = params[LP_SETTLE_LEN]
    inv_len = 1.0 / mwi_len
    last_x = fstate[LF_LAST_X]
    mwi_sum = fstate[LF_MWI_SUM]
    y1 = fstate[LF_Y1]
    y2 = fstate[LF_Y2]
    y3 = fstate[LF_Y3]
    y4 = fstate[LF_Y4]
    started = fstate[LF_STARTED]
    nan_run = istate[LI_NAN_RUN]
    flat_run = istate[LI_FLAT_RUN]
    settle = istate[LI_SETTLE]
    pos = istate[LI_RING_POS]
    for i in range(x.shape[0]):
        v = x[i]
        if not np.isfinite(v):
            nan_run += 1
            v = last_x
        else:
            nan_run = 0
            if started == 0.0:
                # start the filter at the first value so the step from 0 to
                # the DC level does not ring like a beat
                started = 1.0
                last_x = v
                for s in range(zi.shape[0]):
                    zi[s, 0] = 0.0
                    zi[s, 1] = 0.0
            if v == last_x:
                flat_run += 1
            else:
                flat_run = 0
            last_x = v
        y = sos_step(sos, zi, v - 0.0)
        d = (2.0 * y + y1 - y3 - 2.0 * y4) * fs_scale
        y4 = y3
        y3 = y2
        y2 = y1
        y1 = y
        sq = d * d
        mwi_sum += sq - sq_ring[pos]
        sq_ring[pos] = sq
        pos += 1
        if pos == mwi_len:
            pos = 0
        m = mwi_sum * inv_len
        if m < 0.0:  # rounding of the running sum
            m = 0.0
        bp_out[i] = y
        mwi_out[i] = m
        slope_out[i] = abs(d)
        if nan_run > 0 or flat_run >= flat_len or started == 0.0:
            settle = settle_len
            bad_out[i] = 1
        elif settle > 0:
            settle -= 1
            bad_out[i] = 1
        else:
            bad_out[i] = 0
    fstate[LF_LAST_X] = last_x
    fstate[LF_MWI_SUM] = mwi_sum
    fstate[LF_Y1] = y1
    fstate[LF_Y2] = y2
    fstate[LF_Y3] = y3
    fstate[LF_Y4] = y4
    fstate[LF_STARTED] = started
    istate[LI_NAN_RUN] = nan_run
    istate[LI_FLAT_RUN] = flat_run
    istate[LI_SETTLE] = settle
    istate[LI_RING_POS] = pos


# ---------------------------------------------------------------------------
# Stage 2: fusion and decision
# ---------------------------------------------------------------------------
# integer parameters (DP_*), all in samples
DP_HOLD = 0  # a peak of the fused feature is the maximum over +- hold
DP_REFRACTORY = 1  # no second QRS closer than this
DP_TWAVE = 2  # candidates closer than this to the last QRS get the slope test
DP_LEARN = 3  # learning period before the first decision
DP_MWI_LEN = 4
DP_BP_DELAY = 5  # band-pass group delay, subtracted when locating R
DP_LOC_BACK = 6  # R is searched in [peak - loc_back, peak - loc_fwd] (feature time)
DP_LOC_FWD = 7
DP_RR_MAX = 8  # longest RR used for the search-back interval
DP_RING = 9  # ring length (power of two)
DP_RESCUE = 10  # after this long without a beat the levels start to relax
DP_NOISE_DELAY = 11  # a lead's inter-beat noise is read this far behind the input
N_DETECT_IPARAMS = 12

# float parameters (DF_*)
DF_SEARCHBACK = 0  # search back after this many mean RR without a beat
DF_TWAVE_SLOPE = 1  # a candidate near the last QRS with less slope than this fraction is a T wave
DF_LEVEL_FLOOR = 2  # lowest QRS level a lead's integral is normalised by, (mV/s)^2
DF_RESCUE_DECAY = 3  # per-sample factor by which levels relax during a rescue
DF_NOISE_REF = 4  # normalised inter-beat noise at which a lead's weight halves
N_DETECT_FPARAMS = 5

# float state (DS_*)
DS_SPK = 0  # running signal-peak level of the fused feature
DS_NPK = 1  # running noise-peak level
DS_LAST_SLOPE = 2  # slope of the last QRS
DS_RR_MEAN = 3  # mean of the last RR intervals, samples
DS_SB_VAL = 4  # best noise peak since the last QRS (search-back candidate)
DS_SB_SLOPE = 5
N_DETECT_FSTATE = 6

# integer state (DI_*)
DI_N = 0  # absolute index of the next sample
DI_LAST_QRS = 1  # feature-time index of the last QRS peak (-1: none)
DI_LAST_R = 2  # R index of the last beat emitted (-1: none)
DI_SB_POS = 3  # feature-time index of the search-back candidate (-1: none)
DI_SB_R = 4
DI_RR_COUNT = 5
DI_RR_POS = 6
DI_BAD_START = 7  # start of the current unusable stretch (-1: usable)
DI_LEARNED = 8
DI_QUIET_SINCE = 9  # feature-time index since which no beat was found
N_DETECT_ISTATE = 10

# per-lead float state (LS_*) of stage 2
LS_LEVEL = 0  # running QRS peak of the lead's integral, (mV/s)^2
LS_WEIGHT = 1  # the lead's weight in the fused feature for the current sample
LS_NOISE = 2  # running inter-beat peak of the normalised integral
LS_IB_MAX = 3  # inter-beat peak since the last beat
N_LEAD_DSTATE = 4

N_RR = 8  # RR intervals in the running mean


@njit
def _locate_r(p, bp_ring, mwi_ring, lead_state, ip, mask):
    """R index for a fused-feature peak at ``p``: on the lead that shows the
    beat best (largest weighted normalised integral), the largest absolute
    band-passed value before the peak, minus the band-pass delay."""
    n_leads = bp_ring.shape[0]
    lo = p - ip[DP_LOC_BACK]
    hi = p - ip[DP_LOC_FWD]
    best_lead = 0
    best_score = -1.0
    for lead in range(n_leads):
        w = lead_state[lead, LS_WEIGHT]
        if w <= 0.0:
            continue
        score = w * mwi_ring[lead, p & mask] / lead_state[lead, LS_LEVEL]
        if score > best_score:
            best_score = score
            best_lead = lead
    best = -1.0
    best_k = hi
    for k in range(lo, hi + 1):
        val = abs(bp_ring[best_lead, k & mask])
        if val > best:
            best = val
            best_k = k
    return best_k - ip[DP_BP_DELAY]


@njit
def _accept(p, r, slope, value, fs, ist, rr, lead_state, out_r, n_out, spk_gain):
    """Record a QRS at feature index ``p`` with R index ``r``; returns n_out."""
    # an artifact far above the running level must not lift it for good
    if value > 2.0 * fs[DS_SPK]:
        value = 2.0 * fs[DS_SPK]
    fs[DS_SPK] = spk_gain * value + (1.0 - spk_gain) * fs[DS_SPK]
    fs[DS_LAST_SLOPE] = slope
    last_r = ist[DI_LAST_R]
    if last_r >= 0 and r > last_r:
        rr[ist[DI_RR_POS]] = r - last_r
        ist[DI_RR_POS] = (ist[DI_RR_POS] + 1) % N_RR
        if ist[DI_RR_COUNT] < N_RR:
            ist[DI_RR_COUNT] += 1
        total = 0.0
        for k in range(ist[DI_RR_COUNT]):
            total += rr[k]
        fs[DS_RR_MEAN] = total / ist[DI_RR_COUNT]
    if r > last_r:
        out_r[n_out] = r
        n_out += 1
        ist[DI_LAST_R] = r
    ist[DI_LAST_QRS] = p
    ist[DI_QUIET_SINCE] = p
    ist[DI_SB_POS] = -1
    fs[DS_SB_VAL] = 0.0
    for lead in range(lead_state.shape[0]):
        # each lead's noise: the running mean of its inter-beat peaks
        ib = lead_state[lead, LS_IB_MAX]
        if ib > 4.0:
            ib = 4.0
        lead_state[lead, LS_NOISE] = 0.875 * lead_state[lead, LS_NOISE] + 0.125 * ib
        lead_state[lead, LS_IB_MAX] = 0.0
    return n_out


@njit
def _update_levels(p, mwi_ring, lead_state, floor, hold, mask):
    """Move each usable lead's QRS level towards its integral peak at ``p``."""
    for lead in range(mwi_ring.shape[0]):
        if lead_state[lead, LS_WEIGHT] <= 0.0:
            continue
        level = lead_state[lead, LS_LEVEL]
        peak = 0.0
        for k in range(p - hold, p + hold + 1):
            val = mwi_ring[lead, k & mask]
            if val > peak:
                peak = val
        if peak > 3.0 * level:
            peak = 3.0 * level
        level = 0.875 * level + 0.125 * peak
        lead_state[lead, LS_LEVEL] = level if level > floor else floor


@njit
def detect_step(bp, mwi, slope, bad, ip, fp, fs, ist, rr, lead_state,
                bp_ring, mwi_ring, f_ring, s_ring, out_r, out_bad):
    """Stage 2 over one chunk of per-lead features.

    Parameters
    ----------
    bp, mwi, slope : float64[n_leads, n]
        Stage 1 outputs for the chunk.
    bad : uint8[n_leads, n]
        Stage 1 unusable flags.
    ip, fp : int64[N_DETECT_IPARAMS], float64[N_DETECT_FPARAMS]
        Parameters (DP_*, DF_* indices).
    fs, ist : float64[N_DETECT_FSTATE], int64[N_DETECT_ISTATE]
        Carried scalar state (DS_*, DI_* indices).
    rr : float64[N_RR]
        Carried ring of recent RR intervals, samples.
    lead_state : float64[n_leads, N_LEAD_DSTATE]
        Carried per-lead state (LS_* indices).
    bp_ring, mwi_ring : float64[n_leads, ring]
        Carried history of the per-lead features.
    f_ring, s_ring : float64[ring]
        Carried history of the fused feature and fused slope.
    out_r : int64[>= n // refractory + 4]
        R indices emitted in this call.
    out_bad : int64[>= 2 * (n + 1)]
        Starts and ends ([start, end) pairs, flattened) of unusable stretches
        closed in this call.

    Returns
    -------
    (n_r, n_bad) : counts written to ``out_r`` and ``out_bad`` (pairs).
    """
    n_leads = bp.shape[0]
    n = bp.shape[1]
    mask = ip[DP_RING] - 1
    hold = ip[DP_HOLD]
    refractory = ip[DP_REFRACTORY]
    learn = ip[DP_LEARN]
    noise_delay = ip[DP_NOISE_DELAY]
    floor = fp[DF_LEVEL_FLOOR]
    noise_ref = fp[DF_NOISE_REF]
    n_out = 0
    n_bad = 0
    for i in range(n):
        t = ist[DI_N]
        learned = ist[DI_LEARNED] != 0
        # ---- fuse the leads --------------------------------------------
        wsum = 0.0
        fused = 0.0
        fslope = 0.0
        q = t - noise_delay  # inter-beat noise tap, behind any pending beat
        in_gap = ist[DI_LAST_QRS] >= 0 and q > ist[DI_LAST_QRS] + noise_delay
        for lead in range(n_leads):
            bp_ring[lead, t & mask] = bp[lead, i]
            mwi_ring[lead, t & mask] = mwi[lead, i]
            level = lead_state[lead, LS_LEVEL]
            if bad[lead, i] != 0:
                lead_state[lead, LS_WEIGHT] = 0.0
                continue
            if not learned:
                lead_state[lead, LS_WEIGHT] = 1.0
                if mwi[lead, i] > level:
                    lead_state[lead, LS_LEVEL] = mwi[lead, i]
                continue
            if in_gap:
                val = mwi_ring[lead, q & mask] / level
                if val > lead_state[lead, LS_IB_MAX]:
                    lead_state[lead, LS_IB_MAX] = val
            nz = lead_state[lead, LS_NOISE] / noise_ref
            w = 1.0 / (1.0 + nz * nz)
            lead_state[lead, LS_WEIGHT] = w
            wsum += w
            fused += w * mwi[lead, i] / level
            fslope += w * slope[lead, i] / np.sqrt(level)
        if wsum > 0.0:
            fused /= wsum
            fslope /= wsum
        f_ring[t & mask] = fused
        s_ring[t & mask] = fslope
        ist[DI_N] = t + 1
        # ---- learning period ------------------------------------------
        if not learned:
            if t + 1 >= learn:
                for lead in range(n_leads):
                    # the largest integral in the learning period is about
                    # one QRS; normalised QRS peaks then sit near 0.5-1
                    level = 0.5 * lead_state[lead, LS_LEVEL]
                    lead_state[lead, LS_LEVEL] = level if level > floor else floor
                fs[DS_SPK] = 0.6
                fs[DS_NPK] = 0.05
                ist[DI_LEARNED] = 1
                ist[DI_QUIET_SINCE] = t
            continue
        # ---- unusable stretches (no lead usable) -------------------------
        if wsum == 0.0:
            if ist[DI_BAD_START] < 0:
                ist[DI_BAD_START] = t
            continue
        if ist[DI_BAD_START] >= 0:
            out_bad[2 * n_bad] = ist[DI_BAD_START]
            out_bad[2 * n_bad + 1] = t
            n_bad += 1
            ist[DI_BAD_START] = -1
            # the rhythm context is stale after a gap: no search-back across it
            ist[DI_SB_POS] = -1
            fs[DS_SB_VAL] = 0.0
            ist[DI_LAST_QRS] = -1
            ist[DI_QUIET_SINCE] = t
        # ---- rescue: long without a beat, relax the levels ----------------
        if t - ist[DI_QUIET_SINCE] > ip[DP_RESCUE]:
            decay = fp[DF_RESCUE_DECAY]
            spk = fs[DS_SPK] * decay
            fs[DS_SPK] = spk if spk > 2.0 * fs[DS_NPK] else 2.0 * fs[DS_NPK]
            for lead in range(n_leads):
                level = lead_state[lead, LS_LEVEL] * decay
                lead_state[lead, LS_LEVEL] = level if level > floor else floor
        # ---- search-back for a missed beat -------------------------------
        last_qrs = ist[DI_LAST_QRS]
        rr_mean = fs[DS_RR_MEAN]
        if rr_mean > ip[DP_RR_MAX]:
            rr_mean = ip[DP_RR_MAX]
        if (last_qrs >= 0 and ist[DI_SB_POS] >= 0
                and t - hold - last_qrs > fp[DF_SEARCHBACK] * rr_mean):
            thr1 = fs[DS_NPK] + 0.25 * (fs[DS_SPK] - fs[DS_NPK])
            if fs[DS_SB_VAL] > 0.5 * thr1:
                sb_pos = ist[DI_SB_POS]
                _update_levels(sb_pos, mwi_ring, lead_state, floor, hold, mask)
                n_out = _accept(sb_pos, ist[DI_SB_R], fs[DS_SB_SLOPE], fs[DS_SB_VAL],
                                fs, ist, rr, lead_state, out_r, n_out, 0.25)
        # ---- is p = t - hold a peak of the fused feature? ----------------
        p = t - hold
        if p < learn + hold:
            continue
        fp_val = f_ring[p & mask]
        if fp_val <= 0.0:
            continue
        if not (fp_val > f_ring[(p - 1) & mask] and fp_val >= f_ring[(p + 1) & mask]):
            continue
        is_peak = True
        for k in range(p - hold, p + hold + 1):
            val = f_ring[k & mask]
            if val > fp_val or (val == fp_val and k < p):
                is_peak = False
                break
        if not is_peak:
            continue
        last_qrs = ist[DI_LAST_QRS]
        if last_qrs >= 0 and p - last_qrs < refractory:
            continue
        # the candidate's slope: the largest fused slope in its QRS window
        cand_slope = 0.0
        for k in range(p - ip[DP_MWI_LEN], p + 1):
            val = s_ring[k & mask]
            if val > cand_slope:
                cand_slope = val
        thr1 = fs[DS_NPK] + 0.25 * (fs[DS_SPK] - fs[DS_NPK])
        is_qrs = fp_val > thr1
        twave = last_qrs >= 0 and p - last_qrs < ip[DP_TWAVE]
        if is_qrs and twave and cand_slope < fp[DF_TWAVE_SLOPE] * fs[DS_LAST_SLOPE]:
            is_qrs = False
        if is_qrs:
            r = _locate_r(p, bp_ring, mwi_ring, lead_state, ip, mask)
            # a missed beat before this one? (long interval, good candidate)
            if (last_qrs >= 0 and ist[DI_SB_POS] >= 0
                    and p - last_qrs > fp[DF_SEARCHBACK] * rr_mean
                    and fs[DS_SB_VAL] > 0.5 * thr1
                    and p - ist[DI_SB_POS] >= refractory):
                n_out = _accept(ist[DI_SB_POS], ist[DI_SB_R], fs[DS_SB_SLOPE], fs[DS_SB_VAL],
                                fs, ist, rr, lead_state, out_r, n_out, 0.25)
            _update_levels(p, mwi_ring, lead_state, floor, hold, mask)
            n_out = _accept(p, r, cand_slope, fp_val, fs, ist, rr, lead_state, out_r, n_out, 0.125)
        else:
            fs[DS_NPK] = 0.125 * fp_val + 0.875 * fs[DS_NPK]
            if fp_val > fs[DS_SB_VAL] and not twave:
                fs[DS_SB_VAL] = fp_val
                fs[DS_SB_SLOPE] = cand_slope
                ist[DI_SB_POS] = p
                ist[DI_SB_R] = _locate_r(p, bp_ring, mwi_ring, lead_state, ip, mask)
    return n_out, n_bad


@njit
def close_unusable(ist, out_bad):
    """At the end of a record, close an open unusable stretch; returns 0 or 1."""
    if ist[DI_BAD_START] >= 0:
        out_bad[0] = ist[DI_BAD_START]
        out_bad[1] = ist[DI_N]
        ist[DI_BAD_START] = -1
        return 1
    return 0
