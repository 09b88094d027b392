"""One test module, five engines: PostgreSQL, SQLite, DuckDB, ClickHouse (chdb) and Spark Connect.

Each engine holds the same real trace (the Alibaba GenAI CSV the PostgreSQL tests COPY) and
runs the one aggregation query rendered in its dialect. Every engine must give PostgreSQL's
aggregates cell for cell (totals, successes, latency bins, exclusions, segments), the same
exact threshold counts, the same time range, and refuse the same hostile queries in one clear
line. ClickHouse runs in-process (chdb, the real engine); Spark is a real Spark Connect server
started from the pyspark distribution (tests/servers.py; under CI=true a missing Java or
pyspark fails).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from sloview.cli import main
from sloview.errors import SourceError
from sloview.ingest.mapping import Mapping
from sloview.ingest.table import RequestTable, times_ns
from sloview.sources.aggregates import Aggregates
from sloview.sources.clickhouse import ChdbClient, ClickHouseSource
from sloview.sources.duckdb_files import DuckDbFileSource
from sloview.sources.open import SourceOptions, open_source
from sloview.sources.spark import SparkSource
from sloview.sources.sql import SqlSource
from tests import servers
from tests.apptest import clean, metric, navigation_like_the_server, run_app

TABLE = servers.ALIBABA_TABLE
ENGINES = ("postgres", "sqlite", "duckdb", "clickhouse", "spark")
# Engines reading a table or query of their own (DuckDB here reads the CSV file itself).
DATABASES = ("postgres", "sqlite", "clickhouse", "spark")
CH_COLUMNS = (
    "gmt_create Nullable(DateTime64(6, 'UTC')), predict_type Nullable(String), "
    "predict_status Nullable(String), exec_time_seconds Nullable(Float64), "
    "groupId Nullable(String), prompt_length Nullable(Float64), "
    "negative_prompt_length Nullable(Float64), num_images_per_prompt Nullable(Float64), "
    "num_inference_steps Nullable(Float64), checkpoint_model_version_id Nullable(String), "
    "num_lora Nullable(Int32)"
)
SPARK_SCHEMA = (
    "gmt_create TIMESTAMP_NTZ, predict_type STRING, predict_status STRING, "
    "exec_time_seconds DOUBLE, groupId STRING, prompt_length DOUBLE, "
    "negative_prompt_length DOUBLE, num_images_per_prompt DOUBLE, num_inference_steps DOUBLE, "
    "checkpoint_model_version_id STRING, num_lora INT"
)
SPARK_TABLE = f"global_temp.{TABLE}"


# -- the trace in each engine ----------------------------------------------------------------


@pytest.fixture(scope="module")
def chdb_client(csv_path: Path) -> Iterator[ChdbClient]:
    """The trace in a ClickHouse MergeTree table, in-process."""
    from chdb import session

    db = session.Session()
    db.query("CREATE DATABASE IF NOT EXISTS sloview ENGINE = Atomic")
    db.query(f"CREATE TABLE sloview.{TABLE} ({CH_COLUMNS}) ENGINE = MergeTree ORDER BY tuple()")
    db.query(f"INSERT INTO sloview.{TABLE} SELECT * FROM file('{csv_path}', 'CSVWithNames')")
    yield ChdbClient(db)
    db.close()


@pytest.fixture(scope="module")
def spark_url(spark: servers.SparkConnect, csv_path: Path) -> str:
    """The trace as a global temporary view of the Spark Connect server."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        from pyspark.sql import SparkSession

        session = SparkSession.builder.remote(spark.url).create()
        session.conf.set("spark.sql.session.timeZone", "UTC")
        frame = session.read.csv(str(csv_path), header=True, schema=SPARK_SCHEMA)
        frame.createOrReplaceGlobalTempView(TABLE)
    return spark.url


@pytest.fixture(scope="module")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory, csv_path: Path) -> str:
    """The trace in a SQLite file (times as ISO text, as SQLite stores them)."""
    import sqlite3

    path = tmp_path_factory.mktemp("sqlite") / "trace.db"
    with sqlite3.connect(path) as con:
        pd.read_csv(csv_path).to_sql(TABLE, con, index=False)
    return f"sqlite:///{path}"


Make = Callable[..., Any]


@pytest.fixture
def make(request: pytest.FixtureRequest, csv_path: Path) -> Make:
    """A source over the trace in the engine of the test's `engine` parameter."""
    engine = request.node.callspec.params["engine"]

    def build(**kwargs: Any) -> Any:
        if "query" not in kwargs and engine != "duckdb":
            kwargs.setdefault("table", _table(engine))
        if engine == "postgres":
            pg: servers.Postgres = request.getfixturevalue("pg")
            return SqlSource(pg.url(), **kwargs)
        if engine == "sqlite":
            return SqlSource(request.getfixturevalue("sqlite_url"), **kwargs)
        if engine == "clickhouse":
            return ClickHouseSource(client=request.getfixturevalue("chdb_client"), **kwargs)
        if engine == "spark":
            return SparkSource(request.getfixturevalue("spark_url"), **kwargs)
        kwargs.pop("row_limit", None)
        return DuckDbFileSource(csv_path, **kwargs)

    return build


def _table(engine: str) -> str:
    return {"clickhouse": f"sloview.{TABLE}", "spark": SPARK_TABLE}.get(engine, TABLE)


def aggregate(make: Make, **kwargs: Any) -> Aggregates:
    """The trace aggregated in the engine (row_limit=0 forces aggregation)."""
    source = make(row_limit=0, **kwargs)
    agg = source.aggregate() if isinstance(source, DuckDbFileSource) else source.load()
    assert isinstance(agg, Aggregates)
    return agg


@pytest.fixture(scope="module")
def reference(pg: servers.Postgres) -> Aggregates:
    """PostgreSQL's aggregates of the trace, with two thresholds counted exactly."""
    agg = SqlSource(pg.url(), table=TABLE, row_limit=0, thresholds=THRESHOLDS).load()
    assert isinstance(agg, Aggregates)
    return agg


THRESHOLDS = (("lte", 35000.0), ("lt", 23000.0))


def assert_same(got: Aggregates, expected: Aggregates) -> None:
    """The same figures: minutes, totals, successes, bins, exclusions, segments, thresholds."""
    assert (got.origin_ns, got.n) == (expected.origin_ns, expected.n)
    # First and last request: within their minute (some engines report whole minutes).
    assert abs(got.first_ns - expected.first_ns) < 60 * 10**9
    assert abs(got.last_ns - expected.last_ns) < 60 * 10**9
    assert np.array_equal(got.total, expected.total)
    assert np.array_equal(got.ok, expected.ok)
    assert np.array_equal(got.edges_ms, expected.edges_ms)
    assert (got.counts != expected.counts).nnz == 0
    assert got.dropped == expected.dropped
    assert got.group_by == expected.group_by
    assert sorted(got.groups) == sorted(expected.groups)
    for key, group in got.groups.items():
        other = expected.groups[key]
        assert np.array_equal(group.total, other.total)
        assert np.array_equal(group.ok, other.ok)
        assert (group.counts != other.counts).nnz == 0
        for name, counts in other.threshold_counts.items():
            assert np.array_equal(group.threshold_counts[name], counts)
    for name, counts in expected.threshold_counts.items():
        assert np.array_equal(got.threshold_counts[name], counts)


# -- the same figures everywhere ----------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_every_engine_gives_postgres_aggregates(
    engine: str, make: Make, reference: Aggregates, file_table: RequestTable
) -> None:
    agg = aggregate(make, thresholds=THRESHOLDS)
    assert_same(agg, reference)
    # ... which are the file's: requests, errors, and exact counts at the two thresholds.
    frame = file_table.frame
    assert (agg.requests, agg.errors) == (26_790, 398)
    ok, lat = frame["ok"].to_numpy(), frame["latency_ms"].to_numpy()
    for op, threshold in THRESHOLDS:
        under = lat < threshold if op == "lt" else lat <= threshold
        counted = agg.threshold_counts[("latency_ms", op, threshold)]
        assert int(counted.sum()) == int((ok & under).sum())


@pytest.mark.parametrize("engine", ENGINES)
def test_every_engine_bounds_time_alike(engine: str, make: Make, file_table: RequestTable) -> None:
    start, end = pd.Timestamp("2024-11-20", tz="UTC"), pd.Timestamp("2024-11-27", tz="UTC")
    agg = aggregate(make, start=start, end=end)
    ts = times_ns(file_table.frame)
    inside = (ts >= start.value) & (ts < end.value)
    assert agg.requests == int(inside.sum())
    assert agg.first_ns >= start.value
    assert agg.last_ns < end.value


@pytest.mark.parametrize("engine", DATABASES)
def test_a_query_and_rows_as_in_postgres(engine: str, make: Make, file_table: RequestTable) -> None:
    quote = "`" if engine == "spark" else '"'
    query = (
        "-- only text-to-image requests\n"
        f"SELECT gmt_create, exec_time_seconds, predict_status FROM {_table(engine)} "
        f"WHERE {quote}predict_type{quote} = 'TXT_2_IMG'"
    )
    expected = int((file_table.frame["predict_type"] == "TXT_2_IMG").sum())
    agg = aggregate(make, query=query, mapping=Mapping(latency_unit="s"))
    rows = make(query=query, mapping=Mapping(latency_unit="s")).load()
    assert isinstance(rows, RequestTable)
    assert rows.rows == expected
    assert agg.requests == expected


@pytest.mark.parametrize("engine", ENGINES)
def test_segments_come_from_the_one_grouped_query(
    engine: str, make: Make, pg: servers.Postgres
) -> None:
    chosen = ("predict_type", "checkpoint_model_version_id")
    agg = aggregate(make, group_by=chosen)
    expected = SqlSource(pg.url(), table=TABLE, row_limit=0, group_by=chosen).load()
    assert isinstance(expected, Aggregates)
    assert len(agg.groups) > 3
    assert_same(agg, expected)
    assert sum(g.requests for g in agg) == agg.requests == 26_790


# -- bad input: one clear line ---------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_a_missing_mapped_column_is_one_line(engine: str, make: Make) -> None:
    with pytest.raises(SourceError) as err:
        aggregate(make, mapping=Mapping(latency="no_such_column"))
    line = err.value.one_line()
    assert "no_such_column" in line
    assert "\n" not in line
    with pytest.raises(SourceError, match="segment column 'nope'"):
        aggregate(make, group_by=("nope",))


HOSTILE = (
    f"DELETE FROM {TABLE}",
    f"SELECT * FROM {TABLE}; DROP TABLE {TABLE}",
    f"INSERT INTO {TABLE} SELECT * FROM {TABLE}",
    f"WITH x AS (SELECT 1) UPDATE {TABLE} SET predict_type = 'x'",
    f"SELECT * FROM {TABLE} -- a comment\n; TRUNCATE {TABLE}",
    f"CREATE TABLE copied AS SELECT * FROM {TABLE}",
)
HOSTILE_BY_ENGINE = {
    "postgres": ("SELECT pg_read_file('/etc/passwd') AS x", "SELECT set_config('a.b', '1', false)"),
    "sqlite": ("PRAGMA query_only = OFF", "ATTACH DATABASE '/tmp/x.db' AS x"),
    "clickhouse": (
        "SELECT * FROM file('/etc/passwd', 'LineAsString')",
        f"SELECT * FROM sloview.{TABLE} SETTINGS readonly = 0",
        "SELECT query FROM system.processes",
        "SELECT * FROM url('http://127.0.0.1:1/x', 'CSV')",
        "SELECT * FROM remote('127.0.0.1', system.one)",
    ),
    "spark": (
        "SELECT reflect('java.lang.Runtime', 'getRuntime') AS r",
        f"CACHE TABLE {SPARK_TABLE}",
        "ADD JAR /tmp/x.jar",
        "SELECT java_method('java.lang.System', 'exit', 1)",
        "SELECT 'it\\'s' AS a; DROP TABLE x",
    ),
}


@pytest.mark.parametrize("engine", DATABASES)
def test_hostile_queries_are_refused_alike(engine: str, make: Make) -> None:
    for text in (*HOSTILE, *HOSTILE_BY_ENGINE[engine]):
        with pytest.raises(SourceError) as err:
            make(query=text).load()
        assert "\n" not in err.value.one_line()
    # Still all there.
    assert aggregate(make).requests == 26_790


@pytest.mark.parametrize("engine", ["postgres", "sqlite", "clickhouse"])
def test_the_engine_itself_refuses_writes(engine: str, make: Make) -> None:
    # Past the query check (a function that writes, a check that missed a word), the session
    # is read-only: PostgreSQL's transaction, SQLite's query_only, ClickHouse's readonly = 2.
    source = make()
    writes = {
        "postgres": f"INSERT INTO {TABLE} SELECT * FROM {TABLE} LIMIT 1",
        "sqlite": f"DELETE FROM {TABLE}",
        "clickhouse": f"INSERT INTO sloview.{TABLE} SELECT * FROM sloview.{TABLE} LIMIT 1",
    }
    with pytest.raises(SourceError, match="tried to write"), source.session() as conn:
        source.fetch(conn, writes[engine])
    assert aggregate(make).requests == 26_790


@pytest.mark.parametrize("engine", DATABASES)
def test_the_timeout_cancels_on_the_server(engine: str, make: Make) -> None:
    # PostgreSQL's statement_timeout, SQLite's progress handler, ClickHouse's
    # max_execution_time, Spark's interruptAll.
    source = make(timeout_s=1.0)
    slow = {
        "postgres": "SELECT pg_sleep(30) AS s",
        "sqlite": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
        "SELECT count(*) AS n FROM c",
        "clickhouse": "SELECT count() FROM numbers(100000000000)",
        "spark": "SELECT sum(id % 7) AS s FROM range(1000000000000)",
    }
    with pytest.raises(SourceError, match="took longer than 1 s"), source.session() as conn:
        source.fetch(conn, slow[engine])


def test_unreachable_servers_are_one_line() -> None:
    port = servers.free_port()
    for text in (
        f"clickhouse://reader:ch-Secret-81@127.0.0.1:{port}/logs",
        f"sc://127.0.0.1:{port}/;token=spark-Secret-81",
    ):
        with pytest.raises(SourceError) as err:
            open_source(text, SourceOptions(table="requests", timeout_s=3))
        line = err.value.one_line()
        assert "cannot connect" in line
        assert f"127.0.0.1:{port}" in line
        assert "Secret-81" not in line
        assert "\n" not in line


def test_an_unknown_kind_of_database_is_one_line() -> None:
    with pytest.raises(SourceError) as err:
        open_source("oracle9://scott:tiger-pw@db/x", SourceOptions(table="t"))
    line = err.value.one_line()
    assert "oracle9:// is not a kind of source" in line
    assert "clickhouse://" in line
    assert "tiger-pw" not in line


def cli_error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """stderr of a `sloview` command that must fail in one line with exit code 2."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert code == 2, err
    assert out == ""
    assert err.startswith("sloview: error: ")
    assert err.count("\n") == 1
    assert "Traceback" not in err
    assert "Secret-84" not in err
    return err


def test_the_cli_refuses_bad_warehouse_input_in_one_line(
    capsys: pytest.CaptureFixture[str], spark_url: str
) -> None:
    port = servers.free_port()
    for url in (
        f"clickhouse://reader:ch-Secret-84@127.0.0.1:{port}/logs",
        f"clickhouses://reader:ch-Secret-84@127.0.0.1:{port}/logs",
        f"sc://127.0.0.1:{port}/;token=spark-Secret-84",
    ):
        err = cli_error(capsys, "summarize", url, "--table", "requests", "--timeout", "3")
        assert "cannot connect" in err
        assert f"127.0.0.1:{port}" in err
    err = cli_error(capsys, "summarize", f"{spark_url}/;token=spark-Secret-84", "--table", "t")
    assert "the TLS handshake failed" in err
    err = cli_error(capsys, "summarize", "oracle9://scott:tiger-Secret-84@db/x", "--table", "t")
    assert "oracle9:// is not a kind of source" in err
    # A Spark table without the mapped columns, read as rows and aggregated alike.
    for limit in ("500000", "0"):
        common = ("summarize", spark_url, "--table", SPARK_TABLE, "--row-limit", limit)
        err = cli_error(capsys, *common, "--latency", "no_such_column")
        assert "no_such_column" in err
        err = cli_error(capsys, *common, "--segment", "nope")
        assert "nope" in err
    err = cli_error(capsys, "summarize", spark_url, "--table", "global_temp.no_such_table")
    assert "no_such_table" in err
    err = cli_error(capsys, "summarize", spark_url, "--query", f"DROP TABLE {SPARK_TABLE}")
    assert "SELECT" in err


def test_spark_urls_keep_their_token_out_of_sight(spark_url: str) -> None:
    source = SparkSource(spark_url + "/;token=spark-Secret-82", table=SPARK_TABLE)
    assert "Secret" not in source.describe()
    assert "Secret" not in repr(source)
    assert source.describe() == f"{spark_url}, table {SPARK_TABLE}"


def test_a_token_against_a_plain_spark_server_fails_fast_in_one_line(spark_url: str) -> None:
    # A token makes the client speak TLS; the client's own retries would take ten minutes.
    started = time.monotonic()
    with pytest.raises(SourceError) as err:
        SparkSource(spark_url + "/;token=spark-Secret-85", table=SPARK_TABLE).load()
    line = err.value.one_line()
    assert "the TLS handshake failed" in line
    assert "leave the token out" in line
    assert "Secret-85" not in line
    assert time.monotonic() - started < 60


# -- the Data page offers them -----------------------------------------------------------------


@pytest.mark.usefixtures(navigation_like_the_server.__name__)
def test_the_data_page_connects_spark_and_reports_clickhouse_in_one_line(spark_url: str) -> None:
    at = run_app(240)
    at.text_input(key="src_sql_url").set_value(spark_url)
    at.text_input(key="src_sql_table").set_value(SPARK_TABLE)
    at.number_input(key="src_sql_limit").set_value(0)
    at.run()
    at.button(key="src_connect").click().run()
    clean(at)
    assert not at.error, [e.value for e in at.error]
    assert metric(at, "requests") == "26,790"
    assert any("Aggregated in the source" in i.value for i in at.info)
    port = servers.free_port()
    at.text_input(key="src_sql_url").set_value(f"clickhouse://127.0.0.1:{port}/logs")
    at.text_input(key="src_sql_password").set_value("ch-Secret-83")
    at.run()
    at.button(key="src_connect").click().run()
    errors = [e.value for e in at.error]
    assert len(errors) == 1
    assert "cannot connect" in errors[0]
    assert "\n" not in errors[0]
    assert "Secret-83" not in errors[0]
    # A Spark SELECT without the mapped columns, and an unknown kind of database: one error.
    at.text_input(key="src_sql_url").set_value(spark_url)
    at.text_input(key="src_sql_password").set_value("")
    at.run()
    at.radio(key="src_sql_how").set_value("a SELECT").run()
    at.text_area(key="src_sql_query").set_value(f"SELECT predict_type FROM {SPARK_TABLE}")
    at.run()
    at.button(key="src_connect").click().run()
    errors = [e.value for e in at.error]
    assert len(errors) == 1
    assert "\n" not in errors[0]
    assert "no latency column found" in errors[0]
    assert "predict_type" in errors[0]
    at.text_input(key="src_sql_url").set_value("oracle9://scott:tiger-Secret-83@db/x")
    at.run()
    at.button(key="src_connect").click().run()
    errors = [e.value for e in at.error]
    assert len(errors) == 1
    assert "oracle9:// is not a kind of source" in errors[0]
    assert "Secret-83" not in errors[0]
