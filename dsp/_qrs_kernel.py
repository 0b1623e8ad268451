"""Numba kernels of the streaming QRS detector.

:func:`process` runs the detector over a chunk of any length. Inside, it
works in blocks of ``DP_BLOCK`` internal samples through short rings that
stay in the CPU cache, in two stages:

1. per lead (:func:`_lead_block`): the input is averaged down to an internal
   rate of 100-200 Hz, then band-passed (two second-order sections), run
   through a five-point derivative, squared and integrated over a moving
   window (Pan & Tompkins 1985); samples where the lead is unusable
   (lead-off/NaN, flat or clipped at a rail, and a settling time after) are
   flagged;
2. fused decision (:func:`_detect_block`, :func:`_judge_peak`): each lead's
   integral is divided by that lead's own running QRS level and clipped,
   the usable leads are averaged with weights that fall with their
   inter-beat noise, and peaks of the fused feature are judged against
   adaptive signal / noise levels, with a refractory period, a stricter
   threshold for premature candidates, T-wave discrimination by slope,
   search-back for missed beats, and a rescue that relaxes the levels after
   a long silence. R is located on a primary lead at the input rate
   (:func:`_locate_r`).

All state lives in the arrays of the ``state`` tuple (see
:meth:`dsp._qrs.QrsDetector._new_state`) and carries from one call to the
next, so a record fed whole or in pieces gives bit-identical beats. The
kernels know nothing of seconds or hertz: the wrapper in :mod:`dsp._qrs`
converts every setting to samples (``ip``) or plain numbers (``fp``).
"""

from __future__ import annotations

import numpy as np

from dsp._numba_config import njit

# ---------------------------------------------------------------------------
# parameters
# ---------------------------------------------------------------------------
# integer parameters (DP_*), samples unless said otherwise
DP_HOLD = 0  # a peak of the fused feature is the maximum over +- hold
DP_REFRACTORY = 1  # no second QRS closer than this
DP_TWAVE = 2  # candidates closer than this to the last QRS get the slope test
DP_LEARN = 3  # learning period before the first decision
DP_MWI_LEN = 4  # moving-window integral length
DP_BP_DELAY = 5  # band-pass group delay, subtracted when locating R
DP_LOC_BACK = 6  # R is searched in [peak - loc_back, peak] (feature time)
DP_RR_MAX = 7  # longest RR used for the search-back interval
DP_RING = 8  # ring length (power of two)
DP_RESCUE = 9  # after this long without a beat the levels start to relax
DP_NOISE_DELAY = 10  # a lead's inter-beat noise is read this far behind the input
DP_FLAT_LEN = 11  # constant run that marks a lead flat / clipped
DP_SETTLE_LEN = 12  # a lead stays unusable this long after it recovers
DP_BLOCK = 13  # internal samples per block (history + block <= ring)
DP_DEC = 14  # decimation: input samples averaged into one internal sample
DP_RAW_RING = 15  # length of the input-rate ring (power of two)
DP_REFINE = 16  # R is refined within +- this many input samples
DP_BASELINE = 17  # ... against the mean input over +- this many input samples
N_IPARAMS = 18

# float parameters (DF_*)
DF_SEARCHBACK = 0  # search back after this many mean RR without a beat
DF_TWAVE_SLOPE = 1  # near the last QRS, less slope than this fraction means T wave
DF_LEVEL_FLOOR = 2  # lowest QRS level a lead's integral is divided by, (mV/s)^2
DF_RESCUE_DECAY = 3  # per-sample factor by which levels relax during a rescue
DF_NOISE_REF = 4  # normalised inter-beat noise at which a lead's weight halves
DF_FS_SCALE = 5  # fs_hz / 8: scales the five-point derivative to mV/s
DF_EARLY_RR = 6  # a candidate sooner than this fraction of the mean RR is premature
DF_EARLY_SPK = 7  # ... and needs to reach this fraction of the signal level
DF_G_MAX = 8  # a lead's normalised integral is clipped here before fusion
DF_THR_FRAC = 9  # detection threshold: NPK + frac * (SPK - NPK)
N_FPARAMS = 10

# ---------------------------------------------------------------------------
# state
# ---------------------------------------------------------------------------
# scalar float state (DS_*)
DS_SPK = 0  # running signal-peak level of the fused feature
DS_NPK = 1  # running noise-peak level
DS_LAST_SLOPE = 2  # slope of the last QRS
DS_RR_MEAN = 3  # mean of the last RR intervals, samples
DS_SB_VAL = 4  # best noise peak since the last QRS (search-back candidate)
DS_SB_SLOPE = 5
DS_WSUM = 6  # sum of the weights of the usable leads (last sample)
DS_INV_WSUM = 7  # its inverse
N_DS = 8

# scalar integer state (DI_*)
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
DI_RAW_N = 10  # absolute index of the next input sample
DI_PRIMARY = 11  # the lead R is located on (changes only when clearly better)
N_DI = 12

# per-lead float state (LF_*)
LF_LAST_X = 0  # last finite input, mV (held through NaN)
LF_MWI_SUM = 1  # running sum of squared derivative over the window
LF_Y1 = 2  # band-passed history y[n-1] .. y[n-4]
LF_Y2 = 3
LF_Y3 = 4
LF_Y4 = 5
LF_LEVEL = 6  # running QRS peak of the lead's integral, (mV/s)^2
LF_W = 7  # weight from the lead's noise (used while the lead is usable)
LF_GAIN = 8  # LF_W / LF_LEVEL: the lead's factor in the fused feature
LF_SGAIN = 9  # LF_W / sqrt(LF_LEVEL): its factor in the candidate slope
LF_NOISE = 10  # running inter-beat peak of the normalised integral
LF_WEIGHT = 11  # the lead's weight for the current sample (0 when unusable)
LF_INV_LEVEL = 12  # 1 / LF_LEVEL
LF_X0 = 13  # first finite sample: the filter input is taken relative to it
LF_ACC = 14  # sum of the input samples of the internal sample being built
LF_LAST_U = 15  # last internal sample (flat-line test)
N_LF = 16

# per-lead integer state (LI_*)
LI_STARTED = 0  # 0 until the first finite sample has been seen
LI_NAN_RUN = 1
LI_FLAT_RUN = 2
LI_SETTLE = 3
LI_SQ_POS = 4  # write position in the squared-derivative window
LI_ACC_N = 5  # input samples in LF_ACC
LI_ACC_BAD = 6  # 1 if one of them was not finite
N_LI = 7

# rows of the per-lead float rings
RING_BP = 0  # band-passed signal, mV
RING_MWI = 1  # moving-window integral, (mV/s)^2
RING_SLOPE = 2  # absolute derivative, mV/s
N_RINGS = 3

N_RR = 8  # RR intervals in the running mean


# ---------------------------------------------------------------------------
# stage 1
# ---------------------------------------------------------------------------
@njit
def _lead_block(x, i0, n_raw, t0, raw0, lead, sos, ip, fp, lead_f, lead_i, zi, sq_ring,
                frings, bad_ring, raw_ring):
    """Stage 1 for one lead over input samples ``x[i0:i0+n_raw, lead]``.

    The input samples are absolute ``raw0..``; every ``DP_DEC`` of them are
    averaged into one internal sample, written to the rings from internal
    index ``t0`` on. Returns the number of internal samples written.
    """
    mask = ip[DP_RING] - 1
    raw_mask = ip[DP_RAW_RING] - 1
    dec = ip[DP_DEC]
    inv_dec = 1.0 / dec
    mwi_len = ip[DP_MWI_LEN]
    flat_len = ip[DP_FLAT_LEN]
    settle_len = ip[DP_SETTLE_LEN]
    fs_scale = fp[DF_FS_SCALE]
    inv_len = 1.0 / mwi_len
    # the band-pass is designed as exactly two second-order sections
    b00 = sos[0, 0]
    b01 = sos[0, 1]
    b02 = sos[0, 2]
    a01 = sos[0, 4]
    a02 = sos[0, 5]
    b10 = sos[1, 0]
    b11 = sos[1, 1]
    b12 = sos[1, 2]
    a11 = sos[1, 4]
    a12 = sos[1, 5]
    z00 = zi[lead, 0, 0]
    z01 = zi[lead, 0, 1]
    z10 = zi[lead, 1, 0]
    z11 = zi[lead, 1, 1]
    sq = sq_ring[lead]
    last_x = lead_f[lead, LF_LAST_X]
    x0 = lead_f[lead, LF_X0]
    acc = lead_f[lead, LF_ACC]
    last_u = lead_f[lead, LF_LAST_U]
    mwi_sum = lead_f[lead, LF_MWI_SUM]
    y1 = lead_f[lead, LF_Y1]
    y2 = lead_f[lead, LF_Y2]
    y3 = lead_f[lead, LF_Y3]
    y4 = lead_f[lead, LF_Y4]
    started = lead_i[lead, LI_STARTED]
    nan_run = lead_i[lead, LI_NAN_RUN]
    flat_run = lead_i[lead, LI_FLAT_RUN]
    settle = lead_i[lead, LI_SETTLE]
    pos = lead_i[lead, LI_SQ_POS]
    acc_n = lead_i[lead, LI_ACC_N]
    acc_bad = lead_i[lead, LI_ACC_BAD]
    n_out = 0
    for j in range(n_raw):
        v = x[i0 + j, lead]
        if not np.isfinite(v):
            acc_bad = 1
            v = last_x
        elif started == 0:
            # the filter input is taken relative to the first value, so the
            # step from 0 to the DC level does not ring like a beat
            started = 1
            x0 = v
            last_u = 0.0
        last_x = v
        raw_ring[lead, (raw0 + j) & raw_mask] = v
        acc += v
        acc_n += 1
        if acc_n < dec:
            continue
        u = acc * inv_dec - x0
        acc = 0.0
        acc_n = 0
        if acc_bad != 0 or started == 0:
            nan_run += 1
        else:
            nan_run = 0
            if u == last_u:
                flat_run += 1
            else:
                flat_run = 0
            last_u = u
        acc_bad = 0
        # band-pass: two second-order sections, transposed direct form II
        y = b00 * u + z00
        z00 = b01 * u - a01 * y + z01
        z01 = b02 * u - a02 * y
        u = y
        y = b10 * u + z10
        z10 = b11 * u - a11 * y + z11
        z11 = b12 * u - a12 * y
        d = (2.0 * y + y1 - y3 - 2.0 * y4) * fs_scale
        y4 = y3
        y3 = y2
        y2 = y1
        y1 = y
        d2 = d * d
        mwi_sum += d2 - sq[pos]
        sq[pos] = d2
        pos += 1
        if pos == mwi_len:
            pos = 0
        m = mwi_sum * inv_len
        if m < 0.0:  # rounding of the running sum
            m = 0.0
        k = (t0 + n_out) & mask
        n_out += 1
        frings[RING_BP, lead, k] = y
        frings[RING_MWI, lead, k] = m
        frings[RING_SLOPE, lead, k] = abs(d)
        if nan_run > 0 or flat_run >= flat_len:
            settle = settle_len
            bad_ring[lead, k] = 1
        elif settle > 0:
            settle -= 1
            bad_ring[lead, k] = 1
        else:
            bad_ring[lead, k] = 0
    zi[lead, 0, 0] = z00
    zi[lead, 0, 1] = z01
    zi[lead, 1, 0] = z10
    zi[lead, 1, 1] = z11
    lead_f[lead, LF_LAST_X] = last_x
    lead_f[lead, LF_X0] = x0
    lead_f[lead, LF_ACC] = acc
    lead_f[lead, LF_LAST_U] = last_u
    lead_f[lead, LF_MWI_SUM] = mwi_sum
    lead_f[lead, LF_Y1] = y1
    lead_f[lead, LF_Y2] = y2
    lead_f[lead, LF_Y3] = y3
    lead_f[lead, LF_Y4] = y4
    lead_i[lead, LI_STARTED] = started
    lead_i[lead, LI_NAN_RUN] = nan_run
    lead_i[lead, LI_FLAT_RUN] = flat_run
    lead_i[lead, LI_SETTLE] = settle
    lead_i[lead, LI_SQ_POS] = pos
    lead_i[lead, LI_ACC_N] = acc_n
    lead_i[lead, LI_ACC_BAD] = acc_bad
    return n_out


# ---------------------------------------------------------------------------
# stage 2 helpers
# ---------------------------------------------------------------------------
@njit
def _set_level(lf, level, floor):
    """Set a lead's QRS level (not below ``floor``) and its derived gains."""
    if level < floor:
        level = floor
    lf[LF_LEVEL] = level
    lf[LF_INV_LEVEL] = 1.0 / level
    lf[LF_GAIN] = lf[LF_W] / level
    lf[LF_SGAIN] = lf[LF_W] / np.sqrt(level)


@njit
def _primary_lead(lead_f, di):
    """The lead R is located on: it stays the same beat after beat (so RR
    intervals do not jitter between leads) until it is unusable or another
    lead's weight is more than twice its own."""
    cur = di[DI_PRIMARY]
    w_cur = lead_f[cur, LF_WEIGHT]
    best = cur
    w_best = w_cur
    for lead in range(lead_f.shape[0]):
        w = lead_f[lead, LF_WEIGHT]
        if w > w_best:
            best = lead
            w_best = w
    if w_cur <= 0.0 or w_best > 2.0 * w_cur:
        di[DI_PRIMARY] = best
        return best
    return cur


@njit
def _locate_r(p, frings, lead_f, raw_ring, ip, di, mask):
    """Input-sample index of the R peak for a fused-feature peak at ``p``.

    On the primary lead, the largest absolute band-passed value in the
    window before the feature peak, less the filter's delay, places the QRS
    to within about 20 ms; R is then the input sample there that deviates
    most from the local mean (the QRS's major deflection, whatever its
    polarity)."""
    lead = _primary_lead(lead_f, di)
    best = -1.0
    best_k = p
    for k in range(p - ip[DP_LOC_BACK], p + 1):
        val = abs(frings[RING_BP, lead, k & mask])
        if val > best:
            best = val
            best_k = k
    dec = ip[DP_DEC]
    raw_mask = ip[DP_RAW_RING] - 1
    centre = (best_k - ip[DP_BP_DELAY]) * dec + (dec - 1) // 2
    half = ip[DP_BASELINE]
    total = 0.0
    for k in range(centre - half, centre + half + 1):
        total += raw_ring[lead, k & raw_mask]
    baseline = total / (2 * half + 1)
    r = centre
    best = -1.0
    radius = ip[DP_REFINE]
    for k in range(centre - radius, centre + radius + 1):
        val = abs(raw_ring[lead, k & raw_mask] - baseline)
        if val > best:
            best = val
            r = k
    return r


@njit
def _candidate_slope(p, frings, lead_f, window, mask):
    """Slope of a candidate at ``p``: each usable lead's largest absolute
    derivative in the QRS window, in units of the square root of its QRS
    level, averaged with the lead weights."""
    num = 0.0
    den = 0.0
    for lead in range(lead_f.shape[0]):
        w = lead_f[lead, LF_WEIGHT]
        if w <= 0.0:
            continue
        peak = 0.0
        for j in range(p - window, p + 1):
            val = frings[RING_SLOPE, lead, j & mask]
            if val > peak:
                peak = val
        num += lead_f[lead, LF_SGAIN] * peak
        den += w
    return num / den if den > 0.0 else 0.0


@njit
def _update_levels(p, frings, lead_f, floor, hold, mask):
    """Move each usable lead's QRS level towards its integral peak at ``p``."""
    for lead in range(lead_f.shape[0]):
        lf = lead_f[lead]
        if lf[LF_WEIGHT] <= 0.0:
            continue
        level = lf[LF_LEVEL]
        peak = 0.0
        for k in range(p - hold, p + hold + 1):
            val = frings[RING_MWI, lead, k & mask]
            if val > peak:
                peak = val
        if peak > 3.0 * level:
            peak = 3.0 * level
        _set_level(lf, 0.875 * level + 0.125 * peak, floor)


@njit
def _accept(p, r, slope, value, spk_gain, ip, fp, ds, di, rr, lead_f, frings, out_r, n_out):
    """Record a QRS at feature index ``p`` with R index ``r``; returns n_out."""
    # an artifact far above the running level must not lift it for good
    if value > 2.0 * ds[DS_SPK]:
        value = 2.0 * ds[DS_SPK]
    ds[DS_SPK] = spk_gain * value + (1.0 - spk_gain) * ds[DS_SPK]
    ds[DS_LAST_SLOPE] = slope
    last_r = di[DI_LAST_R]
    if last_r >= 0 and r > last_r:
        rr[di[DI_RR_POS]] = (r - last_r) / ip[DP_DEC]  # internal samples
        di[DI_RR_POS] = (di[DI_RR_POS] + 1) % N_RR
        if di[DI_RR_COUNT] < N_RR:
            di[DI_RR_COUNT] += 1
        total = 0.0
        for k in range(di[DI_RR_COUNT]):
            total += rr[k]
        ds[DS_RR_MEAN] = total / di[DI_RR_COUNT]
    if r > last_r:
        out_r[n_out] = r
        n_out += 1
        di[DI_LAST_R] = r
    prev_qrs = di[DI_LAST_QRS]
    di[DI_LAST_QRS] = p
    di[DI_QUIET_SINCE] = p
    di[DI_SB_POS] = -1
    ds[DS_SB_VAL] = 0.0
    if prev_qrs < 0:  # no previous beat: no inter-beat stretch to measure
        return n_out
    # each lead's noise: the running mean of its peaks between beats (from
    # noise_delay after the last QRS to loc_back before this one, as far as
    # the ring reaches), in units of its QRS level; its weight halves when
    # the noise reaches noise_ref
    lo = prev_qrs + ip[DP_NOISE_DELAY] + 1
    oldest = di[DI_N] - (ip[DP_RING] - ip[DP_BLOCK] - 4)
    if lo < oldest:
        lo = oldest
    hi = p - ip[DP_LOC_BACK]
    mask = ip[DP_RING] - 1
    noise_ref = fp[DF_NOISE_REF]
    for lead in range(lead_f.shape[0]):
        lf = lead_f[lead]
        if lo <= hi and lf[LF_WEIGHT] > 0.0:
            peak = 0.0
            for k in range(lo, hi + 1):
                val = frings[RING_MWI, lead, k & mask]
                if val > peak:
                    peak = val
            ib = peak * lf[LF_INV_LEVEL]
            if ib > 4.0:
                ib = 4.0
            lf[LF_NOISE] = 0.875 * lf[LF_NOISE] + 0.125 * ib
        nz = lf[LF_NOISE] / noise_ref
        lf[LF_W] = 1.0 / (1.0 + nz * nz)
        _set_level(lf, lf[LF_LEVEL], 0.0)
    return n_out


# ---------------------------------------------------------------------------
# stage 2
# ---------------------------------------------------------------------------
@njit
def _judge_peak(p, fp_val, ip, fp, ds, di, rr, lead_f, frings, raw_ring, out_r, n_out):
    """Decide whether the fused-feature peak at ``p`` (value ``fp_val``) is a
    QRS, a T wave or noise, and act on it; returns n_out."""
    mask = ip[DP_RING] - 1
    hold = ip[DP_HOLD]
    last_qrs = di[DI_LAST_QRS]
    if last_qrs >= 0 and p - last_qrs < ip[DP_REFRACTORY]:
        return n_out
    rr_mean = min(ds[DS_RR_MEAN], float(ip[DP_RR_MAX]))
    cand_slope = _candidate_slope(p, frings, lead_f, ip[DP_MWI_LEN], mask)
    thr1 = ds[DS_NPK] + fp[DF_THR_FRAC] * (ds[DS_SPK] - ds[DS_NPK])
    is_qrs = fp_val > thr1
    # premature (sooner than a fraction of the mean RR) needs more
    if (is_qrs and last_qrs >= 0 and p - last_qrs < fp[DF_EARLY_RR] * rr_mean
            and fp_val < fp[DF_EARLY_SPK] * ds[DS_SPK]):
        is_qrs = False
    # near the last QRS and with much less slope: a T wave
    twave = last_qrs >= 0 and p - last_qrs < ip[DP_TWAVE]
    if is_qrs and twave and cand_slope < fp[DF_TWAVE_SLOPE] * ds[DS_LAST_SLOPE]:
        is_qrs = False
    if is_qrs:
        r = _locate_r(p, frings, lead_f, raw_ring, ip, di, mask)
        # a missed beat before this one? (long interval, good candidate)
        if (last_qrs >= 0 and di[DI_SB_POS] >= 0
                and p - last_qrs > fp[DF_SEARCHBACK] * rr_mean
                and ds[DS_SB_VAL] > 0.5 * thr1
                and p - di[DI_SB_POS] >= ip[DP_REFRACTORY]):
            n_out = _accept(di[DI_SB_POS], di[DI_SB_R], ds[DS_SB_SLOPE], ds[DS_SB_VAL],
                            0.25, ip, fp, ds, di, rr, lead_f, frings, out_r, n_out)
        _update_levels(p, frings, lead_f, fp[DF_LEVEL_FLOOR], hold, mask)
        n_out = _accept(p, r, cand_slope, fp_val, 0.125, ip, fp, ds, di, rr, lead_f,
                        frings, out_r, n_out)
    else:
        ds[DS_NPK] = 0.125 * fp_val + 0.875 * ds[DS_NPK]
        if fp_val > ds[DS_SB_VAL] and not twave:
            ds[DS_SB_VAL] = fp_val
            ds[DS_SB_SLOPE] = cand_slope
            di[DI_SB_POS] = p
            di[DI_SB_R] = _locate_r(p, frings, lead_f, raw_ring, ip, di, mask)
    return n_out


@njit
def _detect_block(t0, n, ip, fp, ds, di, rr, lead_f, frings, bad_ring, raw_ring, f_ring,
                  out_r, n_out, out_bad, n_bad):
    """Stage 2 over internal samples ``t0 .. t0+n-1`` (features in the rings).

    R peaks go to ``out_r`` and unusable stretches to ``out_bad`` as
    input-sample indices. The state read at every sample is kept in local
    variables (the arrays are updated with them, and they are reloaded after
    the rare calls that change the arrays), so the compiler can keep them in
    registers.
    """
    n_leads = lead_f.shape[0]
    mask = ip[DP_RING] - 1
    hold = ip[DP_HOLD]
    learn = ip[DP_LEARN]
    dec = ip[DP_DEC]
    rescue = ip[DP_RESCUE]
    rr_max = float(ip[DP_RR_MAX])
    floor = fp[DF_LEVEL_FLOOR]
    g_max = fp[DF_G_MAX]
    searchback = fp[DF_SEARCHBACK]
    decay = fp[DF_RESCUE_DECAY]
    learned = di[DI_LEARNED] != 0
    bad_start = di[DI_BAD_START]
    quiet_since = di[DI_QUIET_SINCE]
    last_qrs = di[DI_LAST_QRS]
    sb_pos = di[DI_SB_POS]
    last_wsum = ds[DS_WSUM]
    inv_wsum = ds[DS_INV_WSUM]
    for t in range(t0, t0 + n):
        k = t & mask
        # ---- fuse the leads --------------------------------------------
        wsum = 0.0
        fused = 0.0
        for lead in range(n_leads):
            # (2-D indexing, not a per-lead view: a view costs a reference
            # count update per sample)
            if bad_ring[lead, k] != 0:
                lead_f[lead, LF_WEIGHT] = 0.0
                continue
            m = frings[RING_MWI, lead, k]
            if not learned:
                lead_f[lead, LF_WEIGHT] = 1.0
                if m > lead_f[lead, LF_LEVEL]:
                    lead_f[lead, LF_LEVEL] = m
                continue
            w = lead_f[lead, LF_W]
            lead_f[lead, LF_WEIGHT] = w
            wsum += w
            # clipped, so that an artifact many times a lead's QRS level
            # cannot outvote the other leads however small its weight
            g = lead_f[lead, LF_INV_LEVEL] * m
            fused += w * (g if g < g_max else g_max)
        if wsum != last_wsum:  # the usable leads changed: one division, not one a sample
            last_wsum = wsum
            inv_wsum = 1.0 / wsum if wsum > 0.0 else 0.0
        f_ring[k] = fused * inv_wsum
        # ---- learning period ------------------------------------------
        if not learned:
            if t + 1 >= learn:
                for lead in range(n_leads):
                    # the largest integral in the learning period is about
                    # one QRS; normalised QRS peaks then sit near 0.5-1
                    lf = lead_f[lead]
                    lf[LF_W] = 1.0
                    _set_level(lf, 0.5 * lf[LF_LEVEL], floor)
                ds[DS_SPK] = 0.6
                ds[DS_NPK] = 0.05
                learned = True
                di[DI_LEARNED] = 1
                quiet_since = t
            continue
        # ---- unusable stretches (no lead usable) -------------------------
        if wsum == 0.0:
            if bad_start < 0:
                bad_start = t
            continue
        if bad_start >= 0:
            out_bad[2 * n_bad] = bad_start * dec
            out_bad[2 * n_bad + 1] = t * dec
            n_bad += 1
            bad_start = -1
            # the rhythm context is stale after a gap: no search-back across it
            sb_pos = -1
            di[DI_SB_POS] = -1
            ds[DS_SB_VAL] = 0.0
            last_qrs = -1
            di[DI_LAST_QRS] = -1
            quiet_since = t
        # ---- rescue: long without a beat, relax the levels ----------------
        if t - quiet_since > rescue:
            spk = ds[DS_SPK] * decay
            ds[DS_SPK] = spk if spk > 2.0 * ds[DS_NPK] else 2.0 * ds[DS_NPK]
            for lead in range(n_leads):
                _set_level(lead_f[lead], lead_f[lead, LF_LEVEL] * decay, floor)
        # ---- search-back for a missed beat -------------------------------
        if (last_qrs >= 0 and sb_pos >= 0
                and t - hold - last_qrs > searchback * min(ds[DS_RR_MEAN], rr_max)):
            thr1 = ds[DS_NPK] + fp[DF_THR_FRAC] * (ds[DS_SPK] - ds[DS_NPK])
            if ds[DS_SB_VAL] > 0.5 * thr1:
                di[DI_N] = t + 1
                _update_levels(sb_pos, frings, lead_f, floor, hold, mask)
                n_out = _accept(sb_pos, di[DI_SB_R], ds[DS_SB_SLOPE], ds[DS_SB_VAL],
                                0.25, ip, fp, ds, di, rr, lead_f, frings, out_r, n_out)
                last_qrs = di[DI_LAST_QRS]
                quiet_since = di[DI_QUIET_SINCE]
                sb_pos = di[DI_SB_POS]
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
        for j in range(p - hold, p + hold + 1):
            val = f_ring[j & mask]
            if val > fp_val or (val == fp_val and j < p):
                is_peak = False
                break
        if not is_peak:
            continue
        di[DI_N] = t + 1
        n_out = _judge_peak(p, fp_val, ip, fp, ds, di, rr, lead_f, frings, raw_ring, out_r,
                            n_out)
        last_qrs = di[DI_LAST_QRS]
        quiet_since = di[DI_QUIET_SINCE]
        sb_pos = di[DI_SB_POS]
    di[DI_N] = t0 + n
    di[DI_BAD_START] = bad_start
    di[DI_QUIET_SINCE] = quiet_since
    di[DI_LAST_QRS] = last_qrs
    di[DI_SB_POS] = sb_pos
    ds[DS_WSUM] = last_wsum
    ds[DS_INV_WSUM] = inv_wsum
    return n_out, n_bad


# ---------------------------------------------------------------------------
# drivers
# ---------------------------------------------------------------------------
@njit
def process(x, sos, ip, fp, state, out_r, out_bad):
    """Run the detector over ``x`` (float64[n, n_leads], mV; NaN = lead-off).

    ``state`` is the tuple (ds, di, rr, lead_f, lead_i, zi, sq_ring, frings,
    bad_ring, raw_ring, f_ring), updated in place. R indices decided
    in this call go to ``out_r`` (length >= n // refractory + 4) and closed
    unusable stretches to ``out_bad`` (flattened [start, end) pairs, length
    >= 2 * (n // settle + 2)), both as input-sample indices. Returns the
    counts (n_r, n_bad).
    """
    ds, di, rr, lead_f, lead_i, zi, sq_ring, frings, bad_ring, raw_ring, f_ring = state
    n = x.shape[0]
    n_leads = x.shape[1]
    block_raw = ip[DP_BLOCK] * ip[DP_DEC]
    n_out = 0
    n_bad = 0
    i0 = 0
    while i0 < n:
        n_raw = min(block_raw, n - i0)
        t0 = di[DI_N]
        raw0 = di[DI_RAW_N]
        n_int = 0
        for lead in range(n_leads):
            n_int = _lead_block(x, i0, n_raw, t0, raw0, lead, sos, ip, fp, lead_f, lead_i,
                                zi, sq_ring, frings, bad_ring, raw_ring)
        di[DI_RAW_N] = raw0 + n_raw
        n_out, n_bad = _detect_block(t0, n_int, ip, fp, ds, di, rr, lead_f, frings, bad_ring,
                                     raw_ring, f_ring, out_r, n_out, out_bad, n_bad)
        i0 += n_raw
    return n_out, n_bad


@njit
def finish(ip, fp, state, out_r, out_bad):
    """End of record: close an open unusable stretch and judge the last peaks.

    The decision stage runs over ``hold + 1`` internal samples of silence so
    that a peak within ``hold`` of the end is decided; beats found there are
    kept only if they fall inside the record. Returns (n_r, n_bad).
    """
    ds, di, rr, lead_f, lead_i, zi, sq_ring, frings, bad_ring, raw_ring, f_ring = state
    n_total = di[DI_RAW_N]
    n_bad = 0
    if di[DI_BAD_START] >= 0:
        out_bad[0] = di[DI_BAD_START] * ip[DP_DEC]
        out_bad[1] = n_total
        di[DI_BAD_START] = -1
        n_bad = 1
    mask = ip[DP_RING] - 1
    raw_mask = ip[DP_RAW_RING] - 1
    pad = ip[DP_HOLD] + 1
    t_end = di[DI_N]
    for lead in range(lead_f.shape[0]):
        for t in range(t_end, t_end + pad):
            for row in range(N_RINGS):
                frings[row, lead, t & mask] = 0.0
            bad_ring[lead, t & mask] = 0
        # the input after the end is taken to stay at its last value
        for k in range(n_total, n_total + (pad + 1) * ip[DP_DEC] + ip[DP_BASELINE]):
            raw_ring[lead, k & raw_mask] = lead_f[lead, LF_LAST_X]
    scratch = np.empty(2 * pad + 2, np.int64)
    n_out, _ = _detect_block(t_end, pad, ip, fp, ds, di, rr, lead_f, frings, bad_ring, raw_ring,
                             f_ring, out_r, 0, scratch, 0)
    kept = 0
    for j in range(n_out):
        if out_r[j] < n_total:
            out_r[kept] = out_r[j]
            kept += 1
    return kept, n_bad
