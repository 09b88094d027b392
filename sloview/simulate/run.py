"""Simulate one SLO: the cell grid, periods, budget, burn rates and the alert backtest."""

from __future__ import annotations

import numpy as np

from sloview.engine.scope import Scope
from sloview.engine.timebase import PARTIAL_TOLERANCE_NS
from sloview.errors import SpecError
from sloview.model import AlertWindow
from sloview.simulate.alerts import (
    backtest,
    find_violations,
    merge_runs,
    true_runs,
)
from sloview.simulate.budget import (
    burn_series,
    consumed_series,
    cumsum0,
    hour_ends,
    inverse_budgets,
    period_table,
)
from sloview.simulate.grid import JOINT_THRESHOLD, build_grid, overall_attainment, with_threshold
from sloview.simulate.notes import coverage_of, data_notes, joint_notes, slo_notes, slo_warnings
from sloview.simulate.overall import overall_of, request_counts
from sloview.simulate.results import PeriodTable, SegmentResult, Series, Simulation
from sloview.wording import statement


def simulate(
    scope: Scope,
    *,
    segment_columns: tuple[str, ...] = (),
    threshold: float | None = None,
) -> Simulation:
    """Simulate a candidate on the history of its requests (at another threshold if given)."""
    if threshold is not None:
        if scope.slo.sli.kind == "joint":
            raise SpecError(JOINT_THRESHOLD, where="threshold")
        scope = scope.with_slo(
            scope.slo.with_changes(objective=with_threshold(scope.slo, threshold))
        )
    engine, slo = scope.engine, scope.slo
    if engine.base is None:
        return _without_time(scope, segment_columns)
    base = engine.base
    grid = build_grid(scope)
    target = slo.objective.target
    cg, ct = cumsum0(grid.good), cumsum0(grid.total)
    periods, p_start, p_end = period_table(scope, grid, cg, ct)
    overall = overall_attainment(slo, grid)

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
    hourly = hour_ends(grid.size, grid.cell_s)
    budget = Series("error budget remaining", cell_end_ns[hourly], 1.0 - consumed[hourly])

    # Alerts are judged only once the data cover the rule's long window: a backtest should
    # not page on the first few minutes of a file. After that, every cell end is an
    # evaluation, with or without requests in that cell, as Prometheus evaluates the
    # exported rules every minute: a window can start burning when good requests leave it.
    first_cell = (base.first_ns - base.origin_ns) // cell_ns
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
        fire = (long_b > rule.burn_rate) & (short_b > rule.burn_rate)
        fire[: first_cell + long_cells - 1] = False
        runs.extend((rule, s, e) for s, e in merge_runs(true_runs(fire), short_cells))

    raw_violations = find_violations(slo, grid, cg, ct)
    runs.sort(key=lambda f: (f[1], f[0].long_s))
    if slo.window.rolling_s is not None:
        # "Budget spent" needs a full SLO window of data behind it; before that it is unknown.
        covered = base.first_ns + slo.window.rolling_s * 10**9 - PARTIAL_TOLERANCE_NS
        consumed = np.where(cell_end_ns >= covered, consumed, np.nan)
    shortest = min((r.long_s for r in slo.alert_windows), default=0)
    alerts_from = base.first_ns + shortest * 10**9
    firings, violations = backtest(
        runs, raw_violations, consumed, cell_end_ns, grid.cell_s, alerts_from
    )
    coverage = coverage_of(scope, periods)
    seg_results = tuple(seg for column in segment_columns for seg in segment_results(scope, column))
    return Simulation(
        slo=slo,
        statement=statement(slo),
        overall=overall,
        periods=periods,
        budget=budget,
        burn=tuple(burns),
        firings=firings,
        violations=violations,
        coverage=coverage,
        segments=seg_results,
        warnings=slo_warnings(scope, periods, coverage),
        notes=data_notes(scope) + slo_notes(slo, periods) + joint_notes(scope),
        cell_s=grid.cell_s,
        extras={"events_good": grid.events_good, "events_total": grid.events_total},
    )


def segment_results(scope: Scope, column: str) -> list[SegmentResult]:
    """The candidate on each value of a segment column (each row is that narrower candidate)."""
    out = []
    for part in scope.split(column):
        requests, errors = request_counts(part)
        if part.engine.base is None:
            overall, met, judged = overall_of(part), None, 0
        else:
            grid = build_grid(part)
            periods, _, _ = period_table(part, grid, cumsum0(grid.good), cumsum0(grid.total))
            overall = overall_attainment(part.slo, grid)
            judged = int(periods.judged.sum())
            met = int(periods.met.sum()) if judged else None
        out.append(
            SegmentResult(
                column=column,
                value=dict(part.slo.segment)[column],
                overall=overall,
                periods_met=met,
                periods=judged,
                requests=requests,
                errors=errors,
            )
        )
    return out


def _without_time(scope: Scope, segment_columns: tuple[str, ...]) -> Simulation:
    """The distribution-only result for data without timestamps: no periods, no alerts."""
    empty_i, empty_f = np.zeros(0, dtype=np.int64), np.zeros(0)
    periods = PeriodTable(
        start_ns=empty_i,
        end_ns=empty_i,
        good=empty_f,
        total=empty_f,
        partial=np.zeros(0, dtype=bool),
        target=scope.slo.objective.target,
    )
    coverage = coverage_of(scope, periods)
    overall = overall_of(scope)
    return Simulation(
        slo=scope.slo,
        statement=statement(scope.slo),
        overall=overall,
        periods=periods,
        budget=Series("error budget remaining", empty_i, empty_f),
        burn=(),
        firings=(),
        violations=(),
        coverage=coverage,
        segments=tuple(s for c in segment_columns for s in segment_results(scope, c)),
        warnings=slo_warnings(scope, periods, coverage),
        notes=data_notes(scope) + slo_notes(scope.slo, periods) + joint_notes(scope),
        extras={"events_good": overall.good, "events_total": overall.total},
    )
