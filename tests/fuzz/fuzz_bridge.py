"""Coverage-guided fuzzing (atheris) of the bytes firmware_bridge parses.

Targets: the live frame parser (the input is split into pieces at points the
fuzzer chooses, as a socket would deliver it) and the ISHNE header parser.
Anything but the package's own typed errors (``BridgeError``) is a finding:
atheris stops and prints the input. Coverage guidance sees the Python layers
(frame and event building, header fields); the frame scanner itself is a
Numba kernel, which atheris cannot instrument, so its coverage comes from the
hypothesis tests that compare it with the pure-Python reference parser.

Run by tests/fuzz/test_fuzz_bridge.py for a few thousand inputs; for a long
session: ``python tests/fuzz/fuzz_bridge.py -runs=1000000 -max_len=8192``.
"""

from __future__ import annotations

import sys

import atheris
import numba  # noqa: F401  (heavy dependencies load first, uninstrumented)
import numpy  # noqa: F401

with atheris.instrument_imports(include=["firmware_bridge"]):
    from firmware_bridge import BridgeError, FrameParser
    from firmware_bridge._ishne_header import parse_ishne_header

#: the parser must never hold more than this between calls (its documented bound)
MAX_BUFFERED_BYTES = 1 << 20


def test_one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    target = fdp.ConsumeIntInRange(0, 1)
    payload = fdp.ConsumeBytes(fdp.remaining_bytes())
    if target == 0:
        parser = FrameParser()
        pos = 0
        step = 1 + (len(payload) % 97)
        try:
            while pos < len(payload):
                parser.feed(payload[pos:pos + step])
                pos += step
                if len(parser._buf) > MAX_BUFFERED_BYTES:
                    raise AssertionError(f"parser buffers {len(parser._buf)} bytes")
        except BridgeError:
            pass
    else:
        try:
            parse_ishne_header(payload, file_bytes=len(payload))
        except BridgeError:
            pass


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
