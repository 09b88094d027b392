"""The sidebar on every page: what data is loaded, and the filters that apply everywhere."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from sloview.filters import Filters, time_range_grid
from sloview.ui import shortlist, state


def render(loaded: state.Loaded) -> None:
    """Data summary and segment/time filters."""
    shortlist.announce_change()
    table = loaded.table
    if table is None:
        _aggregated(loaded)
        return
    with st.sidebar:
        presentation_toggle()
        if st.session_state.pop(state.RESET_TIME_RANGE, False):
            # The time range was narrowed to fit: the slider shows the filters, not its old value.
            st.session_state.pop("filter_time", None)
        st.markdown(f"**Data:** {table.source_name}")
        st.caption(
            f"{table.rows:,} requests"
            + (f" ({table.dropped_total:,} rows excluded)" if table.dropped_total else "")
        )
        st.markdown("**Filters** (apply on every page)")
        chosen: list[tuple[str, tuple[str, ...]]] = []
        current = dict(loaded.filters.segments)
        for column in table.segments:
            options = [str(v) for v in table.frame[column].cat.categories]
            if len(options) > 500:
                continue
            picked = st.multiselect(
                column,
                options,
                default=[v for v in current.get(column, ()) if v in options],
                placeholder="all",
                key=f"filter_{column}",
            )
            if picked:
                chosen.append((column, tuple(picked)))
        start = end = None
        grid = None
        if table.has_timestamps and table.rows > 1:
            grid = time_range_grid(table.frame["ts"].iloc[0], table.frame["ts"].iloc[-1])
        if grid is not None:
            first, last, step = grid
            lo = loaded.filters.start or first
            hi = loaded.filters.end or last
            picked_range = st.slider(
                "time range (UTC)",
                min_value=first.to_pydatetime(),
                max_value=last.to_pydatetime(),
                value=(max(lo, first).to_pydatetime(), min(hi, last).to_pydatetime()),
                step=step.to_pytimedelta(),
                format="YYYY-MM-DD HH:mm",
                key="filter_time",
            )
            if pd.Timestamp(picked_range[0]) > first:
                start = pd.Timestamp(picked_range[0])
            if pd.Timestamp(picked_range[1]) < last:
                end = pd.Timestamp(picked_range[1])
        new = Filters(segments=tuple(chosen), start=start, end=end)
        if new != loaded.filters:
            # The pages below load after this, so they see the new filters in this same run.
            state.set_filters(new)
            loaded = state.load()
        if table.synthetic_times:
            st.warning("Start times are synthetic (not measured).", icon=":material/schedule:")
        if loaded.filters.active:
            shown = loaded.view.rows if loaded.view is not None else 0
            st.caption(f"Showing {shown:,} requests: {loaded.filters.describe()}")
        if st.session_state.get(state.RESET_TIME_RANGE):
            st.rerun()  # narrowed after the slider was drawn: draw it again with the new range
        state.show_span_note()


def _aggregated(loaded: state.Loaded) -> None:
    """The sidebar of aggregated data: no row filters (the range was set when connecting)."""
    engine = loaded.engine
    with st.sidebar:
        presentation_toggle()
        st.markdown(f"**Data:** {loaded.source_name}")
        st.caption(f"{engine.rows:,} requests, aggregated per minute")
        st.caption(
            "Filters: the time range, matchers and grouping were chosen when connecting "
            "(Data page); segments can be picked in the candidate editor."
        )


def presentation_toggle() -> None:
    """Larger type and fewer controls, for the projector."""
    st.toggle(
        "presentation mode",
        key="presentation",
        help="Larger type for people reading from across the room; the advanced controls "
        "of the candidate editor are folded away.",
    )
