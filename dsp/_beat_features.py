"""Per-beat features for beat classification, batch and streaming.

For each R peak, :class:`BeatFeatureExtractor` gives

* a morphology window from each lead, resampled to one canonical rate
  (:data:`CANONICAL_FS_HZ`), so records at 128, 250, 257 or 360 Hz give the
  same shape of input; baseline removed, scaled by the patient's dominant beat;
* the patient's dominant-beat template at that time (label-free adaptation:
  see :func:`dsp._beat_kernels.template_features`) and how the beat compares
  with it (correlation, amplitude, width, how common its morphology is);
* RR features normalised to the patient's own recent rhythm (pre- and post-RR,
  local and long-term mean RR, irregularity), to the recent rhythm between
  dominant beats, and to an upper quantile of the recent RR intervals (the
  slower, sinus rhythm where ectopic beats outnumber sinus beats).

Everything is causal except post-RR, which needs the next beat: a beat's
features come out once the next beat is known (one-beat lookahead) and the
signal to the end of its window has been fed. A record fed whole or in pieces
gives identical features.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dsp import _beat_kernels as K
from dsp._exceptions import InvalidParameterError, InvalidSignalError
from dsp._validate import as_samples_by_leads, check_fs_hz, check_new_r_peaks

#: Rate every beat window is resampled to, Hz.
CANONICAL_FS_HZ = 128.0
#: Window before / after the R peak, canonical samples (-250 ms .. +406 ms).
WINDOW_PRE = 32
WINDOW_LEN = 84
#: The QRS region used for matching beats with templates, canonical samples
#: of the window (-102 ms .. +156 ms around R).
QRS_LO = WINDOW_PRE - 13
QRS_HI = WINDOW_PRE + 20
#: On-line morphology clusters kept per patient.
N_CLUSTERS = 8

#: Names of the columns of :attr:`BeatFeatures.rr`.
RR_NAMES = (
    "pre_rr_s",
    "post_rr_s",
    "local_rr_s",
    "long_rr_s",
    "pre_over_local",
    "post_over_local",
    "pre_over_long",
    "local_over_long",
    "post_over_pre",
    "irregularity",
    "pre_over_local_nn",
    "post_over_local_nn",
    "pre_over_upper",
    "post_over_upper",
)
#: Names of the columns of :attr:`BeatFeatures.template`.
TEMPLATE_NAMES = (
    "corr_dominant",
    "corr_dominant_lead0",
    "corr_dominant_lead1",
    "amplitude_ratio_lead0",
    "amplitude_ratio_lead1",
    "width_minus_dominant",
    "cluster_fraction",
    "in_dominant_cluster",
    "corr_own_cluster",
)
assert len(RR_NAMES) == K.N_RR + K.N_NN + K.N_UP and len(TEMPLATE_NAMES) == K.N_TF


def _leads_first(block, n_leads: int) -> np.ndarray:
    """(n,) or (n, n_leads) array-like -> float64 (n_leads, n), a view where it can be
    (the buffer it is appended to is contiguous: one copy, not two)."""
    return as_samples_by_leads(block, n_leads, made_for="extractor").T


@dataclass(frozen=True)
class TemplateConfig:
    """Settings of the on-line morphology clustering (label-free adaptation)."""

    #: a beat joins a cluster at or above this correlation (QRS region) ...
    join_corr: float = 0.90
    #: ... and a peak-to-peak ratio to its template in this range
    amp_low: float = 0.7
    amp_high: float = 1.4
    #: every cluster's member count decays by this factor per beat, so the
    #: dominant beat follows the patient over about 1 / (1 - decay) beats
    decay: float = 0.999
    #: a template is about the mean of this many recent members
    max_weight: float = 32.0
    #: smallest template peak-to-peak a beat is scaled by, mV
    min_p2p_mv: float = 0.05
    #: a beat earlier than this fraction of the local RR adds only
    #: ``premature_weight`` to its cluster's count (the dominant beat is the
    #: patient's regular one, not a frequent ectopic)
    premature_ratio: float = 0.85
    premature_weight: float = 0.2

    def as_array(self) -> np.ndarray:
        p = np.zeros(K.N_TP)
        p[K.TP_JOIN_CORR] = self.join_corr
        p[K.TP_AMP_LOW] = self.amp_low
        p[K.TP_AMP_HIGH] = self.amp_high
        p[K.TP_DECAY] = self.decay
        p[K.TP_MAX_WEIGHT] = self.max_weight
        p[K.TP_MIN_P2P] = self.min_p2p_mv
        return p


@dataclass(frozen=True, eq=False)
class BeatFeatures:
    """Features of a run of beats.

    Attributes
    ----------
    r_peaks : ndarray of int64, shape (n,)
        Sample index of each beat's R peak in the input (0 = first sample fed).
    beat : ndarray of float32, shape (n, n_leads, WINDOW_LEN)
        Each lead's window at :data:`CANONICAL_FS_HZ`, baseline removed, divided
        by the peak-to-peak QRS amplitude of the dominant template of that lead.
    dominant : ndarray of float32, shape (n, n_leads, WINDOW_LEN)
        The dominant template the beat was compared with, scaled the same way.
    rr : ndarray of float32, shape (n, len(RR_NAMES))
        RR features (columns :data:`RR_NAMES`; seconds and ratios).
    template : ndarray of float32, shape (n, len(TEMPLATE_NAMES))
        Comparison with the dominant template (columns :data:`TEMPLATE_NAMES`).
    valid_fraction : ndarray of float32, shape (n,)
        Share of the window's samples that were present (not NaN / outside the
        signal), lowest over the leads.
    """

    r_peaks: np.ndarray
    beat: np.ndarray
    dominant: np.ndarray
    rr: np.ndarray
    template: np.ndarray
    valid_fraction: np.ndarray

    @property
    def n_beats(self) -> int:
        """Number of beats."""
        return int(self.r_peaks.size)

    @staticmethod
    def empty(n_leads: int) -> BeatFeatures:
        """Features of no beat."""
        return BeatFeatures(
            r_peaks=np.zeros(0, np.int64),
            beat=np.zeros((0, n_leads, WINDOW_LEN), np.float32),
            dominant=np.zeros((0, n_leads, WINDOW_LEN), np.float32),
            rr=np.zeros((0, K.N_RR + K.N_NN + K.N_UP), np.float32),
            template=np.zeros((0, K.N_TF), np.float32),
            valid_fraction=np.zeros(0, np.float32),
        )

    @staticmethod
    def concat(parts: list[BeatFeatures], n_leads: int) -> BeatFeatures:
        """One :class:`BeatFeatures` from consecutive runs of beats."""
        parts = [p for p in parts if p.n_beats]
        if not parts:
            return BeatFeatures.empty(n_leads)
        if len(parts) == 1:
            return parts[0]
        return BeatFeatures(
            **{
                name: np.concatenate([getattr(p, name) for p in parts])
                for name in ("r_peaks", "beat", "dominant", "rr", "template", "valid_fraction")
            }
        )


class BeatFeatureExtractor:
    """Streaming per-beat feature extraction.

    Feed it the signal block by block together with the R peaks found so far
    (e.g. by :class:`dsp.QrsDetector`); it returns the features of every beat
    whose window and next beat are known. Its buffer holds the signal from the
    oldest beat still waiting (and ``lookback_s`` before the newest sample,
    for R peaks that a detector reports late), so memory stays bounded.

    Parameters
    ----------
    fs_hz : float
        Sampling rate of the input, 100 to 1000 Hz.
    n_leads : int
        Leads in every block.
    lookback_s : float
        How late an R peak may be reported, relative to the newest sample fed,
        and still have its whole window (``dsp.QrsDetector.latency_samples``
        converted to seconds is enough).
    config : TemplateConfig, optional
        Clustering settings.

    Examples
    --------
    >>> import numpy as np, dsp
    >>> fs_hz = 250.0
    >>> t = np.arange(int(20 * fs_hz)) / fs_hz
    >>> ecg = np.exp(-((t % 0.8 - 0.4) ** 2) / (2 * 0.01 ** 2))
    >>> feats = dsp.extract_beat_features(ecg, fs_hz, dsp.detect_qrs(ecg, fs_hz))
    >>> feats.beat.shape[1:], round(float(feats.rr[5, 0]), 2)
    ((1, 84), 0.8)
    """

    def __init__(
        self,
        fs_hz: float,
        n_leads: int = 1,
        lookback_s: float = 8.0,
        config: TemplateConfig | None = None,
    ) -> None:
        self.fs_hz = check_fs_hz(fs_hz)
        if not isinstance(n_leads, int | np.integer) or n_leads < 1:
            raise InvalidParameterError(f"n_leads must be a positive integer, got {n_leads!r}")
        if not lookback_s >= 0:
            raise InvalidParameterError(f"lookback_s must be >= 0, got {lookback_s!r}")
        self.n_leads = int(n_leads)
        self.config = config or TemplateConfig()
        self._params = self.config.as_array()
        self._step = self.fs_hz / CANONICAL_FS_HZ
        self._half_box = int(math.ceil(self._step)) // 2
        margin = self._step + 2
        self._need_before = int(math.ceil(WINDOW_PRE * self._step + margin))
        self._need_after = int(math.ceil((WINDOW_LEN - WINDOW_PRE - 1) * self._step + margin))
        self._lookback = int(math.ceil(lookback_s * self.fs_hz))
        self._buf = np.zeros((self.n_leads, 0))
        self._buf_start = 0  # absolute index of self._buf[:, 0]
        self._pending: np.ndarray = np.zeros(0, np.int64)
        self._last_peak = -1
        self._rr_state = np.zeros(K.N_RR_STATE + K.RR_HIST)
        self._rr_state[K.RS_LAST_T] = np.nan
        self._nn_state = np.zeros(K.N_NN_STATE + K.RR_HIST)
        self._nn_state[K.NS_LAST_T] = np.nan
        self._up_state = np.zeros(K.N_UP_STATE + K.RR_UPPER_HIST)
        self._up_state[K.US_LAST_T] = np.nan
        self._templates = np.zeros((N_CLUSTERS, self.n_leads, WINDOW_LEN))
        self._counts = np.zeros(N_CLUSTERS)
        self._finished = False

    @property
    def samples_seen(self) -> int:
        """Samples fed so far."""
        return self._buf_start + self._buf.shape[1]

    def feed(self, block, r_peaks=()) -> BeatFeatures:
        """Add a block of signal and the R peaks newly found; return ready beats.

        Parameters
        ----------
        block : array_like, shape (n,) or (n, n_leads)
            The next samples, mV (may be empty).
        r_peaks : array_like of int
            New R peaks, absolute sample indices, sorted, after every peak fed
            before. They may lie before the end of earlier blocks.
        """
        if self._finished:
            raise InvalidParameterError("feed() after finish(): make a new extractor")
        arr = _leads_first(block, self.n_leads) if np.size(block) else np.zeros((self.n_leads, 0))
        peaks = check_new_r_peaks(r_peaks, self._last_peak)
        if peaks.size:
            self._last_peak = int(peaks[-1])
            self._pending = np.concatenate([self._pending, peaks])
        if arr.shape[1]:
            # C-contiguous for the kernels (NumPy picks that layout here: the no-op guard
            # only keeps it so)
            self._buf = np.ascontiguousarray(np.concatenate([self._buf, arr], axis=1))
        return self._emit(final=False)

    def finish(self) -> BeatFeatures:
        """Features of every beat still waiting (the last has no next beat)."""
        if self._finished:
            return BeatFeatures.empty(self.n_leads)
        out = self._emit(final=True)
        self._finished = True
        return out

    def _emit(self, final: bool) -> BeatFeatures:
        end = self.samples_seen
        p = self._pending
        if final:
            n_ready = p.size
        else:
            # window complete and the next beat known
            complete = int(np.searchsorted(p, end - self._need_after, side="left"))
            n_ready = min(complete, max(p.size - 1, 0))
        out = BeatFeatures.empty(self.n_leads)
        if n_ready > 0:
            ready = p[:n_ready]
            out = self._compute(ready, p[n_ready] if n_ready < p.size else None)
            self._pending = p[n_ready:]
        self._trim()
        return out

    def _trim(self) -> None:
        keep_from = self.samples_seen - self._lookback - self._need_before
        if self._pending.size:
            keep_from = min(keep_from, int(self._pending[0]) - self._need_before)
        drop = keep_from - self._buf_start
        if drop > 0:
            drop = min(drop, self._buf.shape[1])
            self._buf = np.ascontiguousarray(self._buf[:, drop:])
            self._buf_start += drop

    def _compute(self, ready: np.ndarray, next_peak: int | None) -> BeatFeatures:
        n = ready.size
        wins = np.empty((n, self.n_leads, WINDOW_LEN))
        n_valid = np.empty((n, self.n_leads), np.int64)
        centers = (ready - self._buf_start).astype(np.float64)
        K.resample_windows(
            self._buf, centers, self._step, self._half_box, WINDOW_PRE, wins, n_valid
        )
        times = ready if next_peak is None else np.append(ready, next_peak)
        rr = np.empty((n, K.N_RR))
        K.rr_features(times / self.fs_hz, n, self._rr_state, rr)
        dom = np.empty_like(wins)
        tf = np.empty((n, K.N_TF))
        cfg = self.config
        weights = np.where(rr[:, K.RR_PRE_LOCAL] >= cfg.premature_ratio, 1.0, cfg.premature_weight)
        K.template_features(
            wins, weights, QRS_LO, QRS_HI, self._params, self._templates, self._counts, dom, tf
        )
        nn = np.empty((n, K.N_NN))
        is_dom = np.ascontiguousarray(tf[:, K.TF_IS_DOMINANT])
        K.nn_rr_features(times / self.fs_hz, n, is_dom, self._nn_state, nn)
        up = np.empty((n, K.N_UP))
        K.rr_upper_features(times / self.fs_hz, n, self._up_state, up)
        rr = np.concatenate([rr, nn, up], axis=1)
        # scale beat and template by the template's QRS peak-to-peak, per lead
        region = dom[:, :, QRS_LO:QRS_HI]
        scale = np.maximum(region.max(axis=2) - region.min(axis=2), self.config.min_p2p_mv)
        scale = scale[:, :, None]
        return BeatFeatures(
            r_peaks=ready.copy(),
            beat=(wins / scale).astype(np.float32),
            dominant=(dom / scale).astype(np.float32),
            rr=rr.astype(np.float32),
            template=tf.astype(np.float32),
            valid_fraction=(n_valid.min(axis=1) / WINDOW_LEN).astype(np.float32),
        )


def extract_beat_features(
    signal, fs_hz: float, r_peaks, config: TemplateConfig | None = None
) -> BeatFeatures:
    """Features of every beat of a whole record.

    Parameters
    ----------
    signal : array_like, shape (n_samples,) or (n_samples, n_leads)
        ECG, mV (NaN where a lead is off).
    fs_hz : float
        Sampling rate, 100 to 1000 Hz.
    r_peaks : array_like of int
        R peak sample indices, sorted (e.g. :func:`dsp.detect_qrs`).
    config : TemplateConfig, optional
        Clustering settings.

    Returns
    -------
    BeatFeatures
        One row per R peak, in order.
    """
    arr = np.asarray(signal)
    n_leads = 1 if arr.ndim == 1 else (arr.shape[1] if arr.ndim == 2 else 0)
    if n_leads < 1:
        raise InvalidSignalError(
            f"signal must be 1-D (n_samples,) or 2-D (n_samples, n_leads), got shape {arr.shape}"
        )
    ex = BeatFeatureExtractor(fs_hz, n_leads, lookback_s=arr.shape[0] / check_fs_hz(fs_hz) + 1.0,
                              config=config)
    first = ex.feed(arr, r_peaks)
    return BeatFeatures.concat([first, ex.finish()], n_leads)
