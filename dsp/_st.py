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
   This was the rule of :func:`dsp.delineate_beats` (before its per-lead J
   point), here on the raw signal, so no whole-record filter is run. Against the QT Database q1c QRS offsets (all
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

from dataclasses import dataclass

import numpy as np

from dsp._exceptions import InvalidParameterError
from dsp._st_kernels import (
    _baseline_at_kernel,
    _running_median_kernel,
    _runs_kernel,
    _st_fiducials_kernel,
)
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
        Pass the normal-conducted beats only: an ectopic beat has no isoelectric
        PR segment (its knot would bend its neighbours' baseline) and a
        secondary ST-T.
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
