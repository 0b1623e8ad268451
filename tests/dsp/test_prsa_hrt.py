"""Deceleration capacity (Bauer 2006) and heart-rate turbulence (Schmidt 1999) on labelled beats."""

from __future__ import annotations

import numpy as np
import pytest
from naive_rr import hrt_naive, max_slope_naive, prsa_naive

from dsp import deceleration_capacity, heart_rate_turbulence, rr_series


def _series(rr_ms: np.ndarray, labels) -> object:
    times = np.concatenate(([0.0], np.cumsum(rr_ms) / 1000))
    return rr_series(times, labels)


def _sinus(n: int, seed: int = 11, amplitude_ms: float = 25.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    k = np.arange(n)
    return 820 + amplitude_ms * np.sin(2 * np.pi * k / 5.3) + rng.normal(0, 6, n)


class TestDecelerationCapacity:
    def test_equals_the_paper_formula_with_ectopy(self):
        rr_ms = _sinus(3000)
        labels = np.array(["N"] * 3001)
        labels[np.random.default_rng(2).choice(3001, 60, replace=False)] = "V"
        rr = _series(rr_ms, labels)
        res = deceleration_capacity(rr)
        sums, count = prsa_naive(rr.rr_ms, rr.nn_mask, 0.05, True)
        x = sums / count
        assert res.n_dc_anchors == count
        assert res.dc_ms == pytest.approx((x[2] + x[3] - x[1] - x[0]) / 4, rel=1e-12)
        sums_ac, count_ac = prsa_naive(rr.rr_ms, rr.nn_mask, 0.05, False)
        xa = sums_ac / count_ac
        assert res.ac_ms == pytest.approx((xa[2] + xa[3] - xa[1] - xa[0]) / 4, rel=1e-12)

    def test_more_variability_more_capacity_and_ac_is_negative(self):
        low = deceleration_capacity(_series(_sinus(3000, amplitude_ms=8), ["N"] * 3001))
        high = deceleration_capacity(_series(_sinus(3000, amplitude_ms=30), ["N"] * 3001))
        assert 0 < low.dc_ms < high.dc_ms
        assert high.ac_ms < 0

    def test_ectopic_beats_never_enter_the_average(self):
        rr_ms = _sinus(2000)
        labels = np.array(["N"] * 2001)
        labels[500] = "V"
        rr_ms[499] = 300.0  # coupling
        rr_ms[500] = 2000.0  # pause: a huge "deceleration" if it were used
        with_vpc = deceleration_capacity(_series(rr_ms, labels))
        sums, count = prsa_naive(rr_ms, _series(rr_ms, labels).nn_mask, 0.05, True)
        assert with_vpc.n_dc_anchors == count
        assert abs(with_vpc.dc_ms) < 30

    def test_flat_rhythm_has_no_anchor(self):
        res = deceleration_capacity(_series(np.full(100, 800.0), ["N"] * 101))
        assert res.n_dc_anchors == 0 and np.isnan(res.dc_ms)


def _with_turbulence(n_vpc: int = 40, onset_ms: float = -30.0, slope_ms: float = 8.0, seed: int = 5):
    """Sinus rhythm with isolated VPCs followed by early acceleration and late deceleration."""
    rng = np.random.default_rng(seed)
    segments, labels = [], []
    for _ in range(n_vpc):
        pre = 800 + rng.normal(0, 5, 10)
        post = 800 + rng.normal(0, 5, 20)
        post[:2] += onset_ms
        post[2:12] += np.minimum(np.arange(10), 5) * slope_ms
        segments += [pre, [520.0, 1150.0], post]
        labels += ["N"] * 10 + ["V", "N"] + ["N"] * 20
    rr_ms = np.concatenate(segments)
    # labels[k] belongs to the beat ending interval k-1; beat 0 is N
    return _series(rr_ms, ["N", *labels[: rr_ms.size]])


class TestHeartRateTurbulence:
    def test_normal_turbulence_is_found(self):
        res = heart_rate_turbulence(_with_turbulence())
        assert res.n_vpc == 40 and res.n_vpc_used >= 35
        assert res.turbulence_onset_pct < -2  # early acceleration: TO < 0 is normal
        assert res.turbulence_slope_ms_per_rr > 5  # late deceleration: TS > 2.5 is normal

    def test_blunted_turbulence_is_abnormal(self):
        res = heart_rate_turbulence(_with_turbulence(onset_ms=0.0, slope_ms=0.0))
        assert res.turbulence_slope_ms_per_rr < 2.5

    def test_equals_the_paper_definition(self):
        rr = _with_turbulence(onset_ms=-15, slope_ms=3)
        res = heart_rate_turbulence(rr)
        onsets, posts, n_vpc = hrt_naive(rr.rr_ms, rr.nn_mask, rr.beat_code, 2)
        assert res.n_vpc == n_vpc and res.n_vpc_used == onsets.size
        assert res.turbulence_onset_pct == pytest.approx(onsets.mean(), rel=1e-12)
        assert res.turbulence_slope_ms_per_rr == pytest.approx(
            max_slope_naive(posts.mean(axis=0)), rel=1e-9
        )

    def test_no_qualifying_vpc_gives_nan(self):
        res = heart_rate_turbulence(_series(np.full(100, 800.0), ["N"] * 101))
        assert res.n_vpc == 0 and res.n_vpc_used == 0
        assert np.isnan(res.turbulence_onset_pct) and np.isnan(res.turbulence_slope_ms_per_rr)

    def test_vpc_without_prematurity_is_filtered_out(self):
        rr_ms = np.full(60, 800.0)
        labels = ["N"] * 61
        labels[30] = "V"  # labelled V but not premature: no turbulence measurable
        res = heart_rate_turbulence(_series(rr_ms, labels))
        assert res.n_vpc == 1 and res.n_vpc_used == 0
