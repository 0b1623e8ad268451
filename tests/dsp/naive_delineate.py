"""A slow, obviously-correct reference for the delineation kernel (STYLE rule 4).

It follows the rules of the dsp/_delineate.py docstring with whole-array
NumPy operations (slope arrays of the whole record, boolean masks for local
maxima and threshold crossings, sliding-window sums for Zhang's area) instead
of the kernel's index loops.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from dsp import _delineate as K


def _local_max(a):
    """m[k] for k in 1..len-2: a[k] >= both neighbours (False at the ends)."""
    m = np.zeros(a.size, bool)
    m[1:-1] = (a[1:-1] >= a[:-2]) & (a[1:-1] >= a[2:])
    return m


def _onset(e, lo, r, ipk, fs_hz, threshold):
    ms = fs_hz / 1000
    ks = np.arange(max(lo + 1, r - int(100 * ms)), ipk)
    big = ks[(e[ks] >= K.QRS_ONSET_PEAK_FRACTION * e[ipk]) & _local_max(e)[ks]]
    first = big[0] if big.size else ipk
    below = np.flatnonzero(e[lo + 1 : first + 1] < threshold * e[first])
    return lo + 1 + below[-1] if below.size else lo


def _offset(s, hi, r, ipk, fs_hz):
    ms = fs_hz / 1000
    ks = np.arange(ipk + 1, min(hi - 1, r + int(100 * ms)) + 1)
    big = ks[(s[ks] >= K.QRS_OFFSET_PEAK_FRACTION * s[ipk]) & _local_max(s)[ks]]
    last = big[-1] if big.size else ipk
    ref = s[last]
    ks = np.arange(last, hi)
    lmin = np.zeros(ks.size, bool)
    lmin[:] = (s[ks] <= s[ks - 1]) & (s[ks] <= s[ks + 1])
    stop = (s[ks] < K.QRS_OFFSET_THRESHOLD * ref) | ((s[ks] < K.QRS_OFFSET_LOCAL_MIN * ref) & lmin)
    return ks[np.argmax(stop)] if stop.any() else hi


def _zhang(x, lb, rb, w, c):
    """Zhang's area A(t) for t in lb..rb and its end by his morphology rule."""
    t = np.arange(lb, rb + 1)
    sums = sliding_window_view(x, w)[t - w + 1].sum(axis=1)
    level = sliding_window_view(x, 2 * c + 1)[t - c].mean(axis=1)
    area = sums - w * level
    i_up, i_down = int(np.argmax(area)), int(np.argmin(area))
    up, down = area[i_up], -area[i_down]
    (early, a_early), (late, a_late) = sorted([(i_up, up), (i_down, down)])
    if a_early > K.ZHANG_MORPHOLOGY_RATIO * a_late:
        return lb + early, a_early
    return lb + late, a_late


def delineate_ref(xf, r_peaks, fs_hz, qrs_threshold, t_search, p_min, p_snr):
    """What ``dsp._delineate._delineate_kernel`` returns, computed with array operations."""
    n, n_leads = xf.shape
    nb = r_peaks.size
    out = {k: np.full(nb, -1, np.int64) for k in ("onset", "offset", "t_peak", "t_end")}
    out["p"] = np.zeros(nb, bool)
    ms = fs_hz / 1000
    h = max(1, int(round(K.SLOPE_HALF_MS * ms)))
    d = np.zeros_like(xf)
    d[h : n - h] = xf[2 * h :] - xf[: n - 2 * h]
    slopes = np.abs(d)
    env = np.sqrt((d * d).sum(axis=1))
    zw = max(2, int(round(K.ZHANG_WINDOW_S * fs_hz)))
    zc = int(round(K.ZHANG_LEVEL_HALF_S * fs_hz))
    shift = int(round(K.T_END_SHIFT_MS * ms))
    for b, r in enumerate(r_peaks):
        lo, hi = max(h + 1, r - int(150 * ms)), min(n - h - 2, r + int(180 * ms))
        if not lo <= r <= hi:
            continue
        a, z = max(lo, r - int(60 * ms)), min(hi, r + int(60 * ms))
        ipk = a + int(np.argmax(env[a : z + 1]))
        if not env[ipk] > 0:
            continue
        out["onset"][b] = on = _onset(env, lo, r, ipk, fs_hz, qrs_threshold)
        peaks = slopes[a : z + 1].max(axis=0)
        js = [_offset(slopes[:, lead], hi, r, a + int(np.argmax(slopes[a : z + 1, lead])), fs_hz)
              for lead in range(n_leads) if peaks[lead] > 0]
        wts = peaks[peaks > 0]
        out["offset"][b] = math.floor(np.dot(wts, js) / wts.sum() + 0.5)
        rr = min(r_peaks[b + 1] - r if b + 1 < nb else int(1000 * ms), int(2000 * ms))
        t_lo = out["offset"][b] + int(100 * ms)
        t_hi = min(n - 1, r + min(int(0.5 * rr), int(460 * ms)))
        if b + 1 < nb:
            t_hi = min(t_hi, r_peaks[b + 1] - int(120 * ms))
        if t_hi - t_lo >= int(40 * ms):
            q0 = max(0, on - int(30 * ms))
            q1 = max(q0 + 1, on - int(10 * ms))
            dev = np.abs(xf[t_lo : t_hi + 1] - xf[q0:q1].mean(axis=0))
            if dev.max() > 0:
                # the kernel scans lead by lead: the first maximum in lead order
                lead, k = divmod(int(np.argmax(dev.T.ravel())), dev.shape[0])
                out["t_peak"][b] = t_lo + k
        tp = out["t_peak"][b]
        if tp >= 0:
            lb, rb = max(tp + 1, zw + zc), min(n - 1 - zc, tp + t_search)
            if b + 1 < nb:
                rb = min(rb, r_peaks[b + 1] - int(80 * ms))
            if rb - lb >= 2:
                ends = np.array([_zhang(xf[:, lead], lb, rb, zw, zc) for lead in range(n_leads)])
                if ends[:, 1].sum() > 0:
                    te = math.floor(np.dot(ends[:, 1], ends[:, 0]) / ends[:, 1].sum() + 0.5)
                    out["t_end"][b] = min(n - 1, te + shift)
        rr_prev = r - r_peaks[b - 1] if b > 0 else rr
        p_hi = on - int(16 * ms)
        p_lo = r - int(320 * ms)
        if b > 0:
            p_lo = max(p_lo, r - int(0.6 * rr_prev))
        p_lo = max(p_lo, 1)
        if p_hi - p_lo >= int(60 * ms):
            k = np.arange(p_lo, p_hi + 1)
            for lead in range(min(n_leads, 2)):
                seg = xf[k, lead]
                base = seg[0] + (seg[-1] - seg[0]) * (k - p_lo) / (p_hi - p_lo)
                dev = np.abs(seg - base).max()
                hf = seg - 0.5 * (xf[k - 1, lead] + xf[k + 1, lead])
                noise = np.sqrt(np.mean(hf * hf))
                if dev >= p_min and dev >= p_snr * 4.0 * noise:
                    out["p"][b] = True
    return out
