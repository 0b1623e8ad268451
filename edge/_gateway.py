"""The gateway runtime: sources -> per-patient pipelines -> outbox -> MQTT.

Threads
-------
* one **listener** per ``[inputs] listen`` address accepts device connections
  (the bridge's live frame protocol over TCP); one **connection** thread per
  device parses frames, assembles chunks (lost frames become NaN, reported as
  a stream gap) and hands them to the patient's worker;
* one **watcher** polls ``[inputs] watch_dir`` for recordings (WFDB ``.hea``,
  EDF/EDF+, ISHNE) whose size has stopped changing, reads them chunk by chunk
  and hands the chunks on; once every alert of the file is in the outbox, the
  file moves to ``watch_dir/done/`` (``rejected/`` when it cannot be read);
* when a recording ends (a file read to its end, a device's end of stream or a
  device starting anew) the worker writes its **24-hour report** (``holter
  analyze``: report.json + report.html) to ``data_dir/reports/<patient>/<name>/``;
  a device's ECG is kept for it as a WFDB record in
  ``data_dir/recordings/<patient>/``, written as it arrives (``keep_recordings``);
* one **worker** per patient owns that patient's :class:`PatientPipeline` and
  a bounded queue (``queue_chunks``): a full queue blocks the reader, which is
  the back-pressure (TCP flow control slows the device; the file is read
  later); the worker writes alerts, strips and summaries to the outbox;
* the **publisher** (:class:`edge._mqtt.Publisher`) makes every paho call;
* a **health** HTTP server answers ``GET /healthz`` with JSON (publisher,
  outbox, per-patient queue depth and signal quality).

Patients: a registered device id maps to its patient; a file's patient is the
part of its name before ``__`` (or the whole stem) and must be registered
when the registry is not empty. Nothing accepted is lost: alerts reach the
outbox (SQLite, synchronous=FULL) before a file is moved to ``done/``; a
gateway killed mid-file analyses the file again after a restart, and the
alerts come out with the same ids (the analysis is deterministic on the
signal's own timeline), which the cloud drops as duplicates.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import re
import shutil
import socket
import sys
import threading
import time
from array import array
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

from edge._archive import RecordingArchive, prune_recordings, write_report
from edge._config import GatewayConfig
from edge._exceptions import OutboxError, one_line
from edge._gateway_links import DeviceLinks
from edge._mqtt import Publisher
from edge._outbox import MessageKind, Outbox
from edge._payload import Alert, alert_id, encode_alert
from edge._payload_evidence import Strip, Summary, encode_strip, encode_summary
from edge._pipeline import STRIP_UNITS_PER_MV, PatientPipeline, PipelineAlert, PipelineSummary
from firmware_bridge import iter_record_chunks, open_record

__all__ = ["Gateway"]

log = logging.getLogger(__name__)

_PATIENT_RE = re.compile(r"[A-Za-z0-9_-]{1,32}")
#: File name endings the watcher takes (a WFDB record is found by its .hea).
WATCH_SUFFIXES = (".hea", ".edf", ".bdf", ".ecg", ".ishne")
_END = object()


class _Worker:
    """One patient's queue, pipeline and thread."""

    def __init__(self, gateway: Gateway, patient: str) -> None:
        self.gateway = gateway
        self.patient = patient
        self.queue: queue.Queue = queue.Queue(maxsize=gateway.config.queue_chunks)
        self.pipeline: PatientPipeline | None = None
        self.source = ""
        self.last_data = time.monotonic()
        self.silent_sent = False
        self.error: str | None = None
        self.lost: str | None = None  # why an output of the current source was not accepted
        self.archive: RecordingArchive | None = None  # a device's ECG, kept for its report
        self.record_path: Path | None = None  # what the report of the current source reads
        self.thread = threading.Thread(target=self._run, name=f"holter-{patient}", daemon=True)
        self.thread.start()

    def put(self, item: object) -> None:
        """Hand an item over; blocks while the queue is full (back-pressure)."""
        while not self.gateway.stopping.is_set():
            try:
                self.queue.put(item, timeout=0.5)
                return
            except queue.Full:
                continue

    def _run(self) -> None:
        while True:
            item = self.queue.get()
            try:
                if item is None:
                    return
                self._handle(item)
            except Exception as exc:  # noqa: BLE001 - keep the patient's thread alive, say why
                self.error = one_line(exc)
                log.exception("patient %s: %s", self.patient, self.error)
            finally:
                self.queue.task_done()

    def _handle(self, item: tuple) -> None:
        what = item[0]
        if what == "start":
            _, fs_hz, n_leads, lead_names, start_ms, source, record_path = item
            self._finish()
            cfg = self.gateway.config
            self.pipeline = PatientPipeline(
                self.patient, fs_hz, n_leads, start_ms, cfg.alerts,
                cfg.lead_names(self.patient) or lead_names, cfg.summary_period_s, cfg.strip_s,
            )
            self.source, self.silent_sent, self.lost = source, False, None
            self.record_path = record_path
            if record_path is None and cfg.keep_recordings:
                self._start_archive(self.pipeline)
        elif what == "samples":
            self.last_data = time.monotonic()
            self.silent_sent = False
            self._emit(self.pipeline.feed(item[1]))
            self._archive(item[1])
        elif what == "gap":
            self.pipeline.note_gap(item[1], item[2])
        elif what == "silent":
            if self.pipeline is not None and not self.pipeline.finished:
                self._emit(self.pipeline.note_silence(item[1]))
        elif what == "end":
            done: Callable[[str | None], None] | None = item[1]
            error = None
            try:
                self._finish()
            except Exception as exc:
                error = one_line(exc)
                raise
            finally:
                if done is not None:
                    done(error or self.lost)

    def _finish(self) -> None:
        """The current recording ended: last alerts and summaries, then its 24-hour report."""
        if self.pipeline is None or self.pipeline.finished:
            return
        self._emit(self.pipeline.finish())
        path, self.record_path = self.record_path, None
        if self.archive is not None:
            path, self.archive = self.archive.close(), None
        if path is not None and self.gateway.config.reports:
            self.gateway.write_report(self.patient, path)
        self.gateway.prune_recordings()

    def _start_archive(self, pipeline: PatientPipeline) -> None:
        start = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(pipeline.start_ms / 1000))
        folder = self.gateway.config.data_dir / "recordings" / self.patient
        try:
            self.archive = RecordingArchive(folder, f"{self.patient}_{start}", pipeline.fs_hz,
                                            pipeline.lead_names, pipeline.start_ms)
        except OSError as exc:
            self.error = f"recording not kept: {one_line(exc)}"
            log.error("patient %s: %s", self.patient, self.error)

    def _archive(self, block: np.ndarray) -> None:
        if self.archive is None:
            return
        try:
            self.archive.append(block)
        except OSError as exc:  # disk full: the analysis and the alerts go on without it
            self.error = f"recording no longer kept: {one_line(exc)}"
            log.error("patient %s: %s", self.patient, self.error)
            with contextlib.suppress(OSError):
                self.archive.close()
            self.archive = None

    def _emit(self, outputs: list) -> None:
        for out in outputs:
            try:
                if isinstance(out, PipelineAlert):
                    self.gateway.send_alert(self.patient, out, self.pipeline)
                elif isinstance(out, PipelineSummary):
                    self.gateway.send_summary(self.patient, out)
            except OutboxError as exc:
                # not accepted (disk full): the source is kept for a second analysis
                self.lost = self.error = f"alert not accepted: {one_line(exc)}"
                log.error("patient %s: %s", self.patient, self.error)

    def health(self) -> dict[str, object]:
        info: dict[str, object] = {"queue": self.queue.qsize(), "source": self.source,
                                   "idle_s": round(time.monotonic() - self.last_data, 1)}
        if self.pipeline is not None:
            info.update(self.pipeline.quality())
        if self.error:
            info["error"] = self.error
        return info


class Gateway(DeviceLinks):
    """Runs the gateway described by a :class:`GatewayConfig` (see the module docstring).

    Use :meth:`start`, then :meth:`stop` (or :meth:`run_until_idle` for a batch
    of files).
    """

    def __init__(self, config: GatewayConfig) -> None:
        self.config = config
        self.stopping = threading.Event()
        self._workers: dict[str, _Worker] = {}
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._servers: list[socket.socket] = []
        self._http: ThreadingHTTPServer | None = None
        self._busy_files: set[Path] = set()
        self._open_connections = 0  # device links still being read
        self._sizes: dict[Path, tuple[int, float]] = {}
        self.counts = {"alerts": 0, "strips": 0, "summaries": 0, "files": 0, "rejected_files": 0,
                       "connections": 0, "outbox_full": 0, "reports": 0, "report_errors": 0,
                       "recordings_pruned": 0}
        self._report_lock = threading.Lock()
        self.listen_ports: list[int] = []
        self.serial_ports: dict[str, str] = {}  # port -> "open" or why it is not
        self.health_port: int | None = None
        config.data_dir.mkdir(parents=True, exist_ok=True)
        self.outbox = Outbox(config.data_dir / "outbox.sqlite",
                             max_bytes=int(config.outbox_max_mb * 2**20))
        self.publisher = Publisher(config.publisher_config(), self.outbox)

    # -- lifecycle ----------------------------------------------------------

    def start(self) -> Gateway:
        """Start the publisher, listeners, watcher, watchdog and health server."""
        self.publisher.start()
        self._start_device_inputs()
        if self.config.watch_dir is not None:
            for sub in ("", "done", "rejected", "failed"):
                (self.config.watch_dir / sub).mkdir(parents=True, exist_ok=True)
            self._spawn(self._watch_loop, name="holter-watch")
        self._spawn(self._watchdog, name="holter-watchdog")
        if self.config.health:
            self._start_health(self.config.health)
        log.info("gateway %s/%s started (listen %s, watch %s)", self.config.site,
                 self.config.gateway, self.listen_ports, self.config.watch_dir)
        return self

    def stop(self, flush_s: float = 5.0) -> None:
        """Finish the queued work, flush the outbox for up to ``flush_s``, stop every thread."""
        self.stopping.set()
        for server in self._servers:
            with contextlib.suppress(OSError):
                server.close()
        with self._lock:
            workers = list(self._workers.values())
        for w in workers:
            w.queue.put(None)
        for w in workers:
            w.thread.join(30.0)
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
        self.publisher.flush(flush_s)
        self.publisher.close()
        self.outbox.close()

    def _spawn(self, target: Callable, *args: object, name: str) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def idle(self) -> bool:
        """No device link open, no file waiting or in work, every queue empty."""
        with self._lock:
            workers = list(self._workers.values())
        if (any(w.queue.unfinished_tasks for w in workers) or self._busy_files
                or self._open_connections):
            return False
        watch = self.config.watch_dir
        return watch is None or not any(self._candidates(watch))

    # -- workers -------------------------------------------------------------

    def worker(self, patient: str) -> _Worker:
        """The patient's worker (started on first use)."""
        with self._lock:
            w = self._workers.get(patient)
            if w is None:
                w = self._workers[patient] = _Worker(self, patient)
            return w

    def send_alert(self, patient: str, out: PipelineAlert, pipeline: PatientPipeline) -> None:
        """Alert to the outbox (durable before this returns), then its strip."""
        d = out.draft
        aid = alert_id(patient, d.type, d.start_ms)

        def payload(seq: int) -> bytes:
            return encode_alert(Alert(aid, seq, patient, d.type, d.severity, d.start_ms, d.end_ms,
                                      d.nums))
        try:
            self.publisher.publish_sequenced(MessageKind.ALERT, patient, payload)
        except OutboxError:
            self.counts["outbox_full"] += 1
            raise
        self.counts["alerts"] += 1
        log.info("alert %s %s %s", patient, d.type.value, dict(d.nums))
        strip = Strip(aid, patient, out.strip_start_ms, pipeline.fs_hz, pipeline.lead_names,
                      STRIP_UNITS_PER_MV, _int16_array(out.strip_samples), out.strip_beats)
        try:
            self.publisher.publish_payload(MessageKind.STRIP, patient, encode_strip(strip))
            self.counts["strips"] += 1
        except OutboxError as exc:  # a strip may be dropped; the alert is already safe
            log.warning("patient %s: strip of %s dropped: %s", patient, aid, exc)

    def write_report(self, patient: str, record_path: Path) -> None:
        """The 24-hour report of a finished recording, in ``data_dir/reports/<patient>/<name>/``.

        One report at a time (the whole-record analysis holds a few hundred MB
        for a 24-hour recording); a failure is logged and shown in the health
        page, never a reason to lose the recording or its alerts.
        """
        name = Path(record_path).name
        out = self.config.data_dir / "reports" / patient / name
        t0 = time.monotonic()
        try:
            with self._report_lock:
                write_report(record_path, out)
        except Exception as exc:  # noqa: BLE001 - any reader/analysis error: say it, go on
            self.counts["report_errors"] += 1
            self.worker(patient).error = f"report of {name} failed: {one_line(exc)}"
            log.error("patient %s: report of %s failed: %s", patient, name, one_line(exc))
            return
        self.counts["reports"] += 1
        log.info("patient %s: 24-hour report of %s -> %s (%.1f s)", patient, name, out,
                 time.monotonic() - t0)

    def prune_recordings(self) -> None:
        """Keep the kept recordings within ``recordings_max_gb`` (oldest finished go first)."""
        folder = self.config.data_dir / "recordings"
        if not folder.is_dir():
            return
        with self._lock:
            writing = tuple(w.archive.path for w in self._workers.values() if w.archive is not None)
        for record in prune_recordings(folder, int(self.config.recordings_max_gb * 2**30), writing):
            self.counts["recordings_pruned"] += 1
            log.warning("recording %s deleted: the recordings exceed %g GB", record.name,
                        self.config.recordings_max_gb)

    def send_summary(self, patient: str, out: PipelineSummary) -> None:
        def payload(seq: int) -> bytes:
            return encode_summary(Summary(patient, out.kind, seq, out.start_ms, out.end_ms, out.num))
        try:
            self.publisher.publish_sequenced(MessageKind.SUMMARY, patient, payload)
            self.counts["summaries"] += 1
        except OutboxError as exc:
            log.warning("patient %s: %s summary dropped: %s", patient, out.kind.value, exc)

    def _watchdog(self) -> None:
        limit = self.config.alerts.device_silent_s
        while not self.stopping.wait(1.0):
            with self._lock:
                workers = list(self._workers.values())
            for w in workers:
                p = w.pipeline
                silent = time.monotonic() - w.last_data
                if (p is not None and not p.finished and w.source.startswith("device")
                        and silent >= limit and not w.silent_sent):
                    w.silent_sent = True
                    w.put(("silent", silent))

    # -- watched folder --------------------------------------------------------

    def _candidates(self, folder: Path):
        for path in sorted(folder.iterdir()):
            if path.is_file() and path.suffix.lower() in WATCH_SUFFIXES:
                yield path

    def _watch_loop(self) -> None:
        folder = self.config.watch_dir
        assert folder is not None
        while not self.stopping.is_set():
            try:
                for path in self._candidates(folder):
                    if path not in self._busy_files and self._stable(path):
                        self._take_file(path)
            except OSError as exc:
                log.error("watch folder %s: %s", folder, exc)
            self.stopping.wait(self.config.watch_poll_s)

    def _stable(self, path: Path) -> bool:
        """The file's size has not changed for ``watch_stable_s``."""
        try:
            size = path.stat().st_size
        except OSError:
            return False
        now = time.monotonic()
        seen = self._sizes.get(path)
        if seen is None or seen[0] != size:
            self._sizes[path] = (size, now)
            return self.config.watch_stable_s == 0
        return now - seen[1] >= self.config.watch_stable_s

    def _files_of(self, path: Path) -> list[Path]:
        if path.suffix.lower() == ".hea":
            return sorted(p for p in path.parent.glob(path.stem + ".*") if p.is_file())
        return [path]

    def _take_file(self, path: Path) -> None:
        stem = path.stem
        patient = stem.split("__", 1)[0]
        registered = {p.patient for p in self.config.patients}
        if not _PATIENT_RE.fullmatch(patient) or (registered and patient not in registered):
            self._reject(path, f"patient {patient!r} from the file name is not registered "
                               "(name files <patient>__<anything>.<ext>)")
            return
        record_path = path.with_suffix("") if path.suffix.lower() == ".hea" else path
        try:
            record = open_record(record_path)
        except (OSError, ValueError) as exc:
            self._reject(path, one_line(exc))
            return
        self._busy_files.add(path)
        self.counts["files"] += 1
        worker = self.worker(patient)
        start_ms = (int(record.start_time.timestamp() * 1000) if record.start_time is not None
                    else int(path.stat().st_mtime * 1000))
        log.info("file %s -> patient %s (%.0f s at %g Hz)", path.name, patient,
                 record.n_samples / record.fs_hz, record.fs_hz)
        self._spawn(self._read_file, path, record, worker, start_ms, name=f"holter-file-{stem}")

    def _read_file(self, path: Path, record, worker: _Worker, start_ms: int) -> None:
        feed = max(1, round(self.config.feed_s * record.fs_hz))
        speed = self.config.replay_speed
        t0 = time.monotonic()
        record_path = path.with_suffix("") if path.suffix.lower() == ".hea" else path
        worker.put(("start", record.fs_hz, record.n_leads, record.lead_names, start_ms, path.name,
                    record_path))
        try:
            for chunk in iter_record_chunks(record, chunk_s=60.0):
                for i in range(0, chunk.n_samples, feed):
                    if self.stopping.is_set():
                        return
                    block = np.asarray(chunk.samples[i : i + feed])
                    if speed > 0:
                        due = t0 + (chunk.start_sample + i) / record.fs_hz / speed
                        delay = due - time.monotonic()
                        if delay > 0:
                            time.sleep(delay)
                    worker.put(("samples", block))
        except (OSError, ValueError) as exc:
            log.error("file %s: %s (analysed up to the damage)", path.name, one_line(exc))

        def done(error: str | None) -> None:
            if error is None:
                self._move(path, "done")
            else:  # kept, with the reason, for a person to look at; never analysed in a loop
                self._reject(path, f"analysis failed: {error}", sub="failed")
            self._busy_files.discard(path)
        worker.put(("end", done))

    def _reject(self, path: Path, reason: str, sub: str = "rejected") -> None:
        log.error("file %s %s: %s", path.name, sub, reason)
        self.counts["rejected_files"] += 1
        self._move(path, sub)
        with contextlib.suppress(OSError):
            (path.parent / sub / (path.name + ".why")).write_text(reason + "\n")

    def _move(self, path: Path, sub: str) -> None:
        for f in self._files_of(path):
            with contextlib.suppress(OSError):
                shutil.move(str(f), str(f.parent / sub / f.name))
        self._sizes.pop(path, None)

    # -- health ------------------------------------------------------------------

    def health(self) -> dict[str, object]:
        """What ``GET /healthz`` answers (and ``holter gateway status`` prints)."""
        with self._lock:
            workers = dict(self._workers)
        return {
            "site": self.config.site,
            "gateway": self.config.gateway,
            "broker": {"connected": self.publisher.connected, "protocol": self.publisher.protocol,
                       "last_error": self.publisher.last_error},
            "outbox": {"pending": len(self.outbox), "bytes": self.outbox.size_bytes,
                       "dropped": self.outbox.dropped},
            "counts": dict(self.counts),
            "patients": {p: w.health() for p, w in sorted(workers.items())},
            "listen_ports": self.listen_ports,
            "serial_ports": dict(self.serial_ports),
        }

    def _start_health(self, address: str) -> None:
        host, port = address.rsplit(":", 1)
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                if self.path.split("?")[0] != "/healthz":
                    self.send_error(404, "try /healthz")
                    return
                body = json.dumps(gateway.health(), indent=1).encode()
                ok = gateway.publisher.connected
                self.send_response(200 if ok else 503)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._http = ThreadingHTTPServer((host, int(port)), Handler)
        self.health_port = self._http.server_address[1]
        self._spawn(self._http.serve_forever, name="holter-health")


def _int16_array(samples: np.ndarray) -> array:
    out = array("h")
    out.frombytes(np.ascontiguousarray(samples, dtype="<i2").tobytes())
    if sys.byteorder != "little":  # pragma: no cover
        out.byteswap()
    return out
