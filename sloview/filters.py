"""Views of a request table: segment values and a time range, as used on every app page."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from sloview.ingest.table import TS, RequestTable, times_ns


@dataclass(frozen=True)
class Filters:
    """Which segment values and which time range to look at (empty = everything)."""

    segments: tuple[tuple[str, tuple[str, ...]], ...] = ()
    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None

    @property
    def active(self) -> bool:
        """Whether any filter narrows the data."""
        return bool(self.segments) or self.start is not None or self.end is not None

    def describe(self) -> str:
        """`endpoint in {chat}; 2026-09-10 .. 2026-09-20` or `all requests`."""
        parts = [f"{c} in {{{', '.join(v)}}}" for c, v in self.segments]
        if self.start is not None or self.end is not None:
            lo = self.start.strftime("%Y-%m-%d %H:%M") if self.start is not None else "start"
            hi = self.end.strftime("%Y-%m-%d %H:%M") if self.end is not None else "end"
            parts.append(f"{lo} .. {hi} UTC")
        return "; ".join(parts) or "all requests"


def apply_filters(table: RequestTable, filters: Filters) -> RequestTable:
    """The requests that pass the filters (the same table when nothing is filtered)."""
    if not filters.active:
        return table
    frame = table.frame
    mask = np.ones(len(frame), dtype=bool)
    for column, values in filters.segments:
        if column in frame.columns and values:
            col = frame[column]
            if isinstance(col.dtype, pd.CategoricalDtype):
                wanted = [i for i, c in enumerate(col.cat.categories) if str(c) in set(values)]
                mask &= np.isin(col.cat.codes.to_numpy(), wanted)
            else:
                mask &= col.astype(str).isin(values).to_numpy()
    if TS in frame.columns and (filters.start is not None or filters.end is not None):
        ns = times_ns(frame)
        if filters.start is not None:
            mask &= ns >= filters.start.value
        if filters.end is not None:
            mask &= ns < filters.end.value
    note = f"Filtered to {filters.describe()}: {int(mask.sum()):,} of {len(frame):,} requests."
    return replace(
        table,
        frame=frame[mask].reset_index(drop=True),
        notes=(*table.notes, note),
    )


# (longest span, step) pairs: the time-range filter moves in steps that fit the data's span.
TIME_STEPS = (
    (pd.Timedelta(hours=3), pd.Timedelta(minutes=1)),
    (pd.Timedelta(days=2), pd.Timedelta(minutes=15)),
    (pd.Timedelta(days=90), pd.Timedelta(hours=1)),
)


def time_range_grid(
    first: pd.Timestamp, last: pd.Timestamp
) -> tuple[pd.Timestamp, pd.Timestamp, pd.Timedelta] | None:
    """(lowest, highest, step) of a time-range filter over requests from `first` to `last`,
    or None when they span less than one step (a filter would have nothing to choose)."""
    span = last - first
    step = next((s for longest, s in TIME_STEPS if span <= longest), pd.Timedelta(days=1))
    lo, hi = first.floor(step), last.ceil(step)
    if hi == lo:
        hi = lo + step
    return (lo, hi, step) if span >= pd.Timedelta(minutes=1) else None
