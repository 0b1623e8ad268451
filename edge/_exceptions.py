"""The ``edge`` exception tree.

Standard library only: :mod:`edge._payload` (which ``cloud`` imports) raises
these, so this module must stay as light as the codec.

::

    EdgeError
    ├── PayloadError (ValueError)            a payload that cannot be encoded or decoded
    │   ├── MalformedPayloadError             not CBOR, wrong keys, wrong types, bad values
    │   ├── PayloadTooLargeError              over the size limit (encode or decode)
    │   └── UnsupportedSchemaError            a schema version this code does not read
    ├── OutboxError (OSError)                 the SQLite outbox failed
    │   └── OutboxFullError                   no room for an alert even after dropping
    │                                         every strip and summary
    ├── PublisherError
    │   ├── PublisherConfigError (ValueError) bad broker URL, TLS files, credentials
    │   └── PublisherClosedError              publish after close()
    └── ConfigError (ValueError)              a bad gateway configuration file

Input errors derive from :class:`ValueError` (the ``holter`` dispatcher prints
one line and exits 2); storage errors from :class:`OSError`.
"""

from __future__ import annotations


class EdgeError(Exception):
    """Base class of every error the gateway raises on purpose."""


class PayloadError(EdgeError, ValueError):
    """A payload cannot be encoded or decoded."""


class MalformedPayloadError(PayloadError):
    """The bytes are not a valid payload: not CBOR, wrong keys, types or values."""


class PayloadTooLargeError(PayloadError):
    """A payload exceeds its size limit (on encode or on decode)."""


class UnsupportedSchemaError(PayloadError):
    """The payload's schema version ``v`` is not one this code reads."""


class OutboxError(EdgeError, OSError):
    """The SQLite outbox failed (disk, corruption, closed)."""


class OutboxFullError(OutboxError):
    """No room for a message, even after dropping every droppable one."""


class PublisherError(EdgeError):
    """The MQTT publisher failed."""


class PublisherConfigError(PublisherError, ValueError):
    """The publisher's configuration is invalid (broker URL, TLS, credentials)."""


class PublisherClosedError(PublisherError):
    """The publisher was used after :meth:`close`."""


class ConfigError(EdgeError, ValueError):
    """The gateway configuration file is malformed or inconsistent (names file and key)."""


def one_line(exc: BaseException) -> str:
    """An exception as one line of text (whitespace folded; its type when it has no message)."""
    return " ".join(str(exc).split()) or type(exc).__name__
