"""Runs fuzz cases through the `sloview` command in one process, under limits (see test_fuzz).

    python -m tests.fuzz_worker CASES.json FIRST EXTRA_MB SECONDS

Each case is a list of command lines; each runs in-process through `sloview.cli.main` with
stdout discarded and stderr (file descriptor 2, so tracebacks printed by C extensions and
"Exception ignored" messages are caught too) captured. One JSON line per case goes to the
real stdout: {"id", "runs": [{"code", "stderr", "seconds"}], "peak_mb"}, after a
{"id", "begin": true} line, so the parent knows which case hung if this process stops.

Memory: after a warm-up, the address space is limited with `resource.setrlimit` to what the
interpreter and its libraries reserve plus EXTRA_MB. Time: SIGALRM interrupts a case after
SECONDS (the parent kills the process if the alarm cannot land, inside C code).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


class CaseTimeout(BaseException):
    """Raised by the alarm; a BaseException so the CLI's `except Exception` lets it through."""


def _alarm(signum: int, frame: Any) -> None:
    raise CaseTimeout()


def _vm_peak_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmPeak:"):
            return int(line.split()[1])
    return 0


def _run(argv: list[str], seconds: float) -> dict[str, Any]:
    from sloview.cli import main

    with tempfile.TemporaryFile() as err_file:
        saved = os.dup(2)
        sys.stderr.flush()
        os.dup2(err_file.fileno(), 2)
        started = time.monotonic()
        code: int | str
        try:
            signal.setitimer(signal.ITIMER_REAL, seconds)
            with contextlib.redirect_stdout(io.StringIO()):
                code = main(argv)
        except CaseTimeout:
            code = "timeout"
        except SystemExit as exc:  # argparse refusing a flag
            code = exc.code if isinstance(exc.code, int) else 2
        except BaseException as exc:
            code = f"escaped {type(exc).__name__}: {exc}"
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
        err_file.seek(0)
        stderr = err_file.read().decode("utf-8", errors="replace")
    return {"code": code, "stderr": stderr[:4000], "seconds": time.monotonic() - started}


def main() -> None:
    cases_path, first, extra_mb, seconds = sys.argv[1:5]
    cases = json.loads(Path(cases_path).read_text())
    out = os.fdopen(os.dup(1), "w", buffering=1)
    signal.signal(signal.SIGALRM, _alarm)
    # Warm up (imports, thread pools), then cap the address space above what that reserved.
    warm = cases[0]["runs"][0]
    _run(warm, float(seconds))
    limit = (_vm_peak_kb() << 10) + (int(extra_mb) << 20)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    out.write(json.dumps({"limit_mb": limit >> 20}) + "\n")
    for case in cases[int(first) :]:
        out.write(json.dumps({"id": case["id"], "begin": True}) + "\n")
        runs = [_run(argv, float(seconds)) for argv in case["runs"]]
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss >> 10
        out.write(json.dumps({"id": case["id"], "runs": runs, "peak_mb": peak}) + "\n")


if __name__ == "__main__":
    main()
