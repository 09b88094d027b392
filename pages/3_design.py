"""Design: edit a candidate SLO and see at once how it would have done on this history."""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from sloview import charts
from sloview.design import (
    JointDesign,
    Recommendation,
    joint_design,
    recommend,
    segment_recommendations,
    sweep_targets,
    sweep_thresholds,
)
from sloview.engine import Scope
from sloview.errors import SloviewError
from sloview.generative import goodput_by_segment, goodput_over_time
from sloview.ingest.table import LATENCY_COLUMNS
from sloview.session import decode_slo, encode_slo
from sloview.simulate import data_notes, segment_results, simulate
from sloview.summary import iso_utc
from sloview.ui import candidate, composite, shortlist, state
from sloview.ui.navigation import ensure_app
from sloview.units import format_ms
from sloview.wording import percent

ensure_app()


@st.cache_resource(max_entries=16, show_spinner="Computing the threshold-pair grid ...")
def _joint_design(key: str, _scope: Scope, share: float) -> JointDesign:
    return joint_design(_scope, share)


def joint_design_cached(loaded: state.Loaded, scope: Scope, share: float) -> JointDesign:
    """The 2-D design does not depend on the candidate's thresholds on its two axes."""
    axes = {c.metric: 0.0 for c in scope.slo.sli.conditions[:2]}
    key = f"{loaded.key}|{encode_slo(scope.slo.with_conditions(axes))}|{share}"
    return _joint_design(key, scope, share)


def _threshold_text(rec: Recommendation | None) -> str:
    return "n/a" if rec is None or rec.threshold is None else format_ms(rec.threshold)


def _target_text(rec: Recommendation | None) -> str:
    return "n/a" if rec is None else percent(rec.target)


st.title("Design")
loaded = state.load()
if not loaded.engine.has_time:
    st.error(
        "These requests have no timestamps, so an SLO cannot be simulated over time. "
        "Map the time column on the Data page; the Explore page still shows the distribution."
    )
    st.stop()

# A shared link restores its candidate once, before the widgets are drawn.
link = st.query_params.get("slo")
if link and st.session_state.get("link_loaded") != link:
    st.session_state["link_loaded"] = link
    try:
        candidate.load_into_widgets(decode_slo(link))
    except SloviewError as exc:
        st.error(f"The link's candidate could not be restored: {exc.one_line()}")

left, right = st.columns([1, 2], gap="large")
with left:
    st.subheader("Candidate")
    slo, share = candidate.editor(loaded)
if slo is None:
    st.stop()
st.query_params["slo"] = encode_slo(slo)
st.session_state["link_loaded"] = st.query_params["slo"]

# The candidate bound to its requests: every figure below comes from this one scope.
scope = Scope.bind(loaded.engine, slo)
engine = scope.engine
VIEWS = ["Compliance", "Alerts", "Target design", "Segments"]
if slo.sli.uses_conditions:
    VIEWS.append("Goodput")
try:
    sim = simulate(scope)
except SloviewError as exc:
    right.error(exc.one_line())
    st.stop()

with right:
    st.markdown(f"### {sim.statement}")
    if not engine.exact:
        # Aggregated data: how exact the figures are belongs next to them, not in a footnote.
        st.info(" ".join(data_notes(scope)), icon=":material/bar_chart:")
    o = sim.overall
    c = st.columns(4)
    c[0].metric(
        "attainment",
        percent(o.attainment, 3),
        help=f"95% CI {percent(o.ci_low, 3)} to {percent(o.ci_high, 3)} "
        f"({o.good:,.0f} good of {o.total:,.0f})",
    )
    c[1].metric("periods met", f"{sim.periods_met} of {sim.periods_with_data}")
    c[2].metric("budget left (latest period)", percent(sim.error_budget_remaining, 1))
    pages = sum(1 for f in sim.firings if f.rule.severity == "page")
    c[3].metric(
        "alerts fired",
        f"{len(sim.firings)}",
        help=f"{pages} pages, {len(sim.firings) - pages} tickets; "
        f"{len(sim.missed_violations)} violations missed",
    )
    st.caption(f"95% CI of the attainment: {percent(o.ci_low, 3)} to {percent(o.ci_high, 3)}.")
    b1, b2 = st.columns([1, 3])
    if b1.button("Add to shortlist", type="primary", help="Compare candidates on the Compare page"):
        shortlist.add(slo)
        st.toast(f"{slo.name} added to the shortlist")
    composite.render_editor()
    # One view at a time: only what is on screen is computed and drawn, so a move stays quick.
    view = (
        b2.segmented_control(
            "show", VIEWS, default="Compliance", key="design_view", label_visibility="collapsed"
        )
        or "Compliance"
    )

    if view == "Compliance":
        st.plotly_chart(charts.period_attainment(sim), width="stretch", key="periods")
        st.plotly_chart(charts.budget_burndown(sim), width="stretch", key="budget")
        st.caption(
            "A period is one calendar period, or the rolling window ending at each day's "
            "end. Grey bars: periods only partly covered by the data. Budget remaining "
            "is not clamped: below zero means the budget was overspent."
        )
    elif view == "Alerts":
        st.plotly_chart(charts.burn_rates(sim), width="stretch", key="burn")
        st.plotly_chart(charts.alert_timeline(sim), width="stretch", key="timeline")
        if sim.firings:
            st.dataframe(
                pd.DataFrame(
                    [
                        {
                            "rule": f.rule.label(),
                            "start": iso_utc(f.start),
                            "end": iso_utc(f.end),
                            "budget spent": percent(f.budget_spent, 1)
                            if math.isfinite(f.budget_spent)
                            else "n/a",
                            "caught a violation": f.violation is not None,
                            "minutes after it began": None
                            if f.delay_s is None
                            else round(f.delay_s / 60),
                        }
                        for f in sim.firings
                    ]
                ),
                hide_index=True,
                width="stretch",
            )
        for v in sim.missed_violations:
            st.warning(
                f"Missed: {iso_utc(v.start)} to {iso_utc(v.end)} spent "
                f"{percent(v.budget_spent, 1)} of a period's budget and no alert fired."
            )
        st.caption(
            "Alerts fire while both windows burn faster than the factor; a violation is a "
            "stretch where errors ran clearly above the budgeted rate (CUSUM at 1.5x, "
            "significant at 1%) and spent at least 2% of a period's budget."
        )
    elif view == "Target design":
        try:
            rec = recommend(scope, share)
        except SloviewError as exc:
            st.error(exc.one_line())
            st.stop()
        st.info(rec.rationale)
        if slo.sli.kind == "joint" and len(slo.sli.conditions) >= 2:
            design = joint_design_cached(loaded, scope, share)
            st.plotly_chart(
                charts.joint_heatmap(
                    design,
                    current=(
                        slo.sli.conditions[0].threshold,
                        slo.sli.conditions[1].threshold,
                    ),
                    value="periods_met_share",
                ),
                width="stretch",
                key="joint",
            )
            st.caption(design.rationale)
        if slo.sli.kind == "latency":
            sweep = sweep_thresholds(scope)
            st.plotly_chart(
                charts.sweep_curve(
                    sweep, rec.threshold, slo.objective.threshold, LATENCY_COLUMNS[slo.sli.metric]
                ),
                width="stretch",
                key="sweep",
            )
            if rec.threshold_every_period is not None:
                st.caption(
                    f"Met in every period: {format_ms(rec.threshold_every_period)} at "
                    f"{percent(slo.objective.target)}."
                )
        targets = sweep_targets(scope)
        st.dataframe(
            pd.DataFrame(
                {
                    "target": [percent(t) for t in targets.targets],
                    "share of periods met": [percent(x, 1) for x in targets.periods_met_share],
                }
            ),
            hide_index=True,
        )
    elif view == "Goodput":
        frame = goodput_over_time(scope, 300)
        rate = slo.objective.threshold if slo.sli.kind == "throughput" else None
        st.plotly_chart(charts.goodput(frame, rate), width="stretch", key="goodput")
        st.caption(
            "Goodput counts the requests per second that succeeded and met every condition "
            "of this SLI; throughput counts them all. The gap is what users did not get."
        )
        if engine.segment_columns():
            column = st.selectbox("goodput by", engine.segment_columns(), key="goodput_segment")
            by_segment = goodput_by_segment(scope, column)
            st.dataframe(
                by_segment.assign(
                    good_share=by_segment["good_share"].map(lambda x: percent(float(x), 2))
                ),
                hide_index=True,
                width="stretch",
            )
    else:
        if not engine.segment_columns():
            st.caption("These requests have no segment columns.")
        else:
            column = st.selectbox("by", engine.segment_columns(), key="design_segment")
            try:
                results = segment_results(scope, column)
                recs = segment_recommendations(scope, column, share)
            except SloviewError as exc:
                st.error(exc.one_line())
                results, recs = [], {}
            if results:
                st.plotly_chart(
                    charts.segment_attainment(results, slo.objective.target),
                    width="stretch",
                    key="segments",
                )
            st.dataframe(
                pd.DataFrame(
                    [
                        {
                            seg.column: seg.value,
                            "attainment": percent(seg.overall.attainment, 3),
                            "95% CI": (
                                f"{percent(seg.overall.ci_low, 2)} to "
                                f"{percent(seg.overall.ci_high, 2)}"
                            ),
                            "periods met": f"{seg.periods_met} of {seg.periods}",
                            "requests/slices": f"{seg.overall.total:,.0f}",
                            "recommended threshold": _threshold_text(recs.get(seg.value)),
                            "highest target met": _target_text(recs.get(seg.value)),
                        }
                        for seg in results
                    ]
                ),
                hide_index=True,
                width="stretch",
            )
    for note in sim.notes:
        st.caption(note)
