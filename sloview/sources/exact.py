"""Exact figures a database computes beside the histograms: good counts per minute at the
thresholds the room chose (columns c0 .. of the aggregation query, `sloview.sources.query`),
and the statuses that count as successes for `percentile_cont` where the dialect has it.

Bins make any threshold approximate unless it sits on a bin edge; for the thresholds of the
SLOs being decided the database counts `latency <= T` itself, per minute, status and segment,
and the same file rules (`assemble.classify`) decide which of those requests count. PostgreSQL's
`percentile_cont` is the linear (type 7) definition sloview uses everywhere, so its figures
replace the bin estimates of the overall percentiles.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pyarrow as pa

from sloview.sources import assemble, cube
from sloview.sources.aggregates import BUCKET_NS, Aggregates

Threshold = tuple[str, float]  # (op "lte" | "lt", threshold in ms), on end-to-end latency


def with_threshold_counts(
    agg: Aggregates,
    counted: pa.Table | cube.Cells,
    spec: cube.CubeSpec,
    thresholds: tuple[Threshold, ...],
) -> Aggregates:
    """The aggregates (and each of their groups) with exact per-minute good counts, from the
    rows of `query.aggregation` or the cells of a `query.packed` that counted them (c0 ..)."""
    if isinstance(counted, cube.Cells):
        cells, table = counted, counted.keys
    else:
        table = counted
        n = np.asarray(table.column("n").to_numpy(zero_copy_only=False), dtype=np.int64)
        cells = cube.Cells(table, n, np.zeros(n.size, dtype=np.int64), None, n)
    # Only valid latencies were counted, so rows split off for invalid ones (f != VALID,
    # which repeat their group's counts) never pass `measured`.
    kept, _ = assemble.classify(cells, spec)
    measured = kept["measured"]
    first_minute = agg.origin_ns // BUCKET_NS
    rows = kept["m"] - first_minute
    inside = measured & (rows >= 0) & (rows < agg.n)
    counts = [
        np.asarray(table.column(f"c{i}").to_numpy(zero_copy_only=False), dtype=np.int64)
        for i in range(len(thresholds))
    ]

    def per_bucket(mask: np.ndarray) -> dict[tuple[str, str, float], np.ndarray]:
        return {
            ("latency_ms", op, float(value)): np.bincount(
                rows[mask], weights=c[mask], minlength=agg.n
            ).astype(np.int64)
            for (op, value), c in zip(thresholds, counts, strict=True)
        }

    whole = replace(agg, threshold_counts={**agg.threshold_counts, **per_bucket(inside)})
    if not agg.groups:
        return whole
    seg_index = [spec.group_columns.index(c) for c in spec.segment_columns]
    labels = [np.asarray([str(v) for v in kept[f"g{i}"]], dtype=object) for i in seg_index]
    groups = {}
    for key, group in agg.groups.items():
        mask = inside.copy()
        for values, wanted in zip(labels, key, strict=True):
            mask &= values == wanted
        groups[key] = replace(
            group, threshold_counts={**group.threshold_counts, **per_bucket(mask)}
        )
    return replace(whole, groups=groups)


def ok_status_values(table: pa.Table, spec: cube.CubeSpec) -> tuple[list[Any], bool] | None:
    """(status values counted as successes, whether a missing status is one), from the
    statuses the aggregation saw; None when every request succeeds (no status policy)."""
    if spec.policy.kind == "none":
        return None
    status = table.column("s")
    distinct = status.unique() if hasattr(status, "unique") else pa.array(status).unique()
    values = distinct.drop_null() if hasattr(distinct, "drop_null") else distinct
    ok, known = spec.policy.classify(values, len(values))
    null_ok, null_known = spec.policy.classify(pa.array([None], status.type), 1)
    chosen = [v for v, good, k in zip(values.to_pylist(), ok, known, strict=True) if good and k]
    return chosen, bool(null_ok[0]) and bool(null_known[0])
