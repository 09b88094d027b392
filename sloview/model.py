"""The SLO model: frozen dataclasses with `from_dict`/`to_dict`; errors name the field path.

A candidate SLO is data: what is measured (SLI), what is promised (Objective), over which
period (TimeWindow), how the error budget is counted (Budgeting), when to alert (AlertWindow
rows), what does not count (Exclusion), and for which requests (segment filter).

A joint SLI (`kind: joint`) judges each request by several latency conditions at once, e.g.
TTFT <= 500 ms AND TPOT <= 50 ms: a request is good when it succeeded and meets every
condition. Its rules, decided once here and stated wherever it is shown:

- failed requests are always bad events (the SLI is about requests that were good in every
  way, so there is no `failed_requests` setting);
- a successful request without a value for a condition's metric (no TTFT on an embedding,
  no TPOT on a one-token answer) is left out of the valid events, and counted by reason in
  the simulation's notes, as failed requests are left out of a latency SLI by default.

Goodput is throughput measured on those good requests: `kind: throughput, unit: goodput`
with the same `conditions`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from typing import Any, Literal, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

from sloview import formatting as fmt
from sloview.errors import SpecError
from sloview.ingest.table import LATENCY, LATENCY_COLUMNS
from sloview.units import parse_duration

SLIKind = Literal["latency", "availability", "throughput", "joint"]
Op = Literal["lte", "lt", "gte", "gt"]
Calendar = Literal["day", "week", "month", "quarter"]
Method = Literal["Occurrences", "Timeslices", "RatioTimeslices"]
FailedPolicy = Literal["exclude", "bad"]
EmptySlices = Literal["skip", "good", "bad"]
ThroughputUnit = Literal["requests", "output_tokens", "goodput"]
ConditionOp = Literal["lte", "lt"]

SLI_KINDS: tuple[SLIKind, ...] = ("latency", "availability", "throughput", "joint")
THROUGHPUT_UNITS: tuple[ThroughputUnit, ...] = ("requests", "output_tokens", "goodput")
METHODS: tuple[Method, ...] = ("Occurrences", "Timeslices", "RatioTimeslices")
CALENDARS: tuple[Calendar, ...] = ("day", "week", "month", "quarter")
# Nominal period lengths, used only to scale alert burn factors for calendar windows.
CALENDAR_HOURS = {"day": 24, "week": 168, "month": 720, "quarter": 2160}
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def check_name(name: str) -> None:
    """Refuse a name OpenSLO, Sloth and Prometheus labels would not take (SLOs and composites)."""
    if not _NAME.match(name) or len(name) > 63:
        raise SpecError(
            f"{name!r} is not a valid SLO name",
            where="name",
            hint="use lower-case letters, digits and dashes (at most 63), e.g. chat-latency",
        )


_CONDITION = re.compile(
    r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(<=|<)\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(ms|s)?\s*$"
)
# Short names people type for the latency columns (`ttft<=500`).
METRIC_ALIASES = {"latency": LATENCY, "e2e": LATENCY, "ttft": "ttft_ms", "tpot": "tpot_ms"}
CONDITION_SYMBOLS: dict[str, str] = {"lte": "<=", "lt": "<"}

# SRE Workbook multiwindow, multi-burn-rate alerts: (severity, long, short, share of budget
# spent when the alert fires). Burn factors follow from the SLO period.
WORKBOOK_ALERTS = (
    ("page", 3600, 300, 0.02),
    ("page", 6 * 3600, 1800, 0.05),
    ("ticket", 86400, 7200, 0.10),
    ("ticket", 3 * 86400, 6 * 3600, 0.10),
)


def _path(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _mapping(data: Any, where: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise SpecError("must be a mapping (key: value pairs)", where=where or "SLO")
    return data


def _no_unknown(data: dict[str, Any], known: set[str], where: str) -> None:
    unknown = sorted(set(data) - known)
    if unknown:
        raise SpecError(
            "unknown field",
            where=_path(where, unknown[0]),
            hint=f"known fields here: {', '.join(sorted(known))}",
        )


def _number(data: dict[str, Any], key: str, where: str, default: Any = None) -> float | None:
    value = data.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SpecError(f"must be a number, not {value!r}", where=_path(where, key))
    return float(value)


def _choice(
    data: dict[str, Any], key: str, options: tuple[str, ...], where: str, default: Any
) -> Any:
    value = data.get(key, default)
    if value not in options:
        raise SpecError(
            f"{value!r} is not allowed",
            where=_path(where, key),
            hint=f"use one of {', '.join(options)}",
        )
    return value


def _duration(data: dict[str, Any], key: str, where: str) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    return parse_duration(str(value), where=_path(where, key))


@dataclass(frozen=True, kw_only=True, slots=True)
class Condition:
    """One condition of a joint SLI: a latency column compared with a threshold in ms."""

    metric: str
    threshold: float
    op: ConditionOp = "lte"

    def __post_init__(self) -> None:
        if self.metric not in LATENCY_COLUMNS:
            raise SpecError(
                f"{self.metric!r} is not a latency column",
                where="metric",
                hint=f"use one of {', '.join(LATENCY_COLUMNS)}",
            )
        if self.op not in CONDITION_SYMBOLS:
            raise SpecError(
                f"{self.op!r} is not allowed", where="op", hint="use lte (<=) or lt (<)"
            )
        if (
            isinstance(self.threshold, bool)
            or not isinstance(self.threshold, int | float)
            or not math.isfinite(self.threshold)
            or self.threshold < 0
        ):
            raise SpecError("must be a non-negative number of ms", where="threshold")
        object.__setattr__(self, "threshold", float(self.threshold))

    def text(self) -> str:
        """`ttft_ms<=500` (what `parse_condition` reads back)."""
        return f"{self.metric}{CONDITION_SYMBOLS[self.op]}{_num_text(self.threshold)}"

    def to_dict(self) -> dict[str, Any]:
        """Plain data."""
        return {"metric": self.metric, "op": self.op, "threshold": self.threshold}

    @classmethod
    def from_dict(cls, data: Any, where: str = "conditions[0]") -> Condition:
        """Build from plain data (or `ttft_ms<=500` text); errors name the field path."""
        if isinstance(data, str):
            return parse_condition(data, where)
        d = _mapping(data, where)
        _no_unknown(d, {"metric", "op", "threshold"}, where)
        for key in ("metric", "threshold"):
            if key not in d:
                raise SpecError("is required", where=_path(where, key))
        threshold = _number(d, "threshold", where)
        op = _choice(d, "op", tuple(CONDITION_SYMBOLS), where, "lte")
        metric = str(d["metric"])
        try:
            return cls(
                metric=METRIC_ALIASES.get(metric, metric), threshold=cast(float, threshold), op=op
            )
        except SpecError as exc:
            raise SpecError(
                exc.message, where=_path(where, exc.where or ""), hint=exc.hint
            ) from None


def parse_condition(text: str, where: str = "condition") -> Condition:
    """A condition from text: `ttft_ms<=500`, `tpot < 50ms`, `latency_ms<=2s`."""
    match = _CONDITION.match(str(text))
    hint = (
        "write METRIC<=MS or METRIC<MS, e.g. ttft_ms<=500 or tpot_ms<50 "
        f"(metrics: {', '.join(LATENCY_COLUMNS)})"
    )
    if match is None:
        raise SpecError(f"{text!r} is not a condition", where=where, hint=hint)
    name, symbol, number, unit = match.groups()
    metric = METRIC_ALIASES.get(name.lower(), name.lower())
    if metric not in LATENCY_COLUMNS:
        raise SpecError(f"{name!r} is not a latency column", where=where, hint=hint)
    threshold = float(number) * (1000.0 if unit == "s" else 1.0)
    return Condition(metric=metric, threshold=threshold, op="lte" if symbol == "<=" else "lt")


def _num_text(value: float) -> str:
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


@dataclass(frozen=True, kw_only=True, slots=True)
class SLI:
    """What is measured: latency, availability, throughput, or joint latency conditions."""

    kind: SLIKind
    metric: str = LATENCY
    percentile: float | None = None
    failed_requests: FailedPolicy = "exclude"
    unit: ThroughputUnit = "requests"
    conditions: tuple[Condition, ...] = ()

    def __post_init__(self) -> None:
        # Settings that do not apply to this kind are not kept: `to_dict` leaves them out, so
        # keeping them would break `from_dict(sli.to_dict()) == sli`.
        if self.kind != "latency":
            object.__setattr__(self, "metric", LATENCY)
            # A joint SLI is about requests that were good in every way: failures are bad.
            object.__setattr__(
                self, "failed_requests", "bad" if self.kind == "joint" else "exclude"
            )
        if self.kind != "throughput":
            object.__setattr__(self, "unit", "requests")
        object.__setattr__(self, "conditions", tuple(self.conditions))
        if self.uses_conditions:
            self._check_conditions()
        else:
            object.__setattr__(self, "conditions", ())
        if self.kind == "latency" and self.metric not in LATENCY_COLUMNS:
            raise SpecError(
                f"{self.metric!r} is not a latency column",
                where="sli.metric",
                hint=f"use one of {', '.join(LATENCY_COLUMNS)}",
            )
        if self.percentile is not None and not 0 < self.percentile < 100:
            raise SpecError("must be between 0 and 100 (exclusive)", where="sli.percentile")
        if self.percentile is not None and self.kind != "latency":
            raise SpecError("only latency SLIs have a percentile", where="sli.percentile")

    def _check_conditions(self) -> None:
        what = "a joint SLI" if self.kind == "joint" else "goodput"
        if not self.conditions:
            raise SpecError(
                f"{what} needs at least one condition",
                where="sli.conditions",
                hint="e.g. conditions: [{metric: ttft_ms, op: lte, threshold: 500}]",
            )
        seen: set[str] = set()
        for i, cond in enumerate(self.conditions):
            if not isinstance(cond, Condition):
                raise SpecError("must be a condition", where=f"sli.conditions[{i}]")
            if cond.metric in seen:
                raise SpecError(
                    f"{cond.metric} appears twice",
                    where=f"sli.conditions[{i}].metric",
                    hint="give each latency column at most one condition",
                )
            seen.add(cond.metric)

    @property
    def uses_conditions(self) -> bool:
        """Whether requests are judged by `conditions` (joint SLI, or goodput throughput)."""
        return self.kind == "joint" or (self.kind == "throughput" and self.unit == "goodput")

    @property
    def metrics(self) -> tuple[str, ...]:
        """The latency columns this SLI reads (none for availability and plain throughput)."""
        if self.uses_conditions:
            return tuple(c.metric for c in self.conditions)
        return (self.metric,) if self.kind == "latency" else ()

    @property
    def is_percentile(self) -> bool:
        """Whether each slice is judged by a latency percentile (e.g. p95 per 5 minutes)."""
        return self.percentile is not None

    def to_dict(self) -> dict[str, Any]:
        """Plain data (only settings that apply to this kind)."""
        out: dict[str, Any] = {"kind": self.kind}
        if self.kind == "latency":
            out["metric"] = self.metric
            if self.percentile is not None:
                out["percentile"] = self.percentile
            out["failed_requests"] = self.failed_requests
        if self.kind == "throughput":
            out["unit"] = self.unit
        if self.uses_conditions:
            out["conditions"] = [c.to_dict() for c in self.conditions]
        return out

    @classmethod
    def from_dict(cls, data: Any, where: str = "sli") -> SLI:
        """Build from plain data; errors name the field path (`sli.conditions[1].threshold`)."""
        d = _mapping(data, where)
        known = {"kind", "metric", "percentile", "failed_requests", "unit", "conditions"}
        _no_unknown(d, known, where)
        kind = _choice(d, "kind", SLI_KINDS, where, None)
        unit = _choice(d, "unit", THROUGHPUT_UNITS, where, "requests")
        failed = _choice(d, "failed_requests", ("exclude", "bad"), where, "exclude")
        if kind == "joint" and d.get("failed_requests", "bad") != "bad":
            raise SpecError(
                "a joint SLI always counts failed requests as bad",
                where=_path(where, "failed_requests"),
                hint="remove failed_requests: a good request must succeed and meet every condition",
            )
        conditions: tuple[Condition, ...] = ()
        if "conditions" in d:
            items = d["conditions"]
            if kind != "joint" and not (kind == "throughput" and unit == "goodput"):
                raise SpecError(
                    "conditions apply only to a joint SLI or goodput throughput",
                    where=_path(where, "conditions"),
                    hint="use kind: joint, or kind: throughput with unit: goodput",
                )
            if not isinstance(items, list):
                raise SpecError("must be a list of conditions", where=_path(where, "conditions"))
            conditions = tuple(
                Condition.from_dict(c, f"{_path(where, 'conditions')}[{i}]")
                for i, c in enumerate(items)
            )
        try:
            return cls(
                kind=kind,
                metric=str(d.get("metric", LATENCY)),
                percentile=_number(d, "percentile", where),
                failed_requests=failed,
                unit=unit,
                conditions=conditions,
            )
        except SpecError as exc:
            raise _rebase(exc, "sli", where) from None


@dataclass(frozen=True, kw_only=True, slots=True)
class Objective:
    """What is promised: a target share of good events (or slices) and the threshold."""

    target: float
    threshold: float | None = None
    op: Op = "lte"

    def __post_init__(self) -> None:
        if not 0 < self.target < 1:
            raise SpecError(
                f"{self.target!r} is not a valid target",
                where="objective.target",
                hint="write a share between 0 and 1, e.g. 0.995 for 99.5%",
            )
        if self.threshold is not None and (not math.isfinite(self.threshold) or self.threshold < 0):
            raise SpecError("must be a non-negative number", where="objective.threshold")
        if self.threshold is None:
            object.__setattr__(self, "op", "lte")  # no comparison without a threshold

    def to_dict(self) -> dict[str, Any]:
        """Plain data."""
        out: dict[str, Any] = {"target": self.target}
        if self.threshold is not None:
            out["threshold"] = self.threshold
            out["op"] = self.op
        return out

    @classmethod
    def from_dict(cls, data: Any, where: str = "objective") -> Objective:
        """Build from plain data; errors name the field path."""
        d = _mapping(data, where)
        _no_unknown(d, {"target", "threshold", "op"}, where)
        target = _number(d, "target", where)
        if target is None:
            raise SpecError("is required", where=_path(where, "target"))
        try:
            return cls(
                target=target,
                threshold=_number(d, "threshold", where),
                op=_choice(d, "op", ("lte", "lt", "gte", "gt"), where, "lte"),
            )
        except SpecError as exc:
            raise _rebase(exc, "objective", where) from None


@dataclass(frozen=True, kw_only=True, slots=True)
class TimeWindow:
    """The SLO period: rolling (e.g. 28 days) or calendar (day, week, month, quarter)."""

    rolling_s: int | None = None
    calendar: Calendar | None = None
    tz: str = "UTC"

    def __post_init__(self) -> None:
        if (self.rolling_s is None) == (self.calendar is None):
            raise SpecError(
                "give exactly one of a rolling duration or a calendar period",
                where="window",
                hint="e.g. rolling: 28d, or calendar: month",
            )
        if self.rolling_s is not None and self.rolling_s % 86400:
            raise SpecError(
                f"{fmt.duration(self.rolling_s)} is not a whole number of days",
                where="window.rolling",
                hint="rolling windows are evaluated at the end of each day: use 7d, 28d or 30d",
            )
        try:
            ZoneInfo(self.tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise SpecError(
                f"unknown timezone {self.tz!r}",
                where="window.tz",
                hint="use an IANA name, e.g. UTC",
            ) from None

    @property
    def is_rolling(self) -> bool:
        """Whether the window slides (evaluated at each day's end)."""
        return self.rolling_s is not None

    @property
    def period_hours(self) -> float:
        """Nominal length in hours (calendar months count as 30 days)."""
        if self.rolling_s is not None:
            return self.rolling_s / 3600
        return float(CALENDAR_HOURS[cast(str, self.calendar)])

    def describe(self) -> str:
        """`a rolling 28 days` / `calendar months (UTC)`."""
        if self.rolling_s is not None:
            days = self.rolling_s // 86400
            return f"a rolling {days} day{'s' if days != 1 else ''}"
        return f"calendar {self.calendar}s ({self.tz})"

    def to_dict(self) -> dict[str, Any]:
        """Plain data."""
        if self.rolling_s is not None:
            out: dict[str, Any] = {"rolling": fmt.duration(self.rolling_s)}
        else:
            out = {"calendar": self.calendar}
        if self.tz != "UTC":
            out["tz"] = self.tz
        return out

    @classmethod
    def from_dict(cls, data: Any, where: str = "window") -> TimeWindow:
        """Build from plain data; errors name the field path."""
        d = _mapping(data, where)
        _no_unknown(d, {"rolling", "calendar", "tz"}, where)
        calendar = d.get("calendar")
        if calendar is not None and calendar not in CALENDARS:
            raise SpecError(
                f"{calendar!r} is not a calendar period",
                where=_path(where, "calendar"),
                hint="use day, week, month or quarter",
            )
        try:
            return cls(
                rolling_s=_duration(d, "rolling", where),
                calendar=calendar,
                tz=str(d.get("tz", "UTC")),
            )
        except SpecError as exc:
            raise _rebase(exc, "window", where) from None


@dataclass(frozen=True, kw_only=True, slots=True)
class Budgeting:
    """How attainment is counted: per event, or per time slice."""

    method: Method = "Occurrences"
    slice_s: int | None = None
    slice_target: float | None = None
    min_events: int = 0
    empty_slices: EmptySlices = "skip"

    def __post_init__(self) -> None:
        if self.method == "Occurrences":
            if self.slice_s is not None or self.slice_target is not None or self.min_events:
                raise SpecError(
                    "slice settings apply only to Timeslices and RatioTimeslices",
                    where="budgeting",
                    hint="remove slice, slice_target and min_events, or change the method",
                )
            return
        if self.slice_s is None:
            raise SpecError(
                f"{self.method} needs a slice length",
                where="budgeting.slice",
                hint="e.g. slice: 5m",
            )
        if self.slice_s % 60 or 86400 % self.slice_s:
            raise SpecError(
                f"{fmt.duration(self.slice_s)} does not divide a day into whole minutes",
                where="budgeting.slice",
                hint="use e.g. 1m, 5m, 10m, 15m, 30m or 1h",
            )
        if self.slice_target is not None and not 0 < self.slice_target <= 1:
            raise SpecError("must be in (0, 1]", where="budgeting.slice_target")
        if self.method == "RatioTimeslices" and self.slice_target is not None:
            raise SpecError("RatioTimeslices has no slice target", where="budgeting.slice_target")
        if self.min_events < 0:
            raise SpecError("must be 0 or more", where="budgeting.min_events")

    def to_dict(self) -> dict[str, Any]:
        """Plain data."""
        out: dict[str, Any] = {"method": self.method}
        if self.slice_s is not None:
            out["slice"] = fmt.duration(self.slice_s)
        if self.slice_target is not None:
            out["slice_target"] = self.slice_target
        if self.min_events:
            out["min_events"] = self.min_events
        if self.empty_slices != "skip":
            out["empty_slices"] = self.empty_slices
        return out

    @classmethod
    def from_dict(cls, data: Any, where: str = "budgeting") -> Budgeting:
        """Build from plain data; errors name the field path."""
        d = _mapping(data, where)
        _no_unknown(d, {"method", "slice", "slice_target", "min_events", "empty_slices"}, where)
        min_events = d.get("min_events", 0)
        if isinstance(min_events, bool) or not isinstance(min_events, int):
            raise SpecError("must be a whole number", where=_path(where, "min_events"))
        try:
            return cls(
                method=_choice(d, "method", METHODS, where, "Occurrences"),
                slice_s=_duration(d, "slice", where),
                slice_target=_number(d, "slice_target", where),
                min_events=min_events,
                empty_slices=_choice(d, "empty_slices", ("skip", "good", "bad"), where, "skip"),
            )
        except SpecError as exc:
            raise _rebase(exc, "budgeting", where) from None


@dataclass(frozen=True, kw_only=True, slots=True)
class AlertWindow:
    """One multiwindow burn-rate alert: fires while both windows burn faster than the factor."""

    severity: str
    long_s: int
    short_s: int
    burn_rate: float

    def __post_init__(self) -> None:
        if self.short_s >= self.long_s:
            raise SpecError("the short window must be shorter than the long one", where="alerts")
        if self.long_s % 60 or self.short_s % 60:
            raise SpecError("alert windows must be whole minutes", where="alerts")
        if not self.burn_rate > 0:
            raise SpecError("the burn rate must be positive", where="alerts")

    def budget_spent_when_firing(self, period_hours: float) -> float:
        """Share of the period's budget spent by the time a steady burn trips this alert."""
        return self.burn_rate * (self.long_s / 3600) / period_hours

    def label(self) -> str:
        """`page 1h/5m x14.4`."""
        rate = f"{self.burn_rate:.4g}"
        windows = f"{fmt.duration(self.long_s)}/{fmt.duration(self.short_s)}"
        return f"{self.severity} {windows} x{rate}"

    def to_dict(self) -> dict[str, Any]:
        """Plain data."""
        return {
            "severity": self.severity,
            "long": fmt.duration(self.long_s),
            "short": fmt.duration(self.short_s),
            "burn_rate": self.burn_rate,
        }

    @classmethod
    def from_dict(cls, data: Any, where: str = "alerts[0]") -> AlertWindow:
        """Build from plain data; errors name the field path."""
        d = _mapping(data, where)
        _no_unknown(d, {"severity", "long", "short", "burn_rate"}, where)
        for key in ("long", "short", "burn_rate"):
            if key not in d:
                raise SpecError("is required", where=_path(where, key))
        try:
            return cls(
                severity=str(d.get("severity", "page")),
                long_s=cast(int, _duration(d, "long", where)),
                short_s=cast(int, _duration(d, "short", where)),
                burn_rate=cast(float, _number(d, "burn_rate", where)),
            )
        except SpecError as exc:
            raise _rebase(exc, "alerts", where) from None


def default_alerts(window: TimeWindow) -> tuple[AlertWindow, ...]:
    """The SRE Workbook alert set fitted to this SLO period.

    Periods of 28 days or more keep the Workbook windows (1h/5m, 6h/30m, 1d/2h, 3d/6h) and
    scale the burn factors so each row still fires after 2%, 5%, 10% and 10% of the budget
    (as Sloth does: 14.4/6/3/1 at 30 days, 13.44/5.6/2.8 at 28), never below 1. Shorter
    periods would get factors below 1 that way (alerting while the budget is on track), so
    there the windows shrink with the period and the factors stay 14.4/6/3/1 (as Pyrra does).
    """
    hours = window.period_hours
    rows = []
    for sev, long_s, short_s, share in WORKBOOK_ALERTS:
        factor = share * 720 / (long_s / 3600)
        if hours >= 28 * 24:
            # Never below 1: a factor under 1 fires while the budget is still on track
            # (Sloth's 28-day table has 0.93 there; Pyrra keeps 1, as here).
            rate = max(1.0, round(share * hours / (long_s / 3600), 4))
            rows.append(AlertWindow(severity=sev, long_s=long_s, short_s=short_s, burn_rate=rate))
            continue
        scaled_long = max(2, round(long_s * hours / 720 / 60)) * 60
        scaled_short = max(1, round(short_s * hours / 720 / 60)) * 60
        if scaled_short >= scaled_long:
            scaled_short = scaled_long - 60
        rows.append(
            AlertWindow(
                severity=sev, long_s=scaled_long, short_s=scaled_short, burn_rate=round(factor, 4)
            )
        )
    return tuple(rows)


@dataclass(frozen=True, kw_only=True, slots=True)
class Exclusion:
    """A time range that does not count (maintenance), with why."""

    start: pd.Timestamp
    end: pd.Timestamp
    reason: str = "maintenance"

    def __post_init__(self) -> None:
        # One form (UTC pd.Timestamp, naive read as UTC as in `from_dict`), so that `to_dict`
        # works and equal ranges compare and hash equal.
        for key in ("start", "end"):
            ts = pd.Timestamp(getattr(self, key))
            object.__setattr__(
                self, key, ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
            )
        if self.end <= self.start:
            raise SpecError("end must be after start", where="exclusions")

    def to_dict(self) -> dict[str, Any]:
        """Plain data with ISO 8601 UTC times."""
        return {"start": _iso(self.start), "end": _iso(self.end), "reason": self.reason}

    @classmethod
    def from_dict(cls, data: Any, where: str = "exclusions[0]") -> Exclusion:
        """Build from plain data; errors name the field path."""
        d = _mapping(data, where)
        _no_unknown(d, {"start", "end", "reason"}, where)
        times = []
        for key in ("start", "end"):
            try:
                ts = pd.Timestamp(d[key])
            except (KeyError, ValueError, TypeError):
                raise SpecError(
                    "must be a date and time",
                    where=_path(where, key),
                    hint="e.g. 2026-09-10T02:00:00Z",
                ) from None
            times.append(ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC"))
        try:
            return cls(start=times[0], end=times[1], reason=str(d.get("reason", "maintenance")))
        except SpecError as exc:
            raise _rebase(exc, "exclusions", where) from None


@dataclass(frozen=True, kw_only=True, slots=True)
class SLO:
    """One candidate or agreed SLO."""

    name: str
    sli: SLI
    objective: Objective
    window: TimeWindow = field(default_factory=lambda: TimeWindow(rolling_s=28 * 86400))
    budgeting: Budgeting = field(default_factory=Budgeting)
    alerts: tuple[AlertWindow, ...] | None = None
    exclusions: tuple[Exclusion, ...] = ()
    segment: tuple[tuple[str, str], ...] = ()
    service: str = ""
    description: str = ""

    def __post_init__(self) -> None:
        check_name(self.name)
        kind, method = self.sli.kind, self.budgeting.method
        if kind == "latency" and self.objective.threshold is None:
            raise SpecError("a latency SLO needs a threshold in ms", where="objective.threshold")
        if kind == "latency" and self.objective.op not in ("lte", "lt"):
            raise SpecError("latency is judged with lte or lt", where="objective.op")
        if kind == "throughput":
            if self.objective.threshold is None:
                raise SpecError(
                    "a throughput SLO needs a minimum rate", where="objective.threshold"
                )
            if self.objective.op not in ("gte", "gt"):
                raise SpecError("throughput is judged with gte or gt", where="objective.op")
            if method != "Timeslices":
                raise SpecError(
                    "throughput is judged per time slice",
                    where="budgeting.method",
                    hint="use Timeslices with a slice length",
                )
        if kind == "availability" and self.objective.threshold is not None:
            raise SpecError("availability has no threshold", where="objective.threshold")
        if kind == "joint" and self.objective.threshold is not None:
            raise SpecError(
                "a joint SLI keeps its thresholds in its conditions",
                where="objective.threshold",
                hint="remove the objective's threshold; e.g. conditions: "
                "[{metric: ttft_ms, threshold: 500}, {metric: tpot_ms, threshold: 50}]",
            )
        if (
            method == "Timeslices"
            and self.budgeting.slice_target is None
            and kind != "throughput"
            and not self.sli.is_percentile
        ):
            raise SpecError(
                "Timeslices judges each slice by its share of good events: give that share",
                where="budgeting.slice_target",
                hint="e.g. slice_target: 0.99 (a slice is good when 99% of its requests are), "
                "or judge slices by a latency percentile",
            )
        if self.sli.is_percentile and method != "Timeslices":
            raise SpecError(
                "a percentile SLI is judged per slice",
                where="budgeting.method",
                hint="use Timeslices with a slice length, e.g. p95 per 5m",
            )

    @property
    def threshold_ms(self) -> float | None:
        """The latency threshold in ms (None for other SLIs; a joint SLI has its conditions)."""
        return self.objective.threshold if self.sli.kind == "latency" else None

    def with_conditions(self, thresholds: dict[str, float]) -> SLO:
        """A copy whose conditions on the given metrics have new thresholds (ms)."""
        unknown = sorted(set(thresholds) - set(self.sli.metrics))
        if not self.sli.uses_conditions or unknown:
            raise SpecError(
                f"this SLO has no condition on {', '.join(unknown) or 'any metric'}",
                where="sli.conditions",
            )
        conditions = tuple(
            replace(c, threshold=float(thresholds[c.metric])) if c.metric in thresholds else c
            for c in self.sli.conditions
        )
        return replace(self, sli=replace(self.sli, conditions=conditions))

    @property
    def alert_windows(self) -> tuple[AlertWindow, ...]:
        """The alert rows in force (the scaled Workbook set unless given)."""
        return self.alerts if self.alerts is not None else default_alerts(self.window)

    def with_changes(self, **changes: Any) -> SLO:
        """A copy with some fields replaced (validated again)."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain data; `from_dict(slo.to_dict()) == slo`."""
        out: dict[str, Any] = {"name": self.name}
        if self.service:
            out["service"] = self.service
        if self.description:
            out["description"] = self.description
        out["sli"] = self.sli.to_dict()
        out["objective"] = self.objective.to_dict()
        out["window"] = self.window.to_dict()
        out["budgeting"] = self.budgeting.to_dict()
        if self.alerts is not None:
            out["alerts"] = [a.to_dict() for a in self.alerts]
        if self.exclusions:
            out["exclusions"] = [e.to_dict() for e in self.exclusions]
        if self.segment:
            out["segment"] = dict(self.segment)
        return out

    @classmethod
    def from_dict(cls, data: Any, where: str = "") -> SLO:
        """Build from plain data; errors name the field path, e.g. `slos[0].objective.target`."""
        d = _mapping(data, where)
        known = {
            "name",
            "service",
            "description",
            "sli",
            "objective",
            "window",
            "budgeting",
            "alerts",
            "exclusions",
            "segment",
        }
        _no_unknown(d, known, where)
        for key in ("name", "sli", "objective"):
            if key not in d:
                raise SpecError("is required", where=_path(where, key))
        alerts = d.get("alerts")
        if alerts is not None and not isinstance(alerts, list):
            raise SpecError("must be a list", where=_path(where, "alerts"))
        exclusions = d.get("exclusions", [])
        if not isinstance(exclusions, list):
            raise SpecError("must be a list", where=_path(where, "exclusions"))
        segment = d.get("segment", {})
        if not isinstance(segment, dict):
            raise SpecError("must be a mapping of column: value", where=_path(where, "segment"))
        try:
            return cls(
                name=str(d["name"]),
                service=str(d.get("service", "")),
                description=str(d.get("description", "")),
                sli=SLI.from_dict(d["sli"], _path(where, "sli")),
                objective=Objective.from_dict(d["objective"], _path(where, "objective")),
                window=TimeWindow.from_dict(
                    d.get("window", {"rolling": "28d"}), _path(where, "window")
                ),
                budgeting=Budgeting.from_dict(d.get("budgeting", {}), _path(where, "budgeting")),
                alerts=None
                if alerts is None
                else tuple(
                    AlertWindow.from_dict(a, f"{_path(where, 'alerts')}[{i}]")
                    for i, a in enumerate(alerts)
                ),
                exclusions=tuple(
                    Exclusion.from_dict(e, f"{_path(where, 'exclusions')}[{i}]")
                    for i, e in enumerate(exclusions)
                ),
                segment=tuple((str(k), str(v)) for k, v in segment.items()),
            )
        except SpecError as exc:
            if where and exc.where and not exc.where.startswith(where):
                raise _rebase(exc, "", where) from None
            raise


def _rebase(exc: SpecError, local_root: str, where: str) -> SpecError:
    """Re-anchor an error raised with a local path (e.g. `objective.target`) under `where`."""
    path = exc.where or local_root
    if where and (path == where or path.startswith((f"{where}.", f"{where}["))):
        return exc  # raised with the full path already (e.g. by `_number(d, key, where)`)
    if local_root and path.startswith(local_root):
        path = path[len(local_root) :].lstrip(".")
    full = f"{where}.{path}" if where and path else (where or path)
    return SpecError(exc.message, where=full, hint=exc.hint)


def _iso(ts: pd.Timestamp) -> str:
    return ts.tz_convert("UTC").tz_localize(None).isoformat() + "Z"


def __getattr__(name: str) -> Any:
    # Composite SLOs live in `sloview.composite_slo`; this keeps `from sloview.model import
    # CompositeSLO` working for code written before they moved.
    if name in ("CompositeSLO", "spec_from_dict"):
        from sloview import composite_slo

        return getattr(composite_slo, name)
    raise AttributeError(f"module 'sloview.model' has no attribute {name!r}")
