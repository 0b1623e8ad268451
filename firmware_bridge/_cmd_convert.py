"""Convert a record between WFDB, EDF/EDF+ and ISHNE Holter.

IN is a WFDB record path without extension, an EDF/EDF+ file or an ISHNE file
(recognised by content). OUT's extension chooses the output format (.ecg or
.ishne: ISHNE Holter 1.0; .edf: EDF+) unless --to says. Each lead keeps its
name, unit and gain (ADC steps per mV); ISHNE keeps exact lead names in its
variable-length block, EDF+ keeps the annotations of an EDF+ source. The
record is streamed a minute at a time, so a 24-hour file needs little memory;
the output appears under its name only once it is complete.

Samples that do not fit the output (beyond +-32767 steps) are clipped and
counted; NaN samples become the format's invalid value (ISHNE -32768).

examples:
  holter convert data/sample/119 out/119.ecg
  holter convert out/119.ecg out/119.edf
  holter convert recording.edf out/recording.ecg
  holter convert damaged.ecg out/rescued.edf --allow-truncated
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from firmware_bridge._edf import write_edf
from firmware_bridge._ishne import write_ishne
from firmware_bridge._open import iter_record_chunks, open_record

__all__ = ["OUTPUT_FORMATS", "configure", "run"]

#: --to value -> writer; extensions that imply it.
OUTPUT_FORMATS = {"ishne": write_ishne, "edf": write_edf}
_BY_EXTENSION = {".ecg": "ishne", ".ishne": "ishne", ".edf": "edf"}
CHUNK_S = 60.0


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``holter convert`` arguments to `parser`."""
    parser.add_argument("source", metavar="IN", help="WFDB record (path without extension), EDF/EDF+ or ISHNE file")
    parser.add_argument("target", metavar="OUT", type=Path, help="output file (.ecg/.ishne: ISHNE, .edf: EDF+)")
    parser.add_argument("--to", choices=sorted(OUTPUT_FORMATS), help="output format (default: from OUT's extension)")
    parser.add_argument(
        "--allow-truncated", action="store_true",
        help="convert a truncated ISHNE/EDF file up to the damage (says how much was lost)",
    )


def run(args: argparse.Namespace) -> int:
    """Run ``holter convert``; returns 0 (bad input raises, exit status 2)."""
    target: Path = args.target
    fmt = args.to or _BY_EXTENSION.get(target.suffix.lower())
    if fmt is None:
        raise ValueError(f"cannot tell the output format from {target.name!r}: use .ecg, .edf or --to ishne|edf")
    info = open_record(args.source, allow_truncated=args.allow_truncated)
    if info.samples_lost:
        print(
            f"holter convert: warning: {args.source}: truncated, converting {info.n_samples} samples per lead; "
            f"{info.samples_lost} samples ({info.samples_lost / info.fs_hz:.1f} s) per lead were lost",
            file=sys.stderr,
        )
    if target.parent and not target.parent.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
    result = OUTPUT_FORMATS[fmt](target, info, iter_record_chunks(info, CHUNK_S))
    notes = []
    if result.n_clipped:
        notes.append(f"{result.n_clipped} samples clipped to the output's range")
    if result.n_invalid:
        notes.append(f"{result.n_invalid} invalid (NaN) samples marked")
    print(
        f"{info.name}: {info.format} -> {fmt}, {info.n_leads} leads ({', '.join(info.lead_names)}), "
        f"{result.n_samples} samples at {info.fs_hz:g} Hz -> {result.path}"
        + (f" ({'; '.join(notes)})" if notes else ""),
        file=sys.stderr,
    )
    return 0
