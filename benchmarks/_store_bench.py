"""Alert store throughput: how many alerts per second one writer commits.

``holter bench store`` creates a throw-away PostgreSQL database
(``holter_bench_<random>`` beside ``HOLTER_BENCH_PG_URL``, default
``postgresql://postgres@127.0.0.1:5432/postgres``; dropped afterwards) and a
SQLite file in a temporary folder, and inserts the same synthetic alerts into
each: in batches (``insert_alerts``, one transaction per batch) and one by one
(``upsert_alert``, one transaction each: the slowest way a worker can store).
A share of the deliveries are duplicates (redelivered alerts), as MQTT QoS 1
gives them; every run checks that each alert was stored exactly once.
"""

from __future__ import annotations

import os
import random
import secrets
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from cloud import AlertRecord, open_store

PG_ADMIN_URL_ENV = "HOLTER_BENCH_PG_URL"
DEFAULT_PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
_SEVERITIES = ("info", "warning", "critical")
_TYPES = ("vt", "nsvt", "af_onset", "pause", "brady", "tachy", "st", "lead_off")


@dataclass(frozen=True)
class StoreRun:
    """One timed insertion run."""

    backend: str
    mode: str  # "batch" or "single"
    batch_size: int
    deliveries: int  # alerts handed to the store, duplicates included
    unique_alerts: int
    stored: int  # rows in the table afterwards (must equal unique_alerts)
    seconds: float

    @property
    def deliveries_per_s(self) -> float:
        return self.deliveries / self.seconds

    @property
    def stored_per_s(self) -> float:
        return self.stored / self.seconds


def synthetic_alerts(n: int, seed: int = 0) -> list[AlertRecord]:
    """``n`` distinct alerts from 100 gateways (10 sites), 20 patients each."""
    rng = random.Random(seed)
    t0_ms = 1_760_000_000_000
    alerts = []
    for i in range(n):
        gateway = i % 100
        start = t0_ms + rng.randrange(86_400_000)
        alerts.append(
            AlertRecord(
                id=secrets.token_hex(16),
                site=f"site-{gateway % 10}",
                gateway=f"gw-{gateway:03d}",
                patient=f"p{gateway:03d}-{rng.randrange(20):02d}",
                seq=i,
                type=rng.choice(_TYPES),
                severity=rng.choice(_SEVERITIES),
                start_ms=start,
                end_ms=start + rng.randrange(60_000),
                num={"hr_bpm": rng.randrange(30, 220), "duration_ms": rng.random() * 30_000},
            )
        )
    return alerts


def with_duplicates(alerts: list[AlertRecord], fraction: float, seed: int = 1) -> list[AlertRecord]:
    """The alerts in delivery order with ``fraction`` of them delivered again later."""
    rng = random.Random(seed)
    out = list(alerts)
    for alert in rng.sample(alerts, int(len(alerts) * fraction)):
        out.insert(rng.randrange(len(out) + 1), alert)
    return out


def _timed_run(url: str, backend: str, mode: str, deliveries: list[AlertRecord],
               unique: int, batch_size: int) -> StoreRun:  # fmt: skip
    with open_store(url) as store:
        t0 = time.perf_counter()
        if mode == "batch":
            for start in range(0, len(deliveries), batch_size):
                store.insert_alerts(deliveries[start : start + batch_size])
        else:
            for alert in deliveries:
                store.upsert_alert(alert)
        seconds = time.perf_counter() - t0
        stored = store.count_alerts()
    return StoreRun(backend, mode, batch_size if mode == "batch" else 1, len(deliveries),
                    unique, stored, seconds)  # fmt: skip


def _pg_database(admin_url: str) -> tuple[str, Callable[[], None]]:
    import psycopg

    name = f"holter_bench_{secrets.token_hex(6)}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    parts = urlsplit(admin_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, "")), drop


def run_store_bench(
    *,
    n_alerts: int = 50_000,
    n_single: int = 5_000,
    batch_size: int = 500,
    duplicate_fraction: float = 0.1,
    backends: tuple[str, ...] = ("postgresql", "sqlite"),
    pg_admin_url: str | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> list[StoreRun]:
    """Time batch and single inserts on each backend (fresh, empty store each run)."""
    if n_alerts < 1 or n_single < 1 or batch_size < 1 or not 0 <= duplicate_fraction <= 1:
        raise ValueError(
            f"n_alerts, n_single and batch_size must be >= 1 and duplicate_fraction in [0, 1]; "
            f"got {n_alerts}, {n_single}, {batch_size}, {duplicate_fraction}"
        )
    admin_url = pg_admin_url or os.environ.get(PG_ADMIN_URL_ENV) or DEFAULT_PG_ADMIN_URL
    runs = []
    for backend in backends:
        for mode, n in (("batch", n_alerts), ("single", n_single)):
            alerts = synthetic_alerts(n, seed=n)
            deliveries = with_duplicates(alerts, duplicate_fraction)
            if backend == "postgresql":
                url, cleanup = _pg_database(admin_url)
            else:
                folder = tempfile.TemporaryDirectory(prefix="holter_bench_")
                url, cleanup = f"sqlite:///{Path(folder.name) / 'cloud.sqlite3'}", folder.cleanup
            try:
                progress(f"{backend} {mode}: {len(deliveries)} deliveries of {n} alerts ...")
                run = _timed_run(url, backend, mode, deliveries, n, batch_size)
            finally:
                cleanup()
            progress(f"  {run.stored_per_s:,.0f} alerts/s stored ({run.seconds:.2f} s)")
            if run.stored != run.unique_alerts:
                raise RuntimeError(f"{backend} {mode}: stored {run.stored} of {n} unique alerts")
            runs.append(run)
    return runs


def _table(runs: list[StoreRun]) -> list[list[str]]:
    return [
        [r.backend, r.mode, str(r.batch_size), f"{r.deliveries:,}", f"{r.unique_alerts:,}",
         f"{r.stored:,}", f"{r.seconds:.2f}", f"{r.stored_per_s:,.0f}", f"{r.deliveries_per_s:,.0f}"]
        for r in runs
    ]  # fmt: skip


_HEADER = ["backend", "mode", "batch", "deliveries", "unique", "stored", "seconds",
           "alerts/s stored", "deliveries/s"]  # fmt: skip


def store_text(runs: list[StoreRun]) -> str:
    """A plain-text table of the runs."""
    rows = [_HEADER, *_table(runs)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_HEADER))]
    return "\n".join("  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in rows)


def store_markdown(runs: list[StoreRun], machine: dict[str, object], command: str) -> str:
    """The results as markdown, machine described."""
    lines = [
        "# Alert store throughput",
        "",
        f"Command: `{command}`",
        "",
        "One writer (one connection) storing synthetic alerts from 100 gateways into an",
        "empty store; deliveries include redelivered duplicates, which the store skips",
        "(each alert stored exactly once, checked). `batch`: `insert_alerts`, one",
        "transaction per batch; `single`: `upsert_alert`, one transaction per alert.",
        "PostgreSQL at READ COMMITTED with default durability (fsync on, synchronous_commit",
        "on); SQLite in WAL mode with synchronous=FULL.",
        "",
        "| " + " | ".join(_HEADER) + " |",
        "| " + " | ".join("---" for _ in _HEADER) + " |",
        *("| " + " | ".join(row) + " |" for row in _table(runs)),
        "",
        "## Machine",
        "",
        *(f"- {key}: {value}" for key, value in machine.items()),
    ]
    return "\n".join(lines) + "\n"


def store_json(runs: list[StoreRun], machine: dict[str, object]) -> dict[str, object]:
    """The results as a JSON document."""
    return {
        "benchmark": "store",
        "runs": [
            {**asdict(r), "stored_per_s": r.stored_per_s, "deliveries_per_s": r.deliveries_per_s}
            for r in runs
        ],
        "machine": machine,
    }


def store_versions(pg_admin_url: str | None = None) -> dict[str, object]:
    """psycopg, SQLite and PostgreSQL server versions (for the machine description)."""
    import sqlite3
    from importlib import metadata

    out: dict[str, object] = {"sqlite": sqlite3.sqlite_version}
    try:
        out["psycopg"] = metadata.version("psycopg")
        import psycopg

        url = pg_admin_url or os.environ.get(PG_ADMIN_URL_ENV) or DEFAULT_PG_ADMIN_URL
        with psycopg.connect(url, autocommit=True) as conn:
            out["postgresql_server"] = conn.execute("SHOW server_version").fetchone()[0]
    except Exception as exc:  # noqa: BLE001 - a description, never a failure
        out["postgresql_server"] = f"unknown ({type(exc).__name__})"
    return out
