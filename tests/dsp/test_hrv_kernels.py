"""The RR-interval Numba kernels against the slow references in naive_rr.py.

Each kernel is fed random, empty, flat, NaN and saturated input (STYLE.md rule 4).
"""

from __future__ import annotations

import numpy as np
import pytest
from naive_rr import hrt_naive, lomb_naive, prsa_naive

from dsp._hrv_kernels import hrt_kernel, lomb_power, prsa_sums

RNG_SEED = 20061
KINDS = ["random", "empty", "flat", "nan", "saturated"]


def _rr(kind: str, n: int = 400, seed: int = RNG_SEED) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "empty":
        return np.zeros(0)
    if kind == "flat":
        return np.full(n, 800.0)
    rr = 800 + 40 * np.sin(np.arange(n) / 3.0) + rng.normal(0, 25, n)
    if kind == "nan":
        rr[rng.choice(n, 7, replace=False)] = np.nan
    if kind == "saturated":
        rr = np.minimum(rr, 810.0)  # long flat stretches at a ceiling: ties everywhere
    return rr


def _times(rr: np.ndarray) -> np.ndarray:
    return np.cumsum(np.nan_to_num(rr, nan=800.0)) / 1000.0


class TestLombKernel:
    @pytest.mark.parametrize("kind", KINDS)
    def test_matches_the_definition(self, kind):
        rr = _rr(kind, n=300)
        t = _times(rr)
        y = rr - (np.nanmean(rr) if rr.size else 0.0)
        f0, df, m = 1 / 1200, 1 / 1200, 480
        got = lomb_power(t, y, f0, df, m)
        want = lomb_naive(t, y, f0 + df * np.arange(m))
        np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-9 * max(1.0, np.nanmax(np.abs(want), initial=0)))

    def test_uneven_times_with_a_gap(self):
        rng = np.random.default_rng(3)
        t = np.sort(rng.uniform(0, 300, 350))
        t = np.concatenate((t[t < 100], t[t > 160]))  # a minute without beats
        y = rng.normal(0, 30, t.size)
        f = 0.01 + 0.002 * np.arange(150)
        np.testing.assert_allclose(lomb_power(t, y, 0.01, 0.002, 150), lomb_naive(t, y, f), rtol=1e-8)

    def test_nan_propagates(self):
        rr = _rr("nan")
        got = lomb_power(_times(rr), rr - 800, 0.01, 0.01, 10)
        assert np.isnan(got).all()


class TestPrsaKernel:
    @pytest.mark.parametrize("decelerations", [True, False])
    @pytest.mark.parametrize("kind", KINDS)
    def test_matches_the_definition(self, kind, decelerations):
        rr = _rr(kind)
        ok = np.ones(rr.size, dtype=bool)
        if rr.size:
            ok[np.random.default_rng(1).choice(rr.size, 20, replace=False)] = False
        sums, count = prsa_sums(rr, ok, 0.05, decelerations)
        want_sums, want_count = prsa_naive(rr, ok, 0.05, decelerations)
        assert count == want_count
        np.testing.assert_allclose(sums, want_sums, rtol=1e-12)
        if kind in ("random", "saturated"):
            assert count > 0
        if kind in ("empty", "flat"):
            assert count == 0


def _beats_with_vpcs(kind: str, seed: int = RNG_SEED):
    rng = np.random.default_rng(seed)
    n = 0 if kind == "empty" else 2000
    rr = np.full(n, 800.0) if kind == "flat" else 800 + 20 * np.sin(np.arange(n) / 4) + rng.normal(0, 8, n)
    codes = np.zeros(n + 1, dtype=np.uint8)
    for j in range(30, n - 30, 60):
        codes[j] = 2  # V
        rr[j - 1] *= 0.62  # premature coupling interval
        rr[j] *= 1.45  # compensatory pause
        rr[j + 1 : j + 4] -= 25  # early acceleration
        rr[j + 4 : j + 14] += np.linspace(0, 60, 10)  # late deceleration
    if kind == "nan" and n:
        rr[rng.choice(n, 15, replace=False)] = np.nan
    if kind == "saturated" and n:
        rr = np.minimum(rr, 805.0)
    nn_ok = (codes[:-1] == 0) & (codes[1:] == 0) if n else np.zeros(0, dtype=bool)
    if n:
        nn_ok[rng.choice(n, 25, replace=False)] = False
    return rr, nn_ok, codes


class TestHrtKernel:
    @pytest.mark.parametrize("kind", KINDS)
    def test_matches_the_definition(self, kind):
        rr, nn_ok, codes = _beats_with_vpcs(kind)
        onset, post, n_vpc = hrt_kernel(
            rr, nn_ok, codes, 2, 5, 15, 300.0, 2000.0, 200.0, 0.2, 0.8, 1.2
        )
        want_onset, want_post, want_n = hrt_naive(rr, nn_ok, codes, 2)
        assert n_vpc == want_n
        np.testing.assert_allclose(onset, want_onset, rtol=1e-12)
        np.testing.assert_allclose(post, want_post, rtol=1e-12)
        if kind == "random":
            assert 0 < onset.size < n_vpc  # some VPCs qualify, some are filtered out
