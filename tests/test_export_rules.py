"""`--format prometheus-rules`: Sloth's names, the backtest's rows, promtool, refusals."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from sloview.cli import main
from sloview.errors import SpecError
from sloview.export import MetricSource
from sloview.export.prometheus_rules import slo_rules, to_prometheus_rules
from sloview.model import (
    SLI,
    SLO,
    AlertWindow,
    Budgeting,
    Condition,
    Exclusion,
    Objective,
    TimeWindow,
)
from tests.conftest import require

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("SLOVIEW_UPDATE_GOLDEN") == "1"
SOURCE = MetricSource(
    kind="prometheus",
    histograms=(("latency_ms", "http_request_duration_seconds"), ("ttft_ms", "llm_ttft_seconds")),
    matchers=(("job", "genai-gateway"),),
    buckets=(0.1, 0.25, 0.3, 0.5, 1.0, 2.5, 5.0, 10.0),
)
LATENCY = SLO(
    name="chat-latency",
    service="genai-api",
    sli=SLI(kind="latency"),
    objective=Objective(target=0.95, threshold=10000.0),
    segment=(("endpoint", "chat"),),
)
AVAILABILITY = SLO(
    name="api-availability",
    service="genai-api",
    sli=SLI(kind="availability"),
    objective=Objective(target=0.999),
    window=TimeWindow(rolling_s=30 * 86400),
)


def rules_doc(*slos: SLO, source: MetricSource = SOURCE) -> dict:
    return yaml.safe_load(to_prometheus_rules(list(slos), source).text)


def test_output_matches_golden_file_byte_for_byte() -> None:
    text = to_prometheus_rules([LATENCY, AVAILABILITY], SOURCE).text
    path = GOLDEN / "prometheus_rules_genai_api.yaml"
    if UPDATE:
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


def test_names_and_labels_are_sloths_so_its_dashboards_work() -> None:
    doc = rules_doc(AVAILABILITY)
    names = [g["name"] for g in doc["groups"]]
    assert names == [
        "sloth-slo-sli-recordings-genai-api-api-availability",
        "sloth-slo-meta-recordings-genai-api-api-availability",
        "sloth-slo-alerts-genai-api-api-availability",
    ]
    records = [r["record"] for r in doc["groups"][0]["rules"]]
    assert records == [
        f"slo:sli_error:ratio_rate{w}" for w in ("5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d")
    ]
    first = doc["groups"][0]["rules"][0]["labels"]
    assert first == {
        "sloth_id": "genai-api-api-availability",
        "sloth_service": "genai-api",
        "sloth_slo": "api-availability",
        "sloth_window": "5m",
    }
    meta = {r["record"]: r for r in doc["groups"][1]["rules"]}
    assert set(meta) == {
        "slo:objective:ratio",
        "slo:error_budget:ratio",
        "slo:time_period:days",
        "slo:current_burn_rate:ratio",
        "slo:period_burn_rate:ratio",
        "slo:period_error_budget_remaining:ratio",
        "sloth_slo_info",
    }
    assert meta["slo:time_period:days"]["expr"] == "vector(30)"
    assert meta["sloth_slo_info"]["labels"]["sloth_objective"] == "99.9"
    alerts = doc["groups"][2]["rules"]
    assert [a["labels"]["sloth_severity"] for a in alerts] == ["page", "ticket"]
    assert {a["alert"] for a in alerts} == {"GenaiApiApiAvailabilityBudgetBurn"}


def test_alerts_carry_the_backtests_windows_factors_and_severities() -> None:
    # A 7-day SLO: the Workbook windows shrink with the period (14m/1m, 1h24m/7m, ...); the
    # rules record those windows and alert on exactly those rows, not Sloth's 30-day table.
    slo = AVAILABILITY.with_changes(window=TimeWindow(rolling_s=7 * 86400))
    rules = slo_rules(slo, SOURCE)
    rows = [row for _, group in rules.alerts for row in group]
    assert rows == list(slo.alert_windows)
    doc = rules_doc(slo)
    recorded = {r["labels"]["sloth_window"] for r in doc["groups"][0]["rules"]}
    for row in rows:
        assert {_text(row.short_s), _text(row.long_s)} <= recorded
        factor = f"({row.burn_rate:g} * "
        alert = next(
            a for a in doc["groups"][2]["rules"] if a["labels"]["sloth_severity"] == row.severity
        )
        assert factor in alert["expr"]
        assert f"ratio_rate{_text(row.long_s)}{{" in alert["expr"]


def _text(seconds: int) -> str:
    from sloview.export.prometheus_rules import window_text

    return window_text(seconds)


def test_edited_rows_and_custom_severities_become_their_own_alerts() -> None:
    rows = (
        AlertWindow(severity="page", long_s=1800, short_s=300, burn_rate=20),
        AlertWindow(severity="chat-channel", long_s=4 * 3600, short_s=1200, burn_rate=4),
    )
    doc = rules_doc(AVAILABILITY.with_changes(alerts=rows))
    alerts = doc["groups"][2]["rules"]
    assert [(a["labels"]["sloth_severity"], a["labels"]["severity"]) for a in alerts] == [
        ("page", "critical"),
        ("chat-channel", "chat-channel"),
    ]
    assert "ratio_rate20m{" in alerts[1]["expr"]
    assert "(4 * " in alerts[1]["expr"]
    assert "alerts" not in [
        g["name"].split("-")[2] for g in rules_doc(AVAILABILITY.with_changes(alerts=()))["groups"]
    ]


def test_latency_counts_the_bucket_at_the_threshold_and_the_segment_as_labels() -> None:
    doc = rules_doc(LATENCY)
    expr = doc["groups"][0]["rules"][0]["expr"]
    assert (
        'http_request_duration_seconds_bucket{job="genai-gateway",endpoint="chat",code!~"5..|429",le="10"}[5m]'
        in expr
    )
    assert (
        'http_request_duration_seconds_count{job="genai-gateway",endpoint="chat",code!~"5..|429"}[5m]'
        in expr
    )


@pytest.mark.parametrize(
    ("slo", "source", "message"),
    [
        (
            LATENCY.with_changes(objective=Objective(target=0.95, threshold=400.0)),
            SOURCE,
            r"no bucket bound of http_request_duration_seconds equals the threshold 0\.4 s .*"
            r'the nearest are le="0\.3" and le="0\.5"',
        ),
        (
            LATENCY.with_changes(objective=Objective(target=0.95, threshold=300.0)),
            MetricSource(kind="prometheus", histograms=(("latency_ms", "lat_seconds"),)),
            r'the Prometheus client default bounds\); the nearest are le="0\.25" and le="0\.5"',
        ),
        (
            LATENCY.with_changes(objective=Objective(target=0.95, threshold=10000.0, op="lt")),
            SOURCE,
            r"objective\.op: .*`lt` \(strictly under\) cannot be counted",
        ),
        (
            LATENCY.with_changes(
                budgeting=Budgeting(method="Timeslices", slice_s=300, slice_target=0.9)
            ),
            SOURCE,
            r"a Prometheus rule file has no time slices.*judge it with Occurrences",
        ),
        (
            SLO(
                name="joint",
                sli=SLI(
                    kind="joint",
                    conditions=(
                        Condition(metric="ttft_ms", threshold=500),
                        Condition(metric="tpot_ms", threshold=50),
                    ),
                ),
                objective=Objective(target=0.9),
            ),
            SOURCE,
            r"needs PromQL, and a joint SLI .* cannot be written in PromQL",
        ),
        (
            AVAILABILITY,
            MetricSource(
                kind="prometheus", histograms=(("latency_ms", "x_seconds"),), status_label=""
            ),
            r"an availability SLO on Prometheus needs the status label",
        ),
        (
            LATENCY.with_changes(sli=SLI(kind="latency", metric="tpot_ms")),
            SOURCE,
            r"no Prometheus histogram is given for tpot_ms",
        ),
    ],
    ids=["off-bucket", "off-default-bucket", "lt", "timeslices", "joint", "no-status", "no-hist"],
)
def test_what_rules_cannot_express_is_refused_with_what_to_do(
    slo: SLO, source: MetricSource, message: str
) -> None:
    with pytest.raises(SpecError, match=message):
        to_prometheus_rules([slo], source)


def test_calendar_windows_and_exclusions_are_warned_not_dropped() -> None:
    slo = AVAILABILITY.with_changes(
        window=TimeWindow(calendar="month"),
        exclusions=(Exclusion(start="2026-01-01T00:00Z", end="2026-01-01T02:00Z"),),
    )
    result = to_prometheus_rules([slo], SOURCE)
    assert any("rolling 30d" in w for w in result.warnings)
    assert any("silence the alerts in Alertmanager" in w for w in result.warnings)


# -- promtool ----------------------------------------------------------------------------


def _promtool() -> str:
    tool = shutil.which("promtool")
    require(tool is not None, "promtool is not installed (Debian package prometheus)")
    return str(tool)


# One SLO of every kind a rule file can hold (sloview YAML, as `--slo FILE` reads it).
KINDS: dict[str, dict] = {
    "availability": {"sli": {"kind": "availability"}, "objective": {"target": 0.999}},
    "latency": {"sli": {"kind": "latency"}, "objective": {"target": 0.99, "threshold": 300}},
    "latency-failed-bad-segment-7d": {
        "sli": {"kind": "latency", "failed_requests": "bad"},
        "objective": {"target": 0.95, "threshold": 2500},
        "window": {"rolling": "7d"},
        "segment": {"endpoint": "chat"},
    },
    "ttft-calendar-week": {
        "sli": {"kind": "latency", "metric": "ttft_ms"},
        "objective": {"target": 0.9, "threshold": 500},
        "window": {"calendar": "week"},
    },
    "tpot-edited-alerts": {
        "sli": {"kind": "latency", "metric": "tpot_ms"},
        "objective": {"target": 0.99, "threshold": 100},
        "alerts": [
            {"severity": "page", "long": "30m", "short": "5m", "burn_rate": 10},
            {"severity": "ticket", "long": "12h", "short": "1h", "burn_rate": 2},
        ],
    },
}
EXPORT = [
    "--format",
    "prometheus-rules",
    "--prometheus-histogram",
    "http_request_duration_seconds",
    "--prometheus-histogram",
    "ttft_ms=llm_ttft_seconds",
    "--prometheus-histogram",
    "tpot_ms=llm_tpot_seconds",
    "--prometheus-buckets",
    "0.1,0.3,0.5,1,2.5,5",
    "--prometheus-label",
    "job=gateway",
]


def _slo_file(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / "slo.yaml"
    path.write_text(yaml.safe_dump({"slos": [{"name": "api", **KINDS[kind]}]}))
    return path


@pytest.mark.parametrize("kind", list(KINDS))
def test_promtool_checks_the_rules_and_its_generated_tests_pass(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tool = _promtool()
    rules, tests = tmp_path / "rules.yml", tmp_path / "tests" / "rules_test.yml"
    tests.parent.mkdir()
    slo = _slo_file(tmp_path, kind)
    code = main(
        ["export", "--slo", str(slo), *EXPORT, "-o", str(rules), "--promtool-test", str(tests)]
    )
    assert code == 0, capsys.readouterr().err
    check = subprocess.run([tool, "check", "rules", str(rules)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    doc = yaml.safe_load(tests.read_text())
    assert doc["rule_files"] == ["../rules.yml"]
    firing = [t for case in doc["tests"] for t in case["alert_rule_test"] if t["exp_alerts"]]
    severities = {a["exp_labels"]["sloth_severity"] for t in firing for a in t["exp_alerts"]}
    assert severities == {"page", "ticket"}, "the synthetic incidents should trip both"
    run = subprocess.run(
        [tool, "test", "rules", tests.name], capture_output=True, text=True, cwd=tests.parent
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]


def test_a_rule_that_disagrees_with_the_backtest_fails_the_generated_test(tmp_path: Path) -> None:
    # The generated test is not a formality: change one factor in the rule file and promtool
    # reports the alerts the backtest did not have.
    tool = _promtool()
    rules, tests = tmp_path / "rules.yml", tmp_path / "rules_test.yml"
    slo = _slo_file(tmp_path, "availability")
    args = ["export", "--slo", str(slo), *EXPORT, "-o", str(rules), "--promtool-test", str(tests)]
    assert main(args) == 0
    text = rules.read_text()
    assert "(13.44 * " in text
    rules.write_text(text.replace("(13.44 * ", "(30 * "))
    run = subprocess.run([tool, "test", "rules", str(tests)], capture_output=True, text=True)
    assert run.returncode != 0
    assert "alertname: SloviewApiBudgetBurn" in run.stdout + run.stderr


def test_promtool_test_needs_the_rule_file(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["export", "--sli", "availability", "--target", "0.99", "--promtool-test", "t.yml"])
    assert code == 2
    assert "--promtool-test: a promtool test file goes with a rule file" in capsys.readouterr().err
