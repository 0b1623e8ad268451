"""Gateway benchmark (issue #6): CPU per patient, alert latency, RSS over 24 h.

1. **CPU**: a child process runs :class:`edge.Gateway` pinned to one CPU
   (``os.sched_setaffinity``); N simulated devices (records pre-encoded as
   live frames with :func:`firmware_bridge.device_frames`, 0.25-s frames) are
   sent over TCP from threads of this process, on the other CPUs, each frame
   paced at ``t0 + (k + 1) * frame_s / speed`` (a device sends a frame once its
   last sample is recorded). The gateway publishes to the real broker. CPU
   time is the child's ``getrusage(RUSAGE_SELF)`` (user + system, every thread:
   connections, workers, publisher, SQLite outbox) from the first frame until
   every patient's end-of-stream was analysed; the Numba kernels and the
   classifier were warmed up before. % of a core per patient at real time =
   cpu_s / (n_patients * signal_s) * 100.
2. **Latency**: the same set-up at a low speed, with a subscriber on the
   broker and the child's ``Gateway.send_alert`` wrapped to note when each
   alert was durable in the outbox and how many samples the pipeline had then
   consumed. For each alert: *total* = time the subscriber received the PUBLISH
   minus the time the frame carrying the alert's end sample was sent (loopback,
   same clock; for an ``af_offset`` the sample that completes it is 10 s after
   the last AF beat, since an offset is AF absent for that long); split into *lookahead* (until the frame carrying the last
   sample fed before the decision was sent: the detector and rules waiting for
   the following signal, shrunk by ``speed``), *processing* (from then to the
   alert in the outbox: queue, analysis of the block, SQLite write) and *MQTT*
   (outbox to subscriber: publisher thread, broker, subscriber). Alerts raised
   by ``finish()`` at the end of the stream are counted, not timed.
3. **RSS**: one :class:`edge._pipeline.PatientPipeline` fed 24 h (the MIT-BIH
   records one after the other, looped, continuous sample index) in 1-s
   blocks as fast as it takes them, the process RSS (psutil) sampled after
   every simulated hour after a garbage collection.
"""

from __future__ import annotations

import gc
import multiprocessing as mp
import os
import resource
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from benchmarks._gateway_results import (
    CPU_TARGET_PCT,
    FLAT_LIMIT_MB,
    LATENCY_TARGET_S,
    AlertTiming,
    CpuResult,
    GatewayBenchResult,
    LatencyResult,
    RssResult,
    gateway_json,
    gateway_markdown,
    gateway_text,
)
from edge._rules import AF_RESUME_S

__all__ = [
    "CPU_TARGET_PCT",
    "FLAT_LIMIT_MB",
    "LATENCY_TARGET_S",
    "AlertTiming",
    "CpuResult",
    "GatewayBenchResult",
    "LatencyResult",
    "RssResult",
    "encode_device",
    "gateway_json",
    "gateway_markdown",
    "gateway_text",
    "mitdb_records",
    "run_cpu",
    "run_gateway_bench",
    "run_latency",
    "run_rss",
]

#: Seconds per device frame (the simulator's default).
FRAME_S = 0.25
_REPO = Path(__file__).resolve().parent.parent
#: MIT-BIH records with many ventricular runs, pauses or AF (the latency run).
LATENCY_RECORDS = ("207", "203", "119", "200", "201", "208", "210", "233")
BUNDLED = (_REPO / "data" / "sample" / "119", _REPO / "data" / "sample" / "203")


# -- devices ---------------------------------------------------------------------


def encode_device(record: Path, device_id: int, signal_s: float) -> tuple[float, int, list[bytes]]:
    """A record's first ``signal_s`` as live frames: (fs_hz, samples per frame, frames)."""
    from firmware_bridge import iter_record_chunks, open_record
    from firmware_bridge._simulate import device_frames

    info = open_record(record)
    n_keep = int(round(min(signal_s, info.n_samples / info.fs_hz) * info.fs_hz))

    def chunks():
        for c in iter_record_chunks(info, chunk_s=60.0):
            if c.start_sample >= n_keep:
                return
            if c.start_sample + c.n_samples > n_keep:
                yield _cut(c, n_keep - c.start_sample)
                return
            yield c

    frames = [raw for _, raw in device_frames(info, chunks(), frame_s=FRAME_S, device_id=device_id)]
    return info.fs_hz, int(round(FRAME_S * info.fs_hz)), frames


def _cut(chunk, n: int):
    import dataclasses

    return dataclasses.replace(chunk, samples=np.asarray(chunk.samples)[:n])


def _send(
    port: int, frames: list[bytes], frame_s: float, speed: float, t0: float, sent: np.ndarray
) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=30.0) as sock:
        sock.settimeout(None)
        for k, raw in enumerate(frames):
            if speed > 0:
                delay = t0 + (k + 1) * frame_s / speed - time.time()
                if delay > 0:
                    time.sleep(delay)
            sock.sendall(raw)
            sent[k] = time.time()


# -- the gateway child -------------------------------------------------------------


def _serialise_shared_classifier() -> None:  # pragma: no cover - child
    """Put a lock around the process-wide classifier's ``classify``.

    Every patient worker thread of a gateway uses the one TFLite interpreter of
    ``edge._labels.shared_classifier()``; LiteRT interpreters are not thread
    safe, and 16 concurrent workers raise "There is at least 1 reference to
    internal data in the interpreter" now and then (the block's beats are
    lost). Until edge/ serialises it, the benchmark does, in its own process.
    """
    from edge._labels import shared_classifier

    clf = shared_classifier()
    lock = threading.Lock()
    classify = clf.classify

    def locked(*args, **kwargs):
        with lock:
            return classify(*args, **kwargs)

    clf.classify = locked


def _gateway_child(
    conn, doc: dict, data_dir: str, cpu: int, serialise_classifier: bool = True
) -> None:  # pragma: no cover - child
    os.sched_setaffinity(0, {cpu})
    from edge._config import config_from_dict
    from edge._gateway import Gateway
    from edge._outbox import MessageKind
    from edge._payload import alert_id
    from edge._pipeline import PatientPipeline
    from firmware_bridge import iter_record_chunks, open_record

    if serialise_classifier:
        _serialise_shared_classifier()
    warm = open_record(BUNDLED[0])
    block = np.asarray(next(iter(iter_record_chunks(warm, chunk_s=30.0))).samples)
    p = PatientPipeline("warm", warm.fs_hz, warm.n_leads, 0)
    for i in range(0, block.shape[0], 90):
        p.feed(block[i : i + 90])
    p.finish()
    gw = Gateway(config_from_dict(doc, base=Path(data_dir))).start()
    events: list[tuple] = []
    original, put_sequenced = gw.send_alert, gw.publisher.publish_sequenced
    alert_put: dict[str, float] = {}

    def publish_sequenced(kind, patient, *args, **kwargs):
        row = put_sequenced(kind, patient, *args, **kwargs)
        if kind == MessageKind.ALERT:  # the alert is durable; its strip follows
            alert_put[patient] = time.time()
        return row

    def send_alert(patient, out, pipeline):
        original(patient, out, pipeline)
        d = out.draft
        events.append(
            (
                alert_id(patient, d.type, d.start_ms),
                patient,
                d.type.value,
                d.end_ms,
                pipeline.start_ms,
                pipeline.n_samples,
                pipeline.finished,
                alert_put[patient],
            )
        )

    gw.send_alert = send_alert
    gw.publisher.publish_sequenced = publish_sequenced
    conn.send(gw.listen_ports[0])
    conn.recv()  # go
    r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.time()
    n_patients = conn.recv()  # the devices have sent everything
    while True:
        workers = list(gw._workers.values())
        if (
            len(workers) >= n_patients
            and all(w.pipeline is not None and w.pipeline.finished for w in workers)
            and gw.idle()
        ):
            break
        time.sleep(0.05)
    r1, t1 = resource.getrusage(resource.RUSAGE_SELF), time.time()
    gw.publisher.flush(30.0)
    counts = dict(gw.counts)
    errors = {p: w.error for p, w in gw._workers.items() if w.error}
    gw.stop()
    cpu_s = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    conn.send(
        {"cpu_s": cpu_s, "wall_s": t1 - t0, "counts": counts, "events": events, "errors": errors}
    )
    conn.close()


def _stream(
    records: Sequence[Path],
    speed: float,
    signal_s: float,
    site: str,
    broker_port: int,
    on_alert: Callable | None = None,
) -> tuple[dict, list, float, int]:
    """Run the child gateway and the paced devices; the child's report, the send times."""
    cores = sorted(os.sched_getaffinity(0))
    gw_cpu = cores[0]
    devices = [encode_device(r, 100 + i, signal_s) for i, r in enumerate(records)]
    with tempfile.TemporaryDirectory(prefix="holter-bench-gw-") as tmp:
        doc = {
            "gateway": {"site": site, "id": "bench", "data_dir": tmp, "health": ""},
            "broker": {"url": f"mqtt://127.0.0.1:{broker_port}"},
            "inputs": {"listen": ["tcp://127.0.0.1:0"]},
            "patients": [{"id": f"p{i:02d}", "device": 100 + i} for i in range(len(records))],
        }
        ctx = mp.get_context("spawn")
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_gateway_child, args=(child, doc, tmp, gw_cpu), daemon=True)
        proc.start()
        deadline = time.time() + 300
        while not parent.poll(0.5):
            if not proc.is_alive() or time.time() > deadline:
                proc.kill()
                raise RuntimeError(f"the gateway child did not start (exit code {proc.exitcode})")
        port = parent.recv()
        others = set(cores[1:]) or {gw_cpu}
        saved = os.sched_getaffinity(0)
        os.sched_setaffinity(0, others)
        try:
            sent = [np.zeros(len(f), float) for _, _, f in devices]
            t0 = time.time() + 0.5
            parent.send("go")
            threads = [
                threading.Thread(target=_send, args=(port, f, FRAME_S, speed, t0, s), daemon=True)
                for (_, _, f), s in zip(devices, sent, strict=True)
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            parent.send(len(records))
            if not parent.poll(600):
                raise RuntimeError("the gateway did not finish the streams in 600 s")
            report = parent.recv()
        finally:
            os.sched_setaffinity(0, saved)
            proc.join(30)
            if proc.is_alive():
                proc.kill()
    report["gateway_cpu"] = gw_cpu
    fs_hz, per_frame = devices[0][0], devices[0][1]
    return report, sent, fs_hz, per_frame


def run_cpu(
    records: Sequence[Path],
    speed: float,
    signal_s: float,
    broker_port: int = 1883,
    progress: Callable[[str], None] | None = None,
) -> CpuResult:
    """Stream ``records`` (one device each) into a gateway pinned to one CPU; see the module doc."""
    if progress:
        progress(f"CPU: {len(records)} devices, {signal_s:g} s each at {speed:g}x ...")
    site = "bench" + uuid.uuid4().hex[:10]
    report, sent, fs_hz, per_frame = _stream(records, speed, signal_s, site, broker_port)
    n_frames = len(sent[0])
    sig = min(signal_s, (n_frames - 1) * per_frame / fs_hz)
    return CpuResult(
        records=tuple(Path(r).name for r in records),
        speed=speed,
        signal_s=sig,
        cpu_s=report["cpu_s"],
        wall_s=report["wall_s"],
        gateway_cpu=report["gateway_cpu"],
        alerts=report["counts"]["alerts"],
        summaries=report["counts"]["summaries"],
        worker_errors=tuple(f"{p}: {e}" for p, e in sorted(report["errors"].items())),
    )


def run_latency(
    records: Sequence[Path],
    speed: float,
    signal_s: float,
    broker_port: int = 1883,
    progress: Callable[[str], None] | None = None,
) -> LatencyResult:
    """Alert latency at ``speed`` with a subscriber on the broker; see the module doc."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from edge._payload import decode_alert

    if progress:
        progress(f"latency: {len(records)} devices, {signal_s:g} s each at {speed:g}x ...")
    site = "bench" + uuid.uuid4().hex[:10]
    received: dict[str, float] = {}
    subscribed = threading.Event()

    def on_message(client, userdata, msg):
        t = time.time()
        if msg.topic.endswith("/alert"):
            received.setdefault(decode_alert(msg.payload).id, t)

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"sub-{site}", protocol=mqtt.MQTTv5)
    client.on_message = on_message
    client.on_connect = lambda c, u, f, rc, p: c.subscribe(f"holter/v1/{site}/#", qos=1)
    client.on_subscribe = lambda *a: subscribed.set()
    client.connect("127.0.0.1", broker_port)
    client.loop_start()
    try:
        if not subscribed.wait(10):
            raise RuntimeError(f"no subscription on 127.0.0.1:{broker_port}")
        report, sent, fs_hz, per_frame = _stream(records, speed, signal_s, site, broker_port)
        deadline = time.time() + 10
        ids = {e[0] for e in report["events"]}
        while time.time() < deadline and not ids <= set(received):
            time.sleep(0.1)
    finally:
        client.loop_stop()
        client.disconnect()
    timings = []
    for aid, patient, kind, end_ms, start_ms, n_at, finished, t_put in report["events"]:
        arrive = sent[int(patient[1:])]
        if finished or aid not in received:
            timings.append(AlertTiming(patient, kind, None, None, None, None))
            continue
        end_sample = int(round((end_ms - start_ms) * fs_hz / 1000.0))
        if kind == "af_offset":  # complete once AF has stayed away AF_RESUME_S (the rule)
            end_sample += round(AF_RESUME_S * fs_hz)
        end_sample = min(end_sample, n_at - 1)
        t_end = arrive[max(end_sample, 0) // per_frame]
        t_last = arrive[(n_at - 1) // per_frame]
        t_recv = received[aid]
        timings.append(
            AlertTiming(
                patient,
                kind,
                float(t_recv - t_end),
                float(t_last - t_end),
                float(t_put - t_last),
                float(t_recv - t_put),
            )
        )
    n_frames = len(sent[0])
    return LatencyResult(
        records=tuple(Path(r).name for r in records),
        speed=speed,
        signal_s=min(signal_s, (n_frames - 1) * per_frame / fs_hz),
        timings=tuple(timings),
        published=len(report["events"]),
        received=len(received),
        worker_errors=tuple(f"{p}: {e}" for p, e in sorted(report["errors"].items())),
    )


# -- RSS over 24 h ----------------------------------------------------------------------


def run_rss(
    records: Sequence[Path],
    hours: int = 24,
    block_s: float = 1.0,
    progress: Callable[[str], None] | None = None,
    hour_s: float = 3600.0,
) -> RssResult:
    """Feed one PatientPipeline ``hours`` of the records (looped) in ``block_s`` blocks.

    ``hour_s`` shortens the "hour" between RSS samples (tests only).
    """
    import psutil

    from edge._pipeline import PatientPipeline
    from firmware_bridge import iter_record_chunks, open_record

    if hours < 1:
        raise ValueError(f"hours must be >= 1, got {hours}")
    first = open_record(records[0])
    fs_hz, n_leads = first.fs_hz, first.n_leads
    per_hour = int(round(hour_s * fs_hz))
    block = int(round(block_s * fs_hz))
    proc = psutil.Process()
    pipe = PatientPipeline("rss", fs_hz, n_leads, 0)
    gc.collect()
    rss = [proc.memory_info().rss / 2**20]
    fed, k, alerts = 0, 0, 0
    t0 = time.perf_counter()
    total = hours * per_hour
    while fed < total:
        info = open_record(records[k % len(records)])
        k += 1
        if info.fs_hz != fs_hz or info.n_leads != n_leads:
            continue
        x = np.concatenate([np.asarray(c.samples) for c in iter_record_chunks(info, chunk_s=600.0)])
        pos = 0
        while pos < x.shape[0] and fed < total:
            want = min(block, x.shape[0] - pos, (fed // per_hour + 1) * per_hour - fed)
            alerts += sum(1 for _ in pipe.feed(x[pos : pos + want]))
            pos += want
            fed += want
            if fed % per_hour == 0:
                gc.collect()
                rss.append(proc.memory_info().rss / 2**20)
                if progress:
                    progress(f"RSS hour {fed // per_hour}/{hours}: {rss[-1]:.1f} MB")
    n_beats = int(pipe._peaks.n)
    names = sorted({Path(r).name for r in records})
    source = (
        f"{len(names)} records looped ({', '.join(names[:4])}{', ...' if len(names) > 4 else ''})"
    )
    return RssResult(
        source=source,
        hours=hours,
        rss_mb=tuple(round(v, 2) for v in rss),
        n_beats_approx=n_beats,
        seconds=time.perf_counter() - t0,
    )


def mitdb_records(n: int, db_dir: Path | None) -> list[Path]:
    """``n`` different MIT-BIH records (the bundled 119 and 203 alternating without the database)."""
    if db_dir is None:
        return [BUNDLED[i % len(BUNDLED)] for i in range(n)]
    from benchmarks._qrs_bench import list_records

    names = list_records(db_dir)
    return [Path(db_dir) / names[i % len(names)] for i in range(n)]


def run_gateway_bench(
    db_dir: Path | None,
    *,
    patients: int = 16,
    cpu_speed: float = 10.0,
    cpu_signal_s: float = 900.0,
    latency_records: Sequence[str] = LATENCY_RECORDS,
    latency_speed: float = 1.0,
    latency_signal_s: float = 360.0,
    hours: int = 24,
    broker_port: int = 1883,
    progress: Callable[[str], None] | None = None,
) -> GatewayBenchResult:
    """The three measurements (see the module docstring); ``db_dir`` None uses the bundled records."""
    notes = []
    if db_dir is None:
        notes.append(
            "MIT-BIH folder not found: the bundled records 119 and 203 stand in "
            "(different device ids)"
        )
    cpu = run_cpu(mitdb_records(patients, db_dir), cpu_speed, cpu_signal_s, broker_port, progress)
    if db_dir is not None:
        lat_records = [Path(db_dir) / r for r in latency_records]
    else:
        lat_records = list(BUNDLED)
    latency = run_latency(lat_records, latency_speed, latency_signal_s, broker_port, progress)
    rss_records = mitdb_records(48, db_dir) if db_dir is not None else [BUNDLED[1]]
    rss = run_rss(rss_records, hours=hours, progress=progress)
    return GatewayBenchResult(cpu, latency, rss, tuple(notes))
