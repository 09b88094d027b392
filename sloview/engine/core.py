"""The engine: everything precomputed once per data set that every simulation reuses."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

import numpy as np
import pandas as pd

from sloview.engine.distribution import Distribution, SortedValues
from sloview.engine.index import GroupedValues, LatencyIndex
from sloview.engine.joint import JointRows, build_joint_rows
from sloview.engine.timebase import BUCKET_S, Periods, TimeBase, day_starts, periods_for
from sloview.errors import IN_MAPPING_FORM, SpecError
from sloview.ingest.table import (
    LATENCY_COLUMNS,
    OK,
    OUTPUT_TOKENS,
    STRAY_TIMESTAMP,
    TS,
    RequestTable,
    times_ns,
)
from sloview.model import Condition, Exclusion, Op, TimeWindow

EXACT = "exact: computed from every request"
MEMO_ENTRIES = 64
JOINT_COUNT_ENTRIES = 8


class Engine:
    """Per-minute counts and exact latency indexes of one request table (or one segment)."""

    # Whether figures come from every request (True) or from aggregates (see `exactness`).
    exact = True
    exactness = EXACT

    def __init__(self, table: RequestTable, segment: tuple[tuple[str, str], ...] = ()) -> None:
        self.table = table
        self.source_name = table.source_name
        self.segment = segment
        frame = table.frame
        if segment:
            frame = frame[_segment_mask(frame, segment, table.segments)]
            if frame.empty:
                where = ", ".join(f"{c}={v}" for c, v in segment)
                raise SpecError(f"no requests match the segment filter {where}", where="segment")
        self.frame = frame
        self.rows = len(frame)
        self._indexes: dict[str, LatencyIndex] = {}
        self._joint: dict[tuple[str, ...], JointRows] = {}
        self._joint_counts: dict[tuple[Condition, ...], tuple[np.ndarray, np.ndarray]] = {}
        self._views: dict[tuple[tuple[str, str], ...], Engine] = {}
        self._luts: dict[Hashable, tuple[np.ndarray, int]] = {}
        self._tokens: np.ndarray | None = None
        self._periods: dict[TimeWindow, Periods] = {}
        self._segment_values: dict[str, list[str]] = {}
        self._memo: dict[Hashable, Any] = {}
        self.ok = frame[OK].to_numpy()
        if TS not in frame.columns or frame.empty:
            self.base: TimeBase | None = None
            self.buckets = np.zeros(0, dtype=np.int32)
            self.total = self.ok_count = np.zeros(0, dtype=np.int64)
            self.row_edges = np.zeros(1, dtype=np.int64)
            return
        ts_ns = times_ns(frame)
        self.base = TimeBase.from_times(ts_ns, where=self.source_name)
        # Rows are in time order (the canonical table is sorted, views keep the order).
        starts = self.base.bucket_starts(ts_ns)
        # Row edges of every bucket (rows are in time order): bucket b is rows
        # row_edges[b]:row_edges[b + 1].
        self.row_edges = starts.astype(np.int64)
        self.total = np.diff(starts).astype(np.int64)
        self.buckets = np.repeat(np.arange(self.base.n, dtype=np.int32), self.total)
        ok_before = np.zeros(self.rows + 1, dtype=np.int64)
        np.cumsum(self.ok, out=ok_before[1:])
        self.ok_count = ok_before[starts[1:]] - ok_before[starts[:-1]]

    @property
    def has_time(self) -> bool:
        """Whether requests carry timestamps (required for any SLO simulation)."""
        return self.base is not None

    @property
    def span_s(self) -> float | None:
        """Seconds from the first to the last request (None without timestamps)."""
        return None if self.base is None else (self.base.last_ns - self.base.first_ns) / 1e9

    def slice_seconds(self, slice_s: int) -> float:
        """The seconds a rate per slice divides by: the slice, or the data's whole span when
        that is shorter (a 7-second run reads 85 requests/s, not 599 per minute)."""
        span = self.span_s
        return float(slice_s) if span is None else float(min(slice_s, max(span, 1.0)))

    def first_slice(self, slice_s: int) -> int:
        """The slice (counted from the midnight origin) holding the first request: time
        charts start there, not at the midnight before a run that began in the evening."""
        base = self.require_time()
        return int((base.first_ns - base.origin_ns) // (slice_s * 10**9))

    @property
    def synthetic_times_note(self) -> str | None:
        """What to say wherever times are shown, when the times were invented (else None)."""
        return self.table.synthetic_times_note

    @property
    def set_apart(self) -> tuple[int, str]:
        """Requests set apart as stray timestamps, and the first of them ("" if none)."""
        n = int(self.table.dropped.get(STRAY_TIMESTAMP, 0))
        return n, self.table.example(STRAY_TIMESTAMP) if n else ""

    @property
    def n_buckets(self) -> int:
        """Number of minute buckets spanned by the data."""
        return self.base.n if self.base is not None else 0

    def require_time(self) -> TimeBase:
        """The time base, or a clear refusal for data without timestamps."""
        if self.base is None:
            raise SpecError(
                "these requests have no timestamps, so an SLO cannot be simulated over time",
                where=self.source_name,
                hint="name the time column with --timestamp COL; distribution summaries still "
                "work without it",
                app_hint=f"choose the time column {IN_MAPPING_FORM}; the Explore page's "
                "distribution works without it",
            )
        return self.base

    def index(self, metric: str) -> LatencyIndex:
        """The exact index of a latency column over successful requests (built on first use)."""
        cached = self._indexes.get(metric)
        if cached is not None:
            return cached
        self.require_time()
        if metric not in self.frame.columns:
            raise SpecError(
                f"the data have no {metric} column",
                where="sli.metric",
                hint="time to first token and time per token need ttft and output token columns",
            )
        values = self.frame[metric].to_numpy(dtype=np.float64, na_value=np.nan)
        usable = self.ok & np.isfinite(values) & (values >= 0)
        index = LatencyIndex.build(
            np.ascontiguousarray(values[usable]), self.buckets[usable], self.n_buckets
        )
        self._indexes[metric] = index
        return index

    def good_per_bucket(self, metric: str, threshold: float, op: Op) -> np.ndarray:
        """Per bucket: successful requests whose `metric` meets `op threshold` (lte or lt)."""
        index = self.index(metric)
        return index.good_per_bucket(index.rank(threshold, op))

    def counted_in_source(self, metric: str, threshold: float, op: Op) -> bool:
        """Whether the source counted this threshold itself (aggregates only)."""
        return False

    def evaluated_threshold(self, metric: str, threshold: float, op: Op) -> float:
        """The threshold the counts are actually for (itself, for exact data)."""
        return threshold

    def values(self, metric: str) -> np.ndarray:
        """Sorted values of a latency column over successful requests (any data, with or
        without timestamps)."""
        if self.base is not None:
            return self.index(metric).sorted_values
        values = self.frame[metric].to_numpy(dtype=np.float64, na_value=np.nan)
        return np.sort(values[self.ok & np.isfinite(values)])

    def distribution(self, metric: str) -> Distribution:
        """The distribution of a latency column over successful requests (exact)."""
        return SortedValues(self.values(metric), exactness=self.exactness)

    def metrics(self) -> tuple[str, ...]:
        """Latency columns present."""
        return self.table.latency_columns

    @property
    def has_tokens(self) -> bool:
        """Whether output token counts are known (token throughput, goodput per token)."""
        return OUTPUT_TOKENS in self.frame.columns

    def segment_columns(self) -> tuple[str, ...]:
        """Columns the requests can be split by."""
        return self.table.segments

    def slice_histograms(self, metric: str, size: int, edges: np.ndarray) -> np.ndarray:
        """Successful requests per slice of `size` buckets and per bin of `edges` (values
        outside the edges go to the first or last bin): counts[slices, len(edges) - 1]."""
        base = self.require_time()
        n, bins = -(-base.n // size), edges.size - 1
        values = self.frame[metric].to_numpy(dtype=np.float64, na_value=np.nan)
        usable = self.ok & np.isfinite(values) & (values > 0)
        rows = self.buckets[usable] // size
        cols = np.clip(np.searchsorted(edges, values[usable], side="right") - 1, 0, bins - 1)
        return np.bincount(rows * bins + cols, minlength=n * bins).reshape(n, bins)

    def joint_rows(self, metrics: tuple[str, ...]) -> JointRows:
        """Successful requests with a value in every one of `metrics`, per bucket (cached)."""
        self.require_time()
        # One entry per set of columns, in a fixed order, whatever order conditions come in.
        key = tuple(m for m in LATENCY_COLUMNS if m in metrics)
        cached = self._joint.get(key)
        if cached is not None:
            return cached
        for metric in metrics:
            if metric not in LATENCY_COLUMNS:
                raise SpecError(f"{metric!r} is not a latency column", where="sli.conditions")
            if metric not in self.frame.columns:
                raise SpecError(
                    f"the data have no {metric} column",
                    where="sli.conditions",
                    hint="time to first token and time per token need ttft and output token "
                    "columns",
                )
        columns = {
            m: self.frame[m].to_numpy(dtype=np.float64, na_value=np.nan, copy=False) for m in key
        }
        rows = build_joint_rows(key, columns, self.ok, self.row_edges)
        self._joint[key] = rows
        return rows

    def joint_counts(self, conditions: tuple[Condition, ...]) -> tuple[np.ndarray, np.ndarray]:
        """Per bucket: requests meeting every condition, and valid requests (failed ones too)."""

        key = tuple(conditions)
        cached = self._joint_counts.get(key)
        if cached is None:
            rows = self.joint_rows(tuple(c.metric for c in conditions))
            valid = rows.per_bucket + (self.total - self.ok_count)
            cached = (rows.good_per_bucket(conditions), valid)
            # Kept apart from `memo`: a threshold slider makes a new entry per move, which
            # would push out the threshold-independent values the memo holds for speed.
            if len(self._joint_counts) >= JOINT_COUNT_ENTRIES:
                self._joint_counts.pop(next(iter(self._joint_counts)))
            self._joint_counts[key] = cached
        return cached[0].copy(), cached[1].copy()

    def tokens_per_bucket(self) -> np.ndarray:
        """Output tokens of successful requests per bucket."""
        if self._tokens is None:
            if OUTPUT_TOKENS not in self.frame.columns:
                raise SpecError(
                    "the data have no output token counts",
                    where="sli.unit",
                    hint="map the output token column, or measure throughput in requests",
                )
            tokens = self.frame[OUTPUT_TOKENS].to_numpy(dtype=np.float64, na_value=0.0)
            weights = np.where(self.ok, tokens, 0.0)
            self._tokens = np.bincount(self.buckets, weights=weights, minlength=self.n_buckets)
        return self._tokens

    def periods(self, window: TimeWindow) -> Periods:
        """The evaluation periods of an SLO window over this data (cached)."""
        cached = self._periods.get(window)
        if cached is None:
            cached = periods_for(self.require_time(), window)
            self._periods[window] = cached
        return cached

    def view(self, segment: tuple[tuple[str, str], ...]) -> Engine:
        """The engine of a segment of these requests (cached)."""
        if not segment:
            return self
        key = tuple(sorted(segment))
        cached = self._views.get(key)
        if cached is None:
            cached = Engine(self.table, tuple(self.segment) + key)
            self._views[key] = cached
        return cached

    def segment_values(self, column: str) -> list[str]:
        """Values of a segment column present in these requests, most requests first."""
        if column not in self.frame.columns:
            raise SpecError(
                f"{column!r} is not a segment of this data",
                where="segment",
                hint=f"segments: {', '.join(self.table.segments) or 'none'}",
            )
        cached = self._segment_values.get(column)
        if cached is None:
            counts = self.frame[column].value_counts()
            cached = [str(v) for v, c in counts.items() if c > 0]
            self._segment_values[column] = cached
        return list(cached)

    # -- bucket maps -----------------------------------------------------------------------

    def excluded(self, exclusions: tuple[Exclusion, ...]) -> np.ndarray:
        """Per bucket: whether it falls in an exclusion (maintenance) range."""
        base = self.require_time()
        mask = np.zeros(base.n, dtype=bool)
        for ex in exclusions:
            lo = max(0, min(base.n, (int(ex.start.value) - base.origin_ns) // (BUCKET_S * 10**9)))
            hi = max(0, min(base.n, base.bucket_at(ex.end)))
            mask[lo:hi] = True
        return mask

    def slice_map(
        self, slice_s: int, exclusions: tuple[Exclusion, ...]
    ) -> tuple[Hashable, np.ndarray, int]:
        """(key, bucket -> slice map, number of slices); excluded buckets map past the end."""
        size = slice_s // BUCKET_S
        key = ("slice", size, exclusions)
        if key not in self._luts:
            n_slices = -(-self.n_buckets // size)
            lut = (np.arange(self.n_buckets, dtype=np.int64) // size).astype(np.int32)
            lut[self.excluded(exclusions)] = n_slices
            self._luts[key] = (lut, n_slices)
        lut, n = self._luts[key]
        return key, lut, n

    def day_map(
        self, tz: str, exclusions: tuple[Exclusion, ...]
    ) -> tuple[Hashable, np.ndarray, np.ndarray]:
        """(key, bucket -> local day map, day start buckets); excluded buckets map past the end."""
        base = self.require_time()
        key = ("day", tz, exclusions)
        starts = day_starts(base, tz)
        if key not in self._luts:
            lut = (np.searchsorted(starts, np.arange(base.n), side="right") - 1).astype(np.int32)
            lut[self.excluded(exclusions)] = len(starts)
            self._luts[key] = (lut, len(starts))
        return key, self._luts[key][0], starts

    def grouped(
        self, metric: str, slice_s: int, exclusions: tuple[Exclusion, ...]
    ) -> GroupedValues:
        """Latency values sorted within each slice (for per-slice percentiles)."""
        key, lut, n = self.slice_map(slice_s, exclusions)
        return self.index(metric).grouped(key, lut, n)

    def memo(self, key: Hashable, build: Callable[[], Any]) -> Any:
        """A value computed once per key on this engine (small, bounded cache)."""
        if key not in self._memo:
            if len(self._memo) >= MEMO_ENTRIES:
                self._memo.pop(next(iter(self._memo)))
            self._memo[key] = build()
        return self._memo[key]

    def cell_ends(self, cell_s: int, n_cells: int) -> np.ndarray:
        """UTC ns at the end of each cell of `cell_s` seconds from the origin (cached)."""
        key = ("cell_ends", cell_s, n_cells)
        if key not in self._luts:
            base = self.require_time()
            ends = base.origin_ns + (np.arange(n_cells, dtype=np.int64) + 1) * (cell_s * 10**9)
            self._luts[key] = (ends, n_cells)
        return self._luts[key][0]

    def bucket_times(self) -> pd.DatetimeIndex:
        """Start time of each bucket."""
        base = self.require_time()
        return base.times(np.arange(base.n))


def _segment_mask(
    frame: pd.DataFrame, segment: tuple[tuple[str, str], ...], known: tuple[str, ...]
) -> np.ndarray:
    mask = np.ones(len(frame), dtype=bool)
    for column, value in segment:
        if column not in frame.columns or column not in known:
            raise SpecError(
                f"{column!r} is not a segment of this data",
                where=f"segment.{column}",
                hint=f"segments: {', '.join(known) or 'none'}",
            )
        col = frame[column]
        if isinstance(col.dtype, pd.CategoricalDtype):
            # Compare on the few categories, not on millions of strings.
            codes = [i for i, c in enumerate(col.cat.categories) if str(c) == str(value)]
            mask &= np.isin(col.cat.codes.to_numpy(), codes)
        else:
            mask &= (col.astype(str) == str(value)).to_numpy()
    return mask
