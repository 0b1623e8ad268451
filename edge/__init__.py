"""The gateway: the per-patient streaming pipeline (bounded queues, config),
alert rules, the outbox and the MQTT client (built in the edge issue). Uses
``firmware_bridge``, ``dsp`` and ``models``; knows nothing of ``cloud``.

For now, the batch commands on top of the streaming QRS detector:
``holter detect`` (WFDB ``.hol`` beat annotations) and ``holter demo`` (a beat
and heart-rate summary of the bundled sample record); and the transport: the
alert payload codec (``edge._payload``), the SQLite outbox and the MQTT 5
publisher.

``cloud`` imports the payload codec (``edge._payload``) and nothing else from
here (DESIGN.md). So that this costs no NumPy, Numba or ``dsp``, every name
below is imported on first use (PEP 562 ``__getattr__``), not when the package
is.
"""

from __future__ import annotations

import importlib
from typing import Any

#: public name -> private module that defines it
_EXPORTS = {
    "ALERT_MAX_BYTES": "edge._payload",
    "Alert": "edge._payload",
    "AlertType": "edge._payload",
    "BEAT_SYMBOLS": "edge._annotations",
    "EdgeError": "edge._exceptions",
    "GatewayState": "edge._payload",
    "HolterAnalysis": "edge._analyze",
    "MalformedPayloadError": "edge._exceptions",
    "MessageKind": "edge._outbox",
    "Outbox": "edge._outbox",
    "OutboxEntry": "edge._outbox",
    "OutboxError": "edge._exceptions",
    "OutboxFullError": "edge._exceptions",
    "PayloadError": "edge._exceptions",
    "PayloadTooLargeError": "edge._exceptions",
    "Publisher": "edge._mqtt",
    "PublisherClosedError": "edge._exceptions",
    "PublisherConfig": "edge._mqtt",
    "PublisherConfigError": "edge._exceptions",
    "PublisherError": "edge._exceptions",
    "RecordBeats": "edge._stream",
    "SCHEMA_VERSION": "edge._payload",
    "STRIP_MAX_BYTES": "edge._payload_evidence",
    "SUMMARY_MAX_BYTES": "edge._payload_evidence",
    "Severity": "edge._payload",
    "Status": "edge._payload",
    "Strip": "edge._payload_evidence",
    "Summary": "edge._payload_evidence",
    "SummaryKind": "edge._payload_evidence",
    "UnsupportedSchemaError": "edge._exceptions",
    "alert_id": "edge._payload",
    "analyze_record": "edge._analyze",
    "decode_alert": "edge._payload",
    "decode_status": "edge._payload",
    "decode_strip": "edge._payload_evidence",
    "decode_summary": "edge._payload_evidence",
    "detect_record": "edge._stream",
    "encode_alert": "edge._payload",
    "encode_status": "edge._payload",
    "encode_strip": "edge._payload_evidence",
    "encode_summary": "edge._payload_evidence",
    "stream_chunks": "edge._stream",
    "write_hol": "edge._annotations",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'edge' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
