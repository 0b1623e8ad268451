"""What every reader says about a record before reading its samples."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from firmware_bridge._exceptions import RecordFormatError

__all__ = ["MAX_FS_HZ", "MIN_FS_HZ", "Annotation", "RecordInfo", "check_record_fs"]

#: Physical units converted to millivolts on reading (lower-case key -> factor).
TO_MV = {"mv": 1.0, "uv": 1e-3, "µv": 1e-3, "μv": 1e-3, "v": 1e3, "nv": 1e-6}


def mv_factor(unit: str | None) -> float | None:
    """Factor that converts `unit` to mV, or None when it is not a voltage."""
    return TO_MV.get(str(unit or "mV").strip().lower())



#: sampling rates the readers accept (the detector's range), Hz
MIN_FS_HZ = 100.0
MAX_FS_HZ = 1000.0


def check_record_fs(fs_hz: float, where) -> float:
    """``fs_hz`` if it is a supported rate, else :class:`RecordFormatError` naming ``where``."""
    if not MIN_FS_HZ <= fs_hz <= MAX_FS_HZ:
        raise RecordFormatError(
            f"{where}: sampling frequency {fs_hz:g} Hz is outside the supported "
            f"{MIN_FS_HZ:g}-{MAX_FS_HZ:g} Hz"
        )
    return fs_hz

@dataclass(frozen=True)
class Annotation:
    """One time-stamped note kept from a file (an EDF+ annotation, for example).

    Attributes
    ----------
    onset_s : float
        Seconds from the start of the record.
    duration_s : float
        Length in seconds; 0 for an instant, NaN when the file gives none.
    text : str
        The annotation's text.
    """

    onset_s: float
    duration_s: float
    text: str


@dataclass(frozen=True, eq=False)
class RecordInfo:
    """What a record's header says, in the same terms for every format.

    Attributes
    ----------
    name : str
        Record name (the file name without its extension).
    path : pathlib.Path
        For WFDB the record path without extension, as WFDB tools take it;
        for EDF/EDF+ and ISHNE the file itself.
    fs_hz : float
        Sampling frequency in Hz.
    n_samples : int
        Samples per lead that can be read.
    lead_names : tuple of str
        Lead (signal) names (``"MLII"``, ``"V1"``, ...).
    units : tuple of str
        Unit of each lead after reading (voltage leads are converted to ``"mV"``).
    format : str
        ``"wfdb"``, ``"edf"``, ``"edf+"``, ``"bdf"``, ``"bdf+"``, ``"ishne"`` or
        ``"ecgdatakit:<format name>"``.
    adc_gain : tuple of float
        ADC steps per unit of ``units`` for each lead (200.0 means one step is
        5 uV when the unit is mV); empty when the format has no ADC.
    start_time : datetime.datetime or None
        When the recording started (local time of the device), if the file says.
    patient_id, device_id : str
        Identifiers the file gives ("" if none).
    annotations : tuple of Annotation
        Annotations stored in the file (EDF+ TALs; none for WFDB signal files).
    samples_lost : int
        Samples per lead declared by the header but missing from a truncated
        file read with ``allow_truncated=True`` (0 otherwise).
    metadata : Mapping
        Format-specific header fields (read-only), such as the ISHNE header.
    """

    name: str
    path: Path
    fs_hz: float
    n_samples: int
    lead_names: tuple[str, ...]
    units: tuple[str, ...]
    format: str = "wfdb"
    adc_gain: tuple[float, ...] = ()
    start_time: dt.datetime | None = None
    patient_id: str = ""
    device_id: str = ""
    annotations: tuple[Annotation, ...] = ()
    samples_lost: int = 0
    metadata: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "metadata", MappingProxyType(dict(self.metadata)))

    @property
    def n_leads(self) -> int:
        """Number of signals in the record."""
        return len(self.lead_names)

    @property
    def duration_s(self) -> float:
        """Length of the record in seconds."""
        return self.n_samples / self.fs_hz
