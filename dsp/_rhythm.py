"""Rhythm episodes and events from a labelled beat stream.

Input: beat times, their AAMI classes (N, S, V, F, Q) and the stretches where
no lead was usable. Output (:class:`RhythmAnalysis`): episodes with onset and
offset, and a per-beat rhythm state from which the ``'+'`` rhythm annotations
of a ``.hol`` file are written (MIT-BIH aux notes).

Detectors (thresholds in :class:`RhythmConfig`):

* atrial fibrillation: RR irregularity of the intervals between two N beats
  (intervals touching a V, F, Q beat, and S unless ``af_keep_s``, are left
  out), robust to isolated ectopic beats and to bigeminal patterns, with
  hysteresis (``af_on`` / ``af_off``), episodes of at least ``af_min_s``, gaps
  below ``af_merge_s`` closed and edges placed at the boundary beat; see
  :mod:`dsp._rhythm_af`. Atrial activity is not used: atrial flutter with
  variable conduction is as irregular as AF here.
* ventricular runs: ``>= 3`` consecutive V beats; ventricular tachycardia when
  faster than ``vt_rate_bpm`` (NSVT below ``sustained_s``, sustained VT from
  it), idioventricular rhythm otherwise; two consecutive V beats are a couplet.
* ventricular bigeminy / trigeminy: ``>= bigeminy_cycles`` cycles of
  (non-V, V) / (non-V, non-V, V) in a row.
* SVT: ``>= 3`` consecutive S beats faster than ``svt_rate_bpm``.
* pauses: an RR interval of at least ``pause_s``.
* bradycardia / tachycardia: ``>= rate_beats`` consecutive beats whose local
  rate (mean of ``rate_beats`` RR) is below ``brady_bpm`` / above ``tachy_bpm``.

Noise never produces an event: beats in an unusable stretch are rhythm state
``NOISE``, an RR interval spanning one is not an interval, and every detector
restarts after it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dsp._exceptions import InvalidParameterError, InvalidSignalError
from dsp._rhythm_af import af_episodes, af_irregularity, p_wave_gate

#: Beat classes, in code order.
CLASSES = ("N", "S", "V", "F", "Q")
C_N, C_S, C_V, C_F, C_Q = range(5)

#: Rhythm states in priority order (a beat takes the first that applies) and
#: the MIT-BIH aux note written for each ('' = none written: noise has '~').
RHYTHM_AUX = {
    "NOISE": "",
    "VT": "(VT",
    "IVR": "(IVR",
    "PAUSE": "(PAUSE",
    "AFIB": "(AFIB",
    "SVTA": "(SVTA",
    "B": "(B",
    "T": "(T",
    "SBR": "(SBR",
    "TACH": "(TACH",
    "N": "(N",
}
RHYTHM_STATES = tuple(RHYTHM_AUX)


@dataclass(frozen=True)
class RhythmConfig:
    """Thresholds of the rhythm detectors (physical units).

    The AF settings (``af_*``) were chosen on the MIT-BIH DS1 records only
    (201 and 203 hold AF, the 20 others must stay free of it): ``af_on`` is the
    lowest threshold, in steps of 0.01 with ``af_off = af_on - 0.03``, at which no
    DS1 record without AF gets an AF episode (0.09 gave 108 and 115 three) -- see
    benchmarks/results/rhythm_mitdb.md.
    ``af_keep_s`` keeps intervals touching an S beat in the AF measure. It is
    on since the classifier's S head (2026-12-03) labels S by prematurity,
    which in AF is most beats: with it off, the NN chain of an AF stretch
    thinned out until AF was no longer seen (the gateway lost the AF of
    record 203 after 275 s), and S beats inside AF are N by rule anyway
    (:func:`analyze_rhythm_sveb_in_af`). On DS1 with the current classifier,
    offline: 201 + 203 episode Se / +P 100 / 80 %, duration 99.96 / 65.4 %
    (off: 95 / 100, 97.45 / 72.87); no AF in the 20 other DS1 records either
    way. Atrial bigeminy is still told from AF by the every-other-interval
    difference (``d2``).

    Atrial activity (``af_p_*``, ``af_on_no_p``; used when the caller passes
    ``p_wave``, see :func:`dsp.p_wave_similarity`), chosen on DS1 and the paced
    records 102/104/107/217 only, 2026-12-04: ``af_p_present`` 0.5 and 0.6
    give 201 + 203 duration Se / +P 99.26 / 78.71 %, episode +P 100 % (0.7:
    99.63 / 77.54, 0.8: 99.84 / 73.91; RR only: 99.96 / 65.40, episode +P
    80 %), 0.6 taken (sinus N beats of 108, 119, 208, 215: 10th percentile
    0.61-0.70; AF N beats of 201 and 203: median 0.37-0.40). ``af_on_no_p`` is
    the lowest threshold, in steps of 0.01, at which no DS1 record without AF
    gets AF (0.06 gave 108 34 s). Paced beats are not measured (RR only).
    """

    af_window: int = 32
    af_on: float = 0.10
    af_off: float = 0.07
    af_keep_s: bool = True
    af_min_s: float = 30.0
    af_merge_s: float = 10.0
    af_p_present: float = 0.6
    af_on_no_p: float = 0.07
    af_p_min_beats: int = 8
    vt_rate_bpm: float = 100.0
    sustained_s: float = 30.0
    svt_rate_bpm: float = 100.0
    bigeminy_cycles: int = 3
    pause_s: float = 2.0
    rate_beats: int = 8
    brady_bpm: float = 40.0
    tachy_bpm: float = 120.0


@dataclass(frozen=True)
class RhythmEpisode:
    """One episode or event.

    Attributes
    ----------
    kind : str
        ``AFIB``, ``VT`` (``sustained`` tells NSVT from sustained VT), ``IVR``,
        ``COUPLET``, ``B`` (bigeminy), ``T`` (trigeminy), ``SVTA``, ``PAUSE``,
        ``SBR`` (bradycardia), ``TACH`` (tachycardia).
    start_sample, end_sample : int
        First and last beat of the episode (for a pause: the two beats around it).
    n_beats : int
        Beats in the episode.
    rate_bpm : float
        Mean rate over the episode.
    sustained : bool
        VT lasting ``sustained_s`` or more.
    """

    kind: str
    start_sample: int
    end_sample: int
    n_beats: int
    rate_bpm: float
    sustained: bool = False


@dataclass(frozen=True, eq=False)
class RhythmAnalysis:
    """Episodes and the per-beat rhythm state of a record.

    Attributes
    ----------
    episodes : tuple of RhythmEpisode
        In order of start.
    state : ndarray of int8
        Rhythm state of each beat, index into :data:`RHYTHM_STATES`.
    af_irregularity : ndarray of float64
        The AF detector's irregularity at each beat (NaN where undefined).
    fs_hz : float
    """

    episodes: tuple[RhythmEpisode, ...]
    state: np.ndarray
    af_irregularity: np.ndarray
    fs_hz: float

    def of_kind(self, kind: str) -> tuple[RhythmEpisode, ...]:
        """The episodes of one kind."""
        return tuple(e for e in self.episodes if e.kind == kind)

    def transitions(self, r_peaks: np.ndarray) -> list[tuple[int, str]]:
        """(sample, aux note) at each beat where the rhythm changes (after noise too)."""
        out: list[tuple[int, str]] = []
        prev = -1
        for i, s in enumerate(self.state.tolist()):
            name = RHYTHM_STATES[s]
            if s != prev and RHYTHM_AUX[name]:
                out.append((int(r_peaks[i]), RHYTHM_AUX[name]))
            prev = s
        return out


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) index ranges of the runs of True."""
    padded = np.concatenate(([False], np.asarray(mask, bool), [False])).astype(np.int8)
    d = np.diff(padded)
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist(), strict=True))


def _in_stretches(samples: np.ndarray, stretches: np.ndarray) -> np.ndarray:
    out = np.zeros(samples.size, bool)
    for start, end in np.asarray(stretches, np.int64).reshape(-1, 2):
        out |= (samples >= start) & (samples < end)
    return out


def beats_in_episodes(r_peaks, episodes) -> np.ndarray:
    """Which beats lie inside one of `episodes` (first to last beat, inclusive)."""
    r = np.asarray(r_peaks, np.int64).reshape(-1)
    inside = np.zeros(r.size, bool)
    for ep in episodes:
        inside |= (r >= ep.start_sample) & (r <= ep.end_sample)
    return inside


def analyze_rhythm_sveb_in_af(
    r_peaks,
    classes,
    fs_hz: float,
    unusable=None,
    config: RhythmConfig | None = None,
    max_rounds: int = 3,
    p_wave=None,
) -> tuple[RhythmAnalysis, np.ndarray]:
    """:func:`analyze_rhythm`, with every S beat inside an AF episode taken as N.

    In atrial fibrillation there is no sinus rhythm for a beat to be premature
    to and no P wave to be ectopic: a supraventricular beat there is a
    conducted AF beat (N in EC57), however short its RR interval. The beat
    classifier judges prematurity beat by beat and cannot know this; the
    rhythm analysis does. Relabelled beats join the AF measure's NN chain (S
    beats are left out of it, see ``af_keep_s``), so an episode can grow:
    the rhythm is analysed again, up to `max_rounds` times, and S beats inside
    the last analysis's AF are relabelled too.

    Parameters are those of :func:`analyze_rhythm`.

    Returns
    -------
    rhythm : RhythmAnalysis
        The rhythm of the relabelled beats.
    relabelled : ndarray of bool
        The S beats to label N (the caller owns its labels).
    """
    r = np.asarray(r_peaks, np.int64).reshape(-1)
    code = _codes(classes, r.size)
    rhythm = analyze_rhythm(r, code, fs_hz, unusable, config, p_wave)
    relabelled = np.zeros(r.size, bool)
    for round_ in range(max_rounds + 1):
        change = beats_in_episodes(r, rhythm.of_kind("AFIB")) & (code == C_S)
        if not change.any():
            break
        code[change] = C_N
        relabelled |= change
        if round_ == max_rounds:
            break
        rhythm = analyze_rhythm(r, code, fs_hz, unusable, config, p_wave)
    return rhythm, relabelled


def analyze_rhythm(
    r_peaks,
    classes,
    fs_hz: float,
    unusable=None,
    config: RhythmConfig | None = None,
    p_wave=None,
) -> RhythmAnalysis:
    """Rhythm episodes of a labelled beat stream.

    Parameters
    ----------
    r_peaks : array_like of int
        Beat sample indices, sorted.
    classes : sequence of str or array_like of int
        AAMI class per beat (``N S V F Q`` or codes 0-4; ``A`` is taken as S).
    fs_hz : float
        Sampling rate of `r_peaks`.
    unusable : array_like of int, shape (k, 2), optional
        ``[start, end)`` stretches where no lead was usable.
    config : RhythmConfig, optional
    p_wave : array_like of float, optional
        Per beat, the P-wave similarity of :func:`dsp.p_wave_similarity` (NaN
        where not measured, e.g. paced beats). Given, AF is not called where the
        supraventricular beats show P waves, and is called at a lower
        irregularity where they show none (see ``af_p_*``); None: AF from the
        RR intervals alone.

    Returns
    -------
    RhythmAnalysis

    Examples
    --------
    >>> import numpy as np
    >>> r = np.cumsum(np.full(60, 360))  # 60 beats at 60 bpm, 360 Hz
    >>> labels = ["N"] * 60
    >>> labels[30:33] = ["V", "V", "V"]
    >>> r[30:33] = r[29] + 150 * np.arange(1, 4)  # 144 bpm
    >>> [e.kind for e in analyze_rhythm(r, labels, 360.0).episodes]
    ['VT']
    """
    cfg = config or RhythmConfig()
    if not fs_hz > 0:
        raise InvalidParameterError(f"fs_hz must be positive, got {fs_hz!r}")
    r = np.asarray(r_peaks, np.int64).reshape(-1)
    if r.size > 1 and np.any(np.diff(r) <= 0):
        raise InvalidSignalError("r_peaks must be strictly increasing")
    code = _codes(classes, r.size)
    bad = np.zeros((0, 2), np.int64) if unusable is None else np.asarray(unusable, np.int64)
    bad = bad.reshape(-1, 2)
    n = r.size
    t_s = r / float(fs_hz)
    noise_beat = _in_stretches(r, bad) | (code == C_Q)
    # interval j joins beats j and j+1; it is broken by noise between or at them
    if n > 1:
        starts = bad[:, 0]
        spans = np.zeros(n - 1, bool)
        if starts.size:
            k = np.searchsorted(starts, r[:-1], side="right")
            spans = k < np.searchsorted(starts, r[1:], side="right")
        iv_ok = ~spans & ~noise_beat[:-1] & ~noise_beat[1:]
        rr = np.diff(t_s)
    else:
        iv_ok = np.zeros(0, bool)
        rr = np.zeros(0)
    episodes: list[RhythmEpisode] = []
    state_sets = {name: np.zeros(n, bool) for name in RHYTHM_STATES}
    state_sets["NOISE"] = noise_beat.copy()

    def add(kind, i0, i1, sustained=False):
        """Episode over beats i0..i1 (inclusive)."""
        dur = t_s[i1] - t_s[i0]
        rate = 60.0 * (i1 - i0) / dur if dur > 0 else float("nan")
        episodes.append(
            RhythmEpisode(kind, int(r[i0]), int(r[i1]), int(i1 - i0 + 1), float(rate), sustained)
        )

    # segments of beats joined by usable intervals
    segments = _segments(iv_ok, noise_beat)
    # ventricular runs and couplets, SVT
    for a, b in _class_runs(code, C_V, segments):
        length = b - a
        if length == 2:
            add("COUPLET", a, b - 1)
        elif length >= 3:
            dur = t_s[b - 1] - t_s[a]
            rate = 60.0 * (length - 1) / dur if dur > 0 else np.inf
            if rate > cfg.vt_rate_bpm:
                add("VT", a, b - 1, sustained=dur >= cfg.sustained_s)
                state_sets["VT"][a:b] = True
            else:
                add("IVR", a, b - 1)
                state_sets["IVR"][a:b] = True
    for a, b in _class_runs(code, C_S, segments):
        dur = t_s[b - 1] - t_s[a]
        if b - a >= 3 and dur > 0 and 60.0 * (b - a - 1) / dur > cfg.svt_rate_bpm:
            add("SVTA", a, b - 1)
            state_sets["SVTA"][a:b] = True
    # bigeminy / trigeminy
    for kind, period in (("B", 2), ("T", 3)):
        for a, b in _allorhythmia(code, period, cfg.bigeminy_cycles, segments):
            add(kind, a, b)
            state_sets[kind][a : b + 1] = True
    # pauses
    for j in np.flatnonzero(iv_ok & (rr >= cfg.pause_s)):
        add("PAUSE", int(j), int(j) + 1)
        state_sets["PAUSE"][j] = True
    # atrial fibrillation
    irr, d1 = af_irregularity(rr, iv_ok, code, cfg.af_window, cfg.af_keep_s)
    irr_af = irr
    if p_wave is not None:
        pw = np.asarray(p_wave, np.float64).reshape(-1)
        if pw.size != n:
            raise InvalidParameterError(f"p_wave must have one value per beat ({n}), got {pw.size}")
        irr_af = p_wave_gate(irr, pw, code, segments, cfg)
    for a, b in af_episodes(irr_af, d1, t_s, segments, cfg):
        add("AFIB", a, b)
        state_sets["AFIB"][a : b + 1] = True
    # bradycardia / tachycardia (outside AF, VT, SVT)
    for kind, test in (
        ("SBR", lambda bpm: bpm < cfg.brady_bpm),
        ("TACH", lambda bpm: bpm > cfg.tachy_bpm),
    ):
        for a, b in _rate_runs(rr, iv_ok, cfg.rate_beats, test, segments):
            if (state_sets["AFIB"][a:b + 1] | state_sets["VT"][a:b + 1]
                    | state_sets["SVTA"][a:b + 1]).mean() > 0.5:
                continue
            add(kind, a, b)
            state_sets[kind][a : b + 1] = True
    state = np.full(n, RHYTHM_STATES.index("N"), np.int8)
    for idx in range(len(RHYTHM_STATES) - 2, -1, -1):  # low priority first
        state[state_sets[RHYTHM_STATES[idx]]] = idx
    episodes.sort(key=lambda e: (e.start_sample, e.kind))
    beat_irr = np.full(n, np.nan)
    if n > 1:
        beat_irr[1:] = irr
    return RhythmAnalysis(tuple(episodes), state, beat_irr, float(fs_hz))


def _codes(classes, n: int) -> np.ndarray:
    arr = np.asarray(classes)
    if arr.shape[0] != n:
        raise InvalidSignalError(f"classes must have one entry per beat: {arr.shape[0]} for {n}")
    if arr.dtype.kind in "iu":
        code = arr.astype(np.int64)
        if n and (code.min() < 0 or code.max() >= len(CLASSES)):
            raise InvalidSignalError("class codes must be 0-4 (N S V F Q)")
        return code
    lookup = {c: i for i, c in enumerate(CLASSES)} | {"A": C_S}
    try:
        return np.array([lookup[str(c)] for c in arr.tolist()], np.int64)
    except KeyError as exc:
        raise InvalidSignalError(f"unknown beat class {exc.args[0]!r} (use N S V F Q)") from None


def _segments(iv_ok: np.ndarray, noise_beat: np.ndarray) -> np.ndarray:
    """Segment id per beat: beats joined by usable intervals share one (-1 = noise)."""
    n = noise_beat.size
    seg = np.zeros(n, np.int64)
    if n > 1:
        seg[1:] = np.cumsum(~iv_ok)
    seg[noise_beat] = -1
    return seg


def _class_runs(code: np.ndarray, cls: int, seg: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) ranges of consecutive beats of class `cls` in one segment (noise dropped)."""
    mask = (code == cls) & (seg >= 0)
    n = mask.size
    if n == 0:
        return []
    cont = np.zeros(n, bool)  # beat i continues the run of beat i - 1
    cont[1:] = mask[1:] & mask[:-1] & (seg[1:] == seg[:-1])
    starts = np.flatnonzero(mask & ~cont)
    last = np.flatnonzero(mask & ~np.concatenate((cont[1:], [False])))
    return list(zip(starts.tolist(), (last + 1).tolist(), strict=True))


def _allorhythmia(code, period, min_cycles, seg):
    """Beat ranges (inclusive) of >= min_cycles cycles: period-1 non-V then one V."""
    v = np.flatnonzero(code == C_V)
    out: list[tuple[int, int]] = []
    if v.size < 2:
        return out
    # consecutive V beats `period` apart in one segment: one cycle (nothing but non-V between)
    link = (np.diff(v) == period) & (seg[v[:-1]] == seg[v[1:]]) & (seg[v[:-1]] >= 0)
    for i, j in _runs(link):  # links i..j-1 join the V beats v[i]..v[j]
        if j - i < min_cycles or v[i] - period + 1 < 0:
            continue
        a = int(v[i]) - (period - 1)  # the cycle's first (non-V) beats
        if seg[a] == seg[v[i]] and (i == 0 or v[i - 1] < a):
            out.append((a, int(v[j])))
        else:
            out.append((int(v[i]), int(v[j])))
    return out


def _rate_runs(rr, iv_ok, k, test, seg):
    """Beat ranges where k consecutive usable intervals have a mean rate passing `test`."""
    m = rr.size
    out = []
    if m < k:
        return out
    ok = iv_ok.astype(float)
    csum = np.concatenate(([0.0], np.cumsum(np.where(iv_ok, rr, 0.0))))
    cok = np.concatenate(([0.0], np.cumsum(ok)))
    mean = (csum[k:] - csum[:-k]) / k
    full = (cok[k:] - cok[:-k]) == k
    with np.errstate(divide="ignore"):
        bpm = 60.0 / mean
    cover = np.zeros(m + 2, np.int64)  # window j covers beats j..j+k
    starts = np.flatnonzero(full & test(bpm))
    np.add.at(cover, starts, 1)
    np.add.at(cover, starts + k + 1, -1)
    hit = np.cumsum(cover[: m + 1]) > 0  # per beat
    for a, b in _runs(hit):
        out.append((a, b - 1))
    return out
