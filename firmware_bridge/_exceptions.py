"""The firmware_bridge exception tree.

::

    BridgeError
     ├── RecordFormatError (also a ValueError)   a record exists but cannot be used
     │    ├── UnknownFormatError                 the content is no format we read
     │    ├── ChecksumError                      a stored CRC does not match the bytes
     │    └── TruncatedRecordError               the file ends before its header says
     ├── FrameError (also a ValueError)          a frame cannot be encoded as asked
     └── SourceError (also a ValueError)         a stream source/target URL is unusable,
                                                 or needs an optional package not installed

A record that is missing altogether raises the built-in ``FileNotFoundError``
naming the path; a refused connection raises the built-in ``OSError``. Input
errors derive from ``ValueError`` so that the ``holter`` command reports them
in one line with exit status 2.

Damaged *live* input never raises: the frame parser reports garbage, bad CRCs,
gaps and duplicates as events (see :mod:`firmware_bridge._frames`).
"""

from __future__ import annotations

__all__ = [
    "BridgeError",
    "ChecksumError",
    "FrameError",
    "RecordFormatError",
    "SourceError",
    "TruncatedRecordError",
    "UnknownFormatError",
]


class BridgeError(Exception):
    """Base class of every error raised by :mod:`firmware_bridge`."""


class RecordFormatError(BridgeError, ValueError):
    """A record exists but cannot be used: unreadable header, no samples, or a
    sampling frequency outside the supported range. The message names the file
    and the offending value."""


class UnknownFormatError(RecordFormatError):
    """The file's content is not a format this installation reads (the message
    gives the first bytes and, where it helps, the optional extra to install)."""


class ChecksumError(RecordFormatError):
    """A stored checksum (the ISHNE header CRC-16) does not match the bytes."""


class TruncatedRecordError(RecordFormatError):
    """The file ends before the samples its header declares.

    Attributes
    ----------
    samples_read : int
        Samples per lead that are present (whole frames only).
    samples_missing : int
        Samples per lead the header declares beyond the end of the file.
    """

    def __init__(self, message: str, samples_read: int = 0, samples_missing: int = 0) -> None:
        super().__init__(message)
        self.samples_read = int(samples_read)
        self.samples_missing = int(samples_missing)


class FrameError(BridgeError, ValueError):
    """A frame cannot be built from the values given (encoder input)."""


class SourceError(BridgeError, ValueError):
    """A stream source or target (``tcp://``, ``serial://``, ``-``) is malformed,
    or it needs an optional package that is not installed."""
