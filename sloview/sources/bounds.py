"""Time bounds given by the user (--start/--end, the Data page's range) -> UTC nanoseconds.

One parser for every source, so a bound that is no time, or one no time can reach (year 1 or
9999: pandas holds 1677 to 2262 in nanoseconds), is one clear message naming the flag rather
than an overflow deep in a driver.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from sloview.errors import SourceError

TimeLike = str | pd.Timestamp | Any
HINT = "use ISO 8601, e.g. 2024-11-20T00:00Z (UTC unless it carries an offset)"


def time_bound(value: TimeLike | None, label: str) -> int | None:
    """A bound as UTC ns (None when not given); numbers are UNIX seconds, as in Prometheus."""
    if value is None:
        return None
    try:
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        ts = pd.Timestamp(value, unit="s") if is_number else pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError) as exc:
        raise SourceError(f"{value!r} is not a time", where=label, hint=HINT) from exc
    if pd.isna(ts):
        raise SourceError(f"{value!r} is not a time", where=label, hint=HINT)
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    try:
        return int(ts.as_unit("ns").value)
    except (ValueError, OverflowError) as exc:
        raise SourceError(
            f"{value!r} is outside the times sloview can hold (1678 to 2261)",
            where=label,
            hint=HINT,
        ) from exc
