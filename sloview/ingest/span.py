"""How long a stretch of time sloview analyses at once, and the one refusal beyond it.

The engine keeps arrays with one entry per minute from the first request to the last (request
counts, the latency index, budget and burn-rate series): their memory and time grow with the
span, not with the number of requests. Up to `MAX_SPAN_DAYS` that cost stays bounded (2,000
requests over a full year: about 260 MB and 1.3 s for loading, indexing, a 28-day simulation,
sweeps and the report; `python bench/span_bench.py`). Every source is checked against it
before anything is sized by the span: request files and database rows when the engine is
built, aggregates when they are assembled, Prometheus before the first query. Beyond it the
refusal is one line naming the span and how to narrow it.
"""

from __future__ import annotations

import pandas as pd

from sloview.errors import SpanError

MAX_SPAN_DAYS = 366
DAY_NS = 86_400 * 1_000_000_000
MAX_SPAN_NS = MAX_SPAN_DAYS * DAY_NS
NARROW_HINT = (
    "narrow the time range (--start/--end, or the time range in the app's sidebar); "
    "a few rows far from the rest are set apart as strays unless --keep-stray-times is given"
)


def describe_span(span_ns: int) -> str:
    """A span as people say it: `52.4 years`, `400 days`, `3.5 hours`."""
    days = span_ns / DAY_NS
    if days >= 730:
        return f"{days / 365.25:,.1f} years"
    if days >= 2:
        return f"{days:,.0f} days"
    return f"{span_ns / 3.6e12:,.1f} hours"


def _day(ns: int) -> str:
    return str(pd.Timestamp(ns, tz="UTC").date())


def span_refusal(first_ns: int, last_ns: int, what: str, where: str, hint: str) -> SpanError:
    """The refusal of a span beyond the limit (for callers that raise their own kind)."""
    return SpanError(
        f"{what} {describe_span(last_ns - first_ns)} ({_day(first_ns)} to {_day(last_ns)}); "
        f"sloview analyses at most {MAX_SPAN_DAYS} days at once (it keeps per-minute arrays)",
        first_ns=first_ns,
        last_ns=last_ns,
        where=where,
        hint=hint,
    )


def check_span(
    first_ns: int,
    last_ns: int,
    *,
    where: str,
    what: str = "the requests span",
    hint: str = NARROW_HINT,
) -> None:
    """Refuse (SpanError) a stretch of time longer than `MAX_SPAN_DAYS`."""
    if int(last_ns) - int(first_ns) > MAX_SPAN_NS:
        raise span_refusal(int(first_ns), int(last_ns), what, where, hint)
