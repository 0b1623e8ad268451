"""Numba kernels of the RR-interval measures: Lomb periodogram, PRSA sums, HRT windows.

Pure functions on contiguous float64 / bool / uint8 arrays and scalars; the
wrappers in ``_hrv.py``, ``_prsa.py`` and ``_hrt.py`` validate inputs, own the
units and the defaults. Each kernel has a slow NumPy reference in the tests.
"""

from __future__ import annotations

import math

import numpy as np

from dsp._numba_config import njit

__all__ = ["hrt_kernel", "lomb_power", "prsa_sums"]


@njit
def lomb_power(t_s, y, f0_hz, df_hz, n_freqs):
    """Classic Lomb (1976) periodogram of `y` sampled at times `t_s`.

    At the frequencies ``f0_hz + k * df_hz``, ``k = 0 .. n_freqs - 1``:
    ``P(f) = 1/2 [ (sum y cos w(t - tau))^2 / sum cos^2 w(t - tau)
    + (sum y sin w(t - tau))^2 / sum sin^2 w(t - tau) ]`` with
    ``tan(2 w tau) = sum sin 2wt / sum cos 2wt`` and ``w = 2 pi f``. `y` is used
    as given (the caller removes its mean). ``cos wt`` and ``sin wt`` advance from
    one frequency to the next by rotation (Press & Rybicki), so the inner loop
    has no trigonometric call. A term whose denominator is 0 counts as 0 (empty
    input gives 0); NaN in `y` or `t_s` propagates.
    """
    n = t_s.shape[0]
    out = np.zeros(n_freqs)
    c = np.empty(n)
    s = np.empty(n)
    dc = np.empty(n)
    ds = np.empty(n)
    for i in range(n):
        c[i] = math.cos(2.0 * math.pi * f0_hz * t_s[i])
        s[i] = math.sin(2.0 * math.pi * f0_hz * t_s[i])
        dc[i] = math.cos(2.0 * math.pi * df_hz * t_s[i])
        ds[i] = math.sin(2.0 * math.pi * df_hz * t_s[i])
    for k in range(n_freqs):
        sum_c = 0.0  # sum cos 2wt = sum (c^2 - s^2)
        sum_s = 0.0  # sum sin 2wt = sum 2 s c
        yc = 0.0
        ys = 0.0
        for i in range(n):
            ci = c[i]
            si = s[i]
            sum_c += (ci - si) * (ci + si)
            sum_s += 2.0 * si * ci
            yc += y[i] * ci
            ys += y[i] * si
        # w tau from tan(2 w tau) = sum_s / sum_c; cos / sin of w tau by half angle
        hyp = math.hypot(sum_c, sum_s)
        if hyp > 0.0:
            cos2 = sum_c / hyp
            cwt = math.sqrt(0.5 * (1.0 + cos2))
            swt = math.copysign(math.sqrt(0.5 * (1.0 - cos2)), sum_s)
        elif hyp == 0.0:
            cwt = 1.0
            swt = 0.0
        else:  # NaN
            cwt = hyp
            swt = hyp
        # cos w(t - tau) = c cwt + s swt ; sin w(t - tau) = s cwt - c swt
        num_c = cwt * yc + swt * ys
        num_s = cwt * ys - swt * yc
        # sum cos^2 w(t - tau) = n/2 + (1/2) sum cos 2w(t - tau) = n/2 + hyp/2
        cc = 0.5 * n + 0.5 * hyp
        ss = 0.5 * n - 0.5 * hyp
        p = 0.0
        if cc > 1e-12 * n:
            p += num_c * num_c / cc
        elif num_c != num_c:
            p = num_c
        if ss > 1e-12 * n:
            p += num_s * num_s / ss
        elif num_s != num_s:
            p = num_s
        out[k] = 0.5 * p
        for i in range(n):
            ci = c[i]
            c[i] = ci * dc[i] - s[i] * ds[i]
            s[i] = s[i] * dc[i] + ci * ds[i]
    return out


@njit
def prsa_sums(rr_ms, ok, max_change_frac, decelerations):
    """Phase-rectified signal averaging sums around anchors (window L = 2).

    An anchor is interval ``i`` with ``rr[i] > rr[i-1]`` (decelerations) or
    ``rr[i] < rr[i-1]`` (accelerations), changed by at most `max_change_frac`
    of ``rr[i-1]``, whose window ``i-2 .. i+1`` is all `ok`. Returns the sums of
    ``rr[i-2], rr[i-1], rr[i], rr[i+1]`` over anchors (float64 (4,)) and the
    anchor count.
    """
    n = rr_ms.shape[0]
    sums = np.zeros(4)
    count = 0
    for i in range(2, n - 1):
        if not (ok[i - 2] and ok[i - 1] and ok[i] and ok[i + 1]):
            continue
        prev = rr_ms[i - 1]
        cur = rr_ms[i]
        if decelerations:
            if not (cur > prev and cur - prev <= max_change_frac * prev):
                continue
        else:
            if not (cur < prev and prev - cur <= max_change_frac * prev):
                continue
        sums[0] += rr_ms[i - 2]
        sums[1] += rr_ms[i - 1]
        sums[2] += rr_ms[i]
        sums[3] += rr_ms[i + 1]
        count += 1
    return sums, count


@njit
def hrt_kernel(
    rr_ms,
    nn_ok,
    beat_code,
    code_v,
    n_pre,
    n_post,
    min_rr_ms,
    max_rr_ms,
    max_step_ms,
    max_ref_dev_frac,
    max_coupling_frac,
    min_compensation_frac,
):
    """Heart-rate turbulence: qualifying ventricular premature beats and their tachograms.

    Interval ``k`` ends at beat ``k + 1``. For a V beat ``j`` the coupling
    interval is ``rr[j-1]``, the compensatory pause ``rr[j]``, the sinus
    intervals before are ``rr[j-1-n_pre .. j-2]`` and after ``rr[j+1 .. j+n_post]``.
    A VPC qualifies when every sinus interval is NN (`nn_ok`), within
    [`min_rr_ms`, `max_rr_ms`], differs by at most `max_step_ms` from its
    predecessor in the same run and by at most `max_ref_dev_frac` from the
    reference (mean of the ``n_pre`` intervals before), the coupling interval is
    at most `max_coupling_frac` x reference and the pause at least
    `min_compensation_frac` x reference.

    Returns ``(onset_pct (n_used,), post (n_used, n_post), n_vpc)``: the
    turbulence onset of each qualifying VPC, its post-VPC sinus intervals, and
    the number of V beats seen.
    """
    n_rr = rr_ms.shape[0]
    n_beats = beat_code.shape[0]
    n_vpc = 0
    for j in range(n_beats):
        if beat_code[j] == code_v:
            n_vpc += 1
    onset = np.empty(n_vpc)
    post = np.empty((n_vpc, n_post))
    used = 0
    for j in range(n_beats):
        if beat_code[j] != code_v:
            continue
        lo = j - 1 - n_pre
        hi = j + n_post
        if lo < 0 or hi > n_rr - 1:
            continue
        ref = 0.0
        for k in range(lo, j - 1):
            ref += rr_ms[k]
        ref /= n_pre
        good = True
        for k in range(lo, hi + 1):
            if k == j - 1 or k == j:
                continue
            r = rr_ms[k]
            if not nn_ok[k] or not (r >= min_rr_ms and r <= max_rr_ms):
                good = False
                break
            if not (abs(r - ref) <= max_ref_dev_frac * ref):
                good = False
                break
            if k != lo and k != j + 1 and not (abs(r - rr_ms[k - 1]) <= max_step_ms):
                good = False
                break
        if not good:
            continue
        if not (
            rr_ms[j - 1] <= max_coupling_frac * ref and rr_ms[j] >= min_compensation_frac * ref
        ):
            continue
        before = rr_ms[j - 3] + rr_ms[j - 2]
        after = rr_ms[j + 1] + rr_ms[j + 2]
        onset[used] = (after - before) / before * 100.0
        for m in range(n_post):
            post[used, m] = rr_ms[j + 1 + m]
        used += 1
    return onset[:used].copy(), post[:used].copy(), n_vpc
