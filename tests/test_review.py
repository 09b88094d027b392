"""`sloview review`: agreed SLOs checked against new data, exactly as `simulate` computes them,
the trend across reviews of real data, the suggestion, exit codes, the review report."""

from __future__ import annotations

import json
import os
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from sloview.cli import main
from sloview.engine import Engine, Scope
from sloview.ingest import load_requests
from sloview.model import SLO
from sloview.registry import Registry
from sloview.review import review, spec_diff, supported_target
from sloview.simulate import simulate

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("SLOVIEW_UPDATE_GOLDEN") == "1"

SAMPLE_SPECS = """\
slos:
  - name: chat-latency
    service: genai
    sli: {kind: latency, metric: latency_ms}
    objective: {threshold: 8000, op: lte, target: 0.95}
    window: {rolling: 7d}
  - name: availability
    service: genai
    sli: {kind: availability}
    objective: {target: 0.99}
    window: {rolling: 7d}
"""
# The Alibaba GenAI serving trace: image generation takes tens of seconds.
ALIBABA_SPECS = """\
slos:
  - name: generation-latency
    sli: {kind: latency, metric: latency_ms}
    objective: {threshold: 60000, op: lte, target: 0.9}
    window: {rolling: 7d}
  - name: generation-success
    sli: {kind: availability}
    objective: {target: 0.99}
    window: {rolling: 7d}
"""
REVIEW_KEYS = {
    "name",
    "version",
    "period",
    "good",
    "total",
    "attainment",
    "ci_low",
    "ci_high",
    "target",
    "met",
    "budget_remaining",
    "previous",
    "suggestion",
}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.fixture
def sample_registry(registry_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """The two sample SLOs agreed on 2026-11-01 by alice; returns their spec file."""
    specs = write(tmp_path, "slos.yaml", SAMPLE_SPECS)
    code, _, err = run(
        capsys,
        "registry",
        "add",
        str(specs),
        "--by",
        "alice",
        "--at",
        "2026-11-01",
        "--note",
        "workshop <b>one</b>",
    )
    assert code == 0, err
    return specs


def reviews_of(out: str) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in json.loads(out)["reviews"]}


def test_review_figures_are_simulate_s(
    sample_registry: Path, sample_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "review", str(sample_path), "--dry-run", "--json")
    assert code == 3  # chat-latency is missed on the sample
    reviews = reviews_of(out)
    code, out, _ = run(
        capsys, "simulate", str(sample_path), "--slo", str(sample_registry), "--json"
    )
    simulated = {s["name"]: s for s in json.loads(out)["slos"]}
    for name, r in reviews.items():
        assert set(r) >= REVIEW_KEYS
        o = simulated[name]["overall"]
        for key in ("good", "total", "attainment", "ci_low", "ci_high"):
            assert r[key] == o[key], (name, key)
        assert r["met"] == (o["attainment"] >= r["target"])
        assert r["budget_remaining"] == pytest.approx(
            1 - (1 - o["attainment"]) / (1 - r["target"]), rel=1e-12
        )
        assert r["period"]["start"] == simulated[name]["coverage"]["start"]
        assert r["period"]["end"] == simulated[name]["coverage"]["end"]
        assert r["version"] == 1
        assert r["previous"] == []
    assert reviews["chat-latency"]["met"] is False
    assert reviews["availability"]["met"] is True


def test_suggestions_hold_on_the_data_they_come_from(sample_path: Path, registry_url: str) -> None:
    # A suggestion is a claim about the data: re-simulating the suggested SLO on the same data
    # must meet it, with the 95% CI, and a keep must leave the SLO as agreed.
    registry = Registry(registry_url)
    engine = Engine(load_requests(sample_path))
    cases = {
        "missed latency": ("latency", 8000, 0.95, "loosen"),
        "met latency with room": ("latency", 60000, 0.95, "tighten"),
        "met latency, just": ("latency", 16000, 0.95, "keep"),
        "met availability with room": ("availability", None, 0.99, "tighten"),
        "missed availability": ("availability", None, 0.999, "loosen"),
    }
    for label, (kind, threshold, target, action) in cases.items():
        objective: dict[str, Any] = {"target": target}
        sli: dict[str, Any] = {"kind": kind}
        if threshold is not None:
            objective |= {"threshold": threshold, "op": "lte"}
            sli["metric"] = "latency_ms"
        slo = SLO.from_dict(
            {
                "name": f"case-{len(label)}",
                "sli": sli,
                "objective": objective,
                "window": {"rolling": "7d"},
            }
        )
        agreed = registry.agree(slo, by="t", at="2026-11-01T00:00:00Z")
        r = review(engine, agreed)
        assert r.suggestion.action == action, (label, r.suggestion)
        suggested = r.suggested_slo()
        if action == "keep":
            assert suggested == slo
            continue
        after = simulate(Scope.bind(engine, suggested)).overall
        assert after.ci_low >= suggested.objective.target - 1e-12 or action == "tighten", label
        assert after.attainment >= suggested.objective.target, (label, after, suggested)
        assert r.suggestion.why.endswith("."), label
        if action == "loosen":
            assert (suggested.threshold_ms or 0) >= (slo.threshold_ms or 0)
            assert suggested.objective.target <= slo.objective.target
        else:
            assert (suggested.threshold_ms or 0) <= (slo.threshold_ms or 0)
            assert suggested.objective.target >= slo.objective.target


def test_supported_targets_are_ones_people_write() -> None:
    assert supported_target(0.99537) == 0.995
    assert supported_target(0.9949) == 0.99
    assert supported_target(0.8332) == 0.83
    assert supported_target(0.0) == 0.0


def test_exit_codes(
    sample_registry: Path, sample_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "review", str(sample_path), "--slo", "availability", "--dry-run")
    assert code == 0
    assert "MET" in out and "dry run: nothing recorded" in out  # noqa: PT018
    code, out, _ = run(capsys, "review", str(sample_path), "--dry-run")
    assert code == 3
    assert "chat-latency v1: 95% of requests complete within 8 s" in out
    assert "target 95%: MISSED" in out
    assert "suggestion       loosen: " in out
    code, _, err = run(capsys, "review", str(sample_path), "--slo", "checkout")
    assert code == 2
    assert err.count("\n") == 1


def test_dry_run_records_nothing_and_a_review_is_recorded(
    sample_registry: Path, sample_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "review", str(sample_path), "--dry-run")
    assert Registry().reviews("availability") == []
    code, out, _ = run(capsys, "review", str(sample_path), "--by", "bob", "--note", "monthly")
    assert code == 3
    assert "recorded 2 reviews in sqlite:///" in out
    recorded = Registry().reviews("availability")
    assert len(recorded) == 1
    rec = recorded[0]
    assert (rec.reviewed_by, rec.note, rec.version, rec.met, rec.action) == (
        "bob",
        "monthly",
        1,
        True,
        "tighten",
    )
    assert rec.source == "genai_requests.parquet"
    assert re.fullmatch(r"[0-9a-f]{16}", rec.data_fingerprint)
    code, out, _ = run(capsys, "registry", "show", "availability")
    assert "reviews: 1" in out
    assert "v1 on 2026-09-07 to 2026-10-18: 99.53% of 99%, met, suggested tighten" in out


def _split_by_week(csv_path: Path, out_dir: Path) -> list[Path]:
    """The trace cut into three consecutive parts, as three monthly exports would be."""
    frame = pd.read_csv(csv_path)
    when = pd.to_datetime(frame["gmt_create"])
    edges = [pd.Timestamp("2024-11-22"), pd.Timestamp("2024-11-29")]
    parts = [when < edges[0], (when >= edges[0]) & (when < edges[1]), when >= edges[1]]
    paths = []
    for i, mask in enumerate(parts, start=1):
        path = out_dir / f"part{i}.csv"
        frame[mask].to_csv(path, index=False)
        paths.append(path)
    return paths


def test_trend_across_three_reviews_of_real_data(
    realdata: Path, registry_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = realdata / "alibaba_gentd26_genai_serving/lora_request_trace.csv"
    parts = _split_by_week(csv, tmp_path)
    specs = write(tmp_path, "alibaba.yaml", ALIBABA_SPECS)
    assert run(capsys, "registry", "add", str(specs), "--by", "sre")[0] == 0
    seen: list[dict[str, dict[str, Any]]] = []
    for part in parts:
        code, out, err = run(capsys, "review", str(part), "--json", "--by", "sre")
        assert code in (0, 3), err
        seen.append(reviews_of(out))
        assert (code == 0) == all(x["met"] for x in seen[-1].values())
        # Each review is `simulate` on that part alone.
        _, sim_out, _ = run(capsys, "simulate", str(part), "--slo", str(specs), "--json")
        simulated = {s["name"]: s["overall"] for s in json.loads(sim_out)["slos"]}
        for name, r in seen[-1].items():
            assert r["attainment"] == simulated[name]["attainment"]
            assert r["total"] == simulated[name]["total"]
    third = seen[-1]
    for name, r in third.items():
        previous = r["previous"]
        assert len(previous) == 2, name
        assert [p["attainment"] for p in previous] == [
            seen[0][name]["attainment"],
            seen[1][name]["attainment"],
        ]
        assert [p["met"] for p in previous] == [seen[0][name]["met"], seen[1][name]["met"]]
        assert [p["period"] for p in previous] == [seen[0][name]["period"], seen[1][name]["period"]]
        # The parts follow each other: the periods reviewed do not overlap.
        ends = [p["period"]["end"] for p in previous] + [r["period"]["end"]]
        starts = [p["period"]["start"] for p in previous] + [r["period"]["start"]]
        assert starts[1] > ends[0] and starts[2] > ends[1]  # noqa: PT018
    # The attainments really differ from part to part (a trend, not one figure thrice).
    assert len({round(s["generation-latency"]["attainment"], 6) for s in seen}) == 3
    # The text output shows the trend oldest first.
    code, out, _ = run(capsys, "review", str(parts[2]), "--dry-run")
    trend = next(
        line for line in out.splitlines() if "generation-success" in out and "trend" in line
    )
    assert trend.count(": ") >= 3
    assert "now: " in trend


def test_review_report_golden_markdown_and_html(
    sample_registry: Path,
    sample_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1764547200")  # 2025-12-01 00:00 UTC
    # A first review of the data up to October, then this one of all of it, with the report.
    assert run(capsys, "review", str(sample_path), "--by", "bob", "--end", "2026-10-01")[0] == 3
    md = tmp_path / "review.md"
    html = tmp_path / "review.html"
    code, out, _ = run(capsys, "review", str(sample_path), "--report", str(md), "--dry-run")
    assert code == 3
    assert f"wrote {md}" in out
    text = md.read_text()
    golden = GOLDEN / "review_sample.md"
    if UPDATE:
        golden.write_text(text)
    assert text == golden.read_text()
    assert "## Review" in text and "| chat-latency | v1 |" in text  # noqa: PT018
    assert "workshop &lt;b&gt;one&lt;/b&gt;" in text  # the note, escaped
    code, _, _ = run(capsys, "review", str(sample_path), "--report", str(html), "--dry-run")
    page = html.read_text()
    assert 'id="review-1-trend"' in page and 'id="review-2-trend"' in page  # noqa: PT018
    assert "workshop &lt;b&gt;one&lt;/b&gt;" in page
    assert "<b>one</b>" not in page
    assert "A preview: these reviews are not recorded" in page


def test_bad_input_is_one_clear_line(
    sample_registry: Path,
    sample_path: Path,
    realdata: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    alibaba = realdata / "alibaba_gentd26_genai_serving/lora_request_trace.csv"
    scoped = write(
        tmp_path,
        "scoped.yaml",
        """\
slos:
  - name: chat-only
    sli: {kind: latency, metric: latency_ms}
    objective: {threshold: 8000, op: lte, target: 0.95}
    window: {rolling: 7d}
    segment: {endpoint: chat}
  - name: first-token
    sli: {kind: latency, metric: ttft_ms}
    objective: {threshold: 2000, op: lte, target: 0.95}
    window: {rolling: 7d}
""",
    )
    assert run(capsys, "registry", "add", str(scoped), "--by", "alice")[0] == 0
    edited = write(tmp_path, "edited.yaml", SAMPLE_SPECS.replace("0.99}", "0.995}"))
    cases = {
        ("--slo", "checkout"): "no SLO named 'checkout' in the registry",
        ("--slo", "chat-only", "--source-is", str(alibaba)): (
            "SLO chat-only: is scoped to endpoint=chat, but the data have no column 'endpoint'"
        ),
        ("--slo", "first-token", "--source-is", str(alibaba)): (
            "SLO first-token: measures the time to first token, which these data do not have"
        ),
        ("--slo", str(edited)): "availability differs from its agreed version 1",
        ("--registry", "postgresql://sloview:hunter2@127.0.0.1:1/registry"): "cannot be reached",
        ("--report", str(tmp_path / "r.docx")): "cannot write a report as .docx",
    }
    for flags, expected in cases.items():
        argv = list(flags)
        source = str(sample_path)
        if "--source-is" in argv:
            source = argv[argv.index("--source-is") + 1]
            argv = argv[: argv.index("--source-is")]
        code, out, err = run(capsys, "review", source, *argv)
        assert code == 2, (flags, out, err)
        assert err.count("\n") == 1, err
        assert expected in err, (flags, err)
        assert "Traceback" not in err and "hunter2" not in err  # noqa: PT018
    # Nothing was recorded by the refused runs.
    assert Registry().reviews("availability") == []


def test_no_registered_slo_says_how_to_agree_one(
    registry_url: str, sample_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "review", str(sample_path))
    assert code == 2
    assert "no SLO is registered yet" in err
    assert "sloview registry add FILE --by NAME" in err


def test_spec_diff_lists_the_changed_fields() -> None:
    old = SLO.from_dict(
        {
            "name": "x",
            "sli": {"kind": "latency", "metric": "latency_ms"},
            "objective": {"threshold": 8000, "op": "lte", "target": 0.95},
            "window": {"rolling": "7d"},
        }
    )
    new = old.with_changes(objective=replace(old.objective, threshold=16000.0))
    assert spec_diff(old, new) == [("objective.threshold", "8000", "16000")]
    assert (
        spec_diff(old, old.with_changes(objective=replace(old.objective, threshold=8000.0))) == []
    )
    assert spec_diff(old, old) == []


def test_review_of_a_database_equals_the_file_and_keeps_no_password(
    pg: Any,
    csv_path: Path,
    registry_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from tests import servers

    specs = write(tmp_path, "alibaba.yaml", ALIBABA_SPECS)
    assert run(capsys, "registry", "add", str(specs), "--by", "sre")[0] == 0
    code, out, _ = run(capsys, "review", str(csv_path), "--json", "--dry-run")
    from_file = reviews_of(out)
    url = pg.url()
    code, out, err = run(
        capsys, "review", url, "--table", servers.ALIBABA_TABLE, "--json", "--by", "cron"
    )
    assert code in (0, 3), err
    from_db = reviews_of(out)
    for name, r in from_file.items():
        for key in ("good", "total", "attainment", "ci_low", "ci_high", "met"):
            assert from_db[name][key] == r[key], (name, key)
    [rec] = Registry().reviews("generation-success")
    assert rec.data_fingerprint.startswith("src-")
    password = servers.PG_READER_PASSWORD
    assert password not in rec.source and password not in out  # noqa: PT018
    assert rec.source.startswith("postgresql")
