"""One latency distribution, whichever form the data came in: exact sorted values or histograms.

Pages, summaries and the threshold search ask a distribution the same few questions (size,
percentiles with confidence intervals, the order statistic at a rank, how many values meet a
threshold, a log histogram and an ECDF to draw). Raw requests answer them exactly from sorted
values; aggregates from a database or Prometheus answer them from bin counts, with the bin
width as the error bound (`exact` is False and `exactness` says how far to trust them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from sloview.model import Op
from sloview.stats import percentile_rank_interval, percentile_sorted

HISTOGRAM_BINS = 80
ECDF_POINTS = 400


class Distribution(Protocol):
    """What every latency distribution answers."""

    @property
    def exact(self) -> bool:
        """Whether values are exact (raw requests) rather than binned."""
        ...

    @property
    def exactness(self) -> str:
        """How far to trust the figures, in words."""
        ...

    @property
    def size(self) -> int:
        """Number of values."""
        ...

    def value_at(self, rank: int) -> float:
        """The order statistic at 0-based `rank` (negative ranks count from the end)."""
        ...

    def percentile(self, q: float) -> float:
        """Linear (type 7) q-th percentile, 0..100."""
        ...

    def percentile_ci(self, q: float) -> tuple[float, float]:
        """Distribution-free 95% confidence interval of the q-th percentile."""
        ...

    def meeting(self, threshold: float, op: Op) -> int:
        """How many values satisfy `value op threshold`."""
        ...

    def log_histogram(self, bins: int = HISTOGRAM_BINS) -> tuple[np.ndarray, np.ndarray]:
        """(edges, counts) on log-spaced edges over the positive values."""
        ...

    def ecdf(self, points: int = ECDF_POINTS) -> tuple[np.ndarray, np.ndarray]:
        """A down-sampled empirical CDF (x, share <= x) that keeps the tail visible."""
        ...


def ecdf_ranks(n: int, points: int) -> np.ndarray:
    """0-based ranks to draw an ECDF through: even in p and dense in the tail."""
    p = np.unique(
        np.concatenate([np.linspace(0, 1, points // 2), 1 - np.geomspace(1, 1e-5, points // 2)])
    )
    return np.unique(np.clip(np.round(p * (n - 1)).astype(np.int64), 0, n - 1))


@dataclass(frozen=True)
class SortedValues:
    """Exact: every successful request's value, sorted."""

    values: np.ndarray
    exact: bool = True
    exactness: str = "exact: computed from every request"

    @property
    def size(self) -> int:
        """Number of values."""
        return int(self.values.size)

    def value_at(self, rank: int) -> float:
        """The order statistic at 0-based `rank`."""
        return float(self.values[rank])

    def percentile(self, q: float) -> float:
        """Linear (type 7) q-th percentile."""
        return percentile_sorted(self.values, q)

    def percentile_ci(self, q: float) -> tuple[float, float]:
        """Order-statistic 95% confidence interval."""
        ranks = percentile_rank_interval(self.size, q)
        if ranks is None:
            return math.nan, math.nan
        return float(self.values[ranks[0]]), float(self.values[ranks[1]])

    def meeting(self, threshold: float, op: Op) -> int:
        """How many values satisfy `value op threshold`."""
        v, n = self.values, self.size
        if op == "lte":
            return int(np.searchsorted(v, threshold, side="right"))
        if op == "lt":
            return int(np.searchsorted(v, threshold, side="left"))
        if op == "gte":
            return n - int(np.searchsorted(v, threshold, side="left"))
        return n - int(np.searchsorted(v, threshold, side="right"))

    def log_histogram(self, bins: int = HISTOGRAM_BINS) -> tuple[np.ndarray, np.ndarray]:
        """(edges, counts) on log-spaced edges from the smallest to the largest positive value."""
        positive = self.values[self.values > 0]
        if positive.size == 0:
            return np.zeros(0), np.zeros(0, dtype=np.int64)
        edges = np.geomspace(positive[0], positive[-1] * 1.0001, bins + 1)
        return edges, np.histogram(positive, bins=edges)[0]

    def ecdf(self, points: int = ECDF_POINTS) -> tuple[np.ndarray, np.ndarray]:
        """ECDF points at exact order statistics."""
        n = self.size
        if n == 0:
            return np.array([]), np.array([])
        idx = ecdf_ranks(n, points)
        return self.values[idx], (idx + 1) / n


@dataclass(frozen=True)
class BinnedValues:
    """Approximate: counts in right-closed bins `(edges[j], edges[j + 1]]`.

    The value at a rank is placed evenly inside its bin (as `histogram_quantile` assumes), so a
    percentile is off by at most one bin width; counts at a bin edge are exact.
    """

    edges: np.ndarray
    counts: np.ndarray
    exactness: str
    exact: bool = False
    # Percentiles the source computed exactly (PostgreSQL percentile_cont): q -> value.
    known: dict[float, float] = field(default_factory=dict)

    @property
    def size(self) -> int:
        """Number of values."""
        return int(self.counts.sum())

    @property
    def cumulative(self) -> np.ndarray:
        """Values in bins 0..j, for each j."""
        return np.cumsum(self.counts)

    def value_at(self, rank: int) -> float:
        """The order statistic at 0-based `rank`, spread evenly inside its bin."""
        n = self.size
        if rank < 0:
            rank += n
        cum = self.cumulative
        j = int(np.searchsorted(cum, rank, side="right"))
        lo, hi = float(self.edges[j]), float(self.edges[j + 1])
        if not math.isfinite(hi):
            return lo  # the +Inf bucket: its lower bound, as histogram_quantile answers
        before = int(cum[j - 1]) if j > 0 else 0
        return lo + (hi - lo) * (rank - before + 0.5) / int(self.counts[j])

    def percentile(self, q: float) -> float:
        """Type 7 between the two order statistics, each placed inside its bin (the exact
        figure when the source computed this percentile)."""
        if float(q) in self.known:
            return self.known[float(q)]
        n = self.size
        if n == 0:
            return math.nan
        h = (n - 1) * q / 100.0
        lo = math.floor(h)
        hi = min(lo + 1, n - 1)
        a, b = self.value_at(lo), self.value_at(hi)
        return a + (h - lo) * (b - a)

    def percentile_ci(self, q: float) -> tuple[float, float]:
        """The order-statistic interval, widened to the outer edges of the bins it falls in
        (the true order statistics lie somewhere inside them)."""
        ranks = percentile_rank_interval(self.size, q)
        if ranks is None:
            return math.nan, math.nan
        cum = self.cumulative
        j_lo = int(np.searchsorted(cum, ranks[0], side="right"))
        j_hi = int(np.searchsorted(cum, ranks[1], side="right"))
        return float(self.edges[j_lo]), float(self.edges[j_hi + 1])

    def meeting(self, threshold: float, op: Op) -> int:
        """Values in bins wholly on the good side of the threshold (exact on an edge, a
        lower bound between edges)."""
        lo, hi = self.edges[:-1], self.edges[1:]
        if op in ("lte", "lt"):
            return int(self.counts[hi <= threshold].sum())
        return int(self.counts[lo >= threshold].sum())

    def log_histogram(self, bins: int = HISTOGRAM_BINS) -> tuple[np.ndarray, np.ndarray]:
        """The bins merged onto at most `bins` log-spaced groups (no bin is split)."""
        used = np.flatnonzero(self.counts)
        if used.size == 0:
            return np.zeros(0), np.zeros(0, dtype=np.int64)
        first, last = int(used[0]), int(used[-1])
        edges = self.edges[first : last + 2].copy()
        counts = self.counts[first : last + 1]
        if edges[0] <= 0:
            # A log axis cannot start at 0: draw the lowest bin as wide (as a ratio) as the
            # one above it.
            wide = edges.size > 2 and edges[1] > 0 and math.isfinite(edges[2])
            ratio = edges[2] / edges[1] if wide else 2.0
            edges[0] = edges[1] / ratio if edges[1] > 0 else 1e-3
        if not math.isfinite(edges[-1]):
            edges[-1] = edges[-2] * 1.5
        if counts.size > bins:
            cut = np.linspace(0, counts.size, bins + 1).astype(np.int64)
            counts = np.add.reduceat(counts, cut[:-1])
            edges = edges[cut]
        return edges, np.asarray(counts, dtype=np.int64)

    def ecdf(self, points: int = ECDF_POINTS) -> tuple[np.ndarray, np.ndarray]:
        """Exact ECDF points at the upper edges of occupied bins (down-sampled)."""
        used = np.flatnonzero(self.counts)
        if used.size == 0:
            return np.array([]), np.array([])
        cum = self.cumulative[used] / self.size
        x = self.edges[used + 1]
        finite = np.isfinite(x)
        x, cum = x[finite], cum[finite]
        if x.size > points:
            keep = np.unique(np.searchsorted(cum, ecdf_ranks(points * 4, points) / (points * 4)))
            keep = keep[keep < x.size]
            x, cum = x[keep], cum[keep]
        return x, cum
