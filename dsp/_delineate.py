"""Beat delineation: QRS onset and offset (J point), T-wave peak and end, P wave present.

Given the R peaks, each beat is delineated on all leads together:

- the ECG is band-limited (zero-phase 0.5-40 Hz Butterworth) and its
  derivative taken; the multi-lead slope envelope ``sqrt(sum_lead d^2)`` marks
  the QRS: onset is the last sample before the R peak, going back, where the
  envelope falls below ``qrs_threshold`` x its maximum around R (within 140 ms),
  offset (J point) the first such sample after R (within 160 ms);
- T wave: on the lead with the largest T deflection, the peak is the largest
  deviation from the PQ level in ``J + 60 ms .. R + min(0.6 RR, 460 ms)``;
  its end is where the area indicator of Zhang et al. (IEEE TBME 2006;53:1312-7),
  ``A(t) = sum_{k=t-w}^{t} (x_k - x_t)``, ``w = 128 ms``, is largest in magnitude
  in ``T peak .. T peak + 200 ms`` (not past the next QRS);
- P wave present when, in ``R - 320 ms .. QRS onset - 16 ms`` (not before the
  previous T end), the detrended lead-0/1 deflection exceeds ``p_min_mv`` and
  ``p_snr`` times the high-frequency noise there.

Sample indices out; -1 where a point is not found. The thresholds and windows
were set on the 1st, 3rd, 5th ... QT Database records (sorted by name); the
error is reported on those and, apart, on the other half, which was not used
(benchmarks/results/delineation.md). A first version: it does not reach the
CSE tolerances yet (see there).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import signal as sps

from dsp._exceptions import InvalidParameterError, InvalidSignalError
from dsp._numba_config import njit

__all__ = ["Delineation", "delineate_beats"]

QRS_THRESHOLD = 0.05
ZHANG_WINDOW_S = 0.128
P_MIN_MV = 0.04
P_SNR = 3.0
T_END_SEARCH_MS = 200


@dataclass(frozen=True)
class Delineation:
    """Fiducial points of each beat, sample indices (-1 = not found)."""

    r_peak: np.ndarray
    qrs_onset: np.ndarray
    qrs_offset: np.ndarray  # the J point
    t_peak: np.ndarray
    t_end: np.ndarray
    p_present: np.ndarray  # bool


@njit
def _delineate_kernel(x, env, r_peaks, fs_hz, qrs_threshold, zhang_w, t_search, p_min, p_snr):
    """x: (n, n_leads) band-limited ECG; env: (n,) slope envelope."""
    n, n_leads = x.shape
    n_beats = r_peaks.shape[0]
    onset = np.full(n_beats, -1, np.int64)
    offset = np.full(n_beats, -1, np.int64)
    t_peak = np.full(n_beats, -1, np.int64)
    t_end = np.full(n_beats, -1, np.int64)
    p_present = np.zeros(n_beats, np.bool_)
    ms = fs_hz / 1000.0
    for b in range(n_beats):
        r = r_peaks[b]
        if r < 0 or r >= n:
            continue
        lo = max(0, r - int(140 * ms))
        hi = min(n - 1, r + int(160 * ms))
        peak = 0.0
        for i in range(max(lo, r - int(60 * ms)), min(hi, r + int(60 * ms)) + 1):
            if env[i] > peak:
                peak = env[i]
        if not peak > 0.0:
            continue
        th = qrs_threshold * peak
        # onset: from the largest slope before R, walk back until below threshold
        i = r
        big = r
        for k in range(r, max(lo, r - int(60 * ms)) - 1, -1):
            if env[k] > env[big]:
                big = k
        i = big
        while i > lo and env[i] >= th:
            i -= 1
        onset[b] = i
        big = r
        for k in range(r, min(hi, r + int(60 * ms)) + 1):
            if env[k] > env[big]:
                big = k
        i = big
        while i < hi and env[i] >= th:
            i += 1
        offset[b] = i
        # T wave
        rr_next = r_peaks[b + 1] - r if b + 1 < n_beats else int(1000 * ms)
        rr_prev = r - r_peaks[b - 1] if b > 0 else rr_next
        rr = min(rr_next, int(2000 * ms))
        j = offset[b]
        t_lo = j + int(60 * ms)
        t_hi = min(n - 1, r + min(int(0.6 * rr), int(460 * ms)))
        if b + 1 < n_beats:
            t_hi = min(t_hi, r_peaks[b + 1] - int(120 * ms))
        if t_hi - t_lo < int(40 * ms):
            continue
        best = 0.0
        best_lead = 0
        best_i = -1
        q0 = max(0, onset[b] - int(30 * ms))
        q1 = max(q0 + 1, onset[b] - int(10 * ms))
        for lead in range(n_leads):
            ref = 0.0
            for k in range(q0, q1):
                ref += x[k, lead]
            ref /= q1 - q0
            for k in range(t_lo, t_hi + 1):
                d = abs(x[k, lead] - ref)
                if d > best:
                    best = d
                    best_lead = lead
                    best_i = k
        if best_i < 0:
            continue
        t_peak[b] = best_i
        sign = 1.0 if x[best_i, best_lead] - x[onset[b], best_lead] > 0 else -1.0
        e_hi = min(n - 1, best_i + t_search)
        if b + 1 < n_beats:
            e_hi = min(e_hi, r_peaks[b + 1] - int(80 * ms))
        best_a = -1e300
        best_e = -1
        for t in range(best_i + 1, e_hi + 1):
            a = 0.0
            for k in range(max(0, t - zhang_w), t + 1):
                a += x[k, best_lead] - x[t, best_lead]
            a *= sign
            if a > best_a:
                best_a = a
                best_e = t
        t_end[b] = best_e
        # P wave presence
        p_hi = onset[b] - int(16 * ms)
        p_lo = r - int(320 * ms)
        if b > 0:
            p_lo = max(p_lo, r - int(0.6 * rr_prev))
        p_lo = max(p_lo, 1)
        if p_hi - p_lo < int(60 * ms):
            continue
        for lead in range(min(n_leads, 2)):
            x0 = x[p_lo, lead]
            x1 = x[p_hi, lead]
            span = p_hi - p_lo
            dev = 0.0
            noise = 0.0
            for k in range(p_lo, p_hi + 1):
                base = x0 + (x1 - x0) * (k - p_lo) / span
                d = abs(x[k, lead] - base)
                if d > dev:
                    dev = d
                hf = x[k, lead] - 0.5 * (x[k - 1, lead] + x[k + 1, lead])
                noise += hf * hf
            noise = math.sqrt(noise / (span + 1))
            if dev >= p_min and dev >= p_snr * 4.0 * noise:
                p_present[b] = True
    return onset, offset, t_peak, t_end, p_present


def delineate_beats(
    signal_mv: np.ndarray,
    fs_hz: float,
    r_peaks: np.ndarray,
    *,
    qrs_threshold: float = QRS_THRESHOLD,
    t_end_search_ms: float = T_END_SEARCH_MS,
) -> Delineation:
    """Delineate every beat of a (n_samples,) or (n_samples, n_leads) ECG in mV.

    Parameters
    ----------
    signal_mv : ndarray
        The ECG, mV; NaN samples are treated as 0 after filtering.
    fs_hz : float
        Sampling frequency, Hz (100-1000).
    r_peaks : ndarray of int
        R-peak sample indices, sorted (e.g. from :func:`dsp.detect_qrs`).
    qrs_threshold : float
        Fraction of the peak slope that bounds the QRS.
    """
    x = np.asarray(signal_mv, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[0] < 10:
        raise InvalidSignalError(f"signal_mv must be (n_samples,) or (n_samples, n_leads); got {np.shape(signal_mv)}")
    if not 100 <= fs_hz <= 1000:
        raise InvalidParameterError(f"fs_hz must be in 100-1000 Hz; got {fs_hz}")
    r = np.ascontiguousarray(r_peaks, dtype=np.int64)
    if r.ndim != 1 or (r.size > 1 and np.any(np.diff(r) <= 0)):
        raise InvalidParameterError("r_peaks must be 1-D and strictly increasing")
    x = np.nan_to_num(x, nan=0.0)
    sos = sps.butter(2, [0.5, 40.0], btype="bandpass", fs=fs_hz, output="sos")
    xf = np.ascontiguousarray(sps.sosfiltfilt(sos, x, axis=0))
    d = np.gradient(xf, axis=0) * fs_hz
    env = np.ascontiguousarray(np.sqrt(np.sum(d * d, axis=1)))
    onset, offset, t_peak, t_end, p = _delineate_kernel(
        xf, env, r, float(fs_hz), float(qrs_threshold), int(round(ZHANG_WINDOW_S * fs_hz)),
        int(round(t_end_search_ms * fs_hz / 1000)), P_MIN_MV, P_SNR,
    )
    return Delineation(r, onset, offset, t_peak, t_end, p)
