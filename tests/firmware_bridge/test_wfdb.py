"""The WFDB reader: chunks add up to the record, in any chunk size; bad records are typed errors."""

from __future__ import annotations

import re

import numpy as np
import pytest
import wfdb

from firmware_bridge import BridgeError, Chunk, RecordFormatError, iter_wfdb_chunks, open_wfdb


@pytest.fixture(scope="module")
def sample_p_signal(sample_record) -> np.ndarray:
    return wfdb.rdrecord(str(sample_record)).p_signal


class TestOpenWfdb:
    def test_describes_the_sample_record(self, sample_record):
        info = open_wfdb(sample_record)
        assert info.name == "119"
        assert info.fs_hz == 360.0
        assert info.n_samples == 650_000
        assert info.lead_names == ("MLII", "V1")
        assert info.units == ("mV", "mV")
        assert info.duration_s == pytest.approx(650_000 / 360)

    @pytest.mark.parametrize("suffix", [".hea", ".dat"])
    def test_accepts_a_file_name_with_extension(self, sample_record, suffix):
        assert open_wfdb(f"{sample_record}{suffix}").name == "119"

    @pytest.mark.parametrize(
        ("kind", "error"),
        [
            ("missing", FileNotFoundError),
            ("missing_signal_file", FileNotFoundError),
            ("garbage_header", RecordFormatError),
            ("fs_out_of_range", RecordFormatError),
            ("zero_length", RecordFormatError),
        ],
    )
    def test_bad_records_raise_typed_errors_naming_the_problem(self, bad_records, kind, error):
        path, reason = bad_records[kind]
        with pytest.raises(error, match=reason):
            open_wfdb(path)
        with pytest.raises(error, match=reason):  # checked on the call, not on first next()
            iter_wfdb_chunks(path)

    def test_format_errors_are_value_errors_of_the_bridge_tree(self):
        assert issubclass(RecordFormatError, ValueError)
        assert issubclass(RecordFormatError, BridgeError)

    @pytest.mark.data
    def test_every_mitdb_header_opens(self, mitdb_dir):
        records = sorted(p.with_suffix("") for p in mitdb_dir.glob("*.hea"))
        assert len(records) == 48
        for record in records:
            info = open_wfdb(record)
            assert (info.fs_hz, info.n_samples, info.n_leads) == (360.0, 650_000, 2)


class TestIterWfdbChunks:
    @pytest.mark.parametrize("chunk_s", [1.0, 7.3, 60.0, 3600.0])
    def test_chunks_concatenate_to_the_whole_record(self, sample_record, sample_p_signal, chunk_s):
        chunks = list(iter_wfdb_chunks(sample_record, chunk_s=chunk_s))
        signal = np.concatenate([c.samples for c in chunks])
        np.testing.assert_array_equal(signal, sample_p_signal)
        chunk_samples = round(chunk_s * 360)
        assert all(c.n_samples == chunk_samples for c in chunks[:-1])
        assert 0 < chunks[-1].n_samples <= chunk_samples

    def test_chunks_are_consecutive_and_described(self, sample_record):
        chunks = list(iter_wfdb_chunks(sample_record, chunk_s=60.0))
        assert [c.start_sample for c in chunks] == [i * 21_600 for i in range(len(chunks))]
        assert chunks[-1].end_sample == 650_000
        for c in chunks:
            assert (c.source_id, c.fs_hz, c.lead_names, c.units) == ("119", 360.0, ("MLII", "V1"), ("mV", "mV"))
            assert c.samples.dtype == np.float64

    def test_chunk_samples_are_read_only(self, sample_record):
        chunk = next(iter_wfdb_chunks(sample_record, chunk_s=1.0))
        with pytest.raises(ValueError, match="read-only"):
            chunk.samples[0, 0] = 1.0

    def test_invalid_samples_read_as_nan(self, tmp_path):
        signal = np.tile(np.linspace(-1.0, 1.0, 400)[:, None], (1, 2))
        signal[100:150, 1] = np.nan
        wfdb.wrsamp(
            "gap", fs=200, units=["mV", "mV"], sig_name=["I", "II"], p_signal=signal,
            fmt=["16", "16"], adc_gain=[1000.0, 1000.0], baseline=[0, 0], write_dir=str(tmp_path),
        )
        got = np.concatenate([c.samples for c in iter_wfdb_chunks(tmp_path / "gap", chunk_s=0.3)])
        assert np.isnan(got[100:150, 1]).all()
        assert not np.isnan(got[:, 0]).any()
        np.testing.assert_allclose(got[:100], signal[:100], atol=1e-3)

    def test_microvolts_are_converted_to_millivolts(self, tmp_path):
        signal_uv = np.linspace(-2000.0, 2000.0, 300)[:, None]
        wfdb.wrsamp(
            "uv", fs=250, units=["uV"], sig_name=["ECG"], p_signal=signal_uv, fmt=["16"],
            adc_gain=[1.0], baseline=[0], write_dir=str(tmp_path),
        )
        assert open_wfdb(tmp_path / "uv").units == ("mV",)
        chunk = next(iter_wfdb_chunks(tmp_path / "uv"))
        np.testing.assert_allclose(chunk.samples, signal_uv / 1000.0, atol=1e-3)

    def test_a_header_without_length_is_read_to_the_end_of_the_file(self, tmp_path):
        (tmp_path / "nolen.hea").write_text("nolen 1 360\nnolen.dat 16 200 16 0 0 0 0 ECG\n")
        (tmp_path / "nolen.dat").write_bytes(np.arange(1000, dtype="<i2").tobytes())
        assert open_wfdb(tmp_path / "nolen").n_samples == 1000
        got = np.concatenate([c.samples for c in iter_wfdb_chunks(tmp_path / "nolen", chunk_s=1.0)])
        np.testing.assert_allclose(got[:, 0], np.arange(1000) / 200.0)

    @pytest.mark.parametrize("chunk_s", [0, -1.0, float("nan"), float("inf"), "60"])
    def test_chunk_length_must_be_positive_seconds(self, sample_record, chunk_s):
        with pytest.raises(ValueError, match=re.escape(f"`chunk_s` must be a positive number of seconds, got {chunk_s!r}")):
            iter_wfdb_chunks(sample_record, chunk_s=chunk_s)


class TestChunk:
    def test_rejects_a_block_that_does_not_match_its_leads(self):
        with pytest.raises(ValueError, match="2 columns in `samples` but 1 lead names"):
            Chunk("x", 360.0, ("MLII",), ("mV",), 0, np.zeros((10, 2)))

    def test_rejects_1d_and_integer_blocks(self):
        with pytest.raises(ValueError, match="must be 2-D"):
            Chunk("x", 360.0, ("MLII",), ("mV",), 0, np.zeros(10))
        with pytest.raises(ValueError, match="float32 or float64, got int16"):
            Chunk("x", 360.0, ("MLII",), ("mV",), 0, np.zeros((10, 1), dtype=np.int16))


class TestDirectReader:
    """The NumPy decoder of formats 212 and 16 gives exactly what wfdb gives."""

    @staticmethod
    def _same_as_wfdb(path, ranges) -> None:
        from firmware_bridge._wfdb import _direct_reader

        info = open_wfdb(path)
        read = _direct_reader(info, wfdb.rdheader(str(path)))
        assert read is not None
        for start, stop in ranges:
            got = read(start, stop)
            want = wfdb.rdrecord(str(path), sampfrom=start, sampto=stop, physical=True).p_signal
            assert got.shape == want.shape
            np.testing.assert_array_equal(got, want)  # NaN where wfdb has NaN

    @pytest.mark.parametrize("fmt", ["212", "16"])
    def test_synthetic_record_with_invalid_samples_any_range(self, tmp_path, fmt):
        rng = np.random.default_rng(7)
        d = rng.integers(-2000, 2000, (1001, 3)).astype(np.int64)  # odd length: a half pair in 212
        d[10:20, 1] = -2048 if fmt == "212" else -32768  # invalid (lead off)
        wfdb.wrsamp("syn", fs=250, units=["mV"] * 3, sig_name=["I", "II", "V1"], d_signal=d,
                    fmt=[fmt] * 3, adc_gain=[200.0, 100.0, 400.0], baseline=[0, 12, -7],
                    write_dir=str(tmp_path))
        self._same_as_wfdb(tmp_path / "syn", [(0, 1000), (1, 2), (3, 700), (9, 21), (500, 1000)])

    def test_format_212_whole_range_of_values(self, tmp_path):
        """Every 12-bit value, both nibble positions, odd starts: the kernel's bit work."""
        d = np.arange(-2048, 2048, dtype=np.int64)
        d = np.stack([d, d[::-1], np.roll(d, 777)], axis=1)  # 4096 x 3: each value in each slot
        wfdb.wrsamp("full", fs=360, units=["mV"] * 3, sig_name=["I", "II", "III"], d_signal=d,
                    fmt=["212"] * 3, adc_gain=[200.0, 3.7, 1e-3], baseline=[1024, -5, 0],
                    write_dir=str(tmp_path))
        self._same_as_wfdb(tmp_path / "full", [(0, 4096), (1, 4095), (2047, 2050), (4095, 4096)])

    @pytest.mark.data
    def test_every_mitdb_record_at_odd_offsets(self, mitdb_dir):
        for hea in sorted(mitdb_dir.glob("*.hea")):
            n = open_wfdb(hea.with_suffix("")).n_samples
            self._same_as_wfdb(hea.with_suffix(""), [(0, 3600), (1, 1002), (12345, 228345),
                                                     (n - 777, n)])

    def test_a_header_without_a_length_is_read_through_wfdb(self, tmp_path):
        from firmware_bridge._wfdb import iter_wfdb_chunks as chunks

        wfdb.wrsamp("nolen", fs=360, units=["mV"], sig_name=["I"], d_signal=np.arange(720)[:, None],
                    fmt=["16"], adc_gain=[1000.0], baseline=[0], write_dir=str(tmp_path))
        hea = tmp_path / "nolen.hea"
        first, *rest = hea.read_text().splitlines()
        hea.write_text(" ".join(first.split()[:3]) + "\n" + "\n".join(rest) + "\n")
        x = np.concatenate([c.samples for c in chunks(tmp_path / "nolen", chunk_s=1.0)])
        np.testing.assert_array_equal(x[:, 0], np.arange(720) / 1000.0)
