"""Reviews: an agreed SLO checked against the data of a new period, and what to do about it.

A review is the simulation of the agreed version on the new data (so its figures are exactly
`simulate`'s), read over the whole period reviewed: attainment with its 95% CI against the
target, met or missed, the error budget left. The suggestion compares the target and threshold
with what the new data support over that period:

- loosen, when the target was missed: the threshold the data support at the target (latency),
  or the highest usual target they support;
- tighten, when it was met with at least half the budget left and the data support a clearly
  stricter threshold (at most 80% of it) or the next usual target;
- keep, otherwise.

"Support" is read on the 95% CIs, never on the point estimate alone: a threshold is the upper
end of the CI of the target's quantile, a target at most the lower end of the attainment's CI.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Literal

from sloview import formatting as fmt
from sloview.design import TARGET_GRID, Recommendation, recommend_overall
from sloview.engine import Engine, Scope
from sloview.errors import SpecError
from sloview.ingest.table import LATENCY, LATENCY_COLUMNS, TPOT, TTFT
from sloview.model import SLO
from sloview.registry.store import AgreedVersion, Registry, ReviewRecord
from sloview.simulate import Simulation, simulate
from sloview.specfile import flatten, load_specs
from sloview.units import nice_values

# The CLI flags that map each latency column (for the hint when a spec's metric is missing).
METRIC_FLAGS = {
    LATENCY: "--latency COL",
    TTFT: "--ttft COL",
    TPOT: "--ttft COL and --output-tokens COL",
}
Action = Literal["keep", "tighten", "loosen"]
# Tighten only when the data support at most this share of the agreed threshold ...
TIGHTEN_THRESHOLD_SHARE = 0.8
# ... and the period left at least this share of its budget.
TIGHTEN_BUDGET_LEFT = 0.5


@dataclass(frozen=True)
class Suggestion:
    """Keep, tighten or loosen, with the threshold and target the new data support."""

    action: Action
    threshold_ms: float | None
    target: float
    why: str

    def to_dict(self) -> dict[str, Any]:
        """Plain data."""
        return {
            "action": self.action,
            "threshold_ms": self.threshold_ms,
            "target": self.target,
            "why": self.why,
        }


@dataclass(frozen=True)
class TrendPoint:
    """One review on the trend: the period, its attainment with CI, the target then."""

    period_start: str | None
    period_end: str | None
    version: int
    attainment: float | None
    ci_low: float | None
    ci_high: float | None
    target: float
    met: bool | None
    current: bool = False

    @property
    def label(self) -> str:
        """`2026-11-01 to 2026-11-30` (days of the period reviewed)."""
        start, end = (self.period_start or "?")[:10], (self.period_end or "?")[:10]
        return start if start == end else f"{start} to {end}"


@dataclass(frozen=True)
class Review:
    """One agreed version on one period's data, with the reviews before it."""

    agreed: AgreedVersion
    simulation: Simulation
    suggestion: Suggestion
    previous: tuple[ReviewRecord, ...] = ()

    @property
    def target(self) -> float:
        """The agreed target."""
        return self.agreed.slo.objective.target

    @property
    def attainment(self) -> float:
        """Attainment over the whole period reviewed."""
        return self.simulation.overall.attainment

    @property
    def met(self) -> bool | None:
        """Whether the period met the target (None without events)."""
        att = self.attainment
        return None if not math.isfinite(att) else bool(att >= self.target - 1e-12)

    @property
    def budget_remaining(self) -> float:
        """Share of the period's error budget left (negative when overspent)."""
        return 1.0 - (1.0 - self.attainment) / (1.0 - self.target)

    def suggested_slo(self) -> SLO:
        """The agreed SLO with the suggested threshold and target (itself for `keep`)."""
        s = self.suggestion
        return with_objective(self.agreed.slo, s.target, s.threshold_ms)

    @property
    def period(self) -> tuple[str | None, str | None]:
        """The period reviewed, ISO 8601 UTC (first and last request)."""
        cov = self.simulation.coverage
        return fmt.iso_utc(cov.start), fmt.iso_utc(cov.end)

    def recorded_before(self, fingerprint: str) -> ReviewRecord | None:
        """The recorded review of this version on the same data and period, if any (so the
        app does not record one review twice)."""
        same = [
            p
            for p in self.previous
            if p.version == self.agreed.version
            and p.data_fingerprint == fingerprint
            and (p.period_start, p.period_end) == self.period
        ]
        return same[-1] if same else None

    def trend(self) -> list[TrendPoint]:
        """Every review of this SLO, oldest first, this one last. A recorded review of the very
        same version, period and figures is this review (recorded, or run again): one point."""
        o = self.simulation.overall
        now = TrendPoint(
            *self.period,
            self.agreed.version,
            _finite(o.attainment),
            _finite(o.ci_low),
            _finite(o.ci_high),
            self.target,
            self.met,
            current=True,
        )
        points: dict[tuple[Any, ...], TrendPoint] = {}
        for p in self.previous:
            point = TrendPoint(
                p.period_start,
                p.period_end,
                p.version,
                p.attainment,
                p.ci_low,
                p.ci_high,
                p.target,
                p.met,
            )
            points.setdefault(_same(point), point)
        points.pop(_same(now), None)
        return [*points.values(), now]

    def record(
        self, *, at: str, by: str = "", source: str = "", fingerprint: str = "", note: str = ""
    ) -> ReviewRecord:
        """The row the registry keeps for this review."""
        o, cov = self.simulation.overall, self.simulation.coverage
        return ReviewRecord(
            name=self.agreed.name,
            version=self.agreed.version,
            reviewed_at=at,
            reviewed_by=by,
            source=source,
            data_fingerprint=fingerprint,
            period_start=fmt.iso_utc(cov.start),
            period_end=fmt.iso_utc(cov.end),
            good=float(o.good),
            total=float(o.total),
            attainment=_finite(o.attainment),
            ci_low=_finite(o.ci_low),
            ci_high=_finite(o.ci_high),
            target=self.target,
            met=self.met,
            budget_remaining=_finite(self.budget_remaining),
            action=self.suggestion.action,
            suggested_threshold_ms=self.suggestion.threshold_ms,
            suggested_target=self.suggestion.target,
            why=self.suggestion.why,
            note=note,
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON entry of `sloview review --json`."""
        o, cov = self.simulation.overall, self.simulation.coverage
        return {
            "name": self.agreed.name,
            "version": self.agreed.version,
            "statement": self.simulation.statement,
            "period": {"start": fmt.iso_utc(cov.start), "end": fmt.iso_utc(cov.end)},
            "good": float(o.good),
            "total": float(o.total),
            "attainment": _finite(o.attainment),
            "ci_low": _finite(o.ci_low),
            "ci_high": _finite(o.ci_high),
            "target": self.target,
            "met": self.met,
            "budget_remaining": _finite(self.budget_remaining),
            "previous": [
                {
                    "period": {"start": p.period_start, "end": p.period_end},
                    "attainment": p.attainment,
                    "met": p.met,
                    "version": p.version,
                    "reviewed_at": p.reviewed_at,
                }
                for p in self.previous
            ],
            "suggestion": self.suggestion.to_dict(),
            "warnings": list(self.simulation.warnings),
        }


def review(
    data: Engine,
    agreed: AgreedVersion,
    previous: tuple[ReviewRecord, ...] = (),
    where: str = "",
) -> Review:
    """Check an agreed version against the data of a new period."""
    check_columns(data, agreed.slo, where or f"SLO {agreed.name}")
    scope = Scope.bind(data, agreed.slo)
    sim = simulate(scope)
    return Review(agreed=agreed, simulation=sim, suggestion=suggest(scope, sim), previous=previous)


def check_columns(data: Engine, slo: SLO, where: str) -> None:
    """A clear error when the agreed spec no longer matches the data's columns (a renamed
    segment column, a metric the data no longer carry, a segment value that disappeared)."""
    for metric in slo.sli.metrics:
        if metric not in data.metrics():
            raise SpecError(
                f"measures the {LATENCY_COLUMNS.get(metric, metric)}, which these data do not have",
                where=where,
                hint=f"map its column ({METRIC_FLAGS.get(metric, 'see --help')}) or agree a new "
                "version that fits the data",
            )
    columns = data.segment_columns()
    for column, value in slo.segment:
        if column not in columns:
            raise SpecError(
                f"is scoped to {column}={value}, but the data have no column {column!r}",
                where=where,
                hint="map it with --segment COL, or agree a new version without that scope",
            )
        if value not in data.segment_values(column):
            raise SpecError(
                f"is scoped to {column}={value}, but no request in the data has that value",
                where=where,
                hint=f"values seen: {', '.join(map(str, data.segment_values(column)[:8]))}",
            )


def agreed_from_specs(registry: Registry, path: str) -> list[AgreedVersion]:
    """The agreed versions a spec file names: each SLO in it must be registered with exactly
    this spec as its latest version (a file edited since it was agreed is not what was agreed)."""
    out = []
    for slo in flatten(load_specs(path)):
        latest = registry.latest(slo.name)
        if latest.slo.to_dict() != slo.to_dict():
            raise SpecError(
                f"{slo.name} differs from its agreed version {latest.version}",
                where=path,
                hint=f"agree it first (`sloview registry add {path} --by NAME`) or review "
                f"by name (--slo {slo.name})",
            )
        out.append(latest)
    return out


def trend_text(r: Review) -> str:
    """`2026-09-30: 99.1% met, 2026-10-31: 98.7% MISSED, now: 99.41% met` (oldest first)."""
    parts = []
    for p in r.trend():
        att = fmt.attainment(p.attainment, p.target)
        verdict = "no data" if p.met is None else ("met" if p.met else "MISSED")
        parts.append(f"{'now' if p.current else (p.period_end or '?')[:10]}: {att} {verdict}")
    return ", ".join(parts) if len(parts) > 1 else f"first review ({parts[0]})"


def decision_figures(sim: Simulation) -> dict[str, Any]:
    """The figures the room saw when it agreed (kept with the version)."""
    o = sim.overall
    return {
        "attainment": _finite(o.attainment),
        "ci_low": _finite(o.ci_low),
        "ci_high": _finite(o.ci_high),
        "good": float(o.good),
        "total": float(o.total),
        "periods_met": sim.periods_met,
        "periods_judged": sim.periods_judged,
        "budget_remaining_last_period": _finite(sim.error_budget_remaining),
        "statement": sim.statement,
    }


def suggest(scope: Scope, sim: Simulation) -> Suggestion:
    """Keep, tighten or loosen (see the module docstring), in one sentence why."""
    slo = scope.slo
    target, threshold = slo.objective.target, slo.threshold_ms
    att = sim.overall.attainment
    if not math.isfinite(att):
        return Suggestion("keep", threshold, target, "No requests to judge in this period.")
    supported = recommend_overall(scope, 1.0, "over the period reviewed")
    support_ms = _supported_threshold(supported)
    seen = fmt.attainment(att, target)
    left = 1.0 - (1.0 - att) / (1.0 - target)
    if att < target - 1e-12:
        lower = supported_target(sim.overall.ci_low)
        if threshold is not None and support_ms is not None:
            new_threshold = _round_up(support_ms)
            return Suggestion(
                "loosen",
                new_threshold,
                target,
                f"{seen} met it this period, short of the {fmt.percent(target)} target: the "
                f"data support {fmt.percent(target)} within {fmt.ms(new_threshold)}, or "
                f"{fmt.percent(lower)} within {fmt.ms(threshold)}.",
            )
        return Suggestion(
            "loosen",
            threshold,
            lower,
            f"{seen} met it this period, short of the {fmt.percent(target)} target: the data "
            f"support a target of {fmt.percent(lower)}.",
        )
    stricter_target = next((float(t) for t in TARGET_GRID if t > target + 1e-12), None)
    if left >= TIGHTEN_BUDGET_LEFT:
        if (
            threshold is not None
            and support_ms is not None
            and support_ms <= TIGHTEN_THRESHOLD_SHARE * threshold
        ):
            new_threshold = _round_up(support_ms)
            return Suggestion(
                "tighten",
                new_threshold,
                target,
                f"{seen} met it with {fmt.budget(left)} of the budget left: the data support "
                f"{fmt.percent(target)} within {fmt.ms(new_threshold)}, well under the agreed "
                f"{fmt.ms(threshold)}.",
            )
        if stricter_target is not None and sim.overall.ci_low >= stricter_target:
            return Suggestion(
                "tighten",
                threshold,
                stricter_target,
                f"{seen} met it with {fmt.budget(left)} of the budget left: the data also meet a "
                f"{fmt.percent(stricter_target)} target.",
            )
    return Suggestion(
        "keep",
        threshold,
        target,
        f"{seen} met the {fmt.percent(target)} target with {fmt.budget(left)} of the budget "
        "left: the agreed SLO fits these data.",
    )


def _supported_threshold(rec: Recommendation) -> float | None:
    """The threshold the period supports at the target: the upper end of its 95% CI (the
    point estimate when the requests are too few for one)."""
    if rec.threshold is None:
        return None
    if rec.threshold_ci is not None and math.isfinite(rec.threshold_ci[1]):
        return max(rec.threshold_ci[1], rec.threshold)
    return rec.threshold


def _same(p: TrendPoint) -> tuple[Any, ...]:
    """What makes two reviews the same review (run twice on the same data)."""
    return (p.period_start, p.period_end, p.version, p.attainment, p.target)


def supported_target(ci_low: float) -> float:
    """The highest target people write that the period's lower 95% bound still meets: a
    usual target (99.5%, 99% ...) from 90% up, a whole percent below."""
    usual = [float(t) for t in TARGET_GRID if t <= ci_low + 1e-12]
    if usual:
        return usual[-1]
    return max(math.floor(ci_low * 100 + 1e-9) / 100, 0.0)


def _round_up(ms: float) -> float:
    """The smallest round value at or above a threshold (what people write in an SLO)."""
    return min(v for v in nice_values(ms, ms * 1.3, fine=True) if v >= ms)


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def with_objective(slo: SLO, target: float, threshold_ms: float | None = None) -> SLO:
    """The SLO with another target (and latency threshold, for a latency SLO)."""
    objective = replace(slo.objective, target=target)
    if threshold_ms is not None and slo.threshold_ms is not None:
        objective = replace(objective, threshold=threshold_ms)
    return slo.with_changes(objective=objective)


def spec_diff(old: SLO, new: SLO) -> list[tuple[str, str, str]]:
    """What changes between two versions of a spec, field by field: (field path, old, new),
    with `(none)` for a field one side does not have (shown before a new version is agreed)."""
    a, b = _flat(old.to_dict()), _flat(new.to_dict())
    return [
        (path, a.get(path, "(none)"), b.get(path, "(none)"))
        for path in sorted(set(a) | set(b))
        if a.get(path) != b.get(path)
    ]


def _flat(value: Any, path: str = "") -> dict[str, str]:
    if isinstance(value, dict):
        out: dict[str, str] = {}
        for key, item in value.items():
            out.update(_flat(item, f"{path}.{key}" if path else str(key)))
        return out
    if isinstance(value, list):
        out = {}
        for i, item in enumerate(value):
            out.update(_flat(item, f"{path}[{i}]"))
        return out
    if isinstance(value, float) and value.is_integer():
        # 8000 and 8000.0 are one threshold: neither a false change nor "8000.0" on screen.
        return {path: str(int(value))}
    return {path: str(value)}
