"""Signal processing core: Numba kernels on arrays, no I/O, no threads.

Public API (DESIGN.md): ``detect_qrs(signal, fs_hz)`` returns the R-peak
sample indices of a (n_samples,) or (n_samples, n_leads) ECG in mV as sorted
int64. :class:`QrsDetector` is the streaming form it is built on.
"""

from dsp._beat_features import (
    CANONICAL_FS_HZ,
    BeatFeatureExtractor,
    BeatFeatures,
    TemplateConfig,
    extract_beat_features,
)
from dsp._delineate import Delineation, delineate_beats
from dsp._ectopy import EctopySummary, VentricularRun, ectopy_summary
from dsp._exceptions import DspError, InvalidParameterError, InvalidSignalError
from dsp._hourly import CircadianProfile, HourlyProfile, circadian_profile, hourly_profile
from dsp._hrt import HrtResult, heart_rate_turbulence
from dsp._hrv import (
    HrvFrequencyDomain,
    HrvTimeDomain,
    hrv_frequency_domain,
    hrv_time_domain,
    lomb_psd,
)
from dsp._p_wave import p_wave_similarity
from dsp._pacing import PacedBeats, PacingConfig, PacingDetector, detect_pacing
from dsp._prsa import PrsaResult, deceleration_capacity
from dsp._qrs import QrsConfig, QrsDetector, QrsResult, QrsUpdate, analyze_qrs, detect_qrs
from dsp._qt import QtIntervals, QtRrRelation, measure_qt, qt_rr_relation
from dsp._rhythm import RhythmAnalysis, RhythmConfig, RhythmEpisode, analyze_rhythm
from dsp._rr import (
    BEAT_CLASSES,
    CLASS_OF_SYMBOL,
    RrSeries,
    rr_series,
    rr_series_from_annotation,
    rr_series_from_samples,
)
from dsp._rr_analysis import RrAnalysis, analyze_rr
from dsp._st import StEpisode, StLevels, find_st_episodes, measure_st

__all__ = [
    "BEAT_CLASSES",
    "BeatFeatureExtractor",
    "BeatFeatures",
    "CANONICAL_FS_HZ",
    "CLASS_OF_SYMBOL",
    "CircadianProfile",
    "Delineation",
    "DspError",
    "EctopySummary",
    "HourlyProfile",
    "HrtResult",
    "HrvFrequencyDomain",
    "HrvTimeDomain",
    "InvalidParameterError",
    "InvalidSignalError",
    "PacedBeats",
    "PacingConfig",
    "PacingDetector",
    "PrsaResult",
    "QrsConfig",
    "QrsDetector",
    "QrsResult",
    "QrsUpdate",
    "QtIntervals",
    "QtRrRelation",
    "RhythmAnalysis",
    "RhythmConfig",
    "RhythmEpisode",
    "RrAnalysis",
    "RrSeries",
    "StEpisode",
    "StLevels",
    "TemplateConfig",
    "VentricularRun",
    "analyze_qrs",
    "analyze_rhythm",
    "analyze_rr",
    "circadian_profile",
    "deceleration_capacity",
    "delineate_beats",
    "detect_pacing",
    "detect_qrs",
    "ectopy_summary",
    "extract_beat_features",
    "find_st_episodes",
    "heart_rate_turbulence",
    "hourly_profile",
    "hrv_frequency_domain",
    "hrv_time_domain",
    "lomb_psd",
    "measure_qt",
    "measure_st",
    "p_wave_similarity",
    "qt_rr_relation",
    "rr_series",
    "rr_series_from_annotation",
    "rr_series_from_samples",
]
