"""Replay a record as a live Holter device sending frames (docs/frame_protocol.md).

The record (WFDB, EDF/EDF+ or ISHNE) is cut into frames of --frame-s seconds
and sent to --to: tcp://HOST:PORT (connects to a gateway listening there, e.g.
'holter listen --from tcp://127.0.0.1:PORT'), '-' (standard output) or a file.
--speed 1 sends in real time, 10 ten times faster, 0 as fast as the link takes.
--drop and --corrupt lose or damage that fraction of frames (seeded by --seed,
so a run can be repeated); the frames hit are listed on stderr at the end.
The last frame is an empty end-of-stream frame, always sent intact.

examples:
  holter simulate-device data/sample/119 --to tcp://127.0.0.1:9000 --speed 10
  holter simulate-device data/sample/119 --to - --speed 0 --drop 0.01 --corrupt 0.01 | holter listen --from -
"""

from __future__ import annotations

import argparse
import sys
import time

from firmware_bridge._open import iter_record_chunks, open_record
from firmware_bridge._simulate import Impairment, device_frames
from firmware_bridge._transport import open_sink

__all__ = ["configure", "run"]


def _rate(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be a fraction in 0-1, got {text}")
    return value


def _speed(text: str) -> float:
    value = float(text)
    if not value >= 0.0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``holter simulate-device`` arguments to `parser`."""
    parser.add_argument("record", metavar="RECORD", help="WFDB record (path without extension), EDF/EDF+ or ISHNE file")
    parser.add_argument("--to", required=True, metavar="URL", help="tcp://HOST:PORT, - (stdout) or a file")
    parser.add_argument("--speed", type=_speed, default=1.0, help="x real time (default 1; 0: as fast as possible)")
    parser.add_argument("--corrupt", type=_rate, default=0.0, metavar="RATE", help="fraction of frames damaged")
    parser.add_argument("--drop", type=_rate, default=0.0, metavar="RATE", help="fraction of frames not sent")
    parser.add_argument("--seed", type=int, default=0, help="random seed for --drop/--corrupt (default 0)")
    parser.add_argument("--frame-s", type=float, default=0.25, help="seconds per frame (default 0.25)")
    parser.add_argument("--device-id", type=int, default=1, help="device id in the frames (default 1)")


def run(args: argparse.Namespace) -> int:
    """Run ``holter simulate-device``; returns 0."""
    info = open_record(args.record)
    impairment = Impairment(drop_rate=args.drop, corrupt_rate=args.corrupt, seed=args.seed)
    frames = device_frames(info, iter_record_chunks(info), frame_s=args.frame_s, device_id=args.device_id)
    sent = n_bytes = 0
    t0 = time.monotonic()
    with open_sink(args.to) as sink:
        for raw in impairment.apply(frames):
            sink.write(raw)
            sent += 1
            n_bytes += len(raw)
            if args.speed > 0:
                due = t0 + (sent * args.frame_s) / args.speed
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
    lost = impairment.lost
    print(
        f"{info.name}: sent {sent} frames ({n_bytes} bytes) as device {args.device_id}; "
        f"dropped {len(impairment.dropped)}, corrupted {len(impairment.corrupted)}"
        + (f" (seq {', '.join(map(str, lost[:20]))}{' ...' if len(lost) > 20 else ''})" if lost else ""),
        file=sys.stderr,
    )
    return 0
