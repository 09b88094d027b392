"""ClickHouse: `clickhouse://[USER[:PASSWORD]@]HOST[:PORT]/DB` over HTTP (clickhouse-connect).

The same source as every database (`sloview.sources.warehouse`): a table or one checked
SELECT, rows when few, the one aggregation query rendered in ClickHouse's dialect beyond.
Every query runs with `readonly = 2` (the server refuses any write, whatever the SQL) and
`max_execution_time` (the server cancels it past the timeout); a user's SELECT may not carry
SETTINGS of its own nor call table functions that reach outside (file, url, s3, remote ...).
`clickhouses://` uses HTTPS (default port 8443; 8123 otherwise).

`ChdbClient` runs the very same SQL on ClickHouse's engine in-process (chdb): the tests run the
ClickHouse source on it, and `bench/warehouse_bench.py` measures it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pyarrow as pa

from sloview.errors import SloviewError, SourceError
from sloview.ingest.mapping import Mapping as ColumnMapping
from sloview.sources.bounds import TimeLike
from sloview.sources.secrets import Connection, Scrubber, resolve
from sloview.sources.sql import check_select
from sloview.sources.warehouse import ROW_LIMIT, WarehouseSource

SCHEMES = ("clickhouse", "clickhouses")
# Arrow output as sloview reads it: text as strings (not bytes).
ARROW_SETTINGS = {"output_format_arrow_string_as_string": 1}


def query_settings(timeout_s: float) -> dict[str, Any]:
    """The settings every query runs with: read-only, time-limited, text as strings."""
    return {
        "readonly": 2,
        "max_execution_time": max(1, round(timeout_s)),
        **ARROW_SETTINGS,
    }


class ChdbClient:
    """ClickHouse's engine in-process (chdb), answering as the HTTP client does."""

    def __init__(self, session: Any, settings: Mapping[str, int] | None = None) -> None:
        self.session = session
        # Added to every query's: in-process, the engine's memory is the caller's (a
        # benchmark bounds it with max_bytes_before_external_group_by, as a server would).
        self.settings = dict(settings or {})

    def query_arrow(self, sql: str, settings: Mapping[str, Any]) -> pa.Table:
        """The rows of one query, with the settings as a SETTINGS clause."""
        merged = {**settings, **self.settings}
        clause = ", ".join(f"{k} = {int(v)}" for k, v in merged.items())
        result = self.session.query(f"{sql} SETTINGS {clause}", "ArrowTable")
        table: pa.Table = result
        return table

    def close(self) -> None:
        """Nothing to close: the session belongs to the caller."""


class _HttpClient:
    """clickhouse-connect's client behind the `query_arrow(sql, settings)` both share."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def query_arrow(self, sql: str, settings: Mapping[str, Any]) -> pa.Table:
        table: pa.Table = self.client.query_arrow(sql, settings=dict(settings))
        return table

    def close(self) -> None:
        self.client.close()


class ClickHouseSource(WarehouseSource):
    """Requests in a ClickHouse table or query, read-only."""

    dialect = "clickhouse"
    kind_label = "ClickHouse"

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
        client: Any = None,
    ) -> None:
        self.conn: Connection = resolve(
            url, connection=connection, secrets_path=secrets_path, environ=environ
        )
        if not self.conn.url and client is None:
            raise SourceError(
                "no ClickHouse URL", where="clickhouse", hint="clickhouse://HOST:8123/DB"
            )
        self.scrub = Scrubber(self.conn.secrets())
        super().__init__(
            table=table,
            query_text=check_select(query, "clickhouse") if query is not None else None,
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
        self._client = client

    def describe(self) -> str:
        """What is read, with the URL stripped of credentials."""
        what = f"table {self.table}" if self.table else f"query ({len(self.query or '')} chars)"
        where = self.conn.describe() if self.conn.url else "ClickHouse (in-process)"
        return f"{where}, {what}"

    def _connect(self) -> Any:
        if self._client is not None:
            return self._client
        parts = urlsplit(self.conn.url)
        if parts.scheme.lower() not in SCHEMES or not parts.hostname:
            raise SourceError(
                "this is not a ClickHouse URL",
                where=self.conn.describe(),
                hint="write it as clickhouse://USER@HOST:8123/DB (clickhouses:// for HTTPS)",
            )
        try:
            import clickhouse_connect
        except ImportError:
            raise SourceError(
                "the ClickHouse driver is not installed",
                where=self.describe(),
                hint="pip install 'sloview[clickhouse]' (clickhouse-connect)",
            ) from None
        secure = parts.scheme.lower() == "clickhouses"
        try:
            client = clickhouse_connect.get_client(
                host=parts.hostname,
                port=parts.port or (8443 if secure else 8123),
                username=unquote(parts.username or "") or self.conn.username or "default",
                password=unquote(parts.password or "") or self.conn.password or "",
                database=parts.path.strip("/") or "default",
                secure=secure,
                connect_timeout=self.connect_timeout_s,
                send_receive_timeout=self.timeout_s + 10,
                # No session: every query carries its own settings.
                autogenerate_session_id=False,
            )
        except SloviewError:
            raise
        except Exception as exc:
            raise self.error(exc) from None
        self._client = _HttpClient(client)
        return self._client

    @contextmanager
    def session(self) -> Iterator[Any]:
        """The client (each query read-only and time-limited by its settings)."""
        client = self._connect()
        try:
            yield client
        except SloviewError:
            raise
        except Exception as exc:
            raise self.error(exc) from None

    def tables(self) -> list[str]:
        """Tables and views of the URL's database."""
        with self.session() as conn:
            got = self.fetch(conn, "SHOW TABLES")
        return [str(v) for v in got.column(0).to_pylist()]

    def fetch(self, conn: Any, sql: str, binary: bool = False) -> pa.Table:
        """The rows of one query, read-only and time-limited."""
        table: pa.Table = conn.query_arrow(sql, query_settings(self.timeout_s))
        return _plain(table)


def _plain(table: pa.Table) -> pa.Table:
    """Dictionary (LowCardinality) columns as their values; the rest as sent."""
    columns = []
    for column in table.columns:
        if pa.types.is_dictionary(column.type):
            column = column.cast(column.type.value_type)
        columns.append(column)
    return pa.table(dict(zip(table.column_names, columns, strict=True)))
