"""Device and file input: readers for WFDB, EDF/EDF+ and ISHNE Holter files, and
the live device frame protocol (sync, sequence numbers, CRC, gap events), plus a
device simulator. Everything yields the same chunk type to the edge pipeline.

Imports neither ``edge`` nor ``cloud``. (Built in the firmware_bridge issue; for
now a WFDB reader.)
"""

from firmware_bridge._chunk import Chunk
from firmware_bridge._exceptions import BridgeError, RecordFormatError
from firmware_bridge._wfdb import (
    MAX_FS_HZ,
    MIN_FS_HZ,
    RecordInfo,
    iter_wfdb_chunks,
    open_wfdb,
)

__all__ = [
    "BridgeError",
    "Chunk",
    "MAX_FS_HZ",
    "MIN_FS_HZ",
    "RecordFormatError",
    "RecordInfo",
    "iter_wfdb_chunks",
    "open_wfdb",
]
