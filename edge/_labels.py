"""Beat labels and rhythm for a streamed record: dsp features -> TFLite classifier -> rhythm.

:class:`BeatLabeller` hooks into :func:`edge.stream_chunks` (its ``on_block``):
as the detector decides beats, their features are extracted (one-beat
lookahead) and classified chunk by chunk, so memory stays bounded over 24 h.
At the end, :meth:`BeatLabeller.finish` runs the rhythm detectors on the
labelled beat stream and the unusable stretches.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import dsp
from dsp._rhythm import RhythmAnalysis, analyze_rhythm_sveb_in_af
from edge._paced import PacedOverride, rhythm_classes
from firmware_bridge import RecordInfo
from models import BeatClassifier

__all__ = ["BeatLabeller", "LabelledBeats"]

_CLASSIFIER: BeatClassifier | None = None


def shared_classifier() -> BeatClassifier:
    """The committed classifier, loaded once per process."""
    global _CLASSIFIER
    if _CLASSIFIER is None:
        _CLASSIFIER = BeatClassifier()
    return _CLASSIFIER


@dataclass(frozen=True, eq=False)
class LabelledBeats:
    """Labels and rhythm of one record's beats.

    Attributes
    ----------
    r_peaks : ndarray of int64
        Every beat, sorted (as detected).
    classes : tuple of str
        AAMI class per beat (N, S, V, F, Q); beats in unusable signal are Q.
    rhythm : dsp._rhythm.RhythmAnalysis
        Episodes and the per-beat rhythm state.
    """

    r_peaks: np.ndarray
    classes: tuple[str, ...]
    rhythm: RhythmAnalysis

    @property
    def symbols(self) -> list[str]:
        """MIT-BIH beat symbols (S is written 'A')."""
        return ["A" if c == "S" else c for c in self.classes]

    def rhythm_annotations(self) -> list[tuple[int, str]]:
        """(sample, aux note) of each '+' rhythm annotation."""
        return self.rhythm.transitions(self.r_peaks)


class BeatLabeller:
    """Labels beats while a record streams through the detector.

    Parameters
    ----------
    classifier : models.BeatClassifier, optional
        Default: the committed model (loaded once per process).
    rhythm_config : dsp._rhythm.RhythmConfig, optional
    """

    def __init__(self, classifier: BeatClassifier | None = None, rhythm_config=None) -> None:
        self._classifier = classifier
        self._rhythm_config = rhythm_config
        self._extractor: dsp.BeatFeatureExtractor | None = None
        self._fs_hz = 0.0
        self._last = -1
        self._peaks: list[np.ndarray] = []
        self._classes: list[str] = []
        self._paced_flags: list[bool] = []
        self._p_wave: list[np.ndarray] = []  # P-wave similarity per beat (NaN: paced)
        self._paced = PacedOverride()  # paced beats are Q (beats all the same for rhythm)

    def __call__(self, record: RecordInfo, block: np.ndarray, r_peaks: np.ndarray) -> None:
        """The ``on_block`` hook of :func:`edge.stream_chunks`."""
        if self._extractor is None:
            self._fs_hz = float(record.fs_hz)
            # a detector decides a beat at most a few seconds late (search-back)
            self._extractor = dsp.BeatFeatureExtractor(record.fs_hz, record.n_leads, lookback_s=8.0)
        peaks = np.asarray(r_peaks, np.int64)
        peaks = peaks[peaks > self._last]
        if peaks.size:
            self._last = int(peaks[-1])
        self._paced.feed(self._fs_hz, record.n_leads, block, peaks)
        feats = self._extractor.feed(block, peaks)
        self._classify(feats)

    def _classify(self, feats: dsp.BeatFeatures) -> None:
        if feats.n_beats == 0:
            return
        classifier = self._classifier or shared_classifier()
        labels = classifier.classify(feats)
        self._peaks.append(labels.r_peaks)
        classes, paced = self._paced.apply(labels.r_peaks, labels.classes)
        self._classes.extend(classes)
        self._paced_flags.extend(paced.tolist())
        self._p_wave.append(np.where(paced, np.nan, dsp.p_wave_similarity(feats)))

    def finish(self, r_peaks: np.ndarray, unusable: np.ndarray) -> LabelledBeats:
        """Label the last beats and analyse the rhythm.

        Parameters
        ----------
        r_peaks : ndarray of int64
            The record's beats as :class:`edge.RecordBeats` holds them.
        unusable : ndarray of int64, shape (k, 2)
            Stretches where no lead was usable.
        """
        if self._extractor is not None:
            self._paced.finish()
            self._classify(self._extractor.finish())
        # the labelled beats are sorted (the extractor emits them in order, once each):
        # each of the record's beats is looked up by bisection; one never labelled is Q
        got = np.concatenate(self._peaks) if self._peaks else np.zeros(0, np.int64)
        got_classes = np.array(self._classes, dtype=object)
        got_paced = np.array(self._paced_flags, dtype=bool)
        got_p = np.concatenate(self._p_wave) if self._p_wave else np.zeros(0)
        r = np.asarray(r_peaks, np.int64)
        at = np.minimum(np.searchsorted(got, r), max(got.size - 1, 0))
        found = got[at] == r if got.size else np.zeros(r.size, bool)
        classes_arr = np.full(r.size, "Q", dtype=object)
        classes_arr[found] = got_classes[at[found]]
        paced = np.zeros(r.size, bool)
        paced[found] = got_paced[at[found]]
        p_wave = np.full(r.size, np.nan)
        p_wave[found] = got_p[at[found]]
        for start, end in np.asarray(unusable, np.int64).reshape(-1, 2).tolist():
            lo, hi = np.searchsorted(r, [start, end])
            classes_arr[lo:hi] = "Q"
            paced[lo:hi] = False
        classes = classes_arr.tolist()
        fs = self._fs_hz or 360.0
        # S beats inside AF are conducted AF beats: N (paced beats are Q here, never S)
        rhythm, relabelled = analyze_rhythm_sveb_in_af(
            r, rhythm_classes(classes, paced), fs, unusable, self._rhythm_config, p_wave=p_wave)
        for i in np.flatnonzero(relabelled).tolist():
            classes[i] = "N"
        return LabelledBeats(r_peaks=r, classes=tuple(classes), rhythm=rhythm)
