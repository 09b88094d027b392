"""Recommendations: the tightest threshold and the highest target the history supports,
with confidence intervals, for a share of complete periods or over all requests."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from sloview import formatting as fmt
from sloview.design.sweeps import (
    finite_or_none,
    period_attainment,
    period_table_at,
    periods_to_use,
)
from sloview.engine.scope import Scope
from sloview.errors import SpecError
from sloview.model import SLO
from sloview.simulate.overall import overall_of
from sloview.stats import clopper_pearson, percentile_rank_interval, quantile_threshold


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
            "threshold_ms": finite_or_none(self.threshold),
            "threshold_ci_ms": None
            if self.threshold_ci is None
            else [finite_or_none(self.threshold_ci[0]), finite_or_none(self.threshold_ci[1])],
            "threshold_every_period_ms": finite_or_none(self.threshold_every_period),
            "target": finite_or_none(self.target),
            "target_exact": finite_or_none(self.target_exact),
            "target_ci": [finite_or_none(self.target_ci[0]), finite_or_none(self.target_ci[1])],
            "target_every_period": finite_or_none(self.target_every_period),
            "headroom": finite_or_none(self.headroom),
            "attainment_margin": finite_or_none(self.margin),
            "rationale": self.rationale,
        }


def _share_met(scope: Scope, threshold: float) -> float:
    slo = scope.slo
    att = period_attainment(scope, threshold)
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
    table = period_table_at(scope)
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
    target = nice_target(target_exact)

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
    target = nice_target(overall.attainment)
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
    table = period_table_at(scope, threshold)
    use = periods_to_use(table.partial) & table.has_data
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


def nice_target(exact: float) -> float:
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
