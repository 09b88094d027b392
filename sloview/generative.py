"""Figures as data for generative endpoints: goodput beside throughput, and latency by length.

Pure functions of an engine -> typed results or pandas frames; `sloview.charts` draws them.

- Goodput is the rate of requests that were good in every way: they succeeded and met every
  condition of a joint SLI (e.g. TTFT <= 500 ms and TPOT <= 50 ms). Raw throughput counts
  every request.
- Length: end-to-end latency grows with the answer's length, so one latency threshold is
  unfair to long answers. `length_trend` fits latency_ms = a + b x output_tokens over
  successful requests that produced at least one token, and summarises each output-length
  band (`<=256`, `257-1024`, `>1024` tokens: the bands of the `output_length` segment, so
  per-band latency SLOs are ordinary segment SLOs).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sloview.engine import BUCKET_S, Engine
from sloview.engine.scope import Scope
from sloview.errors import IN_MAPPING_FORM, SpecError
from sloview.ingest.table import LATENCY, OUTPUT_LENGTH_BANDS, OUTPUT_LENGTH_EDGES, OUTPUT_TOKENS
from sloview.model import Condition

# (label, lowest, highest output tokens) of each band: the bands of the `output_length`
# segment, from the one place that defines them.
LENGTH_BANDS: tuple[tuple[str, float, float], ...] = tuple(
    zip(
        OUTPUT_LENGTH_BANDS,
        (-math.inf, *(e + 1 for e in OUTPUT_LENGTH_EDGES)),
        (*OUTPUT_LENGTH_EDGES, math.inf),
        strict=True,
    )
)
SAMPLE_POINTS = 4000


def _slice_starts(engine: Engine, size: int, n: int) -> pd.DatetimeIndex:
    base = engine.require_time()
    starts = base.origin_ns + np.arange(n, dtype=np.int64) * size * BUCKET_S * 10**9
    return pd.DatetimeIndex(starts.view("datetime64[ns]")).tz_localize("UTC")


def _per_slice(per_bucket: np.ndarray, size: int, n: int) -> np.ndarray:
    padded = np.zeros(n * size, dtype=np.int64)
    padded[: per_bucket.size] = per_bucket
    return padded.reshape(n, size).sum(axis=1)


def _check_conditions(conditions: Sequence[Condition]) -> tuple[Condition, ...]:
    conds = tuple(conditions)
    if not conds:
        raise SpecError("goodput needs at least one condition", where="conditions")
    metrics = [c.metric for c in conds]
    if len(set(metrics)) != len(metrics):
        raise SpecError("a latency column appears twice", where="conditions")
    return conds


def goodput_over_time(scope: Scope, slice_s: int = 300) -> pd.DataFrame:
    """Per slice: requests, good requests, throughput and goodput (requests/s), good share."""
    # Columns: `start` (UTC), `requests` (all, failed included), `good` (succeeded and met
    # every condition), `requests_per_s`, `goodput_per_s`, `good_share` (good / requests; NaN
    # in empty slices).
    engine, conds = scope.engine, _check_conditions(scope.slo.sli.conditions)
    base = engine.require_time()
    if slice_s <= 0 or slice_s % BUCKET_S:
        raise SpecError("the slice must be a whole number of minutes", where="slice")
    size = slice_s // BUCKET_S
    n = -(-base.n // size)
    good_b, _ = engine.joint_counts(conds)
    requests = _per_slice(engine.total, size, n)
    good = _per_slice(good_b, size, n)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(requests > 0, good / np.maximum(requests, 1), np.nan)
    seconds = engine.slice_seconds(slice_s)
    frame = pd.DataFrame(
        {
            "start": _slice_starts(engine, size, n),
            "requests": requests,
            "good": good,
            "requests_per_s": requests / seconds,
            "goodput_per_s": good / seconds,
            "good_share": share,
        }
    )
    return frame.iloc[engine.first_slice(slice_s) :].reset_index(drop=True)


def goodput_by_segment(scope: Scope, column: str) -> pd.DataFrame:
    """Per segment value: requests, good requests, mean throughput and goodput, good share."""
    # A segment without a value for a condition's column (embeddings have no TTFT) has no
    # goodput under that condition: its `good` is 0.
    engine, conds = scope.engine, _check_conditions(scope.slo.sli.conditions)
    engine.require_time()
    # Over the measured span of the candidate's requests (at least a second).
    span_s = max(float(engine.span_s or 0.0), 1.0)
    rows = []
    for part in scope.split(column):
        view, value = part.engine, dict(part.slo.segment)[column]
        good = int(view.joint_counts(conds)[0].sum())
        requests = int(view.rows)
        rows.append(
            {
                column: value,
                "requests": requests,
                "good": good,
                "requests_per_s": requests / span_s,
                "goodput_per_s": good / span_s,
                "good_share": good / requests if requests else math.nan,
            }
        )
    return pd.DataFrame(
        rows,
        columns=[column, "requests", "good", "requests_per_s", "goodput_per_s", "good_share"],
    )


@dataclass(frozen=True)
class LengthTrend:
    """Least-squares fit latency_ms = intercept_ms + ms_per_token x output_tokens, with bands."""

    intercept_ms: float
    ms_per_token: float
    r_squared: float
    # Requests fitted.
    requests: int
    # One row per output-length band: `band`, `requests`, `tokens_p50`, `latency_p50_ms`,
    # `latency_p95_ms`, `ms_per_token_p50` (latency / tokens per request); linear percentiles.
    bands: pd.DataFrame
    # An evenly spaced, deterministic subset of the fitted requests (`output_tokens`,
    # `latency_ms`) for a scatter.
    sample: pd.DataFrame
    # Requests not fitted, by reason.
    left_out: dict[str, int] = field(default_factory=dict)

    def predict(self, tokens: np.ndarray | float) -> np.ndarray:
        """Fitted latency (ms) at these output token counts."""
        return self.intercept_ms + self.ms_per_token * np.asarray(tokens, dtype=np.float64)


def length_trend(engine: Engine, sample_points: int = SAMPLE_POINTS) -> LengthTrend:
    """How end-to-end latency grows with output length (successful requests with tokens)."""
    # A request without an answer (no output tokens) has no length to explain: left out.
    frame = engine.frame
    if OUTPUT_TOKENS not in frame.columns:
        raise SpecError(
            "the data have no output token counts",
            where="output_tokens",
            hint="map the output token column (--output-tokens COL)",
            app_hint=f"choose the output tokens column {IN_MAPPING_FORM}",
        )
    tokens = frame[OUTPUT_TOKENS].to_numpy(dtype=np.float64, na_value=np.nan)
    latency = frame[LATENCY].to_numpy(dtype=np.float64, na_value=np.nan)
    ok = engine.ok
    known = np.isfinite(tokens)
    fitted = ok & known & (tokens >= 1) & np.isfinite(latency)
    left_out = {
        "failed": int(np.count_nonzero(~ok)),
        "no output token count": int(np.count_nonzero(ok & ~known)),
        "no output tokens": int(np.count_nonzero(ok & known & (tokens < 1))),
    }
    x, y = tokens[fitted], latency[fitted]
    n = int(x.size)
    if n < 2:
        raise SpecError(
            "fewer than two successful requests with output tokens: nothing to fit",
            where="output_tokens",
        )
    # Centred sums: exact enough at 10^7 rows, where raw sums of squares lose digits.
    mx, my = float(x.mean()), float(y.mean())
    dx, dy = x - mx, y - my
    sxx, sxy, syy = float(dx @ dx), float(dx @ dy), float(dy @ dy)
    slope = sxy / sxx if sxx > 0 else math.nan
    intercept = my - slope * mx if sxx > 0 else math.nan
    r2 = sxy * sxy / (sxx * syy) if sxx > 0 and syy > 0 else math.nan

    band_rows = []
    for label, lo, hi in LENGTH_BANDS:
        inside = (x >= lo) & (x <= hi)
        bx, by = x[inside], y[inside]
        has = bx.size > 0
        p50, p95 = np.percentile(by, (50, 95)) if has else (math.nan, math.nan)
        band_rows.append(
            {
                "band": label,
                "requests": int(bx.size),
                "tokens_p50": float(np.percentile(bx, 50)) if has else math.nan,
                "latency_p50_ms": float(p50),
                "latency_p95_ms": float(p95),
                "ms_per_token_p50": float(np.percentile(by / bx, 50)) if has else math.nan,
            }
        )
    picks = np.unique(np.linspace(0, n - 1, min(sample_points, n)).astype(np.int64))
    sample = pd.DataFrame({OUTPUT_TOKENS: x[picks], LATENCY: y[picks]})
    return LengthTrend(
        intercept_ms=intercept,
        ms_per_token=slope,
        r_squared=r2,
        requests=n,
        bands=pd.DataFrame(band_rows),
        sample=sample,
        left_out=left_out,
    )
