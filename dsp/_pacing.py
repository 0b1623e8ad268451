"""Pacemaker spikes and paced beats, batch and streaming.

A ventricular pacemaker fires a stimulus a few milliseconds before the QRS it
causes. On the ECG the stimulus is a very narrow deflection (in the MIT-BIH
Arrhythmia Database, whose recorders smooth it, a peak about 8-10 ms wide at
half its height, 0.3-1.5 mV) standing on a quiet baseline and followed by a
wide, slow QRS. A narrow R wave of a normal beat can be almost as narrow at
that bandwidth, so a spike here is a narrow peak with the three traits
together:

* narrow: its width at half its prominence is at most ``max_width_s``;
* on a quiet baseline: the signal in the ``pre_s`` window before it moves less
  than ``pre_ratio`` times the spike's prominence;
* followed by a wide QRS: the signal from ``post_s[0]`` to ``post_s[1]`` after
  it (where a narrow QRS is over) still spans at least ``post_ratio`` times the
  spike's prominence.

The spike is looked for from ``search_s[0]`` before to ``search_s[1]`` after
each beat's R peak, on every lead. The patient is *paced* from a beat where at
least ``pattern_min`` of the last ``pattern_beats`` beats had a spike (a
pacemaker, not one odd beat) until ``hold_beats`` beats have passed without
that; while paced, a beat is paced when it has a spike by a weaker test (the
``paced_*`` settings: a pacemaker's spike changes size over a day, and noise
rides on the baseline before it).

:class:`PacingDetector` takes the signal block by block with the R peaks found
so far and returns each beat as soon as the signal to the end of its window
has been fed; a record fed whole or in pieces gives the same answer.
:func:`detect_pacing` is the batch form.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from dsp._exceptions import InvalidParameterError, InvalidSignalError
from dsp._numba_config import njit
from dsp._validate import as_samples_by_leads, check_fs_hz, check_new_r_peaks

__all__ = ["PacedBeats", "PacingConfig", "PacingDetector", "detect_pacing"]

# spike kernel parameters (float64 array; every length in samples)
SP_SEARCH_BEFORE = 0  # first candidate, samples before the R peak
SP_SEARCH_AFTER = 1  # last candidate, samples after the R peak
SP_SIDE = 2  # the prominence is the smaller drop within this many samples each side
SP_MAX_WIDTH = 3  # widest spike at half its prominence (fractional samples)
SP_MIN_PROM = 4  # smallest spike prominence, mV
SP_PRE_FAR = 5  # the quiet window before the spike: from this many samples before ...
SP_PRE_NEAR = 6  # ... to this many samples before
SP_PRE_RATIO = 7  # its range is at most this times the prominence
SP_POST_NEAR = 8  # the QRS window after the spike: from this many samples after ...
SP_POST_FAR = 9  # ... to this many samples after
SP_POST_RATIO = 10  # its range is at least this times the prominence
SP_MIN_SHARE = 11  # the prominence is at least this share of the whole beat's range
N_SP = 12


@njit
def _range(x, lead, lo, hi):  # pragma: no cover - compiled
    """max - min of ``x[lead, lo:hi + 1]``; NaN if any sample is NaN."""
    top = -np.inf
    bottom = np.inf
    for k in range(lo, hi + 1):
        v = x[lead, k]
        if v != v:
            return np.nan
        if v > top:
            top = v
        if v < bottom:
            bottom = v
    return top - bottom


@njit
def _spike_at(x, lead, t, sign, p):  # pragma: no cover - compiled
    """Prominence (mV) of a spike of polarity ``sign`` peaking at ``t``, or 0."""
    n = x.shape[1]
    side = int(p[SP_SIDE])
    pre_far = int(p[SP_PRE_FAR])
    post_far = int(p[SP_POST_FAR])
    if t - max(side, pre_far) < 0 or t + max(side, post_far) >= n:
        return 0.0
    v = sign * x[lead, t]
    # a local extremum (ties on the left: the last sample of a plateau)
    if not (v >= sign * x[lead, t - 1] and v > sign * x[lead, t + 1]):
        return 0.0
    low_left = np.inf
    low_right = np.inf
    for k in range(1, side + 1):
        a = sign * x[lead, t - k]
        b = sign * x[lead, t + k]
        if a != a or b != b:
            return 0.0
        low_left = min(low_left, a)
        low_right = min(low_right, b)
    prom = min(v - low_left, v - low_right)
    if not prom >= p[SP_MIN_PROM]:
        return 0.0
    half = v - 0.5 * prom
    i = t
    while sign * x[lead, i - 1] > half:
        i -= 1
    a = sign * x[lead, i - 1]
    b = sign * x[lead, i]
    left = (i - 1) + (half - a) / (b - a)
    j = t
    while sign * x[lead, j + 1] > half:
        j += 1
    a = sign * x[lead, j]
    b = sign * x[lead, j + 1]
    right = j + (a - half) / (a - b)
    if right - left > p[SP_MAX_WIDTH]:
        return 0.0
    pre = _range(x, lead, t - pre_far, t - int(p[SP_PRE_NEAR]))
    if not pre <= p[SP_PRE_RATIO] * prom:
        return 0.0
    post = _range(x, lead, t + int(p[SP_POST_NEAR]), t + post_far)
    if not post >= p[SP_POST_RATIO] * prom:
        return 0.0
    whole = _range(x, lead, t - side, t + post_far)
    if not prom >= p[SP_MIN_SHARE] * whole:
        return 0.0
    return prom


@njit
def spike_scan(x, centers, params, prom_out, pos_out):  # pragma: no cover - compiled
    """The strongest spike near each beat, over every lead.

    Parameters
    ----------
    x : float64 (n_leads, n)
        Signal, mV (NaN: missing).
    centers : int64 (n_beats,)
        R peaks, indices into ``x`` (may lie outside it).
    params : float64 (N_SP,)
        Settings (``SP_*``), lengths in samples.
    prom_out : float64 (n_beats,)
        Out: the spike's prominence, mV (0: no spike).
    pos_out : int64 (n_beats,)
        Out: the spike's index into ``x`` (-1: no spike).
    """
    before = int(params[SP_SEARCH_BEFORE])
    after = int(params[SP_SEARCH_AFTER])
    side = int(params[SP_SIDE])
    n = x.shape[1]
    # _spike_at is 0 outside [first, last] (its window would leave the signal) and
    # wherever t is not a local extremum of that polarity: only candidates are
    # tested (a few in ten samples), in the same order, so the result is the same
    first = max(side, int(params[SP_PRE_FAR]))
    last = n - 1 - max(side, int(params[SP_POST_FAR]))
    for b in range(centers.shape[0]):
        best = 0.0
        where = -1
        lo = max(centers[b] - before, 0, first)
        hi = min(centers[b] + after, n - 1, last)
        for lead in range(x.shape[0]):
            for t in range(lo, hi + 1):
                v = x[lead, t]
                left = x[lead, t - 1]
                right = x[lead, t + 1]
                # sign +1: v >= left and v > right; sign -1: -v >= -left and -v > -right
                if v >= left and v > right:
                    prom = _spike_at(x, lead, t, 1.0, params)
                    if prom > best:
                        best = prom
                        where = t
                elif v <= left and v < right:
                    prom = _spike_at(x, lead, t, -1.0, params)
                    if prom > best:
                        best = prom
                        where = t
        prom_out[b] = best
        pos_out[b] = where


def paced_pattern(has: np.ndarray, recent, since: int, pattern_min: int,
                  hold_beats: int) -> tuple[np.ndarray, int]:
    """Which beats fall while the patient is paced, and the beats-since count after them.

    The beat-by-beat rule, for each beat in turn: append its spike flag to
    ``recent`` (the flags of the last ``pattern_beats`` beats, a bounded
    deque); ``since`` becomes 0 if at least ``pattern_min`` of them are set,
    else ``since + 1``; the beat is active while ``since < hold_beats``. Here
    it is done for a whole block at once with running sums (the same integers).
    ``recent`` is read, not changed; the caller extends it with ``has``.
    """
    n = has.size
    if n == 0:
        return np.zeros(0, bool), int(since)
    window = recent.maxlen
    flags = np.concatenate([np.fromiter(recent, bool, len(recent)), has.astype(bool)])
    csum = np.concatenate(([0], np.cumsum(flags, dtype=np.int64)))
    at = len(recent) + np.arange(n)  # each beat's place in flags
    count = csum[at + 1] - csum[np.maximum(at + 1 - window, 0)]
    beat = np.arange(n)
    last_hit = np.maximum.accumulate(np.where(count >= pattern_min, beat, -1))
    since_now = np.where(last_hit >= 0, beat - last_hit, since + beat + 1)
    return since_now < hold_beats, int(since_now[-1])


@dataclass(frozen=True)
class PacingConfig:
    """What counts as a pacemaker spike, and as a paced patient (seconds, mV).

    The defaults were set on the MIT-BIH paced records (102, 104, 107, 217)
    and the 44 others (see ``holter bench pacing``).
    """

    #: candidates from this long before to this long after each R peak, s
    search_s: tuple[float, float] = (0.15, 0.06)
    #: the spike's prominence is its smaller drop within this long each side, s
    side_s: float = 0.025
    #: widest spike at half its prominence, s
    max_width_s: float = 0.014
    #: smallest spike prominence, mV
    min_prominence_mv: float = 0.2
    #: the quiet window before the spike, from ... to ... before it, s
    pre_s: tuple[float, float] = (0.08, 0.012)
    #: its range at most this times the spike's prominence
    pre_ratio: float = 0.5
    #: the wide-QRS window after the spike, from ... to ... after it, s (a
    #: narrow QRS is over by then)
    post_s: tuple[float, float] = (0.07, 0.16)
    #: its range at least this times the spike's prominence
    post_ratio: float = 0.5
    #: the spike's prominence is at least this share of the range of the
    #: signal from ``side_s`` before it to ``post_s[1]`` after it (not a small
    #: notch on a big QRS)
    min_share: float = 0.2
    #: the patient is paced from a beat where at least ``pattern_min`` of the
    #: last ``pattern_beats`` beats (itself included) had a spike ...
    pattern_beats: int = 16
    pattern_min: int = 6
    #: ... until ``hold_beats`` beats have passed without that
    hold_beats: int = 300
    #: while the patient is paced, a beat is paced with a weaker spike too
    #: (a pacemaker's spike varies in size over a day, noise rides on the
    #: baseline): these replace ``max_width_s``, ``min_prominence_mv``,
    #: ``min_share``, ``pre_ratio`` and ``post_ratio`` for it
    paced_max_width_s: float = 0.016
    paced_min_prominence_mv: float = 0.1
    paced_min_share: float = 0.05
    paced_pre_ratio: float = 0.75
    paced_post_ratio: float = 0.25

    def __post_init__(self) -> None:
        for name in ("side_s", "max_width_s", "min_prominence_mv", "pre_ratio", "post_ratio",
                     "min_share", "paced_max_width_s", "paced_min_prominence_mv",
                     "paced_min_share", "paced_pre_ratio", "paced_post_ratio"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise InvalidParameterError(f"{name} must be a positive number, got {value!r}")
        for name in ("search_s", "pre_s", "post_s"):
            value = getattr(self, name)
            if not (
                isinstance(value, tuple) and len(value) == 2
                and all(isinstance(v, int | float) and math.isfinite(v) and v >= 0 for v in value)
            ):
                raise InvalidParameterError(
                    f"{name} must be a pair of non-negative seconds, got {value!r}"
                )
        if not self.pre_s[0] > self.pre_s[1]:
            raise InvalidParameterError(f"pre_s must run from far to near (far > near), got {self.pre_s!r}")
        if not self.post_s[1] > self.post_s[0]:
            raise InvalidParameterError(f"post_s must run from near to far (far > near), got {self.post_s!r}")
        for name in ("pattern_beats", "hold_beats"):
            value = getattr(self, name)
            if not (isinstance(value, int) and value >= 1):
                raise InvalidParameterError(f"{name} must be a positive integer, got {value!r}")
        if not (isinstance(self.pattern_min, int) and 1 <= self.pattern_min <= self.pattern_beats):
            raise InvalidParameterError(
                f"pattern_min must be an integer from 1 to pattern_beats ({self.pattern_beats}), "
                f"got {self.pattern_min!r}"
            )

    def as_array(self, fs_hz: float, paced: bool = False) -> np.ndarray:
        """Kernel parameters (``SP_*``), lengths converted to samples at ``fs_hz``.

        With ``paced``, the weaker test used while the patient is paced.
        """

        def samples(seconds: float, least: int = 0) -> float:
            return float(max(least, round(seconds * fs_hz)))

        p = np.zeros(N_SP)
        p[SP_SEARCH_BEFORE] = samples(self.search_s[0])
        p[SP_SEARCH_AFTER] = samples(self.search_s[1])
        p[SP_SIDE] = samples(self.side_s, least=2)
        p[SP_MAX_WIDTH] = (self.paced_max_width_s if paced else self.max_width_s) * fs_hz
        p[SP_MIN_PROM] = self.paced_min_prominence_mv if paced else self.min_prominence_mv
        p[SP_PRE_FAR] = samples(self.pre_s[0], least=2)
        p[SP_PRE_NEAR] = min(samples(self.pre_s[1], least=1), p[SP_PRE_FAR])
        p[SP_PRE_RATIO] = self.paced_pre_ratio if paced else self.pre_ratio
        p[SP_POST_NEAR] = samples(self.post_s[0], least=1)
        p[SP_POST_FAR] = max(samples(self.post_s[1]), p[SP_POST_NEAR])
        p[SP_POST_RATIO] = self.paced_post_ratio if paced else self.post_ratio
        p[SP_MIN_SHARE] = self.paced_min_share if paced else self.min_share
        return p

    def reach_s(self) -> tuple[float, float]:
        """Signal needed before and after an R peak to judge it, s."""
        before = self.search_s[0] + max(self.side_s, self.pre_s[0])
        after = self.search_s[1] + max(self.side_s, self.post_s[1])
        return before, after


@dataclass(frozen=True, eq=False)
class PacedBeats:
    """Pacemaker spikes found at a run of beats.

    Attributes
    ----------
    r_peaks : ndarray of int64, shape (n,)
        The beats, sample indices (0 = first sample fed).
    has_spike : ndarray of bool, shape (n,)
        A spike passing the full test (:class:`PacingConfig`) was found near
        the beat.
    spike_samples : ndarray of int64, shape (n,)
        Where the strongest spike is (sample index), -1 where none: by the
        weaker test used while the patient is paced, by the full test
        elsewhere (the weaker one runs only while paced).
    spike_mv : ndarray of float64, shape (n,)
        Its prominence, mV (0 where none).
    paced : ndarray of bool, shape (n,)
        The patient is paced at this beat (enough spikes in recent beats) and
        the beat has a spike (by the weaker test).
    """

    r_peaks: np.ndarray
    has_spike: np.ndarray
    spike_samples: np.ndarray
    spike_mv: np.ndarray
    paced: np.ndarray

    @property
    def n_beats(self) -> int:
        """Number of beats."""
        return int(self.r_peaks.size)

    @staticmethod
    def empty() -> PacedBeats:
        """No beat."""
        return PacedBeats(
            r_peaks=np.zeros(0, np.int64), has_spike=np.zeros(0, bool),
            spike_samples=np.zeros(0, np.int64), spike_mv=np.zeros(0), paced=np.zeros(0, bool),
        )  # fmt: skip

    @staticmethod
    def concat(parts: list[PacedBeats]) -> PacedBeats:
        """One :class:`PacedBeats` from consecutive runs of beats."""
        parts = [p for p in parts if p.n_beats]
        if not parts:
            return PacedBeats.empty()
        names = ("r_peaks", "has_spike", "spike_samples", "spike_mv", "paced")
        return PacedBeats(**{k: np.concatenate([getattr(p, k) for p in parts]) for k in names})


class PacingDetector:
    """Streaming pacemaker-spike detection, one beat at a time.

    Parameters
    ----------
    fs_hz : float
        Sampling rate, 100 to 1000 Hz.
    n_leads : int
        Leads in every block.
    lookback_s : float
        How late an R peak may be reported, relative to the newest sample fed.
    config : PacingConfig, optional

    Examples
    --------
    >>> import numpy as np, dsp
    >>> fs_hz = 360.0
    >>> t = np.arange(int(20 * fs_hz)) / fs_hz
    >>> ecg = np.exp(-((t % 0.8 - 0.4) ** 2) / (2 * 0.03 ** 2))  # wide "paced" QRS
    >>> r_peaks = np.flatnonzero(np.isclose(t % 0.8, 0.4, atol=0.5 / fs_hz))
    >>> ecg[r_peaks - int(0.1 * fs_hz)] += 1.0  # a one-sample spike 100 ms before each R
    >>> out = dsp.detect_pacing(ecg, fs_hz, r_peaks)
    >>> bool(out.has_spike.all()), int(out.paced.sum()), out.n_beats
    (True, 20, 25)
    """

    def __init__(
        self,
        fs_hz: float,
        n_leads: int = 1,
        lookback_s: float = 8.0,
        config: PacingConfig | None = None,
    ) -> None:
        self.fs_hz = check_fs_hz(fs_hz)
        if not isinstance(n_leads, int | np.integer) or n_leads < 1:
            raise InvalidParameterError(f"n_leads must be a positive integer, got {n_leads!r}")
        if not (isinstance(lookback_s, int | float) and lookback_s >= 0):
            raise InvalidParameterError(f"lookback_s must be >= 0 seconds, got {lookback_s!r}")
        if config is not None and not isinstance(config, PacingConfig):
            raise InvalidParameterError(f"config must be a PacingConfig, got {type(config).__name__}")
        self.n_leads = int(n_leads)
        self.config = config or PacingConfig()
        self._params = self.config.as_array(self.fs_hz)
        before_s, after_s = self.config.reach_s()
        self._need_before = int(math.ceil(before_s * self.fs_hz)) + 2
        self._need_after = int(math.ceil(after_s * self.fs_hz)) + 2
        self._lookback = int(math.ceil(lookback_s * self.fs_hz))
        self._buf = np.zeros((self.n_leads, 0))
        self._buf_start = 0  # absolute index of self._buf[:, 0]
        self._pending = np.zeros(0, np.int64)
        self._last_peak = -1
        self._paced_params = self.config.as_array(self.fs_hz, paced=True)
        # the patient's state: spikes of the last pattern_beats beats, and beats
        # since the pattern last held (hold_beats or more: not paced)
        self._recent: deque[bool] = deque(maxlen=self.config.pattern_beats)
        self._since = self.config.hold_beats
        self._finished = False

    @property
    def samples_seen(self) -> int:
        """Samples fed so far."""
        return self._buf_start + self._buf.shape[1]

    def feed(self, block, r_peaks=()) -> PacedBeats:
        """Add a block of signal and the R peaks newly found; return the beats judged.

        Parameters
        ----------
        block : array_like, shape (n,) or (n, n_leads)
            The next samples, mV (NaN where a lead is off; may be empty).
        r_peaks : array_like of int
            New R peaks, absolute sample indices, sorted, after every peak fed
            before (they may lie before the end of earlier blocks).
        """
        if self._finished:
            raise InvalidParameterError("feed() after finish(): make a new PacingDetector")
        if np.size(block):
            arr = as_samples_by_leads(block, self.n_leads, made_for="pacing detector").T
            self._buf = np.concatenate([self._buf, arr], axis=1)
        given = np.asarray(r_peaks)
        if given.size and given.dtype.kind not in "iu":
            raise InvalidSignalError(f"r_peaks must be integers, got dtype {given.dtype}")
        peaks = check_new_r_peaks(given, self._last_peak)
        if peaks.size:
            self._last_peak = int(peaks[-1])
            self._pending = np.concatenate([self._pending, peaks])
        return self._emit(final=False)

    def finish(self) -> PacedBeats:
        """Judge every beat still waiting (the signal after the last is missing)."""
        if self._finished:
            return PacedBeats.empty()
        out = self._emit(final=True)
        self._finished = True
        return out

    def _emit(self, final: bool) -> PacedBeats:
        p = self._pending
        n_ready = p.size if final else int(
            np.searchsorted(p, self.samples_seen - self._need_after, side="right")
        )
        out = PacedBeats.empty()
        if n_ready:
            out = self._judge(p[:n_ready])
            self._pending = p[n_ready:]
        self._trim()
        return out

    def _judge(self, ready: np.ndarray) -> PacedBeats:
        n = ready.size
        buf = np.ascontiguousarray(self._buf)
        centers = np.ascontiguousarray(ready - self._buf_start)
        strict = np.zeros(n)
        pos = np.full(n, -1, np.int64)
        spike_scan(buf, centers, self._params, strict, pos)
        has = strict > 0
        cfg = self.config
        active, self._since = paced_pattern(has, self._recent, self._since, cfg.pattern_min,
                                            cfg.hold_beats)
        self._recent.extend(has[-cfg.pattern_beats :].tolist())
        # the weaker test only where the patient is paced (most never are: half the time);
        # elsewhere the full test's spike is reported
        weak = strict.copy()
        at = np.flatnonzero(active)
        if at.size:
            weak_at = np.zeros(at.size)
            pos_at = np.full(at.size, -1, np.int64)
            spike_scan(buf, np.ascontiguousarray(centers[at]), self._paced_params, weak_at, pos_at)
            weak[at], pos[at] = weak_at, pos_at
        paced = active & (weak > 0)
        return PacedBeats(
            r_peaks=ready.copy(), has_spike=has,
            spike_samples=np.where(pos >= 0, pos + self._buf_start, -1), spike_mv=weak, paced=paced,
        )  # fmt: skip

    def _trim(self) -> None:
        keep_from = self.samples_seen - self._lookback - self._need_before
        if self._pending.size:
            keep_from = min(keep_from, int(self._pending[0]) - self._need_before)
        drop = min(keep_from - self._buf_start, self._buf.shape[1])
        if drop > 0:
            self._buf = np.ascontiguousarray(self._buf[:, drop:])
            self._buf_start += drop


def detect_pacing(signal, fs_hz: float, r_peaks, config: PacingConfig | None = None) -> PacedBeats:
    """Pacemaker spikes and paced beats of a whole record.

    Parameters
    ----------
    signal : array_like, shape (n_samples,) or (n_samples, n_leads)
        ECG, mV (NaN where a lead is off).
    fs_hz : float
        Sampling rate, 100 to 1000 Hz.
    r_peaks : array_like of int
        R peak sample indices, sorted (e.g. :func:`dsp.detect_qrs`).
    config : PacingConfig, optional

    Returns
    -------
    PacedBeats
        One row per R peak, in order.
    """
    arr = as_samples_by_leads(signal)
    fs = check_fs_hz(fs_hz)
    det = PacingDetector(fs, arr.shape[1], lookback_s=arr.shape[0] / fs + 1.0, config=config)
    first = det.feed(arr, r_peaks)
    return PacedBeats.concat([first, det.finish()])
