"""The one table of risk cut-offs: every threshold the risk score judges a factor by.

Each row says: factor ``factor`` is at level ``level`` when its value
``op`` ``threshold`` (in ``unit``), and where that cut-off comes from. The
score code holds no threshold of its own; change a cut-off here and the
score, its explanation and the report change with it.

| factor | level | rule | source |
| --- | --- | --- | --- |
| dc_ms | high | <= 2.5 ms | Bauer 2006 |
| dc_ms | intermediate | <= 4.5 ms | Bauer 2006 |
| hrt_abnormal_count | high | >= 2 (TO and TS abnormal) | Schmidt 1999; Bauer 2008 |
| hrt_abnormal_count | intermediate | >= 1 | Schmidt 1999; Bauer 2008 |
| sdnn_ms | high | < 50 ms | Kleiger 1987 |
| sdnn_ms | intermediate | < 100 ms | Kleiger 1987 |
| pvc_burden_pct | high | > 10 % | Baman 2010; ESC 2022 |
| n_sustained_vt | high | >= 1 | ESC 2022 |
| n_nsvt | intermediate | >= 1 | ESC 2022 |
| af_burden_pct | intermediate | > 0 % | ESC 2020 AF |
| n_st_episodes | high | >= 1 | ESC 2019 CCS; ESC ST-T database convention |
| qtc_ms | high | > 500 ms | AHA/ACCF/HRS 2009 |
| qtc_ms | intermediate | > 480 ms (women) / > 470 ms (men, or sex unknown) | AHA/ACCF/HRS 2009 |
| longest_pause_s | high | >= 3.0 s | ACC/AHA/HRS 2018 |
| model_probability | high | >= 0.9 | this project's risk model (RISK_MODEL_CARD.md) |
| model_probability | intermediate | >= 0.5 | this project's risk model (RISK_MODEL_CARD.md) |

HRT abnormal parts: turbulence onset >= 0 % and turbulence slope <= 2.5 ms/RR
(Schmidt 1999), rows ``hrt_onset_pct`` and ``hrt_slope_ms_per_rr``.

The overall level is the worst level of the assessed factors (``LEVEL_ORDER``);
a factor's contribution is its points (``LEVEL_POINTS``). The model's cut-offs
(0.5, 0.9) were fixed before training and never tuned on the data.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "CUTOFFS",
    "DISCLAIMER",
    "LEVEL_ORDER",
    "LEVEL_POINTS",
    "SOURCES",
    "Cutoff",
    "cutoffs_for",
]

#: Levels from best to worst; "not assessed" stands outside the order.
LEVEL_ORDER: tuple[str, ...] = ("low", "intermediate", "high")
NOT_ASSESSED = "not assessed"
#: Points a factor contributes at each level.
LEVEL_POINTS: dict[str, int] = {"low": 0, "intermediate": 1, "high": 2, NOT_ASSESSED: 0}

DISCLAIMER = (
    "Decision support for a physician, not a diagnosis: each factor is shown with its value, "
    "the published cut-off it is judged against and the source of that cut-off; the model "
    "output is one factor among them. Interpret with the clinical picture."
)

#: Citation of each source key.
SOURCES: dict[str, str] = {
    "bauer2006": (
        "Bauer A, Kantelhardt JW, Barthel P, et al. Deceleration capacity of heart rate as a "
        "predictor of mortality after myocardial infarction: cohort study. Lancet "
        "2006;367:1674-81."
    ),
    "schmidt1999": (
        "Schmidt G, Malik M, Barthel P, et al. Heart-rate turbulence after ventricular premature "
        "beats as a predictor of mortality after acute myocardial infarction. Lancet "
        "1999;353:1390-6."
    ),
    "bauer2008": (
        "Bauer A, Malik M, Schmidt G, et al. Heart rate turbulence: standards of measurement, "
        "physiological interpretation, and clinical use. J Am Coll Cardiol 2008;52:1353-65."
    ),
    "kleiger1987": (
        "Kleiger RE, Miller JP, Bigger JT, Moss AJ. Decreased heart rate variability and its "
        "association with increased mortality after acute myocardial infarction. Am J Cardiol "
        "1987;59:256-62."
    ),
    "baman2010": (
        "Baman TS, Lange DC, Ilg KJ, et al. Relationship between burden of premature "
        "ventricular complexes and left ventricular function. Heart Rhythm 2010;7:865-9."
    ),
    "esc2022va": (
        "Zeppenfeld K, Tfelt-Hansen J, de Riva M, et al. 2022 ESC Guidelines for the management "
        "of patients with ventricular arrhythmias and the prevention of sudden cardiac death. "
        "Eur Heart J 2022;43:3997-4126."
    ),
    "esc2020af": (
        "Hindricks G, Potpara T, Dagres N, et al. 2020 ESC Guidelines for the diagnosis and "
        "management of atrial fibrillation. Eur Heart J 2021;42:373-498."
    ),
    "esc2019ccs": (
        "Knuuti J, Wijns W, Saraste A, et al. 2019 ESC Guidelines for the diagnosis and "
        "management of chronic coronary syndromes. Eur Heart J 2020;41:407-77 (ambulatory ECG); "
        "episode rule of the European ST-T Database: >= 100 uV for >= 30 s."
    ),
    "aha2009qt": (
        "Rautaharju PM, Surawicz B, Gettes LS. AHA/ACCF/HRS recommendations for the "
        "standardization and interpretation of the electrocardiogram, part IV: the ST segment, "
        "T and U waves, and the QT interval. Circulation 2009;119:e241-50."
    ),
    "acc2018brady": (
        "Kusumoto FM, Schoenfeld MH, Barrett C, et al. 2018 ACC/AHA/HRS guideline on the "
        "evaluation and management of patients with bradycardia and cardiac conduction delay. "
        "Circulation 2019;140:e382-482."
    ),
    "risk_model": (
        "This project's TFLite risk model (models/RISK_MODEL_CARD.md): probability of the "
        "heart-failure class from 24-hour RR-interval features; cut-offs fixed before training."
    ),
}

_OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


@dataclass(frozen=True)
class Cutoff:
    """One row of the table: ``factor`` is at ``level`` when ``value op threshold``."""

    factor: str
    level: str
    op: str
    threshold: float
    unit: str
    source: str  # key into SOURCES
    applies_to: str = "all"  # "all", "female", "male" (male also when sex is unknown)

    def matches(self, value: float) -> bool:
        return _OPS[self.op](value, self.threshold)

    @property
    def rule(self) -> str:
        who = "" if self.applies_to == "all" else f" ({self.applies_to})"
        unit = f" {self.unit}" if self.unit else ""
        return f"{self.op} {self.threshold:g}{unit}{who}"


CUTOFFS: tuple[Cutoff, ...] = (
    Cutoff("dc_ms", "high", "<=", 2.5, "ms", "bauer2006"),
    Cutoff("dc_ms", "intermediate", "<=", 4.5, "ms", "bauer2006"),
    Cutoff("hrt_onset_pct", "abnormal", ">=", 0.0, "%", "schmidt1999"),
    Cutoff("hrt_slope_ms_per_rr", "abnormal", "<=", 2.5, "ms/RR", "schmidt1999"),
    Cutoff("hrt_abnormal_count", "high", ">=", 2, "", "bauer2008"),
    Cutoff("hrt_abnormal_count", "intermediate", ">=", 1, "", "bauer2008"),
    Cutoff("sdnn_ms", "high", "<", 50.0, "ms", "kleiger1987"),
    Cutoff("sdnn_ms", "intermediate", "<", 100.0, "ms", "kleiger1987"),
    Cutoff("pvc_burden_pct", "high", ">", 10.0, "%", "baman2010"),
    Cutoff("n_sustained_vt", "high", ">=", 1, "episodes", "esc2022va"),
    Cutoff("n_nsvt", "intermediate", ">=", 1, "episodes", "esc2022va"),
    Cutoff("af_burden_pct", "intermediate", ">", 0.0, "%", "esc2020af"),
    Cutoff("n_st_episodes", "high", ">=", 1, "episodes", "esc2019ccs"),
    Cutoff("qtc_ms", "high", ">", 500.0, "ms", "aha2009qt"),
    Cutoff("qtc_ms", "intermediate", ">", 480.0, "ms", "aha2009qt", "female"),
    Cutoff("qtc_ms", "intermediate", ">", 470.0, "ms", "aha2009qt", "male"),
    Cutoff("longest_pause_s", "high", ">=", 3.0, "s", "acc2018brady"),
    Cutoff("model_probability", "high", ">=", 0.9, "", "risk_model"),
    Cutoff("model_probability", "intermediate", ">=", 0.5, "", "risk_model"),
)


def cutoffs_for(factor: str, sex: str | None = None) -> tuple[Cutoff, ...]:
    """The rows of `factor`, worst level first, for a patient of `sex` ("female", "male", None).

    Rows for men also apply when the sex is unknown (the lower, more cautious
    QTc threshold).
    """
    want = {"all", "female"} if sex == "female" else {"all", "male"}
    rows = [c for c in CUTOFFS if c.factor == factor and c.applies_to in want]
    if not rows:
        raise KeyError(f"no cut-off for factor {factor!r}")
    rank = {level: i for i, level in enumerate(LEVEL_ORDER)}
    return tuple(sorted(rows, key=lambda c: -rank.get(c.level, -1)))
