"""Synthetic ECG with known beat times, for detector tests.

Each beat is a sum of Gaussian waves (P, Q, R, S, T) placed relative to a known
R time, so the truth is exact at every sampling rate. RR intervals vary
randomly around the mean, and optional white noise and baseline wander are
added. Amplitudes are in mV.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: (offset from R in s, width (SD) in s, amplitude in mV) of each wave
_WAVES_LEAD_I = ((-0.16, 0.025, 0.12), (-0.025, 0.008, -0.12), (0.0, 0.010, 1.1),
                 (0.025, 0.008, -0.25), (0.25, 0.045, 0.30))
_WAVES_LEAD_II = ((-0.16, 0.025, 0.08), (-0.02, 0.010, 0.25), (0.0, 0.012, -0.6),
                  (0.03, 0.012, 0.20), (0.26, 0.050, -0.15))


@dataclass(frozen=True)
class SynthEcg:
    signal_mv: np.ndarray  # (n_samples, n_leads)
    r_samples: np.ndarray  # int64, true R-peak sample indices
    fs_hz: float


def synth_ecg(fs_hz: float, duration_s: float, *, hr_bpm: float = 72.0, rr_jitter: float = 0.05,
              noise_mv: float = 0.01, wander_mv: float = 0.1, n_leads: int = 2,
              seed: int = 0, r_times_s: np.ndarray | None = None,
              p_absent_s: tuple[float, float] | None = None) -> SynthEcg:
    """A synthetic ECG of ``duration_s`` at ``fs_hz`` with known R peaks.

    The R times are drawn around ``hr_bpm`` unless ``r_times_s`` gives them.
    Beats whose R lies in ``[p_absent_s[0], p_absent_s[1])`` have no P wave (the
    first wave of each lead), as in atrial fibrillation.
    """
    rng = np.random.default_rng(seed)
    n = int(round(duration_s * fs_hz))
    t_s = np.arange(n) / fs_hz
    rr_mean_s = 60.0 / hr_bpm
    r_times = []
    t = 0.4
    while t < duration_s - 0.4:
        r_times.append(t)
        t += rr_mean_s * (1.0 + rr_jitter * rng.standard_normal())
    if r_times_s is None:
        r_times_s = np.array(r_times)
    sig = np.zeros((n, n_leads))
    for lead in range(n_leads):
        waves = _WAVES_LEAD_I if lead % 2 == 0 else _WAVES_LEAD_II
        for r in r_times_s:
            lo = np.searchsorted(t_s, r - 0.4)
            hi = np.searchsorted(t_s, r + 0.5)
            seg = t_s[lo:hi] - r
            no_p = p_absent_s is not None and p_absent_s[0] <= r < p_absent_s[1]
            for offset_s, width_s, amp_mv in waves[1:] if no_p else waves:
                sig[lo:hi, lead] += amp_mv * np.exp(-0.5 * ((seg - offset_s) / width_s) ** 2)
        sig[:, lead] += wander_mv * np.sin(2 * np.pi * 0.3 * t_s + lead)
        sig[:, lead] += noise_mv * rng.standard_normal(n)
    r_samples = np.round(r_times_s * fs_hz).astype(np.int64)
    return SynthEcg(signal_mv=sig, r_samples=r_samples, fs_hz=float(fs_hz))


def match_count(truth: np.ndarray, found: np.ndarray, tol: int) -> tuple[int, int, int]:
    """(true positives, false negatives, false positives), one-to-one within ``tol`` samples."""
    truth = np.sort(truth)
    found = np.sort(found)
    used = np.zeros(found.size, bool)
    tp = 0
    for r in truth:
        k = np.searchsorted(found, r)
        best, best_d = -1, tol + 1
        for j in (k - 1, k):
            if 0 <= j < found.size and not used[j] and abs(found[j] - r) < best_d:
                best, best_d = j, abs(found[j] - r)
        if best >= 0 and best_d <= tol:
            used[best] = True
            tp += 1
    return tp, truth.size - tp, found.size - tp


def paced_ecg(fs_hz: float, duration_s: float, spiked, seed: int = 0, r_s=None):
    """A wide-QRS (paced-like) ECG with a 1-mV, ~1.5-ms spike 80 ms before the R of
    the beats ``spiked(i)`` says; returns (signal (n, 2) mV, R samples, spiked mask).
    Beats every 0.85 s (jittered) unless ``r_s`` gives their times."""
    rng = np.random.default_rng(seed)
    n = round(duration_s * fs_hz)
    t_s = np.arange(n) / fs_hz
    if r_s is None:
        r_s = np.arange(0.6, duration_s - 0.6, 0.85)
        r_s = r_s + rng.uniform(-0.02, 0.02, r_s.size)
    r = np.round(r_s * fs_hz).astype(np.int64)
    mask = np.array([bool(spiked(i)) for i in range(r.size)])
    sig = np.zeros((n, 2))
    for rk, on in zip(r, mask, strict=True):
        rt = rk / fs_hz
        qrs = 1.5 * np.exp(-0.5 * ((t_s - rt) / 0.035) ** 2)
        tw = -0.4 * np.exp(-0.5 * ((t_s - rt - 0.3) / 0.06) ** 2)
        sig[:, 0] += qrs + tw
        sig[:, 1] += -0.8 * qrs - tw
        if on:  # the stimulus, centred on a sample so it survives any rate
            spike = np.exp(-0.5 * ((t_s - (rk - round(0.08 * fs_hz)) / fs_hz) / 0.0015) ** 2)
            sig[:, 0] += spike
            sig[:, 1] -= 0.6 * spike
    sig += rng.normal(0, 0.01, sig.shape) + 0.1 * np.sin(2 * np.pi * 0.3 * t_s)[:, None]
    return sig, r, mask
