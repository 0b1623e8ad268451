"""One entry point for every record: the format is recognised by content.

``open_record(path)`` and ``iter_chunks(path)`` take a WFDB record (path
without extension, or its ``.hea``/``.dat``), an EDF/EDF+/BDF file, an ISHNE
Holter file, or (with the optional ``formats`` extra) any format ecgdatakit
recognises. Magic bytes decide: ``ISHNE1.0`` is ISHNE, ``0`` and seven spaces
is EDF, ``\\xffBIOSEMI`` is BDF; a ``.hea`` beside the path is WFDB. The
extension only matters when the content says nothing: a ``.ecg`` file with
another magic is reported as a damaged ISHNE file, a ``.edf`` as a damaged EDF.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Iterator
from pathlib import Path

from firmware_bridge._chunk import Chunk
from firmware_bridge._ecgdatakit import (
    chunks_of,
    ecgdatakit_available,
    ecgdatakit_format,
    open_ecgdatakit,
)
from firmware_bridge._edf import _chunks as _edf_chunks
from firmware_bridge._edf import open_edf
from firmware_bridge._exceptions import UnknownFormatError
from firmware_bridge._ishne import _check_chunk_s, open_ishne
from firmware_bridge._ishne import _chunks as _ishne_chunks
from firmware_bridge._ishne_header import ISHNE_MAGIC
from firmware_bridge._record import RecordInfo
from firmware_bridge._wfdb import _chunks as _wfdb_chunks
from firmware_bridge._wfdb import open_wfdb

__all__ = ["RecordFormat", "detect_format", "iter_chunks", "iter_record_chunks", "open_record"]


class RecordFormat(enum.Enum):
    """The readers :func:`open_record` dispatches to."""

    WFDB = "wfdb"
    EDF = "edf"
    ISHNE = "ishne"
    ECGDATAKIT = "ecgdatakit"


_EDF_MAGIC = (b"0       ", b"\xffBIOSEMI")
_EXTENSIONS = {".ecg": RecordFormat.ISHNE, ".edf": RecordFormat.EDF, ".bdf": RecordFormat.EDF}


def detect_format(path: str | os.PathLike[str]) -> RecordFormat:
    """Which reader handles `path`, decided by its content.

    Raises
    ------
    FileNotFoundError
        Neither a file nor a WFDB record is at `path`.
    UnknownFormatError
        A file whose content no reader recognises.
    """
    p = Path(path).expanduser()
    if p.is_file():
        with p.open("rb") as f:
            magic = f.read(8)
        if magic == ISHNE_MAGIC:
            return RecordFormat.ISHNE
        if magic in _EDF_MAGIC:
            return RecordFormat.EDF
        if p.suffix.lower() in (".hea", ".dat") or p.with_name(p.name + ".hea").is_file():
            return RecordFormat.WFDB
        if p.suffix.lower() in _EXTENSIONS:
            return _EXTENSIONS[p.suffix.lower()]
        if ecgdatakit_format(p) is not None:
            return RecordFormat.ECGDATAKIT
        hint = "" if ecgdatakit_available() else (
            "; SCP-ECG, DICOM, HL7 aECG, MFER and other formats need pip install 'holter-edge[formats]'"
        )
        raise UnknownFormatError(
            f"{p}: unknown record format (first bytes {magic!r}); reads WFDB, EDF/EDF+/BDF and "
            f"ISHNE Holter{hint}"
        )
    return RecordFormat.WFDB  # a record path without extension; open_wfdb names what is missing


def open_record(path: str | os.PathLike[str], allow_truncated: bool = False) -> RecordInfo:
    """Check any supported record and describe it, without reading its samples.

    Parameters
    ----------
    path : str or path-like
        WFDB record path (without extension), EDF/EDF+/BDF file, ISHNE file,
        or another format ecgdatakit reads.
    allow_truncated : bool, default False
        Accept an ISHNE or EDF file that ends before its header says
        (``samples_lost`` then says how much is missing).

    Raises
    ------
    FileNotFoundError, RecordFormatError
        As the format's reader; :class:`UnknownFormatError` for unknown content.

    Examples
    --------
    >>> info = open_record("data/sample/119")  # doctest: +SKIP
    >>> info.format, info.fs_hz, info.lead_names  # doctest: +SKIP
    ('wfdb', 360.0, ('MLII', 'V1'))
    """
    fmt = detect_format(path)
    if fmt is RecordFormat.ISHNE:
        return open_ishne(path, allow_truncated=allow_truncated)
    if fmt is RecordFormat.EDF:
        return open_edf(path, allow_truncated=allow_truncated)
    if fmt is RecordFormat.ECGDATAKIT:
        return open_ecgdatakit(path)
    return open_wfdb(path)


def iter_record_chunks(info: RecordInfo, chunk_s: float = 60.0) -> Iterator[Chunk]:
    """Chunks of at most `chunk_s` seconds of a record already opened with
    :func:`open_record` (memory bounded by the chunk, except for ecgdatakit
    formats, which are parsed whole)."""
    _check_chunk_s(chunk_s)
    chunk_samples = max(1, round(chunk_s * info.fs_hz))
    if info.format == "ishne":
        return _ishne_chunks(info, chunk_samples)
    if info.format in ("edf", "edf+", "bdf", "bdf+"):
        return _edf_chunks(info, chunk_samples)
    if info.format.startswith("ecgdatakit:"):
        return chunks_of(info, chunk_samples)
    return _wfdb_chunks(info, chunk_samples)


def iter_chunks(
    path: str | os.PathLike[str], chunk_s: float = 60.0, allow_truncated: bool = False
) -> Iterator[Chunk]:
    """Read any supported record as consecutive chunks of at most `chunk_s` seconds.

    The record is checked when this function is called, so a bad record
    raises here rather than at the first ``next()``. Every format yields the
    same :class:`Chunk`: float64 samples in physical units (mV for voltage
    leads), NaN where a sample is invalid.
    """
    _check_chunk_s(chunk_s)
    info = open_record(path, allow_truncated=allow_truncated)
    return iter_record_chunks(info, chunk_s)
