"""MQTT 5 publisher: drains the outbox to the broker, QoS 1, persistent session.

Topics (DESIGN.md): ``holter/v1/{site}/{gateway}/{patient}/alert`` (and
``.../summary``, ``.../strip``); ``holter/v1/{site}/{gateway}/status`` retained,
with a Last Will saying ``offline``.

One thread (started by :meth:`Publisher.start`) makes every paho call: it
connects with ``clean_start=False`` and a session expiry, reconnects with
exponential backoff, publishes the outbox's pending messages in row order (at
most ``max_inflight`` unacknowledged), and deletes an outbox row only when
paho's ``on_publish`` reports the broker's PUBACK for that message id. Other
threads only call :meth:`Publisher.publish_alert` (which writes the outbox and
wakes the thread), :meth:`flush` and :meth:`close`.

Credentials never live in the repository: :meth:`PublisherConfig.from_env`
reads ``HOLTER_MQTT_USERNAME`` / ``HOLTER_MQTT_PASSWORD`` (or the file named by
``HOLTER_MQTT_PASSWORD_FILE``) and TLS file paths from the environment.
"""

from __future__ import annotations

import logging
import os
import re
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from edge._exceptions import OutboxError, PublisherClosedError, PublisherConfigError
from edge._outbox import MessageKind, Outbox
from edge._payload import Alert, GatewayState, Status, encode_alert, encode_status

log = logging.getLogger(__name__)

_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,32}")


#: An "auto" publisher whose MQTT 5 CONNECT gets no CONNACK this long tries MQTT 3.1.1
#: (amqtt, the embedded demo broker, sits on an MQTT 5 CONNECT before refusing it).
CONNACK_WAIT_S = 3.0


def _now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True)
class PublisherConfig:
    """Where and how to publish.

    ``site`` and ``gateway`` are 1-32 of ``A-Za-z0-9_-`` (they are topic levels).
    ``tls_ca`` turns TLS on (``tls_cert``/``tls_key`` add a client certificate).
    """

    site: str
    gateway: str
    host: str = "127.0.0.1"
    port: int = 1883
    username: str | None = None
    password: str | None = None
    tls_ca: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    keepalive_s: int = 30
    session_expiry_s: int = 7 * 24 * 3600
    max_inflight: int = 20
    backoff_min_s: float = 0.1
    backoff_max_s: float = 30.0
    protocol: str = "auto"

    def __post_init__(self) -> None:
        if self.protocol not in ("auto", "5", "3.1.1"):
            raise PublisherConfigError(
                f'protocol must be "auto", "5" or "3.1.1", got {self.protocol!r}'
            )
        for name in ("site", "gateway"):
            if not _ID_RE.fullmatch(getattr(self, name)):
                raise PublisherConfigError(
                    f"{name} must be 1-32 of A-Za-z0-9_-, got {getattr(self, name)!r}"
                )
        if not 0 < self.port < 65536:
            raise PublisherConfigError(f"port must be 1-65535, got {self.port}")
        for name in ("tls_ca", "tls_cert", "tls_key"):
            path = getattr(self, name)
            if path is not None and not Path(path).is_file():
                raise PublisherConfigError(f"{name}: no such file {path}")
        if (self.tls_cert is None) != (self.tls_key is None):
            raise PublisherConfigError("tls_cert and tls_key go together")

    @classmethod
    def from_url(cls, url: str, site: str, gateway: str, **kw: object) -> PublisherConfig:
        """From ``mqtt://host:port`` or ``mqtts://host:port`` (TLS; needs ``tls_ca``)."""
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise PublisherConfigError(f"broker URL must be mqtt://HOST[:PORT], got {url!r}")
        if parts.username or parts.password:
            raise PublisherConfigError("put credentials in the environment, not in the broker URL")
        try:
            port = parts.port or (8883 if parts.scheme == "mqtts" else 1883)
        except ValueError as exc:
            raise PublisherConfigError(f"broker URL {url!r}: {exc}") from None
        if parts.scheme == "mqtts" and kw.get("tls_ca") is None:
            raise PublisherConfigError(f"{url}: mqtts needs tls_ca (the CA file)")
        return cls(site=site, gateway=gateway, host=parts.hostname, port=port, **kw)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, url: str, site: str, gateway: str) -> PublisherConfig:
        """Like :meth:`from_url`, credentials and TLS files from ``HOLTER_MQTT_*``."""
        env = os.environ
        password = env.get("HOLTER_MQTT_PASSWORD")
        if password is None and env.get("HOLTER_MQTT_PASSWORD_FILE"):
            try:
                password = Path(env["HOLTER_MQTT_PASSWORD_FILE"]).read_text().strip()
            except OSError as exc:
                raise PublisherConfigError(f"HOLTER_MQTT_PASSWORD_FILE: {exc}") from None

        def path(name: str) -> Path | None:
            return Path(env[name]) if env.get(name) else None

        return cls.from_url(
            url, site, gateway, username=env.get("HOLTER_MQTT_USERNAME"), password=password,
            tls_ca=path("HOLTER_MQTT_TLS_CA"), tls_cert=path("HOLTER_MQTT_TLS_CERT"),
            tls_key=path("HOLTER_MQTT_TLS_KEY"),
        )

    def topic(self, patient: str, kind: str) -> str:
        """``holter/v1/{site}/{gateway}/{patient}/{kind}``."""
        return f"holter/v1/{self.site}/{self.gateway}/{patient}/{kind}"

    @property
    def status_topic(self) -> str:
        """``holter/v1/{site}/{gateway}/status`` (retained)."""
        return f"holter/v1/{self.site}/{self.gateway}/status"


class Publisher:
    """Publishes the outbox to an MQTT 5 broker from one thread.

    Parameters
    ----------
    config : PublisherConfig
    outbox : Outbox
        Shared with the pipeline; rows are deleted here on PUBACK.
    """

    def __init__(self, config: PublisherConfig, outbox: Outbox) -> None:
        self.config = config
        self.outbox = outbox
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._closed = False
        self._connected = False
        self._last_error: str | None = None
        self._inflight: dict[int, int] = {}  # paho mid -> outbox row id
        self._last_sent_row = 0
        self._thread = threading.Thread(target=self._run, name="holter-mqtt", daemon=True)
        self._v311 = config.protocol == "3.1.1"
        self._got_connack = False
        self._fall_back = False
        self._refusals_v5 = 0  # links closed before any CONNACK (a broker that drops MQTT 5)
        self._connect_started = time.monotonic()
        self._client = self._make_client()

    # -- any thread -------------------------------------------------------

    def start(self) -> Publisher:
        """Start the network thread (returns self)."""
        self._thread.start()
        return self

    def publish_alert(self, alert: Alert) -> int:
        """Write the alert to the outbox (durably) and wake the sender; returns the row id."""
        if self._closed:
            raise PublisherClosedError("publish_alert after close()")
        row = self.outbox.put(MessageKind.ALERT, self.config.topic(alert.patient, "alert"),
                              encode_alert(alert))
        self._wake.set()
        return row

    def publish_sequenced(
        self, kind: MessageKind, patient: str, make_payload: Callable[[int], bytes]
    ) -> tuple[int, int]:
        """Write ``make_payload(seq)`` to the outbox with the patient's next sequence number.

        See :meth:`Outbox.put_sequenced`; returns ``(row id, seq)``.
        """
        if self._closed:
            raise PublisherClosedError("publish_sequenced after close()")
        kind = MessageKind(kind)
        if not _ID_RE.fullmatch(patient):
            raise PublisherConfigError(f"patient must be 1-32 of A-Za-z0-9_-, got {patient!r}")
        out = self.outbox.put_sequenced(kind, self.config.topic(patient, kind.name.lower()),
                                        patient, make_payload)
        self._wake.set()
        return out

    @property
    def protocol(self) -> str:
        """The MQTT version in use: "5" or "3.1.1" (after an "auto" fallback)."""
        return "3.1.1" if self._v311 else "5"

    def publish_payload(self, kind: MessageKind, patient: str, payload: bytes) -> int:
        """Write an encoded strip or summary to the outbox for ``.../{patient}/{kind}``.

        Strips and summaries are dropped before alerts when the outbox is full.
        """
        if self._closed:
            raise PublisherClosedError("publish_payload after close()")
        kind = MessageKind(kind)
        if not _ID_RE.fullmatch(patient):
            raise PublisherConfigError(f"patient must be 1-32 of A-Za-z0-9_-, got {patient!r}")
        row = self.outbox.put(kind, self.config.topic(patient, kind.name.lower()), payload)
        self._wake.set()
        return row

    @property
    def connected(self) -> bool:
        """Whether the broker accepted the connection (CONNACK success)."""
        return self._connected

    @property
    def last_error(self) -> str | None:
        """The last connection problem, for the status page and the log."""
        return self._last_error

    def flush(self, timeout_s: float) -> bool:
        """Wait until the outbox is empty; False when ``timeout_s`` passed first."""
        deadline = time.monotonic() + timeout_s
        while len(self.outbox):
            if time.monotonic() > deadline:
                return False
            self._wake.set()
            time.sleep(0.02)
        return True

    def close(self, timeout_s: float = 5.0) -> None:
        """Publish ``offline`` (retained), disconnect, stop the thread. Pending rows stay."""
        self._closed = True
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    # -- the network thread only -------------------------------------------

    def _make_client(self) -> mqtt.Client:
        cfg = self.config
        client_id = f"holter-{cfg.site}-{cfg.gateway}"
        if self._v311:  # e.g. the embedded demo broker (amqtt), which refuses MQTT 5
            client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                                 protocol=mqtt.MQTTv311, clean_session=False)
        else:
            client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                                 protocol=mqtt.MQTTv5)
        client.max_inflight_messages_set(cfg.max_inflight)
        if cfg.username is not None:
            client.username_pw_set(cfg.username, cfg.password)
        if cfg.tls_ca is not None:
            client.tls_set(
                ca_certs=str(cfg.tls_ca),
                certfile=str(cfg.tls_cert) if cfg.tls_cert else None,
                keyfile=str(cfg.tls_key) if cfg.tls_key else None,
                tls_version=ssl.PROTOCOL_TLS_CLIENT,
            )
        offline = encode_status(Status(cfg.gateway, GatewayState.OFFLINE, _now_ms()))
        client.will_set(cfg.status_topic, offline, qos=1, retain=True)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        return client

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        self._got_connack = True
        if reason_code.is_failure and self._may_fall_back() and reason_code.value in (1, 0x84):
            self._fall_back = True  # "unacceptable / unsupported protocol version"
            return
        if reason_code.is_failure:
            self._last_error = f"broker refused the connection: {reason_code}"
            log.error("MQTT %s:%s: %s", self.config.host, self.config.port, self._last_error)
            return
        self._connected = True
        self._last_error = None
        log.info("MQTT connected to %s:%s (session present: %s)", self.config.host,
                 self.config.port, flags.session_present)
        online = encode_status(Status(self.config.gateway, GatewayState.ONLINE, _now_ms()))
        client.publish(self.config.status_topic, online, qos=1, retain=True)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        was_connected, self._connected = self._connected, False
        if was_connected and not self._stop.is_set():  # else keep the CONNACK's reason
            self._last_error = f"disconnected: {reason_code}"
            log.warning("MQTT %s:%s %s", self.config.host, self.config.port, self._last_error)

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        row = self._inflight.pop(mid, None)
        if row is None:
            return  # the status message
        if reason_code.is_failure:  # e.g. not authorised: resend from the outbox later
            log.error("MQTT broker rejected outbox row %d: %s", row, reason_code)
            self._last_sent_row = min(self._last_sent_row, row - 1)
            return
        try:
            self.outbox.remove(row)
        except OutboxError as exc:  # e.g. disk full: the row stays and is sent again later
            self._last_error = f"outbox: {exc}"
            log.error("MQTT PUBACK of outbox row %d not recorded: %s", row, exc)

    def _may_fall_back(self) -> bool:
        return self.config.protocol == "auto" and not self._v311

    def _switch_to_v311(self) -> None:
        """An "auto" publisher whose MQTT 5 CONNECT was refused speaks 3.1.1 from now on."""
        log.warning("MQTT %s:%s refused MQTT 5; falling back to MQTT 3.1.1",
                    self.config.host, self.config.port)
        try:
            self._client.disconnect()
        except Exception:  # noqa: BLE001 - the link is already gone
            pass
        self._v311 = True
        self._inflight.clear()
        self._last_sent_row = 0
        self._client = self._make_client()

    def _connect(self) -> bool:
        self._connect_started = time.monotonic()
        self._got_connack = False
        self._fall_back = False
        try:
            if self._v311:
                self._client.connect(self.config.host, self.config.port, self.config.keepalive_s)
                return True
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = self.config.session_expiry_s
            self._client.connect(self.config.host, self.config.port, self.config.keepalive_s,
                                 clean_start=False, properties=props)
        except (OSError, ssl.SSLError) as exc:
            self._last_error = f"cannot reach {self.config.host}:{self.config.port}: {exc}"
            log.warning("MQTT %s; outbox holds %d", self._last_error, len(self.outbox))
            return False
        return True

    def _send_pending(self) -> None:
        room = self.config.max_inflight - len(self._inflight)
        if room <= 0:
            return
        for entry in self.outbox.pending(limit=room, after_row_id=self._last_sent_row):
            info = self._client.publish(entry.topic, entry.payload, qos=1)
            # NO_CONN: the link dropped just now; paho keeps the QoS 1 message and
            # sends it (same mid) after the reconnect, so it is in flight all the same
            if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
                log.error("MQTT publish of outbox row %d failed: %s", entry.row_id,
                          mqtt.error_string(info.rc))
                break
            self._inflight[info.mid] = entry.row_id
            self._last_sent_row = entry.row_id

    def _run(self) -> None:
        backoff_s = self.config.backoff_min_s
        socket_open = False
        while not self._stop.is_set():
            if not socket_open:
                socket_open = self._connect()
                if not socket_open:
                    self._wake.clear()
                    self._stop.wait(backoff_s)
                    backoff_s = min(backoff_s * 2, self.config.backoff_max_s)
                    continue
            rc = self._client.loop(timeout=0.05)
            no_answer = (not self._got_connack
                         and time.monotonic() - self._connect_started > CONNACK_WAIT_S)
            if self._fall_back or (self._may_fall_back() and not self._got_connack and (
                    no_answer or (rc != mqtt.MQTT_ERR_SUCCESS and self._refusals_v5 >= 2))):
                self._switch_to_v311()
                socket_open = False
                continue
            if rc != mqtt.MQTT_ERR_SUCCESS:
                if not self._got_connack:
                    self._refusals_v5 += 1
                # paho keeps unacknowledged QoS 1 messages and resends them (same mid)
                # on the next connect; rows not yet handed to paho stay in the outbox.
                # Back off here too: a broker that refuses the CONNECT (bad credentials)
                # closes the link at once.
                socket_open = False
                self._connected = False
                self._stop.wait(backoff_s)
                backoff_s = min(backoff_s * 2, self.config.backoff_max_s)
                continue
            if self._connected:
                backoff_s = self.config.backoff_min_s
                self._send_pending()
        if socket_open:
            self._say_offline()

    def _say_offline(self) -> None:
        if self._connected:
            offline = encode_status(Status(self.config.gateway, GatewayState.OFFLINE, _now_ms()))
            info = self._client.publish(self.config.status_topic, offline, qos=1, retain=True)
            deadline = time.monotonic() + 2.0
            while not info.is_published() and time.monotonic() < deadline:
                self._client.loop(timeout=0.05)
        self._client.disconnect()
        self._client.loop(timeout=0.05)
