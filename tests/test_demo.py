"""``holter demo``: the bundled sample analysed and summarised, exit status 0."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import wfdb

from edge import RecordBeats
from edge._cmd_demo import heart_rate_summary
from firmware_bridge import RecordInfo
from holter._cli import main


class TestDemo:
    def test_prints_beats_and_heart_rate(self, sample_record, capsys):
        assert main(["demo", "--no-loop", "--record", str(sample_record)]) == 0
        out = capsys.readouterr().out
        beats = int(re.search(r"beats\s+([\d,]+) detected", out).group(1).replace(",", ""))
        assert abs(beats - 1987) <= 20
        assert "1,987 beats in the cardiologists' annotations" in out
        mean, low, high = map(int, re.search(r"mean (\d+) bpm, min (\d+) bpm, max (\d+) bpm", out).groups())
        assert 40 <= low <= mean <= high <= 150
        assert "MLII, V1" in out
        assert re.search(r"unusable\s+\d+\.\d %", out)

    def test_other_record_without_reference_annotations(self, sample_record, tmp_path, capsys):
        rec = wfdb.rdrecord(str(sample_record), sampto=60 * 360)
        wfdb.wrsamp(
            "mine", fs=360, units=["mV", "mV"], sig_name=list(rec.sig_name), p_signal=rec.p_signal,
            fmt=["16", "16"], adc_gain=[200.0, 200.0], baseline=[0, 0], write_dir=str(tmp_path),
        )
        assert main(["demo", "--no-loop", "--record", str(tmp_path / "mine")]) == 0
        out = capsys.readouterr().out
        assert "reference" not in out
        assert re.search(r"heart rate\s+mean \d+ bpm", out)

    def test_bad_record_is_one_line_exit_2(self, bad_records, capsys):
        path, reason = bad_records["zero_length"]
        assert main(["demo", "--record", str(path)]) == 2
        err = capsys.readouterr().err.splitlines()
        assert len(err) == 1 and re.search(reason, err[0])


class TestLoop:
    def test_the_whole_loop_delivers_stores_and_serves_the_alerts(self, tmp_path):
        """Default record (203), private Mosquitto, gateway, device, worker, dashboard."""
        out = subprocess.run([sys.executable, "-m", "holter", "demo", "--data-dir",
                              str(tmp_path)], capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr[-2000:]
        text = out.stdout
        assert "2,980 beats in the cardiologists' annotations" in text
        printed = re.findall(r"alert #\s*\d+ .* (af_onset|af_offset|nsvt|pause|sustained_vt) ", text)
        sent = int(re.search(r"gateway\s+(\d+) alerts", text).group(1))
        received = int(re.search(r"received\s+(\d+) alerts", text).group(1))
        stored = int(re.search(r"aggregator\s+(\d+) alerts stored", text).group(1))
        assert sent == received == stored == len(printed) > 0
        assert {"af_onset", "nsvt", "pause"} <= set(printed)
        assert re.search(r"dashboard\s+http://127\.0\.0\.1:\d+/ \(user demo-", text)
        report = Path(re.search(r"report\s+(\S+report\.html) ", text).group(1))
        assert report.stat().st_size > 10_000 and (report.parent / "report.json").exists()

    def test_bad_broker_url_is_one_line_exit_2(self, sample_record, capsys):
        assert main(["demo", "--record", str(sample_record), "--broker", "http://x"]) == 2
        err = capsys.readouterr().err.splitlines()
        assert len(err) == 1 and "--broker must be mqtt://HOST:PORT" in err[0]


def _beats(r_peaks, unusable=(), fs_hz=100.0, n_samples=100_000) -> RecordBeats:
    info = RecordInfo("x", Path("x"), fs_hz, n_samples, ("I",), ("mV",))
    return RecordBeats(
        info, np.asarray(r_peaks, dtype=np.int64), np.asarray(unusable, dtype=np.int64).reshape(-1, 2), 1
    )


class TestHeartRateSummary:
    def test_steady_one_second_rr_is_60_bpm(self):
        hr = heart_rate_summary(_beats(np.arange(0, 10_000, 100)))
        assert hr["mean_bpm"] == pytest.approx(60.0)
        assert hr["min_bpm"] == pytest.approx(60.0)
        assert hr["max_bpm"] == pytest.approx(60.0)
        assert hr["longest_rr_s"] == pytest.approx(1.0)

    def test_rr_across_an_unusable_stretch_is_ignored(self):
        peaks = np.r_[np.arange(0, 2000, 100), np.arange(5000, 7000, 100)]
        hr = heart_rate_summary(_beats(peaks, unusable=[[2050, 4900]]))
        assert hr["longest_rr_s"] == pytest.approx(1.0)

    def test_one_long_pause_sets_the_longest_rr_not_the_minimum_rate(self):
        peaks = np.r_[np.arange(0, 3000, 100), np.arange(3250, 6000, 100)]
        hr = heart_rate_summary(_beats(peaks))
        assert hr["longest_rr_s"] == pytest.approx(3.5)
        assert hr["longest_rr_at_s"] == pytest.approx(29.0)
        assert hr["min_bpm"] > 40  # a 10-beat running mean smooths a single pause

    def test_too_few_beats_gives_nan(self):
        assert np.isnan(heart_rate_summary(_beats([500]))["mean_bpm"])
