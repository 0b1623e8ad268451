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

# Step 3, the review side of the dashboard and API (cloud/_review_store.py):
# users and their sites, API tokens (SHA-256 only), acknowledgements, comments
# and the audit trail. No foreign keys to alerts: retention deletes alerts, and
# the audit trail must outlive them.
_REVIEW_TABLES = (
    "CREATE TABLE IF NOT EXISTS users ("
    " name TEXT PRIMARY KEY, role TEXT NOT NULL, password_hash TEXT NOT NULL,"
    " created_ms BIGINT NOT NULL, disabled SMALLINT NOT NULL DEFAULT 0)",
    "CREATE TABLE IF NOT EXISTS user_sites ("
    " user_name TEXT NOT NULL, site TEXT NOT NULL, PRIMARY KEY (user_name, site))",
    "CREATE TABLE IF NOT EXISTS api_tokens ("
    " token_sha256 TEXT PRIMARY KEY, user_name TEXT NOT NULL, label TEXT NOT NULL,"
    " created_ms BIGINT NOT NULL, revoked_ms BIGINT)",
    "CREATE INDEX IF NOT EXISTS api_tokens_user ON api_tokens (user_name)",
    "CREATE TABLE IF NOT EXISTS alert_acks ("
    " alert_id TEXT PRIMARY KEY, user_name TEXT NOT NULL, acked_ms BIGINT NOT NULL)",
)
_REVIEW_LOGS = """
CREATE TABLE IF NOT EXISTS alert_comments (
    id {serial}, alert_id TEXT NOT NULL, user_name TEXT NOT NULL,
    created_ms BIGINT NOT NULL, body TEXT NOT NULL)
;CREATE INDEX IF NOT EXISTS alert_comments_alert ON alert_comments (alert_id, id)
;CREATE TABLE IF NOT EXISTS audit_log (
    id {serial}, at_ms BIGINT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
    site TEXT, alert_id TEXT, detail TEXT NOT NULL)
;CREATE INDEX IF NOT EXISTS audit_log_alert ON audit_log (alert_id, id)
;CREATE INDEX IF NOT EXISTS audit_log_site ON audit_log (site, id)
"""


def _review_statements(serial: str) -> tuple[str, ...]:
    logs = tuple(sql.strip() for sql in _REVIEW_LOGS.format(serial=serial).split(";"))
    return _REVIEW_TABLES + logs


# Step 2, what the MQTT worker stores besides alerts (cloud/_worker.py).
def _evidence_tables(*, json: str, blob: str) -> tuple[str, ...]:
    return (
        # hourly and whole-recording summaries; a redelivery hits the unique key
        "CREATE TABLE IF NOT EXISTS summaries ("
        " site TEXT NOT NULL, gateway TEXT NOT NULL, patient TEXT NOT NULL,"
        " kind TEXT NOT NULL, seq BIGINT NOT NULL, start_ms BIGINT NOT NULL,"
        f" end_ms BIGINT NOT NULL, num {json} NOT NULL, received_ms BIGINT NOT NULL,"
        " UNIQUE (site, gateway, patient, kind, start_ms))",
        "CREATE INDEX IF NOT EXISTS summaries_patient ON summaries (site, patient, start_ms)",
        "CREATE INDEX IF NOT EXISTS summaries_start ON summaries (start_ms)",
        # the ECG evidence of one alert: the CBOR payload as sent
        "CREATE TABLE IF NOT EXISTS strips ("
        " alert_id TEXT PRIMARY KEY, site TEXT NOT NULL, gateway TEXT NOT NULL,"
        " patient TEXT NOT NULL, start_ms BIGINT NOT NULL,"
        f" payload {blob} NOT NULL, received_ms BIGINT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS strips_start ON strips (start_ms)",
        # the last status each gateway reported
        "CREATE TABLE IF NOT EXISTS gateway_status ("
        " site TEXT NOT NULL, gateway TEXT NOT NULL, state TEXT NOT NULL,"
        " ts_ms BIGINT NOT NULL, received_ms BIGINT NOT NULL, PRIMARY KEY (site, gateway))",
    )


# Where the server offers TimescaleDB, summaries become a hypertable on start_ms
# (chunks of 7 days of epoch ms). Alerts stay a plain table: their primary key
# (id) does not include the time column, which a hypertable requires. Where the
# extension is not available (pg_available_extensions) or cannot be created (not
# preloaded, no privilege), the block does nothing and the plain tables serve.
_TIMESCALE_SUMMARIES = """
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb') THEN
        BEGIN
            CREATE EXTENSION IF NOT EXISTS timescaledb;
            PERFORM create_hypertable('summaries', 'start_ms',
                chunk_time_interval => 604800000, if_not_exists => TRUE,
                migrate_data => TRUE);
        EXCEPTION WHEN OTHERS THEN
            RAISE NOTICE USING MESSAGE = 'TimescaleDB not used: ' || SQLERRM;
        END;
    END IF;
END
$$
"""


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "alerts",
        sqlite=(f"CREATE TABLE IF NOT EXISTS alerts ({_ALERTS_COLUMNS.format(json='TEXT')})",)
        + _ALERT_INDEXES,
        postgresql=(f"CREATE TABLE IF NOT EXISTS alerts ({_ALERTS_COLUMNS.format(json='JSONB')})",)
        + _ALERT_INDEXES,
    ),
    Migration(
        2,
        "summaries, strips, gateway status",
        sqlite=_evidence_tables(json="TEXT", blob="BLOB"),
        postgresql=_evidence_tables(json="JSONB", blob="BYTEA") + (_TIMESCALE_SUMMARIES,),
    ),
    Migration(
        3,
        "review: users, sites, API tokens, acknowledgements, comments, audit",
        sqlite=_review_statements("INTEGER PRIMARY KEY AUTOINCREMENT"),
        postgresql=_review_statements("BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"),
    ),
)

#: The schema version this code writes and reads (the highest step: steps are
#: applied in version order, each once, so a missing number is no problem).
SCHEMA_VERSION = max(m.version for m in MIGRATIONS)

MIGRATIONS_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_ms BIGINT NOT NULL)"
)
