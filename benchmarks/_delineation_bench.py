"""Delineation on the QT Database against the manual q1c annotations, beside NeuroKit2.

For each qtdb record, the stretch from 10 s before the first to 10 s after the
last q1c annotation (NeuroKit2's dwt takes ~30 s a lead on the whole 15 min):
R peaks from ``dsp.detect_qrs`` (both leads); every q1c
beat (``N`` with its ``(`` before and ``)`` after; ``t`` followed by ``)``;
``p`` between the previous T end and the QRS onset) is matched to the
detected R peak within 100 ms. Our delineator (both leads together) and
NeuroKit2's ``ecg_delineate(method="dwt")`` (each lead alone, on the same R
peaks) are scored on the same beats: error = found - annotated, ms; mean and
SD pooled over beats. NeuroKit2 is shown for lead 0, lead 1 and, per record,
the lead with the smaller mean absolute error (a choice made with the answer,
which favours it). CSE tolerances (2 SD): QRS onset 6.5 ms, QRS offset
11.6 ms, T end 30.6 ms.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import dsp
from dsp._delineate import delineate_beats

POINTS = ("qrs_onset", "qrs_offset", "t_end")
CSE_SD_MS = {"qrs_onset": 6.5, "qrs_offset": 11.6, "t_end": 30.6}
MATCH_S = 0.1
#: Seconds of signal analysed before the first and after the last annotated beat.
CONTEXT_S = 10.0


def reference_beats(samples: np.ndarray, symbols: list[str]) -> list[dict[str, int | bool]]:
    """q1c beats: R, QRS onset/offset, T end (or -1) and whether a P wave is annotated."""
    beats = []
    n = len(symbols)
    last_t_end = -1
    for i, s in enumerate(symbols):
        if s == ")" and i > 0 and symbols[i - 1] == "t":
            last_t_end = int(samples[i])
        if s != "N":
            continue
        onset = int(samples[i - 1]) if i > 0 and symbols[i - 1] == "(" else -1
        offset = int(samples[i + 1]) if i + 1 < n and symbols[i + 1] == ")" else -1
        p = any(
            symbols[k] == "p" and samples[k] > last_t_end
            for k in range(max(0, i - 6), i)
        )
        t_end = -1
        for k in range(i + 1, min(n - 1, i + 6)):
            if symbols[k] == "N":
                break
            if symbols[k] == "t" and symbols[k + 1] == ")":
                t_end = int(samples[k + 1])
                break
        beats.append(
            {"r": int(samples[i]), "qrs_onset": onset, "qrs_offset": offset, "t_end": t_end, "p": p}
        )
    return beats


@dataclass
class DelineationResult:
    records: list[str] = field(default_factory=list)
    errors: dict[str, dict[str, list[float]]] = field(default_factory=dict)  # method -> point -> ms
    p_confusion: dict[str, list[int]] = field(default_factory=dict)  # method -> [tp, fn, fp, tn]
    n_beats: int = 0
    n_unmatched: int = 0


def _nk_points(nk, lead: np.ndarray, r_peaks: np.ndarray, fs_hz: float) -> dict[str, np.ndarray]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, waves = nk.ecg_delineate(lead, rpeaks=r_peaks, sampling_rate=fs_hz, method="dwt")

    def arr(key):
        a = np.asarray(waves.get(key, [np.nan] * r_peaks.size), dtype=np.float64)
        return np.where(np.isfinite(a), a, -1).astype(np.int64)

    return {
        "qrs_onset": arr("ECG_R_Onsets"),
        "qrs_offset": arr("ECG_R_Offsets"),
        "t_end": arr("ECG_T_Offsets"),
        "p": arr("ECG_P_Peaks") >= 0,
    }


def run_delineation_bench(
    db: Path, records: list[str] | None, progress: Callable[[str], None], peers: bool = True
) -> DelineationResult:
    import wfdb

    nk = None
    if peers:
        import neurokit2 as nk
    names = records or [p.stem for p in sorted(db.glob("*.q1c"))]
    res = DelineationResult()
    for idx, name in enumerate(names):
        rec = wfdb.rdrecord(str(db / name))
        ann = wfdb.rdann(str(db / name), "q1c")
        fs = float(rec.fs)
        # the annotated beats lie in about a minute: analyse that stretch +- 10 s
        start = max(0, int(ann.sample.min() - CONTEXT_S * fs))
        stop = min(rec.p_signal.shape[0], int(ann.sample.max() + CONTEXT_S * fs))
        x = rec.p_signal[start:stop]
        r_peaks = dsp.detect_qrs(x, fs)
        ref = reference_beats(ann.sample - start, list(ann.symbol))
        ours = delineate_beats(x, fs, r_peaks)
        found = {"ours": {k: getattr(ours, k) for k in POINTS} | {"p": ours.p_present}}
        if nk is not None:
            for lead in range(min(2, x.shape[1])):
                found[f"nk_lead{lead}"] = _nk_points(nk, np.nan_to_num(x[:, lead]), r_peaks, fs)
        per_record: dict[str, dict[str, list[float]]] = {}
        for beat in ref:
            k = int(np.argmin(np.abs(r_peaks - beat["r"]))) if r_peaks.size else -1
            if k < 0 or abs(r_peaks[k] - beat["r"]) > MATCH_S * fs:
                res.n_unmatched += 1
                continue
            res.n_beats += 1
            for method, pts in found.items():
                for point in POINTS:
                    if beat[point] < 0:
                        continue
                    got = pts[point][k]
                    err = (got - beat[point]) / fs * 1000 if got >= 0 else np.nan
                    per_record.setdefault(method, {}).setdefault(point, []).append(err)
                c = res.p_confusion.setdefault(method, [0, 0, 0, 0])
                c[(0 if pts["p"][k] else 1) + (0 if beat["p"] else 2)] += 1  # TP FN FP TN
        for method, pts in per_record.items():
            for point, errs in pts.items():
                res.errors.setdefault(method, {}).setdefault(point, []).extend(errs)
        if nk is not None:
            for point in POINTS:
                cands = [per_record.get(f"nk_lead{i}", {}).get(point, []) for i in range(2)]
                cands = [c for c in cands if c]
                if not cands:
                    continue
                best = min(cands, key=lambda c: np.nanmean(np.abs(c)) if np.isfinite(c).any() else np.inf)
                res.errors.setdefault("nk_best_lead", {}).setdefault(point, []).extend(best)
        res.records.append(name)
        progress(f"delineation {idx + 1}/{len(names)} {name}")
    return res


def _stats(errs: list[float]) -> tuple[int, int, float, float]:
    a = np.asarray(errs, dtype=np.float64)
    ok = a[np.isfinite(a)]
    return a.size, a.size - ok.size, float(ok.mean()) if ok.size else np.nan, float(ok.std(ddof=1)) if ok.size > 1 else np.nan


LABELS = {
    "ours": "ours (dsp.delineate_beats, both leads)",
    "nk_lead0": "NeuroKit2 dwt, lead 0",
    "nk_lead1": "NeuroKit2 dwt, lead 1",
    "nk_best_lead": "NeuroKit2 dwt, better lead per record (chosen with the answer)",
}


def table_rows(res: DelineationResult) -> list[list[str]]:
    rows = []
    for point in POINTS:
        for method in ("ours", "nk_lead0", "nk_lead1", "nk_best_lead"):
            errs = res.errors.get(method, {}).get(point)
            if not errs:
                continue
            n, missed, mean, sd = _stats(errs)
            rows.append(
                [point, LABELS[method], str(n), str(missed), f"{mean:+.1f}", f"{sd:.1f}", f"{CSE_SD_MS[point]}"]
            )
    return rows


def p_rows(res: DelineationResult) -> list[list[str]]:
    rows = []
    for method, (tp, fn, fp, tn) in res.p_confusion.items():
        se = 100 * tp / (tp + fn) if tp + fn else np.nan
        sp = 100 * tn / (tn + fp) if tn + fp else np.nan
        rows.append([LABELS[method], str(tp), str(fn), str(fp), str(tn), f"{se:.1f}", f"{sp:.1f}"])
    return rows


HEADER = ["point", "method", "beats", "not found", "mean error ms", "SD ms", "CSE SD limit ms"]
P_HEADER = ["method", "TP", "FN", "FP", "TN", "Se %", "Sp %"]


def split_records(db: Path) -> dict[str, list[str]]:
    """Development records (1st, 3rd, ... in sorted order; thresholds were set on these) and held-out ones."""
    names = [p.stem for p in sorted(db.glob("*.q1c"))]
    return {"development": names[0::2], "held out": names[1::2]}


def run_split(db: Path, progress: Callable[[str], None]) -> dict[str, DelineationResult]:
    return {
        part: run_delineation_bench(db, names, progress) for part, names in split_records(db).items()
    }


def delineation_text(results: dict[str, DelineationResult]) -> str:
    from benchmarks._report import text_table

    out = []
    for part, res in results.items():
        out += [
            f"{part}: {len(res.records)} records, {res.n_beats} annotated beats matched "
            f"({res.n_unmatched} unmatched)",
            text_table(HEADER, table_rows(res)),
            text_table(P_HEADER, p_rows(res)),
            "",
        ]
    return "\n".join(out)


def delineation_markdown(results: dict[str, DelineationResult], machine: dict, command: str) -> str:
    from benchmarks._report import _machine_lines, markdown_table

    lines = [
        "# Beat delineation on the QT Database (q1c) beside NeuroKit2",
        "",
        f"`{command}`",
        "",
        (__doc__ or "").strip(),
        "",
        "Records are split in sorted order: the 1st, 3rd, ... (development) were used to set "
        "the delineator's thresholds; the 2nd, 4th, ... (held out) were not looked at before "
        "this run. Error = found - annotated; 'not found' beats are left out of mean and SD.",
        "",
        "## Machine",
        "",
        *_machine_lines(machine),
        "",
    ]
    for part, res in results.items():
        lines += [
            f"## {part}: {len(res.records)} records, {res.n_beats} annotated beats "
            f"({res.n_unmatched} not matched to a detected R peak)",
            "",
            markdown_table(HEADER, table_rows(res)),
            "",
            "P wave present (q1c 'p' annotated) vs found:",
            "",
            markdown_table(P_HEADER, p_rows(res)),
            "",
        ]
    return "\n".join(lines)


def delineation_json(results: dict[str, DelineationResult], machine: dict) -> dict:
    doc: dict = {"benchmark": "delineation", "machine": machine, "cse_sd_ms": CSE_SD_MS}
    for part, res in results.items():
        block = {"records": res.records, "n_beats": res.n_beats, "n_unmatched": res.n_unmatched}
        for method, pts in res.errors.items():
            for point, errs in pts.items():
                n, missed, mean, sd = _stats(errs)
                block.setdefault(method, {})[point] = {
                    "n": n, "not_found": missed,
                    "mean_ms": None if np.isnan(mean) else round(mean, 2),
                    "sd_ms": None if np.isnan(sd) else round(sd, 2),
                }
        block["p_present_confusion_tp_fn_fp_tn"] = res.p_confusion
        doc[part] = block
    return doc
