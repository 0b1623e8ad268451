"""Rhythm statistics in the style of EC57's ``epic`` (AF) and ``rxr`` (ventricular runs).

AF (``epic`` style, EC57 section 4.4): reference AF episodes are the stretches
from a ``'+'`` annotation with aux note ``(AFIB`` to the next rhythm change
(or the end of the record). Only the scored period counts (from ``start_s``,
5 minutes, as for beats; episodes are clipped to it).

* episode sensitivity: reference episodes overlapped by any test episode /
  reference episodes; episode positive predictivity: test episodes
  overlapping any reference episode / test episodes (any overlap counts);
* duration sensitivity: overlap time / reference AF time; duration positive
  predictivity: overlap time / test AF time.

Ventricular runs (``rxr`` style): a run is a sequence of consecutive
ventricular beats (AAMI V: V, E, r) with no other beat between; couplets have
2 beats, short runs 3-5, long runs 6 or more. A reference run counts as
detected when a test run of the same kind overlaps it (first beat - 150 ms to
last beat + 150 ms); a test run is a true positive when it overlaps a
reference run of the same kind. (WFDB ``rxr`` matches runs beat by beat with
bxb's matching; this overlap rule is simpler and close to it.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

RUN_KINDS = ("couplet", "short_run", "long_run")
V_SYMBOLS = frozenset("VEr")
_BEATS = frozenset("NLRBAaJSVrFejnE/fQ?")


def reference_episodes(record_path: Path, aux: str = "(AFIB") -> tuple[np.ndarray, float, int]:
    """Reference episodes ``[start, end)`` (samples) of one rhythm, fs, record length."""
    import wfdb

    ann = wfdb.rdann(str(record_path), "atr")
    header = wfdb.rdheader(str(record_path))
    n = int(header.sig_len)
    out = []
    start = None
    for s, sym, note in zip(ann.sample, ann.symbol, ann.aux_note, strict=True):
        if sym != "+":
            continue
        note = (note or "").rstrip("\x00").strip()
        if start is not None:
            out.append((start, int(s)))
            start = None
        if note == aux:
            start = int(s)
    if start is not None:
        out.append((start, n))
    return np.asarray(out, np.int64).reshape(-1, 2), float(ann.fs), n


@dataclass(frozen=True)
class EpisodeCounts:
    """Episode and duration counts (sum over records for gross statistics)."""

    ref_episodes: int = 0
    ref_detected: int = 0
    test_episodes: int = 0
    test_true: int = 0
    ref_s: float = 0.0
    test_s: float = 0.0
    overlap_s: float = 0.0

    def __add__(self, other: EpisodeCounts) -> EpisodeCounts:
        return EpisodeCounts(*(a + b for a, b in zip(self.__dict__.values(), other.__dict__.values(), strict=True)))

    @staticmethod
    def _pct(a: float, b: float) -> float:
        return 100.0 * a / b if b > 0 else float("nan")

    @property
    def episode_se_pct(self) -> float:
        return self._pct(self.ref_detected, self.ref_episodes)

    @property
    def episode_ppv_pct(self) -> float:
        return self._pct(self.test_true, self.test_episodes)

    @property
    def duration_se_pct(self) -> float:
        return self._pct(self.overlap_s, self.ref_s)

    @property
    def duration_ppv_pct(self) -> float:
        return self._pct(self.overlap_s, self.test_s)

    def as_dict(self) -> dict:
        out = dict(self.__dict__)
        for k in ("episode_se_pct", "episode_ppv_pct", "duration_se_pct", "duration_ppv_pct"):
            v = getattr(self, k)
            out[k] = None if np.isnan(v) else round(v, 2)
        return out


def _clip(eps: np.ndarray, lo: int, hi: int) -> np.ndarray:
    e = np.clip(np.asarray(eps, np.int64).reshape(-1, 2), lo, hi)
    return e[e[:, 1] > e[:, 0]]


def _overlap(a: np.ndarray, b: np.ndarray) -> int:
    total = 0
    for s, e in a:
        for s2, e2 in b:
            total += max(0, min(e, e2) - max(s, s2))
    return total


def score_episodes(
    ref: np.ndarray, test: np.ndarray, fs_hz: float, n_samples: int, start_s: float = 300.0
) -> EpisodeCounts:
    """epic-style counts of one record (episodes ``[start, end)`` in samples)."""
    lo = int(round(start_s * fs_hz))
    r = _clip(ref, lo, n_samples)
    t = _clip(test, lo, n_samples)

    def hits(x, y):
        return sum(1 for s, e in x if any(min(e, e2) > max(s, s2) for s2, e2 in y))

    return EpisodeCounts(
        ref_episodes=len(r),
        ref_detected=hits(r, t),
        test_episodes=len(t),
        test_true=hits(t, r),
        ref_s=float(np.sum(r[:, 1] - r[:, 0])) / fs_hz,
        test_s=float(np.sum(t[:, 1] - t[:, 0])) / fs_hz,
        overlap_s=_overlap(r, t) / fs_hz,
    )


def ventricular_runs(samples: Sequence[int], symbols: Sequence[str]) -> dict[str, np.ndarray]:
    """Runs of consecutive ventricular beats by kind: ``[first, last]`` samples."""
    beats = [(int(s), sym) for s, sym in zip(samples, symbols, strict=True) if sym in _BEATS]
    out: dict[str, list] = {k: [] for k in RUN_KINDS}
    i = 0
    while i < len(beats):
        if beats[i][1] in V_SYMBOLS:
            j = i
            while j + 1 < len(beats) and beats[j + 1][1] in V_SYMBOLS:
                j += 1
            length = j - i + 1
            kind = None if length < 2 else "couplet" if length == 2 else "short_run" if length <= 5 else "long_run"
            if kind:
                out[kind].append((beats[i][0], beats[j][0]))
            i = j + 1
        else:
            i += 1
    return {k: np.asarray(v, np.int64).reshape(-1, 2) for k, v in out.items()}


@dataclass(frozen=True)
class RunCounts:
    ref: int = 0
    ref_detected: int = 0
    test: int = 0
    test_true: int = 0

    def __add__(self, other: RunCounts) -> RunCounts:
        return RunCounts(self.ref + other.ref, self.ref_detected + other.ref_detected,
                         self.test + other.test, self.test_true + other.test_true)

    @property
    def se_pct(self) -> float:
        return 100.0 * self.ref_detected / self.ref if self.ref else float("nan")

    @property
    def ppv_pct(self) -> float:
        return 100.0 * self.test_true / self.test if self.test else float("nan")


def score_runs(
    ref: dict[str, np.ndarray], test: dict[str, np.ndarray], fs_hz: float, start_s: float = 300.0,
    window_s: float = 0.15,
) -> dict[str, RunCounts]:
    """rxr-style counts per run kind for one record (runs starting before start_s are not scored)."""
    lo = start_s * fs_hz
    w = window_s * fs_hz
    out = {}
    for kind in RUN_KINDS:
        r = ref[kind][ref[kind][:, 0] >= lo] if ref[kind].size else ref[kind]
        t = test[kind][test[kind][:, 0] >= lo] if test[kind].size else test[kind]

        def hit(a, b):
            return sum(1 for s, e in a if any(s2 - w <= e and e2 + w >= s for s2, e2 in b))

        out[kind] = RunCounts(len(r), hit(r, t), len(t), hit(t, r))
    return out


#: Why a test run matched no reference run of its kind (see :func:`false_run_causes`).
RUN_FP_CAUSES = ("other_length", "extra_beat", "false_v")


def false_run_causes(
    ref_samples: Sequence[int], ref_symbols: Sequence[str], ref_runs: dict[str, np.ndarray],
    test_runs: dict[str, np.ndarray], test_samples: np.ndarray, fs_hz: float,
    start_s: float = 300.0, window_s: float = 0.15,
) -> dict[str, dict[str, int]]:
    """Each false test run (no reference run of its kind overlaps it) by its first cause.

    * ``other_length``: a reference run of another kind overlaps it (a run split or
      merged, or one beat more or less);
    * ``extra_beat``: one of its beats has no reference beat within ``window_s``
      (the QRS detector fired on noise or a T wave);
    * ``false_v``: every beat matches a reference beat and one is not ventricular
      (a classifier error).
    """
    lo, w = start_s * fs_hz, window_s * fs_hz
    beats = [(int(s), y) for s, y in zip(ref_samples, ref_symbols, strict=True) if y in _BEATS]
    rs = np.array([b[0] for b in beats], np.int64)
    out = {k: dict.fromkeys(RUN_FP_CAUSES, 0) for k in RUN_KINDS}

    def overlaps(s, e, runs):
        return any(s2 - w <= e and e2 + w >= s for s2, e2 in runs)

    for kind in RUN_KINDS:
        for s, e in test_runs[kind]:
            if s < lo or overlaps(s, e, ref_runs[kind]):
                continue
            if any(overlaps(s, e, ref_runs[k]) for k in RUN_KINDS if k != kind):
                out[kind]["other_length"] += 1
                continue
            i0, i1 = np.searchsorted(test_samples, [s, e])
            syms = []
            for b in test_samples[i0 : i1 + 1]:
                j = int(np.searchsorted(rs, b))
                near = [k for k in (j - 1, j) if 0 <= k < rs.size and abs(rs[k] - b) <= w]
                syms.append(beats[near[0]][1] if near else None)
            cause = "extra_beat" if None in syms else "false_v"
            out[kind][cause] += 1
    return out
