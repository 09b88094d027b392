"""Distribution summary of a request table: counts, span, error rate and latency percentiles."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sloview import formatting as fmt
from sloview.engine.core import EXACT
from sloview.engine.distribution import BinnedValues
from sloview.errors import SpecError
from sloview.ingest.error_classes import ERROR_CLASS_LABELS, ERROR_CLASSES
from sloview.ingest.table import ERROR_CLASS, LATENCY, OK, TS, RequestTable
from sloview.sources.aggregates import Aggregates
from sloview.stats import percentile_sorted

SUMMARY_PERCENTILES = (("p50", 50.0), ("p90", 90.0), ("p95", 95.0), ("p99", 99.0), ("p99.9", 99.9))


@dataclass(frozen=True)
class LatencySummary:
    """Percentiles, mean and max of successful requests' latency, in ms."""

    count: int
    percentiles: dict[str, float]
    mean: float
    max: float

    def to_dict(self) -> dict[str, float | None]:
        """`{p50, p90, p95, p99, p99.9, mean, max}` with null for no data."""
        out: dict[str, float | None] = {k: _num(v) for k, v in self.percentiles.items()}
        out["mean"] = _num(self.mean)
        out["max"] = _num(self.max)
        return out


@dataclass(frozen=True)
class GroupSummary:
    """Counts, errors and latency of one group of requests (all, or one segment value)."""

    rows: int
    errors: int
    latency: LatencySummary

    @property
    def error_rate(self) -> float:
        """Share of requests that failed."""
        return self.errors / self.rows if self.rows else math.nan


@dataclass(frozen=True)
class Summary:
    """What `sloview summarize` reports."""

    source: str
    source_format: str
    rows_read: int
    dropped: dict[str, int]
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    overall: GroupSummary
    segments: dict[str, dict[str, GroupSummary]]
    policy: str
    notes: tuple[str, ...]
    error_classes: dict[str, int] = field(default_factory=dict)
    # How far to trust the figures: exact for request rows, the binning for aggregates.
    exactness: str = EXACT
    # The first excluded row per reason: (row from 1, value as written).
    examples: dict[str, tuple[int, str]] = field(default_factory=dict)

    @property
    def exact(self) -> bool:
        """Whether the figures come from every request (not from aggregates)."""
        return self.exactness == EXACT

    @property
    def span_s(self) -> float:
        """Seconds from the first to the last request (NaN without timestamps)."""
        if self.start is None or self.end is None:
            return math.nan
        return (pd.Timestamp(self.end) - pd.Timestamp(self.start)).total_seconds()

    @property
    def requests_per_second(self) -> float:
        """Requests over the measured span (NaN without timestamps or a span)."""
        span = self.span_s
        return self.overall.rows / span if span > 0 else math.nan

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of `sloview summarize --json`."""
        out: dict[str, Any] = {
            "source": self.source,
            "format": self.source_format,
            "rows": self.overall.rows,
            "rows_read": self.rows_read,
            "dropped": dict(self.dropped),
            "dropped_examples": {
                reason: {"row": row, "value": value}
                for reason, (row, value) in self.examples.items()
            },
            "start": fmt.iso_utc(self.start),
            "end": fmt.iso_utc(self.end),
            "span_s": _num(self.span_s),
            "requests_per_second": _num(self.requests_per_second),
            "errors": self.overall.errors,
            "error_rate": _num(self.overall.error_rate),
            "latency_ms": self.overall.latency.to_dict(),
            "error_classes": dict(self.error_classes),
            "status_policy": self.policy,
            "notes": list(self.notes),
            "exactness": self.exactness,
        }
        if self.segments:
            out["segments"] = {
                column: [
                    {
                        "value": value,
                        "rows": group.rows,
                        "errors": group.errors,
                        "error_rate": _num(group.error_rate),
                        "latency_ms": group.latency.to_dict(),
                    }
                    for value, group in groups.items()
                ]
                for column, groups in self.segments.items()
            }
        return out


def latency_summary(latency_ms: np.ndarray) -> LatencySummary:
    """Summary of successful requests' latencies (NaN-free array)."""
    values = np.sort(latency_ms[np.isfinite(latency_ms)])
    return LatencySummary(
        count=int(values.size),
        percentiles={k: percentile_sorted(values, q) for k, q in SUMMARY_PERCENTILES},
        mean=float(values.mean()) if values.size else math.nan,
        max=float(values[-1]) if values.size else math.nan,
    )


def group_summary(frame: pd.DataFrame) -> GroupSummary:
    """Rows, errors and success latency of a slice of the canonical table."""
    ok = frame[OK].to_numpy()
    latency = frame[LATENCY].to_numpy()[ok]
    return GroupSummary(rows=len(frame), errors=int((~ok).sum()), latency=latency_summary(latency))


def summarize(table: RequestTable, segments: tuple[str, ...] = ()) -> Summary:
    """Summarise a request table overall and, optionally, per value of each segment column."""
    frame = table.frame
    start = end = None
    if table.has_timestamps and len(frame):
        start, end = frame[TS].iloc[0], frame[TS].iloc[-1]
    per_segment: dict[str, dict[str, GroupSummary]] = {}
    for column in segments:
        groups = frame.groupby(column, observed=True, sort=True)
        per_segment[column] = {str(value): group_summary(group) for value, group in groups}
    return Summary(
        source=table.source_name,
        source_format=table.mapping.source_format,
        rows_read=table.rows_read,
        dropped=dict(table.dropped),
        start=start,
        end=end,
        overall=group_summary(frame),
        segments=per_segment,
        policy=table.mapping.policy_description,
        notes=table.notes,
        error_classes=error_class_counts(table),
        examples=dict(table.examples),
    )


def summarize_aggregates(
    agg: Aggregates, segments: tuple[str, ...] = (), source_format: str = "aggregates"
) -> Summary:
    """The same summary from per-minute aggregates: counts exact, latency from the bins."""
    per_segment: dict[str, dict[str, GroupSummary]] = {}
    for column in segments:
        if column not in agg.group_by:
            raise SpecError(
                f"{column!r} is not a segment of these aggregates",
                where="--segment",
                hint=f"segments: {', '.join(agg.group_by) or 'none'}",
            )
        i = agg.group_by.index(column)
        merged: dict[str, list[Aggregates]] = {}
        for key, group in agg.groups.items():
            merged.setdefault(key[i], []).append(group)
        # Most requests first, as engines list segment values (aggregates keep no file order).
        groups = {value: _binned_group(parts, agg.exactness) for value, parts in merged.items()}
        per_segment[column] = dict(sorted(groups.items(), key=lambda p: (-p[1].rows, p[0])))
    overall = _binned_group([agg], agg.exactness)
    notes = list(agg.notes)
    # Prometheus's +Inf bucket has no upper edge: what lies in it has no known maximum.
    open_top = overall.latency.count > 0 and not np.isfinite(agg.edges_ms[-1])
    above = int(_bin_totals([agg])[-1]) if open_top else 0
    if above:
        notes.append(
            f"{above:,} successful request{'s' if above != 1 else ''} lie above the highest "
            f"bucket bound ({agg.edges_ms[-2]:g} ms): the maximum shown is that bound, a lower "
            "bound of the true maximum."
        )
    return Summary(
        source=agg.source,
        source_format=source_format,
        rows_read=agg.rows_read,
        dropped=dict(agg.dropped),
        # Aggregates know times to the minute (the last one ends 1 ns before the next):
        # whole seconds say no more than that.
        start=pd.Timestamp(agg.first_ns, tz="UTC").floor("s"),
        end=pd.Timestamp(agg.last_ns, tz="UTC").floor("s"),
        overall=overall,
        segments=per_segment,
        policy=agg.policy,
        notes=tuple(notes),
        # Aggregates count requests and failures, not why each failed.
        error_classes={},
        exactness=agg.exactness,
    )


def _bin_totals(parts: list[Aggregates]) -> np.ndarray:
    """Successful requests per latency bin over all buckets of some aggregates."""
    return np.sum([np.asarray(p.counts.sum(axis=0), dtype=np.int64).ravel() for p in parts], axis=0)


def _binned_group(parts: list[Aggregates], exactness: str) -> GroupSummary:
    """Rows, errors and the binned latency summary of one or more aggregates summed."""
    counts = _bin_totals(parts)
    edges = parts[0].edges_ms
    # Percentiles the database computed exactly hold for the whole only, not a sum of groups.
    known = (
        {q: v for (m, q), v in parts[0].exact_percentiles.items() if m == "latency_ms"}
        if len(parts) == 1
        else {}
    )
    return GroupSummary(
        rows=sum(p.requests for p in parts),
        errors=sum(p.errors for p in parts),
        latency=binned_latency_summary(edges, counts, exactness, known),
    )


def binned_latency_summary(
    edges: np.ndarray,
    counts: np.ndarray,
    exactness: str,
    known: dict[float, float] | None = None,
) -> LatencySummary:
    """Percentiles placed inside their bins (or exact where the source computed them), the
    mean from bin midpoints, and the max as the upper edge of the highest non-empty finite
    bin."""
    dist = BinnedValues(edges=edges, counts=counts, exactness=exactness, known=known or {})
    n = dist.size
    if n == 0:
        return LatencySummary(
            count=0,
            percentiles={k: math.nan for k, _ in SUMMARY_PERCENTILES},
            mean=math.nan,
            max=math.nan,
        )
    lo, hi = edges[:-1], edges[1:]
    finite = np.isfinite(hi)
    # An open +Inf bin has no midpoint: its lower bound stands in, as histogram_quantile does.
    mid = np.where(finite, (lo + np.where(finite, hi, 0.0)) / 2, lo)
    used = np.flatnonzero(counts)
    top = int(used[-1])
    return LatencySummary(
        count=n,
        percentiles={k: dist.percentile(q) for k, q in SUMMARY_PERCENTILES},
        mean=float((counts * mid).sum() / n),
        max=float(hi[top] if finite[top] else lo[top]),
    )


def error_class_counts(table: RequestTable) -> dict[str, int]:
    """Requests of each error class, every class in the fixed order (0 where none)."""
    if ERROR_CLASS not in table.frame.columns:
        return dict.fromkeys(ERROR_CLASSES, 0)
    codes = table.frame[ERROR_CLASS].cat.codes.to_numpy()
    counts = np.bincount(codes[codes >= 0], minlength=len(ERROR_CLASSES))
    return {name: int(count) for name, count in zip(ERROR_CLASSES, counts, strict=True)}


def error_breakdown(table: RequestTable) -> pd.DataFrame:
    """Per error class: requests, share of all requests, and whether the class counts as bad."""
    # One row per class in the fixed order of ERROR_CLASSES, empty classes included, so the
    # breakdown keeps its shape; counts_as_bad follows the mapping in force.
    counts = error_class_counts(table)
    good = set(table.mapping.good_classes)
    total = table.rows
    return pd.DataFrame(
        {
            "error_class": list(ERROR_CLASSES),
            "label": [ERROR_CLASS_LABELS[c] for c in ERROR_CLASSES],
            "requests": [counts[c] for c in ERROR_CLASSES],
            "share": [counts[c] / total if total else math.nan for c in ERROR_CLASSES],
            "counts_as_bad": [c not in good for c in ERROR_CLASSES],
        }
    )


def _num(value: float) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value
