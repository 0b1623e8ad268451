"""The frame parser the slow, obviously-correct way: the reference for
:class:`firmware_bridge.FrameParser` (whose inner loop is a Numba kernel).

This is the package's original pure-Python parser, one frame at a time with
``bytes.find``, ``binascii.crc_hqx``, ``zlib.crc32`` and NumPy decoding, kept
verbatim except for one fix that the fast parser shares: a stream that ends
exactly at the end of a frame whose last byte is 0xA5 no longer keeps that
byte back as half a sync word (``keep`` now never goes below ``pos``).
"""

from __future__ import annotations

import binascii
import struct
import zlib
from collections import OrderedDict

import numpy as np

from firmware_bridge import Duplicate, Frame, Gap, Restart, Resync
from firmware_bridge._frames import (
    DUPLICATE_WINDOW,
    FLAG_DELTA,
    FLAG_END,
    HEADER_BYTES,
    MAX_DEVICES,
    MAX_FRAME_BYTES,
    MAX_FRAME_SAMPLES,
    MAX_LEADS,
    SYNC,
    TRAILER_BYTES,
    VERSION,
)

_KNOWN_FLAGS = FLAG_DELTA | FLAG_END
_HEAD = struct.Struct("<2sBBIIQHHBBHHHH")
_U32 = 1 << 32
_crc16 = binascii.crc_hqx
_crc32 = zlib.crc32
_unpack_head = _HEAD.unpack_from
_unpack_u16 = struct.Struct("<H").unpack_from
_unpack_u32 = struct.Struct("<I").unpack_from


def _payload_bytes(n_samples: int, n_leads: int, delta: bool) -> int:
    if not delta or n_samples == 0:
        return 2 * n_samples * n_leads
    return 2 * n_leads + (n_samples - 1) * n_leads


class _DeviceState:
    __slots__ = ("next_seq", "next_timestamp_us")

    def __init__(self, next_seq: int, next_timestamp_us: int) -> None:
        self.next_seq = next_seq
        self.next_timestamp_us = next_timestamp_us


class NaiveFrameParser:
    """Bytes in, frames and events out (see the module docstring).

    Memory is bounded: between calls the parser keeps less than one frame
    (:data:`MAX_FRAME_BYTES`) of bytes and the sequence state of at most
    :data:`MAX_DEVICES` devices.

    Attributes
    ----------
    frames, skipped_bytes, missing_frames, duplicates : int
        Running totals.
    """

    def __init__(self) -> None:
        self._buf = b""
        self._devices: OrderedDict[int, _DeviceState] = OrderedDict()
        self._skipped = 0
        self._bad_head = 0
        self._bad_crc = 0
        self.frames = 0
        self.skipped_bytes = 0
        self.missing_frames = 0
        self.duplicates = 0

    @property
    def buffered_bytes(self) -> int:
        """Bytes held back waiting for the rest of a frame."""
        return len(self._buf)

    def feed(self, data: bytes | bytearray | memoryview) -> list[Frame | Resync | Gap | Duplicate | Restart]:
        """Parse `data` (continuing the stream); returns frames and events in order."""
        buf = self._buf + bytes(data) if self._buf else bytes(data)
        out: list = []
        pos = 0
        end = len(buf)
        find = buf.find
        frombuffer, accumulate = np.frombuffer, np.add.accumulate
        while True:
            i = find(SYNC, pos)
            if i < 0:
                keep = end - 1 if end > pos and buf[end - 1] == 0xA5 else end
                self._skipped += keep - pos
                pos = keep
                break
            if end - i < HEADER_BYTES:
                self._skipped += i - pos
                pos = i
                break
            (_, version, flags, device, seq, ts, fs, res, n_leads, _, n, off, sat, size) = _unpack_head(buf, i)
            if (
                _crc16(buf[i : i + HEADER_BYTES - 2], 0xFFFF) != _unpack_u16(buf, i + HEADER_BYTES - 2)[0]
                or version != VERSION or flags & ~_KNOWN_FLAGS or not 1 <= n_leads <= MAX_LEADS
                or n * n_leads > MAX_FRAME_SAMPLES or fs == 0 or res == 0
                or size != _payload_bytes(n, n_leads, flags & FLAG_DELTA)
            ):
                self._bad_head += 1
                self._skipped += i + 1 - pos
                pos = i + 1
                continue
            stop = i + HEADER_BYTES + size
            if end - stop < TRAILER_BYTES:
                self._skipped += i - pos
                pos = i
                break
            if _crc32(buf[i:stop]) != _unpack_u32(buf, stop)[0]:
                self._bad_crc += 1
                self._skipped += i + 1 - pos
                pos = i + 1
                continue
            self._skipped += i - pos
            pos = stop + TRAILER_BYTES
            if self._skipped:
                out.append(Resync(self._skipped, self._bad_head, self._bad_crc))
                self.skipped_bytes += self._skipped
                self._skipped = self._bad_head = self._bad_crc = 0
            start = i + HEADER_BYTES
            if flags & FLAG_DELTA and n > 1:
                samples = np.empty((n, n_leads), dtype=np.int16)
                samples[0] = frombuffer(buf, "<i2", n_leads, start)
                samples[1:] = frombuffer(buf, np.int8, (n - 1) * n_leads, start + 2 * n_leads).reshape(n - 1, n_leads)
                accumulate(samples, axis=0, out=samples)  # int16 wraps like the encoder's differences
            else:
                samples = frombuffer(buf, "<i2", n * n_leads, start).reshape(n, n_leads).copy()
            if not self._sequence(out, device, seq, ts, fs, n):
                continue  # a duplicate: reported, not delivered
            self.frames += 1
            out.append(Frame(device, seq, ts, fs, res, samples, off, sat, bool(flags & FLAG_END)))
            if flags & FLAG_END:
                self._devices.pop(device, None)  # the next frame starts a new stream
        self._buf = buf[pos:]
        if len(self._buf) > MAX_FRAME_BYTES:  # cannot happen; a guard for the bound
            self._skipped += len(self._buf) - MAX_FRAME_BYTES
            self._buf = self._buf[-MAX_FRAME_BYTES:]
        return out

    def _sequence(self, out: list, device: int, seq: int, ts: int, fs: int, n: int) -> bool:
        """Check `seq` against the device's expected one; False for a duplicate."""
        state = self._devices.get(device)
        if state is None:
            self._devices[device] = state = _DeviceState(seq, ts)
            if len(self._devices) > MAX_DEVICES:
                self._devices.popitem(last=False)
        else:
            self._devices.move_to_end(device)
        ahead = (seq - state.next_seq) % _U32
        if ahead >= _U32 - DUPLICATE_WINDOW:
            self.duplicates += 1
            out.append(Duplicate(device, seq))
            return False
        if ahead >= _U32 // 2:
            out.append(Restart(device, state.next_seq, seq))
        elif ahead:
            missing_samples = max(0, round((ts - state.next_timestamp_us) * fs / 1e6))
            self.missing_frames += ahead
            out.append(Gap(device, state.next_seq, seq, ahead, missing_samples))
        state.next_seq = (seq + 1) % _U32
        state.next_timestamp_us = ts + n * 1_000_000 // fs
        return True

    def finish(self) -> list[Resync]:
        """End of the byte stream: the bytes held back are reported as skipped."""
        skipped = self._skipped + len(self._buf)
        out = [Resync(skipped, self._bad_head, self._bad_crc)] if skipped else []
        self.skipped_bytes += skipped
        self._buf = b""
        self._skipped = self._bad_head = self._bad_crc = 0
        return out
