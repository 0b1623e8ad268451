"""The models exception tree.

``ModelError`` is the root. A missing or unreadable model file is an
``OSError`` too, so the ``holter`` CLI reports it in one line.
"""

from __future__ import annotations


class ModelError(OSError):
    """The model or its runtime cannot be loaded."""
