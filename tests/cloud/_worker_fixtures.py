"""Brokers, databases and workers (threads or `holter cloud worker` processes) for the worker tests.

The shared Mosquitto on 127.0.0.1:1883 serves the small tests; each test has
its own site ids, share group and client ids, and its workers subscribe to its
sites only. The scale test starts a private mosquitto configured as a worker
tier must be (``max_queued_messages`` large: the default of 1000 drops
messages queued for a worker that is away or behind); it and the worker
processes come from benchmarks/_worker.py, which the benchmark shares.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from benchmarks._worker import PrivateMosquitto, WorkerProcess
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


__all__ = ["PrivateMosquitto", "WorkerProcess"]
