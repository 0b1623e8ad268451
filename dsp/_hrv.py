"""Heart-rate variability on NN intervals (Task Force of the ESC and NASPE, 1996).

Time domain over the whole record: SDNN, SDANN, SDNN index, RMSSD, pNN50 and
the HRV triangular index. Frequency domain: LF (0.04-0.15 Hz) and HF
(0.15-0.40 Hz) power of the NN tachogram in 5-minute segments, from a Lomb
periodogram on the beat times themselves (no interpolation and no filling of
gaps left by ectopic beats or noise), averaged over the segments; LF/HF is the
ratio of the averages.

Conventions (all in the Task Force's words where it has them):

- SDNN: sample standard deviation (n - 1) of all NN intervals.
- SDANN / SDNN index: standard deviation of the means / mean of the standard
  deviations of the NN intervals in consecutive 5-minute segments, counted from
  the first beat; a segment counts when its NN intervals cover at least half
  of it (``min_segment_coverage``).
- RMSSD and pNN50 use successive differences of *adjacent* NN intervals only
  (the two intervals share a beat); pNN50 is NN50 over the number of NN
  intervals, as the Task Force defines it.
- Triangular index: number of NN intervals over the height of their histogram
  with 1/128 s (7.8125 ms) bins starting at 0 ms.
- Spectra: one-sided PSD ``2 * P_Lomb(f) * mean_NN_s`` in ms^2/Hz, so that the
  band power of a sinusoid of amplitude A ms is A^2 / 2; band power is the
  trapezoidal integral over the grid points in [low, high).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dsp._exceptions import InvalidParameterError
from dsp._hrv_kernels import lomb_power
from dsp._rr import RrSeries

__all__ = [
    "HF_BAND_HZ",
    "LF_BAND_HZ",
    "HrvFrequencyDomain",
    "HrvTimeDomain",
    "hrv_frequency_domain",
    "hrv_time_domain",
    "lomb_psd",
]

SEGMENT_S = 300.0
HISTOGRAM_BIN_MS = 1000.0 / 128.0
LF_BAND_HZ = (0.04, 0.15)
HF_BAND_HZ = (0.15, 0.40)
#: Frequency grid of the segment spectra: multiples of 1 / (4 x 300 s) up to 0.40 Hz.
SPECTRUM_OVERSAMPLING = 4


@dataclass(frozen=True)
class HrvTimeDomain:
    """Time-domain HRV of a record (NaN where there are too few NN intervals)."""

    n_nn: int
    mean_nn_ms: float
    sdnn_ms: float
    sdann_ms: float
    sdnn_index_ms: float
    n_segments: int
    rmssd_ms: float
    n_successive: int
    pnn50_pct: float
    triangular_index: float


@dataclass(frozen=True)
class HrvFrequencyDomain:
    """Frequency-domain HRV: means over 5-minute segments (NaN without usable segments)."""

    lf_ms2: float
    hf_ms2: float
    lf_hf: float
    n_segments: int


def _segment_index(rr: RrSeries, segment_s: float) -> np.ndarray:
    t0 = rr.beat_time_s[0] if rr.n_beats else 0.0
    # an interval belongs to the segment in which it ends
    return np.floor((rr.nn_time_s - t0) / segment_s).astype(np.int64)


def _segments(rr: RrSeries, segment_s: float, min_coverage: float):
    """Yield the NN intervals (ms) and their end times (s) of each covered segment."""
    nn = rr.nn_ms
    if nn.shape[0] == 0:
        return
    idx = _segment_index(rr, segment_s)
    times = rr.nn_time_s
    bounds = np.flatnonzero(np.diff(idx)) + 1
    starts = np.concatenate(([0], bounds))
    ends = np.concatenate((bounds, [idx.shape[0]]))
    for a, b in zip(starts, ends, strict=True):
        if nn[a:b].sum() >= min_coverage * segment_s * 1000.0:
            yield nn[a:b], times[a:b]


def _check_coverage(min_coverage: float) -> None:
    if not 0.0 <= min_coverage <= 1.0:
        raise InvalidParameterError(f"min_segment_coverage must be in [0, 1]; got {min_coverage}")


def hrv_time_domain(
    rr: RrSeries, *, segment_s: float = SEGMENT_S, min_segment_coverage: float = 0.5
) -> HrvTimeDomain:
    """Time-domain HRV of the NN intervals of `rr`.

    Parameters
    ----------
    rr : RrSeries
        From :func:`dsp.rr_series`.
    segment_s : float
        Segment length for SDANN and SDNN index, s (300 = the Task Force's 5 min).
    min_segment_coverage : float
        Fraction of a segment its NN intervals must cover for it to count.

    Returns
    -------
    HrvTimeDomain
    """
    _check_coverage(min_segment_coverage)
    if not segment_s > 0:
        raise InvalidParameterError(f"segment_s must be positive; got {segment_s}")
    nn = rr.nn_ms
    n = int(nn.shape[0])
    nan = math.nan
    mean_nn = float(nn.mean()) if n else nan
    sdnn = float(nn.std(ddof=1)) if n > 1 else nan
    means, sds = [], []
    for seg, _ in _segments(rr, segment_s, min_segment_coverage):
        means.append(seg.mean())
        if seg.shape[0] > 1:
            sds.append(seg.std(ddof=1))
    sdann = float(np.std(means, ddof=1)) if len(means) > 1 else nan
    sdnn_index = float(np.mean(sds)) if sds else nan
    # adjacent NN intervals: both NN, and interval k+1 starts where k ends
    adjacent = rr.nn_mask[:-1] & rr.nn_mask[1:]
    diffs = np.diff(rr.rr_ms)[adjacent]
    n_diff = int(diffs.shape[0])
    rmssd = float(np.sqrt(np.mean(diffs * diffs))) if n_diff else nan
    pnn50 = float(np.count_nonzero(np.abs(diffs) > 50.0) / n * 100.0) if n_diff else nan
    if n:
        bins = np.floor(nn / HISTOGRAM_BIN_MS).astype(np.int64)
        tri = float(n / np.bincount(bins).max())
    else:
        tri = nan
    return HrvTimeDomain(
        n_nn=n,
        mean_nn_ms=mean_nn,
        sdnn_ms=sdnn,
        sdann_ms=sdann,
        sdnn_index_ms=sdnn_index,
        n_segments=len(means),
        rmssd_ms=rmssd,
        n_successive=n_diff,
        pnn50_pct=pnn50,
        triangular_index=tri,
    )


def lomb_psd(
    time_s: np.ndarray, nn_ms: np.ndarray, freqs_hz: np.ndarray
) -> np.ndarray:
    """One-sided Lomb PSD of an NN tachogram, ms^2/Hz.

    The mean is removed; the PSD is ``2 * P_Lomb * mean_interval_s`` so that
    its integral over 0 .. 1/(2 mean_interval) is the variance (Parseval for
    even sampling).

    Parameters
    ----------
    time_s : ndarray, (n,)
        Times of the samples (ends of the NN intervals), s.
    nn_ms : ndarray, (n,)
        The NN intervals, ms.
    freqs_hz : ndarray, (m,)
        Positive, evenly spaced, increasing frequencies, Hz.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.cumsum(np.full(400, 0.75))
    >>> nn = 750 + 30 * np.sin(2 * np.pi * 0.1 * t)
    >>> f = np.arange(1, 481) / 1200
    >>> psd = lomb_psd(t, nn, f)
    >>> round(float(np.trapezoid(psd, f)))  # variance of the sine: 30^2 / 2
    450
    """
    t = np.ascontiguousarray(time_s, dtype=np.float64)
    y = np.ascontiguousarray(nn_ms, dtype=np.float64)
    f = np.ascontiguousarray(freqs_hz, dtype=np.float64)
    if t.shape != y.shape or t.ndim != 1:
        raise InvalidParameterError(
            f"time_s and nn_ms must be 1-D of one length; got {t.shape} and {y.shape}"
        )
    if f.ndim != 1 or not np.all(f > 0):
        raise InvalidParameterError("freqs_hz must be 1-D and positive")
    df = float(f[1] - f[0]) if f.shape[0] > 1 else 1.0
    if f.shape[0] > 1 and not np.allclose(np.diff(f), df, rtol=1e-9, atol=0.0):
        raise InvalidParameterError("freqs_hz must be evenly spaced and increasing")
    if y.shape[0] < 2:
        return np.full(f.shape[0], math.nan)
    mean_interval_s = float(np.mean(y)) / 1000.0
    # times relative to the first sample keep the trigonometric sums accurate
    power = lomb_power(t - t[0], y - y.mean(), float(f[0]) if f.shape[0] else 1.0, df, f.shape[0])
    return 2.0 * mean_interval_s * power


def _band_power(freqs: np.ndarray, psd: np.ndarray, band: tuple[float, float]) -> float:
    sel = (freqs >= band[0]) & (freqs < band[1])
    f, p = freqs[sel], psd[sel]
    return float(np.sum((p[1:] + p[:-1]) * np.diff(f)) / 2.0)


def hrv_frequency_domain(
    rr: RrSeries, *, segment_s: float = SEGMENT_S, min_segment_coverage: float = 0.8
) -> HrvFrequencyDomain:
    """LF, HF and LF/HF of the NN intervals of `rr`, averaged over 5-minute segments.

    Parameters
    ----------
    rr : RrSeries
        From :func:`dsp.rr_series`.
    segment_s : float
        Segment length, s.
    min_segment_coverage : float
        Fraction of a segment its NN intervals must cover (default 0.8).
    """
    _check_coverage(min_segment_coverage)
    if not segment_s >= 30:
        raise InvalidParameterError(f"segment_s must be at least 30 s; got {segment_s}")
    df = 1.0 / (SPECTRUM_OVERSAMPLING * segment_s)
    freqs = np.arange(1, int(HF_BAND_HZ[1] / df) + 2) * df
    lf, hf = [], []
    for seg, times in _segments(rr, segment_s, min_segment_coverage):
        if seg.shape[0] < 8:
            continue
        psd = lomb_psd(times, seg, freqs)
        lf.append(_band_power(freqs, psd, LF_BAND_HZ))
        hf.append(_band_power(freqs, psd, HF_BAND_HZ))
    if not lf:
        return HrvFrequencyDomain(math.nan, math.nan, math.nan, 0)
    lf_ms2, hf_ms2 = float(np.mean(lf)), float(np.mean(hf))
    return HrvFrequencyDomain(
        lf_ms2=lf_ms2,
        hf_ms2=hf_ms2,
        lf_hf=lf_ms2 / hf_ms2 if hf_ms2 > 0 else math.nan,
        n_segments=len(lf),
    )
