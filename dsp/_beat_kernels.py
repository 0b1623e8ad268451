"""Numba kernels of the per-beat feature extractor (:mod:`dsp._beat_features`).

Each kernel is pure on contiguous arrays; the state that carries from one call
to the next (so streaming equals batch) lives in arrays the caller owns:

* :func:`resample_windows`: a window around each R peak from each lead,
  resampled to the canonical rate (box-averaged linear interpolation, so
  down-sampling does not alias), baseline removed (window median), missing
  samples (NaN, outside the signal) set to 0 and counted.
* :func:`rr_features`: RR intervals normalised to the patient's own recent
  rhythm (local = median of the previous ``RR_HIST`` intervals, long-term =
  exponential average over about ``1 / RR_LONG_ALPHA`` beats).
* :func:`template_features`: label-free patient adaptation. Beats are
  clustered on line by morphology (Pearson correlation over the QRS region);
  the cluster with the most (decayed) members is the patient's dominant beat.
  Each beat is compared with the dominant template as it stood *before* the
  beat, and the template is returned for the model to see beside the beat.
* :func:`nn_rr_features`: pre- and post-RR over the recent rhythm between
  beats of the dominant morphology.
* :func:`rr_upper_features`: pre- and post-RR over an upper quantile of the
  recent RR intervals (the slower, sinus rhythm, even where ectopic beats
  outnumber sinus beats and the median follows the ectopic rhythm).

The kernels know nothing of seconds or hertz: :mod:`dsp._beat_features`
converts every setting.
"""

from __future__ import annotations

import numpy as np

from dsp._numba_config import njit

#: number of previous RR intervals kept for the local rhythm
RR_HIST = 8
#: weight of one RR interval in the long-term mean (about 5 min at 60 bpm)
RR_LONG_ALPHA = 1.0 / 256.0
#: RR intervals are clipped to this range (s) before they enter any mean
RR_MIN_S = 0.15
RR_MAX_S = 3.0

# rr_features output columns
RR_PRE_S = 0
RR_POST_S = 1
RR_LOCAL_S = 2
RR_LONG_S = 3
RR_PRE_LOCAL = 4
RR_POST_LOCAL = 5
RR_PRE_LONG = 6
RR_LOCAL_LONG = 7
RR_POST_PRE = 8
RR_IRREGULARITY = 9
N_RR = 10

# rr state (float64 array of N_RR_STATE + RR_HIST)
RS_N = 0  # RR intervals seen so far
RS_LONG = 1  # long-term mean RR, s
RS_LAST_T = 2  # time of the last beat processed, s (NaN before any)
N_RR_STATE = 3

# template_features output columns
TF_CORR = 0  # correlation with the dominant template, all leads (QRS region)
TF_CORR_L0 = 1  # lead 0 only
TF_CORR_L1 = 2  # lead 1 only (lead 0 again for one-lead records)
TF_AMP_L0 = 3  # peak-to-peak (QRS region) beat / template, lead 0
TF_AMP_L1 = 4
TF_WIDTH = 5  # QRS region samples above half the beat's own peak, beat - template (canonical samples)
TF_CLUSTER_FRAC = 6  # share of the beat's cluster in all (decayed) members
TF_IS_DOMINANT = 7  # 1 when the beat joins the dominant cluster
TF_BEST_CORR = 8  # correlation with the cluster it joins (or 1 for a new one)
N_TF = 9

# template kernel parameters (float64 array)
TP_JOIN_CORR = 0  # a beat joins a cluster at or above this correlation
TP_AMP_LOW = 1  # ... and a peak-to-peak ratio in [low, high]
TP_AMP_HIGH = 2
TP_DECAY = 3  # per-beat factor on every cluster count
TP_MAX_WEIGHT = 4  # a template averages about this many recent members
TP_MIN_P2P = 5  # smallest template peak-to-peak used as a divisor, mV
N_TP = 6


@njit
def resample_windows(sig, centers, step, half_box, n_pre, out, n_valid):  # pragma: no cover
    """Cut and resample one window per beat and lead.

    Parameters
    ----------
    sig : float64 (n_leads, n)
        Signal, mV. NaN marks missing samples.
    centers : float64 (n_beats,)
        R peak positions in samples of `sig`.
    step : float
        Input samples per canonical sample (``fs_hz / canonical_fs_hz``).
    half_box : int
        Sub-points on each side of the centre averaged per output sample
        (``2 * half_box + 1`` points spaced ``step / (2 * half_box + 1)``).
    n_pre : int
        Output samples before the R peak.
    out : float64 (n_beats, n_leads, n_win)
        Filled with the baseline-free windows (missing samples 0).
    n_valid : int64 (n_beats, n_leads)
        Filled with the number of non-missing output samples.
    """
    n_beats, n_leads, n_win = out.shape
    n = sig.shape[1]
    m = 2 * half_box + 1
    sub = step / m
    buf = np.empty(n_win)
    for b in range(n_beats):
        # the sub-point times rise with k and q (rounding is monotonic), so when the
        # first and the last lie in [0, n - 1) every one does: no edge checks, and
        # int() is floor() (the same i and frac as the checked path)
        first = (centers[b] + (0 - n_pre) * step) + (0 - half_box) * sub
        last = (centers[b] + (n_win - 1 - n_pre) * step) + (m - 1 - half_box) * sub
        inside = n >= 2 and first >= 0.0 and last < n - 1
        for lead in range(n_leads):
            count = 0
            for k in range(n_win):
                t0 = centers[b] + (k - n_pre) * step
                acc = 0.0
                ok = True
                for q in range(m):
                    t = t0 + (q - half_box) * sub
                    if inside:
                        i = int(t)
                    else:
                        if t < 0.0 or t > n - 1:
                            ok = False
                            break
                        i = int(np.floor(t))
                        if i >= n - 1:
                            i = n - 2 if n >= 2 else 0
                    frac = t - i
                    if n >= 2:
                        v = sig[lead, i] * (1.0 - frac) + sig[lead, i + 1] * frac
                    else:
                        v = sig[lead, 0]
                    if np.isnan(v):
                        ok = False
                        break
                    acc += v
                if ok:
                    out[b, lead, k] = acc / m
                    buf[count] = acc / m
                    count += 1
                else:
                    out[b, lead, k] = np.nan
            n_valid[b, lead] = count
            base = np.median(buf[:count]) if count > 0 else 0.0
            for k in range(n_win):
                v = out[b, lead, k]
                out[b, lead, k] = 0.0 if np.isnan(v) else v - base


@njit
def _rr_s(t_from, t_to):  # pragma: no cover
    """The interval between two beat times, clipped to RR_MIN_S .. RR_MAX_S; NaN if one is NaN."""
    if np.isnan(t_from) or np.isnan(t_to):
        return np.nan
    return min(max(t_to - t_from, RR_MIN_S), RR_MAX_S)


@njit
def _push(hist, n_seen, value):  # pragma: no cover
    """Append ``value`` to a history of the last ``hist.size`` values holding ``n_seen`` so far."""
    size = hist.size
    if n_seen >= size:
        for j in range(size - 1):
            hist[j] = hist[j + 1]
        hist[size - 1] = value
    else:
        hist[n_seen] = value


@njit
def rr_features(times_s, n_out, state, out):  # pragma: no cover
    """RR features of the first `n_out` beats of `times_s`.

    Parameters
    ----------
    times_s : float64 (n_out + 1,) or (n_out,)
        Beat times in seconds, sorted. The beat after the last one processed
        gives its post-RR; without it (end of the record) post-RR is the
        local RR.
    n_out : int
        Beats to process (``len(times_s)`` or ``len(times_s) - 1``).
    state : float64 (N_RR_STATE + RR_HIST,)
        Carried between calls; a new state is zeros with ``RS_LAST_T`` NaN.
    out : float64 (n_out, N_RR)
        Filled with the features (columns ``RR_*``).
    """
    hist = state[N_RR_STATE:]
    tmp = np.empty(RR_HIST)
    for b in range(n_out):
        t = times_s[b]
        n_seen = int(state[RS_N])
        n_hist = min(n_seen, RR_HIST)
        # local rhythm from the intervals before this beat
        if n_hist > 0:
            for j in range(n_hist):
                tmp[j] = hist[j]
            local = np.median(tmp[:n_hist])
            irr = 0.0
            if n_hist > 1:
                for j in range(n_hist - 1):
                    tmp[j] = abs(hist[j + 1] - hist[j])
                irr = np.median(tmp[: n_hist - 1]) / local
            long_rr = state[RS_LONG]
        else:
            local = np.nan
            irr = 0.0
            long_rr = np.nan
        pre = _rr_s(state[RS_LAST_T], t)
        post = _rr_s(t, times_s[b + 1]) if b + 1 < times_s.size else np.nan
        # fill what is unknown at the start (or end) of a record with what is known
        if np.isnan(local):
            local = pre if not np.isnan(pre) else (post if not np.isnan(post) else 1.0)
        if np.isnan(long_rr):
            long_rr = local
        if np.isnan(pre):
            pre = local
        if np.isnan(post):
            post = local
        out[b, RR_PRE_S] = pre
        out[b, RR_POST_S] = post
        out[b, RR_LOCAL_S] = local
        out[b, RR_LONG_S] = long_rr
        out[b, RR_PRE_LOCAL] = pre / local
        out[b, RR_POST_LOCAL] = post / local
        out[b, RR_PRE_LONG] = pre / long_rr
        out[b, RR_LOCAL_LONG] = local / long_rr
        out[b, RR_POST_PRE] = post / pre
        out[b, RR_IRREGULARITY] = irr
        # update the state with this beat's pre-RR
        if not np.isnan(state[RS_LAST_T]):
            rr = _rr_s(state[RS_LAST_T], t)
            _push(hist, n_seen, rr)
            if n_seen == 0:
                state[RS_LONG] = rr
            else:
                state[RS_LONG] += RR_LONG_ALPHA * (rr - state[RS_LONG])
            state[RS_N] = n_seen + 1
        state[RS_LAST_T] = t


@njit
def _corr(a, b, lo, hi):  # pragma: no cover
    """Pearson correlation of a[:, lo:hi] and b[:, lo:hi] (all leads together)."""
    n_leads = a.shape[0]
    cnt = n_leads * (hi - lo)
    ma = 0.0
    mb = 0.0
    for lead in range(n_leads):
        for k in range(lo, hi):
            ma += a[lead, k]
            mb += b[lead, k]
    ma /= cnt
    mb /= cnt
    sab = 0.0
    saa = 0.0
    sbb = 0.0
    for lead in range(n_leads):
        for k in range(lo, hi):
            da = a[lead, k] - ma
            db = b[lead, k] - mb
            sab += da * db
            saa += da * da
            sbb += db * db
    if saa <= 0.0 or sbb <= 0.0:
        return 0.0
    return sab / np.sqrt(saa * sbb)


@njit
def _centred(a, lo, hi, dev):  # pragma: no cover
    """:func:`_corr`'s view of one operand: ``dev`` = a[:, lo:hi] minus its mean, and
    the sum of squares of ``dev`` (the same operations in the same order)."""
    n_leads = a.shape[0]
    cnt = n_leads * (hi - lo)
    m = 0.0
    for lead in range(n_leads):
        for k in range(lo, hi):
            m += a[lead, k]
    m /= cnt
    ss = 0.0
    for lead in range(n_leads):
        for k in range(lo, hi):
            d = a[lead, k] - m
            dev[lead, k - lo] = d
            ss += d * d
    return ss


@njit
def _corr_centred(dev_a, ss_a, dev_b, ss_b):  # pragma: no cover
    """:func:`_corr` from two :func:`_centred` operands: bit for bit the same value."""
    sab = 0.0
    for lead in range(dev_a.shape[0]):
        for k in range(dev_a.shape[1]):
            sab += dev_a[lead, k] * dev_b[lead, k]
    if ss_a <= 0.0 or ss_b <= 0.0:
        return 0.0
    return sab / np.sqrt(ss_a * ss_b)


@njit
def _p2p(a, lead, lo, hi):  # pragma: no cover
    mx = a[lead, lo]
    mn = a[lead, lo]
    for k in range(lo + 1, hi):
        v = a[lead, k]
        if v > mx:
            mx = v
        if v < mn:
            mn = v
    return mx - mn


@njit
def _width(a, lead, lo, hi):  # pragma: no cover
    """Samples of a[lead, lo:hi] whose magnitude exceeds half the largest one."""
    peak = 0.0
    for k in range(lo, hi):
        if abs(a[lead, k]) > peak:
            peak = abs(a[lead, k])
    if peak <= 0.0:
        return 0.0
    cnt = 0
    for k in range(lo, hi):
        if abs(a[lead, k]) >= 0.5 * peak:
            cnt += 1
    return float(cnt)


@njit
def template_features(wins, weights, lo, hi, params, templates, counts, dominant, out):  # pragma: no cover
    """Compare each beat with the dominant template, then update the clusters.

    Parameters
    ----------
    wins : float64 (n_beats, n_leads, n_win)
        Beat windows from :func:`resample_windows`.
    weights : float64 (n_beats,)
        What each beat adds to the count of the cluster it joins (premature
        beats count less, so the dominant beat is the patient's regular one).
    lo, hi : int
        The QRS region ``[lo, hi)`` of a window used for matching.
    params : float64 (N_TP,)
        ``TP_*`` settings.
    templates : float64 (n_clusters, n_leads, n_win)
        Cluster templates (state).
    counts : float64 (n_clusters,)
        Decayed member counts; 0 marks a free slot (state).
    dominant : float64 (n_beats, n_leads, n_win)
        Filled with the dominant template each beat is compared with.
    out : float64 (n_beats, N_TF)
        Filled with the ``TF_*`` features.
    """
    n_beats, n_leads, n_win = wins.shape
    n_clusters = counts.size
    l1 = 1 if n_leads > 1 else 0
    # the QRS region of the beat and of each template, centred once (_centred), so
    # that each of the beat's many correlations is one dot product; a template's
    # is redone whenever the template changes
    x_dev = np.empty((n_leads, hi - lo))
    t_dev = np.empty((n_clusters, n_leads, hi - lo))
    t_ss = np.zeros(n_clusters)
    for c in range(n_clusters):
        t_ss[c] = _centred(templates[c], lo, hi, t_dev[c])
    for b in range(n_beats):
        x = wins[b]
        x_ss = _centred(x, lo, hi, x_dev)
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
        out[b, TF_CORR] = _corr_centred(x_dev, x_ss, t_dev[dom], t_ss[dom]) if dom >= 0 else 1.0
        out[b, TF_CORR_L0] = _corr(x[0:1], ref[0:1], lo, hi) if dom >= 0 else 1.0
        out[b, TF_CORR_L1] = _corr(x[l1 : l1 + 1], ref[l1 : l1 + 1], lo, hi) if dom >= 0 else 1.0
        p0 = max(_p2p(ref, 0, lo, hi), params[TP_MIN_P2P])
        p1 = max(_p2p(ref, l1, lo, hi), params[TP_MIN_P2P])
        out[b, TF_AMP_L0] = _p2p(x, 0, lo, hi) / p0
        out[b, TF_AMP_L1] = _p2p(x, l1, lo, hi) / p1
        out[b, TF_WIDTH] = _width(x, 0, lo, hi) - _width(ref, 0, lo, hi)
        # join the best-matching cluster, or open a new one
        best = -1
        best_corr = -2.0
        for c in range(n_clusters):
            if counts[c] > 0.0:
                r = _corr_centred(x_dev, x_ss, t_dev[c], t_ss[c])
                if r > best_corr:
                    best_corr = r
                    best = c
        joined = -1
        if best >= 0 and best_corr >= params[TP_JOIN_CORR]:
            amp_x = 0.0
            amp_t = 0.0
            for lead in range(n_leads):
                amp_x += _p2p(x, lead, lo, hi)
                amp_t += _p2p(templates[best], lead, lo, hi)
            ratio = amp_x / amp_t if amp_t > 0.0 else 0.0
            if params[TP_AMP_LOW] <= ratio <= params[TP_AMP_HIGH]:
                joined = best
        for c in range(n_clusters):
            counts[c] *= params[TP_DECAY]
        if joined >= 0:
            w = 1.0 / min(counts[joined] + 1.0, params[TP_MAX_WEIGHT])
            for lead in range(n_leads):
                for k in range(n_win):
                    templates[joined, lead, k] += w * (x[lead, k] - templates[joined, lead, k])
            t_ss[joined] = _centred(templates[joined], lo, hi, t_dev[joined])
            counts[joined] += weights[b]
            out[b, TF_BEST_CORR] = best_corr
            # merge a cluster the joined one has grown into
            for c in range(n_clusters):
                if c == joined or counts[c] <= 0.0:
                    continue
                if _corr_centred(t_dev[joined], t_ss[joined], t_dev[c], t_ss[c]) < params[TP_JOIN_CORR]:
                    continue
                amp_j = 0.0
                amp_c = 0.0
                for lead in range(n_leads):
                    amp_j += _p2p(templates[joined], lead, lo, hi)
                    amp_c += _p2p(templates[c], lead, lo, hi)
                ratio = amp_c / amp_j if amp_j > 0.0 else 0.0
                if not (params[TP_AMP_LOW] <= ratio <= params[TP_AMP_HIGH]):
                    continue
                keep, gone = (joined, c) if counts[joined] >= counts[c] else (c, joined)
                wk = counts[keep] / (counts[keep] + counts[gone])
                for lead in range(n_leads):
                    for k in range(n_win):
                        templates[keep, lead, k] = (
                            wk * templates[keep, lead, k] + (1.0 - wk) * templates[gone, lead, k]
                        )
                t_ss[keep] = _centred(templates[keep], lo, hi, t_dev[keep])
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
            t_ss[slot] = _centred(templates[slot], lo, hi, t_dev[slot])
            counts[slot] = weights[b]
            joined = slot
            out[b, TF_BEST_CORR] = 1.0
        total = 0.0
        for c in range(n_clusters):
            total += counts[c]
        out[b, TF_CLUSTER_FRAC] = counts[joined] / total
        out[b, TF_IS_DOMINANT] = 1.0 if joined == dom or dom < 0 else 0.0


# nn_rr_features output columns and state
NN_PRE_LOCAL = 0  # pre-RR / median of the recent dominant-to-dominant intervals
NN_POST_LOCAL = 1
N_NN = 2
NS_N = 0  # dominant-to-dominant intervals seen
NS_LAST_T = 1  # time of the previous beat, s (NaN before any)
NS_LAST_DOM = 2  # 1 when the previous beat was in the dominant cluster
N_NN_STATE = 3


@njit
def nn_rr_features(times_s, n_out, is_dom, state, out):  # pragma: no cover
    """Pre- and post-RR over the patient's recent NN rhythm (label-free).

    An "NN" interval here joins two consecutive beats that both joined the
    dominant morphology cluster; the local NN rhythm is the median of the last
    ``RR_HIST`` of them before each beat. Frequent ectopic beats (bigeminy, VT
    runs) then do not pull the reference rhythm towards their own.

    Parameters
    ----------
    times_s : float64 (n_out + 1,) or (n_out,)
        Beat times, s (the extra one gives the last beat's post-RR).
    n_out : int
        Beats to process.
    is_dom : float64 (n_out,)
        1 where the beat joined the dominant cluster.
    state : float64 (N_NN_STATE + RR_HIST,)
        Carried between calls; new: zeros with ``NS_LAST_T`` NaN.
    out : float64 (n_out, N_NN)
        Filled with ``NN_*`` ratios (1 where nothing is known yet).
    """
    hist = state[N_NN_STATE:]
    tmp = np.empty(RR_HIST)
    for b in range(n_out):
        t = times_s[b]
        n_seen = int(state[NS_N])
        n_hist = min(n_seen, RR_HIST)
        pre = _rr_s(state[NS_LAST_T], t)
        post = _rr_s(t, times_s[b + 1]) if b + 1 < times_s.size else np.nan
        if n_hist > 0:
            for j in range(n_hist):
                tmp[j] = hist[j]
            local = np.median(tmp[:n_hist])
        else:
            local = np.nan
        if np.isnan(local):
            out[b, NN_PRE_LOCAL] = 1.0
            out[b, NN_POST_LOCAL] = 1.0
        else:
            out[b, NN_PRE_LOCAL] = 1.0 if np.isnan(pre) else pre / local
            out[b, NN_POST_LOCAL] = 1.0 if np.isnan(post) else post / local
        if not np.isnan(pre) and state[NS_LAST_DOM] > 0.5 and is_dom[b] > 0.5:
            _push(hist, n_seen, pre)
            state[NS_N] = n_seen + 1
        state[NS_LAST_T] = t
        state[NS_LAST_DOM] = is_dom[b]


# rr_upper_features output columns and state
#: previous RR intervals the upper reference is taken from
RR_UPPER_HIST = 32
#: the upper reference is this quantile of them (linear interpolation)
RR_UPPER_Q = 0.9
UP_PRE = 0  # pre-RR / upper reference of the recent RR intervals
UP_POST = 1  # post-RR / the same reference
N_UP = 2
US_N = 0  # RR intervals seen so far
US_LAST_T = 1  # time of the previous beat, s (NaN before any)
N_UP_STATE = 2


@njit
def rr_upper_features(times_s, n_out, state, out):  # pragma: no cover
    """Pre- and post-RR over an upper quantile of the recent RR intervals.

    The reference is the ``RR_UPPER_Q`` quantile of the last ``RR_UPPER_HIST``
    intervals before each beat (clipped to ``RR_MIN_S .. RR_MAX_S``): ectopic
    beats shorten intervals, so the long ones are the patient's slower
    (sinus) rhythm even where ectopic beats outnumber sinus ones and the
    median follows the ectopic rhythm. Label-free and causal.

    Parameters
    ----------
    times_s : float64 (n_out + 1,) or (n_out,)
        Beat times, s (the extra one gives the last beat's post-RR).
    n_out : int
        Beats to process.
    state : float64 (N_UP_STATE + RR_UPPER_HIST,)
        Carried between calls; new: zeros with ``US_LAST_T`` NaN.
    out : float64 (n_out, N_UP)
        Filled with the ``UP_*`` ratios (1 where nothing is known yet).
    """
    hist = state[N_UP_STATE:]
    size = hist.size
    # the history sorted, kept sorted as intervals come and go (one sort per call,
    # not one per beat): the same values as sorting the history at each beat
    srt = np.empty(size)
    n_srt = min(int(state[US_N]), size)
    srt[:n_srt] = np.sort(hist[:n_srt])
    for b in range(n_out):
        t = times_s[b]
        n_seen = int(state[US_N])
        n_hist = min(n_seen, size)
        pre = _rr_s(state[US_LAST_T], t)
        post = _rr_s(t, times_s[b + 1]) if b + 1 < times_s.size else np.nan
        if n_hist > 0:
            pos = RR_UPPER_Q * (n_hist - 1)
            lo = int(np.floor(pos))
            hi = min(lo + 1, n_hist - 1)
            upper = srt[lo] + (pos - lo) * (srt[hi] - srt[lo])
            out[b, UP_PRE] = 1.0 if np.isnan(pre) else pre / upper
            out[b, UP_POST] = 1.0 if np.isnan(post) else post / upper
        else:
            out[b, UP_PRE] = 1.0
            out[b, UP_POST] = 1.0
        if not np.isnan(pre):
            if n_seen >= size:  # the oldest interval leaves the history
                j = 0
                while j < n_srt - 1 and srt[j] != hist[0]:
                    j += 1
                for q in range(j, n_srt - 1):
                    srt[q] = srt[q + 1]
                n_srt -= 1
            j = n_srt
            while j > 0 and srt[j - 1] > pre:
                srt[j] = srt[j - 1]
                j -= 1
            srt[j] = pre
            n_srt += 1
            _push(hist, n_seen, pre)
            state[US_N] = n_seen + 1
        state[US_LAST_T] = t
