"""Paced beats labelled Q: ``holter bench pacing`` on MIT-BIH.

Every record runs through what ``holter detect`` runs (:func:`label_record`:
streaming detector, features, classifier, the pacemaker-spike detector
relabelling paced beats Q, 60-s chunks). Our beats are paired with the
reference beats one to one within 150 ms (bxb's rule, :func:`match_beats`),
over the whole record. Reported:

* on the paced records (102, 104, 107, 217): the share of the reference paced
  ('/') and fusion-of-paced ('f') beats we label Q (a reference beat we did
  not detect counts as not Q), and the share of the other reference beats
  (intrinsic N, V, ...) we label Q;
* on the 44 other records: how many beats the pacing detector calls paced
  (:func:`dsp.detect_pacing` on our beats, the batch form of what the
  labeller ran; it must be 0, so the VEB / SVEB statistics cannot move), and
  the EC57 gross statistics with the detector in place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from benchmarks._beats_bench import LabelledRecord, label_record, record_sets, score_labels
from benchmarks._ec57 import PACED_MITDB_RECORDS, gross_score, match_beats, window_samples

#: MIT-BIH beat symbols (every other annotation is not a beat).
BEAT_SYMBOLS = frozenset("NLRBAaJSVrFejnE/fQ?")
#: Reference symbols of paced beats (AAMI class Q).
PACED_SYMBOLS = ("/", "f")


@dataclass(frozen=True)
class PacedFigures:
    """One record: reference beats by kind, and how many of them we label Q."""

    record: str
    beats: int  # our beats
    paced_by_detector: int  # our beats the pacing detector calls paced
    ref_paced: int  # reference '/'
    ref_paced_q: int
    ref_fusion: int  # reference 'f'
    ref_fusion_q: int
    ref_other: int  # every other reference beat
    ref_other_q: int

    @property
    def paced_q_pct(self) -> float:
        """Reference '/' and 'f' beats labelled Q, %."""
        n = self.ref_paced + self.ref_fusion
        return 100.0 * (self.ref_paced_q + self.ref_fusion_q) / n if n else float("nan")

    @property
    def other_q_pct(self) -> float:
        """Other reference beats labelled Q, %."""
        return 100.0 * self.ref_other_q / self.ref_other if self.ref_other else float("nan")


def paced_figures(db: Path, rec: LabelledRecord) -> PacedFigures:
    """Pair ``rec``'s beats with the reference and count Q labels by reference kind."""
    import wfdb

    from benchmarks._qrs_bench import load_record
    from dsp import detect_pacing

    ann = wfdb.rdann(str(Path(db) / rec.record), "atr")
    keep = np.array([s in BEAT_SYMBOLS for s in ann.symbol], bool)
    ref = np.asarray(ann.sample, np.int64)[keep]
    symbols = np.asarray(ann.symbol)[keep]
    match = match_beats(ref, rec.r_peaks, window_samples=window_samples(0.15, rec.fs_hz),
                        start_sample=0)  # fmt: skip
    ours = np.asarray(rec.symbols)
    labelled_q = np.zeros(ref.size, bool)
    paired = match.ref_to_test >= 0
    labelled_q[paired] = ours[match.ref_to_test[paired]] == "Q"
    signal = load_record(db, rec.record).signal_mv
    paced = detect_pacing(signal, rec.fs_hz, rec.r_peaks).paced

    def count(mask: np.ndarray) -> tuple[int, int]:
        return int(mask.sum()), int((mask & labelled_q).sum())

    slash, fusion = symbols == "/", symbols == "f"
    return PacedFigures(
        rec.record, int(rec.r_peaks.size), int(paced.sum()), *count(slash), *count(fusion),
        *count(~slash & ~fusion),
    )  # fmt: skip


@dataclass(frozen=True, eq=False)
class PacingBenchResult:
    figures: dict[str, PacedFigures]
    gross: dict  # record set -> benchmarks._ec57.GrossScore (with the detector in place)


def run_pacing_bench(
    db: Path, records: list[str] | None = None, progress: Callable[[str], None] | None = None
) -> PacingBenchResult:
    """Label every record, count Q labels against the reference, EC57 on the non-paced."""
    from benchmarks._qrs_bench import list_records

    names = records or list_records(db)
    figures: dict[str, PacedFigures] = {}
    scores = {}
    for name in names:
        rec = label_record(db, name)
        figures[name] = f = paced_figures(db, rec)
        if name not in PACED_MITDB_RECORDS:
            scores[name] = score_labels(db, rec)
        if progress:
            progress(
                f"{name}: paced by the detector {f.paced_by_detector} of {f.beats}; "
                f"'/'+'f' labelled Q {f.paced_q_pct:.1f} %, other beats Q {f.other_q_pct:.2f} %"
            )
    sets = {k: v for k, v in record_sets([n for n in names if n in scores]).items()
            if k in ("DS2", "DS1", "non-paced 44") and v}  # fmt: skip
    gross = {k: gross_score([scores[r] for r in rs]) for k, rs in sets.items()}
    return PacingBenchResult(figures=figures, gross=gross)


def _sum(figs: list[PacedFigures], name: str) -> PacedFigures:
    fields = [sum(getattr(f, k) for f in figs) for k in PacedFigures.__dataclass_fields__
              if k != "record"]  # fmt: skip
    return PacedFigures(name, *fields)


def _f(v: float, digits: int = 1) -> str:
    return "-" if v != v else f"{v:.{digits}f}"


PACED_HEADER = ["record", "beats", "ref '/'", "'/' as Q", "ref 'f'", "'f' as Q",
                "'/'+'f' Q %", "other ref beats", "other as Q", "other Q %"]  # fmt: skip


def paced_rows(figs: list[PacedFigures]) -> list[list[str]]:
    """Rows of the paced-records table (one per record and the total)."""
    rows = []
    for f in [*figs, _sum(figs, "all paced")] if len(figs) > 1 else figs:
        rows.append([f.record, str(f.beats), str(f.ref_paced), str(f.ref_paced_q),
                     str(f.ref_fusion), str(f.ref_fusion_q), _f(f.paced_q_pct),
                     str(f.ref_other), str(f.ref_other_q), _f(f.other_q_pct, 2)])  # fmt: skip
    return rows


def _split(result: PacingBenchResult) -> tuple[list[PacedFigures], list[PacedFigures]]:
    paced = [f for r, f in result.figures.items() if r in PACED_MITDB_RECORDS]
    other = [f for r, f in result.figures.items() if r not in PACED_MITDB_RECORDS]
    return paced, other


def _gross_rows(result: PacingBenchResult) -> list[list[str]]:
    return [[k, str(len(g.records)), _f(g.gross.veb_se_pct, 2), _f(g.gross.veb_ppv_pct, 2),
             _f(g.gross.sveb_se_pct, 2), _f(g.gross.sveb_ppv_pct, 2)]
            for k, g in result.gross.items()]  # fmt: skip


GROSS_HEADER = ["records", "n", "VEB Se", "VEB +P", "SVEB Se", "SVEB +P"]


def pacing_text(result: PacingBenchResult) -> str:
    from benchmarks._report import text_table

    paced, other = _split(result)
    out = []
    if paced:
        out.append(text_table(PACED_HEADER, paced_rows(paced)))
    if other:
        n = sum(f.paced_by_detector for f in other)
        hit = [f"{f.record} ({f.paced_by_detector})" for f in other if f.paced_by_detector]
        out.append(f"{len(other)} non-paced records: {n} of {sum(f.beats for f in other)} beats "
                   f"called paced" + (f": {', '.join(hit)}" if hit else ""))
        out.append(text_table(GROSS_HEADER, _gross_rows(result)))
    return "\n".join(out)


def pacing_markdown(result: PacingBenchResult, machine: dict, command: str) -> str:
    from benchmarks._report import _machine_lines, markdown_table
    from dsp import PacingConfig

    paced, other = _split(result)
    n_other = sum(f.paced_by_detector for f in other)
    hit = [f"{f.record} ({f.paced_by_detector})" for f in other if f.paced_by_detector]
    lines = [
        "# Paced beats labelled Q (MIT-BIH)",
        "",
        f"Command: `{command}`",
        "",
        "Each record runs through what `holter detect` runs (streaming QRS detector, features, "
        "TFLite classifier, and `dsp.PacingDetector`, which turns the label of every beat it "
        "finds paced into Q; 60-s chunks). Our beats are paired with the reference one to one "
        "within 150 ms (bxb's rule) over the whole record; a reference beat we did not detect "
        "counts as not labelled Q. MIT-BIH '/' (paced) and 'f' (fusion of paced and normal) "
        "are AAMI class Q. The detector's settings were chosen on these same records (the "
        "paced records are in no training set; there is no held-out paced data here).",
        "",
        "## Paced records",
        "",
        markdown_table(PACED_HEADER, paced_rows(paced)) if paced else "(not run)",
        "",
        "## The 44 non-paced records",
        "",
        f"Beats the pacing detector calls paced: **{n_other}** of {sum(f.beats for f in other):,} "
        f"in {len(other)} records" + (f" ({', '.join(hit)})" if hit else "") + ". "
        "A beat it does not call paced keeps the classifier's label, so "
        + ("the VEB / SVEB statistics are those of the classifier alone:"
           if n_other == 0 else "these beats moved from the classifier's label to Q:"),
        "",
        markdown_table(GROSS_HEADER, _gross_rows(result)) if result.gross else "(not run)",
        "",
        f"Detector settings: `{asdict(PacingConfig())}`",
        "",
    ]
    lines += _machine_lines(machine)
    return "\n".join(lines)


def pacing_json(result: PacingBenchResult, machine: dict) -> dict:
    from benchmarks._beats_report import _clean
    from dsp import PacingConfig

    paced, other = _split(result)
    return _clean({
        "records": {r: {**asdict(f), "paced_q_pct": f.paced_q_pct, "other_q_pct": f.other_q_pct}
                    for r, f in result.figures.items()},
        "paced_total": asdict(_sum(paced, "all paced")) if paced else None,
        "non_paced_beats_called_paced": sum(f.paced_by_detector for f in other),
        "gross": {k: g.gross.as_dict() for k, g in result.gross.items()},
        "config": asdict(PacingConfig()),
        "machine": machine,
    })  # fmt: skip
