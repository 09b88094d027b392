"""Flags that say where the requests are and how to read them (mapping, source reading)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import replace

from sloview.cli.base import csv_list, flag
from sloview.composite_slo import CompositeSLO
from sloview.ingest import Mapping, RequestTable
from sloview.ingest.mapping import parse_unit, parse_where
from sloview.model import SLO
from sloview.sources.aggregates import Aggregates
from sloview.sources.open import SourceKind, SourceOptions, open_source, parse_matcher
from sloview.sources.presets import PRESETS, preset


def add_mapping_flags(parser: argparse.ArgumentParser) -> None:
    """Flags that say which column holds what (all optional: detection fills the rest)."""
    group = parser.add_argument_group("column mapping (detected when not given)")
    group.add_argument("--timestamp", metavar="COL", help="column with the request time")
    group.add_argument("--latency", metavar="COL", help="column with the end-to-end latency")
    group.add_argument(
        "--latency-unit",
        metavar="s|ms|us|ns",
        type=flag(parse_unit),
        help="unit of the latency column (default: from the name or magnitude)",
    )
    group.add_argument("--ttft", metavar="COL", help="column with the time to first token/byte")
    group.add_argument("--output-tokens", metavar="COL", help="column with output token counts")
    group.add_argument("--status", metavar="COL", help="column with the status/result")
    group.add_argument(
        "--good",
        metavar="V1,V2",
        type=csv_list,
        default=(),
        help="status values that count as success",
    )
    group.add_argument(
        "--bad",
        metavar="V1,V2",
        type=csv_list,
        default=(),
        help="status values that count as failure (with --good: others excluded)",
    )
    group.add_argument(
        "--rate-limited",
        choices=("good", "bad"),
        default="bad",
        help="whether rate-limited requests (HTTP 429, 'rate limit' errors) count as good or "
        "bad (default: bad)",
    )
    group.add_argument(
        "--good-classes",
        metavar="C1,C2",
        type=csv_list,
        default=None,
        help="error classes that count as good: rate_limited, overloaded, timeout, server_error, "
        "content_filter, too_short, client_error, other (default: client_error for HTTP codes)",
    )
    group.add_argument(
        "--segment",
        metavar="COL",
        action="append",
        default=[],
        help="segment column (endpoint, model, region ...); repeatable",
    )
    group.add_argument(
        "--where",
        metavar="COL=VALUE",
        action="append",
        default=[],
        type=flag(parse_where),
        help="keep only rows where COL equals VALUE; repeatable",
    )
    group.add_argument(
        "--tz", metavar="ZONE", help="timezone of naive timestamps (IANA name; default UTC)"
    )
    group.add_argument(
        "--keep-stray-times",
        action="store_true",
        help="keep the few rows whose time lies far from all the others (a 1970 default, an "
        "epoch with a digit too many); by default they are set apart and counted",
    )


def mapping_from_args(args: argparse.Namespace) -> Mapping:
    """The Mapping the mapping flags describe."""
    return Mapping(
        timestamp=args.timestamp,
        latency=args.latency,
        latency_unit=args.latency_unit,
        ttft=args.ttft,
        output_tokens=args.output_tokens,
        status=args.status,
        good=args.good,
        bad=args.bad,
        rate_limited_bad=args.rate_limited == "bad",
        good_classes=None if args.good_classes is None else tuple(args.good_classes),
        segments=tuple(args.segment),
        where=tuple(args.where),
        tz=args.tz,
        keep_stray_times=args.keep_stray_times,
    )


def _row_limit(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is below 0 (0 always aggregates)")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number of seconds")
    return value


def add_reading_flags(parser: argparse.ArgumentParser) -> None:
    """Flags that say how to read a SOURCE that is a database or Prometheus (or a big file)."""
    group = parser.add_argument_group(
        "database and Prometheus sources (SOURCE is a URL or @NAME; credentials from "
        ".streamlit/secrets.toml or SLOVIEW_NAME_* variables are never shown)"
    )
    group.add_argument("--table", metavar="NAME", help="database: the table of requests")
    group.add_argument(
        "--query", metavar="SQL", help="database: one SELECT returning requests (read-only)"
    )
    group.add_argument(
        "--start",
        metavar="TIME",
        help="start of the time range read, ISO 8601 (UTC unless it carries an offset); "
        "rows outside it are left out and counted",
    )
    group.add_argument("--end", metavar="TIME", help="end of the time range read (exclusive)")
    group.add_argument(
        "--row-limit",
        metavar="N",
        type=_row_limit,
        default=None,
        help="database: read up to N requests as rows (default 500,000), aggregate per minute "
        "in the database beyond; 0 always aggregates",
    )
    group.add_argument(
        "--histogram",
        metavar="METRIC",
        help="Prometheus: the latency histogram (the name before _bucket)",
    )
    group.add_argument(
        "--ttft-histogram",
        metavar="METRIC",
        help="Prometheus: the time-to-first-token histogram in seconds (joint SLIs and "
        "goodput read it with the others)",
    )
    group.add_argument(
        "--tpot-histogram",
        metavar="METRIC",
        help="Prometheus: the time-per-output-token histogram in seconds (one observation "
        "per request)",
    )
    group.add_argument(
        "--preset",
        choices=tuple(PRESETS),
        help="Prometheus: the histograms and labels a generative-serving server exports "
        "(vllm, tgi, otel-genai); flags given as well take precedence",
    )
    group.add_argument(
        "--status-label",
        metavar="LABEL",
        help="Prometheus: the label that tells good from bad requests, e.g. code (HTTP codes "
        "and status words are recognised, --good/--bad list its values; without it every "
        "request counts as a success)",
    )
    group.add_argument(
        "--histogram-unit",
        choices=("s", "ms"),
        default=None,
        help="Prometheus: unit of the histogram's le bounds (default s)",
    )
    group.add_argument(
        "--step", metavar="DURATION", help="Prometheus: query step, whole minutes (default 1m)"
    )
    group.add_argument(
        "--match",
        metavar="LABEL=VALUE",
        action="append",
        default=[],
        type=flag(parse_matcher),
        help="Prometheus: label matcher every query carries (also !=, =~, !~); repeatable "
        "(--segment LABEL groups by a label)",
    )
    group.add_argument(
        "--aggregate",
        action="store_true",
        help="file: aggregate a Parquet/CSV file larger than memory per minute with DuckDB",
    )
    group.add_argument(
        "--timeout",
        metavar="S",
        type=_seconds,
        default=None,
        help="database or Prometheus: give up after S seconds (default 120 for a query, 10 to "
        "connect; 60 for Prometheus)",
    )


def options_from_args(args: argparse.Namespace) -> SourceOptions:
    """The SourceOptions the reading flags describe (a --preset fills what is not given)."""
    chosen = preset(args.preset) if getattr(args, "preset", None) else None
    good = tuple(args.good)
    if chosen is not None and not good and not args.bad and not args.status_label:
        good = chosen.good
    return SourceOptions(
        table=args.table,
        query=args.query,
        start=args.start,
        end=args.end,
        step=args.step,
        histogram=args.histogram or (chosen.latency if chosen else None),
        ttft_histogram=args.ttft_histogram or (chosen.ttft if chosen else None),
        tpot_histogram=args.tpot_histogram or (chosen.tpot if chosen else None),
        status_label=args.status_label or (chosen.status_label if chosen else None),
        good=good,
        bad=tuple(args.bad),
        group_by=tuple(args.segment),
        row_limit=args.row_limit,
        histogram_unit=args.histogram_unit,
        matchers=tuple(args.match),
        aggregate=args.aggregate,
        timeout_s=args.timeout,
    )


def load_from_args(
    args: argparse.Namespace,
    slos: Sequence[SLO | CompositeSLO] = (),
    percentiles: tuple[float, ...] = (),
) -> RequestTable | Aggregates:
    """Load SOURCE (a file, a database or Prometheus) with the mapping and reading flags.

    A database that aggregates counts the thresholds of `slos` and the `percentiles` exactly.
    """
    options = replace(
        options_from_args(args), thresholds=exact_thresholds(slos), percentiles=percentiles
    )
    return open_source(args.source, options, mapping_from_args(args))


def exact_thresholds(slos: Sequence[SLO | CompositeSLO]) -> tuple[tuple[str, float], ...]:
    """(op, ms) of every end-to-end latency threshold the SLOs judge requests by."""
    found: dict[tuple[str, float], None] = {}
    for item in slos:
        for slo in item.objectives if isinstance(item, CompositeSLO) else (item,):
            t, sli = slo.objective.threshold, slo.sli
            per_request = sli.kind == "latency" and not sli.is_percentile
            below = slo.objective.op in ("lte", "lt")
            if per_request and below and sli.metric == "latency_ms" and t is not None:
                found[(slo.objective.op, float(t))] = None
    return tuple(found)


def format_of(kind: SourceKind) -> str:
    """What the summary says aggregates came from."""
    return {
        "file": "aggregated per minute",
        "sql": "SQL, aggregated in the database",
        "prometheus": "Prometheus histogram",
    }[kind]
