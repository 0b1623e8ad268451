"""Streaming QRS detection: the public wrapper around :mod:`dsp._qrs_kernel`.

:class:`QrsDetector` is fed chunks of any size and keeps a state whose size
does not grow with the record; :func:`detect_qrs` and :func:`analyze_qrs`
feed it a whole record. Both paths are the same code, so a record fed whole,
in 1-second chunks or in random pieces gives the same beats.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

from dsp import _qrs_kernel as K
from dsp._exceptions import InvalidParameterError, InvalidSignalError
from dsp._filters import design_bandpass_sos, peak_delay_samples
from dsp._validate import as_samples_by_leads, check_fs_hz

MAX_LEADS = 16
#: samples the kernels process per block (stage 1 then stage 2, through
#: cache-sized rings)
_BLOCK = 256
#: largest piece of a feed() handed to the kernel at once (bounds the size of
#: the output buffers)
_MAX_CALL = 1 << 20


@dataclass(frozen=True)
class QrsConfig:
    """Settings of the QRS detector, in physical units.

    The defaults are the ones measured in ``benchmarks/results/qrs_*.md``
    (tuned on the 48 MIT-BIH records, checked on the QT Database and on
    MIT-BIH resampled to 128-1000 Hz); change one only with a benchmark run
    that shows what the change does. Durations are in seconds, rates in Hz.

    Attributes
    ----------
    internal_min_hz : float
        The input is averaged down to ``fs_hz / k``, ``k`` the largest whole
        number that keeps it at or above this (360 Hz -> 120 Hz, 250 Hz ->
        125 Hz, 128 Hz -> 128 Hz). QRS energy lies below 40 Hz.
    band_low_hz, band_high_hz : float
        Band-pass edges (Butterworth, second order each).
    mwi_window_s : float
        Moving-window integral length.
    peak_hold_s : float
        A peak of the fused feature is the largest value within this either
        side; it is decided this long after it happens.
    refractory_s : float
        No two beats closer than this.
    twave_window_s, twave_slope_ratio : float
        A candidate within ``twave_window_s`` of the last beat whose slope is
        below ``twave_slope_ratio`` of that beat's is a T wave.
    searchback_rr, max_rr_s : float
        With no beat for ``searchback_rr`` mean RR intervals (the mean capped
        at ``max_rr_s``), the best candidate since the last beat is taken if
        it reaches half the threshold.
    learn_s : float
        Learning period at the start: levels are set, no beat is reported.
    flat_s, settle_s : float
        A lead whose internal samples stay exactly equal for ``flat_s`` is
        flat or clipped; after any unusable stretch a lead waits
        ``settle_s`` before it counts again.
    level_floor : float
        Lowest QRS level a lead's integral is divided by, (mV/s)^2: a lead
        quieter than a QRS of about 0.05 mV is never amplified into beats.
    rescue_s, rescue_halving_s : float
        After ``rescue_s`` without a beat the levels relax, halving every
        ``rescue_halving_s``, so one huge artifact cannot blind the detector.
    noise_ref : float
        A lead whose peaks between beats reach this fraction of its QRS
        level counts half in the fused feature (weight ``1 / (1 + (noise /
        noise_ref) ** 2)``).
    premature_rr, premature_level : float
        A candidate sooner than ``premature_rr`` mean RR intervals after the
        last beat must reach ``premature_level`` of the signal level.
    threshold_fraction : float
        Detection threshold, as the fraction of the way from the noise level
        to the signal level (Pan & Tompkins: 0.25).
    lead_clip : float
        Each lead's integral, in units of its own QRS level, is clipped here
        before the leads are averaged, so an artifact in a noisy lead cannot
        outvote a clean one.
    refine_s, baseline_s : float
        R is the input sample within ``refine_s`` of the band-pass estimate
        that deviates most from the mean input over ``baseline_s`` either
        side (the QRS's major deflection, whatever its polarity).
    """

    internal_min_hz: float = 100.0
    band_low_hz: float = 5.0
    band_high_hz: float = 20.0
    mwi_window_s: float = 0.15
    peak_hold_s: float = 0.10
    refractory_s: float = 0.20
    twave_window_s: float = 0.36
    twave_slope_ratio: float = 0.5
    searchback_rr: float = 1.66
    max_rr_s: float = 2.0
    learn_s: float = 2.0
    flat_s: float = 0.3
    settle_s: float = 0.3
    level_floor: float = 0.5
    rescue_s: float = 3.0
    rescue_halving_s: float = 1.0
    noise_ref: float = 0.05
    premature_rr: float = 0.5
    premature_level: float = 0.5
    threshold_fraction: float = 0.25
    lead_clip: float = 3.0
    refine_s: float = 0.03
    baseline_s: float = 0.1

    def __post_init__(self):
        for name, value in vars(self).items():
            if not (isinstance(value, int | float) and np.isfinite(value) and value > 0):
                raise InvalidParameterError(
                    f"QrsConfig.{name} must be a positive number, got {value!r}"
                )
        if not self.band_low_hz < self.band_high_hz:
            raise InvalidParameterError(
                f"QrsConfig.band_low_hz must be below band_high_hz, got "
                f"{self.band_low_hz!r} and {self.band_high_hz!r}"
            )
        if self.threshold_fraction >= 1.0:
            raise InvalidParameterError(
                f"QrsConfig.threshold_fraction must be below 1, got {self.threshold_fraction!r}"
            )


@dataclass(frozen=True)
class QrsUpdate:
    """What one :meth:`QrsDetector.feed` (or :meth:`~QrsDetector.finish`) found.

    Attributes
    ----------
    r_peaks : ndarray of int64
        Absolute sample indices (0 = first sample fed) of the R peaks decided
        in this call, sorted.
    unusable : ndarray of int64, shape (k, 2)
        ``[start, end)`` sample stretches, closed in this call, in which no
        lead was usable (lead-off/NaN, flat or clipped).
    """

    r_peaks: np.ndarray
    unusable: np.ndarray


@dataclass(frozen=True)
class QrsResult:
    """Beats and unusable stretches of a whole record (see :class:`QrsUpdate`)."""

    r_peaks: np.ndarray
    unusable: np.ndarray
    fs_hz: float
    n_samples: int = field(default=0)


@functools.lru_cache(maxsize=32)
def _bandpass_cached(low_hz: float, high_hz: float, fs_hz: float) -> tuple[np.ndarray, int]:
    sos = design_bandpass_sos(low_hz, high_hz, fs_hz)
    return sos, peak_delay_samples(sos, fs_hz)


def _bandpass(low_hz: float, high_hz: float, fs_hz: float) -> tuple[np.ndarray, int]:
    """Band-pass sections and their QRS delay, designed once per (band, rate).

    (Designing them costs about 2 ms, more than detecting a minute of ECG.)
    """
    sos, delay = _bandpass_cached(float(low_hz), float(high_hz), float(fs_hz))
    return sos.copy(), delay


class QrsDetector:
    """Streaming multi-lead QRS detector.

    Parameters
    ----------
    fs_hz : float
        Sampling rate, 100 to 1000 Hz.
    n_leads : int
        Number of leads in every block fed (1 to 16).
    config : QrsConfig, optional
        Settings; the defaults are the benchmarked ones.

    Examples
    --------
    >>> import numpy as np, dsp
    >>> fs_hz = 250.0
    >>> t = np.arange(int(20 * fs_hz)) / fs_hz
    >>> ecg = np.exp(-((t % 0.8 - 0.4) ** 2) / (2 * 0.01 ** 2))  # spikes every 0.8 s
    >>> det = dsp.QrsDetector(fs_hz, n_leads=1)
    >>> beats = [det.feed(ecg[i:i + 250]).r_peaks for i in range(0, ecg.size, 250)]
    >>> beats.append(det.finish().r_peaks)
    >>> np.diff(np.concatenate(beats)).tolist()[:3]
    [200, 200, 200]
    """

    def __init__(self, fs_hz: float, n_leads: int = 1, config: QrsConfig | None = None):
        self.fs_hz = check_fs_hz(fs_hz)
        if not isinstance(n_leads, int | np.integer) or not (1 <= n_leads <= MAX_LEADS):
            raise InvalidParameterError(f"n_leads must be an integer from 1 to {MAX_LEADS}, got {n_leads!r}")
        self.n_leads = int(n_leads)
        self.config = cfg = config or QrsConfig()
        # the detector runs at an internal rate of 125-250 Hz: QRS energy is
        # below 40 Hz, and every sampling rate then behaves alike
        dec = max(1, int(self.fs_hz // cfg.internal_min_hz))
        fs = self.fs_hz / dec

        def samples(seconds: float) -> int:
            return max(1, int(round(seconds * fs)))

        self._sos, bp_delay = _bandpass(cfg.band_low_hz, cfg.band_high_hz, fs)
        mwi_len = samples(cfg.mwi_window_s)
        hold = samples(cfg.peak_hold_s)
        loc_back = mwi_len + samples(0.05)
        ip = np.zeros(K.N_IPARAMS, np.int64)
        ip[K.DP_HOLD] = hold
        ip[K.DP_REFRACTORY] = samples(cfg.refractory_s)
        ip[K.DP_TWAVE] = samples(cfg.twave_window_s)
        ip[K.DP_LEARN] = samples(cfg.learn_s)
        ip[K.DP_MWI_LEN] = mwi_len
        ip[K.DP_BP_DELAY] = bp_delay
        # the integral peaks about half a window after R (plus the filter
        # delays): R is searched from a window and a bit before the peak
        ip[K.DP_LOC_BACK] = loc_back
        ip[K.DP_RR_MAX] = samples(cfg.max_rr_s)
        ip[K.DP_RESCUE] = samples(cfg.rescue_s)
        ip[K.DP_NOISE_DELAY] = hold + loc_back
        ip[K.DP_FLAT_LEN] = samples(cfg.flat_s)
        ip[K.DP_SETTLE_LEN] = samples(cfg.settle_s)
        ip[K.DP_BLOCK] = _BLOCK
        # the rings hold the longest look-back of the decision stage plus a block
        history = 2 * hold + loc_back + ip[K.DP_NOISE_DELAY] + mwi_len + 4
        ip[K.DP_RING] = 1 << int(np.ceil(np.log2(history + _BLOCK + 2)))
        ip[K.DP_DEC] = dec
        ip[K.DP_REFINE] = max(1, int(round(cfg.refine_s * self.fs_hz)))
        ip[K.DP_BASELINE] = max(1, int(round(cfg.baseline_s * self.fs_hz)))
        ip[K.DP_RAW_RING] = 1 << int(np.ceil(np.log2(ip[K.DP_RING] * dec + dec)))
        self._ip = ip
        fp = np.zeros(K.N_FPARAMS, np.float64)
        fp[K.DF_SEARCHBACK] = cfg.searchback_rr
        fp[K.DF_TWAVE_SLOPE] = cfg.twave_slope_ratio
        fp[K.DF_LEVEL_FLOOR] = cfg.level_floor
        fp[K.DF_RESCUE_DECAY] = 0.5 ** (1.0 / (cfg.rescue_halving_s * fs))
        fp[K.DF_NOISE_REF] = cfg.noise_ref
        fp[K.DF_FS_SCALE] = fs / 8.0
        fp[K.DF_EARLY_RR] = cfg.premature_rr
        fp[K.DF_EARLY_SPK] = cfg.premature_level
        fp[K.DF_G_MAX] = cfg.lead_clip
        fp[K.DF_THR_FRAC] = cfg.threshold_fraction
        self._fp = fp
        #: how far behind the input a decided beat can lag, samples (a
        #: search-back decision comes latest)
        self.latency_samples = int((hold + cfg.searchback_rr * ip[K.DP_RR_MAX] + 1) * dec)
        self._finished = False
        self._n_total = 0
        self._state = self._new_state()

    def _new_state(self) -> tuple:
        """Fresh detector state: the tuple the kernels update in place."""
        nl = self.n_leads
        ring = int(self._ip[K.DP_RING])
        ds = np.zeros(K.N_DS)
        ds[K.DS_RR_MEAN] = self.fs_hz  # 60 bpm until beats say otherwise
        di = np.zeros(K.N_DI, np.int64)
        di[[K.DI_LAST_QRS, K.DI_LAST_R, K.DI_SB_POS, K.DI_SB_R, K.DI_BAD_START]] = -1
        return (
            ds,
            di,
            np.zeros(K.N_RR),  # rr
            np.zeros((nl, K.N_LF)),  # lead_f
            np.zeros((nl, K.N_LI), np.int64),  # lead_i
            np.zeros((nl, self._sos.shape[0], 2)),  # zi
            np.zeros((nl, int(self._ip[K.DP_MWI_LEN]))),  # sq_ring
            np.zeros((K.N_RINGS, nl, ring)),  # frings
            np.zeros((nl, ring), np.uint8),  # bad_ring
            np.zeros((nl, int(self._ip[K.DP_RAW_RING]))),  # raw_ring
            np.zeros(ring),  # f_ring
        )

    @property
    def samples_seen(self) -> int:
        """Number of samples fed so far."""
        return self._n_total if self._finished else int(self._state[1][K.DI_RAW_N])

    # -- feeding -------------------------------------------------------------
    def feed(self, block) -> QrsUpdate:
        """Feed the next block of samples and return the beats decided so far.

        Parameters
        ----------
        block : array_like, shape (n,) or (n, n_leads)
            Samples in mV, continuing where the previous block ended. NaN marks
            a lead-off sample. ``n`` may be 0.

        Returns
        -------
        QrsUpdate
        """
        if self._finished:
            raise InvalidParameterError("feed() called after finish(); make a new QrsDetector")
        x = as_samples_by_leads(block, self.n_leads)
        peaks: list[np.ndarray] = []
        bad: list[np.ndarray] = []
        for start in range(0, x.shape[0], _MAX_CALL):
            part = x[start:start + _MAX_CALL]
            n = part.shape[0]
            out_r = np.empty(n // int(self._ip[K.DP_REFRACTORY]) + 4, np.int64)
            out_bad = np.empty(2 * (n // int(self._ip[K.DP_SETTLE_LEN]) + 2), np.int64)
            n_r, n_bad = K.process(part, self._sos, self._ip, self._fp, self._state, out_r,
                                   out_bad)
            peaks.append(out_r[:n_r])
            bad.append(out_bad[: 2 * n_bad])
        return _update(peaks, bad)

    def finish(self) -> QrsUpdate:
        """Decide what is still pending at the end of the record.

        The detector cannot be fed after this; a second call returns nothing.
        """
        if self._finished:
            return _update([], [])
        self._n_total = int(self._state[1][K.DI_RAW_N])
        out_r = np.empty(8, np.int64)
        out_bad = np.empty(2, np.int64)
        n_r, n_bad = K.finish(self._ip, self._fp, self._state, out_r, out_bad)
        self._finished = True
        return _update([out_r[:n_r]], [out_bad[: 2 * n_bad]])


def _update(peaks: list[np.ndarray], bad: list[np.ndarray]) -> QrsUpdate:
    r = np.concatenate(peaks) if peaks else np.empty(0, np.int64)
    u = np.concatenate(bad) if bad else np.empty(0, np.int64)
    # an R located in the first few samples can fall before sample 0
    r = np.maximum(r, 0)
    return QrsUpdate(r_peaks=r, unusable=u.reshape(-1, 2))


def analyze_qrs(signal, fs_hz: float, config: QrsConfig | None = None) -> QrsResult:
    """Detect the QRS complexes of a whole record.

    Parameters
    ----------
    signal : array_like, shape (n_samples,) or (n_samples, n_leads)
        ECG in mV; all leads are used. NaN marks lead-off samples.
    fs_hz : float
        Sampling rate, 100 to 1000 Hz.
    config : QrsConfig, optional

    Returns
    -------
    QrsResult
        R-peak indices and the stretches where no lead was usable.
    """
    fs = check_fs_hz(fs_hz)
    x = np.asarray(signal)
    n_leads = 1 if x.ndim == 1 else (x.shape[1] if x.ndim == 2 else 0)
    if x.ndim not in (1, 2):
        as_samples_by_leads(x)  # raises the shape error
    if n_leads == 0:
        raise InvalidSignalError(f"signal must have at least one lead, got shape {x.shape}")
    det = QrsDetector(fs, n_leads, config)
    first = det.feed(x)
    last = det.finish()
    return QrsResult(
        r_peaks=np.concatenate([first.r_peaks, last.r_peaks]),
        unusable=np.concatenate([first.unusable, last.unusable]),
        fs_hz=fs,
        n_samples=int(x.shape[0]),
    )


def detect_qrs(signal, fs_hz: float) -> np.ndarray:
    """R-peak sample indices of an ECG record (DESIGN.md contract).

    Parameters
    ----------
    signal : array_like, shape (n_samples,) or (n_samples, n_leads)
        ECG in mV; all leads are fused.
    fs_hz : float
        Sampling rate, 100 to 1000 Hz.

    Returns
    -------
    ndarray of int64
        Sorted R-peak indices.
    """
    return analyze_qrs(signal, fs_hz).r_peaks
