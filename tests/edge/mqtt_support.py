"""MQTT test support shared by tests/edge: the broker fixtures and a subscriber.

``broker_port``: the real Mosquitto on 127.0.0.1:1883 (skips without it, fails
under HOLTER_REQUIRE_DATA). ``private_broker``: a second mosquitto on a free
loopback port, with persistence, that a test may stop and start. Import the
fixtures into a test module to use them.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from edge._payload import Alert, decode_alert

__all__ = ["Subscriber", "broker_port", "free_port", "listening", "private_broker"]


def listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def broker_port() -> int:
    if not listening(1883):
        reason = "no MQTT broker listens on 127.0.0.1:1883 (install mosquitto; .ci/run starts it)"
        if os.environ.get("HOLTER_REQUIRE_DATA"):
            pytest.fail(reason + " and HOLTER_REQUIRE_DATA is set", pytrace=False)
        pytest.skip(reason)
    return 1883


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Subscriber:
    """Collects every message under holter/v1/{site}/# (persistent session)."""

    def __init__(self, port: int, site: str) -> None:
        self.messages: list[mqtt.MQTTMessage] = []
        self._subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"sub-{site}",
                                  protocol=mqtt.MQTTv5)
        self.client.on_message = lambda c, u, msg: self.messages.append(msg)
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(f"holter/v1/{site}/#", qos=1)
        self.client.on_subscribe = lambda *a: self._subscribed.set()
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 300
        self.client.connect("127.0.0.1", port, clean_start=False, properties=props)
        self.client.loop_start()
        assert self._subscribed.wait(5), "subscriber got no SUBACK"

    def alerts(self) -> list[Alert]:
        return [decode_alert(m.payload) for m in list(self.messages) if m.topic.endswith("/alert")]

    def wait_for(self, n_unique: int, timeout_s: float = 15.0) -> list[Alert]:
        deadline = time.monotonic() + timeout_s
        while len({a.id for a in self.alerts()}) < n_unique and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.2)  # anything extra (an invented alert) would arrive now
        return self.alerts()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def private_broker(tmp_path):
    """A second mosquitto on a free loopback port, with persistence (start/stop)."""
    binary = shutil.which("mosquitto") or ("/usr/sbin/mosquitto"
                                           if os.path.exists("/usr/sbin/mosquitto") else None)
    if binary is None:
        pytest.skip("mosquitto binary not found: cannot start a private broker")
    port = free_port()
    data = tmp_path / "broker"
    data.mkdir()
    conf = data / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
                    f"persistence_location {data}/\n"
                    # as root mosquitto would switch to user mosquitto, who cannot write here
                    + ("user root\n" if os.geteuid() == 0 else ""))
    procs: list[subprocess.Popen] = []

    class Broker:
        def __init__(self) -> None:
            self.port = port

        def require_password(self, username: str, password: str) -> None:
            """Before start(): only this user, with this password, may connect."""
            passwd = data / "passwd"
            subprocess.run(["mosquitto_passwd", "-b", "-c", str(passwd), username, password],
                           check=True, capture_output=True)
            text = conf.read_text().replace("allow_anonymous true", "allow_anonymous false")
            conf.write_text(text + f"password_file {passwd}\n")

        def start(self) -> None:
            procs.append(subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL))
            deadline = time.monotonic() + 5
            while not listening(port):
                assert time.monotonic() < deadline, "private mosquitto did not start"
                time.sleep(0.02)

        def stop(self) -> None:
            proc = procs[-1]
            proc.terminate()
            proc.wait(5)

    yield Broker()
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(5)


