"""The SLO model's vocabulary: the kinds, methods and calendars a spec may name."""

from __future__ import annotations

from typing import Literal

from sloview.ingest.table import LATENCY

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
