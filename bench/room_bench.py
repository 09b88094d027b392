"""Room benchmark: how the Design page feels under the hand, in a real browser.

Serves the app as `make run` does (`streamlit run serve.py`: the opening data are read as the
server starts), on the bundled sample or a synthetic file of N requests, opens the Design
page in headless Chromium and moves the threshold one step at a time with the keyboard. Per
move it measures the time from the key press until

- the statement (the candidate's sentence) shows the new threshold, and
- the charts have settled: every chart of the page drew the new figures and the app stopped
  running.

It also times the first load of the Design page (opened as soon as the server answers its
health check, as by a person opening the app at once), and runs several sessions at once
(separate browsers moving their thresholds together) to report the statement latency under load, any
error a session saw, and the server's memory with one session and with all of them.

For scale it times, in the same run, what a notebook would do for one move: pandas recomputing
the attainment of every rolling 28-day period at the new threshold (resample + rolling sums).

Prints one JSON object. Run: `python bench/room_bench.py` (sample) or
`python bench/room_bench.py --rows 10000000 --sessions 0`.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from playwright.sync_api import Page, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synth import ensure_file

from sloview.report.pdf import LAUNCH_ARGS

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data" / "genai_requests.parquet"
STATEMENT = "h3"
# The statement is the h3 that says "measured over"; charts are plotly divs.
READ_STATE = """() => {
  const h = [...document.querySelectorAll('h3')].find(e => e.innerText.includes('measured over'));
  const plots = [...document.querySelectorAll('.js-plotly-plot')].map(p =>
      p.data ? JSON.stringify(p.data.map(t => t.y)) : '');
  return [h ? h.innerText : '', plots];
}"""
STATEMENT_CHANGED = """(before) => {
  const h = [...document.querySelectorAll('h3')].find(e => e.innerText.includes('measured over'));
  return h && h.innerText !== before;
}"""
# Settled: the run is over (Streamlit marks elements it has not re-sent yet as stale) and the
# browser has painted twice since (plotly draws in the render that follows).
SETTLED = """() => new Promise(resolve => {
  if (document.querySelector('[data-stale="true"]')) { resolve(false); return; }
  requestAnimationFrame(() => requestAnimationFrame(() =>
      resolve(!document.querySelector('[data-stale="true"]'))));
})"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float:
    """Resident memory of the server process (MB), from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return float(np.percentile(ordered, q)) if ordered else float("nan")


def open_design(page: Page, url: str) -> float:
    """Open the Design page; seconds until the statement and its first chart are shown."""
    t0 = time.perf_counter()
    page.goto(f"{url}/design")
    page.locator("h3", has_text="measured over").first.wait_for(timeout=900_000)
    page.wait_for_function("() => document.querySelector('.js-plotly-plot')", timeout=900_000)
    return time.perf_counter() - t0


def moves(page: Page, n: int, charts: bool = True) -> tuple[list[float], list[float]]:
    """Move the threshold n times; (statement ms, charts settled ms) per move."""
    thumb = page.get_by_role("slider", name="threshold")
    statement_ms, settled_ms = [], []
    for i in range(n):
        before, _ = page.evaluate(READ_STATE)
        thumb.focus()
        t0 = time.perf_counter()
        thumb.press("ArrowLeft" if i % 4 < 2 else "ArrowRight")
        page.wait_for_function(STATEMENT_CHANGED, arg=before, timeout=120_000, polling=5)
        statement_ms.append((time.perf_counter() - t0) * 1000)
        if charts:
            page.wait_for_function(SETTLED, timeout=120_000, polling=5)
            settled_ms.append((time.perf_counter() - t0) * 1000)
    return statement_ms, settled_ms


def pandas_move_ms(path: Path, threshold: float, repeats: int = 3) -> float:
    """What a notebook does for one move: rolling 28-day attainment at a new threshold."""
    frame = pd.read_parquet(path)
    ts = "ts" if "ts" in frame.columns else "timestamp"
    latency = "latency_ms"
    frame = frame.set_index(ts)
    times = []
    for r in range(repeats):
        t = threshold * (1 + 0.01 * r)
        t0 = time.perf_counter()
        ok = frame["status"] < 500 if "status" in frame.columns else True
        good = ((frame[latency] <= t) & ok).resample("1min").sum()
        total = ok.resample("1min").sum() if not isinstance(ok, bool) else good * 0 + 1
        daily_good = good.resample("1D").sum().rolling(28).sum()
        daily_total = total.resample("1D").sum().rolling(28).sum()
        (daily_good / daily_total).dropna()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def session_worker(
    browser_type: Any, url: str, n: int, out: list[float], errors: list[str]
) -> None:
    """One more person in the room: its own browser, moving its own threshold."""
    browser = browser_type.launch(executable_path="/usr/bin/chromium", args=list(LAUNCH_ARGS))
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        open_design(page, url)
        statement_ms, _ = moves(page, n, charts=False)
        out.extend(statement_ms)
        if page.locator('[data-testid="stException"]').count():
            errors.append("exception shown on the page")
    except Exception as exc:  # a failed session is a result, not a crash of the benchmark
        errors.append(f"{type(exc).__name__}: {exc}")
    finally:
        browser.close()


def main() -> None:
    """Run the benchmark and print the JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=0, help="synthetic requests (0: the sample)")
    parser.add_argument("--moves", type=int, default=20)
    parser.add_argument("--sessions", type=int, default=10, help="concurrent sessions (0: none)")
    args = parser.parse_args()
    data = SAMPLE if args.rows == 0 else Path(ensure_file(args.rows, "parquet"))
    port = free_port()
    env = {**os.environ, "SLOVIEW_DATA": str(data)}
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "streamlit", "run", str(ROOT / "serve.py")),
            *("--server.port", str(port), "--server.address", "127.0.0.1"),
            *("--server.headless", "true", "--browser.gatherUsageStats", "false"),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    result: dict[str, Any] = {"rows": args.rows or "sample (505,416)"}
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)
                break
            except OSError:
                time.sleep(0.3)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=list(LAUNCH_ARGS))
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            result["first_load_s"] = round(open_design(page, url), 2)
            moves(page, 3)  # warm the caches a room builds on its first moves
            statement_ms, settled_ms = moves(page, args.moves)
            result["statement_ms"] = {
                "p50": round(percentile(statement_ms, 50)),
                "p90": round(percentile(statement_ms, 90)),
            }
            result["charts_settled_ms"] = {
                "p50": round(percentile(settled_ms, 50)),
                "p90": round(percentile(settled_ms, 90)),
            }
            one_session_mb = rss_mb(proc.pid)
            result["server_rss_one_session_mb"] = round(one_session_mb)
            browser.close()
            if args.sessions:
                latencies: list[float] = []
                errors: list[str] = []
                peak = [one_session_mb]

                def sample_memory(stop: threading.Event) -> None:
                    while not stop.is_set():
                        peak[0] = max(peak[0], rss_mb(proc.pid))
                        time.sleep(0.2)

                stop = threading.Event()
                watcher = threading.Thread(target=sample_memory, args=(stop,))
                watcher.start()
                # Playwright's sync API is per thread: each session runs in its own process.
                workers = [
                    subprocess.Popen(
                        [sys.executable, __file__, "--worker", url, str(args.moves)],
                        stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE,
                        text=True,
                    )
                    for _ in range(args.sessions)
                ]
                for w in workers:
                    out, err = w.communicate(timeout=1800)
                    try:
                        got = json.loads(out.strip().splitlines()[-1])
                        latencies.extend(got["statement_ms"])
                        errors.extend(got["errors"])
                    except (IndexError, ValueError, KeyError):
                        errors.append(f"session crashed: {err.strip()[-300:]}")
                stop.set()
                watcher.join()
                result["sessions"] = {
                    "count": args.sessions,
                    "statement_ms_p50": round(percentile(latencies, 50)),
                    "statement_ms_p90": round(percentile(latencies, 90)),
                    "errors": len(errors),
                    "error_examples": errors[:3],
                    "server_rss_peak_mb": round(peak[0]),
                    "memory_ratio_to_one_session": round(peak[0] / one_session_mb, 2),
                }
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    threshold = 2000.0 if args.rows == 0 else 300.0
    pandas_ms = pandas_move_ms(data, threshold)
    result["pandas_recompute_ms"] = round(pandas_ms)
    result["pandas_recompute_over_statement"] = round(pandas_ms / result["statement_ms"]["p50"], 2)
    print(json.dumps(result))


def worker() -> None:
    """`room_bench.py --worker URL MOVES`: one concurrent session; prints its latencies."""
    url, n = sys.argv[2], int(sys.argv[3])
    latencies: list[float] = []
    errors: list[str] = []
    with sync_playwright() as p:
        session_worker(p.chromium, url, n, latencies, errors)
    print(json.dumps({"statement_ms": latencies, "errors": errors}))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker()
    else:
        main()
