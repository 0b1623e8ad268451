"""The dsp exception and warning tree.

``DspError`` is the root; input problems also derive from ``ValueError`` so
callers (and the ``holter`` CLI) can treat them as bad input. Signal problems
such as a flat or saturated lead are data, reported in results, never raised.
"""

from __future__ import annotations


class DspError(Exception):
    """Base class of every error raised by :mod:`dsp`."""


class InvalidSignalError(DspError, ValueError):
    """The signal array has the wrong shape, type or length."""


class InvalidParameterError(DspError, ValueError):
    """A parameter (sampling rate, lead count, ...) is out of its valid range."""
