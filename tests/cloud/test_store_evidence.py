"""Summaries, strips and gateway statuses in the store (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from cloud import open_store
from cloud._ingest import classify
from cloud._records import GatewayStatusRecord, IngestBatch, StripRecord, SummaryRecord
from cloud._store import now_ms
from tests.cloud._payloads import alert_payload, status_payload, strip_payload, summary_payload

_DAY_MS = 86_400_000


def _record(topic, payload):
    out = classify(topic, payload)
    assert not hasattr(out, "reason"), out
    return out


@pytest.fixture
def store(store_url):
    with open_store(store_url) as opened:
        yield opened


def test_a_batch_of_every_kind_in_one_call_each_stored_once(store):
    alerts = tuple(_record("holter/v1/s1/g1/p01/alert", alert_payload(i)) for i in range(5))
    summaries = tuple(_record("holter/v1/s1/g1/p01/summary", summary_payload(h))
                      for h in range(3))  # fmt: skip
    strips = tuple(_record("holter/v1/s1/g1/p01/strip", strip_payload(i)) for i in range(2))
    status = _record("holter/v1/s1/g1/status", status_payload("g1", "online", 100))
    batch = IngestBatch(alerts=alerts + alerts[:2], summaries=summaries + summaries[:1],
                        strips=strips + strips, statuses=(status, status))  # fmt: skip
    first = store.ingest(batch)
    assert (first.alerts.inserted, first.summaries.inserted, first.strips.inserted,
            first.statuses.inserted) == (5, 3, 2, 1)  # fmt: skip
    assert first.duplicates == 2 + 1 + 2 + 1
    again = store.ingest(batch)
    assert again.inserted == 0 and again.duplicates == len(batch)
    assert store.count_alerts() == 5
    got = store.list_summaries("s1", "p01")
    assert [s.start_ms for s in got] == sorted(s.start_ms for s in summaries)
    assert dict(got[0].num) == dict(summaries[0].num) and got[0].received_ms is not None
    assert store.list_summaries("s1", "p01", kind="recording") == ()
    window = store.list_summaries("s1", "p01", start_ms=summaries[1].start_ms,
                                  end_ms=summaries[2].start_ms)  # fmt: skip
    assert [s.seq for s in window] == [1]
    assert store.list_summaries("other-site", "p01") == ()


def test_a_strip_comes_back_byte_for_byte(store):
    payload = strip_payload(4)
    record = _record("holter/v1/s1/g1/p01/strip", payload)
    store.ingest(IngestBatch(strips=(record,)))
    got = store.get_strip(record.alert_id)
    assert isinstance(got, StripRecord) and got.payload == payload
    strip = got.decode()
    assert strip.n_samples == 250 and strip.beats == ((10, "N"), (200, "V"))
    assert store.get_strip("0" * 32) is None


def test_a_gateway_status_is_replaced_only_by_a_newer_one(store):
    def status(state, ts_ms, gateway="g1", site="s1"):
        return GatewayStatusRecord(site=site, gateway=gateway, state=state, ts_ms=ts_ms)

    store.ingest(IngestBatch(statuses=(status("online", 100), status("online", 50, "g2"))))
    result = store.ingest(IngestBatch(statuses=(status("offline", 90),)))  # older: ignored
    assert result.statuses.inserted == 0
    store.ingest(IngestBatch(statuses=(status("offline", 200),)))
    got = store.gateway_statuses(["s1", "s9"])
    assert [(s.gateway, s.state, s.ts_ms) for s in got] == [("g1", "offline", 200),
                                                           ("g2", "online", 50)]
    assert store.gateway_statuses([]) == ()


def test_retention_deletes_old_summaries_and_strips(store_url):
    from cloud import StoreSettings

    now = now_ms()
    old = SummaryRecord(site="s", gateway="g", patient="p", kind="hourly", seq=1,
                        start_ms=now - 3 * _DAY_MS, end_ms=now - 3 * _DAY_MS)  # fmt: skip
    recent = SummaryRecord(site="s", gateway="g", patient="p", kind="hourly", seq=2,
                           start_ms=now - _DAY_MS // 2, end_ms=now)  # fmt: skip
    strip = StripRecord(alert_id="a" * 32, site="s", gateway="g", patient="p",
                        start_ms=now - 3 * _DAY_MS, payload=b"x")  # fmt: skip
    with open_store(StoreSettings(url=store_url, retention_days=2)) as store:
        store.ingest(IngestBatch(summaries=(old, recent), strips=(strip,)))
        assert store.apply_retention() == 2
        assert [s.seq for s in store.list_summaries("s", "p")] == [2]
        assert store.get_strip("a" * 32) is None
