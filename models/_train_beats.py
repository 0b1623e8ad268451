"""Train the beat classifier (TensorFlow/Keras and scikit-learn; the ``train`` extra).

Recipe (all choices made on DS1 only):

1. Data: the 22 DS1 records of de Chazal et al. 2004, beats located by our
   detector, labelled by the nearest reference beat (:mod:`models._beat_data`).
2. Two parts, one TFLite graph:

   * a small CNN on the morphology and the scalar features, softmax over
     N/S/V/F; at run time it decides supraventricular (N + S) vs V vs F;
   * the S head: a logistic regression (S vs the rest) on the RR and
     template-comparison scalars (:data:`S_HEAD_INPUTS`), which labels a
     supraventricular beat S above a threshold. Few DS1 patients have S beats
     (7 have more than 30), and the CNN's morphology branch learns those
     patients; a linear model on patient-normalised RR and morphology
     comparisons generalises to new patients as de Chazal's did.

3. Selection by leave-one-patient-out (LOPO) over the 22 DS1 records: for each
   record, both parts are trained on the other 21 and predict every beat of
   it. From the pooled held-out predictions: the number of epochs (the best
   F1 of V, averaged over 5 neighbouring epochs), the V offset (grid
   :data:`V_OFFSETS`, best F1 of V), then the S threshold (grid
   :data:`S_THRESHOLDS`, best F1 of S after the run-time rhythm rule that
   makes S beats inside detected AF N, :func:`dsp._rhythm.analyze_rhythm_sveb_in_af`).
4. The final parts are trained on all of DS1 (the CNN for that many epochs,
   same seed), joined into one Keras model whose output is the four class
   probabilities and the S score, converted to TFLite with full int8
   quantisation (a representative set of DS1 beats), and written with a JSON
   sidecar holding the decision rule and the DS1 figures.

DS2 is never read here. Seeds are fixed, TensorFlow runs deterministic
single-threaded ops and the logistic regression is a deterministic solver, so a
rerun gives the same model.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from dsp._beat_features import WINDOW_LEN
from dsp._rhythm import analyze_rhythm_sveb_in_af
from models._beat_data import DS1, RecordBeats, load_record_beats
from models._classifier import decide
from models._inputs import MODEL_CLASSES, N_SCALARS, SCALAR_NAMES

SEED = 20040701  # de Chazal et al., IEEE TBME 51(7), July 2004
#: epochs averaged when choosing the number of epochs (odd)
SMOOTH_EPOCHS = 5
#: scalar inputs of the S head: RR prematurity against the patient's own
#: rhythm and the comparison with the dominant beat (no absolute RR, no morphology)
S_HEAD_INPUTS = (
    "log_pre_over_local", "log_post_over_local", "log_pre_over_long", "log_post_over_pre",
    "irregularity", "log_pre_over_local_nn", "log_post_over_local_nn", "log_pre_over_upper",
    "log_post_over_upper", "corr_dominant", "corr_dominant_lead0", "corr_dominant_lead1",
    "log_amplitude_lead0", "log_amplitude_lead1", "width_minus_dominant", "cluster_fraction",
    "in_dominant_cluster", "corr_own_cluster",
)  # fmt: skip
#: the decision grids searched on the DS1 held-out predictions
V_OFFSETS = tuple(np.round(np.arange(-3.0, 3.01, 0.25), 2).tolist())
S_THRESHOLDS = tuple(np.round(np.arange(0.50, 0.951, 0.05), 2).tolist())
#: sampling rate of the MIT-BIH records (for the rhythm rule in selection)
MITDB_FS_HZ = 360.0


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters (fixed before any DS1 held-out result was seen, then chosen on it)."""

    conv_filters: tuple[int, ...] = (12, 16, 16)
    kernel_sizes: tuple[int, ...] = (7, 5, 5)
    dense_units: int = 32
    dropout: float = 0.2
    learning_rate: float = 2e-3
    batch_size: int = 256
    max_epochs: int = 24
    #: class weight = (n_total / n_class) ** power, normalised to N = 1
    class_weight_power: float = 0.5
    #: Gaussian noise added to the morphology in training, units of QRS p2p
    morph_noise: float = 0.03
    #: 1 = a scalar-only head beside the full one, outputs averaged
    scalar_head: int = 0
    #: RR-scaling augmentation: each epoch, every training record's absolute RR
    #: inputs (pre, post, local RR in seconds) are scaled by exp(N(0, sd)), as
    #: if the patient's heart rate were another; ratios are unchanged. 0 = off
    rr_scale_sd: float = 0.0


def _progress(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _setup_tf():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    tf.config.experimental.enable_op_determinism()
    return tf


def build_model(cfg: TrainConfig):
    """The Keras model: a small 1-D CNN on the morphology plus the scalar features.

    With ``cfg.scalar_head`` a second, scalar-only head is trained beside the
    full one and the output is the mean of the two softmaxes (one graph, one
    TFLite file): the morphology branch can overfit the few DS1 patients, the
    scalar features (RR and comparison with the patient's own dominant beat)
    generalise better.
    """
    import keras
    from keras import layers

    morph_in = keras.Input((WINDOW_LEN, 4), name="morph")
    scal_in = keras.Input((N_SCALARS,), name="scalars")
    x = morph_in
    for filters, k in zip(cfg.conv_filters, cfg.kernel_sizes, strict=True):
        x = layers.Conv1D(filters, k, strides=2, padding="same", activation="relu")(x)
    x = layers.Flatten()(x)
    x = layers.Concatenate()([x, scal_in])
    x = layers.Dense(cfg.dense_units, activation="relu")(x)
    x = layers.Dropout(cfg.dropout)(x)
    x = layers.Dense(cfg.dense_units, activation="relu")(x)
    full = layers.Dense(len(MODEL_CLASSES), activation="softmax", name="full")(x)
    if not cfg.scalar_head:
        return keras.Model([morph_in, scal_in], full), None
    y = layers.Dense(cfg.dense_units, activation="relu")(scal_in)
    y = layers.Dense(cfg.dense_units, activation="relu")(y)
    part = layers.Dense(len(MODEL_CLASSES), activation="softmax", name="scalar")(y)
    out = layers.Average(name="probs")([full, part])
    train_model = keras.Model([morph_in, scal_in], [full, part])
    return keras.Model([morph_in, scal_in], out), train_model


def _stack(beats: list[RecordBeats]):
    """Morphology, scalars, labels and record index of the labelled beats of `beats`."""
    morph = np.concatenate([b.morph for b in beats])
    scal = np.concatenate([b.scalars for b in beats])
    label = np.concatenate([b.label for b in beats])
    group = np.concatenate([np.full(b.label.size, i) for i, b in enumerate(beats)])
    keep = label >= 0
    return morph[keep], scal[keep], label[keep], group[keep]


#: scalar inputs that are absolute RR intervals (log of seconds), for the RR-scaling augmentation
_ABS_RR_COLS = [SCALAR_NAMES.index(n) for n in ("log_pre_rr", "log_post_rr", "log_local_rr")]


def _scale_rr(scal, group, rng, sd):
    """Scalars with each record's absolute RR inputs scaled by one random factor."""
    if sd <= 0.0:
        return scal
    log_f = rng.normal(0.0, sd, int(group.max()) + 1)[group]
    out = scal.copy()
    # the inputs are 3 * log(rr / 0.8) clipped to +-6 (models._inputs._log_ratio)
    out[:, _ABS_RR_COLS] = np.clip(out[:, _ABS_RR_COLS] + 3.0 * log_f[:, None], -6.0, 6.0)
    return out


def _class_weights(label, power):
    counts = np.bincount(label, minlength=len(MODEL_CLASSES)).astype(float)
    w = (counts.sum() / np.maximum(counts, 1.0)) ** power
    return {i: float(w[i] / w[0]) for i in range(len(MODEL_CLASSES))}


def per_beat_scores(label, pred) -> dict[str, float]:
    """Se, +P and F1 of S and V over matched beats (a DS1 selection score).

    False positives are counted as EC57 counts them: F beats called V are not
    VEB false positives (bxb's Fv cell).
    """
    out = {}
    for name in ("S", "V"):
        c = MODEL_CLASSES.index(name)
        tp = int(np.sum((label == c) & (pred == c)))
        fn = int(np.sum((label == c) & (pred != c)))
        not_fp = (label == c) | ((label == MODEL_CLASSES.index("F")) & (c == MODEL_CLASSES.index("V")))
        fp = int(np.sum(~not_fp & (pred == c)))
        se = tp / (tp + fn) if tp + fn else 0.0
        ppv = tp / (tp + fp) if tp + fp else 0.0
        out[f"{name}_se"] = round(100 * se, 2)
        out[f"{name}_ppv"] = round(100 * ppv, 2)
        out[f"{name}_f1"] = round(100 * (2 * se * ppv / (se + ppv) if se + ppv else 0.0), 2)
    return out


def _fit(tf, cfg, train, epochs, val=None, on_epoch=None):
    import keras

    keras.utils.set_random_seed(SEED)
    model, train_model = build_model(cfg)
    n_heads = 1 if train_model is None else 2
    train_model = train_model or model
    train_model.compile(
        optimizer=keras.optimizers.Adam(cfg.learning_rate),
        loss=["sparse_categorical_crossentropy"] * n_heads,
    )
    morph, scal, label, group = train
    rng = np.random.default_rng(SEED)
    weights = _class_weights(label, cfg.class_weight_power)
    sample_w = np.array([weights[int(c)] for c in range(len(MODEL_CLASSES))])[label]
    for epoch in range(epochs):
        noisy = morph + rng.normal(0.0, cfg.morph_noise, morph.shape).astype(np.float32)
        train_model.fit(
            {"morph": noisy, "scalars": _scale_rr(scal, group, rng, cfg.rr_scale_sd)},
            label if n_heads == 1 else (label, label),
            batch_size=cfg.batch_size,
            epochs=epoch + 1,
            initial_epoch=epoch,
            sample_weight=sample_w if n_heads == 1 else (sample_w, sample_w),
            shuffle=True,
            verbose=0,
        )
        if on_epoch is not None:
            on_epoch(epoch + 1, model)
    return model


def _predict(model, morph, scal):
    return np.asarray(model.predict({"morph": morph, "scalars": scal}, batch_size=4096, verbose=0))


def _s_head_columns() -> list[int]:
    return [SCALAR_NAMES.index(n) for n in S_HEAD_INPUTS]


def fit_s_head(scal: np.ndarray, label: np.ndarray):
    """The S head: logistic regression, S vs the rest, classes balanced (scikit-learn)."""
    from sklearn.linear_model import LogisticRegression

    lr = LogisticRegression(C=1.0, class_weight="balanced", max_iter=5000)
    lr.fit(scal[:, _s_head_columns()].astype(np.float64), (label == MODEL_CLASSES.index("S")).astype(int))
    return lr


def s_head_score(lr, scal: np.ndarray) -> np.ndarray:
    return lr.predict_proba(scal[:, _s_head_columns()].astype(np.float64))[:, 1]


def _with_rhythm_rule(beats: list[RecordBeats], pred: list[np.ndarray]) -> np.ndarray:
    """Held-out decisions of the labelled beats after the run-time AF rule, pooled."""
    out = []
    for b, p in zip(beats, pred, strict=True):
        _, relabelled = analyze_rhythm_sveb_in_af(b.r_peaks, [MODEL_CLASSES[i] for i in p], MITDB_FS_HZ)
        out.append(np.where(relabelled, MODEL_CLASSES.index("N"), p)[b.label >= 0])
    return np.concatenate(out)


def select(cfg: TrainConfig, beats: list[RecordBeats]) -> dict:
    """Leave-one-patient-out over DS1: epochs, V offset, S threshold.

    Every held-out record's every beat (labelled or not) is predicted, so the
    rhythm rule sees the beat stream it sees at run time.
    """
    tf = _setup_tf()
    morph, scal, label, group = _stack(beats)
    # per epoch, per held-out record: CNN probabilities of all its beats
    per_epoch: dict[int, list] = {}
    s_scores: list[np.ndarray] = []
    for i, held in enumerate(beats):
        train = group != i
        t0 = time.perf_counter()

        def on_epoch(e, model, held=held):
            per_epoch.setdefault(e, []).append(_predict(model, held.morph, held.scalars))

        _fit(tf, cfg, (morph[train], scal[train], label[train], group[train]), cfg.max_epochs,
             on_epoch=on_epoch)
        s_scores.append(s_head_score(fit_s_head(scal[train], label[train]), held.scalars))
        last = per_epoch[cfg.max_epochs][-1][held.label >= 0]
        s = per_beat_scores(held.label[held.label >= 0], np.argmax(last, axis=1))
        _progress(f"LOPO {i + 1}/{len(beats)}: {held.record} held out "
                  f"({time.perf_counter() - t0:.0f} s), last epoch argmax {s}")
    labelled = [b.label >= 0 for b in beats]

    def outputs(e):
        return [np.column_stack([p, sc]) for p, sc in zip(per_epoch[e], s_scores, strict=True)]

    def pooled(e, decision):
        return np.concatenate([decide(o, decision)[k] for o, k in zip(outputs(e), labelled, strict=True)])

    # the CNN's share: supraventricular vs V vs F (no S head yet: threshold above 1)
    no_s = {"v_offset": 0.0, "f_offset": 0.0, "s_threshold": 2.0}
    scores = {e: per_beat_scores(label, pooled(e, no_s))["V_f1"] for e in per_epoch}
    ep = sorted(scores)
    half = SMOOTH_EPOCHS // 2
    smooth = {e: float(np.mean([scores[k] for k in ep if abs(k - e) <= half]))
              for e in ep if half < e <= ep[-1] - half}
    epochs = max(smooth, key=lambda e: (smooth[e], -e))
    v_f1 = {v: per_beat_scores(label, pooled(epochs, no_s | {"v_offset": v}))["V_f1"] for v in V_OFFSETS}
    v_offset = max(V_OFFSETS, key=lambda v: (v_f1[v], -abs(v)))
    s_grid = {}
    for th in S_THRESHOLDS:
        decision = {"v_offset": v_offset, "f_offset": 0.0, "s_threshold": th}
        pred = [decide(o, decision) for o in outputs(epochs)]
        s_grid[th] = per_beat_scores(label, _with_rhythm_rule(beats, pred))
    s_threshold = max(S_THRESHOLDS, key=lambda t: (s_grid[t]["S_f1"], t))
    decision = {"v_offset": v_offset, "f_offset": 0.0, "s_threshold": s_threshold}
    pred = [decide(o, decision) for o in outputs(epochs)]
    return {
        "scheme": f"leave-one-patient-out over the {len(beats)} DS1 records",
        "epochs": epochs,
        "decision": decision,
        "ds1_held_out": s_grid[s_threshold],
        "ds1_held_out_without_rhythm_rule": per_beat_scores(label, np.concatenate(
            [p[k] for p, k in zip(pred, labelled, strict=True)])),
        "ds1_held_out_cnn_argmax": per_beat_scores(label, np.argmax(np.concatenate(
            [p[k] for p, k in zip(per_epoch[epochs], labelled, strict=True)]), axis=1)),
        "epoch_v_f1": {str(k): round(v, 2) for k, v in sorted(scores.items())},
        "epoch_v_f1_smoothed": {str(k): round(v, 2) for k, v in sorted(smooth.items())},
        "v_offset_f1": {str(k): v for k, v in v_f1.items()},
        "s_threshold_scores": {str(k): v for k, v in s_grid.items()},
    }


def _representative(morph, scal, n=2000):
    rng = np.random.default_rng(SEED)
    idx = rng.choice(morph.shape[0], size=min(n, morph.shape[0]), replace=False)

    def gen():
        for i in idx:
            yield [morph[i : i + 1], scal[i : i + 1]]

    return gen


def joined_model(cnn, lr):
    """One Keras graph: the CNN's four probabilities and the S head's score, (n, 5)."""
    import keras
    from keras import layers

    morph_in, scal_in = cnn.inputs
    head = layers.Dense(1, activation="sigmoid", name="s_head")
    score = head(scal_in)
    weights = np.zeros((N_SCALARS, 1), np.float32)
    weights[_s_head_columns(), 0] = lr.coef_[0]
    head.set_weights([weights, np.asarray(lr.intercept_, np.float32)])
    out = layers.Concatenate(name="outputs")([cnn.output, score])
    return keras.Model([morph_in, scal_in], out)


def to_tflite(tf, model, morph, scal) -> bytes:
    """Full int8 quantisation (weights and activations), float32 input and output."""
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = _representative(morph, scal)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    return converter.convert()


def train_final(cfg: TrainConfig, selection: dict, beats: list[RecordBeats], out_dir: Path) -> dict:
    """Train on all of DS1, export int8 TFLite and the sidecar JSON."""
    tf = _setup_tf()
    train = _stack(beats)
    _progress(f"final model: {train[0].shape[0]} DS1 beats, {selection['epochs']} epochs")
    cnn = _fit(tf, cfg, train, selection["epochs"])
    lr = fit_s_head(train[1], train[2])
    blob = to_tflite(tf, joined_model(cnn, lr), train[0], train[1])
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "beat_classifier.tflite").write_bytes(blob)
    # training-set figures of the quantised model (what runs), for the card
    from models._classifier import TfliteBeatModel

    outputs = TfliteBeatModel(out_dir / "beat_classifier.tflite").predict(train[0], train[1])
    meta = {
        "classes": list(MODEL_CLASSES),
        "scalar_inputs": list(SCALAR_NAMES),
        "decision": selection["decision"],
        "s_head_inputs": list(S_HEAD_INPUTS),
        "seed": SEED,
        "train_config": asdict(cfg),
        "selection": selection,
        "ds1_train_fit": per_beat_scores(train[2], decide(outputs, selection["decision"])),
        "n_train_beats": {c: int(np.sum(train[2] == i)) for i, c in enumerate(MODEL_CLASSES)},
        "tensorflow": tf.__version__,
        "scikit_learn": __import__("sklearn").__version__,
        "tflite_bytes": len(blob),
    }
    (out_dir / "beat_classifier.json").write_text(json.dumps(meta, indent=2) + "\n")
    return meta


def configure(parser) -> None:
    """Arguments of ``python -m models.train beats``."""
    parser.add_argument(
        "--out-dir", type=Path, default=Path(__file__).resolve().parent,
        help="where beat_classifier.tflite and .json go (default: models/)",
    )
    parser.add_argument(
        "--cache-dir", type=Path, default=None,
        help="cache the per-record beat inputs here (outside the repository)",
    )


def run(args) -> int:
    """Select on DS1 (leave one patient out), train the final model, write it; returns 0."""
    cfg = TrainConfig()
    t0 = time.perf_counter()
    beats = [load_record_beats(r, cache_dir=args.cache_dir) for r in DS1]
    selection = select(cfg, beats)
    _progress(f"selection: {json.dumps(selection)}")
    meta = train_final(cfg, selection, beats, args.out_dir)
    _progress(
        f"done in {time.perf_counter() - t0:.0f} s; DS1 held-out: "
        f"{json.dumps(meta['selection']['ds1_held_out'])}"
    )
    return 0
