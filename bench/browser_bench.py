"""Browser benchmark: how long a threshold move takes to show in a real browser at N requests.

Serves the app on a synthetic file of N requests (SLOVIEW_DATA), opens the Design page in
headless Chromium, moves the threshold slider one step at a time and measures, per move, the
time from the key press until the statement and the per-period chart have both changed.
Prints one JSON object: rows, moves, median_ms, p90_ms, max_ms, first_load_s.

Run: `python bench/browser_bench.py --rows 10000000`.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synth import ensure_file

from sloview.report.pdf import LAUNCH_ARGS

ROOT = Path(__file__).resolve().parents[1]
CHANGED = """([statement, bars]) => {
  const h = [...document.querySelectorAll('h3')].find(e => e.innerText.includes('measured over'));
  const plot = document.querySelector('.js-plotly-plot');
  if (!h || !plot || !plot.data) return false;
  return h.innerText !== statement && JSON.stringify(plot.data[0].y) !== bars;
}"""


def main() -> None:
    """Run the benchmark and print the JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--moves", type=int, default=10)
    args = parser.parse_args()
    data = ensure_file(args.rows, "parquet")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "SLOVIEW_DATA": data}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / "app.py"),
            "--server.port",
            str(port),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)
                break
            except OSError:
                time.sleep(0.3)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=list(LAUNCH_ARGS))
            page = browser.new_page(viewport={"width": 1280, "height": 1400})
            t0 = time.perf_counter()
            page.goto(f"{url}/design")
            page.locator("h3", has_text="measured over").first.wait_for(timeout=600_000)
            page.wait_for_function(
                "() => document.querySelector('.js-plotly-plot')", timeout=600_000
            )
            first_load = time.perf_counter() - t0
            thumb = page.get_by_role("slider", name="threshold")
            times = []
            for i in range(args.moves):
                statement = page.locator("h3", has_text="measured over").first.inner_text()
                bars = page.evaluate(
                    "() => JSON.stringify(document.querySelector('.js-plotly-plot').data[0].y)"
                )
                thumb.focus()
                t0 = time.perf_counter()
                thumb.press("ArrowLeft" if i % 2 == 0 else "ArrowRight")
                page.wait_for_function(CHANGED, arg=[statement, bars], timeout=60_000)
                times.append((time.perf_counter() - t0) * 1000)
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    times.sort()
    print(
        json.dumps(
            {
                "rows": args.rows,
                "moves": len(times),
                "median_ms": round(statistics.median(times)),
                "p90_ms": round(times[int(0.9 * (len(times) - 1))]),
                "max_ms": round(times[-1]),
                "first_load_s": round(first_load, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
