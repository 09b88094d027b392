"""Whole-data figures of a candidate that need no time axis: requests, failures, and the
distribution-only evaluation of data without timestamps.

Data without timestamps (an LLMPerf run, a CSV of latencies) still answer "what share of
these requests met the objective?": one attainment with its confidence interval, per segment
value too. What they cannot give is history (periods, budget, alerts), and an SLO judged per
time slice (throughput, a percentile per slice) cannot be evaluated at all.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from sloview.engine.scope import Scope
from sloview.errors import SpecError
from sloview.ingest.table import OK
from sloview.simulate.grid import build_grid, overall_attainment
from sloview.simulate.results import Attainment
from sloview.stats import clopper_pearson


def request_counts(scope: Scope) -> tuple[int, int]:
    """(requests, failed requests) of the candidate, outside its excluded time ranges."""
    engine, slo = scope.engine, scope.slo
    if engine.base is None:
        return engine.rows, int((~engine.ok).sum())
    keep = ~engine.excluded(slo.exclusions)
    requests = int(engine.total[keep].sum())
    return requests, requests - int(engine.ok_count[keep].sum())


def timeless_counts(scope: Scope) -> tuple[int, int]:
    """(good, valid) requests of a latency, joint or availability SLI over data without times,
    counted as the engine counts them with times (failed requests by the SLI's policy)."""
    engine, slo = scope.engine, scope.slo
    sli, op = slo.sli, slo.objective.op
    ok = engine.ok
    failed = int((~ok).sum())
    if sli.kind == "availability":
        return int(ok.sum()), engine.rows
    if sli.kind == "latency" and not sli.is_percentile:
        if sli.metric not in engine.frame.columns:
            raise SpecError(f"the data have no {sli.metric} column", where="sli.metric")
        values = engine.values(sli.metric)
        side: Literal["left", "right"] = "right" if op == "lte" else "left"
        met = int(np.searchsorted(values, float(slo.objective.threshold or 0.0), side=side))
        return met, values.size + (failed if sli.failed_requests == "bad" else 0)
    if sli.kind == "joint":
        frame = engine.frame
        missing = [c.metric for c in sli.conditions if c.metric not in frame.columns]
        if missing:
            raise SpecError(f"the data have no {missing[0]} column", where="sli.conditions")
        # A successful request lacking a value for a condition is left out (as with times);
        # failed requests always count, as bad.
        judged = frame[OK].to_numpy(dtype=bool).copy()
        meets = judged.copy()
        for cond in sli.conditions:
            column = frame[cond.metric].to_numpy(dtype=np.float64, na_value=np.nan)
            judged &= np.isfinite(column)
            meets &= (column <= cond.threshold) if cond.op == "lte" else (column < cond.threshold)
        return int((meets & judged).sum()), int(judged.sum()) + failed
    raise SpecError(
        "this SLO is judged per time slice, which needs timestamps",
        where="budgeting.method",
        hint="map a time column, or judge these requests by a latency threshold (a share of "
        "requests within T) or by availability",
    )


def overall_of(scope: Scope) -> Attainment:
    """The candidate's attainment over all its requests, with or without timestamps."""
    if scope.engine.base is not None:
        return overall_attainment(scope.slo, build_grid(scope))
    good, total = timeless_counts(scope)
    lo, hi = clopper_pearson(good, total)
    return Attainment(
        good=float(good),
        total=float(total),
        attainment=good / total if total else float("nan"),
        ci_low=lo,
        ci_high=hi,
    )
