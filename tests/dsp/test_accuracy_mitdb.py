"""Accuracy regression: dsp.detect_qrs on all 48 MIT-BIH records, all leads, EC57 gross.

Scored with benchmarks._ec57 (WFDB bxb rules: 150 ms window, one-to-one,
from 5 min, VF excluded). The issue's target is 99.80 / 99.80; the thresholds
sit just below what the detector reaches (99.87 / 99.84 when they were set),
so that a regression fails here.
"""

from __future__ import annotations

import pytest

import dsp
from benchmarks._ec57 import beats_from_samples, gross_score, score_record
from benchmarks._qrs_bench import list_records, load_record

#: Gross QRS sensitivity over the 48 records must be at least this (percent).
MIN_GROSS_SE_PCT = 99.85
#: Gross QRS positive predictivity over the 48 records must be at least this (percent).
MIN_GROSS_PPV_PCT = 99.82
N_MITDB_RECORDS = 48


@pytest.fixture(scope="module")
def mitdb_scores(mitdb_dir):
    names = list_records(mitdb_dir)
    assert len(names) == N_MITDB_RECORDS, f"expected all 48 MIT-BIH records in {mitdb_dir}"
    scores = []
    for name in names:
        rec = load_record(mitdb_dir, name)
        peaks = dsp.detect_qrs(rec.signal_mv, rec.fs_hz)
        scores.append(
            score_record(rec.reference, beats_from_samples(peaks, rec.fs_hz, record=name))
        )
    return scores


def _worst(scores, stat: str, n: int = 5) -> str:
    worst = sorted(scores, key=lambda s: getattr(s.stats, stat))[:n]
    return ", ".join(
        f"{s.record} {getattr(s.stats, stat):.2f} (FN {s.stats.qrs_fn}, FP {s.stats.qrs_fp})"
        for s in worst
    )


@pytest.mark.data
class TestMitdbAccuracy:
    def test_gross_sensitivity(self, mitdb_scores):
        gross = gross_score(mitdb_scores).gross
        assert gross.qrs_se_pct >= MIN_GROSS_SE_PCT, (
            f"gross QRS Se {gross.qrs_se_pct:.3f} % < {MIN_GROSS_SE_PCT} % "
            f"(FN {gross.qrs_fn}); worst records: {_worst(mitdb_scores, 'qrs_se_pct')}"
        )

    def test_gross_positive_predictivity(self, mitdb_scores):
        gross = gross_score(mitdb_scores).gross
        assert gross.qrs_ppv_pct >= MIN_GROSS_PPV_PCT, (
            f"gross QRS +P {gross.qrs_ppv_pct:.3f} % < {MIN_GROSS_PPV_PCT} % "
            f"(FP {gross.qrs_fp}); worst records: {_worst(mitdb_scores, 'qrs_ppv_pct')}"
        )
