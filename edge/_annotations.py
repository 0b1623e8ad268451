"""Write detected beats as a WFDB annotation file (the ``holter detect`` contract).

Labels follow the MIT-BIH Arrhythmia Database:

- a beat annotation at each R peak: N, A (supraventricular ectopic), V, F or
  Q (unclassifiable), from the beat classifier (all ``'N'`` when no labels are
  given);
- rhythm changes as ``'+'`` annotations whose ``aux_note`` is the new rhythm
  (``'(N'``, ``'(AFIB'``, ``'(VT'``, ``'(B'``, ...; see :mod:`dsp._rhythm`),
  one sample before the beat where it starts (WFDB keeps one annotation per
  sample);
- signal quality as ``'~'`` (NOISE) annotations whose ``subtype`` says which
  signals are affected: bits 0-3 set for signals 0-3 that are noisy, bits 4-7
  for signals that are unreadable, ``-1`` for "all signals unreadable", and
  ``0`` for "clean again". An unusable stretch (no lead usable) opens with a
  ``'~'`` of subtype -1 at its first sample and closes with a ``'~'`` of
  subtype 0 at the first usable sample after it (none when the record ends
  unusable), as in the ``atr`` files of mitdb.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import wfdb

from edge._stream import RecordBeats

__all__ = ["BEAT_SYMBOLS", "NOISE_SUBTYPE_CLEAN", "NOISE_SUBTYPE_UNREADABLE", "write_hol"]

#: MIT-BIH beat annotation symbols (PhysioBank's list of beat annotations).
BEAT_SYMBOLS = frozenset("NLRBAaJSVrFejnE/fQ?")
#: ``subtype`` of a '~' annotation: all signals unreadable / signal clean again.
NOISE_SUBTYPE_UNREADABLE = -1
NOISE_SUBTYPE_CLEAN = 0
#: Annotator extension of the files ``holter detect`` writes.
EXTENSION = "hol"
#: An annotation file holding no annotation: just the end-of-file marker
#: (wfdb.wrann refuses to write one).
_EMPTY_ANNOTATION_FILE = b"\x00\x00"


def _free_sample(sample: int, taken: set[int], n_samples: int) -> int:
    """The sample nearest `sample` (ties: later) inside the record and not in `taken`.

    WFDB allows one annotation per sample and signal; a '~' that would land on
    a beat is moved by a sample or two instead.
    """
    for step in range(n_samples + 1):
        for candidate in (sample + step, sample - step):
            if 0 <= candidate < n_samples and candidate not in taken:
                return candidate
    raise ValueError(f"no free sample for an annotation near {sample}")  # pragma: no cover


def annotation_table(
    beats: RecordBeats,
    symbols: list[str] | None = None,
    rhythm: list[tuple[int, str]] | None = None,
) -> tuple[np.ndarray, list[str], np.ndarray, list[str]]:
    """Samples, symbols, subtypes and aux notes of every annotation, in sample order.

    `symbols` gives one beat label per R peak (default 'N'); `rhythm` the
    (sample, aux note) rhythm changes.
    """
    n_samples = beats.record.n_samples
    taken = {int(s) for s in beats.r_peaks}
    labels = ["N"] * beats.n_beats if symbols is None else list(symbols)
    if len(labels) != beats.n_beats:
        raise ValueError(f"symbols: {len(labels)} labels for {beats.n_beats} beats")
    rows = [(int(s), sym, 0, "") for s, sym in zip(beats.r_peaks.tolist(), labels, strict=True)]
    for sample, aux in rhythm or ():
        at = _free_sample(max(int(sample) - 1, 0), taken, n_samples)
        taken.add(at)
        rows.append((at, "+", 0, aux))
    for start, end in beats.unusable.tolist():
        at = _free_sample(start, taken, n_samples)
        taken.add(at)
        rows.append((at, "~", NOISE_SUBTYPE_UNREADABLE, ""))
        if end < n_samples:
            at = _free_sample(end, taken, n_samples)
            taken.add(at)
            rows.append((at, "~", NOISE_SUBTYPE_CLEAN, ""))
    rows.sort(key=lambda row: row[0])
    samples = np.array([r[0] for r in rows], dtype=np.int64)
    symbols = [r[1] for r in rows]
    subtypes = np.array([r[2] for r in rows], dtype=np.int64)
    aux = [r[3] for r in rows]
    return samples, symbols, subtypes, aux


def write_hol(
    beats: RecordBeats,
    out_dir: str | os.PathLike[str],
    symbols: list[str] | None = None,
    rhythm: list[tuple[int, str]] | None = None,
) -> Path:
    """Write ``out_dir/<record name>.hol`` for `beats`; returns its path.

    The file is written under a temporary name and renamed into place, so a
    reader never sees a half-written file and an interrupted run leaves the
    previous one intact. Read it back with ``wfdb.rdann(str(out_dir / name), "hol")``.
    """
    out = Path(out_dir)
    name = beats.record.name
    target = out / f"{name}.{EXTENSION}"
    samples, symbols, subtypes, aux = annotation_table(beats, symbols, rhythm)
    with tempfile.TemporaryDirectory(dir=out, prefix=f".{name}.") as tmp:
        written = Path(tmp) / target.name
        if samples.size == 0:
            written.write_bytes(_EMPTY_ANNOTATION_FILE)
        else:
            wfdb.wrann(
                name,
                EXTENSION,
                samples,
                symbol=symbols,
                subtype=subtypes,
                aux_note=aux,
                chan=np.zeros_like(samples),
                num=np.zeros_like(samples),
                fs=beats.record.fs_hz,
                write_dir=tmp,
            )
        os.replace(written, target)
    return target
