"""Run the whole loop on a bundled record: device -> gateway -> MQTT -> aggregator -> dashboard.

1. The record (default: MIT-BIH Arrhythmia Database record 203, bundled in
   data/sample/: atrial fibrillation, ventricular runs, pauses) is streamed
   through the beat detector, and a beat and heart-rate summary is printed,
   compared with the cardiologists' reference annotations (.atr).
2. The loop: a broker starts (a private Mosquitto if installed, else the
   embedded Python broker amqtt; --broker uses yours), the gateway listens for
   devices, a simulated device replays the record (--speed, default as fast as
   the gateway takes it), every alert is printed as it arrives, the aggregator
   ('holter cloud worker') stores them in SQLite (--data-dir), and the
   dashboard ('holter cloud serve') starts: its URL and a one-time login are
   printed; --serve S keeps it up for S seconds.

Exits 0 once the replay has ended, the gateway's outbox is empty and the
aggregator has stored every alert. --no-loop prints the beat summary only.

examples:
  holter demo
  holter demo --speed 20 --serve 600
  holter demo --record mitdb/207 --broker mqtt://127.0.0.1:1883
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import wfdb

from edge._annotations import BEAT_SYMBOLS
from edge._stream import RecordBeats, detect_record, stream_chunks
from firmware_bridge import iter_record_chunks, open_record

__all__ = ["SAMPLE_RECORD", "configure", "heart_rate_summary", "run"]

#: The bundled sample (a source checkout or an editable install finds it here).
SAMPLE_RECORD = Path(__file__).resolve().parents[1] / "data" / "sample" / "203"
#: Beats per running mean for the minimum and maximum heart rate.
RUNNING_BEATS = 10
#: Seconds fed to the detector at a time (a live device's block).
FEED_S = 1.0
#: Seconds of the record analysed once before the timed run, to load the kernels.
WARM_UP_S = 10.0


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``holter demo`` arguments to `parser`."""
    parser.add_argument(
        "--record",
        type=Path,
        default=None,
        metavar="PATH",
        help="WFDB record path without extension, EDF/EDF+ or ISHNE file (default: the "
        "bundled sample, MIT-BIH record 203)",
    )
    parser.add_argument("--speed", type=float, default=0.0, metavar="X",
                        help="replay at X times real time (default 0: as fast as the gateway takes it)")
    parser.add_argument("--broker", metavar="mqtt://HOST:PORT",
                        help="use this broker instead of starting one")
    parser.add_argument("--data-dir", type=Path, default=Path("holter-demo"), metavar="DIR",
                        help="where the outbox, broker files and the cloud store go (default ./holter-demo)")
    parser.add_argument("--serve", type=float, default=0.0, metavar="S",
                        help="keep the dashboard up for S seconds at the end (default 0)")
    parser.add_argument("--no-loop", action="store_true",
                        help="print the beat summary only (no broker, gateway or aggregator)")


def _usable_rr(beats: RecordBeats) -> tuple[np.ndarray, np.ndarray]:
    """RR intervals (s) that span no unusable stretch, and the sample each starts at."""
    r = beats.r_peaks
    if r.size < 2:
        return np.empty(0), np.empty(0, dtype=np.int64)
    starts, ends = r[:-1], r[1:]
    keep = np.ones(starts.size, dtype=bool)
    if beats.unusable.shape[0]:
        s0, s1 = beats.unusable[:, 0], beats.unusable[:, 1]
        last = np.searchsorted(s0, ends, side="left") - 1  # last stretch starting before the beat
        keep = ~((last >= 0) & (s1[np.maximum(last, 0)] > starts))
    rr_s = (ends - starts)[keep] / beats.record.fs_hz
    return rr_s, starts[keep]


def heart_rate_summary(beats: RecordBeats) -> dict[str, float]:
    """Mean, minimum and maximum heart rate (bpm) and the longest RR interval (s).

    RR intervals that span an unusable stretch are left out (beats there are
    missing, not absent). The minimum and maximum are taken over running means
    of ``RUNNING_BEATS`` consecutive RR intervals, so one extra or missed beat
    does not set them. Values are NaN when there are too few beats.
    """
    rr_s, rr_start = _usable_rr(beats)
    nan = float("nan")
    if rr_s.size == 0:
        return {"mean_bpm": nan, "min_bpm": nan, "max_bpm": nan, "longest_rr_s": nan, "longest_rr_at_s": nan}
    width = min(RUNNING_BEATS, rr_s.size)
    running_rr_s = np.convolve(rr_s, np.ones(width) / width, mode="valid")
    longest = int(np.argmax(rr_s))
    return {
        "mean_bpm": 60.0 / float(np.mean(rr_s)),
        "min_bpm": 60.0 / float(np.max(running_rr_s)),
        "max_bpm": 60.0 / float(np.min(running_rr_s)),
        "longest_rr_s": float(rr_s[longest]),
        "longest_rr_at_s": float(rr_start[longest]) / beats.record.fs_hz,
    }


def _clock(seconds: float) -> str:
    total = int(seconds)
    return f"{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes:02d} min {secs:02d} s"
    return f"{minutes} min {secs:02d} s"


def _reference_beats(record_path: Path) -> int | None:
    """Beats in the record's reference annotations (``.atr``), or None without them."""
    atr = record_path.with_name(record_path.name + ".atr")
    if not atr.is_file():
        return None
    ann = wfdb.rdann(str(record_path), "atr")
    return sum(symbol in BEAT_SYMBOLS for symbol in ann.symbol)


def _warm_up(record_path: Path) -> float:
    """Load (or compile, on the very first run) the detector's kernels on a
    few seconds of the record; returns the seconds it took."""
    t0 = time.perf_counter()
    record = open_record(record_path)
    first = next(iter_record_chunks(record, chunk_s=WARM_UP_S))
    stream_chunks([first], record)
    return time.perf_counter() - t0


def run(args: argparse.Namespace) -> int:
    """Run ``holter demo``; returns 0."""
    record_path: Path = args.record if args.record is not None else SAMPLE_RECORD
    if args.record is None and not SAMPLE_RECORD.with_suffix(".hea").is_file():
        raise FileNotFoundError(
            f"the bundled sample record is not at {SAMPLE_RECORD} (install from a source "
            "checkout with 'pip install -e .', or pass --record PATH)"
        )
    startup_s = _warm_up(record_path)
    t0 = time.perf_counter()
    beats = detect_record(record_path, feed_s=FEED_S)
    elapsed_s = time.perf_counter() - t0
    info = beats.record
    hr = heart_rate_summary(beats)
    reference = _reference_beats(info.path)
    label = f"{info.name} (bundled sample: MIT-BIH Arrhythmia Database)" if args.record is None else str(info.path)

    lines = [
        f"Holter demo: replaying {info.name} as a live device, {FEED_S:g} s at a time, "
        "through the streaming beat detector",
        "",
        f"  record        {label}",
        f"  duration      {_duration(info.duration_s)} "
        f"({info.n_samples:,} samples at {info.fs_hz:g} Hz, fed in {beats.n_chunks:,} chunks)",
        f"  leads         {', '.join(info.lead_names)}",
        f"  beats         {beats.n_beats:,} detected",
    ]
    if reference is not None:
        diff = beats.n_beats - reference
        pct = 100.0 * diff / reference if reference else float("nan")
        lines.append(
            f"  reference     {reference:,} beats in the cardiologists' annotations (.atr): "
            f"{diff:+,d} ({pct:+.1f} %)"
        )
    if np.isnan(hr["mean_bpm"]):
        lines.append("  heart rate    not enough beats to measure")
    else:
        lines += [
            f"  heart rate    mean {hr['mean_bpm']:.0f} bpm, min {hr['min_bpm']:.0f} bpm, "
            f"max {hr['max_bpm']:.0f} bpm (min/max over {RUNNING_BEATS}-beat running means)",
            f"  longest RR    {hr['longest_rr_s']:.2f} s at {_clock(hr['longest_rr_at_s'])}",
        ]
    unusable_pct = 100.0 * beats.unusable_s / info.duration_s
    lines += [
        f"  unusable      {unusable_pct:.1f} % of the time "
        f"({beats.unusable.shape[0]} stretch{'es' if beats.unusable.shape[0] != 1 else ''} "
        "with no usable lead)",
        f"  analysed in   {elapsed_s:.2f} s ({info.duration_s / max(elapsed_s, 1e-9):,.0f}x real time), "
        f"after {startup_s:.2f} s of start-up (compiled code is cached on disk)",
    ]
    print("\n".join(lines))
    sys.stdout.flush()
    if args.no_loop:
        return 0
    if args.speed < 0:
        raise ValueError(f"--speed must be >= 0, got {args.speed}")
    if args.broker is not None and not args.broker.startswith("mqtt://"):
        raise ValueError(f"--broker must be mqtt://HOST:PORT, got {args.broker!r}")
    return _loop(args, record_path)


def _loop(args: argparse.Namespace, record_path: Path) -> int:
    from edge._demo_loop import run_loop

    print("\nThe loop: simulated device -> gateway -> MQTT -> aggregator -> dashboard", flush=True)
    result = run_loop(record_path, args.speed, args.broker, args.data_dir.resolve(),
                      serve_s=args.serve, echo=lambda line: print(line, flush=True))
    unique = {a.id: a for a in result.alerts_received}
    by_type: dict[str, int] = {}
    for alert in unique.values():
        by_type[alert.type.value] = by_type.get(alert.type.value, 0) + 1
    lines = [
        "",
        f"  broker        {result.broker}",
        f"  gateway       {result.alerts_sent} alerts (each with a 10 s ECG strip) and "
        f"{result.summaries_sent} summaries sent; outbox empty",
        f"  received      {len(unique)} alerts: "
        + (", ".join(f"{n} {t}" for t, n in sorted(by_type.items())) or "none"),
    ]
    if result.report is not None:
        lines.append(f"  report        {result.report} (the recording's 24-hour report, and report.json)")
    if result.stored is None:
        lines.append("  aggregator    skipped (the embedded broker has no MQTT 5 shared subscriptions)")
    else:
        lines.append(f"  aggregator    {result.stored} alerts stored in {args.data_dir / 'cloud.sqlite3'}")
    if result.dashboard:
        lines.append(f"  dashboard     {result.dashboard} (user {result.login[0]}, password "
                     f"{result.login[1]}; up while the demo runs: --serve S keeps it)")
        lines.append(f"                later: HOLTER_CLOUD_SESSION_KEY=<64 hex> holter cloud serve "
                     f"--db sqlite:///{(args.data_dir / 'cloud.sqlite3').resolve()}")
    lines.append(f"  loop took     {result.seconds:.1f} s")
    print("\n".join(lines), flush=True)
    return 0
