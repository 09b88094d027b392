"""The one aggregation query as each dialect receives it: golden files a reviewer can read.

PostgreSQL, SQLite, DuckDB, ClickHouse and Spark SQL also run it (tests/test_sources_warehouses.py);
BigQuery, Snowflake and Trino have no engine here, so their rendering is pinned by these files
alone. Set SLOVIEW_UPDATE_GOLDEN=1 to rewrite them, then review the diff by eye.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from sloview.errors import SourceError
from sloview.ingest.detect import detect
from sloview.ingest.mapping import Mapping
from sloview.ingest.readers import RawData
from sloview.sources import cube, dialects, query

GOLDEN = Path(__file__).parent / "golden" / "sql"
UPDATE = os.environ.get("SLOVIEW_UPDATE_GOLDEN") == "1"
START = pd.Timestamp("2026-09-01", tz="UTC").value
END = pd.Timestamp("2026-10-01", tz="UTC").value


def spec(kind: str = "tz") -> cube.CubeSpec:
    """Requests with a UTC time, latency and TTFT in ms, an HTTP status and an endpoint."""
    times = pd.date_range("2026-09-01", periods=50, freq="min", tz="UTC")
    sample = pa.table(
        {
            "ts": pa.array(times),
            "latency_ms": pa.array([100.0 + i for i in range(50)]),
            "ttft_ms": pa.array([10.0 + i for i in range(50)]),
            "status": pa.array([200 if i % 9 else 503 for i in range(50)]),
            "endpoint": pa.array(["chat" if i % 2 else "embeddings" for i in range(50)]),
        }
    )
    raw = RawData(name="requests", format="sql", description="SQL", sample=sample, _table=sample)
    resolved, policy = detect(raw, Mapping(segments=("endpoint",)))
    found = cube.spec_for(resolved, policy, sample)
    assert (found.kind, found.group_columns) == ("tz", ("endpoint",))
    return found


def rendered(dialect: str) -> str:
    """The latency query (two exact thresholds, a month) and the TTFT query, as sent."""
    source = query.Source(table="logs.requests")
    bounds = query.Bounds(START, END)
    # SQLite keeps times as ISO text.
    chosen = replace(spec(), kind="text") if dialect == "sqlite" else spec()
    # What is sent: bins as lists where the dialect has them (PostgreSQL's packed form is
    # pinned below), one row per bin elsewhere.
    build = query.listed if dialect in query.LISTS else query.aggregation
    latency = build(
        dialect,
        chosen,
        source,
        bounds=bounds,
        thresholds=(("lte", 500.0), ("lt", 2000.0)),
    )
    ttft = build(dialect, chosen, source, bounds=bounds, metric="ttft")
    return (
        f"-- sloview per-minute aggregation, {dialect}: latency with exact counts at 500 ms "
        "(lte) and 2000 ms (lt)\n"
        f"{query.render(latency, dialect, source, pretty=True)};\n\n"
        f"-- time to first token\n{query.render(ttft, dialect, source, pretty=True)};\n"
    )


def golden(name: str, text: str) -> str:
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.is_file(), f"{path} is missing: run with SLOVIEW_UPDATE_GOLDEN=1 once"
    return path.read_text(encoding="utf-8")


@pytest.mark.parametrize("dialect", list(dialects.ALL))
def test_each_dialect_renders_the_golden_query(dialect: str) -> None:
    text = rendered(dialect)
    assert text == golden(f"aggregation_{dialect}.sql", text)


def test_postgres_packed_form_is_golden() -> None:
    source = query.Source(table="requests")
    expression = query.packed(
        spec(),
        source,
        bounds=query.Bounds(START, None),
        with_ttft=True,
        parts=[query.block_range(0, 4096), query.block_range(4096, None)],
        thresholds=(("lte", 500.0),),
    )
    text = query.render(expression, "postgres", source, pretty=True) + ";\n"
    assert text == golden("aggregation_postgres_packed.sql", text)


def test_values_are_typed_literals_and_a_query_is_wrapped_whole() -> None:
    # A time zone with a quote cannot end the string; a user's SELECT stands as a subquery.
    base = spec()
    naive = replace(base, resolved=replace(base.resolved, tz="Europe/O'Brien"), kind="naive")
    source = query.Source.of_query("SELECT * FROM x WHERE a = 'b'")
    text = query.render(query.aggregation("postgres", naive, source), "postgres", source)
    assert "timezone('Europe/O''Brien', \"ts\")" in text
    assert "FROM (SELECT * FROM x WHERE a = 'b') AS sloview_source" in text
    spark = query.render(query.aggregation("spark", naive, source), "spark", source)
    assert "TO_UTC_TIMESTAMP(`ts`, 'Europe/O\\'Brien')" in spark


def test_a_dialect_without_time_zones_refuses_local_times_in_one_line() -> None:
    base = spec()
    local = replace(base, resolved=replace(base.resolved, tz="Europe/Paris"), kind="naive")
    source = query.Source(table="t")
    with pytest.raises(SourceError, match="cannot be aggregated in DuckDB"):
        query.render(query.aggregation("duckdb", local, source), "duckdb", source)
    with pytest.raises(SourceError, match="not a SQL dialect sloview knows"):
        dialects.get("no-such-dialect")
