"""SQL databases through SQLAlchemy 2: a table or one SELECT, read-only, rows or aggregates.

Small results (at most `row_limit` rows, counted with COUNT(*) first) are read as rows and go
through the same conversion as files. Larger ones are grouped in the database (PostgreSQL,
SQLite with math functions) into per-minute `Aggregates`, so only counts travel (from
PostgreSQL: each minute's latency bins, 8 bytes a request, counted in numpy).

Safety: a query must be one SELECT (or WITH ... SELECT); the session is read-only where the
database has such a mode (PostgreSQL `SET TRANSACTION READ ONLY`, SQLite `PRAGMA
query_only`), nothing is ever committed, time ranges are bound parameters, and no password or
token appears in `describe()` or in any error.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from sloview.errors import SloviewError, SourceError
from sloview.ingest import table as t
from sloview.ingest.detect import detect
from sloview.ingest.load import build_table
from sloview.ingest.mapping import Mapping as ColumnMapping
from sloview.ingest.mapping import ResolvedMapping
from sloview.ingest.readers import RawData
from sloview.ingest.status import StatusPolicy
from sloview.ingest.timestamps import parse_timestamps
from sloview.sources import assemble, cube, exact
from sloview.sources.aggregates import Aggregates
from sloview.sources.bounds import TimeLike, time_bound
from sloview.sources.secrets import Connection, Scrubber, resolve

ROW_LIMIT = 500_000
SAMPLE_ROWS = 5000
# PostgreSQL tables are aggregated in block ranges, one per parallel process, when each range
# holds at least this many 8 kB blocks (about 90,000 requests; smaller tables take well under
# a second in one process).
BLOCKS_PER_PART = 1024

# Words that write, lock, change settings or reach outside the database. Matched as whole
# words outside string literals and quoted names; a column that happens to be called "update"
# has to be double-quoted.
FORBIDDEN = frozenset(
    {
        "insert", "update", "delete", "merge", "upsert", "truncate", "drop", "create",
        "alter", "rename", "grant", "revoke", "copy", "call", "do", "execute", "exec",
        "prepare", "deallocate", "vacuum", "analyze", "reindex", "cluster", "refresh", "lock",
        "set", "reset", "comment", "security", "listen", "notify", "unlisten", "attach",
        "detach", "pragma", "load", "install", "import", "export", "into", "checkpoint",
        "discard", "savepoint", "rollback", "commit", "transaction", "handler", "declare",
        "returning", "nextval", "setval", "pg_terminate_backend", "pg_cancel_backend",
        "pg_read_file", "pg_read_binary_file", "pg_ls_dir", "lo_import", "lo_export",
        "dblink", "dblink_exec", "set_config", "pg_reload_conf",
    }
)  # fmt: skip
_TOKEN = re.compile(
    r"""
    (?P<line>--[^\n]*)
  | (?P<block>/\*.*?\*/)
  | (?P<string>[eE]?'(?:[^']|'')*')
  | (?P<dollar>\$(?P<tag>[A-Za-z_]*)\$.*?\$(?P=tag)\$)
  | (?P<ident>"(?:[^"]|"")*"|`[^`]*`|\[[^\]]*\])
  | (?P<word>[A-Za-z_][A-Za-z0-9_$]*)
  | (?P<semi>;)
  | (?P<other>.)
    """,
    re.S | re.X,
)


def check_select(query: str) -> str:
    """The query without comments if it is one read-only SELECT; a SpecError-style refusal
    otherwise."""
    if not isinstance(query, str) or not query.strip():
        raise SourceError("the query is empty", where="query", hint="write one SELECT statement")
    pieces: list[str] = []
    words: list[str] = []
    tail = False
    for m in _TOKEN.finditer(query):
        kind = m.lastgroup if m.lastgroup != "tag" else "dollar"
        if kind in ("line", "block"):
            pieces.append(" ")
            continue
        text = m.group(0)
        if kind == "other" and query.startswith("/*", m.start()):
            raise SourceError("the query has an unterminated comment", where="query")
        if kind == "semi":
            if tail:
                raise SourceError(
                    "the query holds more than one statement",
                    where="query",
                    hint="give one SELECT without `;` between statements",
                )
            tail = True
            continue
        if tail and not text.isspace():
            raise SourceError(
                "the query holds more than one statement",
                where="query",
                hint="give one SELECT without `;` between statements",
            )
        if kind == "word":
            words.append(text.lower())
        elif kind == "other" and text in "'\"$`":
            raise SourceError("the query has an unterminated quote", where="query")
        pieces.append(text)
    cleaned = "".join(pieces).strip()
    if not words or words[0] not in ("select", "with"):
        raise SourceError(
            "only a SELECT (or WITH ... SELECT) query can be read",
            where="query",
            hint="sloview never writes to a database; give a SELECT statement",
        )
    bad = sorted({w for w in words if w in FORBIDDEN})
    if bad:
        raise SourceError(
            f"the query contains {', '.join(w.upper() for w in bad)}, which sloview does not run",
            where="query",
            hint="give a plain SELECT; double-quote a column whose name is one of these words",
        )
    if "select" not in words:
        raise SourceError("the query has no SELECT", where="query")
    return cleaned


class SqlSource:
    """Requests in a SQL table or query, read-only, over SQLAlchemy 2."""

    def __init__(
        self,
        url: str | None = None,
        *,
        table: str | None = None,
        query: str | None = None,
        mapping: ColumnMapping | None = None,
        start: TimeLike | None = None,
        end: TimeLike | None = None,
        connection: str | None = None,
        row_limit: int = ROW_LIMIT,
        group_by: tuple[str, ...] | None = None,
        with_ttft: bool = True,
        timeout_s: float = 120.0,
        connect_timeout_s: float = 10.0,
        secrets_path: Path | None = None,
        environ: Mapping[str, str] | None = None,
        thresholds: tuple[tuple[str, float], ...] = (),
        percentiles: tuple[float, ...] = (),
    ) -> None:
        if (table is None) == (query is None):
            raise SourceError(
                "give either a table or a query", where="sql", hint="table=NAME or query=SELECT"
            )
        self.conn: Connection = resolve(
            url, connection=connection, secrets_path=secrets_path, environ=environ
        )
        if not self.conn.url:
            raise SourceError(
                "no database URL", where="sql", hint="pass url=... or connection=NAME"
            )
        self.scrub = Scrubber(self.conn.secrets())
        self.table = table
        self.query = check_select(query) if query is not None else None
        self.mapping = mapping or ColumnMapping()
        self.start_ns = _ns(start, "start")
        self.end_ns = _ns(end, "end")
        if self.start_ns is not None and self.end_ns is not None and self.end_ns <= self.start_ns:
            raise SourceError("end must be after start", where="sql")
        self.row_limit = row_limit
        self.group_by = group_by
        self.with_ttft = with_ttft
        self.timeout_s = timeout_s
        self.connect_timeout_s = connect_timeout_s
        # Counted exactly in the database when aggregating: (op, ms) thresholds of end-to-end
        # latency, and percentiles (0..100) by percentile_cont where the dialect has it.
        self.thresholds = tuple((op, float(t)) for op, t in thresholds)
        self.percentiles = tuple(float(q) for q in percentiles)
        self._engine: Any = None
        self._detected: tuple[ResolvedMapping, StatusPolicy, pa.Table] | None = None

    # -- description -------------------------------------------------------------------------

    @property
    def dialect_name(self) -> str:
        """The SQLAlchemy dialect (postgresql, sqlite ...)."""
        return self.conn.url.split(":", 1)[0].split("+", 1)[0].lower()

    def describe(self) -> str:
        """What is read, with the URL stripped of credentials."""
        what = f"table {self.table}" if self.table else f"query ({len(self.query or '')} chars)"
        return f"{self.conn.describe()}, {what}"

    def __repr__(self) -> str:
        return f"SqlSource({self.describe()})"

    # -- sessions ----------------------------------------------------------------------------

    def _make_engine(self) -> Any:
        if self._engine is not None:
            return self._engine
        try:
            import sqlalchemy as sa
            from sqlalchemy.pool import NullPool
        except ImportError as exc:  # pragma: no cover - a runtime dependency
            raise SourceError("SQLAlchemy is not installed", hint="pip install sqlalchemy") from exc
        connect_args: dict[str, Any] = {}
        if self.dialect_name.startswith("postgres"):
            connect_args["connect_timeout"] = max(1, int(self.connect_timeout_s))
        try:
            self._engine = sa.create_engine(
                self.conn.url, poolclass=NullPool, connect_args=connect_args
            )
        except Exception as exc:
            raise self._error(exc, "the database URL is not usable") from None
        return self._engine

    @contextmanager
    def session(self) -> Iterator[Any]:
        """A read-only connection inside a transaction that is always rolled back."""
        engine = self._make_engine()
        try:
            with engine.connect() as conn:
                try:
                    self._read_only(conn)
                    yield conn
                finally:
                    conn.rollback()
        except SloviewError:
            raise
        except Exception as exc:
            raise self._error(exc) from None

    def _read_only(self, conn: Any) -> None:
        import sqlalchemy as sa

        name = conn.dialect.name
        if name == "postgresql":
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")
            # Local to this transaction: a time limit, UTC for naive conversions, no JIT (it
            # costs more than it saves on one scan) and room to group in memory.
            conn.execute(
                sa.text(
                    "SELECT set_config('statement_timeout', :ms, true), "
                    "set_config('TimeZone', 'UTC', true), set_config('jit', 'off', true), "
                    "set_config('work_mem', '256MB', true)"
                ),
                {"ms": str(max(1, int(self.timeout_s * 1000)))},
            )
        elif name == "sqlite":
            conn.exec_driver_sql("PRAGMA query_only = ON")

    def _error(self, exc: BaseException, what: str | None = None) -> SourceError:
        """A SourceError naming the source (never its secrets) and what to check."""
        detail = self.scrub(_first_line(exc))
        low = detail.lower()
        where = self.describe()
        if what is not None:
            return SourceError(f"{what} ({detail})", where=where, hint="check the URL and driver")
        if "timeout" in low and ("statement" in low or "canceling" in low):
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
            )
        ):
            return SourceError(
                f"cannot connect to the database ({detail})",
                where=where,
                hint="check the host and port, and that the server is running and reachable",
            )
        if "read-only" in low or "readonly" in low:
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

    # -- reading -------------------------------------------------------------------------------

    def _from(self, conn: Any) -> str:
        if self.table is not None:
            quote = conn.dialect.identifier_preparer.quote
            return ".".join(quote(part) for part in self.table.split("."))
        return f"({self.query}) AS sloview_source"

    def _fetch(
        self, conn: Any, sql: str, params: dict[str, Any] | None = None, binary: bool = False
    ) -> pa.Table:
        import sqlalchemy as sa

        statement = sa.text(sql)
        if binary and conn.dialect.driver == "psycopg":
            # Binary results (same transaction, same bound parameters): 80 MB of packed
            # arrays arrive as bytes instead of hex text that the server encodes and psycopg
            # decodes, 0.5 s less on 10^7 rows.
            compiled = statement.compile(dialect=conn.dialect)
            with conn.connection.driver_connection.cursor(binary=True) as cur:
                cur.execute(compiled.string, params or {})
                names = [column.name for column in cur.description or ()]
                return cube.rows_table(names, cur.fetchall())
        result = conn.execute(statement, params or {})
        names = list(result.keys())
        return cube.rows_table(names, result.fetchall())

    def columns(self) -> list[str]:
        """Column names of the table or query (no rows read)."""
        import sqlalchemy as sa

        with self.session() as conn:
            stmt = sa.select(sa.text("*")).select_from(sa.text(self._from(conn)))
            return list(conn.execute(stmt.limit(0)).keys())

    def detect(self) -> tuple[ResolvedMapping, StatusPolicy, pa.Table]:
        """The mapping detected on the first rows (as for files), the policy and the sample."""
        if self._detected is None:
            import sqlalchemy as sa

            with self.session() as conn:
                stmt = sa.select(sa.text("*")).select_from(sa.text(self._from(conn)))
                result = conn.execute(stmt.limit(SAMPLE_ROWS))
                sample = cube.rows_table(list(result.keys()), result.fetchall())
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
                raise SourceError(exc.message, where=self.describe(), hint=exc.hint) from None
            self._detected = (resolved, policy, sample)
        return self._detected

    def _raw(self, table: pa.Table) -> RawData:
        return RawData(
            name=self.describe(),
            format="sql",
            description=f"SQL ({self.dialect_name})",
            sample=table.slice(0, SAMPLE_ROWS),
            _table=table,
        )

    def _range(
        self, conn: Any, resolved: ResolvedMapping, sample: pa.Table
    ) -> tuple[str, dict[str, Any]]:
        if self.start_ns is None and self.end_ns is None:
            return "", {}
        if resolved.timestamp is None:
            raise SourceError(
                "start/end need a time column",
                where=self.describe(),
                hint="name it in the mapping (timestamp=COL)",
            )
        kind, ns_per_unit = cube.time_kind(sample.column(resolved.timestamp))
        dialect = _dialect(conn)
        params = cube.range_params(
            kind,
            ns_per_unit,
            resolved.tz,
            dialect.name,
            self.start_ns if self.start_ns is not None else -(2**62),
            self.end_ns if self.end_ns is not None else 2**62,
        )
        return f" WHERE {dialect.range_filter(resolved.timestamp, kind)}", params

    def count(self) -> tuple[int, int | None, int | None]:
        """(requests in range, first time ns, last time ns), counted in the database."""
        resolved, _, sample = self.detect()
        with self.session() as conn:
            where, params = self._range(conn, resolved, sample)
            src = self._from(conn)
            if resolved.timestamp is None:
                got = self._fetch(conn, f"SELECT COUNT(*) AS n FROM {src}{where}", params)
                return int(got.column("n")[0].as_py()), None, None
            ts = conn.dialect.identifier_preparer.quote(resolved.timestamp)
            got = self._fetch(
                conn,
                f"SELECT COUNT(*) AS n, MIN({ts}) AS lo, MAX({ts}) AS hi FROM {src}{where}",
                params,
            )
        n = int(got.column("n")[0].as_py())
        if n == 0:
            return 0, None, None
        lo = got.column("lo").combine_chunks()
        bounds = pa.concat_arrays([lo, got.column("hi").combine_chunks().cast(lo.type)])
        parsed = parse_timestamps(bounds, resolved.tz)
        if parsed.missing.any() or parsed.unparsable.any():
            return n, None, None
        first, last = (int(v) for v in parsed.ns)
        return n, first, last

    def count_upto(self, cap: int) -> int:
        """Requests in range, counted in the database up to `cap` (reads at most cap rows)."""
        import sqlalchemy as sa

        resolved, _, sample = self.detect()
        with self.session() as conn:
            where, params = self._range(conn, resolved, sample)
            inner: Any = sa.select(sa.literal_column("1").label("one")).select_from(
                sa.text(f"{self._from(conn)}{where}")
            )
            capped = sa.select(sa.func.count()).select_from(inner.limit(cap).subquery())
            return int(conn.execute(capped, params).scalar_one())

    def load(self) -> t.RequestTable | Aggregates:
        """Rows when there are at most `row_limit` requests, else per-minute aggregates."""
        # COUNT(*) over at most row_limit + 1 rows: enough to choose, and a large table is not
        # scanned twice.
        n = self.count_upto(self.row_limit + 1)
        if n == 0:
            self._refuse_empty()
        if n <= self.row_limit:
            return self.read_table()
        return self.aggregate()

    def _refuse_empty(self) -> None:
        span = ""
        if self.start_ns is not None or self.end_ns is not None:
            span = f" between {_iso(self.start_ns)} and {_iso(self.end_ns)}"
        raise SourceError(
            f"no requests{span}",
            where=self.describe(),
            hint="check start/end (times are UTC) and the table or query",
        )

    def read_table(self) -> t.RequestTable:
        """All requests in range as the canonical request table (the file conversion)."""
        resolved, _, sample = self.detect()
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
        with self.session() as conn:
            quote = conn.dialect.identifier_preparer.quote
            where, params = self._range(conn, resolved, sample)
            columns = ", ".join(quote(c) for c in needed)
            table = self._fetch(conn, f"SELECT {columns} FROM {self._from(conn)}{where}", params)
        if table.num_rows == 0:
            self._refuse_empty()
        try:
            return build_table(self._raw(table), self.mapping)
        except SloviewError as exc:
            raise SourceError(exc.message, where=self.describe(), hint=exc.hint) from None

    def aggregate(self) -> Aggregates:
        """Per-minute aggregates computed in the database (PostgreSQL, SQLite).

        The first and last request times are those of the first and last minute with a
        request (all the engine's time base needs).
        """
        resolved, policy, sample = self.detect()
        if self.group_by is not None:
            # Every segment multiplies the cells that travel: aggregate by the chosen ones only.
            resolved = replace(resolved, segments=tuple(self.group_by))
        if not self.with_ttft:
            resolved = replace(resolved, ttft=None, ttft_unit=None)
        spec = cube.spec_for(resolved, policy, sample)
        with self.session() as conn:
            dialect = _dialect(conn)
            if dialect.name not in ("postgresql", "sqlite"):
                raise SourceError(
                    f"more than {self.row_limit} requests (the most read as rows), and "
                    f"aggregation in {conn.dialect.name} is not supported",
                    where=self.describe(),
                    hint="narrow start/end, or raise row_limit",
                )
            if dialect.name == "sqlite":
                self._check_sqlite(conn, spec)
            where, params = self._range(conn, resolved, sample)
            params = {
                **params,
                "tz": resolved.tz,
                "ns_per_minute_unit": 60 * 10**9 // spec.ns_per_unit,
            }
            src = self._from(conn)
            packed = dialect.name == "postgresql"
            parts = self._block_ranges(conn) if packed else []
            if packed:
                # The planner expects one group per row (it cannot know that requests share
                # minutes) and plans for that: it would sort millions of rows on disk rather
                # than hash the real groups (13 s instead of 7 s on 10^7 rows with segments),
                # spill a hash table past 64k groups (it reserves 8 kB per array_agg, which
                # took 0.6 kB: 157k groups in 88 MB) and run the block ranges one after another
                # rather than in parallel workers, which halves the time on 2 cores.
                conn.exec_driver_sql(
                    "SELECT set_config('enable_sort', 'off', true), "
                    "set_config('hash_mem_multiplier', '4', true), "
                    "set_config('parallel_setup_cost', '0', true), "
                    "set_config('parallel_tuple_cost', '0', true)"
                )

            def fetch(sql: str) -> pa.Table:
                used = {k: v for k, v in params.items() if f":{k}" in sql}
                return self._fetch(conn, sql, used, binary=packed)

            latency: pa.Table | cube.Cells
            ttft: pa.Table | cube.Cells | None = None
            if packed:
                # The chosen thresholds are counted in the same scan (c0 ..).
                params.update(exact.threshold_params(self.thresholds))
                sql = cube.packed_sql(
                    dialect,
                    spec,
                    src,
                    bool(where),
                    ttft=resolved.ttft is not None,
                    parts=parts,
                    thresholds=len(self.thresholds),
                )
                latency, ttft = cube.unpack(fetch(sql))
            else:
                latency = fetch(cube.cube_sql(dialect, spec, src, "latency", bool(where), False))
            if (latency.groups if isinstance(latency, cube.Cells) else latency.num_rows) == 0:
                self._refuse_empty()
            if not packed and resolved.ttft is not None:
                ttft = fetch(cube.cube_sql(dialect, spec, src, "ttft", bool(where), False))
            agg = assemble.cells_to_aggregates(
                latency,
                spec,
                source=self.describe(),
                ttft_cells=ttft,
            )
            if self.thresholds and isinstance(latency, cube.Cells) and latency.lengths is not None:
                agg = exact.with_threshold_counts(agg, latency, spec, self.thresholds)
            elif self.thresholds:
                sql = exact.threshold_sql(dialect, spec, src, bool(where), len(self.thresholds))
                counted = self._fetch(
                    conn, sql, {**params, **exact.threshold_params(self.thresholds)}
                )
                agg = exact.with_threshold_counts(agg, counted, spec, self.thresholds)
            if self.percentiles and dialect.name == "postgresql":
                keys = latency.keys if isinstance(latency, cube.Cells) else latency
                oks = exact.ok_status_values(keys, spec)
                sql = exact.percentile_sql(dialect, spec, src, bool(where), oks)
                used = {k: v for k, v in params.items() if f":{k}" in sql}
                row = self._fetch(
                    conn, sql, {**used, **exact.percentile_params(spec, self.percentiles, oks)}
                )
                values = row.column("p").to_pylist()[0] or []
                found = {
                    ("latency_ms", q): float(v)
                    for q, v in zip(self.percentiles, values, strict=True)
                    if v is not None
                }
                listed = ", ".join(f"p{q:g}" for _, q in found)
                agg = replace(
                    agg,
                    exact_percentiles=found,
                    notes=(
                        *agg.notes,
                        f"Percentiles {listed} of end-to-end latency are exact "
                        "(percentile_cont in the database).",
                    ),
                )
        return agg

    def _block_ranges(self, conn: Any) -> list[str]:
        """Conditions splitting a PostgreSQL table into block ranges, one per process that
        can aggregate (the parallel workers and the leader); none for a query, a view, or a
        partitioned or foreign table.

        PostgreSQL 15 cannot aggregate arrays in parallel workers (array_agg has no combine
        function before version 16), but it runs the branches of a UNION ALL in parallel.
        """
        import sqlalchemy as sa

        if self.table is None:
            return []
        row = conn.execute(
            sa.text(
                "SELECT c.relkind, pg_relation_size(c.oid) / current_setting('block_size')::int, "
                "current_setting('max_parallel_workers_per_gather')::int, "
                "current_setting('parallel_leader_participation') = 'on' "
                "FROM pg_class c WHERE c.oid = to_regclass(:name)"
            ),
            {"name": self._from(conn)},
        ).first()
        if row is None or row[0] not in ("r", "m"):
            return []
        blocks, workers, leader = int(row[1]), int(row[2]), bool(row[3])
        parts = min(workers + leader, blocks // BLOCKS_PER_PART)
        if workers < 1 or parts < 2:
            return []
        edges = [blocks * i // parts for i in range(parts)]
        return [
            f"ctid >= '({lo},0)'::tid" + (f" AND ctid < '({hi},0)'::tid" if hi is not None else "")
            for lo, hi in zip(edges, [*edges[1:], None], strict=True)
        ]

    def _check_sqlite(self, conn: Any, spec: cube.CubeSpec) -> None:
        import sqlalchemy as sa

        try:
            conn.execute(sa.text("SELECT LOG10(10.0), CEIL(1.5)"))
        except Exception:
            raise SourceError(
                "this SQLite has no math functions (LOG10), so it cannot aggregate",
                where=self.describe(),
                hint="narrow start/end so the requests load as rows, or raise row_limit",
            ) from None
        if spec.kind in ("text", "naive") and spec.resolved.tz != "UTC":
            raise SourceError(
                "SQLite cannot convert local times to UTC while aggregating",
                where=self.describe(),
                hint="store UTC times, or narrow start/end so the requests load as rows",
            )


def _dialect(conn: Any) -> cube.Dialect:
    name = conn.dialect.name
    return cube.Dialect(
        name=name if name in ("postgresql", "sqlite", "duckdb") else "postgresql",
        quote=conn.dialect.identifier_preparer.quote,
    )


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    return line[:300]


def _ns(value: TimeLike | None, label: str) -> int | None:
    return time_bound(value, label)


def _iso(ns: int | None) -> str:
    return "the start" if ns is None else pd.Timestamp(ns, tz="UTC").isoformat()
