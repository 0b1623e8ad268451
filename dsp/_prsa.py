"""Deceleration and acceleration capacity by phase-rectified signal averaging.

Bauer A, Kantelhardt JW, Barthel P, et al. Deceleration capacity of heart rate
as a predictor of mortality after myocardial infarction: cohort study.
Lancet 2006;367:1674-1681.

Anchors are RR intervals longer than their predecessor (for DC; shorter for
AC) by at most 5 % (the paper's artefact rule). Around every anchor the
intervals X(-2), X(-1), X(0), X(1) are averaged (X(0) = the anchor) and

    DC = [X(0) + X(1) - X(-1) - X(-2)] / 4.

Here an anchor counts only when all four intervals of its window are NN
(sinus-to-sinus, in range, no noise), so ectopic beats never enter the
average; AC is computed the same way and is negative in a healthy heart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dsp._exceptions import InvalidParameterError
from dsp._hrv_kernels import prsa_sums
from dsp._rr import RrSeries

__all__ = ["PrsaResult", "deceleration_capacity"]

#: Bauer et al. 2006: anchors prolonged by more than 5 % are excluded.
MAX_ANCHOR_CHANGE_FRAC = 0.05


@dataclass(frozen=True)
class PrsaResult:
    """Deceleration (DC) and acceleration (AC) capacity, ms, and their anchor counts."""

    dc_ms: float
    ac_ms: float
    n_dc_anchors: int
    n_ac_anchors: int


def _capacity(sums: np.ndarray, count: int) -> float:
    if count == 0:
        return math.nan
    x = sums / count  # X(-2), X(-1), X(0), X(1)
    return float((x[2] + x[3] - x[1] - x[0]) / 4.0)


def deceleration_capacity(
    rr: RrSeries, *, max_anchor_change_frac: float = MAX_ANCHOR_CHANGE_FRAC
) -> PrsaResult:
    """DC and AC of the RR intervals in `rr` (NaN where there is no anchor).

    Parameters
    ----------
    rr : RrSeries
        From :func:`dsp.rr_series`.
    max_anchor_change_frac : float
        Largest change of an anchor from its predecessor, as a fraction (0.05).

    Examples
    --------
    >>> import numpy as np
    >>> from dsp import deceleration_capacity, rr_series
    >>> rr_ms = 800 + 20 * np.sin(np.arange(2000) * 2 * np.pi / 7)
    >>> t = np.cumsum(rr_ms) / 1000
    >>> res = deceleration_capacity(rr_series(t, ["N"] * t.size))
    >>> bool(res.dc_ms > 0 > res.ac_ms)
    True
    """
    if not 0 < max_anchor_change_frac < 1:
        raise InvalidParameterError(
            f"max_anchor_change_frac must be in (0, 1); got {max_anchor_change_frac}"
        )
    rr_ms = np.ascontiguousarray(rr.rr_ms, dtype=np.float64)
    ok = np.ascontiguousarray(rr.nn_mask, dtype=np.bool_)
    dec_sums, n_dec = prsa_sums(rr_ms, ok, max_anchor_change_frac, True)
    acc_sums, n_acc = prsa_sums(rr_ms, ok, max_anchor_change_frac, False)
    return PrsaResult(
        dc_ms=_capacity(dec_sums, n_dec),
        ac_ms=_capacity(acc_sums, n_acc),
        n_dc_anchors=int(n_dec),
        n_ac_anchors=int(n_acc),
    )
