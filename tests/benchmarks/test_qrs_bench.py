"""The QRS benchmark's resampling option."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks._qrs_bench import resample, run_qrs_bench


class TestResample:
    @pytest.mark.parametrize(("fs_hz", "to_hz"), [(360.0, 128.0), (360.0, 1000.0), (250.0, 257.0)])
    def test_length_and_shape_follow_the_rate(self, fs_hz, to_hz):
        x = np.random.default_rng(0).standard_normal((int(10 * fs_hz), 2))
        y = resample(x, fs_hz, to_hz)
        assert y.shape == (int(round(10 * to_hz)), 2)

    def test_a_sine_keeps_its_frequency(self):
        fs_hz, to_hz = 360.0, 128.0
        t = np.arange(int(20 * fs_hz)) / fs_hz
        y = resample(np.sin(2 * np.pi * 5.0 * t)[:, None], fs_hz, to_hz)[:, 0]
        spectrum = np.abs(np.fft.rfft(y))
        peak_hz = np.argmax(spectrum) * to_hz / y.size
        assert abs(peak_hz - 5.0) < 0.1


@pytest.mark.data
class TestResampledRun:
    def test_beats_are_scored_at_the_record_rate(self, mitdb_dir):
        native = run_qrs_bench(mitdb_dir, ["100"], leads="1")
        at_128 = run_qrs_bench(mitdb_dir, ["100"], leads="1", resample_hz=128.0)
        assert at_128.db_name == "mitdb_128hz"
        g_native = native.runs["ours_lead0"].gross.gross
        g_128 = at_128.runs["ours_lead0"].gross.gross
        # the beats come back on the record's own time base: on this clean
        # record, 128 Hz costs at most a couple of beats against 360 Hz
        assert g_128.qrs_tp >= g_native.qrs_tp - 2
        assert g_128.qrs_fp <= g_native.qrs_fp + 2
        assert g_128.qrs_se_pct > 99.8
