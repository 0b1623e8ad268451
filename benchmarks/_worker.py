"""Aggregator worker throughput: alerts per second from the broker into PostgreSQL.

``holter bench worker`` starts a private Mosquitto on a free loopback port,
configured as a worker tier must be (``max_queued_messages`` 1,000,000: the
default 1,000 drops what is queued for a worker that is away or behind), and a
throw-away PostgreSQL database (beside ``HOLTER_BENCH_PG_URL``). For 1, 2 and
4 workers (``python -m holter cloud worker`` processes, one share group):

1. the workers start, subscribe and stop: the broker now keeps their sessions;
2. publisher processes send N alerts from 100 gateways (10 sites), 10 % of them
   twice (a gateway retrying), at QoS 1; the broker queues them for the sessions;
3. the workers start again and drain the queue; the time is from the first
   message any worker received to the last commit any worker made (each worker
   writes its counters with ``--stats-json``).

Every run checks that each alert was stored exactly once.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from benchmarks._store_bench import DEFAULT_PG_ADMIN_URL, PG_ADMIN_URL_ENV, _pg_database

REPO_ROOT = Path(__file__).resolve().parents[1]
T0_MS = 1_760_000_000_000
_TYPES = ("vt", "nsvt", "af_onset", "pause", "brady", "tachy", "st", "lead_off")
_SEVERITIES = ("info", "warning", "critical")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


class PrivateMosquitto:
    """A mosquitto on a free loopback port with a worker-tier queue limit; ``close()`` ends it."""

    def __init__(self, max_queued_messages: int = 1_000_000) -> None:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(binary).exists():
            raise FileNotFoundError("the mosquitto binary is not installed")
        self.port = _free_port()
        self._dir = tempfile.TemporaryDirectory(prefix="holter-mosquitto-")
        conf = Path(self._dir.name) / "mosquitto.conf"
        conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
            f"max_queued_messages {max_queued_messages}\nlog_dest none\n",
            encoding="utf-8",
        )
        self.proc = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)  # fmt: skip
        deadline = time.monotonic() + 10
        while not _listening(self.port):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.close()
                raise RuntimeError("the private mosquitto did not start")
            time.sleep(0.05)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self._dir.cleanup()


def alert_message(i: int, n_gateways: int = 100) -> tuple[str, bytes]:
    """Alert ``i`` of the synthetic fleet: its topic and payload (same ``i``, same bytes)."""
    from edge._payload import Alert, alert_id, encode_alert

    g = i % n_gateways
    patient = f"p{g:03d}-{(i // n_gateways) % 20:02d}"
    kind = _TYPES[i % len(_TYPES)]
    start = T0_MS + 1000 * (i // n_gateways)
    alert = Alert(id=alert_id(patient, kind, start), seq=i // n_gateways, patient=patient,
                  type=kind, severity=_SEVERITIES[i % 3], start_ms=start, end_ms=start + 4000,
                  num={"hr_bpm": 60 + i % 150, "duration_ms": 4000})  # fmt: skip
    return f"holter/v1/bsite{g % 10}/gw{g:03d}/{patient}/alert", encode_alert(alert)


def expected_ids(n: int, n_gateways: int = 100) -> set[str]:
    """The ids of alerts ``0..n-1``."""
    from edge._payload import decode_alert

    return {decode_alert(alert_message(i, n_gateways)[1]).id for i in range(n)}


def publish_alerts(port: int, indices: list[int], n_gateways: int = 100,
                   pace_s: float = 0.0) -> int:  # fmt: skip
    """Publish alerts (by index) at QoS 1 from one MQTT client; returns how many were acked."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{secrets.token_hex(4)}",
                         protocol=mqtt.MQTTv5)  # fmt: skip
    client.max_inflight_messages_set(500)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        infos = []
        for k, i in enumerate(indices):
            infos.append(client.publish(*alert_message(i, n_gateways), qos=1))
            if pace_s and k % 100 == 99:
                time.sleep(pace_s * 100)
        for info in infos:
            info.wait_for_publish(120)
        return sum(info.is_published() for info in infos)
    finally:
        client.disconnect()
        client.loop_stop()


def deliveries(n: int, duplicate_fraction: float, seed: int = 0) -> list[int]:
    """Alert indices in publishing order, ``duplicate_fraction`` of them twice."""
    rng = random.Random(seed)
    out = list(range(n))
    out += rng.sample(range(n), int(n * duplicate_fraction))
    rng.shuffle(out)
    return out


def publish_parallel(port: int, n: int, duplicate_fraction: float, n_processes: int,
                     pace_s: float = 0.0) -> list[subprocess.Popen]:  # fmt: skip
    """Start ``n_processes`` publishers sharing :func:`deliveries` ``(n, duplicate_fraction)``.

    Returns the processes; each exits 0 once the broker acknowledged all its messages.
    """
    code = "import sys; from benchmarks._worker import _publish_main; sys.exit(_publish_main())"
    return [
        subprocess.Popen([sys.executable, "-c", code, str(port), str(n), repr(duplicate_fraction),
                          str(k), str(n_processes), repr(pace_s)], cwd=REPO_ROOT)  # fmt: skip
        for k in range(n_processes)
    ]


def wait_publishers(procs: list[subprocess.Popen], timeout_s: float = 600) -> None:
    """Wait for the publishers; raise if one failed."""
    for proc in procs:
        if proc.wait(timeout_s) != 0:
            raise RuntimeError(f"a publisher exited with status {proc.returncode}")


def _publish_main() -> int:
    port, n, fraction, k, of, pace_s = sys.argv[1:7]
    indices = deliveries(int(n), float(fraction))[int(k) :: int(of)]
    acked = publish_alerts(int(port), indices, pace_s=float(pace_s))
    return 0 if acked == len(indices) else 1


def write_config(path: Path, *, port: int, store_url: str, group: str,
                 max_messages: int = 500, max_delay_ms: int = 100) -> Path:  # fmt: skip
    """A cloud.toml for the bench and the scale test (client id given on the command line)."""
    path.write_text(
        f'[broker]\nurl = "mqtt://127.0.0.1:{port}"\nclient_id = "unused"\n'
        f'share_group = "{group}"\nsession_expiry_s = 600\n'
        f'[store]\nurl = "{store_url}"\n'
        f"[batch]\nmax_messages = {max_messages}\nmax_delay_ms = {max_delay_ms}\n"
        "[worker]\nstats_interval_s = 10\n",
        encoding="utf-8",
    )
    return path


class WorkerProcess:
    """``python -m holter cloud worker`` as a child; waits until it has subscribed."""

    def __init__(self, config: Path, client_id: str, stats_json: Path,
                 log_level: str = "INFO") -> None:  # fmt: skip
        self.client_id = client_id
        self.stats_json = stats_json
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "holter", "cloud", "worker", "--config", str(config),
             "--client-id", client_id, "--stats-json", str(stats_json), "--log-level", log_level],
            cwd=REPO_ROOT, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + 60
        while not any("subscribed" in line for line in self.lines):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.terminate()
                raise RuntimeError(f"worker {client_id} did not start: {''.join(self.lines)}")
            time.sleep(0.05)

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)

    def _close(self) -> None:
        self._reader.join(5)
        if self.proc.stderr is not None:
            self.proc.stderr.close()

    def kill(self) -> None:
        """SIGKILL: no commit, no acknowledgement."""
        self.proc.kill()
        self.proc.wait(10)
        self._close()

    def terminate(self) -> int:
        """SIGTERM, wait; the exit status."""
        if self.proc.poll() is None:
            self.proc.terminate()
        rc = self.proc.wait(60)
        self._close()
        return rc

    def stats(self) -> dict:
        """The counters the worker wrote at exit."""
        return json.loads(self.stats_json.read_text(encoding="utf-8"))


def count_alerts(store_url: str) -> int:
    import psycopg

    with psycopg.connect(store_url, autocommit=True) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM alerts").fetchone()[0])


@dataclass(frozen=True)
class WorkerRun:
    """One timed drain of the broker's queue by ``workers`` workers."""

    workers: int
    deliveries: int  # messages published (duplicates included)
    unique_alerts: int
    stored: int  # rows afterwards (must equal unique_alerts)
    duplicates_counted: int
    seconds: float  # first message received -> last commit, over all workers
    batch_max_messages: int

    @property
    def deliveries_per_s(self) -> float:
        return self.deliveries / self.seconds

    @property
    def per_worker_per_s(self) -> float:
        return self.deliveries_per_s / self.workers

    @property
    def stored_per_s(self) -> float:
        return self.unique_alerts / self.seconds


def run_worker_bench(
    *,
    n_alerts: int = 50_000,
    duplicate_fraction: float = 0.1,
    worker_counts: tuple[int, ...] = (1, 2, 4),
    batch_max_messages: int = 500,
    publishers: int = 2,
    pg_admin_url: str | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> list[WorkerRun]:
    """Pre-load the broker with the alerts, then time the workers draining it."""
    if n_alerts < 1 or not worker_counts or min(worker_counts) < 1:
        raise ValueError(f"n_alerts and worker counts must be >= 1, got {n_alerts}, {worker_counts}")
    admin_url = pg_admin_url or os.environ.get(PG_ADMIN_URL_ENV) or DEFAULT_PG_ADMIN_URL
    indices = deliveries(n_alerts, duplicate_fraction)
    ids = expected_ids(n_alerts)
    broker = PrivateMosquitto()
    runs = []
    try:
        for n_workers in worker_counts:
            url, drop = _pg_database(admin_url)
            folder = tempfile.TemporaryDirectory(prefix="holter-bench-worker-")
            try:
                runs.append(_one_run(broker.port, url, Path(folder.name), n_workers, indices,
                                     ids, duplicate_fraction, batch_max_messages, publishers,
                                     progress))  # fmt: skip
            finally:
                folder.cleanup()
                drop()
    finally:
        broker.close()
    return runs


def _one_run(port: int, url: str, folder: Path, n_workers: int, indices: list[int],
             ids: set[str], duplicate_fraction: float, batch_max_messages: int, publishers: int,
             progress: Callable[[str], None]) -> WorkerRun:  # fmt: skip
    import psycopg

    from cloud import open_store

    open_store(url).close()  # migrate once, before the workers race for it
    config = write_config(folder / "cloud.toml", port=port, store_url=url,
                          group=f"bench{secrets.token_hex(4)}",
                          max_messages=batch_max_messages)  # fmt: skip
    client_ids = [f"bench-w{k}-{secrets.token_hex(3)}" for k in range(n_workers)]
    progress(f"{n_workers} worker(s): creating the sessions ...")
    for cid in client_ids:
        WorkerProcess(config, cid, folder / f"{cid}.json").terminate()
    progress(f"  publishing {len(indices)} messages ({len(ids)} alerts) into the broker queue ...")
    wait_publishers(publish_parallel(port, len(ids), duplicate_fraction, publishers))
    progress("  draining ...")
    workers = [WorkerProcess(config, cid, folder / f"{cid}.json") for cid in client_ids]
    deadline = time.monotonic() + 600
    while count_alerts(url) < len(ids):
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {count_alerts(url)} of {len(ids)} stored after 600 s")
        time.sleep(0.2)
    time.sleep(2.0)  # the last duplicates (they change no row)
    for w in workers:
        if w.terminate() != 0:
            raise RuntimeError(f"worker {w.client_id} failed: {''.join(w.lines[-5:])}")
    stats = [w.stats() for w in workers]
    received = sum(s["received"] for s in stats)
    if received != len(indices):
        raise RuntimeError(f"the workers received {received} of {len(indices)} messages")
    first = min(s["first_received_unix_s"] for s in stats if s["first_received_unix_s"])
    last = max(s["last_commit_unix_s"] for s in stats if s["last_commit_unix_s"])
    with psycopg.connect(url, autocommit=True) as conn:
        stored_ids = {row[0] for row in conn.execute("SELECT id FROM alerts")}
    if stored_ids != ids:
        raise RuntimeError(f"stored {len(stored_ids)} alerts, expected exactly {len(ids)}")
    run = WorkerRun(workers=n_workers, deliveries=len(indices), unique_alerts=len(ids),
                    stored=len(stored_ids), duplicates_counted=sum(s["duplicates"] for s in stats),
                    seconds=last - first, batch_max_messages=batch_max_messages)  # fmt: skip
    progress(f"  {run.deliveries_per_s:,.0f} messages/s ({run.per_worker_per_s:,.0f} per worker), "
             f"{run.seconds:.2f} s")  # fmt: skip
    return run


def worker_text(runs: list[WorkerRun]) -> str:
    """A plain table for the terminal."""
    lines = ["workers  messages  alerts   seconds  messages/s  per worker/s  stored/s  duplicates"]
    for r in runs:
        lines.append(f"{r.workers:7d}  {r.deliveries:8d}  {r.unique_alerts:6d}  {r.seconds:8.2f}  "
                     f"{r.deliveries_per_s:10,.0f}  {r.per_worker_per_s:12,.0f}  "
                     f"{r.stored_per_s:8,.0f}  {r.duplicates_counted:10d}")  # fmt: skip
    return "\n".join(lines)


def worker_markdown(runs: list[WorkerRun], machine: dict[str, object], command: str) -> str:
    """The results as markdown, machine described."""
    rows = "\n".join(
        f"| {r.workers} | {r.deliveries:,} | {r.unique_alerts:,} | {r.seconds:.2f} | "
        f"{r.deliveries_per_s:,.0f} | {r.per_worker_per_s:,.0f} | {r.stored_per_s:,.0f} | "
        f"{r.duplicates_counted:,} |"
        for r in runs
    )
    return "\n".join([
        "# Aggregator worker throughput (MQTT -> PostgreSQL)",
        "",
        f"Command: `{command}`",
        "",
        "The broker (a private Mosquitto, `max_queued_messages 1000000`) is pre-loaded with",
        "the alerts of 100 gateways (10 sites), 10 % of them published twice; then N",
        "`holter cloud worker` processes (one share group, batches of",
        f"{runs[0].batch_max_messages if runs else '?'} messages or 100 ms, manual PUBACK "
        "after each commit) drain it",
        "into PostgreSQL. Time: first message received to last",
        "commit, over all workers. Every run stored each alert exactly once.",
        "",
        "| workers | messages | alerts | seconds | messages/s | messages/s per worker "
        "| alerts stored/s | duplicates counted |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        rows,
        "",
        "The machine (broker, publishers, workers and PostgreSQL share its 2 cores, and other",
        "jobs ran on it meanwhile: see the load average):",
        "",
        *(f"- {key}: {value}" for key, value in machine.items()),
        "",
    ])  # fmt: skip


def worker_json(runs: list[WorkerRun], machine: dict[str, object]) -> dict:
    """The results as a JSON-ready dict."""
    return {
        "benchmark": "worker",
        "runs": [asdict(r) | {"deliveries_per_s": r.deliveries_per_s,
                              "per_worker_per_s": r.per_worker_per_s,
                              "stored_per_s": r.stored_per_s} for r in runs],
        "machine": machine,
    }  # fmt: skip


def worker_machine_notes() -> dict[str, object]:
    """Versions that matter here (added to the machine description)."""
    import paho.mqtt
    import psycopg

    try:
        mosquitto = subprocess.run([shutil.which("mosquitto") or "/usr/sbin/mosquitto", "-h"],
                                   capture_output=True, text=True, timeout=10).stdout.split("\n")[0]  # fmt: skip
    except OSError:
        mosquitto = "unknown"
    return {
        "paho-mqtt": paho.mqtt.__version__, "psycopg": psycopg.__version__,
        "mosquitto": mosquitto.strip(), "postgresql": _pg_version(),
    }  # fmt: skip


def _pg_version() -> str:
    import psycopg

    url = os.environ.get(PG_ADMIN_URL_ENV) or DEFAULT_PG_ADMIN_URL
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            return str(conn.execute("SHOW server_version").fetchone()[0])
    except psycopg.Error:
        return "unknown"
