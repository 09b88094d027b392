"""Over which period and how: the time window, budgeting method and burn-rate alert rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sloview import formatting as fmt
from sloview.errors import SpecError
from sloview.model.fields import _choice, _duration, _mapping, _no_unknown, _number, _path, _rebase
from sloview.model.kinds import (
    CALENDAR_HOURS,
    CALENDARS,
    METHODS,
    WORKBOOK_ALERTS,
    Calendar,
    EmptySlices,
    Method,
)


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
