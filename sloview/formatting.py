"""How figures are shown, in one place: percentages, latencies, durations, counts, rates, times.

The app, the CLI and the report all call these, so a figure reads the same everywhere, and
two rules hold wherever one is shown:

- a rounded figure never contradicts a verdict: an attainment below its target is rounded
  down (98.996% against a 99% target reads 98.99%, never 99%), one at or above it keeps at
  least the target's own digits, and nothing short of 100% reads as 100% (99.9996% reads
  99.999%);
- nothing reads "nan" or "None": a missing figure is "n/a" (callers say why beside it).
"""

from __future__ import annotations

import math
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

import pandas as pd

MISSING = "n/a"
# Most decimals a percentage gets to tell a figure short of 100% from 100%.
MAX_DIGITS = 6


def _decimals(share: float) -> int:
    """Decimals a share needs as a percentage: 0.99 -> 0, 0.995 -> 1, 0.9995 -> 2."""
    text = f"{Decimal(repr(100 * float(share))).normalize():f}"
    return len(text.split(".")[1]) if "." in text else 0


def _shown(share: float, digits: int, rounding: str) -> Decimal:
    """The share as a percentage with `digits` decimals (in decimal: 0.57 is 57, not
    56.99999999999999 as 100 x 0.57 is in binary)."""
    return (Decimal(repr(float(share))) * 100).quantize(
        Decimal(1).scaleb(-digits), rounding=rounding
    )


def percent(
    share: float | None,
    digits: int = 4,
    *,
    target: float | None = None,
    fixed: bool = False,
    down: bool = False,
) -> str:
    """0.995 -> `99.5%` (at most `digits` decimals; exactly `digits` when `fixed`).

    With a `target`, the figure is shown so that it compares with the target as the value
    does: below the target it is rounded down, otherwise to at least the target's decimals.
    `down` always rounds down. Nothing short of 1 reads 100% and nothing above 0 reads 0%.
    """
    if share is None or not math.isfinite(share):
        return MISSING
    rounding = ROUND_FLOOR if down else ROUND_HALF_UP
    if target is not None and math.isfinite(target):
        digits = max(digits, _decimals(target))
        if share < target:
            rounding = ROUND_FLOOR
    shown = _shown(share, digits, rounding)
    while shown >= 100 and share < 1 and digits < MAX_DIGITS:
        # More digits instead of a false 100%: 0.99996 -> 99.996%, not 100% or 99.99%.
        digits += 1
        shown = _shown(share, digits, ROUND_FLOOR)
    if shown >= 100 and share < 1:
        shown = _shown(share, digits, ROUND_FLOOR)
    elif shown <= 0 < share:
        shown = _shown(share, digits, ROUND_CEILING)
    text = f"{shown:f}"
    if not fixed and "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{'0' if text in ('-0', '') else text}%"


def attainment_digits(target: float) -> int:
    """Decimals that resolve 1% of the error budget: 2 at a 95% or 99% target, 3 at 99.9%."""
    budget_share = 1 - target
    if not budget_share > 0:
        return 2
    return min(5, max(2, math.ceil(-math.log10(budget_share) - 1e-9)))


def attainment(share: float | None, target: float) -> str:
    """An attainment, with decimals that suit its target: `99.54%`, `99.954%`.

    Truncated, never rounded up: a missed target never reads as met, a figure short of 100%
    never reads 100%, and a lower bound ("every period reached at least ...") reads the same
    as the table it summarises.
    """
    if share is None or not math.isfinite(share):
        return MISSING
    return percent(share, attainment_digits(target), target=target, fixed=True, down=True)


at_least = attainment


def ci_range(low: float | None, high: float | None, target: float) -> str:
    """A confidence interval rounded outwards: `99.52% to 99.56%`."""
    if high is None or not math.isfinite(high):
        return MISSING
    digits = attainment_digits(target)
    shown = _shown(high, digits, ROUND_CEILING)
    while shown >= 100 and high < 1 and digits < MAX_DIGITS:
        digits += 1
        shown = _shown(high, digits, ROUND_CEILING)
    upper = percent(1.0, digits, fixed=True) if high >= 1 else f"{shown:f}%"
    return f"{attainment(low, target)} to {upper}"


def budget(share: float | None) -> str:
    """Error budget left or spent, unclamped: `37.5%`, `-951.2%`."""
    return percent(share, 1, fixed=True)


def periods_met(met: int | None, judged: int) -> str:
    """`38 of 42`, or `no whole period` when the data cover none (nothing was judged)."""
    return "no whole period" if met is None else f"{met} of {judged}"


def share_of(part: float, whole: float, digits: int = 1) -> str:
    """`part` as a percentage of `whole` (n/a for an empty whole)."""
    return percent(part / whole, digits) if whole else MISSING


def ms(value: float | None) -> str:
    """A latency for people: `180 ms`, `2.0 s`, `1.5 min`."""
    if value is None or value != value:  # NaN
        return MISSING
    if math.isinf(value):
        return "never" if value > 0 else MISSING
    if abs(value) >= 60_000:
        return f"{value / 60_000:.3g} min"
    if abs(value) >= 1000:
        return f"{value / 1000:.3g} s" if abs(value) < 10_000 else f"{value / 1000:.1f} s"
    if abs(value) >= 10:
        return f"{value:.0f} ms"
    return f"{value:.3g} ms"


_SHORTHAND = {"d": 86400, "h": 3600, "m": 60}


def duration(seconds: int) -> str:
    """The shortest exact shorthand for a duration in seconds: 300 -> `5m`, 86400 -> `1d`.

    Days rather than weeks: people write SLO windows as 7d and 28d, not 1w and 4w.
    """
    for unit, size in _SHORTHAND.items():
        if seconds % size == 0 and seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def span(seconds: float | None) -> str:
    """A length of time for people: `7 s`, `45 min`, `3 h 30 min`, `41 days 23 h`."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return MISSING
    if seconds < 60:
        return f"{seconds:.3g} s" if seconds < 10 else f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    parts = []
    if days:
        parts.append(f"{days} day{'s' if days != 1 else ''}")
    if hours:
        parts.append(f"{hours} h")
    if mins and not days:
        parts.append(f"{mins} min")
    return " ".join(parts)


def count(n: float, noun: str = "", plural: str = "") -> str:
    """`1,234 requests`, `1 period` (the noun made plural unless there is one)."""
    text = f"{n:,.0f}"
    if not noun:
        return text
    return f"{text} {noun if n == 1 else (plural or noun + 's')}"


def rate(per_second: float | None, noun: str = "req") -> str:
    """A rate per second, per minute or per hour, whichever reads as a plain number."""
    if per_second is None or not math.isfinite(per_second):
        return MISSING
    if per_second >= 1 or per_second == 0:
        return f"{per_second:,.3g} {noun}/s" if per_second < 1000 else f"{per_second:,.0f} {noun}/s"
    if per_second * 60 >= 1:
        return f"{per_second * 60:.3g} {noun}/min"
    return f"{per_second * 3600:.3g} {noun}/h"


def iso_utc(ts: pd.Timestamp | None) -> str | None:
    """ISO 8601 in UTC with a `Z`, or None (for JSON)."""
    if ts is None or pd.isna(ts):
        return None
    return pd.Timestamp(ts).tz_convert("UTC").tz_localize(None).isoformat() + "Z"


def when(ts: pd.Timestamp | None, span_s: float | None = None) -> str:
    """A time for people, as precise as the data's span needs: `2026-09-23 13:40 UTC`, with
    seconds when the data span less than an hour (and milliseconds under a minute)."""
    if ts is None or pd.isna(ts):
        return MISSING
    t = pd.Timestamp(ts).tz_convert("UTC")
    if span_s is not None and span_s < 3600:
        text = t.strftime("%Y-%m-%d %H:%M:%S")
        if span_s < 60:
            text += f".{t.microsecond // 1000:03d}"
        return f"{text} UTC"
    return f"{t:%Y-%m-%d %H:%M} UTC"


def day(ts: pd.Timestamp) -> str:
    """`2026-09-23` (UTC)."""
    return f"{pd.Timestamp(ts).tz_convert('UTC'):%Y-%m-%d}"


def period_label(
    start: pd.Timestamp, end: pd.Timestamp, calendar: str | None, tz: str = "UTC"
) -> str:
    """A period the way people name it, in the window's timezone: `2026-09-23`,
    `week of 2026-09-21`, `Sep 2026`, `2026 Q3`, or `28 days to 2026-09-23` (rolling)."""
    s = pd.Timestamp(start).tz_convert(tz)
    e = pd.Timestamp(end).tz_convert(tz)
    if calendar == "day":
        return f"{s:%Y-%m-%d}"
    if calendar == "week":
        return f"week of {s:%Y-%m-%d}"
    if calendar == "month":
        return f"{s:%b %Y}"
    if calendar == "quarter":
        return f"{s.year} Q{(s.month - 1) // 3 + 1}"
    days = round((e - s).total_seconds() / 86400)
    return f"{days} days to {e:%Y-%m-%d}"


def recorded(text: str | None) -> str:
    """A time the registry recorded as text (`2026-12-04T09:00:12Z`) as people read it:
    `2026-12-04 09:00 UTC` (the text itself when it is not a time)."""
    if not text:
        return MISSING
    try:
        return when(pd.Timestamp(text), 86400.0)
    except ValueError:
        return text
