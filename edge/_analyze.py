"""The whole 24-hour analysis of one record, in one streaming pass.

:func:`analyze_record` reads the record chunk by chunk (bounded memory) and,
in the same pass, detects the beats (:class:`dsp.QrsDetector`), labels them
(:class:`edge._labels.BeatLabeller`) and measures each beat on the signal
around it (:class:`edge._beat_measures.BeatMeasurer`: delineation, and ST
level and QT where dsp provides them). At the end it runs, on the per-beat
arrays only: the rhythm detectors, the RR analysis (HRV, DC, HRT, ectopy,
hourly tables), ST episodes and the explainable risk score with every
factor the record can give (AF burden, ST episodes and QTc included).

Arrays in, a frozen :class:`HolterAnalysis` out; :mod:`edge._report_json`
and :mod:`edge._report_html` turn it into the report files.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from dataclasses import dataclass, field

import numpy as np

import dsp
import models
from dsp._qt import QT_RANGE_MS, _qt_kernel
from dsp._qt import RR_RANGE_MS as QT_RR_RANGE_MS
from dsp._rhythm import beats_in_episodes
from edge._beat_measures import BeatMeasurer
from edge._labels import BeatLabeller, LabelledBeats
from edge._malloc import reuse_freed_memory
from edge._stream import ProgressCallback, RecordBeats, detect_record
from firmware_bridge import RecordInfo

__all__ = ["HolterAnalysis", "analyze_record", "hr_trend", "qt_intervals"]

#: Width of one heart-rate / ST trend bin, s.
TREND_BIN_S = 300.0
#: Beats averaged for the minimum / maximum heart rate (one long RR is not a rate).
HR_BEATS = 8
#: Plausible RR range for the heart-rate trend, ms.
RR_RANGE_MS = (250.0, 2500.0)


@dataclass(frozen=True)
class HrTrend:
    """Heart rate per bin: mean (from the mean RR) and min / max of the 8-beat rate, bpm."""

    start_s: np.ndarray
    min_bpm: np.ndarray
    mean_bpm: np.ndarray
    max_bpm: np.ndarray
    bin_s: float


@dataclass(frozen=True, eq=False)
class HolterAnalysis:
    """Everything one record's analysis found (per-beat arrays and summaries).

    Attributes
    ----------
    record : firmware_bridge.RecordInfo
    beats : edge.RecordBeats
        R peaks and unusable stretches.
    labels : edge._labels.LabelledBeats
        Beat classes and the rhythm analysis.
    measures : dict of str to ndarray
        Per-beat signal measures aligned on ``beats.r_peaks`` (``qrs_onset``,
        ``qrs_offset``, ``t_peak``, ``t_end`` samples, ``p_present``; ``st_uv``
        (n_beats, n_leads) and ``qt_ms``, ``qtc_*_ms`` when dsp measures them).
    rr : dsp.RrSeries
    assessment : models.RiskAssessment
        The RR part (HRV, DC, HRT, ectopy, hourly, model).
    score : models.RiskScore
        The factor table with the signal- and rhythm-based factors added.
    st_episodes : tuple
        ``dsp.StEpisode`` items (empty when ST is not measured).
    hr : HrTrend
    af_burden_pct : float
    timings_s : dict of str to float
    """

    record: RecordInfo
    beats: RecordBeats
    labels: LabelledBeats
    measures: dict[str, np.ndarray]
    rr: dsp.RrSeries
    assessment: models.RiskAssessment
    score: models.RiskScore
    st_episodes: tuple
    hr: HrTrend
    af_burden_pct: float
    qtc_graded_ms: float | None
    timings_s: dict[str, float] = field(default_factory=dict)

    @property
    def fs_hz(self) -> float:
        return float(self.record.fs_hz)

    @property
    def analysed_s(self) -> float:
        """Record length minus the unusable stretches, s."""
        return max(0.0, self.record.duration_s - self.beats.unusable_s)


def hr_trend(rr: dsp.RrSeries, duration_s: float, bin_s: float = TREND_BIN_S) -> HrTrend:
    """Heart-rate trend in bins of `bin_s` from the usable RR intervals of any beat class.

    The mean is ``60000 / mean(RR)`` of the bin; min and max are taken over the
    rate of ``HR_BEATS`` consecutive intervals (a single long or short interval
    is a pause or an ectopic beat, not a rate). NaN where a bin has no interval.
    """
    n_bins = max(1, int(math.ceil(duration_s / bin_s)))
    start = np.arange(n_bins) * bin_s
    ok = rr.usable_mask & (rr.rr_ms >= RR_RANGE_MS[0]) & (rr.rr_ms <= RR_RANGE_MS[1])
    rr_ms, t_s = rr.rr_ms[ok], rr.rr_time_s[ok]
    mean = np.full(n_bins, np.nan)
    lo = np.full(n_bins, np.nan)
    hi = np.full(n_bins, np.nan)
    if rr_ms.size:
        b = np.minimum((t_s // bin_s).astype(np.int64), n_bins - 1)
        total = np.bincount(b, rr_ms, minlength=n_bins)
        count = np.bincount(b, minlength=n_bins)
        has = count > 0
        mean[has] = 60000.0 * count[has] / total[has]
        k = min(HR_BEATS, rr_ms.size)
        csum = np.concatenate(([0.0], np.cumsum(rr_ms)))
        rate = 60000.0 * k / (csum[k:] - csum[:-k])  # rate of intervals i .. i+k-1
        rb = b[k - 1 :]
        order = np.argsort(rb, kind="stable")
        rb_sorted, rate_sorted = rb[order], rate[order]
        edges = np.searchsorted(rb_sorted, np.arange(n_bins + 1))
        for i in np.flatnonzero(edges[1:] > edges[:-1]):
            seg = rate_sorted[edges[i] : edges[i + 1]]
            lo[i], hi[i] = seg.min(), seg.max()
        # bins with intervals but no full 8-interval window: the mean stands in
        fill = has & np.isnan(lo)
        lo[fill], hi[fill] = mean[fill], mean[fill]
    return HrTrend(start_s=start, min_bpm=lo, mean_bpm=mean, max_bpm=hi, bin_s=float(bin_s))


def qt_intervals(r_peaks: np.ndarray, qrs_onset: np.ndarray, t_end: np.ndarray,
                 fs_hz: float) -> dsp.QtIntervals:
    """QT, RR and QTc of every beat from its delineation.

    :func:`dsp.measure_qt` is :func:`dsp.delineate_beats` followed by this
    kernel; the streaming pass has delineated every beat already, so running
    ``measure_qt`` on each window would delineate it twice. The test checks the
    result equals ``dsp.measure_qt`` on the whole record.
    """
    r = np.ascontiguousarray(r_peaks, dtype=np.int64)
    qt, rr, qtb, qtf = _qt_kernel(
        r, np.ascontiguousarray(qrs_onset, dtype=np.int64),
        np.ascontiguousarray(t_end, dtype=np.int64), float(fs_hz),
        QT_RANGE_MS[0], QT_RANGE_MS[1], QT_RR_RANGE_MS[0], QT_RR_RANGE_MS[1],
    )
    return dsp.QtIntervals(r_peak=r, qt_ms=qt, rr_ms=rr, qtc_bazett_ms=qtb, qtc_fridericia_ms=qtf)


def _time_of_day_s(record: RecordInfo) -> float | None:
    st = record.start_time
    if st is None:
        return None
    return float(st.hour * 3600 + st.minute * 60 + st.second + st.microsecond / 1e6)


def _af_burden_pct(labels: LabelledBeats, fs_hz: float, analysed_s: float) -> float:
    af_s = sum(
        (e.end_sample - e.start_sample) / fs_hz for e in labels.rhythm.episodes if e.kind == "AFIB"
    )
    return 100.0 * af_s / analysed_s if analysed_s > 0 else float("nan")


def _qtc_summary(measures: dict[str, np.ndarray], classes: np.ndarray) -> float | None:
    """The QTc the risk score grades: the median Fridericia QTc of the normal beats."""
    qtc = measures.get("qtc_fridericia_ms")
    if qtc is None:
        return None
    values = qtc[(classes == "N") & np.isfinite(qtc)]
    return float(np.median(values)) if values.size else None


def _st_episodes(measures: dict[str, np.ndarray], r_peaks: np.ndarray, classes: np.ndarray,
                 fs_hz: float, af_episodes=()) -> tuple:
    """ST episodes on the normal beats outside atrial fibrillation only.

    An ectopic beat's ST segment is not ischaemia; in AF there is no
    isoelectric PR segment to measure the ST level against (f waves), so the
    deviations found there are not ST changes either.
    """
    st = measures.get("st_uv")
    normal = (classes == "N") & ~beats_in_episodes(r_peaks, af_episodes)
    if st is None or normal.sum() < 2:
        return ()
    return tuple(dsp.find_st_episodes(st[normal], r_peaks[normal], fs_hz))


def analyze_record(
    path: str | os.PathLike[str],
    *,
    chunk_s: float = 600.0,
    sex: str | None = None,
    model: models.RiskModel | None = None,
    run_model: bool = True,
    on_progress: ProgressCallback | None = None,
    allow_truncated: bool = False,
) -> HolterAnalysis:
    """Analyse a whole record in one streaming pass.

    Parameters
    ----------
    path : str or path-like
        WFDB record path without extension, EDF/EDF+ or ISHNE file.
    chunk_s : float, default 600.0
        Seconds read from disk at a time (bounds memory; the results do not depend on it).
    sex : {"female", "male"}, optional
        For the sex-specific QTc cut-off.
    model : models.RiskModel, optional
        Default: the committed risk model (when `run_model`).
    run_model : bool, default True
        Run the TFLite risk model (one factor of the score).
    on_progress : callable, optional
        ``on_progress(samples_read, n_samples)`` after each chunk.
    allow_truncated : bool, default False
        See :func:`edge.detect_record`.

    Raises
    ------
    FileNotFoundError, firmware_bridge.RecordFormatError, ValueError
        The record is missing, unusable, or has fewer than 2 beats.
    """
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    reuse_freed_memory()  # each chunk reuses the memory the last one freed (edge._malloc)
    labeller = BeatLabeller()
    measurer = BeatMeasurer()

    def on_block(record, block, peaks):
        labeller(record, block, peaks)
        measurer(record, block, peaks)

    beats = detect_record(
        path, chunk_s=chunk_s, on_progress=on_progress, allow_truncated=allow_truncated,
        on_block=on_block,
    )
    record = beats.record
    fs = float(record.fs_hz)
    if beats.n_beats < 2:
        raise ValueError(
            f"{record.name}: {beats.n_beats} beat(s) detected in "
            f"{record.duration_s:.0f} s; need at least 2 beats for a report"
        )
    labels = labeller.finish(beats.r_peaks, beats.unusable)
    measures = measurer.finish(beats.r_peaks)
    qt = qt_intervals(beats.r_peaks, measures["qrs_onset"], measures["t_end"], fs)
    measures.update(
        qt_ms=qt.qt_ms, qt_rr_ms=qt.rr_ms, qtc_bazett_ms=qt.qtc_bazett_ms,
        qtc_fridericia_ms=qt.qtc_fridericia_ms,
    )
    timings["stream_s"] = time.perf_counter() - t0

    t1 = time.perf_counter()
    noise = beats.unusable.ravel() if beats.unusable.size else None
    rr = dsp.rr_series_from_samples(beats.r_peaks, fs, labels.symbols, noise_samples=noise)
    if run_model and model is None:
        model = models.RiskModel()
    assessment = models.assess_rr(
        rr, model=model if run_model else None, sex=sex,
        start_time_of_day_s=_time_of_day_s(record), record_duration_s=record.duration_s,
    )
    classes = np.asarray(labels.classes)
    st_episodes = _st_episodes(measures, beats.r_peaks, classes, fs,
                               labels.rhythm.of_kind("AFIB"))
    analysed_s = max(0.0, record.duration_s - beats.unusable_s)
    af_burden = _af_burden_pct(labels, fs, analysed_s)
    qtc = _qtc_summary(measures, classes)
    inputs = models.risk_inputs_from_rr(
        assessment.analysis, model_probability=assessment.model_probability, sex=sex,
        model_missing_reason="risk model not run (--no-model)",
    )
    missing = dict(inputs.missing)
    missing.pop("af_burden_pct", None)
    if "st_uv" in measures:
        missing.pop("n_st_episodes", None)
    else:
        missing["n_st_episodes"] = "ST level not measured (dsp.measure_st not available)"
    if qtc is not None:
        missing.pop("qtc_ms", None)
    elif "qtc_fridericia_ms" in measures:
        missing["qtc_ms"] = "no normal beat with a measurable QT"
    else:
        missing["qtc_ms"] = "QT not measured (dsp.measure_qt not available)"
    inputs = dataclasses.replace(
        inputs,
        af_burden_pct=af_burden,
        n_st_episodes=len(st_episodes) if "st_uv" in measures else None,
        qtc_ms=qtc,
        missing=missing,
    )
    score = models.score_risk(inputs)
    hr = hr_trend(rr, record.duration_s)
    timings["analysis_s"] = time.perf_counter() - t1
    return HolterAnalysis(
        record=record, beats=beats, labels=labels, measures=measures, rr=rr,
        assessment=assessment, score=score, st_episodes=st_episodes, hr=hr,
        af_burden_pct=af_burden, qtc_graded_ms=qtc, timings_s=timings,
    )
