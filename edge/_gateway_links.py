"""The gateway's device inputs: TCP listeners and serial ports speaking the frame protocol.

Each ``[inputs] listen`` entry is either ``tcp://HOST:PORT`` (one thread
accepts connections, one thread per connection reads it) or
``serial:///dev/ttyUSB0?baud=115200`` (one thread owns the port, reopening it
after an error, e.g. a device unplugged). Both feed the same link loop:
frame parser (:class:`firmware_bridge.FrameParser`) -> stream assembler (lost
frames become NaN and a ``gap`` item) -> the patient's worker queue. A
serial port carries one stream after another: after a device's end of
stream the next start frame begins a new recording. The device id of the
first frame must be in the registry; an unknown device is refused (its TCP
connection closed; on a serial port its frames are dropped until the port is
reopened).

:class:`DeviceLinks` is a part of :class:`edge._gateway.Gateway` (a mixin:
it uses the gateway's config, stopping event, workers and counters).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import time
from collections.abc import Callable

import numpy as np

from firmware_bridge import FrameParser, Gap, Restart, StreamAssembler, parse_endpoint

__all__ = ["DeviceLinks"]

log = logging.getLogger("edge._gateway")

#: Seconds between attempts to reopen a serial port that failed or is missing.
SERIAL_RETRY_S = 2.0


class DeviceLinks:
    """TCP and serial device inputs of the gateway (mixed into ``Gateway``)."""

    def _start_device_inputs(self) -> None:
        for url in self.config.listen:
            endpoint = parse_endpoint(url)
            if endpoint.kind == "tcp":
                server = socket.create_server((endpoint.host, endpoint.port))
                server.settimeout(0.5)
                self._servers.append(server)
                self.listen_ports.append(server.getsockname()[1])
                self._spawn(self._accept_loop, server, name=f"holter-listen-{endpoint.port}")
            else:
                self._spawn(self._serial_loop, endpoint, name=f"holter-serial-{endpoint.path}")

    # -- TCP -------------------------------------------------------------------

    def _accept_loop(self, server: socket.socket) -> None:
        while not self.stopping.is_set():
            try:
                conn, peer = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.counts["connections"] += 1
            with self._lock:
                self._open_connections += 1
            self._spawn(self._connection, conn, peer, name=f"holter-conn-{peer[1]}")

    def _connection(self, conn: socket.socket, peer: tuple) -> None:
        conn.settimeout(1.0)

        def read() -> bytes | None:
            try:
                return conn.recv(65536)  # b"": the device closed the connection
            except TimeoutError:
                return None

        try:
            self._link(read, str(peer))
        except OSError as exc:
            log.warning("device at %s: connection lost: %s", peer, exc)
        finally:
            with contextlib.suppress(OSError):
                conn.close()
            with self._lock:
                self._open_connections -= 1

    # -- serial ----------------------------------------------------------------

    def _serial_loop(self, endpoint) -> None:
        """Own one serial port while the gateway runs; reopen it after an error."""
        name = endpoint.path
        try:
            import serial
        except ImportError:
            self.serial_ports[name] = "pyserial missing: pip install 'holter-edge[serial]'"
            log.error("serial port %s: %s", name, self.serial_ports[name])
            return
        while not self.stopping.is_set():
            try:
                with serial.Serial(name, endpoint.baud, timeout=0.5) as port:
                    log.info("serial port %s open at %d baud", name, endpoint.baud)
                    self.serial_ports[name] = "open"
                    self.counts["connections"] += 1
                    # b"" is only a read timeout on a serial port, never its end
                    self._link(lambda: port.read(max(1, port.in_waiting)) or None, name)
            except (OSError, serial.SerialException) as exc:
                why = " ".join(str(exc).split())
                if self.serial_ports.get(name) != why:  # said once, not every retry
                    log.warning("serial port %s: %s (retrying every %g s)", name, why,
                                SERIAL_RETRY_S)
                self.serial_ports[name] = why
            self.stopping.wait(SERIAL_RETRY_S)

    # -- frames -> workers -----------------------------------------------------

    def _link(self, read: Callable[[], bytes | None], peer: str) -> None:
        """Parse what `read` returns (None: nothing yet; b"": the link closed) until the end."""
        parser = FrameParser()
        assembler: StreamAssembler | None = None
        worker = None
        try:
            while not self.stopping.is_set():
                data = read()
                if data is None:
                    continue
                if not data:
                    break
                for item in parser.feed(data):
                    assembler, worker = self._device_item(item, assembler, worker, peer)
                    if worker is None and assembler is not None and assembler.device_id is not None:
                        return  # unknown device: refused
                    if assembler is not None and assembler.ended:
                        worker.put(("end", None))  # a new stream may follow on the same link
                        assembler, worker = None, None
            for item in parser.finish():
                assembler, worker = self._device_item(item, assembler, worker, peer)
        finally:
            if worker is not None and assembler is not None and assembler.ended:
                worker.put(("end", None))

    def _device_item(self, item, assembler, worker, peer):
        if assembler is None:
            device = getattr(item, "device_id", None)
            if device is None:
                return None, None
            patient = self.config.patient_for_device(int(device))
            if patient is None:
                log.error("device %s at %s is not in the registry; refused", device, peer)
                assembler = StreamAssembler(device_id=int(device))
                return assembler, None
            assembler = StreamAssembler(device_id=int(device))
            worker = self.worker(patient)
        if isinstance(item, Gap) and item.device_id == assembler.device_id:
            worker.put(("gap", assembler.next_sample, item.missing_samples))
        for chunk in assembler.push(item):
            if chunk.start_sample == 0:
                worker.put(("start", chunk.fs_hz, chunk.n_leads, chunk.lead_names,
                            int(time.time() * 1000), f"device {assembler.device_id}", None))
            worker.put(("samples", np.asarray(chunk.samples)))
        if isinstance(item, Restart):
            log.warning("device %s restarted its sequence", assembler.device_id)
        return assembler, worker
