"""At scale: 3 worker processes, 100 gateways, 50,000 alerts (+10 % published twice),
one worker SIGKILLed half-way and restarted: each alert stored exactly once.

Runs on a private Mosquitto configured as a worker tier must be (see
docs/cloud_worker.md: the default ``max_queued_messages 1000`` drops messages
queued for a worker that is away) and on the real PostgreSQL.
"""

from __future__ import annotations

import time

import psycopg
import pytest

from benchmarks._worker import expected_ids, publish_parallel, wait_publishers, write_config
from tests.cloud._worker_fixtures import (
    PrivateMosquitto,
    WorkerProcess,
    count_rows,
    pg_schema_url,
    unique,
    wait_for,
)

N_ALERTS = 50_000
DUPLICATE_FRACTION = 0.1


@pytest.fixture
def private_broker():
    try:
        broker = PrivateMosquitto()
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    yield broker
    broker.close()


@pytest.fixture
def pg_url(pg_database_url):
    yield from pg_schema_url(pg_database_url)


@pytest.mark.slow
def test_three_workers_one_killed_half_way_store_each_alert_exactly_once(
    private_broker, pg_url, tmp_path
):
    from cloud import open_store

    open_store(pg_url).close()  # migrated once, before three workers start
    config = write_config(tmp_path / "cloud.toml", port=private_broker.port, store_url=pg_url,
                          group=unique("g"), max_messages=500)  # fmt: skip
    client_ids = [unique(f"w{k}-") for k in range(3)]
    workers = [WorkerProcess(config, cid, tmp_path / f"{cid}.json") for cid in client_ids]
    # 100 gateways (10 sites) from 2 publisher processes, paced so the run is a stream
    publishers = publish_parallel(private_broker.port, N_ALERTS, DUPLICATE_FRACTION, 2,
                                  pace_s=0.0002)  # fmt: skip
    wait_for(lambda: count_rows(pg_url) >= N_ALERTS // 2, 120, "half of the alerts")
    workers[1].kill()
    killed_at = count_rows(pg_url)
    time.sleep(0.5)
    workers[1] = WorkerProcess(config, client_ids[1], tmp_path / "restarted.json")
    wait_publishers(publishers, 300)
    wait_for(lambda: count_rows(pg_url) >= N_ALERTS, 180, "every alert")
    time.sleep(1.0)  # the last duplicates
    assert [w.terminate() for w in workers] == [0, 0, 0]
    assert killed_at < N_ALERTS, "the worker was killed after the end: nothing was tested"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        stored = [row[0] for row in conn.execute("SELECT id FROM alerts")]
    assert len(stored) == N_ALERTS
    assert set(stored) == expected_ids(N_ALERTS)
    stats = [w.stats() for w in workers]
    assert all(s["rejected"] == {} for s in stats)
    assert all(s["received"] > 0 for s in stats)  # the load was shared
