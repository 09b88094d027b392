"""What the OpenSLO and Sloth writers and readers share: the result type, names, durations."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sloview.errors import SpecError

# OpenSLO duration shorthand: m is a minute and M a month; there are no seconds.
SHORTHAND = re.compile(r"^([0-9]+)([mhdwMQY])$")
# Lengths the OpenSLO Go SDK gives M, Q and Y (DurationShorthand.Duration()).
SHORTHAND_SECONDS = {
    "m": 60,
    "h": 3600,
    "d": 86400,
    "w": 7 * 86400,
    "M": 30 * 86400,
    "Q": 90 * 86400,
    "Y": 365 * 86400,
}
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DEFAULT_SERVICE = "sloview"


@dataclass(frozen=True, kw_only=True, slots=True)
class Export:
    """A written file and what the reader should know about it (never printed here)."""

    format: str
    text: str
    warnings: tuple[str, ...] = ()


def format_shorthand(seconds: int) -> str:
    """Whole minutes as OpenSLO shorthand in the largest exact unit of d, h, m: 300 -> `5m`."""
    for unit in ("d", "h", "m"):
        if seconds % SHORTHAND_SECONDS[unit] == 0:
            return f"{seconds // SHORTHAND_SECONDS[unit]}{unit}"
    raise SpecError(f"{seconds} s is not a whole number of minutes", where="duration")


def parse_shorthand(value: Any, where: str) -> tuple[int, str]:
    """(count, unit) of an OpenSLO duration such as `28d`, `1M`, `5m`."""
    match = SHORTHAND.match(str(value)) if isinstance(value, str) else None
    if match is None or int(match.group(1)) <= 0:
        raise SpecError(
            f"{value!r} is not a duration",
            where=where,
            hint="write a positive whole number and one of m (minutes), h, d, w, M (months), "
            "Q or Y, e.g. 28d or 5m",
        )
    return int(match.group(1)), match.group(2)


def shorthand_seconds(value: Any, where: str) -> int:
    """Seconds in an OpenSLO duration (M = 30 days, Q = 90, Y = 365, as the Go SDK counts)."""
    count, unit = parse_shorthand(value, where)
    return count * SHORTHAND_SECONDS[unit]


def dns_name(*parts: str) -> str:
    """An RFC 1123 label (at most 63 characters) from parts, stable for the same parts."""
    text = re.sub(r"[^a-z0-9]+", "-", "-".join(parts).lower()).strip("-") or "x"
    if len(text) <= 63:
        return text
    # Long names keep a readable head and a short digest of the whole, so two long names
    # that share a head stay distinct.
    digest = hashlib.sha1(text.encode()).hexdigest()[:6]
    return f"{text[:56].rstrip('-')}-{digest}"


def camel(*parts: str) -> str:
    """`genai-api`, `chat-latency` -> `GenaiApiChatLatency` (Prometheus alert names)."""
    words = re.split(r"[^A-Za-z0-9]+", " ".join(parts))
    return "".join(w[:1].upper() + w[1:] for w in words if w) or "Slo"


def num_text(value: float) -> str:
    """A float as short exact text: 8000.0 -> `8000`, 0.3 -> `0.3`."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def yaml_number(value: float) -> int | float:
    """A whole number as an int (YAML `6`, not `6.0`), anything else as the float."""
    number = float(value)
    return int(number) if number.is_integer() and abs(number) < 1e15 else number


def plain_decimal(value: float) -> str:
    """A number without exponent or trailing zeros, as Prometheus writes `le`: 10.0 -> `10`."""
    return format(Decimal(repr(float(value))).normalize(), "f")


def to_percent(share: float) -> float:
    """0.999 -> 99.9 without binary noise (0.999 * 100 is 99.9 only by luck)."""
    # `from_percent` gives the share back exactly when it has at most 15 significant digits,
    # as any agreed target does; a float percent cannot hold every float share.
    return float(Decimal(repr(float(share))) * 100)


def from_percent(percent: float) -> float:
    """99.9 -> 0.999 without binary noise (99.9 / 100 is 0.9990000000000001)."""
    return float(Decimal(repr(float(percent))) / 100)
