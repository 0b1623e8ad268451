"""The committed int8 TFLite risk model and the training utilities (no TensorFlow needed)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from models import (
    RISK_FEATURE_NAMES,
    RISK_MODEL_PATH,
    RiskModel,
    RiskModelError,
    RiskModelInputError,
)
from models._train_risk import auc, bootstrap_auc_ci, fit_preprocessing, stratified_folds


@pytest.fixture(scope="module")
def model() -> RiskModel:
    return RiskModel()


def _typical_features(info: dict) -> np.ndarray:
    return np.asarray(info["impute"], dtype=np.float64)


class TestCommittedModel:
    def test_is_int8_with_float_input_and_output(self, model):
        details = model._interp.get_tensor_details()
        weights = [d for d in details if len(d["shape"]) == 2 and d["dtype"] != np.float32]
        assert weights and all(d["dtype"] == np.int8 for d in weights)
        assert model._in["dtype"] == np.float32 and model._out["dtype"] == np.float32

    def test_sidecar_names_the_features_and_the_cross_validation(self, model):
        info = model.info
        assert tuple(info["feature_names"]) == RISK_FEATURE_NAMES
        cv = info["cross_validation"]
        lo, hi = cv["auc_int8_ci95_bootstrap"]
        assert 0.5 < lo <= cv["auc_int8"] <= hi <= 1.0
        assert len(info["out_of_fold"]) == 83

    def test_probabilities_in_range_batch_equals_single(self, model):
        base = _typical_features(model.info)
        rng = np.random.default_rng(0)
        batch = base * (1 + 0.2 * rng.standard_normal((5, base.size)))
        probs = model.predict_proba(batch)
        assert probs.shape == (5,) and np.all((probs >= 0) & (probs <= 1))
        assert model.predict_proba(batch[2])[0] == probs[2]

    def test_missing_features_are_imputed(self, model):
        nan_row = np.full(len(RISK_FEATURE_NAMES), np.nan)
        typical = _typical_features(model.info)
        assert model.predict_proba(nan_row)[0] == model.predict_proba(typical)[0]

    def test_less_variability_more_heart_failure(self, model):
        """Lower SDNN, DC and hourly SDNN than typical move the output towards heart failure."""
        x = _typical_features(model.info)
        worse = x.copy()
        for name, factor in (("sdnn_ms", 0.5), ("sdann_ms", 0.5), ("dc_ms", 0.4), ("hourly_sdnn_median_ms", 0.5)):
            worse[RISK_FEATURE_NAMES.index(name)] *= factor
        assert model.predict_proba(worse)[0] > model.predict_proba(x)[0]

    def test_wrong_shape(self, model):
        with pytest.raises(RiskModelInputError, match="features must be"):
            model.predict_proba(np.zeros(3))

    def test_missing_model_and_bad_sidecar(self, tmp_path):
        with pytest.raises(RiskModelError, match="not found"):
            RiskModel(tmp_path / "none.tflite")
        copy = tmp_path / "risk_model.tflite"
        shutil.copy(RISK_MODEL_PATH, copy)
        with pytest.raises(RiskModelError, match="sidecar not found"):
            RiskModel(copy)
        doc = json.loads(RISK_MODEL_PATH.with_suffix(".json").read_text())
        doc["feature_names"] = doc["feature_names"][::-1]
        copy.with_suffix(".json").write_text(json.dumps(doc))
        with pytest.raises(RiskModelError, match="other features"):
            RiskModel(copy)
        assert issubclass(RiskModelError, OSError)


class TestTrainingUtilities:
    def test_auc_equals_the_pairwise_definition(self):
        rng = np.random.default_rng(1)
        y = rng.integers(0, 2, 60)
        s = np.round(rng.normal(size=60) + y, 1)  # ties on purpose
        pairs = [(a, b) for a in s[y == 1] for b in s[y == 0]]
        want = np.mean([1.0 if a > b else 0.5 if a == b else 0.0 for a, b in pairs])
        assert auc(y, s) == pytest.approx(want)

    def test_folds_are_subject_wise_and_stratified(self):
        y = np.array([1] * 29 + [0] * 54)
        fold = stratified_folds(y, 5, seed=3)
        for k in range(5):
            test = fold == k
            assert 5 <= y[test].sum() <= 6 and 10 <= (y[test] == 0).sum() <= 11
        assert np.array_equal(fold, stratified_folds(y, 5, seed=3))  # reproducible

    def test_bootstrap_interval_brackets_the_auc(self):
        rng = np.random.default_rng(2)
        y = np.array([1] * 30 + [0] * 50)
        s = rng.normal(size=80) + 1.2 * y
        lo, hi = bootstrap_auc_ci(y, s, 500, seed=0)
        assert lo < auc(y, s) < hi and hi - lo < 0.4

    def test_preprocessing_uses_training_rows_only(self):
        x = np.array([[1.0, np.nan], [3.0, 4.0], [5.0, 6.0]])
        prep = fit_preprocessing(x[:2])
        assert prep["impute"] == [2.0, 4.0]
        assert prep["mean"] == [2.0, 4.0]
