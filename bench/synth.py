"""Synthetic request data for benchmarks: N requests over 30 days, realistic shape, seeded."""

from __future__ import annotations

import numpy as np
import pandas as pd

DAY_NS = 86_400 * 10**9


def synthetic_requests(rows: int, days: int = 30, seed: int = 7) -> pd.DataFrame:
    """Sorted requests with a daily cycle, lognormal latencies, incidents and ~0.5% errors."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2026-09-01", tz="UTC").value
    # Arrival times with a daily cycle: sample hours by a sinusoidal weight, then jitter.
    u = rng.random(rows)
    t = np.sort(u) * days * DAY_NS
    phase = np.sin(2 * np.pi * (t % DAY_NS) / DAY_NS - np.pi / 2)
    ts = (start + t).astype(np.int64)
    base = rng.lognormal(mean=np.log(180), sigma=0.55, size=rows) * (1 + 0.15 * phase)
    day = (t // DAY_NS).astype(np.int64)
    incident = (day == 11) & (t % DAY_NS > 14 * 3600e9) & (t % DAY_NS < 17 * 3600e9)
    base[incident] *= 2.5
    status = np.full(rows, 200, dtype=np.int16)
    err = rng.random(rows)
    status[err < 0.004] = 429
    status[err < 0.0015] = 500
    status[incident & (err < 0.08)] = 503
    endpoints = np.array(["chat", "completions", "embeddings"])
    models = np.array(["atlas-large", "atlas-small", "embed-v2"])
    regions = np.array(["us-east", "eu-west"])
    e = rng.choice(3, size=rows, p=[0.6, 0.1, 0.3])
    tokens = np.where(e == 2, 0, rng.integers(1, 800, rows)).astype(np.int32)
    ttft = base * 0.25
    return pd.DataFrame(
        {
            "timestamp": pd.DatetimeIndex(ts.view("datetime64[ns]")).tz_localize("UTC"),
            "endpoint": pd.Categorical.from_codes(e, endpoints),
            "model": pd.Categorical.from_codes(
                np.where(e == 2, 2, rng.integers(0, 2, rows)), models
            ),
            "region": pd.Categorical.from_codes(rng.integers(0, 2, rows), regions),
            "status": status,
            "latency_ms": np.round(base + tokens * 0.8, 3),
            "ttft_ms": np.round(ttft, 3),
            "output_tokens": tokens,
        }
    )


def ensure_file(rows: int, kind: str = "parquet", folder: str | None = None) -> str:
    """Path of a cached synthetic file, written by a child process (keeps this one's RSS clean)."""
    import os
    import subprocess
    import sys
    import tempfile

    folder = folder or os.path.join(tempfile.gettempdir(), "sloview-bench")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"requests_{rows}.{kind}")
    if not os.path.exists(path):
        here = os.path.dirname(os.path.abspath(__file__))
        code = (
            f"import sys; sys.path.insert(0, {here!r}); from synth import synthetic_requests; "
            f"df = synthetic_requests({rows}); "
        )
        if kind == "parquet":
            code += f"df.to_parquet({path + '.tmp'!r}, index=False)"
        else:
            code += (
                "df['timestamp'] = df['timestamp'].dt.strftime('%Y-%m-%dT%H:%M:%S.%fZ'); "
                "import pyarrow as pa, pyarrow.csv as c; "
                f"c.write_csv(pa.Table.from_pandas(df, preserve_index=False), {path + '.tmp'!r})"
            )
        subprocess.run([sys.executable, "-c", code], check=True)
        os.replace(path + ".tmp", path)
    return path
