"""The alert backtest: when each burn-rate rule would have fired, and what it caught or missed."""

from __future__ import annotations

import bisect
import math

import numpy as np
import pandas as pd
from scipy import special

from sloview.model import SLO, AlertWindow
from sloview.simulate.budget import cumsum0
from sloview.simulate.grid import Grid
from sloview.simulate.results import AlertFiring, Violation

# A violation is found with Page's CUSUM over 5-minute steps: errors accumulate against a
# reference of 1.5x the budgeted error rate (so ordinary noise and mild daily peaks reset to
# zero); an episode runs from the step where the sum leaves zero to the step where it peaks,
# and counts when its errors beyond the budgeted rate reach 2% of an average period's
# budget: the smallest spend the fastest Workbook page (1h at 14.4x) is designed to catch.
# A violation is found with Page's CUSUM over 5-minute steps: errors accumulate against a
# reference of 1.5x the budgeted error rate (so ordinary noise and mild daily peaks reset to
# zero); an episode runs from the step where the sum leaves zero to the step where it peaks,
# and counts when its errors beyond the budgeted rate reach 2% of an average period's
# budget: the smallest spend the fastest Workbook page (1h at 14.4x) is designed to catch.
VIOLATION_STEP_S = 300


VIOLATION_REFERENCE = 1.5


VIOLATION_MIN_SPEND = 0.02


def true_runs(mask: np.ndarray) -> list[tuple[int, int]]:
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
    cg = cumsum0(grid.good) if cg is None else cg
    ct = cumsum0(grid.total) if ct is None else ct
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
    runs = true_runs(cusum > 0)
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


def backtest(
    runs: list[tuple[AlertWindow, int, int]],
    raw_violations: list[tuple[int, int, float, float]],
    consumed: np.ndarray,
    cell_end_ns: np.ndarray,
    cell_s: int,
    alerts_from_ns: int,
) -> tuple[tuple[AlertFiring, ...], tuple[Violation, ...]]:
    """Match alert firings with violations: delays, misses and alerts with no violation.

    `alerts_from_ns` is when the first rule could be evaluated (the data start plus its long
    window): a violation over by then counts as neither caught nor missed.
    """
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
                step_s=cell_s,
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
                alertable=int(cell_end_ns[e - 1]) >= alerts_from_ns,
            )
        )
    return tuple(firings), tuple(violations)


def merge_runs(runs: list[tuple[int, int]], gap: int) -> list[tuple[int, int]]:
    """Join runs separated by at most `gap` cells: a re-fire within one short window is the
    same alert, as a pager would see it."""
    merged: list[list[int]] = []
    for s, e in runs:
        if merged and s - merged[-1][1] <= gap:
            merged[-1][1] = e
        else:
            merged.append([s, e])
    return [(s, e) for s, e in merged]
