"""Receive a device's live frame stream and detect every beat in it.

--from names the source: tcp://HOST:PORT (listen there for one device
connection; 'holter simulate-device RECORD --to tcp://HOST:PORT' is such a
device), serial:///dev/ttyUSB0?baud=115200 (needs pyserial), '-' (standard
input) or a file of frames. Damaged bytes never stop the stream: frames with a
bad CRC are dropped, lost frames are reported as gaps (filled as unusable,
never stitched over), duplicates are dropped. At the end of the stream a
summary is printed; with --out-dir the beats are written as a WFDB
annotation file DIR/device-<id>.hol, as 'holter detect' does.

examples:
  holter listen --from tcp://127.0.0.1:9000 --out-dir out/
  holter simulate-device data/sample/119 --to - --speed 0 --drop 0.01 | holter listen --from -
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from edge._annotations import write_hol
from edge._live import detect_frames
from firmware_bridge import Gap, Restart, iter_frames, open_source

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``holter listen`` arguments to `parser`."""
    parser.add_argument("--from", dest="source", required=True, metavar="URL",
                        help="tcp://HOST:PORT, serial:///dev/PORT?baud=N, - (stdin) or a frame file")
    parser.add_argument("--out-dir", type=Path, metavar="DIR", help="write DIR/device-<id>.hol")
    parser.add_argument("--timeout", type=float, default=None, metavar="S",
                        help="give up when no device connects within S seconds (TCP)")
    parser.add_argument("--quiet", action="store_true", help="do not report each gap on stderr")


def run(args: argparse.Namespace) -> int:
    """Run ``holter listen``; returns 0."""
    source = open_source(args.source, accept_timeout_s=args.timeout)
    if hasattr(source, "port"):
        print(f"holter listen: waiting for a device on port {source.port}", file=sys.stderr, flush=True)

    def report(item: object) -> None:
        if args.quiet:
            return
        if isinstance(item, Gap):
            print(f"gap: device {item.device_id} frames {item.first_missing_seq}-{item.next_seq - 1} lost "
                  f"({item.missing_samples} samples per lead)", file=sys.stderr, flush=True)
        elif isinstance(item, Restart):
            print(f"restart: device {item.device_id} sequence {item.expected_seq} -> {item.seq}",
                  file=sys.stderr, flush=True)

    live = detect_frames(iter_frames(source), on_item=report)
    beats = live.beats
    info = beats.record
    line = (
        f"{info.name}: {live.frames} frames, {info.n_samples} samples per lead at {info.fs_hz:g} Hz "
        f"({info.duration_s:.1f} s), {live.missing_frames} frames lost in {len(live.gaps)} gaps, "
        f"{live.duplicates} duplicates, {live.skipped_bytes} bytes skipped; {beats.n_beats} beats"
        + ("" if live.ended else "; no end-of-stream frame (the link closed early)")
    )
    if args.out_dir is not None:
        args.out_dir.mkdir(parents=True, exist_ok=True)
        line += f" -> {write_hol(beats, args.out_dir)}"
    print(line, flush=True)
    return 0
