"""RR-interval benchmarks: HRV agreement with NeuroKit2, risk-model AUC, RR-part timing.

``holter bench hrv``: on every chf2db and nsr2db record, our HRV and
NeuroKit2's on the *same* NN series (ours from :func:`dsp.rr_series_from_annotation`,
handed to NeuroKit2 as ``{"RRI", "RRI_Time"}``). Time domain over the whole
record; frequency domain on one 5-minute segment every 3 hours (NeuroKit2's
Lomb-Scargle through astropy, ``interpolation_rate=None``, ``normalize=False``;
its band powers are ours divided by the one-sided PSD scale 2 x mean NN in s).

``holter bench risk``: the committed model's cross-validated AUC and its 95 %
bootstrap interval recomputed from the out-of-fold probabilities stored in the
sidecar, the in-sample AUC of the committed model, and the time of the RR part
(annotation -> HRV, DC, HRT, ectopy, hourly, features, model, score) on the
longest 24-hour record.
"""

from __future__ import annotations

import math
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import dsp

DATABASES = ("chf2db", "nsr2db")
TIME_MEASURES = ("SDNN", "RMSSD", "pNN50", "HTI", "SDANN5", "SDNNI5")
FREQ_MEASURES = ("LF", "HF", "LFHF")
#: One 5-minute segment every this many hours for the frequency-domain comparison
#: (NeuroKit2 / astropy take ~0.6 s a segment).
FREQ_EVERY_H = 3


def _records(root: Path) -> list[tuple[str, Path]]:
    out = []
    for db in DATABASES:
        folder = root / db
        out += [(f"{db}/{r}", folder / r) for r in (folder / "RECORDS").read_text().split()]
    return out


def _rr(path: Path) -> dsp.RrSeries:
    import wfdb

    ann = wfdb.rdann(str(path), "ecg")
    return dsp.rr_series_from_annotation(ann.sample, ann.symbol, float(ann.fs))


def _ours_time(td: dsp.HrvTimeDomain) -> dict[str, float]:
    return {
        "SDNN": td.sdnn_ms,
        "RMSSD": td.rmssd_ms,
        "pNN50": td.pnn50_pct,
        "pNN50_nk_denominator": td.pnn50_pct * td.n_nn / (td.n_successive + 1),
        "HTI": td.triangular_index,
        "SDANN5": td.sdann_ms,
        "SDNNI5": td.sdnn_index_ms,
    }


def _segment_powers(rr: dsp.RrSeries, nk) -> list[dict[str, dict[str, float]]]:
    from astropy.timeseries import LombScargle

    from dsp._hrv import HF_BAND_HZ, LF_BAND_HZ, SEGMENT_S, SPECTRUM_OVERSAMPLING, _band_power

    df = 1.0 / (SPECTRUM_OVERSAMPLING * SEGMENT_S)
    freqs = np.arange(1, int(HF_BAND_HZ[1] / df) + 2) * df
    t0 = rr.beat_time_s[0]
    rows = []
    for hour in range(0, int(rr.duration_s // 3600), FREQ_EVERY_H):
        lo = t0 + hour * 3600
        sel = (rr.nn_time_s >= lo) & (rr.nn_time_s < lo + SEGMENT_S)
        t, y = rr.nn_time_s[sel], rr.nn_ms[sel]
        if y.sum() < 0.8 * SEGMENT_S * 1000:
            continue
        psd = dsp.lomb_psd(t, y, freqs)
        scale = 2 * y.mean() / 1000
        lf, hf = _band_power(freqs, psd, LF_BAND_HZ), _band_power(freqs, psd, HF_BAND_HZ)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = nk.hrv_frequency(
                {"RRI": y, "RRI_Time": t}, psd_method="lomb", interpolation_rate=None,
                normalize=False,
            ).iloc[0]
        row = {
            "ours": {"LF": lf / scale, "HF": hf / scale, "LFHF": lf / hf},
            "nk": {"LF": float(out["HRV_LF"]), "HF": float(out["HRV_HF"]), "LFHF": float(out["HRV_LFHF"])},
        }
        # the same periodogram from astropy on our grid: classic (fit_mean=False) and floating mean
        for key, fit_mean in (("astropy_classic", False), ("astropy_floating_mean", True)):
            ls = LombScargle(t, y, fit_mean=fit_mean, center_data=True, normalization="psd")
            p = ls.power(freqs, method="slow")
            a_lf, a_hf = _band_power(freqs, p, LF_BAND_HZ), _band_power(freqs, p, HF_BAND_HZ)
            row[key] = {"LF": a_lf, "HF": a_hf, "LFHF": a_lf / a_hf}
        rows.append(row)
    return rows


def _rel_pct(a: float, b: float) -> float:
    return abs(a - b) / abs(b) * 100 if b else math.nan


@dataclass
class HrvBenchResult:
    records: list[str] = field(default_factory=list)
    time_pairs: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    freq_pairs: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    seconds_ours: float = 0.0
    seconds_nk: float = 0.0


def run_hrv_bench(root: Path, progress: Callable[[str], None]) -> HrvBenchResult:
    """Our HRV and NeuroKit2's on the same NN series of every chf2db / nsr2db record."""
    import neurokit2 as nk

    res = HrvBenchResult()
    records = _records(root)
    for i, (name, path) in enumerate(records):
        rr = _rr(path)
        t0 = time.perf_counter()
        ours = _ours_time(dsp.hrv_time_domain(rr))
        res.seconds_ours += time.perf_counter() - t0
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = nk.hrv_time({"RRI": rr.nn_ms, "RRI_Time": rr.nn_time_s}).iloc[0]
        res.seconds_nk += time.perf_counter() - t0
        for m in TIME_MEASURES:
            res.time_pairs.setdefault(m, []).append((ours[m], float(theirs[f"HRV_{m}"])))
        res.time_pairs.setdefault("pNN50 (NeuroKit2 denominator)", []).append(
            (ours["pNN50_nk_denominator"], float(theirs["HRV_pNN50"]))
        )
        for row in _segment_powers(rr, nk):
            for m in FREQ_MEASURES:
                res.freq_pairs.setdefault(m, []).append((row["ours"][m], row["nk"][m]))
                for key, label in _PEER_LABELS.items():
                    res.freq_pairs.setdefault(f"{m} {label}", []).append((row["ours"][m], row[key][m]))
        res.records.append(name)
        progress(f"hrv {i + 1}/{len(records)} {name}")
    return res


_PEER_LABELS = {
    "astropy_classic": "vs astropy classic Lomb, our grid",
    "astropy_floating_mean": "vs astropy floating-mean, our grid",
}

_NOTES = {
    "SDNN": "same definition (sample SD, n - 1)",
    "RMSSD": "same: successive differences of adjacent NN intervals only (NeuroKit2 via RRI_Time)",
    "pNN50": "Task Force: NN50 / all NN intervals; NeuroKit2: NN50 / (successive differences + 1)",
    "pNN50 (NeuroKit2 denominator)": "ours rescaled to NeuroKit2's denominator: like with like",
    "HTI": "same: 1/128-s bins from 0 ms",
    "SDANN5": "ours: 5-min windows on the beat times, >= 50 % NN coverage; NeuroKit2: windows on the cumulative sum of the NN intervals (time lost to excluded beats shifts them), last interval of each window dropped",
    "SDNNI5": "as SDANN5",
    "LF": "per 5-min segment; classic Lomb (mean removed) vs astropy's floating-mean Lomb-Scargle; grids differ (ours 1/1200 Hz, astropy autopower)",
    "HF": "as LF",
    "LFHF": "as LF; ratio needs no PSD scale",
    **{
        f"{m} vs astropy classic Lomb, our grid": "same periodogram and grid: checks our kernel"
        for m in FREQ_MEASURES
    },
    **{
        f"{m} vs astropy floating-mean, our grid": "same grid; isolates the floating-mean term (NeuroKit2 uses it)"
        for m in FREQ_MEASURES
    },
}


def _fmt(x: float) -> str:
    return f"{x:.3f}" if x >= 0.001 or x == 0 else f"{x:.1e}"


def _agreement_rows(pairs: dict[str, list[tuple[float, float]]]) -> list[list[str]]:
    rows = []
    for m, values in pairs.items():
        rel = np.array([_rel_pct(a, b) for a, b in values])
        rel = rel[np.isfinite(rel)]
        rows.append(
            [
                m,
                str(rel.size),
                _fmt(np.median(rel)),
                _fmt(np.percentile(rel, 95)),
                _fmt(rel.max()),
                f"{100 * np.mean(rel <= 1.0):.1f}",
                _NOTES.get(m, ""),
            ]
        )
    return rows


HRV_HEADER = ["measure", "n", "median abs diff %", "95th pct %", "max %", "within 1 % (%)", "definitions"]


def hrv_text(res: HrvBenchResult) -> str:
    from benchmarks._report import text_table

    head = HRV_HEADER[:-1]
    return "\n".join(
        [
            f"HRV vs NeuroKit2 on {len(res.records)} records (chf2db + nsr2db), same NN series",
            "time domain (whole record):",
            text_table(head, [r[:-1] for r in _agreement_rows(res.time_pairs)]),
            "frequency domain (one 5-min segment every 3 hours):",
            text_table(head, [r[:-1] for r in _agreement_rows(res.freq_pairs)]),
            f"time-domain compute: ours {res.seconds_ours:.2f} s, NeuroKit2 {res.seconds_nk:.2f} s",
        ]
    )


def hrv_markdown(res: HrvBenchResult, machine: dict, command: str) -> str:
    from benchmarks._report import _machine_lines, markdown_table

    return "\n".join(
        [
            "# HRV agreement with NeuroKit2 (chf2db + nsr2db)",
            "",
            f"`{command}`",
            "",
            f"{len(res.records)} records (29 chf2db + 54 nsr2db, 17-24 h each, beat annotations at "
            "128 Hz). The NN series (Task Force: intervals between two normal beats, in 250-2500 ms, "
            "not spanning a noise mark) is built once by `dsp.rr_series_from_annotation` and given "
            "to both: to NeuroKit2 as `{'RRI', 'RRI_Time'}`, so it also sees the gaps. Relative "
            "difference = abs(ours - NeuroKit2) / NeuroKit2.",
            "",
            "## Machine",
            "",
            *_machine_lines(machine),
            "",
            "## Time domain (whole record)",
            "",
            markdown_table(HRV_HEADER, _agreement_rows(res.time_pairs)),
            "",
            "## Frequency domain (Lomb-Scargle, one 5-minute segment every 3 hours of each record)",
            "",
            "NeuroKit2: `hrv_frequency(..., psd_method='lomb', interpolation_rate=None, "
            "normalize=False)` integrates astropy's 'psd'-normalised periodogram; our one-sided PSD "
            "is that times 2 x mean NN (s), so LF and HF are compared after dividing ours by it.",
            "",
            markdown_table(HRV_HEADER, _agreement_rows(res.freq_pairs)),
            "",
            f"Time-domain compute over all records: ours {res.seconds_ours:.2f} s, NeuroKit2 "
            f"{res.seconds_nk:.2f} s.",
        ]
    )


def hrv_json(res: HrvBenchResult, machine: dict) -> dict:
    def block(pairs):
        out = {}
        for row in _agreement_rows(pairs):
            out[row[0]] = {
                "n": int(row[1]),
                "median_rel_diff_pct": float(row[2]),
                "p95_rel_diff_pct": float(row[3]),
                "max_rel_diff_pct": float(row[4]),
                "within_1pct_share_pct": float(row[5]),
                "definitions": row[6],
            }
        return out

    return {
        "benchmark": "hrv",
        "records": res.records,
        "machine": machine,
        "time_domain": block(res.time_pairs),
        "frequency_domain_5min_segments": block(res.freq_pairs),
        "seconds": {"ours_time_domain": round(res.seconds_ours, 4), "neurokit2_time_domain": round(res.seconds_nk, 4)},
    }


# --------------------------------------------------------------------------- risk


@dataclass
class RiskBenchResult:
    model_info: dict
    auc_oof: float
    ci_oof: tuple[float, float]
    auc_in_sample: float
    n_subjects: int
    timing_record: str
    n_beats: int
    duration_h: float
    read_s: float
    rr_part_s: list[float]
    stages_s: dict[str, float]
    cli_wall_s: float


def run_risk_bench(root: Path, progress: Callable[[str], None], repeats: int = 7) -> RiskBenchResult:
    """AUC from the committed model's out-of-fold probabilities; timing of the RR part."""
    import wfdb

    import models
    from models._train_risk import auc, bootstrap_auc_ci

    model = models.RiskModel()
    info = model.info
    oof = info["out_of_fold"]
    names = list(oof)
    y = np.array([1 if n.startswith("chf2db") else 0 for n in names])
    p = np.array([oof[n] for n in names])
    lo, hi = bootstrap_auc_ci(y, p, 2000, info["training"]["seed"])
    progress("risk: in-sample probabilities of the committed model ...")
    feats = []
    for _, path in _records(root):
        rr = _rr(path)
        feats.append(models.risk_features(rr, dsp.analyze_rr(rr)))
    y_all = np.array([1 if n.startswith("chf2db") else 0 for n, _ in _records(root)])
    in_sample = auc(y_all, model.predict_proba(np.array(feats)))
    # timing: the record with the most beats
    longest = max(_records(root), key=lambda r: (r[1].with_suffix(".ecg")).stat().st_size)
    t0 = time.perf_counter()
    ann = wfdb.rdann(str(longest[1]), "ecg")
    rr = dsp.rr_series_from_annotation(ann.sample, ann.symbol, float(ann.fs))
    read_s = time.perf_counter() - t0
    models.assess_rr(rr, model=model)  # warm (Numba cache, interpreter)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        models.assess_rr(rr, model=model)
        times.append(time.perf_counter() - t0)
    stages = {}
    for label, fn in (
        ("hrv_time_domain", lambda: dsp.hrv_time_domain(rr)),
        ("hrv_frequency_domain", lambda: dsp.hrv_frequency_domain(rr)),
        ("deceleration_capacity", lambda: dsp.deceleration_capacity(rr)),
        ("heart_rate_turbulence", lambda: dsp.heart_rate_turbulence(rr)),
        ("ectopy_summary", lambda: dsp.ectopy_summary(rr)),
        ("hourly_profile", lambda: dsp.hourly_profile(rr)),
    ):
        runs = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            runs.append(time.perf_counter() - t0)
        stages[label] = statistics.median(runs)
    progress("risk: timing 'holter risk' in a fresh process ...")
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "holter", "risk", str(longest[1]), "--annotator", "ecg"],
        check=True, capture_output=True,
    )
    cli = time.perf_counter() - t0
    return RiskBenchResult(
        model_info=info, auc_oof=auc(y, p), ci_oof=(lo, hi), auc_in_sample=in_sample,
        n_subjects=int(y.size), timing_record=longest[0], n_beats=rr.n_beats,
        duration_h=rr.duration_s / 3600, read_s=read_s, rr_part_s=times, stages_s=stages,
        cli_wall_s=cli,
    )


def risk_text(r: RiskBenchResult) -> str:
    cv = r.model_info["cross_validation"]
    return "\n".join(
        [
            f"risk model (int8 TFLite), {r.n_subjects} subjects: cross-validated AUC {r.auc_oof:.3f} "
            f"(95 % bootstrap CI {r.ci_oof[0]:.3f}-{r.ci_oof[1]:.3f}); per repeat "
            + ", ".join(f"{a:.3f}" for a in cv["auc_int8_per_repeat"])
            + f"; float Keras {cv['auc_float_keras']:.3f}; in-sample {r.auc_in_sample:.3f}",
            f"RR part on {r.timing_record} ({r.n_beats} beats, {r.duration_h:.1f} h): median "
            f"{statistics.median(r.rr_part_s) * 1000:.0f} ms (reading the annotation "
            f"{r.read_s * 1000:.0f} ms); 'holter risk' in a fresh process {r.cli_wall_s:.2f} s",
        ]
    )


def risk_markdown(r: RiskBenchResult, machine: dict, command: str) -> str:
    from benchmarks._report import _machine_lines, markdown_table

    cv = r.model_info["cross_validation"]
    tr = r.model_info["training"]
    uni = sorted(r.model_info["univariate_auc"].items(), key=lambda kv: -kv[1])
    return "\n".join(
        [
            "# Risk model AUC and the time of the RR part",
            "",
            f"`{command}`",
            "",
            "## Machine",
            "",
            *_machine_lines(machine),
            "",
            "## Risk model: heart failure (chf2db) vs healthy (nsr2db)",
            "",
            f"{tr['n_subjects']} subjects ({tr['n_heart_failure']} heart failure), one record each. "
            f"{cv['scheme']}. AUC of the out-of-fold probabilities (mean over the repeats), 95 % "
            "interval from 2000 bootstrap resamples of subjects (recomputed here from the "
            "probabilities stored in models/risk_model.json).",
            "",
            markdown_table(
                ["model", "AUC", "95 % CI", "per repeat", "sens / spec at 0.5"],
                [
                    [
                        "int8 TFLite (ai-edge-litert), out-of-fold",
                        f"{r.auc_oof:.3f}",
                        f"{r.ci_oof[0]:.3f}-{r.ci_oof[1]:.3f}",
                        ", ".join(f"{a:.3f}" for a in cv["auc_int8_per_repeat"]),
                        f"{cv['sensitivity_at_0_5']:.2f} / {cv['specificity_at_0_5']:.2f}",
                    ],
                    ["float Keras, out-of-fold", f"{cv['auc_float_keras']:.3f}", "", "", ""],
                    ["committed model, in-sample (optimistic)", f"{r.auc_in_sample:.3f}", "", "", ""],
                ],
            ),
            "",
            "Single features (no training; max(AUC, 1 - AUC)), for scale:",
            "",
            markdown_table(["feature", "AUC"], [[k, f"{v:.3f}"] for k, v in uni[:8]]),
            "",
            f"## Time of the RR part on a 24-hour record ({r.timing_record})",
            "",
            f"{r.n_beats} beats, {r.duration_h:.1f} h. RR part = `models.assess_rr`: HRV time and "
            "frequency domain, DC/AC, HRT, ectopy and pauses, hourly and circadian, model features, "
            f"the int8 model and the score; median of {len(r.rr_part_s)} runs after one warm-up, "
            "one core.",
            "",
            markdown_table(
                ["stage", "ms"],
                [[k, f"{v * 1000:.1f}"] for k, v in r.stages_s.items()]
                + [
                    ["**RR part total (assess_rr)**", f"**{statistics.median(r.rr_part_s) * 1000:.1f}**"],
                    ["reading the .ecg annotation (wfdb.rdann) + RR series", f"{r.read_s * 1000:.1f}"],
                    ["`holter risk` wall time, fresh process (imports, Numba cache load)", f"{r.cli_wall_s * 1000:.0f}"],
                ],
            ),
        ]
    )


def risk_json(r: RiskBenchResult, machine: dict) -> dict:
    cv = r.model_info["cross_validation"]
    return {
        "benchmark": "risk",
        "machine": machine,
        "model": {
            "n_subjects": r.n_subjects,
            "auc_int8_out_of_fold": round(r.auc_oof, 4),
            "auc_ci95_bootstrap": [round(r.ci_oof[0], 4), round(r.ci_oof[1], 4)],
            "auc_per_repeat": [round(a, 4) for a in cv["auc_int8_per_repeat"]],
            "auc_float_keras_out_of_fold": round(cv["auc_float_keras"], 4),
            "auc_in_sample": round(r.auc_in_sample, 4),
        },
        "timing": {
            "record": r.timing_record,
            "n_beats": r.n_beats,
            "duration_h": round(r.duration_h, 3),
            "rr_part_median_s": round(statistics.median(r.rr_part_s), 5),
            "rr_part_runs_s": [round(t, 5) for t in r.rr_part_s],
            "stages_median_s": {k: round(v, 5) for k, v in r.stages_s.items()},
            "read_annotation_s": round(r.read_s, 5),
            "cli_fresh_process_wall_s": round(r.cli_wall_s, 4),
        },
    }
