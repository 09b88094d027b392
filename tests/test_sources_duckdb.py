"""DuckDB over files: the same aggregates as the file loaded into memory, exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sloview.errors import SourceError
from sloview.ingest import load_requests
from sloview.ingest.mapping import Mapping
from sloview.ingest.table import RequestTable, times_ns
from sloview.sources.aggregates import Aggregates, from_requests
from sloview.sources.duckdb_files import DuckDbFileSource

ALIBABA = "alibaba_gentd26_genai_serving/lora_request_trace.csv"


def reference(table: RequestTable) -> Aggregates:
    frame = table.frame
    ttft = frame["ttft_ms"].to_numpy() if "ttft_ms" in frame else None
    return from_requests(
        times_ns(frame), frame["ok"].to_numpy(), frame["latency_ms"].to_numpy(), ttft_ms=ttft
    )


def assert_same(agg: Aggregates, ref: Aggregates) -> None:
    assert (agg.origin_ns, agg.n) == (ref.origin_ns, ref.n)
    assert np.array_equal(agg.total, ref.total)
    assert np.array_equal(agg.ok, ref.ok)
    assert np.array_equal(agg.edges_ms, ref.edges_ms)
    assert (agg.counts != ref.counts).nnz == 0
    if ref.ttft is not None:
        assert agg.ttft is not None
        assert (agg.ttft.counts != ref.ttft.counts).nnz == 0


def test_csv_equals_the_file_loader(realdata: Path) -> None:
    path = realdata / ALIBABA
    table = load_requests(path)
    agg = DuckDbFileSource(path).aggregate()
    assert_same(agg, reference(table))
    assert agg.dropped == table.dropped
    assert agg.rows_read == table.rows_read
    assert agg.group_by == ("predict_type",)
    for value, part in table.frame.groupby("predict_type", observed=True):
        assert agg.group(predict_type=str(value)).requests == len(part)


def test_parquet_with_segments_ttft_and_a_range(sample_path: Path) -> None:
    table = load_requests(sample_path)
    agg = DuckDbFileSource(sample_path).aggregate()
    assert_same(agg, reference(table))
    frame = table.frame
    for (endpoint, region), part in frame.groupby(["endpoint", "region"], observed=True):
        picked = [g for g in agg if dict(g.segment)["endpoint"] == endpoint]
        picked = [g for g in picked if dict(g.segment)["region"] == region]
        assert sum(g.requests for g in picked) == len(part)
        assert sum(g.errors for g in picked) == int((~part["ok"]).sum())
    start, end = pd.Timestamp("2026-09-20", tz="UTC"), pd.Timestamp("2026-09-27", tz="UTC")
    ranged = DuckDbFileSource(sample_path, start=start, end=end, group_by=()).aggregate()
    inside = (frame["ts"] >= start) & (frame["ts"] < end)
    assert ranged.requests == int(inside.sum())
    assert ranged.groups == {}


def test_mapping_and_where_filters_apply(sample_path: Path) -> None:
    mapping = Mapping(where=(("endpoint", "chat"),))
    table = load_requests(sample_path, mapping)
    agg = DuckDbFileSource(sample_path, mapping=mapping).aggregate()
    assert_same(agg, reference(table))
    assert agg.dropped == table.dropped


def test_bad_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="file not found"):
        DuckDbFileSource(tmp_path / "missing.parquet").aggregate()
    broken = tmp_path / "broken.csv"
    broken.write_text("timestamp,latency_ms,status\n2024-01-01T00:00:00Z,12.5,200\n")
    with pytest.raises(SourceError, match="no requests between"):
        DuckDbFileSource(broken, start="2030-01-01").aggregate()
