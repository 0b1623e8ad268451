"""Alert rules: one alert per episode, debounced, rate-limited, with its numbers."""

from __future__ import annotations

import pytest

from edge._config import AlertThresholds
from edge._payload import AlertType, Severity
from edge._rules import AlertRules, Observation

FS = 100.0
T0 = 1_700_000_000_000


def s(seconds: float) -> int:
    return round(seconds * FS)


def _rules(**over) -> AlertRules:
    return AlertRules(FS, T0, AlertThresholds(**over))


def _types(drafts) -> list[AlertType]:
    return [d.type for d in drafts]


class TestVentricularRuns:
    def test_nsvt_is_raised_once_as_soon_as_the_run_is_seen(self):
        rules = _rules()
        run = dict(kind="VT", start_sample=s(10), nums={"beats": 3, "rate_bpm": 150.0})
        # seen while it still goes on: raised at once, with the numbers of that moment
        drafts = rules.observe([Observation(end_sample=s(11), ongoing=True, **run)], s(11))
        assert _types(drafts) == [AlertType.NSVT]
        d = drafts[0]
        assert d.severity is Severity.WARNING
        assert (d.start_ms, d.end_ms) == (T0 + 10_000, T0 + 11_000)
        assert d.nums["beats"] == 3 and d.nums["duration_ms"] == 1000
        # the same run, grown and then ended, observed in the next windows: nothing new
        more = dict(run, nums={"beats": 5, "rate_bpm": 150.0})
        assert rules.observe([Observation(end_sample=s(12), ongoing=True, **more)], s(12)) == []
        assert rules.observe([Observation(end_sample=s(12), ongoing=False, **more)], s(20)) == []

    def test_a_run_that_lasts_is_raised_as_nsvt_then_sustained_vt_once(self):
        rules = _rules(sustained_vt_s=30)
        out = []
        for t in range(11, 50):
            out += rules.observe([Observation("VT", s(10), s(t), ongoing=True)], s(t))
        out += rules.observe([Observation("VT", s(10), s(50), ongoing=False)], s(55))
        assert _types(out) == [AlertType.NSVT, AlertType.SUSTAINED_VT]
        assert out[1].severity is Severity.CRITICAL
        assert out[1].end_ms - out[1].start_ms == 30_000  # raised when it reached 30 s

    def test_a_run_first_seen_already_sustained_is_not_also_nsvt(self):
        rules = _rules(sustained_vt_s=30)
        out = rules.observe([Observation("VT", s(10), s(45), ongoing=True)], s(45))
        assert _types(out) == [AlertType.SUSTAINED_VT]

    def test_an_unobserved_episode_closes_at_the_horizon(self):
        rules = _rules(rate_limit_s=0)
        assert _types(rules.observe([Observation("VT", s(10), s(12), ongoing=True)], s(12))) == [
            AlertType.NSVT]
        assert rules.observe([], s(14)) == []
        # closed: a new run after it is another episode, with its own alert
        assert _types(rules.observe([Observation("VT", s(20), s(21), ongoing=True)], s(21))) == [
            AlertType.NSVT]


class TestAtrialFibrillation:
    def test_onset_after_af_min_then_offset_with_burden(self):
        rules = _rules(af_min_s=30)
        assert rules.observe([Observation("AFIB", s(100), s(120), ongoing=True)], s(120)) == []
        onset = rules.observe([Observation("AFIB", s(100), s(131), ongoing=True)], s(131))
        assert _types(onset) == [AlertType.AF_ONSET]
        rules.monitored_s, rules.af_s = 400.0, 100.0
        offset = rules.observe([Observation("AFIB", s(100), s(200), ongoing=False)], s(210))
        assert _types(offset) == [AlertType.AF_OFFSET]
        assert offset[0].severity is Severity.INFO
        assert offset[0].nums["af_burden_pct"] == 25.0
        assert offset[0].nums["duration_ms"] == 100_000

    def test_a_window_clipped_start_is_the_same_episode(self):
        rules = _rules()
        out = rules.observe([Observation("AFIB", s(100), s(140), ongoing=True)], s(140))
        # the sliding window now starts inside the episode
        out += rules.observe([Observation("AFIB", s(120), s(160), ongoing=True)], s(160))
        assert _types(out) == [AlertType.AF_ONSET]


class TestPausesAndRates:
    @pytest.mark.parametrize(("pause_ms", "severity"), [(2100, Severity.WARNING),
                                                        (3500, Severity.CRITICAL)])
    def test_pause_severity(self, pause_ms, severity):
        rules = _rules(pause_s=2.0, pause_critical_s=3.0)
        obs = Observation("PAUSE", s(10), s(10) + pause_ms // 10, False, {"pause_ms": pause_ms})
        drafts = rules.observe([obs], s(20))
        assert [(d.type, d.severity) for d in drafts] == [(AlertType.PAUSE, severity)]

    def test_bradycardia_is_debounced(self):
        rules = _rules(rate_debounce_s=30)
        short = rules.observe([Observation("SBR", s(0), s(20), ongoing=False)], s(30))
        assert short == []
        long = rules.observe([Observation("SBR", s(100), s(131), ongoing=True)], s(131))
        assert _types(long) == [AlertType.BRADYCARDIA]


class TestRateLimit:
    def test_held_back_alerts_are_counted_in_the_next_one(self):
        rules = _rules(rate_limit_s=300)
        out = []
        for i in range(5):  # five pauses a minute apart
            t = 60 * i
            out += rules.observe([Observation("PAUSE", s(t), s(t + 2.5), False,
                                              {"pause_ms": 2500})], s(t + 5))
        out += rules.observe([Observation("PAUSE", s(400), s(402.5), False, {"pause_ms": 2500})],
                             s(405))
        assert _types(out) == [AlertType.PAUSE, AlertType.PAUSE]
        assert "suppressed" not in out[0].nums
        assert out[1].nums["suppressed"] == 4
        assert rules.suppressed == {}

    def test_critical_alerts_have_their_own_shorter_limit(self):
        rules = _rules(rate_limit_s=300, critical_rate_limit_s=60)
        out = []
        for t in (0, 30, 90):
            out += rules.observe([Observation("PAUSE", s(t), s(t + 4), False, {"pause_ms": 4000})],
                                 s(t + 5))
        assert [d.start_ms - T0 for d in out] == [0, 90_000]

    def test_af_offset_is_never_held_back(self):
        rules = _rules(rate_limit_s=10_000)
        out = rules.observe([Observation("AFIB", s(0), s(40), ongoing=True)], s(40))
        out += rules.observe([Observation("AFIB", s(0), s(50), ongoing=False)], s(60))
        assert _types(out) == [AlertType.AF_ONSET, AlertType.AF_OFFSET]


def test_unknown_kind_is_an_error():
    with pytest.raises(ValueError, match="unknown observation kind 'XYZ'"):
        _rules().observe([Observation("XYZ", 0, 1, False)], 1)


def test_an_ongoing_af_episode_held_back_is_reported_once_the_limit_allows():
    rules = _rules(rate_limit_s=300)
    out = rules.observe([Observation("AFIB", s(0), s(40), ongoing=True)], s(40))
    out += rules.observe([Observation("AFIB", s(0), s(50), ongoing=False)], s(60))
    # a second episode starts 100 s later and goes on for a long time
    for t in range(140, 600, 10):
        out += rules.observe([Observation("AFIB", s(100), s(t), ongoing=True)], s(t))
    out += rules.observe([Observation("AFIB", s(100), s(600), ongoing=False)], s(610))
    assert _types(out) == [AlertType.AF_ONSET, AlertType.AF_OFFSET, AlertType.AF_ONSET,
                           AlertType.AF_OFFSET]
    late = out[2]
    # sent 300 s after the first onset was decided (at 40 s)
    assert late.start_ms == T0 + 100_000 and late.end_ms == T0 + 340_000
    assert "suppressed" not in late.nums and rules.suppressed == {}


def test_af_broken_by_a_short_ventricular_run_is_one_episode_without_an_offset():
    rules = _rules()
    out = rules.observe([Observation("AFIB", s(0), s(40), ongoing=True)], s(40))
    out += rules.observe([Observation("AFIB", s(0), s(45), ongoing=False)], s(47))  # a VT run
    out += rules.observe([Observation("AFIB", s(0), s(45), ongoing=False),
                          Observation("AFIB", s(48), s(50), ongoing=True)], s(50))
    assert _types(out) == [AlertType.AF_ONSET]  # no offset while AF may resume
    out += rules.observe([Observation("AFIB", s(48), s(90), ongoing=False)], s(99))
    assert _types(out) == [AlertType.AF_ONSET]  # ended at 90 s: settled only 10 s later
    out += rules.observe([], s(100))
    assert _types(out) == [AlertType.AF_ONSET, AlertType.AF_OFFSET]
    assert out[1].start_ms == T0 and out[1].end_ms == T0 + 90_000


def test_af_seen_again_after_its_offset_is_a_new_episode():
    rules = _rules(rate_limit_s=60)
    out = rules.observe([Observation("AFIB", s(0), s(40), ongoing=True)], s(40))
    out += rules.observe([Observation("AFIB", s(0), s(50), ongoing=False)], s(60))
    # a later window sees AF from its own start (clipped) through the old episode and on
    for t in range(70, 200, 10):
        out += rules.observe([Observation("AFIB", s(5), s(t), ongoing=True)], s(t))
    assert _types(out) == [AlertType.AF_ONSET, AlertType.AF_OFFSET, AlertType.AF_ONSET]
    assert out[2].start_ms == T0 + 50_000 + 10  # right after the closed episode's end


def test_no_af_offset_for_an_episode_whose_onset_was_held_back():
    rules = _rules(rate_limit_s=300)
    out = rules.observe([Observation("AFIB", s(0), s(40), ongoing=True)], s(40))
    out += rules.observe([Observation("AFIB", s(0), s(50), ongoing=False)], s(60))
    out += rules.observe([Observation("AFIB", s(100), s(140), ongoing=True)], s(140))
    out += rules.observe([Observation("AFIB", s(100), s(150), ongoing=False)], s(160))
    assert _types(out) == [AlertType.AF_ONSET, AlertType.AF_OFFSET]
    assert rules.suppressed == {AlertType.AF_ONSET: 1}
