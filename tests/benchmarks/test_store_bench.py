"""The store benchmark's building blocks (tiny runs on SQLite; the timings are not checked)."""

from __future__ import annotations

import pytest

from benchmarks._store_bench import (
    inbox_text,
    run_inbox_bench,
    run_store_bench,
    store_json,
    store_markdown,
    store_text,
    synthetic_alerts,
    with_duplicates,
)


class TestStoreBench:
    def test_duplicates_are_redeliveries_of_the_same_alerts(self):
        alerts = synthetic_alerts(200)
        assert len({a.id for a in alerts}) == 200
        deliveries = with_duplicates(alerts, 0.25)
        assert len(deliveries) == 250
        assert {a.id for a in deliveries} == {a.id for a in alerts}

    def test_tiny_run_stores_each_alert_once_and_reports(self):
        runs = run_store_bench(n_alerts=300, n_single=40, batch_size=64, backends=("sqlite",))
        assert [(r.mode, r.unique_alerts, r.stored, r.deliveries) for r in runs] == [
            ("batch", 300, 300, 330),
            ("single", 40, 40, 44),
        ]
        assert "alerts/s stored" in store_text(runs)
        assert "| sqlite | batch | 64 |" in store_markdown(runs, {"cores": 2}, "holter bench store")
        assert store_json(runs, {})["runs"][0]["stored"] == 300

    def test_tiny_inbox_run(self):
        timings = run_inbox_bench(n_stored=500, backend="sqlite", site_counts=(1, 3), repeats=1)
        assert [(t.stored, t.n_sites) for t in timings] == [(500, 1), (500, 3)]
        assert all(t.first_page_ms > 0 and t.later_page_ms > 0 for t in timings)
        assert "3 site(s)" in inbox_text(timings)
        md = store_markdown([], {}, "holter bench store", timings)
        assert "## Inbox pages" in md and "| sqlite | 500 | 3 |" in md

    def test_bad_sizes(self):
        with pytest.raises(ValueError, match="batch_size"):
            run_store_bench(batch_size=0, backends=("sqlite",))
