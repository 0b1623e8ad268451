"""Detect every beat in records and write WFDB annotation files.

For each RECORD (a WFDB record path without extension, e.g. data/sample/119,
an EDF/EDF+ file or an ISHNE Holter file; the format is recognised by content),
writes DIR/<record name>.hol: a beat annotation at each R peak labelled by the
beat classifier (N normal, A supraventricular ectopic, V ventricular ectopic,
F fusion, Q unclassifiable: beats in unusable signal), '+' rhythm annotations
where the rhythm changes, with aux notes as in the MIT-BIH Arrhythmia Database
('(N', '(AFIB', '(VT', '(IVR', '(SVTA', '(B' bigeminy, '(T' trigeminy,
'(PAUSE', '(SBR' bradycardia, '(TACH' tachycardia), and '~' annotations around
stretches where no lead is usable (subtype -1 at the start, 0 when the signal
is clean again); noise never starts a rhythm. Read it with
wfdb.rdann(path, "hol").

Records are processed one after the other, each streamed through the detector
in bounded memory. A record that cannot be read is reported in one line and
skipped; the others are still written, and the exit status is then 2.

examples:
  holter detect data/sample/119 --out-dir out/
  holter detect $HOLTER_PHYSIONET_DIR/mitdb/1?? --out-dir out/mitdb
  holter detect patient7.ecg patient8.edf --out-dir out/
  holter detect damaged.ecg --allow-truncated --out-dir out/
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from edge._annotations import write_hol
from edge._exceptions import one_line
from edge._labels import BeatLabeller
from edge._progress import Progress
from edge._stream import detect_record

__all__ = ["configure", "run"]

EXIT_OK = 0
EXIT_BAD_INPUT = 2
#: Seconds of signal read from disk at a time.
CHUNK_S = 60.0


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``holter detect`` arguments to `parser`."""
    parser.add_argument(
        "records",
        nargs="+",
        metavar="RECORD",
        help="WFDB record path without extension (a trailing .hea is accepted), "
        "EDF/EDF+ file or ISHNE Holter file",
    )
    parser.add_argument(
        "--allow-truncated",
        action="store_true",
        help="analyse a truncated ISHNE/EDF file up to the damage (says how much was lost)",
    )
    parser.add_argument(
        "--out-dir",
        required=True,
        type=Path,
        metavar="DIR",
        help="folder for the .hol annotation files (created if missing)",
    )


def _duration(seconds: float) -> str:
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _record_name(record: str) -> str:
    """The output name: a WFDB record's name, or a file's name without its extension."""
    path = Path(record)
    if path.suffix.lower() in (".hea", ".dat", ".ecg", ".edf", ".bdf", ".ishne"):
        return path.stem
    return path.name


def run(args: argparse.Namespace) -> int:
    """Run ``holter detect``; returns the exit status (0, or 2 if any record was bad)."""
    out_dir: Path = args.out_dir
    out_dir.mkdir(parents=True, exist_ok=True)  # OSError -> one line, exit 2 (dispatcher)
    progress = Progress(sys.stderr)
    status = EXIT_OK
    written: dict[str, str] = {}
    for record in args.records:
        name = _record_name(record)
        if name in written:
            print(
                f"holter detect: error: {record}: another record named {name!r} "
                f"({written[name]}) already wrote {out_dir / (name + '.hol')}; skipped",
                file=sys.stderr,
            )
            status = EXIT_BAD_INPUT
            continue
        progress.start(name)
        t0 = time.perf_counter()
        try:
            labeller = BeatLabeller()
            beats = detect_record(
                record, chunk_s=CHUNK_S, on_progress=progress.update,
                allow_truncated=args.allow_truncated, on_block=labeller,
            )
            labelled = labeller.finish(beats.r_peaks, beats.unusable)
            target = write_hol(
                beats, out_dir, labelled.symbols, labelled.rhythm_annotations()
            )
        except (ValueError, OSError) as exc:
            progress.clear()
            print(f"holter detect: error: {one_line(exc)}", file=sys.stderr, flush=True)
            status = EXIT_BAD_INPUT
            continue
        written[name] = record
        unusable = (
            f", {_duration(beats.unusable_s)} unusable" if beats.unusable.shape[0] else ""
        )
        lost = beats.record.samples_lost
        if lost:
            print(
                f"holter detect: warning: {record}: truncated, read {beats.record.n_samples} "
                f"samples per lead; {lost} samples ({_duration(lost / beats.record.fs_hz)}) "
                "per lead were lost",
                file=sys.stderr,
                flush=True,
            )
        progress.done(
            f"{name}: {beats.n_beats} beats in {_duration(beats.record.duration_s)} "
            f"of ECG{unusable} -> {target} ({time.perf_counter() - t0:.2f} s)"
        )
    return status
