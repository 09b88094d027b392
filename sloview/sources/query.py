"""The per-minute aggregation, written once as a sqlglot expression tree and rendered per dialect.

Every database source asks the same question: per minute, status value, latency validity,
latency bin and segment (and `--where`) column, how many requests, and how many of them are
valid and under each chosen threshold. The rows of the answer are few (minutes x bins), and
`sloview.sources.assemble` applies the file rules to them. Here that question is an
expression tree (`aggregation`), from which sqlglot writes PostgreSQL, SQLite, DuckDB,
ClickHouse, Spark SQL, BigQuery, Snowflake and Trino (`sloview.sources.dialects` adds the four
functions without a portable spelling). PostgreSQL also gets `packed`, the same question with
each group's bins as one int4 array (5 s instead of 15 s at 10^7 rows; see its docstring).

Values (time bounds, thresholds, a time zone) are written into the tree as literals by
sqlglot, which quotes and types them for the dialect: no value is ever pasted into SQL text.
A user's own SELECT (already checked read-only) or a file reader such as DuckDB's
`read_parquet('...')` is the only text taken as is: it stands in the FROM clause
(`Source.raw`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlglot import exp

from sloview.errors import SourceError
from sloview.sources import dialects
from sloview.sources.aggregates import LOG_BINS_PER_DECADE, LOG_EPSILON, LOG_FLOOR_BIN, LOG_FLOOR_MS
from sloview.sources.cube import MISSING, NEGATIVE, NO_BIN, UNPARSABLE, VALID, CubeSpec, TimeKind
from sloview.units import TO_MS

# Stands for a raw FROM text (a user's query, a file reader) until rendering.
_RAW = "sloview_raw_source_"
# Latencies at or beyond this are unparsable (as infinities and NaN are).
HUGE = 1e300


@dataclass(frozen=True)
class Source:
    """What the aggregation reads: a table name (`schema.table`) or raw FROM text."""

    table: str | None = None
    raw: str | None = None

    def node(self) -> exp.Expr:
        """The FROM item."""
        if self.table is not None:
            parts = [exp.to_identifier(p, quoted=True) for p in self.table.split(".")]
            return exp.Table(
                this=parts[-1],
                db=parts[-2] if len(parts) > 1 else None,
                catalog=parts[-3] if len(parts) > 2 else None,
            )
        return exp.to_table(_RAW)

    def fill(self, sql: str) -> str:
        """Rendered SQL with the raw FROM text in place."""
        if self.raw is None:
            return sql
        return sql.replace(_RAW, f"({self.raw}) AS sloview_source", 1)

    @classmethod
    def of_query(cls, query: str) -> Source:
        """A user's (checked) SELECT as the source."""
        return cls(raw=query)

    @classmethod
    def of_text(cls, text: str) -> Source:
        """A table function such as `read_parquet('x.parquet')` as the source (no alias)."""
        return _Function(raw=text)


class _Function(Source):
    def fill(self, sql: str) -> str:
        return sql.replace(_RAW, str(self.raw), 1)


@dataclass(frozen=True)
class Bounds:
    """A time range [start_ns, end_ns) in UTC ns (either may be open)."""

    start_ns: int | None = None
    end_ns: int | None = None

    @property
    def given(self) -> bool:
        """Whether any bound is set."""
        return self.start_ns is not None or self.end_ns is not None


def col(name: str) -> exp.Column:
    """A quoted column reference."""
    return exp.column(name, quoted=True)


def _num(value: float) -> exp.Expr:
    return exp.convert(value)


def _case(*whens: tuple[exp.Expr, exp.Expr], default: exp.Expr) -> exp.Case:
    case = exp.Case()
    for condition, value in whens:
        case = case.when(condition, value)
    return case.else_(default)


def _int(value: int) -> exp.Expr:
    return exp.Literal.number(value)


# -- per row ---------------------------------------------------------------------------------


def to_ms(dialect: str, column: str, factor: float) -> exp.Expr:
    """A duration column in ms as a double (a factor of 1 is the bare cast: PostgreSQL repeats
    the expression in every test of the CASEs)."""
    value: exp.Expr = col(column)
    if dialect == "duckdb":
        # DuckDB's CSV reader may leave junk in a number column as text.
        value = exp.TryCast(this=value, to=exp.DataType.build("DOUBLE"))
    elif dialect != "sqlite":
        value = exp.cast(value, "DOUBLE")
    return value if factor == 1.0 else exp.paren(exp.Mul(this=value, expression=_num(factor)))


def _valid(v: exp.Expr) -> exp.Expr:
    # NaN compares greater than every number (PostgreSQL, DuckDB, Spark) or false with all
    # (ClickHouse), so it fails the upper bound; infinities fail one bound or the other.
    return exp.and_(v.copy() >= _num(0), v.copy() < _num(HUGE))


def _negative(v: exp.Expr) -> exp.Expr:
    return exp.and_(v.copy() < _num(0), v.copy() > _num(-HUGE))


def validity(v: exp.Expr) -> exp.Expr:
    """VALID, MISSING, UNPARSABLE (NaN, infinite) or NEGATIVE, as the file conversion sees it."""
    return _case(
        (v.copy().is_(exp.null()), _int(MISSING)),
        (_valid(v), _int(VALID)),
        (_negative(v), _int(NEGATIVE)),
        default=_int(UNPARSABLE),
    )


def log_bin(v: exp.Expr) -> exp.Expr:
    """`aggregates.log_bin_index` of a value known to be finite and >= 0."""
    scaled = exp.Mul(this=dialects.Log10(this=v.copy()), expression=_int(LOG_BINS_PER_DECADE))
    ceil = exp.Ceil(this=exp.Sub(this=scaled, expression=_num(LOG_EPSILON)))
    return _case(
        (v.copy() <= _num(LOG_FLOOR_MS), _int(LOG_FLOOR_BIN)),
        default=exp.cast(ceil, "INT"),
    )


def bin_or_none(v: exp.Expr) -> exp.Expr:
    """The log bin of a valid value, else NO_BIN."""
    return _case((_valid(v), log_bin(v)), default=_int(NO_BIN))


def bin_or_flag(v: exp.Expr) -> exp.Expr:
    """The log bin of a valid value, else NO_BIN + its validity: one key instead of two."""
    return _case(
        (_valid(v), log_bin(v)),
        (v.copy().is_(exp.null()), _int(NO_BIN + MISSING)),
        (_negative(v), _int(NO_BIN + NEGATIVE)),
        default=_int(NO_BIN + UNPARSABLE),
    )


def under(v: exp.Expr, op: str, threshold_ms: float) -> exp.Expr:
    """A valid value under a threshold (`lt`) or at or under it (`lte`)."""
    compare = v.copy() < _num(threshold_ms) if op == "lt" else v.copy() <= _num(threshold_ms)
    return exp.and_(_valid(v), compare)


def instant(dialect: str, spec: CubeSpec) -> exp.Expr:
    """The time column as a UTC timestamp (not for epochs)."""
    r = spec.resolved
    column = col(r.timestamp or "")
    if spec.kind == "text":
        return dialects.ParseTime(this=column)
    if spec.kind == "naive" and (r.tz != "UTC" or dialect == "postgres"):
        return dialects.LocalToUtc(this=column, tz=exp.Literal.string(r.tz))
    if dialect == "duckdb":
        # Casts bring nanosecond and second timestamps to the microseconds epoch_ms takes.
        return exp.cast(column, "TIMESTAMPTZ" if spec.kind == "tz" else "TIMESTAMP")
    return column


def minute(dialect: str, spec: CubeSpec) -> exp.Expr:
    """The UTC minute number (BIGINT) of a request."""
    if spec.kind == "epoch":
        per_minute = 60 * 10**9 // spec.ns_per_unit
        value = exp.Floor(
            this=exp.Div(this=col(spec.resolved.timestamp or ""), expression=_num(per_minute))
        )
        return exp.cast(value, "BIGINT")
    if dialect == "sqlite" and spec.kind != "text":
        raise SourceError("SQLite stores times as text; this time column cannot be aggregated")
    return exp.cast(dialects.MinuteOf(this=instant(dialect, spec)), "BIGINT")


def status(spec: CubeSpec) -> exp.Expr:
    """The column the status policy reads (a success flag wins over the status), or NULL."""
    name = spec.policy.column if spec.policy.kind != "none" else None
    return col(name) if name else exp.null()


def groups(spec: CubeSpec) -> list[exp.Expr]:
    """The segment and filter columns as text, aliased g0, g1 ..."""
    return [exp.alias_(exp.cast(col(g), "TEXT"), f"g{i}") for i, g in enumerate(spec.group_columns)]


def latency(dialect: str, spec: CubeSpec) -> exp.Expr:
    """End-to-end latency in ms."""
    r = spec.resolved
    return to_ms(dialect, r.latency, TO_MS[r.latency_unit])


def ttft(dialect: str, spec: CubeSpec) -> exp.Expr:
    """Time to first token in ms."""
    r = spec.resolved
    assert r.ttft is not None
    return to_ms(dialect, r.ttft, TO_MS[r.ttft_unit or r.latency_unit])


# -- time ranges -----------------------------------------------------------------------------


def _time_literal(dialect: str, kind: TimeKind, ns: int, tz: str, end: bool) -> exp.Expr:
    import pandas as pd

    if kind == "text" and dialect == "sqlite":
        # ParseTime is the epoch second there.
        return _int(-(-ns // 10**9) if end else ns // 10**9)
    stamp = pd.Timestamp(ns, tz="UTC")
    if kind == "naive":
        stamp = stamp.tz_convert(tz).tz_localize(None)
    value: dt.datetime = stamp.to_pydatetime(warn=False)
    return exp.convert(value)


def range_condition(dialect: str, spec: CubeSpec, bounds: Bounds) -> exp.Expr | None:
    """`time >= start AND time < end` in the column's own terms (None without bounds)."""
    if not bounds.given:
        return None
    r = spec.resolved
    column: exp.Expr = col(r.timestamp or "")
    if spec.kind == "text":
        column = dialects.ParseTime(this=column)
    conditions: list[exp.Expr] = []
    for ns, end in ((bounds.start_ns, False), (bounds.end_ns, True)):
        if ns is None:
            continue  # an open side is no condition
        value: exp.Expr
        if spec.kind == "epoch":
            value = _int(ns) if spec.ns_per_unit == 1 else _num(ns / spec.ns_per_unit)
        else:
            value = _time_literal(dialect, spec.kind, ns, r.tz, end)
        conditions.append(column.copy() < value if end else column.copy() >= value)
    return exp.and_(*conditions) if len(conditions) > 1 else conditions[0]


def _where(select: exp.Select, *conditions: exp.Expr | None) -> exp.Select:
    used = [c for c in conditions if c is not None]
    if not used:
        return select
    return select.where(exp.and_(*(exp.paren(c) for c in used)) if len(used) > 1 else used[0])


# -- the queries -----------------------------------------------------------------------------

Threshold = tuple[str, float]


def aggregation(
    dialect: str,
    spec: CubeSpec,
    source: Source,
    *,
    bounds: Bounds = Bounds(),
    metric: str = "latency",
    thresholds: Sequence[Threshold] = (),
) -> exp.Select:
    """Per (minute, status, validity, bin, groups): requests `n`, and for latency the valid
    ones under each threshold `c0 ..`. Columns m, s, f, [tf], k, g0 .., n, c0 .."""
    lat = latency(dialect, spec)
    row = [
        exp.alias_(minute(dialect, spec), "b"),
        exp.alias_(status(spec), "s"),
        exp.alias_(validity(lat), "f"),
    ]
    keys = ["s", "f"]
    if metric == "latency":
        value = lat
    else:
        value = ttft(dialect, spec)
        row.append(exp.alias_(validity(value), "tf"))
        keys.append("tf")
    row.append(exp.alias_(bin_or_none(value), "k"))
    keys.append("k")
    if thresholds:
        row.append(exp.alias_(lat.copy(), "v"))
    row.extend(groups(spec))
    keys.extend(f"g{i}" for i in range(len(spec.group_columns)))
    inner = _where(exp.select(*row).from_(source.node()), range_condition(dialect, spec, bounds))
    counts = [
        exp.alias_(
            # BIGINT: DuckDB's SUM would be a 128-bit integer, twice the bytes to carry.
            exp.cast(
                exp.Sum(this=_case((under(exp.column("v"), op, t), _int(1)), default=_int(0))),
                "BIGINT",
            ),
            f"c{i}",
        )
        for i, (op, t) in enumerate(thresholds)
    ]
    return (
        exp.select(
            exp.alias_(exp.column("b"), "m"),
            *(exp.column(k) for k in keys),
            exp.alias_(exp.cast(exp.Count(this=exp.Star()), "BIGINT"), "n"),
            *counts,
        )
        .from_(inner.subquery("r"))
        .group_by(exp.column("b"), *(exp.column(k) for k in keys))
    )


# One list entry per (bin, requests) cell: requests * CELL_BASE + bin + CELL_OFFSET, or
# requests * CELL_BASE for a value without a bin (one BIGINT keeps bin and count together,
# whatever order an engine aggregates two lists in).
CELL_BASE = 2**17
CELL_OFFSET = 1000
# Dialects that aggregate lists (SQLite has none; PostgreSQL sends `packed` arrays instead).
LISTS = frozenset({"duckdb", "clickhouse", "spark", "bigquery", "snowflake", "trino"})


def listed(
    dialect: str,
    spec: CubeSpec,
    source: Source,
    *,
    bounds: Bounds = Bounds(),
    metric: str = "latency",
    thresholds: Sequence[Threshold] = (),
) -> exp.Select:
    """`aggregation` with each group's bins as one list: one row per (minute, status, validity,
    groups) with `n`, `c0 ..` and `cells` (see CELL_BASE), for `cube.from_lists`.

    A day at 10^8 requests a month has ~450,000 (minute, bin) cells; as rows of their own they
    cost ~34 bytes each to send and hold, as list entries 8.
    """
    inner = aggregation(dialect, spec, source, bounds=bounds, metric=metric, thresholds=thresholds)
    keys = ["m", "s", "f", *(["tf"] if metric != "latency" else [])]
    keys += [f"g{i}" for i in range(len(spec.group_columns))]
    # Qualified: ClickHouse would read a bare `n` as the alias of SUM(n) in this SELECT.
    n = exp.column("n", table="cells")
    k = exp.column("k", table="cells")
    encoded = _case(
        (k.eq(_int(NO_BIN)), exp.Mul(this=n.copy(), expression=_int(CELL_BASE))),
        default=exp.Add(
            this=exp.Mul(this=n.copy(), expression=_int(CELL_BASE)),
            expression=exp.Add(this=k.copy(), expression=_int(CELL_OFFSET)),
        ),
    )
    sums = [
        exp.alias_(exp.cast(exp.Sum(this=exp.column(c, table="cells")), "BIGINT"), c)
        for c in ["n", *(f"c{i}" for i in range(len(thresholds)))]
    ]
    return (
        exp.select(
            *(exp.column(k) for k in keys),
            *sums,
            exp.alias_(exp.ArrayAgg(this=exp.cast(encoded, "BIGINT")), "cells"),
        )
        .from_(inner.subquery("cells"))
        .group_by(*(exp.column(k) for k in keys))
    )


def packed(
    spec: CubeSpec,
    source: Source,
    *,
    bounds: Bounds = Bounds(),
    with_ttft: bool = False,
    parts: Sequence[exp.Expr] = (),
    thresholds: Sequence[Threshold] = (),
) -> exp.Expr:
    """PostgreSQL: one row per minute, status and segment (columns m, s, g0 ..) with the
    `bin_or_flag` of each of its requests' latencies (and TTFTs) in one int4 array, `latency`
    (and `ttft`), for `cube.unpack`; the valid latencies under each threshold as c0 ..

    Nearly every (minute, bin) holds one or two requests, so grouping by the bin as well
    hardly reduces 10^7 rows (6.4 million groups, 15 s in PostgreSQL); grouped by minute and
    key only (75,000 groups) with the bins counted in numpy, the database needs under 4 s on
    2 cores, and a TTFT histogram costs a second array rather than a second scan. It groups
    on `date_bin` (integer arithmetic on its timestamps, three times faster than extracting
    epochs row by row) and converts only the grouped keys.

    `parts`: conditions splitting the rows between the branches of a UNION ALL, which
    PostgreSQL runs in parallel workers.
    """
    lat = latency("postgres", spec)
    outer: exp.Expr
    if spec.kind == "epoch":
        key = minute("postgres", spec)
        outer = exp.column("b")
    else:
        key = exp.Anonymous(
            this="date_bin",
            expressions=[
                exp.Literal.string("1 minute"),
                instant("postgres", spec),
                exp.cast(exp.Literal.string("1970-01-01 00:00:00+00"), "TIMESTAMPTZ"),
            ],
        )
        outer = exp.cast(dialects.MinuteOf(this=exp.column("b")), "BIGINT")
    row = [exp.alias_(key, "b"), exp.alias_(status(spec), "s"), exp.alias_(bin_or_flag(lat), "k")]
    arrays: list[exp.Expr] = [
        exp.alias_(
            exp.Anonymous(this="array_send", expressions=[exp.ArrayAgg(this=exp.column("k"))]),
            "latency",
        )
    ]
    if thresholds:
        row.append(exp.alias_(lat.copy(), "v"))
        arrays.extend(
            exp.alias_(
                exp.Filter(
                    this=exp.Count(this=exp.Star()),
                    expression=exp.Where(this=under(exp.column("v"), op, t)),
                ),
                f"c{i}",
            )
            for i, (op, t) in enumerate(thresholds)
        )
    if with_ttft:
        row.append(exp.alias_(bin_or_flag(ttft("postgres", spec)), "tk"))
        arrays.append(
            exp.alias_(
                exp.Anonymous(this="array_send", expressions=[exp.ArrayAgg(this=exp.column("tk"))]),
                "ttft",
            )
        )
    row.extend(groups(spec))
    keys = ["s", *(f"g{i}" for i in range(len(spec.group_columns)))]
    ranged = range_condition("postgres", spec, bounds)
    branches: list[exp.Select] = []
    chosen: list[exp.Expr | None] = [*parts] or [None]
    for part in chosen:
        inner = _where(exp.select(*row).from_(source.node()), ranged, part)
        branches.append(
            exp.select(exp.alias_(outer.copy(), "m"), *(exp.column(k) for k in keys), *arrays)
            .from_(inner.subquery("r"))
            .group_by(exp.column("b"), *(exp.column(k) for k in keys))
        )
    result: exp.Expr = branches[0]
    for branch in branches[1:]:
        result = exp.union(result, branch, distinct=False)
    return result


def block_range(lo: int, hi: int | None) -> exp.Expr:
    """PostgreSQL: rows in heap blocks [lo, hi) (ctid comparisons)."""

    def tid(block: int) -> exp.Expr:
        return exp.cast(exp.Literal.string(f"({block},0)"), exp.DataType.build("tid", udt=True))

    ctid = exp.column("ctid")
    condition: exp.Expr = ctid >= tid(lo)
    if hi is not None:
        condition = exp.and_(condition, ctid.copy() < tid(hi))
    return condition


def count(
    dialect: str,
    spec: CubeSpec | None,
    timestamp: str | None,
    source: Source,
    bounds: Bounds = Bounds(),
) -> exp.Select:
    """COUNT(*) AS n, and with a time column MIN/MAX of it AS lo, hi."""
    columns: list[exp.Expr] = [exp.alias_(exp.Count(this=exp.Star()), "n")]
    if timestamp is not None:
        columns += [
            exp.alias_(exp.Min(this=col(timestamp)), "lo"),
            exp.alias_(exp.Max(this=col(timestamp)), "hi"),
        ]
    condition = range_condition(dialect, spec, bounds) if spec is not None else None
    return _where(exp.select(*columns).from_(source.node()), condition)


def capped_count(
    dialect: str, spec: CubeSpec | None, source: Source, cap: int, bounds: Bounds = Bounds()
) -> exp.Select:
    """How many rows, counting at most `cap` (a large table is not scanned to choose)."""
    condition = range_condition(dialect, spec, bounds) if spec is not None else None
    inner = _where(exp.select(exp.alias_(_int(1), "one")).from_(source.node()), condition)
    return exp.select(exp.alias_(exp.Count(this=exp.Star()), "n")).from_(
        inner.limit(cap).subquery("capped")
    )


def rows(
    dialect: str,
    spec: CubeSpec | None,
    columns: Sequence[str] | None,
    source: Source,
    bounds: Bounds = Bounds(),
    limit: int | None = None,
) -> exp.Select:
    """The named columns (all: None) of the rows in range."""
    chosen = [col(c) for c in columns] if columns is not None else [exp.Star()]
    condition = range_condition(dialect, spec, bounds) if spec is not None else None
    select = _where(exp.select(*chosen).from_(source.node()), condition)
    return select.limit(limit) if limit is not None else select


def percentiles(
    spec: CubeSpec,
    source: Source,
    qs: Sequence[float],
    oks: tuple[list[Any], bool] | None,
    bounds: Bounds = Bounds(),
) -> exp.Select:
    """PostgreSQL: `percentile_cont` (the linear definition) of the latency of successful
    requests with a valid latency, for percentiles `qs` (0..100), as one array `p`."""
    r = spec.resolved
    lat = latency("postgres", spec)
    conditions: list[exp.Expr | None] = [
        col(r.timestamp or "").is_(exp.null()).not_(),
        _valid(lat),
        range_condition("postgres", spec, bounds),
    ]
    if oks is not None:
        column = col(spec.policy.column or "")
        either: exp.Expr = column.isin(*[exp.convert(v) for v in oks[0]]) if oks[0] else exp.false()
        if oks[1]:
            either = exp.or_(either, column.copy().is_(exp.null()))
        conditions.append(either)
    for column_name, value in r.where:
        text = exp.Lower(this=exp.cast(col(column_name), "TEXT"))
        conditions.append(text.eq(exp.Literal.string(value.strip().lower())))
    array = exp.cast(
        exp.Array(expressions=[_num(q / 100.0) for q in qs]), exp.DataType.build("DOUBLE[]")
    )
    within = exp.WithinGroup(
        this=exp.PercentileCont(this=array),
        expression=exp.Order(expressions=[exp.Ordered(this=lat)]),
    )
    return _where(exp.select(exp.alias_(within, "p")).from_(source.node()), *conditions)


def render(expression: exp.Expr, dialect: str, source: Source, pretty: bool = False) -> str:
    """The SQL text to send (or to show) for a dialect."""
    text = dialects.pretty(expression, dialect) if pretty else dialects.render(expression, dialect)
    return source.fill(text)
