"""The gateway benchmark's building blocks on a tiny input (2 devices, seconds of signal).

Needs the real broker on 127.0.0.1:1883 (skips without it, fails under
HOLTER_REQUIRE_DATA); the timings are not checked, only that every part is measured.
"""

from __future__ import annotations

import os
import socket

import pytest

from benchmarks._gateway import (
    BUNDLED,
    GatewayBenchResult,
    encode_device,
    gateway_json,
    gateway_markdown,
    gateway_text,
    run_cpu,
    run_latency,
    run_rss,
)


@pytest.fixture(scope="module")
def broker_port() -> int:
    with socket.socket() as s:
        s.settimeout(0.5)
        up = s.connect_ex(("127.0.0.1", 1883)) == 0
    if not up:
        reason = "no MQTT broker listens on 127.0.0.1:1883 (install mosquitto; .ci/run starts it)"
        if os.environ.get("HOLTER_REQUIRE_DATA"):
            pytest.fail(reason + " and HOLTER_REQUIRE_DATA is set", pytrace=False)
        pytest.skip(reason)
    return 1883


def test_encode_device_cuts_the_record_into_frames():
    fs_hz, per_frame, frames = encode_device(BUNDLED[0], 7, 3.0)
    assert (fs_hz, per_frame) == (360.0, 90)
    assert len(frames) == 3 * 4 + 1  # 0.25-s frames and the end-of-stream frame


def test_tiny_gateway_bench(broker_port):
    cpu = run_cpu(BUNDLED, speed=0, signal_s=4.0, broker_port=broker_port)
    assert cpu.records == ("119", "203") and cpu.signal_s == 4.0
    assert cpu.cpu_s > 0 and cpu.summaries >= 2  # each patient's recording summary
    # the first minute of 203 raises alerts (AF onset, NSVT)
    lat = run_latency(BUNDLED, speed=0, signal_s=60.0, broker_port=broker_port)
    assert lat.published >= 2 and lat.received == lat.published
    for t in lat.timings:
        if t.total_s is not None:
            parts = t.lookahead_s + t.processing_s + t.mqtt_s
            assert abs(t.total_s - parts) < 1e-6
    assert set(lat.quantiles()) == {"p50", "p95", "p99", "max"}
    rss = run_rss(BUNDLED[1:], hours=2, hour_s=5.0)
    assert len(rss.rss_mb) == 3 and rss.n_beats_approx > 5
    result = GatewayBenchResult(cpu, lat, rss)
    assert "% of a core per patient" in gateway_text(result)
    doc = gateway_json(result, {})
    assert doc["latency"]["published"] == lat.published and doc["rss"]["hours"] == 2
    assert "## What is measured" in gateway_markdown(
        result,
        {
            "cpu": "x",
            "machine": "x",
            "cores": 2,
            "ram_gb": 1,
            "os": "x",
            "python": "3.11",
            "numpy": "2",
            "scipy": "1",
            "numba": "0",
            "wfdb": "4",
            "neurokit2": "0",
            "date_utc": "now",
            "git_commit": "abc",
        },
        "holter bench gateway",
    )
