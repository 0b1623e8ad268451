"""Read and write ISHNE Holter 1.0 files, chunk by chunk.

The reader checks the header (magic, CRC-16, every field that locates or
scales the samples) before any sample is read, then reads only the rows a
chunk covers, so a 24-hour 12-lead file is analysed in memory bounded by the
chunk size. The writer streams chunks to a temporary file and moves it into
place once the header (sample count and CRC) is final.

``ecg_size``: the standard defines it as samples per lead, but some writers
store the total over all leads. The reader takes whichever of the two the
file's size confirms, records which one it was (``metadata["ecg_size_counts"]``),
and treats a header that declares more samples than the file holds as a
truncated file.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from firmware_bridge._chunk import Chunk
from firmware_bridge._exceptions import RecordFormatError, TruncatedRecordError
from firmware_bridge._ishne_header import (
    FAULT_SAMPLE,
    FIXED_HEADER_BYTES,
    LEAD_CODES,
    LEAD_NAMES_KEY,
    MAX_VAR_BLOCK_BYTES,
    PACEMAKER_CODES,
    QUALITY_CODES,
    UNKNOWN,
    IshneHeader,
    pack_ishne_header,
    parse_ishne_header,
)
from firmware_bridge._record import RecordInfo, check_record_fs, mv_factor

__all__ = ["WriteResult", "iter_ishne_chunks", "open_ishne", "read_ishne_header", "write_ishne"]

#: Resolution used when the source gives no gain (1 uV per step: +-32.7 mV).
DEFAULT_RESOLUTION_NV = 1000


@dataclass(frozen=True)
class WriteResult:
    """What a writer wrote.

    Attributes
    ----------
    path : pathlib.Path
        The file written.
    n_samples : int
        Samples per lead.
    n_clipped : int
        Samples (over all leads) outside the target's range, written at its limit.
    n_invalid : int
        Samples (over all leads) that were NaN, written as the format's
        fault value.
    """

    path: Path
    n_samples: int
    n_clipped: int
    n_invalid: int


def read_ishne_header(path: str | os.PathLike[str]) -> IshneHeader:
    """Read and check the header of an ISHNE file (see :func:`parse_ishne_header`)."""
    path = Path(path)
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(FIXED_HEADER_BYTES)
        if len(head) == FIXED_HEADER_BYTES:
            var_size = int.from_bytes(head[10:14], "little", signed=True)
            if 0 < var_size <= min(MAX_VAR_BLOCK_BYTES, size - FIXED_HEADER_BYTES):
                head += f.read(var_size)
    return parse_ishne_header(head, size, where=str(path))


def _samples_per_lead(header: IshneHeader, data_bytes: int, where: str) -> tuple[int, int, str]:
    """(samples per lead present, samples per lead declared, what ecg_size counts)."""
    n_leads = header.n_leads
    present = data_bytes // (2 * n_leads)
    declared = header.ecg_size
    if declared == 0:
        return present, present, "unset"
    if declared <= present:
        return declared, declared, "per lead"
    if n_leads > 1 and declared % n_leads == 0 and declared // n_leads <= present:
        return declared // n_leads, declared // n_leads, "all leads"
    return present, declared, "per lead"


def open_ishne(path: str | os.PathLike[str], allow_truncated: bool = False) -> RecordInfo:
    """Check an ISHNE Holter file and describe it, without reading its samples.

    Parameters
    ----------
    path : str or path-like
        The ``.ecg`` file.
    allow_truncated : bool, default False
        Accept a file that ends before the samples its header declares: the
        samples present are read, and ``samples_lost`` says how many per
        lead are missing.

    Returns
    -------
    RecordInfo
        ``metadata["ishne"]`` is the whole :class:`IshneHeader`; lead quality,
        pacemaker and ``ecg_size`` interpretation are spelled out beside it.

    Raises
    ------
    FileNotFoundError
        No such file.
    RecordFormatError
        Wrong magic, absurd header field, sampling rate outside 100-1000 Hz,
        no samples. :class:`ChecksumError` for a CRC mismatch;
        :class:`TruncatedRecordError` for a short file (unless `allow_truncated`).
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"no ISHNE file at {path}")
    header = read_ishne_header(path)
    where = str(path)
    check_record_fs(header.fs_hz, where)
    data_offset = FIXED_HEADER_BYTES + len(header.var_block)
    data_bytes = path.stat().st_size - data_offset
    n_samples, declared, counts = _samples_per_lead(header, data_bytes, where)
    lost = declared - n_samples
    if lost > 0 and not allow_truncated:
        raise TruncatedRecordError(
            f"{where}: truncated: the header declares {declared} samples per lead, the file "
            f"holds {n_samples} ({lost} samples = {lost / header.fs_hz:.1f} s per lead missing); "
            "--allow-truncated reads what is there",
            samples_read=n_samples,
            samples_missing=lost,
        )
    if n_samples <= 0:
        raise RecordFormatError(f"{where}: the record is zero-length (0 samples)")
    n_leads = header.n_leads
    trailing = data_bytes - 2 * n_leads * n_samples
    metadata = {
        "ishne": header,
        "ecg_size_counts": counts,
        "trailing_bytes": trailing if lost <= 0 else 0,
        "lead_quality": tuple(QUALITY_CODES.get(q, f"code {q}") for q in header.lead_qualities),
        "pacemaker": PACEMAKER_CODES.get(header.pacemaker_code, "unknown"),
        "resolution_nv": header.resolution_nv,
        "data_offset": data_offset,
    }
    if header.ecg_block_offset != data_offset:
        metadata["ecg_block_offset_ignored"] = header.ecg_block_offset
    return RecordInfo(
        name=path.stem,
        path=path,
        fs_hz=float(header.fs_hz),
        n_samples=n_samples,
        lead_names=header.lead_names,
        units=("mV",) * n_leads,
        format="ishne",
        adc_gain=tuple(1e6 / r for r in header.resolution_nv),
        start_time=header.start_datetime,
        patient_id=header.patient_id,
        device_id=header.recorder_type,
        samples_lost=max(lost, 0),
        metadata=metadata,
    )


def iter_ishne_chunks(
    path: str | os.PathLike[str], chunk_s: float = 60.0, allow_truncated: bool = False
) -> Iterator[Chunk]:
    """Read an ISHNE file as consecutive chunks of at most `chunk_s` seconds.

    The file is checked (:func:`open_ishne`) when this function is called.
    Samples are float64 mV (``raw * resolution_nv / 1e6``); lead-fault
    samples (-32768) are NaN.
    """
    _check_chunk_s(chunk_s)
    info = open_ishne(path, allow_truncated=allow_truncated)
    return _chunks(info, max(1, round(chunk_s * info.fs_hz)))


def _check_chunk_s(chunk_s: object) -> None:
    if not (isinstance(chunk_s, int | float) and math.isfinite(chunk_s) and chunk_s > 0):
        raise ValueError(f"`chunk_s` must be a positive number of seconds, got {chunk_s!r}")


def _chunks(info: RecordInfo, chunk_samples: int) -> Iterator[Chunk]:
    n_leads = info.n_leads
    scale_mv = np.array(info.metadata["resolution_nv"], dtype=np.float64) * 1e-6
    scale = float(scale_mv[0]) if np.all(scale_mv == scale_mv[0]) else scale_mv
    with info.path.open("rb") as f:
        f.seek(int(info.metadata["data_offset"]))
        for start in range(0, info.n_samples, chunk_samples):
            n = min(chunk_samples, info.n_samples - start)
            raw = np.fromfile(f, dtype="<i2", count=n * n_leads)
            if raw.size != n * n_leads:  # the file shrank since it was opened
                raise TruncatedRecordError(
                    f"{info.path}: the file ended at sample {start + raw.size // n_leads} "
                    f"while reading (it was {info.n_samples} samples when opened)"
                )
            raw = raw.reshape(n, n_leads)
            samples = raw.astype(np.float64)  # then scale in place: far faster than raw * scale_mv
            samples *= scale
            if raw.min() == FAULT_SAMPLE:
                samples[raw == FAULT_SAMPLE] = np.nan
            yield Chunk.of_record(info, start, samples)


def _resolution_nv(info: RecordInfo, resolution_nv: int | None) -> tuple[int, ...]:
    if resolution_nv is not None:
        return (int(resolution_nv),) * info.n_leads
    out = []
    for i in range(info.n_leads):
        gain = info.adc_gain[i] if i < len(info.adc_gain) else math.nan
        res = round(1e6 / gain) if math.isfinite(gain) and gain > 0 else DEFAULT_RESOLUTION_NV
        out.append(min(max(res, 1), 32767))
    return tuple(out)


def _lead_code(name: str) -> int:
    by_name = {v.lower(): k for k, v in LEAD_CODES.items() if k >= 2}
    return by_name.get(name.strip().lower(), 1)


def write_ishne(
    path: str | os.PathLike[str],
    info: RecordInfo,
    chunks: Iterable[Chunk],
    *,
    resolution_nv: int | None = None,
    lead_qualities: tuple[int, ...] | None = None,
    pacemaker_code: int | None = None,
    ecg_size_counts: str = "per lead",
) -> WriteResult:
    """Write `chunks` of the record `info` describes as an ISHNE Holter 1.0 file.

    Parameters
    ----------
    path : str or path-like
        Target file; written as ``<path>.partial`` and renamed when complete.
    info : RecordInfo
        The source record: sampling rate, lead names, units, gains, start
        time, patient id. Leads must be voltages.
    chunks : iterable of Chunk
        Consecutive blocks from sample 0 (any reader's output).
    resolution_nv : int, optional
        nV per step for every lead. By default each lead keeps its source gain
        (``1e6 / adc_gain`` rounded to whole nV; 1000 nV where the source has none).
    lead_qualities, pacemaker_code : optional
        Header codes; by default taken from an ISHNE source, else unknown (-9).
    ecg_size_counts : {"per lead", "all leads"}
        What ``ecg_size`` counts: the standard says per lead; "all leads"
        reproduces the writers that store the total (for tests).

    Returns
    -------
    WriteResult
        NaN samples are written as -32768 (lead fault); values beyond
        +-32767 steps are clipped and counted.

    Lead names are kept exactly in the variable-length block (a
    ``leads=MLII,V1`` line) besides the table 1 codes.
    """
    path = Path(path)
    n_leads = info.n_leads
    if not 1 <= n_leads <= 12:
        raise RecordFormatError(f"{info.name}: ISHNE holds 1-12 leads, the record has {n_leads}")
    if round(info.fs_hz) != info.fs_hz or not 1 <= info.fs_hz <= 32767:
        raise RecordFormatError(f"{info.name}: ISHNE needs a whole sampling rate in Hz, got {info.fs_hz:g}")
    if ecg_size_counts not in ("per lead", "all leads"):
        raise ValueError(f"`ecg_size_counts` must be 'per lead' or 'all leads', got {ecg_size_counts!r}")
    for unit in info.units:
        if mv_factor(unit) is None:
            raise RecordFormatError(f"{info.name}: ISHNE stores voltages only; a lead is in {unit!r}")
    res = _resolution_nv(info, resolution_nv)
    source = info.metadata.get("ishne")
    if lead_qualities is None:
        lead_qualities = source.lead_qualities if isinstance(source, IshneHeader) else (0,) * n_leads
    if pacemaker_code is None:
        pacemaker_code = source.pacemaker_code if isinstance(source, IshneHeader) else UNKNOWN
    names = ",".join(n.replace(",", ";").replace("\n", " ") for n in info.lead_names)
    start = info.start_time
    header = IshneHeader(
        var_block=f"{LEAD_NAMES_KEY}{names}\n".encode("latin-1", errors="replace"),
        ecg_size=0, var_block_offset=FIXED_HEADER_BYTES, ecg_block_offset=0, file_version=1,
        first_name="", last_name="", patient_id=info.patient_id, sex=0, race=0, birth_date=None,
        record_date=start.date() if start else None, file_date=dt.date.today(),
        start_time=start.time().replace(microsecond=0) if start else None,
        lead_specs=tuple(_lead_code(n) for n in info.lead_names),
        lead_qualities=tuple(int(q) for q in lead_qualities), resolution_nv=res,
        pacemaker_code=int(pacemaker_code), recorder_type=info.device_id or "digital",
        fs_hz=int(info.fs_hz), proprietary=f"converted from {info.format} {info.name} by holter-edge",
    )
    steps_per_mv = np.array([1e6 / r for r in res]) * np.array([mv_factor(u) for u in info.units])
    partial = path.with_name(path.name + ".partial")
    n_samples = n_clipped = n_invalid = 0
    try:
        with partial.open("wb") as f:
            f.write(pack_ishne_header(header))
            for chunk in chunks:
                if chunk.n_leads != n_leads or chunk.start_sample != n_samples:
                    raise RecordFormatError(
                        f"{info.name}: chunk of {chunk.n_leads} leads at sample {chunk.start_sample}; "
                        f"expected {n_leads} leads at sample {n_samples}"
                    )
                scaled = np.rint(chunk.samples * steps_per_mv)
                invalid = ~np.isfinite(scaled)
                n_invalid += int(invalid.sum())
                over = np.abs(np.where(invalid, 0.0, scaled)) > 32767
                n_clipped += int(over.sum())
                raw = np.clip(np.where(invalid, 0.0, scaled), -32767, 32767).astype("<i2")
                raw[invalid] = FAULT_SAMPLE
                f.write(np.ascontiguousarray(raw).tobytes())
                n_samples += chunk.n_samples
            ecg_size = n_samples * (n_leads if ecg_size_counts == "all leads" else 1)
            f.seek(0)
            f.write(pack_ishne_header(replace(header, ecg_size=ecg_size)))
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return WriteResult(path=path, n_samples=n_samples, n_clipped=n_clipped, n_invalid=n_invalid)
