"""Aggregates: the bin formula, exact and bracketed thresholds, percentiles within the stated
error; the read-only query check; secrets resolution and scrubbing. No server needed."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sloview.errors import SourceError
from sloview.sources import dialects, query
from sloview.sources.aggregates import (
    LOG_BIN_WIDTH,
    LOG_FLOOR_BIN,
    from_requests,
    histogram_percentiles,
    log_bin_index,
    log_edges,
)
from sloview.sources.secrets import Scrubber, resolve
from sloview.sources.sql import check_select

DAY_NS = 86_400 * 10**9
T0 = 1_732_000_000 * 10**9  # 2024-11-19 07:06:40 UTC

latencies = st.lists(
    st.floats(min_value=0.0011, max_value=5e6, allow_nan=False, allow_infinity=False),
    min_size=1,
    max_size=300,
)


def requests_from(values: list[float], seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Times over three days, ~5% failures, the given latencies."""
    rng = np.random.default_rng(seed)
    lat = np.asarray(values, dtype=float)
    ts = np.sort(T0 + rng.integers(0, 3 * DAY_NS, lat.size))
    ok = rng.random(lat.size) > 0.05
    return ts, ok, lat


def test_bins_are_under_one_percent_and_decades_are_edges() -> None:
    assert LOG_BIN_WIDTH < 0.01
    edges = log_edges(-100, 1200)
    ratios = edges[2:] / edges[1:-1]
    assert np.all(ratios - 1 < 0.01)
    for decade in (1.0, 10.0, 100.0, 1000.0, 10_000.0, 100_000.0):
        assert decade in edges
    assert log_edges(LOG_FLOOR_BIN, LOG_FLOOR_BIN + 2)[0] == 0.0


@given(latencies)
@settings(max_examples=200, deadline=None)
def test_every_value_lies_in_its_right_closed_bin(values: list[float]) -> None:
    v = np.asarray(values)
    k = log_bin_index(v)
    lo = 10.0 ** ((k - 1) / 232)
    hi = 10.0 ** (k / 232)
    # Up to the 1e-9 guard on log10 (values within ~1e-11 of an edge may sit on either side).
    assert np.all(v <= hi * (1 + 1e-10))
    assert np.all(v > lo * (1 - 1e-10))


def bin_values() -> np.ndarray:
    """Latencies on and around bin edges, and lognormal ones."""
    values = np.concatenate(
        [[0.0, 0.0005, 0.001, 0.0011, 1.0, 10.0, 100.0, 1000.0, 60000.0, 999.999999]],
    )
    rng = np.random.default_rng(3)
    return np.concatenate([values, rng.lognormal(5, 2, 2000), np.round(rng.lognormal(8, 1, 500))])


def bins_sql(dialect: str) -> str:
    """The log bin of column x of table t, as the aggregation query writes it."""
    expression = query.log_bin(query.col("x"))
    return f"SELECT {dialects.render(expression, dialect)} AS k FROM t"


@pytest.mark.parametrize("dialect", ["sqlite", "duckdb", "clickhouse"])
def test_sql_bin_formula_matches_numpy(dialect: str) -> None:
    values = bin_values()
    if dialect == "sqlite":
        con = sqlite3.connect(":memory:")
        try:
            con.execute("SELECT LOG10(10.0)")
        except sqlite3.OperationalError:
            pytest.skip("this sqlite3 has no math functions")
        con.execute("CREATE TABLE t (x REAL)")
        con.executemany("INSERT INTO t VALUES (?)", [(float(x),) for x in values])
        got = np.array([r[0] for r in con.execute(bins_sql(dialect))])
    elif dialect == "duckdb":
        import duckdb

        t = pa.table({"x": values})  # noqa: F841 - read by DuckDB's replacement scan
        got = duckdb.sql(bins_sql(dialect)).to_arrow_table().column("k").to_numpy()
    else:
        import chdb

        listed = ", ".join(repr(float(x)) for x in values)
        sql = bins_sql(dialect).replace("FROM t", f"FROM (SELECT arrayJoin([{listed}]) AS x) AS t")
        got = chdb.query(sql, "ArrowTable").column("k").to_numpy()
    assert np.array_equal(got, log_bin_index(values))


@given(latencies, st.integers(0, 2**32 - 1))
@settings(max_examples=100, deadline=None)
def test_thresholds_on_edges_are_exact_and_between_edges_bracketed(
    values: list[float], seed: int
) -> None:
    ts, ok, lat = requests_from(values, seed)
    agg = from_requests(ts, ok, lat)
    minutes = (ts - agg.origin_ns) // (60 * 10**9)
    edges = agg.edges_ms
    rng = np.random.default_rng(seed)
    for edge in rng.choice(edges[1:], size=min(5, edges.size - 1), replace=False):
        exact = np.bincount(minutes[ok & (lat <= edge)], minlength=agg.n)
        assert np.array_equal(agg.good(float(edge), "down"), exact)
        assert np.array_equal(agg.good(float(edge)), exact)
    for threshold in rng.uniform(lat.min(), lat.max(), 5):
        exact = np.bincount(minutes[ok & (lat <= threshold)], minlength=agg.n)
        lo, hi = agg.latency.good_bounds(float(threshold))
        mid = agg.good(float(threshold), "interpolate")
        assert np.all(lo <= exact)
        assert np.all(exact <= hi)
        assert np.all(lo <= mid + 1e-9)
        assert np.all(mid <= hi + 1e-9)
        below, above = agg.latency.snap(float(threshold))
        assert below <= threshold <= above
        if math.isfinite(above) and below > 0:
            assert above <= below * (1 + LOG_BIN_WIDTH) * (1 + 1e-12)


@given(latencies, st.sampled_from([0, 1, 5, 25, 50, 90, 95, 99, 99.9, 100]))
@settings(max_examples=200, deadline=None)
def test_type7_percentiles_within_one_percent(values: list[float], q: float) -> None:
    ts, _, lat = requests_from(values)
    agg = from_requests(ts, np.ones(lat.size, dtype=bool), lat)
    got = agg.latency.percentiles(q)[0]
    exact = float(np.percentile(lat, q))
    assert abs(got - exact) <= LOG_BIN_WIDTH * exact * (1 + 1e-9)


def test_percentiles_per_group_match_numpy_per_day() -> None:
    rng = np.random.default_rng(11)
    lat = rng.lognormal(np.log(300), 0.8, 50_000)
    ts = np.sort(T0 + rng.integers(0, 5 * DAY_NS, lat.size))
    ok = rng.random(lat.size) > 0.02
    agg = from_requests(ts, ok, lat)
    days, starts = agg.day_of_bucket()
    for q in (50.0, 95.0, 99.0):
        got = agg.latency.percentiles(q, days, starts.size)
        day_of = (ts - agg.origin_ns) // DAY_NS
        for d in range(starts.size):
            sel = ok & (day_of == d)
            if sel.any():
                exact = np.percentile(lat[sel], q)
                assert abs(got[d] - exact) <= LOG_BIN_WIDTH * exact


def test_prometheus_method_is_histogram_quantile() -> None:
    # Buckets le=1,2,4,+Inf with counts 10, 20, 10, 0: cumulative 10, 30, 40, 40.
    edges = np.array([0.0, 1.0, 2.0, 4.0, math.inf])
    counts = np.array([[10, 20, 10, 0]])
    # rank 0.5 * 40 = 20: second bucket, 1 + (2 - 1) * (20 - 10) / 20 = 1.5
    assert histogram_percentiles(counts, edges, 50, "prometheus")[0] == pytest.approx(1.5)
    # rank 0.95 * 40 = 38: third bucket, 2 + 2 * (38 - 30) / 10 = 3.6
    assert histogram_percentiles(counts, edges, 95, "prometheus")[0] == pytest.approx(3.6)
    # The +Inf bucket answers the largest finite bound.
    spill = np.array([[0, 0, 1, 5]])
    assert histogram_percentiles(spill, edges, 99, "prometheus")[0] == 4.0
    assert math.isnan(histogram_percentiles(np.zeros((1, 4)), edges, 50)[0])


def test_le_bins_from_requests() -> None:
    edges = np.array([0.0, 5000.0, 10000.0, 60000.0, math.inf])
    lat = np.array([0.0, 5000.0, 5000.5, 10000.0, 70000.0, 61000.0])
    ts = T0 + np.arange(lat.size) * 10**9
    agg = from_requests(ts, np.ones(lat.size, dtype=bool), lat, edges_ms=edges)
    assert agg.counts.toarray().sum(axis=0).tolist() == [2, 2, 0, 2]
    assert int(agg.good(10000.0, "down").sum()) == 4
    lo, hi = agg.latency.good_bounds(30000.0)
    assert (int(lo.sum()), int(hi.sum())) == (4, 4)
    assert agg.latency.snap(30000.0) == (10000.0, 60000.0)
    assert agg.latency.relative_width() == pytest.approx(5.0)


def test_time_base_matches_the_engine() -> None:
    ts = np.array([T0, T0 + 61 * 10**9, T0 + DAY_NS])
    agg = from_requests(ts, np.array([True, False, True]), np.array([1.0, np.nan, 3.0]))
    assert agg.origin_ns % DAY_NS == 0
    assert agg.origin_ns <= T0 < agg.origin_ns + DAY_NS
    assert agg.n == (T0 + DAY_NS - agg.origin_ns) // (60 * 10**9) + 1
    assert agg.total.sum() == 3
    assert agg.ok.sum() == 2
    assert agg.errors == 1
    assert agg.latency.per_bucket().sum() == 2


# -- read-only queries ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * FROM t",
        "select a, b from t where a > 1",
        "WITH x AS (SELECT * FROM t) SELECT * FROM x",
        "SELECT * FROM t; ",
        "-- a comment with DELETE\nSELECT 'insert; drop' AS s FROM t /* update */",
        'SELECT "update" FROM t',
        "SELECT $$delete$$ AS x",
        "SELECT CASE WHEN a > 1 THEN 'slow' ELSE 'fast' END AS speed FROM t",
        "SELECT replace(path, '/v1', '') AS route, start, \"end\" FROM t FETCH FIRST 5 ROWS ONLY",
    ],
)
def test_select_queries_are_accepted(query: str) -> None:
    cleaned = check_select(query)
    assert "comment" not in cleaned
    assert "/*" not in cleaned


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("DELETE FROM t", "only a SELECT"),
        ("INSERT INTO t VALUES (1)", "only a SELECT"),
        ("SELECT 1; DROP TABLE t", "more than one statement"),
        ("SELECT 1;;", "more than one statement"),
        ("WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d", "DELETE"),
        ("SELECT * INTO new_t FROM t", "INTO"),
        ("SELECT * FROM t FOR UPDATE", "UPDATE"),
        ("COPY t TO STDOUT", "only a SELECT"),
        ("CALL p()", "only a SELECT"),
        ("SELECT set_config('x', '1', false)", "SET_CONFIG"),
        ("SELECT pg_terminate_backend(1)", "PG_TERMINATE_BACKEND"),
        ("/* only a comment */", "only a SELECT"),
        ("", "empty"),
        ("SELECT 'unterminated", "unterminated"),
        ("SELECT 1 /* open", "unterminated"),
        ("ATTACH 'x.db' AS y", "only a SELECT"),
        ("PRAGMA query_only = OFF", "only a SELECT"),
    ],
)
def test_anything_but_one_select_is_refused(query: str, message: str) -> None:
    with pytest.raises(SourceError, match=message):
        check_select(query)


# -- secrets -------------------------------------------------------------------------------


def test_secrets_file_then_environment(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(
        '[connections.warehouse]\nurl = "postgresql+psycopg://ann:s3cr3t-pw@db:5432/x"\n'
        '[connections.parts]\ndialect = "postgresql"\nhost = "db"\nport = 5433\n'
        'database = "x"\nusername = "bob"\npassword = "p@ss/word"\n'
    )
    conn = resolve(connection="warehouse", secrets_path=secrets, environ={})
    assert conn.url.endswith("@db:5432/x")
    assert conn.describe() == "postgresql+psycopg://db:5432/x"
    assert "s3cr3t-pw" in conn.secrets()
    parts = resolve(connection="parts", secrets_path=secrets, environ={})
    assert parts.describe() == "postgresql://db:5433/x"
    assert "p@ss/word" in parts.secrets()
    env = {"SLOVIEW_PROM_URL": "http://prom:9090", "SLOVIEW_PROM_TOKEN": "tok-123456"}
    prom = resolve(connection="prom", secrets_path=tmp_path / "none.toml", environ=env)
    assert prom.url == "http://prom:9090"
    assert prom.token == "tok-123456"
    assert "tok-123456" not in repr(prom)
    with pytest.raises(SourceError, match="SLOVIEW_MISSING_URL"):
        resolve(connection="missing", secrets_path=secrets, environ={})


def test_scrubber_removes_secrets_and_url_credentials() -> None:
    scrub = Scrubber(["hunter22", "tok-abcdef"])
    text = (
        "failed: password hunter22 for postgresql://u:hunter22@h/db?sslpassword=x and "
        "Bearer tok-abcdef"
    )
    out = scrub(text)
    assert "hunter22" not in out
    assert "tok-abcdef" not in out
    assert "u:" not in out
    assert "postgresql://h/db" in out
