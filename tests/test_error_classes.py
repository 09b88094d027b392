"""Error classes of generative APIs: detection on real files, the good/bad switch, the breakdown.

Expected classes come from plain pandas rules written here (status code -> class, words in the
message -> class), so a wrong rule in sloview cannot hide behind the same rule in the test.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sloview.cli import main
from sloview.errors import SpecError
from sloview.ingest import Mapping, load_requests
from sloview.ingest.error_classes import ERROR_CLASSES
from sloview.ingest.status import StatusPolicy
from sloview.summary import error_breakdown

LLMPERF_FLAT = "llmperf_leaderboard_2023/llmperf_requests_flat.csv"
LLMPERF_JSON = "llmperf_leaderboard_2023/raw/individual"
STANDARD_ERRORS = "jmeter_error_samples/taurus_standard-errors.flat.csv"
SLOW_STDEV = "jmeter_error_samples/taurus_slow-stdev.jtl"
T0 = pd.Timestamp("2024-05-06T07:08:09Z")
FAST = settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)


def class_counts(table: Any) -> dict[str, int]:
    """Non-zero class counts of a loaded table."""
    counts = table.frame["error_class"].value_counts()
    return {str(k): int(v) for k, v in counts.items() if v}


def classes(table: Any) -> list[str | None]:
    """The error class of each row, None where there is none."""
    return [None if pd.isna(v) else str(v) for v in table.frame["error_class"]]


def http_class(code: int) -> str | None:
    """The HTTP code rule, written independently of sloview."""
    if code == 429:
        return "rate_limited"
    if code in (503, 529):
        return "overloaded"
    if code == 504:
        return "timeout"
    if 500 <= code <= 599:
        return "server_error"
    if 400 <= code <= 499:
        return "client_error"
    return None


def summarize_json(capsys: pytest.CaptureFixture[str], path: Path, *flags: str) -> dict[str, Any]:
    capsys.readouterr()
    code = main(["summarize", str(path), "--json", *flags])
    out, err = capsys.readouterr()
    assert code == 0, err
    result = json.loads(out)
    assert isinstance(result, dict)
    return result


def write(tmp_path: Path, name: str, content: str) -> Path:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


# --- Real files -------------------------------------------------------------------------------

LLMPERF_CLASS = {429: "rate_limited", -100: "too_short", -1: "other"}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("lepton_7b.json", {"rate_limited": 130}),
        ("lepton_70b.json", {"rate_limited": 130}),
        ("bedrock_13b.json", {"too_short": 97}),
        ("bedrock_70b.json", {"too_short": 49}),
        ("perplexity_70b.json", {"rate_limited": 2}),
        ("together_13b.json", {"other": 1}),
        ("anyscale_70b.json", {}),
    ],
)
def test_llmperf_json_classes(realdata: Path, name: str, expected: dict[str, int]) -> None:
    path = realdata / LLMPERF_JSON / name
    df = pd.DataFrame(json.loads(path.read_text()))
    by_pandas = df["error_code"].dropna().astype(int).map(LLMPERF_CLASS).value_counts().to_dict()
    assert by_pandas == expected

    table = load_requests(path)
    assert class_counts(table) == expected
    assert table.mapping.message_columns == ("error_msg",)
    # Row by row, in file order (no timestamps: nothing is re-sorted).
    want = [None if pd.isna(c) else LLMPERF_CLASS[int(c)] for c in df["error_code"]]
    assert classes(table) == want
    # Every class of an error column counts as bad by default: ok is as before.
    assert table.frame["ok"].tolist() == df["error_code"].isna().tolist()


def test_llmperf_flat_classes_per_provider(realdata: Path) -> None:
    df = pd.read_csv(realdata / LLMPERF_FLAT)
    df["cls"] = df["error_code"].map(lambda c: None if pd.isna(c) else LLMPERF_CLASS[int(c)])
    # The error messages agree with the codes (the words alone would give the same class).
    assert df.loc[df["error_code"] == -100, "error_msg"].str.startswith("Output too few").all()
    assert df.loc[df["error_msg"].str.contains("rate limit", na=False), "error_code"].eq(429).all()

    table = load_requests(realdata / LLMPERF_FLAT)
    frame = table.frame
    got = pd.crosstab(frame["provider"].astype(str), frame["error_class"].astype(str))
    want = pd.crosstab(df["provider"], df["cls"])
    pd.testing.assert_frame_equal(
        got.loc[want.index, want.columns], want, check_names=False, check_dtype=False
    )
    assert class_counts(table) == {"rate_limited": 392, "too_short": 146, "other": 1}
    assert int(frame["error_class"].isna().sum()) == int(df["error_code"].isna().sum()) == 2306


def test_jmeter_socket_timeouts_are_timeouts(realdata: Path) -> None:
    path = realdata / STANDARD_ERRORS
    df = pd.read_csv(path)
    timeouts = df["responseCode"].str.contains("SocketTimeoutException")
    assert int(timeouts.sum()) == 93
    assert (df.loc[~timeouts, "responseCode"].astype(str) == "200").all()

    table = load_requests(path)
    frame = table.frame
    assert class_counts(table) == {"timeout": 93, "other": 92}
    # Rows are sorted by time; compare on the recorded status of each row.
    is_timeout = frame["status"].astype(str).str.contains("SocketTimeoutException").to_numpy()
    assert (frame["error_class"].astype(str).to_numpy()[is_timeout] == "timeout").all()
    assert (frame["error_class"].astype(str).to_numpy()[~is_timeout] == "other").all()
    assert table.mapping.message_columns == ("responseMessage",)


def test_jmeter_500s_are_server_errors_and_assertions_other(realdata: Path) -> None:
    df = pd.read_csv(realdata / SLOW_STDEV)
    failed = df["success"].astype(str).str.lower() != "true"
    table = load_requests(realdata / SLOW_STDEV)
    assert class_counts(table) == {
        "server_error": int((failed & (df["responseCode"] == 500)).sum()),
        "other": int((failed & (df["responseCode"] != 500)).sum()),
    }
    assert class_counts(table) == {"server_error": 61, "other": 2}


def test_sample_http_classes_and_default_policy(sample_path: Path) -> None:
    df = pd.read_parquet(sample_path, columns=["timestamp", "status"])
    df = df.sort_values("timestamp", kind="stable")
    table = load_requests(sample_path)
    frame = table.frame
    assert classes(table) == [http_class(int(c)) for c in df["status"]]
    assert class_counts(table) == {
        "rate_limited": 1494,
        "overloaded": 392,
        "server_error": 260,
        "timeout": 181,
    }
    # Today's HTTP rule is unchanged by default: 5xx and 429 bad, everything else good.
    bad = df["status"].between(500, 599) | (df["status"] == 429)
    assert frame["ok"].tolist() == (~bad).tolist()
    assert table.mapping.good_classes == ("client_error",)
    description = table.mapping.policy_description
    assert "5xx are bad, 429 (rate limited) counts as bad, other 1xx-4xx are good" in description
    assert (
        "Error classes counted as bad: rate limited, overloaded, timeout, server error, "
        "content filter, too-short output, other; counted as good: client error." in description
    )
    codes = frame["error_class"].cat.codes
    assert codes.dtype == np.int8
    assert list(frame["error_class"].cat.categories) == list(ERROR_CLASSES)


# --- The switch: which classes count as good ------------------------------------------------


@pytest.mark.parametrize(
    "mapping",
    [
        Mapping(),
        Mapping(rate_limited_bad=False),
        Mapping(good_classes=()),
        Mapping(good_classes=("timeout", "overloaded")),
        Mapping(good_classes=("client_error", "rate_limited", "server_error")),
        Mapping(good_classes=("timeout",), rate_limited_bad=False),
    ],
)
def test_switch_changes_ok_exactly(sample_path: Path, mapping: Mapping) -> None:
    df = pd.read_parquet(sample_path, columns=["status"])
    good = {"client_error"} if mapping.good_classes is None else set(mapping.good_classes)
    if not mapping.rate_limited_bad:
        good.add("rate_limited")
    cls = df["status"].map(http_class)
    expected_failed = int((cls.notna() & ~cls.isin(good)).sum())

    table = load_requests(sample_path, mapping)
    assert int((~table.frame["ok"]).sum()) == expected_failed
    assert table.rows == len(df)  # a switch never drops a request
    assert set(table.mapping.good_classes) == good
    # The class of a request does not change with the switch, only whether it counts.
    assert class_counts(table) == class_counts(load_requests(sample_path))
    breakdown = error_breakdown(table)
    assert int(breakdown.loc[breakdown["counts_as_bad"], "requests"].sum()) == expected_failed


def test_switch_on_llmperf(realdata: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = realdata / LLMPERF_FLAT
    df = pd.read_csv(path)
    codes = df["error_code"]
    assert summarize_json(capsys, path)["errors"] == int(codes.notna().sum()) == 539
    short_good = load_requests(path, Mapping(good_classes=("too_short",)))
    assert int((~short_good.frame["ok"]).sum()) == int((codes.notna() & (codes != -100)).sum())
    assert "counted as good: too-short output" in short_good.mapping.policy_description
    # --rate-limited good now reaches rate-limited errors of any status column, not only HTTP.
    result = summarize_json(capsys, path, "--rate-limited", "good")
    assert result["errors"] == int((codes.notna() & (codes != 429)).sum()) == 147
    assert result["error_classes"]["rate_limited"] == 392


def test_rate_limited_429_switch_keeps_working(tmp_path: Path) -> None:
    rows = ["timestamp,latency_ms,status"]
    for i, code in enumerate([200, 429, 500, 404, 503, 504]):
        rows.append(f"{(T0 + pd.Timedelta(seconds=i)).isoformat()},{i + 1},{code}")
    path = write(tmp_path, "codes.csv", "\n".join(rows) + "\n")
    table = load_requests(path, Mapping(rate_limited_bad=False))
    assert table.frame["ok"].tolist() == [True, True, False, True, False, False]
    assert "429 (rate limited) counts as good" in table.mapping.policy_description
    table = load_requests(path, Mapping(good_classes=("timeout", "client_error")))
    assert table.frame["ok"].tolist() == [True, False, False, True, False, True]
    # Outside the classic rule the HTTP sentence says errors count by class.
    assert "4xx and 5xx are errors that count by their class" in table.mapping.policy_description
    assert "counted as good: timeout, client error." in table.mapping.policy_description


# --- The breakdown and summarize --json -------------------------------------------------------


def test_error_breakdown_sums(realdata: Path) -> None:
    table = load_requests(realdata / LLMPERF_FLAT)
    breakdown = error_breakdown(table)
    assert breakdown["error_class"].tolist() == list(ERROR_CLASSES)
    assert list(breakdown.columns) == ["error_class", "label", "requests", "share", "counts_as_bad"]
    assert int(breakdown["requests"].sum()) == int(table.frame["error_class"].notna().sum())
    np.testing.assert_allclose(breakdown["share"], breakdown["requests"] / table.rows)
    assert breakdown["share"].sum() == pytest.approx(539 / 2845)
    assert breakdown["counts_as_bad"].all()  # an error column: every class is bad by default
    bad = int(breakdown.loc[breakdown["counts_as_bad"], "requests"].sum())
    assert bad == int((~table.frame["ok"]).sum())
    by_class = dict(zip(breakdown["error_class"], breakdown["requests"], strict=True))
    assert by_class["rate_limited"] == 392
    assert by_class["too_short"] == 146


def test_summarize_json_error_classes(
    sample_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = summarize_json(capsys, sample_path)
    status = pd.read_parquet(sample_path, columns=["status"])["status"]
    expected = dict.fromkeys(ERROR_CLASSES, 0)
    expected.update(status.map(http_class).value_counts().to_dict())
    assert result["error_classes"] == expected
    assert list(result["error_classes"]) == list(ERROR_CLASSES)
    bad = sum(v for k, v in result["error_classes"].items() if k != "client_error")
    assert result["errors"] == bad


# --- Generated files: messages, finish reasons, words -------------------------------------------


def test_messages_refine_server_errors_not_client_errors(tmp_path: Path) -> None:
    content = (
        "latency_ms,status,error_message\n"
        "1,200,\n"
        "2,500,upstream request timeout\n"
        "3,502,Model is overloaded\n"
        "4,500,Internal error\n"
        "5,400,content_filter: prompt flagged\n"
        "6,408,Request Timeout\n"
        "7,503,rate limit exceeded\n"
        "8,500,Rate limit reached for requests\n"
    )
    table = load_requests(write(tmp_path, "msgs.csv", content))
    assert table.mapping.message_columns == ("error_message",)
    assert classes(table) == [
        None,
        "timeout",
        "overloaded",
        "server_error",
        "client_error",  # a 4xx stays the caller's fault whatever the message says
        "client_error",
        "overloaded",  # the code names the class; the message does not override it
        "rate_limited",
    ]
    # Today's HTTP rule: 4xx good, 5xx bad.
    assert table.frame["ok"].tolist() == [True, False, False, False, True, True, False, False]


def test_content_filter_finish_reason_is_an_error(tmp_path: Path) -> None:
    content = (
        "latency_ms,status,finish_reason\n"
        "1,200,stop\n"
        "2,200,content_filter\n"
        "3,200,length\n"
        "4,500,content_filter\n"
        "5,200,SAFETY\n"
    )
    path = write(tmp_path, "finish.csv", content)
    table = load_requests(path)
    assert table.mapping.finish_reason == "finish_reason"
    assert classes(table) == [None, "content_filter", None, "content_filter", "content_filter"]
    assert table.frame["ok"].tolist() == [True, False, True, False, False]
    assert "content-filter finish reason in `finish_reason`" in table.mapping.policy_description
    switched = load_requests(path, Mapping(good_classes=("client_error", "content_filter")))
    assert switched.frame["ok"].tolist() == [True, True, True, True, True]


def test_status_words_of_generative_apis(tmp_path: Path) -> None:
    words = ["stop", "rate_limited", "content_filter", "Timeout", "overloaded", "length", "FAILED"]
    content = "latency_ms,outcome\n" + "".join(f"{i + 1},{w}\n" for i, w in enumerate(words))
    table = load_requests(write(tmp_path, "words.csv", content))
    assert table.dropped == {}
    assert table.frame["ok"].tolist() == [True, False, False, False, False, True, False]
    assert classes(table) == [
        None,
        "rate_limited",
        "content_filter",
        "timeout",
        "overloaded",
        None,
        "other",
    ]


def test_jtl_failure_message_names_the_class(tmp_path: Path) -> None:
    content = (
        "timeStamp,elapsed,label,responseCode,responseMessage,success,failureMessage\n"
        "1700000000000,120,chat,200,OK,true,\n"
        "1700000000100,30000,chat,200,OK,false,The operation lasted too long: it timed out\n"
        "1700000000200,95,chat,429,Too Many Requests,false,\n"
        "1700000000300,95,chat,404,Not Found,false,\n"
    )
    table = load_requests(write(tmp_path, "run.jtl", content))
    assert set(table.mapping.message_columns) == {"responseMessage", "failureMessage"}
    assert classes(table) == [None, "timeout", "rate_limited", "client_error"]
    # JMeter's success flag decides, as before: its 404 stays a failure by default.
    assert table.frame["ok"].tolist() == [True, False, False, False]
    assert table.mapping.good_classes == ()


def test_error_column_words(tmp_path: Path) -> None:
    content = "latency_ms,error\n1,\n2,Overloaded\n3,deadline exceeded\n4,boom\n"
    table = load_requests(write(tmp_path, "err.csv", content))
    assert classes(table) == [None, "overloaded", "timeout", "other"]
    assert table.frame["ok"].tolist() == [True, False, False, False]


# --- The Mapping setting ------------------------------------------------------------------------


def test_good_classes_round_trip_and_errors() -> None:
    for mapping in (
        Mapping(good_classes=()),
        Mapping(good_classes=("timeout", "rate_limited")),
        Mapping(rate_limited_bad=False),
        Mapping(),
    ):
        assert Mapping.from_dict(mapping.to_dict()) == mapping
    assert Mapping(good_classes=()).to_dict() == {"good_classes": []}
    assert "good_classes" not in Mapping().to_dict()
    # Labels and any order are accepted; the fixed class order is kept.
    parsed = Mapping.from_dict({"good_classes": ["Too-short output", "rate limited"]})
    assert parsed.good_classes == ("rate_limited", "too_short")
    assert Mapping.from_dict({"good_classes": "timeout,other"}).good_classes == ("timeout", "other")
    with pytest.raises(SpecError, match=re.escape("mapping.good_classes[1]: 'slow'")):
        Mapping.from_dict({"good_classes": ["timeout", "slow"]})
    with pytest.raises(SpecError, match="must be a list of error classes"):
        Mapping.from_dict({"good_classes": 3})


# --- Property: class detection against a rule written out here -----------------------------------

FRAGMENTS = {
    "Rate limit exceeded": "rate_limited",
    "Too Many Requests": "rate_limited",
    "requests are being throttled": "rate_limited",
    "Model overloaded": "overloaded",
    "Service Unavailable": "overloaded",
    "Read timed out": "timeout",
    "java.net.SocketTimeoutException": "timeout",
    "finish: content_filter": "content_filter",
    "blocked for safety": "content_filter",
    "Output too few tokens 12": "too_short",
    "Internal error": None,
    "OK": None,
    "assertion failed": None,
    "": None,
}
PRIORITY = ["rate_limited", "overloaded", "timeout", "content_filter", "too_short"]
CODES = [200, 201, 400, 401, 404, 408, 429, 500, 501, 502, 503, 504, 529, 599]


def expected_class(code: int, message: list[str]) -> str | None:
    """The documented rule: code first (429/503/529/504, any 4xx), then words, then 5xx."""
    if code == 429:
        return "rate_limited"
    if code in (503, 529):
        return "overloaded"
    if code == 504:
        return "timeout"
    if 400 <= code <= 499:
        return "client_error"
    if code < 400:
        return None
    found = {FRAGMENTS[f] for f in message} - {None}
    for name in PRIORITY:
        if name in found:
            return name
    return "server_error"


@FAST
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(CODES),
            st.lists(st.sampled_from(sorted(FRAGMENTS)), min_size=0, max_size=3),
        ),
        min_size=1,
        max_size=40,
    ),
    as_text=st.booleans(),
)
def test_http_class_detection_property(rows: list[tuple[int, list[str]]], as_text: bool) -> None:
    codes = [c for c, _ in rows]
    messages = [" / ".join(m) if m else None for _, m in rows]
    status = pa.chunked_array([pa.array([str(c) for c in codes] if as_text else codes)])
    message = pa.chunked_array([pa.array(messages, pa.string())])
    verdict = StatusPolicy(kind="http", column="status").assess(
        status, status, (message,), None, len(rows)
    )
    got = [None if c < 0 else ERROR_CLASSES[c] for c in verdict.error_class]
    assert got == [expected_class(c, m) for c, m in rows]
    # Default: everything with a class counts as failed except client errors.
    assert verdict.ok.tolist() == [expected_class(c, m) in (None, "client_error") for c, m in rows]


@FAST
@given(
    rows=st.lists(
        st.tuples(
            st.one_of(st.none(), st.sampled_from(["timeout", "-1", "-100", "429", "oops"])),
            st.lists(st.sampled_from(sorted(FRAGMENTS)), min_size=0, max_size=2),
        ),
        min_size=1,
        max_size=40,
    ),
    good=st.sets(st.sampled_from(ERROR_CLASSES)),
)
def test_error_column_class_detection_property(
    rows: list[tuple[str | None, list[str]]], good: set[str]
) -> None:
    values = [v for v, _ in rows]
    messages = [" / ".join(m) if m else None for _, m in rows]
    status = pa.chunked_array([pa.array(values, pa.string())])
    message = pa.chunked_array([pa.array(messages, pa.string())])
    policy = StatusPolicy(kind="error_code", column="error", good_classes=tuple(good))
    verdict = policy.assess(status, status, (message,), None, len(rows))

    def expected(value: str | None, message: list[str]) -> str | None:
        if value is None:
            return None
        if value == "429":
            return "rate_limited"
        if value == "-100":
            return "too_short"
        # The status's own words first, then the message's.
        if value == "timeout":
            return "timeout"
        found = {FRAGMENTS[f] for f in message} - {None}
        return next((n for n in PRIORITY if n in found), "other")

    want = [expected(v, m) for v, m in rows]
    got = [None if c < 0 else ERROR_CLASSES[c] for c in verdict.error_class]
    assert got == want
    assert verdict.ok.tolist() == [w is None or w in good for w in want]
    assert not math.isnan(float(verdict.classified.mean()))


def test_nested_error_objects_in_json_lines(tmp_path: Path) -> None:
    records = [
        {"latency_ms": 10, "error": None, "finish_reason": "stop"},
        {
            "latency_ms": 12,
            "error": {"message": "Rate limit reached", "type": "rate_limit_exceeded", "code": 429},
        },
        {
            "latency_ms": 14,
            "error": {"message": "The server is overloaded", "type": "server_error"},
        },
        {"latency_ms": 16, "error": {"message": "boom"}},
        {"latency_ms": 18, "error": None, "finish_reason": "content_filter"},
    ]
    path = write(tmp_path, "log.jsonl", "\n".join(json.dumps(r) for r in records) + "\n")
    table = load_requests(path)
    assert classes(table) == [None, "rate_limited", "overloaded", "other", "content_filter"]
    assert table.frame["ok"].tolist() == [True, False, False, False, False]
    # The error object is kept as its JSON text (Arrow gives absent keys as null).
    assert json.loads(str(table.frame["status"].iloc[3]))["message"] == "boom"
