"""The explainable risk score: every factor with its value, cut-off, source and contribution.

Factors come in as plain numbers (:class:`RiskInputs`); a factor whose input
is missing is reported as "not assessed" with the reason, never guessed. Each
assessed factor is graded with the rows of :mod:`models._risk_cutoffs` (the one
table of thresholds), contributes the points of its level, and the overall
level is the worst level among the assessed factors. The score supports a
physician and does not diagnose (:data:`DISCLAIMER`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from dsp import RrAnalysis
from models._risk_cutoffs import (
    DISCLAIMER,
    LEVEL_ORDER,
    LEVEL_POINTS,
    NOT_ASSESSED,
    SOURCES,
    cutoffs_for,
)

__all__ = ["RiskFactor", "RiskInputs", "RiskScore", "risk_inputs_from_rr", "score_risk"]

#: Why a factor has no input before the signal- and rhythm-based parts exist.
REASON_NEEDS_RHYTHM = "needs rhythm episodes (AF detection), not available from RR-only input"
REASON_NEEDS_SIGNAL = "needs the ECG signal (ST / QT measurement), not available from RR-only input"


@dataclass(frozen=True)
class RiskInputs:
    """The numbers the score judges; ``None`` = not available (with a reason in ``missing``)."""

    dc_ms: float | None = None
    hrt_onset_pct: float | None = None
    hrt_slope_ms_per_rr: float | None = None
    sdnn_ms: float | None = None
    pvc_burden_pct: float | None = None
    n_nsvt: int | None = None
    n_sustained_vt: int | None = None
    af_burden_pct: float | None = None
    n_st_episodes: int | None = None
    qtc_ms: float | None = None
    longest_pause_s: float | None = None
    model_probability: float | None = None
    sex: str | None = None  # "female", "male" or None (unknown)
    missing: dict[str, str] = field(default_factory=dict)  # factor -> reason


@dataclass(frozen=True)
class RiskFactor:
    """One line of the factor table."""

    name: str
    title: str
    value: float | None
    unit: str
    level: str  # low / intermediate / high / not assessed
    cutoff: str  # the rules judged against, as "<level> <op> <threshold> <unit>; ..."
    source: str  # full citation(s)
    contribution: int  # points
    note: str = ""


@dataclass(frozen=True)
class RiskScore:
    """The factor table, the overall level and the statement of what it is."""

    level: str  # low / intermediate / high / not assessed
    points: int
    factors: tuple[RiskFactor, ...]
    disclaimer: str = DISCLAIMER

    @property
    def n_assessed(self) -> int:
        return sum(f.level != NOT_ASSESSED for f in self.factors)

    def factor(self, name: str) -> RiskFactor:
        for f in self.factors:
            if f.name == name:
                return f
        raise KeyError(name)

    def as_dict(self) -> dict[str, object]:
        """JSON-ready: NaN never appears (not-assessed values are None)."""
        return {
            "level": self.level,
            "points": self.points,
            "n_assessed": self.n_assessed,
            "disclaimer": self.disclaimer,
            "factors": [asdict(f) for f in self.factors],
        }


_FACTORS: tuple[tuple[str, str, str], ...] = (
    ("dc_ms", "Deceleration capacity", "ms"),
    ("hrt", "Heart-rate turbulence (onset, slope)", ""),
    ("sdnn_ms", "SDNN (24 h)", "ms"),
    ("pvc_burden_pct", "PVC burden", "%"),
    ("n_nsvt", "Non-sustained VT episodes", "episodes"),
    ("n_sustained_vt", "Sustained VT episodes", "episodes"),
    ("af_burden_pct", "AF burden", "%"),
    ("n_st_episodes", "ST episodes", "episodes"),
    ("qtc_ms", "QTc", "ms"),
    ("longest_pause_s", "Longest pause", "s"),
    ("model_probability", "Risk model: probability of the heart-failure class", ""),
)


def _finite(value: float | None) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _sources(keys) -> str:
    return " | ".join(SOURCES[k] for k in dict.fromkeys(keys))


def _grade(name: str, title: str, unit: str, value, sex, reason: str) -> RiskFactor:
    rows = cutoffs_for(name, sex)
    cutoff = "; ".join(f"{c.level} {c.rule}" for c in rows)
    source = _sources(c.source for c in rows)
    if not _finite(value):
        return RiskFactor(name, title, None, unit, NOT_ASSESSED, cutoff, source, 0, reason)
    level = next((c.level for c in rows if c.matches(float(value))), "low")
    return RiskFactor(name, title, float(value), unit, level, cutoff, source, LEVEL_POINTS[level])


def _grade_hrt(inputs: RiskInputs) -> RiskFactor:
    onset_row = cutoffs_for("hrt_onset_pct")[0]
    slope_row = cutoffs_for("hrt_slope_ms_per_rr")[0]
    count_rows = cutoffs_for("hrt_abnormal_count")
    cutoff = (
        f"abnormal TO {onset_row.rule}, abnormal TS {slope_row.rule}; "
        + "; ".join(f"{c.level} when abnormal parts {c.rule}" for c in count_rows)
    )
    source = _sources([onset_row.source, slope_row.source, *(c.source for c in count_rows)])
    title = "Heart-rate turbulence (onset %, slope ms/RR)"
    to, ts = inputs.hrt_onset_pct, inputs.hrt_slope_ms_per_rr
    if not (_finite(to) and _finite(ts)):
        reason = inputs.missing.get("hrt", "no qualifying ventricular premature beat")
        return RiskFactor("hrt", title, None, "abnormal parts", NOT_ASSESSED, cutoff, source, 0, reason)
    n_abnormal = int(onset_row.matches(to)) + int(slope_row.matches(ts))
    level = next((c.level for c in count_rows if c.matches(n_abnormal)), "low")
    note = f"TO {to:.2f} %, TS {ts:.2f} ms/RR"
    return RiskFactor(
        "hrt", title, float(n_abnormal), "abnormal parts", level, cutoff, source,
        LEVEL_POINTS[level], note,
    )


def score_risk(inputs: RiskInputs) -> RiskScore:
    """Grade every factor of `inputs` and combine them.

    Parameters
    ----------
    inputs : RiskInputs

    Returns
    -------
    RiskScore
        ``level`` is the worst level among assessed factors ("not assessed"
        when none is), ``points`` the sum of the contributions.
    """
    if inputs.sex not in (None, "female", "male"):
        raise ValueError(f"sex must be 'female', 'male' or None; got {inputs.sex!r}")
    factors = []
    for name, title, unit in _FACTORS:
        if name == "hrt":
            factors.append(_grade_hrt(inputs))
            continue
        reason = inputs.missing.get(name, "not available")
        factors.append(_grade(name, title, unit, getattr(inputs, name), inputs.sex, reason))
    assessed = [f.level for f in factors if f.level != NOT_ASSESSED]
    level = max(assessed, key=LEVEL_ORDER.index) if assessed else NOT_ASSESSED
    return RiskScore(
        level=level, points=sum(f.contribution for f in factors), factors=tuple(factors)
    )


def risk_inputs_from_rr(
    analysis: RrAnalysis,
    *,
    model_probability: float | None = None,
    sex: str | None = None,
    model_missing_reason: str = "risk model not run",
) -> RiskInputs:
    """The risk inputs an RR-only analysis can give; signal- and rhythm-based ones are missing.

    NSVT and sustained VT come from the runs of V-labelled beats that the beat
    labels carry (run definition: :func:`dsp.ectopy_summary`).
    """
    e = analysis.ectopy
    missing = {
        "af_burden_pct": REASON_NEEDS_RHYTHM,
        "n_st_episodes": REASON_NEEDS_SIGNAL,
        "qtc_ms": REASON_NEEDS_SIGNAL,
    }
    if analysis.hrt.n_vpc_used == 0:
        missing["hrt"] = (
            f"no qualifying ventricular premature beat ({analysis.hrt.n_vpc} V beats, none "
            "isolated in sinus rhythm with 20 % prematurity)"
        )
    if math.isnan(analysis.prsa.dc_ms):
        missing["dc_ms"] = "no deceleration anchor in sinus rhythm"
    if math.isnan(analysis.time_domain.sdnn_ms):
        missing["sdnn_ms"] = "fewer than 2 NN intervals"
    if model_probability is None:
        missing["model_probability"] = model_missing_reason
    return RiskInputs(
        dc_ms=analysis.prsa.dc_ms,
        hrt_onset_pct=analysis.hrt.turbulence_onset_pct,
        hrt_slope_ms_per_rr=analysis.hrt.turbulence_slope_ms_per_rr,
        sdnn_ms=analysis.time_domain.sdnn_ms,
        pvc_burden_pct=e.v_burden_pct,
        n_nsvt=e.n_nsvt,
        n_sustained_vt=e.n_sustained_vt,
        longest_pause_s=e.longest_pause_s,
        model_probability=model_probability,
        sex=sex,
        missing=missing,
    )
