"""Brokers, databases and workers (threads or `holter cloud worker` processes) for the worker tests.

The shared Mosquitto on 127.0.0.1:1883 serves the small tests; each test has
its own site ids, share group and client ids, and its workers subscribe to its
sites only. The scale test starts a private mosquitto configured as a worker
tier must be (``max_queued_messages`` large: the default of 1000 drops
messages queued for a worker that is away or behind).
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from cloud import StoreSettings, open_store
from cloud._worker import Worker
from cloud._worker_config import WorkerConfig

REPO_ROOT = Path(__file__).resolve().parents[2]


def listening(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def need_broker() -> int:
    if not listening(1883):
        reason = "no MQTT broker listens on 127.0.0.1:1883 (install mosquitto; .ci/run starts it)"
        if os.environ.get("HOLTER_REQUIRE_DATA"):
            pytest.fail(reason + " and HOLTER_REQUIRE_DATA is set", pytrace=False)
        pytest.skip(reason)
    return 1883


def unique(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(5)}"


def wait_for(predicate: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.05)


def pg_schema_url(database_url: str) -> Iterator[str]:
    """A fresh schema in the run's database, as a URL (dropped afterwards)."""
    import psycopg

    schema = unique("w_")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    parts = urlsplit(database_url)
    try:
        yield urlunsplit((parts.scheme, parts.netloc, parts.path,
                          f"options=-csearch_path%3D{schema}", ""))  # fmt: skip
    finally:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def count_rows(store_url: str, sql: str = "SELECT COUNT(*) FROM alerts") -> int:
    with open_store(store_url) as store, store._lock, store._transaction(write=False):
        return int(store._execute(sql).fetchone()[0])


def worker_config(store_url: str, sites: list[str], *, port: int = 1883, client_id: str,
                  group: str, max_messages: int = 200, max_delay_ms: int = 50) -> WorkerConfig:  # fmt: skip
    return WorkerConfig(client_id=client_id, port=port, share_group=group, sites=tuple(sites),
                        session_expiry_s=300, store=StoreSettings(url=store_url),
                        batch_max_messages=max_messages, batch_max_delay_ms=max_delay_ms,
                        stats_interval_s=5.0)  # fmt: skip


class WorkerThread:
    """A :class:`Worker` running in its own thread (every paho call in that thread)."""

    def __init__(self, config: WorkerConfig) -> None:
        self.worker = Worker(config)
        self.stats = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        self.stats = self.worker.run()

    def __enter__(self) -> WorkerThread:
        self._thread.start()
        wait_for(lambda: self.worker.subscribed, 10, "the worker's subscriptions")
        return self

    def __exit__(self, *exc: object) -> None:
        self.worker.stop()
        self._thread.join(15)
        assert not self._thread.is_alive(), "the worker did not stop"


def toml_config(path: Path, store_url: str, sites: list[str], *, port: int, client_id: str,
                group: str, max_messages: int = 200, max_delay_ms: int = 50) -> Path:  # fmt: skip
    site_list = ", ".join(f'"{s}"' for s in sites)
    path.write_text(
        f'[broker]\nurl = "mqtt://127.0.0.1:{port}"\nclient_id = "{client_id}"\n'
        f'share_group = "{group}"\nsites = [{site_list}]\nsession_expiry_s = 300\n'
        f'[store]\nurl = "{store_url}"\n'
        f"[batch]\nmax_messages = {max_messages}\nmax_delay_ms = {max_delay_ms}\n"
        "[worker]\nstats_interval_s = 5\n",
        encoding="utf-8",
    )
    return path


class WorkerProcess:
    """``python -m holter cloud worker --config ...`` as a child process."""

    def __init__(self, config: Path, client_id: str, stats_json: Path) -> None:
        self.client_id = client_id
        self.stats_json = stats_json
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "holter", "cloud", "worker", "--config", str(config),
             "--client-id", client_id, "--stats-json", str(stats_json)],
            cwd=REPO_ROOT, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        wait_for(lambda: any("subscribed" in line for line in self.lines) or
                 self.proc.poll() is not None, 30, f"worker {client_id} to subscribe")  # fmt: skip
        assert self.proc.poll() is None, "".join(self.lines)

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)

    def _close(self) -> None:
        self._reader.join(5)
        if self.proc.stderr is not None:
            self.proc.stderr.close()

    def kill(self) -> None:
        """SIGKILL: no commit, no acknowledgement, no goodbye."""
        self.proc.kill()
        self.proc.wait(10)
        self._close()

    def terminate(self) -> int:
        """SIGTERM and wait; returns the exit status."""
        if self.proc.poll() is None:
            self.proc.terminate()
        rc = self.proc.wait(30)
        self._close()
        return rc


class PrivateMosquitto:
    """A mosquitto on a free loopback port, configured for a worker tier."""

    def __init__(self) -> None:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(binary).exists():
            pytest.skip("the mosquitto binary is not installed")
        self.port = free_port()
        self._dir = tempfile.TemporaryDirectory(prefix="holter-mosquitto-")
        conf = Path(self._dir.name) / "mosquitto.conf"
        conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
            "max_queued_messages 1000000\nlog_dest none\n",
            encoding="utf-8",
        )
        self.proc = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)  # fmt: skip
        wait_for(lambda: listening(self.port), 10, "the private mosquitto")

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)
        self._dir.cleanup()
