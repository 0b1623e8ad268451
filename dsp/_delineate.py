"""Beat delineation: QRS onset and offset (J point), T-wave peak and end, P wave present.

Given the R peaks, each beat is delineated on all leads together. The ECG is
band-limited (zero-phase 0.5-40 Hz Butterworth, run in Numba with the padding and
initial conditions of ``scipy.signal.sosfiltfilt``, both leads at once); its slope is the difference
``s[i] = x[i + h] - x[i - h]``, ``h = SLOPE_HALF_MS`` (a smoothed derivative,
in the spirit of the wavelet scale 2^2 of Martinez et al., IEEE TBME
2004;51:570-81), taken only around each beat. Thresholds are fractions of a
*local* slope, so they follow each beat's amplitude.

- QRS onset, on the multi-lead slope envelope ``e = sqrt(sum_lead s^2)``: the
  first local maximum of ``e`` (from 100 ms before R) that reaches
  ``QRS_ONSET_PEAK_FRACTION`` of the QRS's largest slope (within 60 ms of R)
  is the first wave's steepest point; walking back from it, onset is the first
  sample where ``e`` is below ``qrs_threshold`` x its value there (searched
  up to 150 ms before R). Martinez et al. measure onset from the first
  significant slope of the complex, not the largest, which keeps a small Q
  wave inside the QRS.
- QRS offset (J point), per lead: the last local maximum of ``|s|`` (up to
  100 ms after R) reaching ``QRS_OFFSET_PEAK_FRACTION`` of that lead's largest
  slope; walking forward from it, offset is where ``|s|`` falls below
  ``QRS_OFFSET_THRESHOLD`` x its value there, or earlier at a local minimum
  under ``QRS_OFFSET_LOCAL_MIN`` x that value (a sloping ST segment must not
  carry the walk on); searched up to 180 ms after R. The beat's J point is the
  mean of the leads' offsets weighted by each lead's largest QRS slope (a lead
  with a small, noisy QRS counts little).
- T wave: the peak is the largest deviation, on any lead, from that lead's PQ
  level (mean over 30..10 ms before onset) in ``J + 100 ms .. R + min(RR / 2,
  460 ms)`` (RR the next interval, not closer than 120 ms to the next R). The
  end, per lead, is found by the area indicator of Zhang et al. (IEEE TBME
  2006;53:1312-7): ``A(t) = sum_{k=t-w+1}^{t} (x_k - m_t)``, ``w = 128 ms``,
  ``m_t`` the mean of ``x`` over ``t +- 16 ms``, in ``T peak .. T peak +
  t_end_search_ms`` (not closer than 80 ms to the next R); its largest and
  smallest values mark the ends of an upright and an inverted T; the earlier
  of the two is taken only when it is ``ZHANG_MORPHOLOGY_RATIO`` times larger
  (Zhang's rule; else the later, which ends a biphasic T). The beat's T end is
  the mean of the leads' ends weighted by ``|A|`` there, plus
  ``T_END_SHIFT_MS``.
- P wave present when, in ``R - 320 ms .. QRS onset - 16 ms`` (not before
  ``R - 0.6 RR`` of the previous interval), the detrended lead-0/1 deflection
  exceeds ``p_min_mv`` and ``p_snr`` times the high-frequency noise there.

Sample indices out; -1 where a point is not found. Every point depends on the
signal within about 1 s of its beat (and the filter's settling), so
delineating a window of a record gives the same points as the whole record.

The fractions, windows, the lead-combination rules and the T-end shift were
chosen on the 1st, 3rd, 5th ... QT Database records (sorted by name) against
their q1c annotations; the error is reported on those and, apart, on the other
half, which was not used for any choice (benchmarks/results/delineation.md).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from scipy import signal as sps

from dsp._exceptions import InvalidParameterError, InvalidSignalError
from dsp._numba_config import njit

__all__ = ["Delineation", "delineate_beats"]

#: Half-width of the slope difference, ms.
SLOPE_HALF_MS = 8.0
#: QRS onset: the first slope maximum counts if it reaches this fraction of the QRS's largest slope.
QRS_ONSET_PEAK_FRACTION = 0.3
#: QRS onset: the slope falls below this fraction of that first maximum (``qrs_threshold``).
QRS_THRESHOLD = 0.05
#: QRS offset: the last slope maximum counts if it reaches this fraction of the lead's largest slope.
QRS_OFFSET_PEAK_FRACTION = 0.15
#: QRS offset: the slope falls below this fraction of that last maximum ...
QRS_OFFSET_THRESHOLD = 0.15
#: ... or has a local minimum below this fraction of it.
QRS_OFFSET_LOCAL_MIN = 0.3
#: Zhang's area window, s, and the half-width of the level it is measured from, s.
ZHANG_WINDOW_S = 0.128
ZHANG_LEVEL_HALF_S = 0.016
#: Zhang's rule: the earlier extreme of the area ends the T wave only if this many times larger.
ZHANG_MORPHOLOGY_RATIO = 6.0
#: T end searched up to this long after the T peak, ms.
T_END_SEARCH_MS = 160.0
#: Added to the area-indicator T end, ms (it falls early on slow-returning T waves).
T_END_SHIFT_MS = 12.0
P_MIN_MV = 0.04
P_SNR = 3.0


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
def _sos_pass(sos, zi, y, reverse):
    """Filter every column of y in place through sos, forward or backward, from the steady state
    of its first sample (the leads side by side: their recursions run interleaved)."""
    m, n_leads = y.shape
    n_sec = sos.shape[0]
    z = np.empty((n_sec, n_leads, 2))
    start = m - 1 if reverse else 0
    for k in range(n_sec):
        for lead in range(n_leads):
            z[k, lead, 0] = zi[k, 0] * y[start, lead]
            z[k, lead, 1] = zi[k, 1] * y[start, lead]
    for j in range(m):
        i = m - 1 - j if reverse else j
        for k in range(n_sec):
            b0, b1, b2, a1, a2 = sos[k, 0], sos[k, 1], sos[k, 2], sos[k, 4], sos[k, 5]
            for lead in range(n_leads):
                v = y[i, lead]
                out = b0 * v + z[k, lead, 0]
                z[k, lead, 0] = b1 * v - a1 * out + z[k, lead, 1]
                z[k, lead, 1] = b2 * v - a2 * out
                y[i, lead] = out


@njit
def _filtfilt_kernel(sos, zi, x, padlen):
    """Zero-phase ``sos`` over each column of x (NaN read as 0), as ``scipy.signal.sosfiltfilt``
    (odd padding, steady-state initial conditions)."""
    n, n_leads = x.shape
    p = padlen
    ext = np.empty((n + 2 * p, n_leads))
    for i in range(n):
        for lead in range(n_leads):
            v = x[i, lead]
            ext[p + i, lead] = 0.0 if math.isnan(v) else v
    for lead in range(n_leads):
        for i in range(p):
            ext[i, lead] = 2.0 * ext[p, lead] - ext[2 * p - i, lead]
            ext[n + p + i, lead] = 2.0 * ext[n + p - 1, lead] - ext[n + p - 2 - i, lead]
    _sos_pass(sos, zi, ext, False)
    _sos_pass(sos, zi, ext, True)
    return np.ascontiguousarray(ext[p : n + p])


@functools.lru_cache(maxsize=8)
def _band_pass(fs_hz: float) -> tuple[np.ndarray, np.ndarray, int]:
    """The 0.5-40 Hz band-pass sections, their steady-state ``zi`` and scipy's default pad length."""
    sos = sps.butter(2, [0.5, 40.0], btype="bandpass", fs=fs_hz, output="sos")
    n_zero = min(int((sos[:, 2] == 0).sum()), int((sos[:, 5] == 0).sum()))
    padlen = 3 * (2 * sos.shape[0] + 1 - n_zero)
    return np.ascontiguousarray(sos), np.ascontiguousarray(sps.sosfilt_zi(sos)), padlen


@njit
def _slopes(x, lo, hi, h, out):
    """``out[i - lo, l] = |x[i + h, l] - x[i - h, l]|`` per lead, the multi-lead norm in the last column."""
    n_leads = x.shape[1]
    for i in range(lo, hi + 1):
        acc = 0.0
        for lead in range(n_leads):
            d = x[i + h, lead] - x[i - h, lead]
            out[i - lo, lead] = abs(d)
            acc += d * d
        out[i - lo, n_leads] = math.sqrt(acc)


@njit
def _is_peak(s, k, ch):
    return s[k, ch] >= s[k - 1, ch] and s[k, ch] >= s[k + 1, ch]


@njit
def _qrs_onset(s, ch, lo, r, ipk, first_from, peak, peak_fraction, threshold):
    """Walk back from the first slope maximum >= peak_fraction x peak (indices relative to lo)."""
    first = ipk
    for k in range(max(1, first_from), ipk):
        if s[k, ch] >= peak_fraction * peak and _is_peak(s, k, ch):
            first = k
            break
    level = threshold * s[first, ch]
    k = first
    while k > 0 and s[k, ch] >= level:
        k -= 1
    return lo + k


@njit
def _qrs_offset(s, ch, lo, ipk, last_from, end, peak, peak_fraction, threshold, local_min):
    """Walk forward from the last slope maximum >= peak_fraction x peak (indices relative to lo)."""
    last = ipk
    for k in range(min(end - 1, last_from), ipk, -1):
        if s[k, ch] >= peak_fraction * peak and _is_peak(s, k, ch):
            last = k
            break
    ref = s[last, ch]
    k = last
    while k < end:
        v = s[k, ch]
        if v < threshold * ref or (v < local_min * ref and v <= s[k - 1, ch] and v <= s[k + 1, ch]):
            break
        k += 1
    return lo + k


@njit
def _zhang_end(x, lead, lb, rb, w, c, csum):
    """Zhang's T end on one lead in lb..rb: (sample, |area| there); csum is scratch."""
    a0 = lb - w - c
    csum[0] = 0.0
    for k in range(a0, rb + c + 1):
        csum[k - a0 + 1] = csum[k - a0] + x[k, lead]
    hi_a, lo_a = -math.inf, math.inf
    i_hi, i_lo = lb, lb
    for t in range(lb, rb + 1):
        level = (csum[t + c + 1 - a0] - csum[t - c - a0]) / (2 * c + 1)
        area = csum[t + 1 - a0] - csum[t + 1 - w - a0] - w * level
        if area > hi_a:
            hi_a, i_hi = area, t
        if area < lo_a:
            lo_a, i_lo = area, t
    up, down = hi_a, -lo_a
    if i_hi < i_lo:
        early, late, a_early, a_late = i_hi, i_lo, up, down
    else:
        early, late, a_early, a_late = i_lo, i_hi, down, up
    if a_early > ZHANG_MORPHOLOGY_RATIO * a_late:
        return early, a_early
    return late, a_late


@njit
def _p_present(x, lo, hi, p_min, p_snr):
    """A detrended deflection in lo..hi on lead 0 or 1 above p_min and p_snr x the noise."""
    span = hi - lo
    for lead in range(min(x.shape[1], 2)):
        x0 = x[lo, lead]
        x1 = x[hi, lead]
        dev = 0.0
        noise = 0.0
        for k in range(lo, hi + 1):
            d = abs(x[k, lead] - (x0 + (x1 - x0) * (k - lo) / span))
            if d > dev:
                dev = d
            hf = x[k, lead] - 0.5 * (x[k - 1, lead] + x[k + 1, lead])
            noise += hf * hf
        noise = math.sqrt(noise / (span + 1))
        if dev >= p_min and dev >= p_snr * 4.0 * noise:
            return True
    return False


@njit
def _delineate_kernel(x, r_peaks, fs_hz, qrs_threshold, t_search, p_min, p_snr):
    """x: (n, n_leads) band-limited ECG; t_search: samples searched for the T end after its peak."""
    n, n_leads = x.shape
    n_beats = r_peaks.shape[0]
    onset = np.full(n_beats, -1, np.int64)
    offset = np.full(n_beats, -1, np.int64)
    t_peak = np.full(n_beats, -1, np.int64)
    t_end = np.full(n_beats, -1, np.int64)
    p_present = np.zeros(n_beats, np.bool_)
    ms = fs_hz / 1000.0
    h = max(1, int(round(SLOPE_HALF_MS * ms)))
    before, after = int(150 * ms), int(180 * ms)
    near, first_w, last_w = int(60 * ms), int(100 * ms), int(100 * ms)
    zw = max(2, int(round(ZHANG_WINDOW_S * fs_hz)))
    zc = int(round(ZHANG_LEVEL_HALF_S * fs_hz))
    shift = int(round(T_END_SHIFT_MS * ms))
    s = np.zeros((before + after + 1, n_leads + 1))
    csum = np.zeros(t_search + zw + 2 * zc + 2)
    env = n_leads
    for b in range(n_beats):
        r = r_peaks[b]
        lo = max(h + 1, r - before)
        hi = min(n - h - 2, r + after)
        if r < lo or r > hi:
            continue
        _slopes(x, lo, hi, h, s)
        end = hi - lo
        # QRS onset on the envelope
        a, z = max(0, r - near - lo), min(end, r + near - lo)
        ipk = a
        for k in range(a, z + 1):
            if s[k, env] > s[ipk, env]:
                ipk = k
        if not s[ipk, env] > 0.0:
            continue
        onset[b] = _qrs_onset(s, env, lo, r, ipk, r - first_w - lo, s[ipk, env],
                              QRS_ONSET_PEAK_FRACTION, qrs_threshold)
        # QRS offset per lead, weighted by the lead's largest slope
        num = 0.0
        den = 0.0
        for lead in range(n_leads):
            ipk = a
            for k in range(a, z + 1):
                if s[k, lead] > s[ipk, lead]:
                    ipk = k
            peak = s[ipk, lead]
            if not peak > 0.0:
                continue
            j = _qrs_offset(s, lead, lo, ipk, r + last_w - lo, end, peak, QRS_OFFSET_PEAK_FRACTION,
                            QRS_OFFSET_THRESHOLD, QRS_OFFSET_LOCAL_MIN)
            num += peak * j
            den += peak
        offset[b] = int(math.floor(num / den + 0.5))
        # T peak: the largest deviation from the PQ level on any lead
        rr = r_peaks[b + 1] - r if b + 1 < n_beats else int(1000 * ms)
        rr = min(rr, int(2000 * ms))
        t_lo = offset[b] + int(100 * ms)
        t_hi = min(n - 1, r + min(int(0.5 * rr), int(460 * ms)))
        if b + 1 < n_beats:
            t_hi = min(t_hi, r_peaks[b + 1] - int(120 * ms))
        if t_hi - t_lo >= int(40 * ms):
            q0 = max(0, onset[b] - int(30 * ms))
            q1 = max(q0 + 1, onset[b] - int(10 * ms))
            best = 0.0
            for lead in range(n_leads):
                pq = 0.0
                for k in range(q0, q1):
                    pq += x[k, lead]
                pq /= q1 - q0
                for k in range(t_lo, t_hi + 1):
                    d = abs(x[k, lead] - pq)
                    if d > best:
                        best = d
                        t_peak[b] = k
        tp = t_peak[b]
        if tp >= 0:
            # T end: Zhang's area indicator per lead, weighted by its size
            lb = max(tp + 1, zw + zc)
            rb = min(n - 1 - zc, tp + t_search)
            if b + 1 < n_beats:
                rb = min(rb, r_peaks[b + 1] - int(80 * ms))
            if rb - lb >= 2:
                num = 0.0
                den = 0.0
                for lead in range(n_leads):
                    te, size = _zhang_end(x, lead, lb, rb, zw, zc, csum)
                    num += size * te
                    den += size
                if den > 0.0:
                    t_end[b] = min(n - 1, int(math.floor(num / den + 0.5)) + shift)
        # P wave presence
        rr_prev = r - r_peaks[b - 1] if b > 0 else rr
        p_hi = onset[b] - int(16 * ms)
        p_lo = r - int(320 * ms)
        if b > 0:
            p_lo = max(p_lo, r - int(0.6 * rr_prev))
        p_lo = max(p_lo, 1)
        if p_hi - p_lo >= int(60 * ms):
            p_present[b] = _p_present(x, p_lo, p_hi, p_min, p_snr)
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
        The ECG, mV; NaN samples are read as 0 (before filtering).
    fs_hz : float
        Sampling frequency, Hz (100-1000).
    r_peaks : ndarray of int
        R-peak sample indices, sorted (e.g. from :func:`dsp.detect_qrs`).
    qrs_threshold : float
        QRS onset: fraction of the first significant slope of the complex
        below which the slope envelope has left the QRS.
    t_end_search_ms : float
        How long after the T peak its end is searched for, ms.

    Examples
    --------
    >>> import numpy as np, dsp
    >>> fs = 250.0
    >>> t = np.arange(int(10 * fs)) / fs
    >>> r = np.arange(1, 10) * int(fs)
    >>> ecg = sum(np.exp(-0.5 * ((t - k / fs) / 0.01) ** 2)
    ...           + 0.3 * np.exp(-0.5 * ((t - k / fs - 0.3) / 0.04) ** 2) for k in r)
    >>> d = dsp.delineate_beats(ecg, fs, r)
    >>> bool(np.all(np.abs((d.t_peak - r)[1:-1] / fs - 0.3) < 0.01))
    True
    """
    x = np.asarray(signal_mv, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[0] < 10:
        raise InvalidSignalError(f"signal_mv must be (n_samples,) or (n_samples, n_leads); got {np.shape(signal_mv)}")
    if not 100 <= fs_hz <= 1000:
        raise InvalidParameterError(f"fs_hz must be in 100-1000 Hz; got {fs_hz}")
    if not 0.0 < qrs_threshold < 1.0:
        raise InvalidParameterError(f"qrs_threshold must be in (0, 1); got {qrs_threshold}")
    if not 20.0 <= t_end_search_ms <= 400.0:
        raise InvalidParameterError(f"t_end_search_ms must be in 20-400 ms; got {t_end_search_ms}")
    r = np.ascontiguousarray(r_peaks, dtype=np.int64)
    if r.ndim != 1 or (r.size > 1 and np.any(np.diff(r) <= 0)):
        raise InvalidParameterError("r_peaks must be 1-D and strictly increasing")
    sos, zi, padlen = _band_pass(float(fs_hz))
    xf = _filtfilt_kernel(sos, zi, np.ascontiguousarray(x), min(padlen, x.shape[0] - 1))
    onset, offset, t_peak, t_end, p = _delineate_kernel(
        xf, r, float(fs_hz), float(qrs_threshold), int(round(t_end_search_ms * fs_hz / 1000)), P_MIN_MV, P_SNR,
    )
    return Delineation(r, onset, offset, t_peak, t_end, p)
