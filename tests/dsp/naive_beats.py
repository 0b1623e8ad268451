"""Slow, obviously-correct references of the beat-feature and rhythm kernels.

Written from the kernels' docstrings, in plain Python / NumPy, for the
kernel-vs-reference tests (STYLE.md rule 4).
"""

from __future__ import annotations

import numpy as np

from dsp import _beat_kernels as K


def resample_windows(sig, centers, step, half_box, n_pre, n_win):
    n_leads, n = sig.shape
    m = 2 * half_box + 1
    out = np.zeros((len(centers), n_leads, n_win))
    n_valid = np.zeros((len(centers), n_leads), np.int64)
    grid = np.arange(n)
    for b, c in enumerate(centers):
        for lead in range(n_leads):
            vals = []
            for k in range(n_win):
                t0 = c + (k - n_pre) * step
                ts = [t0 + (q - half_box) * step / m for q in range(m)]
                if any(t < 0 or t > n - 1 for t in ts):
                    vals.append(np.nan)
                    continue
                v = [float(np.interp(t, grid, sig[lead])) if n >= 2 else sig[lead, 0] for t in ts]
                # np.interp does not propagate NaN neighbours the same way: check them
                bad = False
                for t in ts:
                    i = min(int(np.floor(t)), max(n - 2, 0))
                    frac = t - i
                    lo = sig[lead, i]
                    hi = sig[lead, i + 1] if n >= 2 else lo
                    if np.isnan(lo * (1 - frac) + hi * frac):
                        bad = True
                vals.append(np.nan if bad else float(np.mean(v)))
            vals = np.array(vals)
            ok = ~np.isnan(vals)
            n_valid[b, lead] = ok.sum()
            base = np.median(vals[ok]) if ok.any() else 0.0
            out[b, lead] = np.where(ok, vals - base, 0.0)
    return out, n_valid


def _clip(rr):
    return min(max(rr, K.RR_MIN_S), K.RR_MAX_S)


def rr_features(times_s, n_out):
    """All beats in one go; matches a fresh kernel state."""
    out = np.zeros((n_out, K.N_RR))
    rrs: list[float] = []
    long_rr = np.nan
    for b in range(n_out):
        recent = rrs[-K.RR_HIST :]
        if recent:
            local = float(np.median(recent))
            irr = float(np.median(np.abs(np.diff(recent)))) / local if len(recent) > 1 else 0.0
        else:
            local, irr = np.nan, 0.0
        pre = _clip(times_s[b] - times_s[b - 1]) if b > 0 else np.nan
        post = _clip(times_s[b + 1] - times_s[b]) if b + 1 < len(times_s) else np.nan
        if np.isnan(local):
            local = pre if not np.isnan(pre) else (post if not np.isnan(post) else 1.0)
        lr = local if np.isnan(long_rr) else long_rr
        pre = local if np.isnan(pre) else pre
        post = local if np.isnan(post) else post
        out[b] = [pre, post, local, lr, pre / local, post / local, pre / lr, local / lr,
                  post / pre, irr]
        if b > 0:
            rr = _clip(times_s[b] - times_s[b - 1])
            long_rr = rr if not rrs else long_rr + K.RR_LONG_ALPHA * (rr - long_rr)
            rrs.append(rr)
    return out


def nn_rr_features(times_s, n_out, is_dom):
    out = np.ones((n_out, K.N_NN))
    nn: list[float] = []
    for b in range(n_out):
        pre = _clip(times_s[b] - times_s[b - 1]) if b > 0 else np.nan
        post = _clip(times_s[b + 1] - times_s[b]) if b + 1 < len(times_s) else np.nan
        if nn:
            local = float(np.median(nn[-K.RR_HIST :]))
            out[b, 0] = 1.0 if np.isnan(pre) else pre / local
            out[b, 1] = 1.0 if np.isnan(post) else post / local
        if b > 0 and is_dom[b - 1] > 0.5 and is_dom[b] > 0.5:
            nn.append(pre)
    return out


def rr_upper_features(times_s, n_out):
    out = np.ones((n_out, K.N_UP))
    rrs: list[float] = []
    for b in range(n_out):
        pre = _clip(times_s[b] - times_s[b - 1]) if b > 0 else np.nan
        post = _clip(times_s[b + 1] - times_s[b]) if b + 1 < len(times_s) else np.nan
        if rrs:
            upper = float(np.quantile(rrs[-K.RR_UPPER_HIST :], K.RR_UPPER_Q))
            out[b, 0] = 1.0 if np.isnan(pre) else pre / upper
            out[b, 1] = 1.0 if np.isnan(post) else post / upper
        if b > 0:
            rrs.append(pre)
    return out


def rr_upper_features_sorting(times_s, n_out):
    """:func:`rr_upper_features` as the kernel computed it before it kept its history
    sorted: sort the last intervals at every beat, interpolate the same way (the
    kernel must give these floats exactly)."""
    out = np.ones((n_out, K.N_UP))
    rrs: list[float] = []
    for b in range(n_out):
        pre = _clip(times_s[b] - times_s[b - 1]) if b > 0 else np.nan
        post = _clip(times_s[b + 1] - times_s[b]) if b + 1 < len(times_s) else np.nan
        if rrs:
            srt = sorted(rrs[-K.RR_UPPER_HIST :])
            pos = K.RR_UPPER_Q * (len(srt) - 1)
            lo = int(np.floor(pos))
            hi = min(lo + 1, len(srt) - 1)
            upper = srt[lo] + (pos - lo) * (srt[hi] - srt[lo])
            out[b, 0] = 1.0 if np.isnan(pre) else pre / upper
            out[b, 1] = 1.0 if np.isnan(post) else post / upper
        if b > 0:
            rrs.append(pre)
    return out


def _corr(a, b, lo, hi):
    x = a[:, lo:hi].ravel()
    y = b[:, lo:hi].ravel()
    dx, dy = x - x.mean(), y - y.mean()
    den = np.sqrt(np.sum(dx * dx) * np.sum(dy * dy))
    return float(np.sum(dx * dy) / den) if den > 0 else 0.0


def _p2p(a, lead, lo, hi):
    return float(np.ptp(a[lead, lo:hi]))


def _width(a, lead, lo, hi):
    seg = np.abs(a[lead, lo:hi])
    peak = seg.max()
    return float(np.sum(seg >= 0.5 * peak)) if peak > 0 else 0.0


def template_features(wins, weights, lo, hi, params, n_clusters):
    """The clustering of :func:`dsp._beat_kernels.template_features`, from a fresh state."""
    n_beats, n_leads, n_win = wins.shape
    templates = np.zeros((n_clusters, n_leads, n_win))
    counts = np.zeros(n_clusters)
    dominant = np.zeros_like(wins)
    out = np.zeros((n_beats, K.N_TF))
    l1 = 1 if n_leads > 1 else 0
    lo_amp, hi_amp = params[K.TP_AMP_LOW], params[K.TP_AMP_HIGH]

    def amp_sum(a):
        return sum(_p2p(a, lead, lo, hi) for lead in range(n_leads))

    for b in range(n_beats):
        x = wins[b]
        dom = int(np.argmax(counts)) if counts.max() > 0 else -1
        ref = x if dom < 0 else templates[dom].copy()
        dominant[b] = ref
        have = dom >= 0
        out[b, K.TF_CORR] = _corr(x, ref, lo, hi) if have else 1.0
        out[b, K.TF_CORR_L0] = _corr(x[:1], ref[:1], lo, hi) if have else 1.0
        out[b, K.TF_CORR_L1] = _corr(x[l1 : l1 + 1], ref[l1 : l1 + 1], lo, hi) if have else 1.0
        out[b, K.TF_AMP_L0] = _p2p(x, 0, lo, hi) / max(_p2p(ref, 0, lo, hi), params[K.TP_MIN_P2P])
        out[b, K.TF_AMP_L1] = _p2p(x, l1, lo, hi) / max(_p2p(ref, l1, lo, hi), params[K.TP_MIN_P2P])
        out[b, K.TF_WIDTH] = _width(x, 0, lo, hi) - _width(ref, 0, lo, hi)
        active = [c for c in range(n_clusters) if counts[c] > 0]
        corrs = {c: _corr(x, templates[c], lo, hi) for c in active}
        best = max(active, key=lambda c: (corrs[c], -c)) if active else -1
        joined = -1
        if best >= 0 and corrs[best] >= params[K.TP_JOIN_CORR]:
            at = amp_sum(templates[best])
            ratio = amp_sum(x) / at if at > 0 else 0.0
            if lo_amp <= ratio <= hi_amp:
                joined = best
        counts *= params[K.TP_DECAY]
        if joined >= 0:
            w = 1.0 / min(counts[joined] + 1.0, params[K.TP_MAX_WEIGHT])
            templates[joined] += w * (x - templates[joined])
            counts[joined] += weights[b]
            out[b, K.TF_BEST_CORR] = corrs[best]
            for c in range(n_clusters):
                if c == joined or counts[c] <= 0:
                    continue
                if _corr(templates[joined], templates[c], lo, hi) < params[K.TP_JOIN_CORR]:
                    continue
                aj, ac = amp_sum(templates[joined]), amp_sum(templates[c])
                ratio = ac / aj if aj > 0 else 0.0
                if not (lo_amp <= ratio <= hi_amp):
                    continue
                keep, gone = (joined, c) if counts[joined] >= counts[c] else (c, joined)
                wk = counts[keep] / (counts[keep] + counts[gone])
                templates[keep] = wk * templates[keep] + (1 - wk) * templates[gone]
                counts[keep] += counts[gone]
                counts[gone] = 0.0
                joined = keep
        else:
            slot = int(np.argmin(counts))
            templates[slot] = x
            counts[slot] = weights[b]
            joined = slot
            out[b, K.TF_BEST_CORR] = 1.0
        out[b, K.TF_CLUSTER_FRAC] = counts[joined] / counts.sum()
        out[b, K.TF_IS_DOMINANT] = 1.0 if (joined == dom or dom < 0) else 0.0
    return dominant, out


def centred_median(values, valid, half):
    out = np.full(len(values), np.nan)
    for i in range(len(values)):
        lo, hi = max(0, i - half), min(len(values), i + half + 1)
        v = [values[j] for j in range(lo, hi) if valid[j]]
        if v:
            out[i] = float(np.median(v))
    return out


def template_features_uncached(wins, weights, lo, hi, params, templates, counts, dominant, out):
    """:func:`dsp._beat_kernels.template_features` as it was before it centred each
    operand once: every correlation by the compiled ``_corr`` (the kernel must give
    these floats exactly; same state in and out)."""
    n_beats, n_leads, n_win = wins.shape
    n_clusters = counts.size
    l1 = 1 if n_leads > 1 else 0
    for b in range(n_beats):
        x = wins[b]
        dom = -1
        best_count = 0.0
        for c in range(n_clusters):
            if counts[c] > best_count:
                best_count = counts[c]
                dom = c
        if dom < 0:
            ref = x
        else:
            ref = templates[dom]
        for lead in range(n_leads):
            for k in range(n_win):
                dominant[b, lead, k] = ref[lead, k]
        out[b, K.TF_CORR] = K._corr(x, ref, lo, hi) if dom >= 0 else 1.0
        out[b, K.TF_CORR_L0] = K._corr(x[0:1], ref[0:1], lo, hi) if dom >= 0 else 1.0
        out[b, K.TF_CORR_L1] = K._corr(x[l1 : l1 + 1], ref[l1 : l1 + 1], lo, hi) if dom >= 0 else 1.0
        p0 = max(K._p2p(ref, 0, lo, hi), params[K.TP_MIN_P2P])
        p1 = max(K._p2p(ref, l1, lo, hi), params[K.TP_MIN_P2P])
        out[b, K.TF_AMP_L0] = K._p2p(x, 0, lo, hi) / p0
        out[b, K.TF_AMP_L1] = K._p2p(x, l1, lo, hi) / p1
        out[b, K.TF_WIDTH] = K._width(x, 0, lo, hi) - K._width(ref, 0, lo, hi)
        # join the best-matching cluster, or open a new one
        best = -1
        best_corr = -2.0
        for c in range(n_clusters):
            if counts[c] > 0.0:
                r = K._corr(x, templates[c], lo, hi)
                if r > best_corr:
                    best_corr = r
                    best = c
        joined = -1
        if best >= 0 and best_corr >= params[K.TP_JOIN_CORR]:
            amp_x = 0.0
            amp_t = 0.0
            for lead in range(n_leads):
                amp_x += K._p2p(x, lead, lo, hi)
                amp_t += K._p2p(templates[best], lead, lo, hi)
            ratio = amp_x / amp_t if amp_t > 0.0 else 0.0
            if params[K.TP_AMP_LOW] <= ratio <= params[K.TP_AMP_HIGH]:
                joined = best
        for c in range(n_clusters):
            counts[c] *= params[K.TP_DECAY]
        if joined >= 0:
            w = 1.0 / min(counts[joined] + 1.0, params[K.TP_MAX_WEIGHT])
            for lead in range(n_leads):
                for k in range(n_win):
                    templates[joined, lead, k] += w * (x[lead, k] - templates[joined, lead, k])
            counts[joined] += weights[b]
            out[b, K.TF_BEST_CORR] = best_corr
            # merge a cluster the joined one has grown into
            for c in range(n_clusters):
                if c == joined or counts[c] <= 0.0:
                    continue
                if K._corr(templates[joined], templates[c], lo, hi) < params[K.TP_JOIN_CORR]:
                    continue
                amp_j = 0.0
                amp_c = 0.0
                for lead in range(n_leads):
                    amp_j += K._p2p(templates[joined], lead, lo, hi)
                    amp_c += K._p2p(templates[c], lead, lo, hi)
                ratio = amp_c / amp_j if amp_j > 0.0 else 0.0
                if not (params[K.TP_AMP_LOW] <= ratio <= params[K.TP_AMP_HIGH]):
                    continue
                keep, gone = (joined, c) if counts[joined] >= counts[c] else (c, joined)
                wk = counts[keep] / (counts[keep] + counts[gone])
                for lead in range(n_leads):
                    for k in range(n_win):
                        templates[keep, lead, k] = (
                            wk * templates[keep, lead, k] + (1.0 - wk) * templates[gone, lead, k]
                        )
                counts[keep] += counts[gone]
                counts[gone] = 0.0
                joined = keep
        else:
            slot = 0
            low = counts[0]
            for c in range(1, n_clusters):
                if counts[c] < low:
                    low = counts[c]
                    slot = c
            for lead in range(n_leads):
                for k in range(n_win):
                    templates[slot, lead, k] = x[lead, k]
            counts[slot] = weights[b]
            joined = slot
            out[b, K.TF_BEST_CORR] = 1.0
        total = 0.0
        for c in range(n_clusters):
            total += counts[c]
        out[b, K.TF_CLUSTER_FRAC] = counts[joined] / total
        out[b, K.TF_IS_DOMINANT] = 1.0 if joined == dom or dom < 0 else 0.0

