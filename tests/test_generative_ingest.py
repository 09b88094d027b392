"""Generative endpoints: synthetic start times, output-length bands, time-free segment comparison.

Expected values are computed here with pandas/numpy/scipy from the files themselves.
"""

from __future__ import annotations

import io
import json
import math
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scipy import stats as sps

from sloview.cli import main
from sloview.engine import Engine
from sloview.errors import DataError, SpecError
from sloview.explore import percentiles_over_time, rates_over_time, segment_attainment
from sloview.ingest import Mapping, load_requests
from sloview.ingest.error_classes import ERROR_CLASSES

LLMPERF_FLAT = "llmperf_leaderboard_2023/llmperf_requests_flat.csv"
SYNTHETIC = "synthetic_start_s_NOT_MEASURED"
NOTE_START = "Start times are synthetic (not measured): time-based figures show"
BANDS = ["<=256", "257-1024", ">1024"]


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    capsys.readouterr()
    code = main([*args, "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    result = json.loads(out)
    assert isinstance(result, dict)
    return result


@pytest.fixture(scope="module")
def llmperf(realdata: Path) -> pd.DataFrame:
    return pd.read_csv(realdata / LLMPERF_FLAT)


# --- Synthetic start times --------------------------------------------------------------------


def test_synthetic_start_is_never_detected(realdata: Path) -> None:
    table = load_requests(realdata / LLMPERF_FLAT)
    assert table.mapping.timestamp is None
    assert not table.has_timestamps
    assert table.synthetic_times is False
    assert table.synthetic_times_note is None
    assert not any(n.startswith("Start times are synthetic") for n in table.notes)


def test_synthetic_start_mapped_explicitly(realdata: Path, llmperf: pd.DataFrame) -> None:
    table = load_requests(realdata / LLMPERF_FLAT, Mapping(timestamp=SYNTHETIC))
    assert table.mapping.timestamp == SYNTHETIC
    assert table.mapping.synthetic_times is True
    assert table.synthetic_times is True
    note = table.synthetic_times_note
    assert note is not None
    assert note.startswith(NOTE_START)
    assert SYNTHETIC in note
    assert any(n.startswith(NOTE_START) for n in table.notes)
    assert "marked synthetic (not measured)" in table.mapping.reasons["timestamp"]
    # Seconds counted from zero: 1970-01-01 UTC plus the invented offset, to the nanosecond.
    expected = np.sort(np.round(llmperf[SYNTHETIC].to_numpy() * 1e9).astype(np.int64))
    got = table.frame["ts"].array.asi8
    assert np.abs(got - expected).max() <= 1
    assert table.frame["ts"].iloc[0] == pd.Timestamp("1970-01-01", tz="UTC")
    assert table.frame["ts"].is_monotonic_increasing
    # The README counts seven providers, but the flat file holds eight (Bedrock included).
    assert table.frame["provider"].nunique() == llmperf["provider"].nunique() == 8
    assert table.rows == len(llmperf) == 2845


def test_synthetic_times_work_for_time_based_figures(realdata: Path, llmperf: pd.DataFrame) -> None:
    table = load_requests(realdata / LLMPERF_FLAT, Mapping(timestamp=SYNTHETIC))
    engine = Engine(table)
    base = engine.require_time()
    assert (base.origin_ns, base.first_ns) == (0, 0)
    assert base.n == int(llmperf[SYNTHETIC].max() // 60) + 1
    rates = rates_over_time(engine, 60)
    assert int(rates["requests"].sum()) == 2845
    assert int(rates["errors"].sum()) == int(llmperf["error_code"].notna().sum())
    assert rates["start"].iloc[0] == pd.Timestamp("1970-01-01", tz="UTC")
    over_time = percentiles_over_time(engine, "ttft_ms", 60)
    assert int(over_time["requests"].sum()) == int(llmperf["error_code"].isna().sum())


@pytest.mark.parametrize(
    ("window", "first_period"),
    [
        (["--window", "1d"], "1970-01-01T00:00:00Z"),
        (["--calendar", "day"], "1970-01-01T00:00:00Z"),
        # Local midnight before the epoch in New York: a period starting in 1969.
        (["--calendar", "day", "--window-tz", "America/New_York"], "1969-12-31T05:00:00Z"),
    ],
)
def test_synthetic_times_simulate(
    realdata: Path,
    llmperf: pd.DataFrame,
    capsys: pytest.CaptureFixture[str],
    window: list[str],
    first_period: str,
) -> None:
    result = run_json(
        capsys,
        "simulate",
        str(realdata / LLMPERF_FLAT),
        "--timestamp",
        SYNTHETIC,
        "--metric",
        "ttft_ms",
        "--threshold-ms",
        "1000",
        "--target",
        "0.9",
        *window,
    )
    slo = result["slos"][0]
    ok = llmperf["error_code"].isna()
    assert slo["overall"]["total"] == int(ok.sum())
    assert slo["overall"]["good"] == int((ok & (llmperf["ttft_s"] * 1000 <= 1000)).sum())
    assert slo["periods"][0]["start"] == first_period


def test_synthetic_unit_from_the_name_and_never_auto_picked(tmp_path: Path) -> None:
    offsets_ms = [0, 1500, 250, 4000]
    lines = ["latency_ms,status,start_synthetic_ms"]
    lines += [f"{i + 10},200,{v}" for i, v in enumerate(offsets_ms)]
    path = tmp_path / "bench.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert load_requests(path).mapping.timestamp is None
    table = load_requests(path, Mapping(timestamp="start_synthetic_ms"))
    # Magnitude would call these seconds; the name says milliseconds.
    assert table.frame["ts"].tolist() == [
        pd.Timestamp(v, unit="ms", tz="UTC") for v in sorted(offsets_ms)
    ]
    assert table.synthetic_times


def test_real_looking_times_marked_not_measured_are_skipped() -> None:
    times = pa.array([1_700_000_000_000 + i for i in range(4)], pa.timestamp("ms", tz="UTC"))
    data = pa.table(
        {
            "ts_NOT_MEASURED": times,
            "created_at": pa.array([f"2024-05-06T07:08:0{i}Z" for i in range(4)]),
            "latency_ms": pa.array([1.0, 2.0, 3.0, 4.0]),
        }
    )
    buf = io.BytesIO()
    pq.write_table(data, buf)
    table = load_requests(buf.getvalue(), name="mixed.parquet")
    assert table.mapping.timestamp == "created_at"
    assert not table.synthetic_times


# --- Output-length bands ----------------------------------------------------------------------


def pandas_bands(tokens: pd.Series) -> pd.Series:
    """Bands by pandas.cut, written independently of sloview."""
    cut = pd.cut(tokens, bins=[-math.inf, 256, 1024, math.inf], labels=BANDS)
    return cut.astype(object).where(tokens.notna(), "(missing)")


def test_sample_output_length_bands(sample_path: Path) -> None:
    df = pd.read_parquet(sample_path, columns=["timestamp", "output_tokens"])
    df = df.sort_values("timestamp", kind="stable")
    expected = pandas_bands(df["output_tokens"])

    table = load_requests(sample_path)
    bands = table.frame["output_length"]
    assert "output_length" in table.segments
    assert table.mapping.output_length_bands
    assert "output_tokens" in table.mapping.reasons["output_length"]
    assert bands.astype(str).tolist() == expected.tolist()
    assert bands.value_counts().to_dict() == expected.value_counts().to_dict()
    # Only bands that occur are categories, in band order; one byte per request.
    present = [b for b in [*BANDS, "(missing)"] if (expected == b).any()]
    assert list(bands.cat.categories) == present
    assert bands.cat.codes.dtype == np.int8
    assert table.bytes_per_request() <= 40
    segments = table.bytes_per_request(include_segments=True) - table.bytes_per_request()
    assert segments <= len(table.segments) + 1 + 0.01  # int8 codes: segments plus error_class


def test_band_edges_and_missing(tmp_path: Path) -> None:
    tokens = ["0", "256", "257", "1024", "1025", "", "5000"]
    lines = ["latency_ms,status,output_tokens"] + [f"{i + 1},200,{t}" for i, t in enumerate(tokens)]
    path = tmp_path / "tokens.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    table = load_requests(path)
    expected = pandas_bands(pd.to_numeric(pd.Series(tokens), errors="coerce"))
    assert table.frame["output_length"].astype(str).tolist() == expected.tolist()
    assert expected.tolist() == [
        "<=256",
        "<=256",
        "257-1024",
        "257-1024",
        ">1024",
        "(missing)",
        ">1024",
    ]


def test_no_bands_without_output_tokens(realdata: Path) -> None:
    table = load_requests(realdata / "jmeter_error_samples" / "taurus_slow-stdev.jtl")
    assert "output_length" not in table.frame.columns
    assert "output_length" not in table.segments
    for mapping in (
        Mapping(where=(("output_length", "<=256"),)),
        Mapping(segments=("output_length",)),
    ):
        with pytest.raises(DataError, match="needs output token counts"):
            load_requests(realdata / "jmeter_error_samples" / "taurus_slow-stdev.jtl", mapping)


def test_band_filter_reaches_the_slo(sample_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    df = pd.read_parquet(sample_path, columns=["status", "latency_ms", "output_tokens"])
    band = pandas_bands(df["output_tokens"]) == "257-1024"
    ok = ~(df["status"].between(500, 599) | (df["status"] == 429))
    result = run_json(
        capsys,
        "simulate",
        str(sample_path),
        "--where",
        "output_length=257-1024",
        "--threshold-ms",
        "20000",
        "--target",
        "0.95",
    )
    slo = result["slos"][0]
    assert slo["overall"]["total"] == int((band & ok).sum())
    assert slo["overall"]["good"] == int((band & ok & (df["latency_ms"] <= 20000)).sum())
    # The engine's segment filter sees the same requests.
    table = load_requests(sample_path)
    assert Engine(table).view((("output_length", "257-1024"),)).rows == int(band.sum())
    with pytest.raises(DataError, match="not an output-length band"):
        load_requests(sample_path, Mapping(where=(("output_length", "huge"),)))


def test_session_listing_the_derived_segment_loads(sample_path: Path) -> None:
    mapping = Mapping(segments=("endpoint", "output_length"))
    table = load_requests(sample_path, Mapping.from_dict(mapping.to_dict()))
    assert table.segments.count("output_length") == 1


# --- Time-free comparison per segment ---------------------------------------------------------


def expected_rows(
    frame: pd.DataFrame,
    column: str,
    metric: str,
    threshold: float,
    op: str,
    target: float,
    failed_requests: str,
) -> dict[str, dict[str, Any]]:
    """segment_attainment, recomputed with pandas/numpy/scipy group by group."""
    compare = {
        "lte": np.less_equal,
        "lt": np.less,
        "gte": np.greater_equal,
        "gt": np.greater,
    }[op]
    out = {}
    for value, part in frame.groupby(column, observed=True):
        values = part[metric].to_numpy(dtype=float, na_value=np.nan)
        ok = part["ok"].to_numpy(dtype=bool)
        measured = np.sort(values[ok & np.isfinite(values) & (values >= 0)])
        failed = int((~ok).sum())
        valid = measured.size + (failed if failed_requests == "bad" else 0)
        good = int(compare(measured, threshold).sum())
        ranked = measured
        if failed_requests == "bad":
            ranked = np.concatenate([measured, np.full(failed, np.inf)])
        k = math.ceil(Fraction(str(target)) * valid)
        if valid == 0:  # e.g. only failed requests, left out: nothing to judge
            out[str(value)] = {"requests": len(part), "errors": failed, "valid": 0, "good": 0}
            continue
        out[str(value)] = {
            "requests": len(part),
            "errors": failed,
            "valid": valid,
            "good": good,
            "attainment": good / valid,
            "cp_low": sps.beta.ppf(0.025, good, valid - good + 1) if good else 0.0,
            "cp_high": sps.beta.ppf(0.975, good + 1, valid - good) if good < valid else 1.0,
            "percentiles": {q: np.percentile(measured, q) for q in (50, 90, 95, 99)},
            "tightest": ranked[k - 1],
            "ranked": ranked,
            "classes": part["error_class"].value_counts().to_dict(),
        }
    return out


CASES = [
    ("llmperf", "provider", "ttft_ms", 1000.0, "lte", 0.9, "exclude"),
    ("llmperf", "provider", "latency_ms", 8000.0, "lt", 0.95, "bad"),
    ("llmperf", "model_size", "tpot_ms", 20.0, "lte", 0.99, "exclude"),
    ("sample", "endpoint", "latency_ms", 15000.0, "lt", 0.95, "bad"),
    ("sample", "output_length", "ttft_ms", 500.0, "lte", 0.9, "exclude"),
]


@pytest.mark.parametrize(
    ("source", "column", "metric", "threshold", "op", "target", "failed"), CASES
)
def test_segment_attainment_matches_pandas(
    realdata: Path,
    sample_path: Path,
    source: str,
    column: str,
    metric: str,
    threshold: float,
    op: str,
    target: float,
    failed: str,
) -> None:
    path = realdata / LLMPERF_FLAT if source == "llmperf" else sample_path
    table = load_requests(path)
    got = segment_attainment(
        table,
        column,
        metric,
        threshold,
        op,
        target,
        failed,  # type: ignore[arg-type]
    )
    want = expected_rows(table.frame, column, metric, threshold, op, target, failed)
    assert sorted(got[column]) == sorted(want)
    # Most requests first.
    assert got["requests"].tolist() == sorted(got["requests"], reverse=True)
    for row in got.to_dict("records"):
        exp = want[row[column]]
        for key in ("requests", "errors", "valid", "good"):
            assert row[key] == exp[key], (row[column], key)
        if exp["valid"] == 0:
            assert math.isnan(row["attainment"])
            assert math.isnan(row["tightest_threshold_ms"])
            assert not row["meets_target"]
            continue
        assert row["attainment"] == pytest.approx(exp["attainment"], rel=1e-12)
        assert row["ci_low"] <= row["attainment"] <= row["ci_high"]
        assert row["ci_low"] == pytest.approx(exp["cp_low"], abs=1e-9)
        assert row["ci_high"] == pytest.approx(exp["cp_high"], abs=1e-9)
        assert row["meets_target"] == (exp["attainment"] >= target)
        for q, value in exp["percentiles"].items():
            assert row[f"p{q}_ms"] == pytest.approx(value, rel=1e-12)
            lo, hi = row[f"p{q}_ci_low_ms"], row[f"p{q}_ci_high_ms"]
            if not (math.isnan(lo) or math.isnan(hi)):
                assert lo <= value <= hi
        tightest = row["tightest_threshold_ms"]
        assert tightest == exp["tightest"]
        ranked = exp["ranked"]
        if math.isfinite(tightest):
            # The defining property: the smallest value that at least target of valid meet.
            assert (ranked <= tightest).sum() >= Fraction(str(target)) * ranked.size
            assert (ranked < tightest).sum() < Fraction(str(target)) * ranked.size
        lo, hi = row["tightest_ci_low_ms"], row["tightest_ci_high_ms"]
        if not (math.isnan(lo) or math.isnan(hi)):
            assert lo <= tightest <= hi
        for name in ERROR_CLASSES:
            assert row[f"errors_{name}"] == exp["classes"].get(name, 0), (row[column], name)


def test_segment_attainment_on_llmperf_providers(realdata: Path, llmperf: pd.DataFrame) -> None:
    table = load_requests(realdata / LLMPERF_FLAT)
    assert not table.has_timestamps
    got = segment_attainment(table, "provider", "ttft_ms", 1000.0, target=0.9).set_index("provider")
    assert got.loc["lepton", "errors_rate_limited"] == 390
    assert got.loc["bedrock", "errors_too_short"] == 146
    assert got.loc["together", "errors_other"] == 1
    lepton = llmperf[(llmperf["provider"] == "lepton") & llmperf["error_code"].isna()]
    assert got.loc["lepton", "valid"] == len(lepton) == 60
    assert got.loc["lepton", "good"] == int((lepton["ttft_s"] * 1000 <= 1000).sum())


def test_segment_attainment_larger_is_better(realdata: Path) -> None:
    table = load_requests(realdata / LLMPERF_FLAT)
    got = segment_attainment(table, "provider", "latency_ms", 3000.0, "gte", 0.8)
    frame = table.frame
    for row in got.to_dict("records"):
        part = frame[(frame["provider"] == row["provider"]) & frame["ok"]]
        values = np.sort(part["latency_ms"].to_numpy())
        assert row["good"] == int((values >= 3000.0).sum())
        k = math.ceil(Fraction("0.8") * values.size)
        assert row["tightest_threshold_ms"] == values[values.size - k]  # k-th largest


def test_segment_attainment_refuses_bad_input(sample_path: Path) -> None:
    table = load_requests(sample_path)
    with pytest.raises(SpecError, match="not a segment"):
        segment_attainment(table, "status", "latency_ms", 100.0)
    with pytest.raises(SpecError, match="no tpot"):
        segment_attainment(table, "endpoint", "tpot", 100.0)
    with pytest.raises(SpecError, match="not in"):
        segment_attainment(table, "endpoint", "latency_ms", 100.0, target=1.5)
