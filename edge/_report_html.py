"""report.html: the 24-hour report for a cardiologist, one self-contained file.

Opens from disk with no network: the plots are PNG images inlined as base64
``data:`` URIs (drawn with matplotlib's object API, no pyplot state), the CSS
is inline, and there is no script and no web font. Sections: summary, the
statement that the score supports a physician and does not diagnose, the risk
factor table (value, cut-off, source, contribution), heart-rate trend (min /
mean / max per 5 min), RR tachogram, ST trend per lead, QT/QTc per hour,
ectopy per hour (V and S beats), the events, and an ECG strip of the worst
example of each event type with its beat labels drawn on it.

The strips are read from the record in a second pass that stops after the
last strip (bounded memory, as the analysis).
"""

from __future__ import annotations

import base64
import html
import io
import math

import numpy as np
from matplotlib.figure import Figure

from edge._analyze import HolterAnalysis
from firmware_bridge import iter_record_chunks

__all__ = ["SECTIONS", "read_strips", "render_html"]

#: id and title of each section, in order (tests check they are all there).
SECTIONS: tuple[tuple[str, str], ...] = (
    ("summary", "Summary"),
    ("risk", "Risk factors"),
    ("heart-rate", "Heart-rate trend"),
    ("tachogram", "RR tachogram"),
    ("st", "ST trend"),
    ("qt", "QT / QTc"),
    ("ectopy", "Ectopy per hour"),
    ("hrv", "Heart-rate variability"),
    ("events", "Events"),
    ("strips", "ECG strips"),
)

_LABEL_COLOURS = {"N": "#333333", "A": "#1f5fbf", "V": "#c0392b", "F": "#8e44ad", "Q": "#7f8c8d"}
_LEVEL_CLASS = {"low": "low", "intermediate": "mid", "high": "high", "not assessed": "na"}

_CSS = """
body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:24px auto;max-width:1280px;
color:#222;line-height:1.4;padding:0 16px}
h1{font-size:24px;margin-bottom:4px}h2{font-size:19px;border-bottom:2px solid #ddd;padding-bottom:4px;
margin-top:32px}h3{font-size:15px;margin:18px 0 4px}
.sub{color:#555;margin-top:0}
.disclaimer{background:#fff7e0;border:1px solid #e6c200;padding:10px 14px;border-radius:4px;font-size:14px}
table{border-collapse:collapse;font-size:13px;margin:8px 0}
th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f2f2f2}td.num{text-align:right;white-space:nowrap}
td.src{font-size:11px;color:#444;max-width:420px}
.lvl{font-weight:600;padding:1px 6px;border-radius:3px;white-space:nowrap}
.low{background:#e3f4e3}.mid{background:#fff0c2}.high{background:#f9d3cf}.na{background:#eee;color:#666}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:4px 24px}
.kv{display:flex;justify-content:space-between;border-bottom:1px dotted #ccc;font-size:14px}
img{max-width:100%;height:auto;display:block}
.note{color:#555;font-size:13px}
"""


def _png(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _img(fig: Figure, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{_png(fig)}">'


def _fmt(value, digits: int = 1, unit: str = "") -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "&ndash;"
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        text = f"{int(value):,}"
    else:
        text = f"{float(value):,.{digits}f}"
    return f"{text} {html.escape(unit)}".rstrip()


def _hours_axis(ax, duration_s: float) -> None:
    ax.set_xlim(0, max(duration_s / 3600.0, 1e-3))
    ax.set_xlabel("hours from the start of the recording")
    ax.grid(True, color="#dddddd", linewidth=0.6)


def _hr_plot(a: HolterAnalysis) -> str:
    hr = a.hr
    fig = Figure(figsize=(14, 3.4))
    ax = fig.subplots()
    x = (hr.start_s + hr.bin_s / 2) / 3600.0
    ax.fill_between(x, hr.min_bpm, hr.max_bpm, color="#f3b0a8", step="mid", label="min-max (8 beats)")
    ax.plot(x, hr.mean_bpm, color="#b03020", drawstyle="steps-mid", linewidth=1.2, label="mean")
    ax.set_ylabel("heart rate (bpm)")
    _hours_axis(ax, a.record.duration_s)
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    return _img(fig, "heart-rate trend per 5 minutes")


def _tachogram(a: HolterAnalysis) -> str:
    rr = a.rr
    fig = Figure(figsize=(14, 3.4))
    ax = fig.subplots()
    ends = rr.beat_code[1:]
    t_h = rr.rr_time_s / 3600.0
    rr_s = rr.rr_ms / 1000.0
    for code, name, colour in ((0, "N", "#555555"), (1, "S", "#1f5fbf"), (2, "V", "#c0392b")):
        sel = ends == code
        if sel.any():
            ax.plot(t_h[sel], rr_s[sel], ".", markersize=1.5 if rr_s.size < 20000 else 0.8,
                    markeredgewidth=0, color=colour, label=f"ending at {name} beat")
    top = float(np.nanpercentile(rr_s, 99.9)) * 1.15 if rr_s.size else 2.0
    ax.set_ylim(0, max(top, float(np.max(rr_s, initial=0.0)) * 1.02 if rr_s.size else 2.0))
    ax.set_ylabel("RR interval (s)")
    _hours_axis(ax, a.record.duration_s)
    ax.legend(loc="upper right", fontsize=8, markerscale=8)
    fig.tight_layout()
    return _img(fig, "RR tachogram")


def _st_plot(a: HolterAnalysis, doc: dict) -> str:
    st = doc.get("st")
    if not st:
        return '<p class="note">ST level not measured by this version of the analysis.</p>'
    fig = Figure(figsize=(14, 3.0))
    ax = fig.subplots()
    x = (np.asarray(doc["heart_rate"]["trend"]["start_s"]) + st["bin_s"] / 2) / 3600.0
    for lead, values in st["trend_st_uv"].items():
        y = np.array([np.nan if v is None else v for v in values], dtype=float)
        ax.plot(x, y, drawstyle="steps-mid", linewidth=1.2, label=lead)
    ax.axhline(0, color="#999999", linewidth=0.8)
    for lim in (-100, 100):
        ax.axhline(lim, color="#c0392b", linewidth=0.6, linestyle="--")
    for e in a.st_episodes:
        ax.axvspan(e.start_sample / a.fs_hz / 3600, e.end_sample / a.fs_hz / 3600,
                   color="#f9d3cf", alpha=0.6)
    ax.set_ylabel("ST level (uV), median of N beats")
    _hours_axis(ax, a.record.duration_s)
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    return _img(fig, "ST trend per lead")


def _qt_plot(doc: dict) -> str:
    qt = doc.get("qt")
    if not qt:
        return '<p class="note">QT not measured by this version of the analysis.</p>'
    h = qt["hourly"]
    x = np.asarray(h["hour_start_s"], dtype=float) / 3600.0 + 0.5
    fig = Figure(figsize=(14, 2.8))
    ax = fig.subplots()
    for key, label in (("qt_ms_median", "QT"), ("qtc_bazett_ms_median", "QTc Bazett"),
                       ("qtc_fridericia_ms_median", "QTc Fridericia")):
        y = np.array([np.nan if v is None else v for v in h[key]], dtype=float)
        ax.plot(x, y, marker="o", markersize=3, linewidth=1.2, label=label)
    for lim in (470, 500):
        ax.axhline(lim, color="#c0392b", linewidth=0.6, linestyle="--")
    ax.set_ylabel("ms (hourly median)")
    ax.set_xlim(0, max(x[-1] + 0.5, 1.0))
    ax.set_xlabel("hours from the start of the recording (points: the middle of each hour)")
    ax.grid(True, color="#dddddd", linewidth=0.6)
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    table = (
        f"<p>Median over {qt['n_beats_measured']:,} normal beats: QT {_fmt(qt['qt_ms_median'], 0, 'ms')}, "
        f"QTc Bazett {_fmt(qt['qtc_bazett_ms_median'], 0, 'ms')}, "
        f"QTc Fridericia {_fmt(qt['qtc_fridericia_ms_median'], 0, 'ms')} "
        f"(graded: {html.escape(qt['qtc_graded'])}).</p>"
    )
    return table + _img(fig, "QT and QTc per hour")


def _ectopy_plot(doc: dict) -> str:
    h = doc["hourly"]
    v = np.array([0 if x is None else x for x in h["v_per_hour"]], dtype=float)
    s = np.array([0 if x is None else x for x in h["a_per_hour"]], dtype=float)
    x = np.arange(v.size)
    fig = Figure(figsize=(14, 2.8))
    ax = fig.subplots()
    ax.bar(x - 0.2, v, width=0.4, color="#c0392b", label="V beats")
    ax.bar(x + 0.2, s, width=0.4, color="#1f5fbf", label="S beats")
    ax.set_xticks(x)
    ax.set_xticklabels([f"{i}" for i in x], fontsize=7)
    ax.set_xlabel("hour from the start of the recording")
    ax.set_ylabel("beats per hour")
    ax.grid(True, axis="y", color="#dddddd", linewidth=0.6)
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    return _img(fig, "ectopic beats per hour")


def read_strips(a: HolterAnalysis, strips: list[dict], chunk_s: float = 1800.0) -> list[np.ndarray]:
    """The signal (mV, (n, n_leads)) of each strip, read in one pass that stops after the last."""
    fs = a.fs_hz
    wanted = [(int(round(s["start_s"] * fs)), int(round(s["end_s"] * fs))) for s in strips]
    out = [np.full((max(0, hi - lo), a.record.n_leads), np.nan) for lo, hi in wanted]
    if not wanted:
        return out
    last = max(hi for _, hi in wanted)
    for chunk in iter_record_chunks(a.record, chunk_s=chunk_s):
        c0, c1 = chunk.start_sample, chunk.end_sample
        for (lo, hi), buf in zip(wanted, out, strict=True):
            s0, s1 = max(lo, c0), min(hi, c1)
            if s1 > s0:
                buf[s0 - lo : s1 - lo] = chunk.samples[s0 - c0 : s1 - c0]
        if c1 >= last:
            break
    return out


def _strip_plot(a: HolterAnalysis, strip: dict, signal: np.ndarray) -> str:
    fs = a.fs_hz
    n_leads = signal.shape[1]
    t = strip["start_s"] + np.arange(signal.shape[0]) / fs
    heights = []
    for k in range(n_leads):
        finite = signal[:, k][np.isfinite(signal[:, k])]
        span = float(np.ptp(finite)) if finite.size else 3.0
        heights.append(min(8.0, max(3.0, span + 0.2)))
    fig = Figure(figsize=(14, 0.9 + 0.5 * sum(heights)))
    axes = fig.subplots(n_leads, 1, sharex=True, squeeze=False,
                        gridspec_kw={"height_ratios": heights})[:, 0]
    for k, ax in enumerate(axes):
        y = signal[:, k]
        finite = y[np.isfinite(y)]
        centre = float(np.median(finite)) if finite.size else 0.0
        # at least 3 mV tall, more for large complexes (at most 8 mV), at 10 mm/mV
        y_lo = max(centre - 4.0, min(centre - 1.5, float(finite.min(initial=centre)) - 0.1))
        y_hi = min(centre + 4.0, max(centre + 1.5, float(finite.max(initial=centre)) + 0.1))
        ax.set_ylim(y_lo, y_hi)
        ax.set_xlim(strip["start_s"], strip["end_s"])
        # ECG paper: 0.2 s / 0.5 mV major, 0.04 s / 0.1 mV minor lines (two line
        # collections: far cheaper than hundreds of matplotlib ticks)
        x0, x1 = strip["start_s"], strip["end_s"]
        xs = np.arange(math.floor(x0 / 0.04) * 0.04, x1 + 1e-9, 0.04)
        ys = np.arange(math.floor(y_lo / 0.1) * 0.1, y_hi + 1e-9, 0.1)
        major_x = np.isclose(np.round(xs / 0.04) % 5, 0)
        major_y = np.isclose(np.round(ys / 0.1) % 5, 0)
        ax.vlines(xs[~major_x], y_lo, y_hi, colors="#fbdede", linewidth=0.3)
        ax.hlines(ys[~major_y], x0, x1, colors="#fbdede", linewidth=0.3)
        ax.vlines(xs[major_x], y_lo, y_hi, colors="#f0a0a0", linewidth=0.6)
        ax.hlines(ys[major_y], x0, x1, colors="#f0a0a0", linewidth=0.6)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.plot(t, y, color="black", linewidth=0.8)
        ax.text(0.002, 0.96, a.record.lead_names[k], transform=ax.transAxes, fontsize=9,
                va="top", ha="left", fontweight="bold")
        if k == 0:  # the labels in a band above the first lead, over each R peak
            for beat in strip["beats"]:
                ax.text(beat["time_s"], 1.01, beat["label"], ha="center", va="bottom",
                        fontsize=10, fontweight="bold", clip_on=False,
                        transform=ax.get_xaxis_transform(),
                        color=_LABEL_COLOURS.get(beat["label"], "black"))
        ev = strip["event"]
        ax.axvspan(max(ev["start_s"], x0), min(ev["end_s"], x1), color="#fff2a8", alpha=0.35,
                   zorder=0)
    axes[-1].set_xlabel(
        f"{strip['start_s']:.1f}-{strip['end_s']:.1f} s from the start; grid 0.2 s x 0.5 mV "
        "(25 mm/s, 10 mm/mV); shaded: the event"
    )
    height_in = fig.get_figheight()
    fig.subplots_adjust(left=0.01, right=0.995, top=1 - 0.3 / height_in,
                        bottom=0.45 / height_in, hspace=0.08)
    return _img(fig, f"ECG strip: {strip['title']}")


def _kv(pairs) -> str:
    return '<div class="grid">' + "".join(
        f'<div class="kv"><span>{html.escape(k)}</span><b>{v}</b></div>' for k, v in pairs
    ) + "</div>"


def _risk_table(doc: dict) -> str:
    r = doc["risk"]
    rows = []
    for f in r["factors"]:
        unit = f["unit"] if f["unit"] not in ("", "abnormal parts") else ""
        digits = 0 if unit == "episodes" or f["name"] == "qtc_ms" else 2
        value = _fmt(f["value"], digits, unit) if f["value"] is not None else "&ndash;"
        if f["note"]:
            value += f'<br><span class="note">{html.escape(f["note"])}</span>'
        lvl = f["level"]
        rows.append(
            f"<tr><td>{html.escape(f['title'])}</td><td class=num>{value}</td>"
            f'<td><span class="lvl {_LEVEL_CLASS.get(lvl, "na")}">{html.escape(lvl)}</span></td>'
            f"<td>{html.escape(f['cutoff'])}</td><td class=num>+{f['contribution']}</td>"
            f'<td class="src">{html.escape(f["source"])}</td></tr>'
        )
    lvl = r["level"]
    return (
        f'<p>Overall level: <span class="lvl {_LEVEL_CLASS.get(lvl, "na")}">{html.escape(lvl)}</span>'
        f" ({r['points']} points from {r['n_assessed']} assessed factors; the level is the worst "
        "level among them).</p>"
        "<table><tr><th>factor</th><th>value</th><th>level</th><th>cut-off</th>"
        "<th>contribution</th><th>source</th></tr>" + "".join(rows) + "</table>"
    )


def _events_table(doc: dict) -> str:
    counts = doc["rhythm"]["episode_counts"]
    if not counts:
        return "<p>No rhythm or ST event was detected.</p>"
    from edge._report_json import EVENT_TITLES

    rows = []
    for kind, n in sorted(counts.items(), key=lambda kv: -kv[1]):
        evs = [e for e in doc["events"] if e["type"] == kind]
        total = sum(e["duration_s"] for e in evs)
        longest = max(e["duration_s"] for e in evs)
        rows.append(
            f"<tr><td>{html.escape(EVENT_TITLES.get(kind, kind))} ({html.escape(kind)})</td>"
            f"<td class=num>{n:,}</td><td class=num>{_fmt(total, 1, 's')}</td>"
            f"<td class=num>{_fmt(longest, 1, 's')}</td>"
            f"<td class=num>{_fmt(max((e['n_beats'] for e in evs), default=0))}</td></tr>"
        )
    return (
        "<table><tr><th>event</th><th>count</th><th>total time</th><th>longest</th>"
        "<th>most beats</th></tr>" + "".join(rows) + "</table>"
        '<p class="note">Every event with its start and end is listed in report.json '
        "(<code>events</code>).</p>"
    )


def render_html(a: HolterAnalysis, doc: dict) -> str:
    """The report.html text for analysis `a` and its report.json document `doc`."""
    rec, hr, b = doc["record"], doc["heart_rate"], doc["beats"]
    ect, hrv = doc["ectopy"], doc["hrv"]
    e = html.escape
    hours = rec["duration_s"] / 3600.0
    summary = _kv([
        ("Recording", f"{e(rec['name'])} ({e(rec['format'])})"),
        ("Start", e(rec["start_time"] or "not in the file")),
        ("Duration", f"{hours:.2f} h"),
        ("Leads", e(", ".join(rec["lead_names"]))),
        ("Analysed", f"{doc['signal_quality']['analysed_s'] / 3600:.2f} h "
                     f"({_fmt(doc['signal_quality']['unusable_pct'], 2, '%')} unusable)"),
        ("Beats", _fmt(b["n_beats"])),
        ("Heart rate mean", _fmt(hr["mean_bpm"], 0, "bpm")),
        ("Heart rate min / max", f"{_fmt(hr['min_bpm'], 0)} / {_fmt(hr['max_bpm'], 0, 'bpm')}"),
        ("V beats", f"{_fmt(b['counts']['V'])} ({_fmt(ect['v_burden_pct'], 2, '%')})"),
        ("S beats", f"{_fmt(b['counts']['S'])} ({_fmt(ect['a_burden_pct'], 2, '%')})"),
        ("V couplets / NSVT / sustained VT",
         f"{ect['n_v_couplets']} / {ect['n_nsvt']} / {ect['n_sustained_vt']}"),
        ("Pauses &ge; 2 s; longest", f"{ect['n_pauses']}; {_fmt(ect['longest_pause_s'], 2, 's')}"),
        ("AF burden", _fmt(doc["rhythm"]["af_burden_pct"], 2, "%")),
        ("SDNN", _fmt(hrv["sdnn_ms"], 1, "ms")),
        ("Deceleration capacity", _fmt(doc["deceleration_capacity"]["dc_ms"], 2, "ms")),
        ("Risk model probability", _fmt(doc["risk"]["model_probability"], 2)),
    ])
    hrv_rows = _kv([
        ("NN intervals", _fmt(hrv["n_nn"])), ("mean NN", _fmt(hrv["mean_nn_ms"], 0, "ms")),
        ("SDNN", _fmt(hrv["sdnn_ms"], 1, "ms")), ("SDANN", _fmt(hrv["sdann_ms"], 1, "ms")),
        ("SDNN index", _fmt(hrv.get("sdnn_index_ms"), 1, "ms")),
        ("RMSSD", _fmt(hrv["rmssd_ms"], 1, "ms")), ("pNN50", _fmt(hrv["pnn50_pct"], 1, "%")),
        ("HRV triangular index", _fmt(hrv.get("triangular_index"), 1)),
        ("LF", _fmt(hrv["lf_ms2"], 0, "ms²")), ("HF", _fmt(hrv["hf_ms2"], 0, "ms²")),
        ("LF/HF", _fmt(hrv["lf_hf"], 2)),
        ("DC / AC", f"{_fmt(doc['deceleration_capacity']['dc_ms'], 2)} / "
                    f"{_fmt(doc['deceleration_capacity']['ac_ms'], 2, 'ms')}"),
        ("HRT onset / slope",
         f"{_fmt(doc['heart_rate_turbulence']['turbulence_onset_pct'], 2, '%')} / "
         f"{_fmt(doc['heart_rate_turbulence']['turbulence_slope_ms_per_rr'], 2, 'ms/RR')}"),
    ])
    strips_html = []
    for strip, signal in zip(doc["strips"], read_strips(a, doc["strips"]), strict=True):
        ev = strip["event"]
        strips_html.append(
            f"<h3>{e(strip['title'])}: {e(strip['why'])} of {strip['n_of_type']}</h3>"
            f'<p class="note">event {ev["start_s"]:.1f}-{ev["end_s"]:.1f} s, '
            f"{ev['n_beats']} beats"
            + (f", {ev['rate_bpm']:.0f} bpm" if ev["rate_bpm"] is not None else "")
            + (f", lead {e(ev['lead'])}, {ev['peak_uv']:.0f} uV" if ev["lead"] else "")
            + ". Labels: N normal, A supraventricular, V ventricular, F fusion, Q unclassified.</p>"
            + _strip_plot(a, strip, signal)
        )
    if not strips_html:
        strips_html.append("<p>No event: no strip to show.</p>")
    body = {
        "summary": summary,
        "risk": _risk_table(doc),
        "heart-rate": _hr_plot(a),
        "tachogram": _tachogram(a),
        "st": _st_plot(a, doc),
        "qt": _qt_plot(doc),
        "ectopy": _ectopy_plot(doc),
        "hrv": hrv_rows,
        "events": _events_table(doc),
        "strips": "".join(strips_html),
    }
    sections = "".join(
        f'<section id="{sid}"><h2>{e(title)}</h2>{body[sid]}</section>' for sid, title in SECTIONS
    )
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>Holter report: {e(rec['name'])}</title><style>{_CSS}</style></head><body>"
        f"<h1>24-hour Holter report: {e(rec['name'])}</h1>"
        f'<p class="sub">holter-edge {e(doc["generated_by"]["version"])}, report schema '
        f"{e(doc['schema_version'])}; times are hours from the start of the recording.</p>"
        f'<p class="disclaimer"><b>This report supports a physician; it does not diagnose.</b> '
        f"{e(doc['risk']['disclaimer'])} Beat labels, rhythm events and measurements are "
        "automatic and must be reviewed on the ECG.</p>"
        f"{sections}</body></html>\n"
    )
