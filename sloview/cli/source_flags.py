"""Flags that name the metric source an export writes queries for."""

from __future__ import annotations

import argparse

from sloview.cli.base import csv_list, flag
from sloview.errors import SpecError
from sloview.export import MetricSource
from sloview.ingest.mapping import parse_where
from sloview.ingest.table import LATENCY_COLUMNS
from sloview.sources.open import resolve_target


def _metric_pair(text: str) -> tuple[str, str]:
    """`METRIC` (the latency_ms histogram) or `COLUMN=METRIC`."""
    column, sep, metric = text.partition("=")
    if not sep:
        return "latency_ms", text.strip()
    if column.strip() not in LATENCY_COLUMNS:
        raise SpecError(
            f"{column.strip()!r} is not a latency column",
            where="--prometheus-histogram",
            hint=f"use one of {', '.join(LATENCY_COLUMNS)}",
        )
    return column.strip(), metric.strip()


def _buckets(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in csv_list(text))
    except ValueError:
        raise SpecError(
            f"{text!r} is not a list of numbers", hint="write seconds, e.g. 0.1,0.25,0.5,1"
        ) from None


def add_source_flags(parser: argparse.ArgumentParser) -> None:
    """Flags that say where production numbers come from (the queries in the export)."""
    group = parser.add_argument_group(
        "metric source (one kind; without any, sources name sloview columns only)"
    )
    group.add_argument(
        "--source",
        metavar="SOURCE",
        help="the request file (a sloview source), a database URL or @NAME (with --sql-table), "
        "or prometheus+http://HOST:PORT (with --prometheus-histogram); credentials are never "
        "written",
    )
    group.add_argument(
        "--prometheus-histogram",
        "--histogram",
        metavar="[COLUMN=]METRIC",
        action="append",
        default=[],
        type=flag(_metric_pair),
        help="latency histogram in seconds, e.g. http_request_duration_seconds; "
        "COLUMN=METRIC for ttft_ms or tpot_ms; repeatable",
    )
    group.add_argument(
        "--prometheus-requests",
        metavar="METRIC",
        default="",
        help="counter of all requests (default: the latency histogram's _count)",
    )
    group.add_argument(
        "--prometheus-tokens", metavar="METRIC", default="", help="counter of output tokens"
    )
    group.add_argument(
        "--prometheus-label",
        metavar="NAME=VALUE",
        action="append",
        default=[],
        type=flag(parse_where),
        help="label matcher every query carries, e.g. job=api; repeatable",
    )
    group.add_argument(
        "--prometheus-buckets",
        metavar="S1,S2",
        type=flag(_buckets),
        default=(),
        help="the histogram's bucket bounds in seconds (default: the client libraries')",
    )
    group.add_argument(
        "--status-label", metavar="NAME", default="code", help="status label (default code)"
    )
    group.add_argument(
        "--error-codes",
        metavar="REGEX",
        default="5..|429",
        help="statuses that count as failed (default 5..|429)",
    )
    group.add_argument(
        "--sql-table", "--table", metavar="TABLE", help="table of requests (SQL queries)"
    )
    group.add_argument(
        "--sql-timestamp", metavar="COL", default="ts", help="request time column (default ts)"
    )
    group.add_argument(
        "--sql-status", metavar="COL", default="status", help="status column (default status)"
    )
    group.add_argument(
        "--url",
        metavar="URL",
        default="",
        help="Prometheus or database URL for a DataSource; credentials are never written",
    )


def source_from_args(args: argparse.Namespace) -> MetricSource | None:
    """The MetricSource the source flags describe (None when none is given)."""
    prometheus = bool(args.prometheus_histogram or args.prometheus_requests)
    url = args.url
    given = (("prometheus", prometheus), ("sql", args.sql_table))
    kinds: list[str] = [k for k, flag in given if flag]
    if args.source:
        # --source may name a database or Prometheus as well as a file: its kind joins the
        # flags' kinds, and its URL (credentials removed by MetricSource) is the DataSource's.
        target = resolve_target(args.source)
        if target.kind != "file":
            if url:
                raise SpecError(
                    "give the URL once: --source names it already",
                    where="--url",
                    hint="leave --url out",
                )
            # A database URL as typed (a named one as resolved); Prometheus without the
            # prometheus+ prefix, as its DataSource needs.
            direct_sql = target.kind == "sql" and target.connection is None
            url = args.source if direct_sql else target.url
            if target.kind not in kinds:
                kinds.insert(0, target.kind)
        else:
            kinds.insert(0, "file")
    if len(kinds) > 1:
        raise SpecError(
            "give one kind of metric source",
            where="--source",
            hint="--source FILE, --prometheus-histogram METRIC (with --source "
            "prometheus+http://HOST:PORT or --url) or --sql-table TABLE (with --source URL)",
        )
    if not kinds:
        return None
    if kinds[0] == "sql" and not args.sql_table:
        raise SpecError(
            "a database source needs the table of requests",
            where="--sql-table",
            hint="add --sql-table NAME (the queries in the export count its rows)",
        )
    if kinds[0] == "prometheus" and not prometheus:
        raise SpecError(
            "a Prometheus source needs the latency histogram or a requests counter",
            where="--prometheus-histogram",
            hint="add --prometheus-histogram METRIC, e.g. http_request_duration_seconds",
        )
    if kinds[0] == "file":
        return MetricSource(kind="file", path=args.source)
    if kinds[0] == "sql":
        return MetricSource(
            kind="sql",
            table=args.sql_table,
            timestamp_column=args.sql_timestamp,
            status_column=args.sql_status,
            url=url,
        )
    return MetricSource(
        kind="prometheus",
        histograms=tuple(args.prometheus_histogram),
        requests_counter=args.prometheus_requests,
        tokens_counter=args.prometheus_tokens,
        matchers=tuple(args.prometheus_label),
        status_label=args.status_label,
        error_codes=args.error_codes,
        buckets=tuple(args.prometheus_buckets),
        url=url,
    )
