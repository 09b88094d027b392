"""AppTest: every page of the workshop app, the way a room uses it."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from sloview.ingest import load_requests
from sloview.model import SLO
from sloview.session import decode_slo, encode_slo
from tests.apptest import clean, metric, navigation_like_the_server, run_app

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 180

# Imported for its name: every test here runs the app as the server does.
pytestmark = pytest.mark.usefixtures(navigation_like_the_server.__name__)


def _figures(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def _array(field: object) -> np.ndarray:
    """A trace array from figure JSON (plotly 6 sends numpy arrays as base64 typed arrays)."""
    if isinstance(field, dict) and "bdata" in field:
        flat = np.frombuffer(base64.b64decode(field["bdata"]), dtype=np.dtype(field["dtype"]))
        if "shape" in field:
            return flat.reshape([int(n) for n in str(field["shape"]).split(",")])
        return flat
    return np.asarray(field)


def _statement(at: AppTest) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("### ")).removeprefix("### ")


@pytest.fixture(scope="module")
def sample_rows(sample_path: Path) -> int:
    return load_requests(sample_path).rows


def test_data_page_opens_on_the_bundled_sample(sample_rows: int) -> None:
    at = run_app()
    clean(at)
    assert not at.error
    assert at.title[0].value == "Data"
    assert metric(at, "valid requests") == f"{sample_rows:,}"
    assert metric(at, "time span") == "42.0 days"
    figure = _figures(at)[0]
    assert {trace["name"] for trace in figure["data"]} == {"requests/s", "error rate"}


def test_uploading_a_real_jtl_file_replaces_the_sample(realdata: Path) -> None:
    path = realdata / "jmeter_error_samples" / "taurus_slow-stdev.jtl"
    at = run_app()
    at.file_uploader[0].set_value((path.name, path.read_bytes(), "text/csv")).run()
    clean(at)
    assert not at.error
    assert metric(at, "valid requests") == "599"
    assert metric(at, "failed requests") == "63"
    assert any("JMeter JTL" in c.value for c in at.caption)


def test_a_broken_upload_shows_an_error_and_keeps_working(sample_rows: int) -> None:
    at = run_app()
    page = b"<!DOCTYPE html><html><body>Session expired, please log in</body></html>"
    at.file_uploader[0].set_value(("export.csv", page, "text/csv")).run()
    clean(at)
    assert len(at.error) == 1
    assert "HTML page" in at.error[0].value
    assert metric(at, "valid requests") == f"{sample_rows:,}"


def test_explore_shows_exact_percentiles_and_charts(sample_path: Path) -> None:
    at = run_app()
    at.switch_page("pages/2_explore.py").run()
    clean(at)
    frame = at.dataframe[0].value
    table = load_requests(sample_path).frame
    ok = table.loc[table["ok"], "latency_ms"].to_numpy()
    p95 = frame.loc[frame["percentile"] == "p95", "value_ms"].iloc[0]
    assert p95 == pytest.approx(np.percentile(ok, 95), rel=1e-12)
    titles = [f["layout"]["title"]["text"] for f in _figures(at)]
    assert "Distribution of end-to-end latency" in titles
    assert "end-to-end latency: percentiles over time" in titles


def test_explore_switches_to_time_to_first_token() -> None:
    at = run_app()
    at.switch_page("pages/2_explore.py").run()
    at.radio[0].set_value("ttft_ms").run()
    clean(at)
    titles = [f["layout"]["title"]["text"] for f in _figures(at)]
    assert "Distribution of time to first token" in titles


def test_design_follows_the_threshold_slider() -> None:
    at = run_app()
    at.switch_page("pages/3_design.py").run()
    clean(at)
    before = _statement(at)
    periods_before = _figures(at)[0]["data"][0]["y"]
    slider = at.select_slider(key="c_threshold")
    assert "20.0 s" in slider.options  # round values on a log scale, formatted for people
    assert slider.value > 20_000.0
    slider.set_value(20_000.0).run()
    clean(at)
    after = _statement(at)
    assert after != before
    assert after == "99% of requests complete within 20.0 s, measured over a rolling 28 days."
    periods_after = _array(_figures(at)[0]["data"][0]["y"])
    periods_before = _array(periods_before)
    assert periods_after.shape == periods_before.shape
    # A lower threshold can only lower every period's attainment, and here it does lower it.
    assert np.all(periods_after <= periods_before + 1e-12)
    assert np.nanmax(periods_after) < np.nanmax(periods_before)


def test_design_refuses_an_invalid_name_without_a_traceback() -> None:
    at = run_app()
    at.switch_page("pages/3_design.py").run()
    at.text_input(key="c_name").set_value("Chat Latency!").run()
    clean(at)
    assert any("not a valid SLO name" in e.value for e in at.error)


def test_design_restores_a_candidate_from_a_link() -> None:
    slo = SLO.from_dict(
        {
            "name": "ttft-p95",
            "sli": {"kind": "latency", "metric": "ttft_ms"},
            "objective": {"target": 0.95, "threshold": 500.0},
            "window": {"calendar": "week"},
        }
    )
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.query_params["slo"] = encode_slo(slo)
    at.run()
    at.switch_page("pages/3_design.py").run()
    clean(at)
    assert _statement(at) == (
        "95% of requests get their first token within 500 ms, measured over calendar weeks (UTC)."
    )
    assert decode_slo(at.query_params["slo"]) == slo


def test_availability_candidate_and_alert_backtest() -> None:
    at = run_app()
    at.switch_page("pages/3_design.py").run()
    at.radio(key="c_kind").set_value("availability").run()
    at.select_slider(key="c_target").set_value(0.995).run()
    clean(at)
    assert _statement(at) == "99.5% of requests succeed, measured over a rolling 28 days."
    at.segmented_control(key="design_view").set_value("Alerts").run()
    clean(at)
    timeline = next(f for f in _figures(at) if "Alert backtest" in f["layout"]["title"]["text"])
    assert "1 of 1 violations caught" in timeline["layout"]["title"]["text"]


def test_shortlist_compare_and_export() -> None:
    at = run_app()
    at.switch_page("pages/3_design.py").run()
    at.text_input(key="c_name").set_value("chat-latency").run()
    at.button[0].click().run()
    at.radio(key="c_kind").set_value("availability").run()
    at.text_input(key="c_name").set_value("availability").run()
    at.button[0].click().run()
    clean(at)
    at.switch_page("pages/4_compare.py").run()
    clean(at)
    table = at.get("arrow_data_editor")[0].value if at.get("arrow_data_editor") else None
    names = list(at.session_state["shortlist"])
    assert [c.slo.name for c in names] == ["chat-latency", "availability"]
    assert table is None or list(table["name"]) == ["chat-latency", "availability"]
    assert len(_figures(at)) == 2
    at.switch_page("pages/5_export.py").run()
    clean(at)
    assert [s.value for s in at.success] == [
        "Valid OpenSLO v1 (checked against the OpenSLO SDK's rules)."
    ]
    openslo = at.code[0].value
    assert "name: chat-latency" in openslo
    assert "name: availability" in openslo
    labels = [b.label for b in at.get("download_button")]
    assert labels == [
        "Download openslo.yaml",
        "Download report.html",
        "Download report.md",
        "Download session.json",
    ]
    at.radio[0].set_value("sloview").run()
    clean(at)
    assert at.code[0].value.startswith("slos:\n- name: chat-latency")
    assert "/design?slo=" in at.code[-1].value
    # Prometheus rules: the chat threshold is no bound of the client's default buckets, so
    # the page says which bounds are nearest instead of writing a rule for another SLO.
    at.radio[0].set_value("prometheus-rules").run()
    (error,) = [e.value for e in at.error]
    assert "no bucket bound of http_request_duration_seconds equals the threshold" in error
    assert "the nearest are le=" in error


def test_filters_apply_on_every_page(sample_path: Path) -> None:
    at = run_app()
    at.sidebar.multiselect(key="filter_endpoint").set_value(["embeddings"]).run()
    clean(at)
    frame = load_requests(sample_path).frame
    expected = int((frame["endpoint"] == "embeddings").sum())
    assert any(f"Showing {expected:,} requests" in c.value for c in at.sidebar.caption)
    at.switch_page("pages/2_explore.py").run()
    clean(at)
    assert metric(at, "successful requests measured") == (
        f"{int(((frame['endpoint'] == 'embeddings') & frame['ok']).sum()):,}"
    )


def test_design_target_view_marks_the_recommendation() -> None:
    at = run_app()
    at.switch_page("pages/3_design.py").run()
    at.segmented_control(key="design_view").set_value("Target design").run()
    clean(at)
    assert any("tightest threshold" in i.value for i in at.info)
    sweep = next(f for f in _figures(at) if f["layout"]["title"]["text"].startswith("What each"))
    assert len(_array(sweep["data"][0]["x"])) >= 200
    labels = [t["text"][0] for t in sweep["data"] if t.get("text")]
    assert any(label.startswith("recommended") for label in labels)


def test_design_segments_view_lists_each_endpoint() -> None:
    at = run_app()
    at.switch_page("pages/3_design.py").run()
    at.segmented_control(key="design_view").set_value("Segments").run()
    clean(at)
    table = at.dataframe[-1].value
    assert sorted(table["endpoint"]) == ["chat", "completions", "embeddings"]


def test_joint_candidate_design_and_goodput() -> None:
    at = run_app()
    at.switch_page("pages/3_design.py").run()
    at.radio(key="c_kind").set_value("joint").run()
    clean(at)
    statement = _statement(at)
    assert statement.startswith("99% of requests succeed, get their first token within")
    assert "stream each token within" in statement
    at.segmented_control(key="design_view").set_value("Target design").run()
    clean(at)
    heatmap = next(f for f in _figures(at) if f["data"][0]["type"] == "heatmap")
    z = _array(heatmap["data"][0]["z"])
    assert z.ndim == 2
    assert min(z.shape) >= 10
    assert np.nanmax(z) <= 1.0
    at.segmented_control(key="design_view").set_value("Goodput").run()
    clean(at)
    goodput = _figures(at)[0]
    names = [trace["name"] for trace in goodput["data"]]
    assert "goodput (good in every way)" in names
    by_endpoint = at.dataframe[-1].value
    # Embeddings have no time to first token: no goodput under a TTFT condition.
    assert by_endpoint.set_index("endpoint").loc["embeddings", "good"] == 0


def test_error_class_switch_changes_the_failure_count(sample_path: Path) -> None:
    at = run_app()
    before = int(metric(at, "failed requests").replace(",", ""))
    frame = load_requests(sample_path).frame
    rate_limited = int((frame["status"] == 429).sum())
    at.multiselect(key="error_good_classes").set_value(["client_error", "rate_limited"])
    at.button(key="FormSubmitter:error_classes-Apply").click().run()
    clean(at)
    after = int(metric(at, "failed requests").replace(",", ""))
    # Rate-limited requests now count as good: exactly the 429s leave the failures.
    assert after == before - rate_limited


def test_time_free_comparison_of_llmperf_providers(realdata: Path) -> None:
    path = realdata / "llmperf_leaderboard_2023" / "llmperf_requests_flat.csv"
    at = run_app()
    at.file_uploader[0].set_value((path.name, path.read_bytes(), "text/csv")).run()
    at.switch_page("pages/2_explore.py").run()
    clean(at)
    assert not at.error
    table = at.dataframe[-1].value
    assert sorted(table["provider"]) == sorted(
        [
            "anyscale",
            "bedrock",
            "fireworks",
            "groq",
            "lepton",
            "perplexity",
            "replicate",
            "together",
        ]
    )
    chart = _figures(at)[-1]
    assert chart["layout"]["title"]["text"].endswith("each provider against one threshold")
