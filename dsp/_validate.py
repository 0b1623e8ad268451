"""Input checks shared by the dsp wrappers (one place for each rule)."""

from __future__ import annotations

from dsp._exceptions import InvalidParameterError

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
