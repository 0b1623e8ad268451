"""The gateway's disk outbox: every MQTT message is written here before it is
published and deleted only when the broker's PUBACK arrives.

SQLite in WAL mode. An alert is written with ``synchronous=FULL`` (on disk when
:meth:`Outbox.put` returns, power cut or not); strips and summaries with
``synchronous=NORMAL`` (WAL: durable at the next checkpoint, never corrupt).
Messages go out in the order they were accepted (row id order), also after a
restart: a new :class:`Outbox` on the same file returns what is still pending.

Disk use is bounded by ``max_bytes`` (sum of payload sizes). When a new message
does not fit, the oldest strips are dropped first, then the oldest summaries;
an alert is never dropped. If there is still no room, :meth:`Outbox.put`
raises :class:`~edge._exceptions.OutboxFullError` and the new message is not
accepted (so nothing already accepted is ever lost).

Thread-safety: one SQLite connection guarded by a lock; every method may be
called from any thread (the publisher thread removes, pipeline threads put).
"""

from __future__ import annotations

import enum
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from edge._exceptions import OutboxError, OutboxFullError


class MessageKind(enum.IntEnum):
    """What a message is; a larger value is dropped first when the disk is full."""

    ALERT = 0
    SUMMARY = 1
    STRIP = 2


@dataclass(frozen=True)
class OutboxEntry:
    """One pending message."""

    row_id: int
    kind: MessageKind
    topic: str
    payload: bytes


_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    row_id  INTEGER PRIMARY KEY AUTOINCREMENT,
    kind    INTEGER NOT NULL,
    topic   TEXT    NOT NULL,
    payload BLOB    NOT NULL
)
"""
# the last per-patient sequence number given out (alerts and summaries share it)
_SEQ_SCHEMA = """
CREATE TABLE IF NOT EXISTS patient_seq (
    patient TEXT PRIMARY KEY,
    seq     INTEGER NOT NULL
)
"""


class Outbox:
    """A bounded, durable FIFO of MQTT messages in a SQLite file.

    Parameters
    ----------
    path : str or Path
        The database file (created if missing; its folder must exist).
    max_bytes : int
        Upper bound of the payload bytes held (default 256 MiB).
    """

    def __init__(self, path: str | Path, max_bytes: int = 256 * 2**20) -> None:
        if max_bytes <= 0:
            raise ValueError(f"max_bytes must be positive, got {max_bytes}")
        self.path = Path(path)
        self.max_bytes = int(max_bytes)
        self._lock = threading.Lock()
        self._dropped = 0
        try:
            self._db = sqlite3.connect(
                str(self.path), isolation_level=None, check_same_thread=False, timeout=10.0
            )
            mode = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if mode.lower() != "wal":
                raise OutboxError(f"outbox {self.path}: WAL mode refused (got {mode!r})")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute(_SCHEMA)
            self._db.execute(_SEQ_SCHEMA)
            self._bytes = self._db.execute(
                "SELECT COALESCE(SUM(LENGTH(payload)), 0) FROM outbox"
            ).fetchone()[0]
        except sqlite3.Error as exc:
            raise OutboxError(f"outbox {self.path}: cannot open: {exc}") from exc

    def put(self, kind: MessageKind, topic: str, payload: bytes) -> int:
        """Store a message durably; returns its row id (the send order).

        Raises
        ------
        OutboxFullError
            No room even after dropping every strip and summary.
        OutboxError
            SQLite failed (disk full, I/O error, closed).
        """
        return self._insert(MessageKind(kind), topic, lambda: bytes(payload), None)[0]

    def put_sequenced(
        self, kind: MessageKind, topic: str, patient: str, make_payload: Callable[[int], bytes]
    ) -> tuple[int, int]:
        """Store a message that carries the patient's next sequence number.

        ``make_payload(seq)`` encodes the message with the number. The number
        is taken and the message stored in one transaction, so a patient's
        numbers have no gaps and no repeats, across restarts too. Returns
        ``(row id, seq)``; raises like :meth:`put` (and whatever
        ``make_payload`` raises, with nothing stored).
        """
        return self._insert(MessageKind(kind), topic, make_payload, patient)

    def _insert(self, kind: MessageKind, topic: str, make_payload, patient: str | None) -> tuple[int, int]:
        with self._lock:
            held, dropped = self._bytes, self._dropped
            try:
                sync = "FULL" if kind is MessageKind.ALERT else "NORMAL"
                self._db.execute(f"PRAGMA synchronous={sync}")
                # one transaction: the drops happen only if the new message is stored
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    seq = 0
                    if patient is None:
                        payload = make_payload()
                    else:
                        last = self._db.execute(
                            "SELECT seq FROM patient_seq WHERE patient = ?", (patient,)
                        ).fetchone()
                        seq = 1 if last is None else last[0] + 1
                        payload = bytes(make_payload(seq))
                        self._db.execute(
                            "INSERT INTO patient_seq (patient, seq) VALUES (?, ?) "
                            "ON CONFLICT (patient) DO UPDATE SET seq = excluded.seq",
                            (patient, seq),
                        )
                    size = len(payload)
                    if size > self.max_bytes:
                        raise OutboxFullError(
                            f"outbox {self.path}: a {size}-byte message exceeds "
                            f"max_bytes={self.max_bytes}"
                        )
                    self._make_room(size, kind)
                    row = self._db.execute(
                        "INSERT INTO outbox (kind, topic, payload) VALUES (?, ?, ?)",
                        (int(kind), topic, payload),
                    ).lastrowid
                    self._db.execute("COMMIT")
                except BaseException:
                    if self._db.in_transaction:  # a failed COMMIT has rolled back already
                        self._db.execute("ROLLBACK")
                    self._bytes, self._dropped = held, dropped
                    raise
            except sqlite3.Error as exc:
                raise OutboxError(f"outbox {self.path}: cannot store a message: {exc}") from exc
            self._bytes += size
            return int(row), seq

    def _make_room(self, size: int, kind: MessageKind) -> None:
        # drop the oldest strips, then summaries, never alerts; never the new kind's betters
        for victim in (MessageKind.STRIP, MessageKind.SUMMARY):
            while self._bytes + size > self.max_bytes:
                row = self._db.execute(
                    "SELECT row_id, LENGTH(payload) FROM outbox WHERE kind = ? "
                    "ORDER BY row_id LIMIT 1",
                    (int(victim),),
                ).fetchone()
                if row is None:
                    break
                self._db.execute("DELETE FROM outbox WHERE row_id = ?", (row[0],))
                self._bytes -= row[1]
                self._dropped += 1
        if self._bytes + size > self.max_bytes:
            raise OutboxFullError(
                f"outbox {self.path}: full ({self._bytes} of {self.max_bytes} bytes held by "
                f"alerts); the new {kind.name.lower()} was not accepted"
            )

    def pending(self, limit: int = 100, after_row_id: int = 0) -> list[OutboxEntry]:
        """Up to ``limit`` pending messages with row id > ``after_row_id``, oldest first."""
        with self._lock:
            try:
                rows = self._db.execute(
                    "SELECT row_id, kind, topic, payload FROM outbox WHERE row_id > ? "
                    "ORDER BY row_id LIMIT ?",
                    (after_row_id, limit),
                ).fetchall()
            except sqlite3.Error as exc:
                raise OutboxError(f"outbox {self.path}: cannot read: {exc}") from exc
        return [OutboxEntry(r[0], MessageKind(r[1]), r[2], bytes(r[3])) for r in rows]

    def remove(self, row_id: int) -> None:
        """Delete a message (its PUBACK arrived). Removing a missing row is a no-op."""
        with self._lock:
            try:
                row = self._db.execute(
                    "DELETE FROM outbox WHERE row_id = ? RETURNING LENGTH(payload)", (row_id,)
                ).fetchone()
            except sqlite3.Error as exc:
                raise OutboxError(f"outbox {self.path}: cannot remove {row_id}: {exc}") from exc
            if row is not None:
                self._bytes -= row[0]

    def __len__(self) -> int:
        with self._lock:
            try:
                return int(self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])
            except sqlite3.Error as exc:
                raise OutboxError(f"outbox {self.path}: cannot count: {exc}") from exc

    @property
    def size_bytes(self) -> int:
        """Payload bytes held."""
        return self._bytes

    @property
    def dropped(self) -> int:
        """Strips and summaries dropped to make room, since this object was opened."""
        return self._dropped

    def close(self) -> None:
        """Close the database (pending messages stay on disk)."""
        with self._lock:
            self._db.close()
