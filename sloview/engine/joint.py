"""Joint conditions on several latency columns of the same request (TTFT and TPOT at once).

The single-metric index answers "how many requests per bucket have latency <= T" from
sorted values; a condition on two columns of the same request cannot be read from two
separate sorted orders. Instead the rows a joint SLI can judge (successful requests with a
value in every column it reads) are kept once, in time order, as one float64 array per
column, with the row edges of every minute bucket. Good counts per bucket at any set of
thresholds are then a few vectorised comparisons and one count per bucket, in chunks that
stay in cache and run on all cores (numpy releases the GIL).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from sloview.model import Condition

CHUNK = 1 << 20
_POOL: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(
            max_workers=max(2, os.cpu_count() or 2), thread_name_prefix="sloview-joint"
        )
    return _POOL


def usable(values: np.ndarray) -> np.ndarray:
    """Whether each value is a latency a condition can judge (finite, not negative)."""
    out = np.isfinite(values)
    out &= values >= 0
    return out


@dataclass(frozen=True)
class JointRows:
    """Rows a joint SLI judges: successful requests with every metric present, in time order."""

    metrics: tuple[str, ...]
    # Column `m` of the kept rows.
    values: dict[str, np.ndarray]
    # Kept rows of bucket b are edges[b]:edges[b + 1].
    edges: np.ndarray
    # Successful requests left out, under the first metric (in `metrics` order) they lack.
    missing: dict[str, int]

    @property
    def size(self) -> int:
        """Number of rows kept."""
        return int(self.edges[-1])

    @property
    def per_bucket(self) -> np.ndarray:
        """Rows kept per bucket."""
        return np.diff(self.edges)

    def buckets(self) -> np.ndarray:
        """The bucket of each kept row (int32)."""
        n = self.edges.size - 1
        return np.repeat(np.arange(n, dtype=np.int32), np.diff(self.edges))

    def good_mask(self, conditions: Sequence[Condition]) -> np.ndarray:
        """Per kept row: whether it meets every condition."""
        out = np.empty(self.size, dtype=bool)
        list(_pool().map(lambda lo: self._fill(conditions, out, lo), range(0, self.size, CHUNK)))
        return out

    def _fill(self, conditions: Sequence[Condition], out: np.ndarray, lo: int) -> None:
        hi = min(lo + CHUNK, self.size)
        view = out[lo:hi]
        view[:] = True
        scratch = np.empty(hi - lo, dtype=bool)
        for cond in conditions:
            compare = np.less_equal if cond.op == "lte" else np.less
            compare(self.values[cond.metric][lo:hi], cond.threshold, out=scratch)
            view &= scratch

    def good_per_bucket(self, conditions: Sequence[Condition]) -> np.ndarray:
        """Per bucket: kept rows that meet every condition (exact)."""
        n = self.edges.size - 1
        los = list(range(0, self.size, CHUNK))
        if not los:
            return np.zeros(n, dtype=np.int64)
        # Each chunk counts its good rows below every bucket edge that falls inside it; the
        # chunk totals before it are added afterwards (a prefix sum over a few chunks).
        below = np.zeros(n + 1, dtype=np.int64)
        totals = np.zeros(len(los), dtype=np.int64)
        first_edge = np.searchsorted(self.edges, los, side="left")
        last_edge = np.append(first_edge[1:], n + 1)

        def part(k: int) -> None:
            lo = los[k]
            hi = min(lo + CHUNK, self.size)
            mask = np.empty(hi - lo, dtype=bool)
            mask[:] = True
            scratch = np.empty(hi - lo, dtype=bool)
            for cond in conditions:
                compare = np.less_equal if cond.op == "lte" else np.less
                compare(self.values[cond.metric][lo:hi], cond.threshold, out=scratch)
                mask &= scratch
            good = np.flatnonzero(mask)
            totals[k] = good.size
            e0, e1 = int(first_edge[k]), int(last_edge[k])
            below[e0:e1] = np.searchsorted(good, self.edges[e0:e1] - lo, side="left")

        list(_pool().map(part, range(len(los))))
        before = np.concatenate(([0], np.cumsum(totals)))
        for k in range(len(los)):
            below[int(first_edge[k]) : int(last_edge[k])] += before[k]
        return np.diff(below)


def build_joint_rows(
    metrics: tuple[str, ...],
    columns: dict[str, np.ndarray],
    ok: np.ndarray,
    row_edges: np.ndarray,
) -> JointRows:
    """Keep successful rows with every metric usable; `row_edges` are the bucket row edges."""
    keep = ok.copy()
    missing: dict[str, int] = {}
    for metric in metrics:
        has = usable(columns[metric])
        missing[metric] = int(np.count_nonzero(keep & ~has))
        keep &= has
    kept_before = np.zeros(keep.size + 1, dtype=np.int64)
    np.cumsum(keep, out=kept_before[1:])
    edges = kept_before[row_edges]
    if keep.all():
        values = {m: np.ascontiguousarray(columns[m], dtype=np.float64) for m in metrics}
    else:
        values = {m: np.ascontiguousarray(columns[m][keep], dtype=np.float64) for m in metrics}
    return JointRows(metrics=metrics, values=values, edges=edges, missing=missing)
