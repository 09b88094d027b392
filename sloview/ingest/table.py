"""The canonical request table: one row per request, whatever the source.

Schema (pandas columns):

- `ts` datetime64[ns, UTC]: request time (absent when the source has no timestamps)
- `latency_ms` float64: end-to-end latency in ms; NaN only on failed requests
- `ok` bool: the request succeeded, by the status policy in force
- `status` int16/int32/category: the status exactly as recorded (absent without a status)
- `ttft_ms` float64, optional: time to first token (or first byte), ms
- `output_tokens` Int32, optional: tokens in the answer
- `tpot_ms` float64, optional: time per output token, (latency - ttft) / (output_tokens - 1)
- `error_class` category: why a request failed, one of `ERROR_CLASSES` in that fixed order
  (null for requests without an error; set on errors that count as good, such as 4xx, too)
- segment columns, category: endpoint, model, region, tenant, label ... as named in the source,
  plus `output_length` (bands of output tokens: `<=256`, `257-1024`, `>1024`, `(missing)`)
  when output tokens are known

Rows are sorted by `ts`. Rows that could not be used are not in the table; they are counted
by reason in `RequestTable.dropped`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sloview.ingest.mapping import OUTPUT_LENGTH as OUTPUT_LENGTH  # one home for all names
from sloview.ingest.mapping import ResolvedMapping

TS = "ts"
LATENCY = "latency_ms"
OK = "ok"
STATUS = "status"
TTFT = "ttft_ms"
OUTPUT_TOKENS = "output_tokens"
TPOT = "tpot_ms"
CORE_COLUMNS = (TS, LATENCY, OK, STATUS, TTFT, OUTPUT_TOKENS, TPOT)
# Categorical like a segment (one byte per request), so outside the 40-byte core budget.
ERROR_CLASS = "error_class"
OUTPUT_LENGTH_BANDS = ("<=256", "257-1024", ">1024")
OUTPUT_LENGTH_EDGES = (256, 1024)  # upper token count of each band but the last
MISSING_BAND = "(missing)"
SYNTHETIC_TIMES_NOTE = (
    "Start times are synthetic (not measured): time-based figures show the schedule the load "
    "generator invented only, not when requests really happened"
)
LATENCY_COLUMNS = {
    LATENCY: "end-to-end latency",
    TTFT: "time to first token",
    TPOT: "time per output token",
}

# Exclusion reasons, in the order they are checked: a row is counted under the first that applies.
MALFORMED_LINE = "malformed line"
MISSING_TIMESTAMP = "missing timestamp"
UNPARSABLE_TIMESTAMP = "unparsable timestamp"
OUT_OF_RANGE_TIMESTAMP = "timestamp out of range"
OUTSIDE_TIME_RANGE = "outside --start/--end"
UNCLASSIFIED_STATUS = "status not classified"
MISSING_LATENCY = "missing latency"
UNPARSABLE_LATENCY = "unparsable latency"
NEGATIVE_LATENCY = "negative latency"
FILTERED_OUT = "filtered out by --where"
# Checked last, on the rows every other rule kept (see `sloview.ingest.strays`).
STRAY_TIMESTAMP = "stray timestamp (far from the rest)"


def times_ns(frame: pd.DataFrame) -> np.ndarray:
    """Request times as int64 UTC nanoseconds (no copy)."""
    times = frame[TS].array
    return np.asarray((times if times.unit == "ns" else times.as_unit("ns")).asi8)


@dataclass(frozen=True)
class RequestTable:
    """Valid requests in canonical form, with where they came from and what was left out."""

    frame: pd.DataFrame
    source_name: str
    mapping: ResolvedMapping
    rows_read: int
    dropped: dict[str, int] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    # The first row excluded for each reason: (row number from 1 in the source, value as
    # written), so the room can find it in the file.
    examples: dict[str, tuple[int, str]] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        """Number of valid requests."""
        return len(self.frame)

    @property
    def has_timestamps(self) -> bool:
        """Whether requests carry times (needed for any time-based SLO)."""
        return TS in self.frame.columns

    @property
    def synthetic_times(self) -> bool:
        """Whether the request times were invented (e.g. by a benchmark), not measured."""
        return self.mapping.synthetic_times and self.has_timestamps

    @property
    def synthetic_times_note(self) -> str | None:
        """The caption to show wherever a time axis is drawn, or None for measured times."""
        if not self.synthetic_times:
            return None
        return f"{SYNTHETIC_TIMES_NOTE} (column `{self.mapping.timestamp}`)."

    @property
    def segments(self) -> tuple[str, ...]:
        """Names of the segment columns."""
        return self.mapping.segments

    @property
    def latency_columns(self) -> tuple[str, ...]:
        """Latency columns present: always `latency_ms`, plus TTFT and TPOT when known."""
        return tuple(c for c in LATENCY_COLUMNS if c in self.frame.columns)

    def example(self, reason: str) -> str:
        """`row 2001: '1970-01-01T00:00:00Z'` for an excluded reason, or ''."""
        found = self.examples.get(reason)
        return "" if found is None else describe_example(*found)

    @property
    def dropped_total(self) -> int:
        """Rows read but excluded, all reasons together."""
        return sum(self.dropped.values())

    def bytes_per_request(self, include_segments: bool = False) -> float:
        """Memory of the table per request (canonical columns, optionally with segments)."""
        cols = [c for c in self.frame.columns if include_segments or c in CORE_COLUMNS]
        total = int(self.frame[cols].memory_usage(index=False, deep=True).sum())
        return total / max(self.rows, 1)


def describe_example(row: int, value: str) -> str:
    """How an excluded row is shown: `row 2001: '1970-01-01T00:00:00Z'`."""
    return f"row {row:,}: {value!r}" if value else f"row {row:,} (empty)"
