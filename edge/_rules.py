"""Alert rules: episodes observed in a patient's stream -> debounced, rate-limited alerts.

The pipeline re-analyses a sliding window of recent beats after every block it
is fed, so the same episode is observed again and again, growing as it goes
on, its start sometimes clipped by the window. :class:`AlertRules` tracks each
episode across observations (same kind, overlapping in time) and decides once
per episode:

========================  ===========================================  =========
alert                     raised when                                  severity
========================  ===========================================  =========
``nsvt``                  a ventricular run (>= 3 V beats faster       warning
                          than ``vt_rate_bpm``) is seen, at once,
                          while it may still go on (its numbers are
                          those at that moment)
``sustained_vt``          a ventricular run reaches ``sustained_vt_s``  critical
                          (raised while it goes on, after its nsvt)
``af_onset``              an AF episode has lasted ``af_min_s``        warning
``af_offset``             that episode has ended and AF has not        info
                          resumed for 10 s (duration, burden); only
                          after its onset alert was sent
``pause``                 an RR interval >= ``pause_s``                warning;
                                                                       critical
                                                                       from
                                                                       ``pause_critical_s``
``brady`` / ``tachy``     the rate stays below ``brady_bpm`` / above   warning
                          ``tachy_bpm`` for ``rate_debounce_s``
``st``                    an ST episode (>= ``st_uv`` for              warning
                          ``st_min_s``)
``risk_rise``             the risk level rose (hourly re-assessment)   warning
``lead_off``              no lead usable for ``lead_off_s``            warning
``poor_signal``           a minute with >= ``poor_signal_fraction``    info
                          of its time unusable
``stream_gap``            frames lost for >= ``gap_min_s``             info
``device_silent``         no data from a connected device for          warning
                          ``device_silent_s`` (the gateway's watchdog)
========================  ===========================================  =========

Debounce: the duration conditions above (an episode must last before it is
reported; noise never makes an episode, see :mod:`dsp._rhythm`). Rate limit:
one alert of a type per ``rate_limit_s`` of signal time per patient
(``critical_rate_limit_s`` for critical ones); the ones held back are counted
and the next alert of that type carries the count (``suppressed``). An alert
about a condition that is still going on (AF, sustained VT, brady- or
tachycardia, ST, lead off) is only delayed: it goes out as soon as the limit
allows if the episode has not ended by then. An ``af_offset`` whose onset was
sent is never held back.

Pure logic: no I/O, no clock (times come from the signal), so it is tested
sample by sample.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from edge._config import AlertThresholds
from edge._payload import AlertType, Severity

__all__ = ["AlertDraft", "AlertRules", "Observation"]

#: Observation kinds the rules know (rhythm kinds as in dsp._rhythm, then technical).
KINDS = ("VT", "AFIB", "PAUSE", "SBR", "TACH", "ST", "RISK", "LEAD_OFF", "POOR_SIGNAL", "GAP",
         "SILENT")
#: Kinds whose later observations join an earlier one only when they overlap
#: (a new VT run one beat after the last is another run); others also join
#: across a gap of up to ``_JOIN_S``.
#: An AF offset is AF absent for this long (AF resuming sooner is the same episode).
AF_RESUME_S = 10.0
_JOIN_S = {"AFIB": AF_RESUME_S, "SBR": 5.0, "TACH": 5.0, "ST": 10.0, "LEAD_OFF": 2.0,
           "POOR_SIGNAL": 1.0}
#: Alerts whose numbers carry no ``duration_ms`` (a pause has ``pause_ms``; a risk
#: rise is an instant).
_NO_DURATION = frozenset({AlertType.PAUSE, AlertType.RISK_RISE, AlertType.VT})
#: Alerts about a condition that goes on (AF, sustained VT, a slow or fast rate, ST,
#: lead off): held back by the rate limit, they are sent once the limit allows if the
#: episode still goes on then, instead of being dropped (a patient in AF for hours
#: after a short first episode would otherwise never be reported).
_HELD_WHILE_ONGOING = frozenset({AlertType.AF_ONSET, AlertType.SUSTAINED_VT,
                                 AlertType.BRADYCARDIA, AlertType.TACHYCARDIA,
                                 AlertType.ST_EPISODE, AlertType.LEAD_OFF})
#: Tracked episodes that ended this long ago (signal time) are forgotten.
_FORGET_S = 900.0


@dataclass(frozen=True)
class Observation:
    """One episode as the latest analysis sees it.

    ``ongoing``: the episode reaches the end of what has been analysed, so it
    may still grow. ``nums`` are the numbers behind it (units in the names).
    """

    kind: str
    start_sample: int
    end_sample: int
    ongoing: bool
    nums: Mapping[str, int | float] = field(default_factory=dict)


@dataclass(frozen=True)
class AlertDraft:
    """An alert the rules decided on; the gateway adds the sequence number and sends it."""

    type: AlertType
    severity: Severity
    start_sample: int
    end_sample: int
    start_ms: int
    end_ms: int
    nums: Mapping[str, int | float]


@dataclass
class _Episode:
    kind: str
    start: int
    end: int
    ongoing: bool
    nums: dict[str, int | float]
    sent: set[AlertType] = field(default_factory=set)  # decided (delivered or held back)
    delivered: set[AlertType] = field(default_factory=set)


class AlertRules:
    """Turns observations into alerts for one patient.

    Parameters
    ----------
    fs_hz : float
        Sampling rate of the sample indices observed.
    start_ms : int
        UTC epoch milliseconds of sample 0.
    thresholds : AlertThresholds
    """

    def __init__(self, fs_hz: float, start_ms: int, thresholds: AlertThresholds) -> None:
        self.fs_hz = float(fs_hz)
        self.start_ms = int(start_ms)
        self.t = thresholds
        self._episodes: list[_Episode] = []
        self._last_sent_ms: dict[AlertType, int] = {}
        self._suppressed: dict[AlertType, int] = {}
        self.monitored_s = 0.0
        self.af_s = 0.0
        self._horizon = 0  # the newest sample analysed

    def ms(self, sample: int) -> int:
        """UTC epoch milliseconds of a sample index."""
        return self.start_ms + round(sample * 1000.0 / self.fs_hz)

    @property
    def suppressed(self) -> dict[AlertType, int]:
        """Alerts held back by the rate limit and not yet reported, per type."""
        return dict(self._suppressed)

    def _duration_s(self, ep: _Episode) -> float:
        return (ep.end - ep.start) / self.fs_hz

    def _track(self, obs: Observation) -> _Episode:
        join = round(_JOIN_S.get(obs.kind, 0.0) * self.fs_hz)
        for ep in self._episodes:
            if ep.kind == obs.kind and obs.start_sample <= ep.end + join and obs.end_sample >= ep.start - join:
                if AlertType.AF_OFFSET in ep.sent:
                    # closed: a later window may see its AF again (its start clipped
                    # by the window); what comes after the offset is a new episode
                    if obs.end_sample <= ep.end:
                        return ep
                    obs = replace(obs, start_sample=max(obs.start_sample, ep.end + 1))
                    continue
                ep.start = min(ep.start, obs.start_sample)
                if obs.end_sample >= ep.end:
                    ep.end, ep.ongoing = obs.end_sample, obs.ongoing
                    ep.nums.update(obs.nums)
                return ep
        ep = _Episode(obs.kind, obs.start_sample, obs.end_sample, obs.ongoing, dict(obs.nums))
        self._episodes.append(ep)
        return ep

    def observe(self, observations: Iterable[Observation], horizon_sample: int) -> list[AlertDraft]:
        """Feed the latest observations; returns the alerts decided now.

        Parameters
        ----------
        observations : iterable of Observation
            Episodes the latest analysis found (any order).
        horizon_sample : int
            The newest sample analysed; episodes not observed again and
            ending before it are closed.
        """
        self._horizon = max(self._horizon, horizon_sample)
        seen: set[int] = set()
        for obs in observations:
            if obs.kind not in KINDS:
                raise ValueError(f"unknown observation kind {obs.kind!r}")
            seen.add(id(self._track(obs)))
        out: list[AlertDraft] = []
        for ep in sorted(self._episodes, key=lambda e: (e.start, e.kind)):
            if id(ep) not in seen and ep.end < horizon_sample:
                ep.ongoing = False
            out.extend(self._decide(ep))
        forget = horizon_sample - round(_FORGET_S * self.fs_hz)
        self._episodes = [e for e in self._episodes if e.ongoing or e.end >= forget]
        return out

    def _decide(self, ep: _Episode) -> list[AlertDraft]:
        t, dur = self.t, self._duration_s(ep)
        wanted: list[tuple[AlertType, Severity]] = []
        if ep.kind == "VT":
            # raised as soon as the run qualifies, not when it has ended: waiting
            # for the run's end (and the label of the beat after it) cost ~1.5 s
            if dur >= t.sustained_vt_s:
                wanted.append((AlertType.SUSTAINED_VT, Severity.CRITICAL))
            elif AlertType.SUSTAINED_VT not in ep.sent:
                wanted.append((AlertType.NSVT, Severity.WARNING))
        elif ep.kind == "AFIB":
            if dur >= t.af_min_s:
                wanted.append((AlertType.AF_ONSET, Severity.WARNING))
                # ended, and not resumed within the join gap (AF broken by a short
                # ventricular run goes on: it is the same episode, not an offset)
                if self._settled(ep) and AlertType.AF_ONSET in ep.delivered:
                    wanted.append((AlertType.AF_OFFSET, Severity.INFO))
        elif ep.kind == "PAUSE":
            pause_s = float(ep.nums.get("pause_ms", dur * 1000.0)) / 1000.0
            if pause_s >= t.pause_s:
                severe = pause_s >= t.pause_critical_s
                wanted.append((AlertType.PAUSE, Severity.CRITICAL if severe else Severity.WARNING))
        elif ep.kind in ("SBR", "TACH"):
            if dur >= t.rate_debounce_s:
                kind = AlertType.BRADYCARDIA if ep.kind == "SBR" else AlertType.TACHYCARDIA
                wanted.append((kind, Severity.WARNING))
        elif ep.kind == "ST":
            if dur >= t.st_min_s:
                wanted.append((AlertType.ST_EPISODE, Severity.WARNING))
        elif ep.kind == "RISK":
            wanted.append((AlertType.RISK_RISE, Severity.WARNING))
        elif ep.kind == "LEAD_OFF":
            if dur >= t.lead_off_s:
                wanted.append((AlertType.LEAD_OFF, Severity.WARNING))
        elif ep.kind == "POOR_SIGNAL":
            wanted.append((AlertType.POOR_SIGNAL, Severity.INFO))
        elif ep.kind == "GAP":
            if dur >= t.gap_min_s:
                wanted.append((AlertType.STREAM_GAP, Severity.INFO))
        elif ep.kind == "SILENT":
            wanted.append((AlertType.DEVICE_SILENT, Severity.WARNING))
        out = []
        for alert_type, severity in wanted:
            if alert_type in ep.sent:
                continue
            if self._limited(ep, alert_type, severity):
                if alert_type in _HELD_WHILE_ONGOING and not self._settled(ep):
                    continue  # the condition may go on: decided again at the next observation
                ep.sent.add(alert_type)
                self._suppressed[alert_type] = self._suppressed.get(alert_type, 0) + 1
                continue
            ep.sent.add(alert_type)
            ep.delivered.add(alert_type)
            out.append(self._draft(ep, alert_type, severity))
        return out

    def _settled(self, ep: _Episode) -> bool:
        """Over for good: ended, and not resumed within its kind's join gap since."""
        join = round(_JOIN_S.get(ep.kind, 0.0) * self.fs_hz)
        return not ep.ongoing and self._horizon - ep.end >= join

    def _limited(self, ep: _Episode, alert_type: AlertType, severity: Severity) -> bool:
        """Held back by the rate limit (which runs on decision time: when the episode was last seen)."""
        if alert_type is AlertType.AF_OFFSET:
            return False
        limit_s = self.t.critical_rate_limit_s if severity is Severity.CRITICAL else self.t.rate_limit_s
        last = self._last_sent_ms.get(alert_type)
        return last is not None and self.ms(ep.end) - last < limit_s * 1000.0

    def _draft(self, ep: _Episode, alert_type: AlertType, severity: Severity) -> AlertDraft:
        start_ms, end_ms = self.ms(ep.start), self.ms(ep.end)
        self._last_sent_ms[alert_type] = end_ms
        nums: dict[str, int | float] = {}
        if alert_type not in _NO_DURATION:
            nums["duration_ms"] = end_ms - start_ms
        nums.update({k: v for k, v in ep.nums.items() if k not in nums})
        if alert_type is AlertType.AF_OFFSET and self.monitored_s > 0:
            nums["af_burden_pct"] = round(100.0 * self.af_s / self.monitored_s, 2)
        held = self._suppressed.pop(alert_type, 0)
        if held:
            nums["suppressed"] = held
        nums = dict(list(nums.items())[:8])  # the payload holds at most 8 numbers
        return AlertDraft(alert_type, severity, ep.start, ep.end, start_ms, end_ms, nums)
