"""From one MQTT message to a record to store, or a counted rejection: pure, no I/O.

:func:`classify` takes a topic and its payload bytes and returns an
:class:`AlertRecord`, :class:`SummaryRecord`, :class:`StripRecord` or
:class:`GatewayStatusRecord` (validated by the payload codec, ``edge._payload``
and ``edge._payload_evidence``), or a :class:`Rejection` naming the reason.
It never raises for any bytes or topic: a gateway cannot crash the worker.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from cloud._exceptions import InvalidAlertError
from cloud._records import AlertRecord, GatewayStatusRecord, StripRecord, SummaryRecord
from edge._payload import (
    MalformedPayloadError,
    PayloadTooLargeError,
    UnsupportedSchemaError,
    decode_alert,
    decode_status,
)
from edge._payload_evidence import decode_strip, decode_summary

#: The topic root every gateway publishes under (DESIGN.md "Topics and payloads").
TOPIC_ROOT = ("holter", "v1")

Record = AlertRecord | SummaryRecord | StripRecord | GatewayStatusRecord


class RejectReason(enum.StrEnum):
    """Why a message was not stored (the worker counts each)."""

    BAD_TOPIC = "bad_topic"  # not holter/v1/{site}/{gateway}/{patient}/{kind} or .../status
    MALFORMED = "malformed"  # not CBOR, wrong keys, types or values
    TOO_LARGE = "too_large"  # over the codec's size limit for its kind
    UNSUPPORTED_VERSION = "unsupported_version"  # a schema version ``v`` this code does not read
    TOPIC_MISMATCH = "topic_mismatch"  # the payload's patient or gateway is not the topic's


@dataclass(frozen=True)
class Rejection:
    """A message that will not be stored, and why (``detail``: one line for the log)."""

    reason: RejectReason
    detail: str


def _mismatch(what: str, in_topic: str, in_payload: str) -> Rejection:
    return Rejection(
        RejectReason.TOPIC_MISMATCH,
        f"{what} {in_payload!r:.40} in the payload, {in_topic!r:.40} in the topic",
    )


def _decode(topic: str, payload: bytes) -> Record | Rejection:
    levels = topic.split("/")
    if tuple(levels[:2]) != TOPIC_ROOT or len(levels) not in (5, 6):
        return Rejection(RejectReason.BAD_TOPIC, f"topic {topic!r:.120}")
    site, gateway = levels[2], levels[3]
    if len(levels) == 5:
        if levels[4] != "status":
            return Rejection(RejectReason.BAD_TOPIC, f"topic {topic!r:.120}")
        status = decode_status(payload)
        if status.gateway != gateway:
            return _mismatch("gateway", gateway, status.gateway)
        return GatewayStatusRecord.from_status(status, site=site)
    patient, kind = levels[4], levels[5]
    if kind == "alert":
        alert = decode_alert(payload)
        if alert.patient != patient:
            return _mismatch("patient", patient, alert.patient)
        return AlertRecord.from_alert(alert, site=site, gateway=gateway)
    if kind == "summary":
        summary = decode_summary(payload)
        if summary.patient != patient:
            return _mismatch("patient", patient, summary.patient)
        return SummaryRecord.from_summary(summary, site=site, gateway=gateway)
    if kind == "strip":
        strip = decode_strip(payload)
        if strip.patient != patient:
            return _mismatch("patient", patient, strip.patient)
        return StripRecord.from_strip(strip, payload, site=site, gateway=gateway)
    return Rejection(RejectReason.BAD_TOPIC, f"topic {topic!r:.120}")


def classify(topic: str, payload: bytes) -> Record | Rejection:
    """The record in one message, or why it is rejected (never raises)."""
    try:
        return _decode(topic, payload)
    except PayloadTooLargeError as exc:
        return Rejection(RejectReason.TOO_LARGE, str(exc))
    except UnsupportedSchemaError as exc:
        return Rejection(RejectReason.UNSUPPORTED_VERSION, str(exc))
    except MalformedPayloadError as exc:
        return Rejection(RejectReason.MALFORMED, str(exc)[:200])
    except InvalidAlertError as exc:  # a site or gateway id the store cannot key by
        return Rejection(RejectReason.BAD_TOPIC, str(exc))
