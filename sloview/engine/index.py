"""The exact latency index: answers "how many requests per bucket were <= T" for any T.

Built once per latency column. All values are sorted once (global ranks); for every bucket
the engine keeps checkpoint counts at a few ranks, so good counts at any threshold are a
checkpoint row plus one small `bincount` of the ranks between the checkpoint and T. Nothing
is approximated: thresholds map to exact ranks, and percentiles read exact order statistics.
"""

from __future__ import annotations

from collections.abc import Hashable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from sloview.model import Op

# Checkpoint memory is about n_checkpoints x buckets x 4 bytes; keep it near 64 MB.
CUBE_CELLS = 16_000_000
MAX_CHECKPOINTS = 128
MIN_CHECKPOINTS = 8
# Between checkpoints a query counts the values one by one (`bincount`); a few thousand cost
# microseconds, so a small data set needs no more checkpoints than this spacing gives, however
# many buckets it spans (a cube of 8 rows over a year of minutes is 17 MB for nothing).
MIN_SPACING = 4096


NEAR_TIE_CHUNK = 1 << 20


def _near_ties(sorted_bits: np.ndarray, shift: int) -> np.ndarray:
    """Positions i where values i and i+1 differ but agree in all bits above `shift`.

    Checked in chunks: for non-negative ints, a >> s == b >> s exactly when a ^ b < 2**s,
    and a small reused buffer is cheaper than full-size temporaries here.
    """
    found = []
    limit = 1 << shift
    m = sorted_bits.size
    for lo in range(0, max(m - 1, 0), NEAR_TIE_CHUNK):
        hi = min(lo + NEAR_TIE_CHUNK, m - 1)
        x = np.bitwise_xor(sorted_bits[lo + 1 : hi + 1], sorted_bits[lo:hi])
        hits = np.flatnonzero((x != 0) & (x < limit))
        if hits.size:
            found.append(hits + lo)
    return np.concatenate(found) if found else np.zeros(0, dtype=np.int64)


def _sort_with_buckets(
    values: np.ndarray, buckets: np.ndarray, n_buckets: int
) -> tuple[np.ndarray, np.ndarray]:
    """Values sorted ascending, and the bucket of each value in that order (exactly).

    An argsort of ten million floats takes seconds; an int64 sort a third of a second. For
    non-negative doubles the IEEE bit pattern orders like the value, so the low mantissa bits
    can carry the bucket and one int64 sort yields buckets in value order. Values that agree
    in all the kept bits (relative difference below ~1e-11) but differ are put in exact order
    afterwards, so the result is the same as a stable argsort by value.
    """
    shift = max(1, int(max(n_buckets - 1, 1)).bit_length())
    bits = values.view(np.int64)
    # The two sorts are independent and numpy sorts without the GIL: on two cores the value
    # sort runs beside the key sort (at 10^7 requests about 0.1 s of the index's 0.5 s).
    with ThreadPoolExecutor(max_workers=1) as pool:
        sorting = pool.submit(np.sort, bits)
        keys = bits >> shift
        keys <<= shift
        keys |= buckets
        keys.sort()
        np.bitwise_and(keys, (1 << shift) - 1, out=keys)
        in_order = keys.astype(np.int32)
        del keys
        sorted_bits = sorting.result()
    collide = _near_ties(sorted_bits, shift)
    if collide.size:
        groups = np.unique(sorted_bits[1:][collide] >> shift)
        rows = np.flatnonzero(np.isin(bits >> shift, groups))
        order = np.lexsort((buckets[rows], values[rows]))
        positions = np.flatnonzero(np.isin(sorted_bits >> shift, groups))
        in_order[positions] = buckets[rows][order]
    return sorted_bits.view(np.float64), in_order


@dataclass
class GroupedValues:
    """Values sorted within each group (slice, hour, day ...): exact per-group percentiles."""

    values: np.ndarray
    offsets: np.ndarray

    @property
    def counts(self) -> np.ndarray:
        """Number of values per group."""
        return np.diff(self.offsets)

    def percentile(self, q: float) -> np.ndarray:
        """Linear (type 7) q-th percentile per group; NaN for empty groups."""
        counts = self.counts
        out = np.full(counts.size, np.nan)
        has = counts > 0
        h = (counts[has] - 1) * (q / 100.0)
        lo = np.floor(h).astype(np.int64)
        hi = np.minimum(lo + 1, counts[has] - 1)
        base = self.offsets[:-1][has]
        v_lo = self.values[base + lo]
        v_hi = self.values[base + hi]
        out[has] = v_lo + (h - lo) * (v_hi - v_lo)
        return out


@dataclass
class LatencyIndex:
    """Sorted values of one latency column with per-bucket checkpoint counts."""

    sorted_values: np.ndarray
    bucket_of_rank: np.ndarray
    checkpoints: np.ndarray
    cube: np.ndarray
    per_bucket: np.ndarray
    _grouped: dict[Hashable, GroupedValues] = field(default_factory=dict, repr=False)
    _group_of_rank: dict[Hashable, np.ndarray] = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, values: np.ndarray, buckets: np.ndarray, n_buckets: int) -> LatencyIndex:
        """Index non-negative finite `values` observed in `buckets` (int32 bucket per value)."""
        sorted_values, bucket_of_rank = _sort_with_buckets(values, buckets, n_buckets)
        m = sorted_values.size
        k = int(np.clip(CUBE_CELLS // max(n_buckets, 1), MIN_CHECKPOINTS, MAX_CHECKPOINTS))
        k = max(1, min(k, -(-m // MIN_SPACING)))
        checkpoints = np.unique(np.linspace(0, m, k + 1).astype(np.int64))
        cube = np.zeros((checkpoints.size, n_buckets), dtype=np.int32)
        running = np.zeros(n_buckets, dtype=np.int64)
        for i in range(1, checkpoints.size):
            chunk = bucket_of_rank[checkpoints[i - 1] : checkpoints[i]]
            running += np.bincount(chunk, minlength=n_buckets)
            cube[i] = running
        return cls(
            sorted_values=sorted_values,
            bucket_of_rank=bucket_of_rank,
            checkpoints=checkpoints,
            cube=cube,
            per_bucket=running,
        )

    @property
    def size(self) -> int:
        """Number of indexed values."""
        return int(self.sorted_values.size)

    def rank(self, threshold: float, op: Op = "lte") -> int:
        """How many values are <= threshold (`lte`) or < threshold (`lt`)."""
        side: Literal["left", "right"] = "right" if op == "lte" else "left"
        return int(np.searchsorted(self.sorted_values, threshold, side=side))

    def snap(self, threshold: float) -> float:
        """The threshold actually evaluated: itself (values are exact)."""
        return threshold

    def value_at(self, rank: int) -> float:
        """The value at 0-based `rank` (negative ranks count from the end)."""
        return float(self.sorted_values[rank])

    def threshold_grid(self, lo: float, hi: float, points: int) -> np.ndarray:
        """Log-spaced thresholds from lo to hi."""
        return np.geomspace(lo, hi, points)

    def good_per_bucket(self, rank: int) -> np.ndarray:
        """Per bucket: how many values have a global rank below `rank` (exact)."""
        i = int(np.searchsorted(self.checkpoints, rank, side="right")) - 1
        base = self.cube[i].astype(np.int64)
        start = int(self.checkpoints[i])
        if rank > start:
            base += np.bincount(self.bucket_of_rank[start:rank], minlength=base.size)
        return base

    def group_of_rank(self, key: Hashable, lut: np.ndarray, n_groups: int) -> np.ndarray:
        """Group of each ranked value under a bucket -> group map named `key` (cached)."""
        cached = self._group_of_rank.get(key)
        if cached is None:
            dtype = np.int16 if n_groups < 32_000 else np.int32
            cached = lut[self.bucket_of_rank].astype(dtype)
            self._group_of_rank[key] = cached
        return cached

    def good_per_group_sweep(
        self, key: Hashable, lut: np.ndarray, n_groups: int, ranks: np.ndarray
    ) -> np.ndarray:
        """Counts per group below each rank in ascending `ranks`: shape (len(ranks), n_groups).

        Group `n_groups` (the last column) collects buckets that do not count (exclusions).
        """
        groups = self.group_of_rank(key, lut, n_groups)
        out = np.zeros((ranks.size, n_groups + 1), dtype=np.int64)
        running = np.zeros(n_groups + 1, dtype=np.int64)
        previous = 0
        for j, r in enumerate(ranks):
            r = int(r)
            if r > previous:
                running += np.bincount(groups[previous:r], minlength=n_groups + 1)
                previous = r
            out[j] = running
        return out

    def grouped(self, key: Hashable, lut: np.ndarray, n_groups: int) -> GroupedValues:
        """Values sorted within each group of a bucket -> group map named `key` (cached)."""
        cached = self._grouped.get(key)
        if cached is not None:
            return cached
        groups = lut[self.bucket_of_rank].astype(np.int64)
        shift = max(int(self.size).bit_length(), 1)
        keys = (groups << shift) | np.arange(self.size, dtype=np.int64)
        keys.sort()
        ranks = keys & ((1 << shift) - 1)
        counts = np.bincount(keys >> shift, minlength=n_groups + 1)[: n_groups + 1]
        offsets = np.zeros(n_groups + 2, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        grouped = GroupedValues(values=self.sorted_values[ranks], offsets=offsets[: n_groups + 1])
        self._grouped[key] = grouped
        return grouped
