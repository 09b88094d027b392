"""Aggregates: per-minute request counts and latency histograms, the shape databases return.

A source too large to load as rows (a big SQL table, Prometheus, a file larger than memory)
is reduced where it lives to:

- minute buckets from an origin at UTC midnight, the engine's time base (`origin_ns`, `n`);
- per bucket: all requests (`total`) and successful ones (`ok`), exact;
- per bucket and latency bin: successful requests with a latency in that bin (`counts`).

Latency bins are right-closed, `(edges[j], edges[j + 1]]`, like Prometheus `le` buckets. SQL
and DuckDB use log-spaced bins of under 1% relative width (`LOG_BINS_PER_DECADE` per decade,
so every power of ten in ms is an edge); Prometheus uses the histogram's own `le` bounds.

What is exact and what is not:

- good/total at a threshold ON a bin edge is exact (`lte`; `lt` counts like `lte`, as a value
  equal to the edge cannot be told apart inside its bin);
- between edges the answer is bracketed by the two neighbouring edges; `how` picks the lower
  bound (`down`), the upper bound (`up`) or a linear share of the straddling bin (`interpolate`,
  the assumption `histogram_quantile` makes);
- percentiles interpolate linearly inside bins. With `method="type7"` each of the two ranks
  that type 7 interpolates between is placed inside its own bin, so the estimate is within
  one bin width of the exact figure: under 1% relative for log bins (above 1 microsecond),
  within the `le` bucket for Prometheus. `method="prometheus"` reproduces `histogram_quantile`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
from scipy import sparse

from sloview.errors import SourceError
from sloview.ingest.span import MAX_SPAN_NS, span_refusal

BUCKET_NS = 60 * 1_000_000_000
DAY_NS = 86_400 * 1_000_000_000
# 232 bins per decade: relative width 10**(1/232) - 1 = 0.9975% (< 1%), and every power of ten
# (1 ms, 10 ms, 100 ms, 1 s, 10 s ...) falls exactly on an edge.
LOG_BINS_PER_DECADE = 232
LOG_BIN_WIDTH = 10 ** (1 / LOG_BINS_PER_DECADE) - 1
# Everything at or under 1 microsecond (including 0) shares the lowest bin.
LOG_FLOOR_MS = 0.001
LOG_FLOOR_BIN = -3 * LOG_BINS_PER_DECADE
# Keeps values that are a power of ten up to float rounding of log10 in their own bin; SQL
# computes the same expression (`sloview.sources.query.log_bin`), so the database and numpy
# agree on every bin.
LOG_EPSILON = 1e-9

Threshold = Literal["down", "up", "interpolate"]
PercentileMethod = Literal["type7", "prometheus"]

LOG_EXACTNESS = (
    "bucket-approximate: request and success counts per minute are exact; latencies are "
    f"counted in log bins {LOG_BIN_WIDTH:.2%} wide, so percentiles are within 1% and a "
    "threshold on a bin edge (every power of ten in ms is one) counts exactly, while one "
    "between edges is evaluated at the edge below it"
)
LE_EXACTNESS = (
    "Prometheus buckets: request and success counts per step come from increase(); a threshold "
    "counts exactly on one of the histogram's le bounds and is evaluated at the bound below it "
    "otherwise; percentiles interpolate linearly inside their le bucket"
)


def log_bin_index(values_ms: np.ndarray) -> np.ndarray:
    """The log bin of each non-negative latency in ms (the same formula the SQL uses)."""
    values = np.asarray(values_ms, dtype=np.float64)
    out = np.full(values.shape, LOG_FLOOR_BIN, dtype=np.int32)
    above = values > LOG_FLOOR_MS
    with np.errstate(divide="ignore", invalid="ignore"):
        raw = np.ceil(np.log10(values[above]) * LOG_BINS_PER_DECADE - LOG_EPSILON)
    out[above] = raw.astype(np.int32)
    return out


def log_edges(first_bin: int, last_bin: int) -> np.ndarray:
    """Edges (ms) of log bins `first_bin..last_bin`: bin k is (10**((k-1)/232), 10**(k/232)]."""
    ks = np.arange(first_bin - 1, last_bin + 1, dtype=np.float64)
    edges = 10.0 ** (ks / LOG_BINS_PER_DECADE)
    if first_bin <= LOG_FLOOR_BIN:
        edges[0] = 0.0
    return edges


@dataclass(frozen=True, kw_only=True)
class Histograms:
    """Per-bucket counts of successful requests in latency bins: `counts[W, B]` (sparse)."""

    edges_ms: np.ndarray
    counts: Any  # scipy.sparse.csr_array, shape (n buckets, len(edges_ms) - 1), int64
    first_bin: int | None = None  # the log bin of column 0 (None for Prometheus le bins)

    @property
    def bins(self) -> int:
        """Number of latency bins."""
        return int(self.edges_ms.size - 1)

    def per_bucket(self) -> np.ndarray:
        """Successful requests with a latency, per bucket."""
        return np.asarray(self.counts.sum(axis=1)).ravel().astype(np.int64)

    def relative_width(self) -> float:
        """The widest finite bin as (upper - lower) / lower, over bins with lower > 0."""
        lo, hi = self.edges_ms[:-1], self.edges_ms[1:]
        usable = (lo > 0) & np.isfinite(hi)
        return float(np.max((hi[usable] - lo[usable]) / lo[usable])) if usable.any() else math.inf

    def snap(self, threshold_ms: float) -> tuple[float, float]:
        """The bin edges at or below and at or above a threshold (equal when it is an edge)."""
        e = self.edges_ms
        j = int(np.searchsorted(e, threshold_ms, side="right")) - 1
        if j >= 0 and e[j] == threshold_ms:
            return threshold_ms, threshold_ms
        below = float(e[j]) if j >= 0 else -math.inf
        above = float(e[j + 1]) if j + 1 < e.size else math.inf
        return below, above

    def is_edge(self, threshold_ms: float) -> bool:
        """Whether good counts at this threshold are exact."""
        return bool(np.any(self.edges_ms == threshold_ms))

    def weights(self, threshold_ms: float, how: Threshold = "interpolate") -> np.ndarray:
        """Share of each bin that counts as at or under the threshold (1, 0, or a fraction)."""
        lo, hi = self.edges_ms[:-1], self.edges_ms[1:]
        w = (hi <= threshold_ms).astype(np.float64)
        straddle = (lo < threshold_ms) & (hi > threshold_ms)
        if how == "up":
            w[straddle] = 1.0
        elif how == "interpolate":
            finite = straddle & np.isfinite(hi)
            w[finite] = (threshold_ms - lo[finite]) / (hi[finite] - lo[finite])
        return w

    def good(self, threshold_ms: float, how: Threshold = "interpolate") -> np.ndarray:
        """Per bucket: successful requests at or under the threshold (float when interpolated)."""
        w = self.weights(threshold_ms, how)
        good = np.asarray(self.counts @ w).ravel()
        if how != "interpolate" or self.is_edge(threshold_ms):
            return np.rint(good).astype(np.int64)
        return good

    def good_bounds(self, threshold_ms: float) -> tuple[np.ndarray, np.ndarray]:
        """Per bucket: the exact good count lies between these (equal on a bin edge)."""
        return self.good(threshold_ms, "down"), self.good(threshold_ms, "up")

    def per_group(self, group_of_bucket: np.ndarray, n_groups: int) -> np.ndarray:
        """Dense counts summed per group of buckets: shape (n_groups, B).

        `group_of_bucket` maps each bucket to a group (slice, hour, day ...); buckets mapped to
        `n_groups` or beyond (exclusions) are left out.
        """
        lut = np.asarray(group_of_bucket, dtype=np.int64)
        keep = (lut >= 0) & (lut < n_groups)
        rows = np.flatnonzero(keep)
        merge = sparse.csr_array(
            (np.ones(rows.size), (lut[rows], rows)), shape=(n_groups, lut.size)
        )
        return np.asarray((merge @ self.counts).toarray(), dtype=np.int64)

    def percentiles(
        self,
        q: float,
        group_of_bucket: np.ndarray | None = None,
        n_groups: int | None = None,
        method: PercentileMethod = "type7",
    ) -> np.ndarray:
        """The q-th percentile (0..100) per group of buckets (all buckets: one group); NaN when
        a group is empty."""
        if group_of_bucket is None:
            dense = np.asarray(self.counts.sum(axis=0), dtype=np.int64).reshape(1, -1)
        else:
            dense = self.per_group(group_of_bucket, int(n_groups or 0))
        return histogram_percentiles(dense, self.edges_ms, q, method)

    def trimmed(self, buckets: slice) -> Histograms:
        """The same histograms for a range of buckets."""
        return replace(self, counts=self.counts[buckets])


def histogram_percentiles(
    counts: np.ndarray, edges_ms: np.ndarray, q: float, method: PercentileMethod = "type7"
) -> np.ndarray:
    """Percentile q (0..100) of each row of dense bin counts, interpolating inside bins."""
    counts = np.asarray(counts, dtype=np.int64)
    n = counts.sum(axis=1)
    out = np.full(counts.shape[0], np.nan)
    cum = np.cumsum(counts, axis=1)
    for g in np.flatnonzero(n > 0):
        if method == "prometheus":
            out[g] = _prometheus_quantile(cum[g], counts[g], edges_ms, q / 100.0)
            continue
        h = (n[g] - 1) * q / 100.0
        lo_rank = math.floor(h)
        hi_rank = min(lo_rank + 1, int(n[g]) - 1)
        a = _order_statistic(cum[g], counts[g], edges_ms, lo_rank)
        b = _order_statistic(cum[g], counts[g], edges_ms, hi_rank)
        out[g] = a + (h - lo_rank) * (b - a)
    return out


def _order_statistic(cum: np.ndarray, counts: np.ndarray, edges: np.ndarray, rank: int) -> float:
    """Estimate of the value at 0-based `rank`: spread evenly inside its bin."""
    j = int(np.searchsorted(cum, rank, side="right"))
    lo, hi = float(edges[j]), float(edges[j + 1])
    if not math.isfinite(hi):
        return lo  # the +Inf bucket: its lower bound, as histogram_quantile answers
    before = int(cum[j - 1]) if j > 0 else 0
    return lo + (hi - lo) * (rank - before + 0.5) / int(counts[j])


def _prometheus_quantile(cum: np.ndarray, counts: np.ndarray, edges: np.ndarray, q: float) -> float:
    """`histogram_quantile(q, ...)` over one histogram, as Prometheus computes it."""
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    rank = q * float(cum[-1])
    j = int(np.searchsorted(cum, rank, side="left"))
    j = min(j, cum.size - 1)
    lo, hi = float(edges[j]), float(edges[j + 1])
    if not math.isfinite(hi):
        return lo
    if j == 0 and hi <= 0:
        return hi
    before = float(cum[j - 1]) if j > 0 else 0.0
    return lo + (hi - lo) * (rank - before) / float(counts[j])


@dataclass(frozen=True, kw_only=True)
class Aggregates:
    """Per-minute totals, successes and latency histograms of a source (or one segment of it).

    Minute bucket `i` covers [origin_ns + i min, origin_ns + (i + 1) min); `origin_ns` is UTC
    midnight on or before `first_ns`, as in `sloview.engine.timebase.TimeBase`.
    """

    source: str
    origin_ns: int
    n: int
    first_ns: int
    last_ns: int
    total: np.ndarray
    ok: np.ndarray
    latency: Histograms
    ttft: Histograms | None = None
    # Time per output token per request (Prometheus: a TPOT histogram such as vLLM's).
    tpot: Histograms | None = None
    exactness: str = LOG_EXACTNESS
    segment: tuple[tuple[str, str], ...] = ()
    group_by: tuple[str, ...] = ()
    groups: dict[tuple[str, ...], Aggregates] = field(default_factory=dict, repr=False)
    rows_read: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    policy: str = ""
    notes: tuple[str, ...] = ()
    # Exact per-bucket counts of successful requests meeting a threshold, counted in the
    # source for the thresholds asked for: (metric, "lte" | "lt", threshold_ms) -> counts[n].
    threshold_counts: dict[tuple[str, str, float], np.ndarray] = field(default_factory=dict)
    # Exact percentiles over all successful requests, where the source computes them
    # (PostgreSQL percentile_cont): (metric, q) -> value in ms.
    exact_percentiles: dict[tuple[str, float], float] = field(default_factory=dict)

    @property
    def edges_ms(self) -> np.ndarray:
        """Latency bin edges in ms (ascending; the last may be +inf)."""
        return self.latency.edges_ms

    @property
    def counts(self) -> Any:
        """Successful requests per bucket and latency bin, `counts[W, B]` (scipy CSR, int64)."""
        return self.latency.counts

    @property
    def requests(self) -> int:
        """All requests counted."""
        return int(self.total.sum())

    @property
    def errors(self) -> int:
        """Failed requests."""
        return int(self.total.sum() - self.ok.sum())

    def bucket_times_ns(self) -> np.ndarray:
        """UTC ns at the start of each bucket."""
        return self.origin_ns + np.arange(self.n, dtype=np.int64) * BUCKET_NS

    def day_of_bucket(self) -> tuple[np.ndarray, np.ndarray]:
        """(UTC day index of each bucket, UTC midnight ns of each day)."""
        days = np.arange(self.n, dtype=np.int64) * BUCKET_NS // DAY_NS
        starts = self.origin_ns + np.arange(int(days[-1]) + 1 if self.n else 0) * DAY_NS
        return days, starts

    def good(
        self, threshold_ms: float, how: Threshold = "interpolate", metric: str = "latency_ms"
    ) -> np.ndarray:
        """Per bucket: successful requests at or under a latency threshold."""
        return self._hist(metric).good(threshold_ms, how)

    def _hist(self, metric: str) -> Histograms:
        found = self.histogram(metric)
        if found is None:
            raise KeyError(f"these aggregates have no {metric} histogram")
        return found

    def histogram(self, metric: str) -> Histograms | None:
        """The histogram of a latency column (None when these aggregates do not carry it)."""
        return {"latency_ms": self.latency, "ttft_ms": self.ttft, "tpot_ms": self.tpot}.get(metric)

    def segment_values(self) -> list[tuple[str, ...]]:
        """Group keys, most requests first."""
        return sorted(self.groups, key=lambda k: -self.groups[k].requests)

    def group(self, **values: str) -> Aggregates:
        """The aggregates of one segment value (`agg.group(endpoint="chat")`)."""
        key = tuple(str(values[c]) for c in self.group_by)
        if set(values) != set(self.group_by) or key not in self.groups:
            raise KeyError(f"no group {values!r}; groups are by {', '.join(self.group_by)}")
        return self.groups[key]

    def __iter__(self) -> Iterator[Aggregates]:
        return iter(self.groups.values())


def build_aggregates(
    *,
    source: str,
    minutes: np.ndarray,
    total: np.ndarray,
    ok: np.ndarray,
    cell_minutes: np.ndarray,
    cell_bins: np.ndarray,
    cell_counts: np.ndarray,
    first_ns: int,
    last_ns: int,
    edges_ms: np.ndarray | None = None,
    first_bin: int | None = None,
    origin_ns: int | None = None,
    n: int | None = None,
    exactness: str = LOG_EXACTNESS,
    ttft: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    ttft_edges_ms: np.ndarray | None = None,
    tpot: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    tpot_edges_ms: np.ndarray | None = None,
    **extra: Any,
) -> Aggregates:
    """Aggregates from sparse pieces keyed by absolute minute (UTC ns // 60 s).

    `minutes`/`total`/`ok`: request counts per minute (repeats are added). `cell_*`: latency
    counts per (minute, bin), where bins are log bin numbers (`log_bin_index`) unless
    `edges_ms` is given, in which case they are column indexes into those edges.
    """
    check_aggregate_span(int(first_ns), int(last_ns), source)
    if origin_ns is None:
        origin_ns = first_ns - first_ns % DAY_NS
    if n is None:
        n = (last_ns - origin_ns) // BUCKET_NS + 1
    first_minute = origin_ns // BUCKET_NS
    rows = np.asarray(minutes, dtype=np.int64) - first_minute
    total_b = np.bincount(rows, weights=total, minlength=n)[:n].astype(np.int64)
    ok_b = np.bincount(rows, weights=ok, minlength=n)[:n].astype(np.int64)
    latency = _histograms(
        _offsets(cell_minutes, first_minute, n),
        cell_bins,
        cell_counts,
        n,
        edges_ms,
        first_bin,
    )

    def extra_hist(
        cells: tuple[np.ndarray, np.ndarray, np.ndarray] | None, edges: np.ndarray | None
    ) -> Histograms | None:
        if cells is None:
            return None
        tm, tb, tc = cells
        return _histograms(_offsets(tm, first_minute, n), tb, tc, n, edges, None)

    return Aggregates(
        source=source,
        origin_ns=int(origin_ns),
        n=int(n),
        first_ns=int(first_ns),
        last_ns=int(last_ns),
        total=total_b,
        ok=ok_b,
        latency=latency,
        ttft=extra_hist(ttft, ttft_edges_ms),
        tpot=extra_hist(tpot, tpot_edges_ms),
        exactness=exactness,
        **extra,
    )


def check_aggregate_span(first_ns: int, last_ns: int, source: str) -> None:
    """Refuse, before anything is sized by it, a span beyond `sloview.ingest.span`'s limit."""
    if last_ns - first_ns > MAX_SPAN_NS:
        refusal = span_refusal(first_ns, last_ns, "the requests span", source, "")
        raise SourceError(refusal.message, where=source, hint="narrow start/end")


def _offsets(minutes: np.ndarray, first_minute: int, n: int) -> np.ndarray:
    """Bucket rows of absolute minutes: int32 (half the memory of millions of cells) when the
    buckets fit, which they do within the span limit."""
    values = np.asarray(minutes)
    if (
        n < 2**31
        and values.size
        and values.min() >= first_minute
        and values.max() - first_minute < n
    ):
        return np.subtract(values, first_minute, dtype=np.int32, casting="unsafe")
    return np.asarray(values, dtype=np.int64) - first_minute


def _histograms(
    rows: np.ndarray,
    bins: np.ndarray,
    counts: np.ndarray,
    n: int,
    edges_ms: np.ndarray | None,
    first_bin: int | None,
) -> Histograms:
    log_first: int | None = None
    if edges_ms is None:
        log_first = first_bin if first_bin is not None else int(bins.min()) if bins.size else 0
        last_bin = int(bins.max()) if bins.size else log_first
        edges_ms = log_edges(log_first, last_bin)
    shape = (n, int(edges_ms.size - 1))
    # int32 indexes where they fit (unless minutes or bins pass 2^31): half the memory of the
    # millions of cells a large source sends.
    index = np.int32 if max(shape) < 2**31 else np.int64
    columns = np.subtract(bins, log_first or 0, dtype=index, casting="unsafe")
    matrix = sparse.coo_array(
        # Rows stay as `_offsets` made them: int32 only when every one is in range.
        (np.asarray(counts, dtype=np.int64), (rows, columns)),
        shape=shape,
    ).tocsr()
    matrix.sum_duplicates()
    return Histograms(
        edges_ms=np.asarray(edges_ms, dtype=np.float64),
        counts=matrix,
        first_bin=log_first,
    )


def from_requests(
    ts_ns: np.ndarray,
    ok: np.ndarray,
    latency_ms: np.ndarray,
    *,
    source: str = "requests",
    ttft_ms: np.ndarray | None = None,
    edges_ms: np.ndarray | None = None,
) -> Aggregates:
    """Aggregates of raw requests, binned in numpy exactly as the SQL sources bin them.

    With `edges_ms` (e.g. Prometheus `le` bounds with 0 and +inf) values go into those
    right-closed bins instead of log bins. Successful requests with a NaN latency count for
    availability only.
    """
    ts_ns = np.asarray(ts_ns, dtype=np.int64)
    ok = np.asarray(ok, dtype=bool)
    minutes = ts_ns // BUCKET_NS
    measured = ok & np.isfinite(latency_ms)

    def cells(values: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        v = values[mask]
        if edges_ms is None:
            b = log_bin_index(v)
        else:
            b = np.searchsorted(edges_ms, v, side="left") - 1
            b = np.clip(b, 0, edges_ms.size - 2)
        return minutes[mask], b, np.ones(v.size, dtype=np.int64)

    lat = cells(np.asarray(latency_ms, dtype=np.float64), measured)
    first_bin = int(lat[1].min()) if edges_ms is None and lat[1].size else None
    ttft_cells = None
    if ttft_ms is not None:
        ttft_values = np.asarray(ttft_ms, dtype=np.float64)
        ttft_cells = cells(ttft_values, ok & np.isfinite(ttft_values))
    return build_aggregates(
        source=source,
        minutes=minutes,
        total=np.ones(ts_ns.size),
        ok=ok.astype(np.float64),
        cell_minutes=lat[0],
        cell_bins=lat[1],
        cell_counts=lat[2],
        first_ns=int(ts_ns.min()),
        last_ns=int(ts_ns.max()),
        edges_ms=edges_ms,
        first_bin=first_bin,
        exactness=LOG_EXACTNESS if edges_ms is None else LE_EXACTNESS,
        ttft=ttft_cells,
        ttft_edges_ms=edges_ms,
    )
