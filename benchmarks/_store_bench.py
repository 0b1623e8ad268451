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


@dataclass(frozen=True)
class InboxTiming:
    """Latency of inbox pages (``list_alerts``, 50 a page) on a store of ``stored`` alerts."""

    backend: str
    stored: int
    n_sites: int
    first_page_ms: float  # median over repeats
    later_page_ms: float  # median of pages 2-5 (keyset cursor) over repeats
    timeline_ms: float  # median of one patient's whole timeline


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def run_inbox_bench(
    *,
    n_stored: int = 1_000_000,
    backend: str = "postgresql",
    site_counts: tuple[int, ...] = (1, 3, 10),
    repeats: int = 5,
    batch_size: int = 5_000,
    pg_admin_url: str | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> list[InboxTiming]:
    """Fill a fresh store with ``n_stored`` alerts (10 sites), then time inbox pages."""
    if n_stored < 1 or repeats < 1:
        raise ValueError(f"n_stored and repeats must be >= 1, got {n_stored}, {repeats}")
    admin_url = pg_admin_url or os.environ.get(PG_ADMIN_URL_ENV) or DEFAULT_PG_ADMIN_URL
    if backend == "postgresql":
        url, cleanup = _pg_database(admin_url)
    else:
        folder = tempfile.TemporaryDirectory(prefix="holter_bench_")
        url, cleanup = f"sqlite:///{Path(folder.name) / 'cloud.sqlite3'}", folder.cleanup
    timings = []
    try:
        with open_store(url) as store:
            for start in range(0, n_stored, batch_size):
                n = min(batch_size, n_stored - start)
                store.insert_alerts(synthetic_alerts(n, seed=1_000_000 + start))
                if (start // batch_size) % 20 == 0:
                    progress(f"{backend} inbox: {start + n:,} of {n_stored:,} alerts stored")
            store._execute("ANALYZE alerts" if backend == "postgresql" else "ANALYZE")
            stored = store.count_alerts()
            patient = store.list_alerts(["site-1"], limit=1).alerts[0].patient
            for n_sites in site_counts:
                sites = [f"site-{i}" for i in range(n_sites)]
                first, later, timeline = [], [], []
                for _ in range(repeats):
                    t0 = time.perf_counter()
                    page = store.list_alerts(sites, limit=50)
                    first.append((time.perf_counter() - t0) * 1e3)
                    for _ in range(4):
                        t0 = time.perf_counter()
                        page = store.list_alerts(sites, limit=50, cursor=page.next_cursor)
                        later.append((time.perf_counter() - t0) * 1e3)
                    t0 = time.perf_counter()
                    store.patient_timeline("site-1", patient)
                    timeline.append((time.perf_counter() - t0) * 1e3)
                timing = InboxTiming(
                    backend, stored, n_sites, _median(first), _median(later), _median(timeline)
                )
                progress(
                    f"  {n_sites} site(s): first page {timing.first_page_ms:.1f} ms, "
                    f"later pages {timing.later_page_ms:.1f} ms"
                )
                timings.append(timing)
    finally:
        cleanup()
    return timings


def inbox_text(timings: list[InboxTiming]) -> str:
    """A plain-text table of the inbox timings."""
    return "\n".join(
        f"{t.backend} {t.stored:,} alerts, {t.n_sites} site(s): first page {t.first_page_ms:.1f} ms,"
        f" later pages {t.later_page_ms:.1f} ms, a patient timeline {t.timeline_ms:.1f} ms"
        for t in timings
    )


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
    return "\n".join(
        "  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in rows
    )


def store_markdown(
    runs: list[StoreRun],
    machine: dict[str, object],
    command: str,
    inbox: list[InboxTiming] | None = None,
) -> str:
    """The results as markdown, machine described."""
    inbox_lines = []
    if inbox:
        inbox_lines = [
            "",
            "## Inbox pages",
            "",
            "`list_alerts(sites, limit=50)` on a store filled with synthetic alerts from 10 sites",
            "(after ANALYZE); medians of 5 repeats; later pages follow the keyset cursor.",
            "",
            "| backend | stored | sites | first page ms | later pages ms | patient timeline ms |",
            "| --- | --- | --- | --- | --- | --- |",
            *(
                f"| {t.backend} | {t.stored:,} | {t.n_sites} | {t.first_page_ms:.1f} | "
                f"{t.later_page_ms:.1f} | {t.timeline_ms:.1f} |"
                for t in inbox
            ),
        ]
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
        *inbox_lines,
        "",
        "## Machine",
        "",
        *(f"- {key}: {value}" for key, value in machine.items()),
    ]
    return "\n".join(lines) + "\n"


def store_json(
    runs: list[StoreRun], machine: dict[str, object], inbox: list[InboxTiming] | None = None
) -> dict[str, object]:
    """The results as a JSON document."""
    return {
        "benchmark": "store",
        "runs": [
            {**asdict(r), "stored_per_s": r.stored_per_s, "deliveries_per_s": r.deliveries_per_s}
            for r in runs
        ],
        "inbox": [asdict(t) for t in inbox or []],
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
