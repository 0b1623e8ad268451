"""A simulated Holter device: a record replayed as live frames, optionally impaired.

:func:`device_frames` quantises a record to int16 at one resolution for all
leads (the finest of the record's own gains), cuts it into frames of
`frame_s` seconds and encodes them (delta-compressed where the differences
fit). A lead with a NaN sample in a frame is flagged lead-off for that frame
(its samples there are sent as 0); a lead at the int16 limit is flagged
saturated. The last frame is an empty end-of-stream frame, so frames lost at
the end are detected too.

:class:`Impairment` drops and corrupts frames with a seeded RNG and records
exactly which sequence numbers it damaged (the end-of-stream frame is always
sent intact).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from firmware_bridge._chunk import Chunk
from firmware_bridge._frames import MAX_FRAME_SAMPLES, FrameEncoder
from firmware_bridge._record import RecordInfo

__all__ = ["Impairment", "device_frames", "frame_resolution_nv"]


def frame_resolution_nv(info: RecordInfo) -> int:
    """nV per step for the frames: the finest of the record's gains (1000 nV if none)."""
    gains = [g for g in info.adc_gain if math.isfinite(g) and g > 0]
    if not gains:
        return 1000
    return int(min(max(round(1e6 / max(gains)), 1), 65535))


def device_frames(
    info: RecordInfo,
    chunks: Iterable[Chunk],
    frame_s: float = 0.25,
    device_id: int = 1,
    start_us: int = 0,
) -> Iterator[tuple[int, bytes]]:
    """Encode a record as device frames: yields ``(seq, frame bytes)``.

    Parameters
    ----------
    info : RecordInfo
        The record (sampling rate must be a whole number of Hz).
    chunks : iterable of Chunk
        Its samples (from :func:`firmware_bridge.iter_record_chunks`).
    frame_s : float, default 0.25
        Seconds per frame.
    """
    fs_hz = int(round(info.fs_hz))
    if fs_hz != info.fs_hz:
        raise ValueError(f"{info.name}: the frame protocol carries whole Hz, the record has {info.fs_hz:g} Hz")
    per_frame = max(1, min(round(frame_s * fs_hz), MAX_FRAME_SAMPLES // info.n_leads))
    resolution_nv = frame_resolution_nv(info)
    steps_per_mv = 1e6 / resolution_nv
    encoder = FrameEncoder(device_id, fs_hz, resolution_nv, start_us=start_us)
    pending = np.empty((0, info.n_leads))
    bits = 1 << np.arange(info.n_leads)
    for chunk in chunks:
        pending = np.concatenate([pending, chunk.samples])
        whole = pending.shape[0] // per_frame * per_frame
        for k in range(0, whole, per_frame):
            yield _frame(encoder, pending[k : k + per_frame], steps_per_mv, bits)
        pending = pending[whole:]
    if pending.shape[0]:
        yield _frame(encoder, pending, steps_per_mv, bits)
    seq = encoder.seq
    yield seq, encoder.encode(np.zeros((0, info.n_leads), np.int16), end_of_stream=True)


def _frame(encoder: FrameEncoder, block_mv: np.ndarray, steps_per_mv: float, bits: np.ndarray) -> tuple[int, bytes]:
    scaled = np.rint(block_mv * steps_per_mv)
    off = ~np.isfinite(scaled)
    scaled[off] = 0.0
    saturated = np.abs(scaled) >= 32767
    raw = np.clip(scaled, -32767, 32767).astype(np.int16)
    lead_off = int(bits[off.any(axis=0)].sum())
    sat = int(bits[saturated.any(axis=0)].sum())
    seq = encoder.seq
    return seq, encoder.encode(raw, lead_off_mask=lead_off, saturated_mask=sat)


@dataclass
class Impairment:
    """Drop and corrupt frames at random (seeded), remembering which.

    Parameters
    ----------
    drop_rate, corrupt_rate : float
        Probability that a frame is not sent / has 1-3 of its bytes replaced
        by random values (anywhere, sync word included).
    seed : int
        Seed of the random generator.
    """

    drop_rate: float = 0.0
    corrupt_rate: float = 0.0
    seed: int = 0
    dropped: list[int] = field(default_factory=list)
    corrupted: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        for name in ("drop_rate", "corrupt_rate"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and 0.0 <= value <= 1.0):
                raise ValueError(f"`{name}` must be a probability in 0-1, got {value!r}")
        self._rng = np.random.default_rng(self.seed)

    @property
    def lost(self) -> list[int]:
        """Sequence numbers of every frame dropped or corrupted, sorted."""
        return sorted(self.dropped + self.corrupted)

    def apply(self, frames: Iterable[tuple[int, bytes]]) -> Iterator[bytes]:
        """Yield the frames as sent over a faulty link."""
        rng = self._rng
        for seq, raw in frames:
            if len(raw) > 40 and raw[3] & 0x02 == 0:  # never the end-of-stream frame
                u = rng.random()
                if u < self.drop_rate:
                    self.dropped.append(seq)
                    continue
                if u < self.drop_rate + self.corrupt_rate:
                    buf = bytearray(raw)
                    n_bytes = int(rng.integers(1, 4))
                    where = rng.choice(len(buf), size=n_bytes, replace=False)
                    for pos in where:
                        buf[pos] = (buf[pos] + int(rng.integers(1, 256))) % 256  # always a change
                    self.corrupted.append(seq)
                    raw = bytes(buf)
            yield raw
