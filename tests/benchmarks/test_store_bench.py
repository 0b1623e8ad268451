"""The store benchmark's building blocks (tiny runs on SQLite; the timings are not checked)."""

from __future__ import annotations

import pytest

from benchmarks._store_bench import (
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

    def test_bad_sizes(self):
        with pytest.raises(ValueError, match="batch_size"):
            run_store_bench(batch_size=0, backends=("sqlite",))
