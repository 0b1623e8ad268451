"""Beat detection on a live frame stream (parser -> assembler -> detector).

Across a gap the samples that never arrived are fed to the detector as NaN
(unusable), so one detector runs over the whole stream on the device's own
timeline: beats are never stitched across the gap, the gap is reported as an
unusable stretch, and the detector recovers after it the way it does after
lead-off. (Starting a new detector after each gap would lose its learned
thresholds and shift every later sample index.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import dsp
from edge._stream import RecordBeats, merge_stretches
from firmware_bridge import (
    Duplicate,
    Frame,
    Gap,
    GapStretch,
    RecordInfo,
    Restart,
    Resync,
    StreamAssembler,
)

__all__ = ["LiveBeats", "detect_frames"]


@dataclass(frozen=True, eq=False)
class LiveBeats:
    """What :func:`detect_frames` found in one device's stream.

    Attributes
    ----------
    beats : RecordBeats
        R peaks and unusable stretches, sample indices on the device timeline
        (0 = first sample received); ``beats.record`` describes the stream.
    gaps : tuple of GapStretch
        Where frames were lost (filled with NaN, inside ``beats.unusable``).
    frames, missing_frames, duplicates, skipped_bytes : int
        Frames delivered, frames reported lost by gap events, duplicates
        dropped, bytes skipped while resynchronising.
    ended : bool
        The device's end-of-stream frame arrived.
    """

    beats: RecordBeats
    gaps: tuple[GapStretch, ...]
    frames: int
    missing_frames: int
    duplicates: int
    skipped_bytes: int
    ended: bool


def detect_frames(
    items: Iterable[Frame | Resync | Gap | Duplicate | Restart],
    lead_names: tuple[str, ...] | None = None,
    on_item: Callable[[object], None] | None = None,
) -> LiveBeats:
    """Feed a parsed frame stream to a streaming QRS detector.

    Parameters
    ----------
    items : iterable
        Frames and events in stream order (:meth:`firmware_bridge.FrameParser.feed`
        or :func:`firmware_bridge.iter_frames`).
    lead_names : tuple of str, optional
        Names of the leads (the frames carry none).
    on_item : callable, optional
        Called with every item (progress, logging).

    Raises
    ------
    ValueError
        The stream held no frame with samples.
    """
    assembler = StreamAssembler(lead_names=lead_names)
    detector = None
    peaks, stretches = [], []
    frames = missing = duplicates = skipped = 0
    n_fed = 0
    for item in items:
        if on_item is not None:
            on_item(item)
        if isinstance(item, Frame):
            frames += 1
        elif isinstance(item, Gap):
            missing += item.missing_frames
        elif isinstance(item, Duplicate):
            duplicates += 1
        elif isinstance(item, Resync):
            skipped += item.skipped_bytes
        for chunk in assembler.push(item):
            if detector is None:
                detector = dsp.QrsDetector(fs_hz=chunk.fs_hz, n_leads=chunk.n_leads)
            update = detector.feed(chunk.samples)
            peaks.append(np.asarray(update.r_peaks, dtype=np.int64))
            stretches.append(np.asarray(update.unusable, dtype=np.int64).reshape(-1, 2))
            n_fed += 1
    if detector is None:
        raise ValueError("the stream held no frame with samples")
    update = detector.finish()
    peaks.append(np.asarray(update.r_peaks, dtype=np.int64))
    stretches.append(np.asarray(update.unusable, dtype=np.int64).reshape(-1, 2))
    n_samples = assembler.next_sample
    name = f"device-{assembler.device_id}"
    record = RecordInfo(
        name=name, path=Path(name), fs_hz=float(assembler.fs_hz), n_samples=n_samples,
        lead_names=tuple(assembler.lead_names), units=("mV",) * assembler.n_leads,
        format="frames", device_id=str(assembler.device_id),
    )
    r_peaks = np.unique(np.concatenate(peaks))
    r_peaks = r_peaks[(r_peaks >= 0) & (r_peaks < n_samples)]
    beats = RecordBeats(record=record, r_peaks=r_peaks,
                        unusable=merge_stretches(np.concatenate(stretches), n_samples), n_chunks=n_fed)
    return LiveBeats(beats=beats, gaps=tuple(assembler.gaps), frames=frames, missing_frames=missing,
                     duplicates=duplicates, skipped_bytes=skipped, ended=assembler.ended)
