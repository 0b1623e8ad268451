"""Let glibc's malloc keep freed memory for the next chunk of a streamed record.

Every 10-min chunk of a 24-h analysis allocates and frees the same few dozen
MB of NumPy temporaries (filtered signal, derivatives, beat windows). With
glibc's defaults a block above the mmap threshold (128 kB, raised only to the
largest block freed so far) is mapped and unmapped each time, and a free
region above the trim threshold at the top of the heap is handed back to the
kernel: the next chunk then page-faults on every 4 kB page again (about a
million faults over 24 h, 0.5-1 s of a one-core run). :func:`reuse_freed_memory`
raises both thresholds once per process, so the memory freed by one chunk is
reused by the next. The peak is unchanged (the same arrays are alive at once);
what changes is that up to ``TRIM_THRESHOLD_BYTES`` freed at the top of the
heap stays with the process instead of going back between chunks.

Results do not depend on it; on another C library (musl, macOS) it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

__all__ = ["MMAP_THRESHOLD_BYTES", "TRIM_THRESHOLD_BYTES", "reuse_freed_memory"]

#: Blocks below this come from the heap, not from their own mapping
#: (glibc accepts at most 32 MB on 64-bit systems).
MMAP_THRESHOLD_BYTES = 32 * 2**20
#: Free memory at the top of the heap is returned to the kernel beyond this.
TRIM_THRESHOLD_BYTES = 64 * 2**20
# mallopt parameters (glibc's malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

_applied: bool | None = None


def reuse_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds (once per process); True if they were set."""
    global _applied
    if _applied is None:
        _applied = _set_thresholds()
    return _applied


def _set_thresholds() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
        # glibc only: musl has no mallopt, and gnu_get_libc_version names glibc
        libc.gnu_get_libc_version  # noqa: B018 - AttributeError if not glibc
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    ok_mmap = mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) == 1
    ok_trim = mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES) == 1
    return ok_mmap and ok_trim
