"""Run the committed risk model (TFLite int8) on RR-derived features.

``models/risk_model.tflite`` is a small dense network trained to tell
heart-failure recordings (chf2db) from healthy ones (nsr2db); its sidecar
``models/risk_model.json`` holds the feature order, the training medians used
for missing features and the standardisation (z-scores are clipped to +-6 so
that one int8 input scale fits). The output is the probability of the
heart-failure class. See RISK_MODEL_CARD.md for what it is and is not.
The runtime is ai-edge-litert (or tflite_runtime); TensorFlow is not needed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models._risk_features import FEATURE_NAMES

__all__ = ["RISK_MODEL_PATH", "RiskModel", "RiskModelError", "RiskModelInputError"]

RISK_MODEL_PATH = Path(__file__).resolve().parent / "risk_model.tflite"
Z_CLIP = 6.0


class RiskModelError(OSError):
    """The risk model or its sidecar cannot be loaded (missing, unreadable, mismatched)."""


class RiskModelInputError(ValueError):
    """The features given to the risk model have the wrong shape."""


@dataclass(frozen=True)
class _Sidecar:
    feature_names: tuple[str, ...]
    impute: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    info: dict


def _read_sidecar(path: Path) -> _Sidecar:
    try:
        doc = json.loads(path.read_text())
        side = _Sidecar(
            feature_names=tuple(doc["feature_names"]),
            impute=np.asarray(doc["impute"], dtype=np.float64),
            mean=np.asarray(doc["mean"], dtype=np.float64),
            scale=np.asarray(doc["scale"], dtype=np.float64),
            info=doc,
        )
    except FileNotFoundError as exc:
        raise RiskModelError(f"risk model sidecar not found: {path}") from exc
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise RiskModelError(f"unreadable risk model sidecar {path}: {exc}") from exc
    if side.feature_names != FEATURE_NAMES:
        raise RiskModelError(
            f"risk model sidecar {path} was trained on other features: {side.feature_names}"
        )
    return side


def _interpreter_class():
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:  # pragma: no cover - depends on the device image
        try:
            from tflite_runtime.interpreter import Interpreter
        except ImportError as exc:
            raise RiskModelError(
                "no TFLite runtime: pip install ai-edge-litert (or tflite-runtime)"
            ) from exc
    return Interpreter


def standardize(features: np.ndarray, impute: np.ndarray, mean: np.ndarray, scale: np.ndarray):
    """Impute NaN with the training medians, z-score, clip to +-Z_CLIP (float32)."""
    x = np.where(np.isfinite(features), features, impute)
    return np.clip((x - mean) / scale, -Z_CLIP, Z_CLIP).astype(np.float32)


class RiskModel:
    """The TFLite risk model with its sidecar.

    Parameters
    ----------
    path : path-like
        The ``.tflite`` file; its sidecar is the same path with ``.json``.
    """

    def __init__(self, path: str | Path = RISK_MODEL_PATH) -> None:
        path = Path(path)
        if not path.is_file():
            raise RiskModelError(f"risk model not found: {path}")
        self.path = path
        self.sidecar = _read_sidecar(path.with_suffix(".json"))
        try:
            self._interp = _interpreter_class()(model_path=str(path), num_threads=1)
        except ValueError as exc:
            raise RiskModelError(f"unreadable risk model {path}: {exc}") from exc
        self._in = self._interp.get_input_details()[0]
        self._out = self._interp.get_output_details()[0]
        n_in = int(self._in["shape"][-1])
        if n_in != len(FEATURE_NAMES):
            raise RiskModelError(f"risk model {path} takes {n_in} features, not {len(FEATURE_NAMES)}")

    @property
    def info(self) -> dict:
        """The sidecar document (training data, cross-validated AUC, ...)."""
        return self.sidecar.info

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        """Probability of the heart-failure class for each row of `features`.

        Parameters
        ----------
        features : ndarray, (n_features,) or (n_records, n_features)
            In :data:`models.RISK_FEATURE_NAMES` order; NaN = missing.

        Returns
        -------
        ndarray of float64, (n_records,)
        """
        x = np.asarray(features, dtype=np.float64)
        if x.ndim == 1:
            x = x[None, :]
        if x.ndim != 2 or x.shape[1] != len(FEATURE_NAMES):
            raise RiskModelInputError(
                f"features must be ({len(FEATURE_NAMES)},) or (n, {len(FEATURE_NAMES)}); "
                f"got {np.shape(features)}"
            )
        s = self.sidecar
        z = standardize(x, s.impute, s.mean, s.scale)
        interp = self._interp
        out = np.empty(z.shape[0])
        interp.resize_tensor_input(self._in["index"], [1, z.shape[1]])
        interp.allocate_tensors()
        for i in range(z.shape[0]):
            interp.set_tensor(self._in["index"], z[i : i + 1])
            interp.invoke()
            out[i] = float(np.asarray(interp.get_tensor(self._out["index"])).ravel()[0])
        return out
