"""Readable in the room: every page at 1280x720 and 1920x1080, in a real browser.

On every page (and every view of the Design page, with a shortlist on Compare and Export):
no metric value, label, heading, button or table cell is cut off (its content wider than its
box), no table scrolls sideways, the page itself does not scroll sideways, and no chart's
legend overlaps its title or an axis title. A screenshot of each page at each size is kept
in `artifacts/screenshots/` (CI keeps that folder) to be looked at.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import launch, serve_app
from tests.conftest import ROOT

pytestmark = pytest.mark.e2e

SIZES = ((1280, 720), (1920, 1080))
SHOTS = ROOT / "artifacts" / "screenshots"

# Everything that must show its whole text: a box narrower than its content is clipped text
# (an ellipsis, or content hidden by overflow).
CLIPPED = r"""() => {
  const problems = [];
  const seen = new Set();
  const visible = e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  const describe = e => (e.innerText || e.getAttribute('aria-label') || '').trim().slice(0, 60);
  const selectors = [
    '[data-testid="stMetricValue"] > div', '[data-testid="stMetricLabel"] p',
    '[data-testid="stWidgetLabel"] p', '[data-testid="stMarkdownContainer"] h1',
    '[data-testid="stMarkdownContainer"] h2', '[data-testid="stMarkdownContainer"] h3',
    '[data-testid="stHeading"] h1', '[data-testid="stHeading"] h2', '[data-testid="stHeading"] h3',
    'button p', '[data-baseweb="select"] [value]', '[data-baseweb="select"] div[title]',
    '.sv-decisions td', '.sv-decisions th', '[data-testid="stTable"] td',
    '[data-testid="stTable"] th', '[data-testid="stCaptionContainer"]',
  ];
  for (const sel of selectors) {
    for (const e of document.querySelectorAll(sel)) {
      if (seen.has(e) || !visible(e)) continue;
      seen.add(e);
      if (e.scrollWidth > e.clientWidth + 1)
        problems.push(`clipped ${sel}: "${describe(e)}" (${e.scrollWidth} > ${e.clientWidth})`);
    }
  }
  // Data grids draw on a canvas: a grid wider than its box scrolls sideways.
  for (const e of document.querySelectorAll('[data-testid="stDataFrame"] .dvn-scroller')) {
    if (visible(e) && e.scrollWidth > e.clientWidth + 1)
      problems.push(`table scrolls sideways (${e.scrollWidth} > ${e.clientWidth})`);
  }
  const main = document.querySelector('[data-testid="stMain"]') || document.documentElement;
  for (const e of [document.documentElement, main]) {
    if (e.scrollWidth > e.clientWidth + 1)
      problems.push(`page scrolls sideways (${e.scrollWidth} > ${e.clientWidth})`);
  }
  // Charts: the legend must not sit on the title or an axis title.
  const overlap = (a, b) => !(a.right <= b.left || b.right <= a.left || a.bottom <= b.top ||
                              b.bottom <= a.top);
  for (const plot of document.querySelectorAll('.js-plotly-plot')) {
    const frame = plot.getBoundingClientRect();
    for (const title of plot.querySelectorAll('.gtitle')) {
      const r = title.getBoundingClientRect();
      if (visible(title) && (r.right > frame.right + 1 || r.left < frame.left - 1))
        problems.push(`chart title cut off: "${describe(title)}"`);
    }
    const legend = plot.querySelector('.legend');
    if (!legend || !visible(legend)) continue;
    const box = legend.getBoundingClientRect();
    for (const other of plot.querySelectorAll('.gtitle, .xtitle, .ytitle, .y2title')) {
      if (visible(other) && overlap(box, other.getBoundingClientRect()))
        problems.push(`chart legend overlaps "${describe(other)}"`);
    }
  }
  return problems;
}"""


METRIC_SIZE = """() => parseFloat(getComputedStyle(
    document.querySelector('[data-testid="stMetricValue"]')).fontSize)"""


@pytest.fixture(scope="module")
def app_url() -> Iterator[str]:
    """The app on a free loopback port."""
    with serve_app() as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium through Playwright."""
    with launch() as b:
        yield b


def settle(page: Any, quiet_s: float = 1.0) -> None:
    """Wait until the app has stopped running and its page has stopped changing."""
    deadline = time.monotonic() + 180
    last = -1
    while time.monotonic() < deadline:
        time.sleep(quiet_s)
        busy = page.locator('[data-stale="true"], [data-testid="stSkeleton"]').count()
        size = page.evaluate("() => document.body.innerHTML.length")
        if not busy and size == last:
            return
        last = size


def check(page: Any, name: str, size: tuple[int, int]) -> list[str]:
    """The page's problems at this size, and its screenshot."""
    settle(page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}-{size[0]}x{size[1]}.png"), full_page=True)
    assert not page.locator('[data-testid="stException"]').count(), f"{name}: a traceback"
    return [f"{name} at {size[0]}x{size[1]}: {p}" for p in page.evaluate(CLIPPED)]


def go(page: Any, url: str, path: str) -> None:
    page.goto(f"{url}/{path}" if path != "data" else url)
    page.locator('[data-testid="stMain"]').first.wait_for(timeout=120_000)
    settle(page)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_every_page_fits_the_projector(app_url: str, browser: Any, size: tuple[int, int]) -> None:
    # A tall window: Streamlit scrolls inside its own container, and the screenshot should
    # show the whole page; widths are what the projector has.
    page = browser.new_page(viewport={"width": size[0], "height": size[1] * 4})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    problems: list[str] = []
    for name in ("data", "explore"):
        go(page, app_url, name)
        problems += check(page, name, size)
    go(page, app_url, "design")
    page.locator("h3", has_text="measured over").first.wait_for(timeout=120_000)
    for view in ("Compliance", "Alerts", "Target design", "Segments"):
        page.get_by_role("radio", name=view, exact=True).click()
        problems += check(page, f"design-{view.lower().replace(' ', '-')}", size)
    # Two candidates on the shortlist for Compare and Export.
    page.get_by_role("button", name="Add to shortlist").click()
    settle(page)
    page.get_by_label("name", exact=True).fill("tighter")
    page.get_by_label("name", exact=True).press("Enter")
    settle(page)
    page.get_by_role("button", name="Add to shortlist").click()
    settle(page)
    for name in ("compare", "export"):
        page.get_by_role("link", name=name.title()).click()
        settle(page)
        problems += check(page, name, size)
    page.close()
    assert not errors, errors
    assert not problems, "\n".join(problems)


def test_presentation_mode_enlarges_the_type(app_url: str, browser: Any) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 2400})
    go(page, app_url, "design")
    page.locator("h3", has_text="measured over").first.wait_for(timeout=120_000)
    size = page.evaluate(METRIC_SIZE)
    page.get_by_text("presentation mode").click()
    settle(page)
    larger = page.evaluate(METRIC_SIZE)
    assert larger > size
    problems = check(page, "design-presentation", (1280, 720))
    page.close()
    assert not problems, "\n".join(problems)


def test_screenshots_are_kept() -> None:
    # The folder CI keeps; the first test wrote one picture per page and size.
    assert Path(SHOTS).is_dir()
