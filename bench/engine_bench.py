"""Engine benchmark: precompute, slider move, exact sweep, against what a notebook would do.

Prints one JSON object. All figures are measured in the same run on the same synthetic data
(30 days of requests, sorted by time):

- precompute_s: Engine construction plus the exact latency index
- slider_ms: median time to re-simulate one candidate at a new threshold (per-period
  attainment, error budget, burn rates and alert backtest)
- sweep_ms: median time of an exact 200-threshold sweep (attainment, share of 28-day periods
  met, worst period)
- pandas_resample_ms: median of `df.resample("1h", on="ts")["latency_ms"].quantile(0.95)`
- pandas_sweep_ms: a per-threshold pandas groupby loop over the same 200 thresholds
- peak_rss_mb: peak resident memory of this process after loading the file, building the
  engine, the slider moves and sweeps (before the pandas baselines, which add their own
  copies: peak_rss_with_pandas_mb)

Run: `python bench/engine_bench.py --rows 10000000 --json` (or `make bench`).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synth import ensure_file

from sloview.design import sweep_thresholds
from sloview.engine import Engine
from sloview.engine.scope import Scope
from sloview.ingest import RequestTable, load_requests
from sloview.model import SLO
from sloview.simulate import simulate


def _median_ms(fn: object, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def build_table(rows: int) -> RequestTable:
    """Synthetic requests loaded from a Parquet file, as a user would load them."""
    return load_requests(ensure_file(rows, "parquet"))


def main() -> None:
    """Run the benchmark and print the JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument(
        "--pandas-sweep-repeats",
        type=int,
        default=1,
        help="the pandas sweep takes ~40 s at 1e7 rows; 1 run by default",
    )
    parser.add_argument("--json", action="store_true", help="print only the JSON object")
    args = parser.parse_args()

    table = build_table(args.rows)
    slo = SLO.from_dict(
        {
            "name": "bench-latency",
            "sli": {"kind": "latency"},
            "objective": {"target": 0.99, "threshold": 600.0},
            "window": {"rolling": "28d"},
        }
    )

    t0 = time.perf_counter()
    engine = Engine(table)
    engine.index("latency_ms")
    precompute_s = time.perf_counter() - t0

    simulate(Scope.bind(engine, slo))  # warm the per-window caches a room builds on its first move
    thresholds = iter(np.linspace(300, 900, 1000))
    slider_ms = _median_ms(
        lambda: simulate(Scope.bind(engine, slo), threshold=float(next(thresholds))),
        max(args.repeats, 21),
    )

    sweep_grid = np.geomspace(100, 5000, 200)
    sweep_thresholds(Scope.bind(engine, slo), sweep_grid)
    sweep_ms = _median_ms(
        lambda: sweep_thresholds(Scope.bind(engine, slo), sweep_grid), args.repeats
    )

    # sloview's own peak (load, index, moves, sweeps), before the pandas baselines run.
    sloview_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # The columns a notebook would use; with copy-on-write this selects without copying.
    df = table.frame[["ts", "latency_ms", "ok"]]
    pandas_resample_ms = _median_ms(
        lambda: df.resample("1h", on="ts")["latency_ms"].quantile(0.95), args.repeats
    )

    def pandas_sweep() -> None:
        ok = df[df["ok"]]
        day = ok["ts"].dt.floor("1D")
        for t in sweep_grid:
            (ok["latency_ms"] <= t).groupby(day).mean()

    pandas_sweep_ms = _median_ms(pandas_sweep, args.pandas_sweep_repeats)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {
        "rows": args.rows,
        "precompute_s": round(precompute_s, 3),
        "slider_ms": round(slider_ms, 3),
        "sweep_ms": round(sweep_ms, 2),
        "pandas_resample_ms": round(pandas_resample_ms, 1),
        "pandas_sweep_ms": round(pandas_sweep_ms, 1),
        "resample_ratio": round(pandas_resample_ms / slider_ms, 1),
        "sweep_ratio": round(pandas_sweep_ms / sweep_ms, 1),
        "peak_rss_mb": round(sloview_peak, 1),
        "peak_rss_with_pandas_mb": round(peak, 1),
    }
    print(json.dumps(result, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
