"""The SQL both backends share: queries written once with ``?`` placeholders.

:class:`SqlStore` implements :class:`cloud._store.Store` on top of four hooks a
backend provides: ``_transaction()`` (a context manager committing on success),
``_execute(sql, params)`` returning a DB-API cursor, ``_insert_batch(rows)``
returning how many rows were inserted, and ``_lock_migrations()`` (serialise
concurrent migrators). PostgreSQL's adapter turns ``?`` into ``%s``.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterable, Sequence
from typing import Any

from cloud._exceptions import InvalidAlertError, MigrationError, StoreConfigError
from cloud._migrations import MIGRATIONS, MIGRATIONS_TABLE, SCHEMA_VERSION
from cloud._records import (
    AlertPage,
    AlertRecord,
    BatchResult,
    IngestBatch,
    IngestResult,
    UpsertResult,
)
from cloud._sql_evidence import EvidenceSql
from cloud._store import (
    StoreSettings,
    check_page_args,
    decode_cursor,
    encode_cursor,
    now_ms,
)

COLUMNS = (
    "id", "site", "gateway", "patient", "seq", "type", "severity", "severity_rank",
    "start_ms", "end_ms", "num", "received_ms",
)  # fmt: skip
_SELECT = f"SELECT {', '.join(COLUMNS)} FROM alerts"
_INBOX_ORDER = "severity_rank DESC, start_ms DESC, id DESC"
_INSERT = (
    f"INSERT INTO alerts ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))}) "
    "ON CONFLICT (id) DO NOTHING"
)


def alert_row(alert: AlertRecord, received_ms: int) -> tuple[Any, ...]:
    """The column values of ``alert`` in :data:`COLUMNS` order (``num`` as JSON text)."""
    if not isinstance(alert, AlertRecord):
        raise InvalidAlertError(f"expected an AlertRecord, got {type(alert).__name__}")
    return (
        alert.id, alert.site, alert.gateway, alert.patient, alert.seq, alert.type,
        alert.severity, alert.severity_rank, alert.start_ms, alert.end_ms,
        alert.num_json(), received_ms,
    )  # fmt: skip


def row_alert(row: Sequence[Any]) -> AlertRecord:
    """The :class:`AlertRecord` of a row selected in :data:`COLUMNS` order."""
    num = row[10]
    if isinstance(num, str | bytes):
        num = json.loads(num)
    return AlertRecord(
        id=row[0], site=row[1], gateway=row[2], patient=row[3], seq=int(row[4]), type=row[5],
        severity=row[6], start_ms=int(row[8]), end_ms=int(row[9]), num=num,
        received_ms=int(row[11]),
    )  # fmt: skip


class SqlStore(EvidenceSql):
    """Shared implementation of the store interface (see module docstring)."""

    settings: StoreSettings

    def __init__(self, settings: StoreSettings) -> None:
        self.settings = settings
        self._lock = threading.RLock()

    # -- backend hooks ---------------------------------------------------------
    def _transaction(self, write: bool = True) -> contextlib.AbstractContextManager[None]:
        raise NotImplementedError

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        raise NotImplementedError

    def _insert_batch(self, rows: list[tuple[Any, ...]]) -> int:
        raise NotImplementedError

    def _execute_many(self, sql: str, rows: list[tuple[Any, ...]]) -> int:
        raise NotImplementedError

    def _lock_migrations(self) -> None:
        raise NotImplementedError

    def _table_exists(self, name: str) -> bool:
        raise NotImplementedError

    def _statements(self, migration: Any) -> tuple[str, ...]:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    # -- context manager -----------------------------------------------------------
    def __enter__(self) -> SqlStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema --------------------------------------------------------------------
    def schema_version(self) -> int:
        with self._lock:
            if not self._table_exists("schema_migrations"):
                return 0
            row = self._execute("SELECT MAX(version) FROM schema_migrations").fetchone()
            return int(row[0] or 0)

    def migrate(self) -> int:
        applied = 0
        with self._lock:
            with self._transaction():
                self._lock_migrations()
                self._execute(MIGRATIONS_TABLE)
            for migration in sorted(MIGRATIONS, key=lambda m: m.version):
                with self._transaction():
                    self._lock_migrations()
                    done = self._execute(
                        "SELECT 1 FROM schema_migrations WHERE version = ?", (migration.version,)
                    ).fetchone()
                    if done:
                        continue
                    for statement in self._statements(migration):
                        self._execute(statement)
                    self._execute(
                        "INSERT INTO schema_migrations (version, name, applied_ms) VALUES (?, ?, ?)",
                        (migration.version, migration.name, now_ms()),
                    )
                    applied += 1
            version = self.schema_version()
        if version > SCHEMA_VERSION:
            raise MigrationError(
                f"the database is at schema version {version}; this code knows up to {SCHEMA_VERSION}"
            )
        return applied

    # -- writes ----------------------------------------------------------------------
    def upsert_alert(self, alert: AlertRecord) -> UpsertResult:
        row = alert_row(alert, now_ms())
        with self._lock, self._transaction():
            cursor = self._execute(_INSERT, row)
            inserted = cursor.rowcount == 1
        return UpsertResult.INSERTED if inserted else UpsertResult.DUPLICATE

    def insert_alerts(self, alerts: Sequence[AlertRecord]) -> BatchResult:
        received = now_ms()
        # one lock order for every writer (sorted ids), so two batches with the
        # same ids in a different order cannot deadlock on PostgreSQL
        rows = sorted((alert_row(a, received) for a in alerts), key=lambda row: row[0])
        if not rows:
            return BatchResult(submitted=0, inserted=0)
        with self._lock, self._transaction():
            inserted = self._insert_batch(rows)
        return BatchResult(submitted=len(rows), inserted=inserted)

    def ingest(self, batch: IngestBatch) -> IngestResult:
        received = now_ms()
        rows = sorted((alert_row(a, received) for a in batch.alerts), key=lambda row: row[0])
        with self._lock, self._transaction():
            inserted = self._insert_batch(rows) if rows else 0
            summaries, strips, statuses = self._write_evidence(
                batch.summaries, batch.strips, batch.statuses, received
            )
        return IngestResult(
            alerts=BatchResult(submitted=len(rows), inserted=inserted),
            summaries=summaries, strips=strips, statuses=statuses,
        )  # fmt: skip

    def apply_retention(self, *, at_ms: int | None = None) -> int:
        cutoff = self.settings.retention_cutoff_ms(now_ms() if at_ms is None else at_ms)
        if cutoff is None:
            return 0
        with self._lock, self._transaction():
            deleted = self._execute("DELETE FROM alerts WHERE start_ms < ?", (cutoff,)).rowcount
            return int(deleted) + self._delete_evidence_before(cutoff)

    # -- reads -----------------------------------------------------------------------
    def get_alert(self, alert_id: str) -> AlertRecord | None:
        with self._lock, self._transaction(write=False):
            row = self._execute(f"{_SELECT} WHERE id = ?", (alert_id,)).fetchone()
        return None if row is None else row_alert(row)

    def count_alerts(self) -> int:
        with self._lock, self._transaction(write=False):
            return int(self._execute("SELECT COUNT(*) FROM alerts").fetchone()[0])

    def list_alerts(
        self, sites: Iterable[str], *, limit: int = 50, cursor: str | None = None
    ) -> AlertPage:
        site_tuple = check_page_args(sites, limit)
        if not site_tuple:
            return AlertPage(alerts=(), next_cursor=None)
        keyset, keyset_params = "", []
        if cursor is not None:
            keyset = " AND (severity_rank, start_ms, id) < (?, ?, ?)"
            keyset_params = list(decode_cursor(cursor))
        # One index range scan per site (alerts_inbox), merged: a single
        # "site IN (...)" query makes PostgreSQL scan and sort every row of
        # those sites for each page.
        parts, params = [], []
        for k, site in enumerate(site_tuple):
            parts.append(
                f"SELECT * FROM ({_SELECT} WHERE site = ?{keyset} "
                f"ORDER BY {_INBOX_ORDER} LIMIT ?) AS s{k}"
            )
            params += [site, *keyset_params, limit + 1]
        if len(parts) == 1:
            sql = parts[0]
        else:
            sql = (
                f"SELECT * FROM ({' UNION ALL '.join(parts)}) AS u ORDER BY {_INBOX_ORDER} LIMIT ?"
            )
            params.append(limit + 1)
        with self._lock, self._transaction(write=False):
            rows = self._execute(sql, params).fetchall()
        alerts = tuple(row_alert(row) for row in rows[:limit])
        more = len(rows) > limit
        return AlertPage(alerts=alerts, next_cursor=encode_cursor(alerts[-1]) if more else None)

    def patient_timeline(
        self, site: str, patient: str, *, start_ms: int | None = None, end_ms: int | None = None
    ) -> tuple[AlertRecord, ...]:
        for name, value in (("start_ms", start_ms), ("end_ms", end_ms)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise StoreConfigError(
                    f"{name} must be an integer (epoch ms) or None, got {value!r}"
                )
        sql = f"{_SELECT} WHERE site = ? AND patient = ?"
        params: list[Any] = [site, patient]
        if start_ms is not None:
            sql += " AND start_ms >= ?"
            params.append(start_ms)
        if end_ms is not None:
            sql += " AND start_ms < ?"
            params.append(end_ms)
        sql += " ORDER BY start_ms, id"
        with self._lock, self._transaction(write=False):
            rows = self._execute(sql, params).fetchall()
        return tuple(row_alert(row) for row in rows)
