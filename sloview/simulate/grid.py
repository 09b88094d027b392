"""The cell grid every budgeting method reduces to: per-cell good and total.

- Occurrences: one cell per minute; good/total are request counts.
- Timeslices: one cell per slice; total is 1 for a slice that counts, good is 1 if it met
  the objective.
- RatioTimeslices: one cell per slice; total is 1 for a slice that counts, good is the
  slice's share of good requests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from sloview.engine import BUCKET_S
from sloview.engine.scope import Scope
from sloview.errors import SpecError
from sloview.model import SLO, Objective
from sloview.simulate.results import Attainment
from sloview.stats import CONFIDENCE, clopper_pearson


@dataclass(frozen=True)
class Grid:
    """Per-cell good and total (see module docstring) plus request counts for context."""

    cell_s: int
    good: np.ndarray
    total: np.ndarray
    events_good: float
    events_total: float

    @property
    def size(self) -> int:
        """Number of cells."""
        return int(self.good.size)


JOINT_THRESHOLD = (
    "a joint SLI has one threshold per condition: change the conditions (SLO.with_conditions)"
)


def event_counts(scope: Scope, threshold: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per minute bucket: good and valid events of a latency, joint or availability SLI."""
    engine, slo = scope.engine, scope.slo
    sli, excluded = slo.sli, engine.excluded(slo.exclusions)
    if sli.kind == "availability":
        good, total = engine.ok_count.copy(), engine.total.copy()
    elif sli.kind == "joint":
        if threshold is not None:
            raise SpecError(JOINT_THRESHOLD, where="threshold")
        good, total = engine.joint_counts(sli.conditions)
    elif sli.kind == "latency":
        t = slo.objective.threshold if threshold is None else threshold
        good = engine.good_per_bucket(sli.metric, float(t or 0.0), slo.objective.op)
        total = engine.index(sli.metric).per_bucket.copy()
        if sli.failed_requests == "bad":
            total = total + (engine.total - engine.ok_count)
    else:
        raise SpecError("throughput is judged per slice, not per request", where="sli.kind")
    good[excluded] = 0
    total[excluded] = 0
    return good, total


def build_grid(scope: Scope, threshold: float | None = None) -> Grid:
    """The cell grid of an SLO on this data (optionally at another threshold)."""
    slo = scope.slo
    if slo.budgeting.method == "Occurrences":
        good, total = event_counts(scope, threshold)
        return Grid(
            BUCKET_S, good.astype(float), total.astype(float), float(good.sum()), float(total.sum())
        )
    t = slo.objective.threshold if threshold is None else threshold
    layout = slice_layout(scope)
    verdict, events, amount_good, amount_total = slice_verdicts(scope, layout, t)
    good, total = slice_cells(slo, layout, verdict, events)
    return Grid(int(slo.budgeting.slice_s or 60), good, total, amount_good, amount_total)


@dataclass(frozen=True)
class SliceLayout:
    size: int
    n: int
    counted: np.ndarray


def slice_layout(scope: Scope) -> SliceLayout:
    """Slices of the SLO's length that lie within the data and outside exclusions."""
    engine, slo = scope.engine, scope.slo
    base = engine.require_time()
    slice_s = int(slo.budgeting.slice_s or 60)
    size = slice_s // BUCKET_S
    n = -(-base.n // size)
    first = (base.first_ns - base.origin_ns) // (slice_s * 10**9)
    counted = np.zeros(n, dtype=bool)
    counted[first:] = True
    counted &= ~slice_any(engine.excluded(slo.exclusions), size, n)
    return SliceLayout(size, n, counted)


def slice_verdicts(
    scope: Scope, layout: SliceLayout, t: float | None
) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Per slice: the good share or 0/1 verdict, and the number of events in it."""
    engine, slo = scope.engine, scope.slo
    sli, b = slo.sli, slo.budgeting
    slice_s = int(b.slice_s or 60)
    limit = float(t or 0.0)
    if sli.kind == "throughput":
        if sli.unit == "goodput":
            per_bucket = engine.joint_counts(sli.conditions)[0]
        elif sli.unit == "output_tokens":
            per_bucket = engine.tokens_per_bucket()
        else:
            per_bucket = engine.total
        amount = slice_sum(per_bucket.astype(float), layout.size, layout.n)
        events = slice_sum(engine.total.astype(float), layout.size, layout.n)
        rate = amount / slice_s
        ok = rate >= limit if slo.objective.op == "gte" else rate > limit
        return ok.astype(float), events, float(amount.sum()), float(amount.sum())
    if sli.is_percentile:
        pct, events = slice_percentiles(scope)
        ok = pct <= limit if slo.objective.op == "lte" else pct < limit
        return ok.astype(float), events, float(ok.sum()), float(layout.n)
    ev_good, ev_total = event_counts(scope, t)
    g = slice_sum(ev_good.astype(float), layout.size, layout.n)
    events = slice_sum(ev_total.astype(float), layout.size, layout.n)
    return ratio_verdict(slo, g, events), events, float(g.sum()), float(events.sum())


def ratio_verdict(slo: SLO, good_events: np.ndarray, events: np.ndarray) -> np.ndarray:
    """Slice ratio (RatioTimeslices) or 0/1 against the slice target (Timeslices)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(events > 0, good_events / np.maximum(events, 1), 0.0)
    if slo.budgeting.method == "Timeslices":
        assert slo.budgeting.slice_target is not None
        return (ratio >= slo.budgeting.slice_target - 1e-12).astype(float)
    return ratio


def slice_cells(
    slo: SLO, layout: SliceLayout, verdict: np.ndarray, events: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(good, total) per slice cell; works on 1-D or (thresholds x slices) verdicts."""
    b = slo.budgeting
    low = events < max(1, b.min_events)
    good = np.where(low, 0.0, verdict)
    total = np.where(low, 0.0, 1.0)
    if b.empty_slices != "skip":
        good = np.where(low, 1.0 if b.empty_slices == "good" else 0.0, good)
        total = np.ones(layout.n)
    good = np.where(layout.counted, good, 0.0)
    total = np.where(layout.counted, total, 0.0)
    return good, total


def slice_percentiles(scope: Scope) -> tuple[np.ndarray, np.ndarray]:
    """Per-slice percentile of the SLI metric (failed requests as infinitely slow when
    counted bad) and the number of events per slice."""
    engine, slo = scope.engine, scope.slo
    b, sli = slo.budgeting, slo.sli
    layout = slice_layout(scope)
    grouped = engine.grouped(sli.metric, int(b.slice_s or 60), slo.exclusions)
    failed = None
    if sli.failed_requests == "bad":
        failed = slice_sum((engine.total - engine.ok_count).astype(float), layout.size, layout.n)
    pct = percentile_with_failures(grouped, float(sli.percentile or 0), failed)
    events = grouped.counts.astype(float) + (failed if failed is not None else 0.0)
    return pct, events


def slice_cells_at(scope: Scope, thresholds: np.ndarray) -> np.ndarray:
    """Good per slice cell for many thresholds at once: shape (thresholds, slices)."""
    engine, slo = scope.engine, scope.slo
    layout = slice_layout(scope)
    if slo.sli.is_percentile:
        pct, events = slice_percentiles(scope)
        ok = pct[None, :] <= thresholds[:, None]
        if slo.objective.op == "lt":
            ok = pct[None, :] < thresholds[:, None]
        good, _ = slice_cells(slo, layout, ok.astype(float), events)
        return good
    index = engine.index(slo.sli.metric)
    key, lut, n = engine.slice_map(int(slo.budgeting.slice_s or 60), slo.exclusions)
    ranks = np.array([index.rank(float(t), slo.objective.op) for t in thresholds])
    g = index.good_per_group_sweep(key, lut, n, ranks)[:, :n].astype(float)
    _, ev_total = event_counts(scope)
    events = slice_sum(ev_total.astype(float), layout.size, layout.n)
    good, _ = slice_cells(slo, layout, ratio_verdict(slo, g, events[None, :]), events)
    return good


def slice_sum(per_bucket: np.ndarray, size: int, n_slices: int) -> np.ndarray:
    if size == 1 and per_bucket.size == n_slices:
        return per_bucket
    if per_bucket.size == n_slices * size:
        return per_bucket.reshape(n_slices, size).sum(axis=1)
    padded = np.zeros(n_slices * size, dtype=per_bucket.dtype)
    padded[: per_bucket.size] = per_bucket
    return padded.reshape(n_slices, size).sum(axis=1)


def slice_any(mask: np.ndarray, size: int, n_slices: int) -> np.ndarray:
    return slice_sum(mask.astype(np.int64), size, n_slices) > 0


def percentile_with_failures(grouped: Any, q: float, failed: np.ndarray | None) -> np.ndarray:
    """Per-slice percentile; failed requests (when counted bad) act as infinitely slow."""
    if failed is None or not np.any(failed):
        return np.asarray(grouped.percentile(q))
    counts = grouped.counts.astype(np.int64)
    n = counts + failed.astype(np.int64)
    out = np.full(n.size, np.nan)
    has = n > 0
    h = (n - 1) * (q / 100.0)
    lo = np.floor(h).astype(np.int64)
    hi = np.minimum(lo + 1, n - 1)
    offsets = grouped.offsets[:-1]
    values = grouped.values

    def at(k: np.ndarray) -> np.ndarray:
        inside = k < counts
        safe = np.where(inside, offsets + np.minimum(k, np.maximum(counts - 1, 0)), 0)
        return np.where(inside, values[safe] if values.size else np.inf, np.inf)

    v_lo, v_hi = at(lo), at(hi)
    frac = h - lo
    with np.errstate(invalid="ignore"):
        interp = np.where(frac > 0, v_lo + frac * (v_hi - v_lo), v_lo)
    out[has] = interp[has]
    return out


def overall_attainment(slo: SLO, grid: Grid) -> Attainment:
    good, total = float(grid.good.sum()), float(grid.total.sum())
    att = good / total if total > 0 else math.nan
    if slo.budgeting.method == "RatioTimeslices":
        counted = grid.good[grid.total > 0]
        lo, hi = mean_ci(counted)
    else:
        lo, hi = clopper_pearson(round(good), round(total))
    return Attainment(good=good, total=total, attainment=att, ci_low=lo, ci_high=hi)


def mean_ci(values: np.ndarray) -> tuple[float, float]:
    n = values.size
    if n < 2:
        return math.nan, math.nan
    from scipy import stats as sps

    mean, sem = float(values.mean()), float(values.std(ddof=1) / math.sqrt(n))
    half = float(sps.t.ppf(0.5 + CONFIDENCE / 2, n - 1)) * sem
    return max(0.0, mean - half), min(1.0, mean + half)


def with_threshold(slo: SLO, threshold: float) -> Objective:
    return replace(slo.objective, threshold=threshold)
