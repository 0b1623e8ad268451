"""The EC57 / bxb scorer: against a line-by-line bxb transcription, hand cases, real records."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from naive_bxb import naive_confusion

from benchmarks._ec57 import (
    AAMI_CLASSES,
    BEAT_SYMBOLS,
    CLASS_MAPS,
    Ec57Stats,
    annotations_from_arrays,
    beats_from_samples,
    gross_score,
    load_reference,
    match_beats,
    score_record,
    window_samples,
)

FS_HZ = 360.0
W = 54  # 0.15 s at 360 Hz
START = 108_000  # 5 min at 360 Hz


def _fast_confusion(ref_ann, test_ann, *, match_dt, start, end=None, class_map="ec57"):
    """benchmarks._ec57 on the same (time, symbol, subtyp) lists as the naive port."""
    fs_hz = 1000.0  # times are samples; make window/start conversions exact
    window_s, start_s = match_dt / fs_hz, start / fs_hz

    def parse(ann):
        times = [a[0] for a in ann]
        return annotations_from_arrays(
            times,
            [a[1] for a in ann],
            [a[2] for a in ann],
            fs_hz=fs_hz,
            window_s=window_s,
            class_map=class_map,
        )

    score = score_record(
        parse(ref_ann),
        parse(test_ann),
        window_s=window_s,
        start_s=start_s,
        end_s=None if end is None else end / fs_hz,
    )
    return score.confusion.tolist()


def _beats(times, symbol="N"):
    return [(int(t), symbol, 0) for t in times]


def _score(ref_times, test_times, *, start_s=300.0, ref_symbols=None, test_symbols=None):
    ref = beats_from_samples(ref_times, FS_HZ, ref_symbols)
    test = beats_from_samples(test_times, FS_HZ, test_symbols)
    return score_record(ref, test, start_s=start_s)


# --- the fast scorer against the line-by-line bxb transcription ---------------------------

_SYMBOLS = sorted(BEAT_SYMBOLS) + ["~", "[", "]", "+", "|", "x"]
_annotation = st.tuples(
    st.integers(0, 4000),
    st.sampled_from(_SYMBOLS),
    st.sampled_from([0, 1, 3, -1, 0x30, 0x33]),
)
# one annotation per sample: where several share a sample, bxb's result depends on the
# order it reads them in (a shutdown mark read after two beats at its own sample), which
# the array scorer does not reproduce (benchmarks._ec57's docstring, departures)
_annotations = st.lists(_annotation, max_size=60, unique_by=lambda a: a[0]).map(sorted)


class TestAgainstNaiveBxb:
    @settings(max_examples=400, deadline=None)
    @given(
        ref=_annotations,
        test=_annotations,
        match_dt=st.integers(0, 120),
        start=st.integers(0, 600),
        end=st.one_of(st.none(), st.integers(0, 4500)),
        class_map=st.sampled_from(sorted(CLASS_MAPS)),
    )
    def test_random_annotation_lists(self, ref, test, match_dt, start, end, class_map):
        if end is not None and end < start:
            end = None
        kwargs = dict(match_dt=match_dt, start=start, end=end, class_map=class_map)
        assert _fast_confusion(ref, test, **kwargs) == naive_confusion(ref, test, **kwargs)

    @settings(max_examples=200, deadline=None)
    @given(
        ref=st.lists(st.integers(0, 20_000), max_size=80, unique=True).map(sorted),
        jitter=st.lists(st.integers(-80, 80), min_size=80, max_size=80),
        extra=st.lists(st.integers(0, 20_000), max_size=10),
        start=st.integers(0, 2000),
    )
    def test_dense_beats_near_the_window(self, ref, jitter, extra, start):
        """Beats only, spaced like real rhythms, test = jittered reference + extras."""
        test = sorted({t + j for t, j in zip(ref, jitter, strict=False)} | set(extra))
        test = [t for t in test if t >= 0]
        kwargs = dict(match_dt=54, start=start)
        assert _fast_confusion(_beats(ref), _beats(test), **kwargs) == naive_confusion(
            _beats(ref), _beats(test), **kwargs
        )

    @pytest.mark.parametrize(
        ("ref", "test"),
        [([], []), ([], [500, 900]), ([500, 900], []), ([100], [100])],
    )
    def test_empty_and_tiny(self, ref, test):
        for start in (0, 50, 200):
            kwargs = dict(match_dt=54, start=start)
            assert _fast_confusion(_beats(ref), _beats(test), **kwargs) == naive_confusion(
                _beats(ref), _beats(test), **kwargs
            )


# --- hand-written cases ---------------------------------------------------------------------


class TestMatching:
    def test_window_is_150_ms_inclusive(self):
        ref = [START + 1000, START + 2000]
        s = _score(ref, [START + 1000 + W, START + 2000 - W - 1])
        assert (s.stats.qrs_tp, s.stats.qrs_fn, s.stats.qrs_fp) == (1, 1, 1)
        assert window_samples(0.15, FS_HZ) == W

    def test_nearest_of_two_candidates_wins_the_other_is_extra(self):
        T = START + 1000
        m = match_beats([T], [T - 30, T + 10], window_samples=W, start_sample=START)
        assert m.ref_to_test.tolist() == [1]
        assert m.test_to_ref.tolist() == [-1, 0]
        m = match_beats([T], [T - 10, T + 30], window_samples=W, start_sample=START)
        assert m.ref_to_test.tolist() == [0]
        assert m.test_to_ref.tolist() == [0, -1]

    def test_one_to_one(self):
        T = START + 1000
        s = _score([T, T + 40], [T + 20])  # two reference beats, one test beat between
        assert (s.stats.qrs_tp, s.stats.qrs_fn, s.stats.qrs_fp) == (1, 1, 0)

    def test_pardey_case_from_the_2002_revision(self):
        # bxb.c, 24 November 2002: match_dt = 37, ref 96 and 160, test 128 and 185;
        # the revised rule pairs ref1-test1 and ref2-test2.
        m = match_beats([96, 160], [128, 185], window_samples=37, start_sample=0)
        assert m.ref_to_test.tolist() == [0, 1]

    def test_first_five_minutes_are_not_scored(self):
        early = [START - 36_000, START - 360]
        s = _score(early + [START + 360], [START - 20_000, START + 360])
        assert (s.stats.qrs_tp, s.stats.qrs_fn, s.stats.qrs_fp) == (1, 0, 0)

    def test_last_test_beat_before_start_may_match_the_first_reference_beat(self):
        s = _score([START + 10, START + 400], [START - 20, START + 400])
        assert (s.stats.qrs_tp, s.stats.qrs_fn, s.stats.qrs_fp) == (2, 0, 0)

    def test_first_test_beat_after_start_dropped_when_it_belongs_before_start(self):
        # Reference beat at START - 5 (not scored); test beat at START + 10 is its
        # detection. The next test beat matches the first scored reference beat better,
        # so bxb drops START + 10 instead of calling it a false positive.
        s = _score([START - 5, START + 60], [START + 10, START + 62])
        assert (s.stats.qrs_tp, s.stats.qrs_fn, s.stats.qrs_fp) == (1, 0, 0)

    def test_end_of_scored_period(self):
        ref = beats_from_samples([START + 360 * k for k in range(1, 6)], FS_HZ)
        test = beats_from_samples([START + 360 * k for k in range(1, 6)], FS_HZ)
        s = score_record(ref, test, end_s=(START + 360 * 3) / FS_HZ)
        assert s.stats.qrs_tp == 3

    def test_perfect_detection(self):
        ref = np.arange(1, 1800) * 360
        s = _score(ref, ref)
        assert s.stats.qrs_se_pct == 100.0 and s.stats.qrs_ppv_pct == 100.0

    def test_empty_test_and_empty_reference(self):
        s = _score([START + 100], [])
        assert (s.stats.qrs_tp, s.stats.qrs_fn, s.stats.qrs_fp) == (0, 1, 0)
        assert s.stats.qrs_se_pct == 0.0 and np.isnan(s.stats.qrs_ppv_pct)
        s = _score([], [START + 100])
        assert (s.stats.qrs_tp, s.stats.qrs_fn, s.stats.qrs_fp) == (0, 0, 1)
        s = _score([], [])
        assert np.isnan(s.stats.qrs_se_pct) and np.isnan(s.stats.qrs_ppv_pct)

    def test_unsorted_input_is_refused(self):
        with pytest.raises(ValueError, match="ref_samples must be sorted"):
            match_beats([5, 3], [], window_samples=W, start_sample=0)


class TestExclusions:
    def test_vf_stretch_reference_beats_skipped_and_test_beats_ignored(self):
        t0 = START + 1000
        ref = annotations_from_arrays(
            [t0, t0 + 300, t0 + 400, t0 + 500, t0 + 600, t0 + 900],
            ["N", "[", "N", "!", "]", "N"],
            None,
            fs_hz=FS_HZ,
        )
        assert ref.samples.tolist() == [t0, t0 + 900]
        assert ref.vf_samples.tolist() == [[t0 + 300, t0 + 600]]
        test = beats_from_samples([t0, t0 + 350, t0 + 450, t0 + 600, t0 + 700, t0 + 900], FS_HZ)
        s = score_record(ref, test)
        # t0 + 700 is outside VF: a false positive; the three inside are not counted.
        assert (s.stats.qrs_tp, s.stats.qrs_fn, s.stats.qrs_fp) == (2, 0, 1)
        assert s.n_ignored_in_vf == 3

    def test_shutdown_in_reference_makes_test_beats_x(self):
        t0 = START + 1000
        ref = annotations_from_arrays(
            [t0, t0 + 100, t0 + 700, t0 + 800],
            ["N", "~", "~", "N"],
            [0, -1, 3, 0],
            fs_hz=FS_HZ,
        )
        assert ref.shutdown_samples.tolist() == [[t0 + 100, t0 + 700]]
        test = beats_from_samples([t0, t0 + 400, t0 + 800], FS_HZ)
        s = score_record(ref, test)
        assert s.confusion[6, 0] == 1  # X row, n column
        assert s.stats.qrs_fp == 1  # bxb counts it in QRS +P

    def test_lone_shutdown_mark_is_shrunk_by_the_window(self):
        ref = annotations_from_arrays(
            [1000, 2000, 3000], ["N", "~", "N"], [0, 0x33, 0], fs_hz=FS_HZ
        )
        assert ref.shutdown_samples.tolist() == [[1000 + W, 3000 - W]]

    def test_shutdown_in_test_makes_missed_beats_x(self):
        t0 = START + 1000
        ref = beats_from_samples([t0, t0 + 400, t0 + 800], FS_HZ)
        test = annotations_from_arrays(
            [t0, t0 + 100, t0 + 700, t0 + 800], ["N", "~", "~", "N"], [0, -1, 0, 0], fs_hz=FS_HZ
        )
        s = score_record(ref, test)
        assert s.confusion[0, 6] == 1
        assert s.stats.missed_in_shutdown == 1 and s.stats.qrs_fn == 1

    def test_non_beat_annotations_are_not_beats(self):
        ann = annotations_from_arrays(
            [10, 20, 30, 40, 50], ["N", "+", "|", "x", "V"], None, fs_hz=FS_HZ
        )
        assert ann.samples.tolist() == [10, 50]


class TestClassStatistics:
    def test_every_beat_symbol_maps_to_an_aami_class_in_every_map(self):
        for name, mapping in CLASS_MAPS.items():
            assert set(mapping) == set(BEAT_SYMBOLS), name
            assert set(mapping.values()) <= set(AAMI_CLASSES), name
            for c in AAMI_CLASSES:  # class letters are their own class
                assert mapping[c] == c, name

    def test_escape_beats_differ_between_maps(self):
        assert [CLASS_MAPS["ec57"][s] for s in "ejn"] == ["N"] * 3
        assert [CLASS_MAPS["bxb"][s] for s in "ejn"] == ["S"] * 3

    def test_veb_and_sveb_formulas(self):
        m = np.zeros((7, 7), np.int64)
        N, S, V, F, Q, O, X = range(7)  # noqa: E741 (bxb's row and column names)
        m[N, N], m[N, V], m[N, S] = 100, 2, 3
        m[S, S], m[S, N], m[S, 5] = 10, 4, 1  # So
        m[V, V], m[V, N], m[V, 6] = 20, 5, 2  # Vx
        m[F, V], m[F, S], m[F, N] = 7, 1, 3  # Fv is not a VEB FP; Fs is an SVEB FP
        m[Q, V], m[Q, S] = 6, 8  # Qv and Qs are not false positives
        m[O, V], m[O, S], m[X, N] = 1, 2, 4
        s = Ec57Stats.from_confusion(m)
        assert (s.veb_tp, s.veb_fn, s.veb_fp) == (20, 7, 3)
        assert s.veb_tn == 100 + 3 + 10 + 4 + 3 + 1 + 8 + 2 + 4
        assert (s.sveb_tp, s.sveb_fn, s.sveb_fp) == (10, 5, 3 + 1 + 2)
        assert s.qrs_fn == 1 + 2 and s.qrs_fp == 1 + 2 + 4
        assert s.missed_in_shutdown == 2
        assert s.veb_fpr_pct == pytest.approx(100 * 3 / (s.veb_tn + 3))

    def test_labels_are_scored(self):
        ref = [START + 360 * k for k in range(1, 5)]
        s = _score(ref, ref, ref_symbols="NVAF", test_symbols="NVNV")
        assert s.stats.veb_tp == 1 and s.stats.veb_fp == 0  # F called V
        assert s.stats.sveb_fn == 1

    def test_gross_sums_counts_and_average_skips_undefined_records(self):
        a = _score([START + 360, START + 720], [START + 360])
        b = _score([START + 360], [START + 360, START + 900])
        c = _score([], [])
        g = gross_score([a, b, c])
        assert (g.gross.qrs_tp, g.gross.qrs_fn, g.gross.qrs_fp) == (2, 1, 1)
        assert g.gross.qrs_se_pct == pytest.approx(200 / 3)
        assert g.average["qrs_se_pct"] == pytest.approx((50 + 100) / 2)
        assert g.average["qrs_ppv_pct"] == pytest.approx((100 + 50) / 2)
        assert np.isnan(g.average["veb_se_pct"])
        assert g.records == ("", "", "")


# --- real records ---------------------------------------------------------------------------


def _perturbed(samples: np.ndarray, seed: int) -> np.ndarray:
    """A detector-like copy of the reference: jitter, some misses, some extras."""
    rng = np.random.default_rng(seed)
    keep = rng.random(samples.size) > 0.01
    out = samples[keep] + rng.integers(-45, 46, keep.sum())
    extra = rng.integers(samples[0], samples[-1], samples.size // 100)
    return np.unique(np.concatenate([out, extra]))


@pytest.mark.data
class TestRealRecords:
    @pytest.mark.parametrize("record", ["100", "203", "207", "105"])
    def test_reference_against_itself_is_perfect(self, mitdb_dir, record):
        ref = load_reference(mitdb_dir / record)
        test = beats_from_samples(ref.samples, ref.fs_hz)
        s = score_record(ref, test)
        assert s.stats.qrs_fn == 0 and s.stats.qrs_fp == 0

    def test_vf_and_shutdown_found_as_bxb_reads_them(self, mitdb_dir):
        ref = load_reference(mitdb_dir / "207")
        assert ref.vf_samples[:2].tolist() == [[14665, 18350], [19715, 21731]]
        assert len(ref.vf_samples) == 6  # six '[' ... ']' ventricular flutter stretches
        ref = load_reference(mitdb_dir / "105")
        assert len(ref.shutdown_samples) == 4  # four '~' with subtyp -1, each closed by '~'

    def test_vfl_rhythm_episodes_add_no_beats_to_vf_marks(self, mitdb_dir):
        """bxb reads VF only from '[' ... ']'; in MIT-BIH each '(VFL' episode starts
        inside such a stretch and ends at the first beat after its ']', so excluding by
        rhythm label would leave out no other reference beat."""
        import wfdb

        n_episodes = 0
        for hea in sorted(mitdb_dir.glob("*.hea")):
            ann = wfdb.rdann(str(hea.with_suffix("")), "atr")
            ref = load_reference(hea.with_suffix(""))
            rhythm = [
                (t, aux.strip("\x00"))
                for t, s, aux in zip(ann.sample, ann.symbol, ann.aux_note, strict=True)
                if s == "+"
            ]
            for (t, aux), nxt in zip(rhythm, rhythm[1:] + [(1 << 40, "")], strict=True):
                if aux not in ("(VFL", "(VF"):
                    continue
                n_episodes += 1
                (a, b), *_ = [(a, b) for a, b in ref.vf_samples if a <= t <= b]
                between = ref.samples[(ref.samples > b) & (ref.samples < nxt[0])]
                assert between.size == 0, (hea.stem, t, aux)
        assert n_episodes == 6

    @pytest.mark.parametrize("record", ["100", "203", "207", "232"])
    def test_qrs_counts_agree_with_wfdb_compare_annotations(self, mitdb_dir, record):
        """Cross-check with wfdb.processing.compare_annotations on the same beats.

        compare_annotations has no start time, VF or shutdown, and matches with a
        strict ``<``; so it is given the reference beats bxb scores (from 5 min, VF
        stretches removed), the test beats from 5 min minus those bxb ignores in VF,
        and a window of 55 samples (``< 55`` is bxb's ``<= 54``). On these records
        the two then agree exactly. Where they could differ: bxb may pair the first
        scored reference beat with a test beat just before 5 min, or drop the first
        test beat after it (see the start rule); and the two resolve a contested
        test beat differently only when beats on both sides are closer than two
        windows (heart rate > 200 bpm).
        """
        from wfdb.processing import compare_annotations

        ref = load_reference(mitdb_dir / record)
        test_samples = _perturbed(ref.samples, seed=int(record))
        test = beats_from_samples(test_samples, ref.fs_hz)
        ours = score_record(ref, test).stats

        start = window_samples(300.0, ref.fs_hz)
        ref_scored = ref.samples[ref.samples >= start]
        t = test.samples[test.samples >= start]
        in_vf = np.zeros(t.size, bool)
        for a, b in ref.vf_samples:
            in_vf |= (t >= a) & (t <= b)
        t = t[~in_vf]
        theirs = compare_annotations(ref_scored, t, W + 1)
        assert (ours.qrs_tp, ours.qrs_fn, ours.qrs_fp) == (theirs.tp, theirs.fn, theirs.fp)


# --- the command line -----------------------------------------------------------------------


@pytest.mark.data
def test_holter_bench_qrs_prints_a_gross_line(mitdb_dir, capsys):
    from holter._cli import main

    status = main(["bench", "qrs", "--records", "100,101", "--db", str(mitdb_dir)])
    out = capsys.readouterr().out
    assert status == 0
    assert "dsp.detect_qrs" in out
    gross = [line for line in out.splitlines() if line.startswith("Gross ")]
    assert gross, out
    assert gross[0].split()[1] == "3425"  # beats scored in 100 and 101 (from 5 min)


def test_holter_bench_qrs_bad_record_is_a_one_line_error(tmp_path, capsys):
    from holter._cli import main

    status = main(["bench", "qrs", "--db", str(tmp_path / "nowhere")])
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith("holter bench: error: database folder not found")
