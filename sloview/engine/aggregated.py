"""The engine over aggregates (a big SQL table, Prometheus, a file larger than memory).

Aggregates carry exact per-minute totals and successes and per-minute latency histograms, so
availability SLIs are exact and latency SLIs are exact at bin edges: thresholds snap down to
the edge at or below, and percentiles are placed inside their bins (within one bin width).
Everything the simulation needs beyond that (time base, periods, slices, memo) is shared with
the request engine.
"""

from __future__ import annotations

import numpy as np

from sloview.engine.binned import BinnedIndex
from sloview.engine.core import Engine
from sloview.engine.distribution import BinnedValues, Distribution
from sloview.engine.timebase import TimeBase
from sloview.errors import SpecError
from sloview.ingest.table import STRAY_TIMESTAMP
from sloview.model import Condition, Op
from sloview.sources.aggregates import Aggregates, Histograms

JOINT_HINT = (
    "a joint SLI judges each request on several columns at once, which per-metric histograms "
    "cannot; load the requests as rows (narrow the time range below the row limit) or "
    "simulate one condition at a time"
)


class AggregateEngine(Engine):
    """Per-minute counts and binned latency indexes of aggregated data (or one segment)."""

    exact = False

    def __init__(self, aggregates: Aggregates, segment: tuple[tuple[str, str], ...] = ()) -> None:
        self.aggregates = aggregates
        self.segment = segment
        self.part = _select(aggregates, segment)
        self.exactness = aggregates.exactness
        self.source_name = aggregates.source
        self._indexes = {}
        self._binned: dict[str, BinnedIndex] = {}
        self._joint = {}
        self._joint_counts = {}
        self._views = {}
        self._luts = {}
        self._tokens = None
        self._periods = {}
        self._segment_values = {}
        self._memo = {}
        part = self.part
        self.base = TimeBase(
            origin_ns=part.origin_ns, n=part.n, first_ns=part.first_ns, last_ns=part.last_ns
        )
        self.total = part.total.astype(np.int64)
        self.ok_count = part.ok.astype(np.int64)
        self.rows = int(self.total.sum())

    @property
    def synthetic_times_note(self) -> str | None:
        """Aggregated sources always carry measured times."""
        return None

    @property
    def set_apart(self) -> tuple[int, str]:
        """Requests the source set apart as stray timestamps (no example: they were counted)."""
        return int(self.aggregates.dropped.get(STRAY_TIMESTAMP, 0)), ""

    @property
    def errors(self) -> int:
        """Failed requests."""
        return int(self.rows - self.ok_count.sum())

    def _histograms(self, metric: str) -> Histograms:
        if metric == "latency_ms":
            return self.part.latency
        if metric == "ttft_ms" and self.part.ttft is not None:
            return self.part.ttft
        raise SpecError(
            f"the aggregates of {self.source_name} have no {metric} histogram",
            where="sli.metric",
            hint="aggregated sources carry end-to-end latency (and time to first token when "
            "mapped); simulate latency_ms",
        )

    def index(self, metric: str) -> BinnedIndex:  # type: ignore[override]
        """The binned index of a latency histogram (built on first use)."""
        cached = self._binned.get(metric)
        if cached is None:
            hist = self._histograms(metric)
            cached = BinnedIndex.build(hist.edges_ms, hist.counts)
            self._binned[metric] = cached
        return cached

    def good_per_bucket(self, metric: str, threshold: float, op: Op) -> np.ndarray:
        """Exact counts where the source counted this threshold itself (SQL), else the bins
        wholly at or under it."""
        exact = self.part.threshold_counts.get((metric, op, float(threshold)))
        if exact is not None:
            return exact.astype(np.int64)
        return super().good_per_bucket(metric, threshold, op)

    def counted_in_source(self, metric: str, threshold: float, op: Op) -> bool:
        """Whether the database counted this threshold exactly."""
        return (metric, op, float(threshold)) in self.part.threshold_counts

    def evaluated_threshold(self, metric: str, threshold: float, op: Op) -> float:
        """The threshold itself when counted in the source, else the bin edge at or below."""
        if (metric, op, float(threshold)) in self.part.threshold_counts:
            return threshold
        return self.index(metric).snap(threshold)

    def distribution(self, metric: str) -> Distribution:
        """The histogram of a latency column over all buckets."""
        index = self.index(metric)
        known = {q: v for (m, q), v in self.part.exact_percentiles.items() if m == metric}
        return BinnedValues(
            edges=index.edges, counts=index.column_totals, exactness=self.exactness, known=known
        )

    def slice_histograms(self, metric: str, size: int, edges: np.ndarray) -> np.ndarray:
        """Counts per slice of `size` buckets on other edges: each source bin goes whole to
        the bin its midpoint falls in (these are drawing bins, not figures)."""
        base = self.require_time()
        n, bins = -(-base.n // size), edges.size - 1
        index = self.index(metric)
        lut = (np.arange(base.n) // size).astype(np.int32)
        groups = index.group_of_entry(("slices", size), lut, n)
        cols = np.repeat(np.arange(index.colptr.size - 1), np.diff(index.colptr))
        lo, hi = index.edges[:-1], index.edges[1:]
        mid = np.where(np.isfinite(hi), (lo + hi) / 2, lo)
        target = np.clip(np.searchsorted(edges, mid, side="right") - 1, 0, bins - 1)
        return (
            np.bincount(
                groups.astype(np.int64) * bins + target[cols],
                weights=index.data,
                minlength=n * bins,
            )
            .astype(np.int64)[: n * bins]
            .reshape(n, bins)
        )

    @property
    def has_tokens(self) -> bool:
        """Aggregates count requests only."""
        return False

    def metrics(self) -> tuple[str, ...]:
        """Latency columns these aggregates carry."""
        return ("latency_ms", "ttft_ms") if self.part.ttft is not None else ("latency_ms",)

    def joint_counts(self, conditions: tuple[Condition, ...]) -> tuple[np.ndarray, np.ndarray]:
        """Refused: joint conditions need request rows."""
        raise SpecError(
            "a joint SLI cannot be simulated on aggregated data",
            where="sli.conditions",
            hint=JOINT_HINT,
        )

    def tokens_per_bucket(self) -> np.ndarray:
        """Refused: aggregates count requests, not output tokens."""
        raise SpecError(
            "aggregated data carry no output token counts",
            where="sli.unit",
            hint="measure throughput in requests",
        )

    def view(self, segment: tuple[tuple[str, str], ...]) -> AggregateEngine:
        """The engine of one segment (cached)."""
        if not segment:
            return self
        key = tuple(sorted(segment))
        cached = self._views.get(key)
        if not isinstance(cached, AggregateEngine):
            cached = AggregateEngine(self.aggregates, tuple(self.segment) + key)
            self._views[key] = cached
        return cached

    def segment_columns(self) -> tuple[str, ...]:
        """Columns the aggregates were grouped by."""
        return self.aggregates.group_by

    def segment_values(self, column: str) -> list[str]:
        """Values of a grouped column, most requests first."""
        by = self.aggregates.group_by
        if column not in by:
            raise SpecError(
                f"{column!r} is not a segment of these aggregates",
                where="segment",
                hint=f"segments: {', '.join(by) or 'none (aggregate with --segment COL)'}",
            )
        i = by.index(column)
        totals: dict[str, int] = {}
        for key, group in self.aggregates.groups.items():
            if all(dict(zip(by, key, strict=True)).get(c) == v for c, v in self.segment):
                totals[key[i]] = totals.get(key[i], 0) + group.requests
        return [v for v, n in sorted(totals.items(), key=lambda p: -p[1]) if n > 0]


def _select(agg: Aggregates, segment: tuple[tuple[str, str], ...]) -> Aggregates:
    """The aggregates of the groups matching every (column, value) of `segment`, summed."""
    if not segment:
        return agg
    by = agg.group_by
    for column, _ in segment:
        if column not in by:
            raise SpecError(
                f"{column!r} is not a segment of these aggregates",
                where=f"segment.{column}",
                hint=f"segments: {', '.join(by) or 'none'}",
            )
    wanted = dict(segment)
    parts = [
        g
        for key, g in agg.groups.items()
        if all(wanted.get(c, v) == v for c, v in zip(by, key, strict=True))
    ]
    if not parts:
        where = ", ".join(f"{c}={v}" for c, v in segment)
        raise SpecError(f"no requests match the segment filter {where}", where="segment")
    total = sum((p.total for p in parts[1:]), parts[0].total.copy())
    ok = sum((p.ok for p in parts[1:]), parts[0].ok.copy())
    latency = parts[0].latency
    counts = sum((p.latency.counts for p in parts[1:]), latency.counts)
    ttft = parts[0].ttft
    if ttft is not None:
        ttft_counts = sum((p.ttft.counts for p in parts[1:] if p.ttft is not None), ttft.counts)
        ttft = Histograms(edges_ms=ttft.edges_ms, counts=ttft_counts, first_bin=ttft.first_bin)
    counted = {
        key: sum((p.threshold_counts[key] for p in parts[1:]), parts[0].threshold_counts[key])
        for key in parts[0].threshold_counts
        if all(key in p.threshold_counts for p in parts)
    }
    return Aggregates(
        source=agg.source,
        origin_ns=agg.origin_ns,
        n=agg.n,
        first_ns=agg.first_ns,
        last_ns=agg.last_ns,
        total=total,
        ok=ok,
        latency=Histograms(edges_ms=latency.edges_ms, counts=counts, first_bin=latency.first_bin),
        ttft=ttft,
        exactness=agg.exactness,
        segment=tuple(segment),
        threshold_counts=counted,
    )
