"""OpenSLO v1 export and import: golden files, lossless round trips, mapping rules, readers
for files written by other tools."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sloview.errors import SpecError
from sloview.export import (
    MetricSource,
    from_openslo,
    load_documents,
    redact_url,
    to_openslo,
    validate_openslo,
)
from sloview.model import (
    SLI,
    SLO,
    AlertWindow,
    Budgeting,
    Exclusion,
    Objective,
    TimeWindow,
    default_alerts,
)

GOLDEN = Path(__file__).parent / "golden"
# Set to rewrite the golden files from the code (then review the diff by eye).
UPDATE = os.environ.get("SLOVIEW_UPDATE_GOLDEN") == "1"

PROMETHEUS = MetricSource(
    kind="prometheus",
    histograms=(("latency_ms", "http_request_duration_seconds"), ("ttft_ms", "llm_ttft_seconds")),
    tokens_counter="llm_output_tokens_total",
    matchers=(("job", "genai-gateway"),),
    buckets=(0.25, 0.5, 1.0, 2.5, 5.0, 8.0, 10.0, 30.0),
    url="https://grafana:hunter2@prometheus.internal:9090/?access_token=abc&timeout=30s",
)
SQL = MetricSource(
    kind="sql",
    table="public.requests",
    timestamp_column="ts",
    url="postgresql://slo_reader:s3cret@db.internal:5432/telemetry?sslmode=require&password=x",
)
FILE = MetricSource(kind="file", path="sample_data/genai_requests.parquet")

CHAT_LATENCY = SLO(
    name="chat-latency",
    service="genai-api",
    sli=SLI(kind="latency"),
    objective=Objective(target=0.95, threshold=8000.0),
    segment=(("endpoint", "chat"),),
)
AVAILABILITY_MONTH = SLO(
    name="api-availability",
    service="Gen AI API",
    description="Signed off by the platform team in the September workshop.",
    sli=SLI(kind="availability"),
    objective=Objective(target=0.995),
    window=TimeWindow(calendar="month", tz="Europe/Paris"),
    exclusions=(
        Exclusion(
            start=pd.Timestamp("2026-09-10T02:00:00Z"),
            end=pd.Timestamp("2026-09-10T03:30:00Z"),
            reason="database upgrade",
        ),
    ),
)
TTFT_P95 = SLO(
    name="chat-ttft-p95",
    service="genai-api",
    sli=SLI(kind="latency", metric="ttft_ms", percentile=95.0, failed_requests="bad"),
    objective=Objective(target=0.99, threshold=1200.0),
    window=TimeWindow(rolling_s=7 * 86400, tz="America/New_York"),
    budgeting=Budgeting(method="Timeslices", slice_s=300, min_events=10),
    alerts=(
        AlertWindow(severity="page", long_s=3600, short_s=300, burn_rate=14.4),
        AlertWindow(severity="ticket", long_s=86400, short_s=7200, burn_rate=3.0),
    ),
    segment=(("endpoint", "chat"), ("model", "atlas-large")),
)
TOKENS = SLO(
    name="token-throughput",
    service="genai-api",
    sli=SLI(kind="throughput", unit="output_tokens"),
    objective=Objective(target=0.9, threshold=50.0, op="gte"),
    budgeting=Budgeting(method="Timeslices", slice_s=600, empty_slices="bad"),
    alerts=(),
)
RATIO_SLICES = SLO(
    name="embeddings-ratio",
    sli=SLI(kind="latency"),
    objective=Objective(target=0.99, threshold=100.0, op="lt"),
    window=TimeWindow(calendar="quarter"),
    budgeting=Budgeting(method="RatioTimeslices", slice_s=3600),
    segment=(("endpoint", "embeddings"),),
)
SLICE_TARGET = SLO(
    name="availability-slices",
    service="genai-api",
    sli=SLI(kind="availability"),
    objective=Objective(target=0.999),
    window=TimeWindow(calendar="week"),
    budgeting=Budgeting(method="Timeslices", slice_s=60, slice_target=0.95, min_events=5),
)

GOLDEN_CASES = {
    "openslo_latency_prometheus": ([CHAT_LATENCY, TOKENS], PROMETHEUS),
    "openslo_availability_calendar_sql": ([AVAILABILITY_MONTH, CHAT_LATENCY], SQL),
    "openslo_percentile_timeslices_file": ([TTFT_P95, SLICE_TARGET], FILE),
    "openslo_no_source": ([RATIO_SLICES], None),
}


def _golden(name: str, text: str) -> str:
    path = GOLDEN / f"{name}.yaml"
    if UPDATE:
        path.write_text(text, encoding="utf-8")
    assert path.is_file(), f"{path} is missing: run with SLOVIEW_UPDATE_GOLDEN=1 once"
    return path.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(GOLDEN_CASES))
def test_output_matches_golden_file_byte_for_byte(name: str) -> None:
    slos, source = GOLDEN_CASES[name]
    text = to_openslo(slos, source).text
    assert text == _golden(name, text)


@pytest.mark.parametrize("name", sorted(GOLDEN_CASES))
def test_golden_files_pass_the_openslo_rules_and_read_back_equal(name: str) -> None:
    slos, _ = GOLDEN_CASES[name]
    text = (GOLDEN / f"{name}.yaml").read_text(encoding="utf-8")
    assert validate_openslo(text) == []
    assert from_openslo(load_documents(text)) == slos


def test_output_is_deterministic_and_never_holds_credentials() -> None:
    first = to_openslo([CHAT_LATENCY, AVAILABILITY_MONTH], PROMETHEUS).text
    assert first == to_openslo([CHAT_LATENCY, AVAILABILITY_MONTH], PROMETHEUS).text
    for secret in ("hunter2", "grafana", "access_token", "abc"):
        assert secret not in first
    assert "url: https://prometheus.internal:9090/?timeout=30s" in first
    sql = to_openslo([CHAT_LATENCY], SQL).text
    for secret in ("slo_reader", "s3cret", "password"):
        assert secret not in sql
    assert "postgresql://db.internal:5432/telemetry?sslmode=require" in sql


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u:p@db:5432/app", "postgresql://db:5432/app"),
        ("http://prom:9090/api?token=x&step=60", "http://prom:9090/api?step=60"),
        ("https://user@host/x?apiKey=1&X-Amz-Signature=2#frag", "https://host/x"),
        ("host=db user=me password=secret dbname=app", "host=db user=me dbname=app"),
        # File URLs keep every slash of their path.
        ("sqlite:////var/data/requests.db", "sqlite:////var/data/requests.db"),
        ("sqlite:///requests.db?key=s3cret", "sqlite:///requests.db"),
        ("", ""),
    ],
)
def test_redact_url_removes_user_password_tokens_and_fragment(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def _docs(text: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(text) if d]


def _slo_doc(text: str, name: str) -> dict[str, Any]:
    return next(d for d in _docs(text) if d["kind"] == "SLO" and d["metadata"]["name"] == name)


def test_latency_ratio_uses_the_bucket_at_the_threshold_in_seconds() -> None:
    text = to_openslo([CHAT_LATENCY], PROMETHEUS).text
    ratio = _slo_doc(text, "chat-latency")["spec"]["indicator"]["spec"]["ratioMetric"]
    assert ratio["counter"] is True
    good = ratio["good"]["metricSource"]["spec"]["query"]
    total = ratio["total"]["metricSource"]["spec"]["query"]
    # 8000 ms is the 8 s bucket; failed requests are left out of both (the default policy)
    assert good == (
        'sum(http_request_duration_seconds_bucket{job="genai-gateway",endpoint="chat",'
        'code!~"5..|429",le="8"})'
    )
    assert total == (
        'sum(http_request_duration_seconds_count{job="genai-gateway",endpoint="chat",'
        'code!~"5..|429"})'
    )


@pytest.mark.parametrize(
    ("threshold_ms", "le", "warns"),
    [
        (300.0, "0.3", True),
        (250.0, "0.25", False),
        (10000.0, "10", False),
        (1234.5, "1.2345", True),
    ],
)
def test_le_is_the_threshold_in_seconds_and_unknown_bounds_warn(
    threshold_ms: float, le: str, warns: bool
) -> None:
    slo = CHAT_LATENCY.with_changes(objective=Objective(target=0.95, threshold=threshold_ms))
    result = to_openslo([slo], PROMETHEUS)
    assert f'le="{le}"' in result.text
    warning = [w for w in result.warnings if "bucket" in w]
    assert bool(warning) == warns
    if warns:
        assert "not one of the declared bucket bounds" in warning[0]


def test_without_declared_buckets_the_client_defaults_are_the_known_bounds() -> None:
    source = MetricSource(kind="prometheus", histograms=(("latency_ms", "h_seconds"),))
    slo = CHAT_LATENCY.with_changes(objective=Objective(target=0.95, threshold=300.0))
    (warning,) = [w for w in to_openslo([slo], source).warnings if "bucket" in w]
    assert 'nearest: le="0.25", le="0.5"' in warning
    assert "Prometheus client default" in warning
    ok = CHAT_LATENCY.with_changes(objective=Objective(target=0.95, threshold=250.0))
    assert not [w for w in to_openslo([ok], source).warnings if "bucket" in w]


def test_threshold_metric_carries_op_and_value_and_ratio_metric_does_not() -> None:
    text = to_openslo([TTFT_P95, CHAT_LATENCY], PROMETHEUS).text
    p95 = _slo_doc(text, "chat-ttft-p95")["spec"]
    assert p95["objectives"] == [
        {"op": "lte", "value": 1200, "target": 0.99, "timeSliceTarget": 1, "timeSliceWindow": "5m"}
    ]
    query = p95["indicator"]["spec"]["thresholdMetric"]["metricSource"]["spec"]["query"]
    assert query.startswith("histogram_quantile(0.95, sum by (le) (rate(llm_ttft_seconds_bucket{")
    assert query.endswith("[5m]))) * 1000")
    assert _slo_doc(text, "chat-latency")["spec"]["objectives"] == [{"target": 0.95}]


def test_each_alert_row_is_an_alert_condition_with_long_lookback_and_short_alert_after() -> None:
    docs = _docs(to_openslo([TTFT_P95], FILE).text)
    slo = next(d for d in docs if d["kind"] == "SLO")
    refs = [p["alertPolicyRef"] for p in slo["spec"]["alertPolicies"]]
    assert refs == ["chat-ttft-p95-page-1h-5m", "chat-ttft-p95-ticket-1d-2h"]
    policies = {d["metadata"]["name"]: d["spec"] for d in docs if d["kind"] == "AlertPolicy"}
    conditions = {d["metadata"]["name"]: d["spec"] for d in docs if d["kind"] == "AlertCondition"}
    targets = {d["metadata"]["name"] for d in docs if d["kind"] == "AlertNotificationTarget"}
    for ref, row in zip(refs, TTFT_P95.alert_windows, strict=True):
        policy = policies[ref]
        assert len(policy["conditions"]) == 1
        assert policy["notificationTargets"][0]["targetRef"] in targets
        condition = conditions[policy["conditions"][0]["conditionRef"]]
        assert condition["severity"] == row.severity
        assert condition["condition"] == {
            "kind": "burnrate",
            "op": "gt",
            "threshold": row.burn_rate,
            "lookbackWindow": {3600: "1h", 86400: "1d"}[row.long_s],
            "alertAfter": {300: "5m", 7200: "2h"}[row.short_s],
        }


def test_calendar_and_rolling_windows() -> None:
    text = to_openslo([AVAILABILITY_MONTH, CHAT_LATENCY, RATIO_SLICES, SLICE_TARGET], FILE).text
    month = _slo_doc(text, "api-availability")["spec"]["timeWindow"]
    assert month == [
        {
            "duration": "1M",
            "isRolling": False,
            "calendar": {"startTime": "2024-01-01 00:00:00", "timeZone": "Europe/Paris"},
        }
    ]
    assert "startTime: '2024-01-01 00:00:00'" in text  # quoted: never read as a datetime
    assert _slo_doc(text, "chat-latency")["spec"]["timeWindow"] == [
        {"duration": "28d", "isRolling": True}
    ]
    assert _slo_doc(text, "embeddings-ratio")["spec"]["timeWindow"][0]["duration"] == "1Q"
    assert _slo_doc(text, "availability-slices")["spec"]["timeWindow"][0]["duration"] == "1w"


def test_what_openslo_cannot_carry_is_in_sloview_annotations() -> None:
    ann = _slo_doc(to_openslo([TTFT_P95], FILE).text, "chat-ttft-p95")["metadata"]["annotations"]
    assert ann == {
        "sloview.dev/sli": "latency",
        "sloview.dev/metric": "ttft_ms",
        "sloview.dev/percentile": "95",
        "sloview.dev/failed-requests": "bad",
        "sloview.dev/min-events": "10",
        "sloview.dev/timezone": "America/New_York",
        "sloview.dev/segment": '{"endpoint": "chat", "model": "atlas-large"}',
    }
    month = to_openslo([AVAILABILITY_MONTH], FILE).text
    ann = _slo_doc(month, "api-availability")["metadata"]["annotations"]
    assert json.loads(ann["sloview.dev/exclusions"]) == [
        {
            "start": "2026-09-10T02:00:00Z",
            "end": "2026-09-10T03:30:00Z",
            "reason": "database upgrade",
        }
    ]
    assert ann["sloview.dev/service"] == "Gen AI API"
    assert ann["sloview.dev/description"] == AVAILABILITY_MONTH.description
    assert _slo_doc(month, "api-availability")["spec"]["service"] == "gen-ai-api"


def test_description_is_the_plain_english_statement() -> None:
    spec = _slo_doc(to_openslo([CHAT_LATENCY], FILE).text, "chat-latency")["spec"]
    assert spec["description"] == (
        "95% of chat requests complete within 8 s, measured over a rolling 28 days."
    )


def test_writer_refuses_duplicate_names_and_an_empty_list() -> None:
    with pytest.raises(SpecError, match="two SLOs are named 'chat-latency'"):
        to_openslo([CHAT_LATENCY, CHAT_LATENCY], FILE)
    with pytest.raises(SpecError, match="no SLO to export"):
        to_openslo([], FILE)


def test_missing_prometheus_pieces_say_which_flag_to_add() -> None:
    source = MetricSource(kind="prometheus", histograms=(("latency_ms", "h_seconds"),))
    with pytest.raises(SpecError, match="--prometheus-histogram ttft_ms=METRIC"):
        to_openslo([TTFT_P95], source)
    with pytest.raises(SpecError, match="--prometheus-tokens"):
        to_openslo([TOKENS], source)
    with pytest.raises(SpecError, match="not a Prometheus label name"):
        to_openslo([CHAT_LATENCY.with_changes(segment=(("end point", "chat"),))], source)


# -- round trips -----------------------------------------------------------------------------

targets = st.floats(0.5, 0.99999, allow_nan=False)
slices = st.sampled_from([60, 300, 600, 3600])


@st.composite
def slos(draw: st.DrawFn) -> SLO:
    """Valid SLOs of every kind and budgeting method, with the optional parts."""
    kind = draw(st.sampled_from(["latency", "availability", "throughput"]))
    percentile = None
    if kind == "latency" and draw(st.booleans()):
        percentile = draw(st.sampled_from([50.0, 90.0, 95.0, 99.0, 99.9]))
    sli = SLI(
        kind=kind,
        metric=draw(st.sampled_from(["latency_ms", "ttft_ms", "tpot_ms"])),
        percentile=percentile,
        failed_requests=draw(st.sampled_from(["exclude", "bad"])),
        unit=draw(st.sampled_from(["requests", "output_tokens"])),
    )
    if kind == "availability":
        objective = Objective(target=draw(targets))
    else:
        ops = ["lte", "lt"] if kind == "latency" else ["gte", "gt"]
        objective = Objective(
            target=draw(targets),
            threshold=draw(st.floats(0.5, 60000, allow_nan=False)),
            op=draw(st.sampled_from(ops)),
        )
    if percentile is not None or kind == "throughput":
        method = "Timeslices"
    else:
        method = draw(st.sampled_from(["Occurrences", "Timeslices", "RatioTimeslices"]))
    if method == "Occurrences":
        budgeting = Budgeting(empty_slices=draw(st.sampled_from(["skip", "good"])))
    else:
        slice_target = None
        if method == "Timeslices":
            per_slice_value = percentile is not None or kind == "throughput"
            slice_target = draw(st.none() if per_slice_value else st.floats(0.5, 1.0))
        budgeting = Budgeting(
            method=method,
            slice_s=draw(slices),
            slice_target=slice_target,
            min_events=draw(st.integers(0, 20)),
            empty_slices=draw(st.sampled_from(["skip", "good", "bad"])),
        )
    tz = draw(st.sampled_from(["UTC", "Europe/Paris", "Asia/Kolkata"]))
    window = draw(
        st.sampled_from(
            [
                TimeWindow(rolling_s=28 * 86400, tz=tz),
                TimeWindow(rolling_s=7 * 86400, tz=tz),
                TimeWindow(calendar="month", tz=tz),
                TimeWindow(calendar="day", tz=tz),
            ]
        )
    )
    alerts = draw(
        st.sampled_from(
            [
                None,
                (),
                default_alerts(window),
                (AlertWindow(severity="page", long_s=7200, short_s=600, burn_rate=10.5),),
            ]
        )
    )
    start = pd.Timestamp("2026-09-01T00:00:00Z") + pd.Timedelta(seconds=draw(st.integers(0, 10**7)))
    exclusions = draw(
        st.sampled_from([(), (Exclusion(start=start, end=start + pd.Timedelta(hours=2)),)])
    )
    text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=20)
    return SLO(
        name=draw(st.from_regex(r"[a-z]([-a-z0-9]{0,20}[a-z0-9])?", fullmatch=True)),
        service=draw(st.sampled_from(["", "genai-api", "Gen AI API", "x" * 70])),
        description=draw(text),
        sli=sli,
        objective=objective,
        window=window,
        budgeting=budgeting,
        alerts=alerts,
        exclusions=exclusions,
        segment=draw(st.sampled_from([(), (("endpoint", "chat"),), (("model", 'a "quoted" x'),)])),
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(slo=slos(), source=st.sampled_from([FILE, SQL, None]))
def test_slo_to_openslo_to_slo_is_lossless_and_valid(slo: SLO, source: MetricSource) -> None:
    text = to_openslo([slo], source).text
    assert validate_openslo(text) == []
    assert from_openslo(load_documents(text)) == [slo]


def test_default_alerts_given_explicitly_stay_explicit() -> None:
    explicit = CHAT_LATENCY.with_changes(alerts=default_alerts(CHAT_LATENCY.window))
    back = from_openslo(load_documents(to_openslo([explicit], FILE).text))
    assert back[0].alerts == explicit.alerts
    back = from_openslo(load_documents(to_openslo([CHAT_LATENCY], FILE).text))
    assert back[0].alerts is None


# -- files from other tools ------------------------------------------------------------------


def _openslo(spec: dict[str, Any], *extra: dict[str, Any], name: str = "checkout") -> str:
    slo = {"apiVersion": "openslo/v1", "kind": "SLO", "metadata": {"name": name}, "spec": spec}
    return yaml.safe_dump_all([slo, *extra], sort_keys=False)


def _prom(query: str) -> dict[str, Any]:
    return {"metricSource": {"type": "Prometheus", "spec": {"query": query}}}


def _spec(indicator: dict[str, Any], objective: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {
        "service": "shop",
        "indicator": {"metadata": {"name": "sli"}, "spec": indicator},
        "timeWindow": [{"duration": "30d", "isRolling": True}],
        "budgetingMethod": "Occurrences",
        "objectives": [objective],
        **more,
    }


def _read(text: str) -> list[SLO]:
    return from_openslo(load_documents(text))


def test_foreign_ratio_with_a_histogram_bucket_is_latency_under_that_bound() -> None:
    ratio = {
        "counter": True,
        "good": _prom('sum(rate(http_server_duration_seconds_bucket{le="0.3",route="/pay"}[5m]))'),
        "total": _prom('sum(rate(http_server_duration_seconds_count{route="/pay"}[5m]))'),
    }
    (slo,) = _read(_openslo(_spec({"ratioMetric": ratio}, {"targetPercent": 99.5})))
    assert slo.sli == SLI(kind="latency")
    assert slo.objective == Objective(target=0.995, threshold=300.0, op="lte")
    assert slo.window == TimeWindow(rolling_s=30 * 86400)
    assert slo.alerts is None
    assert slo.service == "shop"


def test_foreign_ratio_without_bucket_is_availability() -> None:
    ratio = {
        "counter": False,
        "bad": _prom('sum(rate(http_requests_total{code=~"5.."}[5m]))'),
        "total": _prom("sum(rate(http_requests_total[5m]))"),
    }
    (slo,) = _read(_openslo(_spec({"ratioMetric": ratio}, {"target": 0.999})))
    assert slo.sli == SLI(kind="availability")
    assert slo.objective == Objective(target=0.999)


def test_foreign_threshold_metric_with_seconds_quantile_per_slice_is_a_percentile_in_ms() -> None:
    query = "histogram_quantile(0.99, sum by (le) (rate(rpc_duration_seconds_bucket[5m])))"
    spec = _spec(
        {"thresholdMetric": _prom(query)},
        {"op": "lte", "value": 0.5, "target": 0.98, "timeSliceTarget": 1, "timeSliceWindow": "5m"},
        budgetingMethod="Timeslices",
    )
    (slo,) = _read(_openslo(spec))
    assert slo.sli == SLI(kind="latency", percentile=99.0)
    assert slo.objective == Objective(target=0.98, threshold=500.0, op="lte")
    assert slo.budgeting == Budgeting(method="Timeslices", slice_s=300)


def test_foreign_threshold_metric_per_request_is_latency_in_ms() -> None:
    spec = _spec(
        {"thresholdMetric": _prom("latency_ms")}, {"op": "lt", "value": 250, "target": 0.9}
    )
    (slo,) = _read(_openslo(spec))
    assert slo.objective == Objective(target=0.9, threshold=250.0, op="lt")


def test_foreign_gte_threshold_outside_timeslices_says_what_to_change() -> None:
    spec = _spec({"thresholdMetric": _prom("rps")}, {"op": "gte", "value": 5, "target": 0.9})
    with pytest.raises(
        SpecError, match=r"spec\.objectives\[0\]\.op: .*Timeslices.*sloview\.dev/sli"
    ):
        _read(_openslo(spec))


def test_ratio_without_a_threshold_but_marked_latency_asks_for_the_annotation() -> None:
    ratio = {"counter": True, "good": _prom("good"), "total": _prom("total")}
    text = _openslo(_spec({"ratioMetric": ratio}, {"target": 0.9}))
    text = text.replace(
        "  name: checkout\n", "  name: checkout\n  annotations:\n    sloview.dev/sli: latency\n", 1
    )
    with pytest.raises(SpecError, match=r"ratioMetric\.good: .*sloview\.dev/threshold-ms"):
        _read(text)
    service = {"apiVersion": "openslo/v1", "kind": "Service", "metadata": {"name": "shop"}}
    with pytest.raises(SpecError) as info:
        _read(text + yaml.safe_dump(service, explicit_start=True))
    assert info.value.where == "document 1 (SLO checkout) spec.indicator.spec.ratioMetric.good"


def test_bad_sloview_annotations_name_the_annotation() -> None:
    text = to_openslo([TTFT_P95], FILE).text.replace(
        "sloview.dev/percentile: '95'", "sloview.dev/percentile: '150'"
    )
    with pytest.raises(SpecError) as info:
        _read(text)
    assert info.value.where.endswith('metadata.annotations["sloview.dev/percentile"]')
    assert info.value.where.startswith("document 4 (SLO chat-ttft-p95)")


def test_indicator_ref_resolves_to_an_sli_document_in_the_same_file() -> None:
    sli = {
        "apiVersion": "openslo/v1",
        "kind": "SLI",
        "metadata": {"name": "pay-availability"},
        "spec": {"ratioMetric": {"counter": True, "good": _prom("g"), "total": _prom("t")}},
    }
    spec = _spec({}, {"target": 0.99})
    del spec["indicator"]
    spec["indicatorRef"] = "pay-availability"
    (slo,) = _read(_openslo(spec, sli))
    assert slo.sli.kind == "availability"
    with pytest.raises(SpecError, match=r"spec\.indicatorRef: no SLI named 'pay-availability'"):
        _read(_openslo(spec))


def test_unresolved_alert_policy_names_the_path_and_the_fix() -> None:
    ratio = {"counter": True, "good": _prom("g"), "total": _prom("t")}
    spec = _spec(
        {"ratioMetric": ratio}, {"target": 0.99}, alertPolicies=[{"alertPolicyRef": "pager"}]
    )
    with pytest.raises(
        SpecError, match=r"spec\.alertPolicies\[0\]\.alertPolicyRef: no AlertPolicy"
    ):
        _read(_openslo(spec))


def test_inline_alert_policy_without_alert_after_gets_the_workbook_short_window() -> None:
    ratio = {"counter": True, "good": _prom("g"), "total": _prom("t")}
    policy = {
        "kind": "AlertPolicy",
        "metadata": {"name": "fast-burn"},
        "spec": {
            "conditions": [
                {
                    "kind": "AlertCondition",
                    "metadata": {"name": "fast"},
                    "spec": {
                        "severity": "page",
                        "condition": {
                            "kind": "burnrate",
                            "op": "gt",
                            "threshold": 14.4,
                            "lookbackWindow": "1h",
                        },
                    },
                }
            ],
            "notificationTargets": [{"targetRef": "oncall"}],
        },
    }
    spec = _spec({"ratioMetric": ratio}, {"target": 0.99}, alertPolicies=[policy])
    (slo,) = _read(_openslo(spec))
    assert slo.alerts == (AlertWindow(severity="page", long_s=3600, short_s=300, burn_rate=14.4),)


def test_each_objective_of_a_foreign_slo_becomes_one_slo() -> None:
    ratio = {"counter": True, "good": _prom("g"), "total": _prom("t")}
    spec = _spec(
        {"ratioMetric": ratio},
        {"displayName": "Internal", "target": 0.995},
        budgetingMethod="Occurrences",
    )
    spec["objectives"].append({"displayName": "SLA", "target": 0.99})
    slos_read = _read(_openslo(spec))
    assert [(s.name, s.objective.target) for s in slos_read] == [
        ("checkout-internal", 0.995),
        ("checkout-sla", 0.99),
    ]


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        ({"objectives": [{"target": 0}]}, r"spec\.objectives\[0\]\.target", "not a valid target"),
        (
            {
                "timeWindow": [
                    {
                        "duration": "1m",
                        "isRolling": False,
                        "calendar": {"startTime": "2024-01-01 00:00:00", "timeZone": "UTC"},
                    }
                ]
            },
            r"spec\.timeWindow\[0\]\.duration",
            "1m is 1 minute: a month is 1M",
        ),
        (
            {"timeWindow": [{"duration": "36h", "isRolling": True}]},
            r"spec\.timeWindow\[0\]\.duration",
            "not a whole number of days",
        ),
        (
            {
                "budgetingMethod": "Timeslices",
                "objectives": [{"target": 0.9, "timeSliceTarget": 0.9, "timeSliceWindow": "7m"}],
            },
            r"spec\.objectives\[0\]\.timeSliceWindow",
            "does not divide a day",
        ),
    ],
)
def test_settings_sloview_cannot_check_name_the_openslo_path(
    change: dict[str, Any], path: str, message: str
) -> None:
    ratio = {"counter": True, "good": _prom("g"), "total": _prom("t")}
    spec = _spec({"ratioMetric": ratio}, {"target": 0.99})
    spec.update(change)
    with pytest.raises(SpecError, match=f"{path}: .*{message}"):
        _read(_openslo(spec))


def test_a_composite_of_one_objective_is_refused_clearly() -> None:
    # Composites are read (tests/test_composite.py); one objective makes no composite.
    ratio = {"counter": True, "good": _prom("g"), "total": _prom("t")}
    spec = _spec({"ratioMetric": ratio}, {"target": 0.99})
    composite = dict(spec)
    del composite["indicator"]
    composite["objectives"] = [
        {"target": 0.99, "indicator": {"metadata": {"name": "a"}, "spec": {"ratioMetric": ratio}}}
    ]
    with pytest.raises(SpecError, match=r"spec\.objectives: a composite SLO needs at least two"):
        _read(_openslo(composite))


def test_invalid_files_are_refused_with_the_first_path_and_a_count_of_the_rest() -> None:
    ratio = {"counter": True, "good": _prom("g"), "total": _prom("t")}
    spec = _spec({"ratioMetric": ratio}, {"target": 1.5, "op": "lt"})
    with pytest.raises(SpecError) as info:
        _read(_openslo(spec))
    text = str(info.value)
    assert text.startswith("spec.objectives[0].target: 1.5 must be in [0, 1).")
    assert "1 more problem: `sloview validate FILE` lists all" in text
