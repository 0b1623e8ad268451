"""The ISHNE Holter 1.0 header: layout, CRC, parsing and packing (pure, no I/O).

Layout (Badilini F. The ISHNE Holter Standard Output File Format. Ann
Noninvasive Electrocardiol. 1998;3(3):263-266), all integers little-endian:

======  =====  ===============================================================
offset  size   field
======  =====  ===============================================================
0       8      magic ``ISHNE1.0``
8       2      CRC-16/CCITT (poly 0x1021, init 0xFFFF) of bytes 10 .. end of
               the variable-length block
10      4      size of the variable-length block (bytes)
14      4      ``ecg_size``: samples per lead (some writers store the total)
18      4      offset of the variable-length block (always 522)
22      4      offset of the ECG block (522 + variable block size)
26      2      file version
28      40     first name; 68: 40 last name; 108: 20 patient id
128     2      sex (0 unknown, 1 male, 2 female); 130: 2 race
132     6      birth date (day, month, year); 138: 6 recording date;
               144: 6 file creation date; 150: 6 start time (h, min, s)
156     2      number of stored leads (1-12)
158     24     lead specification codes (table 1), 12 x int16
182     24     lead quality codes (table 2), 12 x int16
206     24     amplitude resolution of each lead in nV per LSB, 12 x int16
230     2      pacemaker code (0 none, 1-5 types)
232     40     recorder type; 272: 2 sampling rate (Hz)
274     80     proprietary; 354: 80 copyright; 434: 88 reserved
522     var    variable-length block (free text)
======  =====  ===============================================================

The ECG block follows: int16 samples, interleaved by lead (sample 0 of every
lead, then sample 1, ...). -32768 marks a lead fault.
"""

from __future__ import annotations

import binascii
import datetime as dt
import struct
from dataclasses import dataclass

from firmware_bridge._exceptions import ChecksumError, RecordFormatError, TruncatedRecordError

__all__ = [
    "ISHNE_MAGIC",
    "IshneHeader",
    "crc16_ccitt",
    "pack_ishne_header",
    "parse_ishne_header",
]

ISHNE_MAGIC = b"ISHNE1.0"
#: Magic (8) + CRC (2) + fixed header (512).
FIXED_HEADER_BYTES = 522
_CRC_FROM = 10
_FIELDS = struct.Struct("<iiiih40s40s20shh3h3h3h3hh12h12h12hh40sh80s80s88s")
assert _FIELDS.size == FIXED_HEADER_BYTES - _CRC_FROM
#: Largest variable-length block accepted (the standard gives no limit; a
#: larger value is taken as a damaged header rather than read into memory).
MAX_VAR_BLOCK_BYTES = 1 << 20
MAX_LEADS = 12
#: Stored in unknown / unused numeric fields, as the standard proposes.
UNKNOWN = -9
#: Sample value marking a lead fault.
FAULT_SAMPLE = -32768

#: Table 1 of the standard: lead specification code -> lead name.
LEAD_CODES: dict[int, str] = {
    0: "unknown", 1: "bipolar", 2: "X", 3: "Y", 4: "Z", 5: "I", 6: "II", 7: "III",
    8: "aVR", 9: "aVL", 10: "aVF", 11: "V1", 12: "V2", 13: "V3", 14: "V4", 15: "V5",
    16: "V6", 17: "ES", 18: "AS", 19: "AI",
}
#: Table 2: lead quality code -> meaning.
QUALITY_CODES: dict[int, str] = {
    -9: "absent", 0: "unknown", 1: "good", 2: "intermittent noise", 3: "frequent noise",
    4: "intermittent disconnect", 5: "frequent disconnect",
}
PACEMAKER_CODES: dict[int, str] = {
    0: "none", 1: "unknown type", 2: "single chamber unipolar", 3: "dual chamber unipolar",
    4: "single chamber bipolar", 5: "dual chamber bipolar",
}
#: Our writer keeps exact lead names in the variable block, one line of this form.
LEAD_NAMES_KEY = "leads="


def crc16_ccitt(data: bytes) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection), as ISHNE uses.

    >>> hex(crc16_ccitt(b"123456789"))
    '0x29b1'
    """
    return binascii.crc_hqx(data, 0xFFFF)


@dataclass(frozen=True)
class IshneHeader:
    """Every field of an ISHNE Holter 1.0 header.

    Dates and times the file leaves unknown (``-9``) or invalid are None.
    `lead_specs`, `lead_qualities` and `resolution_nv` hold one value per
    stored lead (the unused slots of the 12 are dropped).
    """

    var_block: bytes
    ecg_size: int
    var_block_offset: int
    ecg_block_offset: int
    file_version: int
    first_name: str
    last_name: str
    patient_id: str
    sex: int
    race: int
    birth_date: dt.date | None
    record_date: dt.date | None
    file_date: dt.date | None
    start_time: dt.time | None
    lead_specs: tuple[int, ...]
    lead_qualities: tuple[int, ...]
    resolution_nv: tuple[int, ...]
    pacemaker_code: int
    recorder_type: str
    fs_hz: int
    proprietary: str = ""
    copyright: str = ""
    reserved: str = ""
    checksum: int = 0

    @property
    def n_leads(self) -> int:
        """Number of stored leads."""
        return len(self.lead_specs)

    @property
    def var_block_text(self) -> str:
        """The variable-length block as text (latin-1, NULs dropped)."""
        return self.var_block.split(b"\x00")[0].decode("latin-1")

    @property
    def lead_names(self) -> tuple[str, ...]:
        """Exact names from our ``leads=`` line if present, else the table 1 names."""
        for line in self.var_block_text.splitlines():
            if line.startswith(LEAD_NAMES_KEY):
                names = tuple(n.strip() for n in line[len(LEAD_NAMES_KEY) :].split(","))
                if len(names) == self.n_leads and all(names):
                    return names
        return tuple(
            LEAD_CODES.get(code, f"lead {i + 1}") if code not in (0, 1) else f"lead {i + 1}"
            for i, code in enumerate(self.lead_specs)
        )

    @property
    def start_datetime(self) -> dt.datetime | None:
        """Recording date and start time together, if both are known."""
        if self.record_date is None or self.start_time is None:
            return None
        return dt.datetime.combine(self.record_date, self.start_time)


def _text(raw: bytes) -> str:
    return raw.split(b"\x00")[0].decode("latin-1").strip()


def _date(day: int, month: int, year: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _time(hour: int, minute: int, second: int) -> dt.time | None:
    try:
        return dt.time(hour, minute, second)
    except ValueError:
        return None


def parse_ishne_header(data: bytes, file_bytes: int | None = None, where: str = "ISHNE file") -> IshneHeader:
    """Check and parse the header at the start of `data`.

    Parameters
    ----------
    data : bytes
        The start of the file: at least the 522 fixed bytes, plus the
        variable-length block (the CRC covers it).
    file_bytes : int, optional
        The size of the whole file (default ``len(data)``), to reject a
        variable block that would end past it.
    where : str
        How messages name the file.

    Raises
    ------
    RecordFormatError
        Wrong magic, or an absurd field (lead count, sampling rate,
        resolution, block sizes and offsets); the message names the field
        and its value.
    TruncatedRecordError
        The data end inside the fixed header.
    ChecksumError
        The stored CRC-16 matches neither byte order of the computed one.
    """
    data = bytes(data)
    size = len(data) if file_bytes is None else int(file_bytes)
    if data[:8] != ISHNE_MAGIC:
        if data and ISHNE_MAGIC.startswith(data):
            raise TruncatedRecordError(f"{where}: truncated inside the header: {len(data)} of "
                                       f"{FIXED_HEADER_BYTES} bytes")
        raise RecordFormatError(
            f"{where}: not an ISHNE Holter file: wrong magic {data[:8]!r} (expected {ISHNE_MAGIC!r})"
        )
    if len(data) < FIXED_HEADER_BYTES:
        raise TruncatedRecordError(
            f"{where}: truncated inside the header: {len(data)} of {FIXED_HEADER_BYTES} bytes"
        )
    stored_crc = struct.unpack_from("<H", data, 8)[0]
    f = _FIELDS.unpack_from(data, _CRC_FROM)
    var_size, ecg_size, var_offset, ecg_offset, version = f[0:5]
    if not 0 <= var_size <= MAX_VAR_BLOCK_BYTES:
        raise RecordFormatError(
            f"{where}: absurd header field: variable-length block size {var_size} bytes "
            f"(expected 0-{MAX_VAR_BLOCK_BYTES})"
        )
    if FIXED_HEADER_BYTES + var_size > size:
        raise RecordFormatError(
            f"{where}: absurd header field or truncated file: the variable-length block of "
            f"{var_size} bytes ends past the end of the file ({size} bytes)"
        )
    if len(data) < FIXED_HEADER_BYTES + var_size:
        raise ValueError("parse_ishne_header needs the variable block in `data`")
    computed = crc16_ccitt(data[_CRC_FROM : FIXED_HEADER_BYTES + var_size])
    swapped = ((computed & 0xFF) << 8) | (computed >> 8)
    if stored_crc not in (computed, swapped):
        raise ChecksumError(
            f"{where}: header CRC mismatch: stored 0x{stored_crc:04x}, computed 0x{computed:04x} "
            "(the header is damaged)"
        )
    n_leads = f[22]
    if not 1 <= n_leads <= MAX_LEADS:
        raise RecordFormatError(f"{where}: absurd header field: {n_leads} leads (expected 1-{MAX_LEADS})")
    fs_hz = f[61]
    if fs_hz <= 0:
        raise RecordFormatError(f"{where}: absurd header field: sampling rate {fs_hz} Hz")
    if ecg_size < 0:
        raise RecordFormatError(f"{where}: absurd header field: ecg_size {ecg_size} samples")
    if var_offset != FIXED_HEADER_BYTES:
        raise RecordFormatError(
            f"{where}: absurd header field: variable-length block offset {var_offset} "
            f"(the standard fixes {FIXED_HEADER_BYTES})"
        )
    resolution = tuple(f[47 : 47 + n_leads])
    for i, res in enumerate(resolution):
        if res <= 0:
            raise RecordFormatError(
                f"{where}: absurd header field: amplitude resolution of lead {i + 1} is {res} nV"
            )
    return IshneHeader(
        var_block=data[FIXED_HEADER_BYTES : FIXED_HEADER_BYTES + var_size],
        ecg_size=ecg_size,
        var_block_offset=var_offset,
        ecg_block_offset=ecg_offset,
        file_version=version,
        first_name=_text(f[5]),
        last_name=_text(f[6]),
        patient_id=_text(f[7]),
        sex=f[8],
        race=f[9],
        birth_date=_date(*f[10:13]),
        record_date=_date(*f[13:16]),
        file_date=_date(*f[16:19]),
        start_time=_time(*f[19:22]),
        lead_specs=tuple(f[23 : 23 + n_leads]),
        lead_qualities=tuple(f[35 : 35 + n_leads]),
        resolution_nv=resolution,
        pacemaker_code=f[59],
        recorder_type=_text(f[60]),
        fs_hz=fs_hz,
        proprietary=_text(f[62]),
        copyright=_text(f[63]),
        reserved=_text(f[64]),
        checksum=stored_crc,
    )


def _enc(text: str, size: int) -> bytes:
    return text.encode("latin-1", errors="replace")[:size].ljust(size, b"\x00")


def _dmy(value: dt.date | None) -> tuple[int, int, int]:
    return (UNKNOWN,) * 3 if value is None else (value.day, value.month, value.year)


def _hms(value: dt.time | None) -> tuple[int, int, int]:
    return (UNKNOWN,) * 3 if value is None else (value.hour, value.minute, value.second)


def _pad12(values: tuple[int, ...]) -> list[int]:
    return list(values) + [UNKNOWN] * (MAX_LEADS - len(values))


def pack_ishne_header(header: IshneHeader) -> bytes:
    """The header as bytes (magic, CRC, fixed fields, variable block).

    `ecg_size`, the offsets and the checksum are written as they stand in
    `header` except that the CRC is computed here.
    """
    n = header.n_leads
    if not 1 <= n <= MAX_LEADS or len(header.lead_qualities) != n or len(header.resolution_nv) != n:
        raise RecordFormatError(f"ISHNE header: {n} leads with {len(header.lead_qualities)} quality codes "
                                f"and {len(header.resolution_nv)} resolutions (expected 1-12, all equal)")
    body = _FIELDS.pack(
        len(header.var_block), header.ecg_size, FIXED_HEADER_BYTES,
        FIXED_HEADER_BYTES + len(header.var_block), header.file_version,
        _enc(header.first_name, 40), _enc(header.last_name, 40), _enc(header.patient_id, 20),
        header.sex, header.race, *_dmy(header.birth_date), *_dmy(header.record_date),
        *_dmy(header.file_date), *_hms(header.start_time), n,
        *_pad12(header.lead_specs), *_pad12(header.lead_qualities), *_pad12(header.resolution_nv),
        header.pacemaker_code, _enc(header.recorder_type, 40), header.fs_hz,
        _enc(header.proprietary, 80), _enc(header.copyright, 80), _enc(header.reserved, 88),
    ) + header.var_block
    return ISHNE_MAGIC + struct.pack("<H", crc16_ccitt(body)) + body
