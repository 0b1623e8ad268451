"""ISHNE Holter 1.0: round trips, independent readers, damaged files, ecg_size quirk, fuzzing."""

from __future__ import annotations

import struct
import warnings

import numpy as np
import pytest
import wfdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware_bridge import (
    BridgeError,
    ChecksumError,
    RecordFormatError,
    TruncatedRecordError,
    crc16_ccitt,
    iter_chunks,
    iter_record_chunks,
    open_record,
    parse_ishne_header,
    read_ishne_header,
    write_ishne,
)
from holter._cli import main


@pytest.fixture(scope="module")
def sample_ecg(sample_record, tmp_path_factory):
    """The bundled sample written as ISHNE once: (path, original p_signal)."""
    path = tmp_path_factory.mktemp("ishne") / "119.ecg"
    info = open_record(sample_record)
    write_ishne(path, info, iter_record_chunks(info))
    return path, wfdb.rdrecord(str(sample_record)).p_signal


def _patch(src, dst, offset, fmt, value, fix_crc=True):
    """Copy `src` to `dst` with one header field changed (CRC recomputed unless told)."""
    data = bytearray(src.read_bytes())
    struct.pack_into(fmt, data, offset, value)
    if fix_crc:
        var_size = struct.unpack_from("<i", data, 10)[0]
        end = 522 + max(0, min(var_size, len(data) - 522))
        struct.pack_into("<H", data, 8, crc16_ccitt(bytes(data[10:end])))
    dst.write_bytes(bytes(data))
    return dst


class TestRoundTrip:
    def test_wfdb_to_ishne_and_back_equals_the_original_within_quantisation(self, sample_ecg):
        path, original = sample_ecg
        info = open_record(path)
        assert (info.format, info.fs_hz, info.n_samples) == ("ishne", 360.0, 650_000)
        assert info.lead_names == ("MLII", "V1")  # kept in the variable block
        assert info.adc_gain == (200.0, 200.0)  # 5000 nV per step = WFDB gain 200/mV
        back = np.concatenate([c.samples for c in iter_chunks(path, chunk_s=7.3)])
        np.testing.assert_allclose(back, original, atol=0.5 / 200 + 1e-12)
        assert np.array_equal(np.rint(back * 200), np.rint(original * 200))  # same ADC steps

    def test_header_fields(self, sample_ecg):
        header = read_ishne_header(sample_ecg[0])
        assert header.resolution_nv == (5000, 5000)
        assert header.lead_specs == (1, 11)  # MLII: generic bipolar, V1: table 1 code 11
        assert header.ecg_size == 650_000 and header.ecg_block_offset == 522 + len(header.var_block)
        assert header.fs_hz == 360

    @pytest.mark.filterwarnings("ignore:Data type alias 'a':DeprecationWarning")  # inside ishneholterlib
    def test_independent_reader_ishneholterlib_reads_it(self, sample_ecg):
        ishneholterlib = pytest.importorskip("ishneholterlib")
        path, original = sample_ecg
        holter = ishneholterlib.Holter(str(path), check_valid=False)  # is_valid() breaks under NumPy 2
        holter.load_data()
        assert (holter.nleads, holter.sr, holter.ecg_size) == (2, 360, 650_000)
        assert [lead.res for lead in holter.lead] == [5000, 5000]
        np.testing.assert_allclose(holter.lead[0].data, original[:, 0], atol=0.5 / 200 + 1e-12)
        stored = int(np.frombuffer(path.read_bytes()[8:10], "<u2")[0])
        header_block = path.read_bytes()[10 : holter.ecg_block_offset]
        assert stored == int(holter.compute_checksum(header_block=header_block))  # crccheck's CRC

    def test_cross_check_with_ecgdatakit(self, sample_ecg):
        ecgdatakit = pytest.importorskip("ecgdatakit")
        path, _ = sample_ecg
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            record = ecgdatakit.FileParser.parse(path)
        ours = np.concatenate([c.samples for c in iter_chunks(path)])
        assert record.raw_metadata["checksum_valid"] is True
        for i, lead in enumerate(record.leads):
            np.testing.assert_allclose(lead.samples, ours[:, i], atol=1e-12)

    def test_ecg_size_counting_all_leads_is_read_the_same(self, sample_record, tmp_path):
        info = open_record(sample_record)
        chunks = list(iter_record_chunks(info, chunk_s=600))[:1]
        short = type(info)(**{**info.__dict__, "n_samples": chunks[0].n_samples})
        a = write_ishne(tmp_path / "a.ecg", short, chunks).path
        b = write_ishne(tmp_path / "b.ecg", short, chunks, ecg_size_counts="all leads").path
        assert read_ishne_header(b).ecg_size == 2 * read_ishne_header(a).ecg_size
        ia, ib = open_record(a), open_record(b)
        assert ia.n_samples == ib.n_samples == 216_000
        assert (ia.metadata["ecg_size_counts"], ib.metadata["ecg_size_counts"]) == ("per lead", "all leads")
        np.testing.assert_array_equal(next(iter_chunks(a)).samples, next(iter_chunks(b)).samples)

    def test_nan_is_written_as_lead_fault_and_read_back_as_nan(self, tmp_path):
        signal = np.sin(np.arange(2000) / 50.0)[:, None] * np.ones((1, 3))
        signal[500:600, 1] = np.nan
        wfdb.wrsamp("f", fs=250, units=["mV"] * 3, sig_name=["I", "II", "V5"], p_signal=signal,
                    fmt=["16"] * 3, adc_gain=[1000.0] * 3, baseline=[0] * 3, write_dir=str(tmp_path))
        info = open_record(tmp_path / "f")
        result = write_ishne(tmp_path / "f.ecg", info, iter_record_chunks(info))
        assert result.n_invalid == 100
        back = np.concatenate([c.samples for c in iter_chunks(tmp_path / "f.ecg")])
        assert np.isnan(back[500:600, 1]).all() and np.isfinite(back[:, [0, 2]]).all()
        assert read_ishne_header(tmp_path / "f.ecg").lead_specs == (5, 6, 15)


class TestDamagedFiles:
    def _run(self, path, capsys, *extra):
        status = main(["detect", str(path), "--out-dir", str(path.parent / "out"), *extra])
        return status, capsys.readouterr().err.strip().splitlines()

    @pytest.mark.parametrize(
        ("damage", "error", "reason"),
        [
            ("bad_crc", ChecksumError, r"header CRC mismatch: stored 0x[0-9a-f]{4}, computed 0x[0-9a-f]{4}"),
            ("wrong_magic", RecordFormatError, r"wrong magic b'ISHNE2\.0'"),
            ("zero_leads", RecordFormatError, r"absurd header field: 0 leads"),
            ("negative_rate", RecordFormatError, r"absurd header field: sampling rate -360 Hz"),
            ("zero_resolution", RecordFormatError, r"amplitude resolution of lead 2 is 0 nV"),
            ("huge_var_block", RecordFormatError, r"variable-length block size 2000000000 bytes"),
            ("var_block_offset", RecordFormatError, r"variable-length block offset 600"),
            ("truncated", TruncatedRecordError, r"truncated: the header declares 650000 samples per lead"),
            ("header_only_part", TruncatedRecordError, r"truncated inside the header: 300 of 522 bytes"),
        ],
    )
    def test_one_typed_error_naming_the_problem_and_exit_2(self, sample_ecg, tmp_path, capsys, damage, error, reason):
        src = sample_ecg[0]
        dst = tmp_path / "damaged.ecg"
        if damage == "bad_crc":
            _patch(src, dst, 28, "<40s", b"tampered name", fix_crc=False)
        elif damage == "wrong_magic":
            _patch(src, dst, 0, "<8s", b"ISHNE2.0")
        elif damage == "zero_leads":
            _patch(src, dst, 156, "<h", 0)
        elif damage == "negative_rate":
            _patch(src, dst, 272, "<h", -360)
        elif damage == "zero_resolution":
            _patch(src, dst, 208, "<h", 0)
        elif damage == "huge_var_block":
            _patch(src, dst, 10, "<i", 2_000_000_000)
        elif damage == "var_block_offset":
            _patch(src, dst, 18, "<i", 600)
        elif damage == "truncated":
            dst.write_bytes(src.read_bytes()[:1_000_001])
        else:
            dst.write_bytes(src.read_bytes()[:300])
        with pytest.raises(error, match=reason):
            open_record(dst)
        status, lines = self._run(dst, capsys)
        assert status == 2
        assert len(lines) == 1 and lines[0].startswith("holter detect: error: ")

    def test_allow_truncated_reads_up_to_the_damage_and_says_how_much_was_lost(self, sample_ecg, tmp_path, capsys):
        src, original = sample_ecg
        dst = tmp_path / "cut.ecg"
        dst.write_bytes(src.read_bytes()[: 536 + 4 * 100_000 + 3])  # 100000 whole frames + 3 bytes
        info = open_record(dst, allow_truncated=True)
        assert (info.n_samples, info.samples_lost) == (100_000, 550_000)
        back = np.concatenate([c.samples for c in iter_chunks(dst, allow_truncated=True)])
        np.testing.assert_allclose(back, original[:100_000], atol=0.5 / 200 + 1e-12)
        status, lines = self._run(dst, capsys, "--allow-truncated")
        assert status == 0
        assert any("550000 samples (25:28) per lead were lost" in line for line in lines)

    def test_typed_errors_are_value_errors_of_the_bridge_tree(self):
        for cls in (ChecksumError, TruncatedRecordError):
            assert issubclass(cls, RecordFormatError) and issubclass(cls, ValueError)


@pytest.fixture(scope="module")
def small_header_bytes(sample_ecg):
    return sample_ecg[0].read_bytes()[:536]


class TestFuzzHeader:
    @settings(max_examples=300, deadline=None)
    @given(st.binary(max_size=700))
    def test_random_bytes_raise_only_bridge_errors(self, data):
        try:
            parse_ishne_header(data)
        except BridgeError:
            pass

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(st.tuples(st.integers(0, 535), st.integers(0, 255)), min_size=1, max_size=8),
           st.booleans())
    def test_mutated_headers_parse_or_raise_bridge_errors(self, small_header_bytes, edits, fix_crc):
        data = bytearray(small_header_bytes)
        for pos, value in edits:
            data[pos] = value
        if fix_crc:
            var_size = struct.unpack_from("<i", data, 10)[0]
            end = 522 + max(0, min(var_size, len(data) - 522))
            struct.pack_into("<H", data, 8, crc16_ccitt(bytes(data[10:end])))
        try:
            header = parse_ishne_header(bytes(data))
        except BridgeError:
            return
        assert 1 <= header.n_leads <= 12 and header.fs_hz > 0 and min(header.resolution_nv) > 0

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.integers(0, 2000), st.binary(min_size=0, max_size=64))
    def test_whole_reader_on_damaged_files(self, tmp_path, sample_ecg, cut, junk):
        data = sample_ecg[0].read_bytes()[: 536 + cut] + junk
        path = tmp_path / "fuzz.ecg"
        path.write_bytes(data)
        for allow in (False, True):
            try:
                for chunk in iter_chunks(path, chunk_s=1.0, allow_truncated=allow):
                    assert chunk.samples.shape[1] == 2
            except BridgeError:
                pass
