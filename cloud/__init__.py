"""Cloud aggregator: shared-subscription MQTT workers, the idempotent alert store
(PostgreSQL; SQLite embedded), REST API, dashboard and FHIR export. Shares only
the payload codec with ``edge``; never runs ``dsp`` or ``models``.
(Built in the cloud issue.)
"""

from cloud._exceptions import (
    AuthConfigError,
    CloudError,
    InvalidAlertError,
    MigrationError,
    StoreConfigError,
    StoreError,
    StoreUnavailableError,
    WorkerConfigError,
)
from cloud._ingest import Rejection, RejectReason, classify
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
from cloud._review_store import ReviewStore, User
from cloud._store import DB_URL_ENV, RETENTION_ENV, Store, StoreSettings, open_store
from cloud._worker import Worker, WorkerStats
from cloud._worker_config import WorkerConfig, load_config

__all__ = [
    "AlertPage",
    "AlertRecord",
    "AuthConfigError",
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
    "ReviewStore",
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
    "User",
    "Worker",
    "WorkerConfig",
    "WorkerConfigError",
    "WorkerStats",
    "classify",
    "create_app",
    "load_config",
    "open_store",
]


def __getattr__(name: str):
    # create_app (holter cloud serve) needs FastAPI, from the cloud extra: imported on first use
    if name == "create_app":
        from cloud._api import create_app

        return create_app
    raise AttributeError(f"module 'cloud' has no attribute {name!r}")
