"""firmware_bridge speed: frame parsing + decoding throughput, and what reading
a 24-hour 3-lead ISHNE file adds to its analysis.

Frames: the bundled record 119 (2 leads, plus their sum as a third) is
encoded as a device would send it (delta-compressed where it fits) at several
frame lengths, then fed to one :class:`FrameParser` in 64 KiB blocks (what a
TCP read returns); best of 3 runs, one thread. Samples/s counts every lead.

ISHNE: 119's three leads tiled to 24 h and written with ``write_ishne``
(187 MB). ``holter detect``'s path (``edge.detect_record``: read 60-s chunks,
feed the streaming detector) is timed, and so is reading the same chunks
alone; overhead = read / (total - read). The file is read once beforehand, so
both runs read from the page cache.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample" / "119"
FRAME_S = (0.1, 0.25, 0.5, 1.0)
TARGET_SAMPLES_PER_S = 20e6
TARGET_OVERHEAD = 0.10
BLOCK_BYTES = 65536


@dataclass(frozen=True)
class FrameSpeed:
    frame_s: float
    samples_per_frame: int
    bytes_per_sample: float
    seconds: float
    samples_per_s: float


@dataclass(frozen=True)
class BridgeBenchResult:
    frames: tuple[FrameSpeed, ...]
    ishne_hours: float
    ishne_mb: float
    read_s: float
    total_s: float
    n_beats: int

    @property
    def overhead(self) -> float:
        return self.read_s / (self.total_s - self.read_s)


def _three_leads() -> tuple[np.ndarray, object]:
    from firmware_bridge import iter_record_chunks, open_record

    info = open_record(SAMPLE)
    x = np.concatenate([c.samples for c in iter_record_chunks(info, 600.0)])
    return np.column_stack([x, x[:, 0] + x[:, 1]]), info


def frame_speed(x_mv: np.ndarray, fs_hz: int, frame_s: float) -> FrameSpeed:
    from firmware_bridge import FrameEncoder, FrameParser

    raw = np.clip(np.rint(x_mv * 200), -32767, 32767).astype(np.int16)
    n = round(frame_s * fs_hz)
    enc = FrameEncoder(1, fs_hz, 5000)
    data = b"".join(enc.encode(raw[k : k + n]) for k in range(0, raw.shape[0], n))
    best = float("inf")
    for _ in range(3):
        parser = FrameParser()
        t0 = time.perf_counter()
        got = 0
        for k in range(0, len(data), BLOCK_BYTES):
            for item in parser.feed(data[k : k + BLOCK_BYTES]):
                got += item.samples.size
        best = min(best, time.perf_counter() - t0)
    assert got == raw.size, (got, raw.size)
    return FrameSpeed(frame_s, n * raw.shape[1], len(data) / raw.size, best, raw.size / best)


def ishne_overhead(x_mv: np.ndarray, info: object, hours: float, progress: Callable[[str], None]) -> tuple:
    from edge import detect_record
    from firmware_bridge import Chunk, iter_chunks, write_ishne

    n_total = int(hours * 3600 * info.fs_hz)
    names = ("MLII", "V1", "MLII+V1")

    def tiles():
        start = 0
        while start < n_total:
            block = x_mv[: min(x_mv.shape[0], n_total - start)]
            yield Chunk("tiled", info.fs_hz, names, ("mV",) * 3, start, block)
            start += block.shape[0]

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "tiled24h.ecg"
        target = type(info)(name="tiled24h", path=path, fs_hz=info.fs_hz, n_samples=n_total,
                            lead_names=names, units=("mV",) * 3, adc_gain=(200.0,) * 3)
        progress(f"writing a {hours:g}-h 3-lead ISHNE file ...")
        write_ishne(path, target, tiles())
        size_mb = path.stat().st_size / 1e6
        for _ in iter_chunks(path):  # into the page cache
            pass
        detect_record(SAMPLE, chunk_s=10.0)  # load the detector's kernels
        progress("reading it alone ...")
        t0 = time.perf_counter()
        for _ in iter_chunks(path, chunk_s=60.0):
            pass
        read_s = time.perf_counter() - t0
        progress("reading and analysing it (holter detect's path) ...")
        t0 = time.perf_counter()
        beats = detect_record(path, chunk_s=60.0)
        total_s = time.perf_counter() - t0
    return size_mb, read_s, total_s, beats.n_beats


def run_bridge_bench(hours: float = 24.0, progress: Callable[[str], None] = print) -> BridgeBenchResult:
    """Run both measurements."""
    x, info = _three_leads()
    speeds = []
    for frame_s in FRAME_S:
        progress(f"frames of {frame_s:g} s ...")
        speeds.append(frame_speed(x, int(info.fs_hz), frame_s))
    size_mb, read_s, total_s, n_beats = ishne_overhead(x, info, hours, progress)
    return BridgeBenchResult(tuple(speeds), hours, size_mb, read_s, total_s, n_beats)


def bridge_text(r: BridgeBenchResult) -> str:
    from benchmarks._report import text_table

    return "\n".join([
        "Frame parsing + decoding (3 leads, 360 Hz, one parser, 64 KiB reads)",
        text_table(*_frame_table(r)),
        "",
        f"{r.ishne_hours:g}-h 3-lead ISHNE ({r.ishne_mb:.0f} MB): read {r.read_s:.2f} s, read + analyse "
        f"{r.total_s:.2f} s ({r.n_beats} beats): reading adds {100 * r.overhead:.1f} % "
        f"(target < {100 * TARGET_OVERHEAD:.0f} %)",
    ])


def _frame_table(r: BridgeBenchResult) -> tuple[list[str], list[list[str]]]:
    header = ["frame", "samples/frame", "bytes/sample", "M samples/s", f">= {TARGET_SAMPLES_PER_S / 1e6:.0f} M"]
    rows = [[f"{f.frame_s:g} s", str(f.samples_per_frame), f"{f.bytes_per_sample:.2f}",
             f"{f.samples_per_s / 1e6:.1f}", "yes" if f.samples_per_s >= TARGET_SAMPLES_PER_S else "no"]
            for f in r.frames]
    return header, rows


def bridge_json(r: BridgeBenchResult, machine: dict[str, object]) -> dict[str, object]:
    return {
        "benchmark": "bridge",
        "machine": machine,
        "frames": [f.__dict__ for f in r.frames],
        "target_samples_per_s": TARGET_SAMPLES_PER_S,
        "ishne": {"hours": r.ishne_hours, "leads": 3, "fs_hz": 360, "mb": round(r.ishne_mb, 1),
                  "read_s": round(r.read_s, 3), "read_and_analyse_s": round(r.total_s, 3),
                  "overhead": round(r.overhead, 4), "target_overhead": TARGET_OVERHEAD, "beats": r.n_beats},
    }


def bridge_markdown(r: BridgeBenchResult, machine: dict[str, object], command: str) -> str:
    from benchmarks._report import _machine_lines, markdown_table

    return "\n".join([
        "# firmware_bridge: frame parsing speed and ISHNE reading overhead", "", f"`{command}`", "",
        (__doc__ or "").split("\n\n", 1)[1].strip(), "", "## Machine", "", *_machine_lines(machine), "",
        "## Frame parsing + decoding", "", markdown_table(*_frame_table(r)), "",
        "## Reading a 24-hour 3-lead ISHNE file for analysis", "",
        markdown_table(["file", "read alone", "read + analyse", "reading adds", "target"],
                       [[f"{r.ishne_hours:g} h, 3 leads, 360 Hz, {r.ishne_mb:.0f} MB", f"{r.read_s:.2f} s",
                         f"{r.total_s:.2f} s", f"{100 * r.overhead:.1f} %", f"< {100 * TARGET_OVERHEAD:.0f} %"]]),
        "",
    ])
