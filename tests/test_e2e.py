"""End to end in a real browser: the app served by `streamlit run`, driven by headless Chromium."""

from __future__ import annotations

import gzip
import re
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from sloview.export import validate_openslo
from tests.browser import launch, serve_app

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def app_url() -> Iterator[str]:
    """The app on a free loopback port, with a small memory budget so that the hostile-upload
    test reaches it quickly."""
    with serve_app({"SLOVIEW_MEMORY_BUDGET_MB": "1024"}) as url:
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


def _gzip_bomb(path: Path, expanded: int = 1 << 30) -> None:
    """A gzip file of about a megabyte that expands to `expanded` bytes of CSV."""
    line = b"2024-01-01T00:00:00Z,120,200\n"
    block = line * (1 << 15)
    with gzip.open(path, "wb", compresslevel=9) as out:
        out.write(b"timestamp,latency_ms,status\n")
        for _ in range(expanded // len(block)):
            out.write(block)


def _problems(page: object) -> list[str]:
    """Tracebacks and error boxes on a page."""
    found = [
        str(t)
        for t in page.locator('[data-testid="stException"]').all_inner_texts()  # type: ignore[attr-defined]
    ]
    found += [
        str(t)
        for t in page.locator('[data-testid="stAlertContentError"]').all_inner_texts()  # type: ignore[attr-defined]
    ]
    return found


def test_a_hostile_upload_does_not_disturb_another_session(
    app_url: str, chromium: object, realdata: Path, tmp_path: Path
) -> None:
    # Session A, on the sample, keeps moving the threshold; session B uploads a gzip bomb,
    # then the file with a default-zero time, then asks to keep that stray row.
    bomb = tmp_path / "requests.csv.gz"
    _gzip_bomb(bomb)
    rows = (realdata / "ehrbase_jmeter_nightly" / "result_2022-05-16_828624a9.jtl").read_text()
    lines = rows.splitlines()[:2002]  # the header and 2,001 requests
    hostile = tmp_path / "hostile.jtl"
    row = lines[-1].split(",")
    row[0] = "0"  # epoch 0: 1970-01-01T00:00:00Z
    hostile.write_text("\n".join([*lines[:-1], ",".join(row)]) + "\n")

    a = chromium.new_page(viewport={"width": 1280, "height": 1400})  # type: ignore[attr-defined]
    b = chromium.new_page(viewport={"width": 1280, "height": 1400})  # type: ignore[attr-defined]
    page_errors: list[str] = []
    for page in (a, b):
        page.on("pageerror", lambda exc: page_errors.append(str(exc)))
    a.goto(app_url)
    a.get_by_role("link", name="Design").click()
    statements = [_statement(a)]
    thumb = a.get_by_role("slider", name="threshold")

    def move() -> None:
        thumb.focus()
        # Back and forth: the thumb never sticks at an end of the slider.
        thumb.press("ArrowLeft" if len(statements) % 2 else "ArrowRight")
        a.wait_for_function(
            "before => [...document.querySelectorAll('h3')].some("
            "h => h.innerText.includes('measured over') && h.innerText !== before)",
            arg=statements[-1],
            timeout=60_000,
        )
        statements.append(_settled_statement(a, quiet_s=0.5))
        assert not _problems(a), _problems(a)

    b.goto(app_url)
    b.get_by_text("valid requests").wait_for(timeout=90_000)
    upload = b.locator('[data-testid="stFileUploaderDropzoneInput"]')
    upload.set_input_files(str(bomb))
    move()
    b.get_by_text("memory budget").first.wait_for(timeout=90_000)
    move()
    upload.set_input_files(str(hostile))
    move()
    b.locator('[data-testid="stMetricValue"]', has_text=re.compile(r"^2,000$")).wait_for(
        timeout=60_000
    )
    assert b.get_by_text("stray timestamp").first.is_visible()
    move()
    b.get_by_text("Keep rows far from the rest in time").click()
    move()
    b.get_by_text("52.4 years").first.wait_for(timeout=60_000)
    move()
    b.locator('[data-testid="stMetricValue"]', has_text=re.compile(r"^2,001$")).wait_for(
        timeout=60_000
    )
    for _ in range(3):
        move()
    assert len(set(statements)) > 1
    assert not _problems(a)
    with urllib.request.urlopen(f"{app_url}/_stcore/health", timeout=5) as r:
        assert r.read() == b"ok"
    assert not page_errors, page_errors
