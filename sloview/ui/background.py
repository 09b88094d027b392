"""Work the room should not wait for: the PDF report is printed in the background.

One worker for the whole server (a Chromium print needs a core), results kept per report
content (a hash of its HTML), so every session asking for the same report shares one print
and a second click never prints twice.
"""

from __future__ import annotations

import hashlib
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from sloview.report.pdf import render_pdf

_POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sloview-background")
_LOCK = threading.Lock()
_JOBS: dict[str, Job] = {}
MAX_JOBS = 8


@dataclass(frozen=True)
class Job:
    """A print under way or done: when it started, and its future PDF bytes."""

    started: float
    future: Future[bytes]

    @property
    def seconds(self) -> float:
        """Seconds since it started."""
        return time.monotonic() - self.started


def pdf(html: str, title: str) -> Job:
    """The print of this report, started now unless one for the same content exists."""
    key = hashlib.sha256(f"{title}\0{html}".encode()).hexdigest()
    with _LOCK:
        job = _JOBS.get(key)
        if job is None:
            if len(_JOBS) >= MAX_JOBS:
                _JOBS.pop(next(iter(_JOBS)))
            job = Job(time.monotonic(), _POOL.submit(render_pdf, html, title=title))
            _JOBS[key] = job
        return job


def forget(job: Job) -> None:
    """Drop a failed print, so that asking again starts a new one."""
    with _LOCK:
        for key, value in list(_JOBS.items()):
            if value is job:
                del _JOBS[key]
