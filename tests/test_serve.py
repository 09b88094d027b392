"""`make run` (streamlit run serve.py): the opening data are read as the server starts.

The first person to open the app should not wait for the data to be read and indexed: the
server does it in the background as it starts, says so in its log, and the first page then
shows the same figures `app.py` alone would.
"""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

from tests.browser import launch, serve_process


def _lines(proc: subprocess.Popen[bytes]) -> list[str]:
    """The server's output, collected as it comes."""
    out: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            out.append(raw.decode(errors="replace").rstrip())

    threading.Thread(target=read, daemon=True).start()
    return out


def _wait_for(lines: list[str], prefix: str, seconds: float = 90) -> str:
    deadline = time.time() + seconds
    while time.time() < deadline:
        found = [line for line in lines if line.startswith(prefix)]
        if found:
            return found[0]
        time.sleep(0.2)
    raise AssertionError(f"no line starting {prefix!r} in {lines}")


def test_the_opening_data_are_ready_before_anyone_connects() -> None:
    with serve_process() as (url, proc):
        lines = _lines(proc)
        line = _wait_for(lines, "sloview: ")
        assert line.startswith(
            "sloview: the opening data are ready: 505,416 requests of sample: generative API"
        ), line
        with launch() as browser:
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            page.goto(f"{url}/design")
            statement = page.locator("h3", has_text="measured over").first
            statement.wait_for(timeout=60_000)
            assert statement.inner_text().startswith("95% of requests complete within 16.0 s")


def test_opening_data_that_do_not_read_are_reported_and_the_app_says_why(
    tmp_path: Path,
) -> None:
    bad = tmp_path / "requests.csv"
    bad.write_text("when,took\n2024-01-01T00:00:00Z,fast\n")
    with serve_process({"SLOVIEW_DATA": str(bad)}) as (url, proc):
        lines = _lines(proc)
        line = _wait_for(lines, "sloview: ")
        assert line.startswith("sloview: the opening data could not be read: requests.csv:")
        with launch() as browser:
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            page.goto(url)
            error = page.locator("[data-testid=stAlertContentError]").first
            error.wait_for(timeout=60_000)
            assert "requests.csv" in error.inner_text()
            assert "Traceback" not in page.content()
