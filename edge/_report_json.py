"""report.json: the 24-hour report as a versioned JSON document.

:func:`report_document` turns a :class:`edge._analyze.HolterAnalysis` into a
JSON-ready dict that follows ``edge/report.schema.json`` (JSON Schema
2020-12; :data:`SCHEMA_VERSION`). Every quantity has its unit in its key;
NaN and infinities never appear (``null`` means "not measured"). Times are
seconds from the first sample of the record (``*_s``); the record's clock
start, when the file has one, is ``record.start_time``.

The document also names the ECG strips the HTML report draws (the worst
example of each event type) with the beats and labels inside each.
"""

from __future__ import annotations

import json
import math
import os
from importlib import metadata
from pathlib import Path

import numpy as np

import dsp
import models
from edge._analyze import HolterAnalysis

__all__ = [
    "SCHEMA_PATH",
    "SCHEMA_VERSION",
    "load_schema",
    "report_document",
    "select_strips",
    "write_report_files",
]

SCHEMA_VERSION = "1.0"
SCHEMA_PATH = Path(__file__).with_name("report.schema.json")
#: Length of an ECG strip, s, and how much of it comes before the event's anchor.
STRIP_S = 10.0
STRIP_PRE_S = 3.0

#: Event type -> (how the worst example is chosen, key function on an event dict).
_WORST = {
    "VT": ("most beats", lambda e: (e["n_beats"], e["rate_bpm"] or 0)),
    "IVR": ("most beats", lambda e: (e["n_beats"], 0)),
    "PAUSE": ("longest", lambda e: (e["duration_s"], 0)),
    "AFIB": ("onset of the longest episode", lambda e: (e["duration_s"], 0)),
    "SVTA": ("most beats", lambda e: (e["n_beats"], e["rate_bpm"] or 0)),
    "B": ("longest", lambda e: (e["duration_s"], 0)),
    "T": ("longest", lambda e: (e["duration_s"], 0)),
    "COUPLET": ("fastest", lambda e: (e["rate_bpm"] or 0, 0)),
    "SBR": ("slowest", lambda e: (-(e["rate_bpm"] or 0), 0)),
    "TACH": ("fastest", lambda e: (e["rate_bpm"] or 0, 0)),
    "ST": ("largest deviation", lambda e: (abs(e.get("peak_uv") or 0), 0)),
}

EVENT_TITLES = {
    "VT": "Ventricular tachycardia",
    "IVR": "Idioventricular rhythm",
    "PAUSE": "Pause",
    "AFIB": "Atrial fibrillation",
    "SVTA": "Supraventricular tachycardia",
    "B": "Ventricular bigeminy",
    "T": "Ventricular trigeminy",
    "COUPLET": "Ventricular couplet",
    "SBR": "Bradycardia",
    "TACH": "Tachycardia",
    "ST": "ST episode",
}


def _num(x, digits: int = 4):
    """A JSON number (None for NaN / inf / None), rounded."""
    if x is None:
        return None
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    x = float(x)
    return None if not math.isfinite(x) else round(x, digits)


def _nums(a, digits: int = 4) -> list:
    return [_num(v, digits) for v in np.asarray(a, dtype=np.float64).tolist()]


def load_schema() -> dict:
    """The committed JSON Schema of report.json."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def _version() -> str:
    try:
        return metadata.version("holter-edge")
    except metadata.PackageNotFoundError:
        return "unknown"


def _events(a: HolterAnalysis) -> list[dict]:
    fs = a.fs_hz
    out = []
    for e in a.labels.rhythm.episodes:
        out.append({
            "type": e.kind,
            "start_s": _num(e.start_sample / fs),
            "end_s": _num(e.end_sample / fs),
            "duration_s": _num((e.end_sample - e.start_sample) / fs),
            "n_beats": int(e.n_beats),
            "rate_bpm": _num(e.rate_bpm, 1),
            "sustained": bool(e.sustained),
            "lead": None,
            "st_kind": None,
            "peak_uv": None,
        })
    leads = a.record.lead_names
    for e in a.st_episodes:
        lead = int(e.lead)
        out.append({
            "type": "ST",
            "start_s": _num(e.start_sample / fs),
            "end_s": _num(e.end_sample / fs),
            "duration_s": _num(e.duration_s),
            "n_beats": int(np.searchsorted(a.beats.r_peaks, e.end_sample, "right")
                           - np.searchsorted(a.beats.r_peaks, e.start_sample)),
            "rate_bpm": None,
            "sustained": False,
            "lead": leads[lead] if 0 <= lead < len(leads) else str(lead),
            "st_kind": str(e.kind),
            "peak_uv": _num(e.peak_uv, 1),
        })
    out.sort(key=lambda ev: (ev["start_s"], ev["type"]))
    return out


def select_strips(a: HolterAnalysis, events: list[dict]) -> list[dict]:
    """The worst example of each event type as a 10-s strip with its labelled beats."""
    fs = a.fs_hz
    strips = []
    r = a.beats.r_peaks
    symbols = np.asarray(a.labels.symbols)
    for kind, (why, key) in _WORST.items():
        candidates = [e for e in events if e["type"] == kind]
        if not candidates:
            continue
        worst = max(candidates, key=key)
        if kind == "ST":  # the middle of the episode, where the deviation is
            anchor = 0.5 * (worst["start_s"] + worst["end_s"])
            start = anchor - STRIP_S / 2
        elif kind == "PAUSE":  # the pause centred
            anchor = 0.5 * (worst["start_s"] + worst["end_s"])
            start = anchor - STRIP_S / 2
        else:
            start = worst["start_s"] - STRIP_PRE_S
        start = min(max(0.0, start), max(0.0, a.record.duration_s - STRIP_S))
        end = min(a.record.duration_s, start + STRIP_S)
        lo, hi = np.searchsorted(r, [round(start * fs), round(end * fs)])
        strips.append({
            "event_type": kind,
            "title": EVENT_TITLES.get(kind, kind),
            "why": why,
            "event": worst,
            "n_of_type": len(candidates),
            "start_s": _num(start),
            "end_s": _num(end),
            "beats": [
                {"time_s": _num(p / fs), "label": str(s)}
                for p, s in zip(r[lo:hi].tolist(), symbols[lo:hi].tolist(), strict=True)
            ],
        })
    return strips


def _per_bin(values: np.ndarray, t_s: np.ndarray, n_bins: int, bin_s: float) -> np.ndarray:
    """Median of `values` (n, k) per bin of `t_s`, NaN where empty -> (n_bins, k)."""
    out = np.full((n_bins, values.shape[1]), np.nan)
    if values.shape[0] == 0:
        return out
    b = np.minimum((t_s // bin_s).astype(np.int64), n_bins - 1)
    order = np.argsort(b, kind="stable")
    edges = np.searchsorted(b[order], np.arange(n_bins + 1))
    v = values[order]
    for i in np.flatnonzero(edges[1:] > edges[:-1]):
        seg = v[edges[i] : edges[i + 1]]
        with np.errstate(all="ignore"):
            ok = np.isfinite(seg)
            for k in range(seg.shape[1]):
                if ok[:, k].any():
                    out[i, k] = np.median(seg[ok[:, k], k])
    return out


def _st_section(a: HolterAnalysis) -> dict | None:
    st = a.measures.get("st_uv")
    if st is None:
        return None
    fs = a.fs_hz
    normal = np.asarray(a.labels.classes) == "N"
    t = a.beats.r_peaks[normal] / fs
    n_bins = a.hr.start_s.size
    med = _per_bin(st[normal], t, n_bins, a.hr.bin_s)
    leads = list(a.record.lead_names)
    return {
        "bin_s": a.hr.bin_s,
        "leads": leads,
        "trend_st_uv": {lead: _nums(med[:, k], 1) for k, lead in enumerate(leads)},
        "n_episodes": len(a.st_episodes),
    }


def _qt_section(a: HolterAnalysis) -> dict | None:
    if "qt_ms" not in a.measures:
        return None
    fs, m = a.fs_hz, a.measures
    normal = np.asarray(a.labels.classes) == "N"
    r = a.beats.r_peaks[normal]
    names = ("qt_ms", "qtc_bazett_ms", "qtc_fridericia_ms")
    vals = np.column_stack([m[k][normal] for k in names])
    n_hours = max(1, int(math.ceil(a.record.duration_s / 3600.0)))
    hourly = _per_bin(vals, r / fs, n_hours, 3600.0)
    relation = None
    if r.size:
        qt = dsp.QtIntervals(
            r_peak=r, qt_ms=m["qt_ms"][normal], rr_ms=m["qt_rr_ms"][normal],
            qtc_bazett_ms=m["qtc_bazett_ms"][normal],
            qtc_fridericia_ms=m["qtc_fridericia_ms"][normal],
        )
        relation = dsp.qt_rr_relation(qt, r, fs, period_s=3600.0)

    def median(k: int):
        col = vals[:, k]
        col = col[np.isfinite(col)]
        return _num(np.median(col), 1) if col.size else None

    def per_hour(values) -> list:
        out = _nums(values, 4) if values is not None else []
        return (out + [None] * n_hours)[:n_hours]

    return {
        "n_beats_measured": int(np.isfinite(vals[:, 0]).sum()),
        "qt_ms_median": median(0),
        "qtc_bazett_ms_median": median(1),
        "qtc_fridericia_ms_median": median(2),
        "qtc_graded": "median Fridericia QTc of the normal beats",
        "qt_rr_slope": _num(relation.overall_slope) if relation else None,
        "qt_rr_intercept_ms": _num(relation.overall_intercept_ms, 1) if relation else None,
        "hourly": {
            "hour_start_s": [3600.0 * h for h in range(n_hours)],
            **{f"{k}_median": _nums(hourly[:, i], 1) for i, k in enumerate(names)},
            "rr_ms_median": per_hour(relation.median_rr_ms if relation else None),
            "qt_rr_slope": per_hour(relation.slope if relation else None),
        },
    }


def _delineation_section(a: HolterAnalysis) -> dict:
    m, fs = a.measures, a.fs_hz
    normal = np.asarray(a.labels.classes) == "N"
    on, off = m["qrs_onset"][normal], m["qrs_offset"][normal]
    ok = (on >= 0) & (off >= 0)
    qrs_ms = (off[ok] - on[ok]) * 1000.0 / fs
    return {
        "n_beats": int(a.beats.n_beats),
        "t_end_found_pct": _num(100.0 * np.mean(m["t_end"] >= 0), 2),
        "p_present_normal_pct": _num(100.0 * np.mean(m["p_present"][normal]), 2)
        if normal.any() else None,
        "qrs_duration_ms_median_normal": _num(np.median(qrs_ms), 1) if qrs_ms.size else None,
    }


def report_document(a: HolterAnalysis) -> dict:
    """The report.json document of analysis `a` (see ``edge/report.schema.json``)."""
    rec = a.record
    fs = a.fs_hz
    measures = models.rr_analysis_dict(a.assessment)
    classes = np.asarray(a.labels.classes)
    counts = {c: int(np.sum(classes == c)) for c in ("N", "S", "V", "F", "Q")}
    events = _events(a)
    episode_counts: dict[str, int] = {}
    for e in events:
        episode_counts[e["type"]] = episode_counts.get(e["type"], 0) + 1
    hr = a.hr
    mean_hr = hr.mean_bpm
    score = a.score.as_dict()
    return {
        "schema": "holter-report",
        "schema_version": SCHEMA_VERSION,
        "generated_by": {"software": "holter-edge", "version": _version()},
        "record": {
            "name": rec.name,
            "format": rec.format,
            "fs_hz": fs,
            "n_samples": int(rec.n_samples),
            "duration_s": _num(rec.duration_s),
            "lead_names": list(rec.lead_names),
            "start_time": None if rec.start_time is None else rec.start_time.isoformat(),
            "samples_lost": int(rec.samples_lost),
        },
        "signal_quality": {
            "unusable_s": _num(a.beats.unusable_s),
            "unusable_pct": _num(100.0 * a.beats.unusable_s / rec.duration_s, 3)
            if rec.duration_s > 0 else None,
            "analysed_s": _num(a.analysed_s),
            "unusable": [[_num(s / fs), _num(e / fs)] for s, e in a.beats.unusable.tolist()],
        },
        "beats": {"n_beats": int(a.beats.n_beats), "counts": counts},
        "heart_rate": {
            "mean_bpm": _num(60000.0 / np.mean(a.rr.rr_ms[a.rr.nn_mask]), 1)
            if a.rr.nn_mask.any() else None,
            "min_bpm": _num(np.nanmin(hr.min_bpm), 1) if np.isfinite(hr.min_bpm).any() else None,
            "max_bpm": _num(np.nanmax(hr.max_bpm), 1) if np.isfinite(hr.max_bpm).any() else None,
            "trend": {
                "bin_s": hr.bin_s,
                "start_s": _nums(hr.start_s),
                "min_bpm": _nums(hr.min_bpm, 1),
                "mean_bpm": _nums(mean_hr, 1),
                "max_bpm": _nums(hr.max_bpm, 1),
            },
        },
        "hrv": measures["hrv"],
        "deceleration_capacity": measures["deceleration_capacity"],
        "heart_rate_turbulence": measures["heart_rate_turbulence"],
        "ectopy": measures["ectopy"],
        "hourly": measures["hourly"],
        "circadian": measures["circadian"],
        "rhythm": {
            "af_burden_pct": _num(a.af_burden_pct, 3),
            "episode_counts": episode_counts,
        },
        "delineation": _delineation_section(a),
        "st": _st_section(a),
        "qt": _qt_section(a),
        "events": events,
        "strips": select_strips(a, events),
        "risk": {
            "level": score["level"],
            "points": score["points"],
            "n_assessed": score["n_assessed"],
            "model_probability": _num(a.assessment.model_probability),
            "disclaimer": score["disclaimer"],
            "factors": [
                {**f, "value": _num(f["value"])} for f in score["factors"]
            ],
        },
    }


def write_report_files(analysis: HolterAnalysis, out_dir: Path, html: bool = True) -> list[Path]:
    """Write ``report.json`` (and ``report.html``) of `analysis` into `out_dir`; returns the paths.

    Each file is written beside its final name and renamed into place, so a
    reader never sees half a report.
    """
    doc = report_document(analysis)
    files = {"report.json": json.dumps(doc, indent=1, allow_nan=False) + "\n"}
    if html:
        from edge._report_html import render_html

        files["report.html"] = render_html(analysis, doc)
    written = []
    for name, text in files.items():
        path = Path(out_dir) / name
        tmp = path.with_name(name + ".partial")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
        written.append(path)
    return written
