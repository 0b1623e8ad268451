"""Versioned schema migrations, one numbered step per change, per backend.

Each step runs in its own transaction and is recorded in ``schema_migrations``
(version, name, applied_ms), so running the migrations again does nothing and
a half-applied step never stays behind. The two backends get the same tables
and indexes; only the types differ (``JSONB`` / ``TEXT`` for ``num``).

Append new steps at the end; never edit a released one.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    """One schema step: its number, a name, and the statements for each backend."""

    version: int
    name: str
    sqlite: tuple[str, ...]
    postgresql: tuple[str, ...]


_ALERTS_COLUMNS = """
    id            TEXT PRIMARY KEY,
    site          TEXT NOT NULL,
    gateway       TEXT NOT NULL,
    patient       TEXT NOT NULL,
    seq           BIGINT NOT NULL,
    type          TEXT NOT NULL,
    severity      TEXT NOT NULL,
    severity_rank SMALLINT NOT NULL,
    start_ms      BIGINT NOT NULL,
    end_ms        BIGINT NOT NULL,
    num           {json} NOT NULL,
    received_ms   BIGINT NOT NULL
"""

_ALERT_INDEXES = (
    # the inbox: per site, most severe then newest first (keyset paging)
    "CREATE INDEX IF NOT EXISTS alerts_inbox ON alerts (site, severity_rank DESC, start_ms DESC, id DESC)",
    # a patient's timeline
    "CREATE INDEX IF NOT EXISTS alerts_timeline ON alerts (site, patient, start_ms)",
    # retention
    "CREATE INDEX IF NOT EXISTS alerts_start ON alerts (start_ms)",
)

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "alerts",
        sqlite=(f"CREATE TABLE IF NOT EXISTS alerts ({_ALERTS_COLUMNS.format(json='TEXT')})",)
        + _ALERT_INDEXES,
        postgresql=(f"CREATE TABLE IF NOT EXISTS alerts ({_ALERTS_COLUMNS.format(json='JSONB')})",)
        + _ALERT_INDEXES,
    ),
)

#: The schema version this code writes and reads.
SCHEMA_VERSION = MIGRATIONS[-1].version

MIGRATIONS_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_ms BIGINT NOT NULL)"
)
