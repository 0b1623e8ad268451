"""From MQTT message to record or counted rejection (cloud/_ingest.py), no broker."""

from __future__ import annotations

import cbor2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloud import AlertRecord
from cloud._ingest import Rejection, RejectReason, classify
from cloud._records import GatewayStatusRecord, StripRecord, SummaryRecord
from edge._payload import Alert, MalformedPayloadError
from tests.cloud._payloads import (
    alert,
    alert_payload,
    status_payload,
    strip_payload,
    summary_payload,
)

ALERT_TOPIC = "holter/v1/site-a/gw-1/p01/alert"


class TestClassify:
    def test_an_alert_becomes_its_record(self):
        record = classify(ALERT_TOPIC, alert_payload(3))
        assert isinstance(record, AlertRecord)
        sent = alert(3)
        assert (record.id, record.site, record.gateway, record.patient, record.seq) == (
            sent.id, "site-a", "gw-1", "p01", 3)
        assert (record.type, record.severity, record.start_ms, record.end_ms) == (
            sent.type.value, sent.severity.value, sent.start_ms, sent.end_ms)
        assert dict(record.num) == dict(sent.num)

    def test_summary_strip_status(self):
        summary = classify("holter/v1/s/g/p01/summary", summary_payload(2))
        assert isinstance(summary, SummaryRecord) and summary.kind == "hourly"
        assert summary.num["beats"] == 4002
        payload = strip_payload(1)
        strip = classify("holter/v1/s/g/p01/strip", payload)
        assert isinstance(strip, StripRecord) and strip.payload == payload
        assert strip.alert_id == alert(1).id and strip.decode().leads == ("MLII", "V1")
        status = classify("holter/v1/s/g-7/status", status_payload("g-7", "offline", 5))
        assert status == GatewayStatusRecord(site="s", gateway="g-7", state="offline", ts_ms=5)

    @pytest.mark.parametrize(
        ("topic", "payload", "reason"),
        [
            (ALERT_TOPIC, b"", RejectReason.MALFORMED),
            (ALERT_TOPIC, b"\xff\xfe", RejectReason.MALFORMED),
            (ALERT_TOPIC, cbor2.dumps({"v": 1}), RejectReason.MALFORMED),
            (ALERT_TOPIC, b"\x00" * 300, RejectReason.TOO_LARGE),
            (ALERT_TOPIC, cbor2.dumps({"v": 2, "id": "x"}), RejectReason.UNSUPPORTED_VERSION),
            ("holter/v1/site-a/gw-1/p02/alert", alert_payload(1), RejectReason.TOPIC_MISMATCH),
            ("holter/v1/s/g-1/status", status_payload("g-2", "online", 1),
             RejectReason.TOPIC_MISMATCH),
            ("holter/v2/site-a/gw-1/p01/alert", alert_payload(1), RejectReason.BAD_TOPIC),
            ("holter/v1/site-a/gw-1/p01/ecg", alert_payload(1), RejectReason.BAD_TOPIC),
            ("holter/v1/site a/gw-1/p01/alert", alert_payload(1), RejectReason.BAD_TOPIC),
            ("holter/v1/s/g/p01/summary", alert_payload(1), RejectReason.MALFORMED),
            ("holter/v1/s/g/p01/strip", b"\x00" * (512 * 1024 + 1), RejectReason.TOO_LARGE),
        ],
    )
    def test_rejections_name_their_reason(self, topic, payload, reason):
        out = classify(topic, payload)
        assert isinstance(out, Rejection) and out.reason is reason and out.detail

    def test_the_codec_is_the_only_field_check(self):
        # fields the codec refuses cannot reach a record: no Alert to build it from
        with pytest.raises(MalformedPayloadError, match="seq"):
            Alert(id="0" * 32, seq=-1, patient="p", type="vt", severity="info",
                  start_ms=0, end_ms=0)  # fmt: skip
        record = AlertRecord.from_alert(alert(1), site="s", gateway="g")
        assert record.severity_rank == {"info": 0, "warning": 1, "critical": 2}[record.severity]


_topics = st.one_of(
    st.just(ALERT_TOPIC),
    st.sampled_from(["holter/v1/s/g/p01/summary", "holter/v1/s/g/p01/strip",
                     "holter/v1/s/g/status"]),  # fmt: skip
    st.text(max_size=80),
)
_cbor_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40)
    | st.binary(max_size=40),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=9),
    max_leaves=20,
)


class TestFuzz:
    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(topic=_topics, payload=st.binary(max_size=400))
    def test_random_bytes_are_only_counted_rejections(self, topic, payload):
        out = classify(topic, payload)
        assert isinstance(out, Rejection)

    @settings(max_examples=300, deadline=None)
    @given(topic=_topics, value=_cbor_values)
    def test_random_cbor_is_only_counted_rejections(self, topic, value):
        out = classify(topic, cbor2.dumps(value))
        assert isinstance(out, Rejection)

    @settings(max_examples=300, deadline=None)
    @given(key=st.sampled_from(["v", "id", "seq", "patient", "type", "severity", "start",
                                "end", "num"]), value=_cbor_values)  # fmt: skip
    def test_one_wrong_field_of_a_real_alert_is_a_rejection(self, key, value):
        obj = cbor2.loads(alert_payload(1))
        if obj.get(key) == value:
            return
        obj[key] = value
        out = classify(ALERT_TOPIC, cbor2.dumps(obj))  # never raises
        if isinstance(out, AlertRecord):  # a value the codec accepts (another seq, say)
            assert out.site == "site-a"
        else:
            assert isinstance(out, Rejection)


@pytest.fixture(scope="module")
def worker():
    """A worker that is never run: its handler takes messages directly (no broker)."""
    from cloud import StoreSettings, Worker, WorkerConfig

    return Worker(WorkerConfig(client_id="fuzz", store=StoreSettings("sqlite:///:memory:")))


class TestWorkerHandler:
    @settings(max_examples=300, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
    @given(topic=_topics, payload=st.binary(max_size=400) | _cbor_values.map(cbor2.dumps))
    def test_fuzzed_messages_are_only_counted_rejections(self, worker, topic, payload):
        stats = worker.stats
        before_received, before_rejected = stats.received, sum(stats.rejected.values())
        worker.handle_message(topic, payload, mid=1, qos=1)
        assert stats.received == before_received + 1
        assert sum(stats.rejected.values()) == before_rejected + 1
        assert "internal_error" not in stats.rejected
