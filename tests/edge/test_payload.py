"""The alert payload codec: round trip, the 256-byte bound, strict typed errors."""

from __future__ import annotations

import subprocess
import sys

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge import (
    ALERT_MAX_BYTES,
    Alert,
    AlertType,
    GatewayState,
    MalformedPayloadError,
    PayloadError,
    PayloadTooLargeError,
    Severity,
    Status,
    UnsupportedSchemaError,
    alert_id,
    decode_alert,
    decode_status,
    encode_alert,
    encode_status,
)

START_MS = 1_700_000_000_000
#: the longest patient id the codec accepts
LONG_PATIENT = "p" * 32


def _alert(**over):
    fields = dict(
        id=alert_id("p01", AlertType.NSVT, START_MS), seq=7, patient="p01",
        type=AlertType.NSVT, severity=Severity.WARNING, start_ms=START_MS,
        end_ms=START_MS + 2_500, num={"hr_bpm": 172.5, "beats": 6},
    )
    fields.update(over)
    return Alert(**fields)


def _worst_case_alert(alert_type, patient=LONG_PATIENT, n_numbers=4):
    """2**40-th alert of a day-long event with float64 numbers named 12 characters."""
    numbers = {"hr_bpm_12345": 187.123, "duration_ms1": 86_400_000.5, "qrs_width_ms": 142.77,
               "confidence12": 0.973, "burden_pct12": 33.3333, "max_run_beat": 1234.5}
    return Alert(
        id=alert_id(patient, alert_type, START_MS), seq=2**40, patient=patient,
        type=alert_type, severity=Severity.CRITICAL, start_ms=START_MS,
        end_ms=START_MS + 86_400_000, num=dict(list(numbers.items())[:n_numbers]),
    )


class TestRoundTrip:
    def test_alert_round_trips(self):
        alert = _alert()
        assert decode_alert(encode_alert(alert)) == alert

    def test_wire_keys_are_the_contract(self):
        wire = cbor2.loads(encode_alert(_alert()))
        assert set(wire) == {"v", "id", "seq", "patient", "type", "severity", "start", "end", "num"}
        assert wire["v"] == 1 and wire["type"] == "nsvt" and wire["start"] == START_MS

    def test_encoding_is_deterministic(self):
        a = _alert(num={"b": 1, "a": 2.0})
        b = _alert(num={"a": 2.0, "b": 1})
        assert encode_alert(a) == encode_alert(b)

    def test_id_is_stable_and_distinguishes_events(self):
        assert alert_id("p01", "vt", START_MS) == alert_id("p01", AlertType.VT, START_MS)
        ids = {alert_id(p, t, s) for p in ("p01", "p02") for t in AlertType for s in (0, 1)}
        assert len(ids) == 2 * len(AlertType) * 2

    def test_status_round_trips(self):
        status = Status(gateway="gw-1", state=GatewayState.OFFLINE, ts_ms=START_MS)
        assert decode_status(encode_status(status)) == status

    @settings(max_examples=200, deadline=None)
    @given(
        seq=st.integers(0, 2**63 - 1),
        start=st.integers(0, 2**53 - 10**6),
        length=st.integers(0, 10**6),
        num=st.dictionaries(
            st.from_regex(r"[a-z0-9_]{1,8}", fullmatch=True),
            st.one_of(st.integers(-(2**31), 2**31), st.floats(allow_nan=False, allow_infinity=False)),
            max_size=4,
        ),
    )
    def test_any_valid_alert_round_trips(self, seq, start, length, num):
        alert = _alert(seq=seq, start_ms=start, end_ms=start + length, num=num)
        assert decode_alert(encode_alert(alert)) == alert


class TestSizeBound:
    @pytest.mark.parametrize("alert_type", list(AlertType))
    def test_longest_patient_with_four_float_numbers_fits_in_256_bytes(self, alert_type):
        assert len(encode_alert(_worst_case_alert(alert_type))) <= ALERT_MAX_BYTES

    def test_encode_refuses_an_alert_over_256_bytes(self):
        num = {f"number_{i:08d}": 0.1 + i for i in range(8)}
        with pytest.raises(PayloadTooLargeError, match="limit is 256"):
            encode_alert(_alert(patient=LONG_PATIENT, num=num))

    def test_decode_refuses_oversized_bytes_before_parsing(self):
        with pytest.raises(PayloadTooLargeError, match="257 bytes"):
            decode_alert(b"\xa0" * 257)


def _wire(**over):
    wire = cbor2.loads(encode_alert(_alert()))
    wire.update(over)
    return wire


class TestStrictDecode:
    @pytest.mark.parametrize(
        "data, match",
        [
            (b"", "not valid CBOR"),
            (b"\xff\xff", "not valid CBOR"),
            (cbor2.dumps([1, 2]), "must be a CBOR map"),
            (encode_alert(_alert()) + b"\x00", "trailing"),
            (cbor2.dumps({k: v for k, v in _wire().items() if k != "seq"}), "missing \\['seq'\\]"),
            (cbor2.dumps(_wire(extra=1)), "unexpected"),
            (cbor2.dumps(_wire(seq=-1)), "seq must be"),
            (cbor2.dumps(_wire(seq=True)), "seq must be"),
            (cbor2.dumps(_wire(seq=1.0)), "seq must be"),
            (cbor2.dumps(_wire(end=START_MS - 1)), "end must be"),
            (cbor2.dumps(_wire(type="vf")), "not a valid AlertType"),
            (cbor2.dumps(_wire(severity=3)), "severity must be text"),
            (cbor2.dumps(_wire(patient="a/b")), "patient must match"),
            (cbor2.dumps(_wire(patient="")), "patient must match"),
            (cbor2.dumps(_wire(id="xyz")), "id must match"),
            (cbor2.dumps(_wire(num={"hr": float("nan")})), "finite"),
            (cbor2.dumps(_wire(num={"HR": 1})), "num key must match"),
            (cbor2.dumps(_wire(num=[1])), "num must be a map"),
        ],
    )
    def test_malformed_raises_a_typed_error(self, data, match):
        with pytest.raises(MalformedPayloadError, match=match):
            decode_alert(data)

    def test_duplicate_keys_are_malformed(self):
        good = encode_alert(_alert())
        # canonical map with 9 keys: 0xa9; add a second "v": 1 -> 10 pairs
        data = b"\xaa" + good[1:] + cbor2.dumps("v") + cbor2.dumps(1)
        with pytest.raises(MalformedPayloadError, match="not valid CBOR"):
            decode_alert(data)

    def test_other_schema_version_is_reported_as_such(self):
        with pytest.raises(UnsupportedSchemaError, match="v=2"):
            decode_alert(cbor2.dumps(_wire(v=2)))

    def test_not_bytes(self):
        with pytest.raises(MalformedPayloadError, match="must be bytes"):
            decode_alert("a string")  # type: ignore[arg-type]

    def test_errors_are_value_errors(self):
        assert issubclass(PayloadError, ValueError)

    @settings(max_examples=300, deadline=None)
    @given(data=st.binary(max_size=300))
    def test_random_bytes_raise_only_payload_errors(self, data):
        try:
            decode_alert(data)
        except PayloadError:
            pass

    @settings(max_examples=300, deadline=None)
    @given(position=st.integers(0, 10**6), value=st.integers(0, 255))
    def test_corrupted_alert_raises_only_payload_errors(self, position, value):
        data = bytearray(encode_alert(_alert()))
        data[position % len(data)] = value
        try:
            decode_alert(bytes(data))
        except PayloadError:
            pass


class TestDependencyFree:
    def test_importing_the_codec_loads_no_numeric_stack(self):
        code = (
            "import sys; from edge._payload import decode_alert; "
            "heavy = sorted(m for m in ('numpy', 'numba', 'scipy', 'dsp', 'models', "
            "'firmware_bridge', 'paho', 'sqlite3') if m in sys.modules); print(heavy)"
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True)
        assert out.stdout.strip() == "[]"
