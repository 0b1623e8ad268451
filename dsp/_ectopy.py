"""Ectopy and pauses from labelled beats: burdens, couplets, ventricular runs, pauses.

A ventricular run is 3 or more consecutive V beats. It is ventricular
tachycardia when its rate exceeds 100 bpm: non-sustained (NSVT) when it lasts
less than 30 s, sustained otherwise (ACC/AHA/ESC 2006 guidelines for
ventricular arrhythmias). Slower runs are counted apart (idioventricular).
A pause is an RR interval of at least ``pause_s`` between two beats of any
class, not spanning a noise marker.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dsp._exceptions import InvalidParameterError
from dsp._rr import BEAT_CLASSES, CODE_V, RrSeries

__all__ = ["EctopySummary", "VentricularRun", "ectopy_summary"]

VT_RATE_BPM = 100.0
SUSTAINED_S = 30.0
DEFAULT_PAUSE_S = 2.0

@dataclass(frozen=True)
class VentricularRun:
    """Three or more consecutive V beats."""

    start_s: float
    n_beats: int
    duration_s: float  # first to last beat of the run
    rate_bpm: float

@dataclass(frozen=True)
class EctopySummary:
    """Counts and burdens of ectopic beats, ventricular runs and pauses of a record."""

    n_beats: int
    counts: dict[str, int]  # beat class -> count
    v_burden_pct: float  # V beats over all beats
    a_burden_pct: float
    n_v_couplets: int
    runs: tuple[VentricularRun, ...]
    n_nsvt: int
    n_sustained_vt: int
    longest_vt_beats: int
    pause_threshold_s: float
    n_pauses: int
    longest_pause_s: float  # longest usable RR interval, s (NaN with < 2 beats)
    longest_pause_at_s: float  # time of the beat that ends it

def _runs_of(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start indices and lengths of the runs of True in `mask`."""
    padded = np.concatenate(([False], mask, [False])).astype(np.int8)
    edges = np.diff(padded)
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    return starts, ends - starts

def ectopy_summary(rr: RrSeries, *, pause_s: float = DEFAULT_PAUSE_S) -> EctopySummary:
    """Ectopy, ventricular runs and pauses of `rr`.

    Parameters
    ----------
    rr : RrSeries
        From :func:`dsp.rr_series`.
    pause_s : float
        Shortest RR interval counted as a pause, s (default 2.0).
    """
    if not pause_s > 0:
        raise InvalidParameterError(f"pause_s must be positive; got {pause_s}")
    codes = rr.beat_code
    n = rr.n_beats
    counts = {name: int(c) for name, c in zip(BEAT_CLASSES, np.bincount(codes, minlength=5), strict=True)}
    starts, lengths = _runs_of(codes == CODE_V)
    runs = []
    for s, length in zip(starts, lengths, strict=True):
        if length < 3:
            continue
        t = rr.beat_time_s[s : s + length]
        dur = float(t[-1] - t[0])
        runs.append(
            VentricularRun(
                start_s=float(t[0]),
                n_beats=int(length),
                duration_s=dur,
                rate_bpm=(length - 1) / dur * 60.0 if dur > 0 else math.inf,
            )
        )
    vt = [r for r in runs if r.rate_bpm > VT_RATE_BPM]
    usable_rr = np.where(rr.usable_mask, rr.rr_ms, -np.inf)
    if usable_rr.shape[0] and np.isfinite(usable_rr).any():
        k = int(np.argmax(usable_rr))
        longest, longest_at = float(usable_rr[k] / 1000.0), float(rr.rr_time_s[k])
    else:
        longest, longest_at = math.nan, math.nan
    return EctopySummary(
        n_beats=n,
        counts=counts,
        v_burden_pct=100.0 * counts["V"] / n if n else math.nan,
        a_burden_pct=100.0 * counts["A"] / n if n else math.nan,
        n_v_couplets=int(np.count_nonzero(lengths == 2)),
        runs=tuple(runs),
        n_nsvt=sum(1 for r in vt if r.duration_s < SUSTAINED_S),
        n_sustained_vt=sum(1 for r in vt if r.duration_s >= SUSTAINED_S),
        longest_vt_beats=max((r.n_beats for r in vt), default=0),
        pause_threshold_s=float(pause_s),
        n_pauses=int(np.count_nonzero(usable_rr >= pause_s * 1000.0)),
        longest_pause_s=longest,
        longest_pause_at_s=longest_at,
    )

