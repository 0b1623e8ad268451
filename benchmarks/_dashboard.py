"""Dashboard inbox latency over HTTP on a PostgreSQL store of 1,000,000 alerts.

``holter bench dashboard`` creates a throw-away PostgreSQL database
(``holter_bench_<random>`` beside ``HOLTER_BENCH_PG_URL``; dropped afterwards),
bulk-loads ``n_alerts`` synthetic alerts (10 sites, as ``holter bench store``)
with ``COPY ... FROM STDIN``, adds users assigned 1, 3 and 10 of those sites,
then serves the app with a real uvicorn server (in a thread of this process,
loopback TCP) and times, with an httpx client:

* the dashboard inbox page ``GET /`` (HTML, 50 alerts, session cookie),
* the API inbox ``GET /api/v1/alerts?limit=50`` (JSON, API token),
* the 5th page of the API inbox (keyset cursor).

Each request is timed end to end (client send to last byte), ``requests``
times each; p50 and p95 reported. Target: the inbox page <= 200 ms.
"""

from __future__ import annotations

import os
import random
import secrets
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

from benchmarks._store_bench import (
    DEFAULT_PG_ADMIN_URL,
    PG_ADMIN_URL_ENV,
    _pg_database,
)
from cloud import SEVERITY_RANK, open_store
from cloud._review_store import ReviewStore

_SEVERITIES = ("info", "warning", "critical")
_TYPES = ("vt", "nsvt", "af_onset", "pause", "brady", "tachy", "st", "lead_off")
_PASSWORD = "bench-password-not-secret"


@dataclass(frozen=True)
class LatencyRow:
    """Latency of one kind of request for a user of ``n_sites`` sites."""

    what: str
    n_sites: int
    requests: int
    p50_ms: float
    p95_ms: float
    max_ms: float
    bytes: int


@dataclass(frozen=True)
class DashboardResult:
    stored_alerts: int
    load_s: float
    rows: tuple[LatencyRow, ...]
    server: str


def _copy_alerts(url: str, n: int, progress: Callable[[str], None], seed: int = 7) -> None:
    import psycopg

    rng = random.Random(seed)
    t0_ms = 1_760_000_000_000
    cols = ("id, site, gateway, patient, seq, type, severity, severity_rank, start_ms, end_ms, "
            "num, received_ms")  # fmt: skip
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        with cur.copy(f"COPY alerts ({cols}) FROM STDIN") as copy:
            for i in range(n):
                gateway = i % 100
                severity = rng.choice(_SEVERITIES)
                start = t0_ms + rng.randrange(30 * 86_400_000)
                copy.write_row((
                    secrets.token_hex(16), f"site-{gateway % 10}", f"gw-{gateway:03d}",
                    f"p{gateway:03d}-{rng.randrange(20):02d}", i, rng.choice(_TYPES), severity,
                    SEVERITY_RANK[severity], start, start + rng.randrange(60_000),
                    f'{{"hr_bpm": {rng.randrange(30, 220)}}}', t0_ms,
                ))  # fmt: skip
                if (i + 1) % 250_000 == 0:
                    progress(f"  copied {i + 1:,} alerts")
        conn.commit()
        conn.execute("ANALYZE alerts")
        conn.commit()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _time(client, path: str, requests: int, *, warmup: int = 5, **kwargs) -> tuple[list[float], int]:
    size = 0
    for _ in range(warmup):
        client.get(path, **kwargs).raise_for_status()
    times = []
    for _ in range(requests):
        t = time.perf_counter()
        r = client.get(path, **kwargs)
        times.append((time.perf_counter() - t) * 1000)
        r.raise_for_status()
        size = len(r.content)
    return times, size


def run_dashboard_bench(
    *,
    n_alerts: int = 1_000_000,
    requests: int = 200,
    site_counts: tuple[int, ...] = (1, 3, 10),
    pg_admin_url: str | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> DashboardResult:
    """Bulk-load ``n_alerts`` alerts, serve the app, time inbox requests (see module doc)."""
    if n_alerts < 1 or requests < 1:
        raise ValueError(f"n_alerts and requests must be >= 1, got {n_alerts}, {requests}")
    import fastapi
    import httpx
    import uvicorn

    from cloud._api import create_app

    admin_url = pg_admin_url or os.environ.get(PG_ADMIN_URL_ENV) or DEFAULT_PG_ADMIN_URL
    url, drop = _pg_database(admin_url)
    rows: list[LatencyRow] = []
    pg_version = "?"
    try:
        store = open_store(url)
        progress(f"COPY {n_alerts:,} alerts into PostgreSQL ...")
        t = time.perf_counter()
        _copy_alerts(url, n_alerts, progress)
        load_s = time.perf_counter() - t
        progress(f"  loaded in {load_s:.1f} s; {store.count_alerts():,} alerts stored")
        with store._lock, store._transaction(write=False):
            pg_version = store._execute("SHOW server_version").fetchone()[0]
        review = ReviewStore(store)
        tokens = {}
        for k in site_counts:
            name = f"cardio{k}"
            review.create_user(name, _PASSWORD, [f"site-{s}" for s in range(k)])
            tokens[k] = review.create_token(name, "bench")
        app = create_app(store, session_key=secrets.token_bytes(32), secure_cookies=False)
        port = _free_port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                               access_log=False, lifespan="off"))  # fmt: skip
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.02)
        base = f"http://127.0.0.1:{port}"
        try:
            for k in site_counts:
                with httpx.Client(base_url=base) as page_client:
                    page_client.post("/api/v1/session", json={"user": f"cardio{k}", "password": _PASSWORD}).raise_for_status()
                    times, size = _time(page_client, "/", requests)
                    rows.append(_row("dashboard inbox page GET / (HTML, 50 alerts)", k, times, size))
                    progress(f"  {k} site(s) page: p50 {rows[-1].p50_ms:.1f} ms, p95 {rows[-1].p95_ms:.1f} ms")
                headers = {"Authorization": f"Bearer {tokens[k]}"}
                with httpx.Client(base_url=base, headers=headers) as api:
                    times, size = _time(api, "/api/v1/alerts?limit=50", requests)
                    rows.append(_row("API inbox GET /api/v1/alerts (JSON, 50)", k, times, size))
                    cursor = None
                    for _ in range(4):
                        params = {"limit": 50} | ({"cursor": cursor} if cursor else {})
                        cursor = api.get("/api/v1/alerts", params=params).json()["next_cursor"]
                    progress(f"  {k} site(s) API: p50 {rows[-1].p50_ms:.1f} ms")
                    if cursor is None:  # fewer than 5 pages (a small --alerts)
                        continue
                    times, size = _time(api, "/api/v1/alerts", requests, params={"limit": 50, "cursor": cursor})
                    rows.append(_row("API inbox, 5th page (keyset cursor)", k, times, size))
        finally:
            server.should_exit = True
            thread.join(10)
            store.close()
    finally:
        drop()
    server_text = (f"FastAPI {fastapi.__version__} on uvicorn {uvicorn.__version__} (one worker, in a thread "
                   f"of the benchmark process), PostgreSQL {pg_version} on the same machine, "
                   f"httpx {httpx.__version__} client over loopback TCP")  # fmt: skip
    return DashboardResult(n_alerts, load_s, tuple(rows), server_text)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _row(what: str, n_sites: int, times: list[float], size: int) -> LatencyRow:
    return LatencyRow(what, n_sites, len(times), round(statistics.median(times), 2),
                      round(_percentile(times, 0.95), 2), round(max(times), 2), size)  # fmt: skip


def dashboard_text(result: DashboardResult) -> str:
    lines = [f"{result.stored_alerts:,} alerts in PostgreSQL (COPY in {result.load_s:.1f} s); {result.server}",
             f"{'request':<48} {'sites':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'bytes':>8}"]  # fmt: skip
    for r in result.rows:
        lines.append(f"{r.what:<48} {r.n_sites:>5} {r.p50_ms:>8.1f} {r.p95_ms:>8.1f} {r.max_ms:>8.1f} {r.bytes:>8}")
    return "\n".join(lines)


def dashboard_markdown(result: DashboardResult, machine: dict, command: str) -> str:
    worst = max((r.p95_ms for r in result.rows if r.what.startswith("dashboard")), default=float("nan"))
    out = [
        "# Dashboard inbox latency (holter cloud serve)", "",
        f"Command: `{command}`", "",
        f"Store: PostgreSQL with {result.stored_alerts:,} alerts over 10 sites (bulk-loaded with COPY "
        f"in {result.load_s:.1f} s, then ANALYZE). Server: {result.server}. Each request timed end to end "
        f"({result.rows[0].requests if result.rows else 0} requests after 5 warm-up requests); users assigned 1, 3 "
        "and 10 sites (10: every alert is theirs).", "",
        f"Target: inbox page <= 200 ms. Worst page p95 measured: {worst:.1f} ms.", "",
        "| request | sites | p50 ms | p95 ms | max ms | bytes |", "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]  # fmt: skip
    out += [f"| {r.what} | {r.n_sites} | {r.p50_ms:.1f} | {r.p95_ms:.1f} | {r.max_ms:.1f} | {r.bytes} |"
            for r in result.rows]  # fmt: skip
    out += ["", "## Machine", ""] + [f"- {k}: {v}" for k, v in machine.items()]
    return "\n".join(out) + "\n"


def dashboard_json(result: DashboardResult, machine: dict) -> dict:
    return {"benchmark": "dashboard", "stored_alerts": result.stored_alerts, "load_s": round(result.load_s, 2),
            "server": result.server, "rows": [asdict(r) for r in result.rows], "machine": machine}  # fmt: skip
