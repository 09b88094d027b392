"""The memory one load may take, checked against estimates before anything large is allocated.

The app serves a whole room from one process: a hostile or unlucky file (a gzip that expands
a thousandfold, a Parquet file whose few compressed megabytes hold a billion rows, a JSON
array whose objects take ten times their text) must be refused with a message, not take the
process down with every other session in it. Each reader estimates what it is about to
allocate and calls `check_budget` first.

The budget is `SLOVIEW_MEMORY_BUDGET_MB`, by default half of the machine's memory (at least
1 GiB): ten million requests take about 1.5 GB at their peak (the README's benchmarks). Set it
to what the machine can give one load.
"""

from __future__ import annotations

import os

from sloview.errors import DataError

ENV = "SLOVIEW_MEMORY_BUDGET_MB"
MB = 1 << 20
MIN_DEFAULT_MB = 1024


def default_budget_mb() -> int:
    """Half of the machine's physical memory, at least 1 GiB."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 4 * MIN_DEFAULT_MB
    return max(MIN_DEFAULT_MB, total // 2 // MB)


def memory_budget() -> int:
    """The budget in bytes (read at each call: tests and servers may change it)."""
    text = os.environ.get(ENV, "").strip()
    try:
        value = int(text) if text else default_budget_mb()
    except ValueError:
        raise DataError(
            f"{text!r} is not a whole number of megabytes", where=ENV, hint="e.g. 4096"
        ) from None
    if value <= 0:
        raise DataError(f"{value} is not a positive number of megabytes", where=ENV)
    return value * MB


def check_budget(
    needed: int, what: str, *, where: str, hint: str, app_hint: str | None = None
) -> None:
    """Refuse (DataError) when `needed` bytes exceed the memory budget."""
    budget = memory_budget()
    if needed > budget:
        raise DataError(
            f"{what} would need about {needed / MB:,.0f} MB, more than the memory budget of "
            f"{budget / MB:,.0f} MB ({ENV})",
            where=where,
            hint=hint,
            app_hint=app_hint,
        )
