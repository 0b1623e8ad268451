"""Regression on the de Chazal DS2 test patients with the committed model (EC57, end to end).

Every DS2 record runs through the holter-detect path (streaming detector,
features, TFLite classifier); our beats are matched to the reference by the
EC57 scorer. The thresholds sit just below what the committed model reaches
(benchmarks/results/beats_mitdb.md): a drop fails here. They are NOT the
issue's targets (VEB >= 93 / 93, SVEB >= 82 / 78): the committed model reaches
VEB 98.81 / 80.55 and SVEB 3.67 / 58.42, so only VEB Se meets its target (the
model before it reached VEB 97.28 / 85.64, SVEB 26.12 / 66.99: see the model
card's history).
"""

from __future__ import annotations

import pytest

from benchmarks._beats_bench import DS2, label_record, score_labels
from benchmarks._ec57 import gross_score

MIN_VEB_SE_PCT = 98.5
MIN_VEB_PPV_PCT = 80.0
MIN_SVEB_SE_PCT = 3.0
MIN_SVEB_PPV_PCT = 57.5
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
