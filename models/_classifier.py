"""Run the committed beat classifier (TFLite int8) on beat features, batched.

The interpreter comes from ``ai-edge-litert`` (the maintained TFLite runtime),
or from ``tflite_runtime`` where a device image ships that instead. TensorFlow
is not needed at run time.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dsp import BeatFeatures
from models._exceptions import ModelError
from models._inputs import MODEL_CLASSES, model_inputs

#: The committed model and its sidecar (classes, decision offsets, training figures).
MODEL_PATH = Path(__file__).resolve().parent / "beat_classifier.tflite"
#: Labels written for each class (MIT-BIH symbols; A = supraventricular ectopic).
SYMBOL_OF_CLASS = {"N": "N", "S": "A", "V": "V", "F": "F", "Q": "Q"}
#: Beats whose window is less complete than this are labelled Q.
MIN_VALID_FRACTION = 0.6
#: Beats per interpreter call.
BATCH = 4096


def _interpreter_class():
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:  # pragma: no cover - depends on the device image
        try:
            from tflite_runtime.interpreter import Interpreter
        except ImportError as exc:
            raise ModelError(
                "no TFLite runtime: pip install ai-edge-litert (or tflite-runtime)"
            ) from exc
    return Interpreter


class TfliteBeatModel:
    """The TFLite network alone: inputs in, class probabilities out, in batches.

    Parameters
    ----------
    path : path-like
        A ``.tflite`` file with inputs ``morph`` and ``scalars``.
    """

    def __init__(self, path: str | Path = MODEL_PATH) -> None:
        path = Path(path)
        if not path.is_file():
            raise ModelError(f"model file not found: {path}")
        interp = _interpreter_class()(model_path=str(path), num_threads=1)
        self._interp = interp
        inputs = {d["name"]: d for d in interp.get_input_details()}
        by_rank = sorted(inputs.values(), key=lambda d: -len(d["shape"]))
        self._morph_index = by_rank[0]["index"]
        self._scal_index = by_rank[1]["index"]
        self._out_index = interp.get_output_details()[0]["index"]
        self._batch = 0
        # a TFLite interpreter is not thread-safe; the gateway's patient threads share one
        self._lock = threading.Lock()

    def _resize(self, n: int, morph_shape, scal_shape) -> None:
        if n != self._batch:
            self._interp.resize_tensor_input(self._morph_index, [n, *morph_shape])
            self._interp.resize_tensor_input(self._scal_index, [n, *scal_shape])
            self._interp.allocate_tensors()
            self._batch = n

    def predict_proba(self, morph: np.ndarray, scalars: np.ndarray) -> np.ndarray:
        """Class probabilities, shape (n, len(MODEL_CLASSES)), float32 (thread-safe)."""
        n = morph.shape[0]
        out = np.zeros((n, len(MODEL_CLASSES)), np.float32)
        with self._lock:
            self._predict_into(morph, scalars, out)
        return out

    def _predict_into(self, morph: np.ndarray, scalars: np.ndarray, out: np.ndarray) -> None:
        n = morph.shape[0]
        for start in range(0, n, BATCH):
            m = np.ascontiguousarray(morph[start : start + BATCH], np.float32)
            s = np.ascontiguousarray(scalars[start : start + BATCH], np.float32)
            self._resize(m.shape[0], m.shape[1:], s.shape[1:])
            self._interp.set_tensor(self._morph_index, m)
            self._interp.set_tensor(self._scal_index, s)
            self._interp.invoke()
            out[start : start + m.shape[0]] = self._interp.get_tensor(self._out_index)


@dataclass(frozen=True, eq=False)
class BeatLabels:
    """Labels of a run of beats.

    Attributes
    ----------
    r_peaks : ndarray of int64
        The beats' R peaks (as in the features).
    classes : tuple of str
        AAMI class of each beat: N, S, V, F or Q.
    probabilities : ndarray of float32, shape (n, 4)
        Network output for N, S, V, F (Q beats keep theirs).
    """

    r_peaks: np.ndarray
    classes: tuple[str, ...]
    probabilities: np.ndarray

    @property
    def symbols(self) -> list[str]:
        """MIT-BIH symbols (N, A, V, F, Q) for annotation files."""
        return [SYMBOL_OF_CLASS[c] for c in self.classes]


class BeatClassifier:
    """The committed beat classifier with its decision offsets.

    Parameters
    ----------
    path : path-like, optional
        ``.tflite`` model; its sidecar is the ``.json`` beside it.
    """

    def __init__(self, path: str | Path = MODEL_PATH) -> None:
        path = Path(path)
        self.model = TfliteBeatModel(path)
        sidecar = path.with_suffix(".json")
        try:
            meta = json.loads(sidecar.read_text())
        except (OSError, ValueError) as exc:
            raise ModelError(f"model sidecar unreadable: {sidecar}: {exc}") from exc
        if tuple(meta.get("classes", ())) != MODEL_CLASSES:
            raise ModelError(f"{sidecar}: classes {meta.get('classes')} != {MODEL_CLASSES}")
        self.offsets = np.asarray(meta["offsets"], np.float64)
        self.meta = meta

    def classify(self, features: BeatFeatures) -> BeatLabels:
        """Label every beat of `features` (one batched pass)."""
        morph, scalars = model_inputs(features)
        probs = self.model.predict_proba(morph, scalars)
        logp = np.log(np.maximum(probs, 1e-6)) + self.offsets[None, :]
        idx = np.argmax(logp, axis=1)
        classes = [MODEL_CLASSES[i] for i in idx]
        for i in np.flatnonzero(features.valid_fraction < MIN_VALID_FRACTION):
            classes[i] = "Q"
        return BeatLabels(
            r_peaks=features.r_peaks.copy(), classes=tuple(classes), probabilities=probs
        )
