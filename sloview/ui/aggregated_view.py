"""The Data page for aggregated sources: what was read, how exact it is, what was left out."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from sloview import explore
from sloview import formatting as fmt
from sloview.charts import rates
from sloview.engine import Engine
from sloview.ui import show, state


def render(loaded: state.Loaded) -> None:
    """Counts, span, exactness, exclusions and data quality of aggregated data."""
    agg, engine = loaded.aggregates, loaded.engine
    assert agg is not None
    q = explore.engine_quality(engine)
    cols = st.columns(4)
    cols[0].metric("requests", f"{engine.rows:,}")
    cols[1].metric("rows excluded", f"{sum(agg.dropped.values()):,}")
    errors = engine.rows - int(engine.ok_count.sum())
    cols[2].metric("failed requests", f"{errors:,}", help=agg.policy or None)
    cols[3].metric("time span", fmt.span(q.get("span_s")))
    st.info(
        f"**Aggregated in the source** ({loaded.source_name}): only counts per minute and per "
        f"latency bin were read. {agg.exactness[:1].upper()}{agg.exactness[1:]}."
    )
    if agg.policy:
        st.caption(f"Failed requests: {agg.policy}")
    if agg.group_by:
        st.caption(f"Segments (grouped in the source): {', '.join(agg.group_by)}")
    st.subheader("Rows excluded, by reason")
    dropped = {k: v for k, v in agg.dropped.items() if v}
    if dropped:
        show.table(
            pd.DataFrame(
                {"reason": list(dropped), "rows left out": [fmt.count(v) for v in dropped.values()]}
            )
        )
    else:
        st.success("No rows were excluded.")
    for note in agg.notes:
        st.caption(note)
    quality_panel(q, engine)


def quality_panel(q: dict[str, Any], engine: Engine) -> None:
    """The data-quality metrics and hourly rates (rows or aggregates alike)."""
    st.subheader("Data quality")
    cols = st.columns(4)
    cols[0].metric(
        "request rate",
        fmt.rate(float(q["requests_per_second"])),
        help=f"{fmt.count(engine.rows, 'request')} over {fmt.span(q['span_s'])} of data",
    )
    cols[1].metric("longest gap without requests", f"{q['longest_gap_minutes']} min")
    cols[2].metric("empty 5-minute slices", fmt.percent(float(q["empty_5min_share"]), 1))
    cols[3].metric(
        "5-minute slices with < 10 requests",
        fmt.percent(float(q["low_traffic_5min_share"]), 1),
        help="Timeslice SLOs judge such slices on little evidence; see the low-traffic rule.",
    )
    slice_s = explore.SLICES[explore.default_slice(engine.span_s)]
    st.plotly_chart(rates(explore.rates_over_time(engine, slice_s)), width="stretch")
