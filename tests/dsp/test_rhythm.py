"""Rhythm detectors on synthetic RR / label sequences with known answers."""

from __future__ import annotations

import numpy as np
import pytest
from naive_beats import centred_median as centred_median_naive

from dsp._rhythm import RHYTHM_STATES, RhythmConfig, analyze_rhythm, centred_median

FS = 250.0


def _beats(rr_s, labels=None):
    t = np.concatenate([[1.0], 1.0 + np.cumsum(rr_s)])
    r = np.round(t * FS).astype(np.int64)
    labels = ["N"] * r.size if labels is None else list(labels)
    return r, labels


def _sinus(n, rr=0.8, jitter=0.01, seed=0):
    return rr + np.random.default_rng(seed).normal(0, jitter, n)


def _kinds(res):
    return [e.kind for e in res.episodes]


class TestAtrialFibrillation:
    def test_onset_and_offset_of_an_af_episode(self):
        rng = np.random.default_rng(1)
        rr = np.concatenate([_sinus(150), rng.uniform(0.35, 1.1, 300), _sinus(150, seed=2)])
        r, labels = _beats(rr)
        res = analyze_rhythm(r, labels, FS)
        af = res.of_kind("AFIB")
        assert len(af) == 1
        onset_beat = 150
        offset_beat = 450
        assert abs(np.searchsorted(r, af[0].start_sample) - onset_beat) <= 16
        assert abs(np.searchsorted(r, af[0].end_sample) - offset_beat) <= 16
        assert "(AFIB" in [aux for _, aux in res.transitions(r)]

    def test_sinus_with_ectopic_beats_is_not_af(self):
        rr = _sinus(600)
        labels = ["N"] * 601
        for i in range(20, 590, 5):  # a premature beat every fifth beat, one in three atrial
            rr[i - 1] *= 0.6
            rr[i] *= 1.4
            labels[i] = "S" if i % 3 == 0 else "V"
        r, labels = _beats(rr, labels)
        assert "AFIB" not in _kinds(analyze_rhythm(r, labels, FS))

    def test_ventricular_bigeminy_is_not_af(self):
        rr = np.tile([0.5, 1.1], 200)
        labels = ["N", "V"] * 200 + ["N"]
        r, labels = _beats(rr, labels)
        kinds = _kinds(analyze_rhythm(r, labels, FS))
        assert "AFIB" not in kinds and "B" in kinds


class TestVentricular:
    def _run(self, n_v, rr_v):
        rr = np.concatenate([_sinus(60), np.full(n_v, rr_v), _sinus(60, seed=3)])
        labels = ["N"] * 61 + ["V"] * n_v + ["N"] * 60
        return _beats(rr, labels)

    def test_couplet(self):
        r, labels = self._run(2, 0.45)
        assert _kinds(analyze_rhythm(r, labels, FS)) == ["COUPLET"]

    def test_nsvt(self):
        r, labels = self._run(8, 0.40)
        res = analyze_rhythm(r, labels, FS)
        vt = res.of_kind("VT")
        assert len(vt) == 1 and vt[0].n_beats == 8 and not vt[0].sustained
        assert 140 < vt[0].rate_bpm < 160
        assert "(VT" in [aux for _, aux in res.transitions(r)]

    def test_sustained_vt(self):
        r, labels = self._run(100, 0.40)  # 40 s at 150 bpm
        vt = analyze_rhythm(r, labels, FS).of_kind("VT")
        assert len(vt) == 1 and vt[0].sustained

    def test_slow_run_is_idioventricular(self):
        r, labels = self._run(5, 0.9)
        assert _kinds(analyze_rhythm(r, labels, FS)) == ["IVR"]

    def test_trigeminy(self):
        rr = np.tile([0.8, 0.5, 1.1], 30)
        labels = ["N", "N", "V"] * 30 + ["N"]
        r, labels = _beats(rr, labels)
        res = analyze_rhythm(r, labels, FS)
        assert "T" in _kinds(res) and "B" not in _kinds(res)


class TestOtherEvents:
    def test_pause(self):
        rr = _sinus(40)
        rr[20] = 2.6
        r, labels = _beats(rr)
        pauses = analyze_rhythm(r, labels, FS).of_kind("PAUSE")
        assert len(pauses) == 1
        assert (pauses[0].end_sample - pauses[0].start_sample) / FS == pytest.approx(2.6, abs=0.01)

    def test_pause_threshold_is_configurable(self):
        rr = _sinus(40)
        rr[20] = 2.6
        r, labels = _beats(rr)
        assert not analyze_rhythm(r, labels, FS, config=RhythmConfig(pause_s=3.0)).of_kind("PAUSE")

    def test_svt_run(self):
        rr = np.concatenate([_sinus(50), np.full(6, 0.4), _sinus(50, seed=4)])
        labels = ["N"] * 51 + ["S"] * 6 + ["N"] * 50
        r, labels = _beats(rr, labels)
        assert "SVTA" in _kinds(analyze_rhythm(r, labels, FS))

    def test_brady_and_tachycardia(self):
        rr = np.concatenate([_sinus(30), np.full(20, 1.7), _sinus(30, seed=5), np.full(20, 0.4), _sinus(30)])
        r, labels = _beats(rr)
        kinds = _kinds(analyze_rhythm(r, labels, FS))
        assert kinds.count("SBR") == 1 and kinds.count("TACH") == 1

    def test_regular_sinus_gives_no_event(self):
        r, labels = _beats(_sinus(500))
        res = analyze_rhythm(r, labels, FS)
        assert res.episodes == ()
        assert set(res.state.tolist()) == {RHYTHM_STATES.index("N")}


class TestNoise:
    def test_noise_never_yields_events(self):
        rng = np.random.default_rng(8)
        # chaotic "beats" (a detector firing on artefact) inside an unusable stretch
        rr = np.concatenate([_sinus(50), rng.uniform(0.2, 3.0, 200), _sinus(50, seed=6)])
        labels = ["N"] * 51 + list(rng.choice(["N", "V", "S"], 200)) + ["N"] * 50
        r, labels = _beats(rr, labels)
        unusable = np.array([[r[50] + 1, r[251] - 1]])
        res = analyze_rhythm(r, labels, FS, unusable)
        assert res.episodes == ()
        noisy = (r > unusable[0, 0]) & (r < unusable[0, 1])
        assert np.all(res.state[noisy] == RHYTHM_STATES.index("NOISE"))
        assert [aux for s, aux in res.transitions(r) if unusable[0, 0] < s < unusable[0, 1]] == []

    def test_interval_spanning_noise_is_no_pause(self):
        rr = _sinus(40)
        rr[20] = 5.0
        r, labels = _beats(rr)
        unusable = np.array([[r[20] + 10, r[21] - 10]])
        assert analyze_rhythm(r, labels, FS, unusable).episodes == ()

    def test_q_beats_break_runs(self):
        rr = np.concatenate([_sinus(30), np.full(6, 0.4), _sinus(30)])
        labels = ["N"] * 31 + ["V", "V", "Q", "V", "V", "V"] + ["N"] * 30
        r, labels = _beats(rr, labels)
        kinds = _kinds(analyze_rhythm(r, labels, FS))
        assert kinds == ["COUPLET", "VT"]


class TestInput:
    def test_empty_and_single_beat(self):
        assert analyze_rhythm([], [], FS).episodes == ()
        assert analyze_rhythm([100], ["V"], FS).episodes == ()

    def test_bad_input(self):
        with pytest.raises(ValueError, match="classes"):
            analyze_rhythm([1, 2], ["N"], FS)
        with pytest.raises(ValueError, match="unknown beat class"):
            analyze_rhythm([1, 2], ["N", "X"], FS)
        with pytest.raises(ValueError, match="increasing"):
            analyze_rhythm([5, 2], ["N", "N"], FS)


@pytest.mark.parametrize("kind", ["random", "empty", "flat", "nan_free_invalid"])
def test_centred_median_matches_reference(kind):
    rng = np.random.default_rng(4)
    values = {"random": rng.random(100), "empty": np.zeros(0), "flat": np.ones(50),
              "nan_free_invalid": rng.random(30)}[kind]
    valid = rng.random(values.size) > 0.3 if kind != "nan_free_invalid" else np.zeros(values.size, bool)
    np.testing.assert_array_equal(centred_median(values, valid, 5), centred_median_naive(values, valid, 5))
