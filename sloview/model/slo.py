"""The SLO: a named candidate made of its SLI, objective, window, budgeting, alerts and scope."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from sloview.errors import SpecError
from sloview.model.fields import _iso, _mapping, _no_unknown, _path, _rebase, check_name
from sloview.model.sli import SLI, Objective
from sloview.model.window import AlertWindow, Budgeting, TimeWindow, default_alerts


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
