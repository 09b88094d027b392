"""Fuzzing the readers and the SLO spec parser (issue 17): mutations of the real files and of
SLO specs, each case through the `sloview` command under a memory and a time limit.

The budget is fixed per run (the same cases every time: seeded mutations), about a minute on
a 2-core machine; `SLOVIEW_FUZZ_ROUNDS=N` runs N times as many for a longer hunt. Every case
must end in success (exit 0) or one clear line (exit 2): no internal error, no MemoryError,
no hang, no traceback on stderr. The seed corpus holds the inputs issue 17 reported.
"""

from __future__ import annotations

import json
import os
import queue
import random
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.fuzz_corpus import mutate, reader_seeds, spec_seeds, yaml_mutate

SEED = int(os.environ.get("SLOVIEW_FUZZ_SEED", "17"))
READER_MUTANTS = 60  # per seed file
SPEC_MUTANTS = 30  # per seed spec
EXTRA_MB = 1536  # the memory limit above what the interpreter and its libraries reserve
CASE_SECONDS = 20.0
ROUNDS = int(os.environ.get("SLOVIEW_FUZZ_ROUNDS", "1"))


def reader_runs(path: Path, rng: random.Random, out: Path) -> list[list[str]]:
    """Command lines for one data file: summary, a simulation, sometimes more."""
    runs = [
        ["summarize", str(path), "--json"],
        ["simulate", str(path), "--threshold-ms", "500", "--target", "0.99", "--window", "28d"],
    ]
    extra = rng.randrange(6)
    if extra == 0:
        runs.append(["simulate", str(path), "--keep-stray-times", "--sli", "availability"])
    elif extra == 1 and path.suffix in (".csv", ".parquet", ".jtl"):
        runs.append(["summarize", str(path), "--aggregate"])
    elif extra == 2:
        runs.append(["report", str(path), "--threshold-ms", "300", "-o", str(out)])
    return runs


def spec_runs(path: Path, data: Path) -> list[list[str]]:
    """Command lines for one SLO file: convert both ways, validate, simulate on real data."""
    return [
        ["export", "--slo", str(path), "--format", "openslo"],
        ["export", "--slo", str(path), "--format", "sloth"],
        ["validate", str(path)],
        ["simulate", str(data), "--slo", str(path), "--json"],
    ]


def build_cases(realdata: Path, specs: Path, folder: Path) -> list[dict[str, Any]]:
    """Every case of this run: seeds as they are, then their mutations."""
    rng = random.Random(SEED)
    cases: list[dict[str, Any]] = []
    readers = reader_seeds(realdata)
    for name, data in readers.items():
        for k in range(1 + READER_MUTANTS * ROUNDS):
            body = data if k == 0 else mutate(data, rng)
            path = folder / f"r{len(cases):04d}-{name}"
            path.write_bytes(body)
            out = folder / f"r{len(cases):04d}.html"
            cases.append({"id": path.name, "runs": reader_runs(path, rng, out)})
    data_file = folder / "data.jtl"
    data_file.write_bytes(readers["taurus.jtl"])
    for name, text in spec_seeds(specs, ROOT / "tests" / "golden").items():
        for k in range(1 + SPEC_MUTANTS * ROUNDS):
            body = text if k == 0 else yaml_mutate(text, rng)
            path = folder / f"s{len(cases):04d}-{name}"
            path.write_bytes(body)
            cases.append({"id": path.name, "runs": spec_runs(path, data_file)})
    return cases


def verdicts(result: dict[str, Any], case: dict[str, Any]) -> list[str]:
    """What went wrong in one case (nothing, if it ended as the CLI promises)."""
    found = []
    for argv, run in zip(case["runs"], result["runs"], strict=True):
        code, err = run["code"], run["stderr"]
        where = f"{case['id']}: sloview {' '.join(argv[:1])}"
        if code == "timeout":
            found.append(f"{where}: hang (over {CASE_SECONDS:.0f} s)")
        elif "MemoryError" in err:
            found.append(f"{where}: MemoryError: {err.strip()[:300]}")
        elif code == 1 or not isinstance(code, int) or code not in (0, 2):
            found.append(f"{where}: exit {code}: {err.strip()[:300]}")
        if "Traceback" in err or "Exception ignored" in err:
            found.append(f"{where}: traceback on stderr: {err.strip()[:600]}")
        lines = err.splitlines()
        if code == 2 and argv[0] != "validate" and len(lines) != 1:
            found.append(f"{where}: {len(lines)} lines on stderr for one error: {err[:300]}")
        if code == 0 and any(not ln.startswith("sloview: warning: ") for ln in lines):
            found.append(f"{where}: unexpected stderr: {err[:300]}")
    return found


def run_worker(cases: list[dict[str, Any]], folder: Path) -> tuple[list[str], dict[str, Any]]:
    """All cases through the worker; a hung or dead worker is restarted after its case."""
    cases_file = folder / "cases.json"
    cases_file.write_text(json.dumps(cases))
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        # Loads refuse past this budget, well inside the address-space limit.
        "SLOVIEW_MEMORY_BUDGET_MB": "768",
        "OMP_NUM_THREADS": "2",
    }
    problems: list[str] = []
    stats: dict[str, Any] = {"cases": 0, "runs": 0, "peak_mb": 0, "limit_mb": 0, "restarts": 0}
    by_id = {c["id"]: c for c in cases}
    first = 0
    while first < len(cases):
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.fuzz_worker", str(cases_file), str(first),
             str(EXTRA_MB), str(CASE_SECONDS)],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        lines: queue.Queue[str | None] = queue.Queue()

        def pump(stream: Any = proc.stdout, sink: queue.Queue[str | None] = lines) -> None:
            for line in stream:
                sink.put(line)
            sink.put(None)

        threading.Thread(target=pump, daemon=True).start()
        current: str | None = None
        while True:
            wait = CASE_SECONDS * 4 + 60 if current else 120
            try:
                line = lines.get(timeout=wait)
            except queue.Empty:
                line = "hung"
            if line is None or line == "hung":
                proc.kill()
                proc.wait()
                if current is None:
                    problems.append(f"worker failed to start: {proc.stderr.read()[:500]}")  # type: ignore[union-attr]
                    return problems, stats
                what = "hang" if line == "hung" else f"worker died ({proc.returncode})"
                problems.append(f"{current}: {what}")
                stats["restarts"] += 1
                first = [c["id"] for c in cases].index(current) + 1
                break
            message = json.loads(line)
            if "limit_mb" in message:
                stats["limit_mb"] = message["limit_mb"]
            elif message.get("begin"):
                current = message["id"]
            else:
                problems += verdicts(message, by_id[message["id"]])
                stats["cases"] += 1
                stats["runs"] += len(message["runs"])
                stats["peak_mb"] = max(stats["peak_mb"], message["peak_mb"])
                current = None
                if message["id"] == cases[-1]["id"]:
                    proc.wait()
                    first = len(cases)
                    break
    return problems, stats


@pytest.mark.slow
def test_fuzzed_inputs_end_in_success_or_one_clear_line(
    realdata: Path, specs: Path, tmp_path: Path
) -> None:
    started = time.monotonic()
    cases = build_cases(realdata, specs, tmp_path)
    problems, stats = run_worker(cases, tmp_path)
    stats["seconds"] = round(time.monotonic() - started, 1)
    # The figures the issue asks for, in the test's output.
    print(f"fuzz: {json.dumps(stats)}; {len(problems)} problems")
    assert stats["cases"] == len(cases) - stats["restarts"], stats
    assert not problems, "\n".join(problems[:40])
