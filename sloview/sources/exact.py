"""Exact figures a database computes beside the histograms: good counts per minute at the
thresholds the room chose, and percentiles with `percentile_cont` where the dialect has it.

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


def threshold_sql(
    dialect: cube.Dialect, spec: cube.CubeSpec, source_sql: str, ranged: bool, n: int
) -> str:
    """Per minute, status, validity and group: requests, and those under each of `n`
    thresholds bound as :t0 .. (with :o0 .. = 1 for `lt`, 0 for `lte`)."""
    r = spec.resolved
    x = cube.row_sql(dialect, spec)
    columns = [
        f"{x.key} AS b",
        f"{x.status} AS s",
        f"{cube.validity_sql(x.latency)} AS f",
        f"{x.latency} AS v",
        *x.groups,
    ]
    keys = ["b", "s", "f", *(f"g{i}" for i in range(len(x.groups)))]
    where = f" WHERE {dialect.range_filter(r.timestamp or '', spec.kind)}" if ranged else ""
    under = [f"SUM(CASE WHEN {cube.under_sql(i)} THEN 1 ELSE 0 END) AS c{i}" for i in range(n)]
    return (
        f"SELECT {x.minute} AS m, {', '.join(keys[1:])}, n, "
        f"{', '.join(f'c{i}' for i in range(n))} FROM ("
        f"SELECT {', '.join(keys)}, COUNT(*) AS n, {', '.join(under)} "
        f"FROM (SELECT {', '.join(columns)} FROM {source_sql}{where}) AS r "
        f"GROUP BY {', '.join(keys)}) AS c"
    )


def threshold_params(thresholds: tuple[Threshold, ...]) -> dict[str, Any]:
    """Bound values for `threshold_sql`."""
    params: dict[str, Any] = {}
    for i, (op, value) in enumerate(thresholds):
        params[f"t{i}"] = float(value)
        params[f"o{i}"] = 1 if op == "lt" else 0
    return params


def with_threshold_counts(
    agg: Aggregates,
    counted: pa.Table | cube.Cells,
    spec: cube.CubeSpec,
    thresholds: tuple[Threshold, ...],
) -> Aggregates:
    """The aggregates (and each of their groups) with exact per-minute good counts, from
    `threshold_sql` rows or the cells of a `cube.packed_sql` that counted them (c0 ..)."""
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
    statuses `threshold_sql` saw; None when every request succeeds (no status policy)."""
    if spec.policy.kind == "none":
        return None
    status = table.column("s")
    distinct = status.unique() if hasattr(status, "unique") else pa.array(status).unique()
    values = distinct.drop_null() if hasattr(distinct, "drop_null") else distinct
    ok, known = spec.policy.classify(values, len(values))
    null_ok, null_known = spec.policy.classify(pa.array([None], status.type), 1)
    chosen = [v for v, good, k in zip(values.to_pylist(), ok, known, strict=True) if good and k]
    return chosen, bool(null_ok[0]) and bool(null_known[0])


def percentile_sql(
    dialect: cube.Dialect,
    spec: cube.CubeSpec,
    source_sql: str,
    ranged: bool,
    oks: tuple[list[Any], bool] | None,
) -> str:
    """PostgreSQL: `percentile_cont(:qs)` of the latency of successful requests with a valid
    latency (the statuses counted as successes bound as :oks)."""
    r = spec.resolved
    q = dialect.quote
    lat = cube.row_sql(dialect, spec).latency
    conditions = [f"{q(r.timestamp or '')} IS NOT NULL", f"{lat} >= 0", f"{lat} < 1e300"]
    if ranged:
        conditions.append(dialect.range_filter(r.timestamp or "", spec.kind))
    if oks is not None:
        column = q(spec.policy.column or "")
        either = f"{column} = ANY(:oks)" + (f" OR {column} IS NULL" if oks[1] else "")
        conditions.append(f"({either})")
    for i, (column, _) in enumerate(r.where):
        conditions.append(f"LOWER(CAST({q(column)} AS TEXT)) = :w{i}")
    return (
        f"SELECT percentile_cont(CAST(:qs AS DOUBLE PRECISION[])) WITHIN GROUP (ORDER BY {lat}) "
        f"AS p FROM {source_sql} WHERE {' AND '.join(conditions)}"
    )


def percentile_params(spec: cube.CubeSpec, qs: tuple[float, ...], oks: Any) -> dict[str, Any]:
    """Bound values for `percentile_sql`."""
    params: dict[str, Any] = {"qs": [q / 100.0 for q in qs]}
    if oks is not None:
        params["oks"] = list(oks[0])
    for i, (_, value) in enumerate(spec.resolved.where):
        params[f"w{i}"] = value.strip().lower()
    return params
