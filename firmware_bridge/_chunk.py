"""The block of signal every reader and the live protocol hand to the pipeline."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Chunk"]


@dataclass(frozen=True, eq=False)
class Chunk:
    """A contiguous block of a multi-lead recording, in physical units.

    Parameters
    ----------
    source_id : str
        Which recording the block belongs to (for a file: the record name).
    fs_hz : float
        Sampling frequency in Hz.
    lead_names : tuple of str
        One name per column of `samples` (``"MLII"``, ``"V1"``, ...).
    units : tuple of str
        The physical unit of each column; ``"mV"`` for ECG leads.
    start_sample : int
        Index of the first row of `samples`, counted from the first sample of
        the recording (0).
    samples : numpy.ndarray
        Shape ``(n_samples, n_leads)``, float32 or float64, read-only. Invalid
        samples (lead off, out of the converter's range) are NaN.

    Examples
    --------
    >>> import numpy as np
    >>> c = Chunk("demo", 360.0, ("MLII",), ("mV",), 0, np.zeros((360, 1)))
    >>> c.n_samples, c.n_leads, c.end_sample
    (360, 1, 360)
    """

    source_id: str
    fs_hz: float
    lead_names: tuple[str, ...]
    units: tuple[str, ...]
    start_sample: int
    samples: np.ndarray
    patient_id: str = ""
    device_id: str = ""

    def __post_init__(self) -> None:
        samples = np.asarray(self.samples)
        if samples.ndim != 2:
            raise ValueError(f"`samples` must be 2-D (n_samples, n_leads), got shape {samples.shape}")
        if samples.dtype not in (np.float32, np.float64):
            raise ValueError(f"`samples` must be float32 or float64, got {samples.dtype}")
        if not (len(self.lead_names) == len(self.units) == samples.shape[1]):
            raise ValueError(
                f"{samples.shape[1]} columns in `samples` but {len(self.lead_names)} lead names "
                f"and {len(self.units)} units"
            )
        if not self.fs_hz > 0:
            raise ValueError(f"`fs_hz` must be positive, got {self.fs_hz!r}")
        if self.start_sample < 0:
            raise ValueError(f"`start_sample` must be >= 0, got {self.start_sample!r}")
        if samples.flags.writeable:
            samples = samples.view()
            samples.flags.writeable = False
        object.__setattr__(self, "samples", samples)
        object.__setattr__(self, "lead_names", tuple(self.lead_names))
        object.__setattr__(self, "units", tuple(self.units))
        object.__setattr__(self, "start_sample", int(self.start_sample))
        object.__setattr__(self, "fs_hz", float(self.fs_hz))

    @classmethod
    def of_record(cls, info, start_sample: int, samples: np.ndarray) -> Chunk:
        """The block ``samples`` of the recording ``info`` (a ``RecordInfo``),
        starting at ``start_sample``: names, rate, units and ids come from ``info``."""
        return cls(
            source_id=info.name,
            fs_hz=info.fs_hz,
            lead_names=info.lead_names,
            units=info.units,
            start_sample=start_sample,
            samples=samples,
            patient_id=info.patient_id,
            device_id=info.device_id,
        )

    @property
    def n_samples(self) -> int:
        """Number of rows (samples per lead)."""
        return int(self.samples.shape[0])

    @property
    def n_leads(self) -> int:
        """Number of columns (leads)."""
        return int(self.samples.shape[1])

    @property
    def end_sample(self) -> int:
        """Index one past the last row: ``start_sample + n_samples``."""
        return self.start_sample + self.n_samples
