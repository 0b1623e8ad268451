"""A live recording kept on disk as it arrives, and the 24-hour report when it ends.

:class:`RecordingArchive` appends each block of a device's ECG to a WFDB
record (format 16: interleaved little-endian int16, 1 µV a step, the invalid
value -32768 for NaN), so the whole recording is on the gateway's disk for
the report and for a cardiologist who wants the full ECG. Until it is closed
its header gives no length (WFDB readers take it from the file size), so a
gateway killed mid-recording leaves a readable record; :meth:`close` writes
the final header, with the length and the start time, atomically.

:func:`write_report` runs the whole-record analysis (``holter analyze``) on a
finished recording and writes ``report.json`` and ``report.html`` into a
folder of their own.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
from pathlib import Path

import numpy as np

__all__ = ["RecordingArchive", "prune_recordings", "write_report"]

#: Steps per mV of the archived samples (1 µV, as the strips).
UNITS_PER_MV = 1000
#: WFDB's invalid sample value in format 16.
_INVALID = -32768


def _lead_label(name: str) -> str:
    """A lead name as the last field of a WFDB signal line (no spaces or line breaks)."""
    return re.sub(r"\s+", "_", name.strip()) or "ECG"


class RecordingArchive:
    """One device session written as a WFDB record while it streams.

    Parameters
    ----------
    folder : path-like
        Where ``<name>.hea`` and ``<name>.dat`` go (created if missing).
    name : str
        Record name (letters, digits, ``_`` and ``-``).
    fs_hz : float
    lead_names : sequence of str
    start_ms : int
        UTC epoch milliseconds of the first sample.
    """

    def __init__(self, folder: str | os.PathLike[str], name: str, fs_hz: float,
                 lead_names: tuple[str, ...], start_ms: int) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", name):
            raise ValueError(f"record name must be 1-64 of A-Za-z0-9_-, got {name!r}")
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.fs_hz = float(fs_hz)
        self.lead_names = tuple(_lead_label(n) for n in lead_names)
        self.start_ms = int(start_ms)
        self.n_samples = 0
        self.closed = False
        self._write_header(with_length=False)
        self._dat = open(self.path.with_suffix(".dat"), "wb")  # noqa: SIM115 - open until close()

    @property
    def path(self) -> Path:
        """The record path without extension (what WFDB readers and ``holter analyze`` take)."""
        return self.folder / self.name

    def _write_header(self, with_length: bool) -> None:
        n = len(self.lead_names)
        first = f"{self.name} {n} {self.fs_hz:g}"
        if with_length:
            start = dt.datetime.fromtimestamp(self.start_ms / 1000.0, tz=dt.UTC)
            first += (f" {self.n_samples} {start:%H:%M:%S}.{start.microsecond // 1000:03d}"
                      f" {start:%d/%m/%Y}")
        lines = [first] + [
            f"{self.name}.dat 16 {UNITS_PER_MV}(0)/mV 16 0 0 0 0 {lead}" for lead in self.lead_names
        ]
        tmp = self.path.with_suffix(".hea.partial")
        tmp.write_text("\n".join(lines) + "\n")
        os.replace(tmp, self.path.with_suffix(".hea"))

    def append(self, block_mv: np.ndarray) -> None:
        """Add the next samples, shape (n, n_leads) in mV (NaN: invalid)."""
        if self.closed:
            raise ValueError(f"{self.name}: append() after close()")
        x = np.asarray(block_mv, dtype=np.float64).reshape(-1, len(self.lead_names))
        steps = np.clip(np.round(x * UNITS_PER_MV), _INVALID + 1, 32767)
        ints = np.where(np.isfinite(x), steps, _INVALID).astype("<i2")
        self._dat.write(ints.tobytes())
        self.n_samples += x.shape[0]

    def close(self) -> Path:
        """Flush the samples, write the final header; returns the record path."""
        if not self.closed:
            self._dat.close()
            self._write_header(with_length=True)
            self.closed = True
        return self.path


def prune_recordings(folder: str | os.PathLike[str], max_bytes: int,
                     keep: tuple[Path, ...] = ()) -> list[Path]:
    """Delete the oldest recordings under `folder` until they hold at most `max_bytes`.

    A recording is a ``.hea`` with its ``.dat`` (any depth below `folder`); the
    ones in `keep` (record paths without extension: those being written) are
    never deleted. Returns the record paths deleted, oldest first.
    """
    keep_set = {Path(k).with_suffix("") for k in keep}
    found = []
    for hea in Path(folder).rglob("*.hea"):
        dat = hea.with_suffix(".dat")
        try:
            size = hea.stat().st_size + (dat.stat().st_size if dat.exists() else 0)
            found.append((dat.stat().st_mtime if dat.exists() else hea.stat().st_mtime,
                          hea.with_suffix(""), size))
        except OSError:  # deleted meanwhile
            continue
    total = sum(size for _, _, size in found)
    deleted = []
    for _, record, size in sorted(found):
        if total <= max_bytes:
            break
        if record in keep_set:
            continue
        for suffix in (".dat", ".hea"):
            with contextlib.suppress(FileNotFoundError):
                record.with_suffix(suffix).unlink()
        total -= size
        deleted.append(record)
    return deleted


def write_report(record_path: str | os.PathLike[str], out_dir: str | os.PathLike[str]) -> Path:
    """The 24-hour report of a finished recording: ``report.json`` and ``report.html`` in `out_dir`.

    The same analysis and files as ``holter analyze RECORD --report DIR``.
    Returns the folder; raises what the reader or the analysis raise.
    """
    from edge._analyze import analyze_record
    from edge._report_json import write_report_files

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_report_files(analyze_record(record_path), out)
    return out
