"""The ``cloud`` exception tree.

::

    CloudError
    ├── InvalidAlertError (ValueError)      an alert record that cannot be stored
    ├── StoreConfigError (ValueError)       a bad database URL or setting
    ├── WorkerConfigError (ValueError)      a bad worker config file (cloud.toml)
    ├── AuthConfigError (ValueError)        a bad user, password, site list or session key
    └── StoreError                          the database failed
        ├── StoreUnavailableError (OSError) cannot connect / the server went away
        └── MigrationError                  the schema cannot be brought up to date

Input errors derive from :class:`ValueError`, connection errors from
:class:`OSError`, so the ``holter`` dispatcher prints one line and exits 2.
Messages never contain a password (URLs are shown redacted).
"""

from __future__ import annotations


class CloudError(Exception):
    """Base class of every error raised by ``cloud``."""


class InvalidAlertError(CloudError, ValueError):
    """An alert record has a missing, mistyped or out-of-range field."""


class StoreConfigError(CloudError, ValueError):
    """The store's URL or settings are invalid (unknown scheme, negative retention, ...)."""


class AuthConfigError(CloudError, ValueError):
    """A user, password, site list, token or session key is missing or invalid."""


class WorkerConfigError(CloudError, ValueError):
    """The worker's config file is missing, not TOML, or holds a bad or unknown setting."""


class StoreError(CloudError):
    """The database refused or failed an operation."""


class StoreUnavailableError(StoreError, OSError):
    """The database cannot be reached (connection refused, server gone)."""


class MigrationError(StoreError):
    """The schema could not be migrated (or is newer than this code)."""
