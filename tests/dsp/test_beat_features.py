"""Per-beat features: kernels against slow references, streaming == batch, any sampling rate."""

from __future__ import annotations

import numpy as np
import pytest
from naive_beats import (
    nn_rr_features,
    resample_windows,
    rr_features,
    rr_upper_features,
    rr_upper_features_sorting,
    template_features,
    template_features_uncached,
)
from synth import synth_ecg

import dsp
from dsp import _beat_features as F
from dsp import _beat_kernels as K

N_WIN = 12
N_PRE = 4


def _signals():
    rng = np.random.default_rng(7)
    rand = rng.normal(0, 1, (2, 400))
    nan = rand.copy()
    nan[0, 100:140] = np.nan
    nan[1, 250] = np.nan
    sat = np.clip(rand * 5, -3, 3)
    return {
        "random": rand,
        "flat": np.zeros((2, 400)),
        "nan": nan,
        "saturated": sat,
        "all_nan": np.full((1, 50), np.nan),
    }


@pytest.mark.parametrize("kind", list(_signals()))
@pytest.mark.parametrize("step", [0.78125, 1.0, 1.953125, 2.8125, 7.8125])
class TestResampleWindows:
    def test_matches_reference(self, kind, step):
        sig = np.ascontiguousarray(_signals()[kind])
        n = sig.shape[1]
        centers = np.array([0.0, 3.5, n / 3, n / 2 + 0.25, n - 2.0, n + 5.0])
        half = int(np.ceil(step)) // 2
        out = np.empty((centers.size, sig.shape[0], N_WIN))
        n_valid = np.empty((centers.size, sig.shape[0]), np.int64)
        K.resample_windows(sig, centers, step, half, N_PRE, out, n_valid)
        ref, ref_valid = resample_windows(sig, centers, step, half, N_PRE, N_WIN)
        np.testing.assert_array_equal(n_valid, ref_valid)
        np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12)

    def test_no_beats(self, kind, step):
        sig = np.ascontiguousarray(_signals()[kind])
        out = np.empty((0, sig.shape[0], N_WIN))
        n_valid = np.empty((0, sig.shape[0]), np.int64)
        K.resample_windows(sig, np.zeros(0), step, 1, N_PRE, out, n_valid)
        assert out.shape[0] == 0


def test_resample_windows_same_inside_and_at_the_signal_end():
    """A window wholly inside the signal (the unchecked path) equals, bit for bit, the
    same window whose last point is the signal's last sample (the checked path)."""
    rng = np.random.default_rng(4)
    sig = np.ascontiguousarray(rng.normal(0, 1, (2, 300)))
    centers = np.array([40.0, 100.0, 200.0])
    got = []
    for n in (300, 200 + N_WIN - N_PRE):  # ... and a signal ending at the last window's last point
        out = np.empty((centers.size, 2, N_WIN))
        n_valid = np.empty((centers.size, 2), np.int64)
        K.resample_windows(np.ascontiguousarray(sig[:, :n]), centers, 1.0, 0, N_PRE, out, n_valid)
        got.append((out, n_valid))
    np.testing.assert_array_equal(got[0][0], got[1][0])
    np.testing.assert_array_equal(got[0][1], got[1][1])
    assert (got[1][1] == N_WIN).all()


def _times(kind: str) -> np.ndarray:
    rng = np.random.default_rng(3)
    if kind == "random":
        return np.cumsum(rng.uniform(0.3, 1.6, 60))
    if kind == "flat":
        return np.arange(40) * 0.8
    if kind == "extreme":  # intervals outside the clip range both ways
        return np.cumsum([0.05, 0.05, 5.0, 0.8, 0.8, 10.0, 0.1, 0.9, 0.9, 0.9])
    return np.zeros(0)  # empty


@pytest.mark.parametrize("kind", ["random", "flat", "extreme", "empty"])
class TestRrKernels:
    def test_rr_features_match_reference(self, kind):
        t = _times(kind)
        state = np.zeros(K.N_RR_STATE + K.RR_HIST)
        state[K.RS_LAST_T] = np.nan
        out = np.empty((t.size, K.N_RR))
        K.rr_features(t, t.size, state, out)
        np.testing.assert_allclose(out, rr_features(t, t.size), rtol=1e-12)

    def test_rr_features_in_pieces_equal_whole(self, kind):
        t = _times(kind)
        whole = np.empty((t.size, K.N_RR))
        s = np.zeros(K.N_RR_STATE + K.RR_HIST)
        s[K.RS_LAST_T] = np.nan
        K.rr_features(t, t.size, s, whole)
        s = np.zeros_like(s)
        s[K.RS_LAST_T] = np.nan
        parts = []
        cuts = [0, 3, 4, 17, t.size] if t.size > 17 else [0, t.size]
        for a, b in zip(cuts[:-1], cuts[1:], strict=True):
            out = np.empty((b - a, K.N_RR))
            K.rr_features(t[a : b + 1], b - a, s, out)  # one-beat lookahead
            parts.append(out)
        np.testing.assert_allclose(np.concatenate(parts), whole, rtol=1e-12)

    def test_nn_rr_features_match_reference(self, kind):
        t = _times(kind)
        is_dom = (np.random.default_rng(1).random(t.size) > 0.3).astype(float)
        state = np.zeros(K.N_NN_STATE + K.RR_HIST)
        state[K.NS_LAST_T] = np.nan
        out = np.empty((t.size, K.N_NN))
        K.nn_rr_features(t, t.size, is_dom, state, out)
        np.testing.assert_allclose(out, nn_rr_features(t, t.size, is_dom), rtol=1e-12)

    def test_rr_upper_features_match_reference_whole_and_in_pieces(self, kind):
        t = _times(kind)
        if kind == "random":  # longer than the history, with ectopic-like short intervals
            rng = np.random.default_rng(5)
            t = np.cumsum(np.where(rng.random(90) < 0.6, 0.5, 1.4) + rng.uniform(-0.05, 0.05, 90))
        ref = rr_upper_features(t, t.size)
        state = np.zeros(K.N_UP_STATE + K.RR_UPPER_HIST)
        state[K.US_LAST_T] = np.nan
        out = np.empty((t.size, K.N_UP))
        K.rr_upper_features(t, t.size, state, out)
        np.testing.assert_allclose(out, ref, rtol=1e-12)
        state = np.zeros_like(state)
        state[K.US_LAST_T] = np.nan
        parts = []
        cuts = [0, 3, 4, 40, t.size] if t.size > 40 else [0, t.size]
        for a, b in zip(cuts[:-1], cuts[1:], strict=True):
            part = np.empty((b - a, K.N_UP))
            K.rr_upper_features(t[a : b + 1], b - a, state, part)  # one-beat lookahead
            parts.append(part)
        np.testing.assert_allclose(np.concatenate(parts), ref, rtol=1e-12)


class TestRrUpperSortedHistory:
    """The kernel keeps its history sorted across beats and calls: bit for bit the
    values of sorting it at every beat (ties, a history rolled over many times)."""

    @pytest.mark.parametrize("seed", [0, 1, 2])
    def test_same_floats_as_sorting_each_beat(self, seed):
        rng = np.random.default_rng(seed)
        # intervals on a 1/128-s grid (many equal ones), some outside the clip range
        rr = rng.integers(20, 260, 400) / 128.0
        t = np.cumsum(np.where(rng.random(400) < 0.02, 3.5, rr))
        want = rr_upper_features_sorting(t, t.size)
        state = np.zeros(K.N_UP_STATE + K.RR_UPPER_HIST)
        state[K.US_LAST_T] = np.nan
        parts, a = [], 0
        for b in [1, 2, 3, 35, 36, 200, 399, t.size]:
            part = np.empty((b - a, K.N_UP))
            K.rr_upper_features(t[a : b + 1], b - a, state, part)
            parts.append(part)
            a = b
        np.testing.assert_array_equal(np.concatenate(parts), want)


def _wins(kind: str) -> np.ndarray:
    rng = np.random.default_rng(11)
    base = np.sin(np.linspace(0, 3, F.WINDOW_LEN))[None, None, :] * np.array([1.0, 0.5])[None, :, None]
    if kind == "random":  # two morphologies with noise, and outliers
        w = np.repeat(base, 80, axis=0) + rng.normal(0, 0.05, (80, 2, F.WINDOW_LEN))
        w[::5] = -2.0 * w[::5]
        w[::7] = rng.normal(0, 1, (len(w[::7]), 2, F.WINDOW_LEN))
        return w
    if kind == "flat":
        return np.zeros((20, 2, F.WINDOW_LEN))
    if kind == "saturated":
        return np.clip(np.repeat(base * 10, 20, axis=0), -3, 3)
    if kind == "one_lead":
        return np.repeat(base[:, :1], 15, axis=0) + rng.normal(0, 0.2, (15, 1, F.WINDOW_LEN))
    return np.zeros((0, 2, F.WINDOW_LEN))


@pytest.mark.parametrize("kind", ["random", "flat", "saturated", "one_lead", "empty"])
def test_template_features_match_reference(kind):
    wins = np.ascontiguousarray(_wins(kind))
    n, n_leads, _ = wins.shape
    weights = np.where(np.arange(n) % 3 == 0, 0.2, 1.0)
    params = F.TemplateConfig().as_array()
    templates = np.zeros((F.N_CLUSTERS, n_leads, F.WINDOW_LEN))
    counts = np.zeros(F.N_CLUSTERS)
    dom = np.empty_like(wins)
    out = np.empty((n, K.N_TF))
    K.template_features(wins, weights, F.QRS_LO, F.QRS_HI, params, templates, counts, dom, out)
    ref_dom, ref_out = template_features(wins, weights, F.QRS_LO, F.QRS_HI, params, F.N_CLUSTERS)
    np.testing.assert_allclose(dom, ref_dom, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(out, ref_out, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("kind", ["random", "flat", "saturated", "one_lead", "empty"])
def test_template_features_same_floats_as_uncached_kernel(kind):
    """Centring each operand once changes no bit of the outputs or the carried state."""
    wins = np.ascontiguousarray(_wins(kind))
    if kind == "random":  # more beats than clusters, several morphologies: joins, merges, new slots
        wins = np.ascontiguousarray(np.concatenate([wins, wins[::-1] * 1.3, wins[::3] * 0.8]))
    n, n_leads, _ = wins.shape
    weights = np.where(np.arange(n) % 3 == 0, 0.2, 1.0)
    params = F.TemplateConfig().as_array()
    state = {}
    for name in ("new", "old"):
        templates = np.zeros((F.N_CLUSTERS, n_leads, F.WINDOW_LEN))
        counts = np.zeros(F.N_CLUSTERS)
        dom = np.empty_like(wins)
        out = np.empty((n, K.N_TF))
        for a, b in ((0, 1), (1, 7), (7, n // 2), (n // 2, n)):  # state carried between calls
            a, b = min(a, n), min(b, n)
            fn = K.template_features if name == "new" else template_features_uncached
            fn(wins[a:b], weights[a:b], F.QRS_LO, F.QRS_HI, params, templates, counts, dom[a:b],
               out[a:b])
        state[name] = (templates, counts, dom, out)
    for new, old in zip(state["new"], state["old"], strict=True):
        np.testing.assert_array_equal(new, old)
    if kind == "random":
        assert np.unique(state["new"][3][:, K.TF_IS_DOMINANT]).size == 2


class TestBeatFeatureExtractor:
    def test_streaming_equals_batch(self):
        ecg = synth_ecg(360.0, 60.0, seed=2)
        peaks = dsp.detect_qrs(ecg.signal_mv, ecg.fs_hz)
        whole = dsp.extract_beat_features(ecg.signal_mv, ecg.fs_hz, peaks)
        ex = dsp.BeatFeatureExtractor(ecg.fs_hz, 2, lookback_s=4.0)
        parts = []
        rng = np.random.default_rng(0)
        pos = 0
        n = ecg.signal_mv.shape[0]
        while pos < n:
            step = int(rng.integers(1, 2000))
            block = ecg.signal_mv[pos : pos + step]
            # peaks are reported a little late, as a detector does
            new = peaks[(peaks < pos + step - 200) & (peaks >= pos - 200)] if pos else peaks[peaks < step - 200]
            parts.append(ex.feed(block, new))
            pos += step
        rest = peaks[peaks >= n - 200] if n > 200 else peaks
        rest = rest[rest > (np.concatenate([p.r_peaks for p in parts]).max() if any(p.n_beats for p in parts) else -1)]
        parts.append(ex.feed(np.zeros((0, 2)), rest[rest > ex._last_peak]))
        parts.append(ex.finish())
        got = dsp.BeatFeatures.concat(parts, 2)
        np.testing.assert_array_equal(got.r_peaks, whole.r_peaks)
        for name in ("beat", "dominant", "rr", "template", "valid_fraction"):
            np.testing.assert_array_equal(getattr(got, name), getattr(whole, name), err_msg=name)

    @pytest.mark.parametrize("fs_hz", [128.0, 250.0, 257.0, 360.0])
    def test_windows_agree_across_sampling_rates(self, fs_hz):
        ref = synth_ecg(360.0, 30.0, noise_mv=0.0, wander_mv=0.0, seed=5)
        ecg = synth_ecg(fs_hz, 30.0, noise_mv=0.0, wander_mv=0.0, seed=5)
        a = dsp.extract_beat_features(ref.signal_mv, ref.fs_hz, ref.r_samples)
        b = dsp.extract_beat_features(ecg.signal_mv, ecg.fs_hz, ecg.r_samples)
        assert a.beat.shape[1:] == b.beat.shape[1:] == (2, F.WINDOW_LEN)
        # the same beat, sampled at another rate, gives nearly the same window
        mid = slice(5, min(a.n_beats, b.n_beats) - 5)
        for lead in range(2):
            r = np.corrcoef(a.beat[mid, lead].ravel(), b.beat[mid, lead].ravel())[0, 1]
            assert r > 0.97, (fs_hz, lead, r)
        np.testing.assert_allclose(a.rr[mid, 0], b.rr[mid, 0], atol=1.5 / min(fs_hz, 360.0))

    def test_ectopic_beats_stand_out_from_the_dominant_beat(self):
        ecg = synth_ecg(250.0, 60.0, noise_mv=0.0, wander_mv=0.0, n_leads=1, seed=9)
        sig = ecg.signal_mv[:, 0].copy()
        odd = ecg.r_samples[10::7]
        for r in odd:  # an inverted, wide beat every 7th
            seg = slice(r - 30, r + 30)
            sig[seg] = -2.0 * np.convolve(sig[seg], np.ones(5) / 5, mode="same")
        f = dsp.extract_beat_features(sig, 250.0, ecg.r_samples)
        is_odd = np.isin(f.r_peaks, odd)
        corr = f.template[:, K.TF_CORR]
        assert corr[is_odd].max() < 0.5 < corr[~is_odd][5:].min()
        assert f.template[~is_odd, K.TF_IS_DOMINANT][5:].mean() > 0.95

    def test_nan_lead_and_edges_do_not_crash(self):
        ecg = synth_ecg(360.0, 20.0, seed=1)
        sig = ecg.signal_mv.copy()
        sig[1000:4000, 0] = np.nan
        peaks = np.concatenate([[0, 5], ecg.r_samples[2:], [sig.shape[0] - 1]])
        peaks = np.unique(peaks)
        f = dsp.extract_beat_features(sig, 360.0, peaks)
        assert f.n_beats == peaks.size
        assert np.all(np.isfinite(f.beat)) and np.all(np.isfinite(f.rr))
        assert f.valid_fraction[0] < 1.0 and f.valid_fraction[-1] < 1.0

    def test_no_beats(self):
        f = dsp.extract_beat_features(np.zeros((1000, 2)), 250.0, [])
        assert f.n_beats == 0 and f.beat.shape == (0, 2, F.WINDOW_LEN)

    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            ({"fs_hz": 50.0, "n_leads": 1}, "fs_hz"),
            ({"fs_hz": 250.0, "n_leads": 0}, "n_leads"),
            ({"fs_hz": 250.0, "n_leads": 1, "lookback_s": -1.0}, "lookback_s"),
        ],
    )
    def test_bad_parameters(self, kwargs, match):
        with pytest.raises(dsp.InvalidParameterError, match=match):
            dsp.BeatFeatureExtractor(**kwargs)

    def test_unsorted_peaks_rejected(self):
        ex = dsp.BeatFeatureExtractor(250.0, 1)
        ex.feed(np.zeros(500), [100, 300])
        with pytest.raises(dsp.InvalidSignalError, match="r_peaks"):
            ex.feed(np.zeros(10), [200])
