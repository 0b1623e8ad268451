"""The whole-database QRS benchmark: detectors run record by record, scored EC57-style.

Every detector sees the same records in the same process. Ours runs on all
leads and on lead 0 alone; the peers (NeuroKit2's default detector and wfdb's
XQRS) run on lead 0. Each detector's wall time is the sum, over records, of
its calls on the record (``time.perf_counter``); reading the records is not
timed. Every detector is warmed by one call on a short signal first, so our
Numba kernels are compiled (or loaded from the on-disk cache) before timing;
the cost of that first call is measured apart, in a fresh process
(:func:`measure_cold_start`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from benchmarks._ec57 import (
    BeatAnnotations,
    GrossScore,
    RecordScore,
    beats_from_samples,
    gross_score,
    load_reference,
    score_record,
)

#: A detector: (signal (n,) or (n, n_leads) in mV, fs_hz) -> sorted R-peak indices.
Detector = Callable[[np.ndarray, float], np.ndarray]


@dataclass(frozen=True, eq=False)
class EcgRecord:
    """A WFDB record in memory: signal in mV and its reference beats."""

    name: str
    signal_mv: np.ndarray  # (n_samples, n_leads) float64
    fs_hz: float
    reference: BeatAnnotations

    @property
    def duration_s(self) -> float:
        """Length of the record in seconds."""
        return self.signal_mv.shape[0] / self.fs_hz


def list_records(db_dir: Path) -> list[str]:
    """Records of a database folder that have a header, a signal file and ``.atr``.

    The folder's ``RECORDS`` file gives the order where it exists.
    """
    db_dir = Path(db_dir)
    if not db_dir.is_dir():
        raise FileNotFoundError(f"database folder not found: {db_dir}")
    listed = db_dir / "RECORDS"
    if listed.is_file():
        names = [line.strip() for line in listed.read_text().splitlines() if line.strip()]
    else:
        names = sorted(p.stem for p in db_dir.glob("*.hea"))
    names = [
        n for n in names if (db_dir / f"{n}.dat").is_file() and (db_dir / f"{n}.atr").is_file()
    ]
    if not names:
        raise FileNotFoundError(f"no annotated WFDB records (.hea + .dat + .atr) in {db_dir}")
    return names


def load_record(db_dir: Path, name: str) -> EcgRecord:
    """Read a record's signal (mV, as ``rdrecord(...).p_signal``) and reference beats.

    The digital samples are read and scaled here, which is several times faster
    than asking wfdb for physical units and gives the same values.
    """
    import wfdb

    path = Path(db_dir) / name
    if not path.with_suffix(".hea").is_file():
        raise FileNotFoundError(f"record header not found: {path}.hea")
    rec = wfdb.rdrecord(str(path), physical=False)
    gain = np.asarray(rec.adc_gain, np.float64)
    gain[gain == 0] = 200.0  # WFDB: gain 0 means uncalibrated, 200 adu per unit
    baseline = np.asarray(rec.baseline, np.float64)
    signal_mv = (rec.d_signal.astype(np.float64) - baseline) / gain
    return EcgRecord(
        name=name, signal_mv=signal_mv, fs_hz=float(rec.fs), reference=load_reference(path)
    )


def resample(signal_mv: np.ndarray, fs_hz: float, to_hz: float) -> np.ndarray:
    """``signal_mv`` (n, n_leads) at ``fs_hz`` resampled to ``to_hz`` (polyphase filter)."""
    from fractions import Fraction

    from scipy.signal import resample_poly

    ratio = Fraction(float(to_hz) / float(fs_hz)).limit_denominator(1000)
    return resample_poly(signal_mv, ratio.numerator, ratio.denominator, axis=0)


def _ours_all_leads(signal: np.ndarray, fs_hz: float) -> np.ndarray:
    import dsp

    return dsp.detect_qrs(signal, fs_hz)


def _ours_lead0(signal: np.ndarray, fs_hz: float) -> np.ndarray:
    import dsp

    return dsp.detect_qrs(signal[:, 0], fs_hz)


def _neurokit2(signal: np.ndarray, fs_hz: float) -> np.ndarray:
    import neurokit2 as nk

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cleaned = nk.ecg_clean(signal[:, 0], sampling_rate=fs_hz)
        _, info = nk.ecg_peaks(cleaned, sampling_rate=fs_hz)
    return np.asarray(info["ECG_R_Peaks"], np.int64)


def _xqrs(signal: np.ndarray, fs_hz: float) -> np.ndarray:
    from wfdb import processing

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        peaks = processing.xqrs_detect(signal[:, 0], fs=fs_hz, verbose=False)
    return np.asarray(peaks, np.int64)


@dataclass(frozen=True)
class DetectorSpec:
    """A detector in the benchmark: its name, the leads it sees, and the callable."""

    key: str
    label: str
    leads: str  # "all" or "0"
    detect: Detector
    peer: bool


#: Registry of the detectors the benchmark knows, in report order.
DETECTORS: dict[str, DetectorSpec] = {
    spec.key: spec
    for spec in (
        DetectorSpec(
            "ours_all", "holter dsp.detect_qrs (all leads)", "all", _ours_all_leads, False
        ),
        DetectorSpec("ours_lead0", "holter dsp.detect_qrs (lead 0)", "0", _ours_lead0, False),
        DetectorSpec(
            "neurokit2", "NeuroKit2 ecg_clean + ecg_peaks (lead 0)", "0", _neurokit2, True
        ),
        DetectorSpec("xqrs", "wfdb XQRS (lead 0)", "0", _xqrs, True),
    )
}


def detector_keys(leads: str, peers: bool) -> list[str]:
    """Which detectors a run uses: ``leads`` is ``"1"`` or ``"all"``."""
    if leads not in ("1", "all"):
        raise ValueError(f"leads must be '1' or 'all', got {leads!r}")
    keys = ["ours_all", "ours_lead0"] if leads == "all" else ["ours_lead0"]
    if peers:
        keys += ["neurokit2", "xqrs"]
    return keys


@dataclass(frozen=True, eq=False)
class DetectorRun:
    """One detector over the database."""

    spec: DetectorSpec
    scores: tuple[RecordScore, ...]
    gross: GrossScore
    seconds: float
    signal_s: float
    n_leads_total: int

    @property
    def x_real_time(self) -> float:
        """Seconds of ECG analysed per second of wall time."""
        return self.signal_s / self.seconds if self.seconds > 0 else float("inf")


@dataclass(frozen=True, eq=False)
class QrsBenchResult:
    """All detectors over one database."""

    db_name: str
    db_dir: str
    records: tuple[str, ...]
    runs: dict[str, DetectorRun]
    signal_s: float
    window_s: float
    start_s: float
    warmup_s: dict[str, float] = field(default_factory=dict)


def _warm_up(specs: Iterable[DetectorSpec], fs_hz: float, n_leads: int) -> dict[str, float]:
    """One call per detector on 10 s of synthetic ECG (compiles / loads our kernels)."""
    t = np.arange(int(10 * fs_hz)) / fs_hz
    beat = np.exp(-(((t % 0.8) - 0.4) ** 2) / (2 * 0.012**2))
    sig = np.repeat(beat[:, None], n_leads, axis=1)
    out = {}
    for spec in specs:
        t0 = time.perf_counter()
        spec.detect(sig, fs_hz)
        out[spec.key] = time.perf_counter() - t0
    return out


def run_qrs_bench(
    db_dir: Path,
    records: Sequence[str] | None = None,
    *,
    leads: str = "all",
    peers: bool = False,
    window_s: float = 0.15,
    start_s: float = 300.0,
    resample_hz: float | None = None,
    progress: Callable[[str], None] | None = None,
) -> QrsBenchResult:
    """Run the detectors on every record of a database and score them (bxb rules).

    Parameters
    ----------
    db_dir : Path
        Database folder (WFDB records with ``.atr`` reference annotations).
    records : sequence of str, optional
        Record names; default all annotated records in ``db_dir``.
    leads : {"all", "1"}
        Run our detector on all leads and on lead 0 ("all"), or on lead 0 only.
    peers : bool
        Also run NeuroKit2's default detector and wfdb's XQRS on lead 0.
    window_s, start_s : float
        EC57 match window and start of scoring, seconds.
    resample_hz : float, optional
        Resample every record to this rate (polyphase, ``scipy.signal.resample_poly``)
        before the detectors see it; their beats are mapped back to the
        record's own rate for scoring against the reference. Shows how a
        detector does at sampling rates the database was not recorded at.
    progress : callable, optional
        Called with a one-line progress message per record.

    Returns
    -------
    QrsBenchResult
    """
    db_dir = Path(db_dir)
    names = list(records) if records else list_records(db_dir)
    specs = [DETECTORS[k] for k in detector_keys(leads, peers)]
    scores: dict[str, list[RecordScore]] = {s.key: [] for s in specs}
    seconds = dict.fromkeys(scores, 0.0)
    signal_s = 0.0
    n_leads_total = 0
    warmup: dict[str, float] = {}
    for k, name in enumerate(names, 1):
        rec = load_record(db_dir, name)
        if not warmup:
            warmup = _warm_up(specs, resample_hz or rec.fs_hz, rec.signal_mv.shape[1])
        signal_s += rec.duration_s
        n_leads_total += rec.signal_mv.shape[1]
        signal_mv, fs_hz = rec.signal_mv, rec.fs_hz
        if resample_hz is not None:
            signal_mv, fs_hz = resample(rec.signal_mv, rec.fs_hz, resample_hz), float(resample_hz)
        for spec in specs:
            t0 = time.perf_counter()
            peaks = spec.detect(signal_mv, fs_hz)
            seconds[spec.key] += time.perf_counter() - t0
            if resample_hz is not None:
                peaks = np.round(np.asarray(peaks) * (rec.fs_hz / fs_hz)).astype(np.int64)
            test = beats_from_samples(peaks, rec.fs_hz, record=name)
            scores[spec.key].append(
                score_record(rec.reference, test, window_s=window_s, start_s=start_s)
            )
        if progress is not None:
            line = "  ".join(
                f"{s.key} {scores[s.key][-1].stats.qrs_se_pct:6.2f}/{scores[s.key][-1].stats.qrs_ppv_pct:6.2f}"
                for s in specs
            )
            progress(f"[{k}/{len(names)}] {name}: {line}")
    runs = {}
    for spec in specs:
        leads_seen = n_leads_total if spec.leads == "all" else len(names)
        runs[spec.key] = DetectorRun(
            spec=spec,
            scores=tuple(scores[spec.key]),
            gross=gross_score(scores[spec.key]),
            seconds=seconds[spec.key],
            signal_s=signal_s,
            n_leads_total=leads_seen,
        )
    return QrsBenchResult(
        db_name=db_dir.name if resample_hz is None else f"{db_dir.name}_{resample_hz:g}hz",
        db_dir=str(db_dir),
        records=tuple(names),
        runs=runs,
        signal_s=signal_s,
        window_s=window_s,
        start_s=start_s,
        warmup_s=warmup,
    )


_COLD_START_SCRIPT = """
import time
t0 = time.perf_counter()
import numpy as np
import dsp
t1 = time.perf_counter()
fs_hz = 360.0
t = np.arange(int(10 * fs_hz)) / fs_hz
x = np.exp(-(((t % 0.8) - 0.4) ** 2) / (2 * 0.012 ** 2))
sig = np.stack([x, x], axis=1)
t2 = time.perf_counter()
dsp.detect_qrs(sig, fs_hz)
t3 = time.perf_counter()
dsp.detect_qrs(sig, fs_hz)
t4 = time.perf_counter()
print(t1 - t0, t3 - t2, t4 - t3)
"""


@dataclass(frozen=True)
class ColdStart:
    """The first ``dsp.detect_qrs`` call in a fresh process (10 s, 2 leads, 360 Hz)."""

    import_s: float
    first_call_no_cache_s: float
    first_call_cached_s: float
    second_call_s: float


def measure_cold_start(repo_root: Path | None = None) -> ColdStart:
    """Time the first call in two fresh processes: Numba cache absent, then present.

    Each process gets its own ``NUMBA_CACHE_DIR`` in a temporary folder, so the
    repository's ``__pycache__`` is neither used nor touched: the first process
    compiles every kernel and writes the cache, the second loads it.
    """
    repo_root = Path(repo_root or Path(__file__).resolve().parent.parent)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(repo_root), env.get("PYTHONPATH")]))
    with tempfile.TemporaryDirectory(prefix="holter-numba-cache-") as cache_dir:
        env["NUMBA_CACHE_DIR"] = cache_dir
        runs = []
        for _ in range(2):
            out = subprocess.run(
                [sys.executable, "-c", _COLD_START_SCRIPT],
                env=env,
                capture_output=True,
                text=True,
                check=True,
                timeout=600,
            )
            runs.append([float(v) for v in out.stdout.split()])
    (imp0, first0, _), (imp1, first1, second1) = runs
    return ColdStart(
        import_s=imp1,
        first_call_no_cache_s=first0,
        first_call_cached_s=first1,
        second_call_s=second1,
    )
