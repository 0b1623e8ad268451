"""``holter detect``: WFDB .hol beat annotations, one record after another."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import numpy as np
import pytest
import wfdb

from edge import BEAT_SYMBOLS, RecordBeats, write_hol
from firmware_bridge import RecordInfo
from holter._cli import main


def _beats(symbols: list[str]) -> int:
    return sum(s in BEAT_SYMBOLS for s in symbols)


def _write_excerpt(sample_record: Path, folder: Path, name: str, seconds: float, nan_s=None) -> Path:
    """The first `seconds` of the sample as a new record; `nan_s` = (from, to) seconds set to NaN."""
    rec = wfdb.rdrecord(str(sample_record), sampto=round(seconds * 360))
    signal = rec.p_signal.copy()
    if nan_s is not None:
        signal[round(nan_s[0] * 360) : round(nan_s[1] * 360), :] = np.nan
    wfdb.wrsamp(
        name, fs=360, units=["mV", "mV"], sig_name=list(rec.sig_name), p_signal=signal,
        fmt=["16", "16"], adc_gain=[200.0, 200.0], baseline=[0, 0], write_dir=str(folder),
    )
    return folder / name


@pytest.fixture(scope="module")
def sample_hol(sample_record, tmp_path_factory) -> tuple[int, str, Path]:
    """Run ``holter detect`` once on the bundled sample: (exit status, stderr, out dir)."""
    out_dir = tmp_path_factory.mktemp("detect") / "out"
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        status = main(["detect", str(sample_record), "--out-dir", str(out_dir)])
    return status, err.getvalue(), out_dir


class TestDetectSample:
    def test_writes_a_readable_hol_file(self, sample_hol):
        status, _, out_dir = sample_hol
        assert status == 0
        assert (out_dir / "119.hol").is_file()
        ann = wfdb.rdann(str(out_dir / "119"), "hol")
        assert ann.fs == 360
        assert np.all(np.diff(ann.sample) > 0)

    def test_beats_are_labelled_and_rhythm_annotated(self, sample_hol, sample_record):
        ann = wfdb.rdann(str(sample_hol[2] / "119"), "hol")
        assert set(ann.symbol) <= {"N", "A", "V", "F", "Q", "+", "~"}
        # record 119 has 444 ventricular ectopic beats in bigeminy / trigeminy
        ref = wfdb.rdann(str(sample_record), "atr")
        ref_v = ref.sample[np.array(ref.symbol) == "V"]
        our_v = ann.sample[np.array(ann.symbol) == "V"]
        found = np.min(np.abs(ref_v[:, None] - our_v[None, :]), axis=1) <= 54
        assert found.mean() > 0.95 and our_v.size < 1.05 * ref_v.size
        rhythm = [a for sym, a in zip(ann.symbol, ann.aux_note, strict=True) if sym == "+"]
        assert "(B" in rhythm and "(T" in rhythm and "(N" in rhythm

    def test_beat_count_within_1_percent_of_the_reference(self, sample_hol, sample_record):
        detected = _beats(wfdb.rdann(str(sample_hol[2] / "119"), "hol").symbol)
        reference = _beats(wfdb.rdann(str(sample_record), "atr").symbol)
        assert reference == 1987
        assert abs(detected - reference) <= 0.01 * reference, (detected, reference)

    def test_reports_each_record_in_one_line(self, sample_hol):
        lines = sample_hol[1].splitlines()
        assert len(lines) == 1
        assert re.match(r"119: \d+ beats in 30:06 of ECG -> .*119\.hol \(\d+\.\d\d s\)$", lines[0])


class TestDetectSeveralRecords:
    def test_writes_one_file_per_record(self, sample_record, tmp_path, capsys):
        a = _write_excerpt(sample_record, tmp_path, "first", 60.0)
        b = _write_excerpt(sample_record, tmp_path, "second", 90.0)
        out_dir = tmp_path / "out"
        assert main(["detect", str(a), str(b), "--out-dir", str(out_dir)]) == 0
        assert sorted(p.name for p in out_dir.iterdir()) == ["first.hol", "second.hol"]
        n_first = _beats(wfdb.rdann(str(out_dir / "first"), "hol").symbol)
        n_second = _beats(wfdb.rdann(str(out_dir / "second"), "hol").symbol)
        assert 0 < n_first < n_second
        assert len(capsys.readouterr().err.splitlines()) == 2

    def test_a_bad_record_does_not_stop_the_good_ones(self, sample_record, bad_records, tmp_path, capsys):
        good_a = _write_excerpt(sample_record, tmp_path, "good_a", 30.0)
        good_b = _write_excerpt(sample_record, tmp_path, "good_b", 30.0)
        bad, reason = bad_records["garbage_header"]
        out_dir = tmp_path / "out"
        status = main(["detect", str(good_a), str(bad), str(good_b), "--out-dir", str(out_dir)])
        assert status == 2
        assert sorted(p.name for p in out_dir.iterdir()) == ["good_a.hol", "good_b.hol"]
        errors = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
        assert len(errors) == 1
        assert re.search(reason, errors[0])

    def test_two_records_with_the_same_name_are_not_both_written(self, sample_record, tmp_path, capsys):
        (tmp_path / "a").mkdir()
        (tmp_path / "b").mkdir()
        a = _write_excerpt(sample_record, tmp_path / "a", "same", 20.0)
        b = _write_excerpt(sample_record, tmp_path / "b", "same", 40.0)
        status = main(["detect", str(a), str(b), "--out-dir", str(tmp_path / "out")])
        assert status == 2
        assert "another record named 'same'" in capsys.readouterr().err
        ann = wfdb.rdann(str(tmp_path / "out" / "same"), "hol")
        assert ann.sample[-1] < 20 * 360  # the first one's file was kept


class TestNoiseAnnotations:
    def test_lead_off_stretch_is_marked_and_has_no_beats(self, sample_record, tmp_path):
        record = _write_excerpt(sample_record, tmp_path, "leadoff", 120.0, nan_s=(40.0, 70.0))
        assert main(["detect", str(record), "--out-dir", str(tmp_path / "out")]) == 0
        ann = wfdb.rdann(str(tmp_path / "out" / "leadoff"), "hol")
        noise = [(s, t) for s, sym, t in zip(ann.sample, ann.symbol, ann.subtype, strict=True) if sym == "~"]
        assert len(noise) == 2, noise
        (start, start_type), (end, end_type) = noise
        assert (start_type, end_type) == (-1, 0)  # MIT-BIH: all signals unreadable, then clean
        assert abs(start / 360 - 40.0) < 2.0 and abs(end / 360 - 70.0) < 2.0, noise
        beats = ann.sample[np.isin(ann.symbol, list(BEAT_SYMBOLS))]
        assert not np.any((beats > 40.5 * 360) & (beats < 69.5 * 360))
        rhythm = ann.sample[np.array(ann.symbol) == "+"]
        assert not np.any((rhythm > 40.5 * 360) & (rhythm < 69.5 * 360))  # noise starts no rhythm
        assert np.sum(beats > 72 * 360) > 30  # beats found again once the leads are back


def _record(n_samples: int = 3600) -> RecordInfo:
    return RecordInfo(
        name="synthetic", path=Path("synthetic"), fs_hz=360.0, n_samples=n_samples,
        lead_names=("MLII", "V1"), units=("mV", "mV"),
    )


class TestWriteHol:
    def _read(self, beats: RecordBeats, tmp_path: Path):
        path = write_hol(beats, tmp_path)
        assert path == tmp_path / "synthetic.hol"
        return wfdb.rdann(str(tmp_path / "synthetic"), "hol")

    def test_noise_marker_never_lands_on_a_beat(self, tmp_path):
        beats = RecordBeats(
            record=_record(), r_peaks=np.array([100, 500, 2000], dtype=np.int64),
            unusable=np.array([[500, 1500]], dtype=np.int64), n_chunks=1,
        )
        ann = self._read(beats, tmp_path)
        assert len(set(ann.sample.tolist())) == len(ann.sample)
        assert ann.symbol.count("N") == 3
        assert [t for sym, t in zip(ann.symbol, ann.subtype, strict=True) if sym == "~"] == [-1, 0]

    def test_record_ending_unusable_has_no_clean_marker(self, tmp_path):
        beats = RecordBeats(
            record=_record(), r_peaks=np.array([100], dtype=np.int64),
            unusable=np.array([[3000, 3600]], dtype=np.int64), n_chunks=1,
        )
        ann = self._read(beats, tmp_path)
        assert list(zip(ann.sample.tolist(), ann.symbol, ann.subtype.tolist(), strict=True)) == [
            (100, "N", 0),
            (3000, "~", -1),
        ]

    def test_no_beats_gives_an_empty_but_valid_file(self, tmp_path):
        beats = RecordBeats(
            record=_record(), r_peaks=np.empty(0, dtype=np.int64),
            unusable=np.empty((0, 2), dtype=np.int64), n_chunks=1,
        )
        ann = self._read(beats, tmp_path)
        assert len(ann.sample) == 0
