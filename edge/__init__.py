"""The gateway: the per-patient streaming pipeline (bounded queues, config),
alert rules, the outbox and the MQTT client (built in the edge issue). Uses
``firmware_bridge``, ``dsp`` and ``models``; knows nothing of ``cloud``.

For now, the batch commands on top of the streaming QRS detector:
``holter detect`` (WFDB ``.hol`` beat annotations) and ``holter demo`` (a beat
and heart-rate summary of the bundled sample record).
"""

from edge._annotations import BEAT_SYMBOLS, write_hol
from edge._stream import RecordBeats, detect_record, stream_chunks

__all__ = ["BEAT_SYMBOLS", "RecordBeats", "detect_record", "stream_chunks", "write_hol"]
