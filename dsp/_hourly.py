"""Hourly heart rate, ectopy per hour and the circadian profile of a record.

Hours are counted from the start of the record (time 0 of the beat times).
Heart rate comes from NN intervals only: the hourly mean is 60000 / mean NN;
the hourly minimum and maximum are those of the one-minute heart rates
(60000 / mean NN of each minute whose NN intervals cover at least 20 s), so a
single short or long interval does not set them. Ectopy per hour counts every
beat class. Where the time of day of the start is known, the circadian
profile gives the mean heart rate per clock hour and by day (10:00-20:00) and
night (00:00-06:00); without it, only the clock-free amplitude (highest minus
lowest 4-hour mean heart rate) is given.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dsp._exceptions import InvalidParameterError
from dsp._rr import BEAT_CLASSES, RrSeries

__all__ = ["CircadianProfile", "HourlyProfile", "circadian_profile", "hourly_profile"]

MINUTE_MIN_COVERAGE_S = 20.0
DAY_HOURS = (10, 20)
NIGHT_HOURS = (0, 6)
AMPLITUDE_WINDOW_H = 4


@dataclass(frozen=True)
class HourlyProfile:
    """One row per hour from the start of the record (NaN heart rate without NN)."""

    hour_start_s: np.ndarray  # (n_hours,)
    hr_mean_bpm: np.ndarray
    hr_min_bpm: np.ndarray
    hr_max_bpm: np.ndarray
    n_nn: np.ndarray  # int64
    beat_counts: np.ndarray  # int64 (n_hours, 5), columns = BEAT_CLASSES

    @property
    def n_hours(self) -> int:
        return int(self.hour_start_s.shape[0])

    def counts_of(self, beat_class: str) -> np.ndarray:
        """Beats of one class (N, A, V, F, Q) per hour."""
        return self.beat_counts[:, BEAT_CLASSES.index(beat_class)]


@dataclass(frozen=True)
class CircadianProfile:
    """Heart rate by clock hour and by day / night (NaN where unknown)."""

    hour_of_day: np.ndarray  # (24,) 0..23
    hr_mean_bpm: np.ndarray  # (24,) NaN where the clock or the hour is missing
    day_hr_bpm: float
    night_hr_bpm: float
    day_night_difference_bpm: float
    amplitude_bpm: float  # highest minus lowest 4-hour mean HR, clock-free


def _grouped_mean(index: np.ndarray, values: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    sums = np.bincount(index, weights=values, minlength=n)[:n]
    counts = np.bincount(index, minlength=n)[:n]
    with np.errstate(invalid="ignore", divide="ignore"):
        return sums / counts, counts


def hourly_profile(rr: RrSeries, *, record_duration_s: float | None = None) -> HourlyProfile:
    """Hourly heart rate and beat counts of `rr`.

    Parameters
    ----------
    rr : RrSeries
        From :func:`dsp.rr_series`.
    record_duration_s : float, optional
        Length of the record, s; default: up to the last beat.
    """
    end_s = rr.beat_time_s[-1] if rr.n_beats else 0.0
    if record_duration_s is not None:
        if not record_duration_s >= 0:
            raise InvalidParameterError(
                f"record_duration_s must be >= 0; got {record_duration_s}"
            )
        end_s = max(end_s, record_duration_s)
    n_hours = int(math.floor(end_s / 3600.0)) + 1 if rr.n_beats else 0
    beat_hour = np.floor(rr.beat_time_s / 3600.0).astype(np.int64)
    counts = np.zeros((n_hours, len(BEAT_CLASSES)), dtype=np.int64)
    np.add.at(counts, (beat_hour, rr.beat_code.astype(np.int64)), 1)
    nn, nn_t = rr.nn_ms, rr.nn_time_s
    nn_hour = np.floor(nn_t / 3600.0).astype(np.int64)
    mean_nn, n_nn = _grouped_mean(nn_hour, nn, n_hours)
    with np.errstate(divide="ignore"):
        hr_mean = 60000.0 / mean_nn
    minute = np.floor(nn_t / 60.0).astype(np.int64)
    n_minutes = n_hours * 60
    minute_sum = np.bincount(minute, weights=nn, minlength=n_minutes)[:n_minutes]
    minute_n = np.bincount(minute, minlength=n_minutes)[:n_minutes]
    covered = minute_sum >= MINUTE_MIN_COVERAGE_S * 1000.0
    with np.errstate(invalid="ignore", divide="ignore"):
        minute_hr = np.where(covered, 60000.0 * minute_n / minute_sum, np.nan)
    grid = minute_hr.reshape(n_hours, 60) if n_hours else np.zeros((0, 60))
    has = np.isfinite(grid).any(axis=1)
    hr_min = np.full(n_hours, np.nan)
    hr_max = np.full(n_hours, np.nan)
    hr_min[has] = np.nanmin(grid[has], axis=1)
    hr_max[has] = np.nanmax(grid[has], axis=1)
    return HourlyProfile(
        hour_start_s=np.arange(n_hours, dtype=np.float64) * 3600.0,
        hr_mean_bpm=hr_mean,
        hr_min_bpm=hr_min,
        hr_max_bpm=hr_max,
        n_nn=n_nn.astype(np.int64),
        beat_counts=counts,
    )


def _window_mean(hr_hour: np.ndarray, hours: tuple[int, int]) -> float:
    vals = hr_hour[hours[0] : hours[1]]
    vals = vals[np.isfinite(vals)]
    return float(vals.mean()) if vals.size else math.nan


def circadian_profile(
    hourly: HourlyProfile, *, start_time_of_day_s: float | None = None
) -> CircadianProfile:
    """Circadian heart-rate profile from an :class:`HourlyProfile`.

    Parameters
    ----------
    hourly : HourlyProfile
    start_time_of_day_s : float, optional
        Clock time of the start of the record, s after midnight; without it
        only the clock-free amplitude is computed.
    """
    hr = hourly.hr_mean_bpm
    finite = np.isfinite(hr)
    amplitude = math.nan
    if hr.shape[0] >= AMPLITUDE_WINDOW_H:
        kernel = np.ones(AMPLITUDE_WINDOW_H)
        full = np.convolve(finite.astype(float), kernel, mode="valid") == AMPLITUDE_WINDOW_H
        if full.any():
            means = np.convolve(np.where(finite, hr, 0.0), kernel, mode="valid") / AMPLITUDE_WINDOW_H
            amplitude = float(means[full].max() - means[full].min())
    by_clock = np.full(24, np.nan)
    day = night = math.nan
    if start_time_of_day_s is not None:
        if not 0 <= start_time_of_day_s < 86400:
            raise InvalidParameterError(
                f"start_time_of_day_s must be in [0, 86400); got {start_time_of_day_s}"
            )
        clock = np.floor((start_time_of_day_s + hourly.hour_start_s) / 3600.0).astype(int) % 24
        weights = np.where(finite, hourly.n_nn, 0)
        sums = np.bincount(clock, weights=np.where(finite, hr, 0.0) * weights, minlength=24)
        wsum = np.bincount(clock, weights=weights, minlength=24)
        with np.errstate(invalid="ignore", divide="ignore"):
            by_clock = np.where(wsum > 0, sums / wsum, np.nan)
        day, night = _window_mean(by_clock, DAY_HOURS), _window_mean(by_clock, NIGHT_HOURS)
    return CircadianProfile(
        hour_of_day=np.arange(24),
        hr_mean_bpm=by_clock,
        day_hr_bpm=day,
        night_hr_bpm=night,
        day_night_difference_bpm=day - night,
        amplitude_bpm=amplitude,
    )
