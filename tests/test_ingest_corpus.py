"""A corpus of broken and awkward inputs, each generated here, with the outcome a user sees.

Broken files must fail with a `DataError` that names the file and says what to do; awkward but
valid files must give the right values. The CLI contract is checked on the same corpus: bad
input exits 2 with one line on stderr and no traceback; `--json` prints exactly one object.
"""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sloview.cli import main
from sloview.errors import DataError
from sloview.ingest import Mapping, RequestTable, load_requests

T0 = pd.Timestamp("2024-05-06T07:08:09Z")


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def load(tmp_path: Path, name: str, content: str | bytes, **mapping: object) -> RequestTable:
    return load_requests(write(tmp_path, name, content), Mapping(**mapping))  # type: ignore[arg-type]


def iso_rows(latencies: list[object], statuses: list[object], sep: str = ",") -> str:
    """`timestamp,latency_ms,status` rows, one second apart from T0."""
    lines = [sep.join(["timestamp", "latency_ms", "status"])]
    for i, (lat, status) in enumerate(zip(latencies, statuses, strict=True)):
        ts = (T0 + pd.Timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ")
        lines.append(sep.join([ts, str(lat), str(status)]))
    return "\n".join(lines) + "\n"


def parquet_bytes(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def zip_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/worksheets/sheet1.xml", "<worksheet/>")
    return buf.getvalue()


GOOD_CSV = iso_rows([12.5, 30.0, 7.25], [200, 503, 200])
JSON_LINES = "\n".join(json.dumps({"latency_ms": i + 1, "status": 200}) for i in range(5))

# --- Broken files: a DataError naming the file, with what to do --------------------------------

BROKEN: list[tuple[str, str, Callable[[], bytes | str], dict[str, object], tuple[str, ...]]] = [
    ("empty", "empty.csv", lambda: b"", {}, ("empty", "export")),
    (
        "header-only",
        "header.csv",
        lambda: "timestamp,latency_ms,status\n",
        {},
        ("header but no requests", "export"),
    ),
    (
        "binary",
        "garbage.dat",
        lambda: bytes(range(256)) * 40,
        {},
        ("binary file", "supported formats are CSV"),
    ),
    (
        "html",
        "export.csv",
        lambda: "\n  <!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head></html>\n",
        {},
        ("HTML page", "export the data again"),
    ),
    (
        "truncated-parquet",
        "cut.parquet",
        lambda: parquet_bytes(pa.table({"latency_ms": np.arange(5000.0)}))[:3000],
        {},
        ("Parquet file is damaged or truncated", "again"),
    ),
    (
        "truncated-json-array",
        "cut.json",
        lambda: '[{"latency_ms": 1, "status": 200},\n {"latency_ms": 2, "sta',
        {},
        ("not valid JSON at line 2", "truncated"),
    ),
    (
        "json-lines-bad-line",
        "requests.jsonl",
        lambda: JSON_LINES.replace('{"latency_ms": 3', '{"latency_ms": 3,,', 1),
        {},
        ("line 3 is not valid JSON", "delete that line"),
    ),
    ("xlsx", "book.xlsx", zip_bytes, {}, ("ZIP or Excel", "save the sheet as CSV")),
    (
        "truncated-gzip",
        "requests.csv.gz",
        lambda: gzip.compress(GOOD_CSV.encode() * 50)[:60],
        {},
        ("gzip file is damaged or truncated", "compress the file again"),
    ),
    (
        "no-latency-column",
        "nolatency.csv",
        lambda: "timestamp,endpoint,status\n2024-01-01T00:00:00Z,chat,200\n",
        {},
        ("no latency column", "columns are: timestamp, endpoint, status", "--latency COL"),
    ),
    (
        "segment-flag-not-a-column",
        "flags.csv",
        lambda: GOOD_CSV,
        {"segments": ("region",)},
        ("column 'region' (from --segment) is not in the file", "columns are: timestamp"),
    ),
    (
        "latency-flag-not-a-column",
        "flags.csv",
        lambda: GOOD_CSV,
        {"latency": "duration"},
        ("column 'duration' (from --latency) is not in the file", "latency_ms, status"),
    ),
    (
        "nothing-usable-status",
        "words.csv",
        lambda: iso_rows([10, 20, 30], ["queued", "queued", "running"]),
        {},
        ("no usable requests", "status not classified: 3", "--good", "--bad"),
    ),
    (
        "nothing-usable-time",
        "times.csv",
        lambda: "timestamp,latency_ms\nyesterday,1\nnoon,2\n",
        {"timestamp": "timestamp"},
        (
            "time column 'timestamp' cannot be read as times",
            "row 1: 'yesterday'",
            "--timestamp COL",
        ),
    ),
    (
        "nothing-usable-where",
        "where.csv",
        lambda: GOOD_CSV,
        {"where": (("status", "404"),)},
        ("no usable requests", "filtered out by --where (status=404): 3", "--where"),
    ),
    (
        "duplicate-header",
        "dupes.csv",
        lambda: "timestamp,latency_ms,status,latency_ms\n2024-01-01T00:00:00Z,1,200,2\n",
        {},
        ("repeats column names: 'latency_ms'", "unique name"),
    ),
    (
        "latency-column-of-words",
        "words_latency.csv",
        lambda: iso_rows(["fast", "slow", "fast"], [200, 200, 200]),
        {"latency": "latency_ms"},
        ("'latency_ms' holds no numbers", "--latency COL"),
    ),
    (
        "bad-timezone",
        "tz.csv",
        lambda: GOOD_CSV,
        {"tz": "Mars/Olympus_Mons"},
        ("unknown timezone", "Europe/Berlin"),
    ),
]


@pytest.mark.parametrize(
    ("name", "content", "mapping", "says"),
    [pytest.param(*case[1:], id=case[0]) for case in BROKEN],
)
def test_broken_input_is_explained(
    tmp_path: Path,
    name: str,
    content: Callable[[], bytes | str],
    mapping: dict[str, object],
    says: tuple[str, ...],
) -> None:
    path = write(tmp_path, name, content())
    with pytest.raises(DataError) as info:
        load_requests(path, Mapping(**mapping))  # type: ignore[arg-type]
    message = str(info.value)
    assert "\n" not in message
    if "timezone" not in message:
        assert message.startswith(f"{name}: "), message
    for text in says:
        assert text.lower() in message.lower(), (text, message)
    assert info.value.hint, "every refusal says what to do"


def test_uploaded_bytes_are_named_in_errors() -> None:
    with pytest.raises(DataError, match=r"^upload\.csv: the file is empty"):
        load_requests(b"", name="upload.csv")
    with pytest.raises(DataError, match=r"^uploaded file: .*HTML page"):
        load_requests(b"<html><body>Sign in</body></html>")


def test_missing_path_and_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"file not found\. Check the path"):
        load_requests(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="is a folder"):
        load_requests(tmp_path)


# --- Delimiters, decimal marks, encodings ------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "kind"),
    [
        pytest.param(
            "semicolon.csv",
            iso_rows(["1,5", "2,25", "1000,125"], [200, 500, 200], sep=";"),
            "semicolon-separated, decimal comma",
            id="decimal-comma-semicolon",
        ),
        pytest.param(
            "tabs.tsv", iso_rows([1.5, 2.25, 1000.125], [200, 500, 200], sep="\t"), "tab", id="tsv"
        ),
        pytest.param(
            "pipes.txt",
            iso_rows([1.5, 2.25, 1000.125], [200, 500, 200], sep="|"),
            "pipe",
            id="pipe",
        ),
        pytest.param(
            "bom.csv",
            "\ufeff" + iso_rows([1.5, 2.25, 1000.125], [200, 500, 200]),
            "comma",
            id="utf8-bom",
        ),
        pytest.param(
            "windows.csv",
            iso_rows([1.5, 2.25, 1000.125], [200, 500, 200]).replace("\n", "\r\n"),
            "comma",
            id="crlf",
        ),
    ],
)
def test_delimiters_and_line_endings(tmp_path: Path, name: str, content: str, kind: str) -> None:
    table = load(tmp_path, name, content)
    assert kind in table.mapping.source_format
    assert table.mapping.timestamp == "timestamp"  # found even behind a BOM
    assert table.frame["latency_ms"].tolist() == [1.5, 2.25, 1000.125]
    assert table.frame["ok"].tolist() == [True, False, True]  # no stray "\r" in the last column
    assert table.frame["ts"].tolist() == [T0 + pd.Timedelta(seconds=i) for i in range(3)]
    assert table.dropped == {}


def test_gzip_csv_from_path_and_bytes(tmp_path: Path) -> None:
    packed = gzip.compress(GOOD_CSV.encode())
    from_path = load(tmp_path, "requests.csv.gz", packed)
    from_bytes = load_requests(packed, name="requests.csv.gz")
    for table in (from_path, from_bytes):
        assert "gzip" in table.mapping.source_format
        assert table.frame["latency_ms"].tolist() == [12.5, 30.0, 7.25]
        assert table.frame["ok"].tolist() == [True, False, True]
        assert table.source_name == "requests.csv.gz"


def test_gzip_json_lines(tmp_path: Path) -> None:
    table = load(tmp_path, "requests.jsonl.gz", gzip.compress(JSON_LINES.encode()))
    assert table.mapping.source_format == "JSON Lines, gzip"
    assert table.frame["latency_ms"].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]


@pytest.mark.parametrize("end", ["\n", ""], ids=["newline", "no-final-newline"])
def test_cp1252_text(tmp_path: Path, end: str) -> None:
    # The only non-ASCII byte is the file's last (or next to last) byte.
    content = "timestamp,latency_ms,status,region\n"
    content += "2024-01-01T00:00:00Z,10,200,Zurich\n2024-01-01T00:00:01Z,20,200,café" + end
    table = load(tmp_path, "excel.csv", content.encode("cp1252"))
    assert table.frame["region"].tolist() == ["Zurich", "café"]
    assert table.frame["latency_ms"].tolist() == [10.0, 20.0]


def test_cp1252_character_after_the_sniffed_head(tmp_path: Path) -> None:
    # The first non-ASCII byte sits ~200 KB into the file, well past what is sniffed.
    rows = [f"{1_700_000_000_000 + i},{i % 97 + 0.5},200,eu" for i in range(8000)]
    rows.append("1700000009000,3.5,200,Zürich")
    content = "timestamp,latency_ms,status,region\n" + "\n".join(rows) + "\n"
    table = load(tmp_path, "late.csv", content.encode("cp1252"))
    assert table.rows == 8001
    assert table.frame["region"].value_counts().to_dict() == {"eu": 8000, "Zürich": 1}


def test_utf8_multibyte_character_cut_by_the_sniffed_head(tmp_path: Path) -> None:
    # The first 64 KiB are sniffed; put a 2-byte character across that boundary.
    row = b"2024-01-01T00:00:00Z,5,200,ab\n"
    content = b"timestamp,latency_ms,status,region\n"
    content += row * ((65536 - len(content)) // len(row) - 3)
    prefix = b"2024-01-01T00:00:00Z,5,200,"
    content += prefix + b"x" * (65535 - len(content) - len(prefix))
    assert len(content) == 65535
    content += "é\n".encode() + row * 3
    table = load(tmp_path, "utf8.csv", content)
    assert table.dropped == {}
    assert table.rows == content.count(b"\n") - 1
    assert table.frame["region"].str.endswith("xé").sum() == 1
    assert "decimal comma" not in table.mapping.source_format


def test_decimal_comma_latency_next_to_a_decimal_point_column(tmp_path: Path) -> None:
    # The file-level sniff sees "2.1" and keeps the point; the latency column is still read.
    content = "timestamp;latency_ms;status;version\n"
    content += "2024-01-01T00:00:00Z;1,5;200;2.1\n2024-01-01T00:00:01Z;12,25;500;2.1\n"
    table = load(tmp_path, "mixed_marks.csv", content)
    assert table.mapping.latency == "latency_ms"
    assert table.frame["latency_ms"].tolist() == [1.5, 12.25]
    assert table.dropped == {}


def test_labels_that_look_like_numbers_stay_as_written(tmp_path: Path) -> None:
    content = "latency_ms,status,tenant\n5,200,007\n6,200,1.50\n7,500,007\n8,200,42\n"
    table = load(tmp_path, "tenants.csv", content, segments=("tenant",))
    assert table.frame["tenant"].tolist() == ["007", "1.50", "007", "42"]
    only = load(tmp_path, "tenants.csv", content, where=(("tenant", "007"),))
    assert only.frame["latency_ms"].tolist() == [5.0, 7.0]
    assert only.dropped == {"filtered out by --where (tenant=007)": 2}


# --- Timestamps ----------------------------------------------------------------------------------

INSTANT = pd.Timestamp("2023-11-14T22:13:20Z")  # 1_700_000_000 s


@pytest.mark.parametrize(
    ("unit", "factor"), [("s", 1), ("ms", 10**3), ("us", 10**6), ("ns", 10**9)]
)
def test_epoch_units_by_magnitude(tmp_path: Path, unit: str, factor: int) -> None:
    rows = [f"{(1_700_000_000 + i) * factor},5" for i in range(3)]
    table = load(tmp_path, f"epoch_{unit}.csv", "timestamp,latency_ms\n" + "\n".join(rows))
    assert table.frame["ts"].tolist() == [INSTANT + pd.Timedelta(seconds=i) for i in range(3)]
    assert f"epoch {unit}" in " ".join(table.notes)


def test_fractional_epoch_seconds(tmp_path: Path) -> None:
    table = load(tmp_path, "frac.csv", "time,latency_ms\n1700000000.250,5\n1700000000.5,6\n")
    assert table.frame["ts"].tolist() == [
        INSTANT + pd.Timedelta(milliseconds=250),
        INSTANT + pd.Timedelta(milliseconds=500),
    ]


def test_iso_with_mixed_offsets(tmp_path: Path) -> None:
    content = (
        "timestamp,latency_ms\n"
        "2024-03-01T10:00:00+01:00,1\n"
        "2024-03-01T10:00:00Z,2\n"
        "2024-03-01T10:00:00-05:00,3\n"
        "2024-03-01T10:00:00.5+0530,4\n"
    )
    table = load(tmp_path, "offsets.csv", content)
    by_latency = dict(zip(table.frame["latency_ms"], table.frame["ts"], strict=True))
    assert by_latency == {
        1.0: pd.Timestamp("2024-03-01T09:00:00Z"),
        2.0: pd.Timestamp("2024-03-01T10:00:00Z"),
        3.0: pd.Timestamp("2024-03-01T15:00:00Z"),
        4.0: pd.Timestamp("2024-03-01T04:30:00.5Z"),
    }


def test_naive_times_in_berlin_across_dst(tmp_path: Path) -> None:
    content = (
        "timestamp,latency_ms\n"
        "2024-01-15 12:00:00,1\n"  # CET, UTC+1
        "2024-03-31 01:59:59,2\n"  # last second of CET
        "2024-03-31 03:00:00,3\n"  # first second of CEST, UTC+2
        "2024-07-01 12:00:00,4\n"
        "2024-10-27 01:30:00,5\n"  # still CEST
        "2024-10-27 03:30:00,6\n"  # CET again
        "2024-03-31 02:30:00,7\n"  # does not exist in Berlin
        "2024-10-27 02:30:00,8\n"  # happens twice in Berlin
    )
    table = load(tmp_path, "berlin.csv", content, tz="Europe/Berlin")
    by_latency = dict(zip(table.frame["latency_ms"], table.frame["ts"], strict=True))
    assert by_latency == {
        1.0: pd.Timestamp("2024-01-15T11:00:00Z"),
        2.0: pd.Timestamp("2024-03-31T00:59:59Z"),
        3.0: pd.Timestamp("2024-03-31T01:00:00Z"),
        4.0: pd.Timestamp("2024-07-01T10:00:00Z"),
        5.0: pd.Timestamp("2024-10-26T23:30:00Z"),
        6.0: pd.Timestamp("2024-10-27T02:30:00Z"),
    }
    # Wall times that do not exist or are ambiguous are counted, never silently shifted.
    assert table.dropped == {"unparsable timestamp": 2}
    assert "Europe/Berlin" in " ".join(table.notes)

    as_utc = load(tmp_path, "berlin.csv", content)
    assert as_utc.frame["ts"].iloc[0] == pd.Timestamp("2024-01-15T12:00:00Z")
    assert as_utc.dropped == {}


def test_unsorted_rows_are_sorted_and_noted(tmp_path: Path) -> None:
    content = iso_rows([1, 2, 3, 4], [200, 500, 200, 200])
    header, *lines = content.splitlines()
    shuffled = "\n".join([header, lines[2], lines[0], lines[3], lines[1]]) + "\n"
    table = load(tmp_path, "shuffled.csv", shuffled)
    assert table.frame["ts"].is_monotonic_increasing
    assert table.frame["latency_ms"].tolist() == [1.0, 2.0, 3.0, 4.0]  # each value kept its row
    assert table.frame["ok"].tolist() == [True, False, True, True]
    assert "Rows were not in time order; sorted by time." in table.notes


def test_epoch_text_in_json_with_a_stray_value(tmp_path: Path) -> None:
    records: list[dict[str, object]] = [
        {"ts": 1_700_000_000_000 + i, "latency_ms": 5} for i in range(9)
    ]
    records.insert(4, {"ts": "n/a", "latency_ms": 5})
    content = "\n".join(json.dumps(r) for r in records)
    table = load(tmp_path, "mixed.jsonl", content)
    assert table.mapping.timestamp == "ts"
    assert table.dropped == {"unparsable timestamp": 1}
    assert table.frame["ts"].iloc[0] == INSTANT


# --- Latency problems ----------------------------------------------------------------------------


def test_bad_latencies_are_counted_by_reason(tmp_path: Path) -> None:
    # "", -5 and "fast" on successful requests are excluded, each under its own reason.
    latencies: list[object] = [*range(10, 30), "", -5, "fast", "", 250]
    statuses: list[object] = [*[200] * 20, 200, 200, 200, 503, 500]
    table = load(tmp_path, "latency.csv", iso_rows(latencies, statuses))
    assert table.dropped == {
        "missing latency": 1,
        "negative latency": 1,
        "unparsable latency": 1,
    }
    assert table.rows_read == 25
    assert table.rows == 22
    # The failed request without latency still counts for availability.
    assert int((~table.frame["ok"]).sum()) == 2
    assert table.frame["latency_ms"].isna().sum() == 1
    assert table.frame["latency_ms"].max() == 250.0  # a failure's latency is kept too
    assert any("1 failed requests have no latency" in n for n in table.notes)


def test_failed_requests_without_latency_are_kept(tmp_path: Path) -> None:
    content = "latency_ms,status\n10,200\n,500\n,503\n20,200\n,200\n"
    table = load(tmp_path, "failed.csv", content)
    assert table.rows == 4
    assert table.dropped == {"missing latency": 1}
    assert table.frame["ok"].tolist() == [True, False, False, True]
    assert np.isnan(table.frame["latency_ms"].to_numpy()).tolist() == [False, True, True, False]


def test_non_finite_latencies_are_not_measurements(tmp_path: Path) -> None:
    data = pa.table(
        {
            "latency_ms": [5.0, float("inf"), float("nan"), 7.0, float("-inf"), None],
            "status": pa.array([200, 200, 200, 200, 503, 200], pa.int16()),
        }
    )
    table = load(tmp_path, "floats.parquet", parquet_bytes(data))
    assert table.dropped == {"unparsable latency": 2, "missing latency": 1}
    assert table.frame["ok"].tolist() == [True, True, False]
    assert table.frame["latency_ms"].tolist()[:2] == [5.0, 7.0]
    assert np.isnan(table.frame["latency_ms"].iloc[2])  # the failure keeps no latency
    text = load(tmp_path, "inf.csv", "latency_ms,status\n5,200\ninf,200\n-inf,200\n6,200\n")
    assert text.dropped == {"unparsable latency": 2}
    assert np.isfinite(text.frame["latency_ms"]).all()


def big_csv(n: int, stray_row: int, column: str) -> str:
    """Epoch-ms rows (~24 bytes each) with one stray word in `column` at row `stray_row`."""
    lines = ["timestamp,latency_ms,status"]
    for i in range(n):
        values = {
            "timestamp": str(1_700_000_000_000 + i),
            "latency_ms": f"{i % 1000}.5",
            "status": "200" if i % 10 else "503",
        }
        if i == stray_row:
            values[column] = "oops"
        lines.append(",".join(values.values()))
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("column", "reason"),
    [
        ("latency_ms", "unparsable latency"),
        ("timestamp", "unparsable timestamp"),
        ("status", "status not classified"),
    ],
)
@pytest.mark.parametrize("where", ["past-1MB", "first-line"])
def test_stray_word_in_a_big_csv_is_counted(
    tmp_path: Path, column: str, reason: str, where: str
) -> None:
    n = 60_000
    stray = n - 7 if where == "past-1MB" else 1  # a request with status 200
    content = big_csv(n, stray, column)
    if where == "past-1MB":
        assert content.index("oops") > 1_000_000
    table = load(tmp_path, "big.csv", content)
    assert table.rows_read == n
    assert table.dropped == {reason: 1}
    assert table.rows == n - 1
    assert table.mapping.timestamp == "timestamp"
    assert table.frame["ts"].iloc[-1] == pd.Timestamp(
        1_700_000_000_000 + n - 1, unit="ms", tz="UTC"
    )
    assert int((~table.frame["ok"]).sum()) == n // 10
    expected = np.array([i % 1000 + 0.5 for i in range(n) if i != stray])
    np.testing.assert_array_equal(table.frame["latency_ms"].to_numpy(), expected)


# --- Status policies -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rate_limited_bad", "ok"),
    [(True, [True, False, False, True, False]), (False, [True, True, False, True, False])],
)
def test_rate_limited_429_switch(tmp_path: Path, rate_limited_bad: bool, ok: list[bool]) -> None:
    content = iso_rows([1, 2, 3, 4, 5], [200, 429, 500, 404, 503])
    table = load(tmp_path, "codes.csv", content, rate_limited_bad=rate_limited_bad)
    assert table.frame["ok"].tolist() == ok
    assert ("429 (rate limited) counts as bad" in table.mapping.policy_description) is (
        rate_limited_bad
    )


@pytest.mark.parametrize(
    ("column", "values", "ok"),
    [
        ("success", ["true", "false", "TRUE", "False"], [True, False, True, False]),
        ("ok", ["yes", "no", "no", "yes"], [True, False, False, True]),
        ("is_error", ["true", "false", "false", "true"], [False, True, True, False]),
        ("is_error", [1, 0, 0, 1], [False, True, True, False]),
        ("failed", ["False", "False", "True", "False"], [True, True, False, True]),
        ("success", [1, 0, 1, 1], [True, False, True, True]),
    ],
)
def test_boolean_status_columns(
    tmp_path: Path, column: str, values: list[object], ok: list[bool]
) -> None:
    content = f"latency_ms,{column}\n" + "\n".join(f"{i + 1},{v}" for i, v in enumerate(values))
    table = load(tmp_path, "flags.csv", content)
    assert table.frame["ok"].tolist() == ok
    assert table.dropped == {}
    assert f"True/false flag in `{column}`" in table.mapping.policy_description


def test_error_code_column_null_means_success(tmp_path: Path) -> None:
    content = "latency_ms,error_code\n1,\n2,429\n3,\n4,-100\n"
    table = load(tmp_path, "errors.csv", content)
    assert table.frame["ok"].tolist() == [True, False, True, False]


def test_status_words(tmp_path: Path) -> None:
    content = iso_rows([1, 2, 3, 4, 5], ["SUCCEEDED", "failed", "Timeout", "ok", "queued"])
    table = load(tmp_path, "words.csv", content)
    assert table.frame["ok"].tolist() == [True, False, False, True]
    assert table.dropped == {"status not classified": 1}
    assert "'queued' x1" in " ".join(table.notes)


@pytest.mark.parametrize(
    ("good", "bad", "ok", "dropped"),
    [
        (("A",), ("B",), [True, False, True], {"status not classified": 1}),
        (("A",), (), [True, False, False, True], {}),
        ((), ("B",), [True, False, True, True], {}),
        (("A", "C"), ("B",), [True, False, True, True], {}),
    ],
)
def test_explicit_good_bad_lists(
    tmp_path: Path,
    good: tuple[str, ...],
    bad: tuple[str, ...],
    ok: list[bool],
    dropped: dict[str, int],
) -> None:
    content = "latency_ms,result\n10,A\n20,B\n30,C\n40,a\n"  # matching ignores case
    table = load(tmp_path, "lists.csv", content, good=good, bad=bad)
    assert table.frame["ok"].tolist() == ok
    assert table.dropped == dropped


def test_good_bad_without_a_status_column(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"no status column\. Name the status column with --status"):
        load(tmp_path, "plain.csv", "latency_ms\n1\n2\n", good=("ok",))


def test_where_filters_and_counts(tmp_path: Path) -> None:
    content = "latency_ms,status,endpoint\n10,200,chat\n20,200,embed\n30,500,Chat\n40,200,\n"
    table = load(tmp_path, "where.csv", content, where=(("endpoint", "chat"),))
    assert table.frame["latency_ms"].tolist() == [10.0, 30.0]
    assert table.dropped == {"filtered out by --where (endpoint=chat)": 2}


# --- Formats recognised by content -------------------------------------------------------------


def test_jmeter_jtl_recognised_by_its_header(tmp_path: Path) -> None:
    content = (
        "timeStamp,elapsed,label,responseCode,responseMessage,threadName,success,Latency\n"
        "1700000000000,120,Home,200,OK,TG 1-1,true,80\n"
        "1700000000500,30000,Login,Non HTTP response code: SocketTimeout,x,TG 1-2,false,0\n"
        "1700000001000,95,Home,200,OK,TG 1-1,false,60\n"
    )
    table = load(tmp_path, "results.txt", content)
    assert table.mapping.source_format.startswith("JMeter JTL")
    assert table.frame["ok"].tolist() == [True, False, False]  # success decides, not the code
    assert table.frame["latency_ms"].tolist() == [120.0, 30000.0, 95.0]
    assert table.frame["ttft_ms"].tolist() == [80.0, 0.0, 60.0]
    assert table.segments == ("label",)
    assert table.frame["ts"].iloc[0] == INSTANT


def test_parquet_dictionary_strings_with_null_segments(tmp_path: Path) -> None:
    region = pa.array(["eu", None, "us", "eu", None, "us"]).dictionary_encode()
    data = pa.table(
        {
            "timestamp": pa.array(
                [1_700_000_000_000 + i for i in range(6)], pa.timestamp("ms", tz="UTC")
            ),
            "latency_ms": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            "status": pa.array([200, 500, 200, 200, 503, 200], pa.int16()),
            "region": region,
        }
    )
    table = load(tmp_path, "requests.parquet", parquet_bytes(data))
    assert table.segments == ("region",)
    frame = table.frame
    assert isinstance(frame["region"].dtype, pd.CategoricalDtype)
    assert frame["region"].tolist() == ["eu", "(missing)", "us", "eu", "(missing)", "us"]
    assert frame["ok"].tolist() == [True, False, True, True, False, True]
    assert frame["ts"].iloc[0] == INSTANT


def test_json_array_under_a_key(tmp_path: Path) -> None:
    doc = {"meta": {"n": 2}, "results": [{"latency_ms": 5, "ok": True}, {"latency_ms": 7}]}
    table = load(tmp_path, "wrapped.json", json.dumps(doc, indent=2))
    assert table.frame["latency_ms"].tolist() == [5.0]
    assert table.dropped == {"status not classified": 1}


# --- The CLI contract ---------------------------------------------------------------------------


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    try:
        code = main(list(argv))
    except SystemExit as exit_:  # argparse refuses bad flags before any work starts
        code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("case", [c for c in BROKEN if c[0] != "bad-timezone"], ids=lambda c: c[0])
def test_cli_bad_input_is_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    case: tuple[str, str, Callable[[], bytes | str], dict[str, object], tuple[str, ...]],
) -> None:
    _, name, content, mapping, says = case
    path = write(tmp_path, name, content())
    flags: list[str] = []
    for key, value in mapping.items():
        if key == "segments":
            flags += [f for v in value for f in ("--segment", v)]  # type: ignore[attr-defined]
        elif key == "where":
            flags += [f for c, v in value for f in ("--where", f"{c}={v}")]  # type: ignore[attr-defined]
        else:
            flags += [f"--{key}", str(value)]
    code, out, err = run_cli(capsys, "summarize", str(path), "--json", *flags)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("sloview: error: ")
    assert name in err
    assert says[0].lower() in err.lower()
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "flags",
    [
        ["--latency-unit", "parsecs"],
        ["--where", "no-equals-sign"],
        ["--rate-limited", "sometimes"],
        ["--no-such-flag"],
        ["--tz", "Mars/Olympus_Mons"],
        ["--latency", "duration"],
        ["--good", "ok", "--status", "nope"],
    ],
    ids=lambda f: f[0],
)
def test_cli_bad_flag_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str]
) -> None:
    path = write(tmp_path, "good.csv", GOOD_CSV)
    code, out, err = run_cli(capsys, "summarize", str(path), *flags)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("sloview: error: ")
    assert "Traceback" not in err


def test_cli_missing_source_and_unknown_command(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["summarize"], ["frobnicate"], ["summarize", "/no/such/file.csv"]):
        code, out, err = run_cli(capsys, *argv)
        assert (code, out, err.count("\n")) == (2, "", 1), argv


def test_cli_success_json_is_one_object(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "good.csv", GOOD_CSV)
    code, out, err = run_cli(capsys, "summarize", str(path), "--json")
    assert (code, err) == (0, "")
    result = json.loads(out)
    assert result["rows"] == 3
    assert result["errors"] == 1
    assert result["start"] == "2024-05-06T07:08:09Z"
    assert result["latency_ms"]["max"] == 12.5
    assert result["dropped"] == {}


def test_cli_success_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "good.csv", GOOD_CSV)
    code, out, err = run_cli(capsys, "summarize", str(path))
    assert (code, err) == (0, "")
    assert "3 valid of 3 rows read" in out
    assert "Errors       1 (33.33%)" in out


def test_cli_json_with_segments_and_drops(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    content = "latency_ms,status,endpoint\n10,200,chat\n20,200,embed\n30,500,chat\n,200,chat\n"
    path = write(tmp_path, "seg.csv", content)
    code, out, _ = run_cli(capsys, "summarize", str(path), "--json", "--segment", "endpoint")
    assert code == 0
    result = json.loads(out)
    assert result["dropped"] == {"missing latency": 1}
    assert result["start"] is None
    groups = {g["value"]: (g["rows"], g["errors"]) for g in result["segments"]["endpoint"]}
    assert groups == {"chat": (2, 1), "embed": (1, 0)}


def test_cli_mapping_flags_reach_the_loader(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    content = "time,took_s,code\n2024-07-01 12:00:00,0.5,200\n2024-07-01 12:00:01,1.5,429\n"
    path = write(tmp_path, "flags.csv", content)
    flags = ["--latency", "took_s", "--status", "code", "--tz", "Europe/Berlin"]
    code, out, _ = run_cli(capsys, "summarize", str(path), "--json", *flags)
    assert code == 0
    result = json.loads(out)
    assert (result["start"], result["end"]) == ("2024-07-01T10:00:00Z", "2024-07-01T10:00:01Z")
    assert result["errors"] == 1
    assert result["latency_ms"]["max"] == 500.0
    code, out, _ = run_cli(
        capsys, "summarize", str(path), "--json", *flags, "--rate-limited", "good"
    )
    assert code == 0
    assert json.loads(out)["errors"] == 0


def test_cli_bad_input_as_a_process(tmp_path: Path) -> None:
    path = write(tmp_path, "page.csv", "<html><body>Session expired</body></html>")
    script = Path(sys.executable).with_name("sloview")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "sloview.cli"]
    proc = subprocess.run(
        [*command, "summarize", str(path), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1
    assert "page.csv: is an HTML page" in proc.stderr
    assert "Traceback" not in proc.stderr
