"""The HTML report printed to PDF by headless Chromium.

Renderer needed: the system Chromium (Debian: `apt-get install chromium`, found at
/usr/bin/chromium, or set SLOVIEW_CHROMIUM to another binary) driven by the Python package
`playwright` (`pip install playwright`). Never run `playwright install`: sloview does not use
a downloaded browser. Both are optional: without them HTML and Markdown reports still work,
and PDF output raises a SloviewError that says what is missing and how to install it.

The page is loaded with `set_content` (nothing is fetched: the report is self-contained),
then the printer waits until every plotly chart has been drawn before calling `page.pdf()`.
"""

from __future__ import annotations

import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from html import escape
from pathlib import Path
from typing import Literal

from sloview.errors import SloviewError
from sloview.report.style import PAGE_MARGIN_MM

DEFAULT_CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
Paper = Literal["A4", "Letter"]


def find_chromium(path: str | None = None) -> str:
    """The Chromium binary to print with, or a SloviewError saying how to install one."""
    candidate = path or os.environ.get("SLOVIEW_CHROMIUM") or DEFAULT_CHROMIUM
    found = shutil.which(candidate) if not Path(candidate).is_file() else candidate
    if not found:
        raise SloviewError(
            f"PDF reports need Chromium, and none was found at {candidate}",
            where="pdf",
            hint="install it with `apt-get install chromium` (or set SLOVIEW_CHROMIUM to the "
            "browser binary), or write the report as .html and print it from a browser",
        )
    return found


def check_pdf_renderer(chromium: str | None = None) -> str:
    """The Chromium binary to print with, once Playwright and Chromium are both known present."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        raise SloviewError(
            "PDF reports need the Python package playwright, which is not installed",
            where="pdf",
            hint="install it with `pip install playwright` and Chromium with "
            "`apt-get install chromium` (do not run `playwright install`)",
        ) from None
    return find_chromium(chromium)


def render_pdf(
    html: str,
    *,
    title: str = "",
    paper: Paper = "A4",
    chromium: str | None = None,
    timeout_s: float = 60.0,
) -> bytes:
    """Print an HTML report (from `render_html`) to PDF bytes with headless Chromium."""
    executable = check_pdf_renderer(chromium)
    # Playwright's sync API refuses to run in a thread with an asyncio loop (Jupyter, an
    # async caller, or another Playwright session): a thread of its own always works.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sloview-pdf") as pool:
        job = pool.submit(_print, html, executable, title, paper, timeout_s * 1000)
        return job.result()


def _print(html: str, executable: str, title: str, paper: Paper, timeout_ms: float) -> bytes:
    """Load the report in a new headless Chromium, wait for the charts, print."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    margin = f"{PAGE_MARGIN_MM}mm"
    footer = (
        '<div style="font-size:8px;width:100%;padding:0 15mm;color:#5f6368;'
        'font-family:sans-serif;display:flex;justify-content:space-between">'
        f"<span>{escape(title)}</span>"
        '<span>page <span class="pageNumber"></span> of <span class="totalPages"></span></span>'
        "</div>"
    )
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=executable, args=list(LAUNCH_ARGS), timeout=timeout_ms
            )
            try:
                page = browser.new_page()
                page.set_content(html, wait_until="load", timeout=timeout_ms)
                # Set by the report's own script once every Plotly.newPlot has resolved.
                page.wait_for_selector(
                    "body[data-plots-ready]", state="attached", timeout=timeout_ms
                )
                return page.pdf(
                    format=paper,
                    print_background=True,
                    margin={"top": margin, "bottom": margin, "left": margin, "right": margin},
                    display_header_footer=True,
                    header_template="<span></span>",
                    footer_template=footer,
                )
            finally:
                browser.close()
    except PlaywrightError as exc:
        first = (str(exc).strip().splitlines() or ["unknown error"])[0]
        raise SloviewError(
            f"Chromium could not print the report ({first})",
            where="pdf",
            hint=f"check that {executable} starts (`{executable} --headless --version`)",
            app_hint="the HTML and Markdown reports work without it; whoever runs sloview can "
            f"check that {executable} starts on the server",
        ) from None
