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
