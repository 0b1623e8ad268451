"""The RR-derived risk assessment of one record: measures, model features, model, score.

One call used by ``holter risk`` (and later by the 24-hour report): beats in,
an :class:`RiskAssessment` out, with the explainable score whose factors
include the model's output. Arrays in, frozen dataclasses out; the caller
reads files and prints.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dsp import RrAnalysis, RrSeries, analyze_rr
from models._risk_features import FEATURE_NAMES, risk_features
from models._risk_model import RiskModel
from models._risk_score import RiskScore, risk_inputs_from_rr, score_risk

__all__ = ["RiskAssessment", "assess_rr", "rr_analysis_dict"]


@dataclass(frozen=True)
class RiskAssessment:
    """Everything the RR-only risk assessment of a record found."""

    analysis: RrAnalysis
    features: np.ndarray  # (len(FEATURE_NAMES),), NaN where undefined
    model_probability: float | None
    score: RiskScore


def assess_rr(
    rr: RrSeries,
    *,
    model: RiskModel | None = None,
    sex: str | None = None,
    start_time_of_day_s: float | None = None,
    record_duration_s: float | None = None,
) -> RiskAssessment:
    """Analyse `rr` (HRV, DC, HRT, ectopy, hourly), run the risk model, grade every factor.

    Parameters
    ----------
    rr : dsp.RrSeries
    model : RiskModel, optional
        Without it the model factor is "not assessed".
    sex : {"female", "male"}, optional
        For the sex-specific QTc cut-off (unknown: the lower, male one).
    start_time_of_day_s, record_duration_s : float, optional
        Passed to :func:`dsp.analyze_rr`.
    """
    analysis = analyze_rr(
        rr, start_time_of_day_s=start_time_of_day_s, record_duration_s=record_duration_s
    )
    features = risk_features(rr, analysis)
    probability = None if model is None else float(model.predict_proba(features)[0])
    inputs = risk_inputs_from_rr(analysis, model_probability=probability, sex=sex)
    return RiskAssessment(analysis, features, probability, score_risk(inputs))


def _num(x: float | int) -> float | int | None:
    if isinstance(x, (int, np.integer)):
        return int(x)
    x = float(x)
    return None if math.isnan(x) or math.isinf(x) else round(x, 4)


def _nums(a: np.ndarray) -> list[float | int | None]:
    return [_num(v) for v in np.asarray(a).tolist()]


def rr_analysis_dict(assessment: RiskAssessment) -> dict[str, object]:
    """The measures as JSON-ready dicts (units in the keys; NaN as None)."""
    a = assessment.analysis
    td, fd, p, h, e = a.time_domain, a.frequency_domain, a.prsa, a.hrt, a.ectopy
    return {
        "duration_s": _num(a.duration_s),
        "hrv": {
            "n_nn": td.n_nn,
            "mean_nn_ms": _num(td.mean_nn_ms),
            "sdnn_ms": _num(td.sdnn_ms),
            "sdann_ms": _num(td.sdann_ms),
            "sdnn_index_ms": _num(td.sdnn_index_ms),
            "rmssd_ms": _num(td.rmssd_ms),
            "pnn50_pct": _num(td.pnn50_pct),
            "triangular_index": _num(td.triangular_index),
            "lf_ms2": _num(fd.lf_ms2),
            "hf_ms2": _num(fd.hf_ms2),
            "lf_hf": _num(fd.lf_hf),
            "n_spectral_segments": fd.n_segments,
        },
        "deceleration_capacity": {
            "dc_ms": _num(p.dc_ms),
            "ac_ms": _num(p.ac_ms),
            "n_dc_anchors": p.n_dc_anchors,
        },
        "heart_rate_turbulence": {
            "turbulence_onset_pct": _num(h.turbulence_onset_pct),
            "turbulence_slope_ms_per_rr": _num(h.turbulence_slope_ms_per_rr),
            "n_vpc": h.n_vpc,
            "n_vpc_used": h.n_vpc_used,
        },
        "ectopy": {
            "n_beats": e.n_beats,
            "counts": e.counts,
            "v_burden_pct": _num(e.v_burden_pct),
            "a_burden_pct": _num(e.a_burden_pct),
            "n_v_couplets": e.n_v_couplets,
            "n_ventricular_runs": len(e.runs),
            "n_nsvt": e.n_nsvt,
            "n_sustained_vt": e.n_sustained_vt,
            "pause_threshold_s": e.pause_threshold_s,
            "n_pauses": e.n_pauses,
            "longest_pause_s": _num(e.longest_pause_s),
        },
        "hourly": {
            "hour_start_s": _nums(a.hourly.hour_start_s),
            "hr_mean_bpm": _nums(a.hourly.hr_mean_bpm),
            "hr_min_bpm": _nums(a.hourly.hr_min_bpm),
            "hr_max_bpm": _nums(a.hourly.hr_max_bpm),
            "v_per_hour": _nums(a.hourly.counts_of("V")),
            "a_per_hour": _nums(a.hourly.counts_of("A")),
        },
        "circadian": {
            "amplitude_bpm": _num(a.circadian.amplitude_bpm),
            "day_hr_bpm": _num(a.circadian.day_hr_bpm),
            "night_hr_bpm": _num(a.circadian.night_hr_bpm),
        },
        "model_features": dict(zip(FEATURE_NAMES, _nums(assessment.features), strict=True)),
    }
