"""`sloview simulate`: the JSON a script reads, SLO files, and one-line errors (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from sloview.cli import main
from sloview.ingest import load_requests

ENTRY_KEYS = {
    "name",
    "sli",
    "budgeting_method",
    "target",
    "threshold_ms",
    "statement",
    "overall",
    "periods",
    "error_budget_remaining",
    "alerts",
    "recommendation",
}
OVERALL_KEYS = {"good", "total", "attainment", "ci_low", "ci_high"}
PERIOD_KEYS = {"start", "end", "good", "total", "attainment", "met", "partial"}
ALERT_KEYS = {"severity", "long_window", "short_window", "burn_rate_threshold", "start", "end"}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def requests_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three days, one request every 30 s: latency cycles through 50..1049 ms, every 40th fails."""
    n = 3 * 2880
    i = np.arange(n)
    frame = pd.DataFrame(
        {
            "timestamp": (
                pd.Timestamp("2026-03-02", tz="UTC") + pd.to_timedelta(i * 30, unit="s")
            ).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "latency_ms": 50 + (i * 37) % 1000,
            "status": np.where(i % 40 == 7, 500, 200),
            "endpoint": np.where(i % 3 == 0, "search", "chat"),
        }
    )
    path = tmp_path_factory.mktemp("cli") / "requests.csv"
    frame.to_csv(path, index=False)
    return path


def check_shape(entry: dict[str, Any]) -> None:
    assert set(entry) >= ENTRY_KEYS
    assert set(entry["overall"]) >= OVERALL_KEYS
    assert entry["periods"], "at least one period"
    for period in entry["periods"]:
        assert set(period) >= PERIOD_KEYS
        assert period["start"].endswith("Z")
        assert period["end"].endswith("Z")
    for alert in entry["alerts"]:
        assert set(alert) >= ALERT_KEYS
    assert isinstance(entry["recommendation"], dict)


def test_json_on_the_sample_data(capsys: pytest.CaptureFixture[str], sample_path: Path) -> None:
    code, out, err = run(
        capsys, "simulate", str(sample_path), "--sli", "availability", "--target", "0.995", "--json"
    )
    assert (code, err) == (0, "")
    doc = json.loads(out)
    assert list(doc) == ["slos"]
    (entry,) = doc["slos"]
    check_shape(entry)
    frame = load_requests(sample_path).frame
    assert entry["name"] == "availability-slo"
    assert (entry["sli"], entry["budgeting_method"]) == ("availability", "Occurrences")
    assert (entry["target"], entry["threshold_ms"]) == (0.995, None)
    assert entry["statement"] == "99.5% of requests succeed, measured over a rolling 28 days."
    overall = entry["overall"]
    assert (overall["good"], overall["total"]) == (frame["ok"].sum(), len(frame))
    assert overall["ci_low"] < overall["attainment"] < overall["ci_high"]
    assert len(entry["periods"]) == 42
    assert entry["periods"][-1]["end"] == "2026-10-19T00:00:00Z"
    assert entry["error_budget_remaining"] == pytest.approx(
        1 - (1 - entry["periods"][-1]["attainment"]) / 0.005
    )
    pages = [a for a in entry["alerts"] if a["severity"] == "page"]
    assert pages
    assert all(a["start"].startswith("2026-09-23T1") for a in pages)
    assert pages[0]["long_window"] == "1h"
    assert pages[0]["short_window"] == "5m"
    assert pages[0]["burn_rate_threshold"] == 13.44
    assert entry["recommendation"]["periods_used"] == 15


SLO_FILE = """\
slos:
  - name: chat-latency
    sli: {kind: latency, failed_requests: bad}
    objective: {target: 0.5, threshold: 500}
    window: {calendar: day}
    segment: {endpoint: chat}
  - name: availability
    sli: {kind: availability}
    objective: {target: 0.99}
    window: {rolling: 1d}
    budgeting: {method: Timeslices, slice: 1h, slice_target: 0.97}
"""


def test_slo_file(capsys: pytest.CaptureFixture[str], requests_csv: Path, tmp_path: Path) -> None:
    spec = tmp_path / "slos.yaml"
    spec.write_text(SLO_FILE)
    code, out, err = run(
        capsys, "simulate", str(requests_csv), "--slo", str(spec), "--segment", "endpoint", "--json"
    )
    assert (code, err) == (0, "")
    latency, availability = json.loads(out)["slos"]
    for entry in (latency, availability):
        check_shape(entry)
    raw = pd.read_csv(requests_csv)
    raw["day"] = raw["timestamp"].str[:10]
    chat = raw[raw["endpoint"] == "chat"]
    good = (chat["status"] == 200) & (chat["latency_ms"] <= 500)
    per_day = good.groupby(chat["day"]).agg(["sum", "count"])
    assert latency["name"] == "chat-latency"
    assert latency["threshold_ms"] == 500
    assert [(p["good"], p["total"]) for p in latency["periods"]] == [
        (float(r["sum"]), float(r["count"])) for _, r in per_day.iterrows()
    ]
    assert latency["statement"] == (
        "50% of chat requests complete within 500 ms (failed requests count as too slow), "
        "measured over calendar days (UTC)."
    )
    # Hourly slices: 120 requests, 3 failures each: 97.5% >= 97%, so every slice is good.
    assert availability["budgeting_method"] == "Timeslices"
    assert (availability["overall"]["good"], availability["overall"]["total"]) == (72, 72)
    assert {s["value"] for s in availability["segments"]} == {"chat", "search"}


def test_text_output(capsys: pytest.CaptureFixture[str], requests_csv: Path) -> None:
    code, out, err = run(
        capsys, "simulate", str(requests_csv), "--threshold-ms", "800", "--target", "0.7"
    )
    assert (code, err) == (0, "")
    assert out.startswith("latency-slo: 70% of requests complete within 800 ms")
    assert "recommendation:" in out


def test_data_without_timestamps_give_the_distribution_only_result(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "no_time.csv"
    path.write_text("latency_ms,status,provider\n120,200,a\n340,200,a\n90,500,b\n60,200,b\n")
    code, out, err = run(capsys, "simulate", str(path), "--sli", "availability", "--json")
    assert (code, err) == (0, "")
    (slo,) = json.loads(out)["slos"]
    assert (slo["overall"]["good"], slo["overall"]["total"]) == (3, 4)
    assert slo["periods"] == []
    assert slo["alerts"] == []
    assert slo["periods_met"] is None
    assert slo["coverage"] == {
        "start": None,
        "end": None,
        "span_s": None,
        "complete_periods": 0,
        "partial_periods": 0,
    }
    assert any("no timestamps" in w and "no history" in w for w in slo["warnings"])
    # The recommendation is over all requests.
    assert slo["recommendation"]["periods_used"] == 0
    assert "Over all 4 requests" in slo["recommendation"]["rationale"]

    code, out, err = run(
        capsys,
        "simulate",
        str(path),
        "--threshold-ms",
        "100",
        "--target",
        "0.5",
        "--by",
        "provider",
        "--json",
    )
    assert (code, err) == (0, "")
    (slo,) = json.loads(out)["slos"]
    rows = {r["value"]: r for r in slo["by"]["rows"]}
    assert (rows["a"]["good"], rows["a"]["total"], rows["a"]["errors"]) == (0, 2, 0)
    assert (rows["b"]["good"], rows["b"]["total"], rows["b"]["errors"]) == (1, 1, 1)
    assert rows["b"]["error_rate"] == 0.5

    code, out, _ = run(capsys, "recommend", str(path), "--threshold-ms", "100", "--json")
    assert code == 0
    (rec,) = json.loads(out)["slos"]
    assert rec["threshold_ms"] == 340.0  # 95% of the 3 successful latencies: the largest
    assert any("no timestamps" in w for w in rec["warnings"])


def test_slice_slos_need_timestamps(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "no_time.csv"
    path.write_text("latency_ms,status\n120,200\n340,200\n90,500\n")
    code, out, err = run(
        capsys,
        "simulate",
        str(path),
        "--percentile",
        "95",
        "--threshold-ms",
        "200",
        "--slice",
        "5m",
    )
    assert (code, out) == (2, "")
    assert err.count("\n") == 1
    assert "judged per time slice, which needs timestamps" in err


BAD_SLO_FILES = {
    "no slice target": (
        "slos:\n  - name: a\n    sli: {kind: availability}\n    objective: {target: 0.99}\n"
        "    budgeting: {method: Timeslices, slice: 5m}\n",
        "slos[0].budgeting.slice_target: ",
    ),
    "nested bad value": (
        "slos:\n  - name: a\n    sli: {kind: availability}\n    objective: {target: 0.99}\n"
        "  - name: b\n    sli: {kind: latency, failed_requests: maybe}\n"
        "    objective: {target: 0.9, threshold: 100}\n",
        "slos[1].sli.failed_requests: 'maybe' is not allowed",
    ),
    "not YAML": ("slos: [name: a\n", "not valid YAML"),
}


@pytest.mark.parametrize("case", list(BAD_SLO_FILES))
def test_bad_slo_files_are_one_line(
    capsys: pytest.CaptureFixture[str], requests_csv: Path, tmp_path: Path, case: str
) -> None:
    text, expected = BAD_SLO_FILES[case]
    spec = tmp_path / "bad.yaml"
    spec.write_text(text)
    code, out, err = run(capsys, "simulate", str(requests_csv), "--slo", str(spec), "--json")
    assert (code, out) == (2, "")
    assert err.count("\n") == 1
    assert err.startswith("sloview: error: ")
    assert expected in err
    assert "Traceback" not in err


BAD_FLAGS = {
    "unknown flag": (["--bogus"], "unrecognized arguments: --bogus"),
    "not a number": (["--threshold-ms", "fast"], "argument --threshold-ms: invalid float value"),
    "target above 1": (["--threshold-ms", "100", "--target", "1.5"], "objective.target: 1.5"),
    "no threshold": ([], "a latency SLO needs --threshold-ms T"),
    "window in hours": (["--sli", "availability", "--window", "36h"], "window.rolling: 36h"),
    "month as m": (["--sli", "availability", "--window", "1M"], "window.rolling: '1M'"),
    "bad calendar": (["--sli", "availability", "--calendar", "fortnight"], "invalid choice"),
    "bad slice": (
        ["--sli", "availability", "--budgeting", "Timeslices", "--slice", "7m"],
        "budgeting.slice: 7m does not divide a day",
    ),
    "slice without slices": (["--sli", "availability", "--slice", "5m"], "--budgeting"),
    "unknown timezone": (["--sli", "availability", "--window-tz", "Mars/Base"], "window.tz"),
    "desired share": (["--sli", "availability", "--desired-share", "0"], "--desired-share"),
    "no ttft column": (
        ["--threshold-ms", "100", "--metric", "ttft_ms"],
        "sli.metric: the data have no ttft_ms column",
    ),
    "unknown segment": (["--sli", "availability", "--segment", "tenant"], "'tenant'"),
}


@pytest.mark.parametrize("case", list(BAD_FLAGS))
def test_bad_flags_exit_2_with_one_line(
    capsys: pytest.CaptureFixture[str], requests_csv: Path, case: str
) -> None:
    flags, expected = BAD_FLAGS[case]
    try:
        code = main(["simulate", str(requests_csv), *flags, "--json"])
    except SystemExit as exc:  # argparse errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert err.count("\n") == 1
    assert err.startswith("sloview: error: ")
    assert expected in err
