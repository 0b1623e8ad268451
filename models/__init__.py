"""Learned models: the TFLite beat classifier and the risk model, their training
scripts (``train`` extra) and model cards. May import ``dsp``; knows nothing of
MQTT, files or threads. (Built in the classification and risk issues.)

Beats: :class:`BeatClassifier` runs the committed int8 TFLite beat classifier
(``beat_classifier.tflite``, see MODEL_CARD.md) on :class:`dsp.BeatFeatures`,
batched, and labels each beat N, S, V, F or Q.

Risk: :func:`score_risk` grades every factor of :class:`RiskInputs` against the
one table of published cut-offs (:data:`RISK_CUTOFFS`, with sources) and says
plainly that it supports a physician and does not diagnose; :class:`RiskModel`
runs the int8 TFLite heart-failure model on :func:`risk_features`;
:func:`assess_rr` does all of it for one record's beats.
"""

from models._classifier import BeatClassifier, BeatLabels, TfliteBeatModel
from models._exceptions import ModelError
from models._inputs import MODEL_CLASSES, model_inputs
from models._risk_assess import RiskAssessment, assess_rr, rr_analysis_dict
from models._risk_cutoffs import CUTOFFS as RISK_CUTOFFS
from models._risk_cutoffs import DISCLAIMER as RISK_DISCLAIMER
from models._risk_cutoffs import Cutoff
from models._risk_features import FEATURE_NAMES as RISK_FEATURE_NAMES
from models._risk_features import risk_features
from models._risk_model import RISK_MODEL_PATH, RiskModel, RiskModelError, RiskModelInputError
from models._risk_score import RiskFactor, RiskInputs, RiskScore, risk_inputs_from_rr, score_risk

__all__ = [
    "BeatClassifier",
    "BeatLabels",
    "Cutoff",
    "MODEL_CLASSES",
    "ModelError",
    "RISK_CUTOFFS",
    "RISK_DISCLAIMER",
    "RISK_FEATURE_NAMES",
    "RISK_MODEL_PATH",
    "RiskAssessment",
    "RiskFactor",
    "RiskInputs",
    "RiskModel",
    "RiskModelError",
    "RiskModelInputError",
    "RiskScore",
    "TfliteBeatModel",
    "assess_rr",
    "model_inputs",
    "risk_features",
    "risk_inputs_from_rr",
    "rr_analysis_dict",
    "score_risk",
]
