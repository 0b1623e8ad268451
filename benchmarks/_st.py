"""ST level and episodes on MIT-BIH records with known ST shifts added; QT against qtdb q1c.

Shifts: on each MIT-BIH record (paced records 102, 104, 107, 217 left out),
R peaks are the reference annotations' normal-conducted beats (N, L, R, e, j;
ectopic beats have no isoelectric PR and a secondary ST, so they are not
measured). Four episodes are added, +100, -100, +200 and -200 uV (random
order, seeded by record), each on one lead (random), lasting 30-120 s
(uniform), at random times from 90 s on (the first 30 s are the ST
reference), at least 60 s apart. Within a beat the shift covers J to T end,
its 20-ms raised-cosine edges centred on J and ending at T end (J and T end from :func:`dsp.delineate_beats` on the original record, an
independent rule from the J point of :func:`dsp.measure_st`); across beats
it rises and falls linearly over the 5 beats before and after the 30-120 s.

Per-beat ST error = (ST measured on the shifted record - ST measured on the
original) - shift added, on beats at full shift: what the shift did to the
measurement (a record's own, true ST level is not known). Episodes: a true
episode (beats at >= half amplitude) is found when detected episodes of the
same lead and kind cover >= 50 % of it (Se); a detected episode is right
when >= 50 % of it lies in true episodes of that lead and kind (+P).
Detected episodes that also appear (>= 50 % overlap, same lead and kind) on
the original record are the record's own ST changes: +P is given with and
without them.

Baseline wander: nstdb ``bw`` (both noise channels, in mV) is added to each
original record as recorded (its SNR is in the results: the recording is
strong) and scaled to 6 and 12 dB SNR per lead as the noise
stress test database does (S = (median QRS peak-to-peak)^2 / 8, N = noise
variance); episodes found there and not on the clean
record (>= 50 % overlap rule) are false episodes, counted per hour.

QT: on each qtdb record with q1c annotations, the stretch from 10 s before
the first to 10 s after the last annotation, R peaks from ``dsp.detect_qrs``,
``dsp.measure_qt``; error = QT found - QT annotated (q1c T end - QRS onset),
ms, on every q1c beat with both points matched to a detected R within 100 ms.
On the same beats, the J point and QRS onset of ``dsp.measure_st`` against the
q1c QRS offset and onset.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import dsp

PACED = {"102", "104", "107", "217"}
NORMAL_SYMBOLS = set("NLRej")
AMPLITUDES_UV = (100.0, -100.0, 200.0, -200.0)
DURATION_RANGE_S = (30.0, 120.0)
FIRST_EPISODE_S = 90.0
MIN_GAP_S = 60.0
BEAT_RAMP = 5
EDGE_S = 0.02
OVERLAP = 0.5


def add_st_shifts(signal_mv, r_peaks, fs_hz, shift_uv, start_samples, end_samples, edge_s=EDGE_S):
    """A copy of ``signal_mv`` (n, n_leads) with ``shift_uv[b, lead]`` added from start to end of beat b.

    Raised-cosine edges of ``edge_s`` at both ends, inside the region.
    """
    out = np.array(signal_mv, dtype=np.float64, copy=True)
    if out.ndim == 1:
        out = out[:, None]
    shift = np.asarray(shift_uv, dtype=np.float64).reshape(len(r_peaks), -1) / 1000.0
    edge = max(1, int(round(edge_s * fs_hz)))
    ramp = 0.5 - 0.5 * np.cos(np.pi * (np.arange(edge) + 0.5) / edge)
    for b in np.flatnonzero(np.any(shift != 0, axis=1)):
        s, e = int(start_samples[b]), int(end_samples[b])
        if s < 0 or e <= s + 2 * edge or e > out.shape[0]:
            continue
        w = np.ones(e - s)
        w[:edge] = ramp
        w[-edge:] = ramp[::-1]
        out[s:e] += w[:, None] * shift[b][None, :]
    return out


@dataclass(frozen=True)
class TrueEpisode:
    lead: int
    amplitude_uv: float
    start_sample: int
    end_sample: int

    @property
    def kind(self) -> str:
        return "elevation" if self.amplitude_uv > 0 else "depression"


def plan_episodes(r_peaks, fs_hz, n_leads, seed) -> tuple[np.ndarray, list[TrueEpisode]]:
    """Per-beat shift (n_beats, n_leads) in uV and the true episodes, drawn with ``seed``."""
    rng = np.random.default_rng(seed)
    t_s = r_peaks / fs_hz
    shift = np.zeros((r_peaks.size, n_leads))
    episodes = []
    at = FIRST_EPISODE_S
    for amp in rng.permutation(AMPLITUDES_UV):
        dur = rng.uniform(*DURATION_RANGE_S)
        lead = int(rng.integers(n_leads))
        core = np.flatnonzero((t_s >= at) & (t_s <= at + dur))
        if core.size < 2 or core[0] < BEAT_RAMP or core[-1] + BEAT_RAMP >= r_peaks.size:
            break
        up = (np.arange(BEAT_RAMP) + 1) / (BEAT_RAMP + 1)
        shift[core, lead] = amp
        shift[core[0] - BEAT_RAMP : core[0], lead] = amp * up
        shift[core[-1] + 1 : core[-1] + 1 + BEAT_RAMP, lead] = amp * up[::-1]
        half = np.flatnonzero(np.abs(shift[:, lead]) >= 0.5 * abs(amp))
        half = half[(half >= core[0] - BEAT_RAMP) & (half <= core[-1] + BEAT_RAMP)]
        episodes.append(TrueEpisode(lead, float(amp), int(r_peaks[half[0]]), int(r_peaks[half[-1]])))
        at += dur + MIN_GAP_S + rng.uniform(0, 120)
    return shift, episodes


def _overlap(a0, a1, b0, b1) -> int:
    return max(0, min(a1, b1) - max(a0, b0))


def covered(ep, others) -> float:
    """Fraction of ``ep`` (start_sample..end_sample) covered by ``others`` of its lead and kind."""
    length = max(1, ep.end_sample - ep.start_sample)
    got = sum(
        _overlap(ep.start_sample, ep.end_sample, o.start_sample, o.end_sample)
        for o in others if o.lead == ep.lead and o.kind == ep.kind
    )
    return min(1.0, got / length)


@dataclass
class StBenchResult:
    records: list[str] = field(default_factory=list)
    hours: float = 0.0
    beat_errors: dict[float, list[float]] = field(default_factory=dict)  # amplitude -> errors uV
    true_found: dict[float, list[int]] = field(default_factory=dict)  # amplitude -> [found, total]
    detected: list[int] = field(default_factory=lambda: [0, 0, 0])  # right, wrong, wrong-but-own
    own_episodes: int = 0
    # SNR -> [episodes, false episodes, episodes on records without episodes of their own]
    bw: dict[str, list[int]] = field(default_factory=dict)
    quiet_hours: float = 0.0
    bw_snr_as_recorded_db: list[list[float]] = field(default_factory=list)  # per record, per lead
    unmeasured_fraction: list[float] = field(default_factory=list)
    st_seconds: float = 0.0
    qt_errors_ms: list[float] = field(default_factory=list)
    qt_records: int = 0
    qt_unmatched: int = 0
    st_point_errors_ms: dict[str, list[float]] = field(default_factory=dict)  # q1c point -> errors


BW_SNR_DB = (None, 6.0, 12.0)


def _snr_name(snr: float | None) -> str:
    return "as recorded" if snr is None else f"{snr:g} dB"


def noise_scale(x, r, noise, fs_hz, snr_db) -> np.ndarray:
    """Per-lead gain giving ``noise`` the SNR ``snr_db`` against ``x`` (MIT-BIH nstdb rule).

    As nst.c: S = (median peak-to-peak QRS amplitude)^2 / 8, N = noise variance.
    """
    half = int(0.05 * fs_hz)
    ok = r[(r > half) & (r + half < x.shape[0])]
    win = x[ok[:, None] + np.arange(-half, half + 1)[None, :]]  # (beats, window, leads)
    ptp = np.nanmedian(np.nanmax(win, axis=1) - np.nanmin(win, axis=1), axis=0)
    s = ptp**2 / 8
    n = np.var(noise, axis=0)
    return np.sqrt(s / (n * 10 ** (snr_db / 10)))


def normal_beats(db: Path, name: str):
    import wfdb

    rec = wfdb.rdrecord(str(db / name))
    ann = wfdb.rdann(str(db / name), "atr")
    keep = np.array([s in NORMAL_SYMBOLS for s in ann.symbol], bool)
    r = np.unique(ann.sample[keep].astype(np.int64))
    r = r[(r > 0) & (r < rec.p_signal.shape[0])]
    return np.ascontiguousarray(rec.p_signal, dtype=np.float64), float(rec.fs), r


def shift_regions(x, fs_hz, r):
    """J - 10 ms .. T end of each beat, J and T end from the delineator (fallback R + 50 ms .. R + 0.6 RR, 400 ms at most).

    The 20-ms edge is centred on J: a real ST shift moves the J point with it.
    """
    d = dsp.delineate_beats(x, fs_hz, r)
    rr = np.diff(r, append=r[-1] + int(fs_hz))
    start = np.where(d.qrs_offset >= 0, d.qrs_offset, r + int(0.05 * fs_hz)) - int(round(EDGE_S * fs_hz / 2))
    end = np.where(d.t_end > start, d.t_end, r + np.minimum(0.6 * rr, 0.4 * fs_hz).astype(np.int64))
    return start, end


def run_record(db: Path, name: str, bw: np.ndarray | None, res: StBenchResult) -> None:
    x, fs, r = normal_beats(db, name)
    shift, truth = plan_episodes(r, fs, x.shape[1], seed=int(name))
    start, end = shift_regions(x, fs, r)
    xs = add_st_shifts(x, r, fs, shift, start, end)
    t0 = time.perf_counter()
    clean = dsp.measure_st(x, fs, r)
    shifted = dsp.measure_st(xs, fs, r)
    ep_clean = dsp.find_st_episodes(clean.st_uv, r, fs)
    ep_shift = dsp.find_st_episodes(shifted.st_uv, r, fs)
    res.st_seconds += time.perf_counter() - t0
    res.unmeasured_fraction.append(float(np.isnan(clean.st_uv).mean()))
    err = shifted.st_uv - clean.st_uv - shift
    for amp in AMPLITUDES_UV:
        full = np.abs(shift - amp) < 1e-9
        e = err[full]
        res.beat_errors.setdefault(amp, []).extend(e[np.isfinite(e)].tolist())
    for ep in truth:
        c = res.true_found.setdefault(ep.amplitude_uv, [0, 0])
        c[1] += 1
        c[0] += covered(ep, ep_shift) >= OVERLAP
    for ep in ep_shift:
        if covered(ep, truth) >= OVERLAP:
            res.detected[0] += 1
        elif any(covered(ep, [o]) >= OVERLAP or covered(o, [ep]) >= OVERLAP for o in ep_clean):
            res.detected[2] += 1
        else:
            res.detected[1] += 1
    res.own_episodes += len(ep_clean)
    if bw is not None:
        n = min(x.shape[0], bw.shape[0])
        rb = r[r < n]
        noise = bw[:n, : x.shape[1]]
        # noise_scale at 0 dB is sqrt(S / N): the SNR of the noise as recorded
        res.bw_snr_as_recorded_db.append(
            [float(v) for v in 20 * np.log10(noise_scale(x, rb, noise, fs, 0.0))]
        )
        for snr in BW_SNR_DB:
            scale = 1.0 if snr is None else noise_scale(x, rb, noise, fs, snr)
            noisy = dsp.measure_st(x[:n] + scale * noise, fs, rb)
            ep_bw = dsp.find_st_episodes(noisy.st_uv, rb, fs)
            c = res.bw.setdefault(_snr_name(snr), [0, 0, 0])
            c[0] += len(ep_bw)
            c[1] += sum(
                not any(covered(ep, [o]) >= OVERLAP or covered(o, [ep]) >= OVERLAP for o in ep_clean)
                for ep in ep_bw
            )
            if not ep_clean:  # a record without ST episodes of its own
                c[2] += len(ep_bw)
        if not ep_clean:
            res.quiet_hours += n / fs / 3600
    res.records.append(name)
    res.hours += x.shape[0] / fs / 3600


def run_qt(qtdb: Path, res: StBenchResult, progress: Callable[[str], None]) -> None:
    import wfdb

    from benchmarks._delineation_bench import CONTEXT_S, MATCH_S, reference_beats

    names = [p.stem for p in sorted(qtdb.glob("*.q1c"))]
    for name in names:
        rec = wfdb.rdrecord(str(qtdb / name))
        ann = wfdb.rdann(str(qtdb / name), "q1c")
        fs = float(rec.fs)
        start = max(0, int(ann.sample.min() - CONTEXT_S * fs))
        stop = min(rec.p_signal.shape[0], int(ann.sample.max() + CONTEXT_S * fs))
        x = np.nan_to_num(rec.p_signal[start:stop])
        r = dsp.detect_qrs(x, fs)
        if r.size < 3:
            continue
        qt = dsp.measure_qt(x, fs, r)
        st = dsp.measure_st(x, fs, r)
        for beat in reference_beats(ann.sample - start, list(ann.symbol)):
            k = int(np.argmin(np.abs(r - beat["r"])))
            matched = abs(r[k] - beat["r"]) <= MATCH_S * fs
            # the J point and QRS onset measure_st uses, against q1c
            for key, got in (("qrs_offset", st.j_sample), ("qrs_onset", st.qrs_onset_sample)):
                if matched and beat[key] >= 0 and got[k] >= 0:
                    res.st_point_errors_ms.setdefault(key, []).append(float((got[k] - beat[key]) / fs * 1000))
            if beat["qrs_onset"] < 0 or beat["t_end"] < 0:
                continue
            if not matched:
                res.qt_unmatched += 1
                continue
            truth = (beat["t_end"] - beat["qrs_onset"]) / fs * 1000
            res.qt_errors_ms.append(float(qt.qt_ms[k] - truth))
        res.qt_records += 1
    progress(f"st: QT on {res.qt_records} qtdb records")


def run_st_bench(mitdb: Path, nstdb: Path | None, qtdb: Path | None,
                 records: list[str] | None, progress: Callable[[str], None]) -> StBenchResult:
    import wfdb

    names = records or sorted(p.stem for p in mitdb.glob("*.atr") if p.stem not in PACED)
    bw = wfdb.rdrecord(str(nstdb / "bw")).p_signal if nstdb is not None else None
    res = StBenchResult()
    for i, name in enumerate(names):
        run_record(mitdb, name, bw, res)
        progress(f"st {i + 1}/{len(names)} {name}")
    if qtdb is not None:
        run_qt(qtdb, res, progress)
    return res


# ----------------------------------------------------------------------------- reports


def _err_stats(e) -> dict:
    a = np.asarray(e, dtype=np.float64)
    if not a.size:
        return {"n": 0, "mean_uv": None, "sd_uv": None, "p95_abs_uv": None}
    return {"n": int(a.size), "mean_uv": round(float(a.mean()), 1), "sd_uv": round(float(a.std(ddof=1)), 1)
            if a.size > 1 else None, "p95_abs_uv": round(float(np.percentile(np.abs(a), 95)), 1)}


def summary(res: StBenchResult) -> dict:
    all_err = [v for amp in AMPLITUDES_UV for v in res.beat_errors.get(amp, [])]
    found = sum(c[0] for c in res.true_found.values())
    total = sum(c[1] for c in res.true_found.values())
    right, wrong, own = res.detected
    qt = np.asarray(res.qt_errors_ms, dtype=np.float64)
    qt_ok = qt[np.isfinite(qt)]
    return {
        "records": len(res.records),
        "hours": round(res.hours, 2),
        "beat_error_all": _err_stats(all_err),
        "beat_error_by_amplitude": {f"{a:+.0f}": _err_stats(res.beat_errors.get(a, [])) for a in AMPLITUDES_UV},
        "episode_se_pct": round(100 * found / total, 1) if total else None,
        "episodes_true": total,
        "episodes_found": found,
        "episode_se_by_amplitude_pct": {
            f"{a:+.0f}": round(100 * c[0] / c[1], 1) for a, c in sorted(res.true_found.items()) if c[1]
        },
        "detected_right": right,
        "detected_wrong": wrong,
        "detected_records_own": own,
        "ppv_pct": round(100 * right / (right + wrong + own), 1) if right + wrong + own else None,
        "ppv_without_own_pct": round(100 * right / (right + wrong), 1) if right + wrong else None,
        "own_episodes_clean_records": res.own_episodes,
        "bw": {k: {"episodes": v[0], "false_episodes": v[1],
                   "false_per_hour": round(v[1] / res.hours, 3) if res.hours else None,
                   "episodes_on_quiet_records": v[2],
                   "per_hour_on_quiet_records": round(v[2] / res.quiet_hours, 3) if res.quiet_hours else None}
               for k, v in res.bw.items()},
        "quiet_records_hours": round(res.quiet_hours, 2),
        "bw_snr_as_recorded_db_median_per_lead": [
            round(float(v), 1) for v in np.median(res.bw_snr_as_recorded_db, axis=0)
        ] if res.bw_snr_as_recorded_db else None,
        "unmeasured_beat_fraction_median": round(float(np.median(res.unmeasured_fraction)), 4)
        if res.unmeasured_fraction else None,
        # two measure_st + find_st_episodes passes per record (clean and shifted)
        "st_seconds_per_hour": round(res.st_seconds / 2 / res.hours, 4) if res.hours else None,
        "qt_records": res.qt_records,
        "qt_beats": int(qt.size),
        "qt_not_found": int(qt.size - qt_ok.size),
        "qt_unmatched": res.qt_unmatched,
        "qt_error_mean_ms": round(float(qt_ok.mean()), 1) if qt_ok.size else None,
        "qt_error_sd_ms": round(float(qt_ok.std(ddof=1)), 1) if qt_ok.size > 1 else None,
        "measure_st_points_vs_q1c_ms": {
            key: {"n": len(v), "mean_ms": round(float(np.mean(v)), 1), "sd_ms": round(float(np.std(v, ddof=1)), 1)}
            for key, v in res.st_point_errors_ms.items() if len(v) > 1
        },
    }


def st_text(res: StBenchResult) -> str:
    s = summary(res)
    lines = [f"{s['records']} mitdb records, {s['hours']} h"]
    for amp, st in s["beat_error_by_amplitude"].items():
        lines.append(f"  per-beat ST error at {amp} uV: {st}")
    lines.append(f"  all shifted beats: {s['beat_error_all']}")
    lines.append(
        f"  episodes: Se {s['episode_se_pct']} % ({s['episodes_found']}/{s['episodes_true']}), by amplitude "
        f"{s['episode_se_by_amplitude_pct']}; +P {s['ppv_pct']} % ({s['ppv_without_own_pct']} % leaving out "
        f"{s['detected_records_own']} of the records' own); own episodes on clean records {s['own_episodes_clean_records']}"
    )
    for k, v in s["bw"].items():
        lines.append(f"  nstdb bw added ({k}): {v['episodes']} episodes, {v['false_episodes']} false "
                     f"({v['false_per_hour']} per hour); on the {s['quiet_records_hours']} h of records "
                     f"without episodes of their own: {v['episodes_on_quiet_records']} "
                     f"({v['per_hour_on_quiet_records']} per hour)")
    lines.append(f"  QT vs q1c: {s['qt_beats']} beats on {s['qt_records']} records, mean {s['qt_error_mean_ms']} ms, "
                 f"SD {s['qt_error_sd_ms']} ms, not found {s['qt_not_found']}")
    lines.append(f"  measure_st J point / QRS onset vs q1c: {s['measure_st_points_vs_q1c_ms']}")
    return "\n".join(lines)


def st_markdown(res: StBenchResult, machine: dict, command: str) -> str:
    from benchmarks._report import _machine_lines, markdown_table

    s = summary(res)
    rows = [[amp, str(st["n"]), str(st["mean_uv"]), str(st["sd_uv"]), str(st["p95_abs_uv"]),
             str(s["episode_se_by_amplitude_pct"].get(amp))]
            for amp, st in s["beat_error_by_amplitude"].items()]
    a = s["beat_error_all"]
    rows.append(["all", str(a["n"]), str(a["mean_uv"]), str(a["sd_uv"]), str(a["p95_abs_uv"]),
                 str(s["episode_se_pct"])])
    return "\n".join([
        "# ST level and episodes (MIT-BIH with known shifts added), QT against qtdb q1c",
        "",
        f"`{command}`",
        "",
        (__doc__ or "").strip(),
        "",
        "## Machine",
        "",
        *_machine_lines(machine),
        "",
        f"## ST: {s['records']} records, {s['hours']} h",
        "",
        markdown_table(["shift uV", "shifted beats", "mean error uV", "SD uV", "p95 |error| uV",
                        "episode Se %"], rows),
        "",
        f"- Episodes: Se {s['episode_se_pct']} % ({s['episodes_found']} of {s['episodes_true']}); "
        f"+P {s['ppv_pct']} % ({s['detected_right']} right, {s['detected_wrong']} wrong, "
        f"{s['detected_records_own']} also on the original record); "
        f"+P leaving those out {s['ppv_without_own_pct']} %.",
        f"- Episodes on the original (clean) records: {s['own_episodes_clean_records']}.",
        *[f"- nstdb bw added to the original records ({k}): {v['episodes']} episodes, "
          f"{v['false_episodes']} not on the clean record = {v['false_per_hour']} false episodes per hour; "
          f"on the records without ST episodes of their own ({s['quiet_records_hours']} h): "
          f"{v['episodes_on_quiet_records']} episodes = {v['per_hour_on_quiet_records']} per hour."
          for k, v in s["bw"].items()],
        f"- Beats not measurable (median over records): {100 * (s['unmeasured_beat_fraction_median'] or 0):.2f} %.",
        f"- nstdb bw as recorded is at {s['bw_snr_as_recorded_db_median_per_lead']} dB SNR "
        "(median over records, lead 0 and lead 1).",
        f"- Time of measure_st + find_st_episodes: {s['st_seconds_per_hour']} s per hour of "
        "2-lead 360 Hz ECG (one core, Numba cache warm).",
        "",
        f"## QT against qtdb q1c: {s['qt_records']} records, {s['qt_beats']} beats",
        "",
        f"Error (found - annotated): mean {s['qt_error_mean_ms']} ms, SD {s['qt_error_sd_ms']} ms; "
        f"{s['qt_not_found']} beats without a QT; {s['qt_unmatched']} annotated beats with no detected R.",
        "",
        "The J point (q1c QRS offset) and QRS onset that `measure_st` uses, on the same beats "
        "(found - annotated): "
        + "; ".join(f"{k}: {v['mean_ms']:+.1f} +- {v['sd_ms']:.1f} ms ({v['n']} beats)"
                    for k, v in s["measure_st_points_vs_q1c_ms"].items()) + ".",
        "",
    ])


def st_json(res: StBenchResult, machine: dict) -> dict:
    return {"benchmark": "st", "machine": machine, **summary(res), "records_list": res.records}
