"""The registry in the app: Compare records what the room agreed, the Review page checks it
against the loaded data (AppTest), and the Review page fits the projector (Chromium)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sloview.engine import Engine, Scope
from sloview.ingest import load_requests
from sloview.registry import Registry
from sloview.simulate import simulate
from sloview.ui import registry_view
from tests.apptest import clean, metric, navigation_like_the_server, run_app, tables
from tests.browser import launch, serve_app
from tests.conftest import SAMPLE
from tests.test_app import shortlist_two
from tests.test_projector import check, go, settle
from tests.test_review import SAMPLE_SPECS

pytestmark = pytest.mark.usefixtures(navigation_like_the_server.__name__)

# The two SLOs the review tests agree (one home: tests/test_review.py).
SPECS = SAMPLE_SPECS


@pytest.fixture
def fresh_registry(registry_url: str) -> Iterator[str]:
    """An empty registry of this test's own (the app's cached handle forgotten around it)."""
    registry_view._registry.clear()
    yield registry_url
    registry_view._registry.clear()


def _agreed(url: str, tmp_path: Path) -> Registry:
    from sloview.cli import main

    path = tmp_path / "slos.yaml"
    path.write_text(SPECS)
    assert main(["registry", "add", str(path), "--by", "alice", "--at", "2026-11-01"]) == 0
    return Registry(url)


def test_review_page_without_agreed_slos_says_how_to_agree(fresh_registry: str) -> None:
    at = run_app()
    at.switch_page("pages/6_review.py").run()
    clean(at)
    assert "No SLO is agreed yet" in at.info[0].value


def test_compare_records_the_agreed_candidates_as_versions(fresh_registry: str) -> None:
    at = run_app()
    shortlist_two(at)
    at.switch_page("pages/4_compare.py").run()
    at.checkbox(key="agree_availability").check().run()
    clean(at)
    assert any("**availability**: new: recording makes version 1" in m.value for m in at.markdown)
    record = next(b for b in at.button if b.label.startswith("Record 1 agreed SLO"))
    assert record.disabled  # who agreed must be typed first
    at.text_input(key="agreed_by").set_value("alice and bob").run()
    next(b for b in at.button if b.label.startswith("Record 1 agreed SLO")).click().run()
    clean(at)
    versions = Registry(fresh_registry).versions("availability")
    assert [(v.version, v.agreed_by) for v in versions] == [(1, "alice and bob")]
    v = versions[0]
    # What the room saw is kept with the decision: the figures and the data's span.
    sim = simulate(Scope.bind(Engine(load_requests(SAMPLE)), v.slo))
    assert v.figures["attainment"] == sim.overall.attainment
    assert (v.figures["good"], v.figures["total"]) == (sim.overall.good, sim.overall.total)
    assert v.figures["periods_met"] == sim.periods_met
    assert v.figures["statement"] == sim.statement
    assert v.data_start is not None and v.data_start.startswith("2026-09-07")  # noqa: PT018
    assert len(v.data_fingerprint) == 16
    # Agreed again unchanged: nothing to record; changed: version 2.
    assert any("the same as agreed version 1" in m.value for m in at.markdown)
    assert not [b for b in at.button if b.label.startswith("Record 1 agreed SLO")]


def test_review_page_checks_records_and_agrees_a_new_version(
    fresh_registry: str, tmp_path: Path
) -> None:
    registry = _agreed(fresh_registry, tmp_path)
    at = run_app()
    at.switch_page("pages/6_review.py").run()
    clean(at)
    assert at.multiselect(key="review_names").value == ["availability", "chat-latency"]
    assert [m.value for m in at.metric if m.label == "verdict"] == ["met", "MISSED"]
    assert metric(at, "target") == "99%"
    # The trend chart: one point per review with its CI, and the target line.
    figures = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert len(figures) == 2
    names = {t["name"] for t in figures[0]["data"]}
    assert names == {"target agreed", "attainment (95% CI)"}
    suggestions = [w.value for w in at.warning]
    assert any(s.startswith("Loosen: 83.42% met it") for s in suggestions)
    assert any(s.startswith("Tighten: 99.53% met it") for s in suggestions)
    # Recording needs a name; then the review is in the registry and not offered again.
    assert at.button(key="record_availability_1").disabled
    at.text_input(key="reviewer").set_value("carol").run()
    at.button(key="record_availability_1").click().run()
    clean(at)
    [rec] = registry.reviews("availability")
    assert (rec.reviewed_by, rec.met, rec.action) == ("carol", True, "tighten")
    assert any("This review of these data is recorded" in c.value for c in at.caption)
    # The recorded review is this review: one point on the trend, not two.
    [point] = json.loads(at.get("plotly_chart")[0].proto.spec)["data"][1]["x"]
    assert point.endswith("v1 (this review)")
    # A new version, prefilled from the suggestion, shows the change before it is agreed.
    assert at.number_input(key="new_threshold_chat-latency_1").value == 16000.0
    diffs = [t for t in tables(at) if t.columns[0] == "field"]
    assert [d.to_numpy().tolist() for d in diffs] == [
        [["objective.target", "0.99", "0.995"]],  # availability: tighten the target
        [["objective.threshold", "8000", "16000"]],  # chat-latency: loosen the threshold
    ]
    assert list(diffs[0].columns) == ["field", "version 1", "version 2"]
    at.button(key="agree_new_chat-latency_1").click().run()
    clean(at)
    latest = registry.latest("chat-latency")
    assert (latest.version, latest.slo.threshold_ms, latest.agreed_by) == (2, 16000.0, "carol")
    assert latest.rationale.startswith("83.42% met it this period")
    assert at.multiselect(key="review_names").value == ["availability", "chat-latency"]
    assert any(m.value == "chat-latency (version 2)" for m in at.subheader)


def test_review_page_report_downloads(fresh_registry: str, tmp_path: Path) -> None:
    _agreed(fresh_registry, tmp_path)
    at = run_app()
    at.switch_page("pages/6_review.py").run()
    at.button(key="prepare_review_report").click().run()
    clean(at)
    labels = [b.label for b in at.get("download_button")]
    assert labels[:2] == ["Download review.html", "Download review.md"]


def test_a_registry_that_cannot_be_opened_is_one_error(monkeypatch: pytest.MonkeyPatch) -> None:
    registry_view._registry.clear()
    monkeypatch.setenv("SLOVIEW_REGISTRY", "postgresql://u:hunter2@127.0.0.1:1/registry")
    at = run_app()
    at.switch_page("pages/6_review.py").run()
    clean(at)
    [error] = [e.value for e in at.error]
    assert "cannot be reached" in error and "hunter2" not in error  # noqa: PT018
    registry_view._registry.clear()


# -- the Review page in a real browser ---------------------------------------------------------


@pytest.fixture(scope="module")
def review_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app on a registry with two agreed SLOs and one earlier review."""
    root = tmp_path_factory.mktemp("review-app")
    url = f"sqlite:///{root / 'registry.db'}"
    specs = root / "slos.yaml"
    specs.write_text(SPECS)
    from sloview.cli import main

    main(["registry", "add", str(specs), "--by", "alice", "--registry", url])
    main(["review", str(SAMPLE), "--by", "bob", "--registry", url])
    with serve_app(env={"SLOVIEW_REGISTRY": url}) as app_url:
        yield app_url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launch() as b:
        yield b


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_review_page_fits_the_projector(
    review_app: str, browser: Any, size: tuple[int, int]
) -> None:
    page = browser.new_page(viewport={"width": size[0], "height": size[1] * 4})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    go(page, review_app, "review")
    page.get_by_text("chat-latency (version 1)").first.wait_for(timeout=120_000)
    problems = check(page, "review", size)
    # The trend is drawn: two reviews' markers per chart.
    assert page.locator(".js-plotly-plot").count() == 2
    page.get_by_text("Agree version 2 ...").nth(1).click()
    settle(page)
    problems += check(page, "review-new-version", size)
    assert page.get_by_text("objective.threshold").count() == 1
    page.close()
    assert not errors, errors
    assert not problems, "\n".join(problems)
