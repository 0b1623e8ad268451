"""The strip and summary codec: round trip, compression, strict typed errors."""

from __future__ import annotations

import math
import random
import subprocess
import sys
import zlib
from array import array

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge import (
    STRIP_MAX_BYTES,
    AlertType,
    MalformedPayloadError,
    PayloadError,
    PayloadTooLargeError,
    Strip,
    Summary,
    SummaryKind,
    alert_id,
    decode_strip,
    decode_summary,
    encode_strip,
    encode_summary,
)

START_MS = 1_700_000_000_000
FS_HZ = 360.0


def _ecg_like(n: int, n_leads: int) -> array:
    """Interleaved int16 samples: a smooth wave per lead (µV)."""
    values = []
    for i in range(n):
        for lead in range(n_leads):
            values.append(int(800 * math.sin(2 * math.pi * 1.2 * i / FS_HZ + lead)))
    return array("h", values)


def _strip(**over) -> Strip:
    fields = dict(
        alert_id=alert_id("p01", AlertType.VT, START_MS), patient="p01", start_ms=START_MS,
        fs_hz=FS_HZ, leads=("MLII", "V5"), units_per_mv=1000,
        samples=_ecg_like(3600, 2), beats=((10, "N"), (400, "V"), (700, "V")),
    )
    fields.update(over)
    return Strip(**fields)


class TestStrip:
    def test_round_trip_is_exact(self):
        strip = _strip()
        back = decode_strip(encode_strip(strip))
        assert back == strip
        assert back.n_samples == 3600
        assert back.lead_mv(1)[0] == pytest.approx(math.sin(1.0) * 0.8, abs=1e-3)

    def test_ten_seconds_of_two_leads_compress_below_raw(self):
        data = encode_strip(_strip())
        assert len(data) < 3600 * 2 * 2 / 2  # under half the raw int16 size

    def test_extreme_jumps_wrap_and_come_back(self):
        samples = array("h", [32767, -32768, -32768, 32767] * 50)
        strip = _strip(samples=samples, leads=("I",), beats=())
        assert decode_strip(encode_strip(strip)).samples == samples

    def test_samples_must_split_into_leads(self):
        with pytest.raises(MalformedPayloadError, match="do not split"):
            _strip(samples=array("h", [1, 2, 3]))

    def test_beat_outside_strip(self):
        with pytest.raises(MalformedPayloadError, match="beat offset"):
            _strip(beats=((3600, "N"),))

    def test_unknown_beat_symbol(self):
        with pytest.raises(MalformedPayloadError, match="beat symbol"):
            _strip(beats=((1, "X"),))

    def test_too_large(self):
        rng = random.Random(1)
        noise = array("h", [rng.randint(-32768, 32767) for _ in range(60_000 * 12)])
        with pytest.raises(PayloadTooLargeError, match="limit"):
            encode_strip(_strip(samples=noise, leads=tuple(f"L{i}" for i in range(12)), beats=()))

    def test_ecg_length_must_match_n(self):
        obj = cbor2.loads(encode_strip(_strip()))
        obj["n"] = 3599
        with pytest.raises(MalformedPayloadError, match="need"):
            decode_strip(cbor2.dumps(obj))

    def test_zip_bomb_is_refused(self):
        obj = cbor2.loads(encode_strip(_strip()))
        obj["ecg"] = zlib.compress(bytes(10_000_000))
        with pytest.raises(MalformedPayloadError, match="need"):
            decode_strip(cbor2.dumps(obj))

    def test_oversized_payload_is_refused_before_decoding(self):
        with pytest.raises(PayloadTooLargeError):
            decode_strip(bytes(STRIP_MAX_BYTES + 1))

    @settings(max_examples=200, deadline=None)
    @given(position=st.integers(0, 10**6), value=st.integers(0, 255))
    def test_corrupted_strip_raises_only_payload_errors(self, position, value):
        data = bytearray(encode_strip(_strip(samples=_ecg_like(100, 2), beats=((1, "N"),))))
        data[position % len(data)] = value
        try:
            decode_strip(bytes(data))
        except PayloadError:
            pass


class TestSummary:
    def test_round_trip(self):
        summary = Summary("p01", SummaryKind.HOURLY, 12, START_MS, START_MS + 3_600_000,
                          {"hr_mean_bpm": 71.5, "beats": 4290, "v_beats": 3})
        assert decode_summary(encode_summary(summary)) == summary

    def test_unknown_kind(self):
        with pytest.raises(MalformedPayloadError, match="SummaryKind"):
            Summary("p01", "weekly", 1, 0, 1)

    def test_end_before_start(self):
        with pytest.raises(MalformedPayloadError, match="end"):
            Summary("p01", SummaryKind.HOURLY, 1, 10, 9)

    def test_too_many_numbers(self):
        with pytest.raises(MalformedPayloadError, match="at most 48"):
            Summary("p01", SummaryKind.RECORDING, 1, 0, 1, {f"n{i}": i for i in range(49)})

    @settings(max_examples=300, deadline=None)
    @given(data=st.binary(max_size=300))
    def test_random_bytes_raise_only_payload_errors(self, data):
        for decode in (decode_summary, decode_strip):
            try:
                decode(data)
            except PayloadError:
                pass


def test_importing_the_evidence_codec_loads_no_numeric_stack():
    code = (
        "import sys; from edge._payload_evidence import decode_strip; "
        "heavy = sorted(m for m in ('numpy', 'numba', 'scipy', 'dsp', 'models', "
        "'firmware_bridge', 'paho', 'sqlite3') if m in sys.modules); print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
