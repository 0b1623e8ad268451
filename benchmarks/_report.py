"""Benchmark reports: text tables, the machine description, markdown and JSON files."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

import numpy as np

from benchmarks._ec57 import STAT_NAMES, Ec57Stats, GrossScore, RecordScore
from benchmarks._qrs_bench import ColdStart, DetectorRun, QrsBenchResult

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "hardware", "processor\t: arm")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024**2, 1)
    except (OSError, ValueError, IndexError):
        pass
    return None


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def machine_description() -> dict[str, object]:
    """CPU, cores, RAM, Python and library versions, date and git commit."""
    commit = _git("rev-parse", "HEAD")
    dirty = _git(
        "status", "--porcelain", "--", "dsp", "benchmarks/_ec57.py", "benchmarks/_qrs_bench.py"
    )
    return {
        "cpu": _cpu_model(),
        "machine": platform.machine(),
        "cores": os.cpu_count(),
        "ram_gb": _ram_gb(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "numpy": _version("numpy"),
        "scipy": _version("scipy"),
        "numba": _version("numba"),
        "wfdb": _version("wfdb"),
        "neurokit2": _version("neurokit2"),
        "load_avg_1_5_15": [round(v, 2) for v in os.getloadavg()]
        if hasattr(os, "getloadavg")
        else None,
        "date_utc": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "git_commit": commit,
        "git_dirty": bool(dirty) if dirty is not None else None,
    }


def _fmt_pct(value: float, digits: int = 2) -> str:
    return "-" if np.isnan(value) else f"{value:.{digits}f}"


def _counts_row(name: str, s: Ec57Stats) -> list[str]:
    return [
        name,
        str(s.qrs_tp + s.qrs_fn),
        str(s.qrs_tp),
        str(s.qrs_fn),
        str(s.qrs_fp),
        _fmt_pct(s.qrs_se_pct),
        _fmt_pct(s.qrs_ppv_pct),
    ]


_RECORD_HEADER = ["record", "beats", "TP", "FN", "FP", "Se %", "+P %"]


def record_table_rows(scores: tuple[RecordScore, ...], gross: GrossScore) -> list[list[str]]:
    """Per-record QRS rows, then the gross and the average lines."""
    rows = [_counts_row(s.record, s.stats) for s in scores]
    rows.append(_counts_row("Gross", gross.gross))
    rows.append(
        ["Average", "", "", "", ""]
        + [_fmt_pct(gross.average["qrs_se_pct"]), _fmt_pct(gross.average["qrs_ppv_pct"])]
    )
    return rows


def text_table(header: list[str], rows: list[list[str]]) -> str:
    """A fixed-width table: first column left-aligned, the others right-aligned."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(r: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )

    return "\n".join([line(header), "  ".join("-" * w for w in widths), *(line(r) for r in rows)])


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """A GitHub markdown table."""
    out = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] * len(header)) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


_SUMMARY_HEADER = [
    "detector",
    "leads",
    "Se %",
    "+P %",
    "FN",
    "FP",
    "seconds",
    "x real time",
    "vs NeuroKit2",
]


def summary_rows(result: QrsBenchResult) -> list[list[str]]:
    """One line per detector: gross accuracy and speed."""
    nk = result.runs.get("neurokit2")
    rows = []
    for run in result.runs.values():
        g = run.gross.gross
        speedup = f"{nk.seconds / run.seconds:.1f}x" if nk and run.seconds > 0 else "-"
        rows.append(
            [
                run.spec.label,
                run.spec.leads,
                _fmt_pct(g.qrs_se_pct),
                _fmt_pct(g.qrs_ppv_pct),
                str(g.qrs_fn),
                str(g.qrs_fp),
                f"{run.seconds:.3f}",
                f"{run.x_real_time:,.0f}",
                speedup,
            ]
        )
    return rows


def format_qrs_text(result: QrsBenchResult) -> str:
    """What ``holter bench qrs`` prints: per-record tables, then the side-by-side summary."""
    parts = []
    for run in result.runs.values():
        parts.append(f"{run.spec.label}: {result.db_name}, {len(result.records)} records")
        parts.append(text_table(_RECORD_HEADER, record_table_rows(run.scores, run.gross)))
        parts.append("")
    parts.append(
        f"Gross QRS statistics and speed ({len(result.records)} records, "
        f"{result.signal_s / 3600:.2f} h of ECG per lead, EC57: {result.window_s * 1000:.0f} ms "
        f"window, scoring from {result.start_s / 60:.0f} min)"
    )
    parts.append(text_table(_SUMMARY_HEADER, summary_rows(result)))
    return "\n".join(parts)


def _run_json(run: DetectorRun) -> dict[str, object]:
    return {
        "label": run.spec.label,
        "leads": run.spec.leads,
        "peer": run.spec.peer,
        "seconds": round(run.seconds, 6),
        "x_real_time": round(run.x_real_time, 1),
        "gross": run.gross.gross.as_dict(),
        "average": {
            k: (None if np.isnan(v) else round(v, 4)) for k, v in run.gross.average.items()
        },
        "records": {
            s.record: {**s.stats.as_dict(), "ignored_in_vf": s.n_ignored_in_vf} for s in run.scores
        },
    }


def qrs_result_json(
    result: QrsBenchResult, cold: ColdStart | None, machine: dict[str, object]
) -> dict[str, object]:
    """The JSON document for ``benchmarks/results/qrs_<db>.json``."""
    nk = result.runs.get("neurokit2")
    speed = {
        key: {
            "seconds": round(run.seconds, 6),
            "x_real_time": round(run.x_real_time, 1),
            "speedup_vs_neurokit2": round(nk.seconds / run.seconds, 2)
            if nk and run.seconds
            else None,
            "leads": run.spec.leads,
        }
        for key, run in result.runs.items()
    }
    return {
        "benchmark": "qrs",
        "database": result.db_name,
        "records": list(result.records),
        "ecg_hours_per_lead": round(result.signal_s / 3600, 4),
        "scoring": {
            "rules": "WFDB bxb (EC57:1998): one-to-one, nearest first, |dt| <= window",
            "window_s": result.window_s,
            "start_s": result.start_s,
            "statistics": list(STAT_NAMES),
        },
        "machine": machine,
        "speed": speed,
        "warmup_call_s": {k: round(v, 4) for k, v in result.warmup_s.items()},
        "cold_start": None if cold is None else {k: round(v, 4) for k, v in cold.__dict__.items()},
        "detectors": {key: _run_json(run) for key, run in result.runs.items()},
    }


def _machine_lines(machine: dict[str, object]) -> list[str]:
    return [
        f"- CPU: {machine['cpu']} ({machine['machine']}), {machine['cores']} logical cores, "
        f"{machine['ram_gb']} GB RAM; {machine['os']}; load average (1, 5, 15 min) "
        f"{machine.get('load_avg_1_5_15')} when the report was written (the machine is shared: "
        "compare detectors within one run, not across runs)",
        f"- Python {machine['python']}, numpy {machine['numpy']}, scipy {machine['scipy']}, "
        f"numba {machine['numba']}, wfdb {machine['wfdb']}, neurokit2 {machine['neurokit2']}",
        f"- Date {machine['date_utc']}, git commit {machine['git_commit']}"
        + (" (uncommitted changes in the measured code)" if machine.get("git_dirty") else ""),
    ]


def qrs_result_markdown(
    result: QrsBenchResult, cold: ColdStart | None, machine: dict[str, object], command: str
) -> str:
    """The markdown report for ``benchmarks/results/qrs_<db>.md``."""
    lines = [
        f"# QRS detection on {result.db_name}: EC57 beat-by-beat statistics and speed",
        "",
        f"`{command}`",
        "",
        f"{len(result.records)} records, {result.signal_s / 3600:.2f} h of ECG per lead. "
        f"Scoring as WFDB `bxb` (ANSI/AAMI EC57:1998): one-to-one matching within "
        f"{result.window_s * 1000:.0f} ms, nearest first, from {result.start_s / 60:.0f} min "
        "into each record; reference beats in VF (`[`..`]`) are not scored. Gross = counts "
        "summed over records; Average = mean of per-record values. Every detector ran on the "
        "same records in the same process, one core, after one warm-up call (our Numba "
        "kernels compiled or loaded from the on-disk cache); times exclude reading the records.",
        "",
        "## Machine",
        "",
        *_machine_lines(machine),
        "",
        "## Summary",
        "",
        markdown_table(_SUMMARY_HEADER, summary_rows(result)),
        "",
    ]
    if cold is not None:
        lines += [
            "## Cold start of `dsp.detect_qrs` (fresh process, 10 s of 2-lead ECG)",
            "",
            markdown_table(
                [
                    "import dsp",
                    "first call, no Numba cache",
                    "first call, cache on disk",
                    "second call",
                ],
                [
                    [
                        f"{cold.import_s:.3f} s",
                        f"{cold.first_call_no_cache_s:.3f} s",
                        f"{cold.first_call_cached_s:.3f} s",
                        f"{cold.second_call_s * 1000:.2f} ms",
                    ]
                ],
            ),
            "",
        ]
    for run in result.runs.values():
        lines += [
            f"## {run.spec.label}",
            "",
            markdown_table(_RECORD_HEADER, record_table_rows(run.scores, run.gross)),
            "",
        ]
    return "\n".join(lines)


def write_report(
    out_dir: Path, stem: str, markdown: str, document: dict[str, object]
) -> list[Path]:
    """Write ``<stem>.md`` and ``<stem>.json`` into ``out_dir``; returns the paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    md_path, json_path = out_dir / f"{stem}.md", out_dir / f"{stem}.json"
    md_path.write_text(markdown if markdown.endswith("\n") else markdown + "\n")
    json_path.write_text(json.dumps(document, indent=2, allow_nan=False) + "\n")
    return [md_path, json_path]
