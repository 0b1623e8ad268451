"""QT, QTc and the QT/RR relation: kernel against a NumPy reference, hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest
from naive_st import qt_ref
from synth import synth_ecg

import dsp
from dsp import _qt as Q

KINDS = ["random", "empty", "flat", "nan", "saturated"]
FS = 250.0


def _fiducials(kind, seed=0):
    rng = np.random.default_rng(seed)
    n = 0 if kind == "empty" else 200
    r = np.cumsum(rng.integers(60, 320, n)).astype(np.int64)  # RR 240-1280 ms at 250 Hz
    onset = r - rng.integers(5, 20, n)
    t_end = r + rng.integers(40, 200, n)
    if kind == "flat":
        r = np.arange(n, dtype=np.int64) * 200
        onset, t_end = r - 10, r + 90
    elif kind == "nan" and n:  # "not found" is -1 for sample indices
        onset[rng.choice(n, 20, replace=False)] = -1
        t_end[rng.choice(n, 20, replace=False)] = -1
    elif kind == "saturated":
        t_end = np.minimum(t_end, r + 50)  # every QT at the lower plausibility limit or below
    return r, onset.astype(np.int64), t_end.astype(np.int64)


class TestQtKernel:
    @pytest.mark.parametrize("kind", KINDS)
    def test_against_reference(self, kind):
        r, onset, t_end = _fiducials(kind)
        args = (FS, *Q.QT_RANGE_MS, *Q.RR_RANGE_MS)
        got = Q._qt_kernel(r, onset, t_end, *args)
        ref = qt_ref(r, onset, t_end, *args)
        for g, e in zip(got, ref, strict=True):
            np.testing.assert_allclose(g, e, rtol=1e-12, atol=0)
        if kind == "flat":
            np.testing.assert_allclose(got[0][1:], 400.0)  # beat 0 at sample 0: onset -10
            np.testing.assert_allclose(got[2][1:], 400.0 / np.sqrt(0.8))

    def test_hand_computed_qtc(self):
        # QT 400 ms at RR 640 ms: Bazett 400 / 0.8 = 500; Fridericia 400 / 0.64 ** (1/3) = 464.16
        r = np.array([0, 160], np.int64)  # 640 ms at 250 Hz
        qt, rr, qtb, qtf = Q._qt_kernel(r, r - 10, r + 90, FS, *Q.QT_RANGE_MS, *Q.RR_RANGE_MS)
        assert np.isnan(rr[0]) and np.isnan(qtb[0])  # no preceding RR for the first beat
        assert rr[1] == 640.0 and qt[1] == 400.0
        assert qtb[1] == pytest.approx(500.0)
        assert qtf[1] == pytest.approx(464.1588833612779)
        # at RR 1 s every correction is the QT itself
        b, f = Q.qtc_from_qt(380.0, 1000.0)
        assert b == pytest.approx(380.0) and f == pytest.approx(380.0)
        # QT 360 ms at RR 1.44 s: 360 / 1.2 = 300 (Bazett); 360 / 1.1292 = 318.80 (Fridericia)
        b, f = Q.qtc_from_qt(360.0, 1440.0)
        assert b == pytest.approx(300.0) and f == pytest.approx(318.7976, abs=1e-3)


class TestMeasureQt:
    def test_synthetic_qt_is_plausible_and_rate_corrected(self):
        ecg = synth_ecg(FS, 60.0, hr_bpm=75, noise_mv=0.005, seed=1)
        q = dsp.measure_qt(ecg.signal_mv, FS, ecg.r_samples)
        assert np.isnan(q.rr_ms[0]) and np.isnan(q.qtc_bazett_ms[0])
        inner = slice(1, -1)
        # synth waves: QRS starts ~45 ms before R; T (0.25 s, SD 45-50 ms) ends ~0.35-0.40 s after R
        assert 350 < np.nanmedian(q.qt_ms[inner]) < 470
        np.testing.assert_allclose(q.rr_ms[1:], np.diff(ecg.r_samples) * 1000 / FS)
        ok = np.isfinite(q.qtc_bazett_ms)
        np.testing.assert_allclose(
            q.qtc_bazett_ms[ok], q.qt_ms[ok] / np.sqrt(q.rr_ms[ok] / 1000), rtol=1e-12
        )

    def test_bad_input_messages(self):
        with pytest.raises(ValueError, match=r"fs_hz must be between 100 and 1000 Hz, got 50"):
            dsp.measure_qt(np.zeros(1000), 50.0, np.array([100]))
        with pytest.raises(ValueError, match=r"r_peaks must be strictly increasing"):
            dsp.measure_qt(np.zeros(1000), FS, np.array([300, 100]))
        with pytest.raises(ValueError, match=r"signal must have at least 10 samples, got 5"):
            dsp.measure_qt(np.zeros(5), FS, np.array([1]))


class TestQtRrRelation:
    def _qt(self, r, qt_ms):
        rr = np.concatenate([[np.nan], np.diff(r) * 1000 / FS])
        b, f = Q.qtc_from_qt(qt_ms, rr)
        return dsp.QtIntervals(r_peak=r, qt_ms=qt_ms, rr_ms=rr, qtc_bazett_ms=b, qtc_fridericia_ms=f)

    def test_linear_relation_is_recovered_per_hour(self):
        rng = np.random.default_rng(0)
        rr_s = rng.uniform(0.6, 1.2, 10000)  # ~2.5 h of beats
        r = np.cumsum(np.round(rr_s * FS)).astype(np.int64)
        rr = np.concatenate([[800.0], np.diff(r) * 1000 / FS])
        qt = 250.0 + 0.16 * rr  # exactly linear
        rel = dsp.qt_rr_relation(self._qt(r, qt), r, FS, period_s=3600)
        assert rel.period_start_s.tolist() == [0.0, 3600.0, 7200.0]
        assert rel.n_beats.sum() == r.size - 1
        np.testing.assert_allclose(rel.slope, 0.16, rtol=1e-9)
        assert rel.overall_slope == pytest.approx(0.16) and rel.overall_intercept_ms == pytest.approx(250.0)
        hour0 = (r / FS < 3600) & (np.arange(r.size) > 0)
        assert rel.median_qt_ms[0] == pytest.approx(np.median(qt[hour0]))
        assert rel.median_rr_ms[0] == pytest.approx(np.median(rr[hour0]))

    def test_sparse_periods_are_nan(self):
        r = np.array([100, 300, 500, 1_000_000], np.int64)
        rel = dsp.qt_rr_relation(self._qt(r, np.full(4, 400.0)), r, FS, period_s=60)
        assert np.isnan(rel.median_qt_ms).all() and np.isnan(rel.overall_slope)
        assert rel.n_beats.size == int(1_000_000 / FS // 60) + 1

    def test_bad_input_messages(self):
        r = np.array([100, 300, 500], np.int64)
        q = self._qt(r, np.full(3, 400.0))
        with pytest.raises(ValueError, match=r"period_s must be a positive number, got 0"):
            dsp.qt_rr_relation(q, r, FS, period_s=0)
        with pytest.raises(ValueError, match=r"r_peaks has 2 beats but qt has 3"):
            dsp.qt_rr_relation(q, r[:2], FS)
        with pytest.raises(ValueError, match=r"qt must be a QtIntervals"):
            dsp.qt_rr_relation({"qt_ms": []}, r, FS)
