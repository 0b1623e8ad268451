"""The gateway's configuration file (TOML), read and checked in one place.

A documented sample lives in ``edge/deploy/gateway.sample.toml``; every key
there is described in it. Credentials are never in the file: the broker
password comes from the environment variable named by ``password_env``
(default ``HOLTER_MQTT_PASSWORD``) or from the file named by ``password_file``.

Every problem raises :class:`ConfigError` (a :class:`ValueError`) with the
file, the key and what was wrong, so ``holter gateway`` prints one line and
exits with status 2.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from edge._exceptions import ConfigError
from edge._mqtt import PublisherConfig

__all__ = ["AlertThresholds", "GatewayConfig", "PatientEntry", "load_config"]

_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,32}")


@dataclass(frozen=True)
class AlertThresholds:
    """When an alert is raised (``[alerts]`` in the file; physical units in the names)."""

    brady_bpm: float = 40.0
    tachy_bpm: float = 120.0
    vt_rate_bpm: float = 100.0
    pause_s: float = 2.0
    pause_critical_s: float = 3.0
    sustained_vt_s: float = 30.0
    af_min_s: float = 30.0
    rate_debounce_s: float = 30.0
    st_uv: float = 100.0
    st_min_s: float = 30.0
    lead_off_s: float = 10.0
    poor_signal_fraction: float = 0.3
    device_silent_s: float = 30.0
    gap_min_s: float = 1.0
    rate_limit_s: float = 300.0
    critical_rate_limit_s: float = 60.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, int | float) or isinstance(value, bool) or not value >= 0:
                raise ConfigError(f"[alerts] {f.name} must be a number >= 0, got {value!r}")
        if not 0 < self.brady_bpm < self.tachy_bpm:
            raise ConfigError(
                f"[alerts] need 0 < brady_bpm < tachy_bpm, got {self.brady_bpm} and {self.tachy_bpm}"
            )
        if not 0 < self.poor_signal_fraction <= 1:
            raise ConfigError(
                f"[alerts] poor_signal_fraction must be in (0, 1], got {self.poor_signal_fraction}"
            )


@dataclass(frozen=True)
class PatientEntry:
    """One patient of the registry: a pseudonymous id and how their ECG arrives."""

    patient: str
    device: int | None = None
    leads: tuple[str, ...] = ()


@dataclass(frozen=True)
class GatewayConfig:
    """The whole gateway configuration (see the sample file for each key)."""

    site: str
    gateway: str
    data_dir: Path
    broker_url: str = "mqtt://127.0.0.1:1883"
    username: str | None = None
    password: str | None = None
    tls_ca: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    mqtt_protocol: str = "auto"
    listen: tuple[str, ...] = ()
    watch_dir: Path | None = None
    watch_poll_s: float = 2.0
    watch_stable_s: float = 2.0
    feed_s: float = 1.0
    replay_speed: float = 0.0
    patients: tuple[PatientEntry, ...] = ()
    alerts: AlertThresholds = field(default_factory=AlertThresholds)
    outbox_max_mb: float = 256.0
    queue_chunks: int = 64
    health: str | None = "127.0.0.1:8787"
    summary_period_s: float = 3600.0
    strip_s: float = 10.0
    reports: bool = True
    keep_recordings: bool = True
    recordings_max_gb: float = 20.0

    def publisher_config(self) -> PublisherConfig:
        """The MQTT publisher settings (raises ``PublisherConfigError``, a ValueError)."""
        return PublisherConfig.from_url(
            self.broker_url, self.site, self.gateway, username=self.username,
            password=self.password, tls_ca=self.tls_ca, tls_cert=self.tls_cert,
            tls_key=self.tls_key, protocol=self.mqtt_protocol,
        )

    def patient_for_device(self, device: int) -> str | None:
        """The registered patient wearing `device`, or None."""
        for entry in self.patients:
            if entry.device == device:
                return entry.patient
        return None

    def lead_names(self, patient: str) -> tuple[str, ...]:
        """The configured lead names of a patient (empty: the source's own)."""
        for entry in self.patients:
            if entry.patient == patient:
                return entry.leads
        return ()


class _Section:
    """Typed reads of one TOML table, naming the file and key in every error."""

    def __init__(self, where: str, name: str, table: object) -> None:
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: [{name}] must be a table")
        self.where, self.name, self.table = where, name, dict(table)

    def _fail(self, key: str, what: str, value: object) -> ConfigError:
        return ConfigError(f"{self.where}: [{self.name}] {key} must be {what}, got {value!r}")

    def text(self, key: str, default: str | None = None, pattern: re.Pattern[str] | None = None,
             required: bool = False) -> str | None:
        if key not in self.table:
            if required:
                raise ConfigError(f"{self.where}: [{self.name}] {key} is required")
            return default
        value = self.table.pop(key)
        if not isinstance(value, str) or (pattern is not None and not pattern.fullmatch(value)):
            what = "text" if pattern is None else f"text matching {pattern.pattern}"
            raise self._fail(key, what, value)
        return value

    def number(self, key: str, default: float, low: float = 0.0) -> float:
        value = self.table.pop(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or not value >= low:
            raise self._fail(key, f"a number >= {low:g}", value)
        return float(value)

    def flag(self, key: str, default: bool) -> bool:
        value = self.table.pop(key, default)
        if not isinstance(value, bool):
            raise self._fail(key, "true or false", value)
        return value

    def path(self, key: str, base: Path, must_exist: bool = False) -> Path | None:
        value = self.text(key)
        if value is None:
            return None
        path = Path(os.path.expanduser(value))
        path = path if path.is_absolute() else base / path
        if must_exist and not path.is_file():
            raise ConfigError(f"{self.where}: [{self.name}] {key}: no such file {path}")
        return path

    def done(self) -> None:
        if self.table:
            raise ConfigError(
                f"{self.where}: [{self.name}] unknown key(s): {', '.join(sorted(self.table))}"
            )


def _password(broker: _Section, base: Path) -> str | None:
    env_name = broker.text("password_env", "HOLTER_MQTT_PASSWORD")
    file_path = broker.path("password_file", base, must_exist=True)
    if env_name and os.environ.get(env_name):
        return os.environ[env_name]
    if file_path is not None:
        try:
            return file_path.read_text().strip()
        except OSError as exc:
            raise ConfigError(f"{broker.where}: password_file: {exc}") from None
    return None


def _patients(where: str, raw: object) -> tuple[PatientEntry, ...]:
    if not isinstance(raw, list):
        raise ConfigError(f"{where}: [[patients]] must be an array of tables")
    out: list[PatientEntry] = []
    seen_patients: set[str] = set()
    seen_devices: set[int] = set()
    for i, item in enumerate(raw):
        sec = _Section(where, f"patients #{i + 1}", item)
        patient = sec.text("id", pattern=_ID_RE, required=True)
        assert patient is not None
        device = sec.table.pop("device", None)
        if device is not None and (isinstance(device, bool) or not isinstance(device, int)
                                   or not 0 <= device < 2**32):
            raise sec._fail("device", "an integer device id in [0, 2**32)", device)
        leads = sec.table.pop("leads", [])
        if not isinstance(leads, list) or not all(isinstance(x, str) and x for x in leads):
            raise sec._fail("leads", "an array of lead names", leads)
        sec.done()
        if patient in seen_patients:
            raise ConfigError(f"{where}: patient {patient!r} is registered twice")
        if device is not None and device in seen_devices:
            raise ConfigError(f"{where}: device {device} is registered to two patients")
        seen_patients.add(patient)
        if device is not None:
            seen_devices.add(device)
        out.append(PatientEntry(patient=patient, device=device, leads=tuple(leads)))
    return tuple(out)


def config_from_dict(doc: dict[str, Any], where: str = "<config>", base: Path | None = None) -> GatewayConfig:
    """A :class:`GatewayConfig` from a parsed TOML document (see :func:`load_config`)."""
    base = base or Path.cwd()
    doc = dict(doc)
    gw = _Section(where, "gateway", doc.pop("gateway", None) or {})
    site = gw.text("site", pattern=_ID_RE, required=True)
    gateway = gw.text("id", pattern=_ID_RE, required=True)
    data_dir = gw.path("data_dir", base) or base / "gateway-data"
    feed_s = gw.number("feed_s", 1.0, low=0.01)
    summary_period_s = gw.number("summary_period_s", 3600.0, low=1.0)
    strip_s = gw.number("strip_s", 10.0, low=1.0)
    reports = gw.flag("reports", True)
    keep_recordings = gw.flag("keep_recordings", True)
    recordings_max_gb = gw.number("recordings_max_gb", 20.0, low=0.001)
    queue_chunks = int(gw.number("queue_chunks", 64, low=1))
    health = gw.text("health", "127.0.0.1:8787")
    if health == "":
        health = None
    elif health is not None and not re.fullmatch(r"[\w.:-]+:\d{1,5}", health):
        raise gw._fail("health", "HOST:PORT or empty (off)", health)
    gw.done()

    broker = _Section(where, "broker", doc.pop("broker", None) or {})
    url = broker.text("url", "mqtt://127.0.0.1:1883")
    username = broker.text("username") or os.environ.get("HOLTER_MQTT_USERNAME")
    password = _password(broker, base)
    tls_ca = broker.path("tls_ca", base, must_exist=True)
    tls_cert = broker.path("tls_cert", base, must_exist=True)
    tls_key = broker.path("tls_key", base, must_exist=True)
    protocol = broker.text("protocol", "auto")
    if protocol not in ("auto", "5", "3.1.1"):
        raise broker._fail("protocol", '"auto", "5" or "3.1.1"', protocol)
    broker.done()

    inputs = _Section(where, "inputs", doc.pop("inputs", None) or {})
    listen = inputs.table.pop("listen", [])
    if isinstance(listen, str):
        listen = [listen]
    if not isinstance(listen, list) or not all(
        isinstance(x, str) and (re.fullmatch(r"tcp://[\w.-]+:\d{1,5}", x)
                                or re.fullmatch(r"serial://[^?\s]+(\?baud=\d{3,7})?", x))
        for x in listen
    ):
        raise inputs._fail(
            "listen", "tcp://HOST:PORT, serial:///dev/PORT[?baud=N] or an array of them", listen)
    watch_dir = inputs.path("watch_dir", base)
    poll_s = inputs.number("watch_poll_s", 2.0, low=0.05)
    stable_s = inputs.number("watch_stable_s", 2.0, low=0.0)
    speed = inputs.number("replay_speed", 0.0)
    inputs.done()

    alerts_table = doc.pop("alerts", None) or {}
    if not isinstance(alerts_table, dict):
        raise ConfigError(f"{where}: [alerts] must be a table")
    known = {f.name for f in fields(AlertThresholds)}
    unknown = sorted(set(alerts_table) - known)
    if unknown:
        raise ConfigError(f"{where}: [alerts] unknown key(s): {', '.join(unknown)}")
    try:
        alerts = AlertThresholds(**alerts_table)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None

    outbox = _Section(where, "outbox", doc.pop("outbox", None) or {})
    outbox_max_mb = outbox.number("max_mb", 256.0, low=0.001)
    outbox.done()

    patients = _patients(where, doc.pop("patients", []))
    if doc:
        raise ConfigError(f"{where}: unknown table(s): {', '.join(sorted(doc))}")
    if not listen and watch_dir is None:
        raise ConfigError(f"{where}: no input: set [inputs] listen and/or watch_dir")
    return GatewayConfig(
        site=site, gateway=gateway, data_dir=data_dir, broker_url=url, username=username,  # type: ignore[arg-type]
        password=password, tls_ca=tls_ca, tls_cert=tls_cert, tls_key=tls_key,
        mqtt_protocol=protocol, listen=tuple(listen), watch_dir=watch_dir, watch_poll_s=poll_s,  # type: ignore[arg-type]
        watch_stable_s=stable_s, feed_s=feed_s, replay_speed=speed, patients=patients,
        alerts=alerts, outbox_max_mb=outbox_max_mb, queue_chunks=queue_chunks, health=health,
        summary_period_s=summary_period_s, strip_s=strip_s, reports=reports,
        keep_recordings=keep_recordings, recordings_max_gb=recordings_max_gb,
    )


def load_config(path: str | os.PathLike[str]) -> GatewayConfig:
    """Read and check a gateway TOML file.

    Relative paths in the file are taken from the file's folder.

    Raises
    ------
    ConfigError
        Malformed TOML, a missing or unknown key, a bad value (the message
        names the file and key).
    FileNotFoundError
        No such file.
    """
    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text: {exc}") from None
    config = config_from_dict(doc, where=str(path), base=path.resolve().parent)
    try:
        config.publisher_config()
    except ValueError as exc:
        raise ConfigError(f"{path}: [broker] {exc}") from None
    return config
