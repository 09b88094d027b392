"""Span benchmark: cost follows the requests, not the calendar (issue 17).

Two parts, printed as one JSON object:

- `cases`: the three timestamp cases issue 17 reported, built from the real files in
  ../shared/realdata, each next to the same file without its bad row (the baseline, in the same
  run): `sloview summarize`, `simulate --window 28d` (and `1d` for the JMeter run) and `report`
  as the user runs them, each in a fresh process, with wall time, peak resident memory
  (`ru_maxrss` of the child) and exit code; then the same with `--keep-stray-times`, which must
  end in a one-line refusal. `ratio` is hostile / clean per command.
- `spans`: 2,000 requests spread evenly over 1 to 366 days (the limit,
  `sloview.ingest.span.MAX_SPAN_DAYS`), loaded, indexed, simulated over 28 days, swept,
  recommended and reported in one process: seconds and megabytes beyond the imports, so the
  cost of the per-minute grid at the limit is visible on its own.

Every child runs under an address-space limit (`--limit-mb`, default 4096) and a timeout, so a
build without the fix fails fast instead of exhausting the machine: run this script with
`--pythonpath DIR` pointing at an older checkout to measure "before".

Run: `python bench/span_bench.py` (needs ../shared/realdata).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
REALDATA = ROOT.parent / "shared" / "realdata"
TAURUS = REALDATA / "jmeter_error_samples" / "taurus_slow-stdev.jtl"
EHRBASE = REALDATA / "ehrbase_jmeter_nightly" / "result_2022-05-16_828624a9.jtl"
SPAN_DAYS = (1, 30, 90, 180, 366)

STEPS = r"""
import json, resource, sys, time
def rss(): return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
from sloview.ingest import load_requests
from sloview.engine import Engine
from sloview.simulate import simulate
from sloview.design import recommend, sweep_thresholds, sweep_targets
from sloview.model import SLO
from sloview.report import report_inputs, render
from sloview.session import Candidate
slo = SLO.from_dict({"name": "x", "sli": {"kind": "latency"},
                     "objective": {"target": 0.99, "threshold": 300}, "window": {"rolling": "28d"}})
base, t0 = rss(), time.perf_counter()
table = load_requests(sys.argv[1]); engine = Engine(table); engine.index("latency_ms")
simulate(engine, slo); sweep_thresholds(engine, slo); sweep_targets(engine, slo)
recommend(engine, slo, 0.9)
render(report_inputs(table, engine, [Candidate(slo=slo, agreed=True)], generated_at="bench",
                     title="t", desired_share=0.9, segment_columns=()), "html")
print(json.dumps({"seconds": time.perf_counter() - t0, "extra_mb": rss() - base,
                  "imports_mb": base, "buckets": engine.n_buckets}))
"""


def _child_limits(limit_mb: int) -> Any:
    def apply() -> None:
        limit = limit_mb << 20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return apply


def run(argv: list[str], env: dict[str, str], limit_mb: int, timeout: float) -> dict[str, Any]:
    """One command in a fresh process: seconds, its own peak MB, exit code, stderr's last line."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv,
        env=env,
        # Not this checkout: `python -m` puts the working directory first on sys.path, which
        # would shadow --pythonpath.
        cwd=tempfile.gettempdir(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_child_limits(limit_mb),
    )
    streams: dict[str, str] = {}

    def drain(name: str, stream: Any) -> None:
        streams[name] = stream.read()

    readers = [
        threading.Thread(target=drain, args=("out", proc.stdout)),
        threading.Thread(target=drain, args=("err", proc.stderr)),
    ]
    for reader in readers:
        reader.start()
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    # wait4 reaps this very child and gives its own resource usage (peak RSS included).
    _, status, usage = os.wait4(proc.pid, 0)
    timer.cancel()
    for reader in readers:
        reader.join()
    seconds = time.perf_counter() - started
    code: int | str = os.waitstatus_to_exitcode(status)
    if code == -9 and seconds >= timeout:
        code = "timeout"
    proc.returncode = code if isinstance(code, int) else -9
    err = streams.get("err", "")
    last = err.strip().splitlines()[-1] if err.strip() else ""
    return {
        "code": code,
        "seconds": round(seconds, 2),
        "peak_mb": round(usage.ru_maxrss / 1024),
        "stderr": last[:240],
        "stdout": streams.get("out", ""),
    }


def build_cases(folder: Path) -> dict[str, tuple[Path, Path]]:
    """(hostile, clean) files of the three cases."""
    lines = TAURUS.read_text().splitlines()
    clean_jtl = folder / "run.jtl"
    clean_jtl.write_text("\n".join(lines[:301] + lines[302:]) + "\n")

    def with_epoch(value: str) -> Path:
        cells = lines[301].split(",")
        cells[0] = value
        path = folder / f"run-{value}.jtl"
        path.write_text("\n".join([*lines[:301], ",".join(cells), *lines[302:]]) + "\n")
        return path

    rows = EHRBASE.read_text().splitlines()[1:2001]
    csv_lines = ["timestamp,latency_ms,status"]
    for row in rows:
        cells = row.split(",")
        when = dt.datetime.fromtimestamp(int(cells[0]) / 1000, dt.UTC)
        csv_lines.append(f"{when.isoformat().replace('+00:00', 'Z')},{cells[1]},200")
    clean_csv = folder / "nightly.csv"
    clean_csv.write_text("\n".join(csv_lines) + "\n")
    zero = folder / "nightly-zero.csv"
    zero.write_text("\n".join([*csv_lines, "1970-01-01T00:00:00Z,42,200"]) + "\n")
    return {
        "default-zero time (2,001-row CSV)": (zero, clean_csv),
        "epoch with a digit too many (JMeter)": (with_epoch("15323762376558146"), clean_jtl),
        "epoch a few digits short (JMeter)": (with_epoch("15323655829"), clean_jtl),
    }


def commands(path: Path, out: Path) -> dict[str, list[str]]:
    slo = ["--threshold-ms", "500", "--target", "0.99"]
    return {
        "summarize": ["summarize", str(path), "--json"],
        "simulate 28d": ["simulate", str(path), *slo, "--window", "28d", "--json"],
        "simulate 1d": ["simulate", str(path), *slo, "--window", "1d", "--json"],
        "report": ["report", str(path), *slo, "-o", str(out)],
    }


def main() -> None:
    """Run both parts and print the JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pythonpath", help="measure the sloview of another checkout")
    parser.add_argument("--limit-mb", type=int, default=4096)
    parser.add_argument("--timeout", type=float, default=120)
    parser.add_argument("--skip-spans", action="store_true")
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": args.pythonpath or str(ROOT)}
    sloview = [sys.executable, "-m", "sloview.cli"]
    result: dict[str, Any] = {"cases": {}, "spans": []}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name, (hostile, clean) in build_cases(folder).items():
            entry: dict[str, Any] = {}
            for command, argv in commands(hostile, folder / "r.html").items():
                got = run([*sloview, *argv], env, args.limit_mb, args.timeout)
                base = run(
                    [*sloview, *commands(clean, folder / "c.html")[command]],
                    env,
                    args.limit_mb,
                    args.timeout,
                )
                kept = run([*sloview, *argv, "--keep-stray-times"], env, args.limit_mb,
                           args.timeout)  # fmt: skip
                summary = {}
                if command == "summarize" and got["code"] == 0:
                    data = json.loads(got["stdout"])
                    summary = {k: data.get(k) for k in ("rows", "dropped", "start", "end")}
                for r in (got, base, kept):
                    r.pop("stdout")
                entry[command] = {
                    "hostile": got,
                    "clean": base,
                    "ratio_seconds": round(got["seconds"] / base["seconds"], 2),
                    "keep_stray_times": kept,
                    **({"figures": summary} if summary else {}),
                }
            result["cases"][name] = entry
        if not args.skip_spans:
            for days in SPAN_DAYS:
                path = folder / f"span{days}.csv"
                start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
                step = days * 86400 / 1999
                with path.open("w") as fh:
                    fh.write("timestamp,latency_ms,status\n")
                    for i in range(2000):
                        when = start + dt.timedelta(seconds=i * step)
                        fh.write(f"{when.isoformat()},{100 + (i * 7919) % 400},200\n")
                got = run([sys.executable, "-c", STEPS, str(path)], env, args.limit_mb,
                          args.timeout)  # fmt: skip
                figures = json.loads(got["stdout"]) if got["code"] == 0 else {}
                result["spans"].append({"days": days, "code": got["code"], **figures})
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
