"""OpenMetrics histograms, named as vLLM, TGI and OpenTelemetry GenAI name them, built from the
real LLMPerf requests in `../shared/realdata/` (inside the tests: nothing is copied).

LLMPerf measured TTFT, end-to-end latency and output tokens per request of 19 benchmark
sessions (one per provider and model) but no wall-clock times: its start times are invented
(`synthetic_start_s_NOT_MEASURED`, seconds from each session's start). Here each session is
placed one hour after the previous one, from 2023-12-19 00:00 UTC, and every request is
observed when it finished (synthetic start + end-to-end latency). TPOT is sloview's
(end-to-end - TTFT) / (output tokens - 1). A server histogram is scraped every minute: the
sample at T counts the requests that finished before T.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from sloview.sources.presets import PRESETS

START_S = int(pd.Timestamp("2023-12-19", tz="UTC").timestamp())
SESSION_GAP_S = 3600
# Bucket bounds (seconds) per latency column, written as the Python client writes them.
BOUNDS = {
    "latency_ms": (0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0),
    "ttft_ms": (0.25, 0.5, 1.0, 2.0, 5.0, 10.0),
    "tpot_ms": (0.01, 0.025, 0.05, 0.1, 0.25),
}


def llmperf_requests(csv_path: Path) -> pd.DataFrame:
    """One row per request: finish time (s), ok, model, error code and the three latencies (s)."""
    raw = pd.read_csv(csv_path)
    session = raw.groupby(["provider", "model_size"], sort=False).ngroup()
    start = START_S + session * SESSION_GAP_S + raw["synthetic_start_s_NOT_MEASURED"]
    e2e = raw["end_to_end_latency_s"].astype(float)
    ttft = raw["ttft_s"].astype(float)
    tokens = raw["number_output_tokens"].astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        tpot = np.where(tokens > 1, (e2e - ttft) / (tokens - 1), np.nan)
    return pd.DataFrame(
        {
            "done_s": (start + e2e).to_numpy(),
            "ok": raw["is_error"].to_numpy() == 0,
            "model": raw["model"].astype(str).to_numpy(),
            "error": raw["error_code"].fillna(0).astype(int).astype(str).to_numpy(),
            "latency_ms": e2e.to_numpy(),
            "ttft_ms": ttft.to_numpy(),
            "tpot_ms": tpot,
        }
    )


def preset_openmetrics(requests: pd.DataFrame, name: str, path: Path) -> Path:
    """One OpenMetrics file with the preset's histograms over these requests."""
    preset = PRESETS[name]
    first = int(requests["done_s"].min()) // 60 * 60
    last = int(requests["done_s"].max()) // 60 * 60 + 60
    times = np.arange(first, last + 60, 60)
    lines: list[str] = []
    columns = {"latency_ms": preset.latency, "ttft_ms": preset.ttft, "tpot_ms": preset.tpot}
    for column, metric in columns.items():
        if metric is None:
            continue
        lines.append(f"# TYPE {metric} histogram\n")
        # TTFT and TPOT: successful requests with a value; end to end: successes, and with a
        # status label (OpenTelemetry) failures too.
        observed = requests[
            requests[column].notna()
            & (requests["ok"] | (column == "latency_ms" and preset.status_label is not None))
        ]
        for labels, part in _label_sets(observed, preset.model_label, preset.status_label):
            lines.extend(_histogram_lines(metric, labels, part, column, times))
    lines.append("# EOF\n")
    path.write_text("".join(lines))
    return path


def _label_sets(frame: pd.DataFrame, model_label: str | None, status_label: str | None):  # type: ignore[no-untyped-def]
    keys = []
    if model_label:
        keys.append("model")
    if status_label:
        keys.append("error")
    if not keys:
        yield {}, frame
        return
    for values, part in frame.groupby(keys, sort=True):
        values = values if isinstance(values, tuple) else (values,)
        labels = {}
        for key, value in zip(keys, values, strict=True):
            if key == "model":
                labels[str(model_label)] = str(value)
            elif value != "0":
                labels[str(status_label)] = str(value)
        yield labels, part


def _histogram_lines(
    metric: str, labels: dict[str, str], part: pd.DataFrame, column: str, times: np.ndarray
) -> list[str]:
    bounds = np.array([*BOUNDS[column], math.inf])
    slot = np.searchsorted(times, part["done_s"].to_numpy(), side="right")
    col = np.searchsorted(bounds, part[column].to_numpy(), side="left")
    counts = np.zeros((times.size, bounds.size), dtype=np.int64)
    np.add.at(counts, (slot, col), 1)
    cum = np.cumsum(np.cumsum(counts, axis=0), axis=1)
    inner = ",".join(f'{k}="{v}"' for k, v in labels.items())
    sep = "," if inner else ""
    les = [*(repr(b) for b in BOUNDS[column]), "+Inf"]
    out = []
    for i, t in enumerate(times):
        for j, le in enumerate(les):
            out.append(f'{metric}_bucket{{{inner}{sep}le="{le}"}} {cum[i, j]} {t}\n')
        count = f"{metric}_count{{{inner}}}" if inner else f"{metric}_count"
        out.append(f"{count} {cum[i, -1]} {t}\n")
    return out
