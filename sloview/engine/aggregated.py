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
from sloview.errors import CONNECT_FORM, SpecError
from sloview.ingest.table import STRAY_TIMESTAMP
from sloview.model import Condition, Op
from sloview.sources.aggregates import Aggregates, Histograms

JOINT_HINT = (
    "a joint SLI judges each request on several columns at once, which per-metric histograms "
    "cannot; load the requests as rows (narrow the time range below the row limit) or "
    "simulate one condition at a time"
)
# What a joint SLI means on histograms, said wherever it is shown (notes, README).
JOINT_BOUND_NOTE = (
    "Joint SLI from separate histograms: which request met which condition is not recorded, "
    "so each minute counts the fewest requests that can have met every condition "
    "(max(0, sum of the conditions' good counts - (conditions - 1) x successful requests), "
    "a lower bound: a target met here is met on the requests too); at most {upper} of "
    "requests can have met them all"
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
        found = self.part.histogram(metric)
        if found is not None:
            return found
        raise SpecError(
            f"the aggregates of {self.source_name} have no {metric} histogram",
            where="sli.metric",
            hint="aggregated sources carry end-to-end latency, and time to first token or per "
            "output token when their histograms are given (--ttft-histogram, "
            "--tpot-histogram, or a --preset); simulate latency_ms",
            app_hint=f"connect again with the TTFT and TPOT histograms (or a preset) under "
            f"'{CONNECT_FORM}' on the Data page, or promise end-to-end latency",
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
        return tuple(
            m for m in ("latency_ms", "ttft_ms", "tpot_ms") if self.part.histogram(m) is not None
        )

    def joint_counts(self, conditions: tuple[Condition, ...]) -> tuple[np.ndarray, np.ndarray]:
        """Per minute: the fewest requests that can have met every condition, and all requests.

        Separate histograms only give, per condition, how many successful requests met it;
        with n successful requests and k conditions at least sum(good) - (k - 1) n met all
        (Frechet's bound, and no tighter one follows from the counts). A request a
        condition's histogram did not measure counts as not meeting it. Failed requests are
        bad, as in every joint SLI. See `joint_upper` for the other side.
        """
        ok = self.ok_count
        goods = [self._condition_good(c) for c in conditions]
        lower = np.maximum(0, np.sum(goods, axis=0) - (len(goods) - 1) * ok)
        return np.minimum(lower, ok), self.total.copy()

    def joint_upper(self, conditions: tuple[Condition, ...]) -> np.ndarray:
        """Per minute: the most requests that can have met every condition (the fewest met
        by any one condition)."""
        return np.min([self._condition_good(c) for c in conditions], axis=0)

    def _condition_good(self, condition: Condition) -> np.ndarray:
        if condition.metric not in self.metrics():
            raise SpecError(
                f"the aggregates of {self.source_name} have no {condition.metric} histogram",
                where="sli.conditions",
                hint="give its histogram (--ttft-histogram / --tpot-histogram, or a --preset), "
                + JOINT_HINT,
                app_hint="connect again with its histogram (the TTFT or TPOT histogram field, or "
                "a preset) on the Data page, " + JOINT_HINT,
            )
        # Bins at or under the threshold: a lower bound when it falls between bounds.
        return self.good_per_bucket(condition.metric, condition.threshold, condition.op)

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
                app_hint=f"segments: {', '.join(by) or 'none'}; connect again with that column "
                "under 'segments to aggregate by' on the Data page",
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

    def summed(metric: str) -> Histograms | None:
        first = parts[0].histogram(metric)
        if first is None:
            return None
        counts = first.counts
        for p in parts[1:]:
            other = p.histogram(metric)
            if other is not None:
                counts = counts + other.counts
        return Histograms(edges_ms=first.edges_ms, counts=counts, first_bin=first.first_bin)

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
        ttft=summed("ttft_ms"),
        tpot=summed("tpot_ms"),
        exactness=agg.exactness,
        segment=tuple(segment),
        threshold_counts=counted,
    )
