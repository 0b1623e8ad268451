"""Thin byte transports around the frame parser: TCP, serial port, stdin/stdout, file.

A URL names each end:

- ``tcp://HOST:PORT``: the gateway listens (one device connection at a
  time); the device (simulator) connects;
- ``serial:///dev/ttyUSB0?baud=115200``: a serial port (needs the optional
  ``pyserial``: ``pip install 'holter-edge[serial]'``);
- ``-``: standard input (gateway) or standard output (device);
- anything else: a file path (raw frame bytes).
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import parse_qs, urlsplit

from firmware_bridge._exceptions import SourceError
from firmware_bridge._frames import Duplicate, Frame, FrameParser, Gap, Restart, Resync

__all__ = ["ByteSink", "Endpoint", "TcpListener", "iter_frames", "open_sink", "open_source", "parse_endpoint"]

READ_BYTES = 65536


@dataclass(frozen=True)
class Endpoint:
    """A parsed URL: ``kind`` is "tcp", "serial", "std" or "file"."""

    kind: str
    host: str = ""
    port: int = 0
    path: str = ""
    baud: int = 115200


def parse_endpoint(url: str) -> Endpoint:
    """Parse a source/target URL (see the module docstring).

    Raises
    ------
    SourceError
        A malformed ``tcp://`` or ``serial://`` URL (the message names it).
    """
    if url in ("-", "stdin", "stdout"):
        return Endpoint("std")
    if url.startswith("tcp://"):
        parts = urlsplit(url)
        try:
            port = parts.port
        except ValueError as exc:
            raise SourceError(f"bad TCP address {url!r}: {exc}") from exc
        if not parts.hostname or port is None:
            raise SourceError(f"bad TCP address {url!r}: expected tcp://HOST:PORT")
        return Endpoint("tcp", host=parts.hostname, port=port)
    if url.startswith("serial://"):
        parts = urlsplit(url)
        device = parts.path or parts.netloc
        if not device:
            raise SourceError(f"bad serial port {url!r}: expected serial:///dev/ttyUSB0")
        try:
            baud = int(parse_qs(parts.query).get("baud", ["115200"])[0])
        except ValueError as exc:
            raise SourceError(f"bad baud rate in {url!r}") from exc
        return Endpoint("serial", path=device, baud=baud)
    if "://" in url:
        raise SourceError(f"unknown scheme in {url!r} (use tcp://, serial://, - or a file path)")
    return Endpoint("file", path=url)


class TcpListener:
    """Listen on HOST:PORT (port 0: any free port, see :attr:`port`) and
    yield the bytes of the first connection until the device closes it."""

    def __init__(self, host: str, port: int, accept_timeout_s: float | None = None) -> None:
        self._sock = socket.create_server((host, port))
        self._sock.settimeout(accept_timeout_s)
        self.port = self._sock.getsockname()[1]

    def __iter__(self) -> Iterator[bytes]:
        try:
            try:
                conn, _ = self._sock.accept()
            except TimeoutError as exc:
                raise TimeoutError(f"no device connected to port {self.port} in time") from exc
            with conn:
                while data := conn.recv(READ_BYTES):
                    yield data
        finally:
            self._sock.close()

    def close(self) -> None:
        """Stop listening."""
        self._sock.close()


def _iter_file(f: BinaryIO) -> Iterator[bytes]:
    read = getattr(f, "read1", f.read)
    while data := read(READ_BYTES):
        yield data


def _iter_serial(endpoint: Endpoint) -> Iterator[bytes]:
    try:
        import serial
    except ImportError as exc:
        raise SourceError("serial ports need pyserial: pip install 'holter-edge[serial]'") from exc
    with serial.Serial(endpoint.path, endpoint.baud, timeout=1.0) as port:
        while True:
            data = port.read(max(1, port.in_waiting))
            if data:
                yield data


def open_source(url: str, accept_timeout_s: float | None = None) -> Iterator[bytes] | TcpListener:
    """An iterable of received byte blocks for `url` (gateway side)."""
    endpoint = parse_endpoint(url)
    if endpoint.kind == "tcp":
        return TcpListener(endpoint.host, endpoint.port, accept_timeout_s)
    if endpoint.kind == "serial":
        return _iter_serial(endpoint)
    if endpoint.kind == "std":
        return _iter_file(sys.stdin.buffer)
    path = Path(endpoint.path)
    if not path.is_file():
        raise FileNotFoundError(f"no frame file at {path}")

    def from_file() -> Iterator[bytes]:
        with path.open("rb") as f:
            yield from _iter_file(f)

    return from_file()


class ByteSink:
    """Where a device writes its frames (TCP connection, stdout or file)."""

    def __init__(self, write, close) -> None:  # noqa: ANN001
        self.write, self._close = write, close

    def close(self) -> None:
        """Flush and close."""
        self._close()

    def __enter__(self) -> ByteSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_sink(url: str, connect_timeout_s: float = 10.0) -> ByteSink:
    """Open the device side of `url` for writing frames."""
    endpoint = parse_endpoint(url)
    if endpoint.kind == "tcp":
        sock = socket.create_connection((endpoint.host, endpoint.port), timeout=connect_timeout_s)
        sock.settimeout(None)
        return ByteSink(sock.sendall, sock.close)
    if endpoint.kind == "std":
        out = sys.stdout.buffer
        return ByteSink(out.write, out.flush)
    if endpoint.kind == "serial":
        try:
            import serial
        except ImportError as exc:
            raise SourceError("serial ports need pyserial: pip install 'holter-edge[serial]'") from exc
        port = serial.Serial(endpoint.path, endpoint.baud)
        return ByteSink(port.write, port.close)
    f = Path(endpoint.path).open("wb")
    return ByteSink(f.write, f.close)


def iter_frames(
    blocks: Iterator[bytes] | TcpListener, parser: FrameParser | None = None
) -> Iterator[Frame | Resync | Gap | Duplicate | Restart]:
    """Run received byte blocks through a parser; yields frames and events in order."""
    parser = parser or FrameParser()
    for block in blocks:
        yield from parser.feed(block)
    yield from parser.finish()
