"""Read and write EDF / EDF+ (and BDF / BDF+) files through pyedflib, chunk by chunk.

pyedflib (EDFlib) reads a signal by sample range, so only the rows a chunk
covers are read. EDF+ annotations (TALs) are kept in ``RecordInfo.annotations``.

Conventions of this module, on reading any EDF file:

- the signals read are those at the sampling rate of the first voltage
  signal (others, such as a 1 Hz temperature, are listed in
  ``metadata["skipped_signals"]``);
- a digital value outside ``[digital_min, digital_max]`` is invalid: NaN;
- rows of the last data record that are invalid in every signal are
  padding and are not counted in ``n_samples``.

The writer fills the last data record with such invalid values, so a record
of any length reads back with its exact length.
"""

from __future__ import annotations

import contextlib
import math
import os
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from firmware_bridge._chunk import Chunk
from firmware_bridge._exceptions import RecordFormatError, TruncatedRecordError
from firmware_bridge._ishne import WriteResult
from firmware_bridge._record import Annotation, RecordInfo, check_record_fs, mv_factor

__all__ = ["iter_edf_chunks", "open_edf", "write_edf"]

_FILETYPES = {0: "edf", 1: "edf+", 2: "bdf", 3: "bdf+"}
#: Digital range the writer uses for samples; -32768 marks an invalid sample.
_DIG_MAX = 32767
_INVALID = -32768


def _import_pyedflib():  # noqa: ANN202 - module object
    import pyedflib

    return pyedflib


def _reader(path: Path):  # noqa: ANN202
    pyedflib = _import_pyedflib()
    try:
        return pyedflib.EdfReader(str(path))
    except OSError as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        if "not exist" in reason.lower():
            raise FileNotFoundError(f"no EDF file at {path}") from exc
        raise RecordFormatError(f"{path}: unreadable EDF/EDF+ file: {reason}") from exc


def _signals(reader, path: Path) -> tuple[list[int], list[int]]:  # noqa: ANN001
    """(signals kept, signals skipped) by the sampling-rate rule above."""
    n = reader.signals_in_file
    if n == 0:
        raise RecordFormatError(f"{path}: the EDF file has no signals")
    rates = [float(reader.getSampleFrequency(i)) for i in range(n)]
    voltage = [i for i in range(n) if mv_factor(reader.getPhysicalDimension(i)) is not None]
    fs_hz = rates[voltage[0]] if voltage else rates[0]
    kept = [i for i in range(n) if rates[i] == fs_hz]
    return kept, [i for i in range(n) if i not in kept]


def open_edf(path: str | os.PathLike[str], allow_truncated: bool = False) -> RecordInfo:
    """Check an EDF/EDF+/BDF file and describe it, without reading its samples.

    Raises
    ------
    FileNotFoundError
        No such file.
    RecordFormatError
        pyedflib cannot parse the header, no signal, sampling rate outside
        100-1000 Hz, zero length.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"no EDF file at {path}")
    expected = _expected_size(path)
    actual = path.stat().st_size
    if expected is not None and actual < expected and not allow_truncated:
        raise TruncatedRecordError(
            f"{path}: truncated: the header declares {expected} bytes, the file holds {actual}; "
            "--allow-truncated reads the complete data records"
        )
    reader = _reader(path)
    try:
        kept, skipped = _signals(reader, path)
        fs_hz = float(reader.getSampleFrequency(kept[0]))
        check_record_fs(fs_hz, path)
        n_samples = int(min(reader.getNSamples()[i] for i in kept))
        spr = int(round(fs_hz * reader.datarecord_duration))
        if n_samples > 0 and spr > 0:
            n_samples -= _padding_rows(reader, kept, n_samples, min(spr, n_samples))
        if n_samples <= 0:
            raise RecordFormatError(f"{path}: the record is zero-length (0 samples)")
        gains, units = [], []
        for i in kept:
            unit = reader.getPhysicalDimension(i).strip()
            factor = mv_factor(unit)
            span_dig = reader.getDigitalMaximum(i) - reader.getDigitalMinimum(i)
            span_phys = reader.getPhysicalMaximum(i) - reader.getPhysicalMinimum(i)
            gain = span_dig / span_phys if span_phys else math.nan
            gains.append(gain / factor if factor else gain)
            units.append("mV" if factor else unit)
        onsets, durations, texts = reader.readAnnotations()
        annotations = tuple(
            Annotation(float(o), float(d) if d >= 0 else math.nan, str(t))
            for o, d, t in zip(onsets, durations, texts, strict=True)
        )
        return RecordInfo(
            name=path.stem,
            path=path,
            fs_hz=fs_hz,
            n_samples=n_samples,
            lead_names=tuple(reader.getLabel(i).strip() or f"signal {i}" for i in kept),
            units=tuple(units),
            format=_FILETYPES.get(reader.filetype, "edf"),
            adc_gain=tuple(gains),
            start_time=reader.getStartdatetime(),
            patient_id=reader.getPatientCode().strip(),
            device_id=reader.getEquipment().strip(),
            annotations=annotations,
            samples_lost=0,
            metadata={
                "signals": tuple(kept),
                "skipped_signals": tuple(reader.getLabel(i).strip() for i in skipped),
                "datarecord_duration_s": float(reader.datarecord_duration),
                "patient_name": reader.getPatientName().strip(),
            },
        )
    finally:
        reader.close()


def _expected_size(path: Path) -> int | None:
    """Header bytes + records x record bytes, from the fixed EDF header (None if unparsable)."""
    try:
        with path.open("rb") as f:
            head = f.read(256)
            n_signals = int(head[252:256])
            n_records = int(head[236:244])
            f.seek(256 + 216 * n_signals)
            spr = [int(f.read(8)) for _ in range(n_signals)]
    except (ValueError, OSError):
        return None
    width = 3 if head[:1] == b"\xff" else 2
    if n_records < 0:
        return None
    return 256 * (n_signals + 1) + n_records * width * sum(spr)


def _padding_rows(reader, kept: list[int], n_samples: int, tail: int) -> int:  # noqa: ANN001
    """Rows at the end of the last data record invalid in every kept signal."""
    invalid = np.ones(tail, dtype=bool)
    for i in kept:
        d = reader.readSignal(i, n_samples - tail, tail, digital=True)
        invalid &= (d < reader.getDigitalMinimum(i)) | (d > reader.getDigitalMaximum(i))
    valid = np.flatnonzero(~invalid)
    return tail if valid.size == 0 else tail - 1 - int(valid[-1])


def iter_edf_chunks(
    path: str | os.PathLike[str], chunk_s: float = 60.0, allow_truncated: bool = False
) -> Iterator[Chunk]:
    """Read an EDF/EDF+ file as consecutive chunks of at most `chunk_s` seconds
    (float64, physical units, voltages in mV, invalid samples NaN)."""
    from firmware_bridge._ishne import _check_chunk_s

    _check_chunk_s(chunk_s)
    info = open_edf(path, allow_truncated=allow_truncated)
    return _chunks(info, max(1, round(chunk_s * info.fs_hz)))


def _chunks(info: RecordInfo, chunk_samples: int) -> Iterator[Chunk]:
    reader = _reader(info.path)
    try:
        kept = list(info.metadata["signals"])
        dig_min = np.array([reader.getDigitalMinimum(i) for i in kept], dtype=np.float64)
        dig_max = np.array([reader.getDigitalMaximum(i) for i in kept], dtype=np.float64)
        phys_min = np.array([reader.getPhysicalMinimum(i) for i in kept], dtype=np.float64)
        phys_max = np.array([reader.getPhysicalMaximum(i) for i in kept], dtype=np.float64)
        factor = np.array([mv_factor(reader.getPhysicalDimension(i)) or 1.0 for i in kept])
        scale = (phys_max - phys_min) / (dig_max - dig_min) * factor
        for start in range(0, info.n_samples, chunk_samples):
            n = min(chunk_samples, info.n_samples - start)
            digital = np.empty((n, len(kept)), dtype=np.float64)
            for col, i in enumerate(kept):
                digital[:, col] = reader.readSignal(i, start, n, digital=True)
            samples = (digital - dig_min) * scale + phys_min * factor
            samples[(digital < dig_min) | (digital > dig_max)] = np.nan
            yield Chunk.of_record(info, start, samples)
    finally:
        reader.close()


def _edf_number(value: float) -> str:
    """`value` in at most 8 characters (the EDF field width), rounded toward zero."""
    for digits in range(8, -1, -1):
        text = f"{value:.{digits}f}".rstrip("0").rstrip(".")
        if len(text) <= 8:
            if abs(float(text)) > abs(value):
                text = f"{math.copysign(math.floor(abs(value) * 10**digits) / 10**digits, value):.{digits}f}"
                text = text.rstrip("0").rstrip(".")
            return text
    raise RecordFormatError(f"the physical range {value:g} does not fit an EDF header field")


def _mark_padding(path: Path, n_leads: int, spr: int, n_valid: int) -> None:
    """Overwrite the padding rows of the last data record with -32768.

    EDFlib clips what it writes to the digital range, so the invalid value
    is patched into the closed file: signals 0..n_leads-1 come first in each
    data record, the EDF+ annotation signal last.
    """
    with path.open("r+b") as f:
        head = f.read(256)
        n_signals, n_records = int(head[252:256]), int(head[236:244])
        f.seek(256 + 216 * n_signals)
        spr_all = [int(f.read(8)) for _ in range(n_signals)]
        record_bytes = 2 * sum(spr_all)
        last = 256 * (n_signals + 1) + (n_records - 1) * record_bytes
        pad = np.full(spr - n_valid, _INVALID, dtype="<i2").tobytes()
        for j in range(n_leads):
            f.seek(last + 2 * sum(spr_all[:j]) + 2 * n_valid)
            f.write(pad)


def write_edf(path: str | os.PathLike[str], info: RecordInfo, chunks: Iterable[Chunk]) -> WriteResult:
    """Write `chunks` of the record `info` describes as an EDF+ file (16-bit).

    Each lead keeps its name (up to 16 characters), its unit and its gain
    (``adc_gain`` ADC steps per unit; the physical range is +-32767 steps,
    written in the 8 characters EDF allows). NaN samples are written as
    -32768, below the digital minimum. ``info.annotations``, the start time,
    the patient id and the device id are written to the EDF+ header.
    Data records last one second (two, five or ten when the sampling rate
    is not whole); the last one is padded with invalid samples.
    """
    pyedflib = _import_pyedflib()
    path = Path(path)
    n_leads = info.n_leads
    record_s = next((d for d in (1, 2, 5, 10) if abs(info.fs_hz * d - round(info.fs_hz * d)) < 1e-9), None)
    if record_s is None:
        raise RecordFormatError(f"{info.name}: no whole number of samples per EDF data record at {info.fs_hz:g} Hz")
    spr = round(info.fs_hz * record_s)
    headers, steps_per_unit = [], []
    for i in range(n_leads):
        gain = info.adc_gain[i] if i < len(info.adc_gain) else math.nan
        if not (math.isfinite(gain) and gain > 0):
            gain = 1000.0  # 1 uV per step for an ECG lead in mV
        phys = _edf_number(_DIG_MAX / gain)
        steps_per_unit.append(_DIG_MAX / float(phys))
        headers.append({
            "label": info.lead_names[i][:16], "dimension": info.units[i][:8],
            "sample_frequency": info.fs_hz, "physical_max": float(phys), "physical_min": -float(phys),
            "digital_max": _DIG_MAX, "digital_min": -_DIG_MAX, "prefilter": "", "transducer": "",
        })
    steps = np.array(steps_per_unit)
    partial = path.with_name(path.name + ".partial.edf")
    writer = pyedflib.EdfWriter(str(partial), n_leads, file_type=pyedflib.FILETYPE_EDFPLUS)
    n_samples = n_clipped = n_invalid = 0
    pending = np.empty((0, n_leads), dtype=np.int32)
    try:
        writer.setSignalHeaders(headers)
        if record_s != 1:
            with warnings.catch_warnings():  # pyedflib warns on any duration but 1 s
                warnings.simplefilter("ignore", UserWarning)
                writer.setDatarecordDuration(record_s)
        if info.start_time is not None:
            writer.setStartdatetime(info.start_time)
        writer.setPatientCode(info.patient_id.replace(" ", "_")[:80])
        writer.setEquipment((info.device_id or "holter-edge").replace(" ", "_")[:80])
        for chunk in chunks:
            if chunk.n_leads != n_leads or chunk.start_sample != n_samples:
                raise RecordFormatError(
                    f"{info.name}: chunk of {chunk.n_leads} leads at sample {chunk.start_sample}; "
                    f"expected {n_leads} leads at sample {n_samples}"
                )
            scaled = np.rint(chunk.samples * steps)
            invalid = ~np.isfinite(scaled)
            n_invalid += int(invalid.sum())
            scaled[invalid] = 0.0
            n_clipped += int((np.abs(scaled) > _DIG_MAX).sum())
            digital = np.clip(scaled, -_DIG_MAX, _DIG_MAX).astype(np.int32)
            digital[invalid] = _INVALID
            pending = np.concatenate([pending, digital])
            n_samples += chunk.n_samples
            whole = pending.shape[0] // spr * spr
            for k in range(0, whole, spr):
                writer.writeSamples([np.ascontiguousarray(pending[k : k + spr, j]) for j in range(n_leads)], digital=True)
            pending = pending[whole:]
        if pending.shape[0]:
            pad = np.full((spr - pending.shape[0], n_leads), _INVALID, dtype=np.int32)
            last = np.concatenate([pending, pad])
            writer.writeSamples([np.ascontiguousarray(last[:, j]) for j in range(n_leads)], digital=True)
        for ann in info.annotations:
            duration = -1 if math.isnan(ann.duration_s) else ann.duration_s
            writer.writeAnnotation(ann.onset_s, duration, ann.text)
        writer.close()
        if pending.shape[0]:
            _mark_padding(partial, n_leads, spr, pending.shape[0])
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(Exception):
            writer.close()
        partial.unlink(missing_ok=True)
        raise
    return WriteResult(path=path, n_samples=n_samples, n_clipped=n_clipped, n_invalid=n_invalid)
