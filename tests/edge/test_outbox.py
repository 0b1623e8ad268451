"""The SQLite outbox: durable FIFO across reopen, bounded with drop priority."""

from __future__ import annotations

import sqlite3

import pytest

from edge._exceptions import OutboxError, OutboxFullError
from edge._outbox import MessageKind, Outbox


class TestOutbox:
    def test_fifo_survives_reopen(self, tmp_path):
        path = tmp_path / "outbox.db"
        box = Outbox(path)
        rows = [box.put(MessageKind.ALERT, f"t/{i}", bytes([i])) for i in range(5)]
        box.remove(rows[1])
        box.close()
        again = Outbox(path)
        assert [(e.topic, e.payload) for e in again.pending()] == [
            (f"t/{i}", bytes([i])) for i in (0, 2, 3, 4)
        ]
        assert len(again) == 4 and again.size_bytes == 4

    def test_wal_mode(self, tmp_path):
        Outbox(tmp_path / "o.db").close()
        with sqlite3.connect(tmp_path / "o.db") as db:
            assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"

    def test_pending_pages_after_a_row(self, tmp_path):
        box = Outbox(tmp_path / "o.db")
        rows = [box.put(MessageKind.ALERT, "t", b"x") for _ in range(5)]
        assert [e.row_id for e in box.pending(limit=2, after_row_id=rows[1])] == rows[2:4]

    def test_strips_then_summaries_dropped_never_alerts(self, tmp_path):
        box = Outbox(tmp_path / "o.db", max_bytes=100)
        box.put(MessageKind.ALERT, "a1", b"a" * 30)
        box.put(MessageKind.SUMMARY, "s1", b"s" * 20)
        box.put(MessageKind.STRIP, "x1", b"x" * 40)
        box.put(MessageKind.ALERT, "a2", b"a" * 30)  # needs 20 more: the strip goes
        assert [e.topic for e in box.pending()] == ["a1", "s1", "a2"]
        box.put(MessageKind.ALERT, "a3", b"a" * 30)  # the summary goes
        assert [e.topic for e in box.pending()] == ["a1", "a2", "a3"]
        assert box.dropped == 2
        with pytest.raises(OutboxFullError, match="not accepted"):
            box.put(MessageKind.ALERT, "a4", b"a" * 30)
        assert [e.topic for e in box.pending()] == ["a1", "a2", "a3"]
        box.put(MessageKind.STRIP, "x2", b"x" * 10)
        with pytest.raises(OutboxFullError, match="not accepted"):
            box.put(MessageKind.ALERT, "a4", b"a" * 30)  # dropping the strip would not make room
        assert [e.topic for e in box.pending()] == ["a1", "a2", "a3", "x2"]
        assert box.dropped == 2 and box.size_bytes == 100
        box.remove(box.pending()[-1].row_id)
        box.remove(box.pending()[0].row_id)
        box.put(MessageKind.ALERT, "a4", b"a" * 30)
        assert [e.topic for e in box.pending()] == ["a2", "a3", "a4"]

    def test_oversized_message_refused(self, tmp_path):
        box = Outbox(tmp_path / "o.db", max_bytes=10)
        with pytest.raises(OutboxFullError, match="exceeds max_bytes"):
            box.put(MessageKind.STRIP, "x", b"x" * 11)

    def test_unopenable_file_is_an_outbox_error(self, tmp_path):
        with pytest.raises(OutboxError, match="cannot open"):
            Outbox(tmp_path / "missing-dir" / "o.db")

    def test_closed_outbox_raises_outbox_error(self, tmp_path):
        box = Outbox(tmp_path / "o.db")
        box.close()
        with pytest.raises(OutboxError):
            box.put(MessageKind.ALERT, "t", b"x")

    def test_disk_full_is_an_outbox_error_and_keeps_what_was_accepted(self, tmp_path):
        path = tmp_path / "o.db"
        box = Outbox(path)
        box.put(MessageKind.ALERT, "a1", b"a" * 100)
        # a full disk as SQLite sees it: no more pages may be allocated
        pages = box._db.execute("PRAGMA page_count").fetchone()[0]
        box._db.execute(f"PRAGMA max_page_count={pages}")
        with pytest.raises(OutboxError, match="full"):
            for i in range(1000):
                box.put(MessageKind.ALERT, f"a{i + 2}", b"b" * 4000)
        accepted = len(box)
        box.close()
        again = Outbox(path)
        assert len(again) == accepted and again.pending()[0].payload == b"a" * 100
        assert again.size_bytes == 100 + 4000 * (accepted - 1)
