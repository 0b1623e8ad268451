"""epic-style AF and rxr-style run statistics on small hand-made annotations."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks._rhythm_score import (
    false_run_causes,
    score_episodes,
    score_runs,
    ventricular_runs,
)

FS = 100.0


def _ann(symbols, rr_samples=80, start=40_000):
    samples = start + rr_samples * np.arange(len(symbols))
    return samples, list(symbols)


class TestEpisodes:
    def test_any_overlap_counts_and_duration_is_overlap_time(self):
        ref = np.array([[40_000, 50_000], [60_000, 61_000]])
        test = np.array([[45_000, 55_000], [70_000, 71_000]])
        c = score_episodes(ref, test, FS, 100_000)
        assert (c.ref_detected, c.ref_episodes, c.test_true, c.test_episodes) == (1, 2, 1, 2)
        assert c.overlap_s == pytest.approx(50.0)
        assert c.duration_se_pct == pytest.approx(100 * 50 / 110)
        assert c.duration_ppv_pct == pytest.approx(100 * 50 / 110)

    def test_first_five_minutes_are_not_scored(self):
        c = score_episodes(np.array([[0, 20_000]]), np.array([[0, 20_000]]), FS, 100_000)
        assert c.ref_episodes == 0 and c.test_episodes == 0


class TestRuns:
    def test_runs_by_length(self):
        samples, symbols = _ann("NVVNVVVNVVVVVVN")
        runs = ventricular_runs(samples, symbols)
        assert [len(runs[k]) for k in ("couplet", "short_run", "long_run")] == [1, 1, 1]

    def test_false_runs_by_cause(self):
        ref_samples, ref_symbols = _ann("NNVVNNNNNNVVVNNNNNN")
        ref_runs = ventricular_runs(ref_samples, ref_symbols)
        # test: the reference couplet found as a run of 3 (one N called V: other length),
        # a couplet of two reference N beats (false V), a couplet with a beat of its own
        test_symbols = list("NVVVNNVVNNVVVNNNNVN")
        test_samples = ref_samples.copy()
        extra = ref_samples[16] + 40  # between two reference beats
        test_samples = np.sort(np.append(test_samples, extra))
        test_symbols.insert(17, "V")
        test_runs = ventricular_runs(test_samples, test_symbols)
        counts = score_runs(ref_runs, test_runs, FS)
        assert counts["short_run"].test == 2 and counts["short_run"].test_true == 1
        causes = false_run_causes(ref_samples, ref_symbols, ref_runs, test_runs, test_samples, FS)
        assert causes["short_run"] == {"other_length": 1, "extra_beat": 0, "false_v": 0}
        assert causes["couplet"] == {"other_length": 0, "extra_beat": 1, "false_v": 1}
