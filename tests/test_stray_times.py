"""Issue 17: cost bounded by the requests, not by the calendar.

Checked epoch conversions (no silent wrap-around), stray timestamps set apart by an explicit
rule (property-tested), and one span limit that every source honours before it sizes anything
by the span: files, database rows and aggregates, DuckDB and Prometheus. The three timestamp
cases of the issue are built from the real files.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sloview.cli import main
from sloview.engine import Engine
from sloview.errors import DataError, SloviewError
from sloview.ingest import Mapping, load_requests
from sloview.ingest.span import MAX_SPAN_DAYS, MAX_SPAN_NS
from sloview.ingest.strays import FACTOR, FLOOR_NS, MINORITY, find_bulk
from sloview.ingest.table import OUT_OF_RANGE_TIMESTAMP, OUTSIDE_TIME_RANGE, STRAY_TIMESTAMP
from sloview.ingest.timestamps import NAT, NS_MAX, UNIT_FACTORS, parse_timestamps
from sloview.sources.open import SourceOptions, open_source

PROPS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
TAURUS = "jmeter_error_samples/taurus_slow-stdev.jtl"
EHRBASE = "ehrbase_jmeter_nightly/result_2022-05-16_828624a9.jtl"
HOUR = 3600 * 10**9
DAY = 24 * HOUR
T0 = 1_700_000_000 * 10**9


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def summary(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    code, out, err = run(capsys, "summarize", *argv, "--json")
    assert code == 0, err
    result: dict[str, Any] = json.loads(out)
    return result


# -- checked conversions ------------------------------------------------------------------------


@PROPS
@given(
    values=st.lists(st.integers(min_value=-(2**63) + 1, max_value=2**63 - 1), max_size=40),
    unit=st.sampled_from(["s", "ms", "us", "ns"]),
)
def test_integer_epochs_never_wrap_around(values: list[int], unit: str) -> None:
    parsed = parse_timestamps(pa.array(values, pa.int64()), None, unit)
    factor = UNIT_FACTORS[unit]
    out = parsed.out_of_range_mask
    for value, ns, beyond in zip(values, parsed.ns.tolist(), out.tolist(), strict=True):
        exact = value * factor  # Python ints: no overflow
        if abs(exact) <= NS_MAX:
            assert not beyond
            assert ns == exact
        else:
            assert beyond
            assert ns == NAT


@PROPS
@given(
    values=st.lists(
        st.floats(allow_nan=True, allow_infinity=True, width=64), min_size=1, max_size=40
    ),
    unit=st.sampled_from(["s", "ms", "us"]),
)
def test_float_epochs_are_times_or_flagged(values: list[float], unit: str) -> None:
    parsed = parse_timestamps(pa.array(values, pa.float64()), None, unit)
    factor = UNIT_FACTORS[unit]
    for value, ns, beyond, bad in zip(
        values,
        parsed.ns.tolist(),
        parsed.out_of_range_mask.tolist(),
        parsed.unparsable.tolist(),
        strict=True,
    ):
        if not np.isfinite(value):
            assert bad
            assert ns == NAT
        elif beyond:
            assert ns == NAT
            assert abs(value) * factor >= NS_MAX * 0.99
        else:
            # Within a microsecond of the exact product (doubles carry ~16 digits).
            assert abs(ns - value * factor) <= max(1e3, abs(value * factor) * 1e-15)


@PROPS
@given(
    year=st.integers(min_value=1, max_value=9999),
    text_kind=st.sampled_from(["Z", "naive", "offset"]),
)
def test_text_dates_beyond_1677_2262_are_out_of_range_not_another_century(
    year: int, text_kind: str
) -> None:
    suffix = {"Z": "Z", "naive": "", "offset": "+02:00"}[text_kind]
    text = f"{year:04d}-06-15T12:00:00{suffix}"
    parsed = parse_timestamps(pa.array([text, "2024-06-15T12:00:00Z"]), None)
    if 1678 <= year <= 2261:
        assert not parsed.out_of_range_mask[0]
        assert pd.Timestamp(int(parsed.ns[0]), tz="UTC").year == year
    else:
        assert parsed.out_of_range_mask[0]
        assert parsed.ns[0] == NAT


def test_parquet_times_beyond_the_ns_range_are_flagged_not_fatal(tmp_path: Path) -> None:
    times = pa.array([32_503_680_000_000, 1_532_376_558_110, 1_532_376_558_210], pa.timestamp("ms"))
    table = pa.table({"timestamp": times, "latency_ms": [1.0, 2.0, 3.0]})
    import pyarrow.parquet as pq

    path = tmp_path / "t.parquet"
    pq.write_table(table, path)
    loaded = load_requests(path)
    assert loaded.rows == 2
    assert loaded.dropped == {OUT_OF_RANGE_TIMESTAMP: 1}
    assert loaded.examples[OUT_OF_RANGE_TIMESTAMP][0] == 1


# -- the stray rule --------------------------------------------------------------------------

times = st.lists(st.integers(min_value=-(2**62), max_value=2**62), min_size=1, max_size=120)


def gaps_ok(t: np.ndarray, lo: int, hi: int) -> bool:
    """Every time outside [lo, hi) is further from the bulk than the rule's reach."""
    span = float(t[hi - 1]) - float(t[lo])
    reach = FACTOR * max(span, FLOOR_NS)
    left = lo == 0 or float(t[lo]) - float(t[lo - 1]) > reach
    right = hi == len(t) or float(t[hi]) - float(t[hi - 1]) > reach
    return left and right


@PROPS
@given(values=times)
def test_strays_are_a_small_minority_separated_by_a_huge_gap(values: list[int]) -> None:
    t = np.sort(np.array(values, dtype=np.int64))
    bulk = find_bulk(t)
    assert 0 <= bulk.lo < bulk.hi <= len(t)
    assert bulk.strays <= MINORITY * len(t)
    assert gaps_ok(t, bulk.lo, bulk.hi)


@PROPS
@given(values=times, shift=st.integers(min_value=-(2**60), max_value=2**60))
def test_the_rule_does_not_depend_on_the_calendar(values: list[int], shift: int) -> None:
    # The same data a century earlier or later: the same strays.
    t = np.sort(np.array(values, dtype=np.int64))
    assert find_bulk(t) == find_bulk(t + shift)


@PROPS
@given(
    offsets=st.lists(st.integers(min_value=0, max_value=10 * HOUR), min_size=1, max_size=200),
    start=st.integers(min_value=-(2**61), max_value=2**61),
)
def test_data_within_ten_hours_have_no_strays(offsets: list[int], start: int) -> None:
    # Synthetic start times all in 1970 (LLMPerf) are such data.
    t = np.sort(np.array(offsets, dtype=np.int64)) + start
    assert find_bulk(t).whole


@PROPS
@given(
    n=st.integers(min_value=20, max_value=400),
    spacing=st.integers(min_value=1, max_value=60 * 10**9),
    far=st.integers(min_value=1, max_value=2**62 // DAY),
    before=st.booleans(),
)
def test_one_far_time_in_dense_data_is_the_only_stray(
    n: int, spacing: int, far: int, before: bool
) -> None:
    bulk_times = T0 + np.arange(n - 1, dtype=np.int64) * spacing
    span = int(bulk_times[-1] - bulk_times[0])
    gap = FACTOR * max(span, FLOOR_NS) + far * DAY
    stray = int(bulk_times[0]) - gap if before else int(bulk_times[-1]) + gap
    t = np.sort(np.append(bulk_times, stray))
    found = find_bulk(t)
    assert found.strays == 1
    assert (found.lo, found.hi) == ((1, n) if before else (0, n - 1))


@PROPS
@given(
    minutes=st.lists(st.integers(min_value=-(2**40), max_value=2**40), min_size=1, max_size=40),
    data=st.data(),
)
def test_weights_count_like_repeated_times(minutes: list[int], data: st.DataObject) -> None:
    unique = np.unique(np.array(minutes, dtype=np.int64)) * 60 * 10**9
    weights = np.array(
        data.draw(st.lists(st.integers(1, 50), min_size=unique.size, max_size=unique.size))
    )
    weighted = find_bulk(unique, weights.astype(float))
    repeated = find_bulk(np.repeat(unique, weights))
    outside = weights.sum() - weights[weighted.lo : weighted.hi].sum()
    assert outside == repeated.strays


def test_runs_of_similar_size_a_month_apart_are_not_strays() -> None:
    # Three nightly runs: none is a minority.
    runs = [T0 + k * 30 * DAY + np.arange(500, dtype=np.int64) * 10**9 for k in range(3)]
    assert find_bulk(np.concatenate(runs)).whole


# -- the three timestamp cases, from the real files -----------------------------------


@pytest.fixture
def zero_csv(realdata: Path, tmp_path: Path) -> Path:
    """2,001 rows of a nightly run whose last row has a default-zero time."""
    rows = pd.read_csv(realdata / EHRBASE, nrows=2000)
    times = pd.to_datetime(rows["timeStamp"], unit="ms", utc=True)
    frame = pd.DataFrame(
        {
            "timestamp": times.dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "latency_ms": rows["elapsed"],
            "status": rows["responseCode"],
        }
    )
    frame.loc[len(frame)] = ["1970-01-01T00:00:00Z", 42, 200]
    path = tmp_path / "zero.csv"
    frame.to_csv(path, index=False)
    return path


def jtl_with(realdata: Path, tmp_path: Path, value: str, name: str) -> Path:
    lines = (realdata / TAURUS).read_text().splitlines()
    row = lines[301].split(",")
    row[0] = value
    lines[301] = ",".join(row)
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_default_zero_time_is_set_apart(
    zero_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    got = summary(capsys, str(zero_csv))
    bulk = summary(capsys, str(zero_csv), "--start", "2000-01-01")
    assert got["rows"] == 2000
    assert got["dropped"] == {STRAY_TIMESTAMP: 1}
    assert got["dropped_examples"][STRAY_TIMESTAMP] == {
        "row": 2001,
        "value": "1970-01-01T00:00:00+00:00",
    }
    # The bulk's own figures, exactly as if the row had never been there.
    assert got["start"] == bulk["start"]
    assert got["end"] == bulk["end"]
    assert got["latency_ms"] == bulk["latency_ms"]
    assert bulk["dropped"] == {OUTSIDE_TIME_RANGE: 1}
    code, out, err = run(
        capsys, "simulate", str(zero_csv), "--threshold-ms", "500", "--target", "0.99",
        "--window", "28d", "--json",
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["slos"][0]["overall"]["total"] == 2000


@pytest.mark.parametrize(
    ("value", "reason"),
    [("15323762376558146", OUT_OF_RANGE_TIMESTAMP), ("15323655829", STRAY_TIMESTAMP)],
)
def test_an_epoch_with_a_digit_too_many_or_too_few(
    realdata: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    value: str,
    reason: str,
) -> None:
    path = jtl_with(realdata, tmp_path, value, "run.jtl")
    got = summary(capsys, str(path))
    clean = summary(capsys, str(realdata / TAURUS))
    assert got["dropped"] == {reason: 1}
    assert got["dropped_examples"][reason] == {"row": 301, "value": value}
    assert got["rows"] == 598
    # No 222-year span: the bulk's seven seconds.
    assert got["start"] == clean["start"]
    assert got["end"] == clean["end"]
    code, _, err = run(
        capsys, "simulate", str(path), "--threshold-ms", "500", "--target", "0.99",
        "--window", "1d", "--json",
    )  # fmt: skip
    assert code == 0, err


def test_kept_strays_are_refused_in_one_line_naming_the_span(
    zero_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kept = summary(capsys, str(zero_csv), "--keep-stray-times")
    assert kept["rows"] == 2001
    assert kept["start"] == "1970-01-01T00:00:00Z"
    assert any("kept as asked" in note for note in kept["notes"])
    for command in ("simulate", "report"):
        code, out, err = run(
            capsys, command, str(zero_csv), "--keep-stray-times", "--threshold-ms", "500",
            "--target", "0.99", *(["-o", str(zero_csv.with_suffix(".html"))]
                                  if command == "report" else []),
        )  # fmt: skip
        assert code == 2
        assert out == ""
        assert err.count("\n") == 1
        assert "52.4 years (1970-01-01 to 2022-05-16)" in err
        assert f"at most {MAX_SPAN_DAYS} days" in err


# -- the span limit, for every source ----------------------------------------------------------


def spread(days: float, n: int = 2000) -> pd.DataFrame:
    """n requests evenly over `days` (no strays: no gap dominates)."""
    ts = pd.Timestamp("2020-01-01", tz="UTC") + pd.to_timedelta(
        np.linspace(0, days * 86400, n), unit="s"
    )
    rng = np.random.default_rng(3)
    return pd.DataFrame({"timestamp": ts, "latency_ms": rng.lognormal(5, 0.5, n), "status": 200})


def test_files_beyond_the_limit_are_refused_and_narrowing_works(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "long.parquet"
    spread(3 * 365).to_parquet(path)
    table = load_requests(path)
    assert table.dropped == {}
    with pytest.raises(DataError, match=r"the requests span 3\.0 years") as caught:
        Engine(table)
    assert "--start/--end" in caught.value.one_line()
    code, _, err = run(
        capsys, "simulate", str(path), "--threshold-ms", "300", "--target", "0.9",
        "--start", "2021-01-01", "--end", "2021-12-31", "--json",
    )  # fmt: skip
    assert code == 0, err
    at_limit = load_requests(
        path, time_range=(None, pd.Timestamp("2020-01-01", tz="UTC").value + MAX_SPAN_NS)
    )
    assert Engine(at_limit).n_buckets <= MAX_SPAN_DAYS * 1440 + 1440


def test_databases_set_strays_apart_in_rows_and_aggregates(tmp_path: Path) -> None:
    frame = spread(20, 3000)
    db = tmp_path / "r.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE r (ts TEXT, latency_ms REAL, status INTEGER)")
        stamps = frame["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ").tolist()
        stamps[100] = "1970-01-01T00:00:00Z"
        conn.executemany(
            "INSERT INTO r VALUES (?, ?, ?)",
            zip(stamps, frame["latency_ms"].tolist(), frame["status"].tolist(), strict=True),
        )
    url = f"sqlite:///{db}"
    rows = open_source(url, SourceOptions(table="r"))
    agg = open_source(url, SourceOptions(table="r", row_limit=0))
    for loaded in (rows, agg):
        assert loaded.dropped == {STRAY_TIMESTAMP: 1}
        assert any("set apart as strays" in note for note in loaded.notes)
    kept = Mapping(keep_stray_times=True)
    with pytest.raises(SloviewError, match=r"50\.[0-9] years"):
        open_source(url, SourceOptions(table="r", row_limit=0), kept)
    with pytest.raises(SloviewError, match=r"50\.[0-9] years"):
        Engine(open_source(url, SourceOptions(table="r"), kept))  # type: ignore[arg-type]


def test_an_absurd_range_is_refused_before_any_query(capsys: pytest.CaptureFixture[str]) -> None:
    # Port 1 would refuse the connection: the refusal must come first.
    code, _, err = run(
        capsys, "simulate", "prometheus+http://127.0.0.1:1", "--histogram", "m",
        "--start", "1970-01-01", "--end", "2100-01-01", "--threshold-ms", "250",
        "--target", "0.99",
    )  # fmt: skip
    assert code == 2
    assert err.count("\n") == 1
    assert "130.0 years (1970-01-01 to 2100-01-01)" in err
    assert "--start/--end" in err


def test_duckdb_aggregation_sets_strays_apart(tmp_path: Path) -> None:
    frame = spread(5, 2000)
    frame.loc[7, "timestamp"] = pd.Timestamp("1970-01-01", tz="UTC")
    path = tmp_path / "r.parquet"
    frame.to_parquet(path)
    agg = open_source(str(path), SourceOptions(aggregate=True))
    assert agg.dropped == {STRAY_TIMESTAMP: 1}
    assert agg.requests == 1999


def test_bounds_no_time_can_reach_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(
        capsys, "summarize", "sqlite:///nowhere.db", "--table", "r", "--start", "0001-01-01"
    )
    assert code == 2
    assert "--start: '0001-01-01' is outside the times sloview can hold" in err


def test_iso_dates_keep_their_exact_value() -> None:
    parsed = parse_timestamps(pa.array(["2261-12-31T23:59:59Z", "1678-01-01T00:00:00Z"]), None)
    expected = [
        int(pd.Timestamp(dt.datetime(2261, 12, 31, 23, 59, 59, tzinfo=dt.UTC)).value),
        int(pd.Timestamp(dt.datetime(1678, 1, 1, tzinfo=dt.UTC)).value),
    ]
    assert parsed.ns.tolist() == expected


def test_synthetic_1970_start_times_are_not_strays(
    realdata: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # LLMPerf's invented start times: seconds from zero, all in 1970.
    path = realdata / "llmperf_leaderboard_2023" / "llmperf_requests_flat.csv"
    result = summary(capsys, str(path), "--timestamp", "synthetic_start_s_NOT_MEASURED")
    assert STRAY_TIMESTAMP not in result["dropped"]
    assert result["start"].startswith("1970-01-01T00:00:00")
