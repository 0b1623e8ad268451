"""One patient's streaming pipeline: samples in, alerts (with strips) and summaries out.

Per block of samples (:meth:`PatientPipeline.feed`):

1. the streaming QRS detector (:class:`dsp.QrsDetector`) decides beats and
   unusable stretches;
2. the beat features (:class:`dsp.BeatFeatureExtractor`) and the TFLite
   classifier (:class:`models.BeatClassifier`) label every beat once its
   neighbours are known;
3. the rhythm detectors (:func:`dsp._rhythm.analyze_rhythm_sveb_in_af`) run on a sliding
   window of recent labelled beats (``RHYTHM_WINDOW_S``), the unusable
   stretches become technical observations, and the alert rules
   (:class:`edge._rules.AlertRules`) decide which alerts to raise;
4. each alert gets its evidence: a strip of ``strip_s`` seconds of every lead
   around the event (from a ring buffer of recent signal) with the beat labels;
5. every ``summary_period_s`` of signal an hourly summary, and at the end of the
   recording the recording summary with the risk assessment.

Everything is on the signal's own timeline (sample indices; epoch ms through
the recording's start), so replaying a file gives the same alerts, ids and
all, however fast it is fed: what makes a restarted gateway's re-sends
duplicates the cloud can drop. Memory is bounded: the signal ring buffer and
the analysis window are fixed; the per-beat history (time, class, paced: 10 bytes
a beat) is what the hourly risk re-assessment needs, about 1 MB a day.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

import dsp
from dsp._rhythm import (
    C_S,
    C_V,
    CLASSES,
    RhythmConfig,
    analyze_rhythm_sveb_in_af,
    beats_in_episodes,
)
from edge._config import AlertThresholds
from edge._labels import shared_classifier
from edge._paced import PacedOverride
from edge._payload import AlertType
from edge._payload_evidence import SummaryKind
from edge._rules import AlertDraft, AlertRules, Observation
from edge._st_watch import StWatch
from edge._stream import merge_stretches

__all__ = ["PatientPipeline", "PipelineAlert", "PipelineSummary"]

#: Seconds of recent beats the rhythm detectors re-analyse after each block.
RHYTHM_WINDOW_S = 300.0
#: ST episodes are looked for when the signal crosses a multiple of this many seconds
#: (they last 30 s at least and an ST level is known 5 s after its beat).
ST_EVERY_S = 5.0
#: Seconds of signal kept for strips.
SIGNAL_KEEP_S = 120.0
#: The poor-signal check looks at windows of this many seconds.
QUALITY_WINDOW_S = 60.0
#: Units per mV of strip samples (1 unit = 1 µV).
STRIP_UNITS_PER_MV = 1000
#: Risk levels in rising order (models.score_risk's ``level``).
RISK_LEVELS = ("low", "intermediate", "high")
_CODE = {c: i for i, c in enumerate(CLASSES)}
#: dsp._rhythm episode kinds the rules watch (others, e.g. bigeminy, go to the summary only).
_RHYTHM_KINDS = {"VT": "VT", "AFIB": "AFIB", "PAUSE": "PAUSE", "SBR": "SBR", "TACH": "TACH"}


@dataclass(frozen=True, eq=False)
class PipelineAlert:
    """An alert decided by the rules, with its strip (int16 µV, interleaved) and beats."""

    draft: AlertDraft
    strip_start_ms: int
    strip_samples: np.ndarray  # (n, n_leads) int16
    strip_beats: tuple[tuple[int, str], ...]


@dataclass(frozen=True)
class PipelineSummary:
    """A summary's period and numbers (the gateway adds the sequence number)."""

    kind: SummaryKind
    start_ms: int
    end_ms: int
    num: Mapping[str, int | float] = field(default_factory=dict)


def _overlap_s(episodes: list[tuple[int, int]], lo: int, hi: int, fs_hz: float) -> float:
    """Seconds of the [start, end] sample stretches inside [lo, hi)."""
    return sum(max(0, min(e, hi) - max(s, lo)) for s, e in episodes) / fs_hz


class _Growing:
    """An append-only 1-D array with amortised O(1) appends."""

    def __init__(self, dtype: type) -> None:
        self._a = np.zeros(1024, dtype)
        self.n = 0

    def extend(self, values: np.ndarray) -> None:
        k = values.size
        if self.n + k > self._a.size:
            self._a = np.resize(self._a, max(2 * self._a.size, self.n + k))
        self._a[self.n : self.n + k] = values
        self.n += k

    @property
    def view(self) -> np.ndarray:
        return self._a[: self.n]


class PatientPipeline:
    """The streaming analysis of one patient's ECG.

    Parameters
    ----------
    patient : str
        Pseudonymous patient id.
    fs_hz : float
    n_leads : int
    start_ms : int
        UTC epoch milliseconds of the first sample.
    thresholds : AlertThresholds, optional
    lead_names : tuple of str, optional
    summary_period_s : float
        Signal seconds per hourly summary.
    strip_s : float
        Length of an alert's ECG strip.
    classifier : models.BeatClassifier, optional
        Default: the committed model (shared by every pipeline of the process).
    """

    def __init__(
        self,
        patient: str,
        fs_hz: float,
        n_leads: int,
        start_ms: int,
        thresholds: AlertThresholds | None = None,
        lead_names: tuple[str, ...] = (),
        summary_period_s: float = 3600.0,
        strip_s: float = 10.0,
        classifier=None,
    ) -> None:
        self.patient = patient
        self.fs_hz = float(fs_hz)
        self.n_leads = int(n_leads)
        self.start_ms = int(start_ms)
        self.thresholds = thresholds or AlertThresholds()
        self.lead_names = tuple(lead_names) if len(lead_names) == n_leads else tuple(
            f"lead {i + 1}" for i in range(n_leads)
        )
        self.summary_period = max(1, round(summary_period_s * self.fs_hz))
        self.strip_samples = max(1, round(strip_s * self.fs_hz))
        self._classifier = classifier
        self._detector = dsp.QrsDetector(fs_hz=self.fs_hz, n_leads=self.n_leads)
        self._extractor = dsp.BeatFeatureExtractor(self.fs_hz, self.n_leads, lookback_s=8.0)
        self._paced = PacedOverride()  # paced beats are Q
        t = self.thresholds
        self._rhythm_cfg = RhythmConfig(
            af_min_s=t.af_min_s, vt_rate_bpm=t.vt_rate_bpm, sustained_s=t.sustained_vt_s,
            pause_s=t.pause_s, brady_bpm=t.brady_bpm, tachy_bpm=t.tachy_bpm,
        )
        self.rules = AlertRules(self.fs_hz, self.start_ms, t)
        self._st = StWatch(self.fs_hz, self.n_leads, t.st_uv, t.st_min_s, RHYTHM_WINDOW_S)
        self._st_every = max(1, round(ST_EVERY_S * self.fs_hz))
        self._st_done = 0  # the multiple of _st_every last analysed
        self._last_detected = -1  # the detector's newest beat (labelled or not)
        self._early: list[Observation] = []  # pauses seen before their beats are labelled
        self._peaks = _Growing(np.int64)  # every labelled beat
        self._codes = _Growing(np.int8)
        self._paced_flags = _Growing(np.bool_)  # labelled Q for being paced: beats for rhythm
        self._p_wave = _Growing(np.float64)  # P-wave similarity (NaN: paced or not measured)
        self._last_decided = -1
        self._unusable: list[tuple[int, int]] = []
        self._gaps: list[tuple[int, int]] = []
        keep = round(SIGNAL_KEEP_S * self.fs_hz)
        self._ring = np.zeros((keep, self.n_leads), np.float32)
        self.n_samples = 0
        self._period_start = 0
        self._last_risk_level: str | None = None
        self._risk_model = None  # models.RiskModel once loaded, False if it cannot be
        self._af_before_s = 0.0
        self._af_prev: list[tuple[int, int]] = []
        self._af_counted_to = 0  # AF before this sample is in _af_before_s
        self._rhythm_key: tuple | None = None  # what the last rhythm analysis saw
        self._rhythm_last: tuple[list[Observation], np.ndarray] = ([], np.zeros(0, bool))
        self._quality_done = 0
        self.finished = False
        self.n_alerts = 0

    # -- input ------------------------------------------------------------

    def feed(self, samples: np.ndarray) -> list[PipelineAlert | PipelineSummary]:
        """Analyse the next block, shape (n, n_leads) in mV (NaN: invalid); returns what it raised."""
        if self.finished:
            raise ValueError(f"patient {self.patient}: feed() after finish()")
        block = np.asarray(samples, dtype=np.float64)
        if block.ndim == 1:
            block = block[:, None]
        if block.ndim != 2 or block.shape[1] != self.n_leads:
            raise ValueError(
                f"patient {self.patient}: block shape {block.shape}, expected (n, {self.n_leads})"
            )
        self._remember(block)
        update = self._detector.feed(block)
        peaks = np.asarray(update.r_peaks, np.int64)
        self._label(block, peaks, final=False)
        self._add_unusable(update.unusable)
        self._early_pauses(peaks)
        self._st.feed(block, peaks)
        self.n_samples += block.shape[0]
        out: list[PipelineAlert | PipelineSummary] = list(self._analyse(final=False))
        out.extend(self._summaries(final=False))
        return out

    def note_gap(self, start_sample: int, n_missing: int) -> None:
        """Frames were lost: ``n_missing`` samples from ``start_sample`` (fed as NaN)."""
        if n_missing > 0:
            self._gaps.append((int(start_sample), int(start_sample + n_missing)))

    def note_silence(self, silent_s: float) -> list[PipelineAlert]:
        """The device has sent nothing for ``silent_s`` (wall clock); returns the alert, if any."""
        obs = Observation("SILENT", self.n_samples, self.n_samples, ongoing=False,
                          nums={"silent_s": round(silent_s, 1)})
        return [self.with_strip(d) for d in self.rules.observe([obs], self.n_samples)]

    def finish(self) -> list[PipelineAlert | PipelineSummary]:
        """The recording ended: last beats, last alerts, the last hourly and the recording summary."""
        if self.finished:
            return []
        update = self._detector.finish()
        peaks = np.asarray(update.r_peaks, np.int64)
        self._label(np.zeros((0, self.n_leads)), peaks, final=True)
        self._add_unusable(update.unusable)
        self._early_pauses(peaks)
        self._st.feed(np.zeros((0, self.n_leads)), peaks)
        out: list[PipelineAlert | PipelineSummary] = list(self._analyse(final=True))
        out.extend(self._summaries(final=True))
        self.finished = True
        return out

    # -- beats ------------------------------------------------------------

    def _remember(self, block: np.ndarray) -> None:
        n, keep = block.shape[0], self._ring.shape[0]
        if n >= keep:
            self._ring[:] = block[-keep:]
        else:
            self._ring = np.roll(self._ring, -n, axis=0)
            self._ring[-n:] = block

    def _label(self, block: np.ndarray, r_peaks: np.ndarray, final: bool) -> None:
        peaks = r_peaks[r_peaks > self._last_decided]
        if peaks.size:
            self._last_decided = int(peaks[-1])
        self._paced.feed(self.fs_hz, self.n_leads, block, peaks)
        feats = self._extractor.feed(block, peaks)
        self._classify(feats)
        if final:
            self._paced.finish()
            self._classify(self._extractor.finish())

    def _classify(self, feats) -> None:
        if feats.n_beats == 0:
            return
        labels = (self._classifier or shared_classifier()).classify(feats)
        classes, paced = self._paced.apply(labels.r_peaks, labels.classes)
        codes = np.array([_CODE[c] for c in classes], np.int8)
        self._peaks.extend(np.asarray(labels.r_peaks, np.int64))
        self._codes.extend(codes)
        self._paced_flags.extend(paced)
        self._p_wave.extend(np.where(paced, np.nan, dsp.p_wave_similarity(feats)))

    def _early_pauses(self, peaks: np.ndarray) -> None:
        """Pauses on the detector's beats, as soon as the beat that ends one is found.

        The rhythm analysis sees a beat only once it is labelled, which waits for
        the beat after it (the classifier's post-RR): a pause would be reported
        one RR interval later. The same pause found there joins this one
        (:class:`AlertRules` tracks it as one episode). An interval across an
        unusable stretch or a frame gap is no pause (as in :mod:`dsp._rhythm`).
        """
        pause = self._rhythm_cfg.pause_s * self.fs_hz
        noise = self._unusable + self._gaps
        for p in peaks.tolist():
            prev, self._last_detected = self._last_detected, max(self._last_detected, p)
            if prev < 0 or p - prev < pause:
                continue
            if any(start < p and end > prev for start, end in noise):
                continue
            self._early.append(Observation("PAUSE", prev, p, ongoing=False, nums={
                "pause_ms": round((p - prev) * 1000.0 / self.fs_hz)}))

    def _add_unusable(self, stretches) -> None:
        for start, end in np.asarray(stretches, np.int64).reshape(-1, 2).tolist():
            if end > start:
                self._unusable.append((start, end))
        if len(self._unusable) > 64:
            horizon = self.n_samples - round((RHYTHM_WINDOW_S + QUALITY_WINDOW_S) * self.fs_hz)
            merged = merge_stretches(np.array(self._unusable), max(self.n_samples, 1) + 2**40)
            self._unusable = [tuple(s) for s in merged.tolist() if s[1] >= horizon]

    # -- analysis ---------------------------------------------------------

    def _window(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Beats of the analysis window, their codes (Q in unusable signal), the codes
        the rhythm detectors see (a paced beat is N there, not noise), the stretches."""
        r, codes = self._peaks.view, self._codes.view
        # anchored on the newest labelled beat: no new beat, the same window
        newest = int(r[-1]) if r.size else self.n_samples
        lo = np.searchsorted(r, newest - round(RHYTHM_WINDOW_S * self.fs_hz))
        r_w, c_w = r[lo:], codes[lo:].copy()
        rhythm_w = np.where(self._paced_flags.view[lo:], np.int8(_CODE["N"]), c_w)
        bad = merge_stretches(np.array(self._unusable, np.int64).reshape(-1, 2) if self._unusable
                              else np.zeros((0, 2), np.int64), self.n_samples + 1)
        if bad.shape[0] and r_w.size:
            first = np.searchsorted(bad[:, 0], r_w, side="right") - 1
            inside = (first >= 0) & (bad[np.maximum(first, 0), 1] > r_w)
            c_w[inside] = _CODE["Q"]
            rhythm_w[inside] = _CODE["Q"]
        return r_w, c_w, rhythm_w, bad

    def _analyse(self, final: bool):
        r_w, c_w, rhythm_w, bad = self._window()
        # the rhythm only changes with a newly labelled beat or a new unusable stretch:
        # blocks without either (most device frames) reuse the last analysis
        key = (self._peaks.n, len(self._unusable), self._unusable[-1] if self._unusable else None,
               final)
        if key != self._rhythm_key:
            self._rhythm_key = key
            self._rhythm_last = self._rhythm_observations(r_w, rhythm_w, bad, final)
        rhythm_obs, af_beats = self._rhythm_last
        self.rules.monitored_s = self.n_samples / self.fs_hz
        observations = list(rhythm_obs)
        observations.extend(self._early)
        self._early.clear()
        # ST on normal beats outside AF (no isoelectric PR segment there), as holter analyze
        observations.extend(self._st_observations(
            r_w, np.where(af_beats, np.int8(_CODE["Q"]), c_w), final))
        observations.extend(self._technical(bad, final))
        horizon = self.n_samples if not final else self.n_samples + 2**40
        drafts = self.rules.observe(observations, horizon)
        for draft in drafts:
            self.n_alerts += 1
            yield self.with_strip(draft)

    def _rhythm_observations(self, r_w: np.ndarray, rhythm_w: np.ndarray, bad: np.ndarray,
                             final: bool) -> tuple[list[Observation], np.ndarray]:
        """The rhythm detectors on the window: the episodes the rules watch, and which
        beats are in AF."""
        observations: list[Observation] = []
        last_beat = int(r_w[-1]) if r_w.size else -1
        af_beats = np.zeros(r_w.size, bool)
        if r_w.size >= 2:
            # S beats inside AF are conducted AF beats: N, in the stored labels too
            p_w = self._p_wave.view[self._p_wave.n - r_w.size :]  # the window is the tail
            rhythm, relabelled = analyze_rhythm_sveb_in_af(r_w, rhythm_w, self.fs_hz, bad,
                                                           self._rhythm_cfg, p_wave=p_w)
            if relabelled.any():  # the window is the tail of the stored beats
                self._codes.view[self._codes.n - r_w.size :][relabelled] = _CODE["N"]
            af_beats = beats_in_episodes(r_w, rhythm.of_kind("AFIB"))
            for ep in rhythm.episodes:
                kind = _RHYTHM_KINDS.get(ep.kind)
                if kind is None:
                    continue
                ongoing = not final and ep.end_sample >= last_beat
                nums: dict[str, int | float] = {"rate_bpm": round(float(ep.rate_bpm), 1),
                                                "beats": int(ep.n_beats)}
                if kind == "PAUSE":
                    nums = {"pause_ms": round((ep.end_sample - ep.start_sample) * 1000.0 / self.fs_hz)}
                    ongoing = False
                elif kind == "AFIB":  # the window's beat count is not an episode's (it can last hours)
                    nums = {"rate_bpm": nums["rate_bpm"]}
                observations.append(Observation(kind, int(ep.start_sample), int(ep.end_sample),
                                                ongoing, nums))
            self._track_af(rhythm, r_w)
        return observations, af_beats

    def _track_af(self, rhythm, r_w: np.ndarray) -> None:
        """AF seconds and monitored seconds so far (for the AF burden of an offset alert).

        The signal before the analysis window has left it for good: its AF time,
        as the last analysis that still saw it found it, is added to a running
        total once; the window's own AF time is added afresh at each analysis.
        An episode longer than the window counts in full.
        """
        window_start = int(r_w[0]) if r_w.size else self.n_samples
        if window_start > self._af_counted_to:
            self._af_before_s += _overlap_s(self._af_prev, self._af_counted_to, window_start,
                                            self.fs_hz)
            self._af_counted_to = window_start
        self._af_prev = [(e.start_sample, e.end_sample) for e in rhythm.of_kind("AFIB")]
        self.rules.af_s = self._af_before_s + _overlap_s(self._af_prev, self._af_counted_to,
                                                         2**62, self.fs_hz)

    def _st_observations(self, r_w: np.ndarray, c_w: np.ndarray, final: bool) -> list[Observation]:
        due = self.n_samples // self._st_every
        if due == self._st_done and not final:
            return []
        self._st_done = due
        episodes, last_normal = self._st.episodes(r_w, c_w)
        return [
            Observation("ST", ep.start_sample, ep.end_sample,
                        ongoing=not final and ep.end_sample >= last_normal,
                        nums={"st_uv": round(ep.peak_uv), "lead": ep.lead + 1})
            for ep in episodes
        ]

    def _technical(self, bad: np.ndarray, final: bool) -> list[Observation]:
        out = []
        edge = self.n_samples - 1
        for start, end in bad.tolist():
            out.append(Observation("LEAD_OFF", start, end, ongoing=not final and end >= edge))
        for start, end in self._gaps:
            out.append(Observation("GAP", start, end, ongoing=False,
                                   nums={"lost_ms": round((end - start) * 1000.0 / self.fs_hz)}))
        self._gaps.clear()
        # poor signal: the last full quality window, judged once
        q = round(QUALITY_WINDOW_S * self.fs_hz)
        w_end = (self.n_samples // q) * q
        if w_end >= q and self._quality_done < w_end:
            self._quality_done = w_end
            w_start = w_end - q
            clipped = np.clip(bad, w_start, w_end) if bad.size else bad
            lost = int(np.sum(clipped[:, 1] - clipped[:, 0])) if bad.size else 0
            fraction = lost / q
            longest = int(np.max(clipped[:, 1] - clipped[:, 0])) if bad.size else 0
            if fraction >= self.thresholds.poor_signal_fraction and longest < round(
                    self.thresholds.lead_off_s * self.fs_hz):
                out.append(Observation("POOR_SIGNAL", w_start, w_end, ongoing=False,
                                       nums={"unusable_pct": round(100 * fraction, 1)}))
        return out

    # -- evidence ---------------------------------------------------------

    def with_strip(self, draft: AlertDraft) -> PipelineAlert:
        """The alert with its evidence: ``strip_s`` of every lead around the event and the beats."""
        keep = self._ring.shape[0]
        ring_start = self.n_samples - keep  # absolute index of self._ring[0]
        n = self.strip_samples
        centre = draft.start_sample if draft.type is not AlertType.AF_OFFSET else draft.end_sample
        lo = centre - n // 2
        lo = max(lo, ring_start, 0)
        hi = min(lo + n, self.n_samples)
        lo = max(min(lo, hi - n), ring_start, 0)
        block = self._ring[lo - ring_start : hi - ring_start]
        mv = np.nan_to_num(block, nan=0.0) * STRIP_UNITS_PER_MV
        ints = np.clip(np.round(mv), -32768, 32767).astype(np.int16)
        r, codes = self._peaks.view, self._codes.view
        i0, i1 = np.searchsorted(r, [lo, hi])
        beats = tuple(
            (int(p - lo), "A" if CLASSES[c] == "S" else CLASSES[c])
            for p, c in zip(r[i0:i1].tolist(), codes[i0:i1].tolist(), strict=True)
        )
        return PipelineAlert(draft, self.rules.ms(lo), ints, beats)

    # -- summaries --------------------------------------------------------

    def _summaries(self, final: bool):
        while self.n_samples - self._period_start >= self.summary_period or (
            final and self.n_samples > self._period_start
        ):
            end = min(self._period_start + self.summary_period, self.n_samples)
            yield self._hourly(self._period_start, end)
            self._period_start = end
            yield from self._risk_check(end)
        if final:
            yield self._recording_summary()

    def _period_numbers(self, start: int, end: int) -> dict[str, int | float]:
        r, codes = self._peaks.view, self._codes.view
        i0, i1 = np.searchsorted(r, [start, end])
        rp, cp = r[i0:i1], codes[i0:i1]
        num: dict[str, int | float] = {
            "beats": int(rp.size), "v_beats": int(np.sum(cp == C_V)),
            "s_beats": int(np.sum(cp == C_S)), "q_beats": int(np.sum(cp == _CODE["Q"])),
            "duration_s": round((end - start) / self.fs_hz, 1),
        }
        if rp.size >= 3:
            rr_s = np.diff(rp) / self.fs_hz
            ok = (cp[:-1] != _CODE["Q"]) & (cp[1:] != _CODE["Q"]) & (rr_s < 3.0)
            nn = ok & (cp[:-1] == 0) & (cp[1:] == 0)
            if np.any(ok):
                hr = 60.0 / rr_s[ok]
                k = min(10, hr.size)
                running = np.convolve(hr, np.ones(k) / k, mode="valid")
                num.update(hr_min_bpm=round(float(running.min()), 1),
                           hr_mean_bpm=round(float(60.0 / rr_s[ok].mean()), 1),
                           hr_max_bpm=round(float(running.max()), 1))
            if np.sum(nn) >= 3:
                nn_ms = rr_s[nn] * 1000.0
                num["sdnn_ms"] = round(float(np.std(nn_ms, ddof=1)), 1)
                d = np.diff(rr_s * 1000.0)[nn[:-1] & nn[1:]]
                if d.size:
                    num["rmssd_ms"] = round(float(np.sqrt(np.mean(d**2))), 1)
        return num

    def _hourly(self, start: int, end: int) -> PipelineSummary:
        num = self._period_numbers(start, end)
        num["alerts"] = self.n_alerts
        return PipelineSummary(SummaryKind.HOURLY, self.rules.ms(start), self.rules.ms(end), num)

    def _assess(self):
        from dsp import rr_series
        from models import RiskModel, assess_rr

        r, codes = self._peaks.view, self._codes.view
        if r.size < 100:
            return None
        # dsp.BEAT_CLASSES (N A V F Q) has the rhythm codes' order (N S V F Q)
        rr = rr_series(r / self.fs_hz, codes.astype(np.int64))
        if self._risk_model is None:
            # loaded once per pipeline (an interpreter is not thread-safe, so not
            # shared between patients), not once an hour
            try:
                self._risk_model = RiskModel()
            except Exception:  # noqa: BLE001 - the model is one optional factor
                self._risk_model = False
        model = self._risk_model or None
        return assess_rr(rr, model=model, record_duration_s=self.n_samples / self.fs_hz)

    def _risk_check(self, end: int):
        assessment = self._assess()
        if assessment is None:
            return
        level = assessment.score.level
        if level in RISK_LEVELS:
            previous = self._last_risk_level
            self._last_risk_level = level
            if previous is not None and RISK_LEVELS.index(level) > RISK_LEVELS.index(previous):
                obs = Observation("RISK", end - 1, end - 1, ongoing=False, nums={
                    "level": RISK_LEVELS.index(level), "previous": RISK_LEVELS.index(previous),
                    "points": int(assessment.score.points)})
                for draft in self.rules.observe([obs], self.n_samples):
                    self.n_alerts += 1
                    yield self.with_strip(draft)

    def _recording_summary(self) -> PipelineSummary:
        num = self._period_numbers(0, self.n_samples)
        num["alerts"] = self.n_alerts
        num["af_s"] = round(self.rules.af_s, 1)
        assessment = self._assess()
        if assessment is not None:
            score = assessment.score
            if score.level in RISK_LEVELS:
                num["risk_level"] = RISK_LEVELS.index(score.level)
            num["risk_points"] = int(score.points)
            if assessment.model_probability is not None:
                num["model_prob"] = round(float(assessment.model_probability), 4)
            for factor in score.factors:  # the factor values, named as in the factor table
                value = factor.value
                if (isinstance(value, int | float) and np.isfinite(value) and len(factor.name) <= 16
                        and factor.name not in num and len(num) < 48):
                    num[factor.name] = round(float(value), 3)
        return PipelineSummary(SummaryKind.RECORDING, self.rules.ms(0), self.rules.ms(self.n_samples),
                               num)

    # -- health -----------------------------------------------------------

    def quality(self) -> dict[str, float | int]:
        """Signal quality for the health page: unusable share of the last minute, beats so far."""
        q = round(QUALITY_WINDOW_S * self.fs_hz)
        lo = max(0, self.n_samples - q)
        bad = np.array(self._unusable, np.int64).reshape(-1, 2)
        lost = int(np.sum(np.clip(bad[:, 1], lo, None) - np.clip(bad[:, 0], lo, None))) if bad.size else 0
        span = max(1, self.n_samples - lo)
        return {"unusable_pct_1min": round(100.0 * min(lost, span) / span, 1),
                "beats": int(self._peaks.n), "seconds": round(self.n_samples / self.fs_hz, 1),
                "alerts": self.n_alerts}
