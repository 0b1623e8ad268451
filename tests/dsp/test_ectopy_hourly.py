"""Ectopy (burdens, runs, pauses) and hourly / circadian heart rate."""

from __future__ import annotations

import numpy as np
import pytest

from dsp import analyze_rr, circadian_profile, ectopy_summary, hourly_profile, rr_series


def _beats(rr_ms, labels):
    return rr_series(np.concatenate(([0.0], np.cumsum(rr_ms) / 1000)), labels)


class TestEctopy:
    def test_counts_runs_and_pauses(self):
        labels = list("NNVNNVVNN" + "VVV" + "NN" + "V" * 50 + "NNAN")
        rr_ms = np.full(len(labels) - 1, 800.0)
        rr_ms[-3] = 3200.0  # a pause
        s = ectopy_summary(_beats(rr_ms, labels))
        assert s.counts == {"N": 11, "A": 1, "V": 56, "F": 0, "Q": 0}
        assert s.v_burden_pct == pytest.approx(100 * 56 / 68)
        assert s.n_v_couplets == 1
        assert [r.n_beats for r in s.runs] == [3, 50]
        # 800 ms between V beats is 75 bpm: runs, but not ventricular tachycardia
        assert s.n_nsvt == 0 and s.n_sustained_vt == 0
        assert s.n_pauses == 1 and s.longest_pause_s == pytest.approx(3.2)

    def test_fast_runs_are_nsvt_or_sustained_vt(self):
        labels = list("NN" + "VVVV" + "NN" + "V" * 80 + "NN")
        rr_ms = np.full(len(labels) - 1, 800.0)
        v = np.array(labels) == "V"
        rr_ms[v[1:] & v[:-1]] = 450.0  # 133 bpm inside the runs
        s = ectopy_summary(_beats(rr_ms, labels))
        assert s.n_nsvt == 1  # 4 beats in 1.35 s
        assert s.n_sustained_vt == 1  # 80 beats in 35.6 s
        assert s.longest_vt_beats == 80

    def test_no_beats(self):
        s = ectopy_summary(rr_series(np.zeros(0), []))
        assert s.n_beats == 0 and np.isnan(s.v_burden_pct) and np.isnan(s.longest_pause_s)


class TestHourly:
    def _two_hours(self):
        # hour 0 at 60 bpm, hour 1 at 75 bpm with 10 V beats
        rr_ms = np.concatenate((np.full(3600, 1000.0), np.full(4500, 800.0)))
        labels = np.array(["N"] * (rr_ms.size + 1))
        labels[4000:4100:10] = "V"
        return _beats(rr_ms, labels)

    def test_hourly_rates_and_counts(self):
        h = hourly_profile(self._two_hours())
        assert h.n_hours == 3  # the last beat falls at exactly 2 h
        # an interval belongs to the hour in which it ends: hour 1 holds one 1000-ms interval
        np.testing.assert_allclose(h.hr_mean_bpm[:2], [60.0, 75.0], rtol=1e-4)
        np.testing.assert_allclose(h.hr_min_bpm[:2], [60.0, 75.0], rtol=5e-3)
        np.testing.assert_allclose(h.hr_max_bpm[:2], [60.0, 75.0], rtol=1e-3)
        assert h.counts_of("V").tolist() == [0, 10, 0]
        assert h.beat_counts.sum() == 3600 + 4500 + 1

    def test_minute_extremes_ignore_single_intervals(self):
        rr_ms = np.full(3600, 1000.0)
        rr_ms[1800] = 400.0  # one short interval does not make a 150-bpm maximum
        h = hourly_profile(_beats(rr_ms, ["N"] * 3601))
        assert h.hr_max_bpm[0] < 62

    def test_circadian_day_night_with_a_clock(self):
        # 24 h from 08:00: 80 bpm by day, 55 bpm from midnight to 06:00
        rr_ms = []
        for hour in range(24):
            clock = (8 + hour) % 24
            rate = 55.0 if clock < 6 else 80.0
            rr_ms.append(np.full(int(rate * 60), 60000.0 / rate))
        rr = _beats(np.concatenate(rr_ms), ["N"] * (sum(len(x) for x in rr_ms) + 1))
        c = circadian_profile(hourly_profile(rr), start_time_of_day_s=8 * 3600)
        assert c.day_hr_bpm == pytest.approx(80.0, rel=1e-3)
        assert c.night_hr_bpm == pytest.approx(55.0, rel=1e-3)
        assert c.amplitude_bpm == pytest.approx(25.0, rel=1e-2)
        without_clock = circadian_profile(hourly_profile(rr))
        assert np.isnan(without_clock.day_hr_bpm)
        assert without_clock.amplitude_bpm == pytest.approx(25.0, rel=1e-2)

    def test_analyze_rr_bundles_everything(self):
        res = analyze_rr(self._two_hours())
        assert res.time_domain.n_nn > 8000
        assert res.ectopy.counts["V"] == 10
        assert res.hourly.n_hours == 3
