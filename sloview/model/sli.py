"""What is measured and what is promised: the SLI (with joint conditions) and the objective."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, cast

from sloview.errors import SpecError
from sloview.ingest.table import LATENCY, LATENCY_COLUMNS
from sloview.model.fields import _choice, _mapping, _no_unknown, _number, _path, _rebase
from sloview.model.kinds import (
    CONDITION_SYMBOLS,
    METRIC_ALIASES,
    SLI_KINDS,
    THROUGHPUT_UNITS,
    ConditionOp,
    FailedPolicy,
    Op,
    SLIKind,
    ThroughputUnit,
)

_CONDITION = re.compile(
    r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(<=|<)\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(ms|s)?\s*$"
)


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
            raise exc.relocated(_path(where, exc.where or ""), SpecError) from None


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
