"""The gateway end to end against real Mosquitto brokers: files and devices in, alerts out.

The reference for "every alert, exactly once" is the patient pipeline run
directly on the same record (same start time, same feed step): the gateway
must deliver exactly that set of alert ids (after dedupe by id), whatever
happens to the broker, the link or the gateway process in between.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from mqtt_support import Subscriber, free_port

from edge._config import load_config
from edge._gateway import Gateway
from edge._outbox import MessageKind
from edge._payload import alert_id, decode_alert
from edge._payload_evidence import SummaryKind, decode_strip, decode_summary
from edge._pipeline import PatientPipeline, PipelineAlert
from edge._report_json import load_schema
from firmware_bridge import iter_record_chunks, open_record
from firmware_bridge._simulate import device_frames

REPO = Path(__file__).resolve().parents[2]
SAMPLE_203 = REPO / "data" / "sample" / "203"


def _site() -> str:
    return "g" + uuid.uuid4().hex[:12]


def _drop_record(folder: Path, patient: str, record: Path = SAMPLE_203) -> Path:
    """Copy a WFDB record into the watched folder as <patient>__<name>; returns the .hea."""
    name = f"{patient}__{record.name}"
    shutil.copy(record.with_suffix(".dat"), folder / f"{name}.dat")
    header = record.with_suffix(".hea").read_text().splitlines()
    header[0] = header[0].replace(record.name, name, 1)
    header = [line.replace(f"{record.name}.dat", f"{name}.dat") for line in header]
    hea = folder / f"{name}.hea"
    hea.write_text("\n".join(header) + "\n")
    return hea


def _reference_ids(hea: Path, patient: str, start_ms: int, feed_s: float = 1.0) -> set[str]:
    record = open_record(hea.with_suffix(""))
    pipe = PatientPipeline(patient, record.fs_hz, record.n_leads, start_ms)
    feed = round(feed_s * record.fs_hz)
    out = []
    for chunk in iter_record_chunks(record, chunk_s=60.0):
        for i in range(0, chunk.n_samples, feed):
            out += pipe.feed(np.asarray(chunk.samples[i : i + feed]))
    out += pipe.finish()
    return {alert_id(patient, o.draft.type, o.draft.start_ms) for o in out
            if isinstance(o, PipelineAlert)}


def _valid_report(folder: Path) -> dict:
    """report.json of `folder`, checked against its schema, beside a report.html."""
    assert (folder / "report.html").stat().st_size > 10_000
    document = json.loads((folder / "report.json").read_text())
    jsonschema.Draft202012Validator(load_schema()).validate(document)
    return document


def _config(tmp_path: Path, port: int, site: str, extra: str = "", patients: str = "",
            reports: bool = False) -> Path:
    """A gateway config; the 24-hour reports (a whole-record analysis each) only when asked."""
    (tmp_path / "in").mkdir(exist_ok=True)
    text = (
        f'[gateway]\nsite = "{site}"\nid = "gw1"\ndata_dir = "data"\nhealth = "127.0.0.1:0"\n'
        f"reports = {str(reports).lower()}\n"
        f'[broker]\nurl = "mqtt://127.0.0.1:{port}"\n'
        f'[inputs]\nwatch_dir = "in"\nwatch_poll_s = 0.1\nwatch_stable_s = 0.1\n{extra}'
        f"{patients}"
    )
    path = tmp_path / "gw.toml"
    path.write_text(text)
    return path


def _wait(condition, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _run_until_idle(gateway: Gateway, timeout_s: float = 300.0) -> None:
    time.sleep(0.5)
    _wait(lambda: gateway.idle() and len(gateway.outbox) == 0, timeout_s, "the gateway to finish")


class TestWatchedFolder:
    def test_a_recording_gives_exactly_the_pipelines_alerts_with_strips_and_summaries(
            self, broker_port, tmp_path):
        site = _site()
        sub = Subscriber(broker_port, site)
        config = load_config(_config(tmp_path, broker_port, site, reports=True))
        hea = _drop_record(tmp_path / "in", "p203")
        start_ms = int(hea.stat().st_mtime * 1000)
        gateway = Gateway(config).start()
        try:
            _run_until_idle(gateway)
            health = gateway.health()
        finally:
            gateway.stop()
        expected = _reference_ids(hea.parent / "done" / hea.name, "p203", start_ms)
        got = sub.wait_for(len(expected))
        time.sleep(0.5)
        messages = list(sub.messages)
        sub.close()
        assert {a.id for a in got} == expected
        types = {a.type.value for a in got}
        assert {"af_onset", "af_offset", "nsvt", "pause"} <= types
        strips = [decode_strip(m.payload) for m in messages if m.topic.endswith("/strip")]
        assert {s.alert_id for s in strips} == expected
        for strip in strips:
            assert strip.n_samples == 3600 and strip.leads == ("MLII", "V1") and strip.beats
        summaries = [decode_summary(m.payload) for m in messages if m.topic.endswith("/summary")]
        assert [s.kind for s in summaries] == [SummaryKind.HOURLY, SummaryKind.RECORDING]
        recording = summaries[-1].num
        assert recording["beats"] > 2500 and recording["alerts"] == len(expected)
        # one sequence for alerts and summaries, no gaps
        seqs = sorted([a.seq for a in got] + [s.seq for s in summaries])
        assert seqs == list(range(1, len(seqs) + 1))
        assert (tmp_path / "in" / "done" / hea.name).exists()
        assert health["patients"]["p203"]["beats"] > 2500
        # the recording's 24-hour report, as holter analyze writes it
        report = _valid_report(tmp_path / "data" / "reports" / "p203" / "p203__203")
        assert abs(report["beats"]["n_beats"] - recording["beats"]) <= 2
        assert health["counts"]["reports"] == 1 and health["counts"]["report_errors"] == 0

    def test_an_unregistered_patient_file_is_rejected_with_the_reason(self, broker_port,
                                                                       tmp_path):
        site = _site()
        config = load_config(_config(tmp_path, broker_port, site,
                                     patients='[[patients]]\nid = "p1"\n'))
        hea = _drop_record(tmp_path / "in", "stranger")
        gateway = Gateway(config).start()
        try:
            _wait(lambda: (tmp_path / "in" / "rejected" / hea.name).exists(), 10, "rejection")
        finally:
            gateway.stop()
        why = (tmp_path / "in" / "rejected" / (hea.name + ".why")).read_text()
        assert "'stranger'" in why and "not registered" in why


class TestLiveDevice:
    def test_a_device_over_tcp_raises_alerts_and_shows_in_health(self, broker_port, tmp_path):
        site = _site()
        sub = Subscriber(broker_port, site)
        port = free_port()
        path = _config(tmp_path, broker_port, site,
                       extra=f'listen = ["tcp://127.0.0.1:{port}"]\n',
                       patients='[alerts]\ngap_min_s = 0.1\n[[patients]]\nid = "p9"\ndevice = 9\n')
        gateway = Gateway(load_config(path)).start()
        try:
            sim = subprocess.run(
                [sys.executable, "-m", "holter", "simulate-device", str(SAMPLE_203),
                 "--to", f"tcp://127.0.0.1:{port}", "--speed", "0", "--device-id", "9",
                 "--drop", "0.002", "--seed", "3"],
                capture_output=True, text=True, timeout=120)
            assert sim.returncode == 0, sim.stderr
            _run_until_idle(gateway)
            health = gateway.health()
        finally:
            gateway.stop()
        got = sub.wait_for(4)
        sub.close()
        types = {a.type.value for a in got}
        assert {"af_onset", "nsvt"} <= types
        assert "stream_gap" in types  # the dropped frames
        assert health["patients"]["p9"]["source"] == "device 9"
        assert health["counts"]["connections"] == 1
        # the device's ECG was kept as it arrived (lost frames as invalid samples); its
        # report is checked in TestSerialDevice (shorter streams), reports are off here
        (kept,) = (tmp_path / "data" / "recordings" / "p9").glob("*.hea")
        record = open_record(kept.with_suffix(""))
        source = open_record(SAMPLE_203)
        assert record.n_samples == source.n_samples and record.fs_hz == source.fs_hz
        assert health["counts"]["reports"] == 0


class TestSerialDevice:
    def test_streams_over_a_serial_port_give_their_alerts_recordings_and_reports(
            self, broker_port, tmp_path):
        pytest.importorskip("serial", reason="pyserial (the serial extra, in dev) is not installed")
        master, slave = os.openpty()  # a real tty: the gateway opens its other end with pyserial
        port_name = os.ttyname(slave)
        site = _site()
        sub = Subscriber(broker_port, site)
        path = _config(tmp_path, broker_port, site,
                       extra=f'listen = ["serial://{port_name}?baud=115200"]\n',
                       patients='[[patients]]\nid = "p9"\ndevice = 9\n', reports=True)
        record = open_record(SAMPLE_203)
        chunks = [c for c in iter_record_chunks(record, chunk_s=60.0)][:3]  # 180 s
        frames = b"".join(f for _, f in device_frames(record, chunks, device_id=9))
        gateway = Gateway(load_config(path)).start()
        try:
            for stream in range(2):  # one stream after the other on the same port
                view = memoryview(frames)
                while view:
                    view = view[os.write(master, view[:4096]):]
                _wait(lambda n=stream + 1: gateway.counts["reports"] == n, 120,
                      f"report {stream + 1}")
            health = gateway.health()
        finally:
            gateway.stop()
            os.close(master)
            os.close(slave)
        got = sub.wait_for(2)
        sub.close()
        assert {"af_onset", "nsvt"} <= {a.type.value for a in got}
        assert health["patients"]["p9"]["source"] == "device 9"
        assert health["serial_ports"] == {port_name: "open"}
        kept = sorted((tmp_path / "data" / "recordings" / "p9").glob("*.hea"))
        assert len(kept) in (1, 2)  # two streams in the same second share a name
        for hea in kept:
            assert open_record(hea.with_suffix("")).n_samples == 180 * 360
            assert _valid_report(tmp_path / "data" / "reports" / "p9" / hea.stem)["beats"][
                "n_beats"] > 150


def _gateway_process(config: Path, *extra: str, capture: bool = True) -> subprocess.Popen:
    out = subprocess.PIPE if capture else subprocess.DEVNULL
    return subprocess.Popen([sys.executable, "-m", "holter", "gateway", "--config", str(config),
                             *extra], stdout=out, stderr=subprocess.STDOUT, text=True, cwd=REPO)


@pytest.mark.slow
class TestChaos:
    def test_broker_down_for_60_s_mid_recording(self, private_broker, tmp_path):
        site = _site()
        private_broker.start()
        Subscriber(private_broker.port, site).close()  # its session queues for it
        config = load_config(_config(tmp_path, private_broker.port, site,
                                     extra="replay_speed = 120\n"))
        hea = _drop_record(tmp_path / "in", "p203")
        start_ms = int(hea.stat().st_mtime * 1000)
        gateway = Gateway(config).start()
        try:
            _wait(lambda: gateway.counts["alerts"] >= 1, 60, "a first alert")
            private_broker.stop()
            outage_end = time.monotonic() + 60
            _wait(lambda: not gateway.publisher.connected, 10, "the gateway to notice")
            while time.monotonic() < outage_end:
                time.sleep(0.5)
            assert len(gateway.outbox) > 0  # what it raised meanwhile waits on disk
            private_broker.start()
            _run_until_idle(gateway, timeout_s=120)
        finally:
            gateway.stop()
        expected = _reference_ids(tmp_path / "in" / "done" / hea.name, "p203", start_ms)
        sub = Subscriber(private_broker.port, site)
        got = sub.wait_for(len(expected))
        sub.close()
        assert {a.id for a in got} == expected

    def test_gateway_killed_with_sigkill_and_restarted(self, broker_port, tmp_path):
        site = _site()
        sub = Subscriber(broker_port, site)
        config = _config(tmp_path, broker_port, site, extra="replay_speed = 90\n")
        hea = _drop_record(tmp_path / "in", "p203")
        start_ms = int(hea.stat().st_mtime * 1000)
        proc = _gateway_process(config, capture=False)
        try:
            _wait(lambda: len(sub.alerts()) >= 2, 90, "the first alerts")
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
        finally:
            if proc.poll() is None:
                proc.kill()
        before = {a.id for a in sub.alerts()}
        assert (tmp_path / "in" / hea.name).exists()  # not done: analysed again
        config.write_text(config.read_text().replace("replay_speed = 90", "replay_speed = 0"))
        again = _gateway_process(config, "--once", "--timeout", "150")
        out, _ = again.communicate(timeout=180)
        assert again.returncode == 0, out
        expected = _reference_ids(tmp_path / "in" / "done" / hea.name, "p203", start_ms)
        got = sub.wait_for(len(expected))
        sub.close()
        assert before < expected
        assert {a.id for a in got} == expected

    def test_connection_cut_by_a_proxy(self, broker_port, tmp_path):
        site = _site()
        sub = Subscriber(broker_port, site)
        proxy = _CuttingProxy(broker_port)
        config = load_config(_config(tmp_path, proxy.port, site, extra="replay_speed = 200\n"))
        hea = _drop_record(tmp_path / "in", "p203")
        start_ms = int(hea.stat().st_mtime * 1000)
        gateway = Gateway(config).start()
        try:
            for _ in range(4):  # cut every link a few times while alerts flow
                time.sleep(1.5)
                proxy.cut()
            _run_until_idle(gateway, timeout_s=120)
        finally:
            gateway.stop()
            proxy.close()
        expected = _reference_ids(tmp_path / "in" / "done" / hea.name, "p203", start_ms)
        got = sub.wait_for(len(expected))
        sub.close()
        assert proxy.cuts >= 1
        assert {a.id for a in got} == expected


class _CuttingProxy:
    """A TCP proxy to the broker whose open links can be cut (RST) on demand."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.links: list[socket.socket] = []
        self.cuts = 0
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            with self._lock:
                self.links += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.close()
            except OSError:
                pass

    def cut(self) -> None:
        with self._lock:
            links, self.links = self.links, []
        if links:
            self.cuts += 1
        for s in links:
            try:
                s.shutdown(socket.SHUT_RDWR)
                s.close()
            except OSError:
                pass

    def close(self) -> None:
        self.server.close()
        self.cut()


class TestFullDisk:
    def test_a_full_disk_keeps_what_was_accepted_and_the_recording(self, private_broker,
                                                                    tmp_path):
        if os.geteuid() != 0:
            pytest.skip("mounting a small tmpfs needs root")
        disk = tmp_path / "disk"
        disk.mkdir()
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=200k", "tmpfs", str(disk)],
                                 capture_output=True, text=True)
        if mounted.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
        try:
            site = _site()
            private_broker.start()
            Subscriber(private_broker.port, site).close()
            private_broker.stop()  # nothing leaves: the outbox must fill the disk
            text = _config(tmp_path, private_broker.port, site).read_text()
            path = tmp_path / "gw.toml"
            path.write_text(text.replace('data_dir = "data"', f'data_dir = "{disk}"'))
            hea = _drop_record(tmp_path / "in", "p203")
            gateway = Gateway(load_config(path)).start()
            try:
                _wait(lambda: (tmp_path / "in" / "failed" / hea.name).exists()
                      or (tmp_path / "in" / "done" / hea.name).exists(), 120, "the file")
                kept = {decode_alert(e.payload).id for e in gateway.outbox.pending(100_000)
                        if e.kind is MessageKind.ALERT}
                errors = {p: w.get("error") for p, w in gateway.health()["patients"].items()}
            finally:
                gateway.stop(flush_s=0)
            # the disk filled: the recording is kept for a second analysis, with the reason
            assert (tmp_path / "in" / "failed" / hea.name).exists()
            why = (tmp_path / "in" / "failed" / (hea.name + ".why")).read_text()
            assert "not accepted" in why
            assert "not accepted" in (errors["p203"] or "")
            # an operator makes room (tmpfs grows, data kept); what was accepted goes out
            subprocess.run(["mount", "-o", "remount,size=8m", str(disk)], check=True)
            private_broker.start()
            gateway = Gateway(load_config(path)).start()
            try:
                _wait(lambda: len(gateway.outbox) == 0, 30, "the outbox to drain")
            finally:
                gateway.stop()
            sub = Subscriber(private_broker.port, site)
            got = sub.wait_for(len(kept))
            sub.close()
            assert kept and {a.id for a in got} == kept
        finally:
            subprocess.run(["umount", str(disk)], capture_output=True)
