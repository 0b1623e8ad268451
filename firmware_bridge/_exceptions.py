"""The firmware_bridge exception tree.

::

    BridgeError
     └── RecordFormatError (also a ValueError)

A record that is missing altogether raises the built-in ``FileNotFoundError``
naming the path. Input errors derive from ``ValueError`` so that the ``holter``
command reports them in one line with exit status 2.
"""

from __future__ import annotations

__all__ = ["BridgeError", "RecordFormatError"]


class BridgeError(Exception):
    """Base class of every error raised by :mod:`firmware_bridge`."""


class RecordFormatError(BridgeError, ValueError):
    """A record exists but cannot be used: unreadable header, no samples, or a
    sampling frequency outside the supported range. The message names the file
    and the offending value."""
