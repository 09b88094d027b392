"""The cases users met on real data, each held to what an honest figure is.

- thin data: a 7-second JMeter run and a 23-day trace judged against 28 days;
- failures hidden in comparisons: an LLM provider whose requests mostly fail (HTTP 429);
- figures contradicting each other: rounding against a verdict, "at least" beside a table,
  "nan" in the CLI;
- promises: the synthetic-times note, LLMPerf without timestamps, per-segment rows in the CLI.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from sloview import charts, explore
from sloview import formatting as fmt
from sloview.cli import main
from sloview.engine import Engine
from sloview.ingest import Mapping, load_requests

TAURUS = "jmeter_error_samples/taurus_slow-stdev.jtl"
ALIBABA = "alibaba_gentd26_genai_serving/lora_request_trace.csv"
LLMPERF_FLAT = "llmperf_leaderboard_2023/llmperf_requests_flat.csv"
LLMPERF_JSON = "llmperf_leaderboard_2023/raw/individual/lepton_70b.json"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_slo(out: str) -> dict[str, object]:
    (slo,) = json.loads(out)["slos"]
    assert isinstance(slo, dict)
    return slo


# -- thin data ------------------------------------------------------------------------------------


def test_a_seven_second_run_reads_85_requests_per_second(
    capsys: pytest.CaptureFixture[str], realdata: Path
) -> None:
    code, out, _ = run(capsys, "summarize", str(realdata / TAURUS), "--json")
    assert code == 0
    summary = json.loads(out)
    assert summary["span_s"] == pytest.approx(7.025)
    assert summary["requests_per_second"] == pytest.approx(599 / 7.025)  # was 0.16 per hour slice
    engine = Engine(load_requests(realdata / TAURUS))
    quality = explore.data_quality(engine.table, engine)
    assert quality["requests_per_second"] == pytest.approx(599 / 7.025)
    # The time charts pick a slice the span can fill, and rate it per second of data.
    slice_name = explore.default_slice(engine.span_s)
    assert slice_name == "1m"
    rates = explore.rates_over_time(engine, explore.SLICES[slice_name])
    assert rates["requests_per_s"].max() == pytest.approx(599 / 7.025)


def test_a_seven_second_run_gets_a_warning_not_a_verdict(
    capsys: pytest.CaptureFixture[str], realdata: Path
) -> None:
    code, out, _ = run(
        capsys,
        "simulate",
        str(realdata / TAURUS),
        "--threshold-ms",
        "1000",
        "--target",
        "0.9",
        "--json",
    )
    assert code == 0
    slo = one_slo(out)
    assert slo["periods_met"] is None
    assert slo["error_budget_remaining"] is None
    assert slo["coverage"]["complete_periods"] == 0
    assert slo["coverage"]["span_s"] == pytest.approx(7.025)
    assert [p["met"] for p in slo["periods"]] == [None]
    warnings = " ".join(slo["warnings"])
    assert "less than a rolling 28 days" in warnings
    assert "less than a whole day" in warnings
    assert "no alert rule could be evaluated" in warnings
    # The recommendation is over all requests, and says why.
    assert slo["recommendation"]["periods_used"] == 0
    assert "cover no whole period" in slo["recommendation"]["rationale"]


def test_23_days_against_a_28_day_window_name_the_longest_window_supported(
    capsys: pytest.CaptureFixture[str], realdata: Path
) -> None:
    code, out, _ = run(
        capsys,
        "simulate",
        str(realdata / ALIBABA),
        "--sli",
        "availability",
        "--target",
        "0.99",
        "--json",
    )
    assert code == 0
    slo = one_slo(out)
    # Was "24 of 24 met" while every period was only partly covered.
    assert slo["periods_met"] is None
    assert (slo["coverage"]["complete_periods"], slo["coverage"]["partial_periods"]) == (0, 24)
    assert any(
        "The longest rolling window these data support is 22 days" in w for w in slo["warnings"]
    )
    # With a window the data support, periods are judged.
    code, out, _ = run(
        capsys,
        "simulate",
        str(realdata / ALIBABA),
        "--sli",
        "availability",
        "--target",
        "0.99",
        "--window",
        "22d",
        "--json",
    )
    slo = one_slo(out)
    assert slo["periods_met"] is not None
    assert slo["coverage"]["complete_periods"] >= 1
    # No listed period ends before the data start.
    start = pd.Timestamp(slo["coverage"]["start"])
    assert all(pd.Timestamp(p["end"]) > start for p in slo["periods"])


def test_time_axes_choose_their_precision_from_the_zoom(realdata: Path) -> None:
    engine = Engine(load_requests(realdata / TAURUS))
    fig = charts.rates(explore.rates_over_time(engine, 60))
    stops = fig.layout.xaxis.tickformatstops
    assert {s.value for s in stops} >= {"%H:%M:%S", "%H:%M:%S.%L", "%b %Y"}


# -- failures in comparisons ----------------------------------------------------------------------


def test_a_provider_failing_most_requests_is_never_green(
    capsys: pytest.CaptureFixture[str], realdata: Path
) -> None:
    table = load_requests(realdata / LLMPERF_FLAT, Mapping(segments=("provider",)))
    frame = explore.segment_attainment(
        table, "provider", "latency_ms", 10_000, target=0.9, failed_requests="exclude"
    ).set_index("provider")
    lepton = frame.loc["lepton"]
    assert (lepton["requests"], lepton["errors"]) == (450, 390)
    assert lepton["error_rate"] == pytest.approx(390 / 450)
    assert lepton["verdict"] != "met"
    # A provider that meets the threshold with few failures is green.
    assert frame.loc["groq", "verdict"] == "met"

    code, out, _ = run(
        capsys,
        "simulate",
        str(realdata / LLMPERF_FLAT),
        "--threshold-ms",
        "10000",
        "--target",
        "0.9",
        "--by",
        "provider",
        "--json",
    )
    assert code == 0
    rows = {r["value"]: r for r in one_slo(out)["by"]["rows"]}
    assert rows["lepton"]["errors"] == 390
    assert rows["lepton"]["error_rate"] == pytest.approx(390 / 450)


def test_by_rows_equal_where_rows(capsys: pytest.CaptureFixture[str], realdata: Path) -> None:
    args = ("--threshold-ms", "60000", "--target", "0.9", "--window", "7d", "--json")
    code, out, _ = run(capsys, "simulate", str(realdata / ALIBABA), *args, "--by", "predict_type")
    assert code == 0
    by = one_slo(out)["by"]
    assert by["column"] == "predict_type"
    assert {r["value"] for r in by["rows"]} == {"TXT_2_IMG", "IMG_2_IMG", "INPAINTING"}
    for row in by["rows"]:
        code, out, _ = run(
            capsys,
            "simulate",
            str(realdata / ALIBABA),
            *args,
            "--where",
            f"predict_type={row['value']}",
        )
        alone = one_slo(out)
        assert (row["good"], row["total"]) == (
            alone["overall"]["good"],
            alone["overall"]["total"],
        )
        assert row["periods_met"] == alone["periods_met"]


# -- figures that agree ---------------------------------------------------------------------------


def test_a_missed_target_never_reads_as_met() -> None:
    assert fmt.attainment(0.98996, 0.99) == "98.99%"
    assert fmt.percent(0.98996, 1, target=0.99) == "98.9%"
    assert fmt.attainment(0.999996, 0.99) == "99.99%"  # never 100% short of it
    assert fmt.percent(0.999996, 2) == "99.999%"  # more digits rather than a false 100%
    assert fmt.ci_range(0.9952, 0.99561, 0.99) == "99.52% to 99.57%"  # outwards
    assert "nan" not in fmt.percent(float("nan")).lower()


def test_the_cli_never_prints_nan_and_at_least_matches_the_table(
    capsys: pytest.CaptureFixture[str],
) -> None:
    sample = Path(__file__).resolve().parent.parent / "sample_data" / "genai_requests.parquet"
    code, out, _ = run(
        capsys, "simulate", str(sample), "--sli", "availability", "--target", "0.995"
    )
    assert code == 0
    assert "nan" not in out.lower()
    assert "none" not in out.lower().replace("none judged", "")
    # "every complete period reached at least X" names the table's minimum as shown there.
    floor = re.search(r"every complete period reached at least ([\d.]+%)", out)
    assert floor is not None
    judged = re.findall(r"^\s+28 days to \S+\s+([\d.]+%)\s+\S+\s+(?:met|MISSED)$", out, re.M)
    assert judged
    assert floor.group(1) == min(judged, key=lambda s: float(s.rstrip("%")))


def test_alerts_are_summarised_per_rule_and_listed_with_verbose(
    capsys: pytest.CaptureFixture[str],
) -> None:
    sample = Path(__file__).resolve().parent.parent / "sample_data" / "genai_requests.parquet"
    args = ("simulate", str(sample), "--sli", "availability", "--target", "0.995")
    _, out, _ = run(capsys, *args)
    summary = re.search(r"alerts that would have fired: (\d+)", out)
    assert summary is not None
    n = int(summary.group(1))
    rules = re.findall(r"^\s+((?:page|ticket) \S+ x[\d.]+)\s+(\d+) times?, (?:at|first)", out, re.M)
    assert sum(int(count) for _, count in rules) == n
    assert "budget spent" not in out
    _, verbose, _ = run(capsys, *args, "--verbose")
    listed = re.findall(r"^\s+(?:page|ticket) \S+ x[\d.]+\s+\d{4}-\d\d-\d\d .* -> ", verbose, re.M)
    assert len(listed) == n


# -- promises -------------------------------------------------------------------------------------


def test_synthetic_start_times_are_said_in_simulate(
    capsys: pytest.CaptureFixture[str], realdata: Path
) -> None:
    code, out, _ = run(
        capsys,
        "simulate",
        str(realdata / LLMPERF_FLAT),
        "--timestamp",
        "synthetic_start_s_NOT_MEASURED",
        "--threshold-ms",
        "5000",
        "--json",
    )
    assert code == 0
    assert any("synthetic (not measured)" in w for w in one_slo(out)["warnings"])


def test_llmperf_json_without_times_gives_the_distribution_only_result(
    capsys: pytest.CaptureFixture[str], realdata: Path
) -> None:
    for command in ("simulate", "recommend"):
        code, out, err = run(
            capsys, command, str(realdata / LLMPERF_JSON), "--threshold-ms", "5000", "--json"
        )
        assert (code, err) == (0, "")
        (slo,) = json.loads(out)["slos"]
        assert any("no timestamps" in w for w in slo["warnings"])


def test_the_report_summary_carries_the_warnings(realdata: Path) -> None:
    from sloview.model import SLO
    from sloview.report import render, report_inputs
    from sloview.session import Candidate

    table = load_requests(realdata / ALIBABA)
    slo = SLO.from_dict(
        {"name": "availability", "sli": {"kind": "availability"}, "objective": {"target": 0.99}}
    )
    inputs = report_inputs(
        table, Engine(table), [Candidate(slo=slo, agreed=True)], generated_at="now"
    )
    assert inputs.agreed[0].verdict == "not-judged"
    markdown = render(inputs, "md").decode()
    summary = markdown.split("## 1.")[0]
    assert "**Warning.** availability: The data span 23 days" in summary
    assert "Not judged" in summary
    html = render(inputs, "html").decode()
    assert '<p class="warning"><strong>Warning.</strong> availability: The data span' in html


def test_time_charts_and_the_time_filter_fit_the_span(realdata: Path) -> None:
    from sloview.filters import time_range_grid

    engine = Engine(load_requests(realdata / TAURUS))
    # A run that began at 20:09 is drawn from 20:09, not from the midnight before it.
    rates = explore.rates_over_time(engine, 60)
    assert rates["start"].iloc[0] == pd.Timestamp("2018-07-23 20:09", tz="UTC")
    assert len(rates) == 1
    over_time = explore.percentiles_over_time(engine, "latency_ms", 60)
    assert over_time["start"].iloc[0] == pd.Timestamp("2018-07-23 20:09", tz="UTC")
    # Seven seconds leave a time-range filter nothing to choose; longer spans get steps
    # that fit them.
    t0 = pd.Timestamp("2026-01-01 10:07:30", tz="UTC")
    assert time_range_grid(t0, t0 + pd.Timedelta(seconds=7)) is None
    lo, hi, step = time_range_grid(t0, t0 + pd.Timedelta(minutes=50))  # type: ignore[misc]
    assert (step, lo, hi) == (
        pd.Timedelta(minutes=1),
        t0.floor("min"),
        (t0 + pd.Timedelta(minutes=50)).ceil("min"),
    )
    assert time_range_grid(t0, t0 + pd.Timedelta(days=42))[2] == pd.Timedelta(hours=1)  # type: ignore[index]
    assert time_range_grid(t0, t0 + pd.Timedelta(days=400))[2] == pd.Timedelta(days=1)  # type: ignore[index]


def test_simulate_says_what_was_set_apart(
    capsys: pytest.CaptureFixture[str], realdata: Path, tmp_path: Path
) -> None:
    rows = (realdata / "ehrbase_jmeter_nightly" / "result_2022-05-16_828624a9.jtl").read_text()
    lines = rows.splitlines()[:2002]
    last = lines[-1].split(",")
    last[0] = "0"  # a default-zero time: 1970-01-01
    path = tmp_path / "stray.jtl"
    path.write_text("\n".join([*lines[:-1], ",".join(last)]) + "\n")
    code, out, _ = run(capsys, "simulate", str(path), "--sli", "availability", "--json")
    assert code == 0
    warnings = " ".join(one_slo(out)["warnings"])
    assert "1 request with a time far from the rest was set apart (first: row 2,001" in warnings
