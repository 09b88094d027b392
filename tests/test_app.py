"""AppTest: every page of the workshop app, the way a room uses it."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from sloview import formatting as fmt
from sloview.ingest import load_requests
from sloview.model import SLO
from sloview.session import decode_slo, encode_slo
from sloview.ui import background
from tests.apptest import clean, metric, navigation_like_the_server, run_app, tables
from tests.conftest import require

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
    frame = tables(at)[0].set_index("percentile")
    table = load_requests(sample_path).frame
    ok = table.loc[table["ok"], "latency_ms"].to_numpy()
    # The exact linear p95, shown as the room reads it.
    assert frame.loc["p95", "latency"] == fmt.ms(float(np.percentile(ok, 95)))
    assert " to " in frame.loc["p95", "95% CI"]
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


def test_design_starts_near_p95_and_follows_the_slider_and_the_typed_value() -> None:
    at = run_app()
    at.switch_page("pages/3_design.py").run()
    clean(at)
    # A round threshold near the p95 of all requests and a target the data nearly meet, not
    # the slider's far end.
    before = _statement(at)
    assert before == "95% of requests complete within 16.0 s, measured over a rolling 28 days."
    periods_before = _figures(at)[0]["data"][0]["y"]
    slider = at.select_slider(key="c_threshold_slider")
    assert {"11.0 s", "12.0 s", "13.0 s", "16.0 s"} <= set(slider.options)  # fine round steps
    slider.set_value(12_000.0).run()
    clean(at)
    after = _statement(at)
    assert after == "95% of requests complete within 12.0 s, measured over a rolling 28 days."
    periods_after = _array(_figures(at)[0]["data"][0]["y"])
    periods_before = _array(periods_before)
    assert periods_after.shape == periods_before.shape
    # A lower threshold can only lower every period's attainment, and here it does lower it.
    assert np.all(periods_after <= periods_before + 1e-12)
    assert np.nanmax(periods_after) < np.nanmax(periods_before)
    at.number_input(key="c_threshold_box").set_value(13_300.0).run()
    clean(at)
    # A typed value becomes the threshold and a stop of the slider; the box empties again.
    assert _statement(at).startswith("95% of requests complete within 13.3 s")
    assert at.select_slider(key="c_threshold_slider").value == 13_300.0
    assert at.number_input(key="c_threshold_box").value is None


def test_the_threshold_range_fits_the_chosen_requests() -> None:
    at = run_app()
    at.switch_page("pages/3_design.py").run()
    at.selectbox(key="c_seg_endpoint").set_value("embeddings").run()
    clean(at)
    options = at.select_slider(key="c_threshold_slider").options
    # Embeddings answer in tens of milliseconds: the range is theirs, not the chat's seconds.
    assert "50 ms" in options
    assert "30.0 s" not in options


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


def shortlist_two(at: AppTest) -> None:
    """Shortlist a latency and an availability candidate from the Design page."""
    at.switch_page("pages/3_design.py").run()
    at.text_input(key="c_name").set_value("chat-latency").run()
    at.button[0].click().run()
    at.radio(key="c_kind").set_value("availability").run()
    at.text_input(key="c_name").set_value("availability").run()
    at.button[0].click().run()
    clean(at)


def test_shortlist_compare_and_export() -> None:
    at = run_app()
    shortlist_two(at)
    at.switch_page("pages/4_compare.py").run()
    clean(at)
    names = list(at.session_state["shortlists"]["sample"])
    assert [c.slo.name for c in names] == ["chat-latency", "availability"]
    # The decision table: every decision column, in words.
    table = next(m.value for m in at.markdown if "sv-decisions" in m.value)
    for column in ("attainment", "whole periods met", "budget left", "alerts fired", "verdict"):
        assert f"<th>{column}</th>" in table
    assert "chat-latency" in table and "availability" in table  # noqa: PT018
    assert len(_figures(at)) == 2
    at.switch_page("pages/5_export.py").run()
    clean(at)
    assert [s.value for s in at.success] == [
        "Valid OpenSLO v1 (checked against the OpenSLO SDK's rules)."
    ]
    # The service is named (from the data's name unless typed), never "sloview".
    assert at.text_input(key="export_service").value == "sample-generative-api-42-days-bundled"
    at.text_input(key="export_service").set_value("genai-api").run()
    openslo = at.code[0].value
    assert "name: chat-latency" in openslo
    assert "name: availability" in openslo
    assert "service: genai-api" in openslo
    assert "type: sloview" not in openslo  # queries for Prometheus by default
    assert "http_request_duration_seconds" in openslo
    assert "2 shortlisted (none marked agreed yet) SLOs for the service genai-api" in " ".join(
        c.value for c in at.caption
    )
    labels = [b.label for b in at.get("download_button")]
    assert labels[:3] == ["Download openslo.yaml", "Download report.html", "Download report.md"]
    assert "Download session.json" in labels
    at.radio(key="export_format").set_value("sloview YAML").run()
    clean(at)
    assert at.code[0].value.startswith("slos:\n- name: chat-latency")
    assert "/design?slo=" in at.code[-1].value
    # Prometheus rules: the chat threshold is no bound of the client's default buckets, so
    # the page says which bounds are nearest instead of writing a rule for another SLO.
    at.radio(key="export_format").set_value("Prometheus rules").run()
    (error,) = [e.value for e in at.error]
    assert "no bucket bound of http_request_duration_seconds equals the threshold" in error
    assert "the nearest are le=" in error


def test_a_conflict_of_agreements_stands_until_resolved() -> None:
    at = run_app()
    shortlist_two(at)
    at.radio(key="c_kind").set_value("latency").run()
    at.text_input(key="c_name").set_value("chat-latency-2").run()
    at.button[0].click().run()
    at.switch_page("pages/4_compare.py").run()
    at.checkbox(key="agree_chat-latency").check().run()
    at.checkbox(key="agree_chat-latency-2").check().run()
    clean(at)
    conflict = "chat-latency and chat-latency-2 are all agreed latency SLOs"
    assert any(conflict in e.value for e in at.error)
    at.run()  # a rerun does not make it vanish
    assert any(conflict in e.value for e in at.error)
    at.switch_page("pages/5_export.py").run()
    assert any(conflict in e.value for e in at.error)
    assert not [c for c in at.code if c.language == "yaml"]  # nothing exported in a dispute
    at.switch_page("pages/4_compare.py").run()
    at.checkbox(key="agree_chat-latency-2").uncheck().run()
    assert not any(conflict in e.value for e in at.error)


def test_the_shortlist_belongs_to_its_data(realdata: Path) -> None:
    at = run_app()
    shortlist_two(at)
    path = realdata / "jmeter_error_samples" / "taurus_slow-stdev.jtl"
    at.switch_page("pages/1_data.py").run()
    at.file_uploader[0].set_value((path.name, path.read_bytes(), "text/plain")).run()
    clean(at)
    assert any("the shortlist starts fresh" in i.value for i in at.info)
    at.switch_page("pages/4_compare.py").run()
    assert any("The shortlist is empty" in i.value for i in at.info)
    at.switch_page("pages/1_data.py").run()
    at.button(key="use_sample").click().run()
    at.switch_page("pages/4_compare.py").run()
    table = next(m.value for m in at.markdown if "sv-decisions" in m.value)
    assert "chat-latency" in table


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
    table = tables(at)[-1]
    assert sorted(table["endpoint"]) == ["chat", "completions", "embeddings"]
    assert {"error rate", "attainment (95% CI)", "verdict"} <= set(table.columns)


def test_joint_candidate_design_and_goodput() -> None:
    at = run_app()
    at.switch_page("pages/3_design.py").run()
    at.radio(key="c_kind").set_value("joint").run()
    clean(at)
    statement = _statement(at)
    assert statement.startswith("95% of requests succeed, get their first token within")
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
    by_endpoint = tables(at)[-1]
    # Embeddings have no time to first token: no goodput under a TTFT condition.
    assert by_endpoint.set_index("endpoint").loc["embeddings", "good in every way"] == "0"


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
    table = tables(at)[-1]
    # A provider whose requests mostly fail is never shown as meeting the target.
    assert table.set_index("provider").loc["lepton", "verdict"] != "met"
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


def test_the_pdf_is_printed_in_the_background_and_downloads_in_one_click() -> None:
    require(shutil.which("chromium") is not None, "Chromium is not installed at /usr/bin/chromium")
    at = run_app()
    shortlist_two(at)
    at.switch_page("pages/5_export.py").run()
    clean(at)
    waiting = [b for b in at.button if b.label.startswith("Preparing report.pdf")]
    labels = [b.label for b in at.get("download_button")]
    if waiting:
        assert waiting[0].disabled
        for job in list(background._JOBS.values()):
            job.future.result(timeout=120)
        at.run()
        labels = [b.label for b in at.get("download_button")]
    assert "Download report.pdf" in labels


def test_presentation_mode_folds_the_less_used_settings_and_keeps_them() -> None:
    at = run_app()
    at.switch_page("pages/3_design.py").run()
    at.radio(key="c_failed").set_value("bad").run()
    before = _statement(at)
    assert "(failed requests count as too slow)" in before
    at.sidebar.toggle(key="presentation").set_value(True).run()
    clean(at)
    folded = [e for e in at.expander if e.label.startswith("More settings")]
    assert folded
    # The settings are folded, not lost: the candidate reads the same.
    assert _statement(at) == before
    at.sidebar.toggle(key="presentation").set_value(False).run()
    assert not [e for e in at.expander if e.label.startswith("More settings")]
    assert at.radio(key="c_failed").value == "bad"
