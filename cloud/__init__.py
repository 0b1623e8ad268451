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
    WorkerConfigError,
)
from cloud._ingest import RejectReason, Rejection, classify
from cloud._migrations import SCHEMA_VERSION
from cloud._records import (
    SEVERITY_RANK,
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
from cloud._store import DB_URL_ENV, RETENTION_ENV, Store, StoreSettings, open_store
from cloud._worker import Worker, WorkerStats
from cloud._worker_config import WorkerConfig, load_config

__all__ = [
    "AlertPage",
    "AlertRecord",
    "BatchResult",
    "CloudError",
    "DB_URL_ENV",
    "GatewayStatusRecord",
    "IngestBatch",
    "IngestResult",
    "InvalidAlertError",
    "MigrationError",
    "RETENTION_ENV",
    "RejectReason",
    "Rejection",
    "SCHEMA_VERSION",
    "SEVERITY_RANK",
    "Store",
    "StoreConfigError",
    "StoreError",
    "StoreSettings",
    "StoreUnavailableError",
    "StripRecord",
    "SummaryRecord",
    "UpsertResult",
    "Worker",
    "WorkerConfig",
    "WorkerConfigError",
    "WorkerStats",
    "classify",
    "load_config",
    "open_store",
]
