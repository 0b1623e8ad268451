"""Slow, obviously-correct NumPy reference of :func:`dsp._pacing.spike_scan`.

Written from the module's description, one candidate at a time with NumPy
slices, so a kernel that drifts from it fails the comparison tests.
"""

from __future__ import annotations

import numpy as np

from dsp import _pacing as P


def naive_spike(x: np.ndarray, t: int, sign: float, p: np.ndarray) -> float:
    """Prominence of a spike of polarity ``sign`` peaking at ``t`` of one lead ``x``, or 0."""
    n = x.size
    side, pre_far, post_far = int(p[P.SP_SIDE]), int(p[P.SP_PRE_FAR]), int(p[P.SP_POST_FAR])
    if t - max(side, pre_far) < 0 or t + max(side, post_far) >= n:
        return 0.0
    y = sign * x
    around = y[t - side : t + side + 1]
    if np.isnan(around).any():
        return 0.0
    if not (y[t] >= y[t - 1] and y[t] > y[t + 1]):  # a peak (plateau: its last sample)
        return 0.0
    prom = min(y[t] - y[t - side : t].min(), y[t] - y[t + 1 : t + side + 1].min())
    if prom < p[P.SP_MIN_PROM]:
        return 0.0
    half = y[t] - prom / 2
    i = max(k for k in range(t - side, t) if y[k] <= half)  # last sample at or below half
    left = i + (half - y[i]) / (y[i + 1] - y[i])
    j = min(k for k in range(t + 1, t + side + 1) if y[k] <= half)
    right = (j - 1) + (y[j - 1] - half) / (y[j - 1] - y[j])
    if right - left > p[P.SP_MAX_WIDTH]:
        return 0.0

    def span(lo: int, hi: int) -> float:
        seg = x[lo : hi + 1]
        return np.nan if np.isnan(seg).any() else float(seg.max() - seg.min())

    pre = span(t - pre_far, t - int(p[P.SP_PRE_NEAR]))
    if not pre <= p[P.SP_PRE_RATIO] * prom:
        return 0.0
    post = span(t + int(p[P.SP_POST_NEAR]), t + post_far)
    if not post >= p[P.SP_POST_RATIO] * prom:
        return 0.0
    whole = span(t - side, t + post_far)
    if not prom >= p[P.SP_MIN_SHARE] * whole:
        return 0.0
    return float(prom)


def naive_spike_scan(x: np.ndarray, centers: np.ndarray, p: np.ndarray):
    """(prominence, position) of the strongest spike near each center, every lead."""
    before, after = int(p[P.SP_SEARCH_BEFORE]), int(p[P.SP_SEARCH_AFTER])
    n = x.shape[1]
    prom = np.zeros(centers.size)
    pos = np.full(centers.size, -1, np.int64)
    for b, c in enumerate(centers.tolist()):
        for lead in range(x.shape[0]):
            for t in range(max(c - before, 0), min(c + after, n - 1) + 1):
                for sign in (1.0, -1.0):
                    v = naive_spike(x[lead], t, sign, p)
                    if v > prom[b]:
                        prom[b], pos[b] = v, t
    return prom, pos


def naive_paced_pattern(has, recent, since: int, pattern_min: int, hold_beats: int):
    """The patient's paced state beat by beat (appends to ``recent``, a bounded deque)."""
    active = np.zeros(len(has), bool)
    for i, flag in enumerate(has):
        recent.append(bool(flag))
        since = 0 if sum(recent) >= pattern_min else since + 1
        active[i] = since < hold_beats
    return active, since
