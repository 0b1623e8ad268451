"""Read WFDB records (``.hea`` header + signal files) chunk by chunk.

Only the part of the signal file that a chunk covers is read, so a 24-hour
record is analysed in memory bounded by the chunk size.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import wfdb

from firmware_bridge._chunk import Chunk
from firmware_bridge._exceptions import RecordFormatError
from firmware_bridge._record import MAX_FS_HZ, MIN_FS_HZ, RecordInfo, check_record_fs
from firmware_bridge._record import TO_MV as _TO_MV
from firmware_bridge._wfdb_kernel import decode_212

__all__ = ["MAX_FS_HZ", "MIN_FS_HZ", "iter_wfdb_chunks", "open_wfdb"]

#: The sampling frequencies the analysis supports (Hz, inclusive).

#: Suffixes a user may leave on a record path (``119.hea`` means record ``119``).
_RECORD_SUFFIXES = (".hea", ".dat")


def _record_path(path: str | os.PathLike[str]) -> Path:
    record = Path(path).expanduser()
    if record.suffix.lower() in _RECORD_SUFFIXES:
        record = record.with_suffix("")
    return record


def _infer_n_samples(header: wfdb.Record, directory: Path) -> int:
    """Samples per lead from the size of the first signal file (header without a length)."""
    from wfdb.io import _signal  # private helper; only needed for such headers

    file_name = header.file_name[0]
    in_file = [i for i, f in enumerate(header.file_name) if f == file_name]
    frame = int(sum(header.samps_per_frame[i] for i in in_file))
    offset = (header.byte_offset or [0])[0] or 0
    return int(_signal._infer_sig_len(file_name, header.fmt[0], frame, offset, str(directory)))


def open_wfdb(path: str | os.PathLike[str]) -> RecordInfo:
    """Check a WFDB record and describe it, without reading its samples.

    Parameters
    ----------
    path : str or path-like
        Record path without extension (``data/sample/119``); a trailing
        ``.hea`` or ``.dat`` is accepted and ignored.

    Returns
    -------
    RecordInfo

    Raises
    ------
    FileNotFoundError
        The header or a signal file it names does not exist (the message names it).
    RecordFormatError
        The header cannot be parsed, the record has no signals or no samples,
        or its sampling frequency is outside 100-1000 Hz.

    Examples
    --------
    >>> info = open_wfdb("data/sample/119")  # doctest: +SKIP
    >>> info.fs_hz, info.n_samples, info.lead_names  # doctest: +SKIP
    (360.0, 650000, ('MLII', 'V1'))
    """
    record = _record_path(path)
    hea = record.with_name(record.name + ".hea")
    if not hea.is_file():
        raise FileNotFoundError(f"no WFDB record at {record} (header {hea} not found)")
    try:
        header = wfdb.rdheader(str(record))
    except Exception as exc:  # wfdb raises many types for a bad header
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise RecordFormatError(f"unreadable WFDB header {hea}: {reason}") from exc
    if isinstance(header, wfdb.MultiRecord):
        raise RecordFormatError(f"{hea}: multi-segment WFDB records are not supported yet")
    n_leads = int(header.n_sig or 0)
    if n_leads == 0:
        raise RecordFormatError(f"{hea}: the record has no signals (an annotation-only record?)")
    fs_hz = float(header.fs) if header.fs is not None else math.nan
    check_record_fs(fs_hz, hea)
    for file_name in dict.fromkeys(header.file_name):
        signal_file = record.parent / file_name
        if not signal_file.is_file():
            raise FileNotFoundError(f"{hea}: signal file {signal_file} not found")
    n_samples = header.sig_len
    if n_samples is None:
        try:
            n_samples = _infer_n_samples(header, record.parent)
        except Exception as exc:
            raise RecordFormatError(
                f"{hea}: the header gives no length and it cannot be inferred ({exc})"
            ) from exc
    if n_samples <= 0:
        raise RecordFormatError(f"{hea}: the record is zero-length (0 samples)")
    names = tuple(
        str(name) if name else f"signal {i}" for i, name in enumerate(header.sig_name or [None] * n_leads)
    )
    units = tuple(
        "mV" if str(unit or "mV").lower() in _TO_MV else str(unit)
        for unit in (header.units or ["mV"] * n_leads)
    )
    factors = [_TO_MV.get(str(u or "mV").lower(), 1.0) for u in (header.units or ["mV"] * n_leads)]
    gains = tuple(
        float(g) / f if g else math.nan
        for g, f in zip(header.adc_gain or [math.nan] * n_leads, factors, strict=False)
    )
    start_time = None
    if header.base_date is not None and header.base_time is not None:
        start_time = dt.datetime.combine(header.base_date, header.base_time)
    return RecordInfo(
        name=record.name,
        path=record,
        fs_hz=fs_hz,
        n_samples=int(n_samples),
        lead_names=names,
        units=units,
        format="wfdb",
        adc_gain=gains,
        start_time=start_time,
        metadata={"baseline": tuple(int(b) for b in (header.baseline or [0] * n_leads))},
    )


def iter_wfdb_chunks(path: str | os.PathLike[str], chunk_s: float = 60.0) -> Iterator[Chunk]:
    """Read a WFDB record as consecutive chunks of at most `chunk_s` seconds.

    The record is checked (:func:`open_wfdb`) when this function is called,
    so a bad record raises here rather than at the first ``next()``.

    Parameters
    ----------
    path : str or path-like
        Record path without extension.
    chunk_s : float, default 60.0
        Chunk length in seconds (the last chunk may be shorter). Memory use is
        proportional to it, not to the record's length.

    Yields
    ------
    Chunk
        float64 samples in physical units (mV for ECG leads); invalid samples
        are NaN. Concatenated, the chunks equal ``wfdb.rdrecord(path).p_signal``.

    Raises
    ------
    FileNotFoundError, RecordFormatError
        As :func:`open_wfdb`.
    ValueError
        `chunk_s` is not a positive number.
    """
    if not (isinstance(chunk_s, int | float) and math.isfinite(chunk_s) and chunk_s > 0):
        raise ValueError(f"`chunk_s` must be a positive number of seconds, got {chunk_s!r}")
    info = open_wfdb(path)
    chunk_samples = max(1, round(chunk_s * info.fs_hz))
    return _chunks(info, chunk_samples)


def _read(info: RecordInfo, start: int | None, stop: int | None) -> np.ndarray | None:
    hea = info.path.with_name(info.name + ".hea")
    try:
        if start is None:
            return wfdb.rdrecord(str(info.path), physical=True).p_signal
        return wfdb.rdrecord(str(info.path), sampfrom=start, sampto=stop, physical=True).p_signal
    except OSError:
        raise
    except Exception as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise RecordFormatError(f"{hea}: cannot read samples {start}-{stop}: {reason}") from exc


#: WFDB's invalid-sample value of each format the direct reader decodes.
_INVALID = {"16": -32768, "212": -2048}


def _direct_reader(info: RecordInfo, header: wfdb.Record):
    """``read(start, stop)`` decoding the signal file with NumPy, or None.

    Only for the common layout: every signal in one file, format 212 or 16,
    one sample per frame, no skew or byte offset, non-zero gains. It gives
    exactly what ``wfdb.rdrecord(..., physical=True)`` gives ((digital -
    baseline) / gain, NaN for the invalid value) many times faster (format
    212 through the Numba kernel :func:`firmware_bridge._wfdb_kernel.decode_212`);
    anything else (or a file shorter than asked) goes through wfdb.
    """
    fmts, files = set(header.fmt or ()), set(header.file_name or ())
    if len(files) != 1 or len(fmts) != 1 or not fmts <= set(_INVALID):
        return None
    if any(v not in (None, 0) for v in (header.skew or [])) or any(
            v not in (None, 0) for v in (header.byte_offset or [])):
        return None
    if any(v not in (None, 1) for v in (header.samps_per_frame or [])):
        return None
    gain = np.asarray(header.adc_gain, dtype=np.float64)
    baseline = np.asarray(header.baseline, dtype=np.float64)
    if gain.size != info.n_leads or baseline.size != info.n_leads or np.any(gain == 0):
        return None
    fmt = fmts.pop()
    path = info.path.parent / files.pop()
    n_sig, invalid = info.n_leads, _INVALID[fmt]

    def read(start: int, stop: int) -> np.ndarray | None:
        first, count = start * n_sig, (stop - start) * n_sig
        if fmt == "16":
            d = np.fromfile(path, dtype="<i2", count=count, offset=2 * first)
            if d.size != count:
                return None
        else:  # 212: two 12-bit samples in 3 bytes (low byte, high nibbles, low byte)
            skip = first % 2
            n_pairs = (count + skip + 1) // 2
            raw = np.fromfile(path, dtype=np.uint8, count=3 * n_pairs, offset=3 * (first // 2))
            if raw.size != 3 * n_pairs:
                # the last pair of an odd-length file may be short: wfdb reads it
                return None
            x = np.empty((stop - start, n_sig))
            decode_212(raw, skip, baseline, gain, invalid, x)  # one pass (NumPy took seven)
            return x
        d = d.reshape(-1, n_sig)
        x = (d - baseline) / gain
        x[d == invalid] = np.nan
        return x

    return read


def _chunks(info: RecordInfo, chunk_samples: int) -> Iterator[Chunk]:
    header = wfdb.rdheader(str(info.path))
    direct = _direct_reader(info, header) if header.sig_len is not None else None
    units = header.units or ["mV"] * info.n_leads
    factors = np.array([_TO_MV.get(str(u or "mV").lower(), 1.0) for u in units])
    hea = info.path.with_name(info.name + ".hea")
    # A header without a length cannot be read by sample range with wfdb: such
    # (rare) records are read whole, once, and sliced.
    whole = _read(info, None, None) if header.sig_len is None else None
    for start in range(0, info.n_samples, chunk_samples):
        stop = min(start + chunk_samples, info.n_samples)
        samples = direct(start, stop) if direct is not None else None
        if samples is None:
            samples = _read(info, start, stop) if whole is None else whole[start:stop]
        if samples is None or samples.shape != (stop - start, info.n_leads):
            got = None if samples is None else samples.shape
            raise RecordFormatError(
                f"{hea}: samples {start}-{stop} read as shape {got}; the signal file is "
                f"shorter than the {info.n_samples} samples the header gives"
            )
        if np.any(factors != 1.0):
            samples = samples * factors
        yield Chunk.of_record(info, start, samples)
