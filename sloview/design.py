"""Target design: exact sweeps over thresholds and targets, and recommendations with CIs.

A recommendation answers two questions for the room: "what is the tightest threshold this
history supports at our target?" and "what is the highest target this history supports at our
threshold?", each for a desired share of periods met, and for every period.

A joint SLI with two latency conditions (TTFT and TPOT, say) has a threshold pair to choose:
`joint_design` computes the exact attainment and share of periods met at every pair of a
grid from one two-dimensional cumulative count, the iso-line (the tightest B for each A that
still meets the target in the desired share of periods) and a recommended pair on it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Literal, cast

import numpy as np

from sloview import formatting as fmt
from sloview.engine.scope import Scope
from sloview.errors import SpecError
from sloview.model import SLO
from sloview.simulate import (
    PeriodTable,
    build_grid,
    cumsum0,
    event_counts,
    period_table,
    ratio_verdict,
    slice_cells,
    slice_cells_at,
    slice_layout,
    slice_sum,
)
from sloview.simulate.overall import overall_of
from sloview.stats import clopper_pearson, percentile_rank_interval, quantile_threshold
from sloview.wording import METRIC_ABBREVIATIONS

SWEEP_POINTS = 240
JOINT_POINTS = 40
# The joint grid spans each metric from its 1st to its 99.9th percentile (log-spaced).
JOINT_RANGE = (1.0, 99.9)
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


def sweep_thresholds(scope: Scope, thresholds: np.ndarray | None = None) -> Sweep:
    """Exact attainment, share of periods met and worst period at each threshold."""
    engine, slo = scope.engine, scope.slo
    if slo.sli.kind != "latency":
        raise SpecError("only latency SLIs have a threshold to sweep", where="sli.kind")
    grid_t = default_thresholds(scope) if thresholds is None else np.sort(thresholds)
    periods = engine.periods(slo.window)
    use = _periods_to_use(periods.partial)
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
    lut, n_groups, ds, de = _period_groups(scope)
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


def _period_groups(scope: Scope) -> tuple[np.ndarray, int, np.ndarray, np.ndarray]:
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
    att = _period_attainment(scope)
    if att.size == 0:
        return TargetSweep(targets, np.full(targets.size, np.nan))
    return TargetSweep(targets, (att[None, :] >= targets[:, None] - 1e-12).mean(axis=1))


def _periods_to_use(partial: np.ndarray) -> np.ndarray:
    """The periods a sweep judges: complete ones only (partial periods are never judged)."""
    return ~partial


def _period_attainment(scope: Scope, threshold: float | None = None) -> np.ndarray:
    table = _table(scope, threshold)
    use = _periods_to_use(table.partial) & table.has_data
    return np.asarray(table.attainment[use])


def _table(scope: Scope, threshold: float | None = None) -> PeriodTable:
    grid = build_grid(scope, threshold=threshold)
    table, _, _ = period_table(scope, grid, cumsum0(grid.good), cumsum0(grid.total))
    return table


def _share_met(scope: Scope, threshold: float) -> float:
    slo = scope.slo
    att = _period_attainment(scope, threshold)
    return float((att >= slo.objective.target - 1e-12).mean()) if att.size else math.nan


def tightest_threshold(scope: Scope, share: float) -> float | None:
    """Smallest observed latency at which at least `share` of periods meet the target."""
    engine, slo = scope.engine, scope.slo
    index = engine.index(slo.sli.metric)
    if index.size == 0:
        return None
    lo, hi = 0, index.size - 1
    if _share_met(scope, index.value_at(hi)) < share - 1e-12:
        return None  # failures alone break the target (failed requests counted bad)
    # Attainment only grows with the threshold, so the share of periods met does too.
    while lo < hi:
        mid = (lo + hi) // 2
        if _share_met(scope, index.value_at(mid)) >= share - 1e-12:
            hi = mid
        else:
            lo = mid + 1
    return index.value_at(lo)


def recommend(scope: Scope, desired_share: float = 0.9) -> Recommendation:
    """Tightest threshold and highest target for `desired_share` of periods and for all.

    Only complete periods are judged. Data without timestamps, or too short to cover one
    whole period, get the recommendation over all their requests instead (`periods_used` 0),
    which says so.
    """
    engine, slo = scope.engine, scope.slo
    if not 0 < desired_share <= 1:
        raise SpecError("must be in (0, 1]", where="desired_share")
    if engine.base is None:
        return recommend_overall(scope, desired_share, "these requests have no timestamps")
    table = _table(scope)
    use = table.judged
    n = int(use.sum())
    if n == 0:
        if not table.complete.any():
            why = f"the data cover no whole period of {slo.window.describe()}"
            return recommend_overall(scope, desired_share, why)
        raise SpecError("no complete period has events to judge", where=slo.name)
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
        threshold = tightest_threshold(scope, desired_share)
        threshold_every = tightest_threshold(scope, 1.0)
        if threshold is not None and slo.budgeting.method == "Occurrences":
            threshold_ci = _threshold_ci(scope, threshold, desired_share)
        if threshold is not None and t_now:
            headroom = (t_now - threshold) / threshold if threshold > 0 else math.inf
    margin = float(att.min() - slo.objective.target)
    rationale = _rationale(
        slo, desired_share, n, threshold, threshold_ci, headroom, target, target_ci, target_every
    )
    return Recommendation(
        desired_share=desired_share,
        periods_used=n,
        complete_only=True,
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


def recommend_overall(scope: Scope, desired_share: float, why: str) -> Recommendation:
    """The recommendation over all the candidate's requests, for data without history: the
    tightest threshold the target allows (order-statistic CI) and the highest target the
    overall attainment supports (Clopper-Pearson CI)."""
    slo = scope.slo
    overall = overall_of(scope)
    if overall.total <= 0:
        raise SpecError("no requests to judge", where=slo.name)
    target_ci = (overall.ci_low, overall.ci_high)
    target = _nice_target(overall.attainment)
    threshold = threshold_ci = headroom = None
    if slo.sli.kind == "latency" and not slo.sli.is_percentile:
        ranked = scope.engine.values(slo.sli.metric)
        if slo.sli.failed_requests == "bad":
            failed = (
                int((~scope.engine.ok).sum())
                if scope.engine.base is None
                else int((scope.engine.total - scope.engine.ok_count).sum())
            )
            ranked = np.concatenate([ranked, np.full(failed, math.inf)])
        value, lo, hi = quantile_threshold(ranked, slo.objective.target, False)
        if math.isfinite(value):
            threshold, threshold_ci = value, (lo, hi)
            t_now = slo.objective.threshold
            if t_now:
                headroom = (t_now - value) / value if value > 0 else math.inf
    parts = [f"Over all {fmt.count(overall.total, 'request')} ({why}, so no period is judged)"]
    if threshold is not None and threshold_ci is not None:
        ci = (
            f" (95% CI {fmt.ms(threshold_ci[0])} to {fmt.ms(threshold_ci[1])})"
            if all(math.isfinite(x) for x in threshold_ci)
            else " (too few requests for a 95% CI)"
        )
        parts.append(
            f" the tightest threshold meeting a {fmt.percent(slo.objective.target)} target is "
            f"{fmt.ms(threshold)}{ci};"
        )
    elif slo.sli.kind == "latency" and not slo.sli.is_percentile:
        parts.append(
            f" no threshold meets {fmt.percent(slo.objective.target)}: failed requests counted "
            "as bad already exceed the budget;"
        )
    parts.append(
        f" {fmt.attainment(overall.attainment, slo.objective.target)} met the candidate's "
        f"objective (95% CI {fmt.ci_range(*target_ci, slo.objective.target)}), so the highest "
        f"target these requests support is {fmt.percent(target)}."
    )
    return Recommendation(
        desired_share=desired_share,
        periods_used=0,
        complete_only=False,
        threshold=threshold,
        threshold_ci=threshold_ci,
        threshold_every_period=None,
        target=target,
        target_exact=overall.attainment,
        target_ci=target_ci,
        target_every_period=overall.attainment,
        headroom=headroom,
        margin=overall.attainment - slo.objective.target,
        rationale="".join(parts),
    )


def _threshold_ci(scope: Scope, threshold: float, share: float) -> tuple[float, float]:
    """Order-statistic 95% CI of the target percentile in the period that binds at `threshold`."""
    engine, slo = scope.engine, scope.slo
    table = _table(scope, threshold)
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
        _kth_in_range(scope, lo_b, hi_b, excluded, ranks[0] + 1),
        _kth_in_range(scope, lo_b, hi_b, excluded, ranks[1] + 1),
    )


def _kth_in_range(scope: Scope, lo_b: int, hi_b: int, excluded: np.ndarray, k: int) -> float:
    """k-th smallest (1-based) latency among buckets [lo_b, hi_b); inf beyond successes."""
    engine, slo = scope.engine, scope.slo
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
    return index.value_at(lo - 1)


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
    threshold: float | None,
    threshold_ci: tuple[float, float] | None,
    headroom: float | None,
    target: float,
    target_ci: tuple[float, float],
    target_every: float,
) -> str:
    periods = f"{fmt.percent(share, 1)} of the {fmt.count(n, 'complete period')}"
    goal = slo.objective.target
    parts = []
    if threshold is not None:
        text = (
            f"At a {fmt.percent(goal)} target the tightest threshold met in {periods} is "
            f"{fmt.ms(threshold)}"
        )
        if threshold_ci is not None and all(math.isfinite(x) for x in threshold_ci):
            text += (
                f" (95% CI of the deciding period's percentile: {fmt.ms(threshold_ci[0])}"
                f" to {fmt.ms(threshold_ci[1])})"
            )
        if headroom is not None and slo.objective.threshold is not None:
            word = "headroom" if headroom >= 0 else "shortfall"
            text += (
                f"; the candidate's {fmt.ms(slo.objective.threshold)} leaves "
                f"{fmt.percent(abs(headroom), 0)} {word}"
            )
        parts.append(text + ".")
    elif slo.sli.kind == "latency":
        parts.append(
            f"No threshold meets {fmt.percent(goal)} in {periods}: failed requests "
            "counted as bad already exceed the budget."
        )
    parts.append(
        f"At the candidate's own settings the highest target met in {periods} is "
        f"{fmt.percent(target)} (95% CI of the deciding period: "
        f"{fmt.ci_range(*target_ci, goal)}); every complete period reached at least "
        f"{fmt.at_least(target_every, goal)}."
    )
    return " ".join(parts)


def _num(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return float(value)


def _nan_list(values: np.ndarray) -> list[float | None]:
    return [None if not math.isfinite(v) else float(v) for v in values]


# -- two-dimensional design of a joint SLI ---------------------------------------------------


@dataclass(frozen=True)
class JointDesign:
    """Exact attainment of a joint SLO at every pair of a threshold grid, and a pair to pick."""

    # The two conditions varied (A, B) and their comparisons.
    metrics: tuple[str, str]
    ops: tuple[str, str]
    thresholds_a: np.ndarray
    thresholds_b: np.ndarray
    # Indexed [i, j] for thresholds_a[i] and thresholds_b[j]: overall attainment, share of the
    # periods used that met the target, and the worst of those periods.
    attainment: np.ndarray
    periods_met_share: np.ndarray
    worst_period: np.ndarray
    # The iso-line: per A, the tightest grid B meeting the target in `desired_share` of the
    # periods (NaN where no grid B does).
    iso_b: np.ndarray
    medians: tuple[float, float]
    # The point of the iso-line with the smallest log(A / median A) + log(B / median B): the
    # pair whose thresholds, in multiples of each metric's median, have the smallest product.
    # Along the iso-line that is where tightening A by 1% would cost more than 1% of looser B
    # (and the other way round): neither metric is made loose to buy little on the other.
    # Ties go to the smaller A.
    recommended: tuple[float, float] | None
    target: float
    desired_share: float
    periods_used: int
    complete_only: bool
    rationale: str

    @property
    def recommended_index(self) -> tuple[int, int] | None:
        """Grid indexes (i, j) of the recommended pair."""
        if self.recommended is None:
            return None
        i = int(np.searchsorted(self.thresholds_a, self.recommended[0]))
        j = int(np.searchsorted(self.thresholds_b, self.recommended[1]))
        return i, j

    def recommended_slo(self, slo: SLO) -> SLO | None:
        """The SLO with its two conditions set to the recommended pair (None without one)."""
        if self.recommended is None:
            return None
        a, b = self.recommended
        return slo.with_conditions({self.metrics[0]: a, self.metrics[1]: b})

    def to_dict(self) -> dict[str, Any]:
        """Plain data (lists; NaN as null)."""
        return {
            "metrics": list(self.metrics),
            "ops": list(self.ops),
            "thresholds_a_ms": self.thresholds_a.tolist(),
            "thresholds_b_ms": self.thresholds_b.tolist(),
            "attainment": [_nan_list(row) for row in self.attainment],
            "periods_met_share": [_nan_list(row) for row in self.periods_met_share],
            "worst_period": [_nan_list(row) for row in self.worst_period],
            "iso_b_ms": _nan_list(self.iso_b),
            "medians_ms": [_num(m) for m in self.medians],
            "recommended_ms": None if self.recommended is None else list(self.recommended),
            "target": self.target,
            "desired_share_of_periods": self.desired_share,
            "periods_used": self.periods_used,
            "complete_periods_only": self.complete_only,
            "rationale": self.rationale,
        }


def joint_design(
    scope: Scope,
    desired_share: float = 0.9,
    *,
    axes: tuple[str, str] | None = None,
    points: int = JOINT_POINTS,
    thresholds: tuple[np.ndarray, np.ndarray] | None = None,
) -> JointDesign:
    """Exact attainment and share of periods met over a grid of (A, B) threshold pairs."""
    engine, slo = scope.engine, scope.slo
    # `axes` names the two conditions to vary (default: the first two); any other condition
    # keeps its threshold. The grid is `points` log-spaced values per metric from its 1st to
    # its 99.9th percentile over the requests the SLI judges, unless `thresholds` gives it.
    if not 0 < desired_share <= 1:
        raise SpecError("must be in (0, 1]", where="desired_share")
    sli = slo.sli
    if sli.kind != "joint" or len(sli.conditions) < 2:
        raise SpecError(
            "a two-dimensional design needs a joint SLI with two conditions",
            where="sli.conditions",
            hint="e.g. conditions: [ttft_ms<=500, tpot_ms<=50]",
        )
    engine.require_time()
    by_metric = {c.metric: c for c in sli.conditions}
    a_metric, b_metric = axes or (sli.conditions[0].metric, sli.conditions[1].metric)
    if a_metric == b_metric or a_metric not in by_metric or b_metric not in by_metric:
        raise SpecError(
            f"the axes must be two different conditions of this SLI, not {a_metric}, {b_metric}",
            where="axes",
            hint=f"conditions: {', '.join(by_metric)}",
        )
    cond_a, cond_b = by_metric[a_metric], by_metric[b_metric]
    rows = engine.joint_rows(sli.metrics)
    values_a, values_b = rows.values[a_metric], rows.values[b_metric]
    if rows.size == 0:
        raise SpecError(f"no successful requests with {a_metric} and {b_metric}", where=slo.name)
    if thresholds is None:
        (grid_a, median_a), (grid_b, median_b) = (
            _joint_grid(values_a, points),
            _joint_grid(values_b, points),
        )
    else:
        grid_a, grid_b = (np.unique(np.asarray(t, dtype=np.float64)) for t in thresholds)
        if not all(g.size and g[0] >= 0 and np.isfinite(g).all() for g in (grid_a, grid_b)):
            raise SpecError("must be two non-empty lists of thresholds in ms", where="thresholds")
        median_a, median_b = float(np.median(values_a)), float(np.median(values_b))
    medians = (median_a, median_b)
    na, nb = grid_a.size, grid_b.size

    # Bin of each row per axis: the first grid index whose threshold the value meets, so a
    # row is good at (i, j) exactly when bin_a <= i and bin_b <= j. na / nb: never good.
    # (int32: the row-sized arrays here are what a 10^7-row design holds in memory.)
    side_a: Literal["left", "right"] = "left" if cond_a.op == "lte" else "right"
    side_b: Literal["left", "right"] = "left" if cond_b.op == "lte" else "right"
    bin_a = np.searchsorted(grid_a, values_a, side=side_a).astype(np.int32)
    bin_b = np.searchsorted(grid_b, values_b, side=side_b).astype(np.int32)
    others = tuple(c for c in sli.conditions if c.metric not in (a_metric, b_metric))
    if others:
        bin_a[~rows.good_mask(others)] = na
    buckets = rows.buckets()
    keep = ~engine.excluded(slo.exclusions)[buckets]

    base_grid = build_grid(scope)
    table, p_start, p_end = period_table(
        scope, base_grid, cumsum0(base_grid.good), cumsum0(base_grid.total)
    )
    occurrences = slo.budgeting.method == "Occurrences"
    if occurrences:
        lut, n_cells, ds, de = _period_groups(scope)
        cells = lut[buckets]
        events = None
    else:
        layout = slice_layout(scope)
        n_cells = layout.n
        cells = buckets // layout.size
        events = slice_sum(event_counts(scope)[1].astype(float), layout.size, layout.n)
        ds, de = p_start, p_end
    keep &= bin_a < na
    # One pass over the rows in order of bin_a: adding the rows of bin i to a running count
    # per (cell, bin_b) and summing along B gives every cell's good count at (a_i, b_j).
    bin_a, cells, bin_b = bin_a[keep], cells[keep], bin_b[keep]
    order = np.argsort(bin_a.astype(np.int16) if na < 32_000 else bin_a, kind="stable")
    flat = (cells.astype(np.int64) * (nb + 1) + bin_b)[order]
    splits = np.searchsorted(bin_a[order], np.arange(1, na))
    running = np.zeros(n_cells * (nb + 1), dtype=np.int64)

    use = _periods_to_use(table.partial) & table.has_data
    n_used = max(int(use.sum()), 1)
    total_all = float(base_grid.total.sum())
    attainment = np.full((na, nb), np.nan)
    share = np.zeros((na, nb))
    worst = np.full((na, nb), np.nan)
    for i, part in enumerate(np.split(flat, splits)):
        if part.size:
            running += np.bincount(part, minlength=running.size)
        good = np.cumsum(running.reshape(n_cells, nb + 1), axis=1)[:, :nb].T.astype(float)
        if not occurrences:
            assert events is not None
            good, _ = slice_cells(slo, layout, ratio_verdict(slo, good, events[None, :]), events)
        cum = np.zeros((nb, good.shape[1] + 1))
        np.cumsum(good, axis=1, out=cum[:, 1:])
        good_p = cum[:, de] - cum[:, ds]
        with np.errstate(invalid="ignore", divide="ignore"):
            att_p = good_p / table.total[None, :]
        met = (att_p >= slo.objective.target - 1e-12) & use[None, :]
        share[i] = met.sum(axis=1) / n_used
        worst_i = np.where(use[None, :], att_p, np.inf).min(axis=1)
        worst[i] = np.where(np.isfinite(worst_i), worst_i, np.nan)
        if total_all > 0:
            attainment[i] = good.sum(axis=1) / total_all

    feasible = share >= desired_share - 1e-12
    first = np.where(feasible.any(axis=1), feasible.argmax(axis=1), -1)
    iso_b = np.where(first >= 0, grid_b[np.maximum(first, 0)], np.nan)
    recommended = None
    on_line = np.flatnonzero(first >= 0)
    if on_line.size:
        # log(A / median A) + log(B / median B) differs from log(A) + log(B) by a constant, so
        # the medians do not move the choice (and a median of 0 cannot break it).
        tiny = np.finfo(np.float64).tiny
        score = np.log(np.maximum(grid_a[on_line], tiny)) + np.log(np.maximum(iso_b[on_line], tiny))
        best = int(on_line[int(np.argmin(score))])
        recommended = (float(grid_a[best]), float(iso_b[best]))
    complete_only = bool((~table.partial).any())
    design = JointDesign(
        metrics=(a_metric, b_metric),
        ops=(cond_a.op, cond_b.op),
        thresholds_a=grid_a,
        thresholds_b=grid_b,
        attainment=attainment,
        periods_met_share=share,
        worst_period=worst,
        iso_b=iso_b,
        medians=medians,
        recommended=recommended,
        target=slo.objective.target,
        desired_share=desired_share,
        periods_used=int(use.sum()),
        complete_only=complete_only,
        rationale="",
    )
    return replace(design, rationale=_joint_rationale(design))


def _joint_grid(values: np.ndarray, points: int) -> tuple[np.ndarray, float]:
    """`points` log-spaced thresholds from the 1st to the 99.9th percentile, and the median."""
    lo, median, hi = np.percentile(values, (JOINT_RANGE[0], 50.0, JOINT_RANGE[1]))
    lo = max(float(lo), 1e-3)
    hi = max(float(hi), lo * 1.01)
    return np.unique(np.geomspace(lo, hi, max(points, 2))), float(median)


def _joint_rationale(d: JointDesign) -> str:
    a, b = (METRIC_ABBREVIATIONS.get(m, m) for m in d.metrics)
    kind = "complete" if d.complete_only else "(partly covered)"
    if d.recommended is None:
        return (
            f"No pair on the grid meets a {fmt.percent(d.target)} target in {d.desired_share:.0%} "
            f"of the {d.periods_used} {kind} periods: even the loosest {a} and {b} leave too "
            "many bad requests (failed requests always count as bad)."
        )
    i, j = cast(tuple[int, int], d.recommended_index)
    ra, rb = d.recommended
    return (
        f"{a} <= {fmt.ms(ra)} with {b} <= {fmt.ms(rb)} meets the {fmt.percent(d.target)} "
        f"target in {fmt.percent(float(d.periods_met_share[i, j]), 1)} of the {d.periods_used} "
        f"{kind} periods (at least {d.desired_share:.0%} wanted), with an overall attainment "
        f"of {fmt.percent(float(d.attainment[i, j]), 2)}. Of the pairs that qualify (the "
        f"iso-line: the tightest {b} for each {a}) it has the smallest product of the two "
        f"thresholds in multiples of their medians ({fmt.ms(d.medians[0])} and "
        f"{fmt.ms(d.medians[1])})."
    )


def segment_recommendations(
    scope: Scope, column: str, desired_share: float = 0.9
) -> dict[str, Recommendation]:
    """The recommendation for the same candidate on each value of a segment column.

    Values whose data cannot support a recommendation (no period with events) are left out.
    """
    out: dict[str, Recommendation] = {}
    for part in scope.split(column):
        try:
            out[dict(part.slo.segment)[column]] = recommend(part, desired_share)
        except SpecError:
            continue
    return out
