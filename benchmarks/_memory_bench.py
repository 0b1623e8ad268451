"""Memory benchmark: a streaming detector fed 24 h of ECG in 1-s chunks keeps a flat RSS.

The 24 hours are the 48 MIT-BIH records played one after the other (48 x
30 min 5.6 s = 24.07 h, both leads), read one record at a time into one
reused buffer so that the only memory that can grow is the detector's. Where
the database is missing, a few minutes of NeuroKit2 ``ecg_simulate`` looped
stand in. The kernels are compiled (or loaded) by a throwaway detector first;
the process RSS (psutil) is then sampled before the first chunk and after
every simulated hour. The first hour also pays for the reused record buffer
and wfdb's reading, so growth is measured from hour 1.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: The RSS may grow by less than this from hour 1 to hour 24 to call it flat.
FLAT_LIMIT_MB = 4.0
HOURS = 24


@dataclass(frozen=True, eq=False)
class MemoryBenchResult:
    """RSS of a detector run over simulated hours."""

    source: str
    fs_hz: float
    n_leads: int
    chunk_s: float
    hours: int
    rss_mb: tuple[float, ...]  # before the first chunk, then after each hour
    n_beats: int
    seconds: float

    @property
    def growth_mb(self) -> float:
        """RSS growth from the end of hour 1 to the end of the last hour, in MB."""
        return self.rss_mb[-1] - self.rss_mb[1]

    @property
    def flat(self) -> bool:
        """True when the growth is below :data:`FLAT_LIMIT_MB`."""
        return self.growth_mb < FLAT_LIMIT_MB


def _mitdb_source(db_dir: Path, buffer: np.ndarray) -> Callable[[int], int]:
    """Loads record k (cyclically) into ``buffer``; returns the number of samples."""
    import wfdb

    from benchmarks._qrs_bench import list_records

    names = list_records(db_dir)

    def load(k: int) -> int:
        rec = wfdb.rdrecord(str(Path(db_dir) / names[k % len(names)]), physical=False)
        n = rec.d_signal.shape[0]
        np.subtract(rec.d_signal, np.asarray(rec.baseline), out=buffer[:n], casting="unsafe")
        buffer[:n] /= np.asarray(rec.adc_gain, np.float64)
        return n

    return load


def _synthetic_source(buffer: np.ndarray, fs_hz: float) -> Callable[[int], int]:
    import neurokit2 as nk

    n = buffer.shape[0]
    ecg = nk.ecg_simulate(length=n, sampling_rate=int(fs_hz), heart_rate=70, random_state=1)
    buffer[:, :] = np.asarray(ecg)[:, None]
    return lambda k: n


def run_memory_bench(
    db_dir: Path | None,
    *,
    hours: int = HOURS,
    chunk_s: float = 1.0,
    progress: Callable[[str], None] | None = None,
) -> MemoryBenchResult:
    """Feed ``dsp.QrsDetector`` ``hours`` of 2-lead ECG in ``chunk_s`` chunks, sampling RSS.

    Parameters
    ----------
    db_dir : Path or None
        MIT-BIH folder; None uses looped synthetic ECG (NeuroKit2).
    hours : int
        Simulated hours.
    chunk_s : float
        Chunk length in seconds.
    progress : callable, optional
        Called with one line per simulated hour.
    """
    import psutil

    import dsp

    if hours < 1:
        raise ValueError(f"hours must be >= 1, got {hours}")
    fs_hz, n_leads = 360.0, 2
    buffer = np.zeros((650_000, n_leads), np.float64)
    if db_dir is not None:
        source, load = f"MIT-BIH records from {db_dir}, looped", _mitdb_source(db_dir, buffer)
    else:
        source, load = (
            "NeuroKit2 ecg_simulate (30 min at 70 bpm), looped",
            _synthetic_source(buffer, fs_hz),
        )
    chunk = int(round(chunk_s * fs_hz))
    samples_per_hour = int(round(3600 * fs_hz))
    total = hours * samples_per_hour
    proc = psutil.Process()
    warm = dsp.QrsDetector(fs_hz=fs_hz, n_leads=n_leads)  # compile / load the kernels first
    warm.feed(buffer[: int(10 * fs_hz)])
    warm.finish()
    del warm
    det = dsp.QrsDetector(fs_hz=fs_hz, n_leads=n_leads)
    gc.collect()
    rss = [proc.memory_info().rss / 2**20]
    n_beats = 0
    fed = 0
    record_k, n_in_record, pos = 0, load(0), 0
    t0 = time.perf_counter()
    while fed < total:
        next_hour = (fed // samples_per_hour + 1) * samples_per_hour
        # 1-s chunks, cut short at the end of a record and at each hour mark
        want = min(chunk, next_hour - fed, n_in_record - pos)
        n_beats += det.feed(buffer[pos : pos + want]).r_peaks.size
        pos += want
        fed += want
        if pos >= n_in_record:
            record_k += 1
            n_in_record, pos = load(record_k), 0
        if fed % samples_per_hour == 0:
            gc.collect()
            rss.append(proc.memory_info().rss / 2**20)
            if progress is not None:
                progress(
                    f"hour {fed // samples_per_hour}/{hours}: RSS {rss[-1]:.1f} MB, {n_beats} beats"
                )
    n_beats += det.finish().r_peaks.size
    return MemoryBenchResult(
        source=source,
        fs_hz=fs_hz,
        n_leads=n_leads,
        chunk_s=chunk_s,
        hours=hours,
        rss_mb=tuple(round(v, 2) for v in rss),
        n_beats=n_beats,
        seconds=time.perf_counter() - t0,
    )


def memory_text(result: MemoryBenchResult) -> str:
    """Printable summary: RSS per hour and the verdict."""
    lines = [
        f"dsp.QrsDetector, {result.n_leads} leads at {result.fs_hz:.0f} Hz, "
        f"{result.chunk_s:g}-s chunks, {result.hours} h ({result.source})",
        "hour  RSS MB",
    ]
    lines += [f"{h:4d}  {v:8.2f}" for h, v in enumerate(result.rss_mb)]
    lines.append(
        f"growth hour 1 -> {result.hours}: {result.growth_mb:+.2f} MB "
        f"({'flat' if result.flat else 'NOT flat'}: limit {FLAT_LIMIT_MB} MB); "
        f"{result.n_beats} beats in {result.seconds:.1f} s"
    )
    return "\n".join(lines)


def memory_json(result: MemoryBenchResult, machine: dict[str, object]) -> dict[str, object]:
    """The JSON document for ``benchmarks/results/memory.json``."""
    return {
        "benchmark": "memory",
        "detector": "dsp.QrsDetector",
        "source": result.source,
        "fs_hz": result.fs_hz,
        "n_leads": result.n_leads,
        "chunk_s": result.chunk_s,
        "hours": result.hours,
        "rss_mb_by_hour": list(result.rss_mb),
        "growth_mb_hour1_to_last": round(result.growth_mb, 3),
        "flat_limit_mb": FLAT_LIMIT_MB,
        "flat": result.flat,
        "n_beats": result.n_beats,
        "seconds": round(result.seconds, 2),
        "machine": machine,
    }


def memory_markdown(result: MemoryBenchResult, machine: dict[str, object], command: str) -> str:
    """The markdown report for ``benchmarks/results/memory.md``."""
    from benchmarks._report import _machine_lines, markdown_table

    rows = [[str(h), f"{v:.2f}"] for h, v in enumerate(result.rss_mb)]
    return "\n".join(
        [
            "# Memory: streaming QRS detector over 24 h",
            "",
            f"`{command}`",
            "",
            memory_text(result).splitlines()[0] + ". RSS (psutil) sampled before the first "
            "chunk (hour 0) and after each simulated hour, after a garbage collection.",
            "",
            f"**Growth from hour 1 to hour {result.hours}: {result.growth_mb:+.2f} MB — "
            f"{'flat' if result.flat else 'not flat'}** (limit {FLAT_LIMIT_MB} MB). "
            f"{result.n_beats} beats detected; wall time {result.seconds:.1f} s.",
            "",
            "## Machine",
            "",
            *_machine_lines(machine),
            "",
            "## RSS by hour",
            "",
            markdown_table(["hour", "RSS MB"], rows),
            "",
        ]
    )
