"""The MQTT 5 publisher against the real Mosquitto (127.0.0.1:1883).

Each test has its own random site id, so its topics are its own. Without a
broker on 1883 the tests skip, unless HOLTER_REQUIRE_DATA is set (.ci/run),
where they fail. The unreachable-broker test starts a second, private
mosquitto on a free loopback port (skipped if the binary is missing).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from mqtt_support import Subscriber, free_port

from edge._exceptions import PublisherConfigError
from edge._mqtt import Publisher, PublisherConfig
from edge._outbox import MessageKind, Outbox
from edge._payload import (
    Alert,
    AlertType,
    GatewayState,
    Severity,
    alert_id,
    decode_alert,
    decode_status,
)

START_MS = 1_700_000_000_000
REPO_ROOT = Path(__file__).resolve().parents[2]



def _site() -> str:
    return "t" + uuid.uuid4().hex[:12]


def _alerts(patient: str, n: int) -> list[Alert]:
    return [
        Alert(id=alert_id(patient, AlertType.PAUSE, START_MS + i), seq=i, patient=patient,
              type=AlertType.PAUSE, severity=Severity.WARNING, start_ms=START_MS + i,
              end_ms=START_MS + i + 2_000, num={"pause_ms": 2000 + i})
        for i in range(n)
    ]


def _dedupe(alerts: list[Alert]) -> dict[str, Alert]:
    return {a.id: a for a in alerts}


class TestPublisher:
    def test_every_alert_arrives_exactly_once_after_dedupe(self, broker_port, tmp_path):
        site = _site()
        sub = Subscriber(broker_port, site)
        config = PublisherConfig(site=site, gateway="gw1", port=broker_port)
        pub = Publisher(config, Outbox(tmp_path / "outbox.db")).start()
        sent = _alerts("p01", 40)
        try:
            for alert in sent:
                pub.publish_alert(alert)
            assert pub.flush(15), f"outbox not drained: {len(pub.outbox)} left"
            got = sub.wait_for(len(sent))
        finally:
            pub.close()
            sub.close()
        assert _dedupe(got) == {a.id: a for a in sent}
        assert all(m.topic == f"holter/v1/{site}/gw1/p01/alert" for m in sub.messages
                   if m.topic.endswith("/alert"))
        statuses = [decode_status(m.payload) for m in sub.messages if m.topic.endswith("/status")]
        assert statuses and statuses[0].state is GatewayState.ONLINE
        assert statuses[-1].state is GatewayState.OFFLINE

    def test_strips_and_summaries_go_to_their_topics_in_order(self, broker_port, tmp_path):
        site = _site()
        sub = Subscriber(broker_port, site)
        pub = Publisher(PublisherConfig(site=site, gateway="gw1", port=broker_port),
                        Outbox(tmp_path / "outbox.db")).start()
        try:
            pub.publish_alert(_alerts("p07", 1)[0])
            pub.publish_payload(MessageKind.STRIP, "p07", b"strip-bytes")
            pub.publish_payload(MessageKind.SUMMARY, "p07", b"summary-bytes")
            assert pub.flush(10)
            deadline = time.monotonic() + 5
            while len([m for m in sub.messages if "/p07/" in m.topic]) < 3:
                assert time.monotonic() < deadline, "strip/summary did not arrive"
                time.sleep(0.02)
        finally:
            pub.close()
            sub.close()
        got = [(m.topic.rsplit("/", 1)[1], m.payload) for m in sub.messages if "/p07/" in m.topic]
        assert [kind for kind, _ in got] == ["alert", "strip", "summary"]
        assert got[1][1] == b"strip-bytes" and got[2][1] == b"summary-bytes"

    def test_restart_sends_what_was_pending_in_order(self, broker_port, tmp_path):
        site = _site()
        path = tmp_path / "outbox.db"
        dead = PublisherConfig(site=site, gateway="gw1", port=free_port(), backoff_min_s=0.05)
        first = Publisher(dead, Outbox(path)).start()
        sent = _alerts("p02", 15)
        for alert in sent:
            first.publish_alert(alert)
        time.sleep(0.3)
        assert not first.connected and "cannot reach" in (first.last_error or "")
        first.close()
        first.outbox.close()

        sub = Subscriber(broker_port, site)
        live = PublisherConfig(site=site, gateway="gw1", port=broker_port)
        second = Publisher(live, Outbox(path)).start()
        try:
            assert second.flush(15)
            got = sub.wait_for(len(sent))
        finally:
            second.close()
            sub.close()
        assert _dedupe(got) == {a.id: a for a in sent}
        first_seen = list(dict.fromkeys(a.seq for a in got))
        assert first_seen == [a.seq for a in sent]


class TestUnreachableBroker:
    def test_alerts_wait_in_the_outbox_until_the_broker_is_back(self, private_broker, tmp_path):
        site = _site()
        # the subscriber's persistent session survives the broker's restart (persistence)
        private_broker.start()
        Subscriber(private_broker.port, site).close()
        private_broker.stop()

        config = PublisherConfig(site=site, gateway="gw1", port=private_broker.port,
                                 backoff_min_s=0.05, backoff_max_s=0.2)
        pub = Publisher(config, Outbox(tmp_path / "outbox.db")).start()
        sent = _alerts("p03", 20)
        try:
            for alert in sent:
                pub.publish_alert(alert)
            time.sleep(0.5)
            assert len(pub.outbox) == len(sent)
            assert "cannot reach" in (pub.last_error or "")
            private_broker.start()
            assert pub.flush(15), f"outbox not drained: {len(pub.outbox)} left"
            sub = Subscriber(private_broker.port, site)
            got = sub.wait_for(len(sent))
            sub.close()
        finally:
            pub.close()
        assert _dedupe(got) == {a.id: a for a in sent}


class TestPublisherConfig:
    def test_url_and_topics(self):
        config = PublisherConfig.from_url("mqtt://broker.local:1884", "site1", "gw1")
        assert (config.host, config.port) == ("broker.local", 1884)
        assert config.topic("p01", "alert") == "holter/v1/site1/gw1/p01/alert"
        assert config.status_topic == "holter/v1/site1/gw1/status"

    @pytest.mark.parametrize(
        "url, match",
        [
            ("http://x", "mqtt://HOST"),
            ("mqtt://user:secret@x", "credentials in the environment"),
            ("mqtts://x", "needs tls_ca"),
            ("mqtt://x:99999", "x:99999"),
        ],
    )
    def test_bad_url_is_a_config_error(self, url, match):
        with pytest.raises(PublisherConfigError, match=match):
            PublisherConfig.from_url(url, "site1", "gw1")

    def test_site_must_be_a_safe_topic_level(self):
        with pytest.raises(PublisherConfigError, match="site must be"):
            PublisherConfig(site="a/#", gateway="gw1")

    def test_credentials_and_tls_from_the_environment(self, monkeypatch, tmp_path):
        secret = tmp_path / "password"
        secret.write_text("s3cret\n")
        monkeypatch.setenv("HOLTER_MQTT_USERNAME", "gateway1")
        monkeypatch.delenv("HOLTER_MQTT_PASSWORD", raising=False)
        monkeypatch.setenv("HOLTER_MQTT_PASSWORD_FILE", str(secret))
        monkeypatch.setenv("HOLTER_MQTT_TLS_CA", str(tmp_path / "missing-ca.pem"))
        with pytest.raises(PublisherConfigError, match="tls_ca: no such file"):
            PublisherConfig.from_env("mqtts://x", "site1", "gw1")
        monkeypatch.delenv("HOLTER_MQTT_TLS_CA")
        config = PublisherConfig.from_env("mqtt://x", "site1", "gw1")
        assert (config.username, config.password) == ("gateway1", "s3cret")


class TestChaos:
    def test_broker_restart_mid_stream_loses_and_invents_nothing(self, private_broker, tmp_path):
        site = _site()
        private_broker.start()
        sub = Subscriber(private_broker.port, site)
        config = PublisherConfig(site=site, gateway="gw1", port=private_broker.port,
                                 backoff_min_s=0.05, backoff_max_s=0.2)
        pub = Publisher(config, Outbox(tmp_path / "outbox.db")).start()
        sent = _alerts("p04", 60)
        try:
            for i, alert in enumerate(sent):
                pub.publish_alert(alert)
                time.sleep(0.005)
                if i == 30:
                    private_broker.stop()  # mid-stream; alerts keep coming
                if i == 45:
                    assert not pub.connected
                    private_broker.start()
            assert pub.flush(15), f"outbox not drained: {len(pub.outbox)} left"
            got = sub.wait_for(len(sent))
        finally:
            pub.close()
            sub.close()
        assert _dedupe(got) == {a.id: a for a in sent}

    def test_gateway_killed_and_restarted_loses_and_invents_nothing(self, broker_port, tmp_path):
        site = _site()
        path = tmp_path / "outbox.db"
        sub = Subscriber(broker_port, site)
        script = (
            "import sys, time\n"
            "from edge._mqtt import Publisher, PublisherConfig\n"
            "from edge._outbox import Outbox\n"
            "from edge._payload import Alert, alert_id\n"
            f"def _alerts(patient, n, start={START_MS}):\n"
            "    return [Alert(id=alert_id(patient, 'pause', start + i), seq=i, patient=patient,\n"
            "                  type='pause', severity='warning', start_ms=start + i,\n"
            "                  end_ms=start + i + 2000, num={'pause_ms': 2000 + i})\n"
            "            for i in range(n)]\n"
            f"pub = Publisher(PublisherConfig(site={site!r}, gateway='gw1', port={broker_port}),"
            f" Outbox({str(path)!r})).start()\n"
            "for alert in _alerts('p05', 200):\n"
            "    pub.publish_alert(alert)\n"
            "    print(alert.id, flush=True)\n"
            "    time.sleep(0.001)\n"
        )
        proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                                text=True, cwd=REPO_ROOT)
        accepted = [proc.stdout.readline().strip() for _ in range(40)]
        proc.kill()  # SIGKILL: no offline status, no clean disconnect
        proc.wait(5)
        proc.stdout.close()
        left = Outbox(path)
        pending = {decode_alert(e.payload).id for e in left.pending(limit=1000)}
        left.close()
        deadline = time.monotonic() + 5  # the broker sends the Last Will for the dead link
        while time.monotonic() < deadline and not any(
            decode_status(m.payload).state is GatewayState.OFFLINE
            for m in list(sub.messages) if m.topic.endswith("/status")
        ):
            time.sleep(0.02)
        will = [decode_status(m.payload) for m in sub.messages if m.topic.endswith("/status")]
        assert will[-1].state is GatewayState.OFFLINE, "no Last Will after SIGKILL"

        again = Publisher(PublisherConfig(site=site, gateway="gw1", port=broker_port),
                          Outbox(path)).start()
        try:
            assert again.flush(15)
            got = sub.wait_for(len(accepted))
        finally:
            again.close()
            sub.close()
        all_ids = {a.id for a in _alerts("p05", 200)}
        received = set(_dedupe(got))
        assert set(accepted) <= received, "an accepted alert was lost"
        assert received <= all_ids, "an alert was invented"
        assert pending <= received, "an alert pending at the kill was not sent after the restart"


class TestCredentials:
    def test_wrong_password_is_reported_and_nothing_is_lost(self, private_broker, tmp_path):
        if shutil.which("mosquitto_passwd") is None:
            pytest.skip("mosquitto_passwd not found: cannot set up a password broker")
        private_broker.require_password("gateway1", "right")
        private_broker.start()
        site = _site()
        path = tmp_path / "outbox.db"
        wrong = PublisherConfig(site=site, gateway="gw1", port=private_broker.port,
                                username="gateway1", password="wrong", backoff_min_s=0.05)
        pub = Publisher(wrong, Outbox(path)).start()
        sent = _alerts("p06", 5)
        for alert in sent:
            pub.publish_alert(alert)
        time.sleep(0.5)
        try:
            assert not pub.connected
            assert "broker refused the connection" in (pub.last_error or "")
            assert len(pub.outbox) == len(sent)
        finally:
            pub.close()
            pub.outbox.close()

        right = PublisherConfig(site=site, gateway="gw1", port=private_broker.port,
                                username="gateway1", password="right")
        pub = Publisher(right, Outbox(path)).start()
        try:
            assert pub.flush(10), f"outbox not drained: {len(pub.outbox)} left"
        finally:
            pub.close()
