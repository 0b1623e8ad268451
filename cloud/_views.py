"""What the API and the dashboard show, computed once for both: scoped look-ups,
JSON shapes of alerts, strips and audit lines, the patient timeline and report.

Scoping rule: a user sees an alert, a strip, a patient or an audit line only
when its site is one of the user's sites; anything else is "not found" (the
caller answers 404, never 403, so the existence of other sites' data does
not leak).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from cloud._fhir import TYPE_TEXT
from cloud._records import AlertRecord
from cloud._review_store import Acknowledgement, AuditEntry, Comment, ReviewStore, User

#: ``risk_level`` index of the recording summary and of risk_rise alerts -> name
#: (the gateway's order: edge/_pipeline.py RISK_LEVELS).
RISK_LEVELS = ("low", "intermediate", "high")


class NotFound(LookupError):
    """The thing does not exist, or the caller may not see it (same answer on purpose)."""


class Views:
    """Read models over the alert store and the review store (see module docstring)."""

    def __init__(self, store: Any, review: ReviewStore) -> None:
        self.store = store
        self.review = review

    # -- scoped look-ups ---------------------------------------------------------
    def alert(self, user: User, alert_id: str) -> AlertRecord:
        alert = self.store.get_alert(alert_id) if isinstance(alert_id, str) and len(alert_id) <= 64 else None
        if alert is None or alert.site not in user.sites:
            raise NotFound(f"no alert {alert_id!r:.80}")
        return alert

    def check_site(self, user: User, site: str) -> None:
        if site not in user.sites:
            raise NotFound(f"no patient at site {site!r:.80}")

    def strip(self, alert: AlertRecord) -> Any | None:
        """The decoded strip of an alert (``edge._payload_evidence.Strip``) or ``None``."""
        get_strip = getattr(self.store, "get_strip", None)
        record = get_strip(alert.id) if get_strip is not None else None
        if record is None or getattr(record, "site", alert.site) != alert.site:
            return None
        return record.decode() if hasattr(record, "decode") else record

    def summaries(self, site: str, patient: str, kind: str) -> tuple[Any, ...]:
        """A patient's summaries of one kind (``hourly``/``recording``), oldest first."""
        list_summaries = getattr(self.store, "list_summaries", None)
        if list_summaries is None:
            return ()
        rows = list_summaries(site, patient, kind=kind)
        return tuple(sorted(rows, key=lambda s: (s.start_ms, s.seq)))

    # -- JSON shapes ---------------------------------------------------------------
    @staticmethod
    def alert_json(alert: AlertRecord, ack: Acknowledgement | None = None) -> dict[str, Any]:
        return {
            "id": alert.id, "site": alert.site, "gateway": alert.gateway,
            "patient": alert.patient, "seq": alert.seq, "type": alert.type,
            "type_text": TYPE_TEXT.get(alert.type, alert.type), "severity": alert.severity,
            "start_ms": alert.start_ms, "end_ms": alert.end_ms, "num": dict(alert.num),
            "received_ms": alert.received_ms,
            "acknowledged": None if ack is None else {"user": ack.user, "at_ms": ack.acked_ms},
        }  # fmt: skip

    @staticmethod
    def comment_json(comment: Comment) -> dict[str, Any]:
        return {"id": comment.id, "user": comment.user, "at_ms": comment.created_ms,
                "body": comment.body}  # fmt: skip

    @staticmethod
    def audit_json(entry: AuditEntry) -> dict[str, Any]:
        return asdict(entry)

    @staticmethod
    def strip_json(strip: Any) -> dict[str, Any]:
        """Samples in mV per lead, beats with their offsets in samples and seconds."""
        return {
            "alert_id": strip.alert_id, "start_ms": strip.start_ms, "fs_hz": strip.fs_hz,
            "units_per_mv": strip.units_per_mv, "leads": list(strip.leads),
            "n_samples": strip.n_samples,
            "samples_mv": [strip.lead_mv(k) for k in range(len(strip.leads))],
            "beats": [{"offset_samples": o, "time_s": round(o / strip.fs_hz, 4), "symbol": s}
                      for o, s in strip.beats],
        }  # fmt: skip

    # -- pages of data ---------------------------------------------------------------
    def inbox(self, user: User, *, limit: int, cursor: str | None) -> dict[str, Any]:
        page = self.store.list_alerts(user.sites, limit=limit, cursor=cursor)
        acks = self.review.acknowledgements([a.id for a in page.alerts])
        return {"alerts": [self.alert_json(a, acks.get(a.id)) for a in page.alerts],
                "next_cursor": page.next_cursor}  # fmt: skip

    def alert_detail(self, user: User, alert_id: str) -> dict[str, Any]:
        alert = self.alert(user, alert_id)
        ack = self.review.acknowledgements([alert.id]).get(alert.id)
        out = self.alert_json(alert, ack)
        out["has_strip"] = self.strip(alert) is not None
        out["comments"] = [self.comment_json(c) for c in self.review.comments(alert.id)]
        out["audit"] = [self.audit_json(e) for e in self.review.alert_audit(alert.id)]
        return out

    def timeline(self, user: User, site: str, patient: str, *,
                 start_ms: int | None = None, end_ms: int | None = None) -> dict[str, Any]:  # fmt: skip
        """Heart rate per hour (hourly summaries), the alerts, and the risk level."""
        self.check_site(user, site)
        alerts = self.store.patient_timeline(site, patient, start_ms=start_ms, end_ms=end_ms)
        hourly = [
            s for s in self.summaries(site, patient, "hourly")
            if (start_ms is None or s.start_ms >= start_ms) and (end_ms is None or s.start_ms < end_ms)
        ]
        recordings = self.summaries(site, patient, "recording")
        if not alerts and not hourly and not recordings:
            raise NotFound(f"no patient {patient!r:.80} at site {site!r:.80}")
        heart_rate = [
            {"start_ms": s.start_ms, "end_ms": s.end_ms,
             **{k: v for k, v in s.num.items() if k.startswith("hr_") or k in ("beats", "v_beats", "s_beats")}}
            for s in hourly
        ]  # fmt: skip
        acks = self.review.acknowledgements([a.id for a in alerts])
        return {
            "site": site, "patient": patient, "heart_rate": heart_rate,
            "events": [self.alert_json(a, acks.get(a.id)) for a in alerts],
            "risk": self.risk(recordings, alerts),
            "has_report": bool(recordings),
        }  # fmt: skip

    @staticmethod
    def risk(recordings: Sequence[Any], alerts: Sequence[AlertRecord]) -> dict[str, Any]:
        """The latest risk level: the recording summary's, else the last risk_rise alert's."""
        for summary in reversed(recordings):
            level = summary.num.get("risk_level")
            if isinstance(level, int) and 0 <= level < len(RISK_LEVELS):
                return {"level": RISK_LEVELS[level], "source": "recording summary",
                        "points": summary.num.get("risk_points"),
                        "model_probability": summary.num.get("model_probability")}  # fmt: skip
        for alert in reversed(alerts):
            level = alert.num.get("level")
            if alert.type == "risk_rise" and isinstance(level, int) and 0 <= level < len(RISK_LEVELS):
                return {"level": RISK_LEVELS[level], "source": f"risk_rise alert {alert.id}",
                        "points": alert.num.get("points"), "model_probability": None}  # fmt: skip
        return {"level": "unknown", "source": "no risk assessment received yet",
                "points": None, "model_probability": None}  # fmt: skip

    def report(self, user: User, site: str, patient: str) -> tuple[Any, tuple[AlertRecord, ...]]:
        """The latest ``recording`` summary of a patient and the alerts of its period."""
        self.check_site(user, site)
        recordings = self.summaries(site, patient, "recording")
        if not recordings:
            raise NotFound(f"no 24-hour report of patient {patient!r:.80} at site {site!r:.80}")
        summary = recordings[-1]
        alerts = self.store.patient_timeline(
            site, patient, start_ms=summary.start_ms, end_ms=summary.end_ms + 1
        )
        return summary, alerts

    @staticmethod
    def report_json(site: str, patient: str, summary: Any, alerts: Sequence[AlertRecord]) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for alert in alerts:
            counts[alert.type] = counts.get(alert.type, 0) + 1
        return {
            "site": site, "patient": patient, "start_ms": summary.start_ms,
            "end_ms": summary.end_ms, "num": dict(summary.num),
            "risk": Views.risk([summary], alerts), "alert_counts": counts,
        }  # fmt: skip
