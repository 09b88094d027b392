"""Stray timestamps: a few requests far away in time from all the others.

A default-zero time (`1970-01-01T00:00:00Z`), an epoch with a digit too many or too few, a
clock that was never set: one such row puts decades between the first and the last request,
and every time-based figure (periods, budget, burn rates, charts) would be spread over the
empty years between it and the real traffic. Such rows are set apart from the analysis by
default, counted with the first one shown, and kept only when the user asks.

The rule, on the request times in order:

1. the *core* is the shortest stretch of time holding all but at most `MINORITY` (5%) of the
   requests;
2. the *bulk* grows from the core to every neighbouring request that lies within `FACTOR`
   (10) times the bulk's span so far, and never less than `FACTOR` x `FLOOR_NS` (10 hours);
3. the requests left outside the bulk are strays.

So strays are a small minority (at most 5%) separated from the bulk by a gap more than ten
times the bulk's own span and more than ten hours. Data that all lie in 1970 (synthetic start
times counted from zero, as LLMPerf writes them) have no such gap and no strays; nor have
several runs of similar size a month apart (none is a minority).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MINORITY = 0.05
FACTOR = 10
FLOOR_NS = 3600 * 1_000_000_000
RULE = (
    "A few rows (at most 5%) whose times lie further from all the others than ten times the "
    "others' own span (and more than ten hours), such as a 1970 default or an epoch with a "
    "digit too many, are set apart and counted. Keep them only if they are real requests."
)


@dataclass(frozen=True)
class Bulk:
    """The bulk of sorted times as the half-open index range [lo, hi); the rest are strays."""

    lo: int
    hi: int
    size: int

    @property
    def strays(self) -> int:
        """How many times lie outside the bulk."""
        return self.size - (self.hi - self.lo)

    @property
    def whole(self) -> bool:
        """Whether every time belongs to the bulk (no strays)."""
        return self.lo == 0 and self.hi == self.size


def find_bulk(sorted_ns: np.ndarray, weights: np.ndarray | None = None) -> Bulk:
    """The bulk of ascending times (int64 ns), each weighing one request or `weights[i]`."""
    ns = np.asarray(sorted_ns, dtype=np.int64)
    n = int(ns.size)
    if n < 2 or int(ns[-1]) - int(ns[0]) <= FACTOR * FLOOR_NS:
        return Bulk(0, n, n)  # no gap can exceed ten hours inside ten hours
    if weights is None and not _gap_at_the_edges(ns, int(MINORITY * n)):
        return Bulk(0, n, n)  # the usual case, decided on the outermost 5% alone
    # In float: differences of int64 times 500 years apart overflow int64 (the precision
    # lost, under a microsecond, does not matter against gaps of hours).
    t = ns.astype(np.float64)
    lo, hi = _core(t, weights)
    # Each side grows as far as its gaps allow, with the other side fixed; growth on one side
    # widens the span and may let the other side grow. Each round that unblocks a side
    # multiplies the span by more than FACTOR + 1, so a few rounds settle any int64 times.
    while True:
        new_lo = _grow_left(t, lo, hi)
        new_hi = _grow_right(t, new_lo, hi)
        if (new_lo, new_hi) == (lo, hi):
            return Bulk(lo, hi, n)
        lo, hi = new_lo, new_hi


def _gap_at_the_edges(ns: np.ndarray, k: int) -> bool:
    """Whether any of the k + 1 outermost gaps on either side exceeds the smallest reach.

    A stray's separating gap lies among them (at most k strays per side) and is longer than
    FACTOR x FLOOR_NS; without such a gap there are no strays, and ten million ordinary times
    need no float copy of themselves to say so.
    """
    if k == 0:
        return False
    edge = min(k + 2, ns.size)
    left = np.diff(ns[:edge].astype(np.float64))
    right = np.diff(ns[-edge:].astype(np.float64))
    return bool(max(left.max(initial=0.0), right.max(initial=0.0)) > FACTOR * FLOOR_NS)


def _grow_left(t: np.ndarray, lo: int, hi: int) -> int:
    """The bulk's new start: step i joins when its gap is within reach of the bulk [i+1, hi)."""
    if lo == 0:
        return 0
    i = np.arange(lo)
    gaps = t[1 : lo + 1] - t[:lo]
    spans = np.maximum(t[hi - 1] - t[i + 1], FLOOR_NS)
    blocked = np.flatnonzero(gaps > FACTOR * spans)
    return int(blocked[-1]) + 1 if blocked.size else 0


def _grow_right(t: np.ndarray, lo: int, hi: int) -> int:
    """The bulk's new end: time j joins when its gap is within reach of the bulk [lo, j)."""
    n = int(t.size)
    if hi == n:
        return n
    j = np.arange(hi, n)
    gaps = t[hi:] - t[hi - 1 : n - 1]
    spans = np.maximum(t[j - 1] - t[lo], FLOOR_NS)
    blocked = np.flatnonzero(gaps > FACTOR * spans)
    return hi + int(blocked[0]) if blocked.size else n


def _core(t: np.ndarray, weights: np.ndarray | None) -> tuple[int, int]:
    """[lo, hi) of the shortest stretch holding at least 1 - MINORITY of the weight."""
    n = int(t.size)
    if weights is None:
        keep = n - int(MINORITY * n)
        if keep >= n:
            return 0, n
        spans = t[keep - 1 :] - t[: n - keep + 1]
        lo = int(np.argmin(spans))
        return lo, lo + keep
    w = np.asarray(weights, dtype=np.float64)
    total = float(w.sum())
    if total <= 0:
        return 0, n
    before = np.concatenate(([0.0], np.cumsum(w)))
    need = (1 - MINORITY) * total
    # For each start i, the first end j whose stretch [i, j) holds `need`.
    ends = np.searchsorted(before, before[:-1] + need * (1 - 1e-12), side="left")
    starts = np.flatnonzero(ends <= n)
    spans = t[ends[starts] - 1] - t[starts]
    best = int(starts[int(np.argmin(spans))])
    return best, int(ends[best])
