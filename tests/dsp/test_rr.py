"""RR / NN series from labelled beats: which intervals are NN, and bad input."""

from __future__ import annotations

import numpy as np
import pytest

import dsp
from dsp import InvalidParameterError, InvalidSignalError, rr_series, rr_series_from_samples


class TestNnDefinition:
    def test_intervals_touching_an_ectopic_beat_are_not_nn(self):
        t = np.array([0.0, 0.8, 1.6, 2.1, 3.2, 4.0, 4.8])
        rr = rr_series(t, list("NNNVNNN"))
        np.testing.assert_allclose(rr.rr_ms, [800, 800, 500, 1100, 800, 800])
        assert rr.nn_mask.tolist() == [True, True, False, False, True, True]
        np.testing.assert_allclose(rr.nn_ms, [800, 800, 800, 800])

    @pytest.mark.parametrize("label", ["A", "V", "F", "Q"])
    def test_every_non_normal_class_is_excluded(self, label):
        rr = rr_series(np.arange(5) * 0.8, ["N", "N", label, "N", "N"])
        assert rr.nn_mask.tolist() == [True, False, False, True]

    def test_out_of_range_intervals_are_not_nn_but_stay_usable(self):
        rr = rr_series(np.array([0.0, 0.8, 0.9, 4.0, 4.8]), list("NNNNN"))
        assert rr.nn_mask.tolist() == [True, False, False, True]
        assert rr.usable_mask.all()  # a 3.1 s interval is a pause candidate

    def test_interval_spanning_a_noise_marker_is_unusable(self):
        rr = rr_series(np.arange(5) * 0.8, list("NNNNN"), noise_time_s=np.array([1.9]))
        assert rr.nn_mask.tolist() == [True, True, False, True]
        assert rr.usable_mask.tolist() == [True, True, False, True]

    def test_samples_and_seconds_agree(self):
        samples = np.array([100, 202, 305, 410, 512])
        a = rr_series_from_samples(samples, 128.0, list("NNVNN"))
        b = rr_series(samples / 128.0, list("NNVNN"))
        np.testing.assert_array_equal(a.rr_ms, b.rr_ms)
        np.testing.assert_array_equal(a.nn_mask, b.nn_mask)

    def test_integer_codes_are_accepted(self):
        rr = rr_series(np.arange(4) * 0.8, np.array([0, 2, 0, 0]))
        assert rr.nn_mask.tolist() == [False, False, True]

    def test_result_is_frozen(self):
        rr = rr_series(np.arange(3) * 0.8, list("NNN"))
        with pytest.raises(AttributeError):
            rr.rr_ms = np.zeros(2)  # type: ignore[misc]

    def test_empty_and_single_beat(self):
        for n in (0, 1):
            rr = rr_series(np.arange(n, dtype=float), ["N"] * n)
            assert rr.rr_ms.shape == (0,)
            assert rr.duration_s == 0.0


class TestBadInput:
    def test_unknown_label_is_named(self):
        with pytest.raises(InvalidParameterError, match=r"beat classes N/A/V/F/Q; got \['L'\]"):
            rr_series(np.arange(3.0), ["N", "L", "N"])

    def test_label_count_must_match(self):
        with pytest.raises(InvalidParameterError, match="one label per beat"):
            rr_series(np.arange(3.0), ["N", "N"])

    def test_times_must_increase(self):
        with pytest.raises(InvalidSignalError, match="strictly increasing; beat 2"):
            rr_series(np.array([0.0, 1.0, 1.0]), list("NNN"))

    def test_times_must_be_finite(self):
        with pytest.raises(InvalidSignalError, match="finite"):
            rr_series(np.array([0.0, np.nan]), list("NN"))

    def test_fs_must_be_positive(self):
        with pytest.raises(InvalidParameterError, match="fs_hz"):
            rr_series_from_samples(np.arange(3), 0.0, list("NNN"))

    def test_errors_are_value_errors(self):
        assert issubclass(InvalidParameterError, ValueError)
        assert issubclass(dsp.InvalidSignalError, ValueError)


class TestFromAnnotation:
    def test_symbols_are_grouped_and_non_beats_dropped(self):
        samples = np.array([0, 100, 150, 200, 250, 300, 350, 400, 450])
        symbols = ["N", "L", "|", "V", "~", "a", "+", "/", "F"]
        rr = dsp.rr_series_from_annotation(samples, symbols, 100.0)
        assert "".join(dsp.BEAT_CLASSES[c] for c in rr.beat_code) == "NNVAQF"
        np.testing.assert_allclose(rr.beat_time_s, [0.0, 1.0, 2.0, 3.0, 4.0, 4.5])
        # the '~' at 2.5 s falls inside the V -> A interval: unusable
        assert rr.usable_mask.tolist() == [True, True, False, True, True]

    def test_every_mitbih_beat_symbol_has_a_class(self):
        assert set("NLRBAaJSVrFejnE/fQ?") <= set(dsp.CLASS_OF_SYMBOL)

    def test_length_mismatch(self):
        with pytest.raises(InvalidParameterError, match="one length"):
            dsp.rr_series_from_annotation(np.arange(3), ["N"], 100.0)
