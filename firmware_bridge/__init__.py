"""Device and file input: readers for WFDB, EDF/EDF+ and ISHNE Holter files
(plus the formats of the optional ecgdatakit package), the ISHNE and EDF+
writers, and the live device frame protocol (sync, sequence numbers, CRC, gap
events) with its transports and a device simulator. Everything yields the same
:class:`Chunk` to the edge pipeline.

Imports neither ``edge`` nor ``cloud``.
"""

from firmware_bridge._assemble import GapStretch, StreamAssembler
from firmware_bridge._chunk import Chunk
from firmware_bridge._ecgdatakit import (
    ecgdatakit_available,
    iter_ecgdatakit_chunks,
    open_ecgdatakit,
)
from firmware_bridge._edf import iter_edf_chunks, open_edf, write_edf
from firmware_bridge._exceptions import (
    BridgeError,
    ChecksumError,
    FrameError,
    RecordFormatError,
    SourceError,
    TruncatedRecordError,
    UnknownFormatError,
)
from firmware_bridge._frames import (
    Duplicate,
    Frame,
    FrameEncoder,
    FrameParser,
    Gap,
    Restart,
    Resync,
    encode_frame,
)
from firmware_bridge._ishne import (
    WriteResult,
    iter_ishne_chunks,
    open_ishne,
    read_ishne_header,
    write_ishne,
)
from firmware_bridge._ishne_header import (
    IshneHeader,
    crc16_ccitt,
    pack_ishne_header,
    parse_ishne_header,
)
from firmware_bridge._open import (
    RecordFormat,
    detect_format,
    iter_chunks,
    iter_record_chunks,
    open_record,
)
from firmware_bridge._record import Annotation, RecordInfo
from firmware_bridge._transport import iter_frames, open_sink, open_source, parse_endpoint
from firmware_bridge._wfdb import MAX_FS_HZ, MIN_FS_HZ, iter_wfdb_chunks, open_wfdb

__all__ = [
    "Annotation",
    "BridgeError",
    "ChecksumError",
    "Chunk",
    "Duplicate",
    "Frame",
    "FrameEncoder",
    "FrameError",
    "FrameParser",
    "Gap",
    "GapStretch",
    "IshneHeader",
    "MAX_FS_HZ",
    "MIN_FS_HZ",
    "RecordFormat",
    "RecordFormatError",
    "RecordInfo",
    "Restart",
    "Resync",
    "SourceError",
    "StreamAssembler",
    "TruncatedRecordError",
    "UnknownFormatError",
    "WriteResult",
    "crc16_ccitt",
    "detect_format",
    "ecgdatakit_available",
    "encode_frame",
    "iter_chunks",
    "iter_ecgdatakit_chunks",
    "iter_edf_chunks",
    "iter_frames",
    "iter_ishne_chunks",
    "iter_record_chunks",
    "iter_wfdb_chunks",
    "open_ecgdatakit",
    "open_edf",
    "open_ishne",
    "open_record",
    "open_sink",
    "open_source",
    "open_wfdb",
    "pack_ishne_header",
    "parse_endpoint",
    "parse_ishne_header",
    "read_ishne_header",
    "write_edf",
    "write_ishne",
]
