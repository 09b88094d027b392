"""One home that turns a SOURCE text and its options into loaded data: rows or aggregates.

A SOURCE is one of:

- a file path (CSV, Parquet, JSON, JTL ...): read whole by `load_requests`, or with
  `aggregate=True` aggregated out of core by DuckDB (Parquet/CSV larger than memory);
- a database URL with a `table` or a `query`: rows up to `row_limit`, per-minute aggregates
  (computed in the database) beyond. SQLAlchemy URLs (`postgresql://...`,
  `postgresql+psycopg://...`, `sqlite:///path` ...), ClickHouse (`clickhouse://HOST:8123/DB`,
  `clickhouses://` for HTTPS) and Spark Connect (`sc://HOST:15002`, Databricks included);
- `prometheus+http://HOST:PORT` (or `prometheus+https://`) with a latency `histogram`, `start`
  and `end`: per-minute aggregates of its buckets;
- `@NAME`: the connection NAME from `.streamlit/secrets.toml` (`[connections.NAME]`) or the
  environment (`SLOVIEW_NAME_URL`, `_PASSWORD`, `_TOKEN`); its URL decides the kind.

Options are named as the command-line flags that set them (`table` is `--table`), and errors
about them name the flag: the CLI and the Data page share this module, and the page labels
its fields with the same words. Credentials never leave the connection: every description and
message goes through `sloview.sources.secrets.Scrubber` / `redact_url`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from sloview.errors import SloviewError, SourceError
from sloview.export.source import redact_url
from sloview.ingest import load_requests
from sloview.ingest.mapping import Mapping as ColumnMapping
from sloview.ingest.table import LATENCY, TPOT, TTFT, RequestTable
from sloview.sources.aggregates import Aggregates
from sloview.sources.bounds import time_bound
from sloview.sources.secrets import Connection, resolve
from sloview.sources.sql import ROW_LIMIT, SqlSource
from sloview.sources.warehouse import WarehouseSource

SourceKind = Literal["file", "sql", "prometheus"]
PROMETHEUS_PREFIX = "prometheus+"
# A Prometheus URL given directly takes its credentials from [connections.prometheus] or
# SLOVIEW_PROMETHEUS_TOKEN / _USERNAME / _PASSWORD, so none has to be typed into the URL.
PROMETHEUS_CONNECTION = "prometheus"
DEFAULT_STEP = "1m"
MATCH_OPS = ("!=", "=~", "!~", "=")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
_CONNECTION = re.compile(r"^@([A-Za-z0-9_.-]+)$")

# The source layer's hints name its keyword arguments; here they become the flags (and the
# Data page's fields) that set them. Longer phrases first: one contains another.
_HINT_WORDS = (
    ("raise connect_timeout_s", "raise --timeout"),
    ("raise timeout_s", "raise --timeout"),
    ("raise row_limit", "raise --row-limit"),
    ("narrow start/end", "narrow --start/--end"),
    ("check start/end", "check --start/--end"),
    ("a larger step", "a larger --step"),
    ("(timestamp=COL)", "(--timestamp COL)"),
)

# Where the source layer locates an argument error, by the flag that sets the argument.
_WHERE_FLAGS = {
    "query": "--query",
    "start": "--start",
    "end": "--end",
    "step": "--step",
    "metric": "--histogram",
    "unit": "--histogram-unit",
    "matchers": "--match",
    "labels": "--status-label, --segment or --match",
}


@dataclass(frozen=True, kw_only=True, slots=True)
class SourceOptions:
    """How to read a SOURCE beyond its column mapping; None means not given (the default).

    `good`, `bad` and `group_by` are status values and segments: for Prometheus the values of
    `status_label` and the labels to group by; for files and SQL they add to the mapping's
    `good`/`bad`, and `group_by` picks the segments aggregated (default: those detected).
    """

    table: str | None = None
    query: str | None = None
    start: str | None = None
    end: str | None = None
    step: str | None = None
    histogram: str | None = None
    # Prometheus: histograms of time to first token and time per output token (seconds).
    ttft_histogram: str | None = None
    tpot_histogram: str | None = None
    status_label: str | None = None
    good: tuple[str, ...] = ()
    bad: tuple[str, ...] = ()
    group_by: tuple[str, ...] = ()
    row_limit: int | None = None
    histogram_unit: str | None = None
    matchers: tuple[tuple[str, str, str], ...] = ()
    aggregate: bool = False
    timeout_s: float | None = None
    # A database that aggregates counts these exactly: (op, ms) end-to-end latency thresholds
    # and percentiles (percentile_cont, where the dialect has it). Bins serve the rest.
    thresholds: tuple[tuple[str, float], ...] = ()
    percentiles: tuple[float, ...] = ()

    def histogram_of(self, column: str) -> str | None:
        """The Prometheus histogram given for a sloview latency column, if any."""
        return {LATENCY: self.histogram, TTFT: self.ttft_histogram, TPOT: self.tpot_histogram}.get(
            column
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class Target:
    """Where a SOURCE points: its kind, and the URL or path to read (URLs may hold
    credentials: show `shown`, never `url`)."""

    kind: SourceKind
    # Kept out of repr: both may hold a password.
    text: str = field(repr=False)
    url: str = field(default="", repr=False)
    path: str = ""
    connection: str | None = None

    @property
    def shown(self) -> str:
        """The SOURCE as it may be shown: a path, a URL without credentials, or @NAME."""
        if self.kind == "file":
            return self.path
        if self.connection is not None and self.text.startswith("@"):
            return f"@{self.connection} ({redact_url(self.url)})"
        return redact_url(self.url)


def parse_matcher(text: str) -> tuple[str, str, str]:
    """`LABEL=VALUE` (also `!=`, `=~`, `!~`) -> (label, op, value)."""
    for i, ch in enumerate(text):
        if ch in "=!":
            for op in MATCH_OPS:
                if text.startswith(op, i):
                    label, value = text[:i].strip(), text[i + len(op) :].strip()
                    if label:
                        return label, op, value
                    break
            break
    raise SourceError(
        f"{text!r} is not a label matcher",
        where="--match",
        hint='write LABEL=VALUE (or !=, =~, !~), e.g. job=api or code!~"5.."',
    )


def resolve_target(
    text: str,
    *,
    secrets_path: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Target:
    """Where a SOURCE points (a named connection is looked up, not connected to)."""
    source = text.strip()
    named = _CONNECTION.match(source)
    if named is not None and not Path(source).exists():
        name = named.group(1)
        conn = resolve(connection=name, secrets_path=secrets_path, environ=environ)
        kind, url = _kind_of_url(conn.url, shown=f"@{name}")
        return Target(kind=kind, text=source, url=url, connection=name)
    if _SCHEME.match(source):
        kind, url = _kind_of_url(source, shown=redact_url(source))
        if kind == "prometheus":
            return Target(kind=kind, text=source, url=url, connection=PROMETHEUS_CONNECTION)
        return Target(kind=kind, text=source, url=url)
    return Target(kind="file", text=source, path=source)


def _kind_of_url(url: str, *, shown: str) -> tuple[SourceKind, str]:
    """(kind, URL to connect to) of a connection URL."""
    scheme = url.split("://", 1)[0].lower()
    if scheme in ("prometheus+http", "prometheus+https"):
        return "prometheus", url[len(PROMETHEUS_PREFIX) :]
    if scheme in ("http", "https"):
        if shown.startswith("@"):
            return "prometheus", url  # a named connection to Prometheus may keep plain http
        raise SourceError(
            "an http(s) URL is not a data source by itself",
            where=redact_url(url),
            hint=f"for Prometheus write {PROMETHEUS_PREFIX}{redact_url(url)}; files are read "
            "from a local path",
        )
    if "://" not in url or not scheme:
        raise SourceError(
            "the connection's URL is not a URL",
            where=shown,
            hint="write it as scheme://..., e.g. postgresql://HOST/DB or "
            "prometheus+http://HOST:9090 (url = ... in [connections.NAME] or SLOVIEW_NAME_URL)",
        )
    if scheme in ("postgresql", "postgres"):
        # Without a driver SQLAlchemy picks psycopg2, which sloview does not install (and it
        # no longer reads postgres:// at all); psycopg 3 is the driver that comes with it.
        return "sql", "postgresql+psycopg://" + url.split("://", 1)[1]
    if scheme in WAREHOUSE_SCHEMES or _sqlalchemy_knows(scheme):
        return "sql", url
    raise SourceError(
        f"{scheme}:// is not a kind of source sloview reads",
        where=shown,
        hint="databases: postgresql://, sqlite:///PATH, clickhouse://, sc:// (Spark Connect) or "
        "another SQLAlchemy URL whose driver is installed; prometheus+http:// for Prometheus",
    )


# Database URLs read without SQLAlchemy, by scheme.
WAREHOUSE_SCHEMES = ("clickhouse", "clickhouses", "sc")


def _sqlalchemy_knows(scheme: str) -> bool:
    """Whether SQLAlchemy has a dialect (and driver) for `dialect[+driver]`."""
    from sqlalchemy.dialects import registry
    from sqlalchemy.exc import NoSuchModuleError

    dialect, _, driver = scheme.partition("+")
    try:
        registry.load(f"{dialect}.{driver}" if driver else dialect)
    except (NoSuchModuleError, ImportError, AttributeError):
        return False
    return True


def source_kind(
    text: str,
    *,
    secrets_path: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> SourceKind:
    """What a SOURCE text names: a file, a SQL database or Prometheus."""
    return resolve_target(text, secrets_path=secrets_path, environ=environ).kind


def describe_source(
    text: str,
    *,
    secrets_path: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> str:
    """The SOURCE as it may be shown (credentials removed), even when it cannot be resolved."""
    try:
        return resolve_target(text, secrets_path=secrets_path, environ=environ).shown
    except SloviewError:
        return redact_url(text) if _SCHEME.match(text.strip()) else text.strip()


def source_secrets(
    text: str,
    *,
    secrets_path: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> tuple[str, ...]:
    """Every secret a SOURCE carries or resolves to, for scrubbing any text shown."""
    found: list[str] = []
    if _SCHEME.match(text.strip()):
        # Even a URL that resolves to nothing usable may hold a password.
        found += Connection(url=text.strip()).secrets()
    try:
        target = resolve_target(text, secrets_path=secrets_path, environ=environ)
        if target.kind != "file":
            conn = resolve(
                target.url or None,
                connection=target.connection,
                secrets_path=secrets_path,
                environ=environ,
            )
            found += conn.secrets()
    except SloviewError:
        pass
    return tuple(dict.fromkeys(found))


def open_source(
    text: str,
    options: SourceOptions | None = None,
    mapping: ColumnMapping | None = None,
    *,
    secrets_path: Path | None = None,
    environ: Mapping[str, str] | None = None,
    words: Literal["flags", "fields"] = "flags",
) -> RequestTable | Aggregates:
    """Read a SOURCE: the canonical request table, or per-minute aggregates.

    Errors name the CLI flags to change, or with `words="fields"` the Data page's fields.
    """
    options = options or SourceOptions()
    mapping = mapping or ColumnMapping()
    try:
        target = resolve_target(text, secrets_path=secrets_path, environ=environ)
        check_options(target.kind, options, mapping)
        if target.kind == "file":
            return _open_file(target, options, mapping)
        if target.kind == "sql":
            return _open_sql(target, options, mapping, secrets_path, environ)
        return _open_prometheus(target, options, mapping, secrets_path, environ)
    except SourceError as exc:
        flagged = _in_flag_words(exc)
        raise (_in_field_words(flagged) if words == "fields" else flagged) from None


# The Data page's labels for the flags an error may name (longest first: prefixes).
_FIELD_WORDS = (
    ("--histogram-unit", "'histogram unit'"),
    ("--ttft-histogram", "'TTFT histogram'"),
    ("--tpot-histogram", "'TPOT histogram'"),
    ("--histogram", "'latency histogram'"),
    ("--status-label", "'status label'"),
    ("--start/--end", "'from'/'until'"),
    ("--start", "'from (UTC)'"),
    ("--end", "'until (UTC)'"),
    ("--step", "'step'"),
    ("--match", "'label matchers'"),
    ("--table", "'table'"),
    ("--query", "'SELECT'"),
    ("--row-limit", "'most requests read as rows'"),
    ("--segment", "the segments field"),
    ("--good", "'good values'"),
    ("--bad", "'bad values'"),
    ("raise --timeout", "narrow the time range"),
)


def _in_field_words(exc: SourceError) -> SourceError:
    """The same error naming the app's fields instead of CLI flags."""

    def fields(text: str | None) -> str | None:
        if text is None:
            return None
        for flag, label in _FIELD_WORDS:
            text = text.replace(flag, label)
        return text

    return SourceError(fields(exc.message) or "", where=fields(exc.where), hint=fields(exc.hint))


def _in_flag_words(exc: SourceError) -> SourceError:
    """The same error with the source layer's argument names as the flags that set them."""
    hint = exc.hint
    if hint:
        for old, new in _HINT_WORDS:
            hint = hint.replace(old, new)
    where = _WHERE_FLAGS.get(exc.where or "", exc.where)
    return SourceError(exc.message, where=where, hint=hint)


# -- options ---------------------------------------------------------------------------------

_PROMETHEUS_ONLY = (
    ("histogram", "--histogram"),
    ("ttft_histogram", "--ttft-histogram"),
    ("tpot_histogram", "--tpot-histogram"),
    ("status_label", "--status-label"),
    ("step", "--step"),
    ("histogram_unit", "--histogram-unit"),
    ("matchers", "--match"),
)
_DATABASE_ONLY = (("table", "--table"), ("query", "--query"), ("row_limit", "--row-limit"))
# Column-mapping settings that mean nothing to a Prometheus histogram, and what to use there.
_NOT_FOR_PROMETHEUS = (
    ("timestamp", "--timestamp", "Prometheus series are timed by --start, --end and --step"),
    ("latency", "--latency", "name the histogram with --histogram METRIC"),
    ("latency_unit", "--latency-unit", "give the histogram's unit with --histogram-unit s|ms"),
    ("status", "--status", "name the status label with --status-label LABEL"),
    ("ok_column", "--status", "name the status label with --status-label LABEL"),
    ("ttft", "--ttft", "name the time-to-first-token histogram with --ttft-histogram METRIC"),
    ("ttft_unit", "--ttft", "name the time-to-first-token histogram with --ttft-histogram"),
    ("output_tokens", "--output-tokens", "a histogram counts requests, not tokens"),
    ("where", "--where", "select series with --match LABEL=VALUE"),
    ("tz", "--tz", "give --start/--end with an offset (they are UTC otherwise)"),
    ("good_classes", "--good-classes", "list status values with --good/--bad"),
)


def _given(options: SourceOptions, name: str) -> bool:
    value = getattr(options, name)
    return value not in (None, (), False)


def check_options(kind: SourceKind, options: SourceOptions, mapping: ColumnMapping) -> None:
    """Refuse options that do not apply to this kind of SOURCE, naming the flag."""
    what = {"file": "a file", "sql": "a database", "prometheus": "Prometheus"}[kind]
    if kind != "prometheus":
        for name, flag in _PROMETHEUS_ONLY:
            if _given(options, name):
                raise SourceError(
                    f"{flag} applies to a Prometheus source, and SOURCE is {what}",
                    where=flag,
                    hint="give SOURCE as prometheus+http://HOST:PORT, or leave the flag out",
                )
    if kind != "sql":
        for name, flag in _DATABASE_ONLY:
            if _given(options, name):
                raise SourceError(
                    f"{flag} applies to a database source, and SOURCE is {what}",
                    where=flag,
                    hint="give SOURCE as a database URL such as postgresql://HOST/DB (or "
                    "@NAME), or leave the flag out",
                )
    if options.aggregate and kind != "file":
        raise SourceError(
            f"--aggregate applies to a file, and SOURCE is {what}",
            where="--aggregate",
            hint="a database aggregates by itself beyond --row-limit (--row-limit 0 always "
            "aggregates); Prometheus always gives aggregates"
            if kind == "sql"
            else "leave it out: Prometheus always gives aggregates",
            app_hint="a database aggregates by itself beyond 'most requests read as rows'",
        )
    if options.timeout_s is not None and not options.timeout_s > 0:
        raise SourceError("must be a positive number of seconds", where="--timeout")
    if kind == "file":
        if options.timeout_s is not None:
            raise SourceError(
                "--timeout applies to a database or Prometheus, and SOURCE is a file",
                where="--timeout",
                hint="leave it out",
            )
    elif kind == "sql":
        if (options.table is None) == (options.query is None):
            both = options.table is not None
            raise SourceError(
                "give either --table or --query, not both"
                if both
                else "a database source needs --table NAME or --query SELECT",
                where="--query" if both else "--table",
                hint='e.g. --table requests, or --query "SELECT ts, latency_ms, status FROM '
                "requests WHERE service = 'api'\"",
                app_hint="choose a table, or write one SELECT",
            )
        if options.row_limit is not None and options.row_limit < 0:
            raise SourceError(
                "must be 0 or more",
                where="--row-limit",
                hint="0 always aggregates in the database",
            )
    else:
        _check_prometheus(options, mapping)


def _check_prometheus(options: SourceOptions, mapping: ColumnMapping) -> None:
    for name, flag in (("histogram", "--histogram"), ("start", "--start"), ("end", "--end")):
        if not getattr(options, name):
            raise SourceError(
                f"a Prometheus source needs {flag}",
                where=flag,
                hint="e.g. --histogram http_request_duration_seconds --start 2024-11-01 "
                "--end 2024-12-01 (times in UTC unless they carry an offset)",
                app_hint="enter the latency histogram's name and the time range (from and until, "
                "in UTC)",
            )
    for name, flag, instead in _NOT_FOR_PROMETHEUS:
        if getattr(mapping, name) is not None and getattr(mapping, name) != ():
            raise SourceError(
                f"{flag} maps a column of a file or table, and SOURCE is Prometheus",
                where=flag,
                hint=instead,
            )
    if not mapping.rate_limited_bad:
        raise SourceError(
            "--rate-limited applies to files and tables, and SOURCE is Prometheus",
            where="--rate-limited",
            hint="list the status values that count as good with --good",
            app_hint="list the status values that count as good",
        )
    if (options.good or options.bad or mapping.good or mapping.bad) and not options.status_label:
        raise SourceError(
            "--good/--bad name values of the status label, and none is given",
            where="--status-label",
            hint="add --status-label LABEL, e.g. --status-label code",
            app_hint="enter the status label, e.g. code",
        )
    if options.histogram_unit not in (None, "s", "ms"):
        raise SourceError(
            f"{options.histogram_unit!r} is not a histogram unit",
            where="--histogram-unit",
            hint="s (the Prometheus convention) or ms",
        )


# -- loading ---------------------------------------------------------------------------------


def _file_mapping(options: SourceOptions, mapping: ColumnMapping) -> ColumnMapping:
    return replace(
        mapping,
        good=mapping.good or options.good,
        bad=mapping.bad or options.bad,
    )


def _open_file(
    target: Target, options: SourceOptions, mapping: ColumnMapping
) -> RequestTable | Aggregates:
    mapping = _file_mapping(options, mapping)
    if not options.aggregate:
        # Rows outside --start/--end are counted out like any other exclusion.
        window = (time_bound(options.start, "start"), time_bound(options.end, "end"))
        return load_requests(target.path, mapping, time_range=window)
    # Imported here: DuckDB is only needed for files larger than memory.
    from sloview.sources.duckdb_files import DuckDbFileSource

    return DuckDbFileSource(
        target.path,
        mapping=mapping,
        start=options.start,
        end=options.end,
        group_by=options.group_by or None,
        thresholds=options.thresholds,
    ).aggregate()


def source_columns(
    text: str,
    options: SourceOptions | None = None,
    *,
    secrets_path: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> list[str]:
    """Column names of a SQL source's table or query (for the mapping form)."""
    options = options or SourceOptions()
    target = resolve_target(text, secrets_path=secrets_path, environ=environ)
    if target.kind != "sql":
        raise SourceError("only a database source has columns to map", where=target.shown)
    source = _sql_source(target, options, ColumnMapping(), secrets_path, environ)
    return source.columns()


def _open_sql(
    target: Target,
    options: SourceOptions,
    mapping: ColumnMapping,
    secrets_path: Path | None,
    environ: Mapping[str, str] | None,
) -> RequestTable | Aggregates:
    return _sql_source(target, options, mapping, secrets_path, environ).load()


def _sql_source(
    target: Target,
    options: SourceOptions,
    mapping: ColumnMapping,
    secrets_path: Path | None,
    environ: Mapping[str, str] | None,
) -> WarehouseSource:
    timeouts: dict[str, Any] = {}
    if options.timeout_s is not None:
        timeouts = {"timeout_s": options.timeout_s, "connect_timeout_s": options.timeout_s}
    # The URL resolved here wins over the connection's own (a driver may have been added);
    # the connection still supplies the credentials.
    return database_source(
        target.url,
        connection=target.connection,
        table=options.table,
        query=options.query,
        mapping=_file_mapping(options, mapping),
        start=options.start,
        end=options.end,
        row_limit=ROW_LIMIT if options.row_limit is None else options.row_limit,
        group_by=options.group_by or None,
        secrets_path=secrets_path,
        environ=environ,
        thresholds=options.thresholds,
        percentiles=options.percentiles,
        **timeouts,
    )


def database_source(url: str, **kwargs: Any) -> WarehouseSource:
    """The database source for a URL: ClickHouse, Spark Connect, or SQLAlchemy's."""
    scheme = url.split("://", 1)[0].lower()
    if scheme in ("clickhouse", "clickhouses"):
        from sloview.sources.clickhouse import ClickHouseSource

        return ClickHouseSource(url, **kwargs)
    if scheme == "sc":
        from sloview.sources.spark import SparkSource

        return SparkSource(url, **kwargs)
    return SqlSource(url, **kwargs)


def _open_prometheus(
    target: Target,
    options: SourceOptions,
    mapping: ColumnMapping,
    secrets_path: Path | None,
    environ: Mapping[str, str] | None,
) -> Aggregates:
    from sloview.sources.prometheus import PrometheusSource

    extra: dict[str, Any] = {} if options.timeout_s is None else {"timeout_s": options.timeout_s}
    source = PrometheusSource(
        target.url,
        connection=target.connection,
        metric=options.histogram or "",
        ttft_metric=options.ttft_histogram,
        tpot_metric=options.tpot_histogram,
        start=options.start,
        end=options.end,
        step=options.step or DEFAULT_STEP,
        status_label=options.status_label,
        good=options.good or mapping.good,
        bad=options.bad or mapping.bad,
        matchers=options.matchers,
        group_by=options.group_by or mapping.segments,
        unit=options.histogram_unit or "s",
        secrets_path=secrets_path,
        environ=environ,
        **extra,
    )
    return source.aggregate()
