"""Tables and result files of ``holter bench beats`` and ``holter bench rhythm``."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from benchmarks._beats_bench import BeatsBenchResult, LabelledRecord
from benchmarks._report import _machine_lines, markdown_table, text_table
from benchmarks._rhythm_score import (
    RUN_FP_CAUSES,
    RUN_KINDS,
    EpisodeCounts,
    RunCounts,
    false_run_causes,
    reference_episodes,
    score_episodes,
    score_runs,
    ventricular_runs,
)

#: MIT-BIH records with atrial fibrillation (the issue's AF set).
AF_RECORDS = ("201", "202", "203", "210", "219", "221", "222")
#: How the AF settings were chosen and what was seen of DS2 (written into the results).
AF_PROVENANCE = (
    "How the DS2 figures were obtained (issue #4): the AF detector of dsp/_rhythm_af.py and its "
    "thresholds were designed on DS1, synthetic RR sequences and the literature, then measured "
    "once on DS2: episode Se/+P 86.0/96.0, duration Se/+P 87.8/80.3 (held out). The edge "
    "placement was added after that measurement (checked on synthetic onsets and DS1 only), "
    "giving the DS2 rows above. The DS2 AF records were then looked at to explain what is "
    "left (210 and 202: AF whose RR irregularity, about 0.05-0.10, is that of sinus rhythm with "
    "frequent ectopy in DS1; 219: AF beats labelled V/F; 222 and 203: atrial flutter and "
    "nodal rhythm as irregular as AF; 222's reference AF is 24 episodes of at most 26 s); no "
    "setting was changed after that. On 2026-12-03 the classifier got its S head and "
    "af_keep_s was switched on (decided on DS1 201/203 and the gateway's loss of 203's AF, "
    "before this run: see dsp._rhythm.RhythmConfig); the rows above are measured with both. On 2026-12-04 atrial activity was added (the P-wave "
    "region's correlation with the dominant template, dsp.p_wave_similarity): stretches whose "
    "N/S beats show P waves (median >= af_p_present 0.6) are not AF, stretches measured without "
    "them are AF from irregularity af_on_no_p 0.07 instead of 0.10, unmeasured ones (paced "
    "beats, flat template P region) RR only. Both settings were chosen on DS1 (201 + 203 "
    "duration Se / +P 99.96 / 65.40 -> 99.26 / 78.71, episode +P 80 -> 100; the 20 other DS1 "
    "records stay free of AF) and the paced records, with no DS2 record looked at; the rows "
    "above are the one measurement on DS2 after that, and nothing was changed after it."
)
TARGETS = {"veb_se_pct": 93.0, "veb_ppv_pct": 93.0, "sveb_se_pct": 82.0, "sveb_ppv_pct": 78.0}


def _f(v, digits: int = 2) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"


def _clean(v):
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_clean(x) for x in v]
    if isinstance(v, np.floating | np.integer):
        return _clean(v.item())
    return v


# ---------------------------------------------------------------- beats
def beats_rows(result: BeatsBenchResult) -> list[list[str]]:
    rows = []
    for key, g in result.gross.items():
        s = g.gross
        rows.append([key, str(len(g.records)), _f(s.qrs_se_pct), _f(s.qrs_ppv_pct),
                     _f(s.veb_se_pct), _f(s.veb_ppv_pct), _f(s.veb_fpr_pct, 3),
                     _f(s.sveb_se_pct), _f(s.sveb_ppv_pct)])  # fmt: skip
    return rows


BEATS_HEADER = ["records", "n", "QRS Se", "QRS +P", "VEB Se", "VEB +P", "VEB FPR",
                "SVEB Se", "SVEB +P"]  # fmt: skip
RECORD_HEADER = ["record", "VEB TP", "VEB FN", "VEB FP", "VEB Se", "VEB +P",
                 "SVEB TP", "SVEB FN", "SVEB FP", "SVEB Se", "SVEB +P"]  # fmt: skip


def record_rows(result: BeatsBenchResult, names: list[str]) -> list[list[str]]:
    rows = []
    for r in names:
        s = result.scores[r].stats
        rows.append([r, str(s.veb_tp), str(s.veb_fn), str(s.veb_fp), _f(s.veb_se_pct),
                     _f(s.veb_ppv_pct), str(s.sveb_tp), str(s.sveb_fn), str(s.sveb_fp),
                     _f(s.sveb_se_pct), _f(s.sveb_ppv_pct)])  # fmt: skip
    return rows


def beats_text(result: BeatsBenchResult) -> str:
    out = [text_table(BEATS_HEADER, beats_rows(result))]
    if result.speed:
        sp = result.speed
        out.append(
            f"speed (one core): classifying {sp['n_beats']} beats takes {sp['classify_s']:.3f} s; "
            f"feature extraction for as many beats {sp['features_s_per_24h']:.2f} s"
        )
    return "\n".join(out)


def beats_markdown(result: BeatsBenchResult, meta: dict, machine: dict, command: str) -> str:
    g = result.gross.get("DS2")
    lines = [
        "# Beat classification: EC57 statistics (MIT-BIH, inter-patient)",
        "",
        f"Command: `{command}`",
        "",
        "Every record runs through exactly what `holter detect` runs (streaming QRS detector on all "
        "leads, per-beat features, int8 TFLite classifier, in 60-s chunks); our beats are matched "
        "to the reference by the EC57 scorer (bxb rules: 150 ms, from 5 min, VF excluded), so "
        "missed and extra beats count in the class statistics too. Gross statistics. "
        "DS2 = the test patients of de Chazal et al. 2004, never used for training, thresholds, "
        "early stopping or model selection; DS1 = the training patients (shown for reference, "
        "not a test figure). Paced records are run (labels Q expected; not scored for VEB/SVEB "
        "by EC57).",
        "",
        markdown_table(BEATS_HEADER, beats_rows(result)),
        "",
    ]
    if g is not None:
        s = g.gross
        met = {k: getattr(s, k) >= v for k, v in TARGETS.items()}
        lines += [
            "## Against the issue's targets (DS2)",
            "",
            markdown_table(
                ["statistic", "target", "reached", "met"],
                [[k, _f(v, 0), _f(getattr(s, k)), "yes" if met[k] else "no"] for k, v in TARGETS.items()],
            ),
            "",
            "Published anchors on the same split: de Chazal 2004 VEB 77.7 / 81.9, SVEB 75.9 / 38.5 "
            "(Se / +P); Niu et al. 2020 F1 VEB 89.7, SVEB 76.6.",
            "",
        ]
    sel = meta.get("selection", {})
    lines += [
        "## Model selection figures (DS1 patient-held-out, per matched beat)",
        "",
        f"Selection: {sel.get('scheme', 'DS1 patient-held-out')}; epochs = "
        f"{sel.get('epochs')}, decision = {sel.get('decision')} (models/MODEL_CARD.md).",
        "",
        markdown_table(
            ["", "S Se", "S +P", "V Se", "V +P"],
            [[name, _f(d.get("S_se")), _f(d.get("S_ppv")), _f(d.get("V_se")), _f(d.get("V_ppv"))]
             for name, d in (
                 ("the rule (CNN + S head + AF rule)", sel.get("ds1_held_out", {})),
                 ("without the AF rule", sel.get("ds1_held_out_without_rhythm_rule", {})),
                 ("the CNN alone, argmax", sel.get("ds1_held_out_cnn_argmax", {})))],
        ),
        "",
    ]
    if result.speed:
        sp = result.speed
        lines += [
            "## Speed (one core)",
            "",
            f"Classifying {sp['n_beats']:,} beats (about 24 h) in batched interpreter calls: "
            f"**{sp['classify_s']:.3f} s** (best of 3, after a warm-up). Extracting their features "
            f"(windows, RR, templates; Numba) takes about {sp['features_s_per_24h']:.2f} s more "
            f"(measured on {sp['features_beats_measured']:,} DS2 beats, scaled).",
            "",
        ]
    ds2 = [r for r in ("100 103 105 111 113 117 121 123 200 202 210 212 213 214 219 221 222 228 "
                       "231 232 233 234").split() if r in result.scores]
    lines += ["## DS2 per record", "", markdown_table(RECORD_HEADER, record_rows(result, ds2)), ""]
    paced = [r for r in ("102", "104", "107", "217") if r in result.labelled]
    if paced:
        rows = []
        for r in paced:
            syms = result.labelled[r].symbols
            f = result.paced.get(r)
            rows.append([r, str(len(syms))] + [str(syms.count(c)) for c in "NAVFQ"]
                        + ([_f(f.paced_q_pct, 1), _f(f.other_q_pct, 1)] if f else ["-", "-"]))
        lines += ["## Paced records (not scored by EC57 for VEB/SVEB)", "",
                  markdown_table(["record", "beats", "N", "A", "V", "F", "Q", "ref '/'+'f' as Q %",
                                  "other ref beats as Q %"], rows), "",
                  "Paced beats are labelled Q by the pacemaker-spike detector (`dsp.PacingDetector`; "
                  "reference beats paired within 150 ms; see pacing_mitdb.md).", ""]
    lines += _machine_lines(machine)
    return "\n".join(lines)


def beats_json(result: BeatsBenchResult, meta: dict, machine: dict) -> dict:
    return _clean({
        "gross": {k: g.gross.as_dict() for k, g in result.gross.items()},
        "records": {r: s.stats.as_dict() for r, s in result.scores.items()},
        "targets_ds2": TARGETS,
        "model_selection_ds1": meta.get("selection"),
        "speed": result.speed,
        "machine": machine,
    })


# ---------------------------------------------------------------- rhythm
def rhythm_scores(db: Path, labelled: dict[str, LabelledRecord]) -> dict:
    """AF episode/duration (AF records; AF called elsewhere) and ventricular runs."""
    import wfdb

    from benchmarks._ec57 import PACED_MITDB_RECORDS
    from models._beat_data import DS1

    af: dict[str, EpisodeCounts] = {}
    af_elsewhere: dict[str, EpisodeCounts] = {}  # records without AF: every AF second is false
    runs: dict[str, dict[str, RunCounts]] = {}
    causes = {k: dict.fromkeys(RUN_FP_CAUSES, 0) for k in RUN_KINDS}
    for r, rec in labelled.items():
        ref, fs, n = reference_episodes(Path(db) / r)
        test = np.array([(e.start_sample, e.end_sample) for e in rec.rhythm.of_kind("AFIB")])
        counts = score_episodes(ref, test.reshape(-1, 2), fs, n)
        (af if r in AF_RECORDS else af_elsewhere)[r] = counts
        ann = wfdb.rdann(str(Path(db) / r), "atr")
        ref_runs = ventricular_runs(ann.sample, ann.symbol)
        test_runs = ventricular_runs(rec.r_peaks, rec.symbols)
        runs[r] = score_runs(ref_runs, test_runs, rec.fs_hz)
        if r not in PACED_MITDB_RECORDS:
            found = false_run_causes(ann.sample, ann.symbol, ref_runs, test_runs, rec.r_peaks, rec.fs_hz)
            for k in RUN_KINDS:
                for c in RUN_FP_CAUSES:
                    causes[k][c] += found[k][c]
    af = {r: af[r] for r in AF_RECORDS if r in af}
    af_groups = {
        "DS1 (settings chosen here)": [r for r in af if r in DS1],
        "DS2": [r for r in af if r not in DS1],
    }
    af_gross = {name: sum((af[r] for r in rs), EpisodeCounts()) for name, rs in af_groups.items() if rs}
    run_sets = {
        "non-paced 44": [r for r in runs if r not in PACED_MITDB_RECORDS],
        "paced 4": [r for r in runs if r in PACED_MITDB_RECORDS],
        "all 48": list(runs),
    }
    runs_gross = {
        name: {k: sum((runs[r][k] for r in rs), RunCounts()) for k in RUN_KINDS}
        for name, rs in run_sets.items() if rs
    }  # fmt: skip
    events = {}
    for rec in labelled.values():
        for e in rec.rhythm.episodes:
            events[e.kind] = events.get(e.kind, 0) + 1
    return {"af": af, "af_gross": sum(af.values(), EpisodeCounts()), "af_groups": af_gross,
            "af_elsewhere": af_elsewhere, "runs": runs, "runs_gross": runs_gross,
            "run_fp_causes": causes, "event_counts": events}


def _af_row(name: str, c: EpisodeCounts) -> list[str]:
    return [name, str(c.ref_episodes), str(c.test_episodes), _f(c.episode_se_pct), _f(c.episode_ppv_pct),
            _f(c.duration_se_pct), _f(c.duration_ppv_pct)]


def _af_rows(sc: dict, bold: bool) -> list[list[str]]:
    rows = [_af_row(r, c) for r, c in sc["af"].items()]
    rows += [_af_row(f"**{k}**" if bold else k, c) for k, c in sc["af_groups"].items()]
    rows.append(_af_row("**gross**" if bold else "gross", sc["af_gross"]))
    return rows


def _false_af(sc: dict) -> tuple[int, float, list[str]]:
    hit = {r: c for r, c in sc["af_elsewhere"].items() if c.test_episodes}
    return (len(sc["af_elsewhere"]), sum(c.test_s for c in hit.values()),
            [f"{r} ({c.test_s:.0f} s)" for r, c in hit.items()])


def _run_rows(sc: dict) -> list[list[str]]:
    return [[name, k, str(c.ref), str(c.test), _f(c.se_pct), _f(c.ppv_pct)]
            for name, d in sc["runs_gross"].items() for k, c in d.items()]


def rhythm_text(sc: dict) -> str:
    out = [text_table(["AF record", "ref ep", "test ep", "ep Se", "ep +P", "dur Se", "dur +P"],
                      _af_rows(sc, bold=False))]
    n, secs, where = _false_af(sc)
    out.append(f"AF called in the {n} records without AF: {secs:.0f} s {', '.join(where)}")
    out.append(text_table(["records", "V runs", "ref", "test", "Se", "+P"], _run_rows(sc)))
    return "\n".join(out)


def rhythm_markdown(sc: dict, config: dict, machine: dict, command: str) -> str:
    n, secs, where = _false_af(sc)
    cause_rows = [[k, *(str(sc["run_fp_causes"][k][c]) for c in RUN_FP_CAUSES)] for k in RUN_KINDS]
    lines = [
        "# Rhythm: AF episodes and ventricular runs (MIT-BIH)",
        "",
        f"Command: `{command}`",
        "",
        "Beats, labels and rhythm come from the `holter detect` path (detector, classifier, "
        "`dsp._rhythm`). AF is scored `epic`-style (any overlap counts for episodes; duration "
        "by overlap time; from 5 min; reference = `(AFIB` stretches only, so AF called in "
        "atrial flutter counts as a false positive). The AF settings were chosen on the DS1 "
        "records only (201 and 203 have AF; the other 20 must stay free of AF); 202, 210, 219, "
        "221 and 222 are DS2 records. Ventricular runs are scored `rxr`-style (see "
        "benchmarks/_rhythm_score.py for the overlap rule); as in EC57, the paced records "
        "(102, 104, 107, 217) are left out of the headline and shown apart (the beats of their "
        "false runs were, in the run of 2026-12-01, reference N and pacemaker-fusion f beats "
        "called V, 302 and 265 of 628; paced beats themselves are labelled Q).",
        "",
        "## Atrial fibrillation (target: all four >= 95 %)",
        "",
        markdown_table(["record", "ref episodes", "test episodes", "episode Se", "episode +P",
                        "duration Se", "duration +P"], _af_rows(sc, bold=True)),
        "",
        AF_PROVENANCE,
        "",
        f"AF called in the {n} MIT-BIH records without AF (from 5 min): {secs:.0f} s"
        + (f" ({', '.join(where)})." if where else "."),
        "",
        "## Ventricular couplets and runs (gross)",
        "",
        markdown_table(["records", "kind", "reference", "test", "Se", "+P"], _run_rows(sc)),
        "",
        "Why a test run matched no reference run of its kind (44 non-paced records; "
        "first cause: `other_length` = a reference run of another length overlaps it, "
        "`extra_beat` = one of its beats is not a reference beat, `false_v` = a reference "
        "non-ventricular beat labelled V):",
        "",
        markdown_table(["kind", *RUN_FP_CAUSES], cause_rows),
        "",
        "## Events found (all records)",
        "",
        markdown_table(["kind", "count"], [[k, str(v)] for k, v in sorted(sc["event_counts"].items())]),
        "",
        f"Detector settings: `{config}`",
        "",
    ]
    lines += _machine_lines(machine)
    return "\n".join(lines)


def rhythm_json(sc: dict, config: dict, machine: dict) -> dict:
    return _clean({
        "af": {r: c.as_dict() for r, c in sc["af"].items()},
        "af_groups": {k: c.as_dict() for k, c in sc["af_groups"].items()},
        "af_gross": sc["af_gross"].as_dict(),
        "af_in_records_without_af": {r: c.as_dict() for r, c in sc["af_elsewhere"].items()},
        "runs_gross": {name: {k: {"ref": c.ref, "test": c.test, "se_pct": c.se_pct, "ppv_pct": c.ppv_pct}
                              for k, c in d.items()} for name, d in sc["runs_gross"].items()},
        "runs": {r: {k: c.__dict__ for k, c in d.items()} for r, d in sc["runs"].items()},
        "run_fp_causes_non_paced": sc["run_fp_causes"],
        "event_counts": sc["event_counts"],
        "config": config,
        "machine": machine,
    })


def run_cli(args, progress, command: str) -> int:
    """``holter bench beats`` / ``holter bench rhythm``."""
    import dataclasses
    import json

    from benchmarks import _report
    from benchmarks._beats_bench import run_beats_bench
    from benchmarks._data import require_physionet_dir
    from dsp._rhythm import RhythmConfig
    from models._classifier import MODEL_PATH

    db = args.db if args.db is not None else require_physionet_dir("mitdb")
    records = [r.strip() for r in args.records.split(",") if r.strip()] if args.records else None
    beats = args.bench == "beats"
    result = run_beats_bench(db, records, progress=progress, speed=beats)
    machine = _report.machine_description()
    if beats:
        meta = json.loads(MODEL_PATH.with_suffix(".json").read_text())
        print(beats_text(result))
        md, doc = beats_markdown(result, meta, machine, command), beats_json(result, meta, machine)
    else:
        sc = rhythm_scores(db, result.labelled)
        config = dataclasses.asdict(RhythmConfig())
        print(rhythm_text(sc))
        md, doc = rhythm_markdown(sc, config, machine, command), rhythm_json(sc, config, machine)
    if args.write:
        for p in _report.write_report(args.out or _report.RESULTS_DIR, f"{args.bench}_mitdb", md, doc):
            progress(f"wrote {p}")
    return 0
