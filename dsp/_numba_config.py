"""Numba options for every kernel in dsp, in one place (STYLE.md rule 2).

``cache=True`` writes compiled kernels to ``__pycache__`` so a gateway starts
fast after the first run; ``nogil`` lets the edge pipeline run patients in
threads. ``fastmath`` stays off: kernels must treat NaN (lead-off) exactly.
Set ``NUMBA_DISABLE_JIT=1`` to run the kernels as plain Python (coverage,
debugging); results are identical, only slower.
"""

from __future__ import annotations

import numba

JIT_OPTIONS = {"cache": True, "nogil": True, "fastmath": False}


def njit(func):
    """Compile ``func`` with the project's Numba options."""
    return numba.njit(**JIT_OPTIONS)(func)
