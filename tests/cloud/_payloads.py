"""Encoded payloads for the worker tests: alerts, summaries, strips, statuses."""

from __future__ import annotations

from edge._payload import Alert, Status, alert_id, encode_alert, encode_status
from edge._payload_evidence import Strip, Summary, encode_strip, encode_summary

T0_MS = 1_760_000_000_000
_TYPES = ("vt", "nsvt", "af_onset", "pause", "brady", "tachy", "st", "lead_off")
_SEVERITIES = ("info", "warning", "critical")


def alert(i: int, patient: str = "p01") -> Alert:
    """Alert number ``i`` of ``patient`` (its id is stable: same i, same id)."""
    kind = _TYPES[i % len(_TYPES)]
    start = T0_MS + 1000 * i
    return Alert(id=alert_id(patient, kind, start), seq=i, patient=patient, type=kind,
                 severity=_SEVERITIES[i % 3], start_ms=start, end_ms=start + 4000,
                 num={"hr_bpm": 100 + i % 90, "duration_ms": 4000})  # fmt: skip


def alert_payload(i: int, patient: str = "p01") -> bytes:
    return encode_alert(alert(i, patient))


def summary_payload(hour: int, patient: str = "p01", kind: str = "hourly") -> bytes:
    start = T0_MS + 3_600_000 * hour
    return encode_summary(Summary(patient=patient, kind=kind, seq=hour, start_ms=start,
                                  end_ms=start + 3_600_000,
                                  num={"beats": 4000 + hour, "hr_mean_bpm": 66.5}))  # fmt: skip


def strip_payload(i: int, patient: str = "p01") -> bytes:
    a = alert(i, patient)
    n = 250
    samples = [((k * 37 + lead * 11) % 400) - 200 for k in range(n) for lead in range(2)]
    return encode_strip(Strip(alert_id=a.id, patient=patient, start_ms=a.start_ms - 5000,
                              fs_hz=250.0, leads=("MLII", "V1"), units_per_mv=1000,
                              samples=samples, beats=((10, "N"), (200, "V"))))  # fmt: skip


def status_payload(gateway: str, state: str, ts_ms: int) -> bytes:
    return encode_status(Status(gateway=gateway, state=state, ts_ms=ts_ms))
