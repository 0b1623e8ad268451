"""Input checks shared by the dsp wrappers (one place for each rule)."""

from __future__ import annotations

import numpy as np

from dsp._exceptions import InvalidParameterError, InvalidSignalError

#: sampling rates every dsp function accepts, Hz
MIN_FS_HZ = 100.0
MAX_FS_HZ = 1000.0


def check_fs_hz(fs_hz) -> float:
    """``fs_hz`` as a float, or :class:`InvalidParameterError` naming it and the value."""
    try:
        fs = float(fs_hz)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"fs_hz must be a number, got {fs_hz!r}") from None
    if not (MIN_FS_HZ <= fs <= MAX_FS_HZ):
        raise InvalidParameterError(
            f"fs_hz must be between {MIN_FS_HZ:g} and {MAX_FS_HZ:g} Hz, got {fs_hz!r}"
        )
    return fs


def as_samples_by_leads(signal, n_leads: int | None = None, made_for: str = "detector") -> np.ndarray:
    """(n,) or (n, n_leads) array-like -> C-contiguous float64 (n, n_leads).

    An input that already is one is used as it is (no copy). ``n_leads``, when
    given, must match; ``made_for`` names the caller in that message.
    """
    arr = np.asarray(signal)
    if arr.dtype.kind not in "fiu":
        raise InvalidSignalError(f"signal must be numeric, got dtype {arr.dtype}")
    if arr.ndim == 1:
        arr = arr[:, None]
    elif arr.ndim != 2:
        raise InvalidSignalError(
            f"signal must be 1-D (n_samples,) or 2-D (n_samples, n_leads), got shape {arr.shape}"
        )
    if n_leads is not None and arr.shape[1] != n_leads:
        raise InvalidSignalError(
            f"signal has {arr.shape[1]} leads, the {made_for} was made for {n_leads}"
        )
    return np.ascontiguousarray(arr, dtype=np.float64)


def check_new_r_peaks(r_peaks, last_peak: int) -> np.ndarray:
    """New R peaks of a streaming feed as int64, or :class:`InvalidSignalError`.

    They must be sorted, non-negative and after ``last_peak`` (the last peak
    fed before; -1 for none).
    """
    peaks = np.asarray(r_peaks, dtype=np.int64).reshape(-1)
    if peaks.size and (np.any(np.diff(peaks) <= 0) or peaks[0] <= last_peak or peaks[0] < 0):
        raise InvalidSignalError("r_peaks must be sorted, non-negative and after every peak fed before")
    return peaks
