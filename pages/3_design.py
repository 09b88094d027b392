"""Design: edit a candidate SLO and see at once how it would have done on this history."""

from __future__ import annotations

import streamlit as st

from sloview import charts
from sloview import formatting as fmt
from sloview.design import (
    JointDesign,
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
from sloview.simulate import Simulation, data_notes, segment_results, simulate
from sloview.ui import candidate, composite, shortlist, show, state, style, tables
from sloview.ui.navigation import ensure_app

ensure_app()


@st.cache_resource(max_entries=16, show_spinner="Computing the threshold-pair grid ...")
def _joint_design(key: str, _scope: Scope, share: float) -> JointDesign:
    return joint_design(_scope, share)


def joint_design_cached(loaded: state.Loaded, scope: Scope, share: float) -> JointDesign:
    """The 2-D design does not depend on the candidate's thresholds on its two axes."""
    axes = {c.metric: 0.0 for c in scope.slo.sli.conditions[:2]}
    key = f"{loaded.key}|{encode_slo(scope.slo.with_conditions(axes))}|{share}"
    return _joint_design(key, scope, share)


def headline(loaded: state.Loaded, scope: Scope, sim: Simulation, draft: candidate.Draft) -> None:
    """The statement, the threshold right under it, what changes how to read them, and the
    four figures the room decides on."""
    st.markdown(f"### {sim.statement}")
    candidate.threshold_control(loaded, draft)
    # What changes how to read the figures comes first, above them.
    for warning in sim.warnings:
        st.warning(warning, icon=":material/warning:")
    if not scope.engine.exact:
        # Aggregated data: how exact the figures are belongs next to them, not in a footnote.
        st.info(" ".join(data_notes(scope)), icon=":material/bar_chart:")
    o, target = sim.overall, scope.slo.objective.target
    # Four across, or two by two in presentation mode's larger type.
    per_row = 2 if style.presentation() else 4
    c = [cell for _ in range(4 // per_row) for cell in st.columns(per_row)]
    c[0].metric(
        "attainment",
        fmt.attainment(o.attainment, target),
        help=f"95% CI {fmt.ci_range(o.ci_low, o.ci_high, target)} "
        f"({fmt.count(o.good)} good of {fmt.count(o.total)})",
    )
    c[1].metric(
        "whole periods met",
        "none judged" if sim.periods_met is None else f"{sim.periods_met} of {sim.periods_judged}",
        help="Only periods the data cover whole are judged; a partial one is shown, not judged.",
    )
    c[2].metric(
        "budget left",
        fmt.budget(sim.error_budget_remaining),
        help="Error budget left in the latest whole period (below 0% means overspent).",
    )
    pages = sum(1 for f in sim.firings if f.rule.severity == "page")
    c[3].metric(
        "alerts fired",
        f"{len(sim.firings)}",
        help=f"{pages} pages, {len(sim.firings) - pages} tickets; "
        f"{len(sim.missed_violations)} violations missed",
    )
    st.caption(f"95% CI of the attainment: {fmt.ci_range(o.ci_low, o.ci_high, target)}.")


def compliance(sim: Simulation) -> None:
    """Per-period attainment and the error budget over time."""
    st.plotly_chart(charts.period_attainment(sim), width="stretch", key="periods")
    st.plotly_chart(charts.budget_burndown(sim), width="stretch", key="budget")
    st.caption(
        "A period is one calendar period, or the rolling window ending at each day's end. Grey "
        "bars: periods the data cover only in part (shown, not judged). Budget left is not "
        "clamped: below zero means the budget was overspent."
    )


def alerts(sim: Simulation) -> None:
    """Burn rates, the alert timeline, every firing and the violations no alert caught."""
    st.plotly_chart(charts.burn_rates(sim), width="stretch", key="burn")
    if sim.firings or sim.violations:
        st.plotly_chart(charts.alert_timeline(sim), width="stretch", key="timeline")
    else:
        st.success("No alert would have fired, and the data hold no violation to catch.")
    if sim.firings:
        show.table(tables.firings(sim))
    for v in sim.missed_violations:
        st.warning(
            f"Missed: {fmt.when(v.start)} to {fmt.when(v.end)} spent "
            f"{fmt.budget(v.budget_spent)} of a period's budget and no alert fired."
        )
    st.caption(
        "Alerts fire while both windows burn faster than the factor (shaded where one fired); "
        "a violation is a stretch where errors ran clearly above the budgeted rate (CUSUM at "
        "1.5x, significant at 1%) and spent at least 2% of a period's budget: green when an "
        "alert caught it, red when none did."
    )


def target_design(loaded: state.Loaded, scope: Scope, share: float) -> None:
    """The recommendation, the threshold sweep (or the threshold-pair grid) and the targets."""
    slo = scope.slo
    try:
        rec = recommend(scope, share)
    except SloviewError as exc:
        st.error(exc.one_line())
        return
    st.info(rec.rationale)
    if slo.sli.kind == "joint" and len(slo.sli.conditions) >= 2:
        design = joint_design_cached(loaded, scope, share)
        current = (slo.sli.conditions[0].threshold, slo.sli.conditions[1].threshold)
        st.plotly_chart(
            charts.joint_heatmap(design, current=current, value="periods_met_share"),
            width="stretch",
            key="joint",
        )
        st.caption(design.rationale)
    if slo.sli.kind == "latency":
        sweep = sweep_thresholds(scope)
        label = LATENCY_COLUMNS[slo.sli.metric]
        st.plotly_chart(
            charts.sweep_curve(sweep, rec.threshold, slo.objective.threshold, label),
            width="stretch",
            key="sweep",
        )
        if rec.threshold_every_period is not None:
            st.caption(
                f"Met in every whole period: {fmt.ms(rec.threshold_every_period)} at "
                f"{fmt.percent(slo.objective.target)}."
            )
    show.table(tables.targets(sweep_targets(scope)))


def goodput(scope: Scope) -> None:
    """Good requests per second beside all requests per second, overall and per segment."""
    frame = goodput_over_time(scope, 300)
    slo = scope.slo
    rate = slo.objective.threshold if slo.sli.kind == "throughput" else None
    st.plotly_chart(charts.goodput(frame, rate), width="stretch", key="goodput")
    st.caption(
        "Goodput counts the requests per second that succeeded and met every condition of this "
        "SLI; throughput counts them all. The gap is what users did not get."
    )
    columns = scope.engine.segment_columns()
    if columns:
        column = st.selectbox("goodput by", columns, key="goodput_segment")
        show.table(tables.goodput_by_segment(goodput_by_segment(scope, column), column))


def segments(scope: Scope, share: float) -> None:
    """The same candidate on each value of a segment column."""
    columns = scope.engine.segment_columns()
    if not columns:
        st.caption("These requests have no segment columns.")
        return
    column = st.selectbox("by", columns, key="design_segment")
    try:
        results = segment_results(scope, column)
        recs = segment_recommendations(scope, column, share)
    except SloviewError as exc:
        st.error(exc.one_line())
        return
    target = scope.slo.objective.target
    if results:
        st.plotly_chart(charts.segment_attainment(results, target), width="stretch", key="segments")
    show.table(tables.segments(results, target, recs))
    st.caption(
        "Each row is this candidate narrowed to one value. Verdict: met, missed, or fails too "
        "often when the objective is met but failed requests alone exceed the error budget."
    )


@st.fragment
def workbench(loaded: state.Loaded) -> None:
    """The editor and its figures: a change here reruns this part only, not the whole page."""
    left, right = st.columns([1, 2], gap="large")
    with left:
        st.subheader("Candidate")
        st.session_state["design_draft"] = candidate.editor(loaded)
    with right:
        results(loaded)


@st.fragment
def results(loaded: state.Loaded) -> None:
    """The threshold and everything it moves: a threshold move reruns only this part."""
    draft = st.session_state.get("design_draft")
    if draft is None:
        return
    slo = candidate.complete(loaded, draft)
    if slo is None:
        return
    st.query_params["slo"] = encode_slo(slo)
    st.session_state["link_loaded"] = st.query_params["slo"]
    # The candidate bound to its requests: every figure below comes from this one scope.
    scope = Scope.bind(loaded.engine, slo)
    try:
        sim = simulate(scope)
    except SloviewError as exc:
        st.error(exc.one_line())
        return
    views = ["Compliance", "Alerts", "Target design", "Segments"]
    if slo.sli.uses_conditions:
        views.append("Goodput")
    headline(loaded, scope, sim, draft)
    b1, b2 = st.columns([1, 3])
    if b1.button("Add to shortlist", type="primary", help="Compare on the Compare page"):
        shortlist.add(slo)
        st.toast(f"{slo.name} added to the shortlist")
    # One view at a time: only what is on screen is computed and drawn, so a move stays quick.
    view = (
        b2.segmented_control(
            "show", views, default="Compliance", key="design_view", label_visibility="collapsed"
        )
        or "Compliance"
    )
    if view == "Compliance":
        compliance(sim)
    elif view == "Alerts":
        alerts(sim)
    elif view == "Target design":
        target_design(loaded, scope, draft.share)
    elif view == "Goodput":
        goodput(scope)
    else:
        segments(scope, draft.share)
    for note in sim.notes:
        st.caption(note)


st.title("Design")
loaded = state.load()
if not loaded.engine.has_time:
    st.error(
        "These requests have no timestamps, so an SLO cannot be simulated over time. "
        "Map the time column on the Data page; the Explore page still shows the distribution "
        "and compares segments against a threshold and target."
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

workbench(loaded)
# Below the workbench: combining shortlisted candidates is not part of a threshold move.
composite.render_editor()
