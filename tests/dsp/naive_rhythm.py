"""Slow, obviously-correct references for the rhythm kernels (dsp/_rhythm.py, dsp/_rhythm_af.py)."""

from __future__ import annotations

import numpy as np


def grouped_median(values, group, half, min_count):
    """Median of the non-NaN values within ``half`` positions that share the group."""
    out = []
    for i in range(len(values)):
        v = [
            values[j]
            for j in range(len(values))
            if abs(j - i) <= half and group[j] == group[i] and not np.isnan(values[j])
        ]
        out.append(float(np.median(v)) if len(v) >= max(min_count, 1) else np.nan)
    return np.array(out, dtype=float)


def hysteresis(values, breaks, on, off):
    """Two-threshold state machine, written out: off at NaN or a break."""
    out = []
    state = False
    for v, b in zip(values, breaks, strict=True):
        if b or np.isnan(v):
            state = False
        elif not state and v >= on:
            state = True
        elif state and v < off:
            state = False
        out.append(state)
    return np.array(out, dtype=bool)


def allorhythmia(code, period, min_cycles, seg, v_code=2):
    """Bigeminy (period 2) / trigeminy (period 3) runs by walking the beats one by one."""
    v = [i for i, c in enumerate(code) if c == v_code]
    out = []
    i = 0
    while i < len(v):
        j = i
        while j + 1 < len(v) and v[j + 1] - v[j] == period and seg[v[j]] == seg[v[j + 1]] >= 0:
            j += 1
        if j - i >= min_cycles and v[i] - period + 1 >= 0:
            a = v[i] - (period - 1)
            clean = seg[a] == seg[v[i]] and all(code[k] != v_code for k in range(a, v[i]))
            out.append((a, v[j]) if clean else (v[i], v[j]))
        i = j + 1
    return out
