"""Exploration figures as data: percentiles with CIs, percentiles over time, heatmaps, rates.

Pure functions of an engine (or sorted values) -> pandas frames; the charts module turns
them into figures, the pages show them.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from sloview.engine import BUCKET_S, Engine
from sloview.engine.distribution import Distribution
from sloview.errors import SpecError
from sloview.ingest.error_classes import ERROR_CLASSES
from sloview.ingest.table import (
    ERROR_CLASS,
    LATENCY_COLUMNS,
    OK,
    OUTPUT_TOKENS,
    TS,
    RequestTable,
)
from sloview.model import FailedPolicy, Op
from sloview.simulate.results import segment_verdict
from sloview.stats import (
    clopper_pearson,
    percentile_ci,
    percentile_sorted,
    quantile_threshold,
    target_rank,
)

TABLE_PERCENTILES = (50.0, 75.0, 90.0, 95.0, 99.0, 99.9)
HEATMAP_BINS = 48


def percentile_table(dist: Distribution, qs: tuple[float, ...] = TABLE_PERCENTILES) -> pd.DataFrame:
    """Percentiles of a distribution with distribution-free 95% confidence intervals."""
    rows = []
    for q in qs:
        lo, hi = dist.percentile_ci(q)
        rows.append(
            {
                "percentile": f"p{q:g}",
                "value_ms": dist.percentile(q),
                "ci_low_ms": lo,
                "ci_high_ms": hi,
            }
        )
    out = pd.DataFrame(rows)
    out.attrs["n"] = dist.size
    out.attrs["exact"] = dist.exact
    return out


def percentiles_over_time(
    engine: Engine, metric: str, slice_s: int, qs: tuple[float, ...] = (50, 90, 95, 99)
) -> pd.DataFrame:
    """Exact linear percentiles of a latency column per time slice, with request counts."""
    base = engine.require_time()
    if slice_s % BUCKET_S or slice_s <= 0:
        raise SpecError("the slice must be a whole number of minutes", where="slice")
    grouped = engine.grouped(metric, slice_s, ())
    first = engine.first_slice(slice_s)
    starts = base.origin_ns + np.arange(first, grouped.counts.size, dtype=np.int64) * (
        slice_s * 10**9
    )
    data = {f"p{q:g}": grouped.percentile(q)[first:] for q in qs}
    frame = pd.DataFrame(data)
    frame.insert(0, "start", pd.DatetimeIndex(starts.view("datetime64[ns]")).tz_localize("UTC"))
    frame["requests"] = grouped.counts[first:]
    return frame


def rates_over_time(engine: Engine, slice_s: int = 3600) -> pd.DataFrame:
    """Requests, errors, error rate and throughput per slice (default hourly); rates are per
    second of the slice the data cover."""
    base = engine.require_time()
    size = max(1, slice_s // BUCKET_S)
    n = -(-base.n // size)
    total = _sum(engine.total, size, n)
    ok = _sum(engine.ok_count, size, n)
    errors = total - ok
    seconds = engine.slice_seconds(size * BUCKET_S)
    first = engine.first_slice(size * BUCKET_S)
    starts = base.origin_ns + np.arange(first, n, dtype=np.int64) * size * BUCKET_S * 10**9
    with np.errstate(invalid="ignore", divide="ignore"):
        error_rate = np.where(total > 0, errors / np.maximum(total, 1), np.nan)
    frame = pd.DataFrame(
        {
            "start": pd.DatetimeIndex(starts.view("datetime64[ns]")).tz_localize("UTC"),
            "requests": total[first:],
            "errors": errors[first:],
            "error_rate": error_rate[first:],
            "requests_per_s": total[first:] / seconds,
        }
    )
    if engine.exact and OUTPUT_TOKENS in engine.frame.columns:
        tokens = _sum(engine.tokens_per_bucket(), size, n)[first:]
        frame["output_tokens_per_s"] = tokens / seconds
    return frame


# Slice lengths the time charts offer, shortest first.
SLICES = {"1m": 60, "5m": 300, "15m": 900, "1h": 3600, "6h": 21600, "1d": 86400}


def default_slice(span_s: float | None, points: int = 48) -> str:
    """The longest offered slice that still gives about `points` slices over the span."""
    if span_s is None:
        return "1h"
    fitting = [name for name, s in SLICES.items() if s * points <= span_s]
    return fitting[-1] if fitting else "1m"


def latency_heatmap(
    engine: Engine, metric: str, slice_s: int = 3600, bins: int = HEATMAP_BINS
) -> tuple[pd.DatetimeIndex, np.ndarray, np.ndarray]:
    """(slice starts, log-spaced latency bin edges, counts[slices, bins]) of successful requests."""
    base = engine.require_time()
    dist = engine.distribution(metric)
    if dist.size == 0:
        raise SpecError(f"no successful requests with {metric}", where="metric")
    lo, hi = dist.percentile(0.1), dist.percentile(99.9)
    edges = np.geomspace(max(lo, 1e-3), max(hi, lo * 1.01, 1e-3 * 1.01), bins + 1)
    size = max(1, slice_s // BUCKET_S)
    n = -(-base.n // size)
    first = engine.first_slice(size * BUCKET_S)
    counts = engine.slice_histograms(metric, size, edges)[first:]
    starts = base.origin_ns + np.arange(first, n, dtype=np.int64) * size * BUCKET_S * 10**9
    return pd.DatetimeIndex(starts.view("datetime64[ns]")).tz_localize("UTC"), edges, counts


def ecdf_points(dist: Distribution, points: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """A down-sampled empirical CDF (x, share <= x) that keeps the tail visible."""
    return dist.ecdf(points)


def segment_comparison(engine: Engine, column: str, metric: str) -> pd.DataFrame:
    """Per segment value: requests, error rate and latency percentiles (linear)."""
    rows = []
    for value in engine.segment_values(column):
        view = engine.view(((column, value),))
        dist = view.distribution(metric)
        requests = int(view.total.sum()) if view.has_time else view.rows
        errors = requests - int(view.ok_count.sum()) if view.has_time else int((~view.ok).sum())
        rows.append(
            {
                column: value,
                "requests": requests,
                "error_rate": errors / requests if requests else math.nan,
                **{f"p{q:g}_ms": dist.percentile(q) for q in (50, 90, 95, 99)},
            }
        )
    return pd.DataFrame(rows)


SEGMENT_PERCENTILES = (50.0, 90.0, 95.0, 99.0)


def segment_attainment(
    table: RequestTable,
    column: str,
    metric: str,
    threshold: float,
    op: Op = "lte",
    target: float = 0.99,
    failed_requests: FailedPolicy = "exclude",
    qs: tuple[float, ...] = SEGMENT_PERCENTILES,
) -> pd.DataFrame:
    """Per segment value, with or without times: attainment, percentiles, tightest threshold."""
    # Valid requests are successful ones with a value of `metric`, plus every failed request
    # when failed_requests is "bad" (never meeting the threshold), as the engine counts them.
    # Attainment: share of valid requests meeting the threshold, Clopper-Pearson 95% CI.
    # Percentiles (linear, order-statistic CIs) describe successful requests. The tightest
    # threshold is the k-th smallest valid value, k = ceil(target * valid) (k-th largest for
    # gte/gt), with the order-statistic CI of the target quantile; inf when failures miss it.
    frame = table.frame
    if column not in table.segments or column not in frame.columns:
        raise SpecError(
            f"{column!r} is not a segment of this data",
            where="segment",
            hint=f"segments: {', '.join(table.segments) or 'none'}",
        )
    if metric not in LATENCY_COLUMNS or metric not in frame.columns:
        raise SpecError(
            f"the data have no {metric} column",
            where="metric",
            hint=f"latency columns: {', '.join(latency_columns(table))}",
        )
    if op not in ("lte", "lt", "gte", "gt"):
        raise SpecError(f"{op!r} is not a comparison", where="op", hint="use lte, lt, gte or gt")
    if not 0 < target <= 1:
        raise SpecError(f"target {target} is not in (0, 1]", where="target")
    if failed_requests not in ("exclude", "bad"):
        raise SpecError(
            f"{failed_requests!r} is not a failed-request rule",
            where="failed_requests",
            hint="use exclude or bad",
        )
    if not math.isfinite(threshold):
        raise SpecError("the threshold must be a finite number of ms", where="threshold")

    segment = frame[column]
    cats = (
        segment.cat
        if isinstance(segment.dtype, pd.CategoricalDtype)
        else segment.astype(str).astype("category").cat
    )
    seg_codes = cats.codes.to_numpy()
    values = frame[metric].to_numpy(dtype=np.float64, na_value=np.nan)
    ok = frame[OK].to_numpy(dtype=bool)
    measured = ok & np.isfinite(values) & (values >= 0)  # what the engine's index counts
    n_cats = len(cats.categories)
    requests = np.bincount(seg_codes[seg_codes >= 0], minlength=n_cats)
    if ERROR_CLASS in frame.columns:
        cls = frame[ERROR_CLASS].cat.codes.to_numpy()
        has = (cls >= 0) & (seg_codes >= 0)
        by_class = np.bincount(
            seg_codes[has] * len(ERROR_CLASSES) + cls[has], minlength=n_cats * len(ERROR_CLASSES)
        ).reshape(n_cats, len(ERROR_CLASSES))
    else:
        by_class = np.zeros((n_cats, len(ERROR_CLASSES)), dtype=np.int64)
    # Most requests first, as the other per-segment views list them.
    order = sorted(
        (i for i in range(n_cats) if requests[i] > 0),
        key=lambda i: (-requests[i], str(cats.categories[i])),
    )
    larger_is_better = op in ("gte", "gt")
    rows = []
    for i in order:
        member = seg_codes == i
        v = np.sort(values[member & measured])
        failed = int((member & ~ok).sum())
        extra = failed if failed_requests == "bad" else 0
        valid = v.size + extra
        good = _meeting(v, threshold, op)
        lo, hi = clopper_pearson(good, valid)
        row: dict[str, object] = {
            column: str(cats.categories[i]),
            "requests": int(requests[i]),
            "errors": failed,
            **{f"errors_{c}": int(by_class[i, j]) for j, c in enumerate(ERROR_CLASSES)},
            "valid": valid,
            "good": good,
            "attainment": good / valid if valid else math.nan,
            "ci_low": lo,
            "ci_high": hi,
        }
        meets = bool(valid) and good >= target_rank(target, valid)
        error_rate = failed / int(requests[i]) if requests[i] else math.nan
        row["meets_target"] = meets
        row["error_rate"] = error_rate
        row["verdict"] = segment_verdict(meets, error_rate, target, valid)
        for q in qs:
            p_lo, p_hi = percentile_ci(v, q)
            row[f"p{q:g}_ms"] = percentile_sorted(v, q)
            row[f"p{q:g}_ci_low_ms"] = p_lo
            row[f"p{q:g}_ci_high_ms"] = p_hi
        # Failed requests counted bad sit beyond every threshold: +inf (or -inf for gte/gt).
        pad = np.full(extra, -math.inf if larger_is_better else math.inf)
        ranked = np.concatenate([pad, v]) if larger_is_better else np.concatenate([v, pad])
        t, t_lo, t_hi = quantile_threshold(ranked, target, larger_is_better)
        row["tightest_threshold_ms"] = t
        row["tightest_ci_low_ms"] = t_lo
        row["tightest_ci_high_ms"] = t_hi
        rows.append(row)
    out = pd.DataFrame(rows)
    out.attrs.update(
        metric=metric, threshold=threshold, op=op, target=target, failed_requests=failed_requests
    )
    return out


def _meeting(sorted_values: np.ndarray, threshold: float, op: Op) -> int:
    n = sorted_values.size
    if op == "lte":
        return int(np.searchsorted(sorted_values, threshold, side="right"))
    if op == "lt":
        return int(np.searchsorted(sorted_values, threshold, side="left"))
    if op == "gte":
        return n - int(np.searchsorted(sorted_values, threshold, side="left"))
    return n - int(np.searchsorted(sorted_values, threshold, side="right"))


def data_quality(table: RequestTable, engine: Engine) -> dict[str, object]:
    """Span, gaps, request rate and low-traffic share for the data-quality panel."""
    out: dict[str, object] = {"rows": table.rows, "excluded": table.dropped_total}
    if engine.base is None:
        return out
    out.update(_span(engine, table.rows))
    out.update(_activity(engine))
    return out


def _span(engine: Engine, rows: int) -> dict[str, object]:
    """Start, end, span and the request rate over the measured span (NaN for one instant)."""
    base = engine.require_time()
    span_s = float(engine.span_s or 0.0)
    return {
        "start": pd.Timestamp(base.first_ns, tz="UTC"),
        "end": pd.Timestamp(base.last_ns, tz="UTC"),
        "span_s": span_s,
        "requests_per_second": rows / span_s if span_s > 0 else math.nan,
    }


def _activity(engine: Engine) -> dict[str, object]:
    """Longest gap without requests and the share of empty and thin 5-minute slices."""
    base = engine.require_time()
    out: dict[str, object] = {}
    first = (base.first_ns - base.origin_ns) // (BUCKET_S * 10**9)
    active = engine.total[first:] > 0
    # Longest stretch of minutes without a single request.
    gap = 0
    if (~active).any():
        idle = np.concatenate(([0], (~active).astype(np.int8), [0]))
        edges = np.flatnonzero(np.diff(idle))
        gap = int((edges[1::2] - edges[::2]).max())
    out["longest_gap_minutes"] = gap
    five = _sum(engine.total[first:], 5, -(-(engine.total.size - first) // 5))
    out["empty_5min_share"] = float((five == 0).mean()) if five.size else math.nan
    out["low_traffic_5min_share"] = float((five < 10).mean()) if five.size else math.nan
    return out


def latency_columns(table: RequestTable) -> list[str]:
    """Latency columns present, end-to-end first."""
    return [c for c in LATENCY_COLUMNS if c in table.frame.columns]


def engine_quality(engine: Engine) -> dict[str, Any]:
    """`data_quality` for an engine without a request table (aggregated data)."""
    out: dict[str, Any] = {"rows": engine.rows, "excluded": 0}
    if engine.base is None:
        return out
    out.update(_span(engine, engine.rows))
    out.update(_activity(engine))
    return out


def time_span(table: RequestTable) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """First and last request time, or None without timestamps."""
    if not table.has_timestamps or table.rows == 0:
        return None
    ts = table.frame[TS]
    return ts.iloc[0], ts.iloc[-1]


def _sum(per_bucket: np.ndarray, size: int, n: int) -> np.ndarray:
    padded = np.zeros(n * size, dtype=np.float64)
    padded[: per_bucket.size] = per_bucket[: n * size]
    return padded.reshape(n, size).sum(axis=1)
