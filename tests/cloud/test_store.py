"""The alert store, on SQLite and on the real PostgreSQL (see conftest.py)."""

from __future__ import annotations

import random
import threading

import pytest

from cloud import (
    SCHEMA_VERSION,
    AlertRecord,
    BatchResult,
    InvalidAlertError,
    MigrationError,
    StoreConfigError,
    StoreError,
    StoreSettings,
    StoreUnavailableError,
    UpsertResult,
    open_store,
)
from cloud._migrations import MIGRATIONS
from cloud._store import now_ms, redact_url

_DAY_MS = 86_400_000
_SEVERITIES = ("info", "warning", "critical")


def make_alert(
    i: int, *, site: str = "site-a", patient: str | None = None, **fields
) -> AlertRecord:
    """A valid alert numbered ``i`` (id ``a<i>``), fields overridable."""
    values = dict(
        id=f"a{i:06d}",
        site=site,
        gateway="gw-1",
        patient=patient or f"p{i % 7}",
        seq=i,
        type="vt",
        severity=_SEVERITIES[i % 3],
        start_ms=1_700_000_000_000 + (i * 7919 % 1000) * 1000,
        end_ms=1_700_000_000_000 + (i * 7919 % 1000) * 1000 + 5000,
        num={"hr_bpm": 150 + i % 50, "duration_ms": 2500.5},
    )
    values.update(fields)
    return AlertRecord(**values)


def same_content(a: AlertRecord, b: AlertRecord) -> bool:
    keys = ("id", "site", "gateway", "patient", "seq", "type", "severity", "start_ms", "end_ms")
    return all(getattr(a, k) == getattr(b, k) for k in keys) and dict(a.num) == dict(b.num)


def inbox_order(alerts):
    return sorted(alerts, key=lambda a: (a.severity_rank, a.start_ms, a.id), reverse=True)


@pytest.fixture
def store(store_url):
    with open_store(store_url) as opened:
        yield opened


class TestSettings:
    def test_from_env(self):
        env = {"HOLTER_CLOUD_DB_URL": "postgresql://u@h/db", "HOLTER_CLOUD_RETENTION_DAYS": "30"}
        settings = StoreSettings.from_env(env)
        assert (settings.backend, settings.retention_days) == ("postgresql", 30.0)
        assert StoreSettings.from_env({}).backend == "sqlite"

    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            ({"url": "mysql://x/y"}, "must start with sqlite"),
            ({"url": "sqlite:///x.db", "retention_days": 0}, "retention_days"),
            ({"url": "sqlite:///x.db", "retention_days": -3}, "retention_days"),
        ],
    )
    def test_bad_settings_are_value_errors(self, kwargs, match):
        with pytest.raises(StoreConfigError, match=match) as info:
            StoreSettings(**kwargs)
        assert isinstance(info.value, ValueError)

    def test_bad_retention_in_env(self):
        with pytest.raises(StoreConfigError, match="HOLTER_CLOUD_RETENTION_DAYS"):
            StoreSettings.from_env({"HOLTER_CLOUD_RETENTION_DAYS": "a week"})

    def test_messages_never_show_a_password(self):
        assert redact_url("postgresql://bob:s3cret@db:5432/x") == "postgresql://bob:***@db:5432/x"
        with pytest.raises(StoreConfigError) as info:
            StoreSettings(url="mysql://bob:s3cret@db/x")
        assert "s3cret" not in str(info.value)

    def test_unreachable_postgres_is_an_os_error_without_the_password(self):
        with pytest.raises(StoreUnavailableError) as info:
            open_store("postgresql://bob:s3cret@127.0.0.1:1/x?connect_timeout=2")
        assert isinstance(info.value, OSError)
        assert "s3cret" not in str(info.value)


class TestAlertRecord:
    @pytest.mark.parametrize(
        ("fields", "match"),
        [
            # the payload's fields are checked by the codec (tests/cloud/test_ingest.py);
            # the record checks what the topic adds and the severity it ranks by
            ({"site": "a/b"}, "site must be"),
            ({"gateway": ""}, "gateway must be"),
            ({"severity": "urgent"}, "severity must be one of"),
        ],
    )
    def test_invalid_fields_are_value_errors(self, fields, match):
        with pytest.raises(InvalidAlertError, match=match) as info:
            make_alert(1, **fields)
        assert isinstance(info.value, ValueError)

    def test_is_frozen_including_num(self):
        alert = make_alert(1)
        with pytest.raises(AttributeError):
            alert.seq = 2  # type: ignore[misc]
        with pytest.raises(TypeError):
            alert.num["hr_bpm"] = 1  # type: ignore[index]


class TestIdempotentWrites:
    def test_the_same_alert_n_times_is_one_row(self, store):
        alert = make_alert(1)
        results = [store.upsert_alert(alert) for _ in range(5)]
        assert results == [UpsertResult.INSERTED] + [UpsertResult.DUPLICATE] * 4
        assert store.count_alerts() == 1
        stored = store.get_alert(alert.id)
        assert stored is not None and same_content(stored, alert)
        assert stored.received_ms is not None and abs(stored.received_ms - now_ms()) < 60_000

    def test_a_duplicate_with_other_content_changes_nothing(self, store):
        first = make_alert(1, severity="info")
        store.upsert_alert(first)
        assert (
            store.upsert_alert(make_alert(1, severity="critical", seq=99)) is UpsertResult.DUPLICATE
        )
        assert same_content(store.get_alert(first.id), first)

    def test_batch_with_duplicates_stores_each_once(self, store):
        store.upsert_alert(make_alert(3))
        batch = [make_alert(i) for i in range(10)] + [make_alert(i) for i in (2, 5, 5)]
        result = store.insert_alerts(batch)
        assert result == BatchResult(submitted=13, inserted=9)
        assert result.duplicates == 4
        assert store.count_alerts() == 10
        again = store.insert_alerts(batch)
        assert again.inserted == 0 and store.count_alerts() == 10
        for i in range(10):
            assert same_content(store.get_alert(f"a{i:06d}"), make_alert(i))

    def test_empty_batch(self, store):
        assert store.insert_alerts([]) == BatchResult(submitted=0, inserted=0)

    def test_a_batch_with_a_bad_item_stores_nothing(self, store):
        with pytest.raises(InvalidAlertError):
            store.insert_alerts([make_alert(1), {"id": "x"}])  # type: ignore[list-item]
        assert store.count_alerts() == 0

    def test_get_unknown_alert(self, store):
        assert store.get_alert("nope") is None

    def test_numbers_round_trip(self, store):
        alert = make_alert(1, num={"hr_bpm": 212, "st_uv": -150, "rr_ms": 412.25, "big": 2**62})
        store.upsert_alert(alert)
        stored = store.get_alert(alert.id)
        assert dict(stored.num) == dict(alert.num)
        assert isinstance(stored.num["hr_bpm"], int) and isinstance(stored.num["rr_ms"], float)


class TestReads:
    def test_inbox_order_and_paging(self, store):
        alerts = [make_alert(i) for i in range(40)] + [
            make_alert(100 + i, site="site-b") for i in range(15)
        ]
        # ties on (severity, start) are broken by id
        alerts += [make_alert(200 + i, severity="critical", start_ms=1_800_000_000_000,
                              end_ms=1_800_000_000_000) for i in range(3)]  # fmt: skip
        store.insert_alerts(alerts)
        for sites in (["site-a"], ["site-a", "site-b"]):
            pages, cursor = [], None
            while True:
                page = store.list_alerts(sites, limit=7, cursor=cursor)
                pages.append(page.alerts)
                cursor = page.next_cursor
                if cursor is None:
                    break
            got = [a.id for page in pages for a in page]
            want = [a.id for a in inbox_order(a for a in alerts if a.site in sites)]
            assert got == want
            assert all(len(page) == 7 for page in pages[:-1]) and 1 <= len(pages[-1]) <= 7

    def test_scoping(self, store):
        store.insert_alerts([make_alert(1, site="site-a"), make_alert(2, site="site-b")])
        assert [a.id for a in store.list_alerts(["site-b"]).alerts] == ["a000002"]
        assert store.list_alerts([]).alerts == ()
        assert store.list_alerts(["site-z"]).alerts == ()

    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            ({"sites": "site-a"}, "not one string"),
            ({"sites": ["site-a"], "limit": 0}, "limit"),
            ({"sites": ["site-a"], "limit": 5000}, "limit"),
            ({"sites": ["site-a"], "cursor": "garbage"}, "cursor"),
        ],
    )
    def test_bad_page_arguments(self, store, kwargs, match):
        with pytest.raises(StoreConfigError, match=match):
            store.list_alerts(**kwargs)

    def test_patient_timeline(self, store):
        base = 1_700_000_000_000
        mine = [make_alert(i, patient="p-x", start_ms=base + (5 - i) * 1000,
                           end_ms=base + (5 - i) * 1000 + 1) for i in range(6)]  # fmt: skip
        other_site = make_alert(50, site="site-b", patient="p-x", start_ms=base, end_ms=base)
        other_patient = make_alert(51, patient="p-y", start_ms=base, end_ms=base)
        store.insert_alerts([*mine, other_site, other_patient])
        timeline = store.patient_timeline("site-a", "p-x")
        assert [a.id for a in timeline] == [a.id for a in sorted(mine, key=lambda a: a.start_ms)]
        window = store.patient_timeline("site-a", "p-x", start_ms=base + 1000, end_ms=base + 3000)
        assert [a.start_ms for a in window] == [base + 1000, base + 2000]
        with pytest.raises(StoreConfigError, match="start_ms"):
            store.patient_timeline("site-a", "p-x", start_ms="yesterday")


class TestRetention:
    def test_deletes_only_alerts_older_than_the_setting(self, store_url):
        now = now_ms()
        old = make_alert(1, start_ms=now - 3 * _DAY_MS, end_ms=now - 3 * _DAY_MS)
        recent = make_alert(2, start_ms=now - _DAY_MS // 2, end_ms=now - _DAY_MS // 2)
        with open_store(StoreSettings(url=store_url, retention_days=2)) as store:
            store.insert_alerts([old, recent])
            assert store.apply_retention() == 1
            assert store.get_alert(old.id) is None and store.get_alert(recent.id) is not None
            assert store.apply_retention() == 0
            # later, the recent one expires too
            assert store.apply_retention(at_ms=now + 2 * _DAY_MS) == 1
            assert store.count_alerts() == 0

    def test_no_setting_keeps_everything(self, store):
        store.upsert_alert(make_alert(1, start_ms=0, end_ms=0))
        assert store.apply_retention() == 0 and store.count_alerts() == 1


class TestMigrations:
    def test_rerunning_is_safe_and_keeps_data(self, store_url):
        with open_store(store_url, migrate=False) as store:
            assert store.schema_version() == 0
            assert store.migrate() == len(MIGRATIONS)  # steps applied (numbers may skip)
            store.upsert_alert(make_alert(1))
            assert store.migrate() == 0
        with open_store(store_url) as store:
            assert store.schema_version() == SCHEMA_VERSION
            assert store.count_alerts() == 1

    def test_concurrent_migrators(self, store_url):
        errors: list[BaseException] = []

        def open_and_close():
            try:
                open_store(store_url).close()
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=open_and_close) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        with open_store(store_url, migrate=False) as store:
            assert store.schema_version() == SCHEMA_VERSION

    def test_a_newer_database_is_refused(self, store_url):
        with open_store(store_url) as store:
            with store._transaction():
                store._execute(
                    "INSERT INTO schema_migrations (version, name, applied_ms) VALUES (?, ?, ?)",
                    (SCHEMA_VERSION + 1, "from the future", 0),
                )
        with pytest.raises(MigrationError, match="schema version"):
            open_store(store_url)

    def test_closed_store(self, store_url):
        store = open_store(store_url)
        store.close()
        store.close()
        with pytest.raises(StoreError, match="closed"):
            store.count_alerts()


class TestConcurrentWriters:
    def test_overlapping_writers_store_each_alert_once(self, store_url):
        """Three writers, each with its own connection, deliver overlapping alerts
        (batches and single upserts, shuffled): every alert is stored exactly once
        and the writers' own counts of what they inserted add up to that."""
        n_alerts, n_writers = 600, 3
        alerts = [make_alert(i) for i in range(n_alerts)]
        open_store(store_url).close()  # migrate once up front
        inserted = [0] * n_writers
        errors: list[BaseException] = []

        def writer(k: int) -> None:
            rng = random.Random(k)
            # each writer gets two thirds of the alerts: every alert goes to 2 writers
            mine = [a for i, a in enumerate(alerts) if i % n_writers != k]
            mine += rng.sample(mine, 50)  # and redelivers some
            rng.shuffle(mine)
            try:
                with open_store(store_url, migrate=False) as store:
                    for start in range(0, len(mine), 40):
                        chunk = mine[start : start + 40]
                        if start % 80 == 0:
                            inserted[k] += store.insert_alerts(chunk).inserted
                        else:
                            inserted[k] += sum(
                                store.upsert_alert(a) is UpsertResult.INSERTED for a in chunk
                            )
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=writer, args=(k,)) for k in range(n_writers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        with open_store(store_url) as store:
            assert store.count_alerts() == n_alerts
            page = store.list_alerts(["site-a"], limit=1000)
            assert sorted(a.id for a in page.alerts) == [a.id for a in alerts]
        assert sum(inserted) == n_alerts


class TestInterface:
    def test_both_backends_implement_the_store_protocol(self, store):
        from cloud import Store

        assert isinstance(store, Store)


class TestPostgresOnly:
    def test_a_lost_connection_is_store_unavailable(self, pg_database_url):
        import psycopg

        store_url = pg_database_url  # its public schema: no other test uses it

        with open_store(store_url) as store:
            pid = store._connection.info.backend_pid
            with psycopg.connect(store_url, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
            with pytest.raises(StoreUnavailableError) as info:
                store.upsert_alert(make_alert(1))
            assert isinstance(info.value, OSError)
        with open_store(store_url) as store:
            assert store.count_alerts() == 0
