"""Slow, obviously-correct references for the QRS detector's kernels.

Written for clarity, not speed: plain loops where the kernel's rule is a
sequential one (NaN hold, flat runs, settling), SciPy/NumPy where the
operation is standard (block mean, IIR filter, moving sum).
"""

from __future__ import annotations

import numpy as np
from scipy import signal as sps


def lead_features_ref(x, *, dec, sos, fs_internal_hz, mwi_len, flat_len, settle_len):
    """Stage 1 of the detector for one lead, the slow way.

    Returns (bp, mwi, slope, bad) at the internal rate: the band-passed
    signal, the moving-window integral of the squared five-point derivative,
    the absolute derivative, and the unusable flag.
    """
    x = np.asarray(x, dtype=np.float64)
    n_int = x.size // dec
    # 1. hold the last finite value through NaN / inf (0 before the first)
    held = np.empty_like(x)
    finite = np.isfinite(x)
    last = 0.0
    first_finite = None
    for i, v in enumerate(x):
        if finite[i]:
            last = v
            if first_finite is None:
                first_finite = i
        held[i] = last
    x0 = x[first_finite] if first_finite is not None else 0.0
    # 2. average blocks of `dec` samples; a block with a non-finite sample, or
    #    before the first finite sample, is bad
    # (summed in order and scaled by 1/dec, as the kernel does: the flat-line
    # test compares consecutive means exactly, so rounding must agree)
    groups = held[: n_int * dec].reshape(n_int, dec)
    u = np.empty(n_int)
    for k in range(n_int):
        acc = 0.0
        for v in groups[k]:
            acc += v
        u[k] = acc * (1.0 / dec) - x0
    group_bad = ~finite[: n_int * dec].reshape(n_int, dec).all(axis=1)
    if first_finite is None:
        group_bad[:] = True
        u[:] = 0.0
    else:
        # before the first finite sample the DC level is unknown: the input is 0
        group_bad[: first_finite // dec] = True
        u[: first_finite // dec] = 0.0
    # 3. band-pass, derivative, square, moving window
    y = sps.sosfilt(sos, u) if n_int else np.empty(0)
    y_pad = np.concatenate([np.zeros(4), y])
    d = (2 * y_pad[4:] + y_pad[3:-1] - y_pad[1:-3] - 2 * y_pad[:-4]) * fs_internal_hz / 8.0
    mwi = np.convolve(d * d, np.ones(mwi_len))[:n_int] / mwi_len if n_int else np.empty(0)
    # 4. flat runs (equal consecutive internal values among good blocks) and
    #    settling after any unusable block
    bad = np.zeros(n_int, bool)
    flat_run = 0
    last_u = 0.0
    settle = 0
    for k in range(n_int):
        if not group_bad[k]:
            flat_run = flat_run + 1 if u[k] == last_u else 0
            last_u = u[k]
        if group_bad[k] or flat_run >= flat_len:
            settle = settle_len
            bad[k] = True
        elif settle > 0:
            settle -= 1
            bad[k] = True
    return y, mwi, np.abs(d), bad
