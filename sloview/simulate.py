"""Simulate an SLO on history: attainment, periods, error budget, burn rates, alert backtest.

Pure functions of (engine, SLO) -> typed results. Every budgeting method is reduced to one
grid of cells with a `good` and a `total` per cell:

- Occurrences: one cell per minute; good/total are request counts.
- Timeslices: one cell per slice; total is 1 for a slice that counts, good is 1 if it met
  the objective.
- RatioTimeslices: one cell per slice; total is 1 for a slice that counts, good is the
  slice's share of good requests.

Attainment over any span is sum(good) / sum(total); the burn rate over a lookback is
(1 - attainment) / (1 - target); budget consumed is the bad share over the budget share.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from sloview.engine import BUCKET_S, Engine, Periods
from sloview.engine.timebase import PARTIAL_TOLERANCE_NS
from sloview.errors import SpecError
from sloview.ingest.table import LATENCY_COLUMNS
from sloview.model import SLO, AlertWindow, CompositeSLO, Objective
from sloview.stats import CONFIDENCE, clopper_pearson
from sloview.summary import iso_utc
from sloview.units import format_duration, format_ms
from sloview.wording import composite_statement, statement

# A violation is found with Page's CUSUM over 5-minute steps: errors accumulate against a
# reference of 1.5x the budgeted error rate (so ordinary noise and mild daily peaks reset to
# zero); an episode runs from the step where the sum leaves zero to the step where it peaks,
# and counts when its errors beyond the budgeted rate reach 2% of an average period's
# budget: the smallest spend the fastest Workbook page (1h at 14.4x) is designed to catch.
VIOLATION_STEP_S = 300
VIOLATION_REFERENCE = 1.5
VIOLATION_MIN_SPEND = 0.02


@dataclass(frozen=True)
class Attainment:
    """good / total with a 95% confidence interval."""

    good: float
    total: float
    attainment: float
    ci_low: float
    ci_high: float

    def to_dict(self) -> dict[str, Any]:
        """Plain data (NaN as null)."""
        return {
            k: _num(getattr(self, k)) for k in ("good", "total", "attainment", "ci_low", "ci_high")
        }


@dataclass(frozen=True)
class PeriodResult:
    """One SLO period (calendar period, or the rolling window ending at a day's end)."""

    start: pd.Timestamp
    end: pd.Timestamp
    good: float
    total: float
    attainment: float
    met: bool | None
    partial: bool
    budget_remaining: float

    def to_dict(self) -> dict[str, Any]:
        """Plain data."""
        return {
            "start": iso_utc(self.start),
            "end": iso_utc(self.end),
            "good": _num(self.good),
            "total": _num(self.total),
            "attainment": _num(self.attainment),
            "met": self.met,
            "partial": self.partial,
            "budget_remaining": _num(self.budget_remaining),
        }


@dataclass(frozen=True)
class PeriodTable:
    """All periods of a simulation as arrays; iterating yields `PeriodResult` rows."""

    start_ns: np.ndarray
    end_ns: np.ndarray
    good: np.ndarray
    total: np.ndarray
    partial: np.ndarray
    target: float

    @property
    def attainment(self) -> np.ndarray:
        """good / total per period (NaN without events)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.total > 0, self.good / np.maximum(self.total, 1e-300), np.nan)

    @property
    def has_data(self) -> np.ndarray:
        """Periods with at least one counted event or slice."""
        return self.total > 0

    @property
    def met(self) -> np.ndarray:
        """Whether each period met the target (False where it has no data)."""
        return self.has_data & (self.attainment >= self.target - 1e-12)

    @property
    def budget_remaining(self) -> np.ndarray:
        """Remaining share of the error budget per period (negative when overspent)."""
        return 1.0 - (1.0 - self.attainment) / (1.0 - self.target)

    def __len__(self) -> int:
        return int(self.start_ns.size)

    def __getitem__(self, i: int) -> PeriodResult:
        i = range(len(self))[i]
        att = float(self.attainment[i])
        has = bool(self.total[i] > 0)
        return PeriodResult(
            start=pd.Timestamp(int(self.start_ns[i]), tz="UTC"),
            end=pd.Timestamp(int(self.end_ns[i]), tz="UTC"),
            good=float(self.good[i]),
            total=float(self.total[i]),
            attainment=att,
            met=bool(att >= self.target - 1e-12) if has else None,
            partial=bool(self.partial[i]),
            budget_remaining=float(self.budget_remaining[i]),
        )

    def __iter__(self) -> Iterator[PeriodResult]:
        return (self[i] for i in range(len(self)))


@dataclass(frozen=True)
class AlertFiring:
    """An interval in which one alert rule would have fired."""

    rule: AlertWindow
    start_ns: int
    end_ns: int
    budget_spent: float
    violation: int | None
    delay_s: float | None

    @property
    def start(self) -> pd.Timestamp:
        """When the alert would have started firing (UTC)."""
        return pd.Timestamp(self.start_ns, tz="UTC")

    @property
    def end(self) -> pd.Timestamp:
        """The last evaluation at which it was still firing (UTC); it resolves one step later."""
        return pd.Timestamp(self.end_ns, tz="UTC")

    def to_dict(self) -> dict[str, Any]:
        """Plain data."""
        return {
            "severity": self.rule.severity,
            "long_window": _dur(self.rule.long_s),
            "short_window": _dur(self.rule.short_s),
            "burn_rate_threshold": self.rule.burn_rate,
            "start": iso_utc(self.start),
            "end": iso_utc(self.end),
            "budget_spent_at_start": _num(self.budget_spent),
            "violation": self.violation,
            "detection_delay_s": self.delay_s,
        }


@dataclass(frozen=True)
class Violation:
    """A stretch that spent error budget faster than sustainable, and whether alerts caught it."""

    start: pd.Timestamp
    end: pd.Timestamp
    budget_spent: float
    peak_burn: float
    caught_by: tuple[str, ...]
    detection_delay_s: float | None

    def to_dict(self) -> dict[str, Any]:
        """Plain data."""
        return {
            "start": iso_utc(self.start),
            "end": iso_utc(self.end),
            "budget_spent": _num(self.budget_spent),
            "peak_burn_rate": _num(self.peak_burn),
            "caught_by": list(self.caught_by),
            "detection_delay_s": self.detection_delay_s,
        }


@dataclass(frozen=True)
class Series:
    """A named time series (UTC nanosecond times, float values)."""

    name: str
    times_ns: np.ndarray
    values: np.ndarray

    @property
    def times(self) -> pd.DatetimeIndex:
        """The times as a UTC DatetimeIndex."""
        return _utc(self.times_ns)


@dataclass(frozen=True)
class SegmentResult:
    """Attainment of the same SLO on one segment value."""

    column: str
    value: str
    overall: Attainment
    periods_met: int
    periods: int

    def to_dict(self) -> dict[str, Any]:
        """Plain data."""
        return {
            "column": self.column,
            "value": self.value,
            **self.overall.to_dict(),
            "periods_met": self.periods_met,
            "periods": self.periods,
        }


@dataclass(frozen=True)
class Simulation:
    """How one SLO would have done on the history in the engine."""

    slo: SLO
    statement: str
    overall: Attainment
    periods: PeriodTable
    budget: Series
    burn: tuple[Series, ...]
    firings: tuple[AlertFiring, ...]
    violations: tuple[Violation, ...]
    segments: tuple[SegmentResult, ...] = ()
    notes: tuple[str, ...] = ()
    cell_s: int = BUCKET_S
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def error_budget_remaining(self) -> float:
        """Budget left in the most recent period (negative when overspent)."""
        return float(self.periods.budget_remaining[-1]) if len(self.periods) else math.nan

    @property
    def periods_met(self) -> int:
        """How many periods met the objective."""
        return int(self.periods.met.sum())

    @property
    def periods_with_data(self) -> int:
        """How many periods had events (or slices) to judge."""
        return int(self.periods.has_data.sum())

    @property
    def missed_violations(self) -> tuple[Violation, ...]:
        """Violations no alert caught."""
        return tuple(v for v in self.violations if not v.caught_by)

    @property
    def false_alerts(self) -> tuple[AlertFiring, ...]:
        """Alert firings with no violation under way."""
        return tuple(f for f in self.firings if f.violation is None)

    def pages_per_month(self) -> float:
        """Page-severity firings per 30 days of data."""
        if not self.periods:
            return math.nan
        span_days = (
            max((self.budget.times[-1] - self.budget.times[0]).total_seconds() / 86400, 1.0)
            if len(self.budget.times) > 1
            else 1.0
        )
        pages = sum(1 for f in self.firings if f.rule.severity == "page")
        return pages * 30 / span_days

    def to_dict(self) -> dict[str, Any]:
        """The JSON entry of `sloview simulate --json`."""
        slo = self.slo
        return {
            "name": slo.name,
            "sli": slo.sli.kind,
            "metric": slo.sli.metric if slo.sli.kind == "latency" else None,
            "conditions": [c.to_dict() for c in slo.sli.conditions],
            "budgeting_method": slo.budgeting.method,
            "target": slo.objective.target,
            "threshold_ms": slo.threshold_ms,
            "threshold": slo.objective.threshold,
            "statement": self.statement,
            "overall": self.overall.to_dict(),
            "periods": [p.to_dict() for p in self.periods],
            "periods_met": self.periods_met,
            "error_budget_remaining": _num(self.error_budget_remaining),
            "alerts": [f.to_dict() for f in self.firings],
            "violations": [v.to_dict() for v in self.violations],
            "segments": [s.to_dict() for s in self.segments],
            "notes": list(self.notes),
            "slo": slo.to_dict(),
        }


# -- the cell grid ---------------------------------------------------------------------------


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


_JOINT_THRESHOLD = (
    "a joint SLI has one threshold per condition: change the conditions (SLO.with_conditions)"
)


def event_counts(
    engine: Engine, slo: SLO, threshold: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Per minute bucket: good and valid events of a latency, joint or availability SLI."""
    sli, excluded = slo.sli, engine.excluded(slo.exclusions)
    if sli.kind == "availability":
        good, total = engine.ok_count.copy(), engine.total.copy()
    elif sli.kind == "joint":
        if threshold is not None:
            raise SpecError(_JOINT_THRESHOLD, where="threshold")
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


def build_grid(engine: Engine, slo: SLO, threshold: float | None = None) -> Grid:
    """The cell grid of an SLO on this data (optionally at another threshold)."""
    if slo.budgeting.method == "Occurrences":
        good, total = event_counts(engine, slo, threshold)
        return Grid(
            BUCKET_S, good.astype(float), total.astype(float), float(good.sum()), float(total.sum())
        )
    t = slo.objective.threshold if threshold is None else threshold
    layout = _slices(engine, slo)
    verdict, events, amount_good, amount_total = _slice_verdicts(engine, slo, layout, t)
    good, total = _slice_cells(slo, layout, verdict, events)
    return Grid(int(slo.budgeting.slice_s or 60), good, total, amount_good, amount_total)


@dataclass(frozen=True)
class _SliceLayout:
    size: int
    n: int
    counted: np.ndarray


def _slices(engine: Engine, slo: SLO) -> _SliceLayout:
    """Slices of the SLO's length that lie within the data and outside exclusions."""
    base = engine.require_time()
    slice_s = int(slo.budgeting.slice_s or 60)
    size = slice_s // BUCKET_S
    n = -(-base.n // size)
    first = (base.first_ns - base.origin_ns) // (slice_s * 10**9)
    counted = np.zeros(n, dtype=bool)
    counted[first:] = True
    counted &= ~_slice_any(engine.excluded(slo.exclusions), size, n)
    return _SliceLayout(size, n, counted)


def _slice_verdicts(
    engine: Engine, slo: SLO, layout: _SliceLayout, t: float | None
) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Per slice: the good share or 0/1 verdict, and the number of events in it."""
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
        amount = _slice_sum(per_bucket.astype(float), layout.size, layout.n)
        events = _slice_sum(engine.total.astype(float), layout.size, layout.n)
        rate = amount / slice_s
        ok = rate >= limit if slo.objective.op == "gte" else rate > limit
        return ok.astype(float), events, float(amount.sum()), float(amount.sum())
    if sli.is_percentile:
        pct, events = slice_percentiles(engine, slo)
        ok = pct <= limit if slo.objective.op == "lte" else pct < limit
        return ok.astype(float), events, float(ok.sum()), float(layout.n)
    ev_good, ev_total = event_counts(engine, slo, t)
    g = _slice_sum(ev_good.astype(float), layout.size, layout.n)
    events = _slice_sum(ev_total.astype(float), layout.size, layout.n)
    return _ratio_verdict(slo, g, events), events, float(g.sum()), float(events.sum())


def _ratio_verdict(slo: SLO, good_events: np.ndarray, events: np.ndarray) -> np.ndarray:
    """Slice ratio (RatioTimeslices) or 0/1 against the slice target (Timeslices)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(events > 0, good_events / np.maximum(events, 1), 0.0)
    if slo.budgeting.method == "Timeslices":
        assert slo.budgeting.slice_target is not None
        return (ratio >= slo.budgeting.slice_target - 1e-12).astype(float)
    return ratio


def _slice_cells(
    slo: SLO, layout: _SliceLayout, verdict: np.ndarray, events: np.ndarray
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


def slice_percentiles(engine: Engine, slo: SLO) -> tuple[np.ndarray, np.ndarray]:
    """Per-slice percentile of the SLI metric (failed requests as infinitely slow when
    counted bad) and the number of events per slice."""
    b, sli = slo.budgeting, slo.sli
    layout = _slices(engine, slo)
    grouped = engine.grouped(sli.metric, int(b.slice_s or 60), slo.exclusions)
    failed = None
    if sli.failed_requests == "bad":
        failed = _slice_sum((engine.total - engine.ok_count).astype(float), layout.size, layout.n)
    pct = _percentile_with_failures(grouped, float(sli.percentile or 0), failed)
    events = grouped.counts.astype(float) + (failed if failed is not None else 0.0)
    return pct, events


def slice_cells_at(engine: Engine, slo: SLO, thresholds: np.ndarray) -> np.ndarray:
    """Good per slice cell for many thresholds at once: shape (thresholds, slices)."""
    layout = _slices(engine, slo)
    if slo.sli.is_percentile:
        pct, events = slice_percentiles(engine, slo)
        ok = pct[None, :] <= thresholds[:, None]
        if slo.objective.op == "lt":
            ok = pct[None, :] < thresholds[:, None]
        good, _ = _slice_cells(slo, layout, ok.astype(float), events)
        return good
    index = engine.index(slo.sli.metric)
    key, lut, n = engine.slice_map(int(slo.budgeting.slice_s or 60), slo.exclusions)
    ranks = np.array([index.rank(float(t), slo.objective.op) for t in thresholds])
    g = index.good_per_group_sweep(key, lut, n, ranks)[:, :n].astype(float)
    _, ev_total = event_counts(engine, slo)
    events = _slice_sum(ev_total.astype(float), layout.size, layout.n)
    good, _ = _slice_cells(slo, layout, _ratio_verdict(slo, g, events[None, :]), events)
    return good


def _slice_sum(per_bucket: np.ndarray, size: int, n_slices: int) -> np.ndarray:
    if size == 1 and per_bucket.size == n_slices:
        return per_bucket
    if per_bucket.size == n_slices * size:
        return per_bucket.reshape(n_slices, size).sum(axis=1)
    padded = np.zeros(n_slices * size, dtype=per_bucket.dtype)
    padded[: per_bucket.size] = per_bucket
    return padded.reshape(n_slices, size).sum(axis=1)


def _slice_any(mask: np.ndarray, size: int, n_slices: int) -> np.ndarray:
    return _slice_sum(mask.astype(np.int64), size, n_slices) > 0


def _percentile_with_failures(grouped: Any, q: float, failed: np.ndarray | None) -> np.ndarray:
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


# -- periods, budget, burn -------------------------------------------------------------------


def _period_cells(
    periods: Periods, cell_buckets: int, n_cells: int
) -> tuple[np.ndarray, np.ndarray]:
    start = np.clip(-(-periods.start // cell_buckets), 0, n_cells)
    end = np.clip(-(-periods.end // cell_buckets), 0, n_cells)
    return start, end


def _cumsum0(values: np.ndarray) -> np.ndarray:
    out = np.zeros(values.size + 1)
    np.cumsum(values, out=out[1:])
    return out


def period_table(
    engine: Engine, slo: SLO, grid: Grid, cg: np.ndarray, ct: np.ndarray
) -> tuple[PeriodTable, np.ndarray, np.ndarray]:
    """Per-period good/total plus the period cell ranges (start, end)."""
    base = engine.require_time()
    periods = engine.periods(slo.window)
    start, end = _period_cells(periods, grid.cell_s // BUCKET_S, grid.size)
    table = PeriodTable(
        start_ns=base.origin_ns + periods.start * (BUCKET_S * 10**9),
        end_ns=base.origin_ns + periods.end * (BUCKET_S * 10**9),
        good=cg[end] - cg[start],
        total=ct[end] - ct[start],
        partial=periods.partial,
        target=slo.objective.target,
    )
    return table, start, end


def inverse_budgets(ct: np.ndarray, cells: int, target: float, empty: float = np.nan) -> np.ndarray:
    """1 / ((1 - target) x events) over the trailing `cells` cells: the factor that turns a
    trailing bad count into budget spent (`empty` where there are no events).

    It does not depend on the threshold, so a slider move reuses it (see `simulate`).
    """
    tot = trailing_sums(ct, cells)
    with np.errstate(divide="ignore"):
        inv = 1.0 / ((1 - target) * tot)
    inv[tot <= 0] = empty
    return inv


def consumed_series(
    slo: SLO,
    grid: Grid,
    cg: np.ndarray,
    ct: np.ndarray,
    p_start: np.ndarray,
    p_end: np.ndarray,
    inverse: Callable[[int], np.ndarray] | None = None,
) -> np.ndarray:
    """Budget consumed at the end of every cell, for the SLO window in force there."""
    target = slo.objective.target
    with np.errstate(invalid="ignore", divide="ignore"):
        if slo.window.rolling_s is not None:
            width = max(1, slo.window.rolling_s // grid.cell_s)
            inv = inverse(width) if inverse else inverse_budgets(ct, width, target)
            out = trailing_sums(ct - cg, width)
            out *= inv
            return out
        # Calendar: spend since the period began, over the budget of the whole period.
        cb = ct - cg
        ends = np.arange(1, grid.size + 1)
        owner = np.searchsorted(p_start, ends - 1, side="right") - 1
        owner = np.clip(owner, 0, max(len(p_start) - 1, 0))
        if len(p_start) == 0:
            return np.full(grid.size, np.nan)
        ps, pe = p_start[owner], p_end[owner]
        bad = cb[ends] - cb[ps]
        budget = (1 - target) * (ct[pe] - ct[ps])
        return np.where(budget > 0, bad / budget, np.nan)


def trailing_sums(cumsum: np.ndarray, cells: int) -> np.ndarray:
    """Sum over the trailing `cells` cells at the end of every cell (shorter at the start)."""
    n = cumsum.size - 1
    out = np.empty(n)
    k = min(cells, n)
    out[:k] = cumsum[1 : k + 1]
    np.subtract(cumsum[k + 1 :], cumsum[1 : n - k + 1], out=out[k:])
    return out


def burn_series(
    cb: np.ndarray, ct: np.ndarray, cells: int, target: float, inv: np.ndarray | None = None
) -> np.ndarray:
    """Burn rate over the trailing `cells` cells at the end of every cell (0 without events).

    `cb` and `ct` are cumulative bad and total counts with a leading zero; `inv` is
    `inverse_budgets(ct, cells, target, empty=0.0)` when already known.
    """
    # Without events there is no burn: the inverse is 0 there.
    inv = inverse_budgets(ct, cells, target, empty=0.0) if inv is None else inv
    burn = trailing_sums(cb, cells)
    burn *= inv
    return burn


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) index pairs of True runs."""
    if not mask.any():
        return []
    edges = (np.flatnonzero(mask[1:] != mask[:-1]) + 1).tolist()
    if mask[0]:
        edges.insert(0, 0)
    if mask[-1]:
        edges.append(mask.size)
    return list(zip(edges[::2], edges[1::2], strict=True))


def find_violations(
    slo: SLO, grid: Grid, cg: np.ndarray | None = None, ct: np.ndarray | None = None
) -> list[tuple[int, int, float, float]]:
    """Violation episodes as (start cell, end cell, budget share spent, peak burn).

    `cg`/`ct` are the grid's cumulative good/total with a leading zero, when already known.
    """
    target = slo.objective.target
    step = max(1, VIOLATION_STEP_S // grid.cell_s)
    cg = _cumsum0(grid.good) if cg is None else cg
    ct = _cumsum0(grid.total) if ct is None else ct
    # Step sums by differencing the running sums at step edges (no reshape or padding).
    edges = np.append(np.arange(0, grid.size, step), grid.size)
    g = np.diff(cg[edges])
    t = np.diff(ct[edges])
    bad = t - g
    expected = t * (1 - target)
    level = np.concatenate(([0.0], np.cumsum(bad - VIOLATION_REFERENCE * expected)))
    cusum = (level - np.minimum.accumulate(level))[1:]
    # Budget of an average period: (1 - target) x the events a period of this length holds.
    span = max(1, int(np.count_nonzero(t)))
    per_period = float(t.sum()) * min(
        1.0, slo.window.period_hours * 3600 / (VIOLATION_STEP_S * span)
    )
    budget = (1 - target) * per_period
    runs = _runs(cusum > 0)
    if not runs or budget <= 0:
        return []
    starts = np.array([r[0] for r in runs])
    # Most runs are noise with a handful of errors: rule them out in one vectorised pass.
    bad_in_run = np.add.reduceat(bad, starts)[: len(runs)] if bad.size else np.zeros(len(runs))
    out = []
    for (s, e), run_bad in zip(runs, bad_in_run, strict=True):
        if run_bad < VIOLATION_MIN_SPEND * budget:
            continue
        peak = s + int(np.argmax(cusum[s:e]))
        seen = float(bad[s : peak + 1].sum())
        due = float(expected[s : peak + 1].sum())
        # Beyond a share of the budget, the excess must also be more than chance: a Poisson
        # test against the budgeted error count at 1%.
        if seen - due < VIOLATION_MIN_SPEND * budget or special.pdtrc(seen - 1, due) > 0.01:
            continue
        with np.errstate(invalid="ignore", divide="ignore"):
            burn = np.where(t[s : peak + 1] > 0, bad[s : peak + 1] / t[s : peak + 1], 0.0)
        out.append(
            (
                s * step,
                min((peak + 1) * step, grid.size),
                float(bad[s : peak + 1].sum()) / budget,
                float(burn.max()) / (1 - target),
            )
        )
    return out


def simulate(
    engine: Engine,
    slo: SLO,
    *,
    segment_columns: tuple[str, ...] = (),
    threshold: float | None = None,
) -> Simulation:
    """Simulate an SLO on the engine's history."""
    if slo.segment:
        engine = engine.view(slo.segment)
    base = engine.require_time()
    if threshold is not None:
        if slo.sli.kind == "joint":
            raise SpecError(_JOINT_THRESHOLD, where="threshold")
        slo = slo.with_changes(objective=_with_threshold(slo, threshold))
    grid = build_grid(engine, slo)
    target = slo.objective.target
    cg, ct = _cumsum0(grid.good), _cumsum0(grid.total)
    periods, p_start, p_end = period_table(engine, slo, grid, cg, ct)
    overall = _overall(slo, grid)

    cell_ns = grid.cell_s * 10**9
    cell_end_ns = engine.cell_ends(grid.cell_s, grid.size)
    # Totals do not move with the threshold: their trailing sums are kept on the engine, so a
    # slider move only recomputes the bad side.
    totals_key = (slo.sli, slo.budgeting, slo.window, slo.exclusions, target, grid.cell_s)

    def inverse(cells: int, for_burn: bool = False) -> np.ndarray:
        empty = 0.0 if for_burn else np.nan
        return engine.memo(
            (*totals_key, cells, for_burn), lambda: inverse_budgets(ct, cells, target, empty)
        )

    consumed = consumed_series(slo, grid, cg, ct, p_start, p_end, inverse)
    hourly = _hour_ends(grid.size, grid.cell_s)
    budget = Series("error budget remaining", cell_end_ns[hourly], 1.0 - consumed[hourly])

    # Alerts are judged only once the data cover the rule's long window: a backtest should
    # not page on the first few minutes of a file.
    first_cell = (base.first_ns - base.origin_ns) // cell_ns
    has_data = grid.total > 0
    cb = ct - cg
    burns = []
    runs: list[tuple[AlertWindow, int, int]] = []
    for rule in slo.alert_windows:
        long_cells = max(1, rule.long_s // grid.cell_s)
        short_cells = max(1, rule.short_s // grid.cell_s)
        long_b = burn_series(cb, ct, long_cells, target, inverse(long_cells, for_burn=True))
        short_b = burn_series(cb, ct, short_cells, target, inverse(short_cells, for_burn=True))
        label = rule.label()
        burns.append(Series(f"{label} long", cell_end_ns, long_b))
        burns.append(Series(f"{label} short", cell_end_ns, short_b))
        fire = (long_b > rule.burn_rate) & (short_b > rule.burn_rate) & has_data
        fire[: first_cell + long_cells - 1] = False
        runs.extend((rule, s, e) for s, e in _merge(_runs(_hold(fire, has_data)), short_cells))

    raw_violations = find_violations(slo, grid, cg, ct)
    runs.sort(key=lambda f: (f[1], f[0].long_s))
    if slo.window.rolling_s is not None:
        # "Budget spent" needs a full SLO window of data behind it; before that it is unknown.
        covered = base.first_ns + slo.window.rolling_s * 10**9 - PARTIAL_TOLERANCE_NS
        consumed = np.where(cell_end_ns >= covered, consumed, np.nan)
    firings, violations = _backtest(runs, raw_violations, consumed, cell_end_ns, grid.cell_s)
    seg_results = tuple(
        seg for column in segment_columns for seg in segment_results(engine, slo, column)
    )
    return Simulation(
        slo=slo,
        statement=statement(slo),
        overall=overall,
        periods=periods,
        budget=budget,
        burn=tuple(burns),
        firings=firings,
        violations=violations,
        segments=seg_results,
        notes=data_notes(engine, slo) + _notes(slo, periods) + joint_notes(engine, slo),
        cell_s=grid.cell_s,
        extras={"events_good": grid.events_good, "events_total": grid.events_total},
    )


def _backtest(
    runs: list[tuple[AlertWindow, int, int]],
    raw_violations: list[tuple[int, int, float, float]],
    consumed: np.ndarray,
    cell_end_ns: np.ndarray,
    cell_s: int,
) -> tuple[tuple[AlertFiring, ...], tuple[Violation, ...]]:
    """Match alert firings with violations: delays, misses and alerts with no violation."""
    cell_ns = cell_s * 10**9
    firings = []
    caught: dict[int, list[tuple[str, float]]] = {}
    labels: dict[int, str] = {}
    ends = [v[1] for v in raw_violations]
    for rule, s, e in runs:
        # Violations are sorted and disjoint: the first one ending after s, if it starts
        # before e, is the first that overlaps the firing.
        i = bisect.bisect_right(ends, s)
        match = i if i < len(raw_violations) and raw_violations[i][0] < e else None
        delay = None
        if match is not None:
            delay = float(max(0, s + 1 - raw_violations[match][0]) * cell_s)
            label = labels.get(id(rule)) or labels.setdefault(id(rule), rule.label())
            caught.setdefault(match, []).append((label, delay))
        spent = float(consumed[s])
        firings.append(
            AlertFiring(
                rule=rule,
                start_ns=int(cell_end_ns[s]),
                end_ns=int(cell_end_ns[e - 1]),
                budget_spent=spent if math.isfinite(spent) else math.nan,
                violation=match,
                delay_s=delay,
            )
        )
    violations = []
    for i, (s, e, share, peak) in enumerate(raw_violations):
        hits = caught.get(i, [])
        violations.append(
            Violation(
                start=pd.Timestamp(int(cell_end_ns[s] - cell_ns), tz="UTC"),
                end=pd.Timestamp(int(cell_end_ns[e - 1]), tz="UTC"),
                budget_spent=share,
                peak_burn=peak,
                caught_by=tuple(dict.fromkeys(label for label, _ in hits)),
                detection_delay_s=min((d for _, d in hits), default=None),
            )
        )
    return tuple(firings), tuple(violations)


def _merge(runs: list[tuple[int, int]], gap: int) -> list[tuple[int, int]]:
    """Join runs separated by at most `gap` cells: a re-fire within one short window is the
    same alert, as a pager would see it."""
    merged: list[list[int]] = []
    for s, e in runs:
        if merged and s - merged[-1][1] <= gap:
            merged[-1][1] = e
        else:
            merged.append([s, e])
    return [(s, e) for s, e in merged]


def _utc(ns: np.ndarray) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(ns.view("datetime64[ns]")).tz_localize("UTC")


def _hold(fire: np.ndarray, has_data: np.ndarray) -> np.ndarray:
    """Carry the firing state across cells without data."""
    if fire.all() or not fire.any() or has_data.all():
        return fire
    idx = np.where(has_data, np.arange(fire.size), -1)
    np.maximum.accumulate(idx, out=idx)
    return np.where(idx >= 0, fire[np.maximum(idx, 0)], False)


def _hour_ends(n_cells: int, cell_s: int) -> np.ndarray:
    step = max(1, 3600 // cell_s)
    picks = np.arange(step - 1, n_cells, step)
    if n_cells and (picks.size == 0 or picks[-1] != n_cells - 1):
        picks = np.append(picks, n_cells - 1)
    return picks


def _overall(slo: SLO, grid: Grid) -> Attainment:
    good, total = float(grid.good.sum()), float(grid.total.sum())
    att = good / total if total > 0 else math.nan
    if slo.budgeting.method == "RatioTimeslices":
        counted = grid.good[grid.total > 0]
        lo, hi = _mean_ci(counted)
    else:
        lo, hi = clopper_pearson(round(good), round(total))
    return Attainment(good=good, total=total, attainment=att, ci_low=lo, ci_high=hi)


def _mean_ci(values: np.ndarray) -> tuple[float, float]:
    n = values.size
    if n < 2:
        return math.nan, math.nan
    from scipy import stats as sps

    mean, sem = float(values.mean()), float(values.std(ddof=1) / math.sqrt(n))
    half = float(sps.t.ppf(0.5 + CONFIDENCE / 2, n - 1)) * sem
    return max(0.0, mean - half), min(1.0, mean + half)


def segment_results(engine: Engine, slo: SLO, column: str) -> list[SegmentResult]:
    """The same SLO evaluated on each value of a segment column."""
    out = []
    for value in engine.segment_values(column):
        view = engine.view(((column, value),))
        grid = build_grid(view, slo)
        periods, _, _ = period_table(view, slo, grid, _cumsum0(grid.good), _cumsum0(grid.total))
        out.append(
            SegmentResult(
                column=column,
                value=value,
                overall=_overall(slo, grid),
                periods_met=int(periods.met.sum()),
                periods=int(periods.has_data.sum()),
            )
        )
    return out


def _with_threshold(slo: SLO, threshold: float) -> Objective:
    return replace(slo.objective, threshold=threshold)


def _notes(slo: SLO, periods: PeriodTable) -> tuple[str, ...]:
    notes = []
    partial = int(periods.partial.sum())
    if partial:
        notes.append(
            f"{partial} of {len(periods)} periods are only partly covered by the data "
            "(marked partial)."
        )
    if slo.sli.kind == "latency":
        if slo.sli.failed_requests == "exclude":
            notes.append(
                "Failed requests are left out of this latency SLI (judged by availability)."
            )
        else:
            notes.append("Failed requests count as bad events for this latency SLI.")
    if slo.sli.kind == "joint":
        notes.append(
            "Failed requests count as bad events for this joint SLI: a good request "
            "succeeded and met every condition."
        )
    if slo.budgeting.method != "Occurrences":
        rule = {"skip": "count neither way", "good": "count as good", "bad": "count as bad"}
        notes.append(
            f"Slices without enough events (< {max(1, slo.budgeting.min_events)}) "
            f"{rule[slo.budgeting.empty_slices]}."
        )
    if slo.exclusions:
        notes.append(f"{len(slo.exclusions)} excluded time ranges do not count.")
    return tuple(notes)


def data_notes(engine: Engine, slo: SLO) -> tuple[str, ...]:
    """How exact the figures are: nothing to say for raw requests; for aggregates, the
    binning and the threshold actually evaluated."""
    if engine.exact:
        return ()
    notes = [f"Computed from aggregates of {engine.source_name}: {engine.exactness}."]
    t = slo.objective.threshold
    if slo.sli.kind == "latency" and t is not None:
        snapped = engine.evaluated_threshold(slo.sli.metric, float(t), slo.objective.op)
        if slo.sli.is_percentile:
            notes.append(
                "Per-slice percentiles are placed inside their latency bins (within one bin "
                "width of the exact figure)."
            )
        elif engine.counted_in_source(slo.sli.metric, float(t), slo.objective.op):
            notes.append(
                f"The threshold {format_ms(float(t))} was counted exactly in the source, request "
                "by request; sweeps and other thresholds use the bins."
            )
        elif snapped != t:
            notes.append(
                f"The threshold {format_ms(float(t))} is evaluated at {format_ms(snapped)}, "
                "the bin edge at or below it: counts are exact there, so attainment is a lower "
                f"bound for {format_ms(float(t))}."
            )
    return tuple(notes)


def joint_notes(engine: Engine, slo: SLO) -> tuple[str, ...]:
    """Successful requests a joint SLI (or goodput) leaves out, by the column they lack."""
    if not slo.sli.uses_conditions:
        return ()
    rows = engine.joint_rows(slo.sli.metrics)
    what = "this joint SLI" if slo.sli.kind == "joint" else "goodput"
    notes = []
    for metric, n in rows.missing.items():
        if n:
            notes.append(
                f"{n:,} successful request{'s' if n != 1 else ''} without a "
                f"{LATENCY_COLUMNS[metric]} ({metric}{_MISSING_WHY.get(metric, '')}) "
                f"{'are' if n != 1 else 'is'} left out of {what}."
            )
    return tuple(notes)


# Why a successful request has no value, for the notes: what the room will ask first.
_MISSING_WHY = {
    "ttft_ms": "; e.g. embeddings stream no tokens",
    "tpot_ms": "; answers of fewer than two tokens, or without a TTFT, have none",
}


def _num(value: float | None) -> float | None:
    if value is None:
        return None
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _dur(seconds: int) -> str:
    return format_duration(seconds)


@dataclass(frozen=True)
class CompositeSimulation:
    """How a composite SLO would have done: each objective, and the periods all were met."""

    composite: CompositeSLO
    statement: str
    components: tuple[Simulation, ...]

    @property
    def periods(self) -> PeriodTable:
        """The shared periods (from the first objective)."""
        return self.components[0].periods

    @property
    def met(self) -> np.ndarray:
        """Per period: every objective had data and met its target."""
        met = np.ones(len(self.periods), dtype=bool)
        for sim in self.components:
            met &= sim.periods.met
        return met

    @property
    def judged(self) -> np.ndarray:
        """Per period: every objective had events to judge."""
        judged = np.ones(len(self.periods), dtype=bool)
        for sim in self.components:
            judged &= sim.periods.has_data
        return judged

    @property
    def periods_met(self) -> int:
        """Periods in which every objective was met."""
        return int(self.met.sum())

    @property
    def error_budget_remaining(self) -> float:
        """The tightest budget left among the objectives (latest period)."""
        left = [s.error_budget_remaining for s in self.components]
        finite = [v for v in left if math.isfinite(v)]
        return min(finite) if finite else math.nan

    def to_dict(self) -> dict[str, Any]:
        """The JSON entry of a composite in `sloview simulate --json`."""
        judged, met = self.judged, self.met
        n, k = int(judged.sum()), int(met.sum())
        lo, hi = clopper_pearson(k, n)
        periods = self.periods
        met_counts = np.sum([s.periods.met for s in self.components], axis=0)
        return {
            "name": self.composite.name,
            "sli": "composite",
            "budgeting_method": None,
            "target": None,
            "threshold_ms": None,
            "statement": self.statement,
            "overall": {
                "good": k,
                "total": n,
                "attainment": _num(k / n if n else math.nan),
                "ci_low": _num(lo),
                "ci_high": _num(hi),
            },
            "periods": [
                {
                    "start": iso_utc(pd.Timestamp(int(periods.start_ns[i]), tz="UTC")),
                    "end": iso_utc(pd.Timestamp(int(periods.end_ns[i]), tz="UTC")),
                    "good": int(met_counts[i]),
                    "total": len(self.components),
                    "attainment": float(met_counts[i]) / len(self.components),
                    "met": bool(met[i]) if judged[i] else None,
                    "partial": bool(periods.partial[i]),
                }
                for i in range(len(periods))
            ],
            "periods_met": k,
            "error_budget_remaining": _num(self.error_budget_remaining),
            "alerts": [
                {"objective": s.slo.name, **f.to_dict()} for s in self.components for f in s.firings
            ],
            "components": [s.to_dict() for s in self.components],
            "slo": self.composite.to_dict(),
        }


def simulate_composite(engine: Engine, composite: CompositeSLO) -> CompositeSimulation:
    """Simulate every objective of a composite SLO on the same history."""
    return CompositeSimulation(
        composite=composite,
        statement=composite_statement(composite),
        components=tuple(simulate(engine, slo) for slo in composite.objectives),
    )
