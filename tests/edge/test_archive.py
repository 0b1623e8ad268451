"""A device's ECG kept on disk as it arrives (WFDB format 16), readable before and after close."""

from __future__ import annotations

import datetime as dt
import os

import numpy as np
import pytest

from edge._archive import RecordingArchive, prune_recordings
from firmware_bridge import iter_record_chunks, open_record

START_MS = 1_764_547_200_123  # 2025-12-01 00:00:00.123 UTC


def _read(path) -> tuple[object, np.ndarray]:
    record = open_record(path)
    x = np.concatenate([np.asarray(c.samples) for c in iter_record_chunks(record, chunk_s=60.0)])
    return record, x


def _signal(n: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.cumsum(rng.normal(0, 0.05, (n, 2)), axis=0)
    x[100:150, 1] = np.nan  # lead off on one lead
    x[300, :] = 40.0  # beyond int16 at 1 uV: clipped
    return x


class TestRecordingArchive:
    def test_blocks_read_back_to_the_microvolt_with_nan_and_start_time(self, tmp_path):
        x = _signal(2000)
        arch = RecordingArchive(tmp_path / "p1", "p1_20251201T000000Z", 250.0, ("MLII", "V 5"),
                                START_MS)
        for i in range(0, x.shape[0], 333):
            arch.append(x[i : i + 333])
        path = arch.close()
        record, back = _read(path)
        assert record.fs_hz == 250.0 and record.n_samples == 2000
        assert record.lead_names == ("MLII", "V_5")
        assert record.start_time.replace(tzinfo=dt.UTC) == dt.datetime(
            2025, 12, 1, 0, 0, 0, 123000, tzinfo=dt.UTC)
        ok = np.isfinite(x) & (np.abs(x) < 32)
        assert np.max(np.abs(back[ok] - x[ok])) <= 0.0005 + 1e-12
        assert np.all(np.isnan(back[100:150, 1])) and np.all(np.isfinite(back[100:150, 0]))
        assert back[300, 0] == pytest.approx(32.767)

    def test_an_archive_never_closed_is_still_a_readable_record(self, tmp_path):
        x = _signal(1500, seed=2)
        arch = RecordingArchive(tmp_path, "cut", 360.0, ("MLII", "V1"), START_MS)
        arch.append(x)
        arch._dat.flush()  # what a killed gateway leaves: the samples, the first header
        record, back = _read(arch.path)
        assert record.n_samples == 1500
        ok = np.isfinite(x) & (np.abs(x) < 32)
        assert np.max(np.abs(back[ok] - x[ok])) <= 0.0005 + 1e-12
        arch.close()

    def test_bad_names_and_appends_after_close_are_refused(self, tmp_path):
        with pytest.raises(ValueError, match="record name"):
            RecordingArchive(tmp_path, "../escape", 360.0, ("I",), START_MS)
        arch = RecordingArchive(tmp_path, "ok", 360.0, ("I",), START_MS)
        arch.close()
        with pytest.raises(ValueError, match="after close"):
            arch.append(np.zeros((4, 1)))


class TestPruneRecordings:
    def test_the_oldest_finished_recordings_go_first_never_the_one_being_written(self, tmp_path):
        paths = []
        for k, patient in enumerate(("p1", "p2", "p1", "p3")):
            arch = RecordingArchive(tmp_path / patient, f"{patient}_{k}", 360.0, ("I",), START_MS)
            arch.append(np.zeros((1000, 1)))  # 2,000 bytes of samples
            paths.append(arch.close())
            os.utime(path_dat := paths[-1].with_suffix(".dat"), (1000 + k, 1000 + k))
            assert path_dat.stat().st_mtime == 1000 + k
        size = sum(p.with_suffix(s).stat().st_size for p in paths for s in (".hea", ".dat"))
        one = size // 4
        # room for two: the oldest (p1_0) is being written, so p2_1 and p1_2 go
        deleted = prune_recordings(tmp_path, 2 * one + 10, keep=(paths[0],))
        assert deleted == [paths[1], paths[2]]
        assert [p.with_suffix(".hea").exists() for p in paths] == [True, False, False, True]
        assert prune_recordings(tmp_path, 2 * one + 10) == []  # within the cap now
