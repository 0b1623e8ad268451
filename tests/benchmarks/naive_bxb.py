"""A slow, line-by-line Python transcription of WFDB ``bxb`` (``app/bxb.c``).

It reads two annotation lists the way bxb reads two annotation files
(``getref`` / ``gettest`` with ``ungetann``), runs bxb's main loop and counts
the label pairs in bxb's confusion matrix. Each function keeps the name and
the statements of the C function it transcribes, so it can be checked against
the C source by eye. :mod:`benchmarks._ec57` does the same work on arrays with
a Numba kernel; the tests compare the two.

Two deliberate differences from the C code, shared with benchmarks._ec57 (see
its module docstring): the "no annotation yet" time is -infinity instead of 0,
and ``rpann`` / ``tpann`` look at every VF and shutdown stretch read so far
instead of only the two most recent ones. The RR-interval error and the
output annotation file are left out.

(Named ``naive_bxb`` rather than ``naive`` so that it cannot collide with
another test folder's ``naive`` module: tests/ folders have no ``__init__``.)
"""

from __future__ import annotations

from benchmarks._ec57 import AAMI_CLASSES, BEAT_SYMBOLS, CLASS_MAPS

NEVER = -(1 << 60)
HUGE = 1 << 60
ROWS = "NSVFQOX"
COLS = "nsvfqox"


class _Stream:
    """An annotation file opened for reading: ``getann`` and ``ungetann``."""

    def __init__(self, annotations):
        self.items = list(annotations)  # (time, symbol, subtyp)
        self.pos = 0

    def getann(self):
        if self.pos >= len(self.items):
            return None
        item = self.items[self.pos]
        self.pos += 1
        return item

    def ungetann(self):
        self.pos -= 1


class NaiveBxb:
    """bxb's global state and functions, one object per comparison."""

    def __init__(self, ref_annotations, test_annotations, match_dt, start, end, class_map):
        self.ref = _Stream(ref_annotations)
        self.test = _Stream(test_annotations)
        self.match_dt = match_dt
        self.start = start
        self.end_time = end
        self.map = CLASS_MAPS[class_map]
        self.T = self.Tprime = NEVER
        self.A = self.Aprime = 0
        self.t = self.tprime = NEVER
        self.a = self.aprime = 0
        self.vf_ref = []  # [on, off] stretches (off = HUGE while open)
        self.sd_ref = []
        self.sd_test = []
        self.vfoffref = -1
        self.vfofftest = -1
        self.counts = {(r, c): 0 for r in ROWS for c in COLS}

    def amap(self, symbol):
        return self.map[symbol]

    def getref(self):
        self.T = self.Tprime
        self.A = self.Aprime
        T_for_shutdown = 0 if self.T == NEVER else self.T
        while (annot := self.ref.getann()) is not None:
            time, sym, sub = annot
            if sym in BEAT_SYMBOLS:
                self.Tprime = time
                self.Aprime = self.amap(sym)
                return
            elif sym == "~":
                if (sub & 0x30) == 0x30:
                    sdonref = time
                    annot = self.ref.getann()
                    if annot is None:
                        self.sd_ref.append([sdonref, HUGE])
                        self.Tprime = HUGE
                        self.Aprime = "*"
                        return
                    time2, sym2, sub2 = annot
                    if sym2 == "~" and (sub2 & 0x30) != 0x30:
                        sdoffref = time2
                    else:
                        if self.vfoffref > T_for_shutdown:
                            sdonref = self.vfoffref + self.match_dt
                        else:
                            sdonref = T_for_shutdown + self.match_dt
                        sdoffref = time2 - self.match_dt
                        if sdonref > sdoffref:
                            sdonref = sdoffref
                        self.ref.ungetann()
                    self.sd_ref.append([sdonref, sdoffref])
            elif sym == "[":
                vfonref = time
                while True:
                    annot = self.ref.getann()
                    if annot is None:
                        self.vf_ref.append([vfonref, HUGE])
                        self.Tprime = HUGE
                        self.Aprime = "*"
                        return
                    if annot[1] == "]":
                        break
                self.vfoffref = annot[0]
                self.vf_ref.append([vfonref, self.vfoffref])
        self.Tprime = HUGE
        self.Aprime = "*"

    def gettest(self):
        self.t = self.tprime
        self.a = self.aprime
        t_for_shutdown = 0 if self.t == NEVER else self.t
        while (annot := self.test.getann()) is not None:
            time, sym, sub = annot
            if sym in BEAT_SYMBOLS:
                self.tprime = time
                self.aprime = self.amap(sym)
                return
            if sym == "~":
                if (sub & 0x30) == 0x30:
                    sdontest = time
                    annot = self.test.getann()
                    if annot is None:
                        self.sd_test.append([sdontest, HUGE])
                        self.tprime = HUGE
                        self.aprime = "*"
                        return
                    time2, sym2, sub2 = annot
                    if sym2 == "~" and (sub2 & 0x30) != 0x30:
                        sdofftest = time2
                    else:
                        if self.vfofftest > t_for_shutdown:
                            sdontest = self.vfofftest + self.match_dt
                        else:
                            sdontest = t_for_shutdown + self.match_dt
                        sdofftest = time2 - self.match_dt
                        if sdontest > sdofftest:
                            sdontest = sdofftest
                        self.test.ungetann()
                    self.sd_test.append([sdontest, sdofftest])
            elif sym == "[":
                while True:
                    annot = self.test.getann()
                    if annot is None:
                        self.tprime = HUGE
                        self.aprime = "*"
                        return
                    if annot[1] == "]":
                        break
                self.vfofftest = annot[0]
        self.tprime = HUGE
        self.aprime = "*"

    def rpann(self, t):
        if any(on <= t <= off for on, off in self.vf_ref):
            return "*"
        if any(on <= t <= off for on, off in self.sd_ref):
            return "X"
        return "O"

    def tpann(self, t):
        if any(on <= t <= off for on, off in self.sd_test):
            return "X"
        return "O"

    def pair(self, ref, test):
        if not isinstance(ref, str) or not isinstance(test, str):
            return  # bxb's pair() ignores the type-0 "no annotation" label
        test = test.lower()
        if (ref, test) in self.counts and not (ref in "OX" and test in "ox"):
            self.counts[(ref, test)] += 1

    def run(self):
        self.getref()
        while self.T < self.start:
            self.getref()
        self.gettest()
        while self.tprime < self.start:
            self.gettest()
        T, t = self.T, self.t
        if T - t < abs(T - self.tprime) and T - t <= self.match_dt:
            if self.A != 0 or self.a != 0:
                self.pair(self.A, self.a)
            self.getref()
            self.gettest()
        else:
            self.gettest()
            if self.t - self.start <= self.match_dt and abs(self.T - self.tprime) < abs(
                self.T - self.t
            ):
                self.gettest()
        end_time = self.end_time
        while self.T <= end_time or self.t <= end_time:
            T, t, Tp, tp = self.T, self.t, self.Tprime, self.tprime
            if t < T:
                if T - t <= self.match_dt and (T - t < abs(T - tp) or abs(Tp - tp) < abs(T - tp)):
                    self.pair(self.A, self.a)
                    self.getref()
                    self.gettest()
                else:
                    self.pair(self.rpann(t), self.a)
                    self.gettest()
            else:
                if t - T <= self.match_dt and (t - T < abs(t - Tp) or abs(tp - Tp) < abs(t - Tp)):
                    self.pair(self.A, self.a)
                    self.gettest()
                    self.getref()
                else:
                    self.pair(self.A, self.tpann(T))
                    self.getref()
        return self.counts


def naive_confusion(
    ref_annotations, test_annotations, *, match_dt, start, end=None, class_map="ec57"
):
    """bxb's 7x7 table for two lists of ``(time, symbol, subtyp)`` annotations.

    Rows N S V F Q O X, columns n s v f q o x, as nested lists of ints.
    """
    end = HUGE - 1 if end is None else end
    counts = NaiveBxb(ref_annotations, test_annotations, match_dt, start, end, class_map).run()
    return [[counts[(r, c)] for c in COLS] for r in ROWS]


assert "".join(AAMI_CLASSES) == ROWS[:5]
