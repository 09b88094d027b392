"""`--format grafana`: a dashboard over the exported rules, built with grafana-foundation-sdk."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
import yaml
from grafana_foundation_sdk.models.dashboard import Dashboard

from sloview.cli import main
from sloview.errors import SpecError
from sloview.export.grafana import to_grafana
from sloview.export.prometheus_rules import to_prometheus_rules
from tests.test_export_rules import AVAILABILITY, LATENCY, SOURCE

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("SLOVIEW_UPDATE_GOLDEN") == "1"


def board(*slos: object) -> dict:
    return json.loads(to_grafana(list(slos), SOURCE).text)  # type: ignore[arg-type]


def test_output_matches_golden_file_byte_for_byte() -> None:
    text = to_grafana([LATENCY, AVAILABILITY], SOURCE).text
    path = GOLDEN / "grafana_genai_api.json"
    if UPDATE:
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


def test_the_json_is_grafanas_dashboard_model() -> None:
    # The SDK is generated from Grafana's dashboard schema: its model reads the JSON back
    # and writes it again unchanged (nothing hand-assembled outside the schema).
    data = board(LATENCY, AVAILABILITY)
    again = json.loads(json.dumps(Dashboard.from_json(data).to_json(), default=_plain))
    assert again["panels"] == json.loads(json.dumps(data["panels"]))
    assert data["schemaVersion"] == 41
    assert data["templating"]["list"][0]["type"] == "datasource"
    assert data["templating"]["list"][0]["query"] == "prometheus"


def _plain(value: object) -> object:
    to_json = getattr(value, "to_json", None)
    return to_json() if to_json else str(value)


def test_one_row_per_slo_with_sli_attainment_budget_burn_and_alerts() -> None:
    panels = board(LATENCY, AVAILABILITY)["panels"]
    rows = [p["title"] for p in panels if p["type"] == "row"]
    assert rows[0].startswith("chat-latency: 95% of chat requests")
    assert rows[1].startswith("api-availability: 99.9% of requests succeed")
    titles = [p["title"] for p in panels if p["type"] != "row"]
    assert titles[:6] == [
        "SLI: share of good events",
        "Attainment (28d)",
        "Error budget remaining",
        "Error budget burndown",
        "Burn rates",
        "Alerts firing",
    ]
    assert [p["type"] for p in panels[1:7]] == [
        "timeseries",
        "stat",
        "stat",
        "timeseries",
        "timeseries",
        "state-timeline",
    ]
    attainment = panels[2]
    steps = attainment["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert steps[1] == {"color": "green", "value": 0.95}
    burn = panels[5]
    legends = [t["legendFormat"] for t in burn["targets"]]
    assert legends == [
        "5m",
        "30m",
        "1h",
        "2h",
        "6h",
        "1d",
        "3d",
        *(f"factor {f}" for f in ("1", "2.8", "5.6", "13.44")),
    ]


def test_every_query_reads_series_the_rule_file_records() -> None:
    rules = yaml.safe_load(to_prometheus_rules([LATENCY, AVAILABILITY], SOURCE).text)
    recorded = {
        (r["record"], r["labels"]["sloth_id"])
        for g in rules["groups"]
        for r in g["rules"]
        if "record" in r
    }
    for panel in board(LATENCY, AVAILABILITY)["panels"]:
        for target in panel.get("targets", []):
            for name, sloth_id in re.findall(
                r'(slo:[a-z_:0-9]+)\{sloth_id="([^"]+)"', target["expr"]
            ):
                assert (name, sloth_id) in recorded, target["expr"]


def test_the_dashboard_needs_what_the_rules_need(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="a Prometheus source is needed"):
        to_grafana([AVAILABILITY], None)
    out = tmp_path / "dash.json"
    code = main(
        [
            "export",
            "--sli",
            "availability",
            "--target",
            "0.995",
            "--format",
            "grafana",
            "--prometheus-histogram",
            "http_request_duration_seconds",
            "-o",
            str(out),
        ]
    )
    assert code == 0
    assert json.loads(out.read_text())["title"] == "SLOs of sloview"
