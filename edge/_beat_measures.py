"""Per-beat signal measurements (delineation, ST level) while a record streams.

:class:`BeatMeasurer` hooks into :func:`edge.stream_chunks` (its ``on_block``,
beside :class:`edge._labels.BeatLabeller`). It keeps only the last seconds of
signal: as the detector decides beats, each batch of beats whose signal is
complete (``margin_s`` after the beat) is measured on a window around it, and
the signal before the oldest beat still waiting is dropped. Memory is bounded
by the chunk length plus a few seconds, whatever the record's length; the
per-beat results (a few numbers a beat) are kept.

Each measure is a function ``f(window_mv, fs_hz, r_peaks) -> dict[str, ndarray]``
whose arrays have one row per beat of ``r_peaks`` (sample indices into the
window; sample-index outputs are listed in ``sample_keys`` and shifted back to
record samples). The window has ``margin_s`` of signal before the first and
after the last beat measured, so the zero-phase filters inside dsp settle, and
it contains the neighbouring beats (the beat before and after) so that the
measures see the RR intervals around each beat; their results are dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

import dsp
from firmware_bridge import RecordInfo

__all__ = [
    "BeatMeasure",
    "BeatMeasurer",
    "default_measures",
    "delineation_measure",
    "signal_measure",
    "st_measure",
]

#: Beats before a window kept as context (more than a 5-s margin holds).
_RECENT = 32

#: f(window_mv, fs_hz, r_peaks_in_window) -> {name: (n_beats, ...) array}
MeasureFn = Callable[[np.ndarray, float, np.ndarray], Mapping[str, np.ndarray]]


@dataclass(frozen=True)
class BeatMeasure:
    """A per-beat measure: its function, and which outputs are sample indices (-1 = none)."""

    name: str
    fn: MeasureFn
    sample_keys: tuple[str, ...] = ()


def _delineate(window: np.ndarray, fs_hz: float, r: np.ndarray) -> dict[str, np.ndarray]:
    d = dsp.delineate_beats(window, fs_hz, r)
    return {
        "qrs_onset": d.qrs_onset,
        "qrs_offset": d.qrs_offset,
        "t_peak": d.t_peak,
        "t_end": d.t_end,
        "p_present": d.p_present,
    }


def _delineate_st(window: np.ndarray, fs_hz: float, r: np.ndarray) -> dict[str, np.ndarray]:
    out = _delineate(window, fs_hz, r)
    # the ST level is taken after the delineation's J point (one QRS search, not two)
    levels = dsp.measure_st(window, fs_hz, r, qrs_offset=_usable_j(out["qrs_offset"], r, fs_hz))
    out["st_uv"] = np.asarray(levels.st_uv, dtype=np.float64).reshape(r.size, -1)
    return out


def _usable_j(j: np.ndarray, r: np.ndarray, fs_hz: float) -> np.ndarray:
    """J points measure_st accepts (after R, within 200 ms), -1 (find it) elsewhere."""
    ok = (j > r) & (j <= r + int(0.2 * fs_hz))
    return np.where(ok, j, -1).astype(np.int64)


def _st_only(window: np.ndarray, fs_hz: float, r: np.ndarray) -> dict[str, np.ndarray]:
    levels = dsp.measure_st(window, fs_hz, r)  # measure_st's own J (docs/st_qt.md: closer)
    return {"st_uv": np.asarray(levels.st_uv, dtype=np.float64).reshape(r.size, -1)}


_SAMPLE_KEYS = ("qrs_onset", "qrs_offset", "t_peak", "t_end")
#: The ST level per lead alone (the gateway's ST alerts).
st_measure = BeatMeasure("ST level", _st_only)
delineation_measure = BeatMeasure("delineation", _delineate, _SAMPLE_KEYS)
signal_measure = BeatMeasure("delineation and ST level", _delineate_st, _SAMPLE_KEYS)


def default_measures() -> tuple[BeatMeasure, ...]:
    """Delineation and the ST level per lead of every beat (QT follows from the
    delineation: :func:`edge._analyze.qt_intervals`)."""
    return (signal_measure,)


class BeatMeasurer:
    """Measures beats on a sliding window of signal while a record streams.

    Parameters
    ----------
    measures : sequence of BeatMeasure, optional
        Default :func:`default_measures`.
    margin_s : float, default 5.0
        Signal kept before and after the beats measured in one window, s:
        covers the T wave (660 ms at most after R), the settling of the
        delineation's zero-phase filter, and enough beats on each side that the
        ST baseline spline through the PR knots of the window matches the
        spline through the whole record to a fraction of a microvolt.
    """

    def __init__(self, measures: tuple[BeatMeasure, ...] | None = None, margin_s: float = 5.0):
        self.measures = default_measures() if measures is None else tuple(measures)
        self.margin_s = float(margin_s)
        self._fs_hz = 0.0
        self._margin = 0
        self._buf: np.ndarray | None = None  # signal from sample self._buf_start on
        self._buf_start = 0
        self._pending: list[int] = []  # decided beats not measured yet (sorted)
        self._prev = -1  # the last beat measured
        self._recent: list[int] = []  # the last beats measured (context for the next window)
        self._last = -1  # the last beat seen
        self._peaks: list[np.ndarray] = []
        self._out: dict[str, list[np.ndarray]] = {}

    def __call__(self, record: RecordInfo, block: np.ndarray, r_peaks: np.ndarray) -> None:
        """The ``on_block`` hook of :func:`edge.stream_chunks`."""
        if self._buf is None:
            self.start(record.fs_hz, record.n_leads)
        self.feed(block, r_peaks)

    def start(self, fs_hz: float, n_leads: int) -> None:
        """Set the stream's rate and lead count (before the first :meth:`feed`)."""
        self._fs_hz = float(fs_hz)
        self._margin = int(round(self.margin_s * self._fs_hz))
        self._buf = np.zeros((0, int(n_leads)), dtype=np.float64)

    def feed(self, block: np.ndarray, r_peaks: np.ndarray) -> None:
        """The next block of signal (n, n_leads) in mV and the beats decided with it.

        An empty block means the stream has ended: every pending beat is measured.
        """
        if self._buf is None:
            raise RuntimeError("BeatMeasurer.feed() before start()")
        block = np.asarray(block, dtype=np.float64).reshape(-1, self._buf.shape[1])
        if block.shape[0]:
            self._buf = np.concatenate([self._buf, block])
        peaks = np.asarray(r_peaks, dtype=np.int64)
        peaks = peaks[peaks > self._last]
        if peaks.size:
            self._last = int(peaks[-1])
            self._pending.extend(peaks.tolist())
        final = block.shape[0] == 0
        buf_end = self._buf_start + self._buf.shape[0]
        # a beat is ready once its margin is read and its successor is known
        # (the detector never decides a beat before one it has already given)
        n_ready = len(self._pending) if final else max(0, len(self._pending) - 1)
        while n_ready and self._pending[n_ready - 1] + self._margin > buf_end and not final:
            n_ready -= 1
        if n_ready:
            self._measure(n_ready)
        self._trim()

    def _measure(self, n_ready: int) -> None:
        ready = np.array(self._pending[:n_ready], dtype=np.int64)
        del self._pending[:n_ready]
        buf_end = self._buf_start + self._buf.shape[0]
        lo = max(self._buf_start, int(ready[0]) - self._margin)
        hi = min(buf_end, int(ready[-1]) + self._margin)
        # every known beat inside the window is context: the measures see the RR
        # intervals and (ST) the baseline knots around each beat measured
        before = [p for p in self._recent if p >= lo]
        after = [p for p in self._pending if p < hi]
        r = np.array(before + ready.tolist() + after, dtype=np.int64)
        keep = slice(len(before), len(before) + ready.size)
        window = self._buf[lo - self._buf_start : hi - self._buf_start]
        for m in self.measures:
            got = m.fn(window, self._fs_hz, r - lo)
            for key, values in got.items():
                arr = np.asarray(values)[keep]
                if key in m.sample_keys:
                    arr = np.where(arr >= 0, arr + lo, -1).astype(np.int64)
                self._out.setdefault(key, []).append(arr)
        self._peaks.append(ready)
        self._recent = (self._recent + ready.tolist())[-_RECENT:]
        self._prev = int(ready[-1])

    def _trim(self) -> None:
        buf_end = self._buf_start + self._buf.shape[0]
        if self._pending:
            keep_from = min(self._pending[0], max(self._prev, 0)) - self._margin
        else:
            # beats may still be decided up to the detector's search-back (8 s) late
            keep_from = min(buf_end - int(10.0 * self._fs_hz), max(self._prev, 0)) - self._margin
        keep_from = max(keep_from, self._buf_start)
        if keep_from > self._buf_start:
            self._buf = self._buf[keep_from - self._buf_start :].copy()
            self._buf_start = keep_from

    def drain(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """The beats measured since the last drain and their results; forgets them.

        For a long stream (the gateway) whose results are used as they come:
        memory then stays bounded. :meth:`finish` sees only what was not drained.
        """
        peaks = np.concatenate(self._peaks) if self._peaks else np.zeros(0, np.int64)
        out = {key: np.concatenate(parts) for key, parts in self._out.items()}
        self._peaks, self._out = [], {}
        return peaks, out

    @property
    def buffered_samples(self) -> int:
        """Samples of signal held now (bounded while streaming)."""
        return 0 if self._buf is None else int(self._buf.shape[0])

    def finish(self, r_peaks: np.ndarray) -> dict[str, np.ndarray]:
        """The per-beat results aligned on `r_peaks` (the record's beats).

        Beats never measured (none should be) get -1 for sample outputs,
        False for booleans and NaN otherwise.
        """
        r = np.asarray(r_peaks, dtype=np.int64)
        got = np.concatenate(self._peaks) if self._peaks else np.zeros(0, np.int64)
        idx = np.searchsorted(got, r)
        idx_ok = idx < got.size
        found = np.zeros(r.size, dtype=bool)
        found[idx_ok] = got[idx[idx_ok]] == r[idx_ok]
        out: dict[str, np.ndarray] = {}
        for key, parts in self._out.items():
            values = np.concatenate(parts)
            if values.dtype == bool:
                full = np.zeros((r.size,) + values.shape[1:], dtype=bool)
            elif np.issubdtype(values.dtype, np.integer):
                full = np.full((r.size,) + values.shape[1:], -1, dtype=np.int64)
            else:
                full = np.full((r.size,) + values.shape[1:], np.nan, dtype=np.float64)
            full[found] = values[idx[found]]
            out[key] = full
        return out
