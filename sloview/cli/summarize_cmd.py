"""`sloview summarize`: rows, errors, span and latency percentiles of a source."""

from __future__ import annotations

import argparse
import json
from typing import Any

from sloview import formatting as fmt
from sloview.cli.base import EXIT_OK, SOURCE_HELP
from sloview.cli.data_flags import add_mapping_flags, add_reading_flags, format_of, load_from_args
from sloview.ingest.table import describe_example
from sloview.sources.aggregates import Aggregates
from sloview.sources.open import source_kind
from sloview.summary import SUMMARY_PERCENTILES, Summary, summarize, summarize_aggregates


def register(sub: Any) -> None:
    """Add this command to the `sloview` parser."""
    summary = sub.add_parser(
        "summarize",
        help="rows, errors, span and latency percentiles of a request source",
        description="Summarise requests: valid rows, excluded rows by reason, time span, "
        "errors, and latency percentiles (linear) of successful requests. From aggregates "
        "(a large table, Prometheus, --aggregate) the latency figures come from bins, and the "
        "summary says how exact they are.",
    )
    summary.add_argument("source", metavar="SOURCE", help=SOURCE_HELP)
    add_mapping_flags(summary)
    add_reading_flags(summary)
    summary.add_argument("--json", action="store_true", help="print one JSON object")
    summary.set_defaults(handler=_cmd_summarize)


def _cmd_summarize(args: argparse.Namespace) -> int:
    loaded = load_from_args(args, percentiles=tuple(q for _, q in SUMMARY_PERCENTILES))
    result = (
        summarize_aggregates(loaded, tuple(args.segment), format_of(source_kind(args.source)))
        if isinstance(loaded, Aggregates)
        else summarize(loaded, tuple(args.segment))
    )
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, allow_nan=False))
    else:
        print(render_summary(result))
    return EXIT_OK


def render_summary(summary: Summary) -> str:
    """The readable (non-JSON) form of a summary."""
    o = summary.overall
    lines = [
        f"Source       {summary.source} ({summary.source_format})",
        f"Requests     {o.rows:,} valid of {summary.rows_read:,} rows read",
    ]
    for reason, count in summary.dropped.items():
        found = summary.examples.get(reason)
        first = f" (first: {describe_example(*found)})" if found else ""
        lines.append(f"  excluded   {count:,}  {reason}{first}")
    if summary.start is not None:
        span = summary.span_s
        lines.append(
            f"Span         {fmt.when(summary.start, span)} -> {fmt.when(summary.end, span)} "
            f"({fmt.span(span)}; {fmt.rate(summary.requests_per_second)})"
        )
    else:
        lines.append("Span         no timestamps (distribution summary only)")
    lines.append(f"Errors       {o.errors:,} ({_pct(o.error_rate)})")
    lines.append(f"Status       {summary.policy}")
    lines.append(f"Exactness    {summary.exactness}")
    lines.append("")
    lines.append(_latency_table({"all requests": o}))
    for column, groups in summary.segments.items():
        lines.append("")
        lines.append(_latency_table(groups, title=column))
    if summary.notes:
        lines.append("")
        lines.extend(f"Note: {note}" for note in summary.notes)
    lines.append("")
    lines.append(
        "Latency of successful requests; percentiles by linear interpolation"
        + ("." if summary.exact else " inside latency bins; mean from bin midpoints.")
    )
    return "\n".join(lines)


def _latency_table(groups: dict[str, Any], title: str = "") -> str:
    keys = ("p50", "p90", "p95", "p99", "p99.9")
    width = max([len(title), *(len(k) for k in groups)]) + 2
    header = f"{title:<{width}}{'requests':>10}{'errors':>9}" + "".join(f"{k:>10}" for k in keys)
    header += f"{'mean':>10}{'max':>10}"
    rows = [header]
    for name, g in groups.items():
        lat = g.latency
        cells = [lat.percentiles[k] for k in keys] + [lat.mean, lat.max]
        rows.append(
            f"{name:<{width}}{g.rows:>10,}{_pct(g.error_rate):>9}"
            + "".join(f"{fmt.ms(v):>10}" for v in cells)
        )
    return "\n".join(rows)


def _pct(x: float) -> str:
    return "n/a" if x != x else f"{100 * x:.2f}%"
