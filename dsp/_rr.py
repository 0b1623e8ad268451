"""RR intervals from labelled beats: the input of HRV, DC, HRT and the hourly tables.

A beat series is the time of every beat and its class (MIT-BIH / AAMI symbols
N, A, V, F, Q, as in a WFDB beat annotation file). An NN interval is the
interval between two consecutive *normal* (N) beats (Task Force 1996): every
interval that starts or ends at an ectopic or unclassifiable beat is excluded,
so both the coupling interval and the compensatory pause around an ectopic
beat are dropped. Intervals outside a plausible range (``min_rr_ms`` ..
``max_rr_ms``, missed beats and recording gaps) and intervals that span a
noise marker are excluded too. Nothing is interpolated: later measures see the
gaps (Lomb-Scargle spectra, successive differences only across adjacent NN
intervals).

Example
-------
>>> import numpy as np
>>> from dsp import rr_series
>>> rr = rr_series(np.array([0.0, 0.8, 1.6, 2.1, 3.2, 4.0]), list("NNNVNN"))
>>> rr.rr_ms.round(1).tolist()
[800.0, 800.0, 500.0, 1100.0, 800.0]
>>> rr.nn_mask.tolist()
[True, True, False, False, True]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from dsp._exceptions import InvalidParameterError, InvalidSignalError

__all__ = [
    "BEAT_CLASSES",
    "CLASS_OF_SYMBOL",
    "RrSeries",
    "rr_series",
    "rr_series_from_annotation",
    "rr_series_from_samples",
]

#: Beat classes accepted, in code order (code = index): normal, supraventricular
#: ectopic, ventricular ectopic, fusion, unclassifiable.
BEAT_CLASSES: tuple[str, ...] = ("N", "A", "V", "F", "Q")
CODE_N, CODE_A, CODE_V, CODE_F, CODE_Q = range(5)

#: MIT-BIH beat annotation symbol -> beat class (ANSI/AAMI EC57 grouping):
#: normal and bundle-branch-block / escape beats are N, supraventricular
#: ectopic beats A, ventricular ectopic beats V, fusion F, paced and
#: unclassifiable beats Q. Other symbols are not beats.
CLASS_OF_SYMBOL: dict[str, str] = {
    **dict.fromkeys("NLRejB", "N"),
    **dict.fromkeys("AaJSn", "A"),
    **dict.fromkeys("VEr", "V"),
    "F": "F",
    **dict.fromkeys("/fQ?", "Q"),
}
#: Annotation symbols that mark noise or a change of signal quality.
NOISE_SYMBOLS = frozenset("~")

#: Default plausible NN range: shorter intervals are double detections, longer
#: ones missed beats or gaps (HRV only; pauses are measured on all intervals).
DEFAULT_MIN_RR_MS = 250.0
DEFAULT_MAX_RR_MS = 2500.0


@dataclass(frozen=True)
class RrSeries:
    """Beats and the intervals between them.

    Attributes
    ----------
    beat_time_s : ndarray, (n_beats,)
        Time of each beat from the start of the record, s, strictly increasing.
    beat_code : ndarray of uint8, (n_beats,)
        Class of each beat as an index into :data:`BEAT_CLASSES`.
    rr_ms : ndarray, (n_beats - 1,)
        Interval ending at beat ``i + 1``, ms.
    rr_time_s : ndarray, (n_beats - 1,)
        Time of the beat that ends each interval, s.
    nn_mask : ndarray of bool, (n_beats - 1,)
        True where the interval is an NN interval (both beats N, in range, no noise).
    usable_mask : ndarray of bool, (n_beats - 1,)
        True where the interval does not span a noise marker (any beat classes);
        pauses are looked for here.
    """

    beat_time_s: np.ndarray
    beat_code: np.ndarray
    rr_ms: np.ndarray
    rr_time_s: np.ndarray
    nn_mask: np.ndarray
    usable_mask: np.ndarray

    @property
    def n_beats(self) -> int:
        return int(self.beat_time_s.shape[0])

    @property
    def duration_s(self) -> float:
        """Time from the first to the last beat, s (0 with fewer than 2 beats)."""
        if self.n_beats < 2:
            return 0.0
        return float(self.beat_time_s[-1] - self.beat_time_s[0])

    @property
    def nn_ms(self) -> np.ndarray:
        """The NN intervals alone, ms."""
        return self.rr_ms[self.nn_mask]

    @property
    def nn_time_s(self) -> np.ndarray:
        """Time of the beat ending each NN interval, s."""
        return self.rr_time_s[self.nn_mask]


def _codes(labels: Sequence[str] | np.ndarray, n_beats: int) -> np.ndarray:
    arr = np.asarray(labels)
    if arr.ndim != 1 or arr.shape[0] != n_beats:
        raise InvalidParameterError(
            f"labels must be 1-D with one label per beat ({n_beats}); got shape {arr.shape}"
        )
    if np.issubdtype(arr.dtype, np.integer):
        if n_beats and (arr.min() < 0 or arr.max() >= len(BEAT_CLASSES)):
            raise InvalidParameterError(
                f"integer labels must be codes 0..{len(BEAT_CLASSES) - 1}; "
                f"got {arr.min()}..{arr.max()}"
            )
        return arr.astype(np.uint8)
    codes = np.full(n_beats, 255, dtype=np.uint8)
    for code, name in enumerate(BEAT_CLASSES):
        codes[arr == name] = code
    bad = codes == 255
    if bad.any():
        unknown = sorted({str(x) for x in arr[bad]})[:5]
        raise InvalidParameterError(
            f"labels must be beat classes {'/'.join(BEAT_CLASSES)}; got {unknown}"
        )
    return codes


def rr_series(
    beat_time_s: np.ndarray,
    labels: Sequence[str] | np.ndarray,
    *,
    noise_time_s: np.ndarray | None = None,
    min_rr_ms: float = DEFAULT_MIN_RR_MS,
    max_rr_ms: float = DEFAULT_MAX_RR_MS,
) -> RrSeries:
    """Build the RR / NN interval series of labelled beats.

    Parameters
    ----------
    beat_time_s : array_like, (n_beats,)
        Beat times, s, strictly increasing and finite.
    labels : sequence of str or int array, (n_beats,)
        Beat class of each beat: one of ``N, A, V, F, Q`` (or its code 0-4).
    noise_time_s : array_like, optional
        Times of noise / signal-quality markers, s (WFDB ``~``); an interval
        that contains one is neither NN nor a pause candidate.
    min_rr_ms, max_rr_ms : float
        Plausible NN interval range, ms (defaults 250 and 2500).

    Returns
    -------
    RrSeries

    Raises
    ------
    InvalidSignalError
        `beat_time_s` is not 1-D, not finite or not strictly increasing.
    InvalidParameterError
        A label is not a beat class, or the range is empty.
    """
    t = np.ascontiguousarray(beat_time_s, dtype=np.float64)
    if t.ndim != 1:
        raise InvalidSignalError(f"beat_time_s must be 1-D; got shape {t.shape}")
    if not np.all(np.isfinite(t)):
        raise InvalidSignalError("beat_time_s must be finite (no NaN or inf)")
    if t.shape[0] > 1 and not np.all(np.diff(t) > 0):
        i = int(np.argmin(np.diff(t)))
        raise InvalidSignalError(
            f"beat_time_s must be strictly increasing; beat {i + 1} at {t[i + 1]} s "
            f"follows {t[i]} s"
        )
    if not (0 < min_rr_ms < max_rr_ms):
        raise InvalidParameterError(
            f"need 0 < min_rr_ms < max_rr_ms; got {min_rr_ms} and {max_rr_ms}"
        )
    codes = _codes(labels, t.shape[0])
    # rounded to 1 ns: float noise of the time differences must not order equal intervals
    rr_ms = np.round(np.diff(t) * 1000.0, 6)
    rr_time_s = t[1:].copy()
    usable = np.ones(rr_ms.shape[0], dtype=bool)
    if noise_time_s is not None and rr_ms.shape[0]:
        noise = np.sort(np.asarray(noise_time_s, dtype=np.float64).ravel())
        # interval k spans (t[k], t[k+1]]: noise markers strictly after its start
        # and at or before its end make it unusable
        first = np.searchsorted(noise, t[:-1], side="right")
        last = np.searchsorted(noise, t[1:], side="right")
        usable = last == first
    in_range = (rr_ms >= min_rr_ms) & (rr_ms <= max_rr_ms)
    nn = (codes[:-1] == CODE_N) & (codes[1:] == CODE_N) & in_range & usable
    return RrSeries(
        beat_time_s=t,
        beat_code=codes,
        rr_ms=rr_ms,
        rr_time_s=rr_time_s,
        nn_mask=nn,
        usable_mask=usable,
    )


def rr_series_from_samples(
    beat_samples: np.ndarray,
    fs_hz: float,
    labels: Sequence[str] | np.ndarray,
    *,
    noise_samples: np.ndarray | None = None,
    min_rr_ms: float = DEFAULT_MIN_RR_MS,
    max_rr_ms: float = DEFAULT_MAX_RR_MS,
) -> RrSeries:
    """:func:`rr_series` from beat sample indices at `fs_hz` (as in a WFDB annotation)."""
    if not (np.isfinite(fs_hz) and fs_hz > 0):
        raise InvalidParameterError(f"fs_hz must be a positive number; got {fs_hz}")
    samples = np.asarray(beat_samples)
    noise = None if noise_samples is None else np.asarray(noise_samples, dtype=np.float64) / fs_hz
    return rr_series(
        samples.astype(np.float64) / fs_hz,
        labels,
        noise_time_s=noise,
        min_rr_ms=min_rr_ms,
        max_rr_ms=max_rr_ms,
    )


def rr_series_from_annotation(
    samples: np.ndarray,
    symbols: Sequence[str],
    fs_hz: float,
    *,
    min_rr_ms: float = DEFAULT_MIN_RR_MS,
    max_rr_ms: float = DEFAULT_MAX_RR_MS,
) -> RrSeries:
    """:func:`rr_series` from the samples and symbols of a WFDB annotation.

    Beat symbols are grouped into classes with :data:`CLASS_OF_SYMBOL`; ``~``
    annotations become noise markers; every other annotation (rhythm ``+``,
    artefact ``|``, comments ...) is ignored.

    Parameters
    ----------
    samples : array_like of int, (n,)
        Annotation sample numbers.
    symbols : sequence of str, (n,)
        Annotation symbols.
    fs_hz : float
        Sampling frequency of the sample numbers, Hz.
    """
    samples = np.asarray(samples)
    sym = np.asarray(symbols, dtype=object)
    if samples.ndim != 1 or sym.shape != samples.shape:
        raise InvalidParameterError(
            f"samples and symbols must be 1-D of one length; got {samples.shape} and {sym.shape}"
        )
    classes = np.array([CLASS_OF_SYMBOL.get(x, "") for x in sym], dtype="<U1")
    is_beat = classes != ""
    is_noise = np.isin(sym.astype(str), list(NOISE_SYMBOLS))
    beat_samples = samples[is_beat]
    return rr_series_from_samples(
        beat_samples,
        fs_hz,
        classes[is_beat],
        noise_samples=samples[is_noise],
        min_rr_ms=min_rr_ms,
        max_rr_ms=max_rr_ms,
    )
