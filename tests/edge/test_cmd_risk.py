"""``holter risk``: JSON risk from a beat annotation file; bad input is one line and exit 2."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import wfdb

from holter._cli import main

REPO_ROOT = Path(__file__).resolve().parents[2]
FS_HZ = 128


def _write_annotation(folder: Path, name: str, samples, symbols, fs=FS_HZ) -> Path:
    wfdb.wrann(name, "ecg", np.asarray(samples, dtype=np.int64), symbol=list(symbols), fs=fs,
               write_dir=str(folder))
    return folder / name


@pytest.fixture
def synthetic_record(tmp_path: Path) -> Path:
    """Two hours of sinus rhythm at 128 Hz with isolated VPCs followed by turbulence, a noise mark."""
    rng = np.random.default_rng(42)
    rr_ms, symbols = [], []
    t = 0.0
    while t < 7200:
        block = 850 + 40 * np.sin(np.arange(40) / 2.5) + rng.normal(0, 8, 40)
        block[21] = 520.0  # premature coupling interval -> beat 21 is a VPC
        block[22] = 1250.0  # compensatory pause
        block[23:25] -= 40  # early acceleration
        block[25:35] += np.linspace(0, 60, 10)  # late deceleration
        labels = ["N"] * 40
        labels[21] = "V"
        rr_ms += block.tolist()
        symbols += labels
        t += block.sum() / 1000
    samples = np.round(np.cumsum(rr_ms) / 1000 * FS_HZ).astype(np.int64)
    samples = np.concatenate((samples[:3000], [samples[2999] + 30], samples[3000:]))
    symbols = symbols[:3000] + ["~"] + symbols[3000:]
    return _write_annotation(tmp_path, "synth", samples, symbols)


def _run_risk(capsys, *argv) -> tuple[int, dict | None, str]:
    status = main(["risk", *map(str, argv)])
    captured = capsys.readouterr()
    doc = json.loads(captured.out) if status == 0 else None
    return status, doc, captured.err


class TestSyntheticRecord:
    def test_prints_the_factor_table_and_the_model_probability(self, synthetic_record, capsys):
        status, doc, err = _run_risk(capsys, synthetic_record, "--annotator", "ecg")
        assert status == 0, err
        assert 0.0 <= doc["model_probability"] <= 1.0
        factors = {f["name"]: f for f in doc["factors"]}
        assert factors["model_probability"]["value"] == doc["model_probability"]
        for name in ("af_burden_pct", "n_st_episodes", "qtc_ms"):
            assert factors[name]["level"] == "not assessed" and factors[name]["note"]
        hrt = factors["hrt"]
        assert hrt["level"] == "low", hrt  # the synthetic turbulence is normal
        assert doc["measures"]["heart_rate_turbulence"]["n_vpc_used"] > 100
        assert doc["measures"]["ectopy"]["counts"]["V"] > 150
        for f in doc["factors"]:
            assert {"value", "cutoff", "source", "contribution", "level"} <= set(f)
        assert "not a diagnosis" in doc["disclaimer"]
        assert doc["level"] in ("low", "intermediate", "high")
        assert "level" in err and len(err.splitlines()) == 1

    def test_agrees_with_the_python_api(self, synthetic_record, capsys):
        import dsp

        _, doc, _ = _run_risk(capsys, synthetic_record, "--annotator", "ecg", "--no-model")
        ann = wfdb.rdann(str(synthetic_record), "ecg")
        rr = dsp.rr_series_from_annotation(ann.sample, ann.symbol, ann.fs)
        td = dsp.hrv_time_domain(rr)
        assert doc["measures"]["hrv"]["sdnn_ms"] == pytest.approx(td.sdnn_ms, abs=1e-4)
        assert doc["measures"]["hrv"]["n_nn"] == td.n_nn
        assert doc["model_probability"] is None
        assert {f["name"]: f["level"] for f in doc["factors"]}["model_probability"] == "not assessed"


@pytest.mark.data
class TestRrDatabases:
    @pytest.mark.parametrize(("db", "record"), [("chf2db", "chf201"), ("nsr2db", "nsr001")])
    def test_real_records(self, physionet_dir, capsys, db, record):
        status, doc, err = _run_risk(capsys, physionet_dir / db / record, "--annotator", "ecg")
        assert status == 0, err
        assert doc["fs_hz"] == 128.0
        hrv = doc["measures"]["hrv"]
        assert hrv["n_nn"] > 90_000 and 20 < hrv["sdnn_ms"] < 250
        assert 0.0 <= doc["model_probability"] <= 1.0
        assert doc["model"]["cross_validated_auc"] > 0.5

    def test_heart_failure_record_scores_above_the_healthy_one(self, physionet_dir, capsys):
        # both are training subjects of the committed model (in-sample): a sanity check only;
        # the held-out performance is the cross-validated AUC in the model card
        _, chf, _ = _run_risk(capsys, physionet_dir / "chf2db" / "chf201", "--annotator", "ecg")
        _, nsr, _ = _run_risk(capsys, physionet_dir / "nsr2db" / "nsr001", "--annotator", "ecg")
        assert chf["model_probability"] > nsr["model_probability"]


class TestBadInput:
    def _one_line(self, capsys, argv, pattern):
        status = main(["risk", *map(str, argv)])
        err = capsys.readouterr().err
        assert status == 2
        lines = err.splitlines()
        assert len(lines) == 1, err
        assert lines[0].startswith("holter risk: error: ")
        assert re.search(pattern, lines[0]), lines[0]

    def test_missing_file(self, tmp_path, capsys):
        self._one_line(capsys, [tmp_path / "nothing", "--annotator", "ecg"], r"no annotation file .*nothing\.ecg")

    def test_garbage_file(self, tmp_path, capsys):
        (tmp_path / "junk.ecg").write_bytes(b"\xff\x13this is not an annotation file\x00")
        self._one_line(capsys, [tmp_path / "junk", "--annotator", "ecg"], r"junk")

    def test_no_sampling_frequency(self, tmp_path, capsys):
        _write_annotation(tmp_path, "nofs", [100, 200, 300], "NNN", fs=None)
        self._one_line(capsys, [tmp_path / "nofs", "--annotator", "ecg"], r"no sampling frequency.*--fs-hz")

    def test_too_few_beats(self, tmp_path, capsys):
        _write_annotation(tmp_path, "one", [100, 150], ["N", "~"])
        self._one_line(capsys, [tmp_path / "one", "--annotator", "ecg"], r"1 beat annotation\(s\)")

    def test_missing_model_file(self, synthetic_record, tmp_path, capsys):
        self._one_line(
            capsys, [synthetic_record, "--annotator", "ecg", "--model", tmp_path / "none.tflite"],
            r"risk model not found",
        )

    def test_real_exit_status_and_clean_stdout(self, tmp_path):
        proc = subprocess.run(
            [sys.executable, "-m", "holter", "risk", str(tmp_path / "x"), "--annotator", "ecg"],
            cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
        )
        assert proc.returncode == 2
        assert proc.stdout == ""
        assert len(proc.stderr.splitlines()) == 1
