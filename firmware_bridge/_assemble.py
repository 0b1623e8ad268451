"""Frames back into chunks: the gateway side of a live stream.

:class:`StreamAssembler` turns one device's frames (from
:class:`firmware_bridge.FrameParser`) into consecutive :class:`Chunk` s in mV.
It never stitches across a gap: the samples a :class:`Gap` says are missing
(estimated from the device timestamps) come out as NaN, so the timeline stays
true to the device clock, a streaming detector sees the gap as an unusable
stretch, and :attr:`StreamAssembler.gaps` lists where it was. A lead flagged
lead-off in a frame is NaN for that frame.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from firmware_bridge._chunk import Chunk
from firmware_bridge._frames import Frame, Gap, Restart

__all__ = ["GapStretch", "StreamAssembler"]

#: NaN filling a gap is emitted in chunks of at most this many seconds.
FILL_CHUNK_S = 10.0


@dataclass(frozen=True)
class GapStretch:
    """Samples ``[start_sample, end_sample)`` filled with NaN for lost frames."""

    start_sample: int
    end_sample: int
    missing_frames: int


class StreamAssembler:
    """Consecutive chunks from one device's frames and gap events.

    Parameters
    ----------
    device_id : int, optional
        The device to follow; by default the first one seen. Frames and
        events of other devices are counted in `ignored` and skipped.
    lead_names : tuple of str, optional
        Names for the leads (default ``"lead 1"``, ...).
    """

    def __init__(self, device_id: int | None = None, lead_names: tuple[str, ...] | None = None) -> None:
        self.device_id = device_id
        self.lead_names = lead_names
        self.fs_hz: int | None = None
        self.n_leads: int | None = None
        self.next_sample = 0
        self.gaps: list[GapStretch] = []
        self.ignored = 0
        self.ended = False

    def push(self, item: object) -> Iterator[Chunk]:
        """Chunks that `item` (a frame or an event from the parser) releases."""
        if isinstance(item, Frame):
            yield from self._frame(item)
        elif isinstance(item, Gap | Restart):
            if self.device_id is not None and item.device_id != self.device_id:
                self.ignored += 1
            elif self.fs_hz is not None:
                yield from self._gap(item)

    def _frame(self, frame: Frame) -> Iterator[Chunk]:
        if self.device_id is None:
            self.device_id = frame.device_id
        if frame.device_id != self.device_id:
            self.ignored += 1
            return
        if self.fs_hz is None:
            self.fs_hz, self.n_leads = frame.fs_hz, frame.n_leads
            if self.lead_names is None or len(self.lead_names) != self.n_leads:
                self.lead_names = tuple(f"lead {i + 1}" for i in range(self.n_leads))
        if frame.fs_hz != self.fs_hz or frame.n_leads != self.n_leads:
            self.ignored += 1  # a device that changes its set-up mid-stream: not this stream
            return
        self.ended = self.ended or frame.end_of_stream
        if frame.n_samples == 0:
            return
        samples = frame.samples * (frame.resolution_nv * 1e-6)
        if frame.lead_off_mask:
            for lead in range(self.n_leads):
                if frame.lead_off_mask >> lead & 1:
                    samples[:, lead] = np.nan
        yield self._chunk(samples)

    def _gap(self, event: Gap | Restart) -> Iterator[Chunk]:
        missing = event.missing_samples if isinstance(event, Gap) else 0
        frames = event.missing_frames if isinstance(event, Gap) else -1
        self.gaps.append(GapStretch(self.next_sample, self.next_sample + missing, frames))
        step = max(1, int(FILL_CHUNK_S * self.fs_hz))
        while missing > 0:
            n = min(step, missing)
            yield self._chunk(np.full((n, self.n_leads), np.nan))
            missing -= n

    def _chunk(self, samples: np.ndarray) -> Chunk:
        chunk = Chunk(
            source_id=f"device {self.device_id}",
            fs_hz=float(self.fs_hz),
            lead_names=self.lead_names,
            units=("mV",) * self.n_leads,
            start_sample=self.next_sample,
            samples=samples,
            device_id=str(self.device_id),
        )
        self.next_sample += samples.shape[0]
        return chunk
