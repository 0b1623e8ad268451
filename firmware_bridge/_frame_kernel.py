"""The frame parser's inner loop as one Numba kernel.

:func:`scan_frames` walks a whole byte buffer the way the parser's rules say
(docs/frame_protocol.md, "What the receiver does"): it finds sync words,
checks the header (CRC-16/CCITT-FALSE and plausible values) and the frame
CRC-32, and decodes the raw or delta-compressed int16 samples of every good
frame into one sample block. Per good frame it writes a row of the frame
table; the Python layer (:class:`firmware_bridge.FrameParser`) turns rows
into :class:`Frame` and event objects and keeps the per-device sequence state.
One call per received block instead of a dozen Python operations per frame
is what makes parsing fast.

The kernel is pure: arrays and integers in, arrays filled and integers out.
"""

from __future__ import annotations

import numpy as np

from firmware_bridge._numba import njit

__all__ = [
    "COLUMNS",
    "CRC16_TABLE",
    "CRC32_TABLE",
    "crc16_ccitt_false",
    "crc32_ieee",
    "scan_frames",
]

#: Columns of the frame table, one row per good frame. ``skipped`` /
#: ``bad_head`` / ``bad_crc`` count what was skipped since the previous good
#: frame of the same call; ``duration_us`` is ``n_samples * 10**6 // fs_hz``;
#: ``offset`` is where the frame's samples start in the sample block;
#: ``timestamp_us`` is the whole timestamp where it is below 2**63 (else 0).
#: ``continues`` is 1 where the frame directly follows the previous row's:
#: nothing skipped between them, the same device, flags, rate, resolution and
#: shape, the sequence number one higher (no wrap) and ``timestamp_us`` valid.
COLUMNS = ("skipped", "bad_head", "bad_crc", "flags", "device_id", "seq", "timestamp_lo", "timestamp_hi",
           "fs_hz", "resolution_nv", "n_leads", "n_samples", "lead_off_mask", "saturated_mask",
           "duration_us", "offset", "timestamp_us", "continues")
(COL_SKIPPED, COL_BAD_HEAD, COL_BAD_CRC, COL_FLAGS, COL_DEVICE, COL_SEQ, COL_TS_LO, COL_TS_HI, COL_FS,
 COL_RES, COL_LEADS, COL_N, COL_OFF, COL_SAT, COL_DURATION, COL_OFFSET, COL_TS, COL_CONTINUES) = range(len(COLUMNS))
N_COLUMNS = len(COLUMNS)
#: Header + frame CRC: no frame is shorter, so a buffer of B bytes holds at
#: most B // MIN_FRAME_BYTES + 1 frames, and never more samples than bytes.
MIN_FRAME_BYTES = 40


def _crc16_table() -> np.ndarray:
    table = np.empty(256, np.int64)
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021 if crc & 0x8000 else crc << 1) & 0xFFFF
        table[byte] = crc
    return table


def _crc32_tables() -> np.ndarray:
    """Row 0: the byte-at-a-time table; row k: a byte followed by k zero bytes
    (slicing-by-8: eight independent look-ups per eight bytes)."""
    tables = np.empty((8, 256), np.int64)
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xEDB88320 if crc & 1 else crc >> 1
        tables[0, byte] = crc
    for k in range(1, 8):
        for byte in range(256):
            prev = int(tables[k - 1, byte])
            tables[k, byte] = (prev >> 8) ^ int(tables[0, prev & 0xFF])
    return tables


#: Lookup tables: MSB-first CRC-16/CCITT-FALSE (256), reflected CRC-32 (8 x 256).
CRC16_TABLE = _crc16_table()
CRC32_TABLE = _crc32_tables()


@njit
def _u16(buf, i):
    return np.int64(buf[i]) | (np.int64(buf[i + 1]) << 8)


@njit
def _u32(buf, i):
    return _u16(buf, i) | (_u16(buf, i + 2) << 16)


@njit
def _i16(buf, i):
    v = _u16(buf, i)
    return v - 65536 if v >= 32768 else v


@njit
def crc16_ccitt_false(buf, start, stop, table):
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF) of ``buf[start:stop]``."""
    crc = np.int64(0xFFFF)
    for k in range(start, stop):
        crc = ((crc << 8) & 0xFFFF) ^ table[((crc >> 8) ^ np.int64(buf[k])) & 0xFF]
    return crc


@njit
def crc32_ieee(buf, start, stop, tables):
    """CRC-32 (zlib, IEEE 802.3) of ``buf[start:stop]``, eight bytes at a time."""
    crc = np.int64(0xFFFFFFFF)
    k = start
    while k + 8 <= stop:
        lo = crc ^ _u32(buf, k)
        hi = _u32(buf, k + 4)
        crc = (tables[7, lo & 0xFF] ^ tables[6, (lo >> 8) & 0xFF] ^ tables[5, (lo >> 16) & 0xFF]
               ^ tables[4, lo >> 24] ^ tables[3, hi & 0xFF] ^ tables[2, (hi >> 8) & 0xFF]
               ^ tables[1, (hi >> 16) & 0xFF] ^ tables[0, hi >> 24])
        k += 8
    while k < stop:
        crc = tables[0, (crc ^ np.int64(buf[k])) & 0xFF] ^ (crc >> 8)
        k += 1
    return crc ^ 0xFFFFFFFF


@njit
def _decode(buf, start, n, n_leads, delta, samples, used):
    """Samples of one frame (payload at ``buf[start:]``) into ``samples[used:]``."""
    if delta and n > 1:
        diffs = start + n_leads  # diffs[k] for k >= n_leads: the byte of sample k (lead-interleaved)
        for lead in range(n_leads):
            v = _i16(buf, start + 2 * lead)  # a running sum per lead, wrapped to int16 only when stored
            samples[used + lead] = v
            for k in range(n_leads + lead, n * n_leads, n_leads):
                d = np.int64(buf[diffs + k])
                v += d - 256 if d >= 128 else d
                samples[used + k] = ((v + 32768) & 0xFFFF) - 32768  # int16 wraps, as the encoder's differences do
    else:
        for k in range(n * n_leads):
            samples[used + k] = _i16(buf, start + 2 * k)


@njit
def scan_frames(buf, pos, crc16_table, crc32_table, table, samples):
    """Find, check and decode every complete frame in ``buf[pos:]``.

    Parameters
    ----------
    buf : uint8 array
        The bytes held back from earlier calls followed by the new ones.
    pos : int
        Where to start.
    crc16_table, crc32_table : int64 arrays of 256
        :data:`CRC16_TABLE`, :data:`CRC32_TABLE`.
    table : int64 array, shape (max_frames, len(COLUMNS))
        Filled with one row per good frame (see :data:`COLUMNS`).
    samples : int16 array
        Filled with the frames' samples, frame after frame, lead-interleaved.
        ``(len(buf) - pos) // MIN_FRAME_BYTES + 1`` rows and ``len(buf) - pos``
        samples always suffice (a frame has fewer samples than bytes); with
        less the kernel stops at the first good frame that does not fit.

    Returns
    -------
    n_frames, pos, skipped, bad_head, bad_crc, n_samples : int
        Good frames found; where the unparsed rest of `buf` starts (an
        incomplete frame, a possible half sync word, or the frame that did
        not fit); bytes skipped and candidates rejected after the last good
        frame; samples written.
    full : bool
        Stopped for want of room: call again from `pos` with fresh arrays.
    """
    end = buf.shape[0]
    n_frames = 0
    used = 0
    skipped = 0
    bad_head = 0
    bad_crc = 0
    full = False
    prev = table[0]
    while True:
        i = pos
        while i + 1 < end and (buf[i] != 0xA5 or buf[i + 1] != 0x5A):
            i += 1
        if i + 1 >= end:  # no sync word: keep a last 0xA5, it may be half of one
            keep = end - 1 if end > pos and buf[end - 1] == 0xA5 else end
            skipped += keep - pos
            pos = keep
            break
        if end - i < 36:
            skipped += i - pos
            pos = i
            break
        version = np.int64(buf[i + 2])
        flags = np.int64(buf[i + 3])
        fs_hz = _u16(buf, i + 20)
        resolution_nv = _u16(buf, i + 22)
        n_leads = np.int64(buf[i + 24])
        n = _u16(buf, i + 26)
        size = _u16(buf, i + 32)
        delta = (flags & 1) != 0
        expected = 2 * n * n_leads if not delta or n == 0 else 2 * n_leads + (n - 1) * n_leads
        if (
            version != 1 or flags > 3 or n_leads < 1 or n_leads > 16 or n * n_leads > 32767
            or fs_hz == 0 or resolution_nv == 0 or size != expected
            or crc16_ccitt_false(buf, i, i + 34, crc16_table) != _u16(buf, i + 34)
        ):
            bad_head += 1
            skipped += i + 1 - pos
            pos = i + 1
            continue
        stop = i + 36 + size
        if end - stop < 4:
            skipped += i - pos
            pos = i
            break
        if crc32_ieee(buf, i, stop, crc32_table) != _u32(buf, stop):
            bad_crc += 1
            skipped += i + 1 - pos
            pos = i + 1
            continue
        if n_frames == table.shape[0] or used + n * n_leads > samples.shape[0]:
            skipped += i - pos  # out of room: the caller calls again from `pos`
            pos = i
            full = True
            break
        skipped += i - pos
        pos = stop + 4
        device = _u32(buf, i + 4)
        seq = _u32(buf, i + 8)
        ts_lo = _u32(buf, i + 12)
        ts_hi = _u32(buf, i + 16)
        row = table[n_frames]
        row[COL_CONTINUES] = (
            n_frames > 0 and skipped == 0 and device == prev[COL_DEVICE] and seq == prev[COL_SEQ] + 1
            and flags == prev[COL_FLAGS] and fs_hz == prev[COL_FS] and resolution_nv == prev[COL_RES]
            and n_leads == prev[COL_LEADS] and n == prev[COL_N] and ts_hi < 2**31
        )
        row[COL_TS] = (ts_hi << 32 | ts_lo) if ts_hi < 2**31 else 0
        row[COL_SKIPPED] = skipped
        row[COL_BAD_HEAD] = bad_head
        row[COL_BAD_CRC] = bad_crc
        row[COL_FLAGS] = flags
        row[COL_DEVICE] = device
        row[COL_SEQ] = seq
        row[COL_TS_LO] = ts_lo
        row[COL_TS_HI] = ts_hi
        row[COL_FS] = fs_hz
        row[COL_RES] = resolution_nv
        row[COL_LEADS] = n_leads
        row[COL_N] = n
        row[COL_OFF] = _u16(buf, i + 28)
        row[COL_SAT] = _u16(buf, i + 30)
        row[COL_DURATION] = n * 1_000_000 // fs_hz
        row[COL_OFFSET] = used
        _decode(buf, i + 36, n, n_leads, delta, samples, used)
        used += n * n_leads
        n_frames += 1
        prev = row
        skipped = 0
        bad_head = 0
        bad_crc = 0
    return n_frames, pos, skipped, bad_head, bad_crc, used, full
