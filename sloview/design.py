"""Target design: exact sweeps over thresholds and targets, and recommendations with CIs.

A recommendation answers two questions for the room: "what is the tightest threshold this
history supports at our target?" and "what is the highest target this history supports at our
threshold?", each for a desired share of periods met, and for every period.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from sloview.engine import Engine
from sloview.errors import SpecError
from sloview.model import SLO
from sloview.simulate import (
    PeriodTable,
    _cumsum0,
    build_grid,
    period_table,
    slice_cells_at,
)
from sloview.stats import clopper_pearson, percentile_rank_interval
from sloview.units import format_ms
from sloview.wording import percent

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
            "attainment": _nan_list(self.attainment),
            "periods_met_share": _nan_list(self.periods_met_share),
            "worst_period": _nan_list(self.worst_period),
        }


@dataclass(frozen=True)
class TargetSweep:
    """Share of periods met at the SLO's threshold for a grid of targets."""

    targets: np.ndarray
    periods_met_share: np.ndarray


@dataclass(frozen=True)
class Recommendation:
    """The tightest threshold and highest target the history supports, with CIs."""

    desired_share: float
    periods_used: int
    complete_only: bool
    threshold: float | None
    threshold_ci: tuple[float, float] | None
    threshold_every_period: float | None
    target: float
    target_exact: float
    target_ci: tuple[float, float]
    target_every_period: float
    headroom: float | None
    margin: float
    rationale: str

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {
            "desired_share_of_periods": self.desired_share,
            "periods_used": self.periods_used,
            "complete_periods_only": self.complete_only,
            "threshold_ms": _num(self.threshold),
            "threshold_ci_ms": None
            if self.threshold_ci is None
            else [_num(self.threshold_ci[0]), _num(self.threshold_ci[1])],
            "threshold_every_period_ms": _num(self.threshold_every_period),
            "target": _num(self.target),
            "target_exact": _num(self.target_exact),
            "target_ci": [_num(self.target_ci[0]), _num(self.target_ci[1])],
            "target_every_period": _num(self.target_every_period),
            "headroom": _num(self.headroom),
            "attainment_margin": _num(self.margin),
            "rationale": self.rationale,
        }


def sweep_thresholds(engine: Engine, slo: SLO, thresholds: np.ndarray | None = None) -> Sweep:
    """Exact attainment, share of periods met and worst period at each threshold."""
    if slo.segment:
        engine = engine.view(slo.segment)
    if slo.sli.kind != "latency":
        raise SpecError("only latency SLIs have a threshold to sweep", where="sli.kind")
    grid_t = default_thresholds(engine, slo) if thresholds is None else np.sort(thresholds)
    periods = engine.periods(slo.window)
    use = _periods_to_use(periods.partial)
    method = slo.budgeting.method
    if method == "Occurrences":
        good_p, total_p, good_all, total_all = _occurrence_sweep(engine, slo, grid_t)
    else:
        good_p, total_p, good_all, total_all = _slice_sweep(engine, slo, grid_t)
    with np.errstate(invalid="ignore", divide="ignore"):
        att_p = good_p / total_p[None, :]
        overall = good_all / total_all
    has = (total_p > 0) & use
    met = (att_p >= slo.objective.target - 1e-12) & has[None, :]
    n = max(int(has.sum()), 1)
    worst = np.where(has[None, :], att_p, np.inf).min(axis=1)
    worst[~np.isfinite(worst)] = np.nan
    return Sweep(
        thresholds=grid_t,
        attainment=overall,
        periods_met_share=met.sum(axis=1) / n,
        worst_period=worst,
        target=slo.objective.target,
    )


def default_thresholds(engine: Engine, slo: SLO, points: int = SWEEP_POINTS) -> np.ndarray:
    """Log-spaced thresholds from the 1st to past the 99.99th percentile, plus the SLO's."""
    values = engine.index(slo.sli.metric).sorted_values
    if values.size == 0:
        raise SpecError(f"no successful requests with {slo.sli.metric}", where="sli.metric")
    lo = max(float(values[int(0.01 * (values.size - 1))]), 1e-3)
    hi = max(float(values[-1]), lo * 1.01)
    grid = np.geomspace(lo, hi, points)
    if slo.objective.threshold is not None:
        grid = np.append(grid, slo.objective.threshold)
    return np.unique(grid)


def _occurrence_sweep(
    engine: Engine, slo: SLO, thresholds: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    index = engine.index(slo.sli.metric)
    ranks = np.array([index.rank(float(t), slo.objective.op) for t in thresholds])
    periods = engine.periods(slo.window)
    # Group buckets between consecutive period edges, so every period is a whole number of
    # groups. (Local days are not enough: a rolling window that crosses a DST change starts
    # an hour off midnight.) Group 0 is before the first edge; excluded buckets go last.
    edges = np.unique(np.concatenate([periods.start, periods.end]))
    n_groups = edges.size + 1
    lut = np.searchsorted(edges, np.arange(engine.n_buckets), side="right")
    lut[engine.excluded(slo.exclusions)] = n_groups
    key = ("period-edges", slo.window, slo.exclusions)
    per_group = index.good_per_group_sweep(key, lut, n_groups, ranks)[:, :-1]
    cum = np.zeros((ranks.size, n_groups + 1))
    np.cumsum(per_group, axis=1, out=cum[:, 1:])
    ds = np.searchsorted(edges, periods.start) + 1
    de = np.searchsorted(edges, periods.end) + 1
    good_p = cum[:, de] - cum[:, ds]
    base_grid = build_grid(engine, slo)
    ct = _cumsum0(base_grid.total)
    table, _, _ = period_table(engine, slo, base_grid, _cumsum0(base_grid.good), ct)
    good_all = per_group.sum(axis=1).astype(float)
    return good_p, table.total, good_all, float(base_grid.total.sum())


def _slice_sweep(
    engine: Engine, slo: SLO, thresholds: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Slice-based sweep: per-slice verdicts for every threshold at once (2-D arrays)."""
    base_grid = build_grid(engine, slo)
    good_cells = slice_cells_at(engine, slo, thresholds)
    cum = np.zeros((thresholds.size, good_cells.shape[1] + 1))
    np.cumsum(good_cells, axis=1, out=cum[:, 1:])
    ct = _cumsum0(base_grid.total)
    table, start, end = period_table(engine, slo, base_grid, _cumsum0(base_grid.good), ct)
    good_p = cum[:, end] - cum[:, start]
    return good_p, table.total, good_cells.sum(axis=1), float(base_grid.total.sum())


def sweep_targets(engine: Engine, slo: SLO, targets: np.ndarray = TARGET_GRID) -> TargetSweep:
    """Share of periods met at the SLO's threshold for each target."""
    att = _period_attainment(engine, slo)
    if att.size == 0:
        return TargetSweep(targets, np.full(targets.size, np.nan))
    return TargetSweep(targets, (att[None, :] >= targets[:, None] - 1e-12).mean(axis=1))


def _periods_to_use(partial: np.ndarray) -> np.ndarray:
    """Complete periods when there are any; otherwise every period (noted by the caller)."""
    complete = ~partial
    return complete if complete.any() else np.ones_like(partial)


def _period_attainment(engine: Engine, slo: SLO, threshold: float | None = None) -> np.ndarray:
    table = _table(engine, slo, threshold)
    use = _periods_to_use(table.partial) & table.has_data
    return np.asarray(table.attainment[use])


def _table(engine: Engine, slo: SLO, threshold: float | None = None) -> PeriodTable:
    grid = build_grid(engine, slo, threshold=threshold)
    table, _, _ = period_table(engine, slo, grid, _cumsum0(grid.good), _cumsum0(grid.total))
    return table


def _share_met(engine: Engine, slo: SLO, threshold: float) -> float:
    att = _period_attainment(engine, slo, threshold)
    return float((att >= slo.objective.target - 1e-12).mean()) if att.size else math.nan


def tightest_threshold(engine: Engine, slo: SLO, share: float) -> float | None:
    """Smallest observed latency at which at least `share` of periods meet the target."""
    values = engine.index(slo.sli.metric).sorted_values
    if values.size == 0:
        return None
    lo, hi = 0, values.size - 1
    if _share_met(engine, slo, float(values[hi])) < share - 1e-12:
        return None  # failures alone break the target (failed requests counted bad)
    # Attainment only grows with the threshold, so the share of periods met does too.
    while lo < hi:
        mid = (lo + hi) // 2
        if _share_met(engine, slo, float(values[mid])) >= share - 1e-12:
            hi = mid
        else:
            lo = mid + 1
    return float(values[lo])


def recommend(engine: Engine, slo: SLO, desired_share: float = 0.9) -> Recommendation:
    """Tightest threshold and highest target for `desired_share` of periods and for all."""
    if not 0 < desired_share <= 1:
        raise SpecError("must be in (0, 1]", where="desired_share")
    if slo.segment:
        engine = engine.view(slo.segment)
    engine.require_time()
    table = _table(engine, slo)
    complete = ~table.partial
    complete_only = bool(complete.any())
    use = (complete if complete_only else np.ones_like(complete)) & table.has_data
    n = int(use.sum())
    if n == 0:
        raise SpecError("no period has events to judge", where=slo.name)
    att = table.attainment[use]
    good, total = table.good[use], table.total[use]
    order = np.argsort(-att, kind="stable")
    k = max(1, math.ceil(desired_share * n - 1e-9))
    binding = order[k - 1]
    target_exact = float(att[binding])
    target_every = float(att.min())
    target_ci = clopper_pearson(round(good[binding]), round(total[binding]))
    target = _nice_target(target_exact)

    threshold = threshold_ci = threshold_every = headroom = None
    t_now = slo.objective.threshold
    if slo.sli.kind == "latency":
        threshold = tightest_threshold(engine, slo, desired_share)
        threshold_every = tightest_threshold(engine, slo, 1.0)
        if threshold is not None and slo.budgeting.method == "Occurrences":
            threshold_ci = _threshold_ci(engine, slo, threshold, desired_share)
        if threshold is not None and t_now:
            headroom = (t_now - threshold) / threshold if threshold > 0 else math.inf
    margin = float(att.min() - slo.objective.target)
    rationale = _rationale(
        slo,
        desired_share,
        n,
        complete_only,
        threshold,
        threshold_ci,
        headroom,
        target,
        target_ci,
        target_every,
    )
    return Recommendation(
        desired_share=desired_share,
        periods_used=n,
        complete_only=complete_only,
        threshold=threshold,
        threshold_ci=threshold_ci,
        threshold_every_period=threshold_every,
        target=target,
        target_exact=target_exact,
        target_ci=target_ci,
        target_every_period=target_every,
        headroom=headroom,
        margin=margin,
        rationale=rationale,
    )


def _threshold_ci(engine: Engine, slo: SLO, threshold: float, share: float) -> tuple[float, float]:
    """Order-statistic 95% CI of the target percentile in the period that binds at `threshold`."""
    table = _table(engine, slo, threshold)
    use = _periods_to_use(table.partial) & table.has_data
    # The binding period is the one with the least attainment among those that still meet it.
    att = np.where(use, table.attainment, np.nan)
    meeting = np.where(att >= slo.objective.target - 1e-12, att, np.inf)
    p = int(np.argmin(meeting))
    periods = engine.periods(slo.window)
    base = engine.require_time()
    lo_b = int(np.clip(periods.start[p], 0, base.n))
    hi_b = int(np.clip(periods.end[p], 0, base.n))
    n = round(table.total[p])
    ranks = percentile_rank_interval(n, 100 * slo.objective.target)
    if ranks is None:
        return (math.nan, math.nan)
    excluded = engine.excluded(slo.exclusions)
    return (
        _kth_in_range(engine, slo, lo_b, hi_b, excluded, ranks[0] + 1),
        _kth_in_range(engine, slo, lo_b, hi_b, excluded, ranks[1] + 1),
    )


def _kth_in_range(
    engine: Engine, slo: SLO, lo_b: int, hi_b: int, excluded: np.ndarray, k: int
) -> float:
    """k-th smallest (1-based) latency among buckets [lo_b, hi_b); inf beyond successes."""
    index = engine.index(slo.sli.metric)
    keep = ~excluded[lo_b:hi_b]

    def count(rank: int) -> int:
        return int(index.good_per_bucket(rank)[lo_b:hi_b][keep].sum())

    if count(index.size) < k:
        return math.inf  # the rank falls among failed requests counted as bad
    lo, hi = 1, index.size
    while lo < hi:
        mid = (lo + hi) // 2
        if count(mid) >= k:
            hi = mid
        else:
            lo = mid + 1
    return float(index.sorted_values[lo - 1])


def _nice_target(exact: float) -> float:
    """Round a supported target down to a value people write: 0.99537 -> 0.995."""
    if exact >= 0.9999:
        return 0.9999
    for step in (1e-3, 1e-4):
        nice = math.floor(exact / step + 1e-9) * step
        if nice >= 0.9 or step == 1e-4:
            return round(nice, 6)
    return round(exact, 6)


def _rationale(
    slo: SLO,
    share: float,
    n: int,
    complete_only: bool,
    threshold: float | None,
    threshold_ci: tuple[float, float] | None,
    headroom: float | None,
    target: float,
    target_ci: tuple[float, float],
    target_every: float,
) -> str:
    kind = "complete" if complete_only else "(partly covered)"
    periods = f"{share:.0%} of the {n} {kind} periods"
    parts = []
    if threshold is not None:
        text = (
            f"At a {percent(slo.objective.target)} target the tightest threshold met in "
            f"{periods} is {format_ms(threshold)}"
        )
        if threshold_ci is not None and all(math.isfinite(x) for x in threshold_ci):
            text += (
                f" (95% CI of the deciding period's percentile: {format_ms(threshold_ci[0])}"
                f" to {format_ms(threshold_ci[1])})"
            )
        if headroom is not None and slo.objective.threshold is not None:
            word = "headroom" if headroom >= 0 else "shortfall"
            text += (
                f"; the candidate's {format_ms(slo.objective.threshold)} leaves "
                f"{abs(headroom):.0%} {word}"
            )
        parts.append(text + ".")
    elif slo.sli.kind == "latency":
        parts.append(
            f"No threshold meets {percent(slo.objective.target)} in {periods}: failed requests "
            "counted as bad already exceed the budget."
        )
    parts.append(
        f"At the candidate's own settings the highest target met in {periods} is "
        f"{percent(target)} (95% CI of the deciding period: {percent(target_ci[0], 2)} to "
        f"{percent(target_ci[1], 2)}); every period reached at least {percent(target_every, 2)}."
    )
    return " ".join(parts)


def _num(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return float(value)


def _nan_list(values: np.ndarray) -> list[float | None]:
    return [None if not math.isfinite(v) else float(v) for v in values]
