"""Periods, error budget and burn rates over the cell grid.

Attainment over any span is sum(good) / sum(total); the burn rate over a lookback is
(1 - attainment) / (1 - target); budget consumed is the bad share over the budget share.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from sloview.engine import BUCKET_S, Periods
from sloview.engine.scope import Scope
from sloview.model import SLO
from sloview.simulate.grid import Grid, build_grid
from sloview.simulate.results import PeriodTable


def period_cells(
    periods: Periods, cell_buckets: int, n_cells: int
) -> tuple[np.ndarray, np.ndarray]:
    start = np.clip(-(-periods.start // cell_buckets), 0, n_cells)
    end = np.clip(-(-periods.end // cell_buckets), 0, n_cells)
    return start, end


def cumsum0(values: np.ndarray) -> np.ndarray:
    out = np.zeros(values.size + 1)
    np.cumsum(values, out=out[1:])
    return out


def period_table(
    scope: Scope, grid: Grid, cg: np.ndarray, ct: np.ndarray
) -> tuple[PeriodTable, np.ndarray, np.ndarray]:
    """Per-period good/total plus the period cell ranges (start, end)."""
    engine, slo = scope.engine, scope.slo
    base = engine.require_time()
    periods = engine.periods(slo.window)
    start, end = period_cells(periods, grid.cell_s // BUCKET_S, grid.size)
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


def hour_ends(n_cells: int, cell_s: int) -> np.ndarray:
    step = max(1, 3600 // cell_s)
    picks = np.arange(step - 1, n_cells, step)
    if n_cells and (picks.size == 0 or picks[-1] != n_cells - 1):
        picks = np.append(picks, n_cells - 1)
    return picks


def trailing_events(scope: Scope, window_s: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(cell end times ns, bad, valid events) over the trailing window at every cell end.

    The error ratio bad / valid is what a recording rule `rate(errors[W]) / rate(total[W])`
    evaluated at the cell's end holds; the burn rates and alerts are built from the same sums.
    """
    grid = build_grid(scope)
    cells = max(1, window_s // grid.cell_s)
    cg, ct = cumsum0(grid.good), cumsum0(grid.total)
    total = trailing_sums(ct, cells)
    bad = trailing_sums(ct - cg, cells)
    return scope.engine.cell_ends(grid.cell_s, grid.size), bad, total
