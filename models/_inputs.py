"""Model inputs from :class:`dsp.BeatFeatures`, shared by training and inference.

The beat classifier sees two tensors per beat:

* ``morph`` (WINDOW_LEN, 4): leads 0 and 1 of the beat and of the patient's
  dominant template, at 128 Hz, scaled by the template's QRS peak-to-peak
  (a one-lead record repeats lead 0; leads past the second are not used);
* ``scalars`` (N_SCALARS,): RR and template-comparison features, each mapped to
  a range of a few units (logs of ratios, ``-log(1 - corr)``), so that one
  int8 scale fits the whole tensor.

Everything here is plain NumPy: the gateway runs it without TensorFlow.
"""

from __future__ import annotations

import numpy as np

from dsp import BeatFeatures
from dsp import _beat_kernels as K

#: AAMI classes the network outputs, in output order.
MODEL_CLASSES = ("N", "S", "V", "F")
#: Channels of the morphology tensor.
MORPH_CHANNELS = ("beat_lead0", "beat_lead1", "dominant_lead0", "dominant_lead1")
#: Names of the scalar inputs, in order.
SCALAR_NAMES = (
    "log_pre_rr",
    "log_post_rr",
    "log_local_rr",
    "log_pre_over_local",
    "log_post_over_local",
    "log_pre_over_long",
    "log_local_over_long",
    "log_post_over_pre",
    "irregularity",
    "corr_dominant",
    "corr_dominant_lead0",
    "corr_dominant_lead1",
    "log_amplitude_lead0",
    "log_amplitude_lead1",
    "width_minus_dominant",
    "cluster_fraction",
    "in_dominant_cluster",
    "corr_own_cluster",
    "log_pre_over_local_nn",
    "log_post_over_local_nn",
    "log_pre_over_upper",
    "log_post_over_upper",
)
N_SCALARS = len(SCALAR_NAMES)
#: morphology values are clipped to +- this (units of the template's QRS peak-to-peak)
MORPH_CLIP = 6.0


def _log_ratio(x: np.ndarray) -> np.ndarray:
    return np.clip(3.0 * np.log(np.maximum(x, 1e-3)), -6.0, 6.0)


def _corr(x: np.ndarray) -> np.ndarray:
    # 0.9 -> 2.3, 0.99 -> 4.5, 0 -> 0: resolution where beats differ
    return np.clip(-np.log(np.clip(1.0 - x, 1e-3, 2.0)), -1.0, 6.9)


def model_inputs(features: BeatFeatures) -> tuple[np.ndarray, np.ndarray]:
    """The two input tensors of the beat classifier.

    Returns
    -------
    morph : ndarray of float32, shape (n, WINDOW_LEN, 4)
    scalars : ndarray of float32, shape (n, N_SCALARS)
    """
    n = features.n_beats
    beat, dom = features.beat, features.dominant
    l1 = 1 if beat.shape[1] > 1 else 0
    # one strided copy per channel into the (n, WINDOW_LEN, 4) layout the model reads;
    # the extractor's windows are finite (missing samples are 0)
    morph = np.empty((n, beat.shape[2], 4), np.float32)
    for c, src in enumerate((beat[:, 0], beat[:, l1], dom[:, 0], dom[:, l1])):
        morph[:, :, c] = src
    np.clip(morph, -MORPH_CLIP, MORPH_CLIP, out=morph)
    rr = features.rr.astype(np.float64)
    tf = features.template.astype(np.float64)
    cols = [
        _log_ratio(rr[:, K.RR_PRE_S] / 0.8),
        _log_ratio(rr[:, K.RR_POST_S] / 0.8),
        _log_ratio(rr[:, K.RR_LOCAL_S] / 0.8),
        _log_ratio(rr[:, K.RR_PRE_LOCAL]),
        _log_ratio(rr[:, K.RR_POST_LOCAL]),
        _log_ratio(rr[:, K.RR_PRE_LONG]),
        _log_ratio(rr[:, K.RR_LOCAL_LONG]),
        _log_ratio(rr[:, K.RR_POST_PRE]),
        np.clip(10.0 * rr[:, K.RR_IRREGULARITY], 0.0, 6.0),
        _corr(tf[:, K.TF_CORR]),
        _corr(tf[:, K.TF_CORR_L0]),
        _corr(tf[:, K.TF_CORR_L1]),
        _log_ratio(tf[:, K.TF_AMP_L0]),
        _log_ratio(tf[:, K.TF_AMP_L1]),
        np.clip(tf[:, K.TF_WIDTH] / 2.0, -6.0, 6.0),
        4.0 * tf[:, K.TF_CLUSTER_FRAC],
        4.0 * tf[:, K.TF_IS_DOMINANT],
        _corr(tf[:, K.TF_BEST_CORR]),
        _log_ratio(rr[:, K.N_RR + K.NN_PRE_LOCAL]),
        _log_ratio(rr[:, K.N_RR + K.NN_POST_LOCAL]),
        _log_ratio(rr[:, K.N_RR + K.N_NN + K.UP_PRE]),
        _log_ratio(rr[:, K.N_RR + K.N_NN + K.UP_POST]),
    ]
    scalars = np.stack(cols, axis=1) if n else np.zeros((0, N_SCALARS))
    scalars = np.nan_to_num(scalars).astype(np.float32)
    return morph, np.ascontiguousarray(scalars)
