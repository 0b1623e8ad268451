"""Every RR-derived measure of a record in one call (HRV, DC/AC, HRT, ectopy, hourly)."""

from __future__ import annotations

from dataclasses import dataclass

from dsp._ectopy import DEFAULT_PAUSE_S, EctopySummary, ectopy_summary
from dsp._hourly import CircadianProfile, HourlyProfile, circadian_profile, hourly_profile
from dsp._hrt import HrtResult, heart_rate_turbulence
from dsp._hrv import HrvFrequencyDomain, HrvTimeDomain, hrv_frequency_domain, hrv_time_domain
from dsp._prsa import PrsaResult, deceleration_capacity
from dsp._rr import RrSeries

__all__ = ["RrAnalysis", "analyze_rr"]


@dataclass(frozen=True)
class RrAnalysis:
    """The RR-derived measures of one record."""

    duration_s: float
    time_domain: HrvTimeDomain
    frequency_domain: HrvFrequencyDomain
    prsa: PrsaResult
    hrt: HrtResult
    ectopy: EctopySummary
    hourly: HourlyProfile
    circadian: CircadianProfile


def analyze_rr(
    rr: RrSeries,
    *,
    start_time_of_day_s: float | None = None,
    record_duration_s: float | None = None,
    pause_s: float = DEFAULT_PAUSE_S,
) -> RrAnalysis:
    """HRV (time and frequency domain), DC/AC, HRT, ectopy, pauses and hourly tables.

    Parameters
    ----------
    rr : RrSeries
        From :func:`dsp.rr_series`.
    start_time_of_day_s : float, optional
        Clock time of the record start, s after midnight (for the day/night profile).
    record_duration_s : float, optional
        Record length, s (default: up to the last beat).
    pause_s : float
        Shortest RR interval counted as a pause, s.
    """
    hourly = hourly_profile(rr, record_duration_s=record_duration_s)
    return RrAnalysis(
        duration_s=rr.duration_s if record_duration_s is None else float(record_duration_s),
        time_domain=hrv_time_domain(rr),
        frequency_domain=hrv_frequency_domain(rr),
        prsa=deceleration_capacity(rr),
        hrt=heart_rate_turbulence(rr),
        ectopy=ectopy_summary(rr, pause_s=pause_s),
        hourly=hourly,
        circadian=circadian_profile(hourly, start_time_of_day_s=start_time_of_day_s),
    )
