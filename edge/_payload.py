"""MQTT payload codec: alerts and the gateway status as CBOR maps with a schema version.

Where this lives and why
------------------------
DESIGN.md: "cloud/ shares only the payload codec with edge/ (keep that codec
small and dependency-free)". The codec is therefore this one module,
``edge._payload``, which imports only the standard library, :mod:`cbor2` and
:mod:`edge._exceptions` (standard library only). ``edge/__init__`` re-exports
its public names and resolves every other (NumPy/Numba-backed) name lazily, so
``from edge._payload import decode_alert`` (what ``cloud`` does) loads neither
``dsp`` nor ``models`` nor ``firmware_bridge`` (checked by a test).

Wire format (schema version 1)
------------------------------
An alert is a CBOR map, encoded canonically (keys sorted, floats in their
shortest lossless width), so the same alert always gives the same bytes:

==========  =========  ====================================================
key         CBOR type  meaning
==========  =========  ====================================================
``v``       uint       schema version, 1
``id``      text       unique, stable across retries: :func:`alert_id`
``seq``     uint       the gateway's per-patient sequence number
``patient`` text       pseudonymous patient id (1-32 of ``A-Za-z0-9_-``)
``type``    text       an :class:`AlertType` value
``severity`` text      a :class:`Severity` value
``start``   uint       event start, UTC epoch milliseconds
``end``     uint       event end, UTC epoch milliseconds (>= start)
``num``     map        the numbers behind the alert: name (1-16 chars of
                       ``a-z0-9_``, unit in the name, e.g. ``hr_bpm``) -> int
                       or float, at most 8 entries
==========  =========  ====================================================

An alert without its strip is at most :data:`ALERT_MAX_BYTES` (256) bytes:
:func:`encode_alert` refuses a larger one and :func:`decode_alert` never reads
one. The fixed part takes at most 165 bytes (32-character patient id, any type
and severity, a sequence number up to 2**40), which leaves room for four float64
numbers with 12-character names (ints, and floats exact in float32 or float16,
take fewer bytes). Decoding is strict: exactly these keys, these types, finite numbers, no
trailing bytes; anything else raises :class:`~edge._exceptions.PayloadError`
(a :class:`ValueError`), never another exception.
"""

from __future__ import annotations

import enum
import hashlib
import io
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import cbor2

from edge._exceptions import MalformedPayloadError, PayloadTooLargeError, UnsupportedSchemaError

#: The schema version written into every payload (``v``).
SCHEMA_VERSION = 1
#: Upper bound of an encoded alert without its ECG strip, bytes.
ALERT_MAX_BYTES = 256
#: Upper bound of a status payload, bytes.
STATUS_MAX_BYTES = 256

_PATIENT_RE = re.compile(r"[A-Za-z0-9_-]{1,32}")
_GATEWAY_RE = _PATIENT_RE
_NUM_NAME_RE = re.compile(r"[a-z0-9_]{1,16}")
_ID_RE = re.compile(r"[0-9a-f]{32}")
_MAX_NUMS = 8
_MAX_MS = 2**53  # epoch ms this large is year 287396; beyond it a float would round
_MAX_SEQ = 2**63 - 1
_ALERT_KEYS = frozenset({"v", "id", "seq", "patient", "type", "severity", "start", "end", "num"})
_STATUS_KEYS = frozenset({"v", "gateway", "state", "ts"})


class AlertType(enum.StrEnum):
    """What an alert reports (the issue's list: rhythm, rate, ST, risk, technical)."""

    VT = "vt"
    SUSTAINED_VT = "sustained_vt"
    NSVT = "nsvt"
    AF_ONSET = "af_onset"
    AF_OFFSET = "af_offset"
    PAUSE = "pause"
    BRADYCARDIA = "brady"
    TACHYCARDIA = "tachy"
    ST_EPISODE = "st"
    RISK_RISE = "risk_rise"
    LEAD_OFF = "lead_off"
    POOR_SIGNAL = "poor_signal"
    DEVICE_SILENT = "device_silent"
    STREAM_GAP = "stream_gap"


class Severity(enum.StrEnum):
    """How urgently a clinician must look."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class GatewayState(enum.StrEnum):
    """The retained status topic's state (``offline`` is also the Last Will)."""

    ONLINE = "online"
    OFFLINE = "offline"


def alert_id(patient: str, alert_type: AlertType | str, start_ms: int) -> str:
    """A stable alert id: 32 hex digits of BLAKE2b over patient, type and start.

    The same event (same patient, type and start) always gets the same id, so a
    retried or re-detected alert is dropped by the cloud's dedupe.

    >>> alert_id("p01", AlertType.VT, 1_700_000_000_000)[:8]
    'b10b74fd'
    """
    kind = AlertType(alert_type).value
    text = f"{patient}\x1f{kind}\x1f{int(start_ms)}".encode()
    return hashlib.blake2b(text, digest_size=16).hexdigest()


def _fail(what: str) -> MalformedPayloadError:
    return MalformedPayloadError(what)


def _check_int(name: str, value: object, low: int, high: int) -> int:
    if type(value) is not int or not low <= value <= high:
        raise _fail(f"{name} must be an integer in [{low}, {high}], got {value!r}")
    return value


def _check_text(name: str, value: object, pattern: re.Pattern[str]) -> str:
    if type(value) is not str or not pattern.fullmatch(value):
        raise _fail(f"{name} must match {pattern.pattern}, got {value!r}")
    return value


def _check_nums(value: object, max_nums: int = _MAX_NUMS) -> dict[str, int | float]:
    if not isinstance(value, Mapping):
        raise _fail(f"num must be a map, got {type(value).__name__}")
    if len(value) > max_nums:
        raise _fail(f"num holds at most {max_nums} numbers, got {len(value)}")
    out: dict[str, int | float] = {}
    for name, number in value.items():
        _check_text("num key", name, _NUM_NAME_RE)
        if type(number) is int:
            if abs(number) > _MAX_SEQ:
                raise _fail(f"num[{name!r}] out of the int64 range: {number!r}")
        elif type(number) is not float or not math.isfinite(number):
            raise _fail(f"num[{name!r}] must be a finite int or float, got {number!r}")
        out[name] = number
    return out


@dataclass(frozen=True)
class Alert:
    """One alert, as sent on ``holter/v1/{site}/{gateway}/{patient}/alert``.

    Constructing one validates every field (:class:`MalformedPayloadError`).
    Times are UTC epoch milliseconds; ``num`` holds the numbers behind the
    alert with units in their names (``hr_bpm``, ``duration_ms``, ``st_uv``).
    """

    id: str
    seq: int
    patient: str
    type: AlertType
    severity: Severity
    start_ms: int
    end_ms: int
    num: Mapping[str, int | float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_text("id", self.id, _ID_RE)
        _check_int("seq", self.seq, 0, _MAX_SEQ)
        _check_text("patient", self.patient, _PATIENT_RE)
        try:
            object.__setattr__(self, "type", AlertType(self.type))
            object.__setattr__(self, "severity", Severity(self.severity))
        except ValueError as exc:
            raise _fail(str(exc)) from None
        _check_int("start", self.start_ms, 0, _MAX_MS)
        _check_int("end", self.end_ms, self.start_ms, _MAX_MS)
        object.__setattr__(self, "num", _check_nums(self.num))


def _dumps(obj: dict[str, object]) -> bytes:
    return cbor2.dumps(obj, canonical=True)


def _dumps_within(obj: dict[str, object], max_bytes: int, what: str) -> bytes:
    """Canonical CBOR of `obj`; :class:`PayloadTooLargeError` when over `max_bytes`."""
    data = _dumps(obj)
    if len(data) > max_bytes:
        raise PayloadTooLargeError(f"{what} encodes to {len(data)} bytes; the limit is {max_bytes}")
    return data


def _loads(data: bytes, max_bytes: int, what: str) -> dict[object, object]:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise _fail(f"{what} payload must be bytes, got {type(data).__name__}")
    if len(data) > max_bytes:
        raise PayloadTooLargeError(f"{what} payload is {len(data)} bytes; the limit is {max_bytes}")
    stream = io.BytesIO(bytes(data))
    try:
        obj = cbor2.CBORDecoder(stream, max_depth=4, allow_duplicate_keys=False).decode()
    except Exception as exc:  # cbor2 raises several types on garbage; report one
        raise _fail(f"{what} payload is not valid CBOR: {type(exc).__name__}: {exc}") from None
    if stream.tell() != len(data):
        raise _fail(f"{what} payload has {len(data) - stream.tell()} trailing bytes")
    if not isinstance(obj, dict):
        raise _fail(f"{what} payload must be a CBOR map, got {type(obj).__name__}")
    if "v" in obj and obj["v"] != SCHEMA_VERSION and type(obj["v"]) is int:
        raise UnsupportedSchemaError(
            f"{what} payload has schema version v={obj['v']}; this code reads v={SCHEMA_VERSION}"
        )
    return obj


def _check_keys(obj: Mapping[object, object], keys: frozenset[str], what: str) -> None:
    if set(obj) != keys:
        missing = sorted(keys - set(obj))
        extra = sorted(map(repr, set(obj) - keys))
        raise _fail(f"{what} payload keys wrong: missing {missing}, unexpected {extra}")
    _check_int("v", obj["v"], SCHEMA_VERSION, SCHEMA_VERSION)


def encode_alert(alert: Alert) -> bytes:
    """The alert as canonical CBOR, at most :data:`ALERT_MAX_BYTES` bytes.

    Raises
    ------
    PayloadTooLargeError
        If the encoding is longer than 256 bytes (too many or too long numbers).
    """
    return _dumps_within(
        {
            "v": SCHEMA_VERSION,
            "id": alert.id,
            "seq": alert.seq,
            "patient": alert.patient,
            "type": alert.type.value,
            "severity": alert.severity.value,
            "start": alert.start_ms,
            "end": alert.end_ms,
            "num": dict(alert.num),
        },
        ALERT_MAX_BYTES,
        f"alert {alert.id}",
    )


def decode_alert(data: bytes) -> Alert:
    """The :class:`Alert` in ``data``; :class:`PayloadError` for anything else."""
    obj = _loads(data, ALERT_MAX_BYTES, "alert")
    _check_keys(obj, _ALERT_KEYS, "alert")
    for key in ("type", "severity"):
        if type(obj[key]) is not str:
            raise _fail(f"{key} must be text, got {obj[key]!r}")
    return Alert(
        id=obj["id"],  # type: ignore[arg-type]  (Alert validates every field)
        seq=obj["seq"],  # type: ignore[arg-type]
        patient=obj["patient"],  # type: ignore[arg-type]
        type=obj["type"],  # type: ignore[arg-type]
        severity=obj["severity"],  # type: ignore[arg-type]
        start_ms=obj["start"],  # type: ignore[arg-type]
        end_ms=obj["end"],  # type: ignore[arg-type]
        num=obj["num"],  # type: ignore[arg-type]
    )


@dataclass(frozen=True)
class Status:
    """The retained gateway status (``holter/v1/{site}/{gateway}/status``)."""

    gateway: str
    state: GatewayState
    ts_ms: int

    def __post_init__(self) -> None:
        _check_text("gateway", self.gateway, _GATEWAY_RE)
        try:
            object.__setattr__(self, "state", GatewayState(self.state))
        except ValueError as exc:
            raise _fail(str(exc)) from None
        _check_int("ts", self.ts_ms, 0, _MAX_MS)


def encode_status(status: Status) -> bytes:
    """The status as canonical CBOR."""
    return _dumps(
        {"v": SCHEMA_VERSION, "gateway": status.gateway, "state": status.state.value,
         "ts": status.ts_ms}
    )


def decode_status(data: bytes) -> Status:
    """The :class:`Status` in ``data``; :class:`PayloadError` for anything else."""
    obj = _loads(data, STATUS_MAX_BYTES, "status")
    _check_keys(obj, _STATUS_KEYS, "status")
    if type(obj["state"]) is not str:
        raise _fail(f"state must be text, got {obj['state']!r}")
    return Status(gateway=obj["gateway"], state=obj["state"], ts_ms=obj["ts"])  # type: ignore[arg-type]
