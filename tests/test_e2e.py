"""End to end in a real browser: the app served by `streamlit run`, driven by headless Chromium."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sloview.export import validate_openslo
from tests.browser import launch, serve_app

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def app_url() -> Iterator[str]:
    """The app on a free loopback port."""
    with serve_app() as url:
        yield url


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    """Debian's Chromium through Playwright."""
    with launch() as browser:
        yield browser


def _statement(page: object) -> str:
    heading = page.locator("h3", has_text="measured over")  # type: ignore[attr-defined]
    heading.first.wait_for(timeout=90_000)
    return str(heading.first.inner_text())


def _settled_statement(page: object, quiet_s: float = 1.5, timeout_s: float = 60.0) -> str:
    """The statement once the app has stopped rerunning: every key press starts a rerun, and
    reading the heading between two of them would compare against a candidate that is about
    to change again."""
    deadline = time.monotonic() + timeout_s
    last = _statement(page)
    while time.monotonic() < deadline:
        time.sleep(quiet_s)
        running = page.locator('[data-testid="stStatusWidget"]').count()  # type: ignore[attr-defined]
        now = _statement(page)
        if now == last and not running:
            return now
        last = now
    return last


def test_open_upload_change_threshold_and_download(
    app_url: str, chromium: object, realdata: Path, tmp_path: Path
) -> None:
    page = chromium.new_page(viewport={"width": 1280, "height": 1600})  # type: ignore[attr-defined]
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(app_url)
    page.get_by_text("valid requests").wait_for(timeout=90_000)
    assert page.get_by_text("505,416").first.is_visible()

    jtl = realdata / "jmeter_error_samples" / "taurus_slow-stdev.jtl"
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(jtl))
    page.get_by_text("JMeter JTL").first.wait_for(timeout=60_000)
    page.locator('[data-testid="stMetricValue"]', has_text=re.compile(r"^599$")).wait_for()

    page.get_by_role("link", name="Design").click()
    before = _statement(page)
    thumb = page.get_by_role("slider", name="threshold")
    thumb.focus()
    for _ in range(3):
        thumb.press("ArrowLeft")
    page.wait_for_function(
        "before => [...document.querySelectorAll('h3')].some("
        "h => h.innerText.includes('measured over') && h.innerText !== before)",
        arg=before,
        timeout=60_000,
    )
    after = _settled_statement(page)
    assert after != before
    assert "complete within" in after
    page.get_by_role("button", name="Add to shortlist").click()
    page.get_by_text("added to the shortlist").wait_for(timeout=30_000)

    page.get_by_role("link", name="Export").click()
    button = page.get_by_role("button", name="Download openslo.yaml")
    button.wait_for(timeout=60_000)
    with page.expect_download() as download:
        button.click()
    saved = tmp_path / "openslo.yaml"
    download.value.save_as(saved)
    text = saved.read_text()
    assert "apiVersion: openslo/v1" in text
    assert validate_openslo(text) == []
    assert after.removesuffix(".") in text  # the statement travels as the SLO's description
    page.screenshot(path=str(tmp_path / "export.png"))
    assert not errors, errors
