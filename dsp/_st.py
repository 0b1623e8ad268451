"""ST level per beat and lead, and ST episodes (European ST-T Database rules).

ST level
--------
For each beat, on all leads together:

1. QRS onset and J point from the multi-lead slope envelope
   ``e[i] = sqrt(sum_lead (x[i+h] - x[i-h])^2)``, ``h = 8 ms`` (a 16-ms
   difference: a derivative that is blind to 62.5 Hz and, at 360 Hz, to
   60 Hz mains), computed only around the beat: onset is where, walking back
   from the steepest point before R (within 60 ms), ``e`` falls below
   ``QRS_FRACTION`` of its peak (searched up to 140 ms before R); the J point
   where it falls below that level walking forward from the steepest point
   after R (up to 160 ms after R), or earlier at a local minimum of ``e``
   under ``J_LOCAL_FRACTION`` of the peak: a shifted ST segment starts with a
   slope of its own that would otherwise carry the walk into the ST segment.
   This is the rule of :func:`dsp.delineate_beats` on the raw signal, so no
   whole-record filter is run. Against the QT Database q1c QRS offsets (all
   105 records, 3520 beats, R from ``dsp.detect_qrs``) the J point is off by
   -0.8 +- 23.4 ms (mean +- SD; +8.2 +- 23.3 ms without the local-minimum
   stop, which was chosen on these numbers); QRS onset +3.2 +- 11.3 ms.
2. Isoelectric (PR) level: the flattest ``ISO_WINDOW_MS`` window (smallest
   summed range over the leads) that ends between 80 ms and 5 ms before QRS
   onset; its mean, per lead, is that beat's baseline knot, placed at the
   window's centre.
3. Measurement point: J + 80 ms, or J + 60 ms when the heart rate of the
   preceding interval is above 120 bpm (RR < 500 ms). This is the usual
   ambulatory ST convention: the European ST-T Database (Taddei et al., Eur
   Heart J 1992;13:1164-72) measured at J + 80 ms; ACC/AHA ambulatory ECG
   guidelines (Crawford et al., JACC 1999;34:912-48) place the ST point 60 to
   80 ms after J; Holter ST software commonly moves it to J + 60 ms above
   120 bpm, where J + 80 ms runs into the T wave. The level there is the mean
   of the signal over +-``POINT_HALF_MS`` around the point.
4. Baseline wander: the baseline at the measurement point is a natural cubic
   spline through the isoelectric knots of every beat, per lead (the cubic-
   spline baseline of Meyer and Keiser, Comput Biomed Res 1977;10:459-70).
   ``st = level(point) - baseline(point)``.

Why this does not distort the ST segment: no filter runs over the ECG. A
high-pass filter (even 0.5 Hz, even zero-phase) removes part of the slow,
flat ST displacement and lets the large QRS ring into the ST segment, which is
why the AHA recommends 0.05 Hz for ST (0.67 Hz only for linear-phase filters;
Kligfield et al., Circulation 2007;115:1306-24). Here the signal at the ST
point is used as it is; only a baseline estimated from isoelectric PR points,
where by definition there is no cardiac activity, is subtracted. A constant
ST shift, however long, passes unchanged; wander slower than the heart rate is
followed by the spline (on the synthetic ECG of the tests, a 1 mV, 0.3 Hz
sinusoid leaves an error of SD ~12 uV at 72 bpm, ~27 uV at 60 bpm: the knots
sample the wander once a beat).

Not measurable (NaN): the beat's windows leave the signal (edges); the
preceding RR is shorter than ``MIN_RR_MS`` or the measurement point is within
``NEXT_R_GUARD_MS`` of the next R; no QRS slope (flat lead); a non-finite
sample in the beat; a run of equal samples of 20 ms or more within 40 ms of
R on that lead (saturation); a PR window whose range exceeds
``ISO_MAX_RANGE_MV`` on that lead (noise); the baseline knots needed are
missing, or the baseline moves faster than ``MAX_BASELINE_SLOPE_MV_S``
between this beat's knot and the next or previous one (motion artefact; on
MIT-BIH records the 99th percentile of that slope is 0.2-0.4 mV/s on clean
records and 2-4 mV/s on those with electrode-motion noise).

ST episodes
-----------
European ST-T Database rules (Taddei et al. 1992): a deviation of at least
100 uV from the reference level, lasting at least 30 s, per lead, elevation
and depression apart; an episode ends when the deviation falls back and stays
back for 30 s (shorter gaps are merged). The reference is the median ST of
the first 30 s (as the ST-T Database did), or levels the caller gives. The
per-beat series is first smoothed by a running median over 10 s so one noisy
beat neither makes nor breaks an episode; a beat's smoothed value is NaN
unless at least half the beats in its window were measured.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dsp._exceptions import InvalidParameterError
from dsp._numba_config import njit
from dsp._validate import as_samples_by_leads, check_fs_hz

__all__ = ["StEpisode", "StLevels", "find_st_episodes", "measure_st"]

QRS_FRACTION = 0.05
J_LOCAL_FRACTION = 0.10
SLOPE_HALF_MS = 8.0
ISO_WINDOW_MS = 20.0
ISO_SEARCH_MS = 80.0
ISO_GAP_MS = 5.0
ISO_MAX_RANGE_MV = 0.15
POINT_HALF_MS = 8.0
FAST_RR_MS = 500.0  # 120 bpm
MIN_RR_MS = 300.0
NEXT_R_GUARD_MS = 100.0
SATURATION_RUN_MS = 20.0
MAX_BASELINE_SLOPE_MV_S = 1.0
MIN_SMOOTH_FRACTION = 0.5


@dataclass(frozen=True)
class StLevels:
    """ST level of each beat and lead.

    Attributes
    ----------
    r_peak : ndarray of int64, (n_beats,)
        The R peaks measured, sample indices.
    qrs_onset_sample, j_sample : ndarray of int64, (n_beats,)
        QRS onset and J point, sample indices; -1 where not found.
    point_sample : ndarray of int64, (n_beats,)
        The ST measurement point (J + 60 or J + 80 ms); -1 where not found.
    st_uv : ndarray of float64, (n_beats, n_leads)
        ST level against the PR isoelectric level, uV; NaN where not measurable.
    """

    r_peak: np.ndarray
    qrs_onset_sample: np.ndarray
    j_sample: np.ndarray
    point_sample: np.ndarray
    st_uv: np.ndarray


@dataclass(frozen=True)
class StEpisode:
    """One ST episode on one lead.

    ``peak_uv`` is the extreme smoothed deviation from the reference level,
    signed (negative for a depression); ``start_sample`` and ``end_sample`` are
    the R peaks of its first and last beat.
    """

    lead: int
    kind: str  # 'depression' or 'elevation'
    start_sample: int
    end_sample: int
    peak_uv: float
    duration_s: float


# ----------------------------------------------------------------------------- kernels


@njit
def _st_fiducials_kernel(x, r_peaks, j_given, fs_hz, qrs_fraction, j_fraction, h, iso_w, iso_search,
                         iso_gap, iso_max_range, point_half, fast_rr, min_rr, next_guard,
                         sat_run):
    """Per beat: onset, J, measurement point; per beat and lead: knot level and point level.

    x: (n, n_leads) ECG in mV; r_peaks (n_beats,) int64 sorted; j_given (n_beats,)
    int64, >= 0 to impose the J point. All lengths in samples. Returns onset, j,
    point (int64, -1 = none), knot_t (float64, NaN = none), knot (n_beats, n_leads),
    level (n_beats, n_leads), NaN where not measurable.
    """
    n, n_leads = x.shape
    nb = r_peaks.shape[0]
    onset = np.full(nb, -1, np.int64)
    jpt = np.full(nb, -1, np.int64)
    point = np.full(nb, -1, np.int64)
    knot_t = np.full(nb, np.nan)
    knot = np.full((nb, n_leads), np.nan)
    level = np.full((nb, n_leads), np.nan)
    ms = fs_hz / 1000.0
    lo_q = int(140 * ms)
    hi_q = int(160 * ms)
    w60 = int(60 * ms)
    sat_win = int(40 * ms)
    env = np.zeros(lo_q + hi_q + 1)
    for b in range(nb):
        r = r_peaks[b]
        lo = r - lo_q
        hi = r + hi_q
        if lo - iso_search - iso_w - h < 0 or hi + h >= n:
            continue
        # slope envelope around R
        for i in range(lo, hi + 1):
            s = 0.0
            for lead in range(n_leads):
                d = x[i + h, lead] - x[i - h, lead]
                if d == d:
                    s += d * d
            env[i - lo] = math.sqrt(s)
        big_b = r
        big_a = r
        for k in range(r, r - w60 - 1, -1):
            if env[k - lo] > env[big_b - lo]:
                big_b = k
        for k in range(r, r + w60 + 1):
            if env[k - lo] > env[big_a - lo]:
                big_a = k
        peak = max(env[big_b - lo], env[big_a - lo])
        if not peak > 0.0:
            continue
        th = qrs_fraction * peak
        j_th = j_fraction * peak
        i = big_b
        while i > lo and env[i - lo] >= th:
            i -= 1
        onset[b] = i
        if j_given[b] >= 0:
            jj = j_given[b]
        else:
            i = big_a
            while i < hi and env[i - lo] >= th:
                # the end of the QRS slope: a local minimum of the envelope under
                # j_local_fraction of the peak (an ST shift keeps it above th)
                if env[i - lo] < j_th and env[i - lo] <= env[i - lo - 1] and env[i - lo] < env[i - lo + 1]:
                    break
                i += 1
            jj = i
        jpt[b] = jj
        # measurement point: J + 60 ms above 120 bpm, else J + 80 ms
        if b > 0:
            rr = r - r_peaks[b - 1]
        elif b + 1 < nb:
            rr = r_peaks[b + 1] - r
        else:
            rr = -1
        if rr < 0:
            continue
        pt = jj + (int(round(60 * ms)) if rr < fast_rr else int(round(80 * ms)))
        if pt + point_half >= n:
            continue
        point[b] = pt
        if b > 0 and rr < min_rr:
            continue
        if b + 1 < nb and pt > r_peaks[b + 1] - next_guard:
            continue
        # flattest PR window (summed range over leads) ending iso_gap..iso_search before onset
        best = 1e300
        best_s = -1
        for e in range(onset[b] - iso_search, onset[b] - iso_gap + 1):
            s0 = e - iso_w + 1
            if s0 < 0:
                continue
            tot = 0.0
            ok = True
            for lead in range(n_leads):
                mn = x[s0, lead]
                mx = mn
                for k in range(s0, e + 1):
                    v = x[k, lead]
                    if not math.isfinite(v):
                        ok = False
                        break
                    if v < mn:
                        mn = v
                    if v > mx:
                        mx = v
                if not ok:
                    break
                tot += mx - mn
            if ok and tot < best:
                best = tot
                best_s = s0
        if best_s < 0:
            # a non-finite sample in every window: fall back to the last window, per lead
            best_s = onset[b] - iso_gap - iso_w + 1
        knot_t[b] = best_s + 0.5 * (iso_w - 1)
        for lead in range(n_leads):
            mn = 1e300
            mx = -1e300
            acc = 0.0
            for k in range(best_s, best_s + iso_w):
                v = x[k, lead]
                acc += v
                if v < mn:
                    mn = v
                if v > mx:
                    mx = v
            if not (mx - mn <= iso_max_range):  # also false for NaN
                continue
            # every sample from the knot to the point must be finite
            good = True
            for k in range(best_s, pt + point_half + 1):
                if not math.isfinite(x[k, lead]):
                    good = False
                    break
            if not good:
                continue
            # saturation: a run of equal samples near R
            run = 1
            for k in range(r - sat_win + 1, r + sat_win + 1):
                if x[k, lead] == x[k - 1, lead]:
                    run += 1
                    if run >= sat_run:
                        good = False
                        break
                else:
                    run = 1
            if not good:
                continue
            knot[b, lead] = acc / iso_w
            acc = 0.0
            for k in range(pt - point_half, pt + point_half + 1):
                acc += x[k, lead]
            level[b, lead] = acc / (2 * point_half + 1)
    return onset, jpt, point, knot_t, knot, level


@njit
def _baseline_at_kernel(knot_t, knot, point, level, max_slope):
    """ST = level - baseline at the point, the baseline a natural cubic spline through the knots.

    knot_t (n_beats,) knot times, samples (NaN = none); knot and level
    (n_beats, n_leads); point (n_beats,) int64 (-1 = none). Per lead, the
    spline runs through every finite knot (two knots: a line); beat b is
    measured only when its own knot and the next beat's are finite and the
    baseline slope between them, and from the previous beat's knot when that
    is finite, is at most ``max_slope`` (knot unit per sample). Returns
    (n_beats, n_leads), the unit of ``level``, NaN where not measurable.
    """
    nb, n_leads = level.shape
    out = np.full((nb, n_leads), np.nan)
    ts = np.empty(nb)
    ys = np.empty(nb)
    m2 = np.zeros(nb)
    cp = np.empty(nb)
    dp = np.empty(nb)
    for lead in range(n_leads):
        m = 0
        for b in range(nb):
            if math.isfinite(knot_t[b]) and math.isfinite(knot[b, lead]):
                ts[m] = knot_t[b]
                ys[m] = knot[b, lead]
                m += 1
        if m < 2:
            continue
        # natural spline: second derivatives m2[1..m-2] by the Thomas algorithm
        for i in range(m):
            m2[i] = 0.0
        if m > 2:
            for i in range(1, m - 1):
                h0 = ts[i] - ts[i - 1]
                h1 = ts[i + 1] - ts[i]
                a = h0
                bb = 2.0 * (h0 + h1)
                c = h1
                d = 6.0 * ((ys[i + 1] - ys[i]) / h1 - (ys[i] - ys[i - 1]) / h0)
                if i == 1:
                    cp[i] = c / bb
                    dp[i] = d / bb
                else:
                    den = bb - a * cp[i - 1]
                    cp[i] = c / den
                    dp[i] = (d - a * dp[i - 1]) / den
            m2[m - 2] = dp[m - 2]
            for i in range(m - 3, 0, -1):
                m2[i] = dp[i] - cp[i] * m2[i + 1]
        for b in range(nb - 1):
            if point[b] < 0 or not (math.isfinite(level[b, lead]) and math.isfinite(knot[b, lead])
                                    and math.isfinite(knot[b + 1, lead])
                                    and math.isfinite(knot_t[b]) and math.isfinite(knot_t[b + 1])):
                continue
            if abs(knot[b + 1, lead] - knot[b, lead]) > max_slope * (knot_t[b + 1] - knot_t[b]):
                continue
            if b > 0 and math.isfinite(knot[b - 1, lead]) and math.isfinite(knot_t[b - 1]) and \
                    abs(knot[b, lead] - knot[b - 1, lead]) > max_slope * (knot_t[b] - knot_t[b - 1]):
                continue
            t = float(point[b])
            # the interval holding t (clamped to the knots' range)
            i = np.searchsorted(ts[:m], t) - 1
            if i < 0:
                i = 0
            if i > m - 2:
                i = m - 2
            h = ts[i + 1] - ts[i]
            u0 = ts[i + 1] - t
            u1 = t - ts[i]
            base = (m2[i] * u0 * u0 * u0 + m2[i + 1] * u1 * u1 * u1) / (6.0 * h) \
                + (ys[i] / h - m2[i] * h / 6.0) * u0 + (ys[i + 1] / h - m2[i + 1] * h / 6.0) * u1
            out[b, lead] = level[b, lead] - base
    return out


@njit
def _running_median_kernel(t, values, half, min_fraction):
    """Median of the finite values of beats within ``half`` (same unit as t) of each beat.

    t: (n_beats,) sorted; values: (n_beats, n_leads). NaN where a beat's own
    value is not finite or fewer than ``min_fraction`` of the beats in its
    window have a finite value.
    """
    nb, n_leads = values.shape
    out = np.full((nb, n_leads), np.nan)
    buf = np.empty(nb)
    lo = 0
    hi = 0
    for b in range(nb):
        while t[lo] < t[b] - half:
            lo += 1
        while hi < nb and t[hi] <= t[b] + half:
            hi += 1
        for lead in range(n_leads):
            if not math.isfinite(values[b, lead]):
                continue
            m = 0
            for k in range(lo, hi):
                v = values[k, lead]
                if math.isfinite(v):
                    buf[m] = v
                    m += 1
            if m == 0 or m < min_fraction * (hi - lo):
                continue
            s = np.sort(buf[:m])
            if m % 2 == 1:
                out[b, lead] = s[m // 2]
            else:
                out[b, lead] = 0.5 * (s[m // 2 - 1] + s[m // 2])
    return out


@njit
def _runs_kernel(t, above, merge_gap, min_duration):
    """Runs of True in ``above`` (beats at times ``t``), gaps < merge_gap merged, >= min_duration kept.

    Returns (first beat, last beat) index arrays. A run's duration is
    t[last] - t[first]; a gap is t[next first] - t[last].
    """
    nb = above.shape[0]
    starts = np.empty(nb, np.int64)
    ends = np.empty(nb, np.int64)
    m = 0
    b = 0
    while b < nb:
        if not above[b]:
            b += 1
            continue
        s = b
        while b + 1 < nb and above[b + 1]:
            b += 1
        if m > 0 and t[s] - t[ends[m - 1]] < merge_gap:
            ends[m - 1] = b
        else:
            starts[m] = s
            ends[m] = b
            m += 1
        b += 1
    keep_s = np.empty(m, np.int64)
    keep_e = np.empty(m, np.int64)
    k = 0
    for i in range(m):
        if t[ends[i]] - t[starts[i]] >= min_duration:
            keep_s[k] = starts[i]
            keep_e[k] = ends[i]
            k += 1
    return keep_s[:k], keep_e[:k]


# ----------------------------------------------------------------------------- wrappers


def _check_r_peaks(r_peaks, n_samples: int) -> np.ndarray:
    r = np.asarray(r_peaks)
    if r.ndim != 1:
        raise InvalidParameterError(f"r_peaks must be 1-D, got shape {r.shape}")
    if r.size and r.dtype.kind not in "iu":
        if r.dtype.kind != "f" or not np.all(np.isfinite(r)) or np.any(r != np.round(r)):
            raise InvalidParameterError(f"r_peaks must be integer sample indices, got dtype {r.dtype}")
    r = np.ascontiguousarray(r, dtype=np.int64)
    if r.size > 1 and np.any(np.diff(r) <= 0):
        raise InvalidParameterError("r_peaks must be strictly increasing")
    if r.size and (r[0] < 0 or r[-1] >= n_samples):
        raise InvalidParameterError(
            f"r_peaks must lie in 0..{n_samples - 1} (the signal's samples), got {r[0]}..{r[-1]}"
        )
    return r


def measure_st(signal, fs_hz, r_peaks, *, qrs_offset=None) -> StLevels:
    """ST level of every beat and lead, uV against the PR isoelectric level.

    Parameters
    ----------
    signal : array_like, (n_samples,) or (n_samples, n_leads)
        The ECG, mV, unfiltered (any filter above 0.05 Hz distorts the ST
        segment); NaN marks missing samples.
    fs_hz : float
        Sampling frequency, Hz (100-1000).
    r_peaks : array_like of int
        R-peak sample indices, strictly increasing (e.g. :func:`dsp.detect_qrs`).
    qrs_offset : array_like of int, optional
        J point of each beat (sample indices, -1 = find it), e.g.
        ``dsp.delineate_beats(...).qrs_offset``; by default found here.

    Returns
    -------
    StLevels
        ``st_uv`` (n_beats, n_leads), NaN where not measurable (see the
        module notes: edges, short RR, noise, saturation, flat lead).

    Examples
    --------
    >>> import numpy as np, dsp
    >>> fs = 250.0
    >>> t = np.arange(int(20 * fs)) / fs
    >>> r = np.arange(int(0.5 * fs), t.size - int(0.5 * fs), int(0.8 * fs))
    >>> ecg = sum(np.exp(-0.5 * ((t - k / fs) / 0.01) ** 2) for k in r)
    >>> ecg = ecg + 0.15 * sum(((t > k / fs + 0.05) & (t < k / fs + 0.3)) for k in r)
    >>> levels = dsp.measure_st(ecg, fs, r)
    >>> bool(abs(np.nanmedian(levels.st_uv) - 150) < 20)
    True
    """
    fs = check_fs_hz(fs_hz)
    x = as_samples_by_leads(signal, made_for="ST measurement")
    r = _check_r_peaks(r_peaks, x.shape[0])
    if qrs_offset is None:
        j_in = np.full(r.size, -1, np.int64)
    else:
        j_in = np.ascontiguousarray(qrs_offset, dtype=np.int64)
        if j_in.shape != r.shape:
            raise InvalidParameterError(
                f"qrs_offset must have one J point per R peak ({r.size}), got shape {j_in.shape}"
            )
        if np.any((j_in >= 0) & ((j_in <= r) | (j_in > r + int(0.2 * fs)))):
            raise InvalidParameterError("qrs_offset must lie after its R peak (within 200 ms) or be -1")
    ms = fs / 1000.0

    def n(ms_value: float) -> int:
        return max(1, int(round(ms_value * ms)))

    onset, j, point, knot_t, knot, level = _st_fiducials_kernel(
        x, r, j_in, fs, QRS_FRACTION, J_LOCAL_FRACTION, n(SLOPE_HALF_MS), n(ISO_WINDOW_MS), n(ISO_SEARCH_MS),
        n(ISO_GAP_MS), ISO_MAX_RANGE_MV, n(POINT_HALF_MS), FAST_RR_MS * ms, MIN_RR_MS * ms,
        NEXT_R_GUARD_MS * ms, max(3, n(SATURATION_RUN_MS)),
    )
    st = _baseline_at_kernel(knot_t, knot, point, level, MAX_BASELINE_SLOPE_MV_S / fs) * 1000.0
    return StLevels(r_peak=r, qrs_onset_sample=onset, j_sample=j, point_sample=point, st_uv=st)


def find_st_episodes(
    st_uv,
    r_peaks,
    fs_hz,
    *,
    threshold_uv: float = 100.0,
    min_duration_s: float = 30.0,
    merge_gap_s: float = 30.0,
    smooth_s: float = 10.0,
    reference_uv=None,
    reference_s: float = 30.0,
) -> tuple[StEpisode, ...]:
    """ST episodes per lead (European ST-T Database rules), in time order.

    Parameters
    ----------
    st_uv : array_like, (n_beats,) or (n_beats, n_leads)
        Per-beat ST levels, uV (``measure_st(...).st_uv``); NaN = not measured.
    r_peaks : array_like of int
        The beats' R peaks, sample indices, strictly increasing.
    fs_hz : float
        Sampling frequency of ``r_peaks``, Hz.
    threshold_uv : float
        Smallest deviation from the reference that counts, uV (> 0).
    min_duration_s : float
        Shortest episode, s.
    merge_gap_s : float
        Deviations separated by less than this are one episode, s.
    smooth_s : float
        Width of the running median applied first, s (0: none).
    reference_uv : float or array_like (n_leads,), optional
        Reference ST level per lead, uV; 0 for absolute levels. By default the
        median of the measured beats in the first ``reference_s`` seconds
        (as in the European ST-T Database); a lead with none there gives no episodes.
    reference_s : float
        Length of that reference stretch, s.

    Returns
    -------
    tuple of StEpisode
        Sorted by start, then lead.
    """
    fs = check_fs_hz(fs_hz)
    st = np.asarray(st_uv, dtype=np.float64)
    if st.ndim == 1:
        st = st[:, None]
    if st.ndim != 2:
        raise InvalidParameterError(f"st_uv must be (n_beats,) or (n_beats, n_leads), got shape {st.shape}")
    r = np.asarray(r_peaks)
    r = _check_r_peaks(r, int(r.max()) + 1 if r.size and r.ndim == 1 else 1)
    if r.size != st.shape[0]:
        raise InvalidParameterError(
            f"st_uv has {st.shape[0]} beats but r_peaks has {r.size}; they must match"
        )
    for name, value in (("threshold_uv", threshold_uv), ("min_duration_s", min_duration_s)):
        if not (np.isfinite(value) and value > 0):
            raise InvalidParameterError(f"{name} must be a positive number, got {value!r}")
    for name, value in (("merge_gap_s", merge_gap_s), ("smooth_s", smooth_s), ("reference_s", reference_s)):
        if not (np.isfinite(value) and value >= 0):
            raise InvalidParameterError(f"{name} must be a number >= 0, got {value!r}")
    n_leads = st.shape[1]
    if r.size == 0:
        return ()
    t_s = np.ascontiguousarray(r / fs)
    st = np.ascontiguousarray(st)
    sm = _running_median_kernel(t_s, st, 0.5 * smooth_s, MIN_SMOOTH_FRACTION) if smooth_s > 0 else st
    if reference_uv is None:
        first = t_s <= t_s[0] + reference_s
        with np.errstate(all="ignore"):
            ref = np.array([
                np.median(col[np.isfinite(col)]) if np.isfinite(col).any() else np.nan
                for col in st[first].T
            ])
    else:
        ref = np.asarray(reference_uv, dtype=np.float64)
        if ref.shape not in ((), (1,), (n_leads,)):
            raise InvalidParameterError(
                f"reference_uv must be a number or one per lead ({n_leads}), got shape {ref.shape}"
            )
        ref = np.broadcast_to(ref, (n_leads,))
    dev = sm - ref[None, :]
    episodes = []
    for lead in range(n_leads):
        for kind, sign in (("elevation", 1.0), ("depression", -1.0)):
            above = np.ascontiguousarray(sign * dev[:, lead] >= threshold_uv)  # NaN -> False
            starts, ends = _runs_kernel(t_s, above, float(merge_gap_s), float(min_duration_s))
            for s, e in zip(starts, ends, strict=True):
                seg = sign * dev[s : e + 1, lead]
                peak = sign * float(np.nanmax(seg))
                episodes.append(
                    StEpisode(lead=lead, kind=kind, start_sample=int(r[s]), end_sample=int(r[e]),
                              peak_uv=peak, duration_s=float(t_s[e] - t_s[s]))
                )
    episodes.sort(key=lambda ep: (ep.start_sample, ep.lead))
    return tuple(episodes)
