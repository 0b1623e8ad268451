"""The live frame protocol: encoder/parser round trip, resynchronisation, CRCs,
gap and duplicate events, bounded buffers, and hypothesis fuzzing."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_bridge import FrameError
from firmware_bridge._frames import (
    MAX_FRAME_BYTES,
    Duplicate,
    Frame,
    FrameEncoder,
    FrameParser,
    Gap,
    Restart,
    Resync,
    encode_frame,
)


def _stream(n_frames=20, n=50, leads=3, seed=0, big_steps=False):
    rng = np.random.default_rng(seed)
    step = 3000 if big_steps else 20
    x = np.cumsum(rng.integers(-step, step, (n_frames * n, leads)), axis=0)
    x = np.clip(x, -32767, 32767).astype(np.int16)
    enc = FrameEncoder(device_id=9, fs_hz=250, resolution_nv=2500)
    return x, [enc.encode(x[k * n : (k + 1) * n]) for k in range(n_frames)]


def _frames(items):
    return [i for i in items if isinstance(i, Frame)]


class TestRoundTrip:
    @pytest.mark.parametrize("big_steps", [False, True])  # delta-compressed / raw
    def test_samples_and_fields_survive(self, big_steps):
        x, frames = _stream(big_steps=big_steps)
        assert (frames[0][3] & 1) == (0 if big_steps else 1)
        out = FrameParser().feed(b"".join(frames))
        assert all(isinstance(i, Frame) for i in out) and len(out) == 20
        np.testing.assert_array_equal(np.concatenate([f.samples for f in out]), x)
        assert [f.seq for f in out] == list(range(20))
        assert [f.timestamp_us for f in out] == [k * 200_000 for k in range(20)]
        assert {(f.device_id, f.fs_hz, f.resolution_nv) for f in out} == {(9, 250, 2500)}

    def test_any_split_of_the_bytes_gives_the_same_frames(self):
        x, frames = _stream(n_frames=5)
        data = b"".join(frames)
        parser = FrameParser()
        out = [item for b in data for item in parser.feed(bytes([b]))]
        np.testing.assert_array_equal(np.concatenate([f.samples for f in out]), x)
        assert parser.buffered_bytes == 0

    def test_flags_and_empty_end_frame(self):
        raw = encode_frame(1, 5, 10, 360, 1000, np.zeros((4, 2), np.int16), lead_off_mask=0b10,
                           saturated_mask=0b01)
        end = encode_frame(1, 6, 20, 360, 1000, np.zeros((0, 2), np.int16), end_of_stream=True)
        a, b = FrameParser().feed(raw + end)
        assert (a.lead_off_mask, a.saturated_mask, a.end_of_stream) == (2, 1, False)
        assert (b.n_samples, b.end_of_stream) == (0, True)

    @pytest.mark.parametrize(
        ("kwargs", "reason"),
        [
            ({"samples": np.zeros((3, 17), np.int16)}, "1-16 leads"),
            ({"samples": np.zeros((3, 2))}, "must be int16"),
            ({"seq": -1}, "`seq` must be in"),
            ({"fs_hz": 0}, "must be positive"),
            ({"samples": np.array([[0], [1000]], np.int16), "delta": True}, "within -128..127"),
        ],
    )
    def test_encoder_rejects_bad_values(self, kwargs, reason):
        args = {"device_id": 1, "seq": 0, "timestamp_us": 0, "fs_hz": 250, "resolution_nv": 1000,
                "samples": np.zeros((3, 2), np.int16), **kwargs}
        with pytest.raises(FrameError, match=reason):
            encode_frame(**args)


class TestStreamsOneAfterAnother:
    def test_after_an_end_of_stream_the_device_may_start_again_from_sequence_zero(self):
        x, frames = _stream(n_frames=30)
        end = FrameEncoder(device_id=9, fs_hz=250, resolution_nv=2500, first_seq=30).encode(
            np.zeros((0, 3), np.int16), end_of_stream=True)
        data = b"".join(frames) + end + b"".join(frames)  # the same device, numbered from 0 again
        items = FrameParser().feed(data)
        assert not [i for i in items if isinstance(i, Duplicate | Restart | Gap)]
        got = _frames(items)
        assert [f.seq for f in got] == list(range(31)) + list(range(30))
        assert [f.end_of_stream for f in got].count(True) == 1
        second = np.concatenate([f.samples for f in got[31:]])
        assert np.array_equal(second, x)

    def test_without_an_end_a_repeated_stream_is_duplicates(self):
        _, frames = _stream(n_frames=30)
        items = FrameParser().feed(b"".join(frames) * 2)
        assert len([i for i in items if isinstance(i, Duplicate)]) == 30


class TestDamage:
    def test_garbage_before_between_and_after_frames_is_skipped_and_counted(self):
        x, frames = _stream(n_frames=3)
        junk = b"\x00\xa5\xa5Z\xff" * 7
        parser = FrameParser()
        out = parser.feed(junk + frames[0] + junk + frames[1] + frames[2] + junk) + parser.finish()
        assert [type(i).__name__ for i in out] == ["Resync", "Frame", "Resync", "Frame", "Frame", "Resync"]
        assert [i.skipped_bytes for i in out if isinstance(i, Resync)] == [35, 35, 35]
        np.testing.assert_array_equal(np.concatenate([f.samples for f in _frames(out)]), x[:150])

    @pytest.mark.parametrize("where", [0, 1, 5, 20, 34, 40, -1])  # sync, header, header CRC, payload, CRC
    def test_a_damaged_frame_is_dropped_and_reported_as_a_gap(self, where):
        _, frames = _stream(n_frames=3)
        bad = bytearray(frames[1])
        bad[where] ^= 0x5A
        out = FrameParser().feed(frames[0] + bytes(bad) + frames[2])
        assert [f.seq for f in _frames(out)] == [0, 2]
        gaps = [i for i in out if isinstance(i, Gap)]
        assert len(gaps) == 1 and (gaps[0].first_missing_seq, gaps[0].missing_frames) == (1, 1)
        assert gaps[0].missing_samples == 50
        resync = [i for i in out if isinstance(i, Resync)]
        assert sum(r.skipped_bytes for r in resync) == len(bad)

    def test_duplicates_are_dropped_and_a_restart_is_reported(self):
        _, frames = _stream(n_frames=4)
        restart = encode_frame(9, 0, 0, 250, 2500, np.zeros((50, 3), np.int16))
        parser = FrameParser()
        out = parser.feed(frames[0] + frames[1] + frames[1] + frames[0] + frames[2])
        assert [f.seq for f in _frames(out)] == [0, 1, 2]
        assert [(d.seq) for d in out if isinstance(d, Duplicate)] == [1, 0]
        far = encode_frame(9, 100_000, 0, 250, 2500, np.zeros((50, 3), np.int16))
        out = parser.feed(far + restart)
        assert isinstance(out[0], Gap) and out[0].missing_frames == 100_000 - 3
        assert isinstance(out[2], Restart) and (out[2].expected_seq, out[2].seq) == (100_001, 0)

    def test_sequence_numbers_wrap_without_a_gap(self):
        frames = [encode_frame(3, s % 2**32, 0, 250, 1000, np.zeros((2, 1), np.int16)) for s in (2**32 - 2, 2**32 - 1, 0, 1)]
        out = FrameParser().feed(b"".join(frames))
        assert [f.seq for f in out] == [2**32 - 2, 2**32 - 1, 0, 1]

    def test_a_lying_length_does_not_hold_back_the_frames_behind_it(self):
        _, frames = _stream(n_frames=3)
        liar = bytearray(frames[0])
        liar[32:34] = (60000).to_bytes(2, "little")  # header CRC now fails at once
        parser = FrameParser()
        out = parser.feed(bytes(liar) + frames[1] + frames[2])
        assert [f.seq for f in _frames(out)] == [1, 2]
        assert parser.buffered_bytes == 0


class TestFuzz:
    @settings(max_examples=200, deadline=None)
    @given(st.lists(st.binary(max_size=300), max_size=10))
    def test_random_bytes_never_raise_and_the_buffer_stays_bounded(self, blocks):
        parser = FrameParser()
        for block in blocks:
            for item in parser.feed(block):
                assert isinstance(item, Frame | Resync | Gap | Duplicate | Restart)
            assert parser.buffered_bytes < MAX_FRAME_BYTES
        parser.finish()
        assert parser.buffered_bytes == 0

    @settings(max_examples=200, deadline=None)
    @given(st.data())
    def test_mutated_streams_deliver_only_intact_frames(self, data):
        x, frames = _stream(n_frames=8, n=20, seed=1)
        stream = bytearray(b"".join(frames))
        for _ in range(data.draw(st.integers(0, 6))):
            pos = data.draw(st.integers(0, len(stream) - 1))
            stream[pos] = data.draw(st.integers(0, 255))
        cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=5)))
        parser = FrameParser()
        out = []
        for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True):
            out += parser.feed(bytes(stream[a:b]))
        out += parser.finish()
        delivered = _frames(out)
        for f in delivered:  # whatever survives is exactly what was sent
            np.testing.assert_array_equal(f.samples, x[f.seq * 20 : (f.seq + 1) * 20])
        seqs = [f.seq for f in delivered]
        assert seqs == sorted(set(seqs))
        if delivered:
            gaps = sum(g.missing_frames for g in out if isinstance(g, Gap))
            assert gaps == seqs[-1] - seqs[0] + 1 - len(seqs)
