"""SQL sources against a real PostgreSQL (started by tests/servers.py) and SQLite.

The Alibaba GenAI trace is loaded with COPY; every expected figure comes from the same CSV
loaded as a file, so the database path must give what the file path gives: the same summary
as rows, and as aggregates the same per-day availability (exactly) and latency attainment
(exactly on bin edges, within the neighbouring edges elsewhere).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sloview.engine.scope import Scope
from sloview.errors import SourceError
from sloview.ingest import table as t
from sloview.ingest.mapping import Mapping
from sloview.ingest.table import RequestTable, times_ns
from sloview.sources import dialects, sql
from sloview.sources.aggregates import Aggregates, from_requests
from sloview.sources.sql import SqlSource
from sloview.summary import summarize
from tests import servers

ALIBABA = "alibaba_gentd26_genai_serving/lora_request_trace.csv"
TABLE = servers.ALIBABA_TABLE
DAY_NS = 86_400 * 10**9


@pytest.fixture(scope="session")
def pg_aggregates(pg: servers.Postgres) -> Aggregates:
    """The trace aggregated in PostgreSQL (row_limit=0 forces aggregation)."""
    agg = SqlSource(pg.url(), table=TABLE, row_limit=0).load()
    assert isinstance(agg, Aggregates)
    return agg


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in servers.SECRETS:
            assert secret not in text, f"a secret leaked into: {text}"


def per_day(agg: Aggregates, values: np.ndarray) -> np.ndarray:
    days, _ = agg.day_of_bucket()
    return np.bincount(days, weights=values)


def test_rows_give_the_same_summary_as_the_file(
    pg: servers.Postgres, file_table: RequestTable
) -> None:
    source = SqlSource(pg.url(), table=TABLE)
    table = source.load()
    assert isinstance(table, RequestTable)
    got, expected = summarize(table).to_dict(), summarize(file_table).to_dict()
    for key in ("source", "format"):
        got.pop(key), expected.pop(key)
    assert got == expected
    assert got["rows"] == 26_790
    assert got["errors"] == 398
    assert table.frame["ts"].equals(file_table.frame["ts"])
    assert_no_secret(source.describe(), repr(source), str(table.source_name))


def test_aggregates_equal_the_file_per_day(
    pg_aggregates: Aggregates, file_table: RequestTable
) -> None:
    frame = file_table.frame
    ts, ok, lat = times_ns(frame), frame["ok"].to_numpy(), frame["latency_ms"].to_numpy()
    ref = from_requests(ts, ok, lat)
    agg = pg_aggregates
    assert (agg.origin_ns, agg.n) == (ref.origin_ns, ref.n)
    # First and last request: within their minute (the database reports whole minutes for
    # rows that are kept).
    assert abs(agg.first_ns - ref.first_ns) < 60 * 10**9
    assert abs(agg.last_ns - ref.last_ns) < 60 * 10**9
    assert agg.dropped == file_table.dropped
    day = (ts - agg.origin_ns) // DAY_NS
    n_days = int(day.max()) + 1
    # Availability per day: exact.
    total_exact = np.bincount(day, minlength=n_days)
    ok_exact = np.bincount(day[ok], minlength=n_days)
    assert np.array_equal(per_day(agg, agg.total), total_exact)
    assert np.array_equal(per_day(agg, agg.ok), ok_exact)
    # Latency attainment per day: exact on bin edges (10 s, 100 s are edges) ...
    for edge in (10_000.0, 100_000.0):
        assert agg.latency.is_edge(edge)
        good_exact = np.bincount(day[ok & (lat <= edge)], minlength=n_days)
        assert np.array_equal(per_day(agg, agg.good(edge, "down")), good_exact)
    # ... and within the neighbouring edges (under 1% away) for any other threshold.
    for threshold in (30_000.0, 60_000.0, 45_500.0):
        good_exact = np.bincount(day[ok & (lat <= threshold)], minlength=n_days)
        lo, hi = agg.latency.good_bounds(threshold)
        assert np.all(per_day(agg, lo) <= good_exact)
        assert np.all(good_exact <= per_day(agg, hi))
        below, above = agg.latency.snap(threshold)
        exact_at = [np.bincount(day[ok & (lat <= b)], minlength=n_days) for b in (below, above)]
        assert np.array_equal(per_day(agg, lo), exact_at[0])
        assert np.array_equal(per_day(agg, hi), exact_at[1])
    # Percentiles per day within the stated 1%.
    days, starts = agg.day_of_bucket()
    p95 = agg.latency.percentiles(95, days, starts.size)
    for d in range(n_days):
        sel = ok & (day == d)
        if sel.sum():
            exact = np.percentile(lat[sel], 95)
            assert abs(p95[d] - exact) <= 0.01 * exact


def test_groups_match_the_file(pg_aggregates: Aggregates, file_table: RequestTable) -> None:
    agg = pg_aggregates
    assert agg.group_by == ("predict_type",)
    frame = file_table.frame
    for value, part in frame.groupby("predict_type", observed=True):
        group = agg.group(predict_type=str(value))
        assert group.requests == len(part)
        assert group.errors == int((~part["ok"]).sum())
        assert group.n == agg.n
        assert group.origin_ns == agg.origin_ns
        assert np.array_equal(group.edges_ms, agg.edges_ms)
    assert sum(g.requests for g in agg) == agg.requests


def assert_same_aggregates(got: Aggregates, expected: Aggregates) -> None:
    assert (got.origin_ns, got.n, got.first_ns, got.last_ns) == (
        expected.origin_ns,
        expected.n,
        expected.first_ns,
        expected.last_ns,
    )
    assert np.array_equal(got.total, expected.total)
    assert np.array_equal(got.ok, expected.ok)
    assert np.array_equal(got.edges_ms, expected.edges_ms)
    assert (got.counts != expected.counts).nnz == 0
    assert (got.dropped, got.notes, got.rows_read) == (
        expected.dropped,
        expected.notes,
        expected.rows_read,
    )
    assert sorted(got.groups) == sorted(expected.groups)
    for key, group in got.groups.items():
        assert_same_aggregates(group, expected.groups[key])


def test_block_ranges_aggregate_in_parallel_as_one_scan(
    pg: servers.Postgres, pg_aggregates: Aggregates, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A large table is split into block ranges, one per parallel process (2 workers and the
    # leader here); this one is small, so it is split at every block.
    monkeypatch.setattr(sql, "BLOCKS_PER_PART", 1)
    source = SqlSource(pg.url(), table=TABLE, row_limit=0)
    with source.session() as conn:
        parts = source._block_ranges(conn)
    assert len(parts) == 3
    text = [dialects.render(part, "postgres") for part in parts]
    assert text[0].startswith("ctid >= CAST('(0,0)' AS tid) AND ctid < ")
    assert "<" not in text[-1]
    split = source.load()
    assert isinstance(split, Aggregates)
    assert_same_aggregates(split, pg_aggregates)
    # ... with a time range as well, and never for a query.
    start, end = "2024-11-20", "2024-11-27"
    ranged = SqlSource(pg.url(), table=TABLE, row_limit=0, start=start, end=end).load()
    monkeypatch.setattr(sql, "BLOCKS_PER_PART", 1024)
    whole = SqlSource(pg.url(), table=TABLE, row_limit=0, start=start, end=end).load()
    assert isinstance(ranged, Aggregates)
    assert isinstance(whole, Aggregates)
    assert_same_aggregates(ranged, whole)
    query = SqlSource(pg.url(), query=f"SELECT * FROM {TABLE}", row_limit=0)
    with query.session() as conn:
        assert query._block_ranges(conn) == []


def test_invalid_latencies_are_classified_as_in_files(pg: servers.Postgres) -> None:
    # Every validity of a latency and a TTFT: the packed arrays carry them in place of a bin.
    inf, nan = float("inf"), float("nan")
    rows = [  # seconds after t0, status, latency ms, TTFT ms
        (0, 200, 5.0, 1.0),
        (1, 200, 10.0, None),
        (2, 500, 7.0, 2.0),
        (3, 200, None, 1.0),  # missing: excluded
        (4, 500, None, None),  # failed without a latency: kept for availability
        (5, 200, nan, 1.0),  # unparsable: excluded
        (6, 200, -3.0, 1.0),  # negative: excluded
        (7, 200, inf, 1.0),  # unparsable
        (61, 200, 0.0, -1.0),  # the lowest bin; a negative TTFT is no TTFT
        (62, 200, 0.0005, nan),
        (63, 503, -inf, 3.0),  # failed, unparsable: kept
        (120, 200, 1e301, 1.0),  # beyond 1e300: unparsable
        (121, 429, -1e301, 1.0),  # rate limited (failed), unparsable: kept
        (122, 200, 1000.0, 1e301),
    ]
    t0 = pd.Timestamp("2025-03-04 05:06", tz="UTC")
    with pg.admin() as conn:
        conn.execute("DROP TABLE IF EXISTS odd_latencies")
        conn.execute(
            "CREATE TABLE odd_latencies (ts timestamptz, code smallint, "
            "lat double precision, first_token double precision)"
        )
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO odd_latencies VALUES (%s, %s, %s, %s)",
                [(t0 + pd.Timedelta(seconds=s), c, v, f) for s, c, v, f in rows],
            )
    mapping = Mapping(
        timestamp="ts",
        status="code",
        latency="lat",
        latency_unit="ms",
        ttft="first_token",
        ttft_unit="ms",
    )
    agg = SqlSource(pg.url(), table="odd_latencies", mapping=mapping, row_limit=0).load()
    assert isinstance(agg, Aggregates)
    assert agg.dropped == {
        t.MISSING_LATENCY: 1,
        t.UNPARSABLE_LATENCY: 3,
        t.NEGATIVE_LATENCY: 1,
    }
    assert any(note.startswith("3 failed requests have no latency") for note in agg.notes)
    kept = [r for r in rows if r[0] not in (3, 5, 6, 7, 120)]

    def valid(value: float | None) -> float:
        return value if value is not None and 0 <= value < 1e300 else nan

    ts = np.array([t0.value + s * 10**9 for s, *_ in kept])
    ok = np.array([c == 200 for _, c, _, _ in kept])
    ref = from_requests(
        ts,
        ok,
        np.array([valid(v) for *_, v, _ in kept]),
        ttft_ms=np.array([valid(f) for *_, f in kept]),
    )
    assert (agg.origin_ns, agg.n) == (ref.origin_ns, ref.n)
    assert np.array_equal(agg.total, ref.total)
    assert np.array_equal(agg.ok, ref.ok)
    assert np.array_equal(agg.edges_ms, ref.edges_ms)
    assert (agg.counts != ref.counts).nnz == 0
    assert agg.ttft is not None
    assert ref.ttft is not None
    assert np.array_equal(agg.ttft.edges_ms, ref.ttft.edges_ms)
    assert (agg.ttft.counts != ref.ttft.counts).nnz == 0
    assert agg.ttft.counts.sum() == 1


def test_an_enum_status_reads_as_text(pg: servers.Postgres) -> None:
    # Aggregates travel as binary results, where psycopg reads an enum as bytes, not text.
    with pg.admin() as conn:
        conn.execute("DROP TABLE IF EXISTS enum_requests")
        conn.execute("DROP TYPE IF EXISTS outcome")
        conn.execute("CREATE TYPE outcome AS ENUM ('ok', 'error')")
        conn.execute("CREATE TABLE enum_requests (ts timestamptz, result outcome, lat real)")
        conn.execute(
            "INSERT INTO enum_requests SELECT TIMESTAMPTZ '2025-01-01' + i * INTERVAL '7 s', "
            "CASE WHEN i % 4 = 0 THEN 'error' ELSE 'ok' END::outcome, 10 + i FROM "
            "generate_series(1, 40) AS i"
        )
    mapping = Mapping(timestamp="ts", status="result", latency="lat", latency_unit="ms")
    source = SqlSource(pg.url(), table="enum_requests", mapping=mapping, row_limit=0)
    agg = source.load()
    assert isinstance(agg, Aggregates)
    assert (agg.requests, agg.errors, agg.dropped) == (40, 10, {})
    assert agg.latency.per_bucket().sum() == 30


def test_time_range_is_bound_and_counted(pg: servers.Postgres, file_table: RequestTable) -> None:
    start, end = pd.Timestamp("2024-11-20", tz="UTC"), pd.Timestamp("2024-11-27", tz="UTC")
    source = SqlSource(pg.url(), table=TABLE, start=start, end=end)
    _n, first, last = source.count()
    ts = file_table.frame["ts"]
    inside = (ts >= start) & (ts < end)
    assert first is not None
    assert last is not None
    assert first >= start.value
    assert last < end.value
    table = source.read_table()
    assert table.rows == int(inside.sum())
    agg = SqlSource(pg.url(), table=TABLE, start=start, end=end, row_limit=0).load()
    assert isinstance(agg, Aggregates)
    assert agg.requests == int(inside.sum())


def test_a_query_instead_of_a_table(pg: servers.Postgres, file_table: RequestTable) -> None:
    query = (
        "-- only text-to-image requests\n"
        f"SELECT gmt_create, exec_time_seconds, predict_status FROM {TABLE} "
        "WHERE predict_type = 'TXT_2_IMG';"
    )
    table = SqlSource(pg.url(), query=query, mapping=Mapping(latency_unit="s")).load()
    assert isinstance(table, RequestTable)
    frame = file_table.frame
    assert table.rows == int((frame["predict_type"] == "TXT_2_IMG").sum())


def test_the_session_is_read_only(pg: servers.Postgres) -> None:
    # A function that writes passes any query check; the read-only transaction stops it.
    with pg.admin() as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS written (x int)")
        conn.execute(
            "CREATE OR REPLACE FUNCTION sloview_writes() RETURNS int LANGUAGE sql AS "
            "$$ INSERT INTO written VALUES (1) RETURNING x $$"
        )
    source = SqlSource(
        pg.url(user="postgres", password=servers.PG_ADMIN_PASSWORD),
        query=f"SELECT sloview_writes() AS w, gmt_create, exec_time_seconds FROM {TABLE}",
    )
    with pytest.raises(SourceError, match="tried to write") as err:
        source.load()
    assert_no_secret(str(err.value))
    with pg.admin() as conn:
        assert conn.execute("SELECT count(*) FROM written").fetchone()[0] == 0
    with pytest.raises(SourceError, match="only a SELECT"):
        SqlSource(pg.url(), query=f"DELETE FROM {TABLE}")
    with pytest.raises(SourceError, match="more than one statement"):
        SqlSource(pg.url(), query=f"SELECT * FROM {TABLE}; DROP TABLE {TABLE}")
    with pg.admin() as conn:
        assert conn.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0] == 26_823


# -- failures: each names the source (without its secret) and what to check -----------------


def failure(make: Callable[[], SqlSource]) -> SourceError:
    """The SourceError of making a source and loading it."""

    def run() -> None:
        make().load()

    with pytest.raises(SourceError) as err:
        run()
    return err.value


def test_wrong_port(pg: servers.Postgres, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    url = pg.url().replace(f":{pg.port}/", f":{servers.free_port()}/")
    err = failure(lambda: SqlSource(url, table=TABLE))
    assert "cannot connect to the database" in str(err)
    assert "host and port" in str(err)
    assert "127.0.0.1" in str(err)
    assert_no_secret(str(err), caplog.text)


def test_wrong_host(pg: servers.Postgres) -> None:
    url = pg.url().replace("127.0.0.1", "db.invalid")
    err = failure(lambda: SqlSource(url, table=TABLE, connect_timeout_s=3))
    assert "cannot connect to the database" in str(err)
    assert "db.invalid" in str(err)
    assert_no_secret(str(err))


def test_refused_login(pg: servers.Postgres, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    err = failure(
        lambda: SqlSource(pg.url(password="wrong-" + servers.PG_READER_PASSWORD), table=TABLE)
    )
    assert "refused the login" in str(err)
    assert "user name and password" in str(err)
    assert "wrong-" not in str(err)
    assert_no_secret(str(err), caplog.text)


def test_failing_query(pg: servers.Postgres) -> None:
    err = failure(lambda: SqlSource(pg.url(), table="no_such_table"))
    assert "the query failed" in str(err)
    assert "no_such_table" in str(err)
    assert "table and column names" in str(err)
    assert_no_secret(str(err))


def test_timeout(pg: servers.Postgres) -> None:
    query = f"SELECT gmt_create, exec_time_seconds, pg_sleep(0.2) AS s FROM {TABLE}"
    err = failure(lambda: SqlSource(pg.url(), query=query, timeout_s=0.5))
    assert "took longer than 0.5 s" in str(err)
    assert "Narrow start/end" in str(err)
    assert_no_secret(str(err))


def test_empty_results(pg: servers.Postgres) -> None:
    err = failure(lambda: SqlSource(pg.url(), table=TABLE, start="2030-01-01", end="2030-01-02"))
    assert "no requests between 2030-01-01" in str(err)
    assert "start/end" in str(err)
    err = failure(lambda: SqlSource(pg.url(), query=f"SELECT * FROM {TABLE} WHERE false"))
    assert "returned no rows" in str(err)
    assert_no_secret(str(err))


def test_credentials_from_secrets_and_environment(
    pg: servers.Postgres, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(f'[connections.traces]\nurl = "{pg.url()}"\n')
    by_secret = SqlSource(connection="traces", table=TABLE, secrets_path=secrets)
    assert by_secret.count()[0] == 26_823
    env = {"SLOVIEW_TRACES_URL": pg.url()}
    by_env = SqlSource(connection="traces", table=TABLE, secrets_path=tmp_path / "x", environ=env)
    assert by_env.count()[0] == 26_823
    out = capsys.readouterr()
    assert_no_secret(by_secret.describe(), by_env.describe(), out.out, out.err)
    assert (
        by_secret.describe() == f"postgresql+psycopg://127.0.0.1:{pg.port}/sloview, table {TABLE}"
    )


# -- SQLite: no server, the same rules -----------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_path(tmp_path_factory: pytest.TempPathFactory, csv_path: Path) -> Path:
    """The trace in a SQLite file (times as ISO text, as SQLite stores them)."""
    path = tmp_path_factory.mktemp("sqlite") / "trace.db"
    frame = pd.read_csv(csv_path)
    with sqlite3.connect(path) as con:
        frame.to_sql(TABLE, con, index=False)
    return path


def test_sqlite_rows_and_aggregates(sqlite_path: Path, file_table: RequestTable) -> None:
    url = f"sqlite:///{sqlite_path}"
    table = SqlSource(url, table=TABLE).load()
    assert isinstance(table, RequestTable)
    got, expected = summarize(table).to_dict(), summarize(file_table).to_dict()
    # SQLite stores times as text, so only the note on how they were read differs.
    for key in ("source", "format", "notes"):
        got.pop(key), expected.pop(key)
    assert got == expected
    agg = SqlSource(url, table=TABLE, row_limit=0).load()
    assert isinstance(agg, Aggregates)
    frame = file_table.frame
    ref = from_requests(times_ns(frame), frame["ok"].to_numpy(), frame["latency_ms"].to_numpy())
    assert np.array_equal(agg.total, ref.total)
    assert np.array_equal(agg.ok, ref.ok)
    assert (agg.counts != ref.counts).nnz == 0
    with pytest.raises(SourceError, match="only a SELECT"):
        SqlSource(url, query="PRAGMA query_only = OFF")


def test_chosen_thresholds_and_percentiles_are_exact_from_the_database(
    pg: servers.Postgres, file_table: RequestTable
) -> None:
    from sloview.engine import Engine
    from sloview.engine.aggregated import AggregateEngine
    from sloview.model import SLO
    from sloview.simulate import simulate

    # 35 s is not a bin edge: the bins alone would evaluate it at 34.9 s.
    source = SqlSource(
        pg.url(),
        table=TABLE,
        row_limit=0,
        thresholds=(("lte", 35000.0), ("lt", 23000.0)),
        percentiles=(50.0, 95.0, 99.0),
    )
    agg = source.load()
    assert isinstance(agg, Aggregates)
    frame = file_table.frame
    ok = frame.loc[frame["ok"], "latency_ms"].to_numpy(dtype=float)
    for q in (50.0, 95.0, 99.0):
        assert agg.exact_percentiles[("latency_ms", q)] == pytest.approx(np.percentile(ok, q))
    assert any("percentile_cont" in n for n in agg.notes)
    exact, binned = Engine(file_table), AggregateEngine(agg)
    assert binned.distribution("latency_ms").percentile(95.0) == pytest.approx(
        np.percentile(ok, 95)
    )
    for op, threshold in (("lte", 35000.0), ("lt", 23000.0)):
        spec = SLO.from_dict(
            {
                "name": "latency",
                "sli": {"kind": "latency", "metric": "latency_ms", "failed_requests": "bad"},
                "objective": {"target": 0.9, "threshold": threshold, "op": op},
                "window": {"rolling": "7d"},
            }
        )
        a, b = simulate(Scope.bind(exact, spec)), simulate(Scope.bind(binned, spec))
        assert (b.overall.good, b.overall.total) == (a.overall.good, a.overall.total)
        assert np.array_equal(a.periods.good, b.periods.good)
        assert any("counted exactly in the source" in n for n in b.notes)


def test_sqlite_counts_chosen_thresholds_exactly_too(tmp_path: Path) -> None:
    from sloview.engine.aggregated import AggregateEngine

    db = tmp_path / "r.db"
    t0 = 1_732_000_000_000
    rows = [(t0 + i * 1000, 200 if i % 7 else 500, 100.0 + i % 300) for i in range(5000)]
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE r (ts INTEGER, status INTEGER, latency_ms REAL)")
        conn.executemany("INSERT INTO r VALUES (?, ?, ?)", rows)
    agg = SqlSource(f"sqlite:///{db}", table="r", row_limit=0, thresholds=(("lte", 250.0),)).load()
    assert isinstance(agg, Aggregates)
    counts = agg.threshold_counts[("latency_ms", "lte", 250.0)]
    expected = sum(1 for _, s, v in rows if s == 200 and v <= 250.0)
    assert int(counts.sum()) == expected
    good = AggregateEngine(agg).good_per_bucket("latency_ms", 250.0, "lte")
    assert int(good.sum()) == expected
