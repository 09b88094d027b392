"""Real request files from ../shared/realdata, cross-checked against plain pandas/numpy.

Every expected number is computed inside the test from the file itself (pandas reads it, the
rule is applied by hand, numpy gives the percentiles), so a wrong conversion in sloview cannot
hide behind a wrong constant. A few figures from the data README are pinned as well.
"""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from sloview.cli import main
from sloview.ingest import load_requests

TAURUS = "jmeter_error_samples/taurus_slow-stdev.jtl"
STANDARD_ERRORS = "jmeter_error_samples/taurus_standard-errors.flat.csv"
DEFRA = "jmeter_error_samples/defra_rcr_result.jtl"
ALIBABA = "alibaba_gentd26_genai_serving/lora_request_trace.csv"
LLMPERF_FLAT = "llmperf_leaderboard_2023/llmperf_requests_flat.csv"
LLMPERF_JSON = "llmperf_leaderboard_2023/raw/individual"
EHRBASE = {
    "result_2022-05-16_828624a9.jtl": (14, 608, 2278),
    "result_2022-06-17_3d146337.jtl": (15, 676, 4427),
    "result_2022-07-04_03025eaa.jtl": (17, 702, 2953),
}
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
PERCENTILES = {"p50": 50, "p90": 90, "p95": 95, "p99": 99, "p99.9": 99.9}


def expected_latency(latency_ms: Any) -> dict[str, float]:
    """The latency block of `summarize --json`, computed with numpy (linear percentiles)."""
    values = np.asarray(latency_ms, dtype=float)
    out = {k: float(np.percentile(values, q, method="linear")) for k, q in PERCENTILES.items()}
    out["mean"] = float(values.mean())
    out["max"] = float(values.max())
    return out


def assert_latency(got: dict[str, Any], latency_ms: Any) -> None:
    expected = expected_latency(latency_ms)
    assert set(got) == set(expected)
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=1e-9, abs=1e-9), key


def summarize_json(capsys: pytest.CaptureFixture[str], path: Path, *flags: str) -> dict[str, Any]:
    """Run `sloview summarize PATH --json FLAGS` in-process and parse its one JSON object."""
    capsys.readouterr()
    code = main(["summarize", str(path), "--json", *flags])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert err == ""
    result = json.loads(out)
    assert isinstance(result, dict)
    return result


def iso_z(ts: pd.Timestamp) -> pd.Timestamp:
    return pd.Timestamp(ts).tz_convert("UTC") if ts.tzinfo else ts.tz_localize("UTC")


def assert_span(result: dict[str, Any], start: pd.Timestamp, end: pd.Timestamp) -> None:
    assert ISO_Z.match(result["start"]), result["start"]
    assert ISO_Z.match(result["end"]), result["end"]
    assert pd.Timestamp(result["start"]) == iso_z(start)
    assert pd.Timestamp(result["end"]) == iso_z(end)


# --- JMeter: taurus slow-stdev (599 rows, 63 failures) ---------------------------------------


def test_taurus_summary_matches_numpy(realdata: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = realdata / TAURUS
    df = pd.read_csv(path)
    ok = df["success"].astype(str).str.lower() == "true"

    result = summarize_json(capsys, path)

    assert result["rows"] == 599 == len(df)
    assert result["rows_read"] == 599
    assert result["dropped"] == {}
    assert result["errors"] == 63 == int((~ok).sum())
    # Two HTTP 200 responses failed an assertion: the success flag, not the code, decides.
    assert int((df["responseCode"] == 500).sum()) == 61
    assert result["error_rate"] == pytest.approx(63 / 599)
    assert_latency(result["latency_ms"], df.loc[ok, "elapsed"])
    assert_span(
        result,
        pd.to_datetime(df["timeStamp"].min(), unit="ms", utc=True),
        pd.to_datetime(df["timeStamp"].max(), unit="ms", utc=True),
    )
    assert result["format"].startswith("JMeter JTL")
    assert "`success`" in result["status_policy"]


def test_console_entry_point_prints_the_same_json(
    realdata: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = realdata / TAURUS
    in_process = summarize_json(capsys, path)
    script = Path(sys.executable).with_name("sloview")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "sloview.cli"]
    proc = subprocess.run(
        [*command, "summarize", str(path), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert json.loads(proc.stdout) == in_process


# --- Alibaba GenAI serving trace: status words and seconds ------------------------------------


@pytest.fixture(scope="module")
def alibaba(realdata: Path) -> pd.DataFrame:
    return pd.read_csv(realdata / ALIBABA)


def test_alibaba_default_policy_excludes_pending_and_processing(
    realdata: Path, alibaba: pd.DataFrame, capsys: pytest.CaptureFixture[str]
) -> None:
    status = alibaba["predict_status"]
    counts = status.value_counts().to_dict()
    assert counts == {"SUCCEED": 26392, "FAILED": 398, "PENDING": 30, "PROCESSING": 3}
    classified = status.isin(["SUCCEED", "FAILED"])

    result = summarize_json(capsys, realdata / ALIBABA)

    assert result["rows_read"] == len(alibaba) == 26823
    assert result["dropped"] == {"status not classified": 33}
    assert result["rows"] == int(classified.sum())
    assert result["errors"] == counts["FAILED"]
    assert_latency(
        result["latency_ms"], alibaba.loc[status == "SUCCEED", "exec_time_seconds"] * 1000
    )
    when = pd.to_datetime(alibaba.loc[classified, "gmt_create"], format="%Y-%m-%d %H:%M:%S")
    assert_span(result, when.min(), when.max())
    notes = " ".join(result["notes"])
    assert "'PENDING' x30" in notes
    assert "'PROCESSING' x3" in notes


def test_alibaba_good_bad_lists_count_pending_as_failed(
    realdata: Path, alibaba: pd.DataFrame, capsys: pytest.CaptureFixture[str]
) -> None:
    status = alibaba["predict_status"]
    result = summarize_json(
        capsys, realdata / ALIBABA, "--good", "SUCCEED", "--bad", "FAILED,PENDING"
    )
    assert result["dropped"] == {"status not classified": 3}  # PROCESSING is in neither list
    assert result["rows"] == int(status.isin(["SUCCEED", "FAILED", "PENDING"]).sum()) == 26820
    assert result["errors"] == int(status.isin(["FAILED", "PENDING"]).sum()) == 428
    assert_latency(
        result["latency_ms"], alibaba.loc[status == "SUCCEED", "exec_time_seconds"] * 1000
    )
    assert "good = SUCCEED" in result["status_policy"]


def test_alibaba_latency_unit_comes_from_the_column_name(
    realdata: Path, alibaba: pd.DataFrame
) -> None:
    table = load_requests(realdata / ALIBABA)
    mapping = table.mapping
    assert (mapping.latency, mapping.latency_unit) == ("exec_time_seconds", "s")
    assert "exec_time_seconds" in mapping.reasons["latency_unit"]
    assert mapping.timestamp == "gmt_create"
    kept = alibaba[alibaba["predict_status"].isin(["SUCCEED", "FAILED"])]
    np.testing.assert_allclose(
        np.sort(table.frame["latency_ms"].to_numpy()),
        np.sort(kept["exec_time_seconds"].to_numpy() * 1000),
    )
    assert table.frame["ts"].is_monotonic_increasing
    assert "predict_type" in table.segments
    assert table.frame["predict_type"].value_counts().to_dict() == (
        kept["predict_type"].value_counts().to_dict()
    )


# --- LLMPerf: JSON arrays and the flat CSV ----------------------------------------------------

LLMPERF_FILES = {
    # file: (rows, {error_code: count}) from the data README
    "lepton_70b.json": (150, {429: 130}),
    "lepton_7b.json": (150, {429: 130}),
    "bedrock_13b.json": (150, {-100: 97}),
    "bedrock_70b.json": (150, {-100: 49}),
    "perplexity_70b.json": (150, {429: 2}),
    "together_13b.json": (150, {-1: 1}),
    "anyscale_70b.json": (150, {}),
    "replicate_70b.json": (145, {}),
}


@pytest.mark.parametrize(("name", "expected"), LLMPERF_FILES.items())
def test_llmperf_json(
    realdata: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    expected: tuple[int, dict[int, int]],
) -> None:
    path = realdata / LLMPERF_JSON / name
    df = pd.DataFrame(json.loads(path.read_text()))
    ok = df["error_code"].isna()
    rows, codes = expected
    assert len(df) == rows
    assert df["error_code"].dropna().astype(int).value_counts().to_dict() == codes

    result = summarize_json(capsys, path)
    assert result["format"].startswith("LLMPerf")
    assert (result["rows"], result["errors"], result["dropped"]) == (rows, sum(codes.values()), {})
    assert result["start"] is None
    assert result["end"] is None
    assert_latency(result["latency_ms"], df.loc[ok, "end_to_end_latency_s"] * 1000)

    frame = load_requests(path).frame
    assert "ts" not in frame.columns
    np.testing.assert_allclose(frame["latency_ms"], df["end_to_end_latency_s"] * 1000)
    np.testing.assert_allclose(frame["ttft_ms"], df["ttft_s"] * 1000)
    assert frame["ok"].tolist() == ok.tolist()
    assert frame["output_tokens"].astype(int).tolist() == df["number_output_tokens"].tolist()
    recorded = pd.Series(frame["status"]).dropna().astype(int).value_counts().to_dict()
    assert recorded == codes


@pytest.fixture(scope="module")
def llmperf_flat(realdata: Path) -> pd.DataFrame:
    return pd.read_csv(realdata / LLMPERF_FLAT)


def test_llmperf_flat_csv_overall(
    realdata: Path, llmperf_flat: pd.DataFrame, capsys: pytest.CaptureFixture[str]
) -> None:
    df = llmperf_flat
    ok = df["error_code"].isna()
    result = summarize_json(capsys, realdata / LLMPERF_FLAT)
    assert (result["rows"], result["errors"]) == (2845, 539) == (len(df), int((~ok).sum()))
    assert int(df["is_error"].sum()) == 539  # the derived flag agrees with error_code
    assert result["start"] is None
    assert result["end"] is None
    assert_latency(result["latency_ms"], df.loc[ok, "end_to_end_latency_s"] * 1000)

    table = load_requests(realdata / LLMPERF_FLAT)
    assert table.mapping.timestamp is None  # the synthetic start column is not a timestamp
    assert (table.mapping.latency_unit, table.mapping.ttft_unit) == ("s", "s")
    np.testing.assert_allclose(table.frame["ttft_ms"], df["ttft_s"] * 1000)
    assert table.frame["output_tokens"].astype(int).tolist() == (
        df["number_output_tokens"].tolist()
    )


def test_llmperf_flat_csv_per_provider(
    realdata: Path, llmperf_flat: pd.DataFrame, capsys: pytest.CaptureFixture[str]
) -> None:
    df = llmperf_flat.assign(ok=llmperf_flat["error_code"].isna())
    result = summarize_json(capsys, realdata / LLMPERF_FLAT, "--segment", "provider")
    groups = {g["value"]: g for g in result["segments"]["provider"]}
    assert sorted(groups) == sorted(df["provider"].unique())
    for provider, part in df.groupby("provider"):
        got = groups[str(provider)]
        assert got["rows"] == len(part), provider
        assert got["errors"] == int((~part["ok"]).sum()), provider
        assert_latency(got["latency_ms"], part.loc[part["ok"], "end_to_end_latency_s"] * 1000)
    errors = {p: g["errors"] for p, g in groups.items() if g["errors"]}
    assert errors == {"lepton": 390, "bedrock": 146, "perplexity": 2, "together": 1}
    assert groups["lepton"]["error_rate"] == pytest.approx(390 / 450)


# --- JMeter: all-failed, truncated, nightly -------------------------------------------------


def test_standard_errors_all_failed(realdata: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = realdata / STANDARD_ERRORS
    df = pd.read_csv(path)
    assert not df["success"].any()
    result = summarize_json(capsys, path)
    assert (result["rows"], result["errors"], result["error_rate"]) == (185, 185, 1.0)
    assert result["dropped"] == {}
    # No successful request: no latency figures, reported as null rather than 0 or NaN.
    assert set(result["latency_ms"].values()) == {None}
    assert_span(
        result,
        pd.to_datetime(df["timeStamp"].min(), unit="ms", utc=True),
        pd.to_datetime(df["timeStamp"].max(), unit="ms", utc=True),
    )
    frame = load_requests(path).frame
    timeouts = (frame["status"].astype(str).str.contains("SocketTimeoutException")).sum()
    assert timeouts == 93


def test_defra_truncated_last_line_is_counted(
    realdata: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = realdata / DEFRA
    with path.open(newline="", encoding="utf-8") as fh:
        header, *lines = list(csv.reader(fh))
    complete = [r for r in lines if len(r) == len(header)]
    assert len(lines) == 1126
    assert len(complete) == 1125  # the file stops in the middle of its last line
    df = pd.DataFrame(complete, columns=header)
    ok = df["success"] == "true"
    when = pd.to_datetime(df["timeStamp"], format="%Y/%m/%d %H:%M:%S")

    result = summarize_json(capsys, path)

    assert result["rows_read"] == 1126
    assert result["rows"] == 1125
    assert result["dropped"] == {"malformed line": 1}
    assert any("1 line with the wrong number of fields" in n for n in result["notes"])
    assert result["errors"] == int((~ok).sum())
    assert_latency(result["latency_ms"], df.loc[ok, "elapsed"].astype(float))
    assert_span(result, when.min(), when.max())
    assert result["start"] == "2019-12-05T12:37:24Z"


@pytest.mark.parametrize(("name", "readme"), EHRBASE.items())
def test_ehrbase_nightly(
    realdata: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    readme: tuple[int, int, int],
) -> None:
    path = realdata / "ehrbase_jmeter_nightly" / name
    df = pd.read_csv(path)
    result = summarize_json(capsys, path, "--segment", "label")

    assert (result["rows"], result["errors"], result["dropped"]) == (22005, 0, {})
    assert_latency(result["latency_ms"], df["elapsed"])
    latency = result["latency_ms"]
    # The README rounds to whole milliseconds.
    assert (latency["p50"], latency["p90"], latency["p99"]) == pytest.approx(readme, abs=0.5)
    assert_span(
        result,
        pd.to_datetime(df["timeStamp"].min(), unit="ms", utc=True),
        pd.to_datetime(df["timeStamp"].max(), unit="ms", utc=True),
    )

    labels = {g["value"]: g for g in result["segments"]["label"]}
    assert len(labels) == df["label"].nunique() == 49
    for label, part in df.groupby("label"):
        got = labels[str(label)]
        assert (got["rows"], got["errors"]) == (len(part), 0), label
        assert_latency(got["latency_ms"], part["elapsed"])


def test_ehrbase_canonical_table(realdata: Path) -> None:
    path = realdata / "ehrbase_jmeter_nightly" / "result_2022-07-04_03025eaa.jtl"
    df = pd.read_csv(path)
    table = load_requests(path)
    frame = table.frame
    assert table.segments == ("label",)
    assert frame["ts"].is_monotonic_increasing
    assert pd.Series(frame["status"]).value_counts().to_dict() == {200: 19501, 204: 2504}
    # JMeter's Latency column is time to first byte, read as the TTFT in ms.
    expected = df.sort_values("timeStamp", kind="stable")
    np.testing.assert_array_equal(frame["ttft_ms"], expected["Latency"].to_numpy(float))
    np.testing.assert_array_equal(frame["latency_ms"], expected["elapsed"].to_numpy(float))


# --- The bundled sample -----------------------------------------------------------------------


def test_bundled_sample_is_canonical(sample_path: Path) -> None:
    table = load_requests(sample_path)
    frame = table.frame
    assert table.rows >= 300_000
    assert table.rows == len(pd.read_parquet(sample_path, columns=["latency_ms"]))
    assert table.dropped == {}
    assert frame["ts"].iloc[-1] - frame["ts"].iloc[0] >= pd.Timedelta(days=30)
    assert frame["ts"].is_monotonic_increasing
    assert str(frame["ts"].dtype) == "datetime64[ns, UTC]"
    assert frame["latency_ms"].dtype == np.float64
    assert frame["ok"].dtype == np.bool_
    for segment in table.segments:
        assert isinstance(frame[segment].dtype, pd.CategoricalDtype), segment
    assert set(table.segments) >= {"endpoint", "model", "region"}
    assert table.bytes_per_request() <= 40
