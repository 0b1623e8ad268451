"""What the store holds and returns: frozen dataclasses, validated on construction.

An :class:`AlertRecord` is one decoded alert payload (DESIGN.md "Topics and
payloads": ``v``, ``id``, ``seq``, ``patient``, ``type``, ``severity``,
``start``/``end`` in UTC epoch ms and the numbers behind it, ``num``) plus the
scoping the topic carries (``holter/v1/{site}/{gateway}/{patient}/alert``): the
site and gateway, so per-clinic access control can be layered on.
"""

from __future__ import annotations

import enum
import json
import math
import re
import types
from collections.abc import Mapping
from dataclasses import dataclass, field

from cloud._exceptions import InvalidAlertError

#: Severity values (the edge codec's ``Severity``) and their inbox rank: higher first.
SEVERITY_RANK: Mapping[str, int] = types.MappingProxyType({"info": 0, "warning": 1, "critical": 2})

_MAX_MS = 2**53
_MAX_SEQ = 2**63 - 1
_TEXT_RE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_NUM_NAME_RE = re.compile(r"[a-z0-9_]{1,32}")
_MAX_NUMS = 32


def _text(name: str, value: object) -> str:
    if not isinstance(value, str) or not _TEXT_RE.fullmatch(value):
        raise InvalidAlertError(
            f"{name} must be 1-64 characters of A-Za-z0-9_.:-, got {value!r:.80}"
        )
    return value


def _int(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidAlertError(f"{name} must be an integer in [{low}, {high}], got {value!r:.80}")
    return value


def _nums(value: object) -> Mapping[str, int | float]:
    if not isinstance(value, Mapping):
        raise InvalidAlertError(f"num must be a mapping, got {type(value).__name__}")
    if len(value) > _MAX_NUMS:
        raise InvalidAlertError(f"num holds at most {_MAX_NUMS} numbers, got {len(value)}")
    out: dict[str, int | float] = {}
    for key, number in value.items():
        if not isinstance(key, str) or not _NUM_NAME_RE.fullmatch(key):
            raise InvalidAlertError(
                f"num names must be 1-32 characters of a-z0-9_, got {key!r:.40}"
            )
        if isinstance(number, bool) or not isinstance(number, int | float):
            raise InvalidAlertError(f"num[{key!r}] must be a number, got {number!r:.40}")
        if isinstance(number, float) and not math.isfinite(number):
            raise InvalidAlertError(f"num[{key!r}] must be finite, got {number!r}")
        if isinstance(number, int) and abs(number) > _MAX_SEQ:
            raise InvalidAlertError(f"num[{key!r}] is out of the 64-bit range: {number}")
        out[key] = number
    return types.MappingProxyType(out)


@dataclass(frozen=True)
class AlertRecord:
    """One alert as stored.

    Parameters
    ----------
    id : str
        Unique and stable across retries (the gateway's ``alert_id``); the key
        duplicates are dropped by.
    site, gateway : str
        Where it came from (the topic's ``{site}`` and ``{gateway}``).
    patient : str
        Pseudonymous patient id.
    seq : int
        The gateway's per-patient sequence number.
    type : str
        What the alert reports (the edge codec's ``AlertType`` value).
    severity : str
        ``info``, ``warning`` or ``critical`` (:data:`SEVERITY_RANK`).
    start_ms, end_ms : int
        The event, UTC epoch milliseconds, ``end_ms >= start_ms``.
    num : Mapping[str, int | float]
        The numbers behind it, units in the names (``hr_bpm``, ``duration_ms``).
    received_ms : int or None
        When the store first committed it (UTC epoch ms); ``None`` before.
    """

    id: str
    site: str
    gateway: str
    patient: str
    seq: int
    type: str
    severity: str
    start_ms: int
    end_ms: int
    num: Mapping[str, int | float] = field(default_factory=dict)
    received_ms: int | None = None

    def __post_init__(self) -> None:
        for name in ("id", "site", "gateway", "patient", "type"):
            _text(name, getattr(self, name))
        _int("seq", self.seq, 0, _MAX_SEQ)
        if self.severity not in SEVERITY_RANK:
            raise InvalidAlertError(
                f"severity must be one of {sorted(SEVERITY_RANK)}, got {self.severity!r:.40}"
            )
        _int("start_ms", self.start_ms, 0, _MAX_MS)
        _int("end_ms", self.end_ms, self.start_ms, _MAX_MS)
        if self.received_ms is not None:
            _int("received_ms", self.received_ms, 0, _MAX_MS)
        object.__setattr__(self, "num", _nums(self.num))

    @property
    def severity_rank(self) -> int:
        """The inbox rank of :attr:`severity` (critical 2, warning 1, info 0)."""
        return SEVERITY_RANK[self.severity]

    def num_json(self) -> str:
        """:attr:`num` as compact JSON with sorted keys (how the store keeps it)."""
        return json.dumps(dict(self.num), sort_keys=True, separators=(",", ":"), allow_nan=False)


class UpsertResult(enum.StrEnum):
    """What :meth:`Store.upsert_alert` did."""

    INSERTED = "inserted"
    DUPLICATE = "duplicate"


@dataclass(frozen=True)
class BatchResult:
    """What :meth:`Store.insert_alerts` did: ``inserted + duplicates == submitted``."""

    submitted: int
    inserted: int

    @property
    def duplicates(self) -> int:
        """Alerts skipped because their id was already stored (or repeated in the batch)."""
        return self.submitted - self.inserted


@dataclass(frozen=True)
class AlertPage:
    """One page of the inbox; pass ``next_cursor`` back for the next (``None``: last page)."""

    alerts: tuple[AlertRecord, ...]
    next_cursor: str | None
