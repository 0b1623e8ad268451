"""The store interface every backend implements, its settings, and :func:`open_store`.

Two backends (DESIGN.md "Real components"): SQLite in WAL mode, the embedded
default that needs nothing set up, and PostgreSQL (psycopg 3, the ``cloud``
extra) for production and scale. Both hold the same tables (``cloud._migrations``)
and give the same answers; the tests run one suite over both.

The connection comes from configuration, never from the repository:
``HOLTER_CLOUD_DB_URL`` (``sqlite:///relative/path.db``, ``sqlite:////abs/path.db``
or ``postgresql://user@host:port/dbname``; a PostgreSQL password belongs in the
environment, ``PGPASSWORD`` or ``~/.pgpass``, which libpq reads), and
``HOLTER_CLOUD_RETENTION_DAYS`` (alerts whose event started longer ago are
deleted by :meth:`Store.apply_retention`; unset: kept forever).

A store object owns one connection and serialises its own calls with a lock;
give each worker process or thread its own store for parallel writes.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from cloud._exceptions import StoreConfigError
from cloud._records import (
    AlertPage,
    AlertRecord,
    BatchResult,
    GatewayStatusRecord,
    IngestBatch,
    IngestResult,
    StripRecord,
    SummaryRecord,
    UpsertResult,
)

#: Environment variable holding the database URL.
DB_URL_ENV = "HOLTER_CLOUD_DB_URL"
#: Environment variable holding the retention in days.
RETENTION_ENV = "HOLTER_CLOUD_RETENTION_DAYS"
#: Used when ``HOLTER_CLOUD_DB_URL`` is unset: a SQLite file in the working directory.
DEFAULT_DB_URL = "sqlite:///holter_cloud.sqlite3"
#: The largest inbox page.
MAX_PAGE_SIZE = 1000

_DAY_MS = 86_400_000


def now_ms() -> int:
    """The current UTC time in epoch milliseconds."""
    return time.time_ns() // 1_000_000


def redact_url(url: str) -> str:
    """The URL with any password replaced by ``***`` (for messages and logs)."""
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


@dataclass(frozen=True)
class StoreSettings:
    """Where the store lives and how long it keeps alerts.

    Parameters
    ----------
    url : str
        ``sqlite:///...`` or ``postgresql://...`` (``postgres://`` accepted).
    retention_days : float or None
        Alerts whose ``start_ms`` is older than this many days are deleted by
        :meth:`Store.apply_retention`; ``None`` keeps them forever.
    """

    url: str = DEFAULT_DB_URL
    retention_days: float | None = None

    def __post_init__(self) -> None:
        if self.backend not in ("sqlite", "postgresql"):
            raise StoreConfigError(
                f"database URL must start with sqlite:/// or postgresql://, got {redact_url(self.url)!r}"
            )
        days = self.retention_days
        if days is not None and (
            isinstance(days, bool) or not isinstance(days, int | float) or not days > 0
        ):
            raise StoreConfigError(
                f"retention_days must be a positive number of days, got {days!r}"
            )

    @property
    def backend(self) -> str:
        """``"sqlite"`` or ``"postgresql"`` (anything else is refused on construction)."""
        if self.url.startswith("sqlite:///"):
            return "sqlite"
        if self.url.startswith(("postgresql://", "postgres://")):
            return "postgresql"
        return "unknown"

    @property
    def sqlite_path(self) -> str:
        """The SQLite file path (``:memory:`` allowed) of a ``sqlite:///`` URL."""
        return self.url[len("sqlite:///") :]

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> StoreSettings:
        """Settings from ``HOLTER_CLOUD_DB_URL`` and ``HOLTER_CLOUD_RETENTION_DAYS``."""
        env = os.environ if environ is None else environ
        url = env.get(DB_URL_ENV) or DEFAULT_DB_URL
        raw = env.get(RETENTION_ENV, "").strip()
        days: float | None = None
        if raw:
            try:
                days = float(raw)
            except ValueError:
                raise StoreConfigError(
                    f"{RETENTION_ENV} must be a number of days, got {raw!r}"
                ) from None
        return cls(url=url, retention_days=days)

    def retention_cutoff_ms(self, at_ms: int) -> int | None:
        """Alerts starting before this instant are expired at ``at_ms`` (``None``: never)."""
        if self.retention_days is None:
            return None
        return at_ms - int(self.retention_days * _DAY_MS)


def encode_cursor(alert: AlertRecord) -> str:
    """The keyset cursor after ``alert`` in inbox order."""
    return f"{alert.severity_rank},{alert.start_ms},{alert.id}"


def decode_cursor(cursor: str) -> tuple[int, int, str]:
    """(severity_rank, start_ms, id) of a cursor from :func:`encode_cursor`."""
    try:
        rank, start, alert_id = cursor.split(",", 2)
        out = (int(rank), int(start), alert_id)
    except (AttributeError, ValueError):
        raise StoreConfigError(f"cursor is not one this store issued: {cursor!r:.80}") from None
    if not alert_id:
        raise StoreConfigError(f"cursor is not one this store issued: {cursor!r:.80}")
    return out


def check_page_args(sites: Iterable[str], limit: int) -> tuple[str, ...]:
    """Validate the inbox arguments; returns the sites as a sorted tuple."""
    if isinstance(sites, str):
        raise StoreConfigError("sites must be a collection of site ids, not one string")
    site_tuple = tuple(sorted(set(sites)))
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE_SIZE:
        raise StoreConfigError(f"limit must be an integer in [1, {MAX_PAGE_SIZE}], got {limit!r}")
    return site_tuple


@runtime_checkable
class Store(Protocol):
    """The alert store: idempotent writes by alert id, scoped reads.

    Every write is committed before the call returns, so a caller (the MQTT
    worker) may acknowledge a message as soon as the call has returned.
    """

    settings: StoreSettings

    def migrate(self) -> int:
        """Bring the schema up to date; returns the number of steps applied (0 when current)."""
        ...

    def schema_version(self) -> int:
        """The highest migration applied (0 on an empty database)."""
        ...

    def upsert_alert(self, alert: AlertRecord) -> UpsertResult:
        """Store ``alert`` unless its id is stored: a duplicate changes nothing."""
        ...

    def insert_alerts(self, alerts: Sequence[AlertRecord]) -> BatchResult:
        """Store many alerts in one transaction, skipping ids already stored."""
        ...

    def get_alert(self, alert_id: str) -> AlertRecord | None:
        """The stored alert with this id, or ``None``."""
        ...

    def ingest(self, batch: IngestBatch) -> IngestResult:
        """Store a worker's batch (alerts, summaries, strips, statuses) in one transaction.

        Idempotent: alerts by id, summaries by (site, gateway, patient, kind,
        start), strips by alert id; a gateway status replaces the stored one only
        when its ``ts_ms`` is newer.
        """
        ...

    def get_strip(self, alert_id: str) -> StripRecord | None:
        """The ECG strip of this alert, or ``None``."""
        ...

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
        ...

    def gateway_statuses(self, sites: Iterable[str]) -> tuple[GatewayStatusRecord, ...]:
        """The last status of every gateway of these sites, by site then gateway."""
        ...

    def list_alerts(
        self, sites: Iterable[str], *, limit: int = 50, cursor: str | None = None
    ) -> AlertPage:
        """The inbox of these sites: most severe first, then newest, then by id (keyset paging)."""
        ...

    def patient_timeline(
        self, site: str, patient: str, *, start_ms: int | None = None, end_ms: int | None = None
    ) -> tuple[AlertRecord, ...]:
        """A patient's alerts starting in ``[start_ms, end_ms)``, oldest first."""
        ...

    def count_alerts(self) -> int:
        """How many alerts are stored."""
        ...

    def apply_retention(self, *, at_ms: int | None = None) -> int:
        """Delete alerts, summaries and strips older than the retention setting.

        Returns how many rows were deleted (gateway statuses are kept).
        """
        ...

    def close(self) -> None:
        """Close the connection (idempotent)."""
        ...

    def __enter__(self) -> Store:
        """The store itself; ``with open_store(...) as store:`` closes it at the end."""
        ...

    def __exit__(self, *exc: object) -> None:
        """Close the store."""
        ...


def open_store(settings: StoreSettings | str | None = None, *, migrate: bool = True) -> Store:
    """Open the store the settings (or URL, or the environment) name.

    Parameters
    ----------
    settings : StoreSettings, str or None
        A URL, full settings, or ``None`` for :meth:`StoreSettings.from_env`.
    migrate : bool
        Bring the schema up to date first (default).

    Examples
    --------
    >>> store = open_store("sqlite:///:memory:")
    >>> store.count_alerts()
    0
    >>> store.close()
    """
    if settings is None:
        settings = StoreSettings.from_env()
    elif isinstance(settings, str):
        settings = StoreSettings(url=settings)
    store: Store
    if settings.backend == "sqlite":
        from cloud._sqlite_store import SqliteStore

        store = SqliteStore(settings)
    else:
        from cloud._pg_store import PostgresStore

        store = PostgresStore(settings)
    if migrate:
        try:
            store.migrate()
        except BaseException:
            store.close()
            raise
    return store
