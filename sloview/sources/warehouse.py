"""What every database source does, whatever the engine: detect, count, rows or aggregates.

A database source (PostgreSQL and SQLite through SQLAlchemy, ClickHouse, Spark Connect) reads a
table or one checked SELECT. Small results (at most `row_limit` requests, counted in the
database first) are read as rows and go through the same conversion as files; larger ones are
grouped in the database by the one aggregation query (`sloview.sources.query`) rendered in the
engine's dialect, so only per-minute counts travel, and `assemble` applies the file rules to
them. Segments come from the same grouped query (one pass): each segment's histograms are cut
from the one result.

Subclasses supply the engine: `dialect`, `session()` (read-only, time-limited), `fetch()`
(one query -> Arrow table) and `error()` (an engine failure -> one clear SourceError without
secrets).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import replace
from typing import Any

import pandas as pd
import pyarrow as pa

from sloview.errors import SloviewError, SourceError
from sloview.ingest import table as t
from sloview.ingest.detect import detect
from sloview.ingest.load import build_table
from sloview.ingest.mapping import OUTPUT_LENGTH, ResolvedMapping
from sloview.ingest.mapping import Mapping as ColumnMapping
from sloview.ingest.readers import RawData
from sloview.ingest.status import StatusPolicy
from sloview.ingest.timestamps import parse_timestamps
from sloview.sources import assemble, cube, exact, query
from sloview.sources.aggregates import Aggregates
from sloview.sources.bounds import TimeLike, time_bound

ROW_LIMIT = 500_000
SAMPLE_ROWS = 5000


class WarehouseSource:
    """Requests in a database table or query: rows when few, per-minute aggregates beyond."""

    dialect: str = "postgres"
    kind_label: str = "SQL"

    def __init__(
        self,
        *,
        table: str | None = None,
        query_text: str | None = None,
        mapping: ColumnMapping | None = None,
        start: TimeLike | None = None,
        end: TimeLike | None = None,
        row_limit: int = ROW_LIMIT,
        group_by: tuple[str, ...] | None = None,
        with_ttft: bool = True,
        timeout_s: float = 120.0,
        thresholds: tuple[tuple[str, float], ...] = (),
        percentiles: tuple[float, ...] = (),
    ) -> None:
        if (table is None) == (query_text is None):
            raise SourceError(
                "give either a table or a query", where="sql", hint="table=NAME or query=SELECT"
            )
        self.table = table
        self.query = query_text
        self.mapping = mapping or ColumnMapping()
        self.start_ns = time_bound(start, "start")
        self.end_ns = time_bound(end, "end")
        if self.start_ns is not None and self.end_ns is not None and self.end_ns <= self.start_ns:
            raise SourceError("end must be after start", where="sql")
        self.row_limit = row_limit
        self.group_by = group_by
        self.with_ttft = with_ttft
        self.timeout_s = timeout_s
        # Counted exactly in the database when aggregating: (op, ms) thresholds of end-to-end
        # latency, and percentiles (0..100) by percentile_cont where the dialect has it.
        self.thresholds = tuple((op, float(v)) for op, v in thresholds)
        self.percentiles = tuple(float(q) for q in percentiles)
        self._detected: tuple[ResolvedMapping, StatusPolicy, pa.Table] | None = None

    # -- what subclasses supply ------------------------------------------------------------

    def describe(self) -> str:
        """What is read (never a secret)."""
        raise NotImplementedError

    def session(self) -> AbstractContextManager[Any]:
        """A read-only, time-limited session (`with source.session() as conn`)."""
        raise NotImplementedError

    def fetch(self, conn: Any, sql: str, binary: bool = False) -> pa.Table:
        """The rows of one query as an Arrow table."""
        raise NotImplementedError

    def tables(self) -> list[str]:
        """Tables and views this account can read."""
        raise NotImplementedError

    def check_aggregation(self, conn: Any, spec: cube.CubeSpec) -> None:
        """Refuse, in one line, what this engine cannot aggregate (nothing by default)."""

    # -- shared ----------------------------------------------------------------------------

    scrub: Any = staticmethod(lambda text: text)

    def error(self, exc: BaseException, what: str | None = None) -> SourceError:
        """A SourceError naming the source (never its secrets) and what to check."""
        detail = self.scrub(first_line(exc))
        low = detail.lower()
        where = self.describe()
        if what is not None:
            return SourceError(f"{what} ({detail})", where=where, hint="check the URL and driver")
        if (
            "timeout" in low and ("statement" in low or "canceling" in low or "exceeded" in low)
        ) or ("operation_canceled" in low or "interrupted" in low):
            return SourceError(
                f"the query took longer than {self.timeout_s:g} s and was cancelled",
                where=where,
                hint="narrow start/end, index the time column, or raise timeout_s",
            )
        if "timeout expired" in low or "timed out" in low:
            return SourceError(
                "the database did not answer in time",
                where=where,
                hint="check the host, port and network; raise connect_timeout_s if it is slow",
            )
        if any(w in low for w in ("authentication failed", "password", "access denied")) or (
            "role" in low and "does not exist" in low
        ):
            return SourceError(
                "the database refused the login",
                where=where,
                hint="check the user name and password (URL, .streamlit/secrets.toml "
                "[connections.NAME] or SLOVIEW_NAME_URL)",
            )
        if "handshake" in low or "wrong_version_number" in low or "ssl" in low:
            return SourceError(
                "cannot connect to the database: the TLS handshake failed",
                where=where,
                hint="a token (or use_ssl=true) makes the client use TLS: check that the server "
                "serves TLS on that port, or leave the token out for a plain server",
            )
        if any(
            w in low
            for w in (
                "connection refused",
                "could not connect",
                "could not translate host",
                "name or service not known",
                "no route to host",
                "unable to open database",
                "connection failed",
                "failed to establish",
                "failed to connect",
                "unavailable",
            )
        ):
            return SourceError(
                f"cannot connect to the database ({detail})",
                where=where,
                hint="check the host and port, and that the server is running and reachable",
            )
        if "read-only" in low or "readonly" in low or "read only" in low:
            return SourceError(
                "the query tried to write; sloview only reads",
                where=where,
                hint="give a plain SELECT",
            )
        if "permission denied" in low:
            return SourceError(
                f"the query was refused ({detail})",
                where=where,
                hint="grant the user SELECT on the table",
            )
        return SourceError(
            f"the query failed ({detail})",
            where=where,
            hint="check the table and column names, and the query's syntax for this database",
        )

    @property
    def bounds(self) -> query.Bounds:
        """The time range asked for."""
        return query.Bounds(self.start_ns, self.end_ns)

    def source(self) -> query.Source:
        """The FROM item: the table, or the checked query."""
        if self.table is not None:
            return query.Source(table=self.table)
        return query.Source.of_query(self.query or "")

    def run(self, conn: Any, expression: Any, binary: bool = False) -> pa.Table:
        """Render an expression in this dialect and fetch its rows."""
        src = self.source()
        return self.fetch(conn, query.render(expression, self.dialect, src), binary)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.describe()})"

    def columns(self) -> list[str]:
        """Column names of the table or query (no rows read)."""
        with self.session() as conn:
            got = self.run(conn, query.rows(self.dialect, None, None, self.source(), limit=0))
        return list(got.column_names)

    def detect(self) -> tuple[ResolvedMapping, StatusPolicy, pa.Table]:
        """The mapping detected on the first rows (as for files), the policy and the sample."""
        if self._detected is None:
            with self.session() as conn:
                sample = self.run(
                    conn, query.rows(self.dialect, None, None, self.source(), limit=SAMPLE_ROWS)
                )
            if sample.num_rows == 0:
                raise SourceError(
                    "the table or query returned no rows",
                    where=self.describe(),
                    hint="check the table name, or that the query selects requests",
                )
            raw = self._raw(sample)
            try:
                resolved, policy = detect(raw, self.mapping)
            except SloviewError as exc:
                raise exc.relocated(self.describe(), SourceError) from None
            self._detected = (resolved, policy, sample)
        return self._detected

    def _raw(self, table: pa.Table) -> RawData:
        return RawData(
            name=self.describe(),
            format="sql",
            description=f"{self.kind_label} ({self.dialect})",
            sample=table.slice(0, SAMPLE_ROWS),
            _table=table,
        )

    def _range_spec(self) -> cube.CubeSpec | None:
        """The spec whose time column the range filters (None when no range is asked)."""
        if not self.bounds.given:
            return None
        resolved, policy, sample = self.detect()
        if resolved.timestamp is None:
            raise SourceError(
                "start/end need a time column",
                where=self.describe(),
                hint="name it in the mapping (timestamp=COL)",
            )
        return cube.spec_for(resolved, policy, sample)

    def count(self) -> tuple[int, int | None, int | None]:
        """(requests in range, first time ns, last time ns), counted in the database."""
        resolved, _, _ = self.detect()
        spec = self._range_spec()
        with self.session() as conn:
            got = self.run(
                conn,
                query.count(self.dialect, spec, resolved.timestamp, self.source(), self.bounds),
            )
        n = int(got.column("n")[0].as_py())
        if resolved.timestamp is None or n == 0:
            return n, None, None
        lo = got.column("lo").combine_chunks()
        bounds = pa.concat_arrays([lo, got.column("hi").combine_chunks().cast(lo.type)])
        parsed = parse_timestamps(bounds, resolved.tz)
        if parsed.missing.any() or parsed.unparsable.any():
            return n, None, None
        first, last = (int(v) for v in parsed.ns)
        return n, first, last

    def count_upto(self, cap: int) -> int:
        """Requests in range, counted in the database up to `cap` (reads at most cap rows)."""
        self.detect()
        spec = self._range_spec()
        with self.session() as conn:
            got = self.run(
                conn, query.capped_count(self.dialect, spec, self.source(), cap, self.bounds)
            )
        return int(got.column("n")[0].as_py())

    def load(self) -> t.RequestTable | Aggregates:
        """Rows when there are at most `row_limit` requests, else per-minute aggregates."""
        # COUNT(*) over at most row_limit + 1 rows: enough to choose, and a large table is not
        # scanned twice.
        n = self.count_upto(self.row_limit + 1)
        if n == 0:
            self.refuse_empty()
        if n <= self.row_limit:
            return self.read_table()
        return self.aggregate()

    def refuse_empty(self) -> None:
        """No requests in range: one message naming the range."""
        span = ""
        if self.bounds.given:
            span = f" between {_iso(self.start_ns)} and {_iso(self.end_ns)}"
        raise SourceError(
            f"no requests{span}",
            where=self.describe(),
            hint="check start/end (times are UTC) and the table or query",
        )

    def read_table(self) -> t.RequestTable:
        """All requests in range as the canonical request table (the file conversion)."""
        resolved, _, _ = self.detect()
        needed = [
            c
            for c in dict.fromkeys(
                [
                    resolved.timestamp,
                    resolved.latency,
                    resolved.status,
                    resolved.ok_column,
                    resolved.ttft,
                    resolved.output_tokens,
                    *resolved.segments,
                    *(c for c, _ in resolved.where),
                ]
            )
            if c is not None
        ]
        spec = self._range_spec()
        with self.session() as conn:
            table = self.run(
                conn, query.rows(self.dialect, spec, needed, self.source(), self.bounds)
            )
        if table.num_rows == 0:
            self.refuse_empty()
        try:
            return build_table(self._raw(table), self.mapping)
        except SloviewError as exc:
            raise exc.relocated(self.describe(), SourceError) from None

    def spec(self) -> cube.CubeSpec:
        """What the aggregation groups by (segments as chosen, TTFT unless turned off)."""
        resolved, policy, sample = self.detect()
        if self.group_by is not None:
            resolved = with_segments(resolved, self.group_by, sample.column_names, self.describe())
        if not self.with_ttft:
            resolved = replace(resolved, ttft=None, ttft_unit=None)
        return cube.spec_for(resolved, policy, sample)

    def aggregate(self) -> Aggregates:
        """Per-minute aggregates computed in the database, segments included, in one query
        (a second for the TTFT histogram where the engine has no packed form)."""
        spec = self.spec()
        with self.session() as conn:
            self.check_aggregation(conn, spec)
            latency, ttft = self.grouped(conn, spec)
            if (latency.groups if isinstance(latency, cube.Cells) else latency.num_rows) == 0:
                self.refuse_empty()
            agg = assemble.cells_to_aggregates(
                latency, spec, source=self.describe(), ttft_cells=ttft
            )
            if self.thresholds:
                agg = exact.with_threshold_counts(agg, latency, spec, self.thresholds)
            if self.percentiles:
                agg = self.exact_percentiles(conn, spec, latency, agg)
        return agg

    def grouped(
        self, conn: Any, spec: cube.CubeSpec
    ) -> tuple[pa.Table | cube.Cells, pa.Table | cube.Cells | None]:
        """The latency (with threshold counts) and TTFT groups, by the one aggregation query."""
        return grouped_cells(
            lambda expression: self.run(conn, expression),
            self.dialect,
            spec,
            self.source(),
            self.bounds,
            self.thresholds,
        )

    def exact_percentiles(
        self, conn: Any, spec: cube.CubeSpec, latency: pa.Table | cube.Cells, agg: Aggregates
    ) -> Aggregates:
        """Percentiles computed exactly by the engine (where it has percentile_cont)."""
        return agg


def with_segments(
    resolved: ResolvedMapping, chosen: tuple[str, ...], columns: list[str], where: str
) -> ResolvedMapping:
    """The mapping aggregated by the chosen segments only (every segment multiplies the cells
    that travel); a column the source does not have is a typo, not a derived band."""
    for column in chosen:
        if column not in columns and column != OUTPUT_LENGTH:
            raise SourceError(
                f"the segment column {column!r} is not in the source",
                where=where,
                hint=f"columns are: {', '.join(columns)}",
            )
    return replace(resolved, segments=tuple(chosen))


def grouped_cells(
    run: Callable[[Any], pa.Table],
    dialect: str,
    spec: cube.CubeSpec,
    source: query.Source,
    bounds: query.Bounds,
    thresholds: tuple[tuple[str, float], ...],
) -> tuple[pa.Table | cube.Cells, pa.Table | cube.Cells | None]:
    """The latency (with threshold counts) and TTFT groups by the one aggregation query: bins
    as lists where the dialect aggregates lists, else one row per bin."""

    def one(metric: str, counted: tuple[tuple[str, float], ...]) -> pa.Table | cube.Cells:
        if dialect in query.LISTS:
            expression = query.listed(
                dialect, spec, source, bounds=bounds, metric=metric, thresholds=counted
            )
            return cube.from_lists(run(expression), query.CELL_BASE, query.CELL_OFFSET)
        return run(
            query.aggregation(
                dialect, spec, source, bounds=bounds, metric=metric, thresholds=counted
            )
        )

    latency = one("latency", thresholds)
    ttft = one("ttft", ()) if spec.resolved.ttft is not None else None
    return latency, ttft


def _iso(ns: int | None) -> str:
    return "the start" if ns is None else pd.Timestamp(ns, tz="UTC").isoformat()


def first_line(exc: BaseException) -> str:
    """The first line of an engine's error (its driver's own error when wrapped)."""
    orig = getattr(exc, "orig", None)
    for cause in (exc, exc.__cause__, exc.__context__):
        details, code = getattr(cause, "details", None), getattr(cause, "code", None)
        if orig is None and callable(details) and callable(code):
            # A gRPC error (Spark Connect, maybe wrapped): its text opens with a line that
            # says nothing.
            return f"{code()}: {details()}"[:300]
    text = str(orig if orig is not None else exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    return line[:300]
