"""Helpers of the ``holter cloud serve`` tests: a real uvicorn server on a free
loopback port (in a thread), and a store filled with alerts, strips and
summaries of two sites.
"""

from __future__ import annotations

import math
import socket
import threading
import time
from array import array

import uvicorn

from cloud import AlertRecord
from cloud._api import create_app
from cloud._records import IngestBatch, StripRecord, SummaryRecord
from cloud._review_store import ReviewStore
from edge._payload_evidence import Strip, encode_strip

SESSION_KEY = b"test-session-key-0123456789abcdef-not-a-secret"
PASSWORD = "correct horse battery staple"
T0_MS = 1_760_000_000_000
FS_HZ = 250.0
UNITS_PER_MV = 200


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """``create_app(store)`` served by uvicorn in a thread; ``url`` is its base URL."""

    def __init__(self, store, *, secure_cookies: bool = False) -> None:
        self.app = create_app(store, session_key=SESSION_KEY, secure_cookies=secure_cookies)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning",
                                access_log=False, lifespan="off")  # fmt: skip
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def alert_id(n: int) -> str:
    return f"{n:032x}"


def make_strip(aid: str, patient: str, start_ms: int, *, seconds: float = 4.0) -> Strip:
    """Two leads: a sine of 1 mV (lead II) and 0.5 mV (V1) at 1 Hz, beats every second."""
    n = int(seconds * FS_HZ)
    samples = array("h")
    for i in range(n):
        phase = 2 * math.pi * i / FS_HZ
        samples.append(round(math.sin(phase) * UNITS_PER_MV))
        samples.append(round(0.5 * math.sin(phase) * UNITS_PER_MV))
    beats = tuple((int(k * FS_HZ + FS_HZ / 4), "V" if k == 2 else "N") for k in range(int(seconds)))
    return Strip(alert_id=aid, patient=patient, start_ms=start_ms, fs_hz=FS_HZ, leads=("II", "V1"),
                 units_per_mv=UNITS_PER_MV, samples=samples, beats=beats)  # fmt: skip


def fill(store) -> dict[str, list[AlertRecord]]:
    """Site A: 5 alerts of patient pa-1 (one critical VT with a strip), hourly and
    recording summaries; site B: 2 alerts of patient pb-1 (one with a strip)."""
    severities = ("info", "warning", "critical", "warning", "info")
    types = ("af_offset", "brady", "vt", "pause", "lead_off")
    site_a = [
        AlertRecord(id=alert_id(i + 1), site="A", gateway="gw-a", patient="pa-1", seq=i, type=types[i],
                    severity=severities[i], start_ms=T0_MS + i * 600_000, end_ms=T0_MS + i * 600_000 + 5_000,
                    num={"hr_bpm": 150 + i, "duration_ms": 5_000})  # fmt: skip
        for i in range(5)
    ]
    site_b = [
        AlertRecord(id=alert_id(100 + i), site="B", gateway="gw-b", patient="pb-1", seq=i, type="nsvt",
                    severity="critical", start_ms=T0_MS + i * 1000, end_ms=T0_MS + i * 1000 + 3_000,
                    num={"hr_bpm": 170})  # fmt: skip
        for i in range(2)
    ]
    strip_a = make_strip(site_a[2].id, "pa-1", site_a[2].start_ms - 1_000)
    strip_b = make_strip(site_b[0].id, "pb-1", site_b[0].start_ms - 1_000)
    hourly = [
        SummaryRecord(site="A", gateway="gw-a", patient="pa-1", kind="hourly", seq=10 + h,
                      start_ms=T0_MS + h * 3_600_000, end_ms=T0_MS + (h + 1) * 3_600_000,
                      num={"beats": 4000 + h, "v_beats": h, "s_beats": 1, "hr_min_bpm": 55.0 + h,
                           "hr_mean_bpm": 70.0 + h, "hr_max_bpm": 110.0 + h})  # fmt: skip
        for h in range(3)
    ]
    recording = SummaryRecord(site="A", gateway="gw-a", patient="pa-1", kind="recording", seq=20,
                              start_ms=T0_MS, end_ms=T0_MS + 3 * 3_600_000,
                              num={"beats": 12003, "v_beats": 3, "hr_mean_bpm": 71.0, "af_s": 0.0,
                                   "risk_level": 2, "risk_points": 7, "model_probability": 0.93})  # fmt: skip
    store.ingest(IngestBatch(
        alerts=tuple(site_a + site_b),
        strips=tuple(StripRecord.from_strip(s, encode_strip(s), site=site, gateway=f"gw-{site.lower()}")
                     for s, site in ((strip_a, "A"), (strip_b, "B"))),
        summaries=(*hourly, recording),
    ))  # fmt: skip
    return {"A": site_a, "B": site_b}


def add_users(store) -> ReviewStore:
    """``alice`` (cardiologist of site A) and ``bob`` (cardiologist of site B)."""
    review = ReviewStore(store)
    review.create_user("alice", PASSWORD, ["A"])
    review.create_user("bob", PASSWORD, ["B"])
    return review
