"""Deterministic generator for the bundled sample data set ``genai_requests.parquet``.

The data imitates six weeks of request logs from a generative-AI (LLM) API gateway with one
5xx incident, one latency regression after a deploy, and one very quiet segment, so that every
page of sloview has something to find. It deliberately depends only on numpy, pandas and pyarrow
(not on ``sloview``) so the committed file can be rebuilt without the app installed:

    python sample_data/generate.py [--out PATH] [--seed N]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

SEED = 20260907
DEFAULT_OUT = Path(__file__).resolve().parent / "genai_requests.parquet"

# Scenario time line. All times are UTC; END is exclusive.
START = pd.Timestamp("2026-09-07 00:00", tz="UTC")  # a Monday
DAYS = 42  # exactly 6 ISO weeks, crossing the September/October boundary
END = START + pd.Timedelta(days=DAYS)

# A 3.5-hour 5xx burst on Wednesday of week 3, during us-east business hours.
INCIDENT_START = pd.Timestamp("2026-09-23 13:40", tz="UTC")
INCIDENT_END = pd.Timestamp("2026-09-23 17:10", tz="UTC")
INCIDENT_REGION = "us-east"

# A bad deploy multiplies the latency (and TTFT) of chat on atlas-large by REGRESSION_FACTOR
# until it is rolled back ~3 days later.
REGRESSION_START = pd.Timestamp("2026-09-29 14:20", tz="UTC")
REGRESSION_END = pd.Timestamp("2026-10-02 13:50", tz="UTC")
REGRESSION_SEGMENT = {"endpoint": "chat", "model": "atlas-large"}
REGRESSION_FACTOR = 1.30

# A segment with only a few requests per hour, so many 5-minute slices are empty.
LOW_TRAFFIC_SEGMENT = {"endpoint": "completions", "region": "eu-west"}

ENDPOINTS = ("chat", "completions", "embeddings")
MODELS = ("atlas-large", "atlas-small", "embed-v2")
REGIONS = ("us-east", "eu-west")
STATUSES = (200, 429, 500, 503, 504)

GATEWAY_TIMEOUT_MS = 30_000.0
COLUMNS = (
    "timestamp",
    "endpoint",
    "model",
    "region",
    "status",
    "latency_ms",
    "ttft_ms",
    "output_tokens",
)

# Mean weekday requests per hour for each (endpoint, region) segment, before the daily shape.
_HOURLY_RATE = {
    ("chat", "us-east"): 190.0,
    ("chat", "eu-west"): 125.0,
    ("completions", "us-east"): 45.0,
    ("completions", "eu-west"): 3.5,
    ("embeddings", "us-east"): 110.0,
    ("embeddings", "eu-west"): 75.0,
}
# Local UTC offsets (fixed summer time) so each region peaks in its own business hours.
_REGION_UTC_OFFSET_H = {"us-east": -4.0, "eu-west": 1.0}
_PEAK_LOCAL_HOUR = 13.0
_WEEKEND_FACTOR = 0.6  # weekends ~40% quieter
_GROWTH_OVER_PERIOD = 0.08  # mild organic growth, start to end

# Share of atlas-large among chat / completions traffic (the rest goes to atlas-small).
_LARGE_SHARE = {"chat": 0.65, "completions": 0.40}
# Output-token lognormal (median, sigma) and max_tokens cap per endpoint.
_TOKENS = {"chat": (240.0, 0.75, 1024), "completions": (90.0, 1.0, 512)}
# Model speed: TTFT median ms, time-per-output-token median ms.
_TTFT_MEDIAN_MS = {"atlas-large": 420.0, "atlas-small": 160.0}
_TPOT_MEDIAN_MS = {"atlas-large": 24.0, "atlas-small": 9.0}

# Baseline error probabilities (429 is scaled with load so it clusters at peaks).
_P429 = 0.003
_P500 = 0.0005
_P503 = 0.0005
_P504 = 0.0002
# Incident plateau error probabilities in the affected region (sum 12.5%).
_INCIDENT_P = {500: 0.010, 503: 0.075, 504: 0.040}


def _minute_rates(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Return expected requests per minute (segments x minutes) and per-region load in [0, 1]."""
    minutes = np.arange(DAYS * 24 * 60, dtype=np.int64)
    hours_utc = minutes / 60.0
    growth = 1.0 + _GROWTH_OVER_PERIOD * minutes / minutes.size
    day_noise = rng.lognormal(0.0, 0.05, size=(len(REGIONS), DAYS + 1))

    region_shape = np.empty((len(REGIONS), minutes.size))
    for r, region in enumerate(REGIONS):
        local_h = hours_utc + _REGION_UTC_OFFSET_H[region]
        # Circular distance to the local business-hours peak gives a smooth day/night cycle.
        dist = (local_h % 24.0) - _PEAK_LOCAL_HOUR
        dist = (dist + 12.0) % 24.0 - 12.0
        daily = 0.25 + 0.75 * np.exp(-0.5 * (dist / 4.0) ** 2)
        daily /= daily[: 24 * 60].mean()
        # The weekend is decided in local time, so US Friday evening is still a weekday.
        local_day = np.floor(local_h / 24.0).astype(np.int64)
        weekend = ((local_day % 7) >= 5).astype(float)
        weekly = 1.0 - (1.0 - _WEEKEND_FACTOR) * weekend
        day_idx = np.clip(np.floor(hours_utc / 24.0).astype(np.int64), 0, DAYS)
        region_shape[r] = daily * weekly * growth * day_noise[r, day_idx]

    segments = [(e, g) for e in ENDPOINTS for g in REGIONS]
    rates = np.empty((len(segments), minutes.size))
    for s, (endpoint, region) in enumerate(segments):
        rates[s] = _HOURLY_RATE[(endpoint, region)] / 60.0 * region_shape[REGIONS.index(region)]
    load = region_shape / region_shape.max(axis=1, keepdims=True)
    return rates, load


def _incident_intensity(ts_ms: np.ndarray) -> np.ndarray:
    """Return 0..1 incident severity per request: 10-minute ramp up, plateau, 30-minute decay."""
    start = INCIDENT_START.value // 1_000_000
    end = INCIDENT_END.value // 1_000_000
    t_min = (ts_ms - start) / 60_000.0
    total_min = (end - start) / 60_000.0
    up = np.clip(t_min / 10.0, 0.0, 1.0)
    down = np.clip((total_min - t_min) / 30.0, 0.0, 1.0)
    inside = (ts_ms >= start) & (ts_ms < end)
    return np.where(inside, np.minimum(up, down), 0.0)


def generate(seed: int = SEED) -> pd.DataFrame:
    """Return the synthetic request log for ``seed`` as a DataFrame sorted by timestamp."""
    rng = np.random.default_rng(seed)
    rates, load_by_region = _minute_rates(rng)
    n_seg, n_min = rates.shape

    # Non-homogeneous Poisson arrivals: Poisson counts per minute with a piecewise-constant
    # intensity, then uniform arrival times within each minute (exact for that intensity).
    counts = rng.poisson(rates)
    seg = np.repeat(np.repeat(np.arange(n_seg), n_min), counts.ravel())
    minute = np.repeat(np.tile(np.arange(n_min), n_seg), counts.ravel())
    offset_ms = rng.integers(0, 60_000, size=seg.size)
    start_ms = START.value // 1_000_000
    ts_ms = start_ms + minute * 60_000 + offset_ms
    order = np.argsort(ts_ms, kind="stable")
    seg, minute, ts_ms = seg[order], minute[order], ts_ms[order]
    n = seg.size

    endpoint = seg // len(REGIONS)
    region = seg % len(REGIONS)
    load = load_by_region[region, minute]
    is_chat = endpoint == ENDPOINTS.index("chat")
    is_emb = endpoint == ENDPOINTS.index("embeddings")
    is_llm = ~is_emb

    # Model routing: embeddings always use embed-v2; LLM endpoints split large/small.
    large_share = np.where(is_chat, _LARGE_SHARE["chat"], _LARGE_SHARE["completions"])
    model = np.where(rng.random(n) < large_share, 0, 1)
    model = np.where(is_emb, MODELS.index("embed-v2"), model).astype(np.int8)
    is_large = model == MODELS.index("atlas-large")

    # Output tokens: lognormal, capped by max_tokens, at least one token.
    tok_median = np.where(is_chat, _TOKENS["chat"][0], _TOKENS["completions"][0])
    tok_sigma = np.where(is_chat, _TOKENS["chat"][1], _TOKENS["completions"][1])
    tok_cap = np.where(is_chat, _TOKENS["chat"][2], _TOKENS["completions"][2])
    tokens = np.rint(tok_median * rng.lognormal(0.0, 1.0, n) ** tok_sigma)
    tokens = np.clip(tokens, 1, tok_cap)
    tokens = np.where(is_emb, 0, tokens).astype(np.int64)

    # Gateway + network overhead; eu-west sits a little further from the gateway.
    overhead = rng.lognormal(np.log(12.0), 0.3, n) + np.where(region == 1, 6.0, 0.0)

    incident = _incident_intensity(ts_ms) * (region == REGIONS.index(INCIDENT_REGION))
    regression = (
        is_chat
        & is_large
        & (ts_ms >= REGRESSION_START.value // 1_000_000)
        & (ts_ms < REGRESSION_END.value // 1_000_000)
    )
    slow = np.where(regression, REGRESSION_FACTOR, 1.0)

    # Busy hours are slightly slower (queueing in the inference fleet); the incident's overloaded
    # backend also slows the requests that still succeed.
    ttft_med = np.where(is_large, _TTFT_MEDIAN_MS["atlas-large"], _TTFT_MEDIAN_MS["atlas-small"])
    tpot_med = np.where(is_large, _TPOT_MEDIAN_MS["atlas-large"], _TPOT_MEDIAN_MS["atlas-small"])
    ttft_core = ttft_med * rng.lognormal(0.0, 0.45, n)
    tpot = tpot_med * rng.lognormal(0.0, 0.18, n)
    ttft_core *= (1.0 + 0.25 * load) * (1.0 + 0.5 * incident)
    tpot *= 1.0 + 0.08 * load

    # Heavy right tail: a small share of requests wait in a queue for a Pareto-distributed time.
    stalled = rng.random(n) < 0.008
    stall = np.minimum(300.0 * (rng.pareto(1.3, n) + 1.0), 20_000.0) * stalled

    emb_service = 28.0 * rng.lognormal(0.0, 0.35, n) * (1.0 + 0.2 * load)
    # The regression scales the whole LLM request, so its p95 rises by REGRESSION_FACTOR too.
    ttft = (overhead + stall + ttft_core) * slow
    latency = np.where(is_emb, overhead + stall / 10.0 + emb_service, ttft + tokens * tpot * slow)

    # Status: 429 grows with the square of load so rate limiting concentrates at peaks.
    load_sq = load**2
    p429 = _P429 * load_sq / load_sq.mean()
    p500 = _P500 + _INCIDENT_P[500] * incident
    p503 = _P503 + _INCIDENT_P[503] * incident
    p504 = _P504 + _INCIDENT_P[504] * incident
    u = rng.random(n)
    c429 = p429
    c500 = c429 + p500
    c503 = c500 + p503
    c504 = c503 + p504
    status = np.select([u < c429, u < c500, u < c503, u < c504], [429, 500, 503, 504], 200)
    status = status.astype(np.int16)

    # Failure latencies: 429 is rejected at the gateway, 503 is shed quickly, 504 hits the
    # gateway timeout, 500 fails either before the first token or mid-stream.
    fail_429 = overhead * 0.5 + rng.lognormal(np.log(4.0), 0.4, n)
    fail_503 = overhead + rng.lognormal(np.log(25.0), 0.5, n)
    fail_504 = GATEWAY_TIMEOUT_MS + rng.exponential(3.0, n)
    mid_stream = is_llm & (rng.random(n) < 0.25)
    partial = rng.random(n)
    fail_500 = np.where(
        mid_stream,
        ttft + partial * tokens * tpot * slow,
        overhead + rng.lognormal(np.log(250.0), 0.8, n),
    )
    latency = np.select(
        [status == 429, status == 500, status == 503, status == 504],
        [fail_429, fail_500, fail_503, fail_504],
        latency,
    )

    ok = status == 200
    has_ttft = is_llm & (ok | ((status == 500) & mid_stream))
    ttft_out = np.where(has_ttft, np.round(ttft, 1), np.nan)
    latency = np.round(latency, 1)
    # Rounding must never make the first token arrive after the response finished.
    ttft_out = np.where(has_ttft, np.minimum(ttft_out, latency), np.nan)

    tokens_out = pd.array(np.where(ok, tokens, 0).astype(np.int32), dtype="Int32")
    tokens_out[~ok] = pd.NA

    return pd.DataFrame(
        {
            "timestamp": pd.to_datetime(ts_ms, unit="ms", utc=True).as_unit("ms"),
            "endpoint": pd.Categorical.from_codes(endpoint.astype(np.int8), ENDPOINTS),
            "model": pd.Categorical.from_codes(model, MODELS),
            "region": pd.Categorical.from_codes(region.astype(np.int8), REGIONS),
            "status": status,
            "latency_ms": latency.astype(np.float64),
            "ttft_ms": ttft_out.astype(np.float64),
            "output_tokens": tokens_out,
        },
        columns=list(COLUMNS),
    )


def to_arrow(df: pd.DataFrame, seed: int = SEED) -> pa.Table:
    """Convert a generated frame to an Arrow table with the published schema."""

    def dictionary(col: str, values: tuple[str, ...]) -> pa.DictionaryArray:
        """Encode ``col`` against the fixed ``values`` so the dictionary order never varies."""
        codes = pa.array(pd.Categorical(df[col], categories=values).codes, type=pa.int8())
        return pa.DictionaryArray.from_arrays(codes, pa.array(values, type=pa.string()))

    ts = df["timestamp"].dt.as_unit("ms").astype("int64").to_numpy()
    tokens = df["output_tokens"]
    arrays = [
        pa.array(ts, type=pa.timestamp("ms", tz="UTC")),
        dictionary("endpoint", ENDPOINTS),
        dictionary("model", MODELS),
        dictionary("region", REGIONS),
        pa.array(df["status"].to_numpy(), type=pa.int16()),
        pa.array(df["latency_ms"].to_numpy(), type=pa.float64()),
        pa.array(df["ttft_ms"].to_numpy(), type=pa.float64(), from_pandas=True),
        pa.array(
            tokens.to_numpy(dtype=np.int32, na_value=0),
            type=pa.int32(),
            mask=tokens.isna().to_numpy(),
        ),
    ]
    # Explicit metadata instead of pandas' (which embeds library versions) keeps the file stable.
    metadata = {
        b"sloview.sample_data": b"genai_requests",
        b"sloview.sample_data.seed": str(seed).encode(),
    }
    return pa.Table.from_arrays(arrays, names=list(COLUMNS)).replace_schema_metadata(metadata)


def write(df: pd.DataFrame, path: Path, seed: int = SEED) -> None:
    """Write the frame as a zstd-compressed Parquet file with size-friendly encodings."""
    pq.write_table(
        to_arrow(df, seed),
        path,
        compression="zstd",
        compression_level=9,
        # Token counts have at most ~1,000 distinct values, so a dictionary beats delta coding.
        use_dictionary=["endpoint", "model", "region", "status", "output_tokens"],
        # Byte-stream-split lets zstd see the slowly varying exponent bytes of the floats, and
        # delta encoding suits sorted timestamps; measured ~7% smaller than the defaults.
        column_encoding={
            "timestamp": "DELTA_BINARY_PACKED",
            "latency_ms": "BYTE_STREAM_SPLIT",
            "ttft_ms": "BYTE_STREAM_SPLIT",
        },
        row_group_size=1 << 20,
        write_statistics=True,
    )


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point: generate the data set and write it to ``--out``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output Parquet path")
    parser.add_argument("--seed", type=int, default=SEED, help="random seed")
    args = parser.parse_args(argv)
    df = generate(args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write(df, args.out, args.seed)
    print(f"wrote {len(df):,} rows to {args.out} ({args.out.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
