"""Analyse a whole recording and write the 24-hour report (report.json + report.html).

RECORD is a WFDB record path without extension (e.g. data/sample/119), an
EDF/EDF+ file or an ISHNE Holter file. It is streamed once, in bounded memory:
beats are detected, labelled (N, S, V, F, Q) and delineated, the rhythm is
analysed (AF, VT, bigeminy, pauses ...), ST level and QT are measured where
this version can, and HRV, deceleration capacity, heart-rate turbulence,
ectopy and the explainable risk score are computed. Writes into DIR:

  report.json   every measurement, event and risk factor; documented by its
                JSON Schema (edge/report.schema.json, docs/report.md)
  report.html   the report for a cardiologist, one self-contained file
                (opens from disk, no network): trends, tachogram, ectopy
                per hour, risk factor table, an ECG strip of the worst
                example of each event type

The risk score supports a physician and does not diagnose.

examples:
  holter analyze data/sample/119 --report out/119
  holter analyze patient7.ecg --report out/patient7 --sex female
  holter analyze patient7.ecg --report out/patient7 --json-only
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from edge._progress import Progress

__all__ = ["configure", "run"]

#: Seconds of signal read from disk at a time: 10 minutes (2 leads at 360 Hz:
#: 3.5 MB as float64) costs far less per chunk in the reader and in the window
#: margins than 60 s; the results do not depend on it.
CHUNK_S = 600.0


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``holter analyze`` arguments to `parser`."""
    parser.add_argument(
        "record", metavar="RECORD",
        help="WFDB record path without extension, EDF/EDF+ file or ISHNE Holter file",
    )
    parser.add_argument(
        "--report", required=True, type=Path, metavar="DIR",
        help="folder for report.json and report.html (created if missing)",
    )
    parser.add_argument(
        "--sex", choices=("female", "male"), default=None,
        help="for the sex-specific QTc cut-off (default: unknown, the lower cut-off)",
    )
    parser.add_argument("--no-model", action="store_true", help="do not run the risk model")
    parser.add_argument("--json-only", action="store_true", help="write report.json only")
    parser.add_argument(
        "--allow-truncated", action="store_true",
        help="analyse a truncated ISHNE/EDF file up to the damage",
    )


def _writable_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)  # OSError -> one line, exit 2 (dispatcher)
    if not path.is_dir():
        raise NotADirectoryError(f"--report {path} is not a folder")
    probe = path / ".holter-write-test"
    try:
        probe.write_bytes(b"")
    finally:
        probe.unlink(missing_ok=True)
    return path


def run(args: argparse.Namespace) -> int:
    """Run ``holter analyze``; returns the exit status (0; bad input raises to the dispatcher)."""
    from edge._analyze import analyze_record
    from edge._report_json import write_report_files

    out_dir = _writable_dir(args.report)  # fail before a long analysis, not after
    progress = Progress(sys.stderr)
    name = Path(args.record).name
    progress.start(f"analyse {name}")
    t0 = time.perf_counter()
    try:
        analysis = analyze_record(
            args.record, chunk_s=CHUNK_S, sex=args.sex, run_model=not args.no_model,
            on_progress=progress.update, allow_truncated=args.allow_truncated,
        )
    finally:
        progress.clear()
    written = write_report_files(analysis, out_dir, html=not args.json_only)
    rec = analysis.record
    progress.done(
        f"holter analyze: {rec.name}: {analysis.beats.n_beats} beats in "
        f"{rec.duration_s / 3600:.2f} h, risk level {analysis.score.level} -> "
        f"{', '.join(str(p) for p in written)} ({time.perf_counter() - t0:.2f} s)"
    )
    return 0
