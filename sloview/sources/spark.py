"""Spark (and Databricks) over Spark Connect: `sc://HOST:PORT` with a table or one SELECT.

The same source as every database (`sloview.sources.warehouse`): the one aggregation query is
rendered in Spark SQL and runs on the cluster, so only per-minute counts cross the network.
The session's time zone is UTC (Spark reads naive timestamps in it). A query longer than the
timeout is interrupted on the server (`interruptAll`). Spark Connect has no read-only session:
a user's SELECT is checked (one SELECT, no writes, no CACHE/ADD/USE, no reflect or
java_method), and the account should hold SELECT grants only (Unity Catalog, Hive ACLs).

The URL may carry Spark Connect's parameters after `/;` (`sc://host:443/;use_ssl=true;token=
...`); a token may also come from `[connections.NAME] token` or `SLOVIEW_NAME_TOKEN`. Neither
ever appears in a description or a message.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pyarrow as pa

from sloview.errors import SloviewError, SourceError
from sloview.ingest.mapping import Mapping as ColumnMapping
from sloview.sources.bounds import TimeLike
from sloview.sources.secrets import Connection, Scrubber, resolve
from sloview.sources.sql import check_select
from sloview.sources.warehouse import ROW_LIMIT, WarehouseSource

SCHEME = "sc"
DEFAULT_PORT = 15002


def split_url(url: str) -> tuple[str, int, dict[str, str]]:
    """(host, port, parameters) of `sc://HOST:PORT/;key=value;...`."""
    parts = urlsplit(url)
    if parts.scheme.lower() != SCHEME or not parts.hostname:
        raise SourceError(
            "this is not a Spark Connect URL",
            where=shown_url(url),
            hint="write it as sc://HOST:15002 (Databricks: sc://HOST:443/;use_ssl=true)",
        )
    params: dict[str, str] = {}
    for pair in parts.path.lstrip("/").split(";"):
        key, sep, value = pair.partition("=")
        if sep:
            params[key.strip()] = value.strip()
    try:
        port = parts.port or DEFAULT_PORT
    except ValueError:
        raise SourceError(
            "the Spark Connect URL has no valid port", where=shown_url(url), hint="sc://HOST:15002"
        ) from None
    return parts.hostname, port, params


def shown_url(url: str) -> str:
    """`sc://HOST:PORT` alone: parameters (a token among them) and user info are dropped."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{host}"


class SparkSource(WarehouseSource):
    """Requests in a Spark table or query, aggregated on the cluster."""

    dialect = "spark"
    kind_label = "Spark"

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
        timeout_s: float = 300.0,
        connect_timeout_s: float = 10.0,
        secrets_path: Path | None = None,
        environ: Mapping[str, str] | None = None,
        thresholds: tuple[tuple[str, float], ...] = (),
        percentiles: tuple[float, ...] = (),
    ) -> None:
        self.conn: Connection = resolve(
            url, connection=connection, secrets_path=secrets_path, environ=environ
        )
        self.host, self.port, self.params = split_url(self.conn.url)
        secrets = [*self.conn.secrets(), *(v for k, v in self.params.items() if k == "token")]
        self.scrub = Scrubber(secrets)
        super().__init__(
            table=table,
            query_text=check_select(query, "spark") if query is not None else None,
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
        self._spark: Any = None

    def describe(self) -> str:
        """What is read (the URL without its parameters or token)."""
        what = f"table {self.table}" if self.table else f"query ({len(self.query or '')} chars)"
        return f"{SCHEME}://{self.host}:{self.port}, {what}"

    def _remote_url(self) -> str:
        params = dict(self.params)
        if self.conn.token and "token" not in params:
            params["token"] = self.conn.token
        tail = "".join(f";{k}={v}" for k, v in params.items())
        return (
            f"{SCHEME}://{self.host}:{self.port}/" + tail
            if tail
            else (f"{SCHEME}://{self.host}:{self.port}")
        )

    def _connect(self) -> Any:
        if self._spark is not None:
            return self._spark
        # The client retries an unreachable server for minutes: one plain TCP connection first
        # answers in connect_timeout_s.
        try:
            with socket.create_connection((self.host, self.port), timeout=self.connect_timeout_s):
                pass
        except OSError as exc:
            raise self.error(exc) from None
        try:
            with warnings.catch_warnings():
                # pyspark warns about newer pandas versions than it lists; sloview hands it
                # no pandas objects.
                warnings.simplefilter("ignore", FutureWarning)
                from pyspark.sql import SparkSession

                _quiet_query_loggers()
        except ImportError:
            raise SourceError(
                "the Spark Connect client is not installed",
                where=self.describe(),
                hint="pip install 'sloview[spark]' (pyspark[connect])",
            ) from None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)
                spark = SparkSession.builder.remote(self._remote_url()).create()
            _first_call(spark, lambda: spark.conf.set("spark.sql.session.timeZone", "UTC"))
        except SloviewError:
            raise
        except Exception as exc:
            raise self.error(exc) from None
        self._spark = spark
        return spark

    @contextmanager
    def session(self) -> Iterator[Any]:
        """The Spark Connect session (UTC)."""
        spark = self._connect()
        try:
            yield spark
        except SloviewError:
            raise
        except Exception as exc:
            raise self.error(exc) from None

    def tables(self) -> list[str]:
        """Tables and views of the session's current database."""
        with self.session() as conn:
            got = self.fetch(conn, "SHOW TABLES")
        names = got.column("tableName").to_pylist()
        spaces = got.column("namespace").to_pylist()
        return [f"{ns}.{name}" if ns else str(name) for ns, name in zip(spaces, names, strict=True)]

    def fetch(self, conn: Any, sql: str, binary: bool = False) -> pa.Table:
        """The rows of one query, interrupted on the server past the timeout."""
        done: dict[str, Any] = {}

        def run() -> None:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", FutureWarning)
                    done["table"] = conn.sql(sql).toArrow()
            except BaseException as exc:  # handed to the caller's thread
                done["error"] = exc

        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        worker.join(self.timeout_s)
        if worker.is_alive():
            conn.interruptAll()
            worker.join(30)
            raise SourceError(
                f"the query took longer than {self.timeout_s:g} s and was cancelled",
                where=self.describe(),
                hint="narrow start/end, or raise timeout_s",
            )
        if "error" in done:
            raise done["error"]
        table: pa.Table = done["table"]
        return table

    def close(self) -> None:
        """End the Spark Connect session."""
        if self._spark is not None:
            self._spark.stop()
            self._spark = None


def _quiet_query_loggers() -> None:
    """Silence the loggers pyspark writes a failed query to: sloview reports the failure in
    one line itself, and their JSON line on stderr would make two and quote the query."""
    from pyspark.logger import PySparkLogger

    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        PySparkLogger.getLogger(name).disabled = True


def _first_call(spark: Any, call: Any) -> None:
    """Make the session's first call with few retries: the client's own policy retries a
    server that cannot answer (a TLS client, which a token implies, on a plain port) for ten
    minutes, and the first call is where that shows. The policy is restored after a success,
    for the long queries that follow."""
    from pyspark.sql.connect.client.retries import DefaultPolicy

    client = spark.client
    kept = client.get_retry_policies()
    client.set_retry_policies([DefaultPolicy(max_retries=3, initial_backoff=200, max_backoff=2000)])
    try:
        with warnings.catch_warnings():
            # Its RETRIES_EXCEEDED warning would be a second line beside sloview's error.
            warnings.simplefilter("ignore", UserWarning)
            call()
    except BaseException:
        # Closed now: else the client's exit handler releases the session with the full
        # policy, and the process waits ten minutes to end.
        with contextlib.suppress(Exception):
            client.close()
        raise
    client.set_retry_policies(kept)
