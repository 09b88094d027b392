"""The HTML report in a real browser (headless Chromium) and printed to PDF.

A report full of hostile text (service, description, note, source name, segment value, column
name, alert severity, title) is opened from a file: no dialog may open, no console error, no
network request beyond the file itself, and every chart must be drawn. The PDF must have
several pages and hold every statement as text (read back with `pdftotext`, Debian's
poppler-utils). Skipped locally without Chromium or pdftotext; failures under CI=true.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sloview.ingest import load_requests
from sloview.report import ReportInputs, figure_ids, render_html, render_pdf
from sloview.report.pdf import DEFAULT_CHROMIUM, LAUNCH_ARGS
from tests.conftest import SAMPLE, require
from tests.test_report_render import HOSTILE, IMG, SCRIPT, hostile_inputs

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def inputs() -> ReportInputs:
    return hostile_inputs(load_requests(SAMPLE))


@pytest.fixture(scope="module")
def html(inputs: ReportInputs) -> str:
    return render_html(inputs)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Debian's Chromium through Playwright (never a downloaded browser), shared by the module."""
    require(Path(DEFAULT_CHROMIUM).is_file(), f"Chromium is not installed at {DEFAULT_CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=DEFAULT_CHROMIUM, args=list(LAUNCH_ARGS))
        yield b
        b.close()


@pytest.fixture(scope="module")
def opened(
    chromium: Any, html: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """The report opened from a file, with every dialog, console message and request recorded."""
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(html, encoding="utf-8")
    url = path.as_uri()
    seen: dict[str, Any] = {"url": url, "dialogs": [], "errors": [], "requests": []}
    page = chromium.new_page()

    def on_dialog(dialog: Any) -> None:
        seen["dialogs"].append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on(
        "console",
        lambda msg: seen["errors"].append(msg.text) if msg.type in ("error", "warning") else None,
    )
    page.on("pageerror", lambda exc: seen["errors"].append(str(exc)))
    page.on("request", lambda request: seen["requests"].append(request.url))
    page.goto(url, wait_until="load", timeout=120_000)
    page.wait_for_selector("body[data-plots-ready]", state="attached", timeout=60_000)
    seen["page"] = page
    yield seen
    page.close()


def test_hostile_text_opens_no_dialog_and_logs_no_error(opened: dict[str, Any]) -> None:
    assert opened["dialogs"] == []
    assert opened["errors"] == []


def test_the_report_makes_no_request_but_its_own_file(opened: dict[str, Any]) -> None:
    assert opened["requests"] == [opened["url"]]


def test_every_chart_is_drawn(opened: dict[str, Any], inputs: ReportInputs) -> None:
    page = opened["page"]
    ids = figure_ids(inputs)
    assert len(ids) == 4
    assert page.locator(".js-plotly-plot").count() == len(ids)
    assert page.get_attribute("body", "data-plots-ready") == str(len(ids))
    for div_id in ids:
        # A drawn plotly chart has its main SVG with a plot area inside.
        assert page.locator(f"#{div_id} svg.main-svg .cartesianlayer").count() == 1


def test_hostile_text_shows_as_text(opened: dict[str, Any], inputs: ReportInputs) -> None:
    page = opened["page"]
    body = page.inner_text("body")
    for attack in HOSTILE:
        assert attack in body
    assert page.title() == f"Report {SCRIPT}"
    assert page.locator("img").count() == 0
    # Only the report's own scripts exist: none came from the text.
    own = 3 + len(figure_ids(inputs)) + 1
    assert page.locator("script").count() == own


def test_print_view_hides_navigation_and_chart_buttons(opened: dict[str, Any]) -> None:
    page = opened["page"]
    page.emulate_media(media="print")
    try:
        assert page.locator("nav.contents").is_hidden()
        # No forced page breaks (they left pages half empty); figures are kept whole.
        breaks = page.eval_on_selector(".slo-section", "el => getComputedStyle(el).breakBefore")
        assert breaks == "auto"
        inside = page.eval_on_selector(".figure", "el => getComputedStyle(el).breakInside")
        assert inside == "avoid"
        for bar in page.locator(".modebar-container").all():
            assert bar.is_hidden()
    finally:
        page.emulate_media(media="screen")


def test_pdf_has_pages_and_the_statements_as_text(
    inputs: ReportInputs, html: str, tmp_path: Path
) -> None:
    require(Path(DEFAULT_CHROMIUM).is_file(), f"Chromium is not installed at {DEFAULT_CHROMIUM}")
    pdftotext = shutil.which("pdftotext")
    require(pdftotext is not None, "pdftotext is missing (Debian package poppler-utils)")
    assert pdftotext is not None
    pdf = render_pdf(html, title=inputs.title)
    assert pdf.startswith(b"%PDF-")
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    result = subprocess.run(
        [pdftotext, "-enc", "UTF-8", str(path), "-"],
        capture_output=True,
        check=True,
        timeout=60,
    )
    text = result.stdout.decode("utf-8")
    pages = [p for p in text.split("\f") if p.strip()]
    assert len(pages) > 1
    # About two pages per agreed SLO (after the summary), then the appendix.
    appendix = next(i for i, p in enumerate(pages) if "Appendix: the statistics" in p)
    assert appendix < 1 + 2 * len(inputs.agreed)
    # No page left half empty (only the last may end early).
    lines = [sum(1 for line in p.splitlines() if line.strip()) for p in pages]
    assert min(lines[:-1]) >= 40, lines
    flat = " ".join(text.split())
    for f in (*inputs.agreed, *inputs.alternatives):
        assert " ".join(f.simulation.statement.split()) in flat
    # Printed as text too, not as markup.
    assert SCRIPT in flat
    assert " ".join(IMG.split()) in flat
    assert f"page 1 of {len(pages)}" in flat
