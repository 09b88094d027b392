"""SQL databases through SQLAlchemy 2 (PostgreSQL, SQLite): a table or one SELECT, read-only.

The logic (rows when few, aggregates beyond, the one aggregation query) is
`sloview.sources.warehouse`; here is what SQLAlchemy engines add: the read-only session
(PostgreSQL `SET TRANSACTION READ ONLY` with a statement timeout, SQLite `PRAGMA query_only`
with a progress-handler deadline; nothing is ever committed), the SELECT check every engine
shares (`check_select`), PostgreSQL's packed form of the aggregation in parallel block
ranges, and its exact `percentile_cont`. No password or token appears in `describe()` or in
any error.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pyarrow as pa

from sloview.errors import SloviewError, SourceError
from sloview.ingest.mapping import Mapping as ColumnMapping
from sloview.sources import cube, dialects, exact, query
from sloview.sources.aggregates import Aggregates
from sloview.sources.bounds import TimeLike
from sloview.sources.secrets import Connection, Scrubber, resolve
from sloview.sources.warehouse import ROW_LIMIT, SAMPLE_ROWS, WarehouseSource

__all__ = ["ROW_LIMIT", "SAMPLE_ROWS", "SqlSource", "check_select"]

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
# Per dialect: words refused as well (ClickHouse's SETTINGS would lift read-only mode, its
# system tables show other users' queries; Spark's CACHE and friends change the session), and
# functions refused when called (they read files, URLs or other servers, or run code).
DIALECT_WORDS = {
    "clickhouse": frozenset({"settings", "system", "optimize", "kill", "watch"}),
    "spark": frozenset({"cache", "uncache", "msck", "add", "use"}),
}
FORBIDDEN_CALLS = {
    "clickhouse": frozenset(
        {
            "file", "url", "urlcluster", "s3", "s3cluster", "gcs", "azureblobstorage", "hdfs",
            "remote", "remotesecure", "cluster", "clusterallreplicas", "executable", "input",
            "jdbc", "odbc", "mysql", "postgresql", "mongodb", "redis", "sqlite", "dictionary",
        }
    ),
    "spark": frozenset({"reflect", "java_method", "try_reflect"}),
}  # fmt: skip
# Dialects whose string literals take backslash escapes ('it\'s').
BACKSLASH_STRINGS = frozenset({"clickhouse", "spark", "bigquery", "mysql"})
_STRING = r"(?P<string>[eE]?'(?:[^']|'')*')"
_BACKSLASH_STRING = r"(?P<string>'(?:[^'\\]|\\.|'')*')"
_TOKEN_TEMPLATE = r"""
    (?P<line>--[^\n]*)
  | (?P<block>/\*.*?\*/)
  | STRING
  | (?P<dollar>\$(?P<tag>[A-Za-z_]*)\$.*?\$(?P=tag)\$)
  | (?P<ident>"(?:[^"]|"")*"|`[^`]*`|\[[^\]]*\])
  | (?P<word>[A-Za-z_][A-Za-z0-9_$]*)
  | (?P<semi>;)
  | (?P<other>.)
    """
_TOKEN = re.compile(_TOKEN_TEMPLATE.replace("STRING", _STRING), re.S | re.X)
_TOKEN_BACKSLASH = re.compile(_TOKEN_TEMPLATE.replace("STRING", _BACKSLASH_STRING), re.S | re.X)


def check_select(query: str, dialect: str = "postgres") -> str:
    """The query without comments if it is one read-only SELECT in `dialect`; a refusal
    naming what is not allowed otherwise."""
    if not isinstance(query, str) or not query.strip():
        raise SourceError("the query is empty", where="query", hint="write one SELECT statement")
    pieces: list[str] = []
    words: list[str] = []
    tail = False
    calls: set[str] = set()
    callable_words = FORBIDDEN_CALLS.get(dialect, frozenset())
    last_word = ""
    tokens = _TOKEN_BACKSLASH if dialect in BACKSLASH_STRINGS else _TOKEN
    for m in tokens.finditer(query):
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
        if kind == "other" and text == "(" and last_word in callable_words:
            calls.add(last_word)
        if kind == "word":
            words.append(text.lower())
        elif kind == "other" and text in "'\"$`":
            raise SourceError("the query has an unterminated quote", where="query")
        if kind == "word" or not text.isspace():
            last_word = text.lower() if kind == "word" else ""
        pieces.append(text)
    cleaned = "".join(pieces).strip()
    if not words or words[0] not in ("select", "with"):
        raise SourceError(
            "only a SELECT (or WITH ... SELECT) query can be read",
            where="query",
            hint="sloview never writes to a database; give a SELECT statement",
        )
    forbidden = FORBIDDEN | DIALECT_WORDS.get(dialect, frozenset())
    bad = sorted({w for w in words if w in forbidden} | calls)
    if bad:
        raise SourceError(
            f"the query contains {', '.join(w.upper() for w in bad)}, which sloview does not run",
            where="query",
            hint="give a plain SELECT; double-quote a column whose name is one of these words",
        )
    if "select" not in words:
        raise SourceError("the query has no SELECT", where="query")
    return cleaned


class SqlSource(WarehouseSource):
    """Requests in a SQL table or query, read-only, over SQLAlchemy 2."""

    kind_label = "SQL"

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
        super().__init__(
            table=table,
            query_text=check_select(query) if query is not None else None,
            mapping=mapping,
            start=start,
            end=end,
            row_limit=row_limit,
            group_by=group_by,
            with_ttft=with_ttft,
            timeout_s=timeout_s,
            thresholds=thresholds,
            percentiles=percentiles,
        )
        self.connect_timeout_s = connect_timeout_s
        self._engine: Any = None

    # -- description -------------------------------------------------------------------------

    @property
    def dialect_name(self) -> str:
        """The SQLAlchemy dialect (postgresql, sqlite ...)."""
        return self.conn.url.split(":", 1)[0].split("+", 1)[0].lower()

    @property
    def dialect(self) -> str:  # type: ignore[override]
        """The sqlglot dialect the queries are written in."""
        name = self.dialect_name
        return dialects.FROM_SQLALCHEMY.get(name, dialects.sqlglot_name(name))

    def describe(self) -> str:
        """What is read, with the URL stripped of credentials."""
        what = f"table {self.table}" if self.table else f"query ({len(self.query or '')} chars)"
        return f"{self.conn.describe()}, {what}"

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
            raise self.error(exc, "the database URL is not usable") from None
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
            raise self.error(exc) from None

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

    # -- reading -------------------------------------------------------------------------------

    def fetch(self, conn: Any, sql: str, binary: bool = False) -> pa.Table:
        """The rows of one query (binary results from psycopg when asked)."""
        import sqlalchemy as sa

        # Values are literals written by sqlglot; only a colon that SQLAlchemy would read as
        # a parameter needs escaping.
        statement = sa.text(_escape_binds(sql))
        if binary and conn.dialect.driver == "psycopg":
            # Binary results (same transaction): 80 MB of packed arrays arrive as bytes
            # instead of hex text that the server encodes and psycopg decodes, 0.5 s less on
            # 10^7 rows.
            compiled = statement.compile(dialect=conn.dialect)
            with conn.connection.driver_connection.cursor(binary=True) as cur:
                cur.execute(compiled.string, {})
                names = [column.name for column in cur.description or ()]
                # Converted a slice at a time: as Python tuples all at once, the 430,000
                # groups of 10^7 requests with segments lifted sloview's peak by 0.25 GiB.
                parts = []
                while rows := cur.fetchmany(FETCH_ROWS):
                    parts.append(cube.rows_table(names, rows))
                if not parts:
                    return cube.rows_table(names, [])
                return pa.concat_tables(parts, promote_options="permissive")
        with _sqlite_deadline(conn, self.timeout_s):
            result = conn.execute(statement)
            names = list(result.keys())
            return cube.rows_table(names, result.fetchall())

    def tables(self) -> list[str]:
        """Tables and views, in a read-only session."""
        import sqlalchemy as sa

        with self.session() as conn:
            inspector = sa.inspect(conn)
            return [*inspector.get_table_names(), *inspector.get_view_names()]

    def check_aggregation(self, conn: Any, spec: cube.CubeSpec) -> None:
        """Only dialects whose aggregation is tested run it; SQLite needs math functions."""
        if self.dialect not in ("postgres", "sqlite"):
            raise SourceError(
                f"more than {self.row_limit} requests (the most read as rows), and "
                f"aggregation in {conn.dialect.name} is not supported",
                where=self.describe(),
                hint="narrow start/end, or raise row_limit",
            )
        if self.dialect == "sqlite":
            self._check_sqlite(conn, spec)

    def grouped(
        self, conn: Any, spec: cube.CubeSpec
    ) -> tuple[pa.Table | cube.Cells, pa.Table | cube.Cells | None]:
        """PostgreSQL: the packed form (bins as arrays, in parallel block ranges)."""
        if self.dialect != "postgres":
            return super().grouped(conn, spec)
        parts = self._block_ranges(conn)
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
        expression = query.packed(
            spec,
            self.source(),
            bounds=self.bounds,
            with_ttft=spec.resolved.ttft is not None,
            parts=parts,
            thresholds=self.thresholds,
        )
        return cube.unpack(self.run(conn, expression, binary=True))

    def exact_percentiles(
        self, conn: Any, spec: cube.CubeSpec, latency: pa.Table | cube.Cells, agg: Aggregates
    ) -> Aggregates:
        """PostgreSQL: the chosen percentiles by percentile_cont (the linear definition)."""
        if self.dialect != "postgres":
            return agg
        keys = latency.keys if isinstance(latency, cube.Cells) else latency
        oks = exact.ok_status_values(keys, spec)
        row = self.run(
            conn, query.percentiles(spec, self.source(), self.percentiles, oks, self.bounds)
        )
        values = row.column("p").to_pylist()[0] or []
        found = {
            ("latency_ms", q): float(v)
            for q, v in zip(self.percentiles, values, strict=True)
            if v is not None
        }
        listed = ", ".join(f"p{q:g}" for _, q in found)
        return replace(
            agg,
            exact_percentiles=found,
            notes=(
                *agg.notes,
                f"Percentiles {listed} of end-to-end latency are exact "
                "(percentile_cont in the database).",
            ),
        )

    def _block_ranges(self, conn: Any) -> list[Any]:
        """Conditions splitting a PostgreSQL table into block ranges, one per process that
        can aggregate (the parallel workers and the leader); none for a query, a view, or a
        partitioned or foreign table.

        PostgreSQL 15 cannot aggregate arrays in parallel workers (array_agg has no combine
        function before version 16), but it runs the branches of a UNION ALL in parallel.
        """
        import sqlalchemy as sa

        if self.table is None:
            return []
        name = query.render(self.source().node(), "postgres", self.source())
        row = conn.execute(
            sa.text(
                "SELECT c.relkind, pg_relation_size(c.oid) / current_setting('block_size')::int, "
                "current_setting('max_parallel_workers_per_gather')::int, "
                "current_setting('parallel_leader_participation') = 'on' "
                "FROM pg_class c WHERE c.oid = to_regclass(:name)"
            ),
            {"name": name},
        ).first()
        if row is None or row[0] not in ("r", "m"):
            return []
        blocks, workers, leader = int(row[1]), int(row[2]), bool(row[3])
        parts = min(workers + leader, blocks // BLOCKS_PER_PART)
        if workers < 1 or parts < 2:
            return []
        edges = [blocks * i // parts for i in range(parts)]
        return [query.block_range(lo, hi) for lo, hi in zip(edges, [*edges[1:], None], strict=True)]

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


# Rows of a binary (packed) result turned into Arrow at a time.
FETCH_ROWS = 20_000


@contextmanager
def _sqlite_deadline(conn: Any, timeout_s: float) -> Iterator[None]:
    """SQLite has no statement timeout: a progress handler interrupts a statement that runs
    past `timeout_s` (sqlite3 then raises "interrupted", reported as a timeout)."""
    if conn.dialect.name != "sqlite":
        yield
        return
    raw = conn.connection.driver_connection
    deadline = time.monotonic() + timeout_s
    raw.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
    try:
        yield
    finally:
        raw.set_progress_handler(None, 0)


# A colon SQLAlchemy's text() would take for a bind parameter (`:name` not after a word
# character or another colon).
_BIND = re.compile(r"(?<![:\w\\]):(?=\w)")


def _escape_binds(sql: str) -> str:
    return _BIND.sub(r"\\:", sql)
