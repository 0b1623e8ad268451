"""Signal processing core: Numba kernels on arrays, no I/O, no threads.

Public API (DESIGN.md): ``detect_qrs(signal, fs_hz)`` returns the R-peak
sample indices of a (n_samples,) or (n_samples, n_leads) ECG in mV as sorted
int64. :class:`QrsDetector` is the streaming form it is built on.
"""

from dsp._exceptions import DspError, InvalidParameterError, InvalidSignalError
from dsp._qrs import QrsConfig, QrsDetector, QrsResult, QrsUpdate, analyze_qrs, detect_qrs

__all__ = [
    "DspError",
    "InvalidParameterError",
    "InvalidSignalError",
    "QrsConfig",
    "QrsDetector",
    "QrsResult",
    "QrsUpdate",
    "analyze_qrs",
    "detect_qrs",
]
