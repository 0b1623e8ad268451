"""The 24-hour report: analysis, report.json (against its schema) and report.html.

Every number checked here is recomputed with the lower-level functions (``holter
detect``'s annotations, dsp on the whole record) on the bundled MIT-BIH 119.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import re

import jsonschema
import numpy as np
import pytest
import wfdb

import dsp
from edge._analyze import analyze_record
from edge._beat_measures import BeatMeasurer
from edge._report_html import SECTIONS, render_html
from edge._report_json import SCHEMA_VERSION, load_schema, report_document
from edge._stream import detect_record
from holter._cli import main

FS = 360.0


@pytest.fixture(scope="module")
def analysis(sample_record):
    return analyze_record(sample_record, chunk_s=60.0)


@pytest.fixture(scope="module")
def document(analysis):
    return report_document(analysis)


@pytest.fixture(scope="module")
def signal(sample_record) -> np.ndarray:
    return wfdb.rdrecord(str(sample_record)).p_signal


@pytest.fixture(scope="module")
def hol(sample_record, tmp_path_factory):
    """``holter detect``'s annotation of the sample: (samples, symbols)."""
    out = tmp_path_factory.mktemp("hol")
    with contextlib.redirect_stderr(io.StringIO()):
        assert main(["detect", str(sample_record), "--out-dir", str(out)]) == 0
    ann = wfdb.rdann(str(out / "119"), "hol")
    return np.asarray(ann.sample), list(ann.symbol)


class TestSchema:
    def test_the_schema_is_a_valid_json_schema(self):
        jsonschema.Draft202012Validator.check_schema(load_schema())

    def test_the_document_validates_and_is_strict_json(self, document):
        jsonschema.Draft202012Validator(load_schema()).validate(document)
        text = json.dumps(document, allow_nan=False)  # no NaN / inf anywhere
        assert json.loads(text)["schema_version"] == SCHEMA_VERSION

    @pytest.mark.parametrize(
        "damage",
        ["drop_risk", "nan_sdnn", "bad_level", "unknown_key", "bad_event_type"],
    )
    def test_the_schema_rejects_a_damaged_document(self, document, damage):
        doc = copy.deepcopy(document)
        if damage == "drop_risk":
            del doc["risk"]
        elif damage == "nan_sdnn":
            doc["hrv"]["sdnn_ms"] = "41 ms"
        elif damage == "bad_level":
            doc["risk"]["factors"][0]["level"] = "very high"
        elif damage == "unknown_key":
            doc["record"]["patient_name"] = "someone"
        else:
            doc["events"][0]["type"] = "STORM"
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.Draft202012Validator(load_schema()).validate(doc)


class TestNumbersAgree:
    def test_beat_counts_equal_holter_detect(self, document, hol):
        samples, symbols = hol
        beats = [s for s in symbols if s in "NAVFQ"]
        assert document["beats"]["n_beats"] == len(beats)
        counts = document["beats"]["counts"]
        for ours, theirs in (("N", "N"), ("S", "A"), ("V", "V"), ("F", "F"), ("Q", "Q")):
            assert counts[ours] == beats.count(theirs)
        # 119 is bigeminy / trigeminy: hundreds of V beats
        assert counts["V"] > 300

    def test_hrv_equals_dsp_on_the_same_nn_series(self, document, hol):
        samples, symbols = hol
        rr = dsp.rr_series_from_annotation(samples, symbols, FS)
        td = dsp.hrv_time_domain(rr)
        assert document["hrv"]["n_nn"] == td.n_nn
        assert document["hrv"]["sdnn_ms"] == pytest.approx(td.sdnn_ms, abs=1e-3)
        assert document["hrv"]["rmssd_ms"] == pytest.approx(td.rmssd_ms, abs=1e-3)
        dc = dsp.deceleration_capacity(rr).dc_ms
        assert document["deceleration_capacity"]["dc_ms"] == pytest.approx(dc, abs=1e-3)

    def test_ectopy_and_events_follow_the_rhythm_analysis(self, analysis, document):
        rhythm = analysis.labels.rhythm
        rhythm_events = [e for e in document["events"] if e["type"] != "ST"]
        assert len(rhythm_events) == len(rhythm.episodes)
        assert {e["type"] for e in rhythm_events} >= {"B", "T"}  # bigeminy, trigeminy in 119
        assert sum(document["hourly"]["v_per_hour"]) == document["beats"]["counts"]["V"]

    def test_delineation_st_and_qt_equal_the_whole_record_functions(self, analysis, signal):
        r = analysis.beats.r_peaks
        whole = dsp.delineate_beats(signal, FS, r)
        for key in ("qrs_onset", "qrs_offset", "t_peak", "t_end", "p_present"):
            np.testing.assert_array_equal(analysis.measures[key], getattr(whole, key), err_msg=key)
        qt = dsp.measure_qt(signal, FS, r)
        np.testing.assert_array_equal(analysis.measures["qt_ms"], qt.qt_ms)
        np.testing.assert_array_equal(analysis.measures["qtc_fridericia_ms"], qt.qtc_fridericia_ms)
        j = np.where((whole.qrs_offset > r) & (whole.qrs_offset <= r + 72), whole.qrs_offset, -1)
        st = dsp.measure_st(signal, FS, r, qrs_offset=j).st_uv
        ours = analysis.measures["st_uv"]
        np.testing.assert_array_equal(np.isnan(ours), np.isnan(st))
        # the baseline spline sees a window, not the whole record: sub-microvolt differences
        assert np.nanmax(np.abs(ours - st)) < 1.0

    def test_the_signal_based_risk_factors_are_assessed(self, analysis, document, signal):
        factors = {f["name"]: f for f in document["risk"]["factors"]}
        for name in ("af_burden_pct", "n_st_episodes", "qtc_ms"):
            assert factors[name]["level"] != "not assessed", name
        qt = dsp.measure_qt(signal, FS, analysis.beats.r_peaks)
        normal = np.asarray(analysis.labels.classes) == "N"
        qtc = qt.qtc_fridericia_ms[normal]
        assert factors["qtc_ms"]["value"] == pytest.approx(np.median(qtc[np.isfinite(qtc)]), abs=1e-3)
        assert factors["n_st_episodes"]["value"] == len(analysis.st_episodes)
        assert document["risk"]["disclaimer"]

    def test_the_result_does_not_depend_on_the_chunk_length(self, sample_record, analysis):
        other = analyze_record(sample_record, chunk_s=7.0, run_model=False)
        np.testing.assert_array_equal(other.beats.r_peaks, analysis.beats.r_peaks)
        assert other.labels.classes == analysis.labels.classes
        np.testing.assert_array_equal(other.measures["t_end"], analysis.measures["t_end"])
        np.testing.assert_allclose(other.measures["st_uv"], analysis.measures["st_uv"], atol=1.0)


class TestBoundedMemory:
    def test_the_measurer_holds_a_window_not_the_record(self, sample_record):
        measurer = BeatMeasurer()
        held = []

        def hook(record, block, peaks):
            measurer(record, block, peaks)
            held.append(measurer.buffered_samples)

        beats = detect_record(sample_record, chunk_s=60.0, on_block=hook)
        assert beats.record.n_samples > 20 * 60 * FS
        # at most a chunk plus the margins and the detector's search-back
        assert max(held) <= (60.0 + 2 * measurer.margin_s + 10.0) * FS


class TestStrips:
    def test_one_strip_per_event_type_with_its_labelled_beats(self, analysis, document):
        types = {e["type"] for e in document["events"]}
        strips = document["strips"]
        assert {s["event_type"] for s in strips} == types
        symbols = dict(zip((analysis.beats.r_peaks / FS).round(4).tolist(), analysis.labels.symbols, strict=True))
        for s in strips:
            assert s["end_s"] - s["start_s"] == pytest.approx(10.0)
            assert s["beats"], s["event_type"]
            for beat in s["beats"]:
                assert s["start_s"] <= beat["time_s"] <= s["end_s"]
                assert symbols[beat["time_s"]] == beat["label"]
        bigeminy = next(s for s in strips if s["event_type"] == "B")
        longest = max(e["duration_s"] for e in document["events"] if e["type"] == "B")
        assert bigeminy["event"]["duration_s"] == longest
        assert "V" in {b["label"] for b in bigeminy["beats"]}


@pytest.fixture(scope="module")
def page(analysis, document) -> str:
    return render_html(analysis, document)


class TestHtml:
    def test_self_contained(self, page):
        assert not re.search(r"https?://", page)
        assert not re.search(r"<script|<link|@import|url\(", page, re.IGNORECASE)
        for src in re.findall(r'src="([^"]*)"', page):
            assert src.startswith("data:image/png;base64,")

    def test_has_every_section_and_the_plots(self, page):
        for sid, title in SECTIONS:
            assert f'<section id="{sid}"><h2>{title}</h2>' in page
        assert page.count("data:image/png;base64,") >= 6
        assert "does not diagnose" in page

    def test_the_factor_table_shows_value_cutoff_source_contribution(self, page, document):
        for f in document["risk"]["factors"]:
            assert f["title"].replace("&", "&amp;") in page
        assert "Kleiger" in page and "contribution" in page
