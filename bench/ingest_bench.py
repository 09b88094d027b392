"""Ingest benchmark: sloview's canonical table against plain pandas readers, same files, same run.

Prints one JSON object:
- parquet_s / pandas_read_parquet_s / parquet_ratio: `load_requests` of a Parquet file vs
  `pandas.read_parquet` of the same file (medians, warm cache)
- csv_s / pandas_read_csv_pyarrow_s / csv_ratio: the same for a CSV file vs
  `pandas.read_csv(engine="pyarrow")`
- bytes_per_request / bytes_per_request_with_segments: memory of the canonical table

Run: `python bench/ingest_bench.py --rows 10000000` (or `make bench`).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synth import ensure_file

from sloview.ingest import load_requests


def _median_s(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    """Run the benchmark and print the JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    parquet = ensure_file(args.rows, "parquet")
    csv = ensure_file(args.rows, "csv")
    # Warm the page cache once for each file before timing.
    pd.read_parquet(parquet)
    load_requests(parquet)

    pandas_parquet = _median_s(lambda: pd.read_parquet(parquet), args.repeats)
    ours_parquet = _median_s(lambda: load_requests(parquet), args.repeats)
    pandas_csv = _median_s(lambda: pd.read_csv(csv, engine="pyarrow"), args.repeats)
    ours_csv = _median_s(lambda: load_requests(csv), args.repeats)
    table = load_requests(parquet)
    result = {
        "rows": args.rows,
        "parquet_s": round(ours_parquet, 3),
        "pandas_read_parquet_s": round(pandas_parquet, 3),
        "parquet_ratio": round(ours_parquet / pandas_parquet, 2),
        "csv_s": round(ours_csv, 3),
        "pandas_read_csv_pyarrow_s": round(pandas_csv, 3),
        "csv_ratio": round(ours_csv / pandas_csv, 2),
        "bytes_per_request": round(table.bytes_per_request(), 1),
        "bytes_per_request_with_segments": round(table.bytes_per_request(True), 1),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
