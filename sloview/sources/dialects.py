"""The SQL dialects sloview aggregates in, as sqlglot dialects with a few functions of ours.

The aggregation query (`sloview.sources.query`) is one sqlglot expression tree; sqlglot renders
it per dialect (types, casts, CASE, FILTER, quoting, literals). Four things have no portable
spelling, so each is a function node here, and each dialect says how it writes it:

- `Log10(x)`: base-10 logarithm (Snowflake writes LOG(10, x));
- `MinuteOf(t)`: the UTC minute number (seconds since 1970 // 60) of a timestamp, in whole
  numbers where the dialect allows (EXTRACT(EPOCH ...), epoch_ms, UNIX_MICROS ...);
- `ParseTime(text)`: ISO text (with or without an offset) as a timestamp, NULL where the
  dialect can tell it is not one;
- `LocalToUtc(t, tz)`: a naive local time in zone `tz` as UTC.

Engines run here: PostgreSQL, SQLite, DuckDB, ClickHouse (chdb in tests) and Spark SQL.
BigQuery, Snowflake and Trino are rendered and golden-tested only (no engine on this machine).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ClassVar, Literal

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect

from sloview.errors import SourceError

DialectName = Literal[
    "postgres", "sqlite", "duckdb", "clickhouse", "spark", "bigquery", "snowflake", "trino"
]
RUN_HERE: tuple[DialectName, ...] = ("postgres", "sqlite", "duckdb", "clickhouse", "spark")
RENDERED_ONLY: tuple[DialectName, ...] = ("bigquery", "snowflake", "trino")
ALL: tuple[DialectName, ...] = (*RUN_HERE, *RENDERED_ONLY)
# SQLAlchemy's dialect names -> ours.
FROM_SQLALCHEMY = {"postgresql": "postgres", "sqlite": "sqlite", "duckdb": "duckdb"}


class Log10(exp.Expression, exp.Func):
    """Base-10 logarithm."""

    arg_types: ClassVar[dict[str, bool]] = {"this": True}


class MinuteOf(exp.Expression, exp.Func):
    """The UTC minute number of a timestamp: floor(seconds since 1970 / 60)."""

    arg_types: ClassVar[dict[str, bool]] = {"this": True}


class ParseTime(exp.Expression, exp.Func):
    """ISO 8601 text as a timestamp (UTC when it has no offset)."""

    arg_types: ClassVar[dict[str, bool]] = {"this": True}


class LocalToUtc(exp.Expression, exp.Func):
    """A naive time in zone `tz` as UTC."""

    arg_types: ClassVar[dict[str, bool]] = {"this": True, "tz": True}


Render = Callable[[Any, Any], str]


def _call(name: str, *args: str) -> str:
    return f"{name}({', '.join(args)})"


def _unsupported(what: str, dialect: str) -> Render:
    def refuse(gen: Any, node: Any) -> str:
        raise SourceError(
            f"{what} cannot be aggregated in {dialect}",
            hint="store times with their offset or in UTC",
        )

    return refuse


def _arg(gen: Any, node: Any, name: str = "this") -> str:
    return str(gen.sql(node, name))


# How each dialect writes our four functions (gen: the dialect's sqlglot generator).
_SPELLINGS: dict[str, dict[type[exp.Expression], Render]] = {
    "postgres": {
        Log10: lambda g, n: _call("LOG10", _arg(g, n)),
        MinuteOf: lambda g, n: f"FLOOR(EXTRACT(EPOCH FROM {_arg(g, n)}) / 60)",
        ParseTime: lambda g, n: f"CAST({_arg(g, n)} AS TIMESTAMPTZ)",
        LocalToUtc: lambda g, n: _call("timezone", _arg(g, n, "tz"), _arg(g, n)),
    },
    "sqlite": {
        Log10: lambda g, n: _call("LOG10", _arg(g, n)),
        # strftime reads ISO text with or without an offset (naive text is UTC); SQLite's
        # times are text, so a parsed time is its epoch second.
        MinuteOf: lambda g, n: f"({_arg(g, n)} / 60)",
        ParseTime: lambda g, n: f"CAST(strftime('%s', {_arg(g, n)}) AS INTEGER)",
        LocalToUtc: _unsupported("naive local times (not UTC)", "SQLite"),
    },
    "duckdb": {
        Log10: lambda g, n: _call("LOG10", _arg(g, n)),
        MinuteOf: lambda g, n: f"(epoch_ms({_arg(g, n)}) // 60000)",
        ParseTime: lambda g, n: f"TRY_CAST({_arg(g, n)} AS TIMESTAMPTZ)",
        # Without the icu extension (not bundled, not downloadable offline) DuckDB knows no
        # time zones.
        LocalToUtc: _unsupported("naive local times (not UTC)", "DuckDB without icu"),
    },
    "clickhouse": {
        Log10: lambda g, n: _call("log10", _arg(g, n)),
        MinuteOf: lambda g, n: _call("intDiv", _call("toUnixTimestamp", _arg(g, n)), "60"),
        ParseTime: lambda g, n: _call("parseDateTime64BestEffortOrNull", _arg(g, n), "6", "'UTC'"),
        LocalToUtc: lambda g, n: _call(
            "toDateTime64", _call("toString", _arg(g, n)), "6", _arg(g, n, "tz")
        ),
    },
    "spark": {
        Log10: lambda g, n: _call("LOG10", _arg(g, n)),
        # The session's time zone is UTC, so a TIMESTAMP_NTZ casts to the same instant.
        MinuteOf: lambda g, n: (
            "FLOOR(" + _call("UNIX_MICROS", f"CAST({_arg(g, n)} AS TIMESTAMP)") + " / 60000000)"
        ),
        ParseTime: lambda g, n: f"TRY_CAST({_arg(g, n)} AS TIMESTAMP)",
        LocalToUtc: lambda g, n: _call("TO_UTC_TIMESTAMP", _arg(g, n), _arg(g, n, "tz")),
    },
    "bigquery": {
        Log10: lambda g, n: _call("LOG10", _arg(g, n)),
        MinuteOf: lambda g, n: f"FLOOR({_call('UNIX_MICROS', _arg(g, n))} / 60000000)",
        ParseTime: lambda g, n: f"SAFE_CAST({_arg(g, n)} AS TIMESTAMP)",
        LocalToUtc: lambda g, n: _call("TIMESTAMP", _arg(g, n), _arg(g, n, "tz")),
    },
    "snowflake": {
        Log10: lambda g, n: _call("LOG", "10", _arg(g, n)),
        MinuteOf: lambda g, n: f"FLOOR(DATE_PART(EPOCH_MICROSECOND, {_arg(g, n)}) / 60000000)",
        ParseTime: lambda g, n: _call("TRY_TO_TIMESTAMP_TZ", _arg(g, n)),
        LocalToUtc: lambda g, n: _call("CONVERT_TIMEZONE", _arg(g, n, "tz"), "'UTC'", _arg(g, n)),
    },
    "trino": {
        Log10: lambda g, n: _call("LOG10", _arg(g, n)),
        MinuteOf: lambda g, n: f"FLOOR({_call('TO_UNIXTIME', _arg(g, n))} / 60)",
        ParseTime: lambda g, n: _call("TRY", _call("from_iso8601_timestamp", _arg(g, n))),
        LocalToUtc: lambda g, n: _call("with_timezone", _arg(g, n), _arg(g, n, "tz")),
    },
}


def sqlglot_name(sqlalchemy_name: str) -> str:
    """The sqlglot dialect for a SQLAlchemy dialect sloview does not aggregate in (rows and
    counts still work there)."""
    name = {"postgresql": "postgres", "mssql": "tsql", "mariadb": "mysql"}.get(
        sqlalchemy_name, sqlalchemy_name
    )
    try:
        Dialect.get_or_raise(name)
    except ValueError:
        return "postgres"
    return name


@functools.cache
def get(name: str) -> Dialect:
    """The sqlglot dialect `name` that also writes sloview's four functions."""
    try:
        base: Any = type(Dialect.get_or_raise(name))
    except ValueError:
        raise SourceError(
            f"{name!r} is not a SQL dialect sloview knows",
            hint=f"one of {', '.join(ALL)}",
        ) from None
    spellings = _SPELLINGS.get(
        name,
        {
            f: _unsupported("this time column", name)
            for f in (Log10, MinuteOf, ParseTime, LocalToUtc)
        },
    )
    generator = type(
        "Generator", (base.Generator,), {"TRANSFORMS": {**base.Generator.TRANSFORMS, **spellings}}
    )
    cls = type(f"Sloview{base.__name__}", (base,), {"Generator": generator})
    dialect: Dialect = cls()
    return dialect


def render(expression: exp.Expr, name: str) -> str:
    """The SQL text of an expression in a dialect (one line, stable)."""
    return expression.sql(dialect=get(name))


def pretty(expression: exp.Expr, name: str) -> str:
    """The SQL text laid out for reading (golden files, `--show-sql`)."""
    return expression.sql(dialect=get(name), pretty=True)
