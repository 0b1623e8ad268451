"""The streaming QRS detector: kernels against references, streaming against
batch, sampling rates, signal quality and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from naive_qrs import lead_features_ref
from synth import match_count, synth_ecg

import dsp
from dsp import _qrs_kernel as K

# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def _stage1(x: np.ndarray, fs_hz: float):
    """Run the stage-1 kernel over a whole lead at once (rings as long as the signal)."""
    det = dsp.QrsDetector(fs_hz, 1)
    ip = det._ip.copy()
    dec = int(ip[K.DP_DEC])
    n_int = x.size // dec
    ring = 1 << int(np.ceil(np.log2(max(n_int, 2) + 2)))
    ip[K.DP_RING] = ring
    ip[K.DP_RAW_RING] = 1 << int(np.ceil(np.log2(max(x.size, 2) + 2)))
    lead_f = np.zeros((1, K.N_LF))
    lead_i = np.zeros((1, K.N_LI), np.int64)
    zi = np.zeros((1, det._sos.shape[0], 2))
    sq_ring = np.zeros((1, int(ip[K.DP_MWI_LEN])))
    frings = np.zeros((K.N_RINGS, 1, ring))
    bad_ring = np.zeros((1, ring), np.uint8)
    raw_ring = np.zeros((1, int(ip[K.DP_RAW_RING])))
    xx = np.ascontiguousarray(x[:, None], dtype=np.float64)
    n_out = K._lead_block(xx, 0, x.size, 0, 0, 0, det._sos, ip, det._fp, lead_f, lead_i, zi,
                          sq_ring, frings, bad_ring, raw_ring)
    assert n_out == n_int
    ref = lead_features_ref(
        x, dec=dec, sos=det._sos, fs_internal_hz=fs_hz / dec, mwi_len=int(ip[K.DP_MWI_LEN]),
        flat_len=int(ip[K.DP_FLAT_LEN]), settle_len=int(ip[K.DP_SETTLE_LEN]),
    )
    got = (frings[K.RING_BP, 0, :n_int], frings[K.RING_MWI, 0, :n_int],
           frings[K.RING_SLOPE, 0, :n_int], bad_ring[0, :n_int].astype(bool))
    return got, ref


def _detect_in_chunks(signal: np.ndarray, fs_hz: float, sizes) -> tuple[np.ndarray, np.ndarray]:
    det = dsp.QrsDetector(fs_hz, signal.shape[1])
    peaks, bad = [], []
    start = 0
    for size in sizes:
        upd = det.feed(signal[start:start + size])
        peaks.append(upd.r_peaks)
        bad.append(upd.unusable)
        start += size
    upd = det.feed(signal[start:])
    peaks.append(upd.r_peaks)
    bad.append(upd.unusable)
    end = det.finish()
    peaks.append(end.r_peaks)
    bad.append(end.unusable)
    return np.concatenate(peaks), np.concatenate(bad)


_RNG = np.random.default_rng(1234)
_SIGNALS = {
    "random": _RNG.standard_normal(4000),
    "empty": np.empty(0),
    "flat": np.full(4000, 0.7),
    "nan": np.where(np.arange(4000) % 700 < 150, np.nan, _RNG.standard_normal(4000)),
    "all_nan": np.full(3000, np.nan),
    "inf": np.where(np.arange(4000) == 1234, np.inf, _RNG.standard_normal(4000)),
    "saturated": np.clip(3 * _RNG.standard_normal(4000), -2.5, 2.5),
    "ecg": synth_ecg(360.0, 12.0, n_leads=1).signal_mv[:, 0],
}


# ---------------------------------------------------------------------------
# stage 1 against the slow reference
# ---------------------------------------------------------------------------
class TestLeadFeaturesKernel:
    @pytest.mark.parametrize("name", sorted(_SIGNALS))
    @pytest.mark.parametrize("fs_hz", [128.0, 360.0, 1000.0])
    def test_matches_reference(self, name, fs_hz):
        (bp, mwi, slope, bad), (bp_r, mwi_r, slope_r, bad_r) = _stage1(_SIGNALS[name], fs_hz)
        scale = max(1.0, float(np.max(np.abs(mwi_r), initial=0.0)))
        np.testing.assert_allclose(bp, bp_r, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(slope, slope_r, rtol=1e-7, atol=1e-7 * np.sqrt(scale))
        np.testing.assert_allclose(mwi, mwi_r, rtol=1e-7, atol=1e-9 * scale)
        np.testing.assert_array_equal(bad, bad_r)

    def test_flat_and_nan_are_flagged(self):
        (_, _, _, bad), _ = _stage1(_SIGNALS["flat"], 360.0)
        assert bad[-100:].all(), "a flat lead must be marked unusable"
        (_, _, _, bad), _ = _stage1(_SIGNALS["all_nan"], 360.0)
        assert bad.all()


# ---------------------------------------------------------------------------
# whole detector
# ---------------------------------------------------------------------------
class TestDetectQrs:
    @pytest.mark.parametrize("fs_hz", [100.0, 128.0, 250.0, 257.0, 360.0, 500.0, 1000.0])
    def test_finds_every_beat_at_any_rate(self, fs_hz):
        ecg = synth_ecg(fs_hz, 120.0, hr_bpm=75.0, seed=int(fs_hz))
        r = dsp.detect_qrs(ecg.signal_mv, fs_hz)
        assert r.dtype == np.int64
        assert np.all(np.diff(r) > 0)
        # the first beats fall in the 2-s learning period
        truth = ecg.r_samples[ecg.r_samples > 3 * fs_hz]
        found = r[r > 3 * fs_hz]
        tp, fn, fp = match_count(truth, found, tol=int(0.05 * fs_hz))
        assert (fn, fp) == (0, 0)
        # and R is found where it is, not just near it
        err_s = np.abs(found - truth) / fs_hz
        assert np.median(err_s) < 0.006

    @pytest.mark.parametrize("hr_bpm", [35.0, 60.0, 120.0, 180.0])
    def test_heart_rates(self, hr_bpm):
        ecg = synth_ecg(360.0, 90.0, hr_bpm=hr_bpm, rr_jitter=0.02, seed=3)
        r = dsp.detect_qrs(ecg.signal_mv, 360.0)
        truth = ecg.r_samples[ecg.r_samples > 3 * 360]
        tp, fn, fp = match_count(truth, r[r > 3 * 360], tol=18)
        assert (fn, fp) == (0, 0)

    def test_one_lead_and_two_leads_agree_on_clean_signal(self):
        ecg = synth_ecg(250.0, 60.0, seed=5)
        both = dsp.detect_qrs(ecg.signal_mv, 250.0)
        first = dsp.detect_qrs(ecg.signal_mv[:, 0], 250.0)
        after_learning = 3 * 250  # the 2-s learning period may keep or drop its last beat
        tp, fn, fp = match_count(first[first > after_learning], both[both > after_learning], tol=5)
        assert (fn, fp) == (0, 0)

    def test_int16_input_is_accepted(self):
        ecg = synth_ecg(360.0, 30.0, n_leads=1, seed=7)
        adc = np.round(ecg.signal_mv * 200).astype(np.int16)
        r_adc = dsp.detect_qrs(adc, 360.0)
        assert r_adc.size == dsp.detect_qrs(ecg.signal_mv, 360.0).size

    @pytest.mark.parametrize("name", ["empty", "flat", "all_nan", "saturated"])
    def test_no_beats_in_unusable_signal(self, name):
        x = _SIGNALS[name]
        if name == "saturated":
            x = np.full(20 * 360, 2.5)  # stuck at the rail
        else:
            x = np.resize(x, 20 * 360) if x.size else x
        assert dsp.detect_qrs(x, 360.0).size == 0

    def test_pure_noise_gives_few_beats_per_second(self):
        # white noise has no QRS; the detector may pick noise peaks but must
        # not invent a fast rhythm out of it
        x = np.random.default_rng(9).standard_normal(60 * 360) * 0.05
        assert dsp.detect_qrs(x, 360.0).size < 60 * 3.5


class TestSignalQuality:
    def _ecg_with(self, lead1):
        ecg = synth_ecg(360.0, 60.0, seed=11)
        sig = ecg.signal_mv.copy()
        sig[:, 1] = lead1(sig[:, 1])
        return ecg, sig

    @pytest.mark.parametrize("damage", ["flat", "nan", "saturated", "noise"])
    def test_one_bad_lead_does_not_hurt(self, damage):
        rng = np.random.default_rng(2)
        damages = {
            "flat": lambda x: np.zeros_like(x),
            "nan": lambda x: np.full_like(x, np.nan),
            "saturated": lambda x: np.full_like(x, 5.0),
            "noise": lambda x: x + 1.0 * rng.standard_normal(x.size),
        }
        ecg, sig = self._ecg_with(damages[damage])
        r = dsp.detect_qrs(sig, 360.0)
        truth = ecg.r_samples[ecg.r_samples > 5 * 360]
        tp, fn, fp = match_count(truth, r[r > 5 * 360], tol=18)
        assert fn <= 1 and fp <= 1, (damage, fn, fp)

    @pytest.mark.parametrize("damage", ["flat", "nan", "saturated"])
    def test_all_leads_unusable_is_marked_and_beatless(self, damage):
        ecg = synth_ecg(360.0, 60.0, seed=13)
        sig = ecg.signal_mv.copy()
        lo, hi = 20 * 360, 35 * 360
        sig[lo:hi] = {"flat": 0.3, "nan": np.nan, "saturated": -5.0}[damage]
        res = dsp.analyze_qrs(sig, 360.0)
        assert not np.any((res.r_peaks > lo + 0.3 * 360) & (res.r_peaks < hi - 0.05 * 360))
        assert res.unusable.shape[1] == 2 and len(res.unusable) >= 1
        start, end = res.unusable[0]
        # flat/clipped stretches are recognised after 0.3 s of constant input;
        # lead-off (NaN) at once; usable again after 0.3 s of settling
        assert lo <= start <= lo + 0.35 * 360
        assert hi <= end <= hi + 0.4 * 360
        # beats come back after the gap
        truth = ecg.r_samples[ecg.r_samples > hi + 3 * 360]
        tp, fn, fp = match_count(truth, res.r_peaks[res.r_peaks > hi + 3 * 360], tol=18)
        assert fn <= 1 and fp == 0

    def test_unusable_to_the_end_is_closed_at_the_last_sample(self):
        ecg = synth_ecg(360.0, 30.0, seed=17)
        sig = ecg.signal_mv.copy()
        sig[20 * 360:] = np.nan
        res = dsp.analyze_qrs(sig, 360.0)
        assert res.unusable[-1, 1] == sig.shape[0]


# ---------------------------------------------------------------------------
# streaming == batch
# ---------------------------------------------------------------------------
_STREAM_ECG = synth_ecg(257.0, 40.0, noise_mv=0.03, seed=21)
_STREAM_SIG = _STREAM_ECG.signal_mv.copy()
_STREAM_SIG[4000:4300, 0] = np.nan  # a lead-off stretch in one lead
_STREAM_SIG[6000:6600, :] = 0.0  # and a flat stretch in both
_STREAM_BATCH = dsp.analyze_qrs(_STREAM_SIG, 257.0)


class TestStreaming:
    def test_one_second_chunks_equal_batch(self):
        peaks, bad = _detect_in_chunks(_STREAM_SIG, 257.0, [257] * 39)
        np.testing.assert_array_equal(peaks, _STREAM_BATCH.r_peaks)
        np.testing.assert_array_equal(bad, _STREAM_BATCH.unusable)
        assert _STREAM_BATCH.unusable.size > 0

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(st.integers(min_value=0, max_value=3000), max_size=12))
    def test_random_chunks_equal_batch(self, sizes):
        peaks, bad = _detect_in_chunks(_STREAM_SIG, 257.0, sizes)
        np.testing.assert_array_equal(peaks, _STREAM_BATCH.r_peaks)
        np.testing.assert_array_equal(bad, _STREAM_BATCH.unusable)

    def test_sample_by_sample_equals_batch(self):
        sig = _STREAM_SIG[:3000]
        peaks, _ = _detect_in_chunks(sig, 257.0, [1] * 2999)
        np.testing.assert_array_equal(peaks, dsp.detect_qrs(sig, 257.0))

    def test_beats_are_reported_within_the_latency(self):
        det = dsp.QrsDetector(257.0, 2)
        reported: list[int] = []
        for start in range(0, _STREAM_SIG.shape[0], 64):
            reported.extend(det.feed(_STREAM_SIG[start:start + 64]).r_peaks.tolist())
            end = min(start + 64, _STREAM_SIG.shape[0])
            due = _STREAM_BATCH.r_peaks[_STREAM_BATCH.r_peaks < end - det.latency_samples]
            assert set(due.tolist()) <= set(reported)
        assert det.samples_seen == _STREAM_SIG.shape[0]

    def test_state_does_not_grow(self):
        det = dsp.QrsDetector(360.0, 2)
        sizes = [a.nbytes for a in det._state]
        ecg = synth_ecg(360.0, 60.0, seed=23).signal_mv
        for _ in range(5):
            det.feed(ecg)
        assert [a.nbytes for a in det._state] == sizes


# ---------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------
class TestBadInput:
    @pytest.mark.parametrize("fs_hz", [0, 50, 99.9, 1000.1, -360, float("nan"), "fast", None])
    def test_sampling_rate_out_of_range(self, fs_hz):
        with pytest.raises(dsp.InvalidParameterError, match="fs_hz"):
            dsp.detect_qrs(np.zeros(1000), fs_hz)

    def test_errors_are_value_errors(self):
        assert issubclass(dsp.InvalidParameterError, ValueError)
        assert issubclass(dsp.InvalidSignalError, ValueError)
        assert issubclass(dsp.InvalidSignalError, dsp.DspError)

    @pytest.mark.parametrize("shape", [(10, 2, 2), ()])
    def test_wrong_dimensions(self, shape):
        with pytest.raises(dsp.InvalidSignalError, match="shape"):
            dsp.detect_qrs(np.zeros(shape), 360.0)

    def test_no_leads(self):
        with pytest.raises(dsp.InvalidSignalError, match="at least one lead"):
            dsp.detect_qrs(np.zeros((100, 0)), 360.0)

    def test_non_numeric(self):
        with pytest.raises(dsp.InvalidSignalError, match="numeric"):
            dsp.detect_qrs(np.array(["a", "b"]), 360.0)

    def test_feed_with_wrong_lead_count(self):
        det = dsp.QrsDetector(360.0, 2)
        with pytest.raises(dsp.InvalidSignalError, match="3 leads"):
            det.feed(np.zeros((10, 3)))

    @pytest.mark.parametrize("n_leads", [0, 17, 1.5, "2"])
    def test_bad_lead_count(self, n_leads):
        with pytest.raises(dsp.InvalidParameterError, match="n_leads"):
            dsp.QrsDetector(360.0, n_leads)

    def test_feed_after_finish(self):
        det = dsp.QrsDetector(360.0, 1)
        det.finish()
        with pytest.raises(dsp.InvalidParameterError, match="finish"):
            det.feed(np.zeros(10))
        assert det.finish().r_peaks.size == 0


class TestConfig:
    @pytest.mark.parametrize(
        ("field", "value", "match"),
        [("refractory_s", 0.0, "refractory_s"), ("noise_ref", -1.0, "noise_ref"),
         ("learn_s", float("nan"), "learn_s"), ("band_low_hz", 30.0, "band_low_hz"),
         ("threshold_fraction", 1.5, "threshold_fraction")],
    )
    def test_bad_settings_are_refused(self, field, value, match):
        with pytest.raises(dsp.InvalidParameterError, match=match):
            dsp.QrsConfig(**{field: value})

    def test_settings_change_the_result(self):
        ecg = synth_ecg(360.0, 60.0, hr_bpm=60.0, seed=29)
        default = dsp.detect_qrs(ecg.signal_mv, 360.0)
        # a 1.2 s refractory period cannot follow a 1 s rhythm
        slow = dsp.analyze_qrs(ecg.signal_mv, 360.0, dsp.QrsConfig(refractory_s=1.2)).r_peaks
        assert slow.size < 0.7 * default.size
