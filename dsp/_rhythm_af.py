"""Atrial fibrillation from the RR intervals of a labelled beat stream.

Used by :func:`dsp._rhythm.analyze_rhythm`; the thresholds live in
:class:`dsp._rhythm.RhythmConfig` (``af_*``).

The measure is the irregularity of the *NN chain*: the intervals whose two
beats are both supraventricular (N, or S where ``af_keep_s``), taken in order
within one noise-free segment, with every interval that touches a V, F or Q
beat left out. For each chain element k, two normalised differences

* ``d1 = |RR_k - RR_{k-1}| / mean(RR_k, RR_{k-1})`` (successive), and
* ``d2 = |RR_k - RR_{k-2}| / mean(RR_k, RR_{k-2})`` (every other interval)

are taken, each has its median over the ``af_window`` chain elements centred on
k, and the irregularity is the smaller of the two medians. In atrial
fibrillation consecutive intervals are independent, so both are large; in
sinus rhythm both are small; in atrial (or junctional) bigeminy and with
blocked premature beats the intervals alternate short-long, which makes d1
large but leaves d2 small. Medians over a window of ``af_window`` elements
ignore isolated premature beats (up to about one beat in six). The window
counts chain elements, not beats, so AF with many ventricular beats keeps a
full window; an interval touching a ventricular beat takes the irregularity
of the nearest chain element in its segment (at most ``af_window // 2``
intervals away), so AF is not cut at every ventricular ectopic.

Episodes: hysteresis (enter at ``af_on``, stay while ``af_off`` is reached),
gaps shorter than ``af_merge_s`` closed, episodes shorter than ``af_min_s``
dropped (judged before the edges are moved). The centred window blurs the edges by up to half a window, so each
edge is then moved to the boundary beat: within half a window of it, to the
point that best separates chain intervals whose own successive difference
reaches ``af_off`` (after an onset, before an offset) from those whose does not.
"""

from __future__ import annotations

import numpy as np

from dsp._numba_config import njit


@njit
def grouped_median(values, group, half, min_count):  # pragma: no cover
    """Median of the non-NaN ``values[j]``, ``|j - i| <= half``, ``group[j] == group[i]``.

    NaN where fewer than ``min_count`` values qualify (``min_count >= 1``).
    """
    n = values.size
    out = np.empty(n)
    buf = np.empty(2 * half + 1)
    for i in range(n):
        m = 0
        for j in range(max(0, i - half), min(n, i + half + 1)):
            if group[j] == group[i] and not np.isnan(values[j]):
                buf[m] = values[j]
                m += 1
        out[i] = np.median(buf[:m]) if m >= max(min_count, 1) else np.nan
    return out


@njit
def hysteresis(values, breaks, on, off):  # pragma: no cover
    """True from where ``values`` reaches ``on`` while it stays at or above ``off``.

    A NaN value or a True ``breaks[j]`` sets the state to False at j.
    """
    n = values.size
    out = np.zeros(n, np.bool_)
    state = False
    for j in range(n):
        v = values[j]
        if breaks[j] or np.isnan(v):
            state = False
        elif state:
            state = v >= off
        else:
            state = v >= on
        out[j] = state
    return out


def _lag_difference(x: np.ndarray, grp: np.ndarray, lag: int) -> np.ndarray:
    """``|x[k] - x[k-lag]| / mean`` where both lie in one group, else NaN."""
    d = np.full(x.size, np.nan)
    if x.size > lag:
        a, b = x[:-lag], x[lag:]
        same = grp[:-lag] == grp[lag:]
        d[lag:] = np.where(same, np.abs(b - a) / (0.5 * (a + b)), np.nan)
    return d


def af_irregularity(rr, iv_ok, code, window, keep_s=True, min_count=8):
    """Irregularity of each RR interval (NaN where undefined); see the module docstring.

    Parameters
    ----------
    rr : ndarray of float64
        RR intervals in seconds (interval j joins beats j and j + 1).
    iv_ok : ndarray of bool
        Usable intervals (no noise at or between their beats).
    code : ndarray of int64
        Beat class codes (0-4: N S V F Q).
    window : int
        Chain elements in the centred median window.
    keep_s : bool
        Whether intervals touching an S beat stay in the chain.
    min_count : int
        Fewest differences a window needs.

    Returns
    -------
    irregularity : ndarray of float64, shape rr.shape
    d1 : ndarray of float64, shape rr.shape
        Successive difference of each chain interval (NaN elsewhere).
    """
    m = rr.size
    irr = np.full(m, np.nan)
    d1_out = np.full(m, np.nan)
    if m < 2:
        return irr, d1_out
    sup = (code == 0) | ((code == 1) if keep_s else False)
    nn = iv_ok & sup[:-1] & sup[1:]
    idx = np.flatnonzero(nn)
    if idx.size < 2:
        return irr, d1_out
    seg_of_iv = np.cumsum(np.concatenate(([0], ~iv_ok[:-1])))  # segment id per interval
    grp = seg_of_iv[idx]
    x = rr[idx]
    d1 = _lag_difference(x, grp, 1)
    d2 = _lag_difference(x, grp, 2)
    half = window // 2
    m1 = grouped_median(d1, grp, half, min_count)
    m2 = grouped_median(d2, grp, half, min_count)
    chain_irr = np.minimum(m1, m2)  # NaN where either is
    d1_out[idx] = d1
    # every usable interval takes the value of the nearest chain element of its segment
    pos = np.arange(m)
    k = np.searchsorted(idx, pos)
    left = np.clip(k - 1, 0, idx.size - 1)
    right = np.clip(k, 0, idx.size - 1)
    dl = np.where(grp[left] == seg_of_iv, np.abs(pos - idx[left]), m + 1)
    dr = np.where(grp[right] == seg_of_iv, np.abs(idx[right] - pos), m + 1)
    near = np.where(dr < dl, right, left)
    dist = np.minimum(dl, dr)
    ok = iv_ok & (dist <= half)
    irr[ok] = chain_irr[near[ok]]
    return irr, d1_out


def p_wave_gate(irr, p_wave, code, seg, cfg):
    """The irregularity the episodes are found on, given the atrial activity.

    Parameters
    ----------
    irr : ndarray of float64
        Per interval, from :func:`af_irregularity`.
    p_wave : ndarray of float64
        Per beat, the P-wave similarity of :func:`dsp.p_wave_similarity` (NaN:
        not measured).
    code : ndarray of int64
        Beat class codes (0-4: N S V F Q); only N and S beats are looked at
        (a ventricular beat has no P wave of its own, in any rhythm).
    seg : ndarray of int64
        Segment id per beat (-1: noise).
    cfg : dsp._rhythm.RhythmConfig

    Returns
    -------
    ndarray of float64, shape irr.shape
        Interval j (beats j, j + 1) is judged by the median similarity of the
        supraventricular beats within ``af_window // 2`` beats of beat j + 1
        in its segment (at least ``af_p_min_beats`` of them): at or above
        ``af_p_present`` the P waves are there and the interval is not AF
        (irregularity 0); below it they are not and the interval must reach
        ``af_on_no_p`` instead of ``af_on`` (the irregularity is shifted by
        ``af_on - af_on_no_p``, ``af_off`` by as much); unmeasured, it is
        judged on RR alone.
    """
    out = np.array(irr, np.float64, copy=True)
    if out.size == 0:
        return out
    p = np.array(p_wave, np.float64, copy=True)
    p[~((code == 0) | (code == 1)) | (seg < 0)] = np.nan
    med = grouped_median(p, np.ascontiguousarray(seg, np.int64), cfg.af_window // 2,
                         cfg.af_p_min_beats)[1:]
    present = med >= cfg.af_p_present
    absent = med < cfg.af_p_present  # False where NaN
    out[present & ~np.isnan(out)] = 0.0
    out[absent] += cfg.af_on - cfg.af_on_no_p
    return out


def af_episodes(irr, d1, t_s, seg, cfg):
    """AF episodes as inclusive beat ranges ``(first, last)``.

    Parameters
    ----------
    irr, d1 : ndarray of float64
        Per interval, from :func:`af_irregularity`.
    t_s : ndarray of float64
        Beat times in seconds.
    seg : ndarray of int64
        Segment id per beat (-1: noise), see ``dsp._rhythm._segments``.
    cfg : dsp._rhythm.RhythmConfig
    """
    n = t_s.size
    if n < 2:
        return []
    breaks = (seg[1:] < 0) | (seg[:-1] != seg[1:])
    irr = np.ascontiguousarray(irr, np.float64)
    on = hysteresis(irr, breaks, float(cfg.af_on), float(cfg.af_off))
    runs = _true_runs(on)  # interval ranges [a, b)
    merged: list[list[int]] = []
    for a, b in runs:
        if merged and t_s[a] - t_s[merged[-1][1]] < cfg.af_merge_s and seg[a] == seg[merged[-1][1]]:
            merged[-1][1] = b
        else:
            merged.append([a, b])
    half = cfg.af_window // 2
    iv_seg = np.where(seg[:-1] == seg[1:], seg[:-1], -1)  # segment of each interval
    # +1 where a chain interval's own successive difference is AF-like, -1 where it is not
    vote = np.where(np.isnan(d1), 0, np.where(d1 >= cfg.af_off, 1, -1)).astype(np.int64)
    out: list[tuple[int, int]] = []
    for a, b in merged:  # intervals a..b-1 are AF
        if t_s[b] - t_s[a] < cfg.af_min_s:  # judged before the edges move
            continue
        a = _edge(vote, iv_seg, a, half, rising=True, floor=out[-1][1] if out else 0)
        b = _edge(vote, iv_seg, b, half, rising=False, floor=a + 1)
        out.append((int(a), int(b)))  # beats a..b
    return out


def _edge(vote, iv_seg, c0, half, rising, floor):
    """The change point nearest ``c0`` (within ``half``) that best splits the votes.

    For an onset (``rising``) the point c minimises the AF-like intervals before c
    plus the regular ones from c on; for an offset, the reverse. Only intervals of
    the segment of the episode's edge interval are considered.
    """
    m = vote.size
    edge_iv = c0 if rising else c0 - 1
    sg = iv_seg[edge_iv]
    lo = max(c0 - half, floor, 0)
    hi = min(c0 + half, m)
    while lo < edge_iv and iv_seg[lo] != sg:
        lo += 1
    while hi - 1 > edge_iv and iv_seg[hi - 1] != sg:
        hi -= 1
    if hi - lo < 2:
        return c0
    v = vote[lo:hi]
    pos = np.concatenate(([0], np.cumsum(v > 0)))
    neg = np.concatenate(([0], np.cumsum(v < 0)))
    # candidate c = lo + k, k = 0..len(v): split before interval lo + k
    if rising:
        cost = pos + (neg[-1] - neg)
    else:
        cost = neg + (pos[-1] - pos)
    cand = np.flatnonzero(cost == cost.min()) + lo
    best = int(cand[np.argmin(np.abs(cand - c0))])
    return max(best, floor)


def _true_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    padded = np.concatenate(([False], np.asarray(mask, bool), [False])).astype(np.int8)
    d = np.diff(padded)
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist(), strict=True))
