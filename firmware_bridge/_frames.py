"""The live device frame protocol: encoder and a pure, resynchronising parser.

The byte layout is documented in docs/frame_protocol.md. In short (all
integers little-endian)::

    0  sync 0xA5 0x5A | 2 version | 3 flags | 4 device id u32 | 8 seq u32
    12 timestamp_us u64 | 20 fs_hz u16 | 22 resolution_nv u16 | 24 n_leads u8
    25 reserved | 26 n_samples u16 | 28 lead-off mask u16 | 30 saturation mask u16
    32 payload bytes u16 | 34 header CRC-16/CCITT of bytes 0-33
    36 payload | CRC-32 (zlib) of header + payload

The parser takes bytes in any split (one byte at a time or megabytes at
once) and returns frames and events in stream order. It never raises on bad
input: garbage and frames whose header or frame CRC fails are skipped
(:class:`Resync` says how many bytes and why), and the sequence number turns
lost frames into :class:`Gap` events and repeats into :class:`Duplicate`
events. It keeps at most one incomplete frame between calls.
"""

from __future__ import annotations

import binascii
import struct
import zlib
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from firmware_bridge._exceptions import FrameError

__all__ = [
    "Duplicate",
    "Frame",
    "FrameEncoder",
    "FrameParser",
    "Gap",
    "Restart",
    "Resync",
    "encode_frame",
]

SYNC = b"\xa5\x5a"
VERSION = 1
FLAG_DELTA = 0x01
FLAG_END = 0x02
_HEAD = struct.Struct("<2sBBIIQHHBBHHHH")
HEADER_BYTES = _HEAD.size + 2
TRAILER_BYTES = 4
MAX_LEADS = 16
#: Samples over all leads in one frame (the payload length is a u16).
MAX_FRAME_SAMPLES = 32767
MAX_FRAME_BYTES = HEADER_BYTES + 2 * MAX_FRAME_SAMPLES + TRAILER_BYTES
#: A sequence number this far behind the expected one is a repeat; further
#: behind, the device restarted its counter.
DUPLICATE_WINDOW = 1024
#: Devices whose sequence state is kept (least recently seen are forgotten).
MAX_DEVICES = 256
_U32 = 1 << 32
_crc16 = binascii.crc_hqx
_crc32 = zlib.crc32


@dataclass(frozen=True, slots=True, eq=False)
class Frame:
    """One decoded frame.

    Attributes
    ----------
    device_id, seq : int
        Sender and its 32-bit frame counter.
    timestamp_us : int
        Device clock (microseconds) at the first sample.
    fs_hz : int
        Sampling rate.
    resolution_nv : int
        nV per step of `samples` (every lead).
    samples : numpy.ndarray
        int16, shape (n_samples, n_leads).
    lead_off_mask, saturated_mask : int
        Bit i set: lead i was off / saturated somewhere in this frame.
    end_of_stream : bool
        The device's last frame (it may carry no samples).
    """

    device_id: int
    seq: int
    timestamp_us: int
    fs_hz: int
    resolution_nv: int
    samples: np.ndarray
    lead_off_mask: int = 0
    saturated_mask: int = 0
    end_of_stream: bool = False

    @property
    def n_samples(self) -> int:
        """Samples per lead."""
        return int(self.samples.shape[0])

    @property
    def n_leads(self) -> int:
        """Leads."""
        return int(self.samples.shape[1])


@dataclass(frozen=True, slots=True)
class Resync:
    """Bytes skipped before the next good frame (or at :meth:`FrameParser.finish`).

    `bad_header_crcs` / `bad_frame_crcs` count the frame starts among them
    that were rejected for a header or frame CRC mismatch (or impossible
    header values); the rest is garbage between frames.
    """

    skipped_bytes: int
    bad_header_crcs: int
    bad_frame_crcs: int


@dataclass(frozen=True, slots=True)
class Gap:
    """Frames `first_missing_seq` .. `next_seq - 1` of `device_id` never arrived
    intact. Reported just before the frame `next_seq`; nothing is stitched
    across it. `missing_samples` is estimated from the timestamps (per lead)."""

    device_id: int
    first_missing_seq: int
    next_seq: int
    missing_frames: int
    missing_samples: int


@dataclass(frozen=True, slots=True)
class Duplicate:
    """A frame whose sequence number was already delivered; it is dropped."""

    device_id: int
    seq: int


@dataclass(frozen=True, slots=True)
class Restart:
    """The device's sequence number jumped back beyond the duplicate window
    (it restarted): what follows is a new stream; the frame is delivered."""

    device_id: int
    expected_seq: int
    seq: int


def encode_frame(
    device_id: int,
    seq: int,
    timestamp_us: int,
    fs_hz: int,
    resolution_nv: int,
    samples: np.ndarray,
    lead_off_mask: int = 0,
    saturated_mask: int = 0,
    delta: bool | None = None,
    end_of_stream: bool = False,
) -> bytes:
    """Encode one frame.

    Parameters
    ----------
    samples : array-like of int16, shape (n_samples, n_leads)
        ``n_samples`` may be 0 (an end-of-stream or keep-alive frame).
    delta : bool, optional
        Delta-compress (first row int16, then int8 differences). By default
        whenever every difference fits in int8; True raises if one does not.

    Raises
    ------
    FrameError
        A field outside its range, or ``delta=True`` with a difference
        beyond +-127.

    Examples
    --------
    >>> import numpy as np
    >>> raw = encode_frame(7, 0, 0, 250, 1000, np.zeros((10, 2), np.int16))
    >>> [type(x).__name__ for x in FrameParser().feed(raw)]
    ['Frame']
    """
    x = np.asarray(samples)
    if x.ndim != 2 or x.dtype != np.int16:
        raise FrameError(f"`samples` must be int16 of shape (n_samples, n_leads), got {x.dtype} {x.shape}")
    n, n_leads = x.shape
    if not 1 <= n_leads <= MAX_LEADS or n * n_leads > MAX_FRAME_SAMPLES:
        raise FrameError(f"a frame holds 1-{MAX_LEADS} leads and at most {MAX_FRAME_SAMPLES} samples, "
                         f"got {n} x {n_leads}")
    for name, value, top in (("device_id", device_id, _U32), ("seq", seq, _U32), ("timestamp_us", timestamp_us, 1 << 64),
                             ("fs_hz", fs_hz, 1 << 16), ("resolution_nv", resolution_nv, 1 << 16),
                             ("lead_off_mask", lead_off_mask, 1 << 16), ("saturated_mask", saturated_mask, 1 << 16)):
        if not 0 <= int(value) < top:
            raise FrameError(f"`{name}` must be in 0..{top - 1}, got {value!r}")
    if fs_hz == 0 or resolution_nv == 0:
        raise FrameError(f"`fs_hz` and `resolution_nv` must be positive, got {fs_hz} and {resolution_nv}")
    diffs = np.diff(x.astype(np.int32), axis=0) if n > 1 else np.zeros((0, n_leads), np.int32)
    fits = diffs.size == 0 or (int(diffs.min()) >= -128 and int(diffs.max()) <= 127)
    if delta is None:
        delta = n > 1 and fits
    elif delta and not fits:
        raise FrameError("delta compression needs every sample-to-sample difference within -128..127")
    if delta and n > 0:
        payload = x[:1].astype("<i2").tobytes() + diffs.astype(np.int8).tobytes()
    else:
        payload = np.ascontiguousarray(x, dtype="<i2").tobytes()
    flags = (FLAG_DELTA if delta else 0) | (FLAG_END if end_of_stream else 0)
    head = _HEAD.pack(SYNC, VERSION, flags, int(device_id), int(seq), int(timestamp_us), int(fs_hz),
                      int(resolution_nv), n_leads, 0, n, int(lead_off_mask), int(saturated_mask), len(payload))
    head += struct.pack("<H", _crc16(head, 0xFFFF))
    return head + payload + struct.pack("<I", _crc32(payload, _crc32(head)))


class FrameEncoder:
    """A device's side: numbers frames and advances the timestamp.

    >>> import numpy as np
    >>> enc = FrameEncoder(device_id=1, fs_hz=250, resolution_nv=1000)
    >>> len(enc.encode(np.zeros((50, 3), np.int16))) > 0, enc.seq
    (True, 1)
    """

    def __init__(self, device_id: int, fs_hz: int, resolution_nv: int, start_us: int = 0, first_seq: int = 0):
        self.device_id, self.fs_hz, self.resolution_nv = int(device_id), int(fs_hz), int(resolution_nv)
        self.seq = int(first_seq) % _U32
        self._samples_sent = 0
        self._start_us = int(start_us)

    @property
    def timestamp_us(self) -> int:
        """Device time of the next sample to send."""
        return self._start_us + self._samples_sent * 1_000_000 // self.fs_hz

    def encode(self, samples: np.ndarray, lead_off_mask: int = 0, saturated_mask: int = 0,
               end_of_stream: bool = False) -> bytes:
        """Encode the next block and advance the counters."""
        raw = encode_frame(self.device_id, self.seq, self.timestamp_us, self.fs_hz, self.resolution_nv,
                           samples, lead_off_mask, saturated_mask, end_of_stream=end_of_stream)
        self.seq = (self.seq + 1) % _U32
        self._samples_sent += int(np.shape(samples)[0])
        return raw


class _FrameSlots:
    """:class:`Frame`'s slot layout without the frozen guard.

    The parser fills one of these and retypes it as a :class:`Frame` (same
    slots, so CPython allows the ``__class__`` assignment): the frozen
    dataclass's ``__init__`` sets each field through ``object.__setattr__``,
    which costs about five times as much and was the largest per-frame cost
    left once the bytes were parsed in a kernel. The object that comes out is
    an ordinary, frozen :class:`Frame`.
    """

    __slots__ = Frame.__slots__


class _DeviceState:
    __slots__ = ("next_seq", "next_timestamp_us")

    def __init__(self, next_seq: int, next_timestamp_us: int) -> None:
        self.next_seq = next_seq
        self.next_timestamp_us = next_timestamp_us


#: Rows of the parser's reusable frame table at most (18 int64 columns: 576 KiB).
_TABLE_ROWS = 4096
#: Samples decoded per kernel call at most (a fresh block per call: the
#: frames' sample arrays are views of it).
_BLOCK_SAMPLES = 1 << 20


class FrameParser:
    """Bytes in, frames and events out (see the module docstring).

    Memory is bounded: between calls the parser keeps less than one frame
    (:data:`MAX_FRAME_BYTES`) of bytes, a scratch table of at most 576 KiB and the
    sequence state of at most :data:`MAX_DEVICES` devices.

    The frames of one :meth:`feed` share one sample block: each frame's
    ``samples`` is a view of its own part of it (writing to one never
    changes another).

    Attributes
    ----------
    frames, skipped_bytes, missing_frames, duplicates : int
        Running totals.
    """

    def __init__(self) -> None:
        from firmware_bridge import _frame_kernel  # Numba is loaded only when frames are parsed

        self._kernel = _frame_kernel
        self._table = np.empty((0, _frame_kernel.N_COLUMNS), np.int64)
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
        if not buf:
            return out
        k = self._kernel
        arr = np.frombuffer(buf, np.uint8)
        end = len(buf)
        rows = min(end // k.MIN_FRAME_BYTES + 1, max(1, _TABLE_ROWS))
        if self._table.shape[0] < rows:
            self._table = np.empty((rows, k.N_COLUMNS), np.int64)
        pos = 0
        full = True
        while full:
            block = np.empty(min(end - pos, max(_BLOCK_SAMPLES, MAX_FRAME_SAMPLES)), np.int16)  # room for >= 1 frame
            n_frames, pos, skipped, bad_head, bad_crc, used, full = map(int, k.scan_frames(
                arr, pos, k.CRC16_TABLE, k.CRC32_TABLE, self._table, block))  # Python ints also without JIT
            if n_frames:
                if 2 * used < block.size:  # mostly garbage: do not keep the unused part alive
                    block = block[:used].copy()
                self._deliver(out, self._table[:n_frames], block)
            self._skipped += skipped
            self._bad_head += bad_head
            self._bad_crc += bad_crc
        self._buf = buf[pos:]
        if len(self._buf) > MAX_FRAME_BYTES:  # cannot happen; a guard for the bound
            self._skipped += len(self._buf) - MAX_FRAME_BYTES
            self._buf = self._buf[-MAX_FRAME_BYTES:]
        return out

    def _deliver(self, out: list, table: np.ndarray, block: np.ndarray) -> None:
        """Frame and event objects for the kernel's rows, in stream order.

        A row the kernel marks as continuing the previous one (same device
        and set-up, next sequence number, nothing skipped) needs no checks
        once the previous frame was delivered: such runs are built in a
        tight loop. Every other row takes the full path (:meth:`_row`).
        """
        from firmware_bridge._frame_kernel import COL_CONTINUES

        n_rows = table.shape[0]
        breaks = [*np.flatnonzero(table[:, COL_CONTINUES] == 0).tolist(), n_rows]  # row 0 is always one
        b = 0
        j = 0
        while j < n_rows:
            row = table[j].tolist()
            j += 1
            if not self._row(out, row, block):
                continue  # a duplicate: the next row is checked in full
            while breaks[b] < j:
                b += 1
            if breaks[b] > j:
                self._run(out, row, table[j : breaks[b]], block)
                j = breaks[b]

    def _row(self, out: list, row: list[int], block: np.ndarray) -> bool:
        """One frame with every check; False if it was a duplicate (not delivered)."""
        (skipped, bad_head, bad_crc, flags, device, seq, ts_lo, ts_hi, fs, res, n_leads, n, off, sat, _, offset,
         _, _) = row
        if skipped or self._skipped:
            skipped += self._skipped
            out.append(Resync(skipped, bad_head + self._bad_head, bad_crc + self._bad_crc))
            self.skipped_bytes += skipped
            self._skipped = self._bad_head = self._bad_crc = 0
        ts = ts_hi << 32 | ts_lo
        if not self._sequence(out, device, seq, ts, fs, n):
            return False
        samples = block[offset : offset + n * n_leads].reshape(n, n_leads)
        out.append(Frame(device, seq, ts, fs, res, samples, off, sat, bool(flags & FLAG_END)))
        self.frames += 1
        if flags & FLAG_END:
            # the device's stream ended: its next frame starts a new one, whatever its number
            del self._devices[device]
        return True

    def _run(self, out: list, first: list[int], rows: np.ndarray, block: np.ndarray) -> None:
        """Deliver `rows`, which continue the frame `first` just delivered."""
        from firmware_bridge._frame_kernel import COL_OFF, COL_OFFSET, COL_SAT, COL_TS

        (_, _, _, flags, device, first_seq, _, _, fs, res, n_leads, n, _, _, duration, _, _, _) = first
        m = rows.shape[0]
        offset = int(rows[0, COL_OFFSET])
        views = block[offset : offset + m * n * n_leads].reshape(m, n, n_leads)
        timestamps = rows[:, COL_TS].tolist()
        end_of_stream = bool(flags & FLAG_END)
        append = out.append
        new = object.__new__
        for seq, ts, off, sat, samples in zip(range(first_seq + 1, first_seq + 1 + m), timestamps,
                                              rows[:, COL_OFF].tolist(), rows[:, COL_SAT].tolist(), views,
                                              strict=True):
            frame = new(_FrameSlots)
            frame.device_id = device
            frame.seq = seq
            frame.timestamp_us = ts
            frame.fs_hz = fs
            frame.resolution_nv = res
            frame.samples = samples
            frame.lead_off_mask = off
            frame.saturated_mask = sat
            frame.end_of_stream = end_of_stream
            frame.__class__ = Frame
            append(frame)
        self.frames += m
        if end_of_stream:  # every frame of the run ended a stream: the last one counts
            self._devices.pop(device, None)
            return
        state = self._devices[device]  # _row just made it the most recently used
        state.next_seq = (first_seq + m + 1) % _U32
        state.next_timestamp_us = timestamps[-1] + duration

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
