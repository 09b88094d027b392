"""Composite SLOs: several objectives that must all hold in a period."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from sloview.cli import main
from sloview.composite_slo import CompositeSLO, spec_from_dict
from sloview.engine import Engine
from sloview.engine.scope import Scope
from sloview.errors import SpecError
from sloview.ingest import load_requests
from sloview.simulate import simulate, simulate_composite
from sloview.specfile import load_slo_file, load_specs

TTFT = {
    "name": "chat-ttft",
    "sli": {"kind": "latency", "metric": "ttft_ms"},
    "objective": {"target": 0.9, "threshold": 800.0},
    "window": {"calendar": "week"},
    "segment": {"endpoint": "chat"},
}
AVAILABILITY = {
    "name": "chat-availability",
    "sli": {"kind": "availability"},
    "objective": {"target": 0.995},
    "window": {"calendar": "week"},
    "segment": {"endpoint": "chat"},
}
COMPOSITE = {"name": "chat-experience", "composite": [TTFT, AVAILABILITY]}


@pytest.fixture(scope="module")
def engine(sample_path: Path) -> Engine:
    return Engine(load_requests(sample_path))


def test_round_trip_and_statement() -> None:
    composite = spec_from_dict(COMPOSITE)
    assert isinstance(composite, CompositeSLO)
    assert CompositeSLO.from_dict(composite.to_dict()) == composite
    assert [s.name for s in composite.objectives] == ["chat-ttft", "chat-availability"]


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        ({"composite": [TTFT]}, "slos[0].composite", "at least two objectives"),
        (
            {"composite": [TTFT, {**AVAILABILITY, "window": {"rolling": "28d"}}]},
            "slos[0].composite[1].window",
            "share one window",
        ),
        (
            {"composite": [TTFT, {**AVAILABILITY, "objective": {"target": 2}}]},
            "slos[0].composite[1].objective.target",
            "not a valid target",
        ),
        ({"composite": [TTFT, {**TTFT}]}, "slos[0].composite", "two objectives are named"),
    ],
)
def test_errors_name_the_path(
    tmp_path: Path, change: dict[str, object], path: str, message: str
) -> None:
    spec = tmp_path / "slos.yaml"
    spec.write_text(yaml.safe_dump({"slos": [{**COMPOSITE, **change}]}))
    with pytest.raises(SpecError) as caught:
        load_specs(spec)
    assert path in str(caught.value)
    assert message in str(caught.value)


def test_the_budget_burns_at_the_weighted_sum_of_the_objectives(engine: Engine) -> None:
    # OpenSLO v1: "if an SLO burns its budget the composite burns its budget at the same
    # rate; weight multiplies the rate". Per period: consumed = sum of weight x consumed.
    composite = spec_from_dict(COMPOSITE)
    assert isinstance(composite, CompositeSLO)
    result = simulate_composite(engine, composite)
    alone = [simulate(Scope.bind(engine, slo)) for slo in composite.objectives]
    spent = [1 - sim.periods.budget_remaining for sim in alone]
    judged = alone[0].periods.has_data & alone[1].periods.has_data
    assert np.allclose(result.consumed[judged], (spent[0] + spent[1])[judged], rtol=0, atol=1e-12)
    assert np.array_equal(result.met, judged & (spent[0] + spent[1] <= 1 + 1e-12))
    assert np.array_equal(result.all_met, alone[0].periods.met & alone[1].periods.met)
    # A met composite period is one where no objective alone overspent the whole budget,
    # so the weighted rule is never looser than "every objective met" with weights of 1.
    assert not np.any(result.met & ~result.all_met)
    # The incident week (2026-09-21) breaks availability, so the composite misses it.
    week = np.flatnonzero(result.periods.start_ns == np.datetime64("2026-09-21", "ns").astype(int))
    assert week.size == 1
    assert not alone[1].periods.met[week[0]]
    assert not result.met[week[0]]
    # Weights scale each objective's burn: TTFT at 2, availability at 0.5.
    heavy = CompositeSLO(name="weighted", objectives=composite.objectives, weights=(2.0, 0.5))
    weighted = simulate_composite(engine, heavy)
    expected = 2.0 * spent[0] + 0.5 * spent[1]
    assert np.allclose(weighted.consumed[judged], expected[judged], rtol=0, atol=1e-12)
    assert result.statement.startswith(
        "A composite of 2 objectives measured over calendar weeks (UTC)"
    )


def test_weights_round_trip_and_are_checked() -> None:
    data = {
        "name": "chat-experience",
        "composite": [{**TTFT, "weight": 2.0}, AVAILABILITY],
    }
    composite = spec_from_dict(data)
    assert isinstance(composite, CompositeSLO)
    assert composite.weights == (2.0, 1.0)
    assert composite.to_dict()["composite"][0]["weight"] == 2.0
    assert "weight" not in composite.to_dict()["composite"][1]
    assert CompositeSLO.from_dict(composite.to_dict()) == composite
    with pytest.raises(SpecError, match=r"composite\[1\]\.weight: -1\.0 is not a weight"):
        spec_from_dict({**data, "composite": [TTFT, {**AVAILABILITY, "weight": -1}]})


def test_plain_readers_get_the_objectives(tmp_path: Path) -> None:
    spec = tmp_path / "slos.yaml"
    spec.write_text(yaml.safe_dump({"slos": [COMPOSITE]}))
    assert [s.name for s in load_slo_file(spec)] == ["chat-ttft", "chat-availability"]


def test_cli_simulates_a_composite(
    sample_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "slos.yaml"
    spec.write_text(yaml.safe_dump({"slos": [COMPOSITE]}))
    assert main(["simulate", str(sample_path), "--slo", str(spec), "--json"]) == 0
    entry = json.loads(capsys.readouterr().out)["slos"][0]
    assert entry["sli"] == "composite"
    assert [c["name"] for c in entry["components"]] == ["chat-ttft", "chat-availability"]
    met = [p["met"] for p in entry["periods"]]
    for i, period in enumerate(entry["periods"]):
        components = [c["periods"][i] for c in entry["components"]]
        if any(c["met"] is None for c in components):
            assert period["met"] is None
            continue
        spent = sum(1 - c["budget_remaining"] for c in components)
        assert period["met"] == (spent <= 1 + 1e-12)
        assert period["all_met"] == all(c["met"] for c in components)
        assert period["budget_remaining"] == pytest.approx(1 - spent, abs=1e-12)
    assert entry["overall"]["good"] == sum(1 for m in met if m)
    assert len(entry["recommendation"]) == 2


# -- OpenSLO ---------------------------------------------------------------------------


def _prometheus() -> object:
    from sloview.export import MetricSource

    return MetricSource(
        kind="prometheus",
        histograms=(("latency_ms", "http_request_duration_seconds"), ("ttft_ms", "ttft_seconds")),
        matchers=(("job", "gateway"),),
    )


def test_openslo_writes_one_composite_slo_and_reads_it_back(tmp_path: Path) -> None:
    from sloview.export import load_documents, validate_documents
    from sloview.export.openslo import to_openslo

    composite = spec_from_dict(
        {"name": "chat-experience", "composite": [{**TTFT, "weight": 2}, AVAILABILITY]}
    )
    assert isinstance(composite, CompositeSLO)
    result = to_openslo([composite], _prometheus())  # type: ignore[arg-type]
    docs = load_documents(result.text)
    assert validate_documents(docs) == []
    (slo_doc,) = [d for d in docs if d["kind"] == "SLO"]
    spec = slo_doc["spec"]
    assert "indicator" not in spec
    assert spec["budgetingMethod"] == "Occurrences"
    assert spec["timeWindow"] == [
        {
            "duration": "1w",
            "isRolling": False,
            "calendar": {"startTime": "2024-01-01 00:00:00", "timeZone": "UTC"},
        }
    ]
    assert [o["compositeWeight"] for o in spec["objectives"]] == [2.0, 1.0]
    assert [o["target"] for o in spec["objectives"]] == [0.9, 0.995]
    good = spec["objectives"][0]["indicator"]["spec"]["ratioMetric"]["good"]
    assert (
        'ttft_seconds_bucket{job="gateway",endpoint="chat"' in good["metricSource"]["spec"]["query"]
    )
    path = tmp_path / "openslo.yaml"
    path.write_text(result.text)
    assert load_specs(path) == [composite]
    # Plain readers still get the objectives one by one.
    assert [s.name for s in load_slo_file(path)] == ["chat-ttft", "chat-availability"]


def test_another_tools_composite_is_read_objective_by_objective(tmp_path: Path) -> None:
    text = """
apiVersion: openslo/v1
kind: SLO
metadata: {name: checkout}
spec:
  service: shop
  budgetingMethod: Occurrences
  timeWindow: [{duration: 28d, isRolling: true}]
  objectives:
    - displayName: fast
      target: 0.95
      compositeWeight: 0.5
      indicator:
        metadata: {name: fast-sli}
        spec:
          ratioMetric:
            counter: true
            good:
              metricSource:
                type: Prometheus
                spec: {query: 'sum(http_request_duration_seconds_bucket{le="0.3"})'}
            total:
              metricSource:
                type: Prometheus
                spec: {query: 'sum(http_request_duration_seconds_count)'}
    - displayName: up
      target: 0.999
      indicator:
        metadata: {name: up-sli}
        spec:
          ratioMetric:
            counter: true
            good: {metricSource: {type: Prometheus, spec: {query: 'sum(requests{code!~"5.."})'}}}
            total: {metricSource: {type: Prometheus, spec: {query: 'sum(requests)'}}}
"""
    path = tmp_path / "other.yaml"
    path.write_text(text)
    (composite,) = load_specs(path)
    assert isinstance(composite, CompositeSLO)
    assert composite.weights == (0.5, 1.0)
    assert [o.name for o in composite.objectives] == ["checkout-fast", "checkout-up"]
    fast, up = composite.objectives
    assert (fast.sli.kind, fast.objective.threshold) == ("latency", 300.0)
    assert up.sli.kind == "availability"


def test_a_composite_mixing_methods_goes_out_as_separate_slos_with_a_warning() -> None:
    from sloview.export.openslo import to_openslo

    mixed = CompositeSLO(
        name="mixed",
        objectives=(
            spec_from_dict(
                {
                    **TTFT,
                    "sli": {"kind": "latency", "metric": "ttft_ms", "percentile": 95},
                    "budgeting": {"method": "Timeslices", "slice": "5m"},
                }
            ),  # type: ignore[arg-type]
            spec_from_dict(AVAILABILITY),  # type: ignore[arg-type]
        ),
    )
    result = to_openslo([mixed])
    assert any("share one budgeting method" in w for w in result.warnings)
    assert result.text.count("kind: SLO\n") == 2


def test_the_report_shows_composites_beside_their_objectives(
    sample_path: Path, tmp_path: Path
) -> None:
    spec = tmp_path / "slos.yaml"
    spec.write_text(
        yaml.safe_dump(
            {
                "slos": [
                    {"name": "chat-experience", "composite": [{**TTFT, "weight": 2}, AVAILABILITY]}
                ]
            }
        )
    )
    out = tmp_path / "report.md"
    args = ["report", str(sample_path), "--slo", str(spec), "-o", str(out)]
    assert main([*args, "--generated-at", "2026-12-01 00:00 UTC"]) == 0
    text = out.read_text()
    assert "## Composite SLOs" in text
    section = text.split("### chat-experience", 1)[1].split("## ", 1)[0]
    assert "- weights: chat-ttft x2, chat-availability x1" in section
    assert "- periods met (weighted budget): " in section
    assert "- every objective met: " in section
    # The objectives are reported as SLOs of their own too.
    assert "## 1. chat-ttft" in text
    assert "## 2. chat-availability" in text
