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

#: The committed model and its sidecar (classes, decision rule, selection and training figures).
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
    """The TFLite network alone: inputs in, its outputs per beat out, in batches.

    Parameters
    ----------
    path : path-like
        A ``.tflite`` file with inputs ``morph`` and ``scalars``. Its output
        has one column per class of :data:`MODEL_CLASSES` (the CNN's
        probabilities), and may have one more: the supraventricular head's
        score (see :class:`BeatClassifier`).
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
        out = interp.get_output_details()[0]
        self._out_index = out["index"]
        #: columns of the output: the class probabilities, then any extra heads
        self.n_outputs = int(out["shape"][-1])
        if self.n_outputs < len(MODEL_CLASSES):
            raise ModelError(f"{path}: {self.n_outputs} outputs, expected >= {len(MODEL_CLASSES)}")
        self._batch = 0
        # a TFLite interpreter is not thread-safe; the gateway's patient threads share one
        self._lock = threading.Lock()

    def _resize(self, n: int, morph_shape, scal_shape) -> None:
        if n != self._batch:
            self._interp.resize_tensor_input(self._morph_index, [n, *morph_shape])
            self._interp.resize_tensor_input(self._scal_index, [n, *scal_shape])
            self._interp.allocate_tensors()
            self._batch = n

    def predict(self, morph: np.ndarray, scalars: np.ndarray) -> np.ndarray:
        """All outputs, shape (n, n_outputs), float32 (thread-safe)."""
        n = morph.shape[0]
        out = np.zeros((n, self.n_outputs), np.float32)
        with self._lock:
            self._predict_into(morph, scalars, out)
        return out

    def predict_proba(self, morph: np.ndarray, scalars: np.ndarray) -> np.ndarray:
        """Class probabilities, shape (n, len(MODEL_CLASSES)), float32 (thread-safe)."""
        return self.predict(morph, scalars)[:, : len(MODEL_CLASSES)]

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


def decide(outputs: np.ndarray, decision: dict) -> np.ndarray:
    """Class index (into :data:`MODEL_CLASSES`) per beat from the model's outputs.

    Two stages (``models/MODEL_CARD.md``): the CNN separates supraventricular
    (N + S probability), V and F, with ``v_offset`` / ``f_offset`` added to the
    log-probabilities of V and F; a supraventricular beat is S when the S
    head's score (the last output column) reaches ``s_threshold``, else N.
    Used by training (held-out decisions) and at run time alike.
    """
    logp = np.log(np.maximum(outputs[:, : len(MODEL_CLASSES)], 1e-6))
    sv = np.logaddexp(logp[:, 0], logp[:, 1])
    stage1 = np.stack(
        [sv, logp[:, 2] + float(decision["v_offset"]), logp[:, 3] + float(decision["f_offset"])], axis=1
    )
    idx = np.array([0, 2, 3])[np.argmax(stage1, axis=1)]
    s_score = outputs[:, len(MODEL_CLASSES)]
    idx[(idx == 0) & (s_score >= float(decision["s_threshold"]))] = MODEL_CLASSES.index("S")
    return idx


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
        CNN output for N, S, V, F (Q beats keep theirs).
    s_score : ndarray of float32, shape (n,)
        The supraventricular head's score (S when >= the model's threshold
        and the CNN finds the beat supraventricular).
    """

    r_peaks: np.ndarray
    classes: tuple[str, ...]
    probabilities: np.ndarray
    s_score: np.ndarray

    @property
    def symbols(self) -> list[str]:
        """MIT-BIH symbols (N, A, V, F, Q) for annotation files."""
        return [SYMBOL_OF_CLASS[c] for c in self.classes]


class BeatClassifier:
    """The committed beat classifier with its decision rule.

    Parameters
    ----------
    path : path-like, optional
        ``.tflite`` model; its sidecar is the ``.json`` beside it (classes,
        ``decision``: ``v_offset``, ``f_offset``, ``s_threshold``).
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
        decision = meta.get("decision")
        if not isinstance(decision, dict) or not {"v_offset", "f_offset", "s_threshold"} <= set(decision):
            raise ModelError(f"{sidecar}: 'decision' needs v_offset, f_offset and s_threshold")
        if self.model.n_outputs != len(MODEL_CLASSES) + 1:
            raise ModelError(f"{path}: {self.model.n_outputs} outputs, expected the 4 classes + the S head")
        self.decision = {k: float(decision[k]) for k in ("v_offset", "f_offset", "s_threshold")}
        self.meta = meta

    def classify(self, features: BeatFeatures) -> BeatLabels:
        """Label every beat of `features` (one batched pass)."""
        morph, scalars = model_inputs(features)
        outputs = self.model.predict(morph, scalars)
        idx = decide(outputs, self.decision)
        classes = [MODEL_CLASSES[i] for i in idx]
        for i in np.flatnonzero(features.valid_fraction < MIN_VALID_FRACTION):
            classes[i] = "Q"
        return BeatLabels(
            r_peaks=features.r_peaks.copy(), classes=tuple(classes),
            probabilities=outputs[:, : len(MODEL_CLASSES)].copy(),
            s_score=outputs[:, len(MODEL_CLASSES)].copy(),
        )
