"""How much each beat's P-wave region looks like the patient's dominant beat's.

Atrial activity for the AF detector (:mod:`dsp._rhythm_af`): in sinus rhythm
(also with frequent ectopy) the stretch before the QRS holds a P wave of the
same shape beat after beat, so it correlates with the same stretch of the
dominant template; in atrial fibrillation there is no P wave, the stretch
holds f waves and noise, and it does not.

The measure is the Pearson correlation, per lead, of the beat window with the
dominant template over canonical samples :data:`P_LO` .. :data:`P_HI` - 1
(about -220 .. -70 ms before R, at :data:`dsp.CANONICAL_FS_HZ`). A lead counts
only where the template's own P region has a visible wave (standard deviation
at least :data:`P_TEMPLATE_MIN_STD` of the template's QRS peak-to-peak, the
unit of the windows): a flat template P region (no template yet, a P wave too
small to see, or a template averaged over AF beats) correlates with anything
by chance. A beat's value is the highest over the usable leads, NaN where no
lead is usable or the window lies partly outside the signal.
"""

from __future__ import annotations

import numpy as np

from dsp._beat_features import WINDOW_PRE, BeatFeatures

#: P region of the beat window, canonical samples [P_LO, P_HI) (-219 .. -70 ms).
P_LO = WINDOW_PRE - 28
P_HI = WINDOW_PRE - 8
#: Lowest standard deviation of the template's P region for a lead to count
#: (units of the template's QRS peak-to-peak).
P_TEMPLATE_MIN_STD = 0.02
#: Lowest share of the window present in the signal.
P_MIN_VALID_FRACTION = 0.99


def p_wave_similarity(features: BeatFeatures) -> np.ndarray:
    """Correlation of each beat's P region with the dominant template's.

    Parameters
    ----------
    features : BeatFeatures

    Returns
    -------
    ndarray of float64, shape (n_beats,)
        Highest correlation over the usable leads, in [-1, 1]; NaN where no
        lead is usable (see the module docstring).

    Examples
    --------
    >>> import numpy as np
    >>> from dsp import BeatFeatures
    >>> f = BeatFeatures.empty(2)
    >>> p_wave_similarity(f).shape
    (0,)
    """
    n = features.n_beats
    out = np.full(n, np.nan)
    if n == 0 or features.beat.shape[1] == 0:
        return out
    b = features.beat[:, :, P_LO:P_HI].astype(np.float64)
    d = features.dominant[:, :, P_LO:P_HI].astype(np.float64)
    b -= b.mean(axis=2, keepdims=True)
    d -= d.mean(axis=2, keepdims=True)
    bb = np.einsum("ijk,ijk->ij", b, b)
    dd = np.einsum("ijk,ijk->ij", d, d)
    bd = np.einsum("ijk,ijk->ij", b, d)
    usable = (dd >= (P_TEMPLATE_MIN_STD**2) * (P_HI - P_LO)) & (bb > 0)
    corr = np.where(usable, bd / np.sqrt(np.where(usable, bb * dd, 1.0)), -np.inf)
    best = corr.max(axis=1)
    ok = np.isfinite(best) & (features.valid_fraction >= P_MIN_VALID_FRACTION)
    out[ok] = np.clip(best[ok], -1.0, 1.0)
    return out
