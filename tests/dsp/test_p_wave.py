"""P-wave similarity: hand-made windows and a synthetic ECG whose P waves stop."""

from __future__ import annotations

import numpy as np
from synth import synth_ecg

from dsp import BeatFeatures, extract_beat_features, p_wave_similarity
from dsp._beat_features import WINDOW_LEN
from dsp._p_wave import P_HI, P_LO


def _features(beat, dominant, valid=None):
    n = beat.shape[0]
    base = BeatFeatures.empty(beat.shape[1])
    return BeatFeatures(
        r_peaks=np.arange(n, dtype=np.int64), beat=beat.astype(np.float32),
        dominant=dominant.astype(np.float32), rr=np.zeros((n, base.rr.shape[1]), np.float32),
        template=np.zeros((n, base.template.shape[1]), np.float32),
        valid_fraction=np.ones(n, np.float32) if valid is None else np.asarray(valid, np.float32),
    )


def _p_template(n, leads=2):
    t = np.arange(WINDOW_LEN)
    p = 0.1 * np.exp(-0.5 * ((t - (P_LO + P_HI) / 2) / 3.0) ** 2)
    return np.broadcast_to(p, (n, leads, WINDOW_LEN)).copy()


class TestPWaveSimilarity:
    def test_empty(self):
        assert p_wave_similarity(BeatFeatures.empty(2)).shape == (0,)

    def test_same_p_wave_is_one_and_noise_is_low(self):
        rng = np.random.default_rng(0)
        dom = _p_template(200)
        beat = dom.copy()
        beat[100:] = 0.05 * rng.standard_normal((100, 2, WINDOW_LEN))
        p = p_wave_similarity(_features(beat, dom))
        np.testing.assert_allclose(p[:100], 1.0, atol=1e-6)
        assert np.median(p[100:]) < 0.5

    def test_best_usable_lead_counts(self):
        dom = _p_template(1)
        beat = dom.copy()
        beat[0, 1] *= -1.0  # lead 1 inverted: lead 0 still matches
        assert p_wave_similarity(_features(beat, dom))[0] == 1.0

    def test_flat_template_or_partial_window_is_not_measured(self):
        dom = _p_template(3)
        dom[0] = 0.0  # no template yet
        dom[1, :, P_LO:P_HI] = 0.001  # no visible P wave in the template
        beat = _p_template(3)
        p = p_wave_similarity(_features(beat, dom, valid=[1.0, 1.0, 0.5]))
        assert np.isnan(p).all()

    def test_synthetic_ecg_p_waves_stop(self):
        fs = 250.0
        r_s = 0.5 + np.cumsum(np.random.default_rng(3).uniform(0.6, 1.0, 150))
        ecg = synth_ecg(fs, 125.0, r_times_s=r_s[r_s < 124.0], seed=3, p_absent_s=(60.0, 200.0))
        p = p_wave_similarity(extract_beat_features(ecg.signal_mv, fs, ecg.r_samples))
        t = ecg.r_samples / fs
        assert np.nanmedian(p[(t > 10) & (t < 60)]) > 0.9
        after = p[t > 70]
        assert np.all(np.isnan(after) | (after < 0.6))
