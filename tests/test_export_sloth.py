"""Sloth prometheus/v1 export and import: golden file, round trips, refusals and warnings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sloview.errors import SpecError
from sloview.export import MetricSource, from_sloth, load_documents, to_sloth
from sloview.model import SLI, SLO, AlertWindow, Budgeting, Objective, TimeWindow

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
    window=TimeWindow(rolling_s=30 * 86400),
    segment=(("endpoint", "chat"),),
)
AVAILABILITY = SLO(
    name="api-availability",
    service="genai-api",
    description="Agreed with the platform team.",
    sli=SLI(kind="availability"),
    objective=Objective(target=0.999),
    window=TimeWindow(rolling_s=28 * 86400),
)
TTFT = SLO(
    name="ttft",
    service="genai-api",
    sli=SLI(kind="latency", metric="ttft_ms", failed_requests="bad"),
    objective=Objective(target=0.99, threshold=300.0, op="lt"),
    window=TimeWindow(calendar="week", tz="Europe/Paris"),
    alerts=(),
)


def test_output_matches_golden_file_byte_for_byte() -> None:
    text = to_sloth([LATENCY, AVAILABILITY, TTFT], SOURCE).text
    path = GOLDEN / "sloth_genai_api.yaml"
    if UPDATE:
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


def test_golden_file_reads_back_to_the_same_slos() -> None:
    text = (GOLDEN / "sloth_genai_api.yaml").read_text(encoding="utf-8")
    assert from_sloth(load_documents(text)) == [LATENCY, AVAILABILITY, TTFT]


def test_latency_errors_are_total_minus_the_bucket_at_the_threshold() -> None:
    (doc,) = yaml.safe_load_all(to_sloth([LATENCY], SOURCE).text)
    assert doc["version"] == "prometheus/v1"
    assert doc["service"] == "genai-api"
    (slo,) = doc["slos"]
    assert slo["objective"] == 95
    events = slo["sli"]["events"]
    total = (
        'sum(rate(http_request_duration_seconds_count{job="genai-gateway",endpoint="chat",'
        'code!~"5..|429"}[{{.window}}]))'
    )
    assert events["total_query"] == total
    assert events["error_query"] == (
        f'{total} - sum(rate(http_request_duration_seconds_bucket{{job="genai-gateway",'
        'endpoint="chat",code!~"5..|429",le="10"}[{{.window}}]))'
    )
    assert slo["alerting"]["name"] == "GenaiApiChatLatencyBudgetBurn"
    assert slo["alerting"]["page_alert"] == {"labels": {"severity": "critical"}}
    assert slo["alerting"]["ticket_alert"] == {"labels": {"severity": "warning"}}


def test_availability_counts_failed_statuses_over_all_requests() -> None:
    (doc,) = yaml.safe_load_all(to_sloth([AVAILABILITY], SOURCE).text)
    events = doc["slos"][0]["sli"]["events"]
    assert events == {
        "error_query": 'sum(rate(http_request_duration_seconds_count{job="genai-gateway",'
        'code=~"5..|429"}[{{.window}}]))',
        "total_query": 'sum(rate(http_request_duration_seconds_count{job="genai-gateway"}'
        "[{{.window}}]))",
    }
    assert doc["slos"][0]["objective"] == 99.9


def test_threshold_off_the_known_buckets_is_a_warning_in_the_result() -> None:
    slo = LATENCY.with_changes(objective=Objective(target=0.95, threshold=400.0))
    result = to_sloth([slo], SOURCE)
    assert 'le="0.4"' in result.text
    (warning,) = result.warnings
    assert 'le="0.4"' in warning
    assert 'nearest: le="0.3", le="0.5"' in warning


def test_what_sloth_cannot_carry_is_warned_about() -> None:
    custom = LATENCY.with_changes(
        alerts=(AlertWindow(severity="page", long_s=3600, short_s=300, burn_rate=14.4),),
        window=TimeWindow(rolling_s=28 * 86400),
    )
    warnings = to_sloth([custom, TTFT], SOURCE).warnings
    assert any("--default-slo-period=28d" in w for w in warnings)
    assert any("AlertWindows" in w and "1 custom alert rows" in w for w in warnings)
    assert any("rolling periods only" in w for w in warnings)
    assert any("`lt` is counted as `lte`" in w for w in warnings)


@pytest.mark.parametrize(
    "slo",
    [
        LATENCY.with_changes(
            sli=SLI(kind="latency", percentile=95.0),
            budgeting=Budgeting(method="Timeslices", slice_s=300),
        ),
        AVAILABILITY.with_changes(budgeting=Budgeting(method="RatioTimeslices", slice_s=300)),
        SLO(
            name="tps",
            sli=SLI(kind="throughput"),
            objective=Objective(target=0.9, threshold=5.0, op="gte"),
            budgeting=Budgeting(method="Timeslices", slice_s=300),
        ),
    ],
    ids=["percentile", "ratio-timeslices", "throughput"],
)
def test_time_slice_slos_are_refused_because_sloth_has_no_slices(slo: SLO) -> None:
    with pytest.raises(SpecError, match=r"Sloth has no time slices.*Export this SLO to OpenSLO"):
        to_sloth([slo], SOURCE)


def test_sloth_needs_a_prometheus_source() -> None:
    with pytest.raises(SpecError, match="--prometheus-histogram"):
        to_sloth([AVAILABILITY], MetricSource(kind="file", path="x.parquet"))
    with pytest.raises(SpecError, match="--prometheus-histogram"):
        to_sloth([AVAILABILITY], None)


def test_services_become_separate_documents() -> None:
    other = AVAILABILITY.with_changes(name="search-availability", service="search")
    docs = list(yaml.safe_load_all(to_sloth([AVAILABILITY, other], SOURCE).text))
    assert [d["service"] for d in docs] == ["genai-api", "search"]
    assert [
        s.service for s in from_sloth(load_documents(to_sloth([AVAILABILITY, other], SOURCE).text))
    ] == [
        "genai-api",
        "search",
    ]


@st.composite
def sloth_slos(draw: st.DrawFn) -> SLO:
    """SLOs Sloth can represent: Occurrences latency or availability, no custom alerts."""
    latency = draw(st.booleans())
    tz = draw(st.sampled_from(["UTC", "Asia/Kolkata"]))
    return SLO(
        name=draw(st.from_regex(r"[a-z]([-a-z0-9]{0,20}[a-z0-9])?", fullmatch=True)),
        service=draw(st.sampled_from(["genai-api", "Gen AI"])),
        description=draw(st.sampled_from(["", "Agreed in the workshop.\nReview in March."])),
        sli=SLI(
            kind="latency",
            metric=draw(st.sampled_from(["latency_ms", "ttft_ms"])),
            failed_requests=draw(st.sampled_from(["exclude", "bad"])),
        )
        if latency
        else SLI(kind="availability"),
        objective=Objective(
            # Percent floats hold shares of up to 15 significant digits exactly.
            target=round(draw(st.floats(0.5, 0.99)), draw(st.integers(2, 12))),
            threshold=draw(st.sampled_from([100.0, 250.0, 300.0, 1234.5, 8000.0]))
            if latency
            else None,
            op=draw(st.sampled_from(["lte", "lt"])) if latency else "lte",
        ),
        window=draw(
            st.sampled_from(
                [
                    TimeWindow(rolling_s=30 * 86400, tz=tz),
                    TimeWindow(rolling_s=28 * 86400, tz=tz),
                    TimeWindow(calendar="month", tz=tz),
                ]
            )
        ),
        alerts=draw(st.sampled_from([None, ()])),
        segment=draw(st.sampled_from([(), (("endpoint", "chat"),)])),
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(slo=sloth_slos())
def test_slo_to_sloth_to_slo_is_lossless_where_representable(slo: SLO) -> None:
    assert from_sloth(load_documents(to_sloth([slo], SOURCE).text)) == [slo]


def test_sloth_reader_errors_name_the_path() -> None:
    base = {"version": "prometheus/v1", "service": "s"}
    cases = [
        ({**base}, "slos: must be a non-empty list"),
        ({**base, "slos": [{"objective": 99}]}, r"slos\[0\]\.name: is required"),
        ({**base, "slos": [{"name": "a", "objective": "high"}]}, r"slos\[0\]\.objective: must be"),
        (
            {
                **base,
                "slos": [
                    {
                        "name": "a",
                        "objective": 100,
                        "sli": {"events": {"error_query": "e", "total_query": "t"}},
                    }
                ],
            },
            r"slos\[0\]\.objective: 1\.0 is not",
        ),
        (
            {**base, "slos": [{"name": "a", "objective": 99, "sli": {"plugin": {"id": "x"}}}]},
            r"slos\[0\]\.sli\.plugin",
        ),
        (
            {
                **base,
                "slos": [{"name": "a", "objective": 99, "sli": {"events": {"error_query": "e"}}}],
            },
            r"slos\[0\]\.sli\.events\.total_query: is required",
        ),
        (
            {
                **base,
                "slos": [
                    {
                        "name": "a",
                        "objective": 99,
                        "labels": {"sloview_window": "fortnight"},
                        "sli": {"events": {"error_query": "e", "total_query": "t"}},
                    }
                ],
            },
            r"slos\[0\]\.labels\.sloview_window",
        ),
    ]
    for doc, message in cases:
        with pytest.raises(SpecError, match=message):
            from_sloth([doc])


def test_kubernetes_resource_form_is_read_too() -> None:
    doc = {
        "apiVersion": "sloth.slok.dev/v1",
        "kind": "PrometheusServiceLevel",
        "metadata": {"name": "x"},
        "spec": {
            "service": "k8s",
            "slos": [
                {
                    "name": "Requests Availability",
                    "objective": 99.5,
                    "sli": {"events": {"error_query": "e", "total_query": "t"}},
                }
            ],
        },
    }
    (slo,) = from_sloth([doc])
    assert (slo.name, slo.service, slo.objective.target) == ("requests-availability", "k8s", 0.995)
