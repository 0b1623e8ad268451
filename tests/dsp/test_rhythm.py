"""Rhythm detectors on synthetic RR / label sequences with known answers."""

from __future__ import annotations

import naive_rhythm
import numpy as np
import pytest

from dsp import InvalidParameterError
from dsp._rhythm import (
    RHYTHM_STATES,
    RhythmConfig,
    _allorhythmia,
    analyze_rhythm,
    analyze_rhythm_sveb_in_af,
    beats_in_episodes,
)
from dsp._rhythm_af import grouped_median, hysteresis

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
        # the edges are moved to the boundary beat, not left half a window (16 beats) away
        assert abs(np.searchsorted(r, af[0].start_sample) - onset_beat) <= 4
        assert abs(np.searchsorted(r, af[0].end_sample) - offset_beat) <= 4
        assert "(AFIB" in [aux for _, aux in res.transitions(r)]

    @pytest.mark.parametrize("seed", [3, 4, 5])
    def test_slow_af_with_frequent_ventricular_beats(self, seed):
        # 300 beats of AF at 55 bpm (coefficient of variation 0.15), one beat in four V
        rng = np.random.default_rng(seed)
        af_rr = 1.1 * (1 + 0.15 * rng.standard_normal(300)).clip(0.4, 2.0)
        rr = np.concatenate([_sinus(100), af_rr, _sinus(100, seed=seed)])
        labels = ["N"] * (rr.size + 1)
        for i in range(101, 400):
            if rng.random() < 0.25 and labels[i - 1] != "V":
                labels[i] = "V"
        r, labels = _beats(rr, labels)
        res = analyze_rhythm(r, labels, FS)
        af = res.of_kind("AFIB")
        assert len(af) == 1  # not cut at the ventricular beats
        first, last = np.searchsorted(r, [af[0].start_sample, af[0].end_sample])
        assert first >= 100 - 4 and last <= 400 + 4
        assert last - first >= 0.85 * 300

    def test_af_onset_does_not_need_the_sinus_before_it(self):
        rng = np.random.default_rng(9)
        r, labels = _beats(rng.uniform(0.4, 1.0, 200))
        af = analyze_rhythm(r, labels, FS).of_kind("AFIB")
        assert len(af) == 1 and af[0].start_sample <= r[3] and af[0].end_sample >= r[-4]

    def test_sliding_window_finds_the_whole_record_onset(self):
        # the gateway re-runs the detectors on the last 300 s after every block
        rng = np.random.default_rng(11)
        rr = np.concatenate([_sinus(300), rng.uniform(0.4, 1.0, 400), _sinus(300, seed=4)])
        r, labels = _beats(rr)
        whole = analyze_rhythm(r, labels, FS).of_kind("AFIB")
        assert len(whole) == 1
        onset = whole[0].start_sample
        codes = np.zeros(r.size, np.int64)
        for end in np.arange(onset + 60 * FS, onset + 240 * FS, 10 * FS):
            lo, hi = np.searchsorted(r, [end - 300 * FS, end])
            af = analyze_rhythm(r[lo:hi], codes[lo:hi], FS).of_kind("AFIB")
            assert [e.start_sample for e in af] == [onset]

    def test_short_burst_is_not_an_episode(self):
        rng = np.random.default_rng(2)
        rr = np.concatenate([_sinus(150), rng.uniform(0.4, 1.0, 30), _sinus(150, seed=2)])  # ~21 s
        r, labels = _beats(rr)
        assert "AFIB" not in _kinds(analyze_rhythm(r, labels, FS))

    def test_sinus_with_ectopic_beats_is_not_af(self):
        rr = _sinus(600)
        labels = ["N"] * 601
        for i in range(20, 590, 5):  # a premature beat every fifth beat, one in three atrial
            rr[i - 1] *= 0.6
            rr[i] *= 1.4
            labels[i] = "S" if i % 3 == 0 else "V"
        r, labels = _beats(rr, labels)
        assert "AFIB" not in _kinds(analyze_rhythm(r, labels, FS))

    @pytest.mark.parametrize("label", ["S", "N"])
    def test_atrial_bigeminy_is_not_af(self, label):
        # premature atrial beats every other beat, some blocked (long pauses): RR alternate
        # short-long, and a classifier may call the premature beats N
        rng = np.random.default_rng(5)
        rr = np.tile([0.5, 1.45], 150) * (1 + 0.02 * rng.standard_normal(300))
        rr[::7] = 2.0  # a blocked premature beat now and then
        labels = ["N", label] * 150 + ["N"]
        r, labels = _beats(rr, labels)
        assert "AFIB" not in _kinds(analyze_rhythm(r, labels, FS))

    @pytest.mark.parametrize("beats_per_breath", [3.5, 4.5, 6.0])
    def test_sinus_arrhythmia_is_not_af(self, beats_per_breath):
        # respiratory sinus arrhythmia of +-7 % and a slow drift (from about +-10 % with
        # fast breathing, sinus arrhythmia is as irregular as AF to an RR-only detector)
        n = 800
        breath = 0.07 * np.sin(2 * np.pi * np.arange(n) / beats_per_breath)
        rr = 0.9 * (1 + breath) + 0.1 * np.sin(np.arange(n) / 80)
        r, labels = _beats(rr)
        assert "AFIB" not in _kinds(analyze_rhythm(r, labels, FS))

    def test_ventricular_bigeminy_is_not_af(self):
        rr = np.tile([0.5, 1.1], 200)
        labels = ["N", "V"] * 200 + ["N"]
        r, labels = _beats(rr, labels)
        kinds = _kinds(analyze_rhythm(r, labels, FS))
        assert "AFIB" not in kinds and "B" in kinds


class TestSvebInAf:
    """Premature supraventricular beats inside AF are conducted AF beats (N)."""

    def _record(self):
        rng = np.random.default_rng(1)
        rr = np.concatenate([_sinus(150), rng.uniform(0.35, 1.1, 300), _sinus(150, seed=2)])
        r, labels = _beats(rr)
        short = np.flatnonzero(np.diff(r) < 0.75 * 0.8 * FS) + 1
        labels = ["S" if i in set(short.tolist()) else c for i, c in enumerate(labels)]
        labels[60] = "S"  # an atrial premature beat in the sinus rhythm before the AF
        labels[100] = "A"
        return r, labels

    def test_s_inside_af_becomes_n_and_outside_stays(self):
        r, labels = self._record()
        rhythm, relabelled = analyze_rhythm_sveb_in_af(r, labels, FS)
        new = ["N" if x else c for c, x in zip(labels, relabelled, strict=True)]
        (af,) = rhythm.of_kind("AFIB")
        inside = beats_in_episodes(r, [af])
        was_s = np.array([c in ("S", "A") for c in labels])
        assert np.array_equal(relabelled, was_s & inside) and relabelled.sum() > 20
        assert new[60] == "S" and new[100] == "A"
        assert [c for c, i in zip(new, inside, strict=True) if not i] == [
            c for c, i in zip(labels, inside, strict=True) if not i
        ]

    def test_the_rhythm_is_that_of_the_relabelled_beats(self):
        # with af_keep_s off, S beats are left out of the AF measure; as N they join it
        # and the episode grows: the analysis is repeated
        cfg = RhythmConfig(af_keep_s=False)
        r, labels = self._record()
        before = analyze_rhythm(r, labels, FS, config=cfg).of_kind("AFIB")
        rhythm, relabelled = analyze_rhythm_sveb_in_af(r, labels, FS, config=cfg)
        new = ["N" if x else c for c, x in zip(labels, relabelled, strict=True)]
        assert rhythm.of_kind("AFIB") == analyze_rhythm(r, new, FS, config=cfg).of_kind("AFIB")
        assert rhythm.of_kind("AFIB")[0].start_sample <= before[0].start_sample
        assert rhythm.of_kind("AFIB")[0].n_beats > before[0].n_beats

    def test_no_af_changes_nothing(self):
        r, labels = _beats(_sinus(300))
        labels[100] = "S"
        rhythm, relabelled = analyze_rhythm_sveb_in_af(r, labels, FS)
        assert not relabelled.any() and not rhythm.of_kind("AFIB")

    def test_beats_in_episodes_is_inclusive(self):
        r = np.arange(0, 1000, 100)
        (af,) = analyze_rhythm(*_beats(np.random.default_rng(9).uniform(0.4, 1.0, 200)), FS).of_kind("AFIB")
        assert beats_in_episodes(np.array([af.start_sample - 1, af.start_sample, af.end_sample,
                                           af.end_sample + 1]), [af]).tolist() == [False, True, True, False]
        assert not beats_in_episodes(r, []).any()


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


def _kernel_input(kind, rng):
    values = {"random": rng.random(100), "empty": np.zeros(0), "flat": np.ones(50),
              "nan": np.where(rng.random(80) < 0.3, np.nan, rng.random(80)),
              "all_nan": np.full(20, np.nan), "huge": np.full(40, 1e300)}[kind]
    return values


KERNEL_INPUTS = ["random", "empty", "flat", "nan", "all_nan", "huge"]


@pytest.mark.parametrize("kind", KERNEL_INPUTS)
@pytest.mark.parametrize(("half", "min_count"), [(5, 1), (16, 8), (0, 1), (3, 10)])
def test_grouped_median_matches_reference(kind, half, min_count):
    rng = np.random.default_rng(4)
    values = _kernel_input(kind, rng)
    group = np.cumsum(rng.random(values.size) < 0.05).astype(np.int64)
    np.testing.assert_array_equal(
        grouped_median(values, group, half, min_count),
        naive_rhythm.grouped_median(values, group, half, min_count),
    )


@pytest.mark.parametrize("kind", KERNEL_INPUTS)
def test_hysteresis_matches_reference(kind):
    rng = np.random.default_rng(5)
    values = _kernel_input(kind, rng)
    breaks = rng.random(values.size) < 0.05
    for on, off in ((0.6, 0.4), (0.5, 0.5), (1.0, 0.0)):
        np.testing.assert_array_equal(
            hysteresis(values, breaks, on, off), naive_rhythm.hysteresis(values, breaks, on, off)
        )


@pytest.mark.parametrize("seed", range(6))
def test_allorhythmia_matches_reference(seed):
    rng = np.random.default_rng(seed)
    n = 0 if seed == 0 else 400
    code = rng.choice([0, 0, 2, 1], n).astype(np.int64)
    code[50:80] = np.tile([0, 2], 15)[: min(30, max(0, n - 50))] if n else code[50:80]
    seg = np.cumsum(rng.random(n) < 0.02).astype(np.int64)
    seg[rng.random(n) < 0.02] = -1
    for period in (2, 3):
        assert _allorhythmia(code, period, 3, seg) == naive_rhythm.allorhythmia(code, period, 3, seg)


class TestAtrialActivity:
    """AF with the P-wave similarity of each beat (``p_wave``) as well as RR."""

    @staticmethod
    def _irregular(n=300, width=0.35, seed=7):
        rng = np.random.default_rng(seed)
        return 0.8 * rng.uniform(1.0 - width, 1.0 + width, n)

    def test_irregular_rhythm_with_p_waves_is_not_af(self):
        r, labels = _beats(self._irregular())
        assert _kinds(analyze_rhythm(r, labels, FS)) == ["AFIB"]  # RR alone
        p = np.full(r.size, 0.9)
        assert "AFIB" not in _kinds(analyze_rhythm(r, labels, FS, p_wave=p))

    def test_irregular_rhythm_without_p_waves_is_af(self):
        r, labels = _beats(self._irregular())
        p = np.full(r.size, 0.1)
        assert _kinds(analyze_rhythm(r, labels, FS, p_wave=p)) == ["AFIB"]

    def test_mildly_irregular_rhythm_is_af_only_without_p_waves(self):
        r, labels = _beats(self._irregular(width=0.14, seed=3))
        irr = np.nanmedian(analyze_rhythm(r, labels, FS).af_irregularity)
        cfg = RhythmConfig()
        assert cfg.af_on_no_p < irr < cfg.af_on  # below the RR-only threshold
        assert "AFIB" not in _kinds(analyze_rhythm(r, labels, FS))
        assert "AFIB" not in _kinds(analyze_rhythm(r, labels, FS, p_wave=np.full(r.size, np.nan)))
        assert _kinds(analyze_rhythm(r, labels, FS, p_wave=np.full(r.size, 0.2))) == ["AFIB"]

    def test_p_waves_of_ventricular_beats_are_not_looked_at(self):
        r, labels = _beats(self._irregular())
        labels[::4] = ["V"] * len(labels[::4])
        p = np.where(np.array(labels) == "V", -0.5, 0.9)
        assert "AFIB" not in _kinds(analyze_rhythm(r, labels, FS, p_wave=p))

    def test_p_waves_end_the_episode_where_they_return(self):
        rr = np.concatenate([self._irregular(300), self._irregular(300, width=0.3, seed=8)])
        r, labels = _beats(rr)
        p = np.where(np.arange(r.size) < 300, 0.1, 0.95)  # irregular sinus after beat 300
        (af,) = analyze_rhythm(r, labels, FS, p_wave=p).of_kind("AFIB")
        assert abs(int(np.searchsorted(r, af.end_sample)) - 300) <= 16

    @pytest.mark.parametrize("seed", range(4))
    def test_unmeasured_is_rr_only_bit_for_bit(self, seed):
        rng = np.random.default_rng(seed)
        rr = np.concatenate([_sinus(200, seed=seed), rng.uniform(0.4, 1.2, 300), _sinus(100)])
        r, _ = _beats(rr)
        labels = rng.choice(list("NNNNNNSVQ"), r.size)
        bad = [[r[250], r[260]]]
        a, ra = analyze_rhythm_sveb_in_af(r, labels, FS, bad)
        b, rb = analyze_rhythm_sveb_in_af(r, labels, FS, bad, p_wave=np.full(r.size, np.nan))
        assert a.episodes == b.episodes
        np.testing.assert_array_equal(a.state, b.state)
        np.testing.assert_array_equal(a.af_irregularity, b.af_irregularity)
        np.testing.assert_array_equal(ra, rb)

    def test_p_wave_of_the_wrong_length_is_refused(self):
        r, labels = _beats(_sinus(50))
        with pytest.raises(InvalidParameterError, match="p_wave"):
            analyze_rhythm(r, labels, FS, p_wave=np.zeros(3))
