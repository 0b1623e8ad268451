"""Beat classification measured EC57-style, end to end, and its speed.

Each record goes through exactly what ``holter detect`` runs: the streaming
detector, the feature extractor and the TFLite classifier
(:class:`edge._labels.BeatLabeller`), one-minute chunks. Our beats are then
matched to the reference by the EC57 scorer (:mod:`benchmarks._ec57`, bxb
rules), so a missed or extra beat counts against the class statistics too.

Record sets: DS2 (the test set of de Chazal et al. 2004: the model never saw
these patients), DS1 (its training patients: shown for reference only) and the
44 non-paced records together. Paced records are run too (they must not
crash) and reported apart.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from benchmarks._ec57 import (
    PACED_MITDB_RECORDS,
    GrossScore,
    RecordScore,
    beats_from_samples,
    gross_score,
    load_reference,
    score_record,
)

# The de Chazal split has one definition, where the model is trained (DS2 is
# its test set); the benchmark reports on the same records.
from models._beat_data import DS1, DS2

#: Beats in 24 hours at about 76 bpm, for the speed figure.
BEATS_24H = 110_000


@dataclass(frozen=True, eq=False)
class LabelledRecord:
    """One record's beats and labels from the holter-detect path."""

    record: str
    fs_hz: float
    r_peaks: np.ndarray
    symbols: list[str]
    unusable: np.ndarray
    rhythm: object  # dsp._rhythm.RhythmAnalysis
    seconds: float


def label_record(db: Path, name: str) -> LabelledRecord:
    """Run detection, features, classification and rhythm on one record."""
    from edge._labels import BeatLabeller
    from edge._stream import detect_record

    t0 = time.perf_counter()
    labeller = BeatLabeller()
    beats = detect_record(Path(db) / name, chunk_s=60.0, on_block=labeller)
    labelled = labeller.finish(beats.r_peaks, beats.unusable)
    return LabelledRecord(
        record=name,
        fs_hz=beats.record.fs_hz,
        r_peaks=beats.r_peaks,
        symbols=labelled.symbols,
        unusable=beats.unusable,
        rhythm=labelled.rhythm,
        seconds=time.perf_counter() - t0,
    )


def score_labels(db: Path, rec: LabelledRecord) -> RecordScore:
    """EC57 (bxb) statistics of one labelled record."""
    ref = load_reference(Path(db) / rec.record)
    test = beats_from_samples(rec.r_peaks, rec.fs_hz, rec.symbols, record=rec.record)
    return score_record(ref, test)


@dataclass(frozen=True, eq=False)
class BeatsBenchResult:
    scores: dict[str, RecordScore]
    labelled: dict[str, LabelledRecord]
    gross: dict[str, GrossScore]
    speed: dict[str, float]
    #: paced records: reference '/' and 'f' beats labelled Q (benchmarks._pacing_bench)
    paced: dict = field(default_factory=dict)


def record_sets(names: list[str]) -> dict[str, list[str]]:
    """The groups reported: DS2, DS1, the 44 non-paced, the paced ones."""
    have = set(names)
    return {
        "DS2": [r for r in DS2 if r in have],
        "DS1": [r for r in DS1 if r in have],
        "non-paced 44": [r for r in names if r not in PACED_MITDB_RECORDS],
        "paced": [r for r in names if r in PACED_MITDB_RECORDS],
        "all 48": list(names),
    }


def measure_speed(labelled: list[LabelledRecord], db: Path, n_beats: int = BEATS_24H) -> dict:
    """Seconds to extract features for, and to classify, ``n_beats`` beats (one core).

    The features of the DS2 records are computed once, tiled to ``n_beats``
    and classified in one batched pass (interpreter calls of
    :data:`models._classifier.BATCH` beats), after one warm-up call.
    """
    import dsp
    from benchmarks._qrs_bench import load_record
    from models import BeatClassifier

    parts = []
    t_feat = 0.0
    n_feat = 0
    for rec in labelled:
        sig = load_record(db, rec.record).signal_mv
        t0 = time.perf_counter()
        f = dsp.extract_beat_features(sig, rec.fs_hz, rec.r_peaks)
        t_feat += time.perf_counter() - t0
        n_feat += f.n_beats
        parts.append(f)
    feats = dsp.BeatFeatures.concat(parts, parts[0].beat.shape[1])
    reps = int(np.ceil(n_beats / feats.n_beats))
    idx = np.tile(np.arange(feats.n_beats), reps)[:n_beats]
    big = dsp.BeatFeatures(
        r_peaks=np.arange(n_beats, dtype=np.int64),
        beat=feats.beat[idx], dominant=feats.dominant[idx], rr=feats.rr[idx],
        template=feats.template[idx], valid_fraction=feats.valid_fraction[idx],
    )  # fmt: skip
    clf = BeatClassifier()
    clf.classify(dsp.BeatFeatures.concat([feats], 2))  # warm-up
    best = np.inf
    for _ in range(3):
        t0 = time.perf_counter()
        clf.classify(big)
        best = min(best, time.perf_counter() - t0)
    return {
        "n_beats": n_beats,
        "classify_s": best,
        "features_s_per_24h": t_feat / max(n_feat, 1) * n_beats,
        "features_beats_measured": n_feat,
    }


def run_beats_bench(
    db: Path,
    records: list[str] | None = None,
    progress: Callable[[str], None] | None = None,
    speed: bool = True,
) -> BeatsBenchResult:
    """Label and score every record; gross statistics per record set."""
    from benchmarks._qrs_bench import list_records

    names = records or list_records(db)
    labelled: dict[str, LabelledRecord] = {}
    scores: dict[str, RecordScore] = {}
    for name in names:
        rec = label_record(db, name)
        labelled[name] = rec
        scores[name] = score_labels(db, rec)
        if progress:
            s = scores[name].stats
            progress(
                f"{name}: VEB {s.veb_se_pct:6.2f} / {s.veb_ppv_pct:6.2f}  SVEB "
                f"{s.sveb_se_pct:6.2f} / {s.sveb_ppv_pct:6.2f}  ({rec.seconds:.2f} s)"
            )
    gross = {
        key: gross_score([scores[r] for r in rs])
        for key, rs in record_sets(names).items()
        if rs
    }
    from benchmarks._pacing_bench import paced_figures

    paced = {r: paced_figures(db, labelled[r]) for r in names if r in PACED_MITDB_RECORDS}
    sp = {}
    if speed:
        ds2 = [labelled[r] for r in DS2 if r in labelled] or list(labelled.values())
        sp = measure_speed(ds2, db)
    return BeatsBenchResult(scores=scores, labelled=labelled, gross=gross, speed=sp, paced=paced)
