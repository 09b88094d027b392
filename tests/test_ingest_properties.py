"""Property tests for the ingest parsers and the summary maths (hypothesis)."""

from __future__ import annotations

import csv
import io
import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from sloview.ingest import Mapping, load_requests
from sloview.ingest.readers import sniff_csv
from sloview.ingest.status import StatusPolicy
from sloview.ingest.timestamps import parse_timestamps
from sloview.summary import group_summary, latency_summary
from sloview.units import TO_MS

FAST = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
DELIMITERS = [",", ";", "\t", "|"]
HTTP_CODES = [200, 201, 204, 301, 304, 400, 404, 429, 500, 502, 503, 504]
# Values Arrow reads as null in a CSV; a segment written like this comes back as "(missing)".
ARROW_NULLS = {"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND"}
ARROW_NULLS |= {"1.#QNAN", "N/A", "NA", "NULL", "NaN", "n/a", "nan", "null", "None"}
TRICKY_SEGMENTS = [
    "chat",
    "a,b",
    'say "hi"',
    "x;y|z",
    "tab\there",
    "Zürich",
    "東京",
    "🚀 launch",
    "'single'",
    " padded ",
    "1,5",
    "3.25",
    "007",
    "1e3",
    "two\nlines",
]
segment_text = st.one_of(
    st.sampled_from(TRICKY_SEGMENTS),
    st.text(
        alphabet=st.characters(
            codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp"), exclude_characters="\x85"
        ),
        min_size=1,
        max_size=12,
    ),
).filter(lambda s: s not in ARROW_NULLS)


def http_ok(code: int, rate_limited_bad: bool = True) -> bool:
    """The HTTP rule, written independently: 5xx bad, 429 bad unless switched, rest good."""
    if 500 <= code <= 599:
        return False
    return not (code == 429 and rate_limited_bad)


rows_strategy = st.lists(
    st.tuples(
        st.one_of(
            st.floats(min_value=0, max_value=1e6, allow_nan=False),
            st.floats(min_value=-1000, max_value=-0.001),
        ),
        st.one_of(st.sampled_from(HTTP_CODES), st.just(None)),
        segment_text,
    ),
    min_size=1,
    max_size=40,
)


@FAST
@given(
    rows=rows_strategy,
    delimiter=st.sampled_from(DELIMITERS),
    unit=st.sampled_from(["s", "ms", "us", "ns"]),
    decimal_comma=st.booleans(),
)
def test_csv_round_trip(
    rows: list[tuple[float, int | None, str]], delimiter: str, unit: str, decimal_comma: bool
) -> None:
    assume(any(code is not None for _, code, _ in rows))
    decimal_comma = decimal_comma and delimiter != ","
    start = 1_700_000_000_000
    latency_col = f"latency_{unit}"
    texts = [f"{lat:.3f}" for lat, _, _ in rows]
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    writer.writerow(["timestamp", latency_col, "status", "endpoint"])
    for i, ((_, code, segment), text) in enumerate(zip(rows, texts, strict=True)):
        shown = text.replace(".", ",") if decimal_comma else text
        writer.writerow([start + i, shown, "" if code is None else code, segment])
    data = buf.getvalue().encode("utf-8")

    written = [(float(t), code, seg) for t, (_, code, seg) in zip(texts, rows, strict=True)]
    usable = [r for r in written if r[1] is not None and r[0] >= 0]
    assume(usable)  # nothing usable is refused instead (tested in the corpus)

    table = load_requests(data, Mapping(segments=("endpoint",)), name="round.csv")

    assert table.mapping.latency == latency_col
    assert table.mapping.latency_unit == unit
    assert table.rows + table.dropped_total == len(rows) == table.rows_read
    assert table.dropped.get("negative latency", 0) == sum(
        1 for lat, code, _ in written if lat < 0 and code is not None
    )
    frame = table.frame
    assert frame["latency_ms"].tolist() == [lat * TO_MS[unit] for lat, _, _ in usable]
    assert frame["ok"].tolist() == [http_ok(code) for _, code, _ in usable]  # type: ignore[arg-type]
    assert frame["endpoint"].astype(str).tolist() == [seg for _, _, seg in usable]
    assert pd.Series(frame["status"]).astype(int).tolist() == [code for _, code, _ in usable]


instants_ns = st.integers(
    min_value=int(pd.Timestamp("1990-01-01", tz="UTC").value),
    max_value=int(pd.Timestamp("2100-01-01", tz="UTC").value),
)
EPOCH_FACTORS = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}


@FAST
@given(
    instants=st.lists(instants_ns, min_size=1, max_size=20),
    unit=st.sampled_from(list(EPOCH_FACTORS)),
    as_text=st.booleans(),
)
def test_epoch_magnitude_detection(instants: list[int], unit: str, as_text: bool) -> None:
    factor = EPOCH_FACTORS[unit]
    values = [ns // factor for ns in instants]
    column = pa.array([str(v) for v in values]) if as_text else pa.array(values, pa.int64())
    parsed = parse_timestamps(column, None)
    assert f"epoch {unit}" in parsed.how
    assert parsed.ns.tolist() == [v * factor for v in values]
    assert not parsed.unparsable.any()
    assert not parsed.missing.any()


@FAST
@given(
    seconds=st.lists(
        st.integers(min_value=631_152_000, max_value=4_102_444_800), min_size=1, max_size=20
    ),
    millis=st.integers(min_value=0, max_value=999),
)
def test_fractional_epoch_seconds_keep_milliseconds(seconds: list[int], millis: int) -> None:
    column = pa.array([s + millis / 1000 for s in seconds], pa.float64())
    parsed = parse_timestamps(column, None)
    expected = [s * 10**9 + millis * 10**6 for s in seconds]
    # Floats near 2e9 s hold ~0.2 us; the instant must be right to the microsecond.
    assert np.all(np.abs(parsed.ns - np.array(expected)) < 1000)


identifier = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,10}", fullmatch=True)
cell = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp")),
    max_size=10,
)


@FAST
@given(
    data=st.data(),
    delimiter=st.sampled_from(DELIMITERS),
    ncols=st.integers(min_value=2, max_value=6),
    nrows=st.integers(min_value=0, max_value=30),
)
def test_sniff_csv_finds_the_delimiter(
    data: st.DataObject, delimiter: str, ncols: int, nrows: int
) -> None:
    header = data.draw(st.lists(identifier, min_size=ncols, max_size=ncols, unique=True))
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    for _ in range(nrows):
        writer.writerow(data.draw(st.lists(cell, min_size=ncols, max_size=ncols)))
    found, _ = sniff_csv(buf.getvalue())
    assert found == delimiter


@FAST
@given(
    numbers=st.lists(
        st.floats(min_value=0.001, max_value=1e6, allow_nan=False), min_size=1, max_size=30
    ),
    delimiter=st.sampled_from([";", "\t", "|"]),
    decimal_comma=st.booleans(),
)
def test_sniff_csv_finds_the_decimal_mark(
    numbers: list[float], delimiter: str, decimal_comma: bool
) -> None:
    lines = [delimiter.join(["name", "latency"])]
    for i, x in enumerate(numbers):
        text = f"{x:.2f}"
        lines.append(delimiter.join([f"row{i}", text.replace(".", ",") if decimal_comma else text]))
    assert sniff_csv("\n".join(lines) + "\n") == (delimiter, "," if decimal_comma else ".")


finite = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False)


@FAST
@given(values=st.lists(finite, min_size=1, max_size=300))
def test_summary_percentiles_equal_numpy_linear(values: list[float]) -> None:
    arr = np.array(values)
    summary = latency_summary(arr)
    scale = max(1.0, float(np.abs(arr).max()))
    for key, q in (("p50", 50), ("p90", 90), ("p95", 95), ("p99", 99), ("p99.9", 99.9)):
        expected = float(np.percentile(arr, q, method="linear"))
        assert summary.percentiles[key] == pytest.approx(expected, rel=1e-12, abs=1e-12 * scale)
        assert arr.min() <= summary.percentiles[key] <= arr.max()
    ordered = [summary.percentiles[k] for k in ("p50", "p90", "p95", "p99", "p99.9")]
    assert ordered == sorted(ordered)
    assert summary.max == arr.max()
    assert summary.mean == pytest.approx(arr.mean(), rel=1e-9, abs=1e-9 * scale)
    assert summary.count == len(values)


@FAST
@given(
    rows=st.lists(
        st.tuples(st.floats(min_value=0, max_value=1e5, allow_nan=False), st.booleans()),
        min_size=1,
        max_size=200,
    )
)
def test_group_summary_uses_successful_requests_only(rows: list[tuple[float, bool]]) -> None:
    frame = pd.DataFrame(rows, columns=["latency_ms", "ok"])
    frame.loc[~frame["ok"] & (frame.index % 3 == 0), "latency_ms"] = np.nan  # failed, no latency
    group = group_summary(frame)
    good = frame.loc[frame["ok"], "latency_ms"].to_numpy()
    assert group.rows == len(rows)
    assert group.errors == int((~frame["ok"]).sum())
    assert group.latency.count == len(good)
    if len(good):
        assert group.latency.percentiles["p90"] == pytest.approx(
            np.percentile(good, 90, method="linear"), rel=1e-12, abs=1e-9
        )
    else:
        assert math.isnan(group.latency.percentiles["p50"])
        assert group.latency.to_dict()["p50"] is None


STATUS_WORDS = ["ok", "OK", "fail", "200", "500", " Timeout ", "queued", "A", "a"]


@FAST
@given(
    values=st.lists(st.sampled_from(STATUS_WORDS), min_size=1, max_size=40),
    good=st.lists(st.sampled_from(STATUS_WORDS), max_size=3),
    bad=st.lists(st.sampled_from(STATUS_WORDS), max_size=3),
)
def test_status_lists_classification(values: list[str], good: list[str], bad: list[str]) -> None:
    assume(good or bad)
    policy = StatusPolicy(kind="lists", column="s", good=tuple(good), bad=tuple(bad))
    ok, classified = policy.classify(pa.array(values), len(values))
    norm = [v.strip().lower() for v in values]
    in_good = np.array([v in {g.strip().lower() for g in good} for v in norm])
    in_bad = np.array([v in {b.strip().lower() for b in bad} for v in norm])
    assert not (ok & ~classified).any()  # only classified rows can be good
    if good and not bad:
        assert classified.all()  # one list: everything is good or bad
        assert ok.tolist() == in_good.tolist()
    elif bad and not good:
        assert classified.all()
        assert ok.tolist() == (~in_bad).tolist()
    else:
        assert classified.tolist() == (in_good | in_bad).tolist()
        assert ok.tolist() == (in_good & ~in_bad).tolist()


@FAST
@given(
    codes=st.lists(st.sampled_from(HTTP_CODES), min_size=1, max_size=40),
    as_type=st.sampled_from(["int", "float", "text"]),
    rate_limited_bad=st.booleans(),
)
def test_status_lists_match_numbers_however_stored(
    codes: list[int], as_type: str, rate_limited_bad: bool
) -> None:
    column = {
        "int": pa.array(codes, pa.int64()),
        "float": pa.array([float(c) for c in codes], pa.float64()),
        "text": pa.array([str(c) for c in codes]),
    }[as_type]
    lists = StatusPolicy(kind="lists", column="code", bad=("500", "502", "503", "504"))
    ok, classified = lists.classify(column, len(codes))
    assert classified.all()
    assert ok.tolist() == [c not in (500, 502, 503, 504) for c in codes]

    http = StatusPolicy(kind="http", column="code", rate_limited_bad=rate_limited_bad)
    ok, classified = http.classify(column, len(codes))
    assert classified.all()
    assert ok.tolist() == [http_ok(c, rate_limited_bad) for c in codes]
