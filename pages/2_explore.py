"""Explore: the latency distribution, percentiles with CIs, over time and per segment."""

from __future__ import annotations

import streamlit as st

from sloview import charts, explore
from sloview.errors import SloviewError
from sloview.generative import length_trend
from sloview.ingest.table import LATENCY_COLUMNS
from sloview.stats import PERCENTILE_DEFINITION
from sloview.ui import state
from sloview.ui.navigation import ensure_app
from sloview.units import format_ms, nice_values
from sloview.wording import percent

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
table = explore.percentile_table(dist)
st.dataframe(
    table.assign(
        value=table["value_ms"].map(format_ms),
        **{
            "95% CI": [
                f"{format_ms(lo)} to {format_ms(hi)}"
                for lo, hi in zip(table["ci_low_ms"], table["ci_high_ms"], strict=True)
            ]
        },
    )[["percentile", "value", "95% CI", "value_ms", "ci_low_ms", "ci_high_ms"]],
    hide_index=True,
    width="stretch",
)
st.caption(
    f"Percentiles: {PERCENTILE_DEFINITION}. Intervals are distribution-free (order statistics); "
    "'n/a' means too few requests for an interval at this percentile."
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
        options=["5m", "15m", "1h", "6h", "1d"],
        value="1h",
        help="Percentiles are computed per slice of this length (exactly from requests; "
        "within one latency bin from aggregates).",
    )
    slice_s = {"5m": 300, "15m": 900, "1h": 3600, "6h": 21600, "1d": 86400}[slice_label]
    with st.spinner("Computing percentiles per slice ..."):
        over_time = explore.percentiles_over_time(engine, metric, slice_s)
    st.plotly_chart(charts.percentiles_over_time(over_time, label), width="stretch")
    starts, edges, counts = explore.latency_heatmap(engine, metric, max(slice_s, 900))
    st.plotly_chart(charts.heatmap(starts, edges, counts, label), width="stretch")
    st.plotly_chart(
        charts.rates(explore.rates_over_time(engine, max(slice_s, 300))), width="stretch"
    )
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
        st.error(exc.one_line())
    else:
        st.dataframe(comparison, hide_index=True, width="stretch")
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
        format_func=format_ms,
        key="explore_threshold",
    )
    target = c2.select_slider(
        "target",
        options=[0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999],
        value=0.95,
        format_func=lambda t: percent(t),
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
        st.error(exc.one_line())
    else:
        shown = per_segment[
            [
                column,
                "requests",
                "errors",
                "attainment",
                "ci_low",
                "ci_high",
                "meets_target",
                "tightest_threshold_ms",
                "tightest_ci_low_ms",
                "tightest_ci_high_ms",
            ]
        ]
        st.dataframe(
            shown.assign(
                attainment=shown["attainment"].map(lambda x: percent(float(x), 2)),
                ci_low=shown["ci_low"].map(lambda x: percent(float(x), 2)),
                ci_high=shown["ci_high"].map(lambda x: percent(float(x), 2)),
            ),
            hide_index=True,
            width="stretch",
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
        st.error(exc.one_line())
    else:
        st.plotly_chart(charts.latency_vs_tokens(trend), width="stretch")
        st.caption(
            f"Least-squares fit over {trend.requests:,} successful requests: latency = "
            f"{format_ms(trend.intercept_ms)} + {trend.ms_per_token:.3g} ms per output token "
            f"(R² {trend.r_squared:.2f}). Long answers take longer by design: judge them by "
            "time per output token, or give each output-length band its own target (the "
            "`output_length` segment)."
        )
        st.dataframe(trend.bands, hide_index=True, width="stretch")
