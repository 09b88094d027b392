"""Prometheus -> Aggregates: 30 days of a latency histogram read at a 1-minute step.

    python bench/prometheus_bench.py [--days 30] [--rate 200] [--repeat 5]

Writes an OpenMetrics histogram (one sample per minute per series, statuses 200 and 500,
the Prometheus client's default buckets) one file per day, backfills it with promtool, starts
Prometheus on a free loopback port (tests/servers.py), and times `PrometheusSource.aggregate()`
over the whole range (query_range in chunks of at most 11,000 points). Everything is deleted
afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from sloview.sources.prometheus import PrometheusSource  # noqa: E402
from tests import servers  # noqa: E402

LE = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
START = 1_788_220_800  # 2026-09-01 00:00:00 UTC
METRIC = "http_request_duration_seconds"


def write_days(folder: Path, days: int, rate: int, seed: int = 7) -> tuple[int, int]:
    """One OpenMetrics file per day; returns (requests, failed requests) written."""
    import numpy as np

    rng = np.random.default_rng(seed)
    bounds = np.array(LE)
    cum = {status: np.zeros(len(LE) + 1, dtype=np.int64) for status in ("200", "500")}
    sums = {"200": 0.0, "500": 0.0}
    total = failed = 0
    for day in range(days):
        lines = [
            f"# HELP {METRIC} Request latency.\n",
            f"# TYPE {METRIC} histogram\n",
            f"# UNIT {METRIC} seconds\n",
        ]
        for minute in range(1440):
            stamp = START + (day * 1440 + minute + 1) * 60
            n = rng.poisson(rate * (1 + 0.5 * np.sin(2 * np.pi * minute / 1440)))
            lat = rng.lognormal(np.log(0.18), 0.6, n)
            bad = rng.random(n) < 0.005
            for status, mask in (("200", ~bad), ("500", bad)):
                values = lat[mask]
                idx = np.searchsorted(bounds, values, side="left")
                cum[status] += np.cumsum(np.bincount(idx, minlength=len(LE) + 1))
                sums[status] += float(values.sum())
                for le, c in zip((*map(str, LE), "+Inf"), cum[status], strict=True):
                    lines.append(f'{METRIC}_bucket{{code="{status}",le="{le}"}} {c} {stamp}\n')
                lines.append(f'{METRIC}_count{{code="{status}"}} {cum[status][-1]} {stamp}\n')
                lines.append(f'{METRIC}_sum{{code="{status}"}} {sums[status]:.6f} {stamp}\n')
            total += n
            failed += int(bad.sum())
        lines.append("# EOF\n")
        (folder / f"day-{day:03d}.om.txt").write_text("".join(lines))
    return total, failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--rate", type=int, default=200, help="requests per minute")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="sloview-prom-bench-", dir="/tmp"))
    server = None
    try:
        started = time.perf_counter()
        total, failed = write_days(root, args.days, args.rate)
        written = time.perf_counter() - started
        started = time.perf_counter()
        files = sorted(root.glob("day-*.om.txt"))
        servers.backfill(files, root / "data", workers=os.cpu_count() or 2)
        for f in files:
            f.unlink()
        server = servers.start_prometheus(root / "data")
        backfilled = time.perf_counter() - started
        end = START + args.days * 86_400

        def run() -> tuple[float, int, int]:
            t0 = time.perf_counter()
            agg = PrometheusSource(
                server.url, metric=METRIC, status_label="code", start=START, end=end, step="1m"
            ).aggregate()
            return time.perf_counter() - t0, agg.requests, agg.errors

        run()  # warm Prometheus's caches once, as a second look in a workshop would
        times = []
        for _ in range(args.repeat):
            seconds, requests, errors = run()
            times.append(seconds)
        print(
            json.dumps(
                {
                    "days": args.days,
                    "step": "1m",
                    "points_per_series": args.days * 1440,
                    "series": 2 * (len(LE) + 1),
                    "requests_written": total,
                    "requests_read": requests,
                    "failed_written": failed,
                    "failed_read": errors,
                    "median_s": round(statistics.median(times), 2),
                    "max_s": round(max(times), 2),
                    "write_s": round(written, 1),
                    "backfill_start_s": round(backfilled, 1),
                }
            )
        )
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
