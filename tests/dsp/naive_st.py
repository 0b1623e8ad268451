"""Slow, obviously-correct references for the ST and QT kernels (STYLE rule 4).

Each follows the rule written in the kernel's docstring with NumPy / SciPy
building blocks (whole-array differences, sliding windows, CubicSpline,
nanmedian) instead of the kernels' index loops.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy.interpolate import CubicSpline


def st_fiducials_ref(x, r_peaks, j_given, fs_hz, qrs_fraction, j_fraction, h, iso_w, iso_search, iso_gap,
                     iso_max_range, point_half, fast_rr, min_rr, next_guard, sat_run):
    n, n_leads = x.shape
    nb = r_peaks.size
    onset = np.full(nb, -1, np.int64)
    jpt = np.full(nb, -1, np.int64)
    point = np.full(nb, -1, np.int64)
    knot_t = np.full(nb, np.nan)
    knot = np.full((nb, n_leads), np.nan)
    level = np.full((nb, n_leads), np.nan)
    ms = fs_hz / 1000.0
    lo_q, hi_q, w60, sat_win = int(140 * ms), int(160 * ms), int(60 * ms), int(40 * ms)
    # the slope envelope of the whole record (NaN differences count as 0)
    d = np.zeros_like(x)
    d[h : n - h] = x[2 * h :] - x[: n - 2 * h]
    env = np.sqrt(np.nansum(d * d, axis=1))
    for b, r in enumerate(r_peaks):
        lo, hi = r - lo_q, r + hi_q
        if lo - iso_search - iso_w - h < 0 or hi + h >= n:
            continue
        before = np.arange(r, r - w60 - 1, -1)
        after = np.arange(r, r + w60 + 1)
        big_b = before[np.argmax(env[before])]
        big_a = after[np.argmax(env[after])]
        peak = max(env[big_b], env[big_a])
        if not peak > 0:
            continue
        th = qrs_fraction * peak
        below = np.nonzero(env[lo : big_b + 1] < th)[0]
        onset[b] = lo + below[-1] if below.size else lo
        if j_given[b] >= 0:
            j = j_given[b]
        else:
            seg = np.arange(big_a, hi)
            local_min = (env[seg] < j_fraction * peak) & (env[seg] <= env[seg - 1]) & (env[seg] < env[seg + 1])
            stop = np.nonzero((env[seg] < th) | local_min)[0]
            j = big_a + stop[0] if stop.size else hi
        jpt[b] = j
        if b > 0:
            rr = r - r_peaks[b - 1]
        elif b + 1 < nb:
            rr = r_peaks[b + 1] - r
        else:
            continue
        pt = j + (int(round(60 * ms)) if rr < fast_rr else int(round(80 * ms)))
        if pt + point_half >= n:
            continue
        point[b] = pt
        if b > 0 and rr < min_rr:
            continue
        if b + 1 < nb and pt > r_peaks[b + 1] - next_guard:
            continue
        ends = np.arange(onset[b] - iso_search, onset[b] - iso_gap + 1)
        starts = ends - iso_w + 1
        wins = sliding_window_view(x, iso_w, axis=0)[starts]  # (n_windows, n_leads, iso_w)
        ranges = (wins.max(axis=2) - wins.min(axis=2)).sum(axis=1)
        if np.isfinite(ranges).any():
            s0 = starts[np.nanargmin(np.where(np.isfinite(ranges), ranges, np.inf))]
        else:
            s0 = onset[b] - iso_gap - iso_w + 1
        knot_t[b] = s0 + 0.5 * (iso_w - 1)
        for lead in range(n_leads):
            w = x[s0 : s0 + iso_w, lead]
            if not (w.max() - w.min() <= iso_max_range):
                continue
            if not np.isfinite(x[s0 : pt + point_half + 1, lead]).all():
                continue
            near = x[r - sat_win : r + sat_win + 1, lead]
            eq = np.concatenate([[False], near[1:] == near[:-1]])
            longest, cur = 1, 1
            for e in eq[1:]:
                cur = cur + 1 if e else 1
                longest = max(longest, cur)
            if longest >= sat_run:
                continue
            knot[b, lead] = w.mean()
            level[b, lead] = x[pt - point_half : pt + point_half + 1, lead].mean()
    return onset, jpt, point, knot_t, knot, level


def baseline_at_ref(knot_t, knot, point, level, max_slope):
    nb, n_leads = level.shape
    out = np.full((nb, n_leads), np.nan)
    for lead in range(n_leads):
        ok = np.isfinite(knot_t) & np.isfinite(knot[:, lead])
        if ok.sum() < 2:
            continue
        spline = CubicSpline(knot_t[ok], knot[ok, lead], bc_type="natural")
        for b in range(nb - 1):
            if point[b] < 0 or not (ok[b] and ok[b + 1] and np.isfinite(level[b, lead])):
                continue
            slopes = [abs(knot[b + 1, lead] - knot[b, lead]) / (knot_t[b + 1] - knot_t[b])]
            if b > 0 and ok[b - 1]:
                slopes.append(abs(knot[b, lead] - knot[b - 1, lead]) / (knot_t[b] - knot_t[b - 1]))
            if max(slopes) <= max_slope:
                out[b, lead] = level[b, lead] - spline(float(point[b]))
    return out


def running_median_ref(t, values, half, min_fraction):
    out = np.full(values.shape, np.nan)
    for b in range(t.size):
        near = np.abs(t - t[b]) <= half
        for lead in range(values.shape[1]):
            v = values[near, lead]
            v = v[np.isfinite(v)]
            if np.isfinite(values[b, lead]) and v.size >= 1 and v.size >= min_fraction * near.sum():
                out[b, lead] = np.median(v)
    return out


def runs_ref(t, above, merge_gap, min_duration):
    runs = []
    b = 0
    while b < above.size:
        if above[b]:
            s = b
            while b + 1 < above.size and above[b + 1]:
                b += 1
            runs.append([s, b])
        b += 1
    merged = []
    for s, e in runs:
        if merged and t[s] - t[merged[-1][1]] < merge_gap:
            merged[-1][1] = e
        else:
            merged.append([s, e])
    kept = [(s, e) for s, e in merged if t[e] - t[s] >= min_duration]
    return (np.array([s for s, _ in kept], np.int64), np.array([e for _, e in kept], np.int64))


def qt_ref(r_peaks, qrs_onset, t_end, fs_hz, qt_lo, qt_hi, rr_lo, rr_hi):
    r = r_peaks.astype(np.float64)
    rr = np.full(r.size, np.nan)
    rr[1:] = np.diff(r) * 1000.0 / fs_hz
    rr[(rr < rr_lo) | (rr > rr_hi)] = np.nan
    with np.errstate(invalid="ignore"):
        qt = np.where((qrs_onset >= 0) & (t_end > qrs_onset), (t_end - qrs_onset) * 1000.0 / fs_hz, np.nan)
        qt[(qt < qt_lo) | (qt > qt_hi)] = np.nan
    both = np.isfinite(qt) & np.isfinite(rr)
    qtb = np.where(both, qt / np.sqrt(rr / 1000.0), np.nan)
    qtf = np.where(both, qt / np.cbrt(rr / 1000.0), np.nan)
    return qt, rr, qtb, qtf
