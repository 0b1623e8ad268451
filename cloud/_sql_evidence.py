"""The SQL of what the worker stores besides alerts: summaries, strips, gateway status.

Written once with ``?`` placeholders for both backends (as in
:mod:`cloud._sql_store`, which mixes :class:`EvidenceSql` into its store). Every
write is idempotent: a redelivered summary hits the unique key (site, gateway,
patient, kind, start), a redelivered strip its alert id, and a gateway status
replaces the stored one only when it is newer (by the gateway's ``ts``).
Rows are written in key order so concurrent workers never deadlock.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Sequence
from typing import Any

from cloud._exceptions import StoreConfigError
from cloud._records import (
    BatchResult,
    GatewayStatusRecord,
    StripRecord,
    SummaryRecord,
    check_topic_level,
    num_json,
)

_SUMMARY_COLUMNS = ("site", "gateway", "patient", "kind", "seq", "start_ms", "end_ms", "num",
                    "received_ms")  # fmt: skip
_STRIP_COLUMNS = ("alert_id", "site", "gateway", "patient", "start_ms", "payload", "received_ms")
_STATUS_COLUMNS = ("site", "gateway", "state", "ts_ms", "received_ms")


def _insert(table: str, columns: Sequence[str], conflict: str) -> str:
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
        f"ON CONFLICT ({conflict}) DO NOTHING"
    )


INSERT_SUMMARY = _insert("summaries", _SUMMARY_COLUMNS, "site, gateway, patient, kind, start_ms")
INSERT_STRIP = _insert("strips", _STRIP_COLUMNS, "alert_id")
UPSERT_STATUS = (
    f"INSERT INTO gateway_status ({', '.join(_STATUS_COLUMNS)}) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (site, gateway) DO UPDATE SET state = excluded.state, "
    "ts_ms = excluded.ts_ms, received_ms = excluded.received_ms "
    "WHERE excluded.ts_ms > gateway_status.ts_ms"
)
_SELECT_SUMMARIES = f"SELECT {', '.join(_SUMMARY_COLUMNS)} FROM summaries"
_SELECT_STRIP = f"SELECT {', '.join(_STRIP_COLUMNS)} FROM strips WHERE alert_id = ?"
_SELECT_STATUS = f"SELECT {', '.join(_STATUS_COLUMNS)} FROM gateway_status"


def _check(kind: type, items: Sequence[Any], name: str) -> None:
    for item in items:
        if not isinstance(item, kind):
            raise StoreConfigError(f"{name} must hold {kind.__name__}, got {type(item).__name__}")


class EvidenceSql:
    """Summaries, strips and gateway statuses: writes inside the caller's
    transaction (:meth:`_write_evidence`), reads on their own."""

    _lock: Any

    # backend hooks (see cloud._sql_store.SqlStore)
    def _transaction(self, write: bool = True) -> contextlib.AbstractContextManager[None]:
        raise NotImplementedError

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        raise NotImplementedError

    def _execute_many(self, sql: str, rows: list[tuple[Any, ...]]) -> int:
        raise NotImplementedError

    # -- writes (inside the caller's transaction) --------------------------------------
    def _write_evidence(
        self,
        summaries: Sequence[SummaryRecord],
        strips: Sequence[StripRecord],
        statuses: Sequence[GatewayStatusRecord],
        received_ms: int,
    ) -> tuple[BatchResult, BatchResult, BatchResult]:
        _check(SummaryRecord, summaries, "summaries")
        _check(StripRecord, strips, "strips")
        _check(GatewayStatusRecord, statuses, "statuses")
        summary_rows = sorted(
            (s.site, s.gateway, s.patient, s.kind, s.seq, s.start_ms, s.end_ms, num_json(s.num),
             received_ms)
            for s in summaries
        )  # fmt: skip
        strip_rows = sorted(
            (s.alert_id, s.site, s.gateway, s.patient, s.start_ms, s.payload, received_ms)
            for s in strips
        )
        status_rows = sorted((s.site, s.gateway, s.state, s.ts_ms, received_ms) for s in statuses)
        results = []
        for sql, rows in ((INSERT_SUMMARY, summary_rows), (INSERT_STRIP, strip_rows),
                          (UPSERT_STATUS, status_rows)):  # fmt: skip
            inserted = self._execute_many(sql, rows) if rows else 0
            results.append(BatchResult(submitted=len(rows), inserted=inserted))
        return results[0], results[1], results[2]

    def _delete_evidence_before(self, cutoff_ms: int) -> int:
        deleted = self._execute("DELETE FROM summaries WHERE start_ms < ?", (cutoff_ms,)).rowcount
        deleted += self._execute("DELETE FROM strips WHERE start_ms < ?", (cutoff_ms,)).rowcount
        return int(deleted)

    # -- reads ------------------------------------------------------------------------
    def get_strip(self, alert_id: str) -> StripRecord | None:
        """The strip of this alert, or ``None`` (:meth:`StripRecord.decode` for the samples)."""
        with self._lock, self._transaction(write=False):
            row = self._execute(_SELECT_STRIP, (alert_id,)).fetchone()
        if row is None:
            return None
        return StripRecord(alert_id=row[0], site=row[1], gateway=row[2], patient=row[3],
                           start_ms=int(row[4]), payload=bytes(row[5]),
                           received_ms=int(row[6]))  # fmt: skip

    def list_summaries(
        self,
        site: str,
        patient: str,
        *,
        kind: str | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> tuple[SummaryRecord, ...]:
        """A patient's summaries starting in ``[start_ms, end_ms)``, oldest first."""
        sql = f"{_SELECT_SUMMARIES} WHERE site = ? AND patient = ?"
        params: list[Any] = [site, patient]
        if kind is not None:
            sql += " AND kind = ?"
            params.append(kind)
        for name, value, op in (("start_ms", start_ms, ">="), ("end_ms", end_ms, "<")):
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int):
                raise StoreConfigError(f"{name} must be an integer (epoch ms) or None, got {value!r}")
            sql += f" AND start_ms {op} ?"
            params.append(value)
        sql += " ORDER BY start_ms, kind, gateway"
        with self._lock, self._transaction(write=False):
            rows = self._execute(sql, params).fetchall()
        return tuple(
            SummaryRecord(
                site=r[0], gateway=r[1], patient=r[2], kind=r[3], seq=int(r[4]),
                start_ms=int(r[5]), end_ms=int(r[6]),
                num=json.loads(r[7]) if isinstance(r[7], str | bytes) else r[7],
                received_ms=int(r[8]),
            )  # fmt: skip
            for r in rows
        )

    def gateway_statuses(self, sites: Iterable[str]) -> tuple[GatewayStatusRecord, ...]:
        """The last status of every gateway of these sites, by site then gateway."""
        if isinstance(sites, str):
            raise StoreConfigError("sites must be a collection of site ids, not one string")
        site_list = sorted({check_topic_level("site", s) for s in sites})
        if not site_list:
            return ()
        sql = (f"{_SELECT_STATUS} WHERE site IN ({', '.join('?' * len(site_list))}) "
               "ORDER BY site, gateway")  # fmt: skip
        with self._lock, self._transaction(write=False):
            rows = self._execute(sql, site_list).fetchall()
        return tuple(
            GatewayStatusRecord(site=r[0], gateway=r[1], state=r[2], ts_ms=int(r[3]),
                                received_ms=int(r[4]))  # fmt: skip
            for r in rows
        )
