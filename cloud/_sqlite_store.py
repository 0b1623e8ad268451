"""SQLite backend: the embedded default (WAL journal, durable commits).

``synchronous=FULL`` so a committed alert survives a power cut: the worker
acknowledges a message once the call returns (DESIGN.md). Writers take the
database lock up front (``BEGIN IMMEDIATE``) and wait up to
:data:`BUSY_TIMEOUT_S` for each other, so several processes can share one file.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator, Sequence
from typing import Any

from cloud._exceptions import StoreError, StoreUnavailableError
from cloud._migrations import Migration
from cloud._sql_store import COLUMNS, SqlStore
from cloud._store import StoreSettings

#: How long a writer waits for another writer's lock, seconds.
BUSY_TIMEOUT_S = 30.0

_INSERT_MANY = (
    f"INSERT INTO alerts ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))}) "
    "ON CONFLICT (id) DO NOTHING"
)


def _set_wal(conn: sqlite3.Connection) -> None:
    """Switch to WAL, waiting up to ``BUSY_TIMEOUT_S`` for other openers.

    Changing the journal mode needs an exclusive lock, and SQLite answers
    "database is locked" at once (the busy timeout does not apply) while
    another connection is doing the same: seen with concurrent migrators.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class SqliteStore(SqlStore):
    """The store in one SQLite file (``sqlite:///path``; ``sqlite:///:memory:`` for tests)."""

    def __init__(self, settings: StoreSettings) -> None:
        super().__init__(settings)
        path = settings.sqlite_path
        try:
            self._conn: sqlite3.Connection | None = sqlite3.connect(
                path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
            )
            if path != ":memory:":
                _set_wal(self._conn)
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        except sqlite3.Error as exc:
            raise StoreUnavailableError(f"cannot open the SQLite store {path!r}: {exc}") from exc

    @property
    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError("the store is closed")
        return self._conn

    @contextlib.contextmanager
    def _transaction(self, write: bool = True) -> Iterator[None]:
        conn = self._connection
        try:
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite could not start a transaction: {exc}") from exc
        try:
            yield
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise StoreError(f"SQLite could not commit: {exc}") from exc

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        try:
            return self._connection.execute(sql, tuple(params))
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite failed: {exc}") from exc

    def _insert_batch(self, rows: list[tuple[Any, ...]]) -> int:
        try:
            return int(self._connection.executemany(_INSERT_MANY, rows).rowcount)
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite failed a batch insert: {exc}") from exc

    def _execute_many(self, sql: str, rows: list[tuple[Any, ...]]) -> int:
        try:
            return int(self._connection.executemany(sql, rows).rowcount)
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite failed a batch write: {exc}") from exc

    def _lock_migrations(self) -> None:
        """Nothing to do: ``BEGIN IMMEDIATE`` already holds the only write lock."""

    def _table_exists(self, name: str) -> bool:
        row = self._execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
        ).fetchone()
        return row is not None

    def _statements(self, migration: Migration) -> tuple[str, ...]:
        return migration.sqlite

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
