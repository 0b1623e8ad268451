"""Training and evaluation data for the beat classifier (training side only).

Beats are located by OUR detector (:func:`dsp.detect_qrs` on every lead, as
``holter detect`` runs it), so the model learns on the beat positions it will
see at run time, and each detected beat takes the AAMI class of the nearest
reference beat within 150 ms (the EC57 match window). Detected beats with no
reference beat there, and reference Q beats, are left out of training.

This module reads files (WFDB records): it is used by :mod:`models.train`, never
by the gateway.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import dsp
from models._inputs import MODEL_CLASSES, model_inputs

#: de Chazal et al. 2004 inter-patient split of the MIT-BIH Arrhythmia Database.
DS1 = (
    "101", "106", "108", "109", "112", "114", "115", "116", "118", "119", "122",
    "124", "201", "203", "205", "207", "208", "209", "215", "220", "223", "230",
)  # fmt: skip
DS2 = (
    "100", "103", "105", "111", "113", "117", "121", "123", "200", "202", "210",
    "212", "213", "214", "219", "221", "222", "228", "231", "232", "233", "234",
)  # fmt: skip
PACED = ("102", "104", "107", "217")
#: MIT-BIH symbol -> AAMI class (the EC57 table: escape beats e, j, n are N).
AAMI_OF_SYMBOL = {
    "N": "N", "L": "N", "R": "N", "B": "N", "e": "N", "j": "N", "n": "N",
    "A": "S", "a": "S", "J": "S", "S": "S",
    "V": "V", "r": "V", "E": "V",
    "F": "F",
    "Q": "Q", "/": "Q", "f": "Q", "?": "Q",
}  # fmt: skip
MATCH_WINDOW_S = 0.15


def physionet_dir() -> Path:
    """``$HOLTER_PHYSIONET_DIR`` or ``../shared/data/physionet`` beside the checkout."""
    env = os.environ.get("HOLTER_PHYSIONET_DIR")
    root = Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data" / "physionet"
    if not (root / "mitdb").is_dir():
        raise FileNotFoundError(
            f"MIT-BIH not found at {root / 'mitdb'} (set HOLTER_PHYSIONET_DIR; 'make data')"
        )
    return root


def read_record(path: Path) -> tuple[np.ndarray, float]:
    """Signal (n_samples, n_leads) in mV and fs_hz of a WFDB record."""
    import wfdb

    rec = wfdb.rdrecord(str(path), physical=False)
    gain = np.asarray(rec.adc_gain, np.float64)
    gain[gain == 0] = 200.0
    signal = (rec.d_signal.astype(np.float64) - np.asarray(rec.baseline, np.float64)) / gain
    return signal, float(rec.fs)


@dataclass(frozen=True, eq=False)
class RecordBeats:
    """Model inputs and reference classes of one record's detected beats."""

    record: str
    r_peaks: np.ndarray
    morph: np.ndarray
    scalars: np.ndarray
    #: index into MODEL_CLASSES, -1 where there is no usable reference label
    label: np.ndarray


def label_beats(r_peaks: np.ndarray, ref_samples: np.ndarray, ref_symbols, fs_hz: float):
    """AAMI class index of the nearest reference beat within 150 ms, else -1."""
    keep = np.array([s in AAMI_OF_SYMBOL for s in ref_symbols], bool)
    ref_t = np.asarray(ref_samples, np.int64)[keep]
    ref_c = np.array(
        [MODEL_CLASSES.index(AAMI_OF_SYMBOL[s]) if AAMI_OF_SYMBOL[s] in MODEL_CLASSES else -1
         for s, k in zip(ref_symbols, keep, strict=True) if k],
        np.int64,
    )
    label = np.full(r_peaks.size, -1, np.int64)
    if ref_t.size == 0 or r_peaks.size == 0:
        return label
    j = np.searchsorted(ref_t, r_peaks)
    lo = np.clip(j - 1, 0, ref_t.size - 1)
    hi = np.clip(j, 0, ref_t.size - 1)
    near = np.where(np.abs(ref_t[lo] - r_peaks) <= np.abs(ref_t[hi] - r_peaks), lo, hi)
    ok = np.abs(ref_t[near] - r_peaks) <= MATCH_WINDOW_S * fs_hz
    label[ok] = ref_c[near[ok]]
    return label


def load_record_beats(name: str, root: Path | None = None, cache_dir: Path | None = None) -> RecordBeats:
    """Detect, extract and label the beats of one MIT-BIH record."""
    import wfdb

    root = root or physionet_dir()
    if cache_dir is not None:
        cached = Path(cache_dir) / f"{name}.npz"
        if cached.is_file():
            z = np.load(cached)
            return RecordBeats(name, z["r_peaks"], z["morph"], z["scalars"], z["label"])
    path = root / "mitdb" / name
    signal, fs_hz = read_record(path)
    r_peaks = dsp.detect_qrs(signal, fs_hz)
    feats = dsp.extract_beat_features(signal, fs_hz, r_peaks)
    morph, scalars = model_inputs(feats)
    ann = wfdb.rdann(str(path), "atr")
    label = label_beats(r_peaks, ann.sample, ann.symbol, fs_hz)
    out = RecordBeats(name, r_peaks, morph, scalars, label)
    if cache_dir is not None:
        Path(cache_dir).mkdir(parents=True, exist_ok=True)
        np.savez(Path(cache_dir) / f"{name}.npz", r_peaks=r_peaks, morph=morph,
                 scalars=scalars, label=label)
    return out
