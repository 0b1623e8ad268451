"""Causal IIR filtering in second-order sections, resumable across chunks.

Coefficients are designed with :mod:`scipy.signal` in the wrapper; the kernel
only runs them, with per-section state that carries from one chunk to the next,
so a record filtered whole or in pieces gives bit-identical output.
"""

from __future__ import annotations

import numpy as np
from scipy import signal as sps

from dsp._numba_config import njit


def design_bandpass_sos(low_hz: float, high_hz: float, fs_hz: float, order: int = 2) -> np.ndarray:
    """Butterworth band-pass as second-order sections (``order`` per edge).

    The upper edge is clipped to 45 % of ``fs_hz`` so low sampling rates
    (100-128 Hz Holter records) still get a valid filter.
    """
    high_hz = min(high_hz, 0.45 * fs_hz)
    return np.ascontiguousarray(
        sps.butter(order, [low_hz, high_hz], btype="bandpass", fs=fs_hz, output="sos"),
        dtype=np.float64,
    )


def group_delay_samples(sos: np.ndarray, at_hz: float, fs_hz: float) -> float:
    """Group delay of ``sos`` at ``at_hz``, in samples."""
    b, a = sps.sos2tf(sos)
    _, gd = sps.group_delay((b, a), w=[at_hz], fs=fs_hz)
    return float(gd[0])


@njit
def sos_step(sos, zi, x):
    """Filter one sample ``x`` through ``sos`` (transposed direct form II).

    ``zi`` has shape (n_sections, 2) and is updated in place; this is the
    per-sample form used inside the detector kernel.
    """
    y = x
    for s in range(sos.shape[0]):
        b0 = sos[s, 0]
        b1 = sos[s, 1]
        b2 = sos[s, 2]
        a1 = sos[s, 4]
        a2 = sos[s, 5]
        out = b0 * y + zi[s, 0]
        zi[s, 0] = b1 * y - a1 * out + zi[s, 1]
        zi[s, 1] = b2 * y - a2 * out
        y = out
    return y


@njit
def sosfilt_kernel(sos, zi, x, y):
    """Filter the 1-D array ``x`` into ``y`` with carried state ``zi``."""
    for i in range(x.shape[0]):
        y[i] = sos_step(sos, zi, x[i])
