"""Screenshots of every page for the README: serves the app, drives Chromium, saves PNGs.

Run: `.venv/bin/python docs/make_screenshots.py` (needs Debian's chromium).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from sloview.errors import CONNECT_FORM
from sloview.report.pdf import LAUNCH_ARGS

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import servers  # noqa: E402

OUT = ROOT / "docs" / "screenshots"


SPECS = """\
slos:
  - name: chat-latency
    service: genai
    sli: {kind: latency, metric: latency_ms}
    objective: {threshold: 16000, op: lte, target: 0.95}
    window: {rolling: 7d}
  - name: availability
    service: genai
    sli: {kind: availability}
    objective: {target: 0.99}
    window: {rolling: 7d}
"""


def _registry(folder: Path) -> str:
    """A registry with two SLOs agreed at a workshop and reviewed twice since."""
    from sloview.cli import main as cli

    url = f"sqlite:///{folder / 'registry.db'}"
    specs = folder / "slos.yaml"
    specs.write_text(SPECS)
    sample = str(ROOT / "sample_data" / "genai_requests.parquet")
    common = ["--registry", url]
    cli(["registry", "add", str(specs), "--by", "alice, bob", "--at", "2026-09-06", *common])
    for end in ("2026-09-21", "2026-10-05"):
        cli(["review", sample, "--end", end, "--by", "carol", *common])
    return url


def _serve(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / "serve.py"),
            "--server.port",
            str(port),
        ],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                return proc, url
        except OSError:
            time.sleep(0.3)
    raise SystemExit("the app did not start")


def _settle(page: Page, text: str) -> None:
    page.get_by_text(text).first.wait_for(timeout=120_000)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=stSkeleton]') && "
        "document.querySelectorAll('.js-plotly-plot, [data-testid=stMetric], table, "
        "[data-testid=stCode]').length > 0",
        timeout=120_000,
    )
    time.sleep(3)


def _connected(page: Page, url: str) -> None:
    """The Data page after connecting a database too large to read as rows."""
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "requests.db"
        servers.sample_sqlite(db, ROOT / "sample_data" / "genai_requests.parquet")
        page.goto(url)
        _settle(page, "valid requests")
        page.get_by_text(CONNECT_FORM).click()
        page.get_by_role("textbox", name="URL", exact=True).fill(f"sqlite:///{db}")
        page.get_by_role("textbox", name="table", exact=True).fill("requests")
        segments = "segments to aggregate by (comma-separated, optional)"
        page.get_by_role("textbox", name=segments, exact=True).fill("endpoint")
        page.get_by_role("spinbutton", name="most requests read as rows").fill("100000")
        page.keyboard.press("Tab")
        time.sleep(2)
        page.get_by_role("button", name="Connect", exact=True).click()
        _settle(page, "Aggregated in the source")
        page.screenshot(path=str(OUT / "sources.png"))


def main() -> None:
    """Capture every page at 1280 px wide."""
    OUT.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="sloview-shots-"))
    proc, url = _serve({"SLOVIEW_REGISTRY": _registry(folder)})
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=list(LAUNCH_ARGS))
            page = browser.new_page(viewport={"width": 1280, "height": 1500})
            page.goto(url)
            _settle(page, "valid requests")
            page.screenshot(path=str(OUT / "data.png"))
            page.get_by_role("link", name="Explore").click()
            _settle(page, "Percentiles with 95% confidence intervals")
            page.screenshot(path=str(OUT / "explore.png"))
            page.get_by_role("link", name="Design").click()
            _settle(page, "measured over")
            page.screenshot(path=str(OUT / "design.png"))
            page.get_by_role("button", name="Add to shortlist").click()
            kinds = page.locator("[data-testid=stRadio]").filter(has_text="what is promised")
            kinds.get_by_text("availability", exact=True).click()
            _settle(page, "succeed, measured over")
            page.get_by_role("textbox", name="name", exact=True).fill("availability")
            page.get_by_role("textbox", name="name", exact=True).press("Enter")
            time.sleep(2)
            page.get_by_role("button", name="Add to shortlist").click()
            time.sleep(2)
            page.get_by_role("link", name="Compare").click()
            _settle(page, "Margin over target per period")
            page.screenshot(path=str(OUT / "compare.png"))
            page.get_by_role("link", name="Export").click()
            _settle(page, "SLO definitions")
            page.screenshot(path=str(OUT / "export.png"))
            page.get_by_role("link", name="Review").click()
            _settle(page, "chat-latency (version 1)")
            page.screenshot(path=str(OUT / "review.png"))
            # The Design page as the room sees it on a projector: a fresh session in
            # presentation mode at 1280x720.
            room = browser.new_page(viewport={"width": 1280, "height": 720})
            room.goto(f"{url}/design")
            _settle(room, "measured over")
            room.get_by_text("presentation mode").click()
            _settle(room, "measured over")
            room.screenshot(path=str(OUT / "presentation.png"))
            room.close()
            _connected(page, url)
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    print(f"saved to {OUT}")


if __name__ == "__main__":
    main()
