"""Explore: the latency distribution, percentiles with CIs, over time and per segment."""

from __future__ import annotations

import streamlit as st

from sloview import charts, explore
from sloview import formatting as fmt
from sloview.errors import SloviewError
from sloview.generative import length_trend
from sloview.ingest.table import LATENCY_COLUMNS
from sloview.stats import PERCENTILE_DEFINITION
from sloview.ui import show, state, tables
from sloview.ui.navigation import ensure_app
from sloview.units import nice_values

ensure_app()
st.title("Explore")
loaded = state.load()
engine, view = loaded.engine, loaded.view
metrics = list(engine.metrics())
c1, c2 = st.columns([2, 1])
metric = c1.radio(
    "latency",
    metrics,
    horizontal=True,
    format_func=lambda m: LATENCY_COLUMNS[m],
    help="End-to-end latency; time to first token and time per output token when the data "
    "have them.",
)
label = LATENCY_COLUMNS[metric]
dist = engine.distribution(metric)
if dist.size == 0:
    st.error(f"No successful requests have a {label} value; pick another latency.")
    st.stop()
c2.metric("successful requests measured", f"{dist.size:,}")
if not dist.exact:
    st.info(f"**Aggregated data.** Figures are {dist.exactness}.")

left, right = st.columns(2)
with left:
    st.plotly_chart(charts.latency_histogram(*dist.log_histogram(), label), width="stretch")
with right:
    curves = {"all requests": explore.ecdf_points(dist)}
    st.plotly_chart(charts.ecdf(curves, label), width="stretch")

st.subheader("Percentiles with 95% confidence intervals")
show.table(tables.percentiles(explore.percentile_table(dist)))
st.caption(
    f"Percentiles: {PERCENTILE_DEFINITION}. Intervals are distribution-free (order statistics); "
    "'too few requests' means the data cannot give a 95% interval at this percentile."
    + (
        ""
        if dist.exact
        else " From latency bins: each order statistic is placed inside its bin, and the "
        "intervals are widened to the edges of the bins they fall in."
    )
)

if engine.has_time:
    st.subheader("Over time")
    if view is not None and view.synthetic_times_note:
        st.warning(view.synthetic_times_note)
    slice_label = st.select_slider(
        "slice",
        options=list(explore.SLICES),
        value=explore.default_slice(engine.span_s),
        help="Percentiles are computed per slice of this length (exactly from requests; "
        "within one latency bin from aggregates).",
    )
    slice_s = explore.SLICES[slice_label]
    with st.spinner("Computing percentiles per slice ..."):
        over_time = explore.percentiles_over_time(engine, metric, slice_s)
    st.plotly_chart(charts.percentiles_over_time(over_time, label), width="stretch")
    starts, edges, counts = explore.latency_heatmap(engine, metric, max(slice_s, 900))
    st.plotly_chart(charts.heatmap(starts, edges, counts, label), width="stretch")
    st.plotly_chart(charts.rates(explore.rates_over_time(engine, slice_s)), width="stretch")
else:
    st.info(
        "These requests have no timestamps: time charts and SLO simulation need a time "
        "column (map it on the Data page)."
    )

segments = engine.segment_columns()
if segments:
    st.subheader("By segment")
    column = st.selectbox("compare by", segments)
    try:
        comparison = explore.segment_comparison(engine, column, metric)
        curves = {
            str(v): explore.ecdf_points(engine.view(((column, str(v)),)).distribution(metric))
            for v in comparison[column]
        }
    except SloviewError as exc:
        st.error(exc.one_line(app=True))
    else:
        show.table(tables.segment_latency(comparison, column))
        st.plotly_chart(charts.ecdf(curves, label), width="stretch")

if segments and view is not None:
    st.subheader("Does each segment meet a target?")
    st.caption(
        "The same threshold and target for every provider, model or endpoint, with or without "
        "timestamps: attainment with its 95% CI, and the tightest threshold each one supports."
    )
    c1, c2, c3 = st.columns(3)
    options = nice_values(dist.value_at(max(0, int(0.01 * (dist.size - 1)))), dist.value_at(-1))
    p90 = dist.value_at(int(0.9 * (dist.size - 1)))
    threshold = c1.select_slider(
        "threshold",
        options=options,
        value=min((v for v in options if v >= p90), default=options[-1]),
        format_func=fmt.ms,
        key="explore_threshold",
    )
    target = c2.select_slider(
        "target",
        options=[0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999],
        value=0.95,
        format_func=lambda t: fmt.percent(t),
        key="explore_target",
    )
    failed = c3.radio(
        "failed requests",
        ["exclude", "bad"],
        horizontal=True,
        format_func=lambda f: "left out" if f == "exclude" else "count as slow",
        key="explore_failed",
    )
    try:
        per_segment = explore.segment_attainment(
            view, column, metric, float(threshold), target=float(target), failed_requests=failed
        )
    except SloviewError as exc:
        st.error(exc.one_line(app=True))
    else:
        show.table(tables.segment_targets(per_segment, column, float(target)))
        st.caption(
            "Verdict: met, missed, or failing when the threshold is met but failed requests "
            "alone exceed the error budget (100% minus the target): a provider whose requests "
            "mostly fail is never shown as meeting the target."
        )
        st.plotly_chart(
            charts.segment_targets(per_segment, column, float(target), label), width="stretch"
        )

if (
    view is not None
    and {"output_tokens", "latency_ms"} <= set(view.frame.columns)
    and engine.has_time
):
    st.subheader("Latency and answer length")
    try:
        trend = length_trend(engine)
    except SloviewError as exc:
        st.error(exc.one_line(app=True))
    else:
        st.plotly_chart(charts.latency_vs_tokens(trend), width="stretch")
        st.caption(
            f"Least-squares fit over {trend.requests:,} successful requests: latency = "
            f"{fmt.ms(trend.intercept_ms)} + {trend.ms_per_token:.3g} ms per output token "
            f"(R² {trend.r_squared:.2f}). Long answers take longer by design: judge them by "
            "time per output token, or give each output-length band its own target (the "
            "`output_length` segment)."
        )
        show.table(tables.length_bands(trend.bands))
