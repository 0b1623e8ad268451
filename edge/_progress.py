"""Progress of a long command on stderr: a live percentage on terminals only.

Shared by the commands that stream whole records (``holter detect``,
``holter analyze``): when stderr is not a terminal (a pipe, a log file, a CI
job) nothing but the final summary line is written.
"""

from __future__ import annotations

from typing import TextIO

__all__ = ["Progress"]


class Progress:
    """Progress on `stream`: a percentage while a record runs (terminals only),
    then one summary line per record.

    Parameters
    ----------
    stream : text stream
        Usually ``sys.stderr``; the percentage is shown only when ``stream.isatty()``.
    """

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.live = stream.isatty()
        self.label = ""
        self.shown = -1

    def start(self, label: str) -> None:
        """Begin a new item called `label`."""
        self.label, self.shown = label, -1

    def update(self, done: int, total: int) -> None:
        """`done` of `total` units are processed (redraws only when the percentage changes)."""
        if not self.live or total <= 0:
            return
        percent = 100 * done // total
        if percent != self.shown:
            self.shown = percent
            self.stream.write(f"\r{self.label}: {percent:3d} %")
            self.stream.flush()

    def clear(self) -> None:
        """Erase the percentage line (before printing something else)."""
        if self.live and self.shown >= 0:
            self.stream.write("\r\033[K")
            self.shown = -1

    def done(self, line: str) -> None:
        """Erase the percentage and print the item's summary `line`."""
        self.clear()
        print(line, file=self.stream, flush=True)
