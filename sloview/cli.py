"""The `sloview` command: the same functions as the app, for scripts and CI."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, NoReturn

from sloview import __version__
from sloview.design import Recommendation, joint_design, recommend
from sloview.engine import Engine
from sloview.engine.aggregated import AggregateEngine
from sloview.errors import SloviewError, SpecError
from sloview.export import (
    Export,
    MetricSource,
    is_openslo,
    load_documents,
    read_text,
    to_openslo,
    to_sloth,
    validate_documents,
)
from sloview.ingest import Mapping, RequestTable
from sloview.ingest.mapping import parse_unit, parse_where
from sloview.ingest.table import LATENCY_COLUMNS
from sloview.model import (
    CALENDARS,
    METHODS,
    SLI_KINDS,
    SLO,
    THROUGHPUT_UNITS,
    CompositeSLO,
    parse_condition,
)
from sloview.session import Candidate
from sloview.simulate import (
    CompositeSimulation,
    Simulation,
    data_notes,
    simulate,
    simulate_composite,
)
from sloview.sources.aggregates import Aggregates
from sloview.sources.open import (
    SourceKind,
    SourceOptions,
    open_source,
    parse_matcher,
    resolve_target,
    source_kind,
    source_secrets,
)
from sloview.sources.secrets import Scrubber
from sloview.specfile import flatten, load_slo_file, load_specs
from sloview.summary import SUMMARY_PERCENTILES, Summary, iso_utc, summarize, summarize_aggregates
from sloview.units import format_ms
from sloview.wording import percent, statement

EXIT_OK = 0
EXIT_BAD_INPUT = 2
SOURCE_HELP = (
    "a request file (CSV/TSV, Parquet, JSON(L), JTL ...), a database URL such as "
    "postgresql://HOST/DB or sqlite:///FILE (with --table or --query), "
    "prometheus+http://HOST:PORT (with --histogram, --start, --end), or @NAME for a connection "
    "in .streamlit/secrets.toml or SLOVIEW_NAME_URL"
)


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad flag on one line (exit 2) instead of usage + error."""

    def error(self, message: str) -> NoReturn:
        # argparse may quote an argument back (an unrecognised one, say): a URL with a
        # password among them must not be echoed.
        text = Scrubber(())(f"sloview: error: {message} (see `{self.prog} --help`)")
        sys.stderr.write(text + "\n")
        raise SystemExit(EXIT_BAD_INPUT)


def _flag(convert: Callable[[str], Any]) -> Callable[[str], Any]:
    """Wrap a parser so argparse reports its message as a bad flag value."""

    def parse(text: str) -> Any:
        try:
            return convert(text)
        except SloviewError as exc:
            raise argparse.ArgumentTypeError(
                exc.message + (f"; {exc.hint}" if exc.hint else "")
            ) from exc

    parse.__name__ = convert.__name__
    return parse


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"{text} is not a share in (0, 1], e.g. 0.9")
    return value


def _csv_list(text: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in text.split(",") if v.strip())


def add_mapping_flags(parser: argparse.ArgumentParser) -> None:
    """Flags that say which column holds what (all optional: detection fills the rest)."""
    group = parser.add_argument_group("column mapping (detected when not given)")
    group.add_argument("--timestamp", metavar="COL", help="column with the request time")
    group.add_argument("--latency", metavar="COL", help="column with the end-to-end latency")
    group.add_argument(
        "--latency-unit",
        metavar="s|ms|us|ns",
        type=_flag(parse_unit),
        help="unit of the latency column (default: from the name or magnitude)",
    )
    group.add_argument("--ttft", metavar="COL", help="column with the time to first token/byte")
    group.add_argument("--output-tokens", metavar="COL", help="column with output token counts")
    group.add_argument("--status", metavar="COL", help="column with the status/result")
    group.add_argument(
        "--good",
        metavar="V1,V2",
        type=_csv_list,
        default=(),
        help="status values that count as success",
    )
    group.add_argument(
        "--bad",
        metavar="V1,V2",
        type=_csv_list,
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
        type=_csv_list,
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
        type=_flag(parse_where),
        help="keep only rows where COL equals VALUE; repeatable",
    )
    group.add_argument(
        "--tz", metavar="ZONE", help="timezone of naive timestamps (IANA name; default UTC)"
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
        "database, Prometheus, or a file with --aggregate",
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
        type=_flag(parse_matcher),
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
    """The SourceOptions the reading flags describe."""
    return SourceOptions(
        table=args.table,
        query=args.query,
        start=args.start,
        end=args.end,
        step=args.step,
        histogram=args.histogram,
        status_label=args.status_label,
        good=tuple(args.good),
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


def _format_of(kind: SourceKind) -> str:
    """What the summary says aggregates came from."""
    return {
        "file": "aggregated per minute",
        "sql": "SQL, aggregated in the database",
        "prometheus": "Prometheus histogram",
    }[kind]


def add_objective_flags(parser: argparse.ArgumentParser) -> None:
    """Flags that describe one candidate SLO (instead of --slo FILE)."""
    group = parser.add_argument_group("candidate SLO (instead of --slo FILE)")
    group.add_argument(
        "--slo", metavar="FILE", help="SLO definitions: sloview, OpenSLO v1 or Sloth YAML"
    )
    group.add_argument("--name", default=None, help="SLO name (lower case, digits, dashes)")
    group.add_argument("--sli", choices=SLI_KINDS, default="latency", help="what is measured")
    group.add_argument(
        "--metric",
        choices=tuple(LATENCY_COLUMNS),
        default="latency_ms",
        help="latency column for a latency SLI (default latency_ms)",
    )
    group.add_argument(
        "--threshold-ms", type=float, metavar="T", help="latency threshold in ms (latency SLI)"
    )
    group.add_argument(
        "--min-rate", type=float, metavar="X", help="minimum rate per second (throughput SLI)"
    )
    group.add_argument(
        "--throughput-unit",
        choices=THROUGHPUT_UNITS,
        default="requests",
        help="what the throughput SLI counts (goodput: requests meeting every --condition)",
    )
    group.add_argument(
        "--condition",
        metavar="METRIC<=MS",
        action="append",
        default=[],
        type=_flag(parse_condition),
        help="a condition of a joint SLI or of goodput, e.g. ttft_ms<=500 (also <, and s or "
        "ms after the number); repeatable: a request is good when it succeeded and meets all",
    )
    group.add_argument(
        "--op",
        choices=("lte", "lt", "gte", "gt"),
        default=None,
        help="comparison (lte for latency, gte for throughput by default)",
    )
    group.add_argument(
        "--percentile",
        type=float,
        metavar="P",
        help="judge each slice by this latency percentile (with Timeslices)",
    )
    group.add_argument(
        "--target",
        type=float,
        metavar="X",
        default=None,
        help="target share between 0 and 1, e.g. 0.995",
    )
    group.add_argument("--window", metavar="DURATION", help="rolling window, e.g. 28d (default)")
    group.add_argument("--calendar", choices=CALENDARS, help="calendar window instead of rolling")
    group.add_argument(
        "--window-tz",
        metavar="ZONE",
        help="timezone of calendar periods and day ends (default: --tz or UTC)",
    )
    group.add_argument(
        "--budgeting",
        choices=METHODS,
        default=None,
        help="Occurrences (default), Timeslices or RatioTimeslices",
    )
    group.add_argument("--slice", metavar="DURATION", help="slice length, e.g. 5m")
    group.add_argument(
        "--slice-target",
        type=float,
        metavar="X",
        help="share of good events that makes a slice good (Timeslices)",
    )
    group.add_argument(
        "--failed-requests",
        choices=("exclude", "bad"),
        default=None,
        help="latency SLIs: leave failed requests out (default) or count them bad; a joint "
        "SLI always counts them bad",
    )
    group.add_argument(
        "--min-events",
        type=int,
        default=0,
        metavar="N",
        help="slices with fewer events do not count (low-traffic rule)",
    )
    group.add_argument(
        "--empty-slices",
        choices=("skip", "good", "bad"),
        default="skip",
        help="how slices without enough events count (default: neither way)",
    )


def slos_from_args(args: argparse.Namespace) -> list[SLO]:
    """The SLOs to work on: from --slo FILE, or the one the objective flags describe."""
    if args.slo:
        return load_slo_file(args.slo)
    sli: dict[str, Any] = {"kind": args.sli}
    objective: dict[str, Any] = {}
    goodput = args.sli == "throughput" and args.throughput_unit == "goodput"
    if args.condition and not (args.sli == "joint" or goodput):
        raise SpecError(
            "--condition applies to --sli joint or --throughput-unit goodput",
            where="--condition",
            hint="e.g. --sli joint --condition ttft_ms<=500 --condition tpot_ms<=50",
        )
    if args.sli == "joint" or goodput:
        if not args.condition:
            raise SpecError(
                f"{'a joint SLO' if args.sli == 'joint' else 'goodput'} needs --condition",
                where="--condition",
                hint="e.g. --condition ttft_ms<=500 --condition tpot_ms<=50",
            )
        sli["conditions"] = [c.to_dict() for c in args.condition]
    if args.sli == "joint" and args.failed_requests == "exclude":
        raise SpecError(
            "a joint SLO always counts failed requests as bad",
            where="--failed-requests",
            hint="leave the flag out: a good request succeeded and met every condition",
        )
    if args.sli == "joint" and args.threshold_ms is not None:
        raise SpecError(
            "a joint SLO takes its thresholds from --condition, not --threshold-ms",
            where="--threshold-ms",
        )
    if args.sli == "latency":
        sli["metric"] = args.metric
        sli["failed_requests"] = args.failed_requests or "exclude"
        if args.percentile is not None:
            sli["percentile"] = args.percentile
        if args.threshold_ms is None:
            raise SpecError("a latency SLO needs --threshold-ms T", where="--threshold-ms")
        objective["threshold"] = args.threshold_ms
        objective["op"] = args.op or "lte"
    elif args.sli == "throughput":
        sli["unit"] = args.throughput_unit
        if args.min_rate is None:
            raise SpecError("a throughput SLO needs --min-rate X", where="--min-rate")
        objective["threshold"] = args.min_rate
        objective["op"] = args.op or "gte"
    objective["target"] = args.target if args.target is not None else _default_target(args.sli)
    tz = args.window_tz or args.tz or "UTC"
    if args.calendar and args.window:
        raise SpecError("give either --window or --calendar, not both", where="--calendar")
    window: dict[str, Any] = (
        {"calendar": args.calendar} if args.calendar else {"rolling": args.window or "28d"}
    )
    window["tz"] = tz
    method = args.budgeting or (
        "Timeslices" if args.sli == "throughput" or args.percentile is not None else "Occurrences"
    )
    budgeting: dict[str, Any] = {"method": method}
    if method != "Occurrences":
        budgeting["slice"] = args.slice or "5m"
        if method == "Timeslices" and args.sli != "throughput" and args.percentile is None:
            budgeting["slice_target"] = (
                args.slice_target if args.slice_target is not None else objective["target"]
            )
        if args.min_events:
            budgeting["min_events"] = args.min_events
        budgeting["empty_slices"] = args.empty_slices
    elif args.slice or args.slice_target is not None or args.min_events:
        raise SpecError(
            "--slice, --slice-target and --min-events need --budgeting Timeslices "
            "or RatioTimeslices",
            where="--budgeting",
        )
    name = args.name or f"{args.sli}-slo"
    return [
        SLO.from_dict(
            {
                "name": name,
                "sli": sli,
                "objective": objective,
                "window": window,
                "budgeting": budgeting,
            }
        )
    ]


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
        return tuple(float(v) for v in _csv_list(text))
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
        type=_flag(_metric_pair),
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
        type=_flag(parse_where),
        help="label matcher every query carries, e.g. job=api; repeatable",
    )
    group.add_argument(
        "--prometheus-buckets",
        metavar="S1,S2",
        type=_flag(_buckets),
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


def _default_target(kind: str) -> float:
    return {"latency": 0.95, "availability": 0.995, "throughput": 0.99, "joint": 0.95}[kind]


def build_parser() -> argparse.ArgumentParser:
    """The full command-line interface."""
    parser = _Parser(prog="sloview", description=__doc__)
    parser.add_argument("--version", action="version", version=f"sloview {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

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

    sim = sub.add_parser(
        "simulate",
        help="how candidate SLOs would have done on the history",
        description="Simulate SLOs on request history: attainment with a 95% CI, every period, "
        "error budget left, burn-rate alerts that would have fired (backtest) and the "
        "recommended threshold/target.",
    )
    sim.add_argument("source", metavar="SOURCE", help=SOURCE_HELP)
    add_mapping_flags(sim)
    add_reading_flags(sim)
    add_objective_flags(sim)
    sim.add_argument(
        "--desired-share",
        type=_share,
        default=0.9,
        metavar="X",
        help="share of periods the recommendation must meet (default 0.9)",
    )
    sim.add_argument("--json", action="store_true", help='print one JSON object {"slos": [...]}')
    sim.set_defaults(handler=_cmd_simulate)

    rec = sub.add_parser(
        "recommend",
        help="the tightest threshold and highest target the history supports",
        description="Recommend targets the data support: the tightest threshold at the target "
        "and the highest target at the threshold, for a share of periods and for all, with CIs.",
    )
    rec.add_argument("source", metavar="SOURCE", help=SOURCE_HELP)
    add_mapping_flags(rec)
    add_reading_flags(rec)
    add_objective_flags(rec)
    rec.add_argument(
        "--desired-share",
        type=_share,
        default=0.9,
        metavar="X",
        help="share of periods to meet (default 0.9)",
    )
    rec.add_argument("--json", action="store_true", help="print one JSON object")
    rec.set_defaults(handler=_cmd_recommend)

    export = sub.add_parser(
        "export",
        help="agreed SLOs as OpenSLO v1 or Sloth YAML",
        description="Write SLOs (from --slo FILE in any format sloview reads, or the objective "
        "flags) as OpenSLO v1 (Service, SLO, AlertPolicy, AlertCondition ...) or as a Sloth "
        "prometheus/v1 spec. Queries follow the metric source flags: PromQL for a Prometheus "
        "histogram, SQL for a table, or a sloview source naming the request file. What the "
        "format cannot hold is kept in sloview.dev/ annotations (Sloth: sloview_ labels), so "
        "`sloview simulate SOURCE --slo FILE` reads the export back. Warnings go to stderr.",
    )
    add_objective_flags(export)
    export.add_argument(
        "--format",
        choices=("openslo", "sloth"),
        default="openslo",
        help="openslo (default) or sloth (Occurrences SLOs on Prometheus only)",
    )
    export.add_argument(
        "--service", metavar="NAME", help="service of every SLO (default: each SLO's own)"
    )
    export.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    add_source_flags(export)
    export.set_defaults(handler=_cmd_export, tz=None)

    report = sub.add_parser(
        "report",
        help="the stakeholder report of agreed SLOs (HTML, Markdown or PDF)",
        description="Write the stakeholder report: every SLO given (all count as agreed) with "
        "its attainment and 95% CI, periods met, budget left, charts of history, burn rates "
        "and the alert backtest, the recommendation's rationale, risks, data provenance and a "
        "sign-off table. The output's extension picks the format: .html (one self-contained "
        "file that works offline), .md (for wikis and pull requests) or .pdf (printed by "
        "headless Chromium: needs `apt-get install chromium` and `pip install playwright`).",
    )
    report.add_argument("source", metavar="SOURCE", help=SOURCE_HELP)
    add_mapping_flags(report)
    add_reading_flags(report)
    add_objective_flags(report)
    report.add_argument(
        "-o", "--output", metavar="FILE", required=True, help="FILE.html, FILE.md or FILE.pdf"
    )
    report.add_argument("--title", metavar="TEXT", help="report title")
    report.add_argument(
        "--desired-share",
        type=_share,
        default=0.9,
        metavar="X",
        help="share of periods the recommendation must meet (default 0.9)",
    )
    report.add_argument(
        "--generated-at",
        metavar="TEXT",
        help="the generation time printed in the report (default: now, or SOURCE_DATE_EPOCH)",
    )
    report.set_defaults(handler=_cmd_report)

    check = sub.add_parser(
        "validate",
        help="check an OpenSLO v1 file against the OpenSLO SDK's rules",
        description="Check every document of an OpenSLO v1 file against the rules the OpenSLO "
        "Go SDK enforces. Prints `valid: N documents`, or every violation on its own line "
        "with its YAML path (exit 2).",
    )
    check.add_argument("file", metavar="FILE", help="OpenSLO v1 YAML (several documents allowed)")
    check.set_defaults(handler=_cmd_validate)
    return parser


def _cmd_summarize(args: argparse.Namespace) -> int:
    loaded = load_from_args(args, percentiles=tuple(q for _, q in SUMMARY_PERCENTILES))
    result = (
        summarize_aggregates(loaded, tuple(args.segment), _format_of(source_kind(args.source)))
        if isinstance(loaded, Aggregates)
        else summarize(loaded, tuple(args.segment))
    )
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, allow_nan=False))
    else:
        print(render_summary(result))
    return EXIT_OK


def _engine_and_slos(
    args: argparse.Namespace,
) -> tuple[Engine, list[SLO | CompositeSLO], RequestTable | Aggregates]:
    """The engine over SOURCE (exact on rows, binned on aggregates), the SLOs, and the data."""
    slos: list[SLO | CompositeSLO] = (
        load_specs(args.slo) if args.slo else list(slos_from_args(args))
    )
    loaded = load_from_args(args, slos)
    engine = AggregateEngine(loaded) if isinstance(loaded, Aggregates) else Engine(loaded)
    engine.require_time()
    if not args.slo:
        # --where on a segment column narrows the candidate itself: say so in its statement.
        columns = engine.segment_columns()
        segment = tuple((c, v) for c, v in args.where if c in columns)
        if segment:
            slos = [
                slo.with_changes(segment=segment) if isinstance(slo, SLO) else slo for slo in slos
            ]
    return engine, slos, loaded


def _simulate_one(
    engine: Engine, slo: SLO, args: argparse.Namespace
) -> tuple[Simulation, Recommendation | None]:
    sim = simulate(engine, slo, segment_columns=tuple(args.segment))
    try:
        return sim, recommend(engine, slo, args.desired_share)
    except SpecError as exc:  # the simulation stands even when no recommendation can
        return replace(sim, notes=(*sim.notes, f"No recommendation: {exc.one_line()}")), None


def _cmd_simulate(args: argparse.Namespace) -> int:
    engine, slos, _ = _engine_and_slos(args)
    entries = []
    texts = []
    for spec in slos:
        if isinstance(spec, CompositeSLO):
            composite = simulate_composite(engine, spec)
            entry = composite.to_dict()
            parts = [_simulate_one(engine, slo, args) for slo in spec.objectives]
            entry["recommendation"] = [None if r is None else r.to_dict() for _, r in parts]
            for component, (_, rec) in zip(entry["components"], parts, strict=True):
                component["recommendation"] = None if rec is None else rec.to_dict()
            entries.append(entry)
            texts.append(render_composite(composite, parts))
            continue
        sim, rec = _simulate_one(engine, spec, args)
        entry = sim.to_dict()
        entry["recommendation"] = None if rec is None else rec.to_dict()
        entries.append(entry)
        texts.append(render_simulation(sim, rec))
    if args.json:
        print(json.dumps({"slos": entries}, indent=2, allow_nan=False))
    else:
        print("\n\n".join(texts))
    return EXIT_OK


def _cmd_recommend(args: argparse.Namespace) -> int:
    engine, slos, _ = _engine_and_slos(args)
    out = []
    for slo in flatten(slos):
        rec = recommend(engine, slo, args.desired_share)
        # On aggregates, how exact the figures are (empty for request rows).
        notes = data_notes(engine, slo)
        entry = {"name": slo.name, "statement": statement(slo), **rec.to_dict()}
        entry["notes"] = list(notes)
        text = f"{slo.name}: {statement(slo)}\n  {rec.rationale}"
        text += "".join(f"\n  note: {n}" for n in notes)
        if slo.sli.kind == "joint" and len(slo.sli.conditions) >= 2:
            pair = joint_design(engine, slo, args.desired_share)
            entry["threshold_pair"] = {
                "metrics": list(pair.metrics),
                "recommended_ms": None if pair.recommended is None else list(pair.recommended),
                "iso_line_ms": [
                    [a, b]
                    for a, b in zip(pair.thresholds_a.tolist(), pair.iso_b.tolist(), strict=True)
                    if b == b  # NaN where no B qualifies at this A
                ],
                "rationale": pair.rationale,
            }
            text += f"\n  {pair.rationale}"
        out.append(entry)
        if not args.json:
            print(text)
    if args.json:
        print(json.dumps({"slos": out}, indent=2, allow_nan=False))
    return EXIT_OK


def _cmd_export(args: argparse.Namespace) -> int:
    slos = slos_from_args(args)
    if args.service:
        slos = [s.with_changes(service=args.service) for s in slos]
    source = source_from_args(args)
    result: Export = (
        to_openslo(slos, source) if args.format == "openslo" else to_sloth(slos, source)
    )
    for warning in result.warnings:
        sys.stderr.write(f"sloview: warning: {warning}\n")
    if not args.output:
        sys.stdout.write(result.text)
        return EXIT_OK
    try:
        with open(args.output, "w", encoding="utf-8") as out:
            out.write(result.text)
    except OSError as exc:
        raise SpecError(exc.strerror or "cannot be written", where=args.output) from None
    kind = "OpenSLO v1" if args.format == "openslo" else "Sloth prometheus/v1"
    print(f"wrote {args.output}: {len(slos)} SLO{'s' if len(slos) != 1 else ''} as {kind}")
    return EXIT_OK


def _cmd_report(args: argparse.Namespace) -> int:
    # Imported here: the report pulls in plotly, which the other commands do not need.
    from sloview.report import DEFAULT_TITLE, format_for_path, render, report_inputs
    from sloview.report.pdf import check_pdf_renderer

    # A bad extension or a missing PDF renderer fails before the data are read.
    fmt = format_for_path(args.output)
    if fmt == "pdf":
        check_pdf_renderer()
    engine, slos, loaded = _engine_and_slos(args)
    # The loaded data (rows or aggregates) give the provenance section.
    inputs = report_inputs(
        loaded,
        engine,
        [Candidate(slo=slo, agreed=True) for slo in flatten(slos)],
        generated_at=args.generated_at or _generated_at(),
        title=args.title or DEFAULT_TITLE,
        desired_share=args.desired_share,
        segment_columns=tuple(args.segment),
    )
    data = render(inputs, fmt)
    try:
        with open(args.output, "wb") as out:
            out.write(data)
    except OSError as exc:
        raise SpecError(exc.strerror or "cannot be written", where=args.output) from None
    kind = {"html": "HTML", "md": "Markdown", "pdf": "PDF"}[fmt]
    print(
        f"wrote {args.output}: {len(slos)} agreed SLO{'s' if len(slos) != 1 else ''} "
        f"({kind}, {len(data):,} bytes)"
    )
    return EXIT_OK


def _generated_at() -> str:
    """Now in UTC, or SOURCE_DATE_EPOCH when set (reproducible builds)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch:
        try:
            return f"{datetime.fromtimestamp(int(epoch), tz=UTC):%Y-%m-%d %H:%M} UTC"
        except (ValueError, OverflowError, OSError):
            raise SpecError(
                f"{epoch!r} is not a Unix time",
                where="SOURCE_DATE_EPOCH",
                hint="unset it or give whole seconds since 1970",
            ) from None
    # The CLI is the edge where the clock may be read; renderers get the text.
    return f"{datetime.now(tz=UTC):%Y-%m-%d %H:%M} UTC"


def _cmd_validate(args: argparse.Namespace) -> int:
    docs = load_documents(read_text(args.file), args.file)
    if not any(is_openslo(doc) for doc in docs):
        raise SpecError(
            "is not an OpenSLO file (no document has apiVersion: openslo/v1)",
            where=args.file,
            hint="`sloview validate` checks OpenSLO v1; `sloview export --slo FILE` converts "
            "sloview and Sloth files",
        )
    violations = validate_documents(docs)
    for violation in violations:
        # The one place several lines are printed: each is a separate violation.
        sys.stderr.write(f"{args.file}: {violation}\n")
    if violations:
        return EXIT_BAD_INPUT
    print(f"valid: {len(docs)} document{'s' if len(docs) != 1 else ''}")
    return EXIT_OK


def render_composite(
    composite: CompositeSimulation, parts: list[tuple[Simulation, Recommendation | None]]
) -> str:
    """The readable form of a composite SLO's simulation."""
    judged = int(composite.judged.sum())
    lines = [
        f"{composite.composite.name}: {composite.statement}",
        f"  periods     all objectives met in {composite.periods_met} of {judged}",
        "",
    ]
    text = "\n\n".join(render_simulation(sim, rec) for sim, rec in parts)
    lines.extend("  " + line if line else "" for line in text.splitlines())
    return "\n".join(lines)


def render_simulation(sim: Simulation, rec: Recommendation | None) -> str:
    """The readable (non-JSON) form of one simulation."""
    o = sim.overall
    lines = [
        f"{sim.slo.name}: {sim.statement}",
        f"  attainment  {percent(o.attainment, 3)} (95% CI {percent(o.ci_low, 3)} - "
        f"{percent(o.ci_high, 3)}; {o.good:,.0f} good of {o.total:,.0f})",
        f"  periods     {sim.periods_met} of {sim.periods_with_data} met; budget left in the "
        f"latest period {percent(sim.error_budget_remaining, 1)}",
        "",
        f"  {'period start':<22}{'end':<22}{'attainment':>12}{'budget left':>13}  met",
    ]
    for p in sim.periods:
        met = "-" if p.met is None else ("yes" if p.met else "NO")
        flag = " (partial)" if p.partial else ""
        lines.append(
            f"  {iso_utc(p.start):<22}{iso_utc(p.end):<22}{percent(p.attainment, 3):>12}"
            f"{percent(p.budget_remaining, 1):>13}  {met}{flag}"
        )
    lines.append("")
    if sim.firings:
        lines.append(f"  alerts that would have fired ({len(sim.firings)}):")
        for f in sim.firings:
            delay = (
                "" if f.delay_s is None else f", {f.delay_s / 60:.0f} min after the violation began"
            )
            tag = "" if f.violation is not None else " (no violation)"
            lines.append(
                f"    {f.rule.label():<24} {iso_utc(f.start)} -> {iso_utc(f.end)}  budget spent "
                f"{percent(f.budget_spent, 1)}{delay}{tag}"
            )
    else:
        lines.append("  no alert would have fired")
    for v in sim.missed_violations:
        lines.append(
            f"  MISSED violation {iso_utc(v.start)} -> {iso_utc(v.end)} "
            f"(spent {percent(v.budget_spent, 1)} of a period's budget)"
        )
    for seg in sim.segments:
        lines.append(
            f"  segment {seg.column}={seg.value}: {percent(seg.overall.attainment, 3)}, "
            f"{seg.periods_met} of {seg.periods} periods met"
        )
    lines.append("")
    if rec is not None:
        lines.append(f"  recommendation: {rec.rationale}")
    lines.extend(f"  note: {n}" for n in sim.notes)
    return "\n".join(lines)


def render_summary(summary: Summary) -> str:
    """The readable (non-JSON) form of a summary."""
    o = summary.overall
    lines = [
        f"Source       {summary.source} ({summary.source_format})",
        f"Requests     {o.rows:,} valid of {summary.rows_read:,} rows read",
    ]
    for reason, count in summary.dropped.items():
        lines.append(f"  excluded   {count:,}  {reason}")
    if summary.start is not None:
        lines.append(f"Span         {iso_utc(summary.start)} -> {iso_utc(summary.end)}")
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
            + "".join(f"{format_ms(v):>10}" for v in cells)
        )
    return "\n".join(rows)


def _pct(x: float) -> str:
    return "n/a" if x != x else f"{100 * x:.2f}%"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; bad input exits 2 with one line on stderr, never a traceback."""
    parser = build_parser()
    args = parser.parse_args(argv)
    # Sources scrub their own messages; this catches whatever else might quote SOURCE or --url
    # (a driver's exception in the internal-error line, say).
    scrub = Scrubber(())
    try:
        scrub = Scrubber(_secrets_of(args))
        return int(args.handler(args))
    except SloviewError as exc:
        sys.stderr.write(scrub(f"sloview: error: {exc.one_line()}") + "\n")
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug, not bad input: still one line, never a traceback
        sys.stderr.write(
            scrub(
                f"sloview: internal error: {type(exc).__name__}: {exc} (please report this with "
                "the command you ran, without its passwords)"
            )
            + "\n"
        )
        return 1


def _secrets_of(args: argparse.Namespace) -> tuple[str, ...]:
    """Secrets SOURCE (or export's --source/--url) carries or resolves to."""
    found: list[str] = []
    for text in (getattr(args, "source", None), getattr(args, "url", None)):
        if text:
            found += source_secrets(text)
    return tuple(found)


if __name__ == "__main__":
    raise SystemExit(main())
