"""Paced beats are labelled Q: :class:`dsp.PacingDetector` beside the classifier.

The beat classifier was trained without paced records (as is customary), so
it calls a paced beat N or V. :class:`PacedOverride` runs the pacemaker-spike
detector on the same blocks and R peaks the feature extractor gets, and turns
the classifier's label of every beat it finds paced into Q (MIT-BIH '/' and
'f' are AAMI class Q). Its verdict on a beat is ready before the beat's
features are (it needs 0.25 s of signal after the R peak, the features about
0.4 s and the next beat), so it never holds labels back.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

import dsp

__all__ = ["PacedOverride", "rhythm_classes"]


class PacedOverride:
    """Finds paced beats as a record streams, and relabels them Q."""

    def __init__(self, config: dsp.PacingConfig | None = None) -> None:
        self._config = config
        self._detector: dsp.PacingDetector | None = None
        self._paced: set[int] = set()  # judged paced, not yet labelled
        self.n_paced = 0

    def feed(self, fs_hz: float, n_leads: int, block: np.ndarray, r_peaks: np.ndarray) -> None:
        """The block and the new R peaks, exactly as the feature extractor gets them."""
        if self._detector is None:
            self._detector = dsp.PacingDetector(fs_hz, n_leads, lookback_s=8.0, config=self._config)
        self._note(self._detector.feed(block, r_peaks))

    def finish(self) -> None:
        """The record ended: judge the last beats (before their labels are asked for)."""
        if self._detector is not None:
            self._note(self._detector.finish())

    def _note(self, beats: dsp.PacedBeats) -> None:
        self._paced.update(beats.r_peaks[beats.paced].tolist())

    def apply(self, r_peaks: np.ndarray, classes: Sequence[str]) -> tuple[list[str], np.ndarray]:
        """``classes`` of the beats at ``r_peaks`` with the paced ones Q, and which were paced.

        A paced beat is Q as a label, but it is a beat: the rhythm detectors take
        it as one (see :func:`rhythm_classes`), so pauses, rates and runs are
        still found in a paced patient.
        """
        out = list(classes)
        paced = np.zeros(len(out), bool)
        if self._paced:
            for i, peak in enumerate(np.asarray(r_peaks).tolist()):
                if peak in self._paced:
                    self._paced.discard(peak)
                    out[i] = "Q"
                    paced[i] = True
                    self.n_paced += 1
        return out, paced


def rhythm_classes(classes: Sequence[str], paced: np.ndarray) -> list[str]:
    """The classes the rhythm detectors see: a paced beat is a regular beat (N), not noise.

    It is never ectopic for them either (the classifier calls a wide paced QRS
    V, which would make every paced stretch a ventricular run).
    """
    return ["N" if p else c for c, p in zip(classes, np.asarray(paced).tolist(), strict=True)]
