"""Exact sweeps of one candidate over thresholds and over targets."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from sloview.engine.scope import Scope
from sloview.errors import SpecError
from sloview.simulate import (
    PeriodTable,
    build_grid,
    cumsum0,
    period_table,
    slice_cells_at,
)

SWEEP_POINTS = 240


TARGET_GRID = np.array([0.9, 0.95, 0.97, 0.98, 0.99, 0.995, 0.997, 0.998, 0.999, 0.9995, 0.9999])


@dataclass(frozen=True)
class Sweep:
    """Attainment of one SLO at many thresholds (exact at each)."""

    thresholds: np.ndarray
    attainment: np.ndarray
    periods_met_share: np.ndarray
    worst_period: np.ndarray
    target: float

    def to_dict(self) -> dict[str, Any]:
        """Plain data (lists)."""
        return {
            "thresholds_ms": self.thresholds.tolist(),
            "attainment": nan_list(self.attainment),
            "periods_met_share": nan_list(self.periods_met_share),
            "worst_period": nan_list(self.worst_period),
        }


@dataclass(frozen=True)
class TargetSweep:
    """Share of periods met at the SLO's threshold for a grid of targets."""

    targets: np.ndarray
    periods_met_share: np.ndarray


def sweep_thresholds(scope: Scope, thresholds: np.ndarray | None = None) -> Sweep:
    """Exact attainment, share of periods met and worst period at each threshold."""
    engine, slo = scope.engine, scope.slo
    if slo.sli.kind != "latency":
        raise SpecError("only latency SLIs have a threshold to sweep", where="sli.kind")
    grid_t = default_thresholds(scope) if thresholds is None else np.sort(thresholds)
    periods = engine.periods(slo.window)
    use = periods_to_use(periods.partial)
    method = slo.budgeting.method
    if method == "Occurrences":
        good_p, total_p, good_all, total_all = _occurrence_sweep(scope, grid_t)
    else:
        good_p, total_p, good_all, total_all = _slice_sweep(scope, grid_t)
    with np.errstate(invalid="ignore", divide="ignore"):
        att_p = good_p / total_p[None, :]
        overall = good_all / total_all
    has = (total_p > 0) & use
    met = (att_p >= slo.objective.target - 1e-12) & has[None, :]
    # Without a complete period there is no share of periods to give (NaN), only attainment.
    n = int(has.sum()) or math.nan
    worst = np.where(has[None, :], att_p, np.inf).min(axis=1)
    worst[~np.isfinite(worst)] = np.nan
    return Sweep(
        thresholds=grid_t,
        attainment=overall,
        periods_met_share=met.sum(axis=1) / n,
        worst_period=worst,
        target=slo.objective.target,
    )


def default_thresholds(scope: Scope, points: int = SWEEP_POINTS) -> np.ndarray:
    """Log-spaced thresholds from the 1st to past the 99.99th percentile, plus the SLO's."""
    engine, slo = scope.engine, scope.slo
    index = engine.index(slo.sli.metric)
    if index.size == 0:
        raise SpecError(f"no successful requests with {slo.sli.metric}", where="sli.metric")
    lo = max(index.value_at(int(0.01 * (index.size - 1))), 1e-3)
    hi = max(index.value_at(-1), lo * 1.01)
    grid = index.threshold_grid(lo, hi, points)
    if slo.objective.threshold is not None:
        grid = np.append(grid, slo.objective.threshold)
    return np.unique(grid)


def _occurrence_sweep(
    scope: Scope, thresholds: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    engine, slo = scope.engine, scope.slo
    index = engine.index(slo.sli.metric)
    ranks = np.array([index.rank(float(t), slo.objective.op) for t in thresholds])
    lut, n_groups, ds, de = period_groups(scope)
    key = ("period-edges", slo.window, slo.exclusions)
    per_group = index.good_per_group_sweep(key, lut, n_groups, ranks)[:, :-1]
    cum = np.zeros((ranks.size, n_groups + 1))
    np.cumsum(per_group, axis=1, out=cum[:, 1:])
    good_p = cum[:, de] - cum[:, ds]
    base_grid = build_grid(scope)
    ct = cumsum0(base_grid.total)
    table, _, _ = period_table(scope, base_grid, cumsum0(base_grid.good), ct)
    good_all = per_group.sum(axis=1).astype(float)
    return good_p, table.total, good_all, float(base_grid.total.sum())


def period_groups(scope: Scope) -> tuple[np.ndarray, int, np.ndarray, np.ndarray]:
    """(bucket -> group map, groups, first group, end group of each period)."""
    engine, slo = scope.engine, scope.slo
    # Buckets are grouped between consecutive period edges, so every period is a whole number
    # of groups: period p is groups ds[p]..de[p]-1. (Local days are not enough: a rolling window
    # that crosses a DST change starts an hour off midnight.) Group 0 is before the first edge;
    # excluded buckets map to `groups` (past the last group).
    periods = engine.periods(slo.window)
    edges = np.unique(np.concatenate([periods.start, periods.end]))
    n_groups = edges.size + 1
    lut = np.searchsorted(edges, np.arange(engine.n_buckets), side="right")
    lut[engine.excluded(slo.exclusions)] = n_groups
    ds = np.searchsorted(edges, periods.start) + 1
    de = np.searchsorted(edges, periods.end) + 1
    return lut, n_groups, ds, de


def _slice_sweep(
    scope: Scope, thresholds: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Slice-based sweep: per-slice verdicts for every threshold at once (2-D arrays)."""
    base_grid = build_grid(scope)
    good_cells = slice_cells_at(scope, thresholds)
    cum = np.zeros((thresholds.size, good_cells.shape[1] + 1))
    np.cumsum(good_cells, axis=1, out=cum[:, 1:])
    ct = cumsum0(base_grid.total)
    table, start, end = period_table(scope, base_grid, cumsum0(base_grid.good), ct)
    good_p = cum[:, end] - cum[:, start]
    return good_p, table.total, good_cells.sum(axis=1), float(base_grid.total.sum())


def sweep_targets(scope: Scope, targets: np.ndarray = TARGET_GRID) -> TargetSweep:
    """Share of periods met at the SLO's threshold for each target."""
    att = period_attainment(scope)
    if att.size == 0:
        return TargetSweep(targets, np.full(targets.size, np.nan))
    return TargetSweep(targets, (att[None, :] >= targets[:, None] - 1e-12).mean(axis=1))


def periods_to_use(partial: np.ndarray) -> np.ndarray:
    """The periods a sweep judges: complete ones only (partial periods are never judged)."""
    return ~partial


def period_attainment(scope: Scope, threshold: float | None = None) -> np.ndarray:
    table = period_table_at(scope, threshold)
    use = periods_to_use(table.partial) & table.has_data
    return np.asarray(table.attainment[use])


def period_table_at(scope: Scope, threshold: float | None = None) -> PeriodTable:
    grid = build_grid(scope, threshold=threshold)
    table, _, _ = period_table(scope, grid, cumsum0(grid.good), cumsum0(grid.total))
    return table


def finite_or_none(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return float(value)


def nan_list(values: np.ndarray) -> list[float | None]:
    return [None if not math.isfinite(v) else float(v) for v in values]
