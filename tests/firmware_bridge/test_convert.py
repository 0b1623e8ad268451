"""EDF/EDF+ through pyedflib, format detection by content, holter convert, and
holter detect finding the same beats in every format."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import wfdb

from firmware_bridge import (
    Annotation,
    RecordFormat,
    UnknownFormatError,
    detect_format,
    iter_chunks,
    iter_record_chunks,
    open_record,
    write_edf,
)
from holter._cli import main


@pytest.fixture(scope="module")
def converted(sample_record, tmp_path_factory):
    """The sample converted WFDB -> ISHNE -> EDF+ and WFDB -> EDF+ -> ISHNE with holter convert."""
    folder = tmp_path_factory.mktemp("convert")
    paths = {"ecg": folder / "119.ecg", "edf_from_ecg": folder / "from_ecg" / "119.edf",
             "edf": folder / "direct" / "119.edf", "ecg_from_edf": folder / "from_edf" / "119.ishne"}
    assert main(["convert", str(sample_record), str(paths["ecg"])]) == 0
    assert main(["convert", str(paths["ecg"]), str(paths["edf_from_ecg"])]) == 0
    assert main(["convert", str(sample_record), str(paths["edf"])]) == 0
    assert main(["convert", str(paths["edf"]), str(paths["ecg_from_edf"])]) == 0
    return paths


class TestConvert:
    @pytest.mark.parametrize("key", ["ecg", "edf_from_ecg", "edf", "ecg_from_edf"])
    def test_samples_gain_units_and_names_are_kept(self, converted, sample_record, key):
        original = wfdb.rdrecord(str(sample_record)).p_signal
        info = open_record(converted[key])
        assert (info.lead_names, info.units, info.n_samples) == (("MLII", "V1"), ("mV", "mV"), 650_000)
        assert info.adc_gain == pytest.approx((200.0, 200.0), rel=1e-6)
        back = np.concatenate([c.samples for c in iter_record_chunks(info)])
        np.testing.assert_allclose(back, original, atol=0.5 / 200 + 1e-9)

    def test_pyedflib_reads_the_edf_plus_file(self, converted, sample_record):
        import pyedflib

        original = wfdb.rdrecord(str(sample_record)).p_signal
        with pyedflib.EdfReader(str(converted["edf"])) as reader:
            assert reader.filetype == pyedflib.FILETYPE_EDFPLUS
            assert reader.getSignalLabels() == ["MLII", "V1"]
            assert reader.getPhysicalDimension(0) == "mV"
            np.testing.assert_allclose(reader.readSignal(1)[:650_000], original[:, 1], atol=0.5 / 200 + 1e-9)

    def test_holter_detect_finds_the_same_beats_in_every_format(self, converted, sample_record, tmp_path):
        records = [str(sample_record)] + [str(converted[k]) for k in ("ecg", "edf_from_ecg")]
        beats = []
        for i, record in enumerate(records):
            out = tmp_path / str(i)
            assert main(["detect", record, "--out-dir", str(out)]) == 0
            ann = wfdb.rdann(str(out / "119"), "hol")
            beats.append(ann.sample[np.isin(ann.symbol, ["N", "A", "V", "F", "Q"])])
        assert beats[0].size > 1900
        np.testing.assert_array_equal(beats[1], beats[0])
        np.testing.assert_array_equal(beats[2], beats[0])

    def test_unknown_output_extension_is_one_line_exit_2(self, sample_record, tmp_path, capsys):
        assert main(["convert", str(sample_record), str(tmp_path / "x.mat")]) == 2
        assert capsys.readouterr().err.strip().startswith("holter convert: error: cannot tell the output format")


class TestEdf:
    def test_annotations_start_time_and_odd_length_survive(self, tmp_path):
        signal = np.sin(np.arange(1234) / 30.0)[:, None] * [1.0, 0.5]
        wfdb.wrsamp("a", fs=250, units=["mV", "mV"], sig_name=["I", "II"], p_signal=signal, fmt=["16", "16"],
                    adc_gain=[1000.0, 1000.0], baseline=[0, 0], write_dir=str(tmp_path))
        info = open_record(tmp_path / "a")
        notes = (Annotation(1.5, 0.0, "button pressed"), Annotation(3.0, 2.0, "walking"))
        info = type(info)(**{**info.__dict__, "annotations": notes, "patient_id": "P-007"})
        write_edf(tmp_path / "a.edf", info, iter_record_chunks(info))
        back = open_record(tmp_path / "a.edf")
        assert back.format == "edf+" and back.n_samples == 1234 and back.patient_id == "P-007"
        assert [(a.onset_s, a.duration_s, a.text) for a in back.annotations] == [
            (1.5, 0.0, "button pressed"), (3.0, 2.0, "walking")]
        got = np.concatenate([c.samples for c in iter_chunks(tmp_path / "a.edf", chunk_s=1.0)])
        np.testing.assert_allclose(got, signal, atol=0.0005 + 1e-9)
        # and EDF+ -> ISHNE -> EDF+ keeps them where ISHNE can: samples and names
        assert main(["convert", str(tmp_path / "a.edf"), str(tmp_path / "a.ecg")]) == 0
        assert open_record(tmp_path / "a.ecg").lead_names == ("I", "II")

    def test_a_truncated_edf_is_refused_or_read_up_to_the_damage(self, converted, tmp_path, capsys):
        cut = tmp_path / "cut.edf"
        cut.write_bytes(converted["edf"].read_bytes()[:200_000])
        assert main(["detect", str(cut), "--out-dir", str(tmp_path)]) == 2
        assert "truncated: the header declares" in capsys.readouterr().err


class TestDetectFormat:
    def test_content_not_extension_decides(self, converted, sample_record, tmp_path):
        disguised = tmp_path / "recording.bin"
        shutil.copy(converted["ecg"], disguised)
        assert detect_format(disguised) is RecordFormat.ISHNE
        shutil.copy(converted["edf"], tmp_path / "other.dat2")
        assert detect_format(tmp_path / "other.dat2") is RecordFormat.EDF
        assert detect_format(sample_record) is RecordFormat.WFDB
        assert detect_format(f"{sample_record}.hea") is RecordFormat.WFDB
        assert open_record(disguised).n_samples == 650_000

    def test_unknown_content_is_a_typed_one_line_error(self, tmp_path, capsys):
        junk = tmp_path / "junk.xyz"
        junk.write_bytes(b"PK\x03\x04 not an ECG")
        with pytest.raises(UnknownFormatError, match=r"unknown record format \(first bytes b'PK\\x03\\x04 not'\)"):
            open_record(junk)
        assert main(["detect", str(junk), "--out-dir", str(tmp_path)]) == 2
        assert len(capsys.readouterr().err.strip().splitlines()) == 1


class TestEcgdatakitAdapter:
    def test_maps_a_parsed_file_into_chunks(self, converted):
        pytest.importorskip("ecgdatakit")
        from firmware_bridge import iter_ecgdatakit_chunks, open_ecgdatakit

        info = open_ecgdatakit(converted["ecg"])
        assert info.format == "ecgdatakit:ISHNE Holter" and info.fs_hz == 360.0 and info.n_samples == 650_000
        assert info.units == ("mV", "mV") and info.adc_gain == pytest.approx((200.0, 200.0))
        ours = np.concatenate([c.samples for c in iter_chunks(converted["ecg"])])
        theirs = np.concatenate([c.samples for c in iter_ecgdatakit_chunks(converted["ecg"], chunk_s=60.0)])
        np.testing.assert_allclose(theirs, ours, atol=1e-12)
