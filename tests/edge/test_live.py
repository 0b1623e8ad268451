"""A live stream with 1 % of frames corrupted and 1 % dropped: the parser reports
exactly the frames lost, and the beats outside the gaps are the clean run's.

Across a gap the missing samples are fed to the detector as NaN (edge/_live.py),
so a beat within 0.5 s before a gap (decided after the gap began) or within 1 s
after it may differ; everywhere else every beat matches the clean run within
10 samples (28 ms, well inside the 150 ms EC57 window).
"""

from __future__ import annotations

import contextlib
import io
import threading

import numpy as np
import pytest

from edge._live import detect_frames
from firmware_bridge import FrameParser, Gap, iter_record_chunks, open_record
from firmware_bridge._simulate import Impairment, device_frames
from holter._cli import main

BEFORE_S, AFTER_S, TOLERANCE = 0.5, 1.0, 10


def _received(record, drop, corrupt, seed):
    info = open_record(record)
    impairment = Impairment(drop_rate=drop, corrupt_rate=corrupt, seed=seed)
    parser = FrameParser()
    items = []
    for raw in impairment.apply(device_frames(info, iter_record_chunks(info), frame_s=0.25)):
        items += parser.feed(raw)
    return impairment, items + parser.finish()


@pytest.fixture(scope="module")
def clean(sample_record):
    return detect_frames(_received(sample_record, 0.0, 0.0, 0)[1])


def _outside(peaks, gaps, fs_hz):
    keep = np.ones(peaks.size, dtype=bool)
    for g in gaps:
        keep &= ~((peaks >= g.start_sample - BEFORE_S * fs_hz) & (peaks < g.end_sample + AFTER_S * fs_hz))
    return peaks[keep]


class TestImpairedStream:
    def test_the_clean_stream_finds_the_file_s_beats(self, clean, sample_record):
        from edge import detect_record

        assert clean.missing_frames == 0 and clean.ended
        np.testing.assert_array_equal(clean.beats.r_peaks, detect_record(sample_record).r_peaks)

    @pytest.mark.parametrize("seed", [1, 2])
    def test_exactly_the_lost_frames_are_reported_and_beats_match_outside_the_gaps(self, clean, sample_record, seed):
        impairment, items = _received(sample_record, 0.01, 0.01, seed)
        gaps = [i for i in items if isinstance(i, Gap)]
        reported = sorted(s for g in gaps for s in range(g.first_missing_seq, g.next_seq))
        assert len(impairment.dropped) > 30 and len(impairment.corrupted) > 30
        assert reported == impairment.lost
        live = detect_frames(items)
        assert live.missing_frames == len(impairment.lost) and live.ended
        assert live.beats.record.n_samples == clean.beats.record.n_samples == 650_000  # the timeline holds
        for g in live.gaps:  # gaps are unusable stretches, never stitched over
            assert any(u[0] <= g.start_sample and g.end_sample <= u[1] for u in live.beats.unusable)
        a = _outside(clean.beats.r_peaks, live.gaps, 360.0)
        b = _outside(live.beats.r_peaks, live.gaps, 360.0)
        assert a.size > 1400
        assert a.size == b.size
        assert np.max(np.abs(a - b)) <= TOLERANCE


class TestCommands:
    def test_simulate_device_to_listen_over_tcp(self, sample_record, tmp_path, capsys):
        from firmware_bridge._transport import TcpListener

        listener = TcpListener("127.0.0.1", 0, accept_timeout_s=30)
        port = listener.port
        listener.close()
        out = io.StringIO()
        result = {}

        def gateway():
            with contextlib.redirect_stdout(out):
                result["status"] = main(["listen", "--from", f"tcp://127.0.0.1:{port}", "--timeout", "30",
                                         "--quiet", "--out-dir", str(tmp_path)])

        thread = threading.Thread(target=gateway)
        thread.start()
        status, err = None, ""
        for _ in range(400):  # until the gateway listens (the CLI reports a refusal as exit 2)
            status = main(["simulate-device", str(sample_record), "--to", f"tcp://127.0.0.1:{port}",
                           "--speed", "0", "--drop", "0.01", "--seed", "3"])
            err = capsys.readouterr().err
            if not (status == 2 and "refused" in err.lower()):
                break
            threading.Event().wait(0.05)
        thread.join(timeout=60)
        assert status == 0 and result["status"] == 0, err
        dropped = int(err.split("dropped ")[1].split(",")[0])
        assert f"{dropped} frames lost in {dropped} gaps" in out.getvalue()
        assert (tmp_path / "device-1.hol").is_file()

    def test_bad_target_is_one_line_exit_2(self, sample_record, capsys):
        assert main(["simulate-device", str(sample_record), "--to", "udp://x:1"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert err == ["holter simulate-device: error: unknown scheme in 'udp://x:1' (use tcp://, serial://, - or a file path)"]
