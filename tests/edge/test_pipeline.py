"""The patient pipeline's own alerts: ST episodes and early pauses (no broker needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import wfdb

from benchmarks._st import add_st_shifts, shift_regions
from edge._payload import AlertType
from edge._pipeline import PatientPipeline, PipelineAlert
from tests.dsp.synth import paced_ecg, synth_ecg

SAMPLE_119 = Path(__file__).resolve().parents[2] / "data" / "sample" / "119"
SAMPLE_203 = SAMPLE_119.with_name("203")


def _run(signal: np.ndarray, fs_hz: float, block_s: float = 1.0):
    """(alerts, sample count when each was returned) of the whole signal fed in blocks."""
    pipe = PatientPipeline("p1", fs_hz, signal.shape[1], 0)
    step = max(1, round(block_s * fs_hz))
    alerts, when = [], []
    for i in range(0, signal.shape[0], step):
        for out in pipe.feed(signal[i : i + step]):
            if isinstance(out, PipelineAlert):
                alerts.append(out.draft)
                when.append(pipe.n_samples)
    alerts += [o.draft for o in pipe.finish() if isinstance(o, PipelineAlert)]
    return alerts, when


@pytest.fixture(scope="module")
def record_119():
    rec = wfdb.rdrecord(str(SAMPLE_119), sampto=int(360 * 720))
    ann = wfdb.rdann(str(SAMPLE_119), "atr", sampto=int(360 * 720))
    x = np.ascontiguousarray(rec.p_signal, dtype=np.float64)
    r = ann.sample[np.isin(ann.symbol, ["N"])].astype(np.int64)
    return x, float(rec.fs), r


class TestStAlerts:
    def test_a_known_st_depression_gives_one_st_alert_on_its_lead(self, record_119):
        x, fs, r = record_119
        # -200 uV on lead 1 (index 0), normal beats from 240 s to 420 s
        shift = np.zeros((r.size, 2))
        shift[(r >= 240 * fs) & (r < 420 * fs), 0] = -200.0
        start, end = shift_regions(x, fs, r)
        alerts, _ = _run(add_st_shifts(x, r, fs, shift, start, end), fs)
        st = [a for a in alerts if a.type is AlertType.ST_EPISODE]
        assert len(st) == 1, alerts
        a = st[0]
        assert 230 * fs <= a.start_sample <= 260 * fs
        assert a.nums["lead"] == 1 and -240 <= a.nums["st_uv"] <= -160
        assert a.end_sample - a.start_sample >= 30 * fs  # raised once it lasted st_min_s

    def test_the_same_record_without_a_shift_gives_no_st_alert(self, record_119):
        x, fs, _ = record_119
        alerts, _ = _run(x, fs)
        assert not [a for a in alerts if a.type is AlertType.ST_EPISODE], alerts


class TestEarlyPause:
    def test_a_pause_is_raised_when_its_closing_beat_is_found_not_a_beat_later(self):
        fs = 360.0
        r_s = np.concatenate([np.arange(0.4, 29.3, 0.8), [32.2], np.arange(33.0, 59.5, 0.8)])
        ecg = synth_ecg(fs, 60.0, r_times_s=r_s, seed=3)
        alerts, when = _run(ecg.signal_mv, fs, block_s=0.25)
        pauses = [(a, w) for a, w in zip(alerts, when, strict=False) if a.type is AlertType.PAUSE]
        assert len(pauses) == 1, alerts
        a, returned_at = pauses[0]
        closing = round(32.2 * fs)  # 3.0 s after the beat at 29.2 s
        assert abs(a.end_sample - closing) <= 0.03 * fs
        assert 2950 <= a.nums["pause_ms"] <= 3050
        # raised before the beat after the closing one (0.8 s later) was even recorded
        assert returned_at < closing + 0.8 * fs

    def test_an_interval_across_lost_signal_is_no_pause(self):
        fs = 360.0
        ecg = synth_ecg(fs, 60.0, hr_bpm=75.0, seed=4)
        x = ecg.signal_mv.copy()
        x[round(30 * fs) : round(33 * fs)] = np.nan  # 3 s of lead-off on every lead
        alerts, _ = _run(x, fs, block_s=0.25)
        assert not [a for a in alerts if a.type is AlertType.PAUSE], alerts


class TestAtrialFibrillationAlerts:
    def test_af_broken_by_ventricular_runs_is_reported_with_its_true_burden(self):
        """MIT-BIH 203: AF (80.6 % of the record by the reference, AFL 17.4 %) broken every
        minute or so by short ventricular runs, for 30 minutes."""
        rec = wfdb.rdrecord(str(SAMPLE_203))
        alerts, _ = _run(np.ascontiguousarray(rec.p_signal, dtype=np.float64), float(rec.fs))
        af = [a for a in alerts if a.type in (AlertType.AF_ONSET, AlertType.AF_OFFSET)]
        kinds = [a.type for a in af]
        # onsets and offsets alternate: no offset at a 1-s VT run, AF after an offset is new
        assert kinds[0] is AlertType.AF_ONSET and len(kinds) >= 4
        assert all(a is not b for a, b in zip(kinds, kinds[1:], strict=False))
        # a new episode's onset held back by the rate limit is sent later, not dropped
        onsets = [a for a in af if a.type is AlertType.AF_ONSET]
        assert "suppressed" not in onsets[1].nums
        # the burden counts AF that has left the 5-minute analysis window
        assert af[-1].nums["af_burden_pct"] >= 70.0


class TestPacedPatient:
    """Paced beats are labelled Q, but they are beats: the rhythm detectors still see them."""

    @staticmethod
    def _paced_with_a_pause(fs_hz: float):
        r_s = np.concatenate([np.arange(0.6, 40.0, 0.85), np.arange(43.0, 89.0, 0.85)])
        sig, r, _ = paced_ecg(fs_hz, 90.0, lambda i: True, seed=5, r_s=r_s)
        return sig, r, round(39.7 * fs_hz), round(43.0 * fs_hz)  # 3.3-s pause

    def test_holter_detect_labels_paced_beats_q_and_still_finds_the_pause(self):
        from edge._labels import BeatLabeller
        from edge._stream import stream_chunks
        from firmware_bridge import Chunk, RecordInfo

        fs = 360.0
        sig, r, before, after = self._paced_with_a_pause(fs)
        info = RecordInfo("paced", Path("paced"), fs, sig.shape[0], ("I", "II"), ("mV", "mV"))
        labeller = BeatLabeller()
        chunk = Chunk("paced", fs, ("I", "II"), ("mV", "mV"), 0, sig)
        beats = stream_chunks([chunk], info, feed_samples=round(fs),
                              on_block=labeller)
        labelled = labeller.finish(beats.r_peaks, beats.unusable)
        assert labelled.classes.count("Q") >= 0.9 * len(labelled.classes)  # paced
        pauses = labelled.rhythm.of_kind("PAUSE")
        assert len(pauses) == 1
        assert abs(pauses[0].start_sample - before) <= 0.05 * fs
        assert abs(pauses[0].end_sample - after) <= 0.05 * fs
        assert not labelled.rhythm.of_kind("VT")  # wide paced beats are no ventricular run

    def test_the_gateway_pipeline_raises_the_pause_once(self):
        fs = 360.0
        sig, _, before, after = self._paced_with_a_pause(fs)
        alerts, _ = _run(sig, fs, block_s=0.25)
        pauses = [a for a in alerts if a.type is AlertType.PAUSE]
        assert len(pauses) == 1 and abs(pauses[0].end_sample - after) <= 0.05 * fs
        assert not [a for a in alerts if a.type in (AlertType.NSVT, AlertType.SUSTAINED_VT)]


class _EveryThirdBeatS:
    """A stand-in classifier: the beats of every third second S, the others N (the
    model is not the point; batches are a beat or two, so the rule is on time)."""

    def classify(self, features):
        from models._classifier import BeatLabels

        n = features.n_beats
        classes = tuple("S" if int(p) // 250 % 3 == 0 else "N" for p in features.r_peaks)
        return BeatLabels(features.r_peaks.copy(), classes, np.zeros((n, 4), np.float32),
                          np.zeros(n, np.float32))


class TestSvebInsideAf:
    def test_s_labels_inside_af_are_counted_n_and_outside_stay_s(self):
        """Sinus for 120 s, AF-like irregular rhythm without P waves for 180 s: the summary counts
        the classifier's S beats of the sinus part only."""
        fs = 250.0
        rng = np.random.default_rng(11)
        sinus = np.arange(0.5, 120.0, 0.8)
        af = 120.0 + np.cumsum(rng.uniform(0.4, 1.1, 400))
        r_s = np.concatenate([sinus, af[af < 299.0]])
        ecg = synth_ecg(fs, 300.0, r_times_s=r_s, seed=12, p_absent_s=(120.0, 300.0))
        pipe = PatientPipeline("p1", fs, 2, 0, classifier=_EveryThirdBeatS())
        outs = []
        step = round(fs)
        for i in range(0, ecg.signal_mv.shape[0], step):
            outs += list(pipe.feed(ecg.signal_mv[i : i + step]))
        outs += list(pipe.finish())
        alerts = [o.draft for o in outs if isinstance(o, PipelineAlert)]
        assert any(a.type is AlertType.AF_ONSET for a in alerts), alerts
        (summary,) = [o for o in outs if getattr(o, "kind", None) is not None
                      and o.kind.value == "recording"]
        s_sinus = int(np.sum(np.round(sinus * fs).astype(int) // 250 % 3 == 0))
        # the S beats of the sinus part (give or take a few at the AF onset), none after
        assert abs(summary.num["s_beats"] - s_sinus) <= 6, (summary.num, s_sinus)
