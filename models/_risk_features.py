"""RR-derived features of the risk model: 24-hour measures and hour-by-hour (rolling) ones.

Pure: an :class:`dsp.RrSeries` and its :class:`dsp.RrAnalysis` in, a float64
vector in :data:`FEATURE_NAMES` order out (NaN where a measure is undefined;
the model imputes those with its training medians). Spectral powers and
ectopy rates enter as logarithms; ectopy is per hour so that records of
different length compare.
"""

from __future__ import annotations

import math

import numpy as np

from dsp import RrAnalysis, RrSeries

__all__ = ["FEATURE_NAMES", "risk_features"]

#: Feature order of the model input (the sidecar JSON repeats it and is checked).
FEATURE_NAMES: tuple[str, ...] = (
    "mean_nn_ms",
    "sdnn_ms",
    "sdann_ms",
    "sdnn_index_ms",
    "log_rmssd_ms",
    "pnn50_pct",
    "triangular_index",
    "log_lf_ms2",
    "log_hf_ms2",
    "log_lf_hf",
    "dc_ms",
    "ac_ms",
    "log1p_v_per_hour",
    "log1p_a_per_hour",
    "hourly_sdnn_median_ms",
    "hourly_rmssd_median_ms",
    "hourly_hr_range_bpm",
    "circadian_amplitude_bpm",
)

#: An hour counts for the hourly features when it has at least this many NN intervals.
MIN_NN_PER_HOUR = 1000


def _log(x: float) -> float:
    return math.log(x) if x > 0 and math.isfinite(x) else math.nan


def _hourly_sd_and_rmssd(rr: RrSeries) -> tuple[np.ndarray, np.ndarray]:
    """SDNN and RMSSD of each hour with enough NN intervals (rolling 1-hour windows)."""
    hour = np.floor(rr.nn_time_s / 3600.0).astype(np.int64)
    nn = rr.nn_ms
    adjacent = rr.nn_mask[:-1] & rr.nn_mask[1:]
    diff = np.diff(rr.rr_ms)[adjacent]
    diff_hour = np.floor(rr.rr_time_s[1:][adjacent] / 3600.0).astype(np.int64)
    sds, rmssds = [], []
    for h in np.unique(hour):
        sel = nn[hour == h]
        if sel.shape[0] < MIN_NN_PER_HOUR:
            continue
        d = diff[diff_hour == h]
        sds.append(sel.std(ddof=1))
        rmssds.append(math.sqrt(float(np.mean(d * d))) if d.shape[0] else math.nan)
    return np.array(sds), np.array(rmssds)


def risk_features(rr: RrSeries, analysis: RrAnalysis) -> np.ndarray:
    """The model input of one record, in :data:`FEATURE_NAMES` order (float64, may hold NaN).

    Parameters
    ----------
    rr : dsp.RrSeries
        The record's beats.
    analysis : dsp.RrAnalysis
        ``dsp.analyze_rr(rr)``.
    """
    td, fd, e = analysis.time_domain, analysis.frequency_domain, analysis.ectopy
    hours = max(analysis.duration_s / 3600.0, 1e-9)
    sds, rmssds = _hourly_sd_and_rmssd(rr)
    hr = analysis.hourly.hr_mean_bpm
    hr_ok = hr[np.isfinite(hr) & (analysis.hourly.n_nn >= MIN_NN_PER_HOUR)]
    values = {
        "mean_nn_ms": td.mean_nn_ms,
        "sdnn_ms": td.sdnn_ms,
        "sdann_ms": td.sdann_ms,
        "sdnn_index_ms": td.sdnn_index_ms,
        "log_rmssd_ms": _log(td.rmssd_ms),
        "pnn50_pct": td.pnn50_pct,
        "triangular_index": td.triangular_index,
        "log_lf_ms2": _log(fd.lf_ms2),
        "log_hf_ms2": _log(fd.hf_ms2),
        "log_lf_hf": _log(fd.lf_hf),
        "dc_ms": analysis.prsa.dc_ms,
        "ac_ms": analysis.prsa.ac_ms,
        "log1p_v_per_hour": math.log1p(e.counts["V"] / hours),
        "log1p_a_per_hour": math.log1p(e.counts["A"] / hours),
        "hourly_sdnn_median_ms": float(np.median(sds)) if sds.size else math.nan,
        "hourly_rmssd_median_ms": float(np.nanmedian(rmssds)) if np.isfinite(rmssds).any() else math.nan,
        "hourly_hr_range_bpm": float(hr_ok.max() - hr_ok.min()) if hr_ok.size > 1 else math.nan,
        "circadian_amplitude_bpm": analysis.circadian.amplitude_bpm,
    }
    return np.array([float(values[name]) for name in FEATURE_NAMES], dtype=np.float64)
