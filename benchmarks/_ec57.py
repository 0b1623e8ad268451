"""EC57-style beat-by-beat scoring, as PhysioNet's ``bxb`` does it.

The rules are those of WFDB ``bxb`` (G. Moody, ``app/bxb.c``, last revised
27 April 2020; the matching loop includes the 24 November 2002 revision), which
implements the beat-by-beat comparison of ANSI/AAMI EC38:1998 and EC57:1998,
and of WFDB ``sumstats`` (``app/sumstats.c``) for the statistics over records:

* Beats are the annotations WFDB's ``isqrs`` accepts (:data:`BEAT_SYMBOLS`);
  everything else is a non-beat annotation.
* Reference beats between a VFON ``[`` and the next VFOFF ``]`` are not read
  at all, and a test beat that matches no reference beat and falls inside such
  a stretch (ends included) is not counted either. bxb knows VF only from
  ``[`` / ``]``; in MIT-BIH every ``(VFL`` rhythm episode lies inside one
  (record 207), so rhythm labels add nothing.
* Shutdown (both signals unreadable) starts at a ``~`` annotation whose
  ``subtyp`` has bits 4 and 5 set (``-1`` in the MIT-BIH files) and ends at the
  next ``~`` that does not, or, when the next annotation is something else,
  ``window`` after the previous beat (or VF end) to ``window`` before that
  annotation (the AHA convention). Unmatched test beats in reference shutdown
  are paired with the pseudo-beat ``X`` (they count as false positives);
  unmatched reference beats in test shutdown are paired with ``x`` (false
  negatives, also reported as "beats missed in shutdown").
* Matching is one-to-one within ``window_s`` (0.15 s; ``|dt| <= window``)
  and nearest first, walking both annotation lists in time order (the four
  cases of bxb's main loop). Scoring starts at ``start_s`` (5 min): the first
  reference beat scored is the first at or after it; it may still match the
  last test beat before it, and the first test beat after it is dropped
  unscored when it lies within one window of the start and the next test beat
  matches the first reference beat better.
* Beat labels map to the AAMI classes N, S (SVEB), V (VEB), F (fusion) and
  Q (unclassifiable) through a class map from :data:`CLASS_MAPS`.
* The 7x7 confusion matrix has rows N S V F Q O X (reference; O = no
  reference beat, X = reference shutdown) and columns n s v f q o x (test).
  QRS TP are all N..Q x n..q cells, FN the o and x columns, FP the O and X
  rows. VEB: TP = Vv, FN = Vn+Vs+Vf+Vq+Vo+Vx, FP = Nv+Sv+Ov+Xv (F and Q beats
  called V are not false positives), TN = every n, s, f, q cell of the rows N,
  S, F, Q, O, X; FPR = FP / (TN + FP). SVEB: TP = Ss, FN = Sn+Sv+Sf+Sq+So+Sx,
  FP = Ns+Vs+Fs+Os+Xs (Q beats called S are not false positives).
* Gross statistics apply the same formulas to the matrix summed over records;
  average statistics are the mean of the per-record values over the records
  whose denominator is not zero (``sumstats``).

Where this module departs from bxb, on purpose:

* bxb's "no annotation yet" sentinel is time 0, which can pair with or drop a
  real beat when ``start_s`` is shorter than the window; here it never matches.
* bxb remembers only the two most recent VF and shutdown stretches when it
  labels an unmatched beat; here every stretch counts (they differ only when
  three stretches lie between two consecutive beats).
* where several annotations share one sample, bxb's pairing can depend on the
  order it reads them in (e.g. two beats and a shutdown mark at the same
  sample); here the stretches are known before any beat is judged. Real
  annotation files do not put two beats at one sample.
* ``sumstats`` computes the gross SVEB +P from bxb's line format, where the
  F and Q rows are merged, so its gross denominator leaves out Fs; here gross
  SVEB +P uses bxb's own per-record formula (with Fs) on the summed matrix.
* bxb maps escape beats (e, j, n) to S; the EC57 class table as cited in the
  literature puts them in N. Both maps are in :data:`CLASS_MAPS`; QRS
  statistics do not depend on the choice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numba
import numpy as np

#: Annotation symbols WFDB's ``isqrs`` counts as beats.
BEAT_SYMBOLS = frozenset("NLRBAaJSVrFejnE/fQ?")

#: AAMI beat classes, in the order of the confusion-matrix rows and columns.
AAMI_CLASSES = ("N", "S", "V", "F", "Q")
#: Rows of the confusion matrix: the AAMI classes, then O (no reference beat)
#: and X (reference shutdown).
ROW_LABELS = (*AAMI_CLASSES, "O", "X")
#: Columns of the confusion matrix: the AAMI classes, then o (no test beat)
#: and x (test shutdown).
COL_LABELS = tuple(c.lower() for c in ROW_LABELS)
_O, _X = 5, 6

_COMMON_MAP = {
    "N": "N", "L": "N", "R": "N", "B": "N",
    "A": "S", "a": "S", "J": "S", "S": "S",
    "V": "V", "r": "V", "E": "V",
    "F": "F",
    "Q": "Q", "/": "Q", "f": "Q", "?": "Q",
}  # fmt: skip

#: Registry of MIT-BIH symbol -> AAMI class maps.
#: ``"ec57"``: the EC57 class table as cited in the literature (escape beats
#: e, j, n are N). ``"bxb"``: WFDB bxb's ``amap`` with SVEB statistics on
#: (escape beats are S). Both send paced (/), paced fusion (f) and learning (?)
#: beats to Q.
CLASS_MAPS: dict[str, dict[str, str]] = {
    "ec57": {**_COMMON_MAP, "e": "N", "j": "N", "n": "N"},
    "bxb": {**_COMMON_MAP, "e": "S", "j": "S", "n": "S"},
}
DEFAULT_CLASS_MAP = "ec57"

#: MIT-BIH records with paced beats, which EC57 leaves out of its VEB/SVEB
#: reporting requirements (QRS statistics are reported for all 48 records).
PACED_MITDB_RECORDS = ("102", "104", "107", "217")

_NEVER = -(1 << 60)  # "no annotation yet": never within a window of anything
_HUGE = 1 << 60  # end of an annotation list (bxb's huge_time)
_SHUTDOWN_BITS = 0x30  # NOISE subtyp bits 4 and 5: signals 0 and 1 unreadable


def window_samples(window_s: float, fs_hz: float) -> int:
    """A duration in seconds as a whole number of samples, rounded like WFDB ``strtim``."""
    return int(np.floor(window_s * fs_hz + 0.5))


@dataclass(frozen=True, eq=False)
class BeatAnnotations:
    """One annotation file reduced to what beat-by-beat scoring reads.

    Attributes
    ----------
    samples : ndarray of int64, shape (n,)
        Beat times in samples, sorted, beats inside VF stretches left out.
    classes : ndarray of int8, shape (n,)
        AAMI class of each beat as an index into :data:`AAMI_CLASSES`.
    vf_samples : ndarray of int64, shape (k, 2)
        VF stretches ``[start, end]`` in samples, ends included (``end`` is
        huge when the file ends inside VF).
    shutdown_samples : ndarray of int64, shape (m, 2)
        Shutdown stretches ``[start, end]`` in samples, ends included.
    fs_hz : float
        Sampling frequency the sample numbers refer to.
    record : str
        Record name, for reports.
    """

    samples: np.ndarray
    classes: np.ndarray
    vf_samples: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.int64))
    shutdown_samples: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.int64))
    fs_hz: float = 360.0
    record: str = ""

    @property
    def n_beats(self) -> int:
        """Number of beats (outside VF)."""
        return int(self.samples.size)


def beats_from_samples(
    samples: Sequence[int] | np.ndarray,
    fs_hz: float,
    labels: Sequence[str] | None = None,
    *,
    class_map: str = DEFAULT_CLASS_MAP,
    record: str = "",
) -> BeatAnnotations:
    """Test annotations from a detector: beat times and, optionally, labels.

    Parameters
    ----------
    samples : array_like of int
        Beat times in samples (sorted into time order here).
    fs_hz : float
        Sampling frequency in Hz.
    labels : sequence of str, optional
        One MIT-BIH beat symbol (or AAMI class letter) per beat; every beat is
        'N' when omitted, which is all a QRS detector says.
    class_map : str
        Key of :data:`CLASS_MAPS`.
    record : str
        Record name, for reports.

    Examples
    --------
    >>> beats = beats_from_samples([360, 720, 1080], fs_hz=360.0)
    >>> beats.n_beats
    3
    """
    samples = np.asarray(samples, dtype=np.int64).reshape(-1)
    if labels is None:
        symbols = ["N"] * samples.size
    else:
        symbols = list(labels)
        if len(symbols) != samples.size:
            raise ValueError(
                f"labels must have one entry per beat: got {len(symbols)} labels "
                f"for {samples.size} samples"
            )
    return annotations_from_arrays(
        samples, symbols, None, fs_hz=fs_hz, class_map=class_map, record=record
    )


def annotations_from_arrays(
    samples: Sequence[int] | np.ndarray,
    symbols: Sequence[str],
    subtypes: Sequence[int] | np.ndarray | None,
    *,
    fs_hz: float,
    window_s: float = 0.15,
    class_map: str = DEFAULT_CLASS_MAP,
    record: str = "",
) -> BeatAnnotations:
    """Read an annotation list as bxb's ``getref`` / ``gettest`` read a file.

    Parameters
    ----------
    samples : array_like of int
        Annotation times in samples, in file (time) order.
    symbols : sequence of str
        MIT-BIH annotation symbols, one per annotation.
    subtypes : array_like of int, optional
        The ``subtyp`` field (used only on ``~`` to find shutdown); zeros when
        omitted.
    fs_hz : float
        Sampling frequency in Hz.
    window_s : float
        Match window in seconds; AHA-style shutdown stretches are shrunk by it.
    class_map : str
        Key of :data:`CLASS_MAPS`.
    record : str
        Record name, for reports.

    Returns
    -------
    BeatAnnotations
    """
    if class_map not in CLASS_MAPS:
        raise ValueError(f"class_map must be one of {sorted(CLASS_MAPS)}, got {class_map!r}")
    if not fs_hz > 0:
        raise ValueError(f"fs_hz must be positive, got {fs_hz!r}")
    mapping = CLASS_MAPS[class_map]
    class_index = {c: i for i, c in enumerate(AAMI_CLASSES)}
    samples = np.asarray(samples, dtype=np.int64).reshape(-1)
    symbols = list(symbols)
    n = samples.size
    if len(symbols) != n:
        raise ValueError(f"symbols must have one entry per sample: got {len(symbols)} for {n}")
    subtypes = np.zeros(n, np.int64) if subtypes is None else np.asarray(subtypes, np.int64)
    if subtypes.size != n:
        raise ValueError(f"subtypes must have one entry per sample: got {subtypes.size} for {n}")
    if n > 1 and np.any(np.diff(samples) < 0):
        raise ValueError("samples must be in time order")
    w = window_samples(window_s, fs_hz)

    beat_t: list[int] = []
    beat_c: list[int] = []
    vf: list[tuple[int, int]] = []
    shutdown: list[tuple[int, int]] = []
    last_beat = 0  # bxb's T while it reads past non-beat annotations (0 before any)
    vf_off = -1
    i = 0
    while i < n:
        sym, t = symbols[i], int(samples[i])
        if sym in BEAT_SYMBOLS:
            beat_t.append(t)
            beat_c.append(class_index[mapping[sym]])
            last_beat = t
            i += 1
        elif sym == "~" and (int(subtypes[i]) & _SHUTDOWN_BITS) == _SHUTDOWN_BITS:
            if i + 1 >= n:  # the file ends in shutdown
                shutdown.append((t, _HUGE))
                break
            nxt = i + 1
            if symbols[nxt] == "~" and (int(subtypes[nxt]) & _SHUTDOWN_BITS) != _SHUTDOWN_BITS:
                shutdown.append((t, int(samples[nxt])))
                i = nxt + 1
            else:  # a lone shutdown mark (AHA DB): shrink to the gap around it
                on = (vf_off if vf_off > last_beat else last_beat) + w
                off = int(samples[nxt]) - w
                shutdown.append((min(on, off), off))
                i = nxt  # the next annotation is read again (ungetann)
        elif sym == "[":
            ends = [j for j in range(i + 1, n) if symbols[j] == "]"]
            if not ends:  # the file ends in VF: nothing after is read
                vf.append((t, _HUGE))
                break
            vf_off = int(samples[ends[0]])
            vf.append((t, vf_off))
            i = ends[0] + 1
        else:
            i += 1
    return BeatAnnotations(
        samples=np.asarray(beat_t, np.int64),
        classes=np.asarray(beat_c, np.int8),
        vf_samples=np.asarray(vf, np.int64).reshape(-1, 2),
        shutdown_samples=np.asarray(shutdown, np.int64).reshape(-1, 2),
        fs_hz=float(fs_hz),
        record=record,
    )


def load_reference(
    record_path: str | Path,
    extension: str = "atr",
    *,
    window_s: float = 0.15,
    class_map: str = DEFAULT_CLASS_MAP,
) -> BeatAnnotations:
    """Read a WFDB reference annotation file with ``wfdb.rdann``.

    Parameters
    ----------
    record_path : str or Path
        WFDB record path without extension.
    extension : str
        Annotator (file extension), ``"atr"`` for the PhysioNet references.
    window_s : float
        Match window in seconds (see :func:`annotations_from_arrays`).
    class_map : str
        Key of :data:`CLASS_MAPS`.

    Returns
    -------
    BeatAnnotations
    """
    import wfdb  # deferred: wfdb is slow to import and only needed here

    record_path = Path(record_path)
    ann = wfdb.rdann(str(record_path), extension)
    return annotations_from_arrays(
        ann.sample,
        ann.symbol,
        ann.subtype,
        fs_hz=float(ann.fs),
        window_s=window_s,
        class_map=class_map,
        record=record_path.name,
    )


@dataclass(frozen=True, eq=False)
class BeatMatch:
    """Which beats bxb pairs, as indices; -1 = scored but unpaired, -2 = not scored.

    Attributes
    ----------
    ref_to_test : ndarray of int64
        For each reference beat, the index of its test beat, -1 or -2.
    test_to_ref : ndarray of int64
        For each test beat, the index of its reference beat, -1 or -2.
    """

    ref_to_test: np.ndarray
    test_to_ref: np.ndarray


@numba.njit(cache=True, nogil=True)
def _bxb_match_kernel(
    ref, test, match_dt, start, end, ref_to_test, test_to_ref
):  # pragma: no cover
    """bxb's main loop on sorted int64 arrays; fills the two index arrays."""
    n_ref = ref.size
    n_test = test.size
    huge = 1 << 60
    never = -(1 << 60)
    # r, i: index of T and t (-1 before the first); T, t their times.
    r = -1
    T = never
    Tp = ref[0] if n_ref > 0 else huge
    i = -1
    t = never
    tp = test[0] if n_test > 0 else huge
    # getref() until T >= start
    while T < start:
        r += 1
        T = Tp
        Tp = ref[r + 1] if r + 1 < n_ref else huge
    # gettest() until tprime >= start: t is the last test beat before start
    while tp < start:
        i += 1
        t = tp
        tp = test[i + 1] if i + 1 < n_test else huge
    if T - t < abs(T - tp) and T - t <= match_dt:
        ref_to_test[r] = i
        test_to_ref[i] = r
        r += 1
        T = Tp
        Tp = ref[r + 1] if r + 1 < n_ref else huge
        i += 1
        t = tp
        tp = test[i + 1] if i + 1 < n_test else huge
    else:
        i += 1
        t = tp
        tp = test[i + 1] if i + 1 < n_test else huge
        if t - start <= match_dt and abs(T - tp) < abs(T - t):
            i += 1  # the first test beat is left unscored
            t = tp
            tp = test[i + 1] if i + 1 < n_test else huge
    while T <= end or t <= end:
        if t < T:
            if T - t <= match_dt and (T - t < abs(T - tp) or abs(Tp - tp) < abs(T - tp)):
                ref_to_test[r] = i
                test_to_ref[i] = r
                r += 1
                T = Tp
                Tp = ref[r + 1] if r + 1 < n_ref else huge
            else:
                test_to_ref[i] = -1
            i += 1
            t = tp
            tp = test[i + 1] if i + 1 < n_test else huge
        else:
            if t - T <= match_dt and (t - T < abs(t - Tp) or abs(tp - Tp) < abs(t - Tp)):
                ref_to_test[r] = i
                test_to_ref[i] = r
                i += 1
                t = tp
                tp = test[i + 1] if i + 1 < n_test else huge
            else:
                ref_to_test[r] = -1
            r += 1
            T = Tp
            Tp = ref[r + 1] if r + 1 < n_ref else huge


def match_beats(
    ref_samples: np.ndarray,
    test_samples: np.ndarray,
    *,
    window_samples: int,
    start_sample: int,
    end_sample: int | None = None,
) -> BeatMatch:
    """Pair reference and test beats one to one, as bxb does.

    Parameters
    ----------
    ref_samples, test_samples : array_like of int
        Beat times in samples, sorted.
    window_samples : int
        Match window: beats pair when ``|t - T| <= window_samples``.
    start_sample : int
        Start of the scored period in samples.
    end_sample : int, optional
        End of the scored period in samples (default: past the last beat).

    Returns
    -------
    BeatMatch

    Examples
    --------
    >>> m = match_beats([100, 400], [110, 250, 395], window_samples=54, start_sample=0)
    >>> m.ref_to_test.tolist(), m.test_to_ref.tolist()
    ([0, 2], [0, -1, 1])
    """
    ref = np.ascontiguousarray(ref_samples, dtype=np.int64).reshape(-1)
    test = np.ascontiguousarray(test_samples, dtype=np.int64).reshape(-1)
    for name, arr in (("ref_samples", ref), ("test_samples", test)):
        if arr.size > 1 and np.any(np.diff(arr) < 0):
            raise ValueError(f"{name} must be sorted")
        if arr.size and (arr[0] <= _NEVER // 2 or arr[-1] >= _HUGE // 2):
            raise ValueError(f"{name} out of range: {arr[0]} .. {arr[-1]}")
    if window_samples < 0:
        raise ValueError(f"window_samples must be >= 0, got {window_samples}")
    end = _HUGE - 1 if end_sample is None else int(end_sample)
    ref_to_test = np.full(ref.size, -2, np.int64)
    test_to_ref = np.full(test.size, -2, np.int64)
    _bxb_match_kernel(
        ref, test, int(window_samples), int(start_sample), end, ref_to_test, test_to_ref
    )
    return BeatMatch(ref_to_test=ref_to_test, test_to_ref=test_to_ref)


def _inside(times: np.ndarray, stretches: np.ndarray) -> np.ndarray:
    """True where a time lies in any ``[start, end]`` stretch (ends included)."""
    out = np.zeros(times.size, bool)
    for start, end in stretches:
        out |= (times >= start) & (times <= end)
    return out


def confusion_matrix(ref: BeatAnnotations, test: BeatAnnotations, match: BeatMatch) -> np.ndarray:
    """The 7x7 bxb table (rows :data:`ROW_LABELS`, columns :data:`COL_LABELS`)."""
    m = np.zeros((7, 7), np.int64)
    paired = match.ref_to_test >= 0
    np.add.at(m, (ref.classes[paired], test.classes[match.ref_to_test[paired]]), 1)
    missed = np.flatnonzero(match.ref_to_test == -1)
    col = np.where(_inside(ref.samples[missed], test.shutdown_samples), _X, _O)
    np.add.at(m, (ref.classes[missed], col), 1)
    extra = np.flatnonzero(match.test_to_ref == -1)
    t = test.samples[extra]
    in_vf = _inside(t, ref.vf_samples)
    row = np.where(_inside(t, ref.shutdown_samples), _X, _O)
    np.add.at(m, (row[~in_vf], test.classes[extra][~in_vf]), 1)
    return m


def _pct(num: int, den: int) -> float:
    return 100.0 * num / den if den > 0 else float("nan")


@dataclass(frozen=True)
class Ec57Stats:
    """Counts and percentages derived from one bxb confusion matrix (bxb ``print_results``)."""

    qrs_tp: int
    qrs_fn: int
    qrs_fp: int
    veb_tp: int
    veb_fn: int
    veb_fp: int
    veb_tn: int
    sveb_tp: int
    sveb_fn: int
    sveb_fp: int
    missed_in_shutdown: int

    @classmethod
    def from_confusion(cls, m: np.ndarray) -> Ec57Stats:
        """Apply bxb's formulas to a 7x7 confusion matrix."""
        m = np.asarray(m, np.int64)
        N, S, V, F, Q, O, X = range(7)  # noqa: E741 (bxb's row and column names)
        beats, o_x = slice(N, Q + 1), [O, X]
        not_v = [N, S, F, Q]
        return cls(
            qrs_tp=int(m[beats, beats].sum()),
            qrs_fn=int(m[beats][:, o_x].sum()),
            qrs_fp=int(m[o_x][:, beats].sum()),
            veb_tp=int(m[V, V]),
            veb_fn=int(m[V, [N, S, F, Q, O, X]].sum()),
            veb_fp=int(m[[N, S, O, X], V].sum()),
            veb_tn=int(m[[N, S, F, Q, O, X]][:, not_v].sum()),
            sveb_tp=int(m[S, S]),
            sveb_fn=int(m[S, [N, V, F, Q, O, X]].sum()),
            sveb_fp=int(m[[N, V, F, O, X], S].sum()),
            missed_in_shutdown=int(m[beats, X].sum()),
        )

    @property
    def qrs_se_pct(self) -> float:
        """QRS sensitivity, percent (NaN without reference beats)."""
        return _pct(self.qrs_tp, self.qrs_tp + self.qrs_fn)

    @property
    def qrs_ppv_pct(self) -> float:
        """QRS positive predictivity, percent (NaN without test beats)."""
        return _pct(self.qrs_tp, self.qrs_tp + self.qrs_fp)

    @property
    def veb_se_pct(self) -> float:
        """VEB sensitivity, percent."""
        return _pct(self.veb_tp, self.veb_tp + self.veb_fn)

    @property
    def veb_ppv_pct(self) -> float:
        """VEB positive predictivity, percent."""
        return _pct(self.veb_tp, self.veb_tp + self.veb_fp)

    @property
    def veb_fpr_pct(self) -> float:
        """VEB false positive rate, percent."""
        return _pct(self.veb_fp, self.veb_tn + self.veb_fp)

    @property
    def sveb_se_pct(self) -> float:
        """SVEB sensitivity, percent."""
        return _pct(self.sveb_tp, self.sveb_tp + self.sveb_fn)

    @property
    def sveb_ppv_pct(self) -> float:
        """SVEB positive predictivity, percent."""
        return _pct(self.sveb_tp, self.sveb_tp + self.sveb_fp)

    def as_dict(self) -> dict[str, float | int]:
        """Counts and percentages as a flat dict (NaN percentages become None)."""
        out: dict[str, float | int] = dict(self.__dict__)
        for name in STAT_NAMES:
            value = getattr(self, name)
            out[name] = None if np.isnan(value) else round(value, 4)
        return out


#: The percentage statistics, in report order.
STAT_NAMES = (
    "qrs_se_pct",
    "qrs_ppv_pct",
    "veb_se_pct",
    "veb_ppv_pct",
    "veb_fpr_pct",
    "sveb_se_pct",
    "sveb_ppv_pct",
)


@dataclass(frozen=True, eq=False)
class RecordScore:
    """bxb's result for one record.

    Attributes
    ----------
    record : str
        Record name.
    confusion : ndarray of int64, shape (7, 7)
        Rows :data:`ROW_LABELS` (reference), columns :data:`COL_LABELS` (test).
    stats : Ec57Stats
        Counts and percentages.
    n_ignored_in_vf : int
        Unmatched test beats not counted because they fall in reference VF.
    """

    record: str
    confusion: np.ndarray
    stats: Ec57Stats
    n_ignored_in_vf: int = 0


def score_record(
    ref: BeatAnnotations,
    test: BeatAnnotations,
    *,
    window_s: float = 0.15,
    start_s: float = 300.0,
    end_s: float | None = None,
) -> RecordScore:
    """Compare test beats with reference beats as bxb does.

    Parameters
    ----------
    ref : BeatAnnotations
        Reference annotations (:func:`load_reference`).
    test : BeatAnnotations
        Test annotations (:func:`beats_from_samples` for a detector).
    window_s : float
        Match window in seconds (EC57: 0.15 s).
    start_s : float
        Start of the scored period in seconds (EC57: 5 minutes).
    end_s : float, optional
        End of the scored period in seconds (default: the end of the record).

    Returns
    -------
    RecordScore

    Examples
    --------
    >>> ref = beats_from_samples([360 * k for k in range(1, 400)], fs_hz=360.0)
    >>> test = beats_from_samples([360 * k + 20 for k in range(1, 399)], fs_hz=360.0)
    >>> s = score_record(ref, test)
    >>> s.stats.qrs_tp, s.stats.qrs_fn, s.stats.qrs_fp
    (99, 1, 0)
    """
    if ref.fs_hz != test.fs_hz:
        raise ValueError(f"ref and test fs_hz differ: {ref.fs_hz} vs {test.fs_hz}")
    if window_s < 0:
        raise ValueError(f"window_s must be >= 0, got {window_s}")
    if start_s < 0:
        raise ValueError(f"start_s must be >= 0, got {start_s}")
    fs_hz = ref.fs_hz
    match = match_beats(
        ref.samples,
        test.samples,
        window_samples=window_samples(window_s, fs_hz),
        start_sample=window_samples(start_s, fs_hz),
        end_sample=None if end_s is None else window_samples(end_s, fs_hz),
    )
    m = confusion_matrix(ref, test, match)
    extra = test.samples[match.test_to_ref == -1]
    return RecordScore(
        record=ref.record or test.record,
        confusion=m,
        stats=Ec57Stats.from_confusion(m),
        n_ignored_in_vf=int(_inside(extra, ref.vf_samples).sum()),
    )


@dataclass(frozen=True, eq=False)
class GrossScore:
    """Statistics over records (``sumstats``): gross and average.

    Attributes
    ----------
    records : tuple of str
        The records summed.
    confusion : ndarray of int64, shape (7, 7)
        Sum of the per-record matrices.
    gross : Ec57Stats
        bxb's formulas applied to the summed matrix.
    average : dict of str to float
        Mean of each per-record percentage in :data:`STAT_NAMES` over the
        records where it is defined (NaN when it is nowhere defined).
    """

    records: tuple[str, ...]
    confusion: np.ndarray
    gross: Ec57Stats
    average: dict[str, float]


def gross_score(scores: Sequence[RecordScore]) -> GrossScore:
    """Sum per-record results into EC57 gross and average statistics."""
    m = np.zeros((7, 7), np.int64)
    for s in scores:
        m += s.confusion
    average = {}
    for name in STAT_NAMES:
        values = [getattr(s.stats, name) for s in scores]
        values = [v for v in values if not np.isnan(v)]
        average[name] = float(np.mean(values)) if values else float("nan")
    return GrossScore(
        records=tuple(s.record for s in scores),
        confusion=m,
        gross=Ec57Stats.from_confusion(m),
        average=average,
    )
