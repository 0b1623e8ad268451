"""The worker's configuration: a TOML file (``cloud.toml``), read with :mod:`tomllib`.

A commented sample is ``cloud/cloud.sample.toml``; docs/cloud_worker.md is the
reference. Secrets never live in the file: the MQTT password comes from an
environment variable (``password_env``, default ``HOLTER_MQTT_PASSWORD``) or a
file (``password_file``), and a PostgreSQL password from ``PGPASSWORD`` or
``~/.pgpass``. A key the loader does not know is an error (a typo would
otherwise be silently ignored). Every problem is one
:class:`~cloud._exceptions.WorkerConfigError` (a :class:`ValueError`): the
``holter`` command prints it in one line and exits 2.
"""

from __future__ import annotations

import os
import re
import tomllib
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cloud._exceptions import StoreConfigError, WorkerConfigError
from cloud._store import DB_URL_ENV, DEFAULT_DB_URL, StoreSettings

#: Topic level wildcard or site id a worker may subscribe to.
_SITE_RE = re.compile(r"\+|[A-Za-z0-9_.:-]{1,64}")
_NAME_RE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_ENV_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
#: The broker never sends more unacknowledged messages than this (MQTT 5 Receive Maximum).
MAX_RECEIVE_MAXIMUM = 65535

_SECTIONS: dict[str, frozenset[str]] = {
    "broker": frozenset({
        "url", "client_id", "share_group", "sites", "session_expiry_s", "keepalive_s",
        "username", "username_env", "password_env", "password_file", "tls_ca", "tls_cert",
        "tls_key",
    }),
    "store": frozenset({"url", "retention_days"}),
    "batch": frozenset({"max_messages", "max_delay_ms"}),
    "worker": frozenset({"stats_interval_s", "retention_interval_s"}),
}  # fmt: skip


@dataclass(frozen=True)
class WorkerConfig:
    """Everything one worker process needs (see docs/cloud_worker.md).

    Parameters
    ----------
    host, port : str, int
        The broker (from ``mqtt://HOST:PORT`` or ``mqtts://HOST:PORT``).
    client_id : str
        Stable per worker: the broker keeps the worker's session (its
        subscriptions and the messages not yet acknowledged) under it.
    share_group : str
        The MQTT 5 shared-subscription group: workers in one group share the load.
    sites : tuple of str
        Sites to serve (``("+",)``: all).
    session_expiry_s : int
        How long the broker keeps the session of a worker that went away.
    store : StoreSettings
        Where to store (``sqlite:///...`` or ``postgresql://...``).
    batch_max_messages, batch_max_delay_ms : int
        A batch is committed when it holds this many messages or its first
        message has waited this long, whichever comes first.
    """

    client_id: str
    host: str = "127.0.0.1"
    port: int = 1883
    share_group: str = "holter-cloud"
    sites: tuple[str, ...] = ("+",)
    session_expiry_s: int = 24 * 3600
    keepalive_s: int = 30
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls_ca: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    store: StoreSettings = field(default_factory=StoreSettings)
    batch_max_messages: int = 500
    batch_max_delay_ms: int = 200
    stats_interval_s: float = 60.0
    retention_interval_s: float = 3600.0

    def __post_init__(self) -> None:
        for name in ("client_id", "share_group"):
            if not _NAME_RE.fullmatch(str(getattr(self, name))):
                raise WorkerConfigError(
                    f"{name} must be 1-64 of A-Za-z0-9_.:-, got {getattr(self, name)!r}"
                )
        if not self.sites:
            raise WorkerConfigError("sites must name at least one site (or '+': all)")
        for site in self.sites:
            if not isinstance(site, str) or not _SITE_RE.fullmatch(site):
                raise WorkerConfigError(f"sites: each must be '+' or a site id, got {site!r}")
        _positive_int("port", self.port, 65535)
        _positive_int("session_expiry_s", self.session_expiry_s, 2**32 - 1)
        _positive_int("keepalive_s", self.keepalive_s, 65535)
        _positive_int("batch_max_messages", self.batch_max_messages, MAX_RECEIVE_MAXIMUM // 2)
        _positive_int("batch_max_delay_ms", self.batch_max_delay_ms, 60_000)
        for name in ("stats_interval_s", "retention_interval_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise WorkerConfigError(f"{name} must be a positive number of seconds, got {value!r}")
        for name in ("tls_ca", "tls_cert", "tls_key"):
            path = getattr(self, name)
            if path is not None and not Path(path).is_file():
                raise WorkerConfigError(f"{name}: no such file {path}")
        if (self.tls_cert is None) != (self.tls_key is None):
            raise WorkerConfigError("tls_cert and tls_key go together")

    @property
    def receive_maximum(self) -> int:
        """How many unacknowledged messages the broker may send (two batches' worth)."""
        return min(2 * self.batch_max_messages, MAX_RECEIVE_MAXIMUM)

    def subscriptions(self) -> list[str]:
        """The topic filters: shared for alerts, summaries and strips; plain for status.

        The gateway status is retained, and a broker sends no retained message on
        a shared subscription (MQTT 5, 4.8.2): every worker subscribes to it on
        its own (a status is tiny and written idempotently).
        """
        shared = [
            f"$share/{self.share_group}/holter/v1/{site}/+/+/{kind}"
            for site in self.sites
            for kind in ("alert", "summary", "strip")
        ]
        return shared + [f"holter/v1/{site}/+/status" for site in self.sites]


def _positive_int(name: str, value: object, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
        raise WorkerConfigError(f"{name} must be an integer in [1, {high}], got {value!r}")


def _broker_address(url: object) -> tuple[str, int, bool]:
    if not isinstance(url, str):
        raise WorkerConfigError(f"[broker] url must be text, got {url!r}")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise WorkerConfigError(f"[broker] url must be mqtt://HOST[:PORT] or mqtts://..., got {url!r}")
    if parts.username or parts.password:
        raise WorkerConfigError(
            "[broker] url must not hold credentials: use username and password_env / password_file"
        )
    try:
        port = parts.port or (8883 if parts.scheme == "mqtts" else 1883)
    except ValueError as exc:
        raise WorkerConfigError(f"[broker] url {url!r}: {exc}") from None
    return parts.hostname, port, parts.scheme == "mqtts"


def _env_name(key: str, value: object) -> str:
    if not isinstance(value, str) or not _ENV_RE.fullmatch(value):
        raise WorkerConfigError(f"[broker] {key} must name an environment variable, got {value!r}")
    return value


def config_from_mapping(
    doc: Mapping[str, Any], *, environ: Mapping[str, str] | None = None, base_dir: Path | None = None
) -> WorkerConfig:
    """The :class:`WorkerConfig` of a parsed TOML document.

    ``environ`` (default :data:`os.environ`) supplies the password and, when
    ``[store] url`` is absent, ``HOLTER_CLOUD_DB_URL``; relative file paths are
    taken from ``base_dir`` (the config file's folder).
    """
    env = os.environ if environ is None else environ
    base = Path(".") if base_dir is None else base_dir
    for section, body in doc.items():
        if section not in _SECTIONS:
            raise WorkerConfigError(
                f"unknown section [{section}] (known: {', '.join(sorted(_SECTIONS))})"
            )
        if not isinstance(body, Mapping):
            raise WorkerConfigError(f"[{section}] must be a table")
        unknown = sorted(set(body) - _SECTIONS[section])
        if "password" in unknown and section == "broker":
            raise WorkerConfigError(
                "[broker] password: never put a password in the config file; "
                "use password_env (default HOLTER_MQTT_PASSWORD) or password_file"
            )
        if unknown:
            raise WorkerConfigError(f"[{section}] unknown key(s): {', '.join(unknown)}")
    broker = doc.get("broker", {})
    store = doc.get("store", {})
    batch = doc.get("batch", {})
    worker = doc.get("worker", {})
    if "client_id" not in broker:
        raise WorkerConfigError("[broker] client_id is required (stable per worker: its session)")
    host, port, tls = _broker_address(broker.get("url", "mqtt://127.0.0.1:1883"))

    def path(key: str) -> Path | None:
        value = broker.get(key)
        if value in (None, ""):
            return None
        if not isinstance(value, str):
            raise WorkerConfigError(f"[broker] {key} must be a file path, got {value!r}")
        return base / Path(value).expanduser()

    tls_ca = path("tls_ca")
    if tls and tls_ca is None:
        raise WorkerConfigError("[broker] an mqtts:// url needs tls_ca (the CA file)")
    username = broker.get("username")
    if username is None and "username_env" in broker:
        username = env.get(_env_name("username_env", broker["username_env"]))
    if username is not None and not isinstance(username, str):
        raise WorkerConfigError(f"[broker] username must be text, got {username!r}")
    password = env.get(_env_name("password_env", broker.get("password_env", "HOLTER_MQTT_PASSWORD")))
    password_file = path("password_file")
    if password is None and password_file is not None:
        try:
            password = password_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise WorkerConfigError(f"[broker] password_file: {exc}") from None
    sites = broker.get("sites", ["+"])
    if not isinstance(sites, list):
        raise WorkerConfigError(f"[broker] sites must be a list, got {sites!r}")
    url = store.get("url") or env.get(DB_URL_ENV) or DEFAULT_DB_URL
    if not isinstance(url, str):
        raise WorkerConfigError(f"[store] url must be text, got {url!r}")
    if re.search(r"://[^/@]*:[^/@]*@", url):
        raise WorkerConfigError(
            "[store] url must not hold a password: use PGPASSWORD or ~/.pgpass"
        )
    try:
        settings = StoreSettings(url=url, retention_days=store.get("retention_days"))
    except StoreConfigError as exc:
        raise WorkerConfigError(f"[store] {exc}") from None
    kwargs: dict[str, Any] = {
        "client_id": broker["client_id"], "host": host, "port": port, "sites": tuple(sites),
        "username": username, "password": password, "tls_ca": tls_ca,
        "tls_cert": path("tls_cert"), "tls_key": path("tls_key"), "store": settings,
    }  # fmt: skip
    for key in ("share_group", "session_expiry_s", "keepalive_s"):
        if key in broker:
            kwargs[key] = broker[key]
    for key in ("max_messages", "max_delay_ms"):
        if key in batch:
            kwargs[f"batch_{key}"] = batch[key]
    kwargs.update(worker)
    return WorkerConfig(**kwargs)


def load_config(
    path: str | os.PathLike[str], *, environ: Mapping[str, str] | None = None
) -> WorkerConfig:
    """Read and check a ``cloud.toml``.

    Raises
    ------
    WorkerConfigError
        The file is missing, is not TOML, or holds a bad or unknown setting.
    """
    file = Path(path)
    try:
        with file.open("rb") as fh:
            doc = tomllib.load(fh)
    except FileNotFoundError:
        raise WorkerConfigError(f"{file}: no such config file") from None
    except OSError as exc:
        raise WorkerConfigError(f"{file}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise WorkerConfigError(f"{file}: not valid TOML: {exc}") from None
    try:
        return config_from_mapping(doc, environ=environ, base_dir=file.parent)
    except WorkerConfigError as exc:
        raise WorkerConfigError(f"{file}: {exc}") from None
