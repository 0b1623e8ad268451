"""Other clinic formats (SCP-ECG, DICOM waveform, HL7 aECG, MFER, GE MUSE and
Philips XML, ...) through the optional ``ecgdatakit`` package.

Install with ``pip install 'holter-edge[formats]'``. ecgdatakit parses a whole
file at once: these formats hold resting ECGs of seconds to minutes, not 24-hour
recordings, so the record is kept in memory and cut into chunks. Leads are
converted to mV where the file gives a scale; those at another sampling rate
than the first lead are left out (listed in ``metadata["skipped_leads"]``).
Warnings ecgdatakit raises while parsing are kept in ``metadata["warnings"]``.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from firmware_bridge._chunk import Chunk
from firmware_bridge._exceptions import RecordFormatError
from firmware_bridge._record import RecordInfo, check_record_fs, mv_factor

__all__ = ["ecgdatakit_available", "ecgdatakit_format", "iter_ecgdatakit_chunks", "open_ecgdatakit"]


def ecgdatakit_available() -> bool:
    """True when the optional ``ecgdatakit`` package can be imported."""
    try:
        import ecgdatakit  # noqa: F401
    except ImportError:
        return False
    return True


def ecgdatakit_format(path: str | os.PathLike[str]) -> str | None:
    """The format name ecgdatakit recognises in `path` by content, or None
    (also None when ecgdatakit is not installed)."""
    if not ecgdatakit_available():
        return None
    from ecgdatakit import FileParser

    try:
        found = FileParser.detect_format(Path(path))
    except (OSError, ValueError):
        return None
    return None if found is None else str(found["name"])


def open_ecgdatakit(path: str | os.PathLike[str]) -> RecordInfo:
    """Parse a file with ecgdatakit and describe it (the parsed leads are kept
    in ``metadata["leads_mv"]`` for :func:`iter_ecgdatakit_chunks`).

    Raises
    ------
    RecordFormatError
        ecgdatakit is missing, does not recognise the file, or cannot decode it;
        or the leads' sampling rate is outside 100-1000 Hz.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"no file at {path}")
    if not ecgdatakit_available():
        raise RecordFormatError(
            f"{path}: reading this format needs the optional ecgdatakit package "
            "(pip install 'holter-edge[formats]')"
        )
    from ecgdatakit import ECGDataKitError, FileParser

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            record = FileParser.parse(path, auto_scale=True, units="mV")
        except (ECGDataKitError, ValueError, ImportError) as exc:
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise RecordFormatError(f"{path}: ecgdatakit cannot read it: {reason}") from exc
    leads = [lead for lead in record.leads if len(lead.samples)]
    if not leads:
        raise RecordFormatError(f"{path}: the record is zero-length (0 samples)")
    fs_hz = float(leads[0].sampling_rate)
    check_record_fs(fs_hz, path)
    kept = [lead for lead in leads if float(lead.sampling_rate) == fs_hz]
    n_samples = min(len(lead.samples) for lead in kept)
    units, gains, columns = [], [], []
    for lead in kept:
        unit = lead.units or ("counts" if lead.is_raw else "mV")
        factor = mv_factor(unit) if not lead.is_raw else None
        x = np.asarray(lead.samples[:n_samples], dtype=np.float64)
        columns.append(x * factor if factor else x)
        units.append("mV" if factor else unit)
        res_mv = (lead.resolution * (mv_factor(lead.resolution_unit) or math.nan)) if lead.resolution_unit else math.nan
        gains.append(1.0 / res_mv if res_mv and math.isfinite(res_mv) else math.nan)
    start = record.recording.date if hasattr(record.recording, "date") else None
    name = record.file_format.name or "unknown"
    return RecordInfo(
        name=path.stem,
        path=path,
        fs_hz=fs_hz,
        n_samples=int(n_samples),
        lead_names=tuple(lead.label for lead in kept),
        units=tuple(units),
        format=f"ecgdatakit:{name}",
        adc_gain=tuple(gains),
        start_time=start,
        patient_id=str(getattr(record.patient, "patient_id", "") or ""),
        metadata={
            "leads_mv": np.ascontiguousarray(np.column_stack(columns)),
            "skipped_leads": tuple(lead.label for lead in leads if lead not in kept),
            "warnings": tuple(str(w.message) for w in caught),
            "source_format": record.source_format,
        },
    )


def iter_ecgdatakit_chunks(path: str | os.PathLike[str], chunk_s: float = 60.0) -> Iterator[Chunk]:
    """Chunks of a file read through ecgdatakit (see :func:`open_ecgdatakit`)."""
    from firmware_bridge._ishne import _check_chunk_s

    _check_chunk_s(chunk_s)
    info = open_ecgdatakit(path)
    return chunks_of(info, max(1, round(chunk_s * info.fs_hz)))


def chunks_of(info: RecordInfo, chunk_samples: int) -> Iterator[Chunk]:
    """Cut the parsed leads of `info` into chunks."""
    signal = info.metadata["leads_mv"]
    for start in range(0, info.n_samples, chunk_samples):
        yield Chunk.of_record(info, start, signal[start : start + chunk_samples])
