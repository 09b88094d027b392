"""Joint SLIs and goodput leave sloview intact: OpenSLO, Sloth, the report and the CLI.

OpenSLO has no joint condition: sloview writes a ratioMetric whose good query states it
(exactly in SQL and for a request file; as a described, non-executable comment for Prometheus,
where separate histograms cannot tell which requests met every condition at once) and keeps
the conditions in a `sloview.dev/conditions` annotation, so reading the file back gives the
same SLO. The SQL queries are run on SQLite against the sample's chat requests and must count
what `simulate()` counts.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from sloview.cli import main
from sloview.engine import Engine
from sloview.engine.scope import Scope
from sloview.errors import SpecError
from sloview.export import (
    MetricSource,
    from_openslo,
    load_documents,
    to_openslo,
    to_sloth,
    validate_documents,
)
from sloview.ingest import RequestTable, load_requests
from sloview.model import SLO
from sloview.report import render_html, render_markdown, report_inputs
from sloview.report import text as report_text
from sloview.session import Candidate
from sloview.simulate import simulate
from sloview.wording import statement

JOINT = {
    "name": "chat-experience",
    "service": "genai-api",
    "sli": {"kind": "joint", "conditions": ["ttft_ms<=500", "tpot_ms<=50"]},
    "objective": {"target": 0.95},
    "segment": {"endpoint": "chat"},
}
GOODPUT = {
    "name": "chat-goodput",
    "service": "genai-api",
    "sli": {
        "kind": "throughput",
        "unit": "goodput",
        "conditions": ["ttft_ms<=500", "tpot_ms<=50"],
    },
    "objective": {"target": 0.99, "threshold": 2, "op": "gte"},
    "budgeting": {"method": "Timeslices", "slice": "5m"},
}
SOURCES = {
    "none": None,
    "file": MetricSource(kind="file", path="requests.parquet"),
    "sql": MetricSource(kind="sql", table="requests", url="postgresql://db/slo"),
    "prometheus": MetricSource(
        kind="prometheus",
        histograms=(("ttft_ms", "ttft_seconds"), ("tpot_ms", "tpot_seconds")),
        requests_counter="llm_requests_total",
    ),
}


def slo(data: dict[str, Any], **changes: Any) -> SLO:
    return SLO.from_dict({**data, **changes})


def slo_doc(text: str, name: str) -> dict[str, Any]:
    return next(
        d for d in load_documents(text) if d["kind"] == "SLO" and d["metadata"]["name"] == name
    )


@pytest.fixture(scope="module")
def table(sample_path: Path) -> RequestTable:
    return load_requests(sample_path)


@pytest.fixture(scope="module")
def engine(table: RequestTable) -> Engine:
    return Engine(table)


# -- OpenSLO ---------------------------------------------------------------------------------


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize(
    "spec",
    [
        JOINT,
        {**JOINT, "budgeting": {"method": "Timeslices", "slice": "5m", "slice_target": 0.9}},
        {**JOINT, "window": {"calendar": "month", "tz": "Europe/Berlin"}, "segment": {}},
        {**JOINT, "sli": {"kind": "joint", "conditions": ["latency_ms<20000"]}},
        GOODPUT,
    ],
)
def test_openslo_round_trip_is_lossless_and_valid(spec: dict[str, Any], source: str) -> None:
    original = slo(spec)
    export = to_openslo([original], SOURCES[source])
    docs = load_documents(export.text)
    assert validate_documents(docs) == []
    assert from_openslo(docs) == [original]
    ann = slo_doc(export.text, original.name)["metadata"]["annotations"]
    assert json.loads(ann["sloview.dev/conditions"]) == [
        c.to_dict() for c in original.sli.conditions
    ]


def test_joint_sli_is_a_ratio_metric_with_the_statement_as_description() -> None:
    export = to_openslo([slo(JOINT)], SOURCES["file"])
    doc = slo_doc(export.text, "chat-experience")
    assert doc["spec"]["description"] == (
        "95% of chat requests succeed, get their first token within 500 ms and stream each "
        "token within 50 ms, measured over a rolling 28 days."
    )
    ratio = doc["spec"]["indicator"]["spec"]["ratioMetric"]
    assert ratio["good"]["metricSource"]["spec"]["count"] == (
        "ok and ttft_ms <= 500 and tpot_ms <= 50"
    )
    assert "objectives" in doc["spec"]
    assert "op" not in doc["spec"]["objectives"][0]  # OpenSLO forbids op on ratio objectives
    assert doc["metadata"]["displayName"] == "chat: 95% succeed, TTFT <= 500 ms, TPOT <= 50 ms"


def test_prometheus_cannot_join_histograms_so_the_query_describes_and_warns() -> None:
    export = to_openslo([slo(JOINT)], SOURCES["prometheus"])
    doc = slo_doc(export.text, "chat-experience")
    ratio = doc["spec"]["indicator"]["spec"]["ratioMetric"]
    good = ratio["good"]["metricSource"]["spec"]["query"]
    assert good.startswith("# not expressible in PromQL")
    assert 'endpoint="chat"' in good
    assert "ttft_ms <= 500 AND tpot_ms <= 50" in good
    assert ratio["total"]["metricSource"]["spec"]["query"] == (
        'sum(llm_requests_total{endpoint="chat"})'
    )
    assert "PromQL cannot tell which requests met every condition" in doc["spec"]["description"]
    assert any(
        "cannot be computed from separate Prometheus histograms" in w for w in export.warnings
    )


def test_sql_queries_count_what_the_simulation_counts(table: RequestTable, engine: Engine) -> None:
    original = slo(JOINT)
    export = to_openslo([original], SOURCES["sql"])
    ratio = slo_doc(export.text, "chat-experience")["spec"]["indicator"]["spec"]["ratioMetric"]
    good_sql = ratio["good"]["metricSource"]["spec"]["query"]
    total_sql = ratio["total"]["metricSource"]["spec"]["query"]
    assert "ttft_ms <= 500 AND tpot_ms <= 50" in good_sql
    frame = table.frame
    db = sqlite3.connect(":memory:")
    pd.DataFrame(
        {
            "ts": frame["ts"].astype("int64"),
            "status": frame["status"].astype(int),
            "endpoint": frame["endpoint"].astype(str),
            "ttft_ms": frame["ttft_ms"],
            "tpot_ms": frame["tpot_ms"],
        }
    ).to_sql("requests", db, index=False)
    params = {"start": int(frame["ts"].iloc[0].value), "end": int(frame["ts"].iloc[-1].value) + 1}
    good = db.execute(good_sql, params).fetchone()[0]
    total = db.execute(total_sql, params).fetchone()[0]
    sim = simulate(Scope.bind(engine, original))
    assert (good, total) == (sim.overall.good, sim.overall.total)


def test_bad_conditions_annotation_is_refused_with_its_path() -> None:
    text = to_openslo([slo(JOINT)], None).text
    broken = text.replace('"threshold": 50.0', '"threshold": -5')
    with pytest.raises(SpecError, match="non-negative") as caught:
        from_openslo(load_documents(broken))
    assert caught.value.where is not None
    assert 'annotations["sloview.dev/conditions"][1].threshold' in caught.value.where
    missing = text.replace("sloview.dev/conditions", "sloview.dev/other-thing")
    with pytest.raises(SpecError, match="required for a joint SLI"):
        from_openslo(load_documents(missing))


@pytest.mark.parametrize("spec", [JOINT, GOODPUT])
def test_sloth_refuses_joint_slis_and_goodput_clearly(spec: dict[str, Any]) -> None:
    with pytest.raises(SpecError, match="cannot be written in PromQL") as caught:
        to_sloth([slo(spec)], SOURCES["prometheus"])
    assert "Export this SLO to OpenSLO" in caught.value.one_line()


# -- wording and the report -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (
            JOINT,
            "95% of chat requests succeed, get their first token within 500 ms and stream each "
            "token within 50 ms, measured over a rolling 28 days.",
        ),
        (
            {**JOINT, "sli": {"kind": "joint", "conditions": ["ttft_ms<1s"]}, "segment": {}},
            "95% of requests succeed and get their first token in under 1 s, measured over a "
            "rolling 28 days.",
        ),
        (
            {**JOINT, "budgeting": {"method": "Timeslices", "slice": "5m", "slice_target": 0.9}},
            "In 95% of 5m slices, at least 90% of chat requests succeed, get their first token "
            "within 500 ms and stream each token within 50 ms, measured over a rolling 28 days.",
        ),
        (
            GOODPUT,
            "Goodput of requests (requests that succeed, get their first token within 500 ms and "
            "stream each token within 50 ms) is at least 2 requests/s in 99% of 5m slices, "
            "measured over a rolling 28 days.",
        ),
    ],
)
def test_statements(spec: dict[str, Any], expected: str) -> None:
    assert statement(slo(spec)) == expected


def test_report_explains_ttft_and_tpot_in_plain_words(table: RequestTable, engine: Engine) -> None:
    inputs = report_inputs(
        table,
        engine,
        [Candidate(slo=slo(JOINT), agreed=True), Candidate(slo=slo(GOODPUT))],
        generated_at="2026-10-20 09:00 UTC",
    )
    md = render_markdown(inputs)
    html = render_html(inputs)
    for doc in (md, html):
        assert "how long until the answer starts appearing" in doc
        assert "how fast the answer streams" in doc
        assert "succeeded and met every condition" in doc
    assert "95% of chat requests succeed, get their first token within 500 ms and stream" in md
    assert "<dt>Time to first token (TTFT)</dt>" in html
    assert "<dt>Goodput</dt>" in html
    assert "95% succeed, TTFT &lt;= 500 ms, TPOT &lt;= 50 ms | agreed" in md  # the decision log
    assert "failed requests count as bad (a good request succeeded and met every condition)" in md


def test_reports_without_generative_slos_keep_their_glossary() -> None:
    plain = slo({**JOINT, "sli": {"kind": "availability"}})
    assert report_text.glossary([plain]) == report_text.GLOSSARY
    latency_ttft = slo(
        {
            **JOINT,
            "sli": {"kind": "latency", "metric": "ttft_ms"},
            "objective": {"target": 0.9, "threshold": 500},
        }
    )
    assert report_text.generative_terms([latency_ttft]) == (report_text.TTFT_TERM,)


# -- the CLI ---------------------------------------------------------------------------------


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


JOINT_FLAGS = ["--sli", "joint", "--condition", "ttft_ms<=500", "--condition", "tpot<=50ms"]


def test_cli_simulates_a_joint_slo(
    capsys: pytest.CaptureFixture[str], sample_path: Path, table: RequestTable
) -> None:
    code, out, err = run(
        capsys, "simulate", str(sample_path), "--where", "endpoint=chat", *JOINT_FLAGS, "--json"
    )
    assert (code, err) == (0, "")
    (entry,) = json.loads(out)["slos"]
    assert entry["sli"] == "joint"
    assert entry["threshold_ms"] is None
    assert entry["conditions"] == [
        {"metric": "ttft_ms", "op": "lte", "threshold": 500.0},
        {"metric": "tpot_ms", "op": "lte", "threshold": 50.0},
    ]
    chat = table.frame[table.frame["endpoint"] == "chat"]
    good = chat["ok"] & (chat["ttft_ms"] <= 500) & (chat["tpot_ms"] <= 50)
    assert (entry["overall"]["good"], entry["overall"]["total"]) == (good.sum(), len(chat))
    assert entry["statement"].startswith("95% of chat requests succeed, get their first token")


def test_cli_recommends_a_threshold_pair(
    capsys: pytest.CaptureFixture[str], sample_path: Path
) -> None:
    code, out, err = run(
        capsys,
        "recommend",
        str(sample_path),
        "--where",
        "endpoint=chat",
        *JOINT_FLAGS,
        "--target",
        "0.9",
        "--json",
    )
    assert (code, err) == (0, "")
    (entry,) = json.loads(out)["slos"]
    pair = entry["threshold_pair"]
    assert pair["metrics"] == ["ttft_ms", "tpot_ms"]
    a, b = pair["recommended_ms"]
    assert [a, b] in pair["iso_line_ms"]
    assert "meets the 90% target" in pair["rationale"]


def test_cli_simulates_goodput(capsys: pytest.CaptureFixture[str], sample_path: Path) -> None:
    code, out, err = run(
        capsys,
        "simulate",
        str(sample_path),
        "--sli",
        "throughput",
        "--throughput-unit",
        "goodput",
        "--condition",
        "ttft_ms<=500",
        "--min-rate",
        "0.05",
        "--slice",
        "1h",
        "--json",
    )
    assert (code, err) == (0, "")
    (entry,) = json.loads(out)["slos"]
    assert entry["statement"].startswith("Goodput of requests (requests that succeed and get")
    assert entry["slo"]["sli"] == {
        "kind": "throughput",
        "unit": "goodput",
        "conditions": [{"metric": "ttft_ms", "op": "lte", "threshold": 500.0}],
    }
    assert 0 < entry["overall"]["attainment"] < 1


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (
            ["--sli", "joint", "--condition", "ttft_ms=>500"],
            "argument --condition: 'ttft_ms=>500' is not a condition",
        ),
        (["--sli", "joint", "--condition", "queue_ms<=5"], "'queue_ms' is not a latency column"),
        (["--sli", "joint"], "a joint SLO needs --condition"),
        (
            ["--sli", "joint", "--condition", "ttft<=5", "--condition", "ttft<=6"],
            "ttft_ms appears twice",
        ),
        (["--sli", "latency", "--threshold-ms", "5", "--condition", "ttft<=5"], "applies to"),
        (["--sli", "joint", "--condition", "ttft<=5", "--threshold-ms", "5"], "not --threshold-ms"),
        (
            ["--sli", "joint", "--condition", "ttft<=5", "--failed-requests", "exclude"],
            "always counts failed requests as bad",
        ),
        (
            ["--sli", "throughput", "--throughput-unit", "goodput", "--min-rate", "1"],
            "goodput needs",
        ),
    ],
)
def test_cli_bad_condition_flags_are_one_line_exit_2(
    capsys: pytest.CaptureFixture[str], sample_path: Path, flags: list[str], message: str
) -> None:
    code, out, err = run(capsys, "simulate", str(sample_path), *flags)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("sloview: error: ")
    assert message in err


def test_cli_exports_a_joint_slo_and_refuses_sloth(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "joint.yaml"
    code, out, err = run(
        capsys,
        "export",
        *JOINT_FLAGS,
        "--name",
        "chat-experience",
        "--sql-table",
        "requests",
        "-o",
        str(path),
    )
    assert code == 0, err
    (back,) = from_openslo(load_documents(path.read_text()))
    assert back.sli.metrics == ("ttft_ms", "tpot_ms")
    code, _, err = run(capsys, "validate", str(path))
    assert code == 0, err
    code, out, err = run(
        capsys, "export", *JOINT_FLAGS, "--format", "sloth", "--prometheus-histogram", "x_seconds"
    )
    assert (code, out) == (2, "")
    assert err.count("\n") == 1
    assert "Sloth needs PromQL" in err


def test_an_slo_file_with_a_joint_slo_simulates(
    capsys: pytest.CaptureFixture[str], sample_path: Path, tmp_path: Path
) -> None:
    path = tmp_path / "slos.yaml"
    path.write_text(yaml.safe_dump({"slos": [JOINT]}))
    code, out, err = run(capsys, "simulate", str(sample_path), "--slo", str(path), "--json")
    assert (code, err) == (0, "")
    (entry,) = json.loads(out)["slos"]
    assert entry["name"] == "chat-experience"
    assert np.isclose(
        entry["overall"]["attainment"], entry["overall"]["good"] / entry["overall"]["total"]
    )
