"""MQTT payload codec, part two: ECG strips and summaries (CBOR, schema version 1).

Part of the codec ``cloud`` shares with ``edge`` (DESIGN.md), as light as
:mod:`edge._payload`: standard library, :mod:`cbor2` and
:mod:`edge._exceptions` only (no NumPy: a worker decodes without it).

Strip (``holter/v1/{site}/{gateway}/{patient}/strip``)
--------------------------------------------------------
The ECG evidence of one alert: about 10 s of every lead around the event.

==========  =========  ====================================================
key         CBOR type  meaning
==========  =========  ====================================================
``v``       uint       schema version, 1
``alert``   text       the id of the alert this strip belongs to
``patient`` text       pseudonymous patient id
``start``   uint       UTC epoch milliseconds of the first sample
``fs``      float      sampling frequency, Hz
``leads``   array      lead names (text, 1-16 characters each), 1-12 leads
``upmv``    uint       units per millivolt of the samples (1000: 1 unit = 1 µV)
``n``       uint       samples per lead
``ecg``     bytes      zlib of the int16 little-endian samples, interleaved
                       (sample-major), each lead first-differenced
                       (the first value absolute): about 3 bytes per sample
``beats``   array      ``[offset_samples, symbol]`` of each beat in the strip
                       (MIT-BIH symbols N, A, V, F, Q)
==========  =========  ====================================================

A strip is at most :data:`STRIP_MAX_BYTES`; the samples are clipped to int16
(±32.767 mV at 1 µV per unit).

Summary (``holter/v1/{site}/{gateway}/{patient}/summary``)
-----------------------------------------------------------
Hourly numbers, and the 24-hour report's when a recording ends.

==========  =========  ====================================================
``v``       uint       schema version, 1
``patient`` text       pseudonymous patient id
``kind``    text       ``hourly`` or ``recording`` (:class:`SummaryKind`)
``seq``     uint       the gateway's per-patient sequence number
``start``   uint       UTC epoch ms of the period's start
``end``     uint       UTC epoch ms of the period's end (>= start)
``num``     map        name (``a-z0-9_``, unit in the name) -> int or float,
                       at most 48 entries
==========  =========  ====================================================
"""

from __future__ import annotations

import enum
import re
import sys
import zlib
from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from edge._payload import (
    _ID_RE,
    _MAX_MS,
    _MAX_SEQ,
    _PATIENT_RE,
    SCHEMA_VERSION,
    _check_int,
    _check_keys,
    _check_nums,
    _check_text,
    _dumps_within,
    _fail,
    _loads,
)

__all__ = [
    "BEAT_SYMBOLS_ON_STRIP",
    "STRIP_MAX_BYTES",
    "SUMMARY_MAX_BYTES",
    "Strip",
    "Summary",
    "SummaryKind",
    "decode_strip",
    "decode_summary",
    "encode_strip",
    "encode_summary",
]

#: Upper bound of an encoded strip, bytes (10 s of 12 leads at 1 kHz fits).
STRIP_MAX_BYTES = 512 * 1024
#: Upper bound of an encoded summary, bytes.
SUMMARY_MAX_BYTES = 4096
#: Beat symbols a strip may carry.
BEAT_SYMBOLS_ON_STRIP = frozenset("NAVFQ")
_MAX_LEADS = 12
_MAX_STRIP_SAMPLES = 60 * 1000  # per lead: 60 s at 1 kHz
_MAX_SUMMARY_NUMS = 48
_LEAD_RE = re.compile(r"[^\x00-\x1f]{1,16}")
_STRIP_KEYS = frozenset(
    {"v", "alert", "patient", "start", "fs", "leads", "upmv", "n", "ecg", "beats"}
)
_SUMMARY_KEYS = frozenset({"v", "patient", "kind", "seq", "start", "end", "num"})


class SummaryKind(enum.StrEnum):
    """What period a summary covers."""

    HOURLY = "hourly"
    RECORDING = "recording"


def _delta(values: array, n_leads: int) -> array:
    """First difference along each lead of interleaved samples, wrapped to int16."""
    out = array("h", values)
    for i in range(len(values) - 1, n_leads - 1, -1):
        d = values[i] - values[i - n_leads]
        out[i] = (d + 32768) % 65536 - 32768
    return out


def _undelta(values: array, n_leads: int) -> array:
    out = array("h", values)
    for i in range(n_leads, len(out)):
        s = out[i - n_leads] + values[i]
        out[i] = (s + 32768) % 65536 - 32768
    return out


@dataclass(frozen=True)
class Strip:
    """An ECG strip: the evidence of one alert.

    ``samples`` are int16 values, interleaved sample-major (``n_samples *
    len(leads)`` of them), ``units_per_mv`` to the millivolt. Construct one
    from a NumPy block with ``samples=array("h", block_int16.ravel())`` or any
    sequence of ints; the constructor validates every field.
    """

    alert_id: str
    patient: str
    start_ms: int
    fs_hz: float
    leads: tuple[str, ...]
    units_per_mv: int
    samples: array
    beats: tuple[tuple[int, str], ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        _check_text("alert", self.alert_id, _ID_RE)
        _check_text("patient", self.patient, _PATIENT_RE)
        _check_int("start", self.start_ms, 0, _MAX_MS)
        fs = self.fs_hz
        if type(fs) not in (int, float) or not 1.0 <= fs <= 10_000.0:
            raise _fail(f"fs must be a number of Hz in [1, 10000], got {fs!r}")
        object.__setattr__(self, "fs_hz", float(fs))
        leads = tuple(self.leads) if isinstance(self.leads, Sequence) else None
        if not leads or len(leads) > _MAX_LEADS:
            raise _fail(f"leads must be 1-{_MAX_LEADS} lead names, got {self.leads!r}")
        for name in leads:
            _check_text("lead name", name, _LEAD_RE)
        object.__setattr__(self, "leads", leads)
        _check_int("upmv", self.units_per_mv, 1, 1_000_000)
        try:
            samples = self.samples if isinstance(self.samples, array) and self.samples.typecode == "h" \
                else array("h", self.samples)
        except (TypeError, OverflowError) as exc:
            raise _fail(f"samples must be int16 values: {exc}") from None
        if len(samples) % len(leads):
            raise _fail(f"{len(samples)} samples do not split into {len(leads)} leads")
        if len(samples) // len(leads) > _MAX_STRIP_SAMPLES:
            raise _fail(f"a strip holds at most {_MAX_STRIP_SAMPLES} samples per lead")
        object.__setattr__(self, "samples", samples)
        n = len(samples) // len(leads)
        beats = []
        for beat in self.beats:
            if not isinstance(beat, Sequence) or isinstance(beat, str) or len(beat) != 2:
                raise _fail(f"a beat must be [offset, symbol], got {beat!r}")
            offset, symbol = beat
            _check_int("beat offset", offset, 0, max(n - 1, 0))
            if symbol not in BEAT_SYMBOLS_ON_STRIP:
                raise _fail(f"beat symbol must be one of NAVFQ, got {symbol!r}")
            beats.append((offset, symbol))
        object.__setattr__(self, "beats", tuple(beats))

    @property
    def n_samples(self) -> int:
        """Samples per lead."""
        return len(self.samples) // len(self.leads)

    def lead_mv(self, lead: int) -> list[float]:
        """One lead's samples in millivolts."""
        k = len(self.leads)
        return [v / self.units_per_mv for v in self.samples[lead::k]]


def encode_strip(strip: Strip) -> bytes:
    """The strip as canonical CBOR (samples delta-coded and zlib-compressed)."""
    raw = _delta(strip.samples, len(strip.leads))
    if sys.byteorder != "little":  # pragma: no cover - big-endian hosts
        raw.byteswap()
    return _dumps_within(
        {
            "v": SCHEMA_VERSION,
            "alert": strip.alert_id,
            "patient": strip.patient,
            "start": strip.start_ms,
            "fs": strip.fs_hz,
            "leads": list(strip.leads),
            "upmv": strip.units_per_mv,
            "n": strip.n_samples,
            "ecg": zlib.compress(raw.tobytes(), 6),
            "beats": [list(b) for b in strip.beats],
        },
        STRIP_MAX_BYTES,
        f"strip of alert {strip.alert_id}",
    )


def decode_strip(data: bytes) -> Strip:
    """The :class:`Strip` in ``data``; :class:`~edge._exceptions.PayloadError` for anything else."""
    obj = _loads(data, STRIP_MAX_BYTES, "strip")
    _check_keys(obj, _STRIP_KEYS, "strip")
    leads, n, ecg, beats = obj["leads"], obj["n"], obj["ecg"], obj["beats"]
    if not isinstance(leads, list) or not leads or len(leads) > _MAX_LEADS:
        raise _fail(f"leads must be an array of 1-{_MAX_LEADS} names, got {leads!r}")
    _check_int("n", n, 0, _MAX_STRIP_SAMPLES)
    if type(ecg) is not bytes:
        raise _fail(f"ecg must be a byte string, got {type(ecg).__name__}")
    if not isinstance(beats, list):
        raise _fail(f"beats must be an array, got {type(beats).__name__}")
    expected = 2 * n * len(leads)
    try:
        unzip = zlib.decompressobj()
        raw = unzip.decompress(ecg, expected + 1)
    except zlib.error as exc:
        raise _fail(f"ecg is not zlib data: {exc}") from None
    if len(raw) != expected or unzip.unconsumed_tail or not unzip.eof:
        raise _fail(f"ecg holds {len(raw)} bytes; {n} samples of {len(leads)} leads need {expected}")
    values = array("h")
    values.frombytes(raw)
    if sys.byteorder != "little":  # pragma: no cover
        values.byteswap()
    if type(obj["fs"]) is not float and type(obj["fs"]) is not int:
        raise _fail(f"fs must be a number, got {obj['fs']!r}")
    return Strip(
        alert_id=obj["alert"],  # type: ignore[arg-type]  (Strip validates)
        patient=obj["patient"],  # type: ignore[arg-type]
        start_ms=obj["start"],  # type: ignore[arg-type]
        fs_hz=obj["fs"],  # type: ignore[arg-type]
        leads=tuple(leads),
        units_per_mv=obj["upmv"],  # type: ignore[arg-type]
        samples=_undelta(values, len(leads)),
        beats=tuple(beats),
    )


@dataclass(frozen=True)
class Summary:
    """Hourly or whole-recording numbers of one patient."""

    patient: str
    kind: SummaryKind
    seq: int
    start_ms: int
    end_ms: int
    num: Mapping[str, int | float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_text("patient", self.patient, _PATIENT_RE)
        try:
            object.__setattr__(self, "kind", SummaryKind(self.kind))
        except ValueError as exc:
            raise _fail(str(exc)) from None
        _check_int("seq", self.seq, 0, _MAX_SEQ)
        _check_int("start", self.start_ms, 0, _MAX_MS)
        _check_int("end", self.end_ms, self.start_ms, _MAX_MS)
        object.__setattr__(self, "num", _check_nums(self.num, _MAX_SUMMARY_NUMS))


def encode_summary(summary: Summary) -> bytes:
    """The summary as canonical CBOR, at most :data:`SUMMARY_MAX_BYTES` bytes."""
    return _dumps_within(
        {
            "v": SCHEMA_VERSION,
            "patient": summary.patient,
            "kind": summary.kind.value,
            "seq": summary.seq,
            "start": summary.start_ms,
            "end": summary.end_ms,
            "num": dict(summary.num),
        },
        SUMMARY_MAX_BYTES,
        "summary",
    )


def decode_summary(data: bytes) -> Summary:
    """The :class:`Summary` in ``data``; :class:`~edge._exceptions.PayloadError` for anything else."""
    obj = _loads(data, SUMMARY_MAX_BYTES, "summary")
    _check_keys(obj, _SUMMARY_KEYS, "summary")
    if type(obj["kind"]) is not str:
        raise _fail(f"kind must be text, got {obj['kind']!r}")
    return Summary(
        patient=obj["patient"],  # type: ignore[arg-type]
        kind=obj["kind"],  # type: ignore[arg-type]
        seq=obj["seq"],  # type: ignore[arg-type]
        start_ms=obj["start"],  # type: ignore[arg-type]
        end_ms=obj["end"],  # type: ignore[arg-type]
        num=obj["num"],  # type: ignore[arg-type]
    )
