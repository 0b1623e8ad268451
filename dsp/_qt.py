"""QT and corrected QT per beat, and the QT/RR relation per period.

QT runs from QRS onset to T end as found by :func:`dsp.delineate_beats`
(validated against the QT Database, benchmarks/results/delineation.md). RR is
the interval preceding the beat. Corrections (RR in seconds):

- Bazett (Heart 1920;7:353-70): ``QTc = QT / RR ** (1/2)``;
- Fridericia (Acta Med Scand 1920;53:469-86): ``QTc = QT / RR ** (1/3)``.

Values are NaN where a point is not found, where QT falls outside
``QT_RANGE_MS`` or RR outside ``RR_RANGE_MS`` (a missed beat or a pause makes
the correction meaningless), and for the first beat (no preceding RR).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dsp._delineate import delineate_beats
from dsp._exceptions import InvalidParameterError
from dsp._numba_config import njit
from dsp._st import _check_r_peaks
from dsp._validate import as_samples_by_leads, check_fs_hz

__all__ = ["QtIntervals", "QtRrRelation", "measure_qt", "qt_rr_relation"]

QT_RANGE_MS = (200.0, 700.0)
RR_RANGE_MS = (300.0, 2000.0)
#: fewest beats with QT and RR in a period for its medians and slope
MIN_BEATS_PER_PERIOD = 10


@dataclass(frozen=True)
class QtIntervals:
    """Per-beat QT, preceding RR and corrected QT, ms (NaN where undefined)."""

    r_peak: np.ndarray
    qt_ms: np.ndarray
    rr_ms: np.ndarray
    qtc_bazett_ms: np.ndarray
    qtc_fridericia_ms: np.ndarray


@dataclass(frozen=True)
class QtRrRelation:
    """QT against RR per period (e.g. per hour) and over the whole recording.

    Attributes
    ----------
    period_start_s : ndarray
        Start of each period, s from sample 0 (every period up to the last beat).
    n_beats : ndarray of int64
        Beats with both QT and RR in each period.
    median_qt_ms, median_rr_ms : ndarray
        Medians per period, ms (NaN with fewer than ``MIN_BEATS_PER_PERIOD`` beats).
    slope : ndarray
        Least-squares slope of QT on RR in each period, ms per ms (dimensionless).
    overall_slope, overall_intercept_ms : float
        The same fit over every beat: ``QT = intercept + slope * RR``.
    """

    period_start_s: np.ndarray
    n_beats: np.ndarray
    median_qt_ms: np.ndarray
    median_rr_ms: np.ndarray
    slope: np.ndarray
    overall_slope: float
    overall_intercept_ms: float


@njit
def _qt_kernel(r_peaks, qrs_onset, t_end, fs_hz, qt_lo, qt_hi, rr_lo, rr_hi):
    """qt_ms, rr_ms, Bazett and Fridericia QTc per beat (ms; NaN where undefined)."""
    nb = r_peaks.shape[0]
    qt = np.full(nb, np.nan)
    rr = np.full(nb, np.nan)
    qtb = np.full(nb, np.nan)
    qtf = np.full(nb, np.nan)
    for b in range(nb):
        if b > 0:
            v = (r_peaks[b] - r_peaks[b - 1]) * 1000.0 / fs_hz
            if rr_lo <= v <= rr_hi:
                rr[b] = v
        if qrs_onset[b] >= 0 and t_end[b] > qrs_onset[b]:
            v = (t_end[b] - qrs_onset[b]) * 1000.0 / fs_hz
            if qt_lo <= v <= qt_hi:
                qt[b] = v
        if math.isfinite(qt[b]) and math.isfinite(rr[b]):
            rr_s = rr[b] / 1000.0
            qtb[b] = qt[b] / math.sqrt(rr_s)
            qtf[b] = qt[b] / rr_s ** (1.0 / 3.0)
    return qt, rr, qtb, qtf


def qtc_from_qt(qt_ms, rr_ms):
    """Bazett and Fridericia QTc, ms, from QT and RR in ms (arrays or numbers)."""
    qt = np.asarray(qt_ms, dtype=np.float64)
    rr_s = np.asarray(rr_ms, dtype=np.float64) / 1000.0
    return qt / np.sqrt(rr_s), qt / np.cbrt(rr_s)


def measure_qt(signal, fs_hz, r_peaks) -> QtIntervals:
    """QT (QRS onset to T end), preceding RR and QTc of every beat.

    Parameters
    ----------
    signal : array_like, (n_samples,) or (n_samples, n_leads)
        The ECG, mV.
    fs_hz : float
        Sampling frequency, Hz (100-1000).
    r_peaks : array_like of int
        R-peak sample indices, strictly increasing.

    Returns
    -------
    QtIntervals
        ``qt_ms``, ``rr_ms``, ``qtc_bazett_ms``, ``qtc_fridericia_ms`` per beat.

    Examples
    --------
    >>> import numpy as np
    >>> from dsp._qt import qtc_from_qt
    >>> [round(float(v), 1) for v in qtc_from_qt(400.0, 640.0)]
    [500.0, 464.2]
    """
    fs = check_fs_hz(fs_hz)
    x = as_samples_by_leads(signal, made_for="QT measurement")
    r = _check_r_peaks(r_peaks, x.shape[0])
    if x.shape[0] < 10:
        raise InvalidParameterError(f"signal must have at least 10 samples, got {x.shape[0]}")
    d = delineate_beats(x, fs, r)
    qt, rr, qtb, qtf = _qt_kernel(
        r, np.ascontiguousarray(d.qrs_onset), np.ascontiguousarray(d.t_end), fs,
        QT_RANGE_MS[0], QT_RANGE_MS[1], RR_RANGE_MS[0], RR_RANGE_MS[1],
    )
    return QtIntervals(r_peak=r, qt_ms=qt, rr_ms=rr, qtc_bazett_ms=qtb, qtc_fridericia_ms=qtf)


def _fit(rr: np.ndarray, qt: np.ndarray) -> tuple[float, float]:
    if rr.size < 2 or np.ptp(rr) == 0:
        return float("nan"), float("nan")
    slope, intercept = np.polyfit(rr, qt, 1)
    return float(slope), float(intercept)


def qt_rr_relation(qt: QtIntervals, r_peaks, fs_hz, period_s: float = 3600.0) -> QtRrRelation:
    """Median QT and RR per period and the linear QT/RR slope (per period and overall).

    Parameters
    ----------
    qt : QtIntervals
        From :func:`measure_qt`.
    r_peaks : array_like of int
        The same R peaks, sample indices (sample 0 starts the first period).
    fs_hz : float
        Sampling frequency, Hz.
    period_s : float
        Period length, s (3600: hourly).
    """
    fs = check_fs_hz(fs_hz)
    if not isinstance(qt, QtIntervals):
        raise InvalidParameterError(f"qt must be a QtIntervals (from measure_qt), got {type(qt).__name__}")
    r = np.asarray(r_peaks)
    r = _check_r_peaks(r, int(r.max()) + 1 if r.ndim == 1 and r.size else 1)
    if r.size != qt.qt_ms.size:
        raise InvalidParameterError(f"r_peaks has {r.size} beats but qt has {qt.qt_ms.size}; they must match")
    if not (np.isfinite(period_s) and period_s > 0):
        raise InvalidParameterError(f"period_s must be a positive number, got {period_s!r}")
    n_periods = int(r[-1] / fs // period_s) + 1 if r.size else 0
    idx = (r / fs // period_s).astype(np.int64)
    ok = np.isfinite(qt.qt_ms) & np.isfinite(qt.rr_ms)
    counts = np.zeros(n_periods, np.int64)
    med_qt = np.full(n_periods, np.nan)
    med_rr = np.full(n_periods, np.nan)
    slopes = np.full(n_periods, np.nan)
    for p in range(n_periods):
        sel = ok & (idx == p)
        counts[p] = int(sel.sum())
        if counts[p] >= MIN_BEATS_PER_PERIOD:
            med_qt[p] = np.median(qt.qt_ms[sel])
            med_rr[p] = np.median(qt.rr_ms[sel])
            slopes[p] = _fit(qt.rr_ms[sel], qt.qt_ms[sel])[0]
    slope, intercept = _fit(qt.rr_ms[ok], qt.qt_ms[ok]) if ok.sum() >= MIN_BEATS_PER_PERIOD else (np.nan, np.nan)
    return QtRrRelation(
        period_start_s=np.arange(n_periods, dtype=np.float64) * period_s,
        n_beats=counts, median_qt_ms=med_qt, median_rr_ms=med_rr, slope=slopes,
        overall_slope=float(slope), overall_intercept_ms=float(intercept),
    )
