"""The worker's config file (cloud.toml): the sample loads, mistakes are one-line ValueErrors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cloud import WorkerConfigError, load_config
from cloud._worker_config import config_from_mapping

SAMPLE = Path(__file__).resolve().parents[2] / "cloud" / "cloud.sample.toml"
REPO_ROOT = SAMPLE.parents[1]


def test_the_committed_sample_loads():
    config = load_config(SAMPLE, environ={"HOLTER_MQTT_PASSWORD": "from-env"})
    assert (config.host, config.port, config.client_id) == ("127.0.0.1", 1883,
                                                           "holter-cloud-worker-1")  # fmt: skip
    assert config.password == "from-env" and "from-env" not in repr(config)
    assert config.store.backend == "sqlite"
    assert config.subscriptions() == [
        "$share/holter-cloud/holter/v1/+/+/+/alert",
        "$share/holter-cloud/holter/v1/+/+/+/summary",
        "$share/holter-cloud/holter/v1/+/+/+/strip",
        "holter/v1/+/+/status",
    ]
    assert config.receive_maximum == 2 * config.batch_max_messages


def test_password_from_a_file_and_store_url_from_the_environment(tmp_path):
    secret = tmp_path / "pw"
    secret.write_text("s3cret\n")
    config = config_from_mapping(
        {"broker": {"client_id": "w1", "password_file": "pw", "username": "cloud"}},
        environ={"HOLTER_CLOUD_DB_URL": "postgresql://cloud@db/holter"}, base_dir=tmp_path,
    )  # fmt: skip
    assert (config.username, config.password) == ("cloud", "s3cret")
    assert config.store.backend == "postgresql"


@pytest.mark.parametrize(
    ("doc", "match"),
    [
        ({"broker": {}}, "client_id is required"),
        ({"broker": {"client_id": "w", "password": "x"}}, "never put a password"),
        ({"broker": {"client_id": "w", "url": "http://h"}}, r"mqtt://HOST"),
        ({"broker": {"client_id": "w", "url": "mqtt://u:p@h"}}, "credentials"),
        ({"broker": {"client_id": "w", "url": "mqtts://h"}}, "tls_ca"),
        ({"broker": {"client_id": "w", "sites": ["a/b"]}}, "sites"),
        ({"broker": {"client_id": "w b"}}, "client_id"),
        ({"broker": {"client_id": "w", "colour": 1}}, "unknown key"),
        ({"broker": {"client_id": "w"}, "queue": {}}, "unknown section"),
        ({"broker": {"client_id": "w"}, "batch": {"max_messages": 0}}, "batch_max_messages"),
        ({"broker": {"client_id": "w"}, "store": {"url": "mysql://x"}}, r"\[store\]"),
        ({"broker": {"client_id": "w"}, "store": {"url": "postgresql://u:pw@h/d"}},
         "PGPASSWORD"),
        ({"broker": {"client_id": "w"}, "store": {"retention_days": -1}}, "retention_days"),
        ({"broker": {"client_id": "w", "tls_ca": "/nonexistent/ca.pem"}}, "no such file"),
    ],
)
def test_mistakes_are_value_errors(doc, match):
    with pytest.raises(WorkerConfigError, match=match) as info:
        config_from_mapping(doc, environ={})
    assert isinstance(info.value, ValueError)
    assert "pw@" not in str(info.value)


def test_the_command_says_what_is_wrong_in_one_line_and_exits_2(tmp_path):
    bad = tmp_path / "cloud.toml"
    bad.write_text('[broker]\nclient_id = "w"\npassword = "hunter2"\n')
    for path in (bad, tmp_path / "missing.toml"):
        done = subprocess.run([sys.executable, "-m", "holter", "cloud", "worker", "--config",
                               str(path)], cwd=REPO_ROOT, capture_output=True, text=True,
                              timeout=60)  # fmt: skip
        assert done.returncode == 2
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("holter cloud: error:"), done.stderr
        assert "hunter2" not in done.stderr
