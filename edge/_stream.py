"""Feed a record, chunk by chunk, through the streaming QRS detector.

Batch analysis is streaming as fast as the detector takes it (DESIGN.md): the
commands here read a record with :mod:`firmware_bridge` and feed
:class:`dsp.QrsDetector` exactly as a live device would.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

import dsp
from firmware_bridge import Chunk, RecordInfo, iter_record_chunks, open_record

__all__ = ["RecordBeats", "detect_record", "merge_stretches", "stream_chunks"]

#: Called after each chunk with (samples fed so far, samples in the record).
ProgressCallback = Callable[[int, int], None]
#: Called after each block fed to the detector with (record, block, R peaks it
#: decided); after the end with an empty block and the last peaks (beat
#: labelling hooks in here).
BlockCallback = Callable[[RecordInfo, np.ndarray, np.ndarray], None]


@dataclass(frozen=True, eq=False)
class RecordBeats:
    """The beats and unusable stretches found in one record.

    Attributes
    ----------
    record : firmware_bridge.RecordInfo
        The record analysed.
    r_peaks : numpy.ndarray
        int64, sorted: sample index of every R peak (0 = first sample).
    unusable : numpy.ndarray
        int64, shape (k, 2): ``[start, end)`` sample stretches where no lead
        was usable, sorted, merged where they touch, within the record.
    n_chunks : int
        How many blocks the detector was fed.
    """

    record: RecordInfo
    r_peaks: np.ndarray
    unusable: np.ndarray
    n_chunks: int

    @property
    def n_beats(self) -> int:
        """Number of beats detected."""
        return int(self.r_peaks.size)

    @property
    def unusable_s(self) -> float:
        """Total length of the unusable stretches in seconds."""
        return float(np.sum(self.unusable[:, 1] - self.unusable[:, 0])) / self.record.fs_hz


def merge_stretches(stretches: np.ndarray, n_samples: int) -> np.ndarray:
    """Sort ``[start, end)`` stretches, clip them to ``[0, n_samples)`` and merge
    those that overlap or touch; empty ones are dropped.

    Examples
    --------
    >>> merge_stretches(np.array([[50, 60], [0, 10], [10, 20], [55, 99]]), 80).tolist()
    [[0, 20], [50, 80]]
    """
    s = np.asarray(stretches, dtype=np.int64).reshape(-1, 2)
    s = np.clip(s, 0, n_samples)
    s = s[s[:, 1] > s[:, 0]]
    if s.shape[0] == 0:
        return np.empty((0, 2), dtype=np.int64)
    s = s[np.argsort(s[:, 0], kind="stable")]
    merged = [s[0].tolist()]
    for start, end in s[1:].tolist():
        if start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return np.array(merged, dtype=np.int64)


def stream_chunks(
    chunks: Iterable[Chunk],
    record: RecordInfo,
    feed_samples: int | None = None,
    on_progress: ProgressCallback | None = None,
    on_block: BlockCallback | None = None,
) -> RecordBeats:
    """Feed `chunks` of `record` to a new :class:`dsp.QrsDetector` and collect its output.

    Parameters
    ----------
    chunks : iterable of firmware_bridge.Chunk
        Consecutive blocks of the record, starting at sample 0.
    record : firmware_bridge.RecordInfo
        What the record is (sampling frequency, leads, length).
    feed_samples : int, optional
        Split each chunk into blocks of this many samples before feeding them
        (``fs`` samples simulates a device that sends one block a second).
        By default each chunk is fed whole.
    on_progress : callable, optional
        Called as ``on_progress(samples_fed, record.n_samples)`` after each chunk.
    on_block : callable, optional
        Called as ``on_block(record, block, r_peaks)`` after each block the detector
        is fed, with the R peaks it decided then; once more at the end with an
        empty block and the last peaks.

    Returns
    -------
    RecordBeats
    """
    detector = dsp.QrsDetector(fs_hz=record.fs_hz, n_leads=record.n_leads)
    peaks: list[np.ndarray] = []
    stretches: list[np.ndarray] = []
    n_fed = 0
    next_sample = 0
    for chunk in chunks:
        if chunk.start_sample != next_sample:
            raise ValueError(
                f"{record.name}: chunk starts at sample {chunk.start_sample}, expected {next_sample}"
            )
        next_sample = chunk.end_sample
        step = chunk.n_samples if feed_samples is None else max(1, int(feed_samples))
        for i in range(0, chunk.n_samples, step):
            block = chunk.samples[i : i + step]
            update = detector.feed(block)
            peaks.append(np.asarray(update.r_peaks, dtype=np.int64))
            if on_block is not None:
                on_block(record, block, peaks[-1])
            stretches.append(np.asarray(update.unusable, dtype=np.int64).reshape(-1, 2))
            n_fed += 1
        if on_progress is not None:
            on_progress(next_sample, record.n_samples)
    update = detector.finish()
    peaks.append(np.asarray(update.r_peaks, dtype=np.int64))
    if on_block is not None:
        on_block(record, np.zeros((0, record.n_leads)), peaks[-1])
    stretches.append(np.asarray(update.unusable, dtype=np.int64).reshape(-1, 2))
    r_peaks = np.unique(np.concatenate(peaks))  # sorted; the detector never repeats one
    r_peaks = r_peaks[(r_peaks >= 0) & (r_peaks < record.n_samples)]
    unusable = merge_stretches(np.concatenate(stretches), record.n_samples)
    return RecordBeats(record=record, r_peaks=r_peaks, unusable=unusable, n_chunks=n_fed)


def detect_record(
    path: str | os.PathLike[str],
    chunk_s: float = 60.0,
    feed_s: float | None = None,
    on_progress: ProgressCallback | None = None,
    allow_truncated: bool = False,
    on_block: BlockCallback | None = None,
) -> RecordBeats:
    """Detect every beat of a record by streaming it through the detector.

    Parameters
    ----------
    path : str or path-like
        A WFDB record path without extension, an EDF/EDF+ file or an ISHNE
        Holter file (recognised by content, see :func:`firmware_bridge.open_record`).
    chunk_s : float, default 60.0
        Seconds read from disk at a time (bounds memory).
    feed_s : float, optional
        Seconds fed to the detector at a time (default: a whole chunk).
        ``feed_s=1.0`` simulates a live device.
    on_progress : callable, optional
        See :func:`stream_chunks`.
    allow_truncated : bool, default False
        Analyse a truncated ISHNE/EDF file up to the damage
        (``RecordBeats.record.samples_lost`` says how much is missing).
    on_block : callable, optional
        See :func:`stream_chunks`.

    Raises
    ------
    FileNotFoundError, firmware_bridge.RecordFormatError
        The record is missing or unusable (see :func:`firmware_bridge.open_record`).
    """
    record = open_record(path, allow_truncated=allow_truncated)
    chunks = iter_record_chunks(record, chunk_s=chunk_s)
    feed = None if feed_s is None else max(1, round(feed_s * record.fs_hz))
    return stream_chunks(
        chunks, record, feed_samples=feed, on_progress=on_progress, on_block=on_block
    )
