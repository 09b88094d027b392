"""Scale figures of the one aggregation query: rows -> per-minute aggregates, in each engine.

    python bench/warehouse_bench.py --engine duckdb --rows 100000000
    python bench/warehouse_bench.py --engine spark --rows 100000000     (Spark local mode)
    python bench/warehouse_bench.py --engine clickhouse --rows 10000000  (chdb, in-process)
    python bench/warehouse_bench.py --engine postgres --rows 10000000 [--segments]

bench/synth.py's requests (30 days, lognormal latencies, ~0.5% errors) are written once as a
Parquet file (DuckDB reads it in place, Spark reads it with `parquet.` in a --query,
ClickHouse and PostgreSQL load it into a table first; loading is not timed). A fresh child
process then times sloview from nothing to ready `Aggregates` with one threshold (500 ms)
counted exactly, and reports its own peak RSS over that step only (the kernel's high-water
mark is reset first; in-process engines, DuckDB and chdb, count in it, so they run with
their memory bounded as a server's would be: DuckDB's --memory-limit, chdb's GROUP BY spilling
past --chdb-spill-mb, then unbounded for comparison; chdb's table is loaded by another child
into a database folder the measured one opens). Then the engine itself
computes the exact attainment (successful requests at or under 500 ms and 1 s, over successful
requests) with a plain COUNT, and the figures are compared: 500 ms from the exact counts, 1 s
(a bin edge) from the bins alone.

The baseline, in the same run and on the same file: pandas reads the three columns the
aggregation needs (`pd.read_parquet`) and computes the per-minute counts and the 500 ms count
with `groupby`, in a child of its own (its peak RSS alone). Each engine's line then carries
`seconds_ratio` (pandas / sloview) and `memory_ratio` (pandas peak / sloview peak); pandas'
own attainment is checked against the engine's exact figure too. --no-baseline skips it
(pandas needs ~25 bytes a row in memory: ~2.5 GiB of columns at 10^8 rows, more at peak).
Prints one JSON line per measure.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

THRESHOLD = 500.0
EDGE = 1000.0  # a bin edge: the bins alone count it exactly
OK = "status < 500 AND status <> 429"  # the HTTP policy sloview detects on these data
EXACT_SQL = (
    f"SELECT SUM(CASE WHEN {OK} AND latency_ms <= {THRESHOLD} THEN 1 ELSE 0 END) AS good, "
    f"SUM(CASE WHEN {OK} AND latency_ms <= {EDGE} THEN 1 ELSE 0 END) AS good_edge, "
    f"SUM(CASE WHEN {OK} THEN 1 ELSE 0 END) AS ok, COUNT(*) AS n FROM SOURCE"
)


def parquet_file(rows: int, folder: str) -> str:
    """The cached synthetic Parquet file (written by a child, day by day)."""
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"warehouse_us_{rows}.parquet")
    if not os.path.exists(path):
        started = time.perf_counter()
        code = f"import sys; sys.path.insert(0, {str(HERE)!r}); import warehouse_bench as b; "
        code += f"b.write_file({path + '.tmp'!r}, {rows})"
        subprocess.run([sys.executable, "-c", code], check=True)
        os.replace(path + ".tmp", path)
        print(f"wrote {path} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return path


def write_file(path: str, rows: int, days: int = 30) -> None:
    """`rows` synthetic requests over 30 days, a day at a time, times in microseconds (what
    Spark reads; DuckDB and ClickHouse read either)."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq
    from synth import synthetic_requests

    writer = None
    per_day = rows // days
    try:
        for day in range(days):
            n = per_day + (rows - per_day * days if day == days - 1 else 0)
            frame = synthetic_requests(n, days=1, seed=1000 + day)
            frame["timestamp"] = frame["timestamp"] + pd.Timedelta(days=day)
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(
                    path,
                    table.schema,
                    compression="zstd",
                    coerce_timestamps="us",
                    allow_truncated_timestamps=True,
                )
            writer.write_table(table, row_group_size=1 << 20)
            del frame, table
    finally:
        if writer is not None:
            writer.close()


def reset_peak() -> None:
    """Reset this process's peak RSS (VmHWM) so it measures what follows."""
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")


def peak_gib() -> float:
    """This process's peak RSS since the last reset, GiB."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def figures(agg: Any, exact: dict[str, int], seconds: float, peak: float) -> dict[str, Any]:
    """Timing, memory and attainment from sloview beside the engine's exact figures."""
    good = int(agg.threshold_counts[("latency_ms", "lte", THRESHOLD)].sum())
    ok = int(agg.ok.sum())
    good_edge = int(agg.good(EDGE, "down").sum())
    return {
        "seconds_to_aggregates": round(seconds, 2),
        "peak_rss_gib": round(peak, 2),
        "requests": agg.requests,
        "minutes": agg.n,
        "cells": int(agg.counts.nnz),
        "groups": len(agg.groups),
        "attainment_500ms": good / ok,
        "exact_500ms": exact["good"] / exact["ok"],
        "attainment_1s_bins": good_edge / ok,
        "exact_1s": exact["good_edge"] / exact["ok"],
        "equal": good == exact["good"] and good_edge == exact["good_edge"] and ok == exact["ok"],
    }


# -- children: one engine each, timed from nothing to aggregates ------------------------------


def child_duckdb(path: str, memory_limit: str) -> dict[str, Any]:
    import duckdb

    from sloview.sources.duckdb_files import DuckDbFileSource

    reset_peak()
    started = time.perf_counter()
    agg = DuckDbFileSource(
        path,
        group_by=(),
        with_ttft=False,
        thresholds=(("lte", THRESHOLD),),
        memory_limit=memory_limit,
    ).aggregate()
    seconds, peak = time.perf_counter() - started, peak_gib()
    row = duckdb.sql(EXACT_SQL.replace("SOURCE", f"read_parquet('{path}')")).fetchall()[0]
    assert row is not None
    exact = dict(zip(("good", "good_edge", "ok", "n"), (int(v) for v in row), strict=True))
    return {"engine": "duckdb", "memory_limit": memory_limit, **figures(agg, exact, seconds, peak)}


def child_spark(path: str, url: str) -> dict[str, Any]:
    warnings.simplefilter("ignore", FutureWarning)
    from sloview.sources.spark import SparkSource

    reset_peak()
    started = time.perf_counter()
    source = SparkSource(
        url,
        query=f"SELECT * FROM parquet.`{path}`",
        row_limit=0,
        group_by=(),
        with_ttft=False,
        thresholds=(("lte", THRESHOLD),),
        timeout_s=3600,
    )
    agg = source.load()
    seconds, peak = time.perf_counter() - started, peak_gib()
    with source.session() as spark:
        got = spark.sql(EXACT_SQL.replace("SOURCE", f"parquet.`{path}`")).toArrow()
    exact = {k: int(got.column(k)[0].as_py()) for k in ("good", "good_edge", "ok", "n")}
    return {"engine": "spark (local[2])", **figures(agg, exact, seconds, peak)}


def chdb_store(path: str, rows: int, folder: str) -> str:
    """A chdb database folder holding the Parquet file as MergeTree table b.requests, written
    by a child (loading is not timed, and its caches stay out of the measured process)."""
    store = os.path.join(folder, f"chdb_{rows}")
    if not os.path.exists(os.path.join(store, ".loaded")):
        shutil.rmtree(store, ignore_errors=True)
        code = f"import sys; sys.path.insert(0, {str(HERE)!r}); import warehouse_bench as b; "
        code += f"b.load_chdb({path!r}, {store!r})"
        subprocess.run([sys.executable, "-c", code], check=True)
        Path(store, ".loaded").touch()
    return store


def load_chdb(path: str, store: str) -> None:
    """The Parquet file into a MergeTree table of a chdb database folder."""
    from chdb import session

    db = session.Session(store)
    db.query("CREATE DATABASE IF NOT EXISTS b ENGINE = Atomic")
    db.query(
        # Parquet columns arrive Nullable; the sort key may be one with this setting.
        "CREATE TABLE b.requests ENGINE = MergeTree ORDER BY timestamp "
        "SETTINGS allow_nullable_key = 1 AS "
        f"SELECT * FROM file('{path}', 'Parquet')"
    )
    db.close()


def child_clickhouse(store: str, spill_mb: str) -> dict[str, Any]:
    from chdb import session

    from sloview.sources.clickhouse import ChdbClient, ClickHouseSource

    db = session.Session(store)
    # In-process the engine's GROUP BY memory is this process's: bounded as DuckDB's is (a
    # server's would not count in sloview's at all). 0: unbounded.
    spill = int(spill_mb) * 2**20
    settings = {"max_bytes_before_external_group_by": spill} if spill else {}
    reset_peak()
    started = time.perf_counter()
    agg = ClickHouseSource(
        client=ChdbClient(db, settings),
        table="b.requests",
        row_limit=0,
        group_by=(),
        with_ttft=False,
        thresholds=(("lte", THRESHOLD),),
        timeout_s=3600,
    ).load()
    seconds, peak = time.perf_counter() - started, peak_gib()
    got = db.query(EXACT_SQL.replace("SOURCE", "b.requests"), "ArrowTable")
    exact = {k: int(got.column(k)[0].as_py()) for k in ("good", "good_edge", "ok", "n")}
    return {
        "engine": "clickhouse (chdb)",
        "spill_mb": int(spill_mb),
        **figures(agg, exact, seconds, peak),
    }


def child_postgres(url: str, segments: bool) -> dict[str, Any]:
    import psycopg

    from sloview.sources.sql import SqlSource

    reset_peak()
    started = time.perf_counter()
    agg = SqlSource(
        url,
        table="requests",
        row_limit=0,
        group_by=None if segments else (),
        with_ttft=False,
        thresholds=(("lte", THRESHOLD),),
        timeout_s=3600,
    ).load()
    seconds, peak = time.perf_counter() - started, peak_gib()
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        row = conn.execute(EXACT_SQL.replace("SOURCE", "requests")).fetchone()
    assert row is not None
    exact = dict(zip(("good", "good_edge", "ok", "n"), (int(v) for v in row), strict=True))
    result = figures(agg, exact, seconds, peak)
    return {"engine": "postgres", "segments": list(agg.group_by), **result}


def child_pandas(path: str) -> dict[str, Any]:
    """The pandas way: the columns in memory, per-minute counts by groupby."""
    import pandas as pd

    reset_peak()
    started = time.perf_counter()
    frame = pd.read_parquet(path, columns=["timestamp", "status", "latency_ms"])
    ok = (frame["status"] < 500) & (frame["status"] != 429)
    good = ok & (frame["latency_ms"] <= THRESHOLD)
    good_edge = ok & (frame["latency_ms"] <= EDGE)
    per_minute = (
        pd.DataFrame({"ok": ok, "good": good, "good_edge": good_edge})
        .groupby(frame["timestamp"].dt.floor("min"))
        .sum()
    )
    seconds, peak = time.perf_counter() - started, peak_gib()
    totals = per_minute.sum()
    return {
        "engine": "pandas",
        "seconds": round(seconds, 2),
        "peak_rss_gib": round(peak, 2),
        "minutes_with_requests": len(per_minute),
        "attainment_500ms": int(totals["good"]) / int(totals["ok"]),
        "attainment_1s": int(totals["good_edge"]) / int(totals["ok"]),
    }


def with_baseline(result: dict[str, Any], baseline: dict[str, Any] | None) -> dict[str, Any]:
    """An engine's figures with the pandas baseline's time and memory beside them, as ratios."""
    if baseline is None:
        return result
    return {
        **result,
        "pandas_seconds": baseline["seconds"],
        "pandas_peak_rss_gib": baseline["peak_rss_gib"],
        "seconds_ratio": round(baseline["seconds"] / result["seconds_to_aggregates"], 2),
        "memory_ratio": round(baseline["peak_rss_gib"] / result["peak_rss_gib"], 2),
        "pandas_equal": baseline["attainment_500ms"] == result["exact_500ms"]
        and baseline["attainment_1s"] == result["exact_1s"],
    }


def run_child(*args: str) -> dict[str, Any]:
    """Run this script as a child with `args`; its last stdout line is JSON."""
    done = subprocess.run(
        [sys.executable, __file__, "--child", *args], check=False, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"the {args[0]} child failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--engine", choices=["duckdb", "spark", "clickhouse", "postgres"], default="duckdb"
    )
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--memory-limit", default="512MB", help="DuckDB's memory limit")
    parser.add_argument(
        "--chdb-spill-mb",
        type=int,
        default=128,
        help="chdb: GROUP BY memory before it spills to disk (also run unbounded)",
    )
    parser.add_argument("--segments", action="store_true", help="postgres: also with segments")
    parser.add_argument("--folder", default=os.path.join(tempfile.gettempdir(), "sloview-bench"))
    parser.add_argument(
        "--no-baseline", action="store_true", help="skip the pandas baseline (memory-hungry)"
    )
    parser.add_argument("--child", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        kind, *rest = args.child
        children = {
            "duckdb": lambda: child_duckdb(rest[0], rest[1]),
            "spark": lambda: child_spark(rest[0], rest[1]),
            "clickhouse": lambda: child_clickhouse(rest[0], rest[1]),
            "postgres": lambda: child_postgres(rest[0], rest[1] == "1"),
            "pandas": lambda: child_pandas(rest[0]),
        }
        print(json.dumps(children[kind]()))
        return
    path = parquet_file(args.rows, args.folder)
    base = {"rows": args.rows, "file_gib": round(os.path.getsize(path) / 2**30, 2)}
    baseline = None
    if not args.no_baseline:
        baseline = run_child("pandas", path)
        print(json.dumps({**base, **baseline}))
    if args.engine == "duckdb":
        for _ in range(args.repeat):
            result = run_child("duckdb", path, args.memory_limit)
            print(json.dumps({**base, **with_baseline(result, baseline)}))
    elif args.engine == "clickhouse":
        store = chdb_store(path, args.rows, args.folder)
        for _ in range(args.repeat):
            for spill in (args.chdb_spill_mb, 0):
                result = run_child("clickhouse", store, str(spill))
                print(json.dumps({**base, **with_baseline(result, baseline)}))
    elif args.engine == "spark":
        from tests import servers

        # The driver holds the per-minute cells before they travel (spark.driver.maxResultSize).
        server = servers.start_spark_connect(memory="3g")
        try:
            for _ in range(args.repeat):
                result = run_child("spark", path, server.url)
                print(json.dumps({**base, **with_baseline(result, baseline)}))
        finally:
            server.stop()
    else:
        from tests import servers

        server = servers.start_postgres()
        try:
            started = time.perf_counter()
            load_postgres(server, path)
            base["load_s"] = round(time.perf_counter() - started, 1)
            modes = ["0", "1"] if args.segments else ["0"]
            for _ in range(args.repeat):
                for mode in modes:
                    result = run_child("postgres", server.url(), mode)
                    print(json.dumps({**base, **with_baseline(result, baseline)}))
        finally:
            server.stop()


def load_postgres(server: Any, path: str) -> None:
    """The Parquet file COPYed into table `requests` (a row group at a time), then VACUUMed."""
    import io

    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq
    from sql_bench import COLUMNS

    with server.admin() as conn:
        conn.execute("DROP TABLE IF EXISTS requests")
        conn.execute(f"CREATE TABLE requests ({COLUMNS})")
        reader = pq.ParquetFile(path)
        with conn.cursor() as cur, cur.copy("COPY requests FROM STDIN (FORMAT csv)") as copy:
            for i in range(reader.num_row_groups):
                buf = io.BytesIO()
                options = pacsv.WriteOptions(include_header=False)
                pacsv.write_csv(reader.read_row_group(i), buf, options)
                copy.write(buf.getvalue())
        conn.execute("VACUUM (ANALYZE) requests")


if __name__ == "__main__":
    main()
