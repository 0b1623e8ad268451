"""The gateway's TOML configuration: the sample loads; every mistake is one clear line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from edge._config import AlertThresholds, load_config
from edge._exceptions import ConfigError

SAMPLE = Path(__file__).resolve().parents[2] / "edge" / "deploy" / "gateway.sample.toml"
MINIMAL = '[gateway]\nsite = "s1"\nid = "gw1"\n[inputs]\nwatch_dir = "in"\n'


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gw.toml"
    path.write_text(text)
    return path


class TestLoad:
    def test_the_sample_is_valid_and_documents_every_threshold(self):
        config = load_config(SAMPLE)
        assert (config.site, config.gateway) == ("clinic-a", "gw-01")
        assert config.patient_for_device(17) == "p0001"
        assert config.lead_names("p0001") == ("MLII", "V5")
        text = SAMPLE.read_text()
        for name in AlertThresholds.__dataclass_fields__:
            assert f"\n{name} = " in text, f"sample lacks [alerts] {name}"

    def test_relative_paths_are_taken_from_the_file(self, tmp_path):
        config = load_config(_write(tmp_path, MINIMAL))
        assert config.watch_dir == tmp_path / "in"
        assert config.data_dir == tmp_path / "gateway-data"

    def test_password_comes_from_the_environment_never_the_file(self, tmp_path, monkeypatch):
        monkeypatch.setenv("GW_SECRET", "s3cret")
        config = load_config(_write(tmp_path, MINIMAL + '[broker]\npassword_env = "GW_SECRET"\n'))
        assert config.password == "s3cret"
        with pytest.raises(ConfigError, match=r"\[broker\] unknown key\(s\): password"):
            load_config(_write(tmp_path, MINIMAL + '[broker]\npassword = "x"\n'))

    def test_password_file(self, tmp_path, monkeypatch):
        monkeypatch.delenv("HOLTER_MQTT_PASSWORD", raising=False)
        (tmp_path / "pw").write_text("from-file\n")
        config = load_config(_write(tmp_path, MINIMAL + '[broker]\npassword_file = "pw"\n'))
        assert config.password == "from-file"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[gateway\n", "not valid TOML"),
        ('[gateway]\nid = "gw1"\n[inputs]\nwatch_dir = "in"\n', r"\[gateway\] site is required"),
        (MINIMAL.replace('"s1"', '"bad site"'), r"site must be text matching"),
        ('[gateway]\nsite = "s1"\nid = "gw1"\n', "no input"),
        (MINIMAL + "[alerts]\nbrady_bpm = 130\n", "brady_bpm < tachy_bpm"),
        (MINIMAL + "[alerts]\npause_s = -1\n", "pause_s must be a number >= 0"),
        (MINIMAL + "[alerts]\nvt_bpm = 100\n", r"unknown key\(s\): vt_bpm"),
        (MINIMAL + "[[patients]]\nid = \"p1\"\ndevice = 3\n[[patients]]\nid = \"p2\"\ndevice = 3\n",
         "device 3 is registered to two patients"),
        (MINIMAL + "[[patients]]\nid = \"p1\"\n[[patients]]\nid = \"p1\"\n", "registered twice"),
        (MINIMAL + '[broker]\nurl = "http://x"\n', "broker URL must be mqtt://"),
        (MINIMAL + '[broker]\nurl = "mqtt://u:p@host"\n', "not in the broker URL"),
        (MINIMAL + '[broker]\ntls_ca = "missing.pem"\n', "no such file"),
        (MINIMAL + "[extra]\n", r"unknown table\(s\): extra"),
    ],
)
def test_bad_configuration_is_one_clear_error(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message) as info:
        load_config(_write(tmp_path, text))
    assert str(tmp_path / "gw.toml") in str(info.value)
    assert isinstance(info.value, ValueError)


def test_cli_reports_a_bad_file_in_one_line_with_status_2(tmp_path):
    path = _write(tmp_path, MINIMAL + "[alerts]\npause_s = \"long\"\n")
    out = subprocess.run([sys.executable, "-m", "holter", "gateway", "--config", str(path), "--check"],
                         capture_output=True, text=True)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "pause_s must be a number" in lines[0]


def test_cli_check_accepts_the_sample():
    out = subprocess.run([sys.executable, "-m", "holter", "gateway", "--config", str(SAMPLE),
                          "--check"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "OK (site clinic-a, gateway gw-01, 2 patients" in out.stdout
