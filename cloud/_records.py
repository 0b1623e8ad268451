"""What the store holds and returns: frozen dataclasses.

An :class:`AlertRecord` is one decoded alert payload (DESIGN.md "Topics and
payloads": ``v``, ``id``, ``seq``, ``patient``, ``type``, ``severity``,
``start``/``end`` in UTC epoch ms and the numbers behind it, ``num``) plus the
scoping the topic carries (``holter/v1/{site}/{gateway}/{patient}/alert``): the
site and gateway, so per-clinic access control can be layered on.

The payload's fields are validated once, by the codec (:func:`edge._payload.decode_alert`
and the :class:`edge._payload.Alert` constructor); :meth:`AlertRecord.from_alert`
builds a record from what it returns. The record itself checks only what the
codec does not see: the topic's ``site`` and ``gateway``, and a severity it can
rank. The same holds for summaries, strips and gateway statuses
(:mod:`edge._payload_evidence`).
"""

from __future__ import annotations

import enum
import json
import re
import types
from collections.abc import Mapping
from dataclasses import dataclass, field

from cloud._exceptions import InvalidAlertError
from edge._payload import Alert, Status
from edge._payload_evidence import Strip, Summary, decode_strip

#: Severity values (the edge codec's ``Severity``) and their inbox rank: higher first.
SEVERITY_RANK: Mapping[str, int] = types.MappingProxyType({"info": 0, "warning": 1, "critical": 2})

_TOPIC_LEVEL_RE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


def check_topic_level(name: str, value: object) -> str:
    """``value`` if it is a usable site or gateway id (1-64 of ``A-Za-z0-9_.:-``)."""
    if not isinstance(value, str) or not _TOPIC_LEVEL_RE.fullmatch(value):
        raise InvalidAlertError(
            f"{name} must be 1-64 characters of A-Za-z0-9_.:-, got {value!r:.80}"
        )
    return value


def _frozen(num: Mapping[str, int | float]) -> Mapping[str, int | float]:
    return types.MappingProxyType(dict(num))


def num_json(num: Mapping[str, int | float]) -> str:
    """``num`` as compact JSON with sorted keys (how the store keeps numbers)."""
    return json.dumps(dict(num), sort_keys=True, separators=(",", ":"), allow_nan=False)


@dataclass(frozen=True)
class AlertRecord:
    """One alert as stored.

    Build one from a decoded payload with :meth:`from_alert` (the codec has
    validated every field then); constructing one directly checks only
    ``site``, ``gateway`` and ``severity``.

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
        check_topic_level("site", self.site)
        check_topic_level("gateway", self.gateway)
        if self.severity not in SEVERITY_RANK:
            raise InvalidAlertError(
                f"severity must be one of {sorted(SEVERITY_RANK)}, got {self.severity!r:.40}"
            )
        object.__setattr__(self, "num", _frozen(self.num))

    @classmethod
    def from_alert(cls, alert: Alert, *, site: str, gateway: str) -> AlertRecord:
        """The record of a decoded (so validated) alert that came from ``site``/``gateway``."""
        return cls(
            id=alert.id, site=site, gateway=gateway, patient=alert.patient, seq=alert.seq,
            type=alert.type.value, severity=alert.severity.value, start_ms=alert.start_ms,
            end_ms=alert.end_ms, num=alert.num,
        )  # fmt: skip

    @property
    def severity_rank(self) -> int:
        """The inbox rank of :attr:`severity` (critical 2, warning 1, info 0)."""
        return SEVERITY_RANK[self.severity]

    def num_json(self) -> str:
        """:attr:`num` as compact JSON with sorted keys (how the store keeps it)."""
        return num_json(self.num)


@dataclass(frozen=True)
class SummaryRecord:
    """One hourly or whole-recording summary as stored (unique by site, gateway,
    patient, kind and start).

    ``kind`` is ``hourly`` or ``recording``; times are UTC epoch ms; ``num``
    holds the numbers with units in their names.
    """

    site: str
    gateway: str
    patient: str
    kind: str
    seq: int
    start_ms: int
    end_ms: int
    num: Mapping[str, int | float] = field(default_factory=dict)
    received_ms: int | None = None

    def __post_init__(self) -> None:
        check_topic_level("site", self.site)
        check_topic_level("gateway", self.gateway)
        object.__setattr__(self, "num", _frozen(self.num))

    @classmethod
    def from_summary(cls, summary: Summary, *, site: str, gateway: str) -> SummaryRecord:
        """The record of a decoded summary that came from ``site``/``gateway``."""
        return cls(
            site=site, gateway=gateway, patient=summary.patient, kind=summary.kind.value,
            seq=summary.seq, start_ms=summary.start_ms, end_ms=summary.end_ms, num=summary.num,
        )  # fmt: skip


@dataclass(frozen=True)
class StripRecord:
    """The ECG strip of one alert as stored: the payload's CBOR bytes, kept as sent
    (about 3 bytes per sample), and the fields the store indexes.

    :meth:`decode` gives the samples back (:class:`edge._payload_evidence.Strip`).
    """

    alert_id: str
    site: str
    gateway: str
    patient: str
    start_ms: int
    payload: bytes
    received_ms: int | None = None

    def __post_init__(self) -> None:
        check_topic_level("site", self.site)
        check_topic_level("gateway", self.gateway)

    @classmethod
    def from_strip(cls, strip: Strip, payload: bytes, *, site: str, gateway: str) -> StripRecord:
        """The record of ``payload``, which decoded to ``strip``, from ``site``/``gateway``."""
        return cls(
            alert_id=strip.alert_id, site=site, gateway=gateway, patient=strip.patient,
            start_ms=strip.start_ms, payload=bytes(payload),
        )  # fmt: skip

    def decode(self) -> Strip:
        """The strip (leads, samples, beats) in :attr:`payload`."""
        return decode_strip(self.payload)


@dataclass(frozen=True)
class GatewayStatusRecord:
    """The last status a gateway reported (``online``/``offline``) and when.

    ``ts_ms`` is the gateway's clock (the payload's ``ts``); ``received_ms`` the
    store's. A status older than the stored one does not replace it.
    """

    site: str
    gateway: str
    state: str
    ts_ms: int
    received_ms: int | None = None

    def __post_init__(self) -> None:
        check_topic_level("site", self.site)
        check_topic_level("gateway", self.gateway)

    @classmethod
    def from_status(cls, status: Status, *, site: str) -> GatewayStatusRecord:
        """The record of a decoded status that came from ``site``."""
        return cls(site=site, gateway=status.gateway, state=status.state.value,
                   ts_ms=status.ts_ms)  # fmt: skip


@dataclass(frozen=True)
class IngestBatch:
    """What one worker batch writes in one transaction."""

    alerts: tuple[AlertRecord, ...] = ()
    summaries: tuple[SummaryRecord, ...] = ()
    strips: tuple[StripRecord, ...] = ()
    statuses: tuple[GatewayStatusRecord, ...] = ()

    def __len__(self) -> int:
        return len(self.alerts) + len(self.summaries) + len(self.strips) + len(self.statuses)


@dataclass(frozen=True)
class IngestResult:
    """What :meth:`Store.ingest` stored: new rows per kind (the rest were duplicates)."""

    alerts: BatchResult
    summaries: BatchResult
    strips: BatchResult
    statuses: BatchResult

    @property
    def inserted(self) -> int:
        """New rows (statuses: rows inserted or replaced by a newer status)."""
        return sum(r.inserted for r in (self.alerts, self.summaries, self.strips, self.statuses))

    @property
    def duplicates(self) -> int:
        """Deliveries that changed nothing (already stored, or an older status)."""
        return sum(r.duplicates for r in (self.alerts, self.summaries, self.strips, self.statuses))


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
