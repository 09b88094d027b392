"""The latency index of aggregated data: per-minute histograms instead of sorted values.

It answers the questions the exact `LatencyIndex` answers (good per bucket at a threshold,
sweeps over many thresholds, per-slice percentiles) from bin counts. A threshold counts the
bins wholly at or under it, so thresholds snap down to the nearest bin edge: good counts are
exact for the snapped threshold and never more than the true count at the asked one (a
conservative reading). "Ranks" are positions in the global order as for raw values; here they
only ever fall on bin boundaries.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import sparse

from sloview.model import Op

CHECKPOINTS = 16


@dataclass
class BinnedGroups:
    """Histograms summed per group (slice, hour, day ...): per-group percentiles."""

    edges: np.ndarray
    # groups x bins, CSR with sorted column indices.
    matrix: Any

    @property
    def counts(self) -> np.ndarray:
        """Number of values per group."""
        return np.asarray(self.matrix.sum(axis=1)).ravel().astype(np.int64)

    def percentile(self, q: float) -> np.ndarray:
        """Type 7 q-th percentile per group, each order statistic placed evenly in its bin;
        NaN for empty groups."""
        m = self.matrix
        counts = self.counts
        out = np.full(counts.size, np.nan)
        has = np.flatnonzero(counts > 0)
        if has.size == 0:
            return out
        data = m.data.astype(np.int64)
        cum = np.cumsum(data)
        before_row = np.concatenate([[0], cum])[m.indptr[:-1]]
        n = counts[has]
        h = (n - 1) * (q / 100.0)
        lo = np.floor(h).astype(np.int64)
        hi = np.minimum(lo + 1, n - 1)
        a = self._order_statistic(cum, data, before_row[has], lo)
        b = self._order_statistic(cum, data, before_row[has], hi)
        out[has] = a + (h - lo) * (b - a)
        return out

    def _order_statistic(
        self, cum: np.ndarray, data: np.ndarray, before: np.ndarray, rank: np.ndarray
    ) -> np.ndarray:
        e = np.searchsorted(cum, before + rank, side="right")
        col = self.matrix.indices[e]
        lo, hi = self.edges[col], self.edges[col + 1]
        inside = (before + rank - (cum[e] - data[e]) + 0.5) / data[e]
        return np.where(np.isfinite(hi), lo + (hi - lo) * inside, lo)


@dataclass
class BinnedIndex:
    """Per-bucket latency histograms with column checkpoints, like `LatencyIndex`'s cube."""

    edges: np.ndarray
    # Entries in column (bin) order: the bucket and count of each non-zero cell.
    rows: np.ndarray
    data: np.ndarray
    colptr: np.ndarray
    # cum[k]: values in bins 0..k-1 over all buckets.
    cum: np.ndarray
    checkpoints: np.ndarray
    cube: np.ndarray
    per_bucket: np.ndarray
    n_buckets: int
    _group_of_entry: dict[Hashable, np.ndarray] = field(default_factory=dict, repr=False)
    _grouped: dict[Hashable, BinnedGroups] = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, edges: np.ndarray, counts: Any) -> BinnedIndex:
        """Index a (buckets x bins) sparse count matrix with right-closed bins on `edges`."""
        csc = sparse.csc_array(counts)
        csc.sum_duplicates()
        csc.sort_indices()
        n_buckets, n_bins = csc.shape
        rows = csc.indices.astype(np.int32)
        data = csc.data.astype(np.int64)
        colptr = csc.indptr.astype(np.int64)
        cum_entries = np.concatenate([[0], np.cumsum(data)])
        cum = cum_entries[colptr]
        checkpoints = np.unique(np.linspace(0, n_bins, CHECKPOINTS + 1).astype(np.int64))
        cube = np.zeros((checkpoints.size, n_buckets), dtype=np.int64)
        for i in range(1, checkpoints.size):
            lo, hi = colptr[checkpoints[i - 1]], colptr[checkpoints[i]]
            cube[i] = cube[i - 1] + np.bincount(
                rows[lo:hi], weights=data[lo:hi], minlength=n_buckets
            ).astype(np.int64)
        return cls(
            edges=np.asarray(edges, dtype=np.float64),
            rows=rows,
            data=data,
            colptr=colptr,
            cum=cum,
            checkpoints=checkpoints,
            cube=cube,
            per_bucket=cube[-1].copy(),
            n_buckets=n_buckets,
        )

    @property
    def size(self) -> int:
        """Number of values counted."""
        return int(self.cum[-1])

    @property
    def column_totals(self) -> np.ndarray:
        """Values per bin over all buckets."""
        return np.diff(self.cum)

    def _bins_under(self, threshold: float) -> int:
        # Right-closed bins: every value of bin j is <= edges[j + 1].
        return int(np.searchsorted(self.edges[1:], threshold, side="right"))

    def snap(self, threshold: float) -> float:
        """The threshold actually evaluated: the bin edge at or below `threshold`."""
        k = self._bins_under(threshold)
        return float(self.edges[k])

    def rank(self, threshold: float, op: Op = "lte") -> int:
        """Values in bins wholly at or under the threshold (`lt` counts as `lte`: a value on
        an edge cannot be told apart inside its bin)."""
        return int(self.cum[self._bins_under(threshold)])

    def _bins_for_rank(self, rank: int) -> int:
        return int(np.searchsorted(self.cum, rank, side="right")) - 1

    def good_per_bucket(self, rank: int) -> np.ndarray:
        """Per bucket: values in the bins that lie wholly below global rank `rank`."""
        k = self._bins_for_rank(rank)
        i = int(np.searchsorted(self.checkpoints, k, side="right")) - 1
        base = self.cube[i].copy()
        lo, hi = self.colptr[self.checkpoints[i]], self.colptr[k]
        if hi > lo:
            base += np.bincount(
                self.rows[lo:hi], weights=self.data[lo:hi], minlength=self.n_buckets
            ).astype(np.int64)
        return base

    def value_at(self, rank: int) -> float:
        """The threshold that counts the value at 0-based `rank`: its bin's upper edge (the
        lower edge for the open-ended +Inf bucket)."""
        if rank < 0:
            rank += self.size
        j = int(np.searchsorted(self.cum, rank, side="right")) - 1
        upper = float(self.edges[j + 1])
        return upper if np.isfinite(upper) else float(self.edges[j])

    def threshold_grid(self, lo: float, hi: float, points: int) -> np.ndarray:
        """Bin edges between lo and hi (at most `points`, log-evenly picked): where counts are
        exact."""
        e = self.edges[(self.edges >= lo) & (self.edges <= hi) & np.isfinite(self.edges)]
        if e.size > points:
            e = e[np.unique(np.linspace(0, e.size - 1, points).round().astype(np.int64))]
        return e

    def group_of_entry(self, key: Hashable, lut: np.ndarray, n_groups: int) -> np.ndarray:
        """Group of each cell under a bucket -> group map named `key` (cached)."""
        cached = self._group_of_entry.get(key)
        if cached is None:
            cached = lut[self.rows].astype(np.int32)
            self._group_of_entry[key] = cached
        return cached

    def good_per_group_sweep(
        self, key: Hashable, lut: np.ndarray, n_groups: int, ranks: np.ndarray
    ) -> np.ndarray:
        """Counts per group below each rank in ascending `ranks`: shape (len(ranks), n_groups
        + 1); the last column collects buckets that do not count (exclusions)."""
        groups = self.group_of_entry(key, lut, n_groups)
        out = np.zeros((ranks.size, n_groups + 1), dtype=np.int64)
        running = np.zeros(n_groups + 1, dtype=np.int64)
        previous = 0
        for j, r in enumerate(ranks):
            end = int(self.colptr[self._bins_for_rank(int(r))])
            if end > previous:
                running += np.bincount(
                    groups[previous:end], weights=self.data[previous:end], minlength=n_groups + 1
                ).astype(np.int64)
                previous = end
            out[j] = running
        return out

    def grouped(self, key: Hashable, lut: np.ndarray, n_groups: int) -> BinnedGroups:
        """Histograms per group of a bucket -> group map named `key` (cached); buckets mapped
        to `n_groups` (exclusions) are left out."""
        cached = self._grouped.get(key)
        if cached is None:
            groups = self.group_of_entry(key, lut, n_groups)
            cols = np.repeat(np.arange(self.colptr.size - 1), np.diff(self.colptr))
            keep = groups < n_groups
            matrix = sparse.csr_array(
                (self.data[keep], (groups[keep], cols[keep])),
                shape=(n_groups, self.colptr.size - 1),
            )
            matrix.sum_duplicates()
            matrix.sort_indices()
            cached = BinnedGroups(edges=self.edges, matrix=matrix)
            self._grouped[key] = cached
        return cached
