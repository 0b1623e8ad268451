"""Beat delineation: the kernel against a NumPy reference, and known fiducials of a synthetic ECG."""

from __future__ import annotations

import numpy as np
import pytest

from dsp import InvalidParameterError
from dsp._delineate import (
    P_MIN_MV,
    P_SNR,
    QRS_THRESHOLD,
    T_END_SEARCH_MS,
    ZHANG_WINDOW_S,
    _delineate_kernel,
    delineate_beats,
)

FS = 250.0


def _beat_train(n_beats=20, rr_s=0.9, p_amp=0.15, seed=0, noise_mv=0.005):
    """Gaussian-sum beats: P, Q, R, S, T at known times (s relative to R)."""
    rng = np.random.default_rng(seed)
    n = int((n_beats + 1) * rr_s * FS)
    t = np.arange(n) / FS
    x = np.zeros(n)
    r_times = (np.arange(n_beats) + 0.6) * rr_s
    waves = [(-0.18, p_amp, 0.020), (-0.025, -0.10, 0.008), (0.0, 1.2, 0.010),
             (0.025, -0.25, 0.008), (0.30, 0.35, 0.040)]
    for r in r_times:
        for dt, amp, sd in waves:
            x += amp * np.exp(-0.5 * ((t - r - dt) / sd) ** 2)
    x += rng.normal(0, noise_mv, n)
    return x, np.round(r_times * FS).astype(np.int64)


def _reference(xf, env, r_peaks, fs_hz, qrs_threshold, zhang_w, t_search):
    """Onset / offset / T peak / T end written with array operations, beat by beat."""
    ms = fs_hz / 1000
    n = xf.shape[0]
    out = {k: np.full(r_peaks.size, -1) for k in ("onset", "offset", "t_peak", "t_end")}
    for b, r in enumerate(r_peaks):
        lo, hi = max(0, r - int(140 * ms)), min(n - 1, r + int(160 * ms))
        peak = env[max(lo, r - int(60 * ms)) : min(hi, r + int(60 * ms)) + 1].max()
        if not peak > 0:
            continue
        th = qrs_threshold * peak
        seg = env[max(lo, r - int(60 * ms)) : r + 1]
        big = max(lo, r - int(60 * ms)) + (seg.size - 1 - int(np.argmax(seg[::-1])))
        below = np.flatnonzero(env[lo + 1 : big + 1] < th)
        out["onset"][b] = lo + 1 + below[-1] if below.size else lo
        seg = env[r : min(hi, r + int(60 * ms)) + 1]
        big = r + int(np.argmax(seg))
        below = np.flatnonzero(env[big:hi] < th)
        out["offset"][b] = big + below[0] if below.size else hi
        rr = (r_peaks[b + 1] - r) if b + 1 < r_peaks.size else int(1000 * ms)
        rr = min(rr, int(2000 * ms))
        t_lo = out["offset"][b] + int(60 * ms)
        t_hi = min(n - 1, r + min(int(0.6 * rr), int(460 * ms)))
        if b + 1 < r_peaks.size:
            t_hi = min(t_hi, r_peaks[b + 1] - int(120 * ms))
        if t_hi - t_lo < int(40 * ms):
            continue
        on = out["onset"][b]
        q0 = max(0, on - int(30 * ms))
        q1 = max(q0 + 1, on - int(10 * ms))
        ref = xf[q0:q1].mean(axis=0)
        dev = np.abs(xf[t_lo : t_hi + 1] - ref)
        # the kernel scans lead by lead: the first maximum in lead order
        flat = dev.T.ravel()
        lead, k = divmod(int(np.argmax(flat)), dev.shape[0])
        tp = t_lo + k
        if not dev[k, lead] > 0:
            continue
        out["t_peak"][b] = tp
        sign = 1.0 if xf[tp, lead] - xf[on, lead] > 0 else -1.0
        e_hi = min(n - 1, tp + t_search)
        if b + 1 < r_peaks.size:
            e_hi = min(e_hi, r_peaks[b + 1] - int(80 * ms))
        cand = np.arange(tp + 1, e_hi + 1)
        if cand.size == 0:
            continue
        area = [sign * np.sum(xf[max(0, c - zhang_w) : c + 1, lead] - xf[c, lead]) for c in cand]
        out["t_end"][b] = cand[int(np.argmax(area))]
    return out


def _run_kernel(x, r_peaks):
    from scipy import signal as sps

    x2 = np.atleast_2d(x.T).T if x.ndim == 1 else x
    sos = sps.butter(2, [0.5, 40.0], btype="bandpass", fs=FS, output="sos")
    xf = np.ascontiguousarray(sps.sosfiltfilt(sos, np.nan_to_num(x2), axis=0))
    d = np.gradient(xf, axis=0) * FS
    env = np.ascontiguousarray(np.sqrt(np.sum(d * d, axis=1)))
    zw, ts = int(round(ZHANG_WINDOW_S * FS)), int(round(T_END_SEARCH_MS * FS / 1000))
    got = _delineate_kernel(xf, env, r_peaks, FS, QRS_THRESHOLD, zw, ts, P_MIN_MV, P_SNR)
    want = _reference(xf, env, r_peaks, FS, QRS_THRESHOLD, zw, ts)
    return got, want


class TestKernelAgainstReference:
    @pytest.mark.parametrize("kind", ["random", "empty", "flat", "nan", "saturated"])
    def test_same_points(self, kind):
        x, r = _beat_train(noise_mv=0.03)
        x = np.column_stack((x, 0.6 * x + np.random.default_rng(1).normal(0, 0.02, x.size)))
        if kind == "empty":
            r = r[:0]
        elif kind == "flat":
            x = np.zeros_like(x)
        elif kind == "nan":
            x[500:700] = np.nan
        elif kind == "saturated":
            x = np.clip(x, -0.2, 0.5)
        got, want = _run_kernel(x, r)
        for i, key in enumerate(("onset", "offset", "t_peak", "t_end")):
            np.testing.assert_array_equal(got[i], want[key], err_msg=key)
        if kind == "flat":
            assert (got[0] == -1).all() and not got[4].any()


class TestSyntheticFiducials:
    def test_points_near_the_truth(self):
        x, r = _beat_train()
        d = delineate_beats(x, FS, r)
        inner = slice(1, -1)
        ms = 1000 / FS
        # QRS spans Q (-25 ms, sd 8) to S (+25 ms, sd 8): about -45 .. +45 ms around R
        assert np.all(np.abs((d.qrs_onset[inner] - r[inner]) * ms + 45) < 20)
        assert np.all(np.abs((d.qrs_offset[inner] - r[inner]) * ms - 45) < 20)
        # T peak at +300 ms; T end where it has fallen to a few % (300 + 2.5 x 40 = 400 ms)
        assert np.all(np.abs((d.t_peak[inner] - r[inner]) * ms - 300) < 10)
        assert np.all(np.abs((d.t_end[inner] - r[inner]) * ms - 400) < 40)
        assert d.p_present[inner].all()

    def test_no_p_wave(self):
        x, r = _beat_train(p_amp=0.0)
        assert not delineate_beats(x, FS, r).p_present[1:-1].any()

    def test_bad_input(self):
        x, r = _beat_train(n_beats=3)
        with pytest.raises(InvalidParameterError, match="fs_hz"):
            delineate_beats(x, 50.0, r)
        with pytest.raises(InvalidParameterError, match="increasing"):
            delineate_beats(x, FS, r[::-1])
