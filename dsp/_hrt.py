"""Heart-rate turbulence after ventricular premature complexes (VPCs).

Schmidt G, Malik M, Barthel P, et al. Heart-rate turbulence after ventricular
premature beats as a predictor of mortality after acute myocardial infarction.
Lancet 1999;353:1390-1396; filter rules as standardised in Bauer A, Malik M,
Schmidt G, et al. Heart rate turbulence: standards of measurement,
physiological interpretation, and clinical use. J Am Coll Cardiol
2008;52:1353-1365.

- Turbulence onset (TO, %): ``((RR1 + RR2) - (RR-2 + RR-1)) / (RR-2 + RR-1) x 100``,
  RR-2 and RR-1 the two sinus intervals before the coupling interval, RR1 and RR2
  the two after the compensatory pause; computed per VPC, then averaged.
- Turbulence slope (TS, ms/RR): the largest slope of a least-squares line over
  any 5 consecutive of the first 15 sinus intervals after the pause, on the
  tachogram averaged over the qualifying VPCs.

A VPC qualifies when it is isolated in sinus rhythm (5 NN intervals before the
coupling interval, 15 after the pause), its sinus intervals lie in 300-2000 ms,
differ by at most 200 ms from their predecessor and by at most 20 % from the
reference (mean of the 5 before), its coupling interval is premature by at
least 20 % and its pause at least 120 % of the reference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dsp._hrv_kernels import hrt_kernel
from dsp._rr import CODE_V, RrSeries

__all__ = ["HrtResult", "heart_rate_turbulence"]

N_PRE = 5
N_POST = 15
SLOPE_WINDOW = 5


@dataclass(frozen=True)
class HrtResult:
    """Heart-rate turbulence of a record (TO and TS NaN when no VPC qualifies)."""

    turbulence_onset_pct: float
    turbulence_slope_ms_per_rr: float
    n_vpc: int
    n_vpc_used: int
    mean_tachogram_ms: np.ndarray  # (N_POST,) averaged sinus intervals after the pause


def _max_slope(tachogram: np.ndarray) -> float:
    x = np.arange(SLOPE_WINDOW, dtype=np.float64)
    xc = x - x.mean()
    slopes = [
        float(np.dot(xc, tachogram[k : k + SLOPE_WINDOW]) / np.dot(xc, xc))
        for k in range(tachogram.shape[0] - SLOPE_WINDOW + 1)
    ]
    return max(slopes)


def heart_rate_turbulence(rr: RrSeries) -> HrtResult:
    """TO and TS of the VPCs (beats labelled V) in `rr`.

    Parameters
    ----------
    rr : RrSeries
        From :func:`dsp.rr_series`.

    Returns
    -------
    HrtResult
    """
    onset, post, n_vpc = hrt_kernel(
        np.ascontiguousarray(rr.rr_ms, dtype=np.float64),
        np.ascontiguousarray(rr.nn_mask, dtype=np.bool_),
        np.ascontiguousarray(rr.beat_code, dtype=np.uint8),
        CODE_V,
        N_PRE,
        N_POST,
        300.0,
        2000.0,
        200.0,
        0.20,
        0.80,
        1.20,
    )
    n_used = int(onset.shape[0])
    if n_used == 0:
        return HrtResult(math.nan, math.nan, int(n_vpc), 0, np.full(N_POST, math.nan))
    tachogram = post.mean(axis=0)
    return HrtResult(
        turbulence_onset_pct=float(onset.mean()),
        turbulence_slope_ms_per_rr=_max_slope(tachogram),
        n_vpc=int(n_vpc),
        n_vpc_used=n_used,
        mean_tachogram_ms=tachogram,
    )
