"""PostgreSQL table -> Aggregates: counted and grouped in the database, only counts travel.

    python bench/sql_bench.py --rows 10000000 [--repeat 3] [--ttft] [--segments] [--exact]
                               [--no-vacuum]

Starts a throw-away PostgreSQL on a free loopback port (tests/servers.py), COPYs bench/synth.py
requests into it (30 days, a million rows at a time), VACUUMs it as autovacuum would, and
times `SqlSource.load()` from nothing to ready `Aggregates` (a capped COUNT(*) first, then
the GROUP BY minute and status with each group's log bins). By default the latency histogram
only and no segments; --ttft adds the TTFT histogram, --segments groups by endpoint, model
and region as well, and --exact also times one threshold counted exactly, and six percentiles
asked of percentile_cont. The server is removed afterwards.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from sloview.sources.aggregates import Aggregates  # noqa: E402
from sloview.sources.sql import SqlSource  # noqa: E402
from tests import servers  # noqa: E402

COLUMNS = (
    "timestamp timestamptz, endpoint text, model text, region text, status smallint, "
    "latency_ms double precision, ttft_ms double precision, output_tokens integer"
)
CHUNK = 1_000_000


def load(server: servers.Postgres, rows: int, vacuum: bool = True) -> float:
    """COPY `rows` synthetic requests into table `requests`; returns seconds taken.

    With `vacuum`, VACUUM (ANALYZE) as autovacuum does to any table that has been read for a
    while. Without it, autovacuum starts on its own within a minute of the COPY (2 * 10^6
    inserted rows pass its threshold) and takes one of the two cores during the timed runs,
    and the first run also sets the hint bits of every page.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv
    from synth import synthetic_requests

    started = time.perf_counter()
    frame = synthetic_requests(rows)
    with server.admin() as conn:
        conn.execute("DROP TABLE IF EXISTS requests")
        conn.execute(f"CREATE TABLE requests ({COLUMNS})")
        with conn.cursor() as cur, cur.copy("COPY requests FROM STDIN (FORMAT csv)") as copy:
            for lo in range(0, rows, CHUNK):
                part = frame.iloc[lo : lo + CHUNK].copy()
                part["timestamp"] = part["timestamp"].dt.strftime("%Y-%m-%d %H:%M:%S.%f+00")
                buf = io.BytesIO()
                options = pacsv.WriteOptions(include_header=False)
                pacsv.write_csv(pa.Table.from_pandas(part, preserve_index=False), buf, options)
                copy.write(buf.getvalue())
        conn.execute("VACUUM (ANALYZE) requests" if vacuum else "ANALYZE requests")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--ttft", action="store_true", help="also the TTFT histogram")
    parser.add_argument("--segments", action="store_true", help="group by the segments too")
    parser.add_argument(
        "--exact",
        action="store_true",
        help="also time with a threshold counted exactly and percentile_cont percentiles",
    )
    parser.add_argument(
        "--no-vacuum", action="store_true", help="time the table just after COPY and ANALYZE"
    )
    args = parser.parse_args()
    server = servers.start_postgres()
    try:
        loaded = load(server, args.rows, vacuum=not args.no_vacuum)
        modes = {"plain": {}}
        if args.exact:
            modes["threshold"] = {"thresholds": (("lte", 500.0),)}
            modes["percentile_cont"] = {"percentiles": (50.0, 75.0, 90.0, 95.0, 99.0, 99.9)}
        for mode, extra in modes.items():
            times = []
            agg = None
            for _ in range(args.repeat):
                started = time.perf_counter()
                agg = SqlSource(
                    server.url(),
                    table="requests",
                    group_by=None if args.segments else (),
                    with_ttft=args.ttft,
                    **extra,  # type: ignore[arg-type]
                ).load()
                times.append(time.perf_counter() - started)
            assert isinstance(agg, Aggregates)
            print(
                json.dumps(
                    {
                        "mode": mode,
                        "rows": args.rows,
                        "ttft": args.ttft,
                        "segments": list(agg.group_by),
                        "median_s": round(statistics.median(times), 2),
                        "runs_s": [round(t, 2) for t in times],
                        "requests": agg.requests,
                        "cells": int(agg.counts.nnz),
                        "bins": agg.latency.bins,
                        "load_s": round(loaded, 1),
                        "vacuum": not args.no_vacuum,
                    }
                )
            )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
