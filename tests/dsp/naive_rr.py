"""Slow, obviously-correct references for the RR-interval kernels, written from the papers."""

from __future__ import annotations

import numpy as np


def lomb_naive(t, y, freqs):
    """Lomb (1976), term by term: tau from tan(2 w tau) = sum sin 2wt / sum cos 2wt."""
    t = np.asarray(t, dtype=float)
    y = np.asarray(y, dtype=float)
    out = []
    for f in freqs:
        w = 2 * np.pi * f
        tau = np.arctan2(np.sum(np.sin(2 * w * t)), np.sum(np.cos(2 * w * t))) / (2 * w)
        c = np.cos(w * (t - tau))
        s = np.sin(w * (t - tau))
        cc, ss = np.sum(c * c), np.sum(s * s)
        p = 0.0
        if cc > 1e-12 * max(len(t), 1):
            p += np.sum(y * c) ** 2 / cc
        elif np.isnan(np.sum(y * c)):
            p = np.nan
        if ss > 1e-12 * max(len(t), 1):
            p += np.sum(y * s) ** 2 / ss
        elif np.isnan(np.sum(y * s)):
            p = np.nan
        out.append(0.5 * p)
    return np.array(out)


def prsa_naive(rr, ok, max_change_frac, decelerations):
    """Bauer et al. 2006: anchors, then the averages X(-2), X(-1), X(0), X(1)."""
    anchors = []
    for i in range(len(rr)):
        if i < 2 or i + 1 >= len(rr):
            continue
        if not all(ok[i - 2 : i + 2]):
            continue
        change = rr[i] - rr[i - 1]
        if decelerations and 0 < change <= max_change_frac * rr[i - 1]:
            anchors.append(i)
        if not decelerations and 0 < -change <= max_change_frac * rr[i - 1]:
            anchors.append(i)
    if not anchors:
        return np.zeros(4), 0
    windows = np.array([[rr[i - 2], rr[i - 1], rr[i], rr[i + 1]] for i in anchors])
    return windows.sum(axis=0), len(anchors)


def hrt_naive(rr, nn_ok, codes, code_v, n_pre=5, n_post=15):
    """Schmidt et al. 1999 with the Bauer et al. 2008 filters, one VPC at a time."""
    onsets, posts, n_vpc = [], [], 0
    for j, code in enumerate(codes):
        if code != code_v:
            continue
        n_vpc += 1
        if j - 1 - n_pre < 0 or j + n_post > len(rr) - 1:
            continue
        pre = list(range(j - 1 - n_pre, j - 1))
        post = list(range(j + 1, j + 1 + n_post))
        ref = np.mean([rr[k] for k in pre])
        sinus_ok = True
        for run in (pre, post):
            for m, k in enumerate(run):
                r = rr[k]
                if not (nn_ok[k] and 300 <= r <= 2000 and abs(r - ref) <= 0.2 * ref):
                    sinus_ok = False
                if m > 0 and not abs(r - rr[run[m - 1]]) <= 200:
                    sinus_ok = False
        if not sinus_ok:
            continue
        if not (rr[j - 1] <= 0.8 * ref and rr[j] >= 1.2 * ref):
            continue
        rr_m2, rr_m1 = rr[j - 3], rr[j - 2]
        rr_1, rr_2 = rr[j + 1], rr[j + 2]
        onsets.append(((rr_1 + rr_2) - (rr_m2 + rr_m1)) / (rr_m2 + rr_m1) * 100)
        posts.append([rr[k] for k in post])
    return np.array(onsets), np.array(posts).reshape(-1, n_post), n_vpc


def max_slope_naive(tachogram, window=5):
    """Largest least-squares slope over any `window` consecutive points (np.polyfit)."""
    x = np.arange(window)
    return max(
        np.polyfit(x, tachogram[k : k + window], 1)[0]
        for k in range(len(tachogram) - window + 1)
    )
