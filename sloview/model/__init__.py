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

from typing import Any

from sloview.model.fields import (
    check_name,
)
from sloview.model.kinds import (
    CALENDAR_HOURS,
    CALENDARS,
    CONDITION_SYMBOLS,
    METHODS,
    METRIC_ALIASES,
    SLI_KINDS,
    THROUGHPUT_UNITS,
    WORKBOOK_ALERTS,
    Calendar,
    ConditionOp,
    EmptySlices,
    FailedPolicy,
    Method,
    Op,
    SLIKind,
    ThroughputUnit,
)
from sloview.model.sli import (
    SLI,
    Condition,
    Objective,
    parse_condition,
)
from sloview.model.slo import (
    SLO,
    Exclusion,
)
from sloview.model.window import (
    AlertWindow,
    Budgeting,
    TimeWindow,
    default_alerts,
)

__all__ = [
    "CALENDARS",
    "CALENDAR_HOURS",
    "CONDITION_SYMBOLS",
    "METHODS",
    "METRIC_ALIASES",
    "SLI",
    "SLI_KINDS",
    "SLO",
    "THROUGHPUT_UNITS",
    "WORKBOOK_ALERTS",
    "AlertWindow",
    "Budgeting",
    "Calendar",
    "Condition",
    "ConditionOp",
    "EmptySlices",
    "Exclusion",
    "FailedPolicy",
    "Method",
    "Objective",
    "Op",
    "SLIKind",
    "ThroughputUnit",
    "TimeWindow",
    "check_name",
    "default_alerts",
    "parse_condition",
]


def __getattr__(name: str) -> Any:
    # Composite SLOs live in `sloview.composite_slo`; this keeps `from sloview.model import
    # CompositeSLO` working for code written before they moved.
    if name in ("CompositeSLO", "spec_from_dict"):
        from sloview import composite_slo

        return getattr(composite_slo, name)
    raise AttributeError(f"module 'sloview.model' has no attribute {name!r}")
