"""Out-of-core aggregation: a Parquet file larger than memory -> per-minute Aggregates.

    python bench/duckdb_bench.py --rows 100000000 [--memory-limit 2GB] [--keep]

The file is written day by day (30 days, bench/synth.py's shape) so the generator stays small;
the aggregation then runs in a fresh child process whose peak RSS is measured. The file is
deleted afterwards unless --keep is given (1e8 rows take about 3 GB of disk).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

DAYS = 30


def write_file(path: str, rows: int) -> None:
    """Write `rows` synthetic requests over 30 days, one day at a time."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq
    from synth import synthetic_requests

    writer = None
    per_day = rows // DAYS
    try:
        for day in range(DAYS):
            n = per_day + (rows - per_day * DAYS if day == DAYS - 1 else 0)
            frame = synthetic_requests(n, days=1, seed=1000 + day)
            frame["timestamp"] = frame["timestamp"] + pd.Timedelta(days=day)
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema, compression="zstd")
            writer.write_table(table, row_group_size=1 << 20)
            del frame, table
    finally:
        if writer is not None:
            writer.close()


def aggregate_child(path: str, memory_limit: str, ttft: bool) -> None:
    """Run in a child: aggregate and print timings as JSON (RSS is read by the parent)."""
    from sloview.sources.duckdb_files import DuckDbFileSource

    start = time.perf_counter()
    agg = DuckDbFileSource(path, group_by=(), with_ttft=ttft, memory_limit=memory_limit).aggregate()
    seconds = time.perf_counter() - start
    print(
        json.dumps(
            {
                "seconds": round(seconds, 2),
                "requests": agg.requests,
                "buckets": agg.n,
                "bins": agg.latency.bins,
                "cells": int(agg.counts.nnz),
                "ttft_cells": int(agg.ttft.counts.nnz) if agg.ttft is not None else 0,
                # Peak resident memory of this process (DuckDB runs in it), KiB on Linux.
                "peak_rss_gib": round(
                    resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2
                ),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000_000)
    parser.add_argument("--memory-limit", default="2GB")
    parser.add_argument("--folder", default=os.path.join(tempfile.gettempdir(), "sloview-bench"))
    parser.add_argument("--no-ttft", action="store_true", help="latency histogram only")
    parser.add_argument("--keep", action="store_true", help="keep the generated file")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        aggregate_child(args.child, args.memory_limit, not args.no_ttft)
        return
    os.makedirs(args.folder, exist_ok=True)
    path = os.path.join(args.folder, f"ooc_{args.rows}.parquet")
    if not os.path.exists(path):
        started = time.perf_counter()
        # A child writes the file, so its memory is not the aggregation's.
        code = f"import sys; sys.path.insert(0, {HERE!r}); import duckdb_bench as b; "
        code += f"b.write_file({path + '.tmp'!r}, {args.rows})"
        subprocess.run([sys.executable, "-c", code], check=True)
        os.replace(path + ".tmp", path)
        print(f"wrote {path} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    size = os.path.getsize(path)
    try:
        command = [sys.executable, __file__, "--child", path, "--memory-limit", args.memory_limit]
        if args.no_ttft:
            command.append("--no-ttft")
        done = subprocess.run(command, check=True, capture_output=True, text=True)
        result = json.loads(done.stdout.strip().splitlines()[-1])
        result.update(
            rows=args.rows, file_gib=round(size / 2**30, 2), memory_limit=args.memory_limit
        )
        print(json.dumps(result))
    finally:
        if not args.keep:
            os.remove(path)


if __name__ == "__main__":
    main()
