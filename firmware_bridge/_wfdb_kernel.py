"""Decoding of WFDB format 212 (two 12-bit samples in three bytes) as one Numba kernel.

The NumPy form took seven array passes over every chunk (unpack, sign, offset,
scale, invalid mask); the kernel makes one, looking each 12-bit code up in a
table of its 4096 physical values per signal. It gives exactly what
``wfdb.rdrecord(..., physical=True)`` gives: ``(digital - baseline) / gain`` in
float64 and NaN for the invalid value -2048 (tests/firmware_bridge/test_wfdb.py).
"""

from __future__ import annotations

import numpy as np

from firmware_bridge._numba import njit

__all__ = ["decode_212"]


@njit
def decode_212(raw, skip, baseline, gain, invalid, out):  # pragma: no cover - compiled
    """Fill ``out`` (n_frames, n_sig) float64 with physical values from format-212 bytes.

    Parameters
    ----------
    raw : uint8 (3 * n_pairs,)
        The bytes of the sample pairs holding the range, from the pair that
        holds its first sample.
    skip : int
        0 or 1: samples of the first pair before the range.
    baseline, gain : float64 (n_sig,)
        ADC baseline and gain (units per physical unit) of each signal.
    invalid : int
        The digital value that marks a missing sample (NaN out).
    out : float64 (n_frames, n_sig)
        Filled, frame by frame (frame-interleaved samples).
    """
    n_sig = out.shape[1]
    # every 12-bit code of every signal converted once (the same expression), then
    # looked up: no division per sample
    table = np.empty((n_sig, 4096))
    for s in range(n_sig):
        for code in range(4096):
            d = code - 4096 if code > 2047 else code
            table[s, code] = np.nan if d == invalid else (d - baseline[s]) / gain[s]
    flat = out.reshape(-1)  # frame-interleaved, as in the file
    count = flat.size
    j = 0  # next output sample
    s = 0  # its signal
    p = 0  # the byte its pair starts at
    if skip and count:
        flat[0] = table[0, np.int64(raw[2]) | ((np.int64(raw[1]) & 0xF0) << 4)]
        j, p = 1, 3
        s = 1 % n_sig
    while j < count:
        b1 = np.int64(raw[p + 1])
        flat[j] = table[s, np.int64(raw[p]) | ((b1 & 0x0F) << 8)]
        j += 1
        s = s + 1 if s + 1 < n_sig else 0
        if j == count:
            break
        flat[j] = table[s, np.int64(raw[p + 2]) | ((b1 & 0xF0) << 4)]
        j += 1
        s = s + 1 if s + 1 < n_sig else 0
        p += 3
