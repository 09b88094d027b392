"""Units and durations: the one place that converts latency units and parses `5m`, `28d`
(showing them is `sloview.formatting`)."""

from __future__ import annotations

import math
import re
from typing import Literal

from sloview.errors import SpecError

LatencyUnit = Literal["s", "ms", "us", "ns"]
LATENCY_UNITS: tuple[LatencyUnit, ...] = ("s", "ms", "us", "ns")
TO_MS: dict[str, float] = {"s": 1000.0, "ms": 1.0, "us": 1e-3, "ns": 1e-6}
UNIT_WORDS = {"s": "seconds", "ms": "milliseconds", "us": "microseconds", "ns": "nanoseconds"}

# OpenSLO shorthand: m is a minute, M a month; we refuse M/Q/Y for durations that must be exact.
_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d|w)\s*$")
SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(text: str, where: str = "duration") -> int:
    """Seconds in a duration such as `30s`, `5m`, `1h`, `28d`, `2w`."""
    match = _DURATION.match(str(text))
    if not match or int(match.group(1)) <= 0:
        raise SpecError(
            f"{text!r} is not a duration",
            where=where,
            hint="write a positive whole number and a unit: s, m (minutes), h, d or w, "
            "e.g. 5m or 28d",
        )
    return int(match.group(1)) * SECONDS[match.group(2)]


def parse_ms_list(text: str, where: str = "milliseconds") -> tuple[float, ...]:
    """Comma-separated positive numbers of milliseconds: "500, 2000" -> (500.0, 2000.0)."""
    out = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            value = float(part)
        except ValueError:
            value = math.nan
        if not (value > 0 and math.isfinite(value)):
            raise SpecError(
                f"{part!r} is not a number of milliseconds",
                where=where,
                hint="write positive numbers separated by commas, e.g. 500, 2000",
            )
        out.append(value)
    return tuple(out)


NICE_STEPS = (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0)
# Finer round steps (22 per decade) for a threshold slider the room moves in small steps.
FINE_STEPS = (
    *(1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.8, 2.0, 2.2, 2.5),
    *(2.8, 3.0, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0, 7.0, 8.0, 9.0),
)


def nice_values(lo: float, hi: float, *, fine: bool = False) -> list[float]:
    """Round, log-spaced values covering [lo, hi]: 10, 12, 15, 20, 25, 30, 40, 50, 60, 80 ...
    (`fine`: 10, 11, 12, 13, 14, 15, 16, 18, 20, 22, 25 ...)."""
    lo = max(lo, 1e-3)
    hi = max(hi, lo)
    steps = FINE_STEPS if fine else NICE_STEPS
    out: list[float] = []
    decade = 10.0 ** math.floor(math.log10(lo))
    while decade <= hi * 10:
        for step in steps:
            value = round(step * decade, 6)
            if value >= lo / 1.25 and value <= hi * 1.25:
                out.append(value)
        decade *= 10
    return out or [lo]
