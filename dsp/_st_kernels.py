"""Numba kernels of the ST measurement (dsp/_st.py holds the rules and the wrappers).

Pure functions on contiguous arrays and scalars, all lengths in samples; each
is checked against a NumPy reference in tests/dsp/naive_st.py.
"""

from __future__ import annotations

import math

import numpy as np

from dsp._numba_config import njit


@njit
def _st_fiducials_kernel(x, r_peaks, j_given, fs_hz, qrs_fraction, j_fraction, h, iso_w, iso_search,
                         iso_gap, iso_max_range, point_half, fast_rr, min_rr, next_guard,
                         sat_run):
    """Per beat: onset, J, measurement point; per beat and lead: knot level and point level.

    x: (n, n_leads) ECG in mV; r_peaks (n_beats,) int64 sorted; j_given (n_beats,)
    int64, >= 0 to impose the J point. All lengths in samples. Returns onset, j,
    point (int64, -1 = none), knot_t (float64, NaN = none), knot (n_beats, n_leads),
    level (n_beats, n_leads), NaN where not measurable.
    """
    n, n_leads = x.shape
    nb = r_peaks.shape[0]
    onset = np.full(nb, -1, np.int64)
    jpt = np.full(nb, -1, np.int64)
    point = np.full(nb, -1, np.int64)
    knot_t = np.full(nb, np.nan)
    knot = np.full((nb, n_leads), np.nan)
    level = np.full((nb, n_leads), np.nan)
    ms = fs_hz / 1000.0
    lo_q = int(140 * ms)
    hi_q = int(160 * ms)
    w60 = int(60 * ms)
    sat_win = int(40 * ms)
    env = np.zeros(lo_q + hi_q + 1)
    for b in range(nb):
        r = r_peaks[b]
        lo = r - lo_q
        hi = r + hi_q
        if lo - iso_search - iso_w - h < 0 or hi + h >= n:
            continue
        # slope envelope around R
        for i in range(lo, hi + 1):
            s = 0.0
            for lead in range(n_leads):
                d = x[i + h, lead] - x[i - h, lead]
                if d == d:
                    s += d * d
            env[i - lo] = math.sqrt(s)
        big_b = r
        big_a = r
        for k in range(r, r - w60 - 1, -1):
            if env[k - lo] > env[big_b - lo]:
                big_b = k
        for k in range(r, r + w60 + 1):
            if env[k - lo] > env[big_a - lo]:
                big_a = k
        peak = max(env[big_b - lo], env[big_a - lo])
        if not peak > 0.0:
            continue
        th = qrs_fraction * peak
        j_th = j_fraction * peak
        i = big_b
        while i > lo and env[i - lo] >= th:
            i -= 1
        onset[b] = i
        if j_given[b] >= 0:
            jj = j_given[b]
        else:
            i = big_a
            while i < hi and env[i - lo] >= th:
                # the end of the QRS slope: a local minimum of the envelope under
                # j_local_fraction of the peak (an ST shift keeps it above th)
                if env[i - lo] < j_th and env[i - lo] <= env[i - lo - 1] and env[i - lo] < env[i - lo + 1]:
                    break
                i += 1
            jj = i
        jpt[b] = jj
        # measurement point: J + 60 ms above 120 bpm, else J + 80 ms
        if b > 0:
            rr = r - r_peaks[b - 1]
        elif b + 1 < nb:
            rr = r_peaks[b + 1] - r
        else:
            rr = -1
        if rr < 0:
            continue
        pt = jj + (int(round(60 * ms)) if rr < fast_rr else int(round(80 * ms)))
        if pt + point_half >= n:
            continue
        point[b] = pt
        if b > 0 and rr < min_rr:
            continue
        if b + 1 < nb and pt > r_peaks[b + 1] - next_guard:
            continue
        # flattest PR window (summed range over leads) ending iso_gap..iso_search before onset
        best = 1e300
        best_s = -1
        for e in range(onset[b] - iso_search, onset[b] - iso_gap + 1):
            s0 = e - iso_w + 1
            if s0 < 0:
                continue
            tot = 0.0
            ok = True
            for lead in range(n_leads):
                mn = x[s0, lead]
                mx = mn
                for k in range(s0, e + 1):
                    v = x[k, lead]
                    if not math.isfinite(v):
                        ok = False
                        break
                    if v < mn:
                        mn = v
                    if v > mx:
                        mx = v
                if not ok:
                    break
                tot += mx - mn
            if ok and tot < best:
                best = tot
                best_s = s0
        if best_s < 0:
            # a non-finite sample in every window: fall back to the last window, per lead
            best_s = onset[b] - iso_gap - iso_w + 1
        knot_t[b] = best_s + 0.5 * (iso_w - 1)
        for lead in range(n_leads):
            mn = 1e300
            mx = -1e300
            acc = 0.0
            for k in range(best_s, best_s + iso_w):
                v = x[k, lead]
                acc += v
                if v < mn:
                    mn = v
                if v > mx:
                    mx = v
            if not (mx - mn <= iso_max_range):  # also false for NaN
                continue
            # every sample from the knot to the point must be finite
            good = True
            for k in range(best_s, pt + point_half + 1):
                if not math.isfinite(x[k, lead]):
                    good = False
                    break
            if not good:
                continue
            # saturation: a run of equal samples near R
            run = 1
            for k in range(r - sat_win + 1, r + sat_win + 1):
                if x[k, lead] == x[k - 1, lead]:
                    run += 1
                    if run >= sat_run:
                        good = False
                        break
                else:
                    run = 1
            if not good:
                continue
            knot[b, lead] = acc / iso_w
            acc = 0.0
            for k in range(pt - point_half, pt + point_half + 1):
                acc += x[k, lead]
            level[b, lead] = acc / (2 * point_half + 1)
    return onset, jpt, point, knot_t, knot, level


@njit
def _baseline_at_kernel(knot_t, knot, point, level, max_slope):
    """ST = level - baseline at the point, the baseline a natural cubic spline through the knots.

    knot_t (n_beats,) knot times, samples (NaN = none); knot and level
    (n_beats, n_leads); point (n_beats,) int64 (-1 = none). Per lead, the
    spline runs through every finite knot (two knots: a line); beat b is
    measured only when its own knot and the next beat's are finite and the
    baseline slope between them, and from the previous beat's knot when that
    is finite, is at most ``max_slope`` (knot unit per sample). Returns
    (n_beats, n_leads), the unit of ``level``, NaN where not measurable.
    """
    nb, n_leads = level.shape
    out = np.full((nb, n_leads), np.nan)
    ts = np.empty(nb)
    ys = np.empty(nb)
    m2 = np.zeros(nb)
    cp = np.empty(nb)
    dp = np.empty(nb)
    for lead in range(n_leads):
        m = 0
        for b in range(nb):
            if math.isfinite(knot_t[b]) and math.isfinite(knot[b, lead]):
                ts[m] = knot_t[b]
                ys[m] = knot[b, lead]
                m += 1
        if m < 2:
            continue
        # natural spline: second derivatives m2[1..m-2] by the Thomas algorithm
        for i in range(m):
            m2[i] = 0.0
        if m > 2:
            for i in range(1, m - 1):
                h0 = ts[i] - ts[i - 1]
                h1 = ts[i + 1] - ts[i]
                a = h0
                bb = 2.0 * (h0 + h1)
                c = h1
                d = 6.0 * ((ys[i + 1] - ys[i]) / h1 - (ys[i] - ys[i - 1]) / h0)
                if i == 1:
                    cp[i] = c / bb
                    dp[i] = d / bb
                else:
                    den = bb - a * cp[i - 1]
                    cp[i] = c / den
                    dp[i] = (d - a * dp[i - 1]) / den
            m2[m - 2] = dp[m - 2]
            for i in range(m - 3, 0, -1):
                m2[i] = dp[i] - cp[i] * m2[i + 1]
        for b in range(nb - 1):
            if point[b] < 0 or not (math.isfinite(level[b, lead]) and math.isfinite(knot[b, lead])
                                    and math.isfinite(knot[b + 1, lead])
                                    and math.isfinite(knot_t[b]) and math.isfinite(knot_t[b + 1])):
                continue
            if abs(knot[b + 1, lead] - knot[b, lead]) > max_slope * (knot_t[b + 1] - knot_t[b]):
                continue
            if b > 0 and math.isfinite(knot[b - 1, lead]) and math.isfinite(knot_t[b - 1]) and \
                    abs(knot[b, lead] - knot[b - 1, lead]) > max_slope * (knot_t[b] - knot_t[b - 1]):
                continue
            t = float(point[b])
            # the interval holding t (clamped to the knots' range)
            i = np.searchsorted(ts[:m], t) - 1
            if i < 0:
                i = 0
            if i > m - 2:
                i = m - 2
            h = ts[i + 1] - ts[i]
            u0 = ts[i + 1] - t
            u1 = t - ts[i]
            base = (m2[i] * u0 * u0 * u0 + m2[i + 1] * u1 * u1 * u1) / (6.0 * h) \
                + (ys[i] / h - m2[i] * h / 6.0) * u0 + (ys[i + 1] / h - m2[i + 1] * h / 6.0) * u1
            out[b, lead] = level[b, lead] - base
    return out


@njit
def _running_median_kernel(t, values, half, min_fraction):
    """Median of the finite values of beats within ``half`` (same unit as t) of each beat.

    t: (n_beats,) sorted; values: (n_beats, n_leads). NaN where a beat's own
    value is not finite or fewer than ``min_fraction`` of the beats in its
    window have a finite value.
    """
    nb, n_leads = values.shape
    out = np.full((nb, n_leads), np.nan)
    buf = np.empty(nb)
    lo = 0
    hi = 0
    for b in range(nb):
        while t[lo] < t[b] - half:
            lo += 1
        while hi < nb and t[hi] <= t[b] + half:
            hi += 1
        for lead in range(n_leads):
            if not math.isfinite(values[b, lead]):
                continue
            m = 0
            for k in range(lo, hi):
                v = values[k, lead]
                if math.isfinite(v):
                    buf[m] = v
                    m += 1
            if m == 0 or m < min_fraction * (hi - lo):
                continue
            s = np.sort(buf[:m])
            if m % 2 == 1:
                out[b, lead] = s[m // 2]
            else:
                out[b, lead] = 0.5 * (s[m // 2 - 1] + s[m // 2])
    return out


@njit
def _runs_kernel(t, above, merge_gap, min_duration):
    """Runs of True in ``above`` (beats at times ``t``), gaps < merge_gap merged, >= min_duration kept.

    Returns (first beat, last beat) index arrays. A run's duration is
    t[last] - t[first]; a gap is t[next first] - t[last].
    """
    nb = above.shape[0]
    starts = np.empty(nb, np.int64)
    ends = np.empty(nb, np.int64)
    m = 0
    b = 0
    while b < nb:
        if not above[b]:
            b += 1
            continue
        s = b
        while b + 1 < nb and above[b + 1]:
            b += 1
        if m > 0 and t[s] - t[ends[m - 1]] < merge_gap:
            ends[m - 1] = b
        else:
            starts[m] = s
            ends[m] = b
            m += 1
        b += 1
    keep_s = np.empty(m, np.int64)
    keep_e = np.empty(m, np.int64)
    k = 0
    for i in range(m):
        if t[ends[i]] - t[starts[i]] >= min_duration:
            keep_s[k] = starts[i]
            keep_e[k] = ends[i]
            k += 1
    return keep_s[:k], keep_e[:k]
