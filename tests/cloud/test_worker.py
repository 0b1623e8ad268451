"""The aggregator worker against the real Mosquitto and the real PostgreSQL.

Every test has its own site ids, share group and client ids (the topic root is
fixed), and its workers subscribe to its sites only. See _worker_fixtures.py.
"""

from __future__ import annotations

import json
import threading
import time

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from cloud import open_store
from edge._mqtt import Publisher, PublisherConfig
from edge._outbox import MessageKind, Outbox
from tests.cloud import _payloads as payloads
from tests.cloud._worker_fixtures import (
    WorkerProcess,
    WorkerThread,
    count_rows,
    need_broker,
    pg_schema_url,
    toml_config,
    unique,
    wait_for,
    worker_config,
)


@pytest.fixture
def broker() -> int:
    return need_broker()


@pytest.fixture
def pg_url(pg_database_url):
    yield from pg_schema_url(pg_database_url)


def publish_raw(port: int, messages: list[tuple[str, bytes]], *, client_id: str | None = None,
                pace_s: float = 0.0) -> None:  # fmt: skip
    """Publish at QoS 1 and wait for every PUBACK."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id or unique("pub-"),
                         protocol=mqtt.MQTTv5)  # fmt: skip
    client.max_inflight_messages_set(200)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        infos = []
        for topic, payload in messages:
            infos.append(client.publish(topic, payload, qos=1))
            if pace_s:
                time.sleep(pace_s)
        for info in infos:
            info.wait_for_publish(30)
            assert info.is_published()
    finally:
        client.disconnect()
        client.loop_stop()


class TestWorkerThread:
    def test_the_real_publisher_alerts_strips_summaries_status_each_stored_once(
        self, broker, pg_url, tmp_path
    ):
        site = unique("ws")
        cfg = worker_config(pg_url, [site], client_id=unique("w-"), group=unique("g"))
        pub = Publisher(PublisherConfig(site=site, gateway="gw1", port=broker),
                        Outbox(tmp_path / "outbox.db"))  # fmt: skip
        with WorkerThread(cfg) as running:
            pub.start()
            try:
                alerts = [payloads.alert(i) for i in range(150)]
                for a in alerts + alerts[:30]:  # 30 sent twice: a gateway retrying
                    pub.publish_alert(a)
                pub.publish_payload(MessageKind.STRIP, "p01", payloads.strip_payload(3))
                pub.publish_payload(MessageKind.SUMMARY, "p01", payloads.summary_payload(1))
                assert pub.flush(30)
                wait_for(lambda: running.worker.stats.received >= 183, 30, "every message")
            finally:
                pub.close()
            time.sleep(0.3)  # the offline status
        stats = running.stats
        assert stats is not None
        with open_store(pg_url) as store:
            assert store.count_alerts() == 150
            assert {a.id for a in store.patient_timeline(site, "p01")} == {a.id for a in alerts}
            strip = store.get_strip(payloads.alert(3).id)
            assert strip is not None and strip.decode().leads == ("MLII", "V1")
            assert [s.seq for s in store.list_summaries(site, "p01")] == [1]
            statuses = store.gateway_statuses([site])
            assert [(s.gateway, s.state) for s in statuses] == [("gw1", "offline")]
        assert stats.stored >= 150 + 2 and stats.duplicates >= 30
        assert stats.received == stats.stored + stats.duplicates + sum(stats.rejected.values())
        assert not stats.rejected

    def test_malformed_payloads_are_counted_and_the_worker_goes_on(self, broker, tmp_path):
        site = unique("wm")
        url = f"sqlite:///{tmp_path / 'cloud.sqlite3'}"
        cfg = worker_config(url, [site], client_id=unique("w-"), group=unique("g"))
        topic = f"holter/v1/{site}/gw1/p01/alert"
        bad = [
            (topic, b"not cbor at all"),
            (topic, b"\x00" * 1000),  # over the alert size limit
            (topic, bytes.fromhex("a2617602626964")),  # truncated CBOR
            (f"holter/v1/{site}/gw1/p02/alert", payloads.alert_payload(1)),  # wrong patient
            (f"holter/v1/{site}/gw1/p01/summary", b"\xa1\x61v\x09"),  # schema v9
        ]
        good = [(topic, payloads.alert_payload(i)) for i in range(20)]
        with WorkerThread(cfg) as running:
            publish_raw(broker, bad + good + bad)
            wait_for(lambda: running.worker.stats.received >= 30, 20, "every message")
        stats = running.stats
        assert dict(stats.rejected) == {"malformed": 4, "too_large": 2, "topic_mismatch": 2,
                                        "unsupported_version": 2}  # fmt: skip
        assert stats.stored == 20 and count_rows(url) == 20
        # everything was acknowledged: a new worker on the same session gets nothing again
        with WorkerThread(cfg) as again:
            time.sleep(1.0)
        assert again.stats.received == 0

    def test_sigterm_commits_and_acknowledges_the_open_batch(self, broker, pg_url, tmp_path):
        site = unique("wt")
        client_id = unique("w-")
        config = toml_config(tmp_path / "cloud.toml", pg_url, [site], port=broker,
                             client_id=client_id, group=unique("g"), max_messages=1000,
                             max_delay_ms=60_000)  # fmt: skip
        worker = WorkerProcess(config, client_id, tmp_path / "stats.json")
        publish_raw(broker, [(f"holter/v1/{site}/gw1/p01/alert", payloads.alert_payload(i))
                             for i in range(40)])  # fmt: skip
        time.sleep(1.0)
        assert count_rows(pg_url) == 0  # the batch waits (60 s, 1000 messages)
        assert worker.terminate() == 0
        stats = json.loads((tmp_path / "stats.json").read_text())
        assert stats["stored"] == 40 and stats["batches"] == 1
        assert count_rows(pg_url) == 40
        # acknowledged: restarted on the same session, nothing comes again
        worker = WorkerProcess(config, client_id, tmp_path / "stats2.json")
        time.sleep(1.0)
        assert worker.terminate() == 0
        assert json.loads((tmp_path / "stats2.json").read_text())["received"] == 0


class TestWorkerKilled:
    def test_sigkill_mid_stream_then_restart_loses_nothing(self, broker, pg_url, tmp_path):
        site = unique("wk")
        client_id = unique("w-")
        n = 800  # below Mosquitto's default per-client queue (1000)
        config = toml_config(tmp_path / "cloud.toml", pg_url, [site], port=broker,
                             client_id=client_id, group=unique("g"), max_messages=50,
                             max_delay_ms=200)  # fmt: skip
        worker = WorkerProcess(config, client_id, tmp_path / "stats.json")
        messages = [(f"holter/v1/{site}/gw{i % 4}/p{i % 10:02d}/alert",
                     payloads.alert_payload(i, f"p{i % 10:02d}")) for i in range(n)]  # fmt: skip
        publisher = threading.Thread(target=publish_raw, args=(broker, messages),
                                     kwargs={"pace_s": 0.002})  # fmt: skip
        publisher.start()
        wait_for(lambda: count_rows(pg_url) >= 100, 30, "the first stored batches")
        worker.kill()
        at_kill = count_rows(pg_url)
        assert at_kill < n, "the worker was killed too late to test anything"
        time.sleep(0.5)
        worker = WorkerProcess(config, client_id, tmp_path / "stats.json")
        publisher.join(60)
        wait_for(lambda: count_rows(pg_url) >= n, 60, "every alert after the restart")
        assert worker.terminate() == 0
        assert count_rows(pg_url) == n
        ids = {p.id for p in (payloads.alert(i, f"p{i % 10:02d}") for i in range(n))}
        with open_store(pg_url) as store:
            stored = {a.id for site_page in [store.list_alerts([site], limit=1000)]
                      for a in site_page.alerts}  # fmt: skip
        assert stored == ids


class TestStoreFailure:
    def test_a_lost_database_connection_is_retried_and_nothing_is_lost(self, broker, pg_url):
        import psycopg

        site = unique("wf")
        cfg = worker_config(pg_url, [site], client_id=unique("w-"), group=unique("g"),
                            max_messages=20, max_delay_ms=20)  # fmt: skip
        n = 400
        messages = [(f"holter/v1/{site}/gw1/p01/alert", payloads.alert_payload(i))
                    for i in range(n)]  # fmt: skip
        with WorkerThread(cfg) as running:
            publisher = threading.Thread(target=publish_raw, args=(broker, messages),
                                         kwargs={"pace_s": 0.003})  # fmt: skip
            publisher.start()
            wait_for(lambda: count_rows(pg_url) >= 60, 30, "the first batches")
            with psycopg.connect(pg_url, autocommit=True) as admin:
                killed = admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                    "AND backend_type = 'client backend'"
                ).fetchall()
            assert killed
            publisher.join(60)
            wait_for(lambda: count_rows(pg_url) >= n, 60, "every alert after the reconnect")
        assert running.stats.store_failures >= 1
        assert count_rows(pg_url) == n
