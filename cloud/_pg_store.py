"""PostgreSQL backend (psycopg 3, the ``cloud`` extra).

Writes run at READ COMMITTED; a duplicate id is skipped by ``ON CONFLICT (id)
DO NOTHING``, so concurrent workers delivering the same alert store it once.
A batch is one ``INSERT ... SELECT FROM jsonb_array_elements(%s)``: the rows
travel as one JSON array (one round trip, and no per-element adaptation in
Python), in id order so two batches never deadlock.
Migrations take a transaction-scoped advisory lock, so workers starting
together migrate one at a time. Where the server offers TimescaleDB, migration
step 2 makes ``summaries`` a hypertable; otherwise (as here) plain tables serve.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Sequence
from typing import Any

from cloud._exceptions import StoreConfigError, StoreError, StoreUnavailableError
from cloud._migrations import Migration
from cloud._sql_store import COLUMNS, SqlStore
from cloud._store import StoreSettings, redact_url

try:
    import psycopg
except ImportError:  # pragma: no cover - depends on the installed extras
    psycopg = None  # type: ignore[assignment]

#: Seconds to wait for the server when connecting.
CONNECT_TIMEOUT_S = 10
#: Key of the advisory lock migrations hold ("holter" in ASCII).
_MIGRATION_LOCK_KEY = 0x686F6C746572

_TYPES = ("text", "text", "text", "text", "bigint", "text", "text", "smallint",
          "bigint", "bigint", "text", "bigint")  # fmt: skip
# The batch travels as one JSON array of rows (json.dumps is C code; psycopg's
# per-element array adaptation cost the worker about a third of its time).
_INSERT_BATCH = (
    f"INSERT INTO alerts ({', '.join(COLUMNS)}) "
    "SELECT " + ", ".join(
        f"(r->>{k})::{'jsonb' if c == 'num' else t}" for k, (c, t) in enumerate(zip(COLUMNS, _TYPES, strict=True))
    ) + " FROM jsonb_array_elements(%s::jsonb) AS r "
    "ON CONFLICT (id) DO NOTHING"
)


class PostgresStore(SqlStore):
    """The store in a PostgreSQL database (``postgresql://user@host:port/dbname``)."""

    def __init__(self, settings: StoreSettings) -> None:
        super().__init__(settings)
        if psycopg is None:
            raise StoreConfigError(
                "the PostgreSQL store needs psycopg 3: pip install 'holter-edge[cloud]'"
            )
        try:
            self._conn: Any = psycopg.connect(
                settings.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S
            )
        except psycopg.Error as exc:
            reason = " ".join(str(exc).split())
            raise StoreUnavailableError(
                f"cannot connect to {redact_url(settings.url)}: {reason}"
            ) from exc

    @property
    def _connection(self) -> Any:
        if self._conn is None:
            raise StoreError("the store is closed")
        return self._conn

    def _error(self, exc: Exception) -> StoreError:
        reason = " ".join(str(exc).split())
        if isinstance(exc, psycopg.OperationalError) and self._connection.closed:
            return StoreUnavailableError(f"lost the connection to PostgreSQL: {reason}")
        return StoreError(f"PostgreSQL failed: {reason}")

    @contextlib.contextmanager
    def _transaction(self, write: bool = True) -> Iterator[None]:
        try:
            with self._connection.transaction():
                yield
        except psycopg.Error as exc:
            raise self._error(exc) from exc

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        try:
            return self._connection.execute(sql.replace("?", "%s"), tuple(params))
        except psycopg.Error as exc:
            raise self._error(exc) from exc

    def _insert_batch(self, rows: list[tuple[Any, ...]]) -> int:
        try:
            return int(self._connection.execute(_INSERT_BATCH, (json.dumps(rows),)).rowcount)
        except psycopg.Error as exc:
            raise self._error(exc) from exc

    def _execute_many(self, sql: str, rows: list[tuple[Any, ...]]) -> int:
        try:
            with self._connection.cursor() as cursor:
                cursor.executemany(sql.replace("?", "%s"), rows)
                return int(cursor.rowcount)
        except psycopg.Error as exc:
            raise self._error(exc) from exc

    def _lock_migrations(self) -> None:
        self._execute("SELECT pg_advisory_xact_lock(?)", (_MIGRATION_LOCK_KEY,))

    def _table_exists(self, name: str) -> bool:
        row = self._execute("SELECT to_regclass(?)", (name,)).fetchone()
        return row[0] is not None

    def _statements(self, migration: Migration) -> tuple[str, ...]:
        return migration.postgresql

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
