"""Cloud aggregator: shared-subscription MQTT workers, the idempotent alert store
(PostgreSQL; SQLite embedded), REST API, dashboard and FHIR export. Shares only
the payload codec with ``edge``; never runs ``dsp`` or ``models``.
(Built in the cloud issue.)
"""

from cloud._exceptions import (
    CloudError,
    InvalidAlertError,
    MigrationError,
    StoreConfigError,
    StoreError,
    StoreUnavailableError,
)
from cloud._migrations import SCHEMA_VERSION
from cloud._records import SEVERITY_RANK, AlertPage, AlertRecord, BatchResult, UpsertResult
from cloud._store import DB_URL_ENV, RETENTION_ENV, Store, StoreSettings, open_store

__all__ = [
    "AlertPage",
    "AlertRecord",
    "BatchResult",
    "CloudError",
    "DB_URL_ENV",
    "InvalidAlertError",
    "MigrationError",
    "RETENTION_ENV",
    "SCHEMA_VERSION",
    "SEVERITY_RANK",
    "Store",
    "StoreConfigError",
    "StoreError",
    "StoreSettings",
    "StoreUnavailableError",
    "UpsertResult",
    "open_store",
]
