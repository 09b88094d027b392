"""Typed results of a simulation: attainment, periods, alert firings, violations, series."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sloview import formatting as fmt
from sloview.engine import BUCKET_S
from sloview.model import SLO, AlertWindow


@dataclass(frozen=True)
class Attainment:
    """good / total with a 95% confidence interval."""

    good: float
    total: float
    attainment: float
    ci_low: float
    ci_high: float

    def to_dict(self) -> dict[str, Any]:
        """Plain data (NaN as null)."""
        return {
            k: finite_or_none(getattr(self, k))
            for k in ("good", "total", "attainment", "ci_low", "ci_high")
        }


@dataclass(frozen=True)
class PeriodResult:
    """One SLO period (calendar period, or the rolling window ending at a day's end)."""

    start: pd.Timestamp
    end: pd.Timestamp
    good: float
    total: float
    attainment: float
    # None for a period without events, and for a partial period: one the data cover only
    # in part is shown, never judged.
    met: bool | None
    partial: bool
    budget_remaining: float

    def to_dict(self) -> dict[str, Any]:
        """Plain data."""
        return {
            "start": fmt.iso_utc(self.start),
            "end": fmt.iso_utc(self.end),
            "good": finite_or_none(self.good),
            "total": finite_or_none(self.total),
            "attainment": finite_or_none(self.attainment),
            "met": self.met,
            "partial": self.partial,
            "budget_remaining": finite_or_none(self.budget_remaining),
        }


@dataclass(frozen=True)
class PeriodTable:
    """All periods of a simulation as arrays; iterating yields `PeriodResult` rows."""

    start_ns: np.ndarray
    end_ns: np.ndarray
    good: np.ndarray
    total: np.ndarray
    partial: np.ndarray
    target: float

    @property
    def attainment(self) -> np.ndarray:
        """good / total per period (NaN without events)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.total > 0, self.good / np.maximum(self.total, 1e-300), np.nan)

    @property
    def has_data(self) -> np.ndarray:
        """Periods with at least one counted event or slice."""
        return self.total > 0

    @property
    def complete(self) -> np.ndarray:
        """Periods the data cover whole (only these are judged)."""
        return ~self.partial

    @property
    def judged(self) -> np.ndarray:
        """Complete periods with at least one counted event or slice."""
        return self.complete & self.has_data

    @property
    def met(self) -> np.ndarray:
        """Whether each judged period met the target (False where it is not judged)."""
        return self.judged & (self.attainment >= self.target - 1e-12)

    @property
    def budget_remaining(self) -> np.ndarray:
        """Remaining share of the error budget per period (negative when overspent)."""
        return 1.0 - (1.0 - self.attainment) / (1.0 - self.target)

    def __len__(self) -> int:
        return int(self.start_ns.size)

    def __getitem__(self, i: int) -> PeriodResult:
        i = range(len(self))[i]
        att = float(self.attainment[i])
        judged = bool(self.judged[i])
        return PeriodResult(
            start=pd.Timestamp(int(self.start_ns[i]), tz="UTC"),
            end=pd.Timestamp(int(self.end_ns[i]), tz="UTC"),
            good=float(self.good[i]),
            total=float(self.total[i]),
            attainment=att,
            met=bool(att >= self.target - 1e-12) if judged else None,
            partial=bool(self.partial[i]),
            budget_remaining=float(self.budget_remaining[i]),
        )

    def __iter__(self) -> Iterator[PeriodResult]:
        return (self[i] for i in range(len(self)))


@dataclass(frozen=True)
class AlertFiring:
    """An interval in which one alert rule would have fired."""

    rule: AlertWindow
    start_ns: int
    end_ns: int
    budget_spent: float
    violation: int | None
    delay_s: float | None
    # The evaluation step: a firing lasts from its first evaluation to one step past its last.
    step_s: int = BUCKET_S

    @property
    def duration_s(self) -> float:
        """How long the alert fired (at least one evaluation step)."""
        return (self.end_ns - self.start_ns) / 1e9 + self.step_s

    @property
    def start(self) -> pd.Timestamp:
        """When the alert would have started firing (UTC)."""
        return pd.Timestamp(self.start_ns, tz="UTC")

    @property
    def end(self) -> pd.Timestamp:
        """The last evaluation at which it was still firing (UTC); it resolves one step later."""
        return pd.Timestamp(self.end_ns, tz="UTC")

    def to_dict(self) -> dict[str, Any]:
        """Plain data."""
        return {
            "severity": self.rule.severity,
            "long_window": _dur(self.rule.long_s),
            "short_window": _dur(self.rule.short_s),
            "burn_rate_threshold": self.rule.burn_rate,
            "start": fmt.iso_utc(self.start),
            "end": fmt.iso_utc(self.end),
            "budget_spent_at_start": finite_or_none(self.budget_spent),
            "violation": self.violation,
            "detection_delay_s": self.delay_s,
        }


@dataclass(frozen=True)
class Violation:
    """A stretch that spent error budget faster than sustainable, and whether alerts caught it."""

    start: pd.Timestamp
    end: pd.Timestamp
    budget_spent: float
    peak_burn: float
    caught_by: tuple[str, ...]
    detection_delay_s: float | None
    # Whether any alert rule could be evaluated during it: rules wait for their long window
    # of data, so a violation over before that was not missed by the alerts.
    alertable: bool = True

    @property
    def missed(self) -> bool:
        """No alert caught it although one could have."""
        return self.alertable and not self.caught_by

    def to_dict(self) -> dict[str, Any]:
        """Plain data."""
        return {
            "start": fmt.iso_utc(self.start),
            "end": fmt.iso_utc(self.end),
            "budget_spent": finite_or_none(self.budget_spent),
            "peak_burn_rate": finite_or_none(self.peak_burn),
            "caught_by": list(self.caught_by),
            "detection_delay_s": self.detection_delay_s,
            "alertable": self.alertable,
            "missed": self.missed,
        }


@dataclass(frozen=True)
class Series:
    """A named time series (UTC nanosecond times, float values)."""

    name: str
    times_ns: np.ndarray
    values: np.ndarray

    @property
    def times(self) -> pd.DatetimeIndex:
        """The times as a UTC DatetimeIndex."""
        return utc_index(self.times_ns)


@dataclass(frozen=True)
class SegmentResult:
    """The candidate narrowed to one segment value: its attainment, periods and failures."""

    column: str
    value: str
    overall: Attainment
    # Complete periods met and judged (None and 0 without a complete period or timestamps).
    periods_met: int | None
    periods: int
    # Requests of this segment value (outside exclusions) and how many of them failed.
    requests: int
    errors: int

    @property
    def error_rate(self) -> float:
        """Failed requests / requests (NaN without requests)."""
        return self.errors / self.requests if self.requests else math.nan

    def verdict(self, target: float) -> str:
        """`met`, `missed`, `failing` (attainment fine, failures beyond the budget) or `n/a`.

        A latency SLI may leave failed requests out, so a segment whose requests mostly fail
        can look fast: it is `failing` whenever its failures alone would use up the budget.
        """
        att = self.overall.attainment
        return segment_verdict(att >= target - 1e-12, self.error_rate, target, int(att == att))

    def to_dict(self) -> dict[str, Any]:
        """Plain data (a row of `simulate --by` and of `segments`)."""
        return {
            "value": self.value,
            **self.overall.to_dict(),
            "errors": self.errors,
            "error_rate": finite_or_none(self.error_rate),
            "requests": self.requests,
            "periods_met": self.periods_met,
            "periods": self.periods,
        }


def segment_verdict(meets: bool, error_rate: float, target: float, judged: int) -> str:
    """The verdict of one segment (or provider) in a comparison, in one place: `met`,
    `missed`, `failing` (the objective is met, but failures alone exceed the budget: a
    provider failing 87% is never green, even when its few successes were fast) or `n/a`."""
    if not judged:
        return "n/a"
    if not meets:
        return "missed"
    return "failing" if error_rate > 1 - target + 1e-12 else "met"


@dataclass(frozen=True)
class Coverage:
    """How much history the data hold for this SLO: their span and the periods it covers."""

    start: pd.Timestamp | None
    end: pd.Timestamp | None
    span_s: float | None
    complete_periods: int
    partial_periods: int

    def to_dict(self) -> dict[str, Any]:
        """Plain data (null times without timestamps)."""
        return {
            "start": fmt.iso_utc(self.start),
            "end": fmt.iso_utc(self.end),
            "span_s": self.span_s,
            "complete_periods": self.complete_periods,
            "partial_periods": self.partial_periods,
        }


@dataclass(frozen=True)
class Simulation:
    """How one SLO would have done on the history in the engine."""

    slo: SLO
    statement: str
    overall: Attainment
    periods: PeriodTable
    budget: Series
    burn: tuple[Series, ...]
    firings: tuple[AlertFiring, ...]
    violations: tuple[Violation, ...]
    coverage: Coverage
    segments: tuple[SegmentResult, ...] = ()
    # Sentences that change how to read the result (thin or partial data, no timestamps,
    # synthetic times); `notes` hold the rest.
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    cell_s: int = BUCKET_S
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def error_budget_remaining(self) -> float:
        """Budget left in the most recent judged period (negative when overspent; NaN when
        no period is judged)."""
        judged = np.flatnonzero(self.periods.judged)
        return float(self.periods.budget_remaining[judged[-1]]) if judged.size else math.nan

    @property
    def periods_met(self) -> int | None:
        """How many complete periods met the objective (None when none is complete)."""
        return int(self.periods.met.sum()) if self.periods_judged else None

    @property
    def periods_judged(self) -> int:
        """Complete periods with events (or slices) to judge."""
        return int(self.periods.judged.sum())

    @property
    def missed_violations(self) -> tuple[Violation, ...]:
        """Violations no alert caught although one could have been evaluated."""
        return tuple(v for v in self.violations if v.missed)

    @property
    def false_alerts(self) -> tuple[AlertFiring, ...]:
        """Alert firings with no violation under way."""
        return tuple(f for f in self.firings if f.violation is None)

    def pages_per_month(self) -> float:
        """Page-severity firings per 30 days of the data's span (at least a day of it)."""
        span_s = self.coverage.span_s
        if span_s is None:
            return math.nan
        pages = sum(1 for f in self.firings if f.rule.severity == "page")
        return pages * 30 * 86400 / max(span_s, 86400.0)

    def to_dict(self) -> dict[str, Any]:
        """The JSON entry of `sloview simulate --json`."""
        slo = self.slo
        return {
            "name": slo.name,
            "sli": slo.sli.kind,
            "metric": slo.sli.metric if slo.sli.kind == "latency" else None,
            "conditions": [c.to_dict() for c in slo.sli.conditions],
            "budgeting_method": slo.budgeting.method,
            "target": slo.objective.target,
            "threshold_ms": slo.threshold_ms,
            "threshold": slo.objective.threshold,
            "statement": self.statement,
            "overall": self.overall.to_dict(),
            "periods": [p.to_dict() for p in self.periods],
            "periods_met": self.periods_met,
            "periods_judged": self.periods_judged,
            "coverage": self.coverage.to_dict(),
            "error_budget_remaining": finite_or_none(self.error_budget_remaining),
            "alerts": [f.to_dict() for f in self.firings],
            "violations": [v.to_dict() for v in self.violations],
            "segments": [{"column": s.column, **s.to_dict()} for s in self.segments],
            "warnings": list(self.warnings),
            "notes": list(self.notes),
            "slo": slo.to_dict(),
        }


def finite_or_none(value: float | None) -> float | None:
    if value is None:
        return None
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _dur(seconds: int) -> str:
    return fmt.duration(seconds)


def utc_index(ns: np.ndarray) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(ns.view("datetime64[ns]")).tz_localize("UTC")
