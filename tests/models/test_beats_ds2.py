"""Regression on the de Chazal DS2 test patients with the committed model (EC57, end to end).

Every DS2 record runs through the holter-detect path (streaming detector,
features, TFLite classifier, rhythm rule); our beats are matched to the
reference by the EC57 scorer. VEB is held to the issue's targets (>= 93 / 93;
the committed model reaches 96.17 / 94.68). SVEB misses its targets (82 / 78):
its thresholds sit just below what the committed model reaches, 50.25 / 46.73
(benchmarks/results/beats_mitdb.md), so a drop fails here (the previous models:
3.67 / 58.42 and 26.12 / 66.99).
"""

from __future__ import annotations

import pytest

from benchmarks._beats_bench import DS2, label_record, score_labels
from benchmarks._ec57 import gross_score

MIN_VEB_SE_PCT = 93.0
MIN_VEB_PPV_PCT = 93.0
MIN_SVEB_SE_PCT = 50.0
MIN_SVEB_PPV_PCT = 46.0
MIN_QRS_PCT = 99.80


@pytest.fixture(scope="module")
def ds2_gross(mitdb_dir):
    scores = [score_labels(mitdb_dir, label_record(mitdb_dir, r)) for r in DS2]
    return gross_score(scores).gross


@pytest.mark.data
class TestDs2:
    def test_veb(self, ds2_gross):
        assert ds2_gross.veb_se_pct >= MIN_VEB_SE_PCT, ds2_gross
        assert ds2_gross.veb_ppv_pct >= MIN_VEB_PPV_PCT, ds2_gross

    def test_sveb(self, ds2_gross):
        assert ds2_gross.sveb_se_pct >= MIN_SVEB_SE_PCT, ds2_gross
        assert ds2_gross.sveb_ppv_pct >= MIN_SVEB_PPV_PCT, ds2_gross

    def test_qrs(self, ds2_gross):
        assert ds2_gross.qrs_se_pct >= MIN_QRS_PCT and ds2_gross.qrs_ppv_pct >= MIN_QRS_PCT
