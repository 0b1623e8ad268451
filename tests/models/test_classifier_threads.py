"""The shared beat classifier gives the same labels when patient threads call it at once."""

from __future__ import annotations

import threading

import numpy as np
import wfdb

import dsp
from models import BeatClassifier


def test_concurrent_classify_equals_serial(sample_record):
    signal, fields = wfdb.rdsamp(str(sample_record), sampto=360 * 120)
    fs = fields["fs"]
    feats = dsp.extract_beat_features(signal, fs, dsp.detect_qrs(signal, fs))
    classifier = BeatClassifier()
    serial = classifier.classify(feats).probabilities
    results: list[np.ndarray] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(5):
                results.append(classifier.classify(feats).probabilities)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(results) == 20
    for probs in results:
        np.testing.assert_array_equal(probs, serial)
