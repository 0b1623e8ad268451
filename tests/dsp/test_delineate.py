"""Beat delineation: the kernel against a NumPy reference, and known fiducials of a synthetic ECG."""

from __future__ import annotations

import numpy as np
import pytest
from naive_delineate import delineate_ref

from dsp import InvalidParameterError
from dsp._delineate import (
    P_MIN_MV,
    P_SNR,
    QRS_THRESHOLD,
    T_END_SEARCH_MS,
    _band_pass,
    _delineate_kernel,
    _filtfilt_kernel,
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


def _run_kernel(x, r_peaks):
    from scipy import signal as sps

    x2 = np.atleast_2d(x.T).T if x.ndim == 1 else x
    sos = sps.butter(2, [0.5, 40.0], btype="bandpass", fs=FS, output="sos")
    xf = np.ascontiguousarray(sps.sosfiltfilt(sos, np.nan_to_num(x2), axis=0))
    ts = int(round(T_END_SEARCH_MS * FS / 1000))
    got = _delineate_kernel(xf, r_peaks, FS, QRS_THRESHOLD, ts, P_MIN_MV, P_SNR)
    want = delineate_ref(xf, r_peaks, FS, QRS_THRESHOLD, ts, P_MIN_MV, P_SNR)
    return got, want


class TestBandPass:
    @pytest.mark.parametrize("fs_hz", [128.0, 250.0, 360.0, 1000.0])
    @pytest.mark.parametrize("kind", ["random", "nan", "short"])
    def test_equals_scipy_sosfiltfilt(self, fs_hz, kind):
        from scipy import signal as sps

        x = np.cumsum(np.random.default_rng(2).normal(size=(3000, 2)), axis=0)
        if kind == "nan":
            x[0, 0] = np.nan
            x[100:300, 1] = np.nan
        elif kind == "short":
            x = x[:40]
        sos, zi, padlen = _band_pass(fs_hz)
        got = _filtfilt_kernel(sos, zi, x, padlen)
        want = sps.sosfiltfilt(sos, np.nan_to_num(x), axis=0)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12 * np.abs(want).max())


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
        for i, key in enumerate(("onset", "offset", "t_peak", "t_end", "p")):
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


def _hann_beats(waves, n_beats=12, rr_s=0.9, n_leads=1, noise_mv=0.003, seed=0):
    """Beats made of raised-cosine waves with exact support: waves[lead] = [(start_s, end_s, amp_mv), ...]
    relative to R; returns the (n, n_leads) ECG and the R samples."""
    rng = np.random.default_rng(seed)
    n = int((n_beats + 1) * rr_s * FS)
    t = np.arange(n) / FS
    x = np.zeros((n, n_leads))
    r_times = (np.arange(n_beats) + 0.6) * rr_s
    for lead in range(n_leads):
        for r in r_times:
            for start, end, amp in waves[lead]:
                u = (t - r - start) / (end - start)
                inside = (u >= 0) & (u <= 1)
                x[inside, lead] += amp * 0.5 * (1 - np.cos(2 * np.pi * u[inside]))
        x[:, lead] += rng.normal(0, noise_mv, n)
    return x, np.round(r_times * FS).astype(np.int64)


# Q from -40 to -16 ms, R -20..+20, S +16..+44 ms: the QRS spans -40 .. +44 ms
_QRS = [(-0.040, -0.016, -0.12), (-0.020, 0.020, 1.2), (0.016, 0.044, -0.3)]
_T_UP = [(0.16, 0.36, 0.35)]


class TestKnownFiducials:
    """Beats of raised-cosine waves, whose onsets and ends are exact."""

    ms = 1000 / FS

    def test_small_q_wave_is_inside_the_qrs(self):
        # the Q wave's slope is ~1/5 of the R upstroke's: onset must be at the Q's start, not at R's
        x, r = _hann_beats([_QRS + _T_UP])
        d = delineate_beats(x, FS, r)
        onset_ms = (d.qrs_onset[1:-1] - r[1:-1]) * self.ms
        offset_ms = (d.qrs_offset[1:-1] - r[1:-1]) * self.ms
        assert np.all(np.abs(onset_ms + 40) <= 12), onset_ms
        assert np.all(np.abs(offset_ms - 44) <= 12), offset_ms

    @pytest.mark.parametrize("sign", [1.0, -1.0])
    def test_t_end_of_upright_and_inverted_t(self, sign):
        x, r = _hann_beats([_QRS + [(0.16, 0.36, 0.35 * sign)]])
        d = delineate_beats(x, FS, r)
        t_end_ms = (d.t_end[1:-1] - r[1:-1]) * self.ms
        t_peak_ms = (d.t_peak[1:-1] - r[1:-1]) * self.ms
        assert np.all(np.abs(t_peak_ms - 260) <= 8), t_peak_ms
        # (Zhang's window still holds part of the inverted lobe just after +360 ms: a little late)
        assert np.all(np.abs(t_end_ms - 360) <= 30), t_end_ms

    def test_biphasic_t_ends_after_its_second_lobe(self):
        # a small inverted lobe, then the larger upright one, which ends the T at +360 ms
        # (not handled: a larger first lobe whose partner ends > 160 ms after its peak)
        x, r = _hann_beats([_QRS + [(0.14, 0.24, -0.10), (0.24, 0.36, 0.30)]])
        d = delineate_beats(x, FS, r)
        t_end_ms = (d.t_end[1:-1] - r[1:-1]) * self.ms
        # (Zhang's window still holds part of the inverted lobe just after +360 ms: a little late)
        assert np.all(np.abs(t_end_ms - 360) <= 30), t_end_ms

    def test_j_point_follows_the_lead_with_the_larger_qrs(self):
        # lead 1 has a QRS 1/10 the size whose S wave ends 30 ms later: J stays near lead 0's
        lead1 = [(-0.040, -0.016, -0.012), (-0.020, 0.020, 0.12), (0.016, 0.074, -0.03)] + _T_UP
        x, r = _hann_beats([_QRS + _T_UP, lead1], n_leads=2)
        d = delineate_beats(x, FS, r)
        offset_ms = (d.qrs_offset[1:-1] - r[1:-1]) * self.ms
        assert np.all(np.abs(offset_ms - 44) <= 12), offset_ms

    def test_parameters_are_checked(self):
        x, r = _hann_beats([_QRS + _T_UP], n_beats=3)
        with pytest.raises(InvalidParameterError, match="qrs_threshold"):
            delineate_beats(x, FS, r, qrs_threshold=1.5)
        with pytest.raises(InvalidParameterError, match="t_end_search_ms"):
            delineate_beats(x, FS, r, t_end_search_ms=0.0)
