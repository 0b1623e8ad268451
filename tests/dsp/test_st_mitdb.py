"""ST regression on real records: MIT-BIH 100, 112, 119 with known ST shifts added (holter bench st rules).

Measured when this test was written (``holter bench st --records 100,112,119``):
per-beat error on shifted beats -0.2 +- 6.9 uV (p95 |error| 16.4 uV); episode Se 8/12
(all six +-200 uV episodes, 2 of the six +-100 uV ones), +P 100 %; no episode on
these records clean or with nstdb ``bw`` added (as recorded, 6 dB, 12 dB).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks._data import data_required
from benchmarks._st import run_st_bench, summary

RECORDS = ["100", "112", "119"]


@pytest.fixture(scope="module")
def nstdb_dir(physionet_dir: Path) -> Path:
    path = physionet_dir / "nstdb"
    if not path.is_dir():
        message = f"PhysioNet nstdb not found at {path}"
        if data_required():
            pytest.fail(f"{message} (HOLTER_REQUIRE_DATA is set, so missing data fail)", pytrace=False)
        pytest.skip(message)
    return path


@pytest.fixture(scope="module")
def result(mitdb_dir: Path, nstdb_dir: Path) -> dict:
    return summary(run_st_bench(mitdb_dir, nstdb_dir, None, RECORDS, lambda _: None))


@pytest.mark.data
class TestStOnShiftedMitdb:
    def test_per_beat_error_on_shifted_beats(self, result):
        err = result["beat_error_all"]
        assert err["n"] > 1000
        assert abs(err["mean_uv"]) <= 5.0
        assert err["sd_uv"] <= 12.0 and err["p95_abs_uv"] <= 25.0

    def test_episodes_are_found(self, result):
        by_amp = result["episode_se_by_amplitude_pct"]
        assert by_amp["+200"] == 100.0 and by_amp["-200"] == 100.0
        assert result["episode_se_pct"] >= 50.0
        assert result["ppv_pct"] >= 90.0

    def test_baseline_wander_makes_no_episode(self, result):
        assert result["own_episodes_clean_records"] == 0
        for snr, counts in result["bw"].items():
            assert counts["episodes"] == 0, f"bw {snr}: {counts}"
