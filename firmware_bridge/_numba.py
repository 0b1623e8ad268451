"""Numba options for firmware_bridge's kernels, in one place.

The same options as ``dsp/_numba_config.py`` (``cache=True`` so a gateway
starts fast, ``nogil`` so transports may parse in threads, no ``fastmath``),
kept here rather than imported so that firmware_bridge does not depend on dsp
(DESIGN.md: the device side stays usable on its own). Set
``NUMBA_DISABLE_JIT=1`` to run the kernels as plain Python; results are
identical, only slower.
"""

from __future__ import annotations

import numba

__all__ = ["JIT_OPTIONS", "njit"]

JIT_OPTIONS = {"cache": True, "nogil": True, "fastmath": False}


def njit(func):
    """Compile ``func`` with the project's Numba options."""
    return numba.njit(**JIT_OPTIONS)(func)
