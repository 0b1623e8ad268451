"""HRV (Task Force 1996) on NN intervals, checked against NeuroKit2 and against the definitions."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from dsp import hrv_frequency_domain, hrv_time_domain, lomb_psd, rr_series
from dsp._hrv import HF_BAND_HZ, LF_BAND_HZ, _band_power


def _synthetic(n_beats: int = 4000, seed: int = 7, ectopic_every: int = 0):
    """Sinus rhythm with respiratory (0.25 Hz) and Mayer-wave (0.1 Hz) modulation
    and a slow drift (period 40 min); one ectopic beat per `ectopic_every` beats
    on average, at random."""
    rng = np.random.default_rng(seed)
    rr = np.empty(n_beats)
    t = 0.0
    for i in range(n_beats):
        rr[i] = 850 + 40 * np.sin(2 * np.pi * 0.1 * t) + 25 * np.sin(2 * np.pi * 0.25 * t)
        rr[i] += 60 * np.sin(2 * np.pi * t / 2400) + rng.normal(0, 10)
        t += rr[i] / 1000
    labels = np.array(["N"] * (n_beats + 1))
    if ectopic_every:
        labels[rng.random(n_beats + 1) < 1 / ectopic_every] = "V"
    times = np.concatenate(([0.0], np.cumsum(rr) / 1000))
    return rr_series(times, labels)


def _neurokit_time(rr):
    nk = pytest.importorskip("neurokit2")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return nk.hrv_time({"RRI": rr.nn_ms, "RRI_Time": rr.nn_time_s}).iloc[0]


class TestTimeDomainAgainstNeuroKit2:
    """Same NN series into both; within 1 % where the definitions agree."""

    @pytest.mark.parametrize("ectopic_every", [0, 37])
    def test_within_one_percent(self, ectopic_every):
        rr = _synthetic(ectopic_every=ectopic_every)
        ours = hrv_time_domain(rr)
        nk = _neurokit_time(rr)
        pairs = {
            "SDNN": ours.sdnn_ms,
            "RMSSD": ours.rmssd_ms,
            "HTI": ours.triangular_index,
            "SDANN5": ours.sdann_ms,
            "SDNNI5": ours.sdnn_index_ms,
            # Task Force: NN50 over all NN intervals; NeuroKit2 divides by the
            # number of successive differences + 1, which is the same only
            # without gaps: compare on NeuroKit2's denominator
            "pNN50": ours.pnn50_pct * ours.n_nn / (ours.n_successive + 1),
        }
        if ectopic_every:
            # NeuroKit2 lays its 5-min windows on the cumulative sum of the NN
            # intervals, so the time taken by excluded intervals shifts them;
            # ours are on the beat times (checked against the definition below)
            del pairs["SDANN5"], pairs["SDNNI5"]
        for name, value in pairs.items():
            assert value == pytest.approx(nk[f"HRV_{name}"], rel=0.01), name
        assert ours.sdann_ms > 10  # the drift makes SDANN a real test

    def test_sdann_and_sdnn_index_on_clock_segments(self):
        rr = _synthetic(ectopic_every=37)
        ours = hrv_time_domain(rr)
        segment = np.floor((rr.nn_time_s - rr.beat_time_s[0]) / 300).astype(int)
        means, sds = [], []
        for k in np.unique(segment):
            nn = rr.nn_ms[segment == k]
            if nn.sum() >= 150_000:  # covers half of the 5 minutes
                means.append(nn.mean())
                sds.append(nn.std(ddof=1))
        assert ours.n_segments == len(means)
        assert ours.sdann_ms == pytest.approx(np.std(means, ddof=1), rel=1e-12)
        assert ours.sdnn_index_ms == pytest.approx(np.mean(sds), rel=1e-12)

    def test_successive_differences_skip_gaps(self):
        rr = _synthetic(n_beats=500, ectopic_every=10)
        ours = hrv_time_domain(rr)
        adjacent = [
            rr.rr_ms[k + 1] - rr.rr_ms[k]
            for k in range(rr.rr_ms.size - 1)
            if rr.nn_mask[k] and rr.nn_mask[k + 1]
        ]
        assert ours.n_successive == len(adjacent)
        assert ours.rmssd_ms == pytest.approx(np.sqrt(np.mean(np.square(adjacent))))
        assert ours.pnn50_pct == pytest.approx(
            100 * np.sum(np.abs(adjacent) > 50) / rr.nn_ms.size
        )

    def test_sdnn_is_the_sample_sd_of_nn_only(self):
        rr = _synthetic(n_beats=800, ectopic_every=15)
        assert hrv_time_domain(rr).sdnn_ms == pytest.approx(np.std(rr.nn_ms, ddof=1))

    def test_triangular_index_on_a_known_histogram(self):
        # 8 intervals: 4 in the 7.8125 ms bin [796.875, 804.6875), 4 spread out
        nn = np.array([800, 800, 801, 802, 700, 750, 850, 900.0])
        times = np.concatenate(([0.0], np.cumsum(nn) / 1000))
        assert hrv_time_domain(rr_series(times, ["N"] * 9)).triangular_index == 2.0

    def test_too_few_intervals_give_nan_not_an_error(self):
        res = hrv_time_domain(rr_series(np.array([0.0, 0.8]), ["N", "N"]))
        assert res.n_nn == 1
        assert np.isnan(res.sdnn_ms) and np.isnan(res.rmssd_ms) and np.isnan(res.sdann_ms)


class TestFrequencyDomain:
    def test_sine_power_lands_in_its_band_with_its_variance(self):
        t = np.cumsum(np.full(400, 0.75))
        for f_hz, band, other in ((0.1, LF_BAND_HZ, HF_BAND_HZ), (0.25, HF_BAND_HZ, LF_BAND_HZ)):
            nn = 750 + 30 * np.sin(2 * np.pi * f_hz * t)
            f = np.arange(1, 482) / 1200
            psd = lomb_psd(t, nn, f)
            assert _band_power(f, psd, band) == pytest.approx(450, rel=0.03)
            assert _band_power(f, psd, other) < 10

    def test_gaps_are_not_filled(self):
        """Removing NN intervals (ectopy) leaves the spectrum of the rest nearly unchanged."""
        full = hrv_frequency_domain(_synthetic())
        gappy = hrv_frequency_domain(_synthetic(ectopic_every=23))
        assert gappy.lf_hf == pytest.approx(full.lf_hf, rel=0.1)
        assert gappy.hf_ms2 == pytest.approx(full.hf_ms2, rel=0.1)

    def test_lf_hf_against_neurokit2_lomb(self):
        """NeuroKit2's Lomb-Scargle (astropy, no interpolation) on the same segment.

        NeuroKit2 integrates astropy's 'psd'-normalised periodogram, which is
        ours without the one-sided PSD scale 2 x mean NN (s): compare LF and HF
        after that scale and LF/HF directly.
        """
        nk = pytest.importorskip("neurokit2")
        pytest.importorskip("astropy")
        rr = _synthetic(n_beats=360)
        keep = rr.nn_time_s < 300
        t, y = rr.nn_time_s[keep], rr.nn_ms[keep]
        f = np.arange(1, 482) / 1200
        psd = lomb_psd(t, y, f)
        lf, hf = _band_power(f, psd, LF_BAND_HZ), _band_power(f, psd, HF_BAND_HZ)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = nk.hrv_frequency(
                {"RRI": y, "RRI_Time": t}, psd_method="lomb", interpolation_rate=None, normalize=False
            ).iloc[0]
        scale = 2 * y.mean() / 1000
        assert lf / scale == pytest.approx(out["HRV_LF"], rel=0.01)
        assert hf / scale == pytest.approx(out["HRV_HF"], rel=0.01)
        assert lf / hf == pytest.approx(out["HRV_LFHF"], rel=0.01)

    def test_no_usable_segment_gives_nan(self):
        res = hrv_frequency_domain(rr_series(np.arange(20) * 0.8, ["N"] * 20))
        assert res.n_segments == 0 and np.isnan(res.lf_hf)

    def test_uneven_frequency_grid_is_rejected(self):
        from dsp import InvalidParameterError

        with pytest.raises(InvalidParameterError, match="evenly spaced"):
            lomb_psd(np.arange(10.0), np.full(10, 800.0), np.array([0.1, 0.2, 0.4]))
