"""``holter bench analyze``: the whole 24-hour analysis and report, time and peak memory.

The 48 MIT-BIH records, concatenated, make one ~24-h, 2-lead, 360 Hz stream
(31.2 million samples per lead). They all share the signal file format (212),
gain and baseline, so their ``.dat`` files are joined byte for byte into one
temporary WFDB record: nothing is resampled or rescaled (the second lead is
V1, V2, V4 or V5 depending on the record; the analysis does not care).

A child process, pinned to one core (``sched_setaffinity``; Numba, BLAS and
OpenMP threads set to 1), runs once to fill Numba's disk cache (a fresh
checkout compiles every kernel on first use, and the compiler's memory would
otherwise count in the peak), then a second child, measured, imports the
package, warms up on the bundled
30-minute sample record (Numba's cache loaded, the TFLite interpreters built)
and then times, on the 24-h record:

1. the analysis: streaming read, QRS detection, beat features and
   classification, delineation, ST level, QT, rhythm, HRV/DC/HRT, ectopy,
   hourly tables, the risk model and score, and report.json;
2. report.html (matplotlib plots, the second pass that reads the strips).

Its peak resident memory is ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` at
the end (the whole process: Python, NumPy, Numba, TFLite, matplotlib).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["AnalyzeBenchResult", "build_concatenated_mitdb", "run_analyze_bench"]

TARGET_ANALYSIS_S = 5.0
TARGET_HTML_S = 5.0
TARGET_RSS_MB = 500.0
REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "data" / "sample" / "119"


def build_concatenated_mitdb(mitdb: Path, out_dir: Path, name: str = "mitdb48") -> tuple[Path, list[str]]:
    """Join every mitdb record's signal file into ``out_dir/name`` (a WFDB record).

    Raises ValueError when a record does not share the format the join needs.
    """
    records = sorted(p.stem for p in mitdb.glob("*.hea"))
    if not records:
        raise ValueError(f"no .hea file in {mitdb}")
    n_total = 0
    signal_lines = None
    with open(out_dir / f"{name}.dat", "wb") as out:
        for rec in records:
            lines = (mitdb / f"{rec}.hea").read_text().splitlines()
            head = lines[0].split()
            n_sig, fs, n = int(head[1]), float(head[2].split("/")[0]), int(head[3])
            fields = [line.split() for line in lines[1 : 1 + n_sig]]
            shape = [(f[1], f[2], f[3], f[4]) for f in fields]  # fmt, gain, adc res, zero
            if n_sig != 2 or fs != 360.0 or any(s != ("212", "200", "11", "1024") for s in shape):
                raise ValueError(f"{rec}: format {n_sig} x {shape} at {fs} Hz; cannot join")
            data = (mitdb / f"{rec}.dat").read_bytes()
            if len(data) < 3 * n:  # 212: two samples in 3 bytes
                raise ValueError(f"{rec}.dat holds {len(data)} bytes, expected {3 * n}")
            out.write(data[: 3 * n])
            n_total += n
            signal_lines = fields
    header = [f"{name} 2 360 {n_total}"]
    for k, _ in enumerate(signal_lines):
        header.append(f"{name}.dat 212 200 11 1024 0 0 0 ECG{k + 1}")
    (out_dir / f"{name}.hea").write_text("\n".join(header) + "\n")
    return out_dir / name, records


_CHILD = r"""
import json, os, resource, sys, time
os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
t0 = time.perf_counter()
from edge._analyze import analyze_record
from edge._report_json import report_document
from edge._report_html import render_html
import_s = time.perf_counter() - t0
record, sample, out_dir = sys.argv[1:4]

def once(path, tag):
    t = time.perf_counter()
    a = analyze_record(path)
    doc = report_document(a)
    text = json.dumps(doc, allow_nan=False)
    analysis_s = time.perf_counter() - t
    (open(os.path.join(out_dir, tag + ".json"), "w")).write(text)
    t = time.perf_counter()
    page = render_html(a, doc)
    html_s = time.perf_counter() - t
    open(os.path.join(out_dir, tag + ".html"), "w").write(page)
    return a, doc, analysis_s, html_s, len(text), len(page)

t = time.perf_counter()
once(sample, "warmup")
warmup_s = time.perf_counter() - t
a, doc, analysis_s, html_s, json_bytes, html_bytes = once(record, "report")
print(json.dumps({
    "import_s": import_s, "warmup_s": warmup_s, "analysis_s": analysis_s, "html_s": html_s,
    "stream_s": a.timings_s["stream_s"], "post_stream_s": a.timings_s["analysis_s"],
    "json_bytes": json_bytes, "html_bytes": html_bytes,
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    "n_beats": int(a.beats.n_beats), "duration_s": float(a.record.duration_s),
    "n_events": len(doc["events"]), "n_strips": len(doc["strips"]),
    "risk_level": doc["risk"]["level"], "counts": doc["beats"]["counts"],
}))
"""


@dataclass(frozen=True)
class AnalyzeBenchResult:
    """One run of the child process on the 24-h record."""

    n_records: int
    measured: dict

    @property
    def met(self) -> dict[str, bool]:
        m = self.measured
        return {
            "analysis_s": m["analysis_s"] <= TARGET_ANALYSIS_S,
            "html_s": m["html_s"] <= TARGET_HTML_S,
            "peak_rss_mb": m["peak_rss_mb"] <= TARGET_RSS_MB,
        }


def run_analyze_bench(mitdb: Path, progress) -> AnalyzeBenchResult:
    """Build the 24-h record, run the analysis in a one-core child, return what it measured."""
    with tempfile.TemporaryDirectory(prefix="holter-bench-analyze-") as tmp:
        tmp_path = Path(tmp)
        progress(f"joining the {mitdb} records into one 24-h record ...")
        record, records = build_concatenated_mitdb(mitdb, tmp_path)
        env = dict(os.environ, NUMBA_NUM_THREADS="1", OMP_NUM_THREADS="1",
                   OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1", MPLBACKEND="Agg")
        for step in ("filling Numba's disk cache", "analysing it"):
            # twice: a fresh checkout compiles every kernel on first use (and LLVM's
            # memory would count in the peak RSS); the second child, measured, loads
            # them from the cache as a running gateway does
            progress(f"{step} in a child process pinned to one core ...")
            proc = subprocess.run(
                [sys.executable, "-c", _CHILD, str(record), str(SAMPLE), tmp],
                capture_output=True, text=True, cwd=REPO, env=env, check=False,
            )
            if proc.returncode != 0:
                raise RuntimeError(f"the analysis child failed:\n{proc.stderr[-3000:]}")
        measured = json.loads(proc.stdout.strip().splitlines()[-1])
    return AnalyzeBenchResult(n_records=len(records), measured=measured)


def analyze_text(r: AnalyzeBenchResult) -> str:
    m = r.measured
    return (
        f"{r.n_records} MIT-BIH records joined: {m['duration_s'] / 3600:.2f} h, {m['n_beats']:,} beats\n"
        f"analysis + report.json: {m['analysis_s']:.2f} s (stream {m['stream_s']:.2f} s, "
        f"after the stream {m['post_stream_s']:.2f} s); report.html {m['html_s']:.2f} s; "
        f"peak RSS {m['peak_rss_mb']:.0f} MB"
    )


def analyze_markdown(r: AnalyzeBenchResult, machine: dict, command: str) -> str:
    from benchmarks._report import _machine_lines

    m, met = r.measured, r.met
    yes = {True: "yes", False: "no"}
    return "\n".join([
        "# 24-hour analysis and report: time and peak memory",
        "",
        f"Command: `{command}`",
        "",
        f"The {r.n_records} MIT-BIH Arrhythmia records joined into one stream: "
        f"{m['duration_s'] / 3600:.2f} h, 2 leads, 360 Hz ({m['n_beats']:,} beats detected). "
        "A child process pinned to one core (Numba/BLAS/OpenMP threads 1) warms up on the "
        "bundled 30-min record 119, then runs `holter analyze`'s code on the 24-h record: "
        "streaming read (10-min chunks, as `holter analyze`), QRS detection, beat features and "
        "int8 TFLite classification, delineation and ST level per beat; then QT/QTc, rhythm, "
        "HRV/DC/HRT, ectopy, risk model and score, report.json; then report.html (matplotlib, strips read in a second pass). "
        "Peak RSS is the child's `ru_maxrss` (everything: Python, NumPy, Numba, TFLite, "
        "matplotlib).",
        "",
        "| measure | target | reached | met |",
        "|---|---|---|---|",
        f"| analysis + report.json, s | <= {TARGET_ANALYSIS_S:g} | {m['analysis_s']:.2f} | {yes[met['analysis_s']]} |",
        f"| report.html, s | <= {TARGET_HTML_S:g} | {m['html_s']:.2f} | {yes[met['html_s']]} |",
        f"| peak RSS, MB | <= {TARGET_RSS_MB:g} | {m['peak_rss_mb']:.0f} | {yes[met['peak_rss_mb']]} |",
        "",
        f"Of the analysis: {m['stream_s']:.2f} s in the streaming pass (read, detect, classify, "
        f"delineate, ST), {m['post_stream_s']:.2f} s after it (QT, rhythm, RR analysis, model, "
        f"score), the rest building report.json ({m['json_bytes'] / 1e6:.1f} MB). "
        f"report.html: {m['html_bytes'] / 1e6:.2f} MB, {m['n_strips']} strips, "
        f"{m['n_events']:,} events listed. Import of the package: {m['import_s']:.2f} s; "
        f"warm-up on 119: {m['warmup_s']:.2f} s.",
        "",
        f"Beat classes found: {', '.join(f'{k} {v:,}' for k, v in m['counts'].items())}; "
        f"risk level {m['risk_level']} (a joined stream of 47 patients, not a patient: "
        "the numbers are for timing only).",
        "",
        "## Machine",
        "",
        *_machine_lines(machine),
        "",
    ])


def analyze_json(r: AnalyzeBenchResult, machine: dict) -> dict:
    return {
        "benchmark": "analyze",
        "n_records": r.n_records,
        "targets": {"analysis_s": TARGET_ANALYSIS_S, "html_s": TARGET_HTML_S,
                    "peak_rss_mb": TARGET_RSS_MB},
        "measured": r.measured,
        "met": r.met,
        "machine": machine,
    }
