"""Decoding of WFDB format 212 (two 12-bit samples in three bytes) as one Numba kernel.

The NumPy form took seven array passes over every chunk (unpack, sign, offset,
scale, invalid mask); the kernel makes one. It gives exactly what
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
    n_frames, n_sig = out.shape
    for f in range(n_frames):
        for s in range(n_sig):
            k = skip + f * n_sig + s
            p = 3 * (k >> 1)
            if k & 1:
                d = np.int64(raw[p + 2]) | ((np.int64(raw[p + 1]) & 0xF0) << 4)
            else:
                d = np.int64(raw[p]) | ((np.int64(raw[p + 1]) & 0x0F) << 8)
            if d > 2047:
                d -= 4096
            if d == invalid:
                out[f, s] = np.nan
            else:
                out[f, s] = (d - baseline[s]) / gain[s]
