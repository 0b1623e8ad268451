"""The aggregator worker: MQTT 5 shared subscription -> batches -> the store -> PUBACK.

One :class:`Worker` is one MQTT client (paho-mqtt 2.x, MQTT 5, callback API
version 2) and one store connection; every paho call is made from the thread
that runs :meth:`Worker.run`. What it does, in order:

1. connects with ``clean_start=False`` and a session expiry, so the broker keeps
   its subscriptions and every message it has not acknowledged while it is away
   (a restarted worker with the same ``client_id`` gets them);
2. subscribes, QoS 1, to ``$share/<group>/holter/v1/<site>/+/+/{alert,summary,strip}``
   (workers in one group share the load) and ``holter/v1/<site>/+/status``;
3. acknowledges manually (``manual_ack_set(True)``): each message is decoded by
   the codec (:func:`cloud._ingest.classify`) into a record or a counted
   rejection, collected into a batch, and the batch is written in one
   transaction (:meth:`Store.ingest`, idempotent) when it holds
   ``batch_max_messages`` or its oldest message has waited ``batch_max_delay_ms``;
   only after the commit are its messages acknowledged. A rejected message is
   logged, counted and acknowledged with its batch, so it is not redelivered forever;
4. on a store failure keeps the batch, waits and retries (reopening the
   connection); nothing is acknowledged meanwhile;
5. on :meth:`stop` (SIGTERM/SIGINT in ``holter cloud worker``) commits and
   acknowledges the current batch, then disconnects.

A message delivered again (the worker died between commit and PUBACK, or a
gateway resent it) is stored once and counted as a duplicate.
"""

from __future__ import annotations

import collections
import concurrent.futures
import json
import logging
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from cloud._exceptions import StoreError
from cloud._ingest import Rejection, classify
from cloud._records import (
    AlertRecord,
    GatewayStatusRecord,
    IngestBatch,
    IngestResult,
    StripRecord,
    SummaryRecord,
)
from cloud._store import Store, open_store
from cloud._worker_config import WorkerConfig

log = logging.getLogger(__name__)

_BACKOFF_MIN_S = 0.2
_BACKOFF_MAX_S = 10.0
#: Packets read per wake-up at most, so acknowledgements and pings are not starved.
_READS_PER_WAKE = 512


@dataclass
class WorkerStats:
    """Counters of one worker run (logged periodically and at exit)."""

    received: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: collections.Counter[str] = field(default_factory=collections.Counter)
    batches: int = 0
    store_failures: int = 0
    first_received_unix_s: float | None = None
    last_commit_unix_s: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """The counters as a JSON-ready dict."""
        return {
            "received": self.received, "stored": self.stored, "duplicates": self.duplicates,
            "rejected": dict(sorted(self.rejected.items())), "batches": self.batches,
            "store_failures": self.store_failures,
            "first_received_unix_s": self.first_received_unix_s,
            "last_commit_unix_s": self.last_commit_unix_s,
        }  # fmt: skip

    def line(self) -> str:
        """One log line."""
        rejected = ",".join(f"{k}={v}" for k, v in sorted(self.rejected.items())) or "0"
        return (f"received={self.received} stored={self.stored} duplicates={self.duplicates} "
                f"rejected[{rejected}] batches={self.batches} "
                f"store_failures={self.store_failures}")  # fmt: skip


@dataclass
class _Pending:
    """The open batch: what to store and what to acknowledge after the commit."""

    acks: list[tuple[int, int]] = field(default_factory=list)  # (mid, qos)
    alerts: list[AlertRecord] = field(default_factory=list)
    summaries: list[SummaryRecord] = field(default_factory=list)
    strips: list[StripRecord] = field(default_factory=list)
    statuses: list[GatewayStatusRecord] = field(default_factory=list)
    first_monotonic: float | None = None

    def __len__(self) -> int:
        return len(self.acks)

    def batch(self) -> IngestBatch:
        return IngestBatch(alerts=tuple(self.alerts), summaries=tuple(self.summaries),
                           strips=tuple(self.strips), statuses=tuple(self.statuses))  # fmt: skip


class Worker:
    """One aggregator worker (see the module docstring).

    Parameters
    ----------
    config : WorkerConfig
    store : Store or None
        The store to write to; ``None`` opens ``config.store`` (and closes it at the end).
    """

    def __init__(self, config: WorkerConfig, store: Store | None = None) -> None:
        self.config = config
        self.stats = WorkerStats()
        self._store = store
        self._owns_store = store is None
        self._stop = threading.Event()
        self._pending = _Pending()
        self._connected = False
        self._subscribed = False
        self._link = 0  # counts connections: an ack is valid only on its own link
        # one writer thread: a batch is written while the next one fills
        self._writer = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="holter-store")
        self._writing: tuple[_Pending, int, concurrent.futures.Future] | None = None
        self._client = self._make_client()

    # -- any thread ---------------------------------------------------------

    def stop(self) -> None:
        """Ask :meth:`run` to commit the open batch, acknowledge it and return."""
        self._stop.set()

    @property
    def subscribed(self) -> bool:
        """Whether the broker has granted the subscriptions (on this connection)."""
        return self._subscribed

    # -- the worker thread --------------------------------------------------------

    def handle_message(self, topic: str, payload: bytes, mid: int, qos: int) -> Rejection | None:
        """Add one message to the open batch (or count its rejection); never raises."""
        stats = self.stats
        stats.received += 1
        if stats.first_received_unix_s is None:
            stats.first_received_unix_s = time.time()
        pending = self._pending
        if pending.first_monotonic is None:
            pending.first_monotonic = time.monotonic()
        pending.acks.append((mid, qos))
        try:
            item = classify(topic, payload)
        except Exception:  # a bug in the codec must not stop the worker; count it
            log.exception("decoding a message on %r failed", topic)
            stats.rejected["internal_error"] += 1
            return None
        if isinstance(item, Rejection):
            stats.rejected[item.reason.value] += 1
            log.warning("rejected a message on %.120s: %s: %s", topic, item.reason.value,
                        item.detail)  # fmt: skip
            return item
        if isinstance(item, AlertRecord):
            pending.alerts.append(item)
        elif isinstance(item, SummaryRecord):
            pending.summaries.append(item)
        elif isinstance(item, StripRecord):
            pending.strips.append(item)
        else:
            pending.statuses.append(item)
        return None

    def run(self) -> WorkerStats:
        """Consume until :meth:`stop`; returns the counters (also logged)."""
        if self._store is None:
            self._store = open_store(self.config.store)
        backoff_s = _BACKOFF_MIN_S
        next_stats = time.monotonic() + self.config.stats_interval_s
        next_retention = time.monotonic()
        socket_open = False
        try:
            while not self._stop.is_set():
                if not socket_open:
                    socket_open = self._connect()
                    if not socket_open:
                        self._stop.wait(backoff_s)
                        backoff_s = min(2 * backoff_s, _BACKOFF_MAX_S)
                        continue
                if not self._service(self._wait_s()):
                    socket_open = False
                    self._lost_connection()
                    self._stop.wait(backoff_s)
                    backoff_s = min(2 * backoff_s, _BACKOFF_MAX_S)
                    continue
                if self._connected:
                    backoff_s = _BACKOFF_MIN_S
                self._reap_commit(wait=False)
                if self._writing is None and self._batch_due():
                    self._start_commit()
                now = time.monotonic()
                if now >= next_stats:
                    log.info("stats %s", self.stats.line())
                    next_stats = now + self.config.stats_interval_s
                if (now >= next_retention and self._writing is None
                        and self.config.store.retention_days is not None):  # fmt: skip
                    next_retention = now + self.config.retention_interval_s
                    self._apply_retention()
            # stopping: finish the batch being written, then write and ack the open one
            self._reap_commit(wait=True)
            if socket_open and self._connected and len(self._pending):
                self._start_commit()
                self._reap_commit(wait=True)
        finally:
            self._writer.shutdown(wait=True)
            if socket_open:
                self._client.disconnect()
                self._client.loop(timeout=0.05)
            if self._owns_store and self._store is not None:
                self._store.close()
            log.info("stats at exit %s", self.stats.line())
        return self.stats

    def stats_json(self) -> str:
        """The counters as one JSON document."""
        return json.dumps(self.stats.as_dict(), sort_keys=True)

    # -- internals (worker thread) ------------------------------------------------

    def _make_client(self) -> mqtt.Client:
        cfg = self.config
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=cfg.client_id,
                             protocol=mqtt.MQTTv5, manual_ack=True)  # fmt: skip
        client.manual_ack_set(True)
        if cfg.username is not None:
            client.username_pw_set(cfg.username, cfg.password)
        if cfg.tls_ca is not None:
            client.tls_set(
                ca_certs=str(cfg.tls_ca),
                certfile=str(cfg.tls_cert) if cfg.tls_cert else None,
                keyfile=str(cfg.tls_key) if cfg.tls_key else None,
                tls_version=ssl.PROTOCOL_TLS_CLIENT,
            )
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        return client

    def _connect(self) -> bool:
        cfg = self.config
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = cfg.session_expiry_s
        props.ReceiveMaximum = cfg.receive_maximum
        try:
            self._client.connect(cfg.host, cfg.port, cfg.keepalive_s, clean_start=False,
                                 properties=props)  # fmt: skip
        except (OSError, ssl.SSLError) as exc:
            log.warning("MQTT cannot reach %s:%s: %s", cfg.host, cfg.port, exc)
            return False
        return True

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.error("MQTT %s:%s refused the connection: %s", self.config.host,
                      self.config.port, reason_code)  # fmt: skip
            return
        self._connected = True
        self._link += 1
        log.info("MQTT connected to %s:%s as %s (session present: %s)", self.config.host,
                 self.config.port, self.config.client_id, flags.session_present)  # fmt: skip
        options = SubscribeOptions(qos=1)
        client.subscribe([(topic, options) for topic in self.config.subscriptions()])

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        failed = [str(rc) for rc in reason_codes if rc.is_failure]
        if failed:
            log.error("MQTT refused subscriptions: %s", ", ".join(failed))
        else:
            log.info("MQTT subscribed to %d topic filters", len(reason_codes))
        self._subscribed = not failed

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        if self._connected and not self._stop.is_set():
            log.warning("MQTT disconnected: %s", reason_code)
        self._connected = False
        self._subscribed = False

    def _on_message(self, client, userdata, message: mqtt.MQTTMessage) -> None:
        try:
            topic = message.topic
        except UnicodeDecodeError:
            topic = "<not UTF-8>"
        self.handle_message(topic, message.payload, message.mid, message.qos)

    def _wait_s(self) -> float:
        """How long the next network wait may block: until the open batch is due."""
        first = self._pending.first_monotonic
        if first is None:
            return 0.1
        due = first + self.config.batch_max_delay_ms / 1000 - time.monotonic()
        if self._writing is not None:  # the writer is busy: poll for it, do not spin
            return min(max(due, 0.002), 0.1)
        return min(max(due, 0.0), 0.1)

    def _service(self, timeout_s: float) -> bool:
        """One network round: wait up to ``timeout_s``, then read what is there."""
        client = self._client
        if client.loop(timeout=timeout_s) != mqtt.MQTT_ERR_SUCCESS:
            return False
        limit = self.config.batch_max_messages
        for _ in range(_READS_PER_WAKE):
            before = self.stats.received
            if len(self._pending) >= limit:
                break
            if client.loop_read() != mqtt.MQTT_ERR_SUCCESS:
                return False
            if self.stats.received == before:
                break
        return True

    def _batch_due(self) -> bool:
        pending = self._pending
        if not len(pending):
            return False
        if len(pending) >= self.config.batch_max_messages:
            return True
        waited_s = time.monotonic() - (pending.first_monotonic or 0.0)
        return waited_s * 1000 >= self.config.batch_max_delay_ms

    def _lost_connection(self) -> None:
        """The link dropped: the broker redelivers everything not acknowledged, so
        the open batch is dropped (its message ids mean nothing on a new link)."""
        self._connected = False
        self._subscribed = False
        if len(self._pending):
            log.warning("MQTT link lost with %d messages unacknowledged; the broker "
                        "redelivers them", len(self._pending))  # fmt: skip
        self._pending = _Pending()

    def _start_commit(self) -> None:
        """Hand the open batch to the writer thread; a new batch starts filling."""
        pending, self._pending = self._pending, _Pending()
        self._writing = (pending, self._link, self._writer.submit(self._write, pending.batch()))

    def _reap_commit(self, wait: bool) -> None:
        """If the batch being written has committed, count it and acknowledge its
        messages (when they came on the current link: else the broker redelivers)."""
        if self._writing is None:
            return
        pending, link, future = self._writing
        if not wait and not future.done():
            return
        self._writing = None
        result = future.result()
        if result is None:  # given up at shutdown: nothing acknowledged
            return
        stats = self.stats
        stats.stored += result.inserted
        stats.duplicates += result.duplicates
        stats.batches += 1
        stats.last_commit_unix_s = time.time()
        if link != self._link or not self._connected:
            return
        for mid, qos in pending.acks:
            if qos > 0:
                self._client.ack(mid, qos)

    def _write(self, batch: IngestBatch) -> IngestResult | None:
        """The writer thread: store the batch, retrying while the store fails.

        Returns ``None`` when the worker is stopping and three tries failed (the
        broker redelivers the batch to the next worker on this session).
        """
        backoff_s = _BACKOFF_MIN_S
        tries = 0
        while True:
            tries += 1
            try:
                assert self._store is not None
                return self._store.ingest(batch)
            except StoreError as exc:
                self.stats.store_failures += 1
                log.error("store failed (%s); %d messages stay unacknowledged", exc, len(batch))
                if self._stop.is_set() and tries >= 3:
                    log.error("giving up at shutdown: the broker redelivers them")
                    return None
                self._stop.wait(backoff_s)
                backoff_s = min(2 * backoff_s, _BACKOFF_MAX_S)
                self._reopen_store()

    def _reopen_store(self) -> None:
        if not self._owns_store:
            return
        try:
            if self._store is not None:
                self._store.close()
            self._store = open_store(self.config.store, migrate=False)
        except (StoreError, OSError) as exc:
            log.warning("store still unavailable: %s", exc)

    def _apply_retention(self) -> None:
        """Delete expired rows, in the writer thread (the store is used from there only)."""
        self._writer.submit(self._retention)

    def _retention(self) -> None:
        assert self._store is not None
        try:
            deleted = self._store.apply_retention()
        except StoreError as exc:
            log.warning("retention failed: %s", exc)
            return
        if deleted:
            log.info("retention deleted %d rows older than %s days", deleted,
                     self.config.store.retention_days)  # fmt: skip
