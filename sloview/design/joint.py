"""Two-dimensional design of a joint SLI: exact attainment at every pair of a threshold grid,
the iso-line of the target and a recommended pair."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal, cast

import numpy as np

from sloview import formatting as fmt
from sloview.design.sweeps import finite_or_none, nan_list, period_groups, periods_to_use
from sloview.engine.scope import Scope
from sloview.errors import SpecError
from sloview.model import SLO
from sloview.simulate import (
    build_grid,
    cumsum0,
    event_counts,
    period_table,
    ratio_verdict,
    slice_cells,
    slice_layout,
    slice_sum,
)
from sloview.wording import METRIC_ABBREVIATIONS

JOINT_POINTS = 40
# The joint grid spans each metric from its 1st to its 99.9th percentile (log-spaced).


# The joint grid spans each metric from its 1st to its 99.9th percentile (log-spaced).
JOINT_RANGE = (1.0, 99.9)


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
            "attainment": [nan_list(row) for row in self.attainment],
            "periods_met_share": [nan_list(row) for row in self.periods_met_share],
            "worst_period": [nan_list(row) for row in self.worst_period],
            "iso_b_ms": nan_list(self.iso_b),
            "medians_ms": [finite_or_none(m) for m in self.medians],
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
        lut, n_cells, ds, de = period_groups(scope)
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

    use = periods_to_use(table.partial) & table.has_data
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
