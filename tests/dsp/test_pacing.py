"""Pacemaker spikes: kernel against a slow reference, synthetic paced ECG at any rate,
streaming == batch, bad input, and the figures on the MIT-BIH paced records."""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest
from naive_pacing import naive_paced_pattern, naive_spike_scan
from synth import paced_ecg, synth_ecg

import dsp
from dsp import _pacing as P

RATES_HZ = (128.0, 360.0, 1000.0)


def _signals():
    rng = np.random.default_rng(11)
    walk = np.cumsum(rng.normal(0, 0.08, (2, 900)), axis=1)
    spiky = walk.copy()
    spiky[:, 200::150] += 1.5  # one-sample spikes
    nan = spiky.copy()
    nan[0, 340:380] = np.nan
    nan[1, 500] = np.nan
    return {
        "random": rng.normal(0, 1, (2, 900)),
        "random_walk_spikes": spiky,
        "empty": np.zeros((2, 0)),
        "flat": np.zeros((2, 900)),
        "nan": nan,
        "saturated": np.clip(spiky * 4, -2, 2),
        "all_nan": np.full((1, 300), np.nan),
    }


def _configs():
    loose = dsp.PacingConfig(min_prominence_mv=0.05, min_share=0.01, pre_ratio=5.0,
                             post_ratio=0.05, max_width_s=0.03)  # fmt: skip
    return {"default": dsp.PacingConfig(), "loose": loose}


class TestKernelAgainstReference:
    @pytest.mark.parametrize("kind", list(_signals()))
    @pytest.mark.parametrize("config", list(_configs()))
    @pytest.mark.parametrize("paced", [False, True])
    def test_same_spikes(self, kind, config, paced):
        x = np.ascontiguousarray(_signals()[kind], np.float64)
        params = _configs()[config].as_array(360.0, paced=paced)
        centers = np.arange(-20, x.shape[1] + 20, 37, dtype=np.int64)
        prom = np.zeros(centers.size)
        pos = np.full(centers.size, -1, np.int64)
        P.spike_scan(x, centers, params, prom, pos)
        want_prom, want_pos = naive_spike_scan(x, centers, params)
        np.testing.assert_allclose(prom, want_prom, rtol=0, atol=1e-12)
        np.testing.assert_array_equal(pos, want_pos)
        if kind in ("flat", "empty", "all_nan"):
            assert not prom.any()

    def test_the_reference_sees_spikes_in_the_spiky_walk(self):
        """The comparison above is not only zeros against zeros."""
        x = _signals()["random_walk_spikes"]
        params = _configs()["loose"].as_array(360.0)
        prom, _ = naive_spike_scan(x, np.arange(220, 900, 150, dtype=np.int64), params)
        assert (prom > 1.0).sum() >= 3


class TestPacedPatternAgainstLoop:
    """The block-at-once paced state equals the beat-by-beat rule, however it is split."""

    @pytest.mark.parametrize("density", [0.0, 0.2, 0.45, 0.9, 1.0])
    @pytest.mark.parametrize(("pattern_beats", "pattern_min", "hold_beats"),
                             [(16, 6, 300), (4, 1, 3), (5, 5, 1), (16, 6, 20)])
    def test_same_state(self, density, pattern_beats, pattern_min, hold_beats):
        rng = np.random.default_rng(int(100 * density) + pattern_beats + hold_beats)
        has = rng.random(700) < density
        has[300:420] = False  # a long stretch without spikes: the hold runs out
        ref_recent, ref_since = deque(maxlen=pattern_beats), hold_beats
        recent, since = deque(maxlen=pattern_beats), hold_beats
        start = 0
        for size in [0, 1, 2, 3, 17, 150, 1, 0, 400, 700]:
            part = has[start : start + size]
            start += part.size
            want, ref_since = naive_paced_pattern(part, ref_recent, ref_since, pattern_min,
                                                  hold_beats)
            got, since = P.paced_pattern(part, recent, since, pattern_min, hold_beats)
            recent.extend(part.tolist())
            np.testing.assert_array_equal(got, want)
            assert since == ref_since
            assert list(recent) == list(ref_recent)


class TestSyntheticPacedEcg:
    @pytest.mark.parametrize("fs_hz", RATES_HZ)
    def test_spikes_found_at_the_beats_that_have_them(self, fs_hz):
        sig, r, mask = paced_ecg(fs_hz, 60.0, lambda i: 10 <= i < 40 or i % 7 == 3)
        out = dsp.detect_pacing(sig, fs_hz, r)
        np.testing.assert_array_equal(out.has_spike, mask)
        spike_at = r - round(0.08 * fs_hz)
        assert np.all(np.abs(out.spike_samples[mask] - spike_at[mask]) <= 1)
        assert np.all(out.spike_samples[~mask] == -1)
        assert np.all((out.spike_mv[mask] > 0.6) & (out.spike_mv[mask] < 1.3))

    @pytest.mark.parametrize("fs_hz", RATES_HZ)
    def test_paced_once_the_pattern_holds(self, fs_hz):
        cfg = dsp.PacingConfig()
        sig, r, mask = paced_ecg(fs_hz, 60.0, lambda i: 10 <= i < 40)
        out = dsp.detect_pacing(sig, fs_hz, r)
        # beats 10.. have spikes; the pattern holds from the pattern_min-th of them
        first = 10 + cfg.pattern_min - 1
        np.testing.assert_array_equal(np.flatnonzero(out.paced), np.arange(first, 40))

    @pytest.mark.parametrize("fs_hz", RATES_HZ)
    def test_a_lone_spike_is_not_a_paced_patient(self, fs_hz):
        sig, r, mask = paced_ecg(fs_hz, 60.0, lambda i: i in (5, 30))
        out = dsp.detect_pacing(sig, fs_hz, r)
        assert out.has_spike.sum() == 2
        assert not out.paced.any()

    @pytest.mark.parametrize("fs_hz", RATES_HZ)
    def test_normal_ecg_has_no_spikes(self, fs_hz):
        ecg = synth_ecg(fs_hz, 60.0, seed=3)
        out = dsp.detect_pacing(ecg.signal_mv, fs_hz, ecg.r_samples)
        assert out.n_beats == ecg.r_samples.size
        assert not out.has_spike.any()
        assert not out.paced.any()

    @pytest.mark.parametrize("fs_hz", RATES_HZ)
    def test_wide_qrs_without_spikes_has_none(self, fs_hz):
        sig, r, _ = paced_ecg(fs_hz, 60.0, lambda i: False)
        out = dsp.detect_pacing(sig, fs_hz, r)
        assert not out.has_spike.any() and not out.paced.any()


class TestStreaming:
    @pytest.mark.parametrize("fs_hz", RATES_HZ)
    def test_chunked_equals_whole(self, fs_hz):
        sig, r, _ = paced_ecg(fs_hz, 90.0, lambda i: i % 9 != 4 and not 50 <= i < 60, seed=5)
        whole = dsp.detect_pacing(sig, fs_hz, r)
        rng = np.random.default_rng(1)
        det = dsp.PacingDetector(fs_hz, 2, lookback_s=8.0)
        parts, fed, given = [], 0, 0
        while fed < sig.shape[0]:
            step = int(rng.integers(1, round(2.5 * fs_hz)))
            block = sig[fed : fed + step]
            fed += block.shape[0]
            # a detector reports a beat some time after its R peak
            known = int(np.searchsorted(r, fed - round(0.3 * fs_hz)))
            parts.append(det.feed(block, r[given:known]))
            given = known
        parts.append(det.feed(np.zeros((0, 2)), r[given:]))
        parts.append(det.finish())
        chunked = dsp.PacedBeats.concat(parts)
        for name in ("r_peaks", "has_spike", "spike_samples", "spike_mv", "paced"):
            np.testing.assert_array_equal(getattr(chunked, name), getattr(whole, name), err_msg=name)
        assert whole.paced.sum() > 50

    def test_beats_come_out_once_their_window_is_fed(self):
        fs_hz = 360.0
        sig, r, _ = paced_ecg(fs_hz, 20.0, lambda i: True)
        det = dsp.PacingDetector(fs_hz, 2)
        first = det.feed(sig[: r[3] + 10], r[:4])
        assert first.r_peaks.tolist() == r[:3].tolist()
        assert det.feed(sig[r[3] + 10 :]).r_peaks.tolist() == [r[3]]

    def test_finish_twice_and_feed_after_finish(self):
        det = dsp.PacingDetector(250.0, 1)
        det.finish()
        assert det.finish().n_beats == 0
        with pytest.raises(dsp.InvalidParameterError, match="feed"):
            det.feed(np.zeros(10))

    def test_beats_without_signal_have_no_spike(self):
        out = dsp.detect_pacing(np.zeros(0), 360.0, [5, 100])
        assert out.n_beats == 2 and not out.has_spike.any()


class TestBadInput:
    @pytest.mark.parametrize("fs_hz", [50.0, 2000.0, "fast", None])
    def test_fs_hz(self, fs_hz):
        with pytest.raises(dsp.InvalidParameterError, match="fs_hz"):
            dsp.detect_pacing(np.zeros(100), fs_hz, [])

    def test_n_leads(self):
        with pytest.raises(dsp.InvalidParameterError, match="n_leads"):
            dsp.PacingDetector(360.0, 0)

    def test_lookback_s(self):
        with pytest.raises(dsp.InvalidParameterError, match="lookback_s"):
            dsp.PacingDetector(360.0, 1, lookback_s=-1.0)

    def test_block_with_other_leads(self):
        det = dsp.PacingDetector(360.0, 2)
        with pytest.raises(dsp.InvalidSignalError, match="3 leads"):
            det.feed(np.zeros((10, 3)))

    def test_signal_shape(self):
        with pytest.raises(dsp.InvalidSignalError, match="signal"):
            dsp.detect_pacing(np.zeros((2, 3, 4)), 360.0, [])

    @pytest.mark.parametrize("r_peaks", [[30, 10], [-5, 10], [1.5, 2.5]])
    def test_r_peaks(self, r_peaks):
        with pytest.raises(dsp.InvalidSignalError, match="r_peaks"):
            dsp.detect_pacing(np.zeros(100), 360.0, r_peaks)

    def test_r_peaks_before_earlier_ones(self):
        det = dsp.PacingDetector(360.0, 1)
        det.feed(np.zeros(100), [50])
        with pytest.raises(dsp.InvalidSignalError, match="r_peaks"):
            det.feed(np.zeros(100), [40])

    @pytest.mark.parametrize(
        ("kwargs", "name"),
        [
            ({"max_width_s": 0.0}, "max_width_s"),
            ({"min_share": float("nan")}, "min_share"),
            ({"search_s": (0.1,)}, "search_s"),
            ({"pre_s": (0.01, 0.08)}, "pre_s"),
            ({"post_s": (0.2, 0.1)}, "post_s"),
            ({"pattern_beats": 0}, "pattern_beats"),
            ({"pattern_min": 20}, "pattern_min"),
            ({"hold_beats": 1.5}, "hold_beats"),
        ],
    )
    def test_config(self, kwargs, name):
        with pytest.raises(dsp.InvalidParameterError, match=name):
            dsp.PacingConfig(**kwargs)

    def test_config_type(self):
        with pytest.raises(dsp.InvalidParameterError, match="config"):
            dsp.PacingDetector(360.0, 1, config={"pattern_min": 2})


# --------------------------------------------------------------- MIT-BIH
#: Measured with the defaults (dsp.detect_qrs beats, all leads) when these were
#: set: '/'+'f' beats called paced 99.6 / 85.2 / 94.3 / 92.1 % (102 / 104 / 107
#: / 217), other reference beats of these patients called paced 55 of 751, and
#: 0 beats in the non-paced records below. The thresholds sit just under.
MIN_PACED_PCT = {"102": 99.3, "104": 84.5, "107": 93.5, "217": 91.5}
MAX_OTHER_CALLED_PACED = 60
#: non-paced records with beats the spike test came closest to accepting
NON_PACED_RECORDS = ("100", "103", "108", "114", "119", "203", "213", "222", "231", "233")


def _called_paced(mitdb_dir, name):
    import wfdb

    from benchmarks._ec57 import match_beats, window_samples
    from benchmarks._qrs_bench import load_record

    rec = load_record(mitdb_dir, name)
    peaks = dsp.detect_qrs(rec.signal_mv, rec.fs_hz)
    paced = dsp.detect_pacing(rec.signal_mv, rec.fs_hz, peaks).paced
    ann = wfdb.rdann(str(mitdb_dir / name), "atr")
    beat = np.array([s in "NLRBAaJSVrFejnE/fQ?" for s in ann.symbol])
    ref, symbols = ann.sample[beat], np.asarray(ann.symbol)[beat]
    m = match_beats(ref, peaks, window_samples=window_samples(0.15, rec.fs_hz), start_sample=0)
    called = np.zeros(ref.size, bool)
    called[m.ref_to_test >= 0] = paced[m.ref_to_test[m.ref_to_test >= 0]]
    return symbols, called, int(paced.sum())


@pytest.mark.data
class TestMitdbPacedRecords:
    @pytest.mark.parametrize("name", sorted(MIN_PACED_PCT))
    def test_paced_beats_are_found(self, mitdb_dir, name):
        symbols, called, _ = _called_paced(mitdb_dir, name)
        is_paced = np.isin(symbols, ["/", "f"])
        pct = 100.0 * called[is_paced].mean()
        assert pct >= MIN_PACED_PCT[name], f"{name}: {pct:.2f} % of '/' and 'f' beats called paced"

    def test_few_intrinsic_beats_of_paced_patients_are_called_paced(self, mitdb_dir):
        wrong = 0
        for name in MIN_PACED_PCT:
            symbols, called, _ = _called_paced(mitdb_dir, name)
            wrong += int(called[~np.isin(symbols, ["/", "f"])].sum())
        assert wrong <= MAX_OTHER_CALLED_PACED

    @pytest.mark.parametrize("name", NON_PACED_RECORDS)
    def test_no_beat_of_a_non_paced_record_is_called_paced(self, mitdb_dir, name):
        _, _, n_paced = _called_paced(mitdb_dir, name)
        assert n_paced == 0
