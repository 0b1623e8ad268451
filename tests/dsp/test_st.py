"""ST level and ST episodes: kernels against NumPy references, known shifts on synthetic ECG."""

from __future__ import annotations

import numpy as np
import pytest
from naive_st import baseline_at_ref, running_median_ref, runs_ref, st_fiducials_ref
from synth import synth_ecg

import dsp
from benchmarks._st import add_st_shifts
from dsp import _st as S

KINDS = ["random", "empty", "flat", "nan", "saturated"]


def _fiducial_args(fs_hz):
    ms = fs_hz / 1000.0

    def n(v):
        return max(1, int(round(v * ms)))

    return (fs_hz, S.QRS_FRACTION, S.J_LOCAL_FRACTION, n(S.SLOPE_HALF_MS), n(S.ISO_WINDOW_MS), n(S.ISO_SEARCH_MS),
            n(S.ISO_GAP_MS), S.ISO_MAX_RANGE_MV, n(S.POINT_HALF_MS), S.FAST_RR_MS * ms,
            S.MIN_RR_MS * ms, S.NEXT_R_GUARD_MS * ms, max(3, n(S.SATURATION_RUN_MS)))


def _signal(kind, fs_hz=250.0, seed=0):
    """(x, r_peaks) of each input kind: a noisy synthetic ECG as the 'random' one."""
    rng = np.random.default_rng(seed)
    if kind == "empty":
        return np.zeros((0, 2)), np.zeros(0, np.int64)
    ecg = synth_ecg(fs_hz, 20.0, noise_mv=0.02, wander_mv=0.3, seed=seed)
    x, r = ecg.signal_mv.copy(), ecg.r_samples
    if kind == "random":
        x += rng.normal(0, 0.05, x.shape)  # noisy enough for some PR windows to fail
    elif kind == "flat":
        x[:] = 0.25
    elif kind == "nan":
        for start in rng.choice(x.shape[0] - 50, 6, replace=False):
            x[start : start + 40, rng.integers(2)] = np.nan
    elif kind == "saturated":
        x = np.clip(x, -0.3, 0.6)
    return np.ascontiguousarray(x), r


class TestKernelsAgainstReference:
    @pytest.mark.parametrize("kind", KINDS)
    @pytest.mark.parametrize("fs_hz", [128.0, 250.0, 360.0])
    def test_fiducials(self, kind, fs_hz):
        x, r = _signal(kind, fs_hz)
        j_in = np.full(r.size, -1, np.int64)
        if r.size > 4:
            j_in[3] = r[3] + int(0.05 * fs_hz)  # one imposed J point
        args = _fiducial_args(fs_hz)
        got = S._st_fiducials_kernel(x, r, j_in, *args)
        ref = st_fiducials_ref(x, r, j_in, *args)
        for g, e in zip(got[:3], ref[:3], strict=True):
            np.testing.assert_array_equal(g, e)
        for g, e in zip(got[3:], ref[3:], strict=True):
            np.testing.assert_allclose(g, e, rtol=0, atol=1e-12)
        if kind == "flat":
            assert np.all(got[1] == -1) and np.all(np.isnan(got[5]))
        if kind == "saturated" and fs_hz >= 250:
            # clipped R peaks (flat for >= 20 ms): most beats are not measured
            assert np.isnan(got[5]).mean() > 0.5

    @pytest.mark.parametrize("kind", KINDS)
    def test_baseline(self, kind):
        rng = np.random.default_rng(1)
        nb = 0 if kind == "empty" else 60
        knot_t = np.cumsum(rng.uniform(150, 250, nb))
        knot = 0.3 * np.sin(knot_t[:, None] / 400.0 + np.array([0.0, 1.0])) + rng.normal(0, 0.01, (nb, 2))
        point = (knot_t + rng.uniform(40, 90, nb)).astype(np.int64)
        level = knot + rng.normal(0, 0.1, (nb, 2))
        if kind == "flat":
            knot[:] = 0.2
            level[:] = 0.2
        elif kind == "nan" and nb:
            knot[rng.choice(nb, 8, replace=False), 0] = np.nan
            knot_t[5] = np.nan
            level[rng.choice(nb, 5, replace=False), 1] = np.nan
            point[7] = -1
        elif kind == "saturated" and nb:
            knot[20:30] = 3.0  # a plateau: its edges are too steep a baseline
        max_slope = 1.0 / 250.0
        got = S._baseline_at_kernel(knot_t, knot, point, level, max_slope)
        ref = baseline_at_ref(knot_t, knot, point, level, max_slope)
        np.testing.assert_allclose(got, ref, rtol=0, atol=1e-9)
        if kind == "flat":
            assert np.all(np.abs(got[:-1]) < 1e-12)
        if kind == "saturated":
            assert np.isnan(got[[19, 20, 29, 30]]).all() and np.isfinite(got[22:28]).any()

    @pytest.mark.parametrize("kind", KINDS)
    def test_running_median(self, kind):
        rng = np.random.default_rng(2)
        nb = 0 if kind == "empty" else 300
        t = np.cumsum(rng.uniform(0.4, 1.2, nb))
        v = rng.normal(0, 50, (nb, 2))
        if kind == "flat":
            v[:] = -30.0
        elif kind == "nan" and nb:
            v[rng.choice(nb, 60, replace=False), 0] = np.nan
            v[100:140, 1] = np.nan
        elif kind == "saturated":
            v = np.clip(v, -20, 20)
        got = S._running_median_kernel(t, v, 5.0, 0.5)
        np.testing.assert_allclose(got, running_median_ref(t, v, 5.0, 0.5), rtol=0, atol=1e-12)

    @pytest.mark.parametrize("kind", KINDS)
    def test_runs(self, kind):
        rng = np.random.default_rng(3)
        nb = 0 if kind == "empty" else 2000
        t = np.cumsum(rng.uniform(0.5, 1.0, nb))
        above = np.repeat(rng.random(nb // 20) < 0.4, 20)[:nb] if nb else np.zeros(0, bool)
        if kind == "flat":
            above[:] = True
        elif kind == "nan" and nb:
            above[rng.choice(nb, 100, replace=False)] = False  # unmeasured beats break runs
        elif kind == "saturated":
            above[:] = False
        got = S._runs_kernel(t, above, 10.0, 30.0)
        ref = runs_ref(t, above, 10.0, 30.0)
        np.testing.assert_array_equal(got[0], ref[0])
        np.testing.assert_array_equal(got[1], ref[1])


def _shifted(fs_hz, shift_uv, seed=0, wander_mv=0.1, duration_s=120.0, hr_bpm=72.0, noise_mv=0.005):
    """Synthetic 2-lead ECG with ``shift_uv`` (n_beats, 2) added from J - 10 ms to T end."""
    ecg = synth_ecg(fs_hz, duration_s, hr_bpm=hr_bpm, noise_mv=noise_mv, wander_mv=wander_mv, seed=seed)
    r = ecg.r_samples
    shift = shift_uv(r.size) if callable(shift_uv) else shift_uv
    # synth waves: S wave ends ~R + 45 ms; T wave (0.25 s, SD 45 ms) ends ~R + 0.4 s
    start = r + int(0.04 * fs_hz)
    end = r + int(0.40 * fs_hz)
    return ecg, add_st_shifts(ecg.signal_mv, r, fs_hz, shift, start, end)


class TestMeasureSt:
    @pytest.mark.parametrize("fs_hz", [128.0, 250.0, 360.0, 500.0])
    def test_known_shift_is_measured_within_20_uv(self, fs_hz):
        def shift(nb):
            s = np.zeros((nb, 2))
            s[40:80, 0] = 200.0
            s[60:100, 1] = -150.0
            s[100:120, 0] = -100.0
            return s

        ecg, x = _shifted(fs_hz, shift)  # 5 uV rms noise, 0.1 mV wander at 0.3 Hz
        shifted = shift(ecg.r_samples.size)
        base = dsp.measure_st(ecg.signal_mv, fs_hz, ecg.r_samples).st_uv
        got = dsp.measure_st(x, fs_hz, ecg.r_samples).st_uv
        assert np.isfinite(got[1:-1]).all()  # every beat but the edges measured
        # the synthetic ECG's own ST level (T-wave tail at J + 80 ms) is about +-10 uV,
        # so the truth is the shift plus that beat's level without it
        assert np.abs(np.nanmedian(base, axis=0)).max() < 20 and np.nanmax(np.abs(base)) < 35
        err = np.abs(got - base - shifted)[1:-1]
        assert err.max() <= 20

    def test_one_lead_input_and_shapes(self):
        ecg, x = _shifted(250.0, lambda nb: np.full((nb, 2), 100.0))
        lv = dsp.measure_st(x[:, 0], 250.0, ecg.r_samples)
        assert lv.st_uv.shape == (ecg.r_samples.size, 1)
        assert lv.j_sample.dtype == np.int64 and lv.r_peak is not None
        assert abs(np.nanmedian(lv.st_uv) - 110) < 20
        # the measurement point is J + 80 ms at 72 bpm
        ok = lv.point_sample >= 0
        assert np.all(lv.point_sample[ok] - lv.j_sample[ok] == 20)

    def test_fast_rate_measures_at_j_plus_60(self):
        ecg = synth_ecg(250.0, 30.0, hr_bpm=140, rr_jitter=0.01, seed=3)
        lv = dsp.measure_st(ecg.signal_mv, 250.0, ecg.r_samples)
        ok = lv.point_sample >= 0
        assert np.all(lv.point_sample[ok] - lv.j_sample[ok] == 15)

    def test_given_j_points_are_used(self):
        ecg = synth_ecg(250.0, 20.0, seed=4)
        j = ecg.r_samples + 12
        lv = dsp.measure_st(ecg.signal_mv, 250.0, ecg.r_samples, qrs_offset=j)
        np.testing.assert_array_equal(lv.j_sample[1:-1], j[1:-1])

    def test_edges_short_rr_and_nan_are_not_measured(self):
        ecg = synth_ecg(250.0, 20.0, seed=5)
        x = ecg.signal_mv.copy()
        r = ecg.r_samples
        x[r[6] - 50 : r[6] + 50, 1] = np.nan
        lv = dsp.measure_st(x, 250.0, r)
        assert np.isnan(lv.st_uv[6, 1]) and np.isfinite(lv.st_uv[6, 0])
        assert np.isnan(lv.st_uv[-1]).all()  # no next knot
        # an extra "beat" 200 ms after a real one: RR too short
        r2 = np.sort(np.append(r, r[8] + 50))
        lv2 = dsp.measure_st(ecg.signal_mv, 250.0, r2)
        assert np.isnan(lv2.st_uv[np.searchsorted(r2, r[8] + 50)]).all()

    @pytest.mark.parametrize("hr_bpm", [60.0, 72.0, 90.0])
    def test_moderate_wander_is_followed(self, hr_bpm):
        """0.3 mV at 0.3 Hz: every beat measured, the ST level barely moved."""
        def measure(wander_mv):
            ecg = synth_ecg(360.0, 120.0, hr_bpm=hr_bpm, noise_mv=0.005, wander_mv=wander_mv, seed=7)
            return dsp.measure_st(ecg.signal_mv, 360.0, ecg.r_samples).st_uv

        calm, wavy = measure(0.0), measure(0.3)
        assert np.isfinite(wavy[1:-1]).all()
        err = np.abs(wavy - calm)[1:-1]
        assert np.percentile(err, 95) <= 20 and err.max() <= 75

    def test_heavy_wander_is_rejected_not_misread(self):
        """1 mV at 0.3 Hz: the baseline moves > 1 mV/s between knots; beats are left out, not misread."""
        calm = synth_ecg(360.0, 120.0, noise_mv=0.005, wander_mv=0.0, seed=8)
        wavy = synth_ecg(360.0, 120.0, noise_mv=0.005, wander_mv=1.0, seed=8)
        st0 = dsp.measure_st(calm.signal_mv, 360.0, calm.r_samples).st_uv
        st1 = dsp.measure_st(wavy.signal_mv, 360.0, wavy.r_samples).st_uv
        ok = np.isfinite(st1)
        assert ok.mean() < 0.5
        assert np.all(np.abs(st1[ok] - st0[ok]) < 200)

    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            ({"fs_hz": 20.0}, r"fs_hz must be between 100 and 1000 Hz, got 20"),
            ({"signal": np.zeros((10, 2, 2))}, r"signal must be 1-D .* got shape \(10, 2, 2\)"),
            ({"signal": np.array(["a"] * 100)}, r"signal must be numeric"),
            ({"r_peaks": np.array([5, 3])}, r"r_peaks must be strictly increasing"),
            ({"r_peaks": np.array([[1, 2]])}, r"r_peaks must be 1-D"),
            ({"r_peaks": np.array([10, 5000])}, r"r_peaks must lie in 0..2499"),
            ({"r_peaks": np.array([10.5])}, r"r_peaks must be integer sample indices"),
            ({"qrs_offset": np.array([1, 2])}, r"qrs_offset must have one J point per R peak"),
        ],
    )
    def test_bad_input_messages(self, kwargs, match):
        call = {"signal": np.zeros(2500), "fs_hz": 250.0, "r_peaks": np.array([100, 300, 500])}
        call.update(kwargs)
        with pytest.raises(ValueError, match=match):
            dsp.measure_st(call.pop("signal"), call.pop("fs_hz"), call.pop("r_peaks"), **call)

    def test_empty_r_peaks(self):
        lv = dsp.measure_st(np.zeros((1000, 2)), 250.0, np.zeros(0, np.int64))
        assert lv.st_uv.shape == (0, 2)


class TestFindStEpisodes:
    def _episode_record(self, amp_uv, lead, start_s, dur_s, fs_hz=250.0, duration_s=300.0, seed=0):
        def shift(nb):
            s = np.zeros((nb, 2))
            t = np.arange(nb) * 60.0 / 72.0 + 0.4
            s[(t >= start_s) & (t <= start_s + dur_s), lead] = amp_uv
            return s

        return _shifted(fs_hz, shift, duration_s=duration_s, seed=seed)

    @pytest.mark.parametrize(("amp", "kind"), [(200.0, "elevation"), (-200.0, "depression")])
    def test_added_episode_is_found(self, amp, kind):
        ecg, x = self._episode_record(amp, 1, 100.0, 60.0)
        lv = dsp.measure_st(x, 250.0, ecg.r_samples)
        eps = dsp.find_st_episodes(lv.st_uv, ecg.r_samples, 250.0)
        assert len(eps) == 1
        ep = eps[0]
        assert (ep.lead, ep.kind) == (1, kind)
        assert abs(ep.start_sample / 250.0 - 100.0) < 8 and abs(ep.duration_s - 60.0) < 10
        assert abs(ep.peak_uv - amp) < 40 and np.sign(ep.peak_uv) == np.sign(amp)

    def test_too_short_a_deviation_is_no_episode(self):
        ecg, x = self._episode_record(300.0, 0, 100.0, 20.0)
        lv = dsp.measure_st(x, 250.0, ecg.r_samples)
        assert dsp.find_st_episodes(lv.st_uv, ecg.r_samples, 250.0) == ()

    @pytest.mark.parametrize(("wander_mv", "hr_bpm"), [(1.0, 72.0), (0.5, 60.0)])
    def test_sinusoidal_wander_makes_no_episode(self, wander_mv, hr_bpm):
        ecg = synth_ecg(360.0, 600.0, hr_bpm=hr_bpm, noise_mv=0.01, wander_mv=wander_mv, seed=9)
        lv = dsp.measure_st(ecg.signal_mv, 360.0, ecg.r_samples)
        if wander_mv < 1.0:
            assert np.isfinite(lv.st_uv).mean() > 0.9  # measured, not just rejected
        assert dsp.find_st_episodes(lv.st_uv, ecg.r_samples, 360.0) == ()
        assert dsp.find_st_episodes(lv.st_uv, ecg.r_samples, 360.0, reference_uv=0.0) == ()

    def test_single_noisy_beats_neither_make_nor_break_an_episode(self):
        r = np.arange(300) * 200 + 100  # 0.8 s at 250 Hz
        st = np.zeros((300, 1))
        st[100:200] = -150.0
        st[150] = 0.0  # one beat back to baseline inside the episode
        st[160] = np.nan
        st[250] = -900.0  # one wild beat outside
        eps = dsp.find_st_episodes(st, r, 250.0)
        assert len(eps) == 1 and eps[0].kind == "depression" and eps[0].peak_uv == -150.0
        assert abs(eps[0].start_sample - r[100]) <= 7 * 200 and abs(eps[0].end_sample - r[199]) <= 7 * 200

    def test_reference_is_the_first_30_s_or_given(self):
        r = np.arange(300) * 200 + 100
        st = np.full((300, 1), 120.0)  # a constant offset: not an episode against itself
        assert dsp.find_st_episodes(st, r, 250.0) == ()
        eps = dsp.find_st_episodes(st, r, 250.0, reference_uv=0.0)
        assert len(eps) == 1 and eps[0].kind == "elevation"

    def test_gaps_shorter_than_merge_gap_are_merged(self):
        r = np.arange(400) * 250 + 100  # 1 s beats at 250 Hz
        st = np.zeros((400, 1))
        st[100:140] = 200.0
        st[160:200] = 200.0  # 20 s later
        assert len(dsp.find_st_episodes(st, r, 250.0)) == 1
        assert len(dsp.find_st_episodes(st, r, 250.0, merge_gap_s=10.0)) == 2

    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            ({"threshold_uv": 0.0}, r"threshold_uv must be a positive number, got 0.0"),
            ({"min_duration_s": -1.0}, r"min_duration_s must be a positive number"),
            ({"smooth_s": float("nan")}, r"smooth_s must be a number >= 0"),
            ({"reference_uv": [1.0, 2.0, 3.0]}, r"reference_uv must be a number or one per lead"),
        ],
    )
    def test_bad_parameter_messages(self, kwargs, match):
        with pytest.raises(ValueError, match=match):
            dsp.find_st_episodes(np.zeros((5, 2)), np.arange(5) * 200, 250.0, **kwargs)

    def test_bad_shapes(self):
        with pytest.raises(ValueError, match=r"st_uv has 5 beats but r_peaks has 4"):
            dsp.find_st_episodes(np.zeros((5, 2)), np.arange(4) * 200, 250.0)
        with pytest.raises(ValueError, match=r"st_uv must be \(n_beats,\)"):
            dsp.find_st_episodes(np.zeros((5, 2, 1)), np.arange(5) * 200, 250.0)

    def test_empty(self):
        assert dsp.find_st_episodes(np.zeros((0, 2)), np.zeros(0, np.int64), 250.0) == ()
