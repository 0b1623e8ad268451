"""The explainable risk score: one cut-off table, every factor explained, nothing guessed."""

from __future__ import annotations

import dataclasses
import inspect
import math
import re

import numpy as np
import pytest

import models
from models import RISK_CUTOFFS, RiskInputs, score_risk
from models import _risk_score as score_module
from models._risk_cutoffs import SOURCES, cutoffs_for


def _healthy(**overrides) -> RiskInputs:
    base = dict(
        dc_ms=7.0, hrt_onset_pct=-2.0, hrt_slope_ms_per_rr=8.0, sdnn_ms=140.0,
        pvc_burden_pct=0.1, n_nsvt=0, n_sustained_vt=0, af_burden_pct=0.0,
        n_st_episodes=0, qtc_ms=420.0, longest_pause_s=1.4, model_probability=0.1,
    )
    base.update(overrides)
    return RiskInputs(**base)


class TestCutoffTable:
    def test_every_row_has_a_cited_source(self):
        for row in RISK_CUTOFFS:
            assert row.source in SOURCES, row
            assert len(SOURCES[row.source]) > 40

    @pytest.mark.parametrize(
        ("factor", "value", "level"),
        [
            ("dc_ms", 2.5, "high"),
            ("dc_ms", 2.6, "intermediate"),
            ("dc_ms", 4.5, "intermediate"),
            ("dc_ms", 4.6, "low"),
            ("sdnn_ms", 49.9, "high"),
            ("sdnn_ms", 50.0, "intermediate"),
            ("sdnn_ms", 100.0, "low"),
            ("pvc_burden_pct", 10.0, "low"),
            ("pvc_burden_pct", 10.1, "high"),
            ("qtc_ms", 471.0, "intermediate"),
            ("qtc_ms", 501.0, "high"),
            ("longest_pause_s", 3.0, "high"),
            ("n_nsvt", 1, "intermediate"),
            ("n_sustained_vt", 1, "high"),
        ],
    )
    def test_the_issue_cut_offs(self, factor, value, level):
        score = score_risk(_healthy(**{factor: value}))
        assert score.factor(factor).level == level

    def test_qtc_cut_off_for_women_is_480(self):
        assert score_risk(_healthy(qtc_ms=475.0, sex="female")).factor("qtc_ms").level == "low"
        assert score_risk(_healthy(qtc_ms=481.0, sex="female")).factor("qtc_ms").level == "intermediate"
        assert score_risk(_healthy(qtc_ms=475.0)).factor("qtc_ms").level == "intermediate"

    def test_no_threshold_lives_in_the_score_code(self):
        source = inspect.getsource(score_module)
        for row in RISK_CUTOFFS:
            if row.threshold in (0, 1, 2):
                continue
            assert not re.search(rf"(?<![\w.]){re.escape(f'{row.threshold:g}')}(?![\w])", source), row

    def test_changing_the_table_changes_the_score(self, monkeypatch):
        import models._risk_cutoffs as table

        stricter = tuple(
            dataclasses.replace(c, threshold=8.0) if (c.factor, c.level) == ("dc_ms", "high") else c
            for c in table.CUTOFFS
        )
        monkeypatch.setattr(table, "CUTOFFS", stricter)
        assert score_risk(_healthy(dc_ms=7.0)).factor("dc_ms").level == "high"

    def test_unknown_factor(self):
        with pytest.raises(KeyError):
            cutoffs_for("heart_size")


class TestHeartRateTurbulence:
    @pytest.mark.parametrize(
        ("onset", "slope", "level"),
        [(-2.0, 8.0, "low"), (0.5, 8.0, "intermediate"), (-2.0, 2.0, "intermediate"), (0.0, 2.5, "high")],
    )
    def test_categories(self, onset, slope, level):
        f = score_risk(_healthy(hrt_onset_pct=onset, hrt_slope_ms_per_rr=slope)).factor("hrt")
        assert f.level == level
        assert "TO" in f.note and "TS" in f.note


class TestScore:
    def test_healthy_is_low_and_says_it_does_not_diagnose(self):
        score = score_risk(_healthy())
        assert score.level == "low" and score.points == 0
        assert "not a diagnosis" in score.disclaimer
        assert score.n_assessed == len(score.factors)

    def test_worst_factor_sets_the_level_and_points_add_up(self):
        score = score_risk(_healthy(dc_ms=2.0, sdnn_ms=80.0))
        assert score.level == "high"
        assert score.points == 3
        assert sum(f.contribution for f in score.factors) == score.points

    def test_missing_inputs_are_not_assessed_never_guessed(self):
        inputs = RiskInputs(dc_ms=6.0, missing={"qtc_ms": "needs the ECG signal"})
        score = score_risk(inputs)
        qtc = score.factor("qtc_ms")
        assert qtc.level == "not assessed" and qtc.value is None and qtc.contribution == 0
        assert qtc.note == "needs the ECG signal"
        assert score.factor("af_burden_pct").level == "not assessed"
        assert score.level == "low" and score.n_assessed == 1

    def test_nan_is_not_assessed(self):
        assert score_risk(_healthy(dc_ms=math.nan)).factor("dc_ms").level == "not assessed"

    def test_nothing_assessed(self):
        assert score_risk(RiskInputs()).level == "not assessed"

    def test_every_factor_of_the_issue_is_in_the_table(self):
        names = {f.name for f in score_risk(_healthy()).factors}
        assert names == {
            "dc_ms", "hrt", "sdnn_ms", "pvc_burden_pct", "n_nsvt", "n_sustained_vt",
            "af_burden_pct", "n_st_episodes", "qtc_ms", "longest_pause_s", "model_probability",
        }

    def test_every_factor_shows_value_cutoff_source_contribution(self):
        for f in score_risk(_healthy()).factors:
            assert f.cutoff and f.source and f.level in ("low", "intermediate", "high")
            assert f.value is not None and isinstance(f.contribution, int)

    def test_as_dict_is_json_ready(self):
        import json

        doc = score_risk(RiskInputs(dc_ms=3.0)).as_dict()
        text = json.dumps(doc, allow_nan=False)
        assert '"not assessed"' in text and doc["level"] == "intermediate"

    def test_bad_sex(self):
        with pytest.raises(ValueError, match="sex"):
            score_risk(RiskInputs(sex="x"))


class TestFromRr:
    def test_rr_only_inputs_leave_signal_factors_unassessed(self):
        import dsp

        rng = np.random.default_rng(0)
        rr_ms = 800 + 30 * np.sin(np.arange(6000) / 3) + rng.normal(0, 10, 6000)
        t = np.concatenate(([0.0], np.cumsum(rr_ms) / 1000))
        rr = dsp.rr_series(t, ["N"] * t.size)
        score = models.assess_rr(rr).score
        for name in ("af_burden_pct", "n_st_episodes", "qtc_ms", "model_probability", "hrt"):
            assert score.factor(name).level == "not assessed", name
        assert score.factor("dc_ms").level != "not assessed"
        assert score.factor("n_nsvt").value == 0
