"""The whole loop of ``holter demo``: device -> gateway -> broker -> aggregator -> dashboard.

Everything runs on this machine with embedded defaults, in ``--data-dir``:

* a broker: ``--broker URL`` if given; else a private Mosquitto on a free
  loopback port when the ``mosquitto`` binary is installed; else the embedded
  Python broker amqtt (MQTT 3.1.1 only: the gateway falls back to 3.1.1, and the
  aggregator, which needs MQTT 5 shared subscriptions, is skipped there);
* the gateway (:class:`edge._gateway.Gateway`, in this process) listening for
  devices on a free port;
* a simulated device (``holter simulate-device``) replaying the record;
* a subscriber printing each alert as it arrives;
* the aggregator (``holter cloud worker``, SQLite store) and the dashboard
  (``holter cloud serve``), as their own processes: ``edge`` never imports
  ``cloud`` (DESIGN.md).

It returns once the replay has ended, the gateway's outbox is empty and the
aggregator has stored every alert.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from edge._config import config_from_dict
from edge._payload import decode_alert

__all__ = ["DemoResult", "run_loop"]

PATIENT = "demo-p01"
DEVICE_ID = 1
SITE = "demo"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _wait_port(port: int, proc: subprocess.Popen | None, what: str, timeout_s: float = 15) -> None:
    deadline = time.monotonic() + timeout_s
    while not _listening(port):
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with status {proc.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start within {timeout_s:g} s")
        time.sleep(0.05)


@dataclass
class DemoResult:
    """What the loop did (the summary ``holter demo`` prints)."""

    broker: str
    alerts_received: list = field(default_factory=list)
    alerts_sent: int = 0
    summaries_sent: int = 0
    stored: int | None = None
    dashboard: str | None = None
    login: tuple[str, str] | None = None
    report: Path | None = None  # the recording's 24-hour report (report.html), if written
    seconds: float = 0.0


def _start_broker(data_dir: Path, procs: list[subprocess.Popen]) -> tuple[str, int]:
    port = _free_port()
    binary = shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if os.path.exists("/usr/sbin/mosquitto") else None)
    if binary is not None:
        conf = data_dir / "mosquitto.conf"
        conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n"
                        + ("user root\n" if os.geteuid() == 0 else ""))
        procs.append(subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL))
        _wait_port(port, procs[-1], "mosquitto")
        return f"Mosquitto (private, 127.0.0.1:{port})", port
    amqtt = shutil.which("amqtt") or str(Path(sys.executable).with_name("amqtt"))
    if not Path(amqtt).exists():
        raise RuntimeError("no MQTT broker: install mosquitto, or amqtt (pip install amqtt), "
                           "or pass --broker mqtt://HOST:PORT")
    conf = data_dir / "amqtt.yaml"
    conf.write_text(f"listeners:\n  default:\n    type: tcp\n    bind: 127.0.0.1:{port}\n"
                    "plugins:\n  amqtt.plugins.authentication.AnonymousAuthPlugin:\n"
                    "    allow_anonymous: true\n")
    procs.append(subprocess.Popen([amqtt, "-c", str(conf)], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL))
    _wait_port(port, procs[-1], "amqtt")
    return f"amqtt (embedded Python broker, MQTT 3.1.1, 127.0.0.1:{port})", port


def _holter(*args: str) -> list[str]:
    return [sys.executable, "-m", "holter", *args]


def _stored_alerts(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=2) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM alerts").fetchone()[0])
    except sqlite3.Error:
        return 0


def run_loop(record: Path, speed: float, broker_url: str | None, data_dir: Path,
             serve_s: float = 0.0, echo=print) -> DemoResult:
    """Run the loop on `record` (see the module docstring); returns what happened."""
    from edge._gateway import Gateway  # numpy, dsp, models: only when the loop runs

    data_dir.mkdir(parents=True, exist_ok=True)
    run_dir = data_dir / f"run-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:4]}"
    run_dir.mkdir()
    procs: list[subprocess.Popen] = []
    t0 = time.monotonic()
    try:
        if broker_url is None:
            broker_name, port = _start_broker(run_dir, procs)
            host = "127.0.0.1"
        else:
            from urllib.parse import urlsplit
            parts = urlsplit(broker_url)
            host, port = parts.hostname or "127.0.0.1", parts.port or 1883
            broker_name = broker_url
        result = DemoResult(broker=broker_name)
        site = f"{SITE}-{uuid.uuid4().hex[:6]}"
        v5 = not broker_name.startswith("amqtt")

        # the aggregator and the subscriber first, so nothing is missed
        db = data_dir / "cloud.sqlite3"
        if v5:
            worker_conf = run_dir / "cloud.toml"
            worker_conf.write_text(
                f'[broker]\nurl = "mqtt://{host}:{port}"\nclient_id = "demo-worker-{site}"\n'
                f'share_group = "demo"\nsites = ["{site}"]\n[store]\nurl = "sqlite:///{db}"\n')
            procs.append(subprocess.Popen(_holter("cloud", "worker", "--config", str(worker_conf)),
                                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                          text=True))
        sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"demo-sub-{site}",
                          protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311)

        def on_message(client, userdata, msg) -> None:  # noqa: ANN001
            if msg.topic.endswith("/alert"):
                alert = decode_alert(msg.payload)
                result.alerts_received.append(alert)
                nums = " ".join(f"{k}={v}" for k, v in alert.num.items())
                at = time.strftime("%H:%M:%S", time.gmtime(alert.start_ms / 1000))
                echo(f"  alert #{alert.seq:<3} {at}  {alert.severity.value:<8} "
                     f"{alert.type.value:<13} {nums}")

        sub.on_message = on_message
        sub.connect(host, port)
        sub.subscribe(f"holter/v1/{site}/#", qos=1)
        sub.loop_start()

        dev_port = _free_port()
        config = config_from_dict({
            "gateway": {"site": site, "id": "gw1", "data_dir": str(run_dir / "gateway"),
                        "health": "127.0.0.1:0"},
            "broker": {"url": f"mqtt://{host}:{port}"},
            "inputs": {"listen": [f"tcp://127.0.0.1:{dev_port}"]},
            "patients": [{"id": PATIENT, "device": DEVICE_ID}],
        }, where="demo", base=run_dir)
        gateway = Gateway(config).start()
        echo(f"  gateway {site}/gw1 listening for devices on port {dev_port}; "
             f"replaying {record.name} at {'full speed' if speed == 0 else f'{speed:g}x'}")
        try:
            sim = subprocess.run(
                _holter("simulate-device", str(record), "--to", f"tcp://127.0.0.1:{dev_port}",
                        "--speed", f"{speed:g}", "--device-id", str(DEVICE_ID)),
                capture_output=True, text=True)
            if sim.returncode != 0:
                raise RuntimeError(f"the simulated device failed: {sim.stderr.strip()}")
            deadline = time.monotonic() + 300
            while not (gateway.idle() and len(gateway.outbox) == 0):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the gateway's outbox still holds {len(gateway.outbox)}")
                time.sleep(0.1)
            result.alerts_sent = gateway.counts["alerts"]
            result.summaries_sent = gateway.counts["summaries"]
            result.report = next(iter(sorted(config.data_dir.glob("reports/*/*/report.html"))), None)
        finally:
            gateway.stop()
        deadline = time.monotonic() + 10
        while len({a.id for a in result.alerts_received}) < result.alerts_sent and \
                time.monotonic() < deadline:
            time.sleep(0.05)
        sub.loop_stop()
        sub.disconnect()

        if v5:
            deadline = time.monotonic() + 30
            while _stored_alerts(db) < result.alerts_sent and time.monotonic() < deadline:
                time.sleep(0.1)
            result.stored = _stored_alerts(db)
            result.dashboard, result.login = _dashboard(db, site, procs)
            if serve_s > 0 and result.dashboard:
                echo(f"  dashboard: {result.dashboard} (user {result.login[0]}, password "
                     f"{result.login[1]}); serving for {serve_s:g} s, Ctrl-C stops")
                try:
                    time.sleep(serve_s)
                except KeyboardInterrupt:
                    pass
        result.seconds = time.monotonic() - t0
        return result
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()


def _dashboard(db: Path, site: str, procs: list[subprocess.Popen]
               ) -> tuple[str | None, tuple[str, str] | None]:
    """Create a demo user for the site and start ``holter cloud serve``; (URL, login)."""
    user, password = f"demo-{site[-6:]}", secrets.token_urlsafe(9)
    env = dict(os.environ, HOLTER_CLOUD_PASSWORD=password,
               HOLTER_CLOUD_SESSION_KEY=secrets.token_hex(32))
    made = subprocess.run(_holter("cloud", "serve", "--db", f"sqlite:///{db}", "--create-user",
                                  user, "--sites", site), env=env, capture_output=True, text=True)
    if made.returncode != 0:
        return None, None
    port = _free_port()
    procs.append(subprocess.Popen(_holter("cloud", "serve", "--db", f"sqlite:///{db}", "--host",
                                          "127.0.0.1", "--port", str(port)), env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    try:
        _wait_port(port, procs[-1], "the dashboard", timeout_s=30)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=5) as resp:
            resp.read()
    except (RuntimeError, OSError):
        return None, None
    return f"http://127.0.0.1:{port}/", (user, password)
