"""Train the risk model: heart failure (chf2db, 29 subjects) vs healthy (nsr2db, 54 subjects).

``python -m models.train risk`` (needs the ``train`` extra: TensorFlow):

1. reads every record's ``.ecg`` beat annotations and computes the RR-derived
   features of :mod:`models._risk_features` (one record = one subject);
2. estimates performance by subject-wise, stratified 5-fold cross-validation,
   repeated with 5 seeds: in each fold the imputation medians, the
   standardisation and the network are fitted on the training subjects only,
   the network is converted to int8 TFLite and the *converted* model is run
   with ai-edge-litert on the held-out subjects; AUC of the out-of-fold
   probabilities (averaged over the repeats) with a 95 % bootstrap interval
   over subjects (2000 resamples);
3. trains the same network on all 83 subjects and writes
   ``models/risk_model.tflite`` and its sidecar ``models/risk_model.json``.

Hyper-parameters were fixed before any cross-validated result was seen and
were not tuned. Seeds are fixed; TensorFlow runs single-threaded with
deterministic ops, so a rerun on the same machine gives the same model.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

import dsp
from models._risk_features import FEATURE_NAMES, risk_features
from models._risk_model import RiskModel, standardize

__all__ = ["auc", "bootstrap_auc_ci", "main"]

SEED = 20060520  # Bauer et al., Lancet, 20 May 2006
MODEL_VERSION = 1


@dataclass(frozen=True)
class TrainConfig:
    """Fixed before training; never tuned on the cross-validated results."""

    hidden_units: int = 8
    l2: float = 1e-2
    learning_rate: float = 1e-2
    epochs: int = 200
    batch_size: int = 16
    n_folds: int = 5
    n_repeats: int = 5
    n_bootstrap: int = 2000


def _progress(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def physionet_dir() -> Path:
    """``$HOLTER_PHYSIONET_DIR`` or ``../shared/data/physionet`` beside the checkout."""
    env = os.environ.get("HOLTER_PHYSIONET_DIR")
    root = Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data" / "physionet"
    for db in ("chf2db", "nsr2db"):
        if not (root / db).is_dir():
            raise FileNotFoundError(
                f"{db} not found at {root / db} (set HOLTER_PHYSIONET_DIR; 'make data')"
            )
    return root


def record_features(path: Path, extension: str = "ecg") -> np.ndarray:
    """Risk features of one annotation-only record (wfdb.rdann)."""
    import wfdb

    ann = wfdb.rdann(str(path), extension)
    rr = dsp.rr_series_from_annotation(ann.sample, ann.symbol, float(ann.fs))
    return risk_features(rr, dsp.analyze_rr(rr))


def load_dataset(root: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Features (n, F), labels (1 = heart failure) and record names of chf2db + nsr2db."""
    rows, labels, names = [], [], []
    for db, label in (("chf2db", 1), ("nsr2db", 0)):
        records = (root / db / "RECORDS").read_text().split()
        for i, rec in enumerate(records):
            rows.append(record_features(root / db / rec))
            labels.append(label)
            names.append(f"{db}/{rec}")
            _progress(f"features {db} {i + 1}/{len(records)}")
    return np.array(rows), np.array(labels), names


def auc(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney, ties count one half)."""
    pos, neg = score[y == 1], score[y == 0]
    greater = (pos[:, None] > neg[None, :]).sum()
    ties = (pos[:, None] == neg[None, :]).sum()
    return float((greater + 0.5 * ties) / (pos.size * neg.size))


def bootstrap_auc_ci(y, score, n_boot: int, seed: int) -> tuple[float, float]:
    """95 % percentile interval of the AUC over subjects resampled with replacement."""
    rng = np.random.default_rng(seed)
    values = []
    n = y.size
    while len(values) < n_boot:
        idx = rng.integers(0, n, n)
        if 0 < y[idx].sum() < n:
            values.append(auc(y[idx], score[idx]))
    lo, hi = np.percentile(values, [2.5, 97.5])
    return float(lo), float(hi)


def stratified_folds(y: np.ndarray, n_folds: int, seed: int) -> np.ndarray:
    """Fold number of each subject; classes spread evenly, order shuffled by `seed`."""
    rng = np.random.default_rng(seed)
    fold = np.empty(y.size, dtype=np.int64)
    for label in (0, 1):
        idx = rng.permutation(np.flatnonzero(y == label))
        fold[idx] = np.arange(idx.size) % n_folds
    return fold


def fit_preprocessing(x: np.ndarray) -> dict[str, list[float]]:
    """Imputation medians and standardisation fitted on training rows only."""
    impute = np.nanmedian(x, axis=0)
    filled = np.where(np.isfinite(x), x, impute)
    mean = filled.mean(axis=0)
    scale = filled.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    return {"impute": impute.tolist(), "mean": mean.tolist(), "scale": scale.tolist()}


def _setup_tf():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    tf.config.experimental.enable_op_determinism()
    return tf


def train_network(tf, cfg: TrainConfig, z: np.ndarray, y: np.ndarray, seed: int):
    """A small dense network on standardised features (balanced class weights)."""
    keras = tf.keras
    keras.utils.set_random_seed(seed)
    reg = keras.regularizers.l2(cfg.l2)
    model = keras.Sequential(
        [
            keras.Input(shape=(z.shape[1],), name="features"),
            keras.layers.Dense(cfg.hidden_units, activation="relu", kernel_regularizer=reg),
            keras.layers.Dense(1, activation="sigmoid", kernel_regularizer=reg),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(cfg.learning_rate), loss="binary_crossentropy")
    n_pos, n_neg = int(y.sum()), int(y.size - y.sum())
    weights = {0: y.size / (2 * n_neg), 1: y.size / (2 * n_pos)}
    model.fit(
        z, y.astype(np.float32), epochs=cfg.epochs, batch_size=cfg.batch_size,
        class_weight=weights, shuffle=True, verbose=0,
    )
    return model


def to_tflite_int8(tf, model, z_train: np.ndarray) -> bytes:
    """Full int8 quantisation of weights and activations; float32 input and output."""
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]

    def representative():
        for row in z_train:
            yield [row[None, :].astype(np.float32)]

    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    return converter.convert()


def _write_model(folder: Path, tflite: bytes, prep: dict, info: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "risk_model.tflite"
    path.write_bytes(tflite)
    doc = {"version": MODEL_VERSION, "feature_names": list(FEATURE_NAMES), **prep, **info}
    path.with_suffix(".json").write_text(json.dumps(doc, indent=2, allow_nan=False) + "\n")
    return path


def cross_validate(tf, cfg: TrainConfig, x: np.ndarray, y: np.ndarray) -> dict:
    """Repeated stratified subject-wise k-fold; int8 TFLite out-of-fold probabilities."""
    n = y.size
    oof_int8 = np.full((cfg.n_repeats, n), np.nan)
    oof_float = np.full((cfg.n_repeats, n), np.nan)
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(cfg.n_repeats):
            fold = stratified_folds(y, cfg.n_folds, SEED + r)
            for k in range(cfg.n_folds):
                train, test = fold != k, fold == k
                assert not (set(np.flatnonzero(train)) & set(np.flatnonzero(test)))
                prep = fit_preprocessing(x[train])
                args = [np.asarray(prep[key]) for key in ("impute", "mean", "scale")]
                z_train, z_test = standardize(x[train], *args), standardize(x[test], *args)
                model = train_network(tf, cfg, z_train, y[train], SEED + 100 * r + k)
                oof_float[r, test] = model.predict(z_test, verbose=0).ravel()
                path = _write_model(Path(tmp) / f"r{r}k{k}", to_tflite_int8(tf, model, z_train), prep, {})
                oof_int8[r, test] = RiskModel(path).predict_proba(x[test])
                _progress(f"cv repeat {r + 1}/{cfg.n_repeats} fold {k + 1}/{cfg.n_folds}")
    mean_int8 = oof_int8.mean(axis=0)
    lo, hi = bootstrap_auc_ci(y, mean_int8, cfg.n_bootstrap, SEED)
    per_repeat = [auc(y, oof_int8[r]) for r in range(cfg.n_repeats)]
    return {
        "scheme": (
            f"stratified {cfg.n_folds}-fold cross-validation by subject, repeated {cfg.n_repeats} "
            "times; preprocessing and network fitted on training subjects only; held-out subjects "
            "scored by the int8 TFLite model with ai-edge-litert"
        ),
        "auc_int8": auc(y, mean_int8),
        "auc_int8_ci95_bootstrap": [lo, hi],
        "auc_int8_per_repeat": per_repeat,
        "auc_float_keras": auc(y, oof_float.mean(axis=0)),
        "accuracy_at_0_5": float(np.mean((mean_int8 >= 0.5) == (y == 1))),
        "sensitivity_at_0_5": float(np.mean(mean_int8[y == 1] >= 0.5)),
        "specificity_at_0_5": float(np.mean(mean_int8[y == 0] < 0.5)),
        "oof_probability": mean_int8.tolist(),
    }


def univariate_aucs(x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """AUC of each feature alone (direction chosen by its sign: max(AUC, 1 - AUC))."""
    out = {}
    for j, name in enumerate(FEATURE_NAMES):
        col = np.where(np.isfinite(x[:, j]), x[:, j], np.nanmedian(x[:, j]))
        a = auc(y, col)
        out[name] = round(max(a, 1 - a), 4)
    return out


def main(out_dir: Path, cache: Path | None = None) -> int:
    """Cross-validate, then train on all subjects and write the model; returns the exit status."""
    cfg = TrainConfig()
    t0 = time.perf_counter()
    if cache is not None and cache.is_file():
        doc = json.loads(cache.read_text())  # NaN round-trips through Python's json
        x, y, names = np.array(doc["x"], dtype=np.float64), np.array(doc["y"]), doc["names"]
    else:
        x, y, names = load_dataset(physionet_dir())
        if cache is not None:
            cache.write_text(json.dumps({"x": x.tolist(), "y": y.tolist(), "names": names}))
    tf = _setup_tf()
    cv = cross_validate(tf, cfg, x, y)
    _progress(
        f"cross-validated AUC (int8 TFLite) {cv['auc_int8']:.3f} "
        f"[{cv['auc_int8_ci95_bootstrap'][0]:.3f}, {cv['auc_int8_ci95_bootstrap'][1]:.3f}]"
    )
    prep = fit_preprocessing(x)
    args = [np.asarray(prep[key]) for key in ("impute", "mean", "scale")]
    z = standardize(x, *args)
    model = train_network(tf, cfg, z, y, SEED)
    info = {
        "output": "probability of the heart-failure class (chf2db) vs healthy (nsr2db)",
        "training": {
            "data": "chf2db (29 subjects, label 1) + nsr2db (54 subjects, label 0), .ecg annotations",
            "n_subjects": int(y.size),
            "n_heart_failure": int(y.sum()),
            "seed": SEED,
            "config": asdict(cfg),
            "tensorflow": tf.__version__,
        },
        "cross_validation": {k: v for k, v in cv.items() if k != "oof_probability"},
        "univariate_auc": univariate_aucs(x, y),
        "out_of_fold": dict(zip(names, [round(p, 4) for p in cv["oof_probability"]], strict=True)),
    }
    path = _write_model(out_dir, to_tflite_int8(tf, model, z), prep, info)
    train_probs = RiskModel(path).predict_proba(x)
    _progress(
        f"wrote {path} and {path.with_suffix('.json')} (training-set AUC {auc(y, train_probs):.3f}, "
        f"{time.perf_counter() - t0:.0f} s)"
    )
    return 0
