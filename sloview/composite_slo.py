"""Composite SLOs: several objectives judged together, as OpenSLO v1 defines them."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, cast

from sloview.errors import SpecError
from sloview.model import SLO, Method, TimeWindow, check_name
from sloview.model.fields import _mapping, _no_unknown, _number, _path, _rebase


@dataclass(frozen=True, kw_only=True, slots=True)
class CompositeSLO:
    """Several objectives judged together, as OpenSLO v1 defines a composite SLO.

    The objectives share one window, so their periods line up (e.g. "p95 TTFT under 500 ms
    in 99% of 5-minute slices AND 99.5% of requests succeed, over a rolling 28 days"). The
    composite's error budget burns at the weighted sum of the objectives' burn rates
    (OpenSLO: "if an SLO burns its budget the composite burns its budget at the same rate
    ... weight multiplies the rate"): budget consumed = sum of weight x consumed, and a
    period is met while that stays within the budget. Weights default to 1.
    """

    name: str
    objectives: tuple[SLO, ...]
    weights: tuple[float, ...] = ()
    service: str = ""
    description: str = ""

    def __post_init__(self) -> None:
        check_name(self.name)
        if len(self.objectives) < 2:
            raise SpecError(
                "a composite SLO needs at least two objectives",
                where="composite",
                hint="write a single SLO instead, or add another objective",
            )
        window = self.objectives[0].window
        for i, slo in enumerate(self.objectives[1:], start=1):
            if slo.window != window:
                raise SpecError(
                    f"has window {slo.window.describe()}, the first objective {window.describe()}",
                    where=f"composite[{i}].window",
                    hint="all objectives of a composite SLO share one window",
                )
        names = [slo.name for slo in self.objectives]
        duplicate = next((n for n in names if names.count(n) > 1), None)
        if duplicate:
            raise SpecError(f"two objectives are named {duplicate!r}", where="composite")
        weights = tuple(float(w) for w in self.weights) or (1.0,) * len(self.objectives)
        if len(weights) != len(self.objectives):
            raise SpecError(
                f"{len(weights)} weights for {len(self.objectives)} objectives",
                where="composite",
                hint="give one weight per objective (or none: each weighs 1)",
            )
        for i, weight in enumerate(weights):
            if not (math.isfinite(weight) and weight > 0):
                raise SpecError(
                    f"{weight!r} is not a weight",
                    where=f"composite[{i}].weight",
                    hint="a positive number: 1 is the default, 0.5 counts half, 2 double",
                )
        object.__setattr__(self, "weights", weights)

    @property
    def window(self) -> TimeWindow:
        """The window every objective shares."""
        return self.objectives[0].window

    @property
    def budgeting_method(self) -> Method | None:
        """The objectives' one budgeting method, or None when they differ."""
        methods = {slo.budgeting.method for slo in self.objectives}
        return methods.pop() if len(methods) == 1 else None

    def to_dict(self) -> dict[str, Any]:
        """Plain data; `from_dict(c.to_dict()) == c`."""
        out: dict[str, Any] = {"name": self.name}
        if self.service:
            out["service"] = self.service
        if self.description:
            out["description"] = self.description
        items = []
        for slo, weight in zip(self.objectives, self.weights, strict=True):
            item = slo.to_dict()
            if weight != 1.0:
                item["weight"] = weight
            items.append(item)
        out["composite"] = items
        return out

    @classmethod
    def from_dict(cls, data: Any, where: str = "") -> CompositeSLO:
        """Build from plain data: `name` and a `composite` list of SLOs (each with an
        optional `weight`)."""
        d = _mapping(data, where)
        _no_unknown(d, {"name", "service", "description", "composite"}, where)
        items = d.get("composite")
        if not isinstance(items, list):
            raise SpecError("must be a list of SLOs", where=_path(where, "composite"))
        if "name" not in d:
            raise SpecError("is required", where=_path(where, "name"))
        objectives, weights = [], []
        for i, item in enumerate(items):
            at = f"{_path(where, 'composite')}[{i}]"
            plain = dict(_mapping(item, at))
            weights.append(_number(plain, "weight", at, 1.0))
            plain.pop("weight", None)
            objectives.append(SLO.from_dict(plain, at))
        try:
            return cls(
                name=str(d["name"]),
                objectives=tuple(objectives),
                weights=tuple(cast(float, w) for w in weights),
                service=str(d.get("service", "")),
                description=str(d.get("description", "")),
            )
        except SpecError as exc:
            raise _rebase(exc, "", where) if where else exc from None


def spec_from_dict(data: Any, where: str = "") -> SLO | CompositeSLO:
    """An SLO, or a composite SLO when the mapping has a `composite` list."""
    if isinstance(data, dict) and "composite" in data:
        return CompositeSLO.from_dict(data, where)
    return SLO.from_dict(data, where)
