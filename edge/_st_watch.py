"""ST episodes while one patient's ECG streams: the gateway's ``st`` alerts.

:class:`StWatch` measures the ST level of every beat per lead
(:func:`dsp.measure_st` on a sliding window of signal, through
:class:`edge._beat_measures.BeatMeasurer`: each beat is measured once the
``margin_s`` of signal after it has arrived) and, at each analysis, looks for
ST episodes (:func:`dsp.find_st_episodes`, European ST-T Database rules) on
the normal beats of the last ``window_s`` seconds. As in ``holter analyze``,
only normal beats count (an ectopic beat's ST segment is not ischaemia) and
the reference level of each lead is the median ST level of the first
``reference_s`` seconds of normal beats of the recording, fixed from then on,
so a long episode is judged against the same level in every window.

Memory is bounded: the signal window of the measurer and the ST levels of the
last ``window_s`` seconds of beats.
"""

from __future__ import annotations

import numpy as np

import dsp
from edge._beat_measures import BeatMeasurer, st_measure

__all__ = ["StWatch"]

#: Beat class code of a normal beat (dsp._rhythm.CLASSES order: N S V F Q).
_C_N = 0


class StWatch:
    """ST levels and episodes of one streamed recording.

    Parameters
    ----------
    fs_hz : float
    n_leads : int
    threshold_uv : float
        Smallest deviation from the reference that counts, µV.
    min_duration_s : float
        Shortest episode, s.
    window_s : float
        Seconds of recent beats looked at in each analysis.
    reference_s : float
        Seconds of normal beats at the start that set each lead's reference level.
    margin_s : float
        Signal measured around each beat (see :class:`BeatMeasurer`); an ST
        level is known this long after its beat.
    """

    def __init__(self, fs_hz: float, n_leads: int, threshold_uv: float, min_duration_s: float,
                 window_s: float, reference_s: float = 30.0, margin_s: float = 5.0) -> None:
        self.fs_hz = float(fs_hz)
        self.threshold_uv = float(threshold_uv)
        self.min_duration_s = float(min_duration_s)
        self._window = round(window_s * self.fs_hz)
        self._reference_len = round(reference_s * self.fs_hz)
        self._measurer = BeatMeasurer((st_measure,), margin_s=margin_s)
        self._measurer.start(self.fs_hz, n_leads)
        self._r = np.zeros(0, np.int64)  # beats measured, last window_s
        self._st = np.zeros((0, int(n_leads)), np.float64)
        self.reference_uv: np.ndarray | None = None

    def feed(self, block: np.ndarray, r_peaks: np.ndarray) -> None:
        """The next block (n, n_leads) in mV and the beats the detector decided with it
        (an empty block: the stream has ended)."""
        self._measurer.feed(block, r_peaks)
        r, out = self._measurer.drain()
        if r.size:
            st = out["st_uv"].reshape(r.size, -1)
            self._r = np.concatenate([self._r, r])
            self._st = np.concatenate([self._st, st])
            keep = np.searchsorted(self._r, int(self._r[-1]) - self._window)
            if keep:
                self._r, self._st = self._r[keep:], self._st[keep:]

    def _set_reference(self, normal: np.ndarray) -> None:
        """The median ST level per lead of the first ``reference_s`` of normal beats
        (of the window: the first minutes of the recording, unless they held none)."""
        r, st = self._r[normal], self._st[normal]
        if r.size == 0 or r[-1] - r[0] < self._reference_len:
            return
        first = st[r <= r[0] + self._reference_len]
        ref = np.full(st.shape[1], np.nan)
        for lead in range(st.shape[1]):
            col = first[:, lead]
            if np.isfinite(col).any():
                ref[lead] = np.median(col[np.isfinite(col)])
        self.reference_uv = ref

    def episodes(self, r_peaks: np.ndarray, codes: np.ndarray) -> tuple[tuple, int]:
        """ST episodes among the beats measured so far, and the last normal beat measured.

        Parameters
        ----------
        r_peaks, codes : ndarray
            The labelled beats of the analysis window (sorted) and their class
            codes (beats in unusable signal already coded Q): a beat measured
            but not labelled yet waits for its label.

        Returns
        -------
        episodes : tuple of dsp.StEpisode
        last_normal : int
            R peak of the newest normal beat measured (-1: none): an episode
            ending there may still grow.
        """
        if self._r.size == 0 or r_peaks.size == 0:
            return (), -1
        idx = np.searchsorted(r_peaks, self._r)
        ok = idx < r_peaks.size
        labelled = np.zeros(self._r.size, bool)
        labelled[ok] = r_peaks[idx[ok]] == self._r[ok]
        normal = labelled.copy()
        normal[labelled] = codes[idx[labelled]] == _C_N
        if self.reference_uv is None:
            self._set_reference(normal)
            if self.reference_uv is None:
                return (), -1
        if np.count_nonzero(normal) < 2:
            return (), -1
        r_n = self._r[normal]
        found = dsp.find_st_episodes(
            self._st[normal], r_n, self.fs_hz, threshold_uv=self.threshold_uv,
            min_duration_s=self.min_duration_s, reference_uv=self.reference_uv,
        )
        return tuple(found), int(r_n[-1])
