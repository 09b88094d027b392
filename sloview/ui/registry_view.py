"""The registry in the app: recording agreed SLOs from Compare, and the Review page's panels.

The registry is the one `sloview registry` and `sloview review` use (SLOVIEW_REGISTRY, or a
SQLite file under the user's data directory), so a decision taken in the room is the one the
monthly job reviews.
"""

from __future__ import annotations

import os

import pandas as pd
import streamlit as st

from sloview import charts
from sloview import formatting as fmt
from sloview.errors import SloviewError
from sloview.registry import Registry, default_url
from sloview.report import review as review_text
from sloview.report.review import review_report_inputs
from sloview.review import Review, decision_figures, spec_diff, with_objective
from sloview.session import Candidate
from sloview.simulate import Simulation
from sloview.ui import downloads, show, state
from sloview.wording import statement

ACTION_ICONS = {
    "keep": ":material/check_circle:",
    "tighten": ":material/compress:",
    "loosen": ":material/expand:",
}


@st.cache_resource(show_spinner="Opening the SLO registry ...")
def _registry(url: str) -> Registry:
    return Registry(url, environ=os.environ)


def open_registry() -> Registry | None:
    """The registry, or None after an st.error saying why it cannot be opened."""
    try:
        return _registry(default_url(os.environ))
    except SloviewError as exc:
        st.error(exc.one_line())
        return None


def now_iso() -> str:
    """The time the registry records for a decision taken now (the app is the clock's edge)."""
    return pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def standing(registry: Registry, candidate: Candidate) -> tuple[str, bool]:
    """How an agreed candidate stands in the registry: the sentence, and whether recording it
    would add a version (a spec identical to the latest version adds nothing)."""
    latest = registry.find(candidate.slo.name)
    if latest is None:
        return "new: recording makes version 1", True
    if latest.slo.to_dict() == candidate.slo.to_dict():
        return f"the same as agreed version {latest.version} ({latest.agreed_by})", False
    return (
        f"changed since version {latest.version}: recording makes version {latest.version + 1}",
        True,
    )


def record_agreed(items: list[Candidate], sims: dict[str, Simulation]) -> None:
    """Compare's box that records the agreed candidates in the registry."""
    agreed = [c for c in items if c.agreed and c.slo.name in sims]
    st.subheader("Record the agreement")
    if not agreed:
        st.caption("Tick **agreed** on a candidate above to record it in the SLO registry.")
        return
    registry = open_registry()
    if registry is None:
        return
    rows = [(c, *standing(registry, c)) for c in agreed]
    for c, text, _ in rows:
        st.markdown(f"- **{c.slo.name}**: {text}")
    pending = [c for c, _, new in rows if new]
    st.caption(
        f"Registry: {registry.describe()} (set SLOVIEW_REGISTRY for a team's PostgreSQL). Each "
        "version keeps the spec, who agreed, when, the note as the reason, the data it was "
        "decided on and the figures above."
    )
    if not pending:
        return
    who = st.text_input("agreed by", key="agreed_by", placeholder="names of the people agreeing")
    if st.button(
        f"Record {len(pending)} agreed SLO{'s' if len(pending) != 1 else ''} in the registry",
        type="primary",
        disabled=not who.strip(),
        help="Type who agreed first" if not who.strip() else None,
    ):
        at, fingerprint = now_iso(), state.data_fingerprint()
        try:
            for c in pending:
                sim = sims[c.slo.name]
                v = registry.agree(
                    c.slo,
                    by=who,
                    at=at,
                    rationale=c.note,
                    fingerprint=fingerprint,
                    start=fmt.iso_utc(sim.coverage.start),
                    end=fmt.iso_utc(sim.coverage.end),
                    figures=decision_figures(sim),
                )
                st.toast(f"Recorded {v.name} version {v.version}", icon=":material/task_alt:")
        except SloviewError as exc:
            st.error(exc.one_line())
            return
        st.rerun()


def review_panel(registry: Registry, r: Review, reviewer: str) -> None:
    """One agreed SLO's review: figures, trend, suggestion, history, and the two decisions."""
    name, version = r.agreed.name, r.agreed.version
    st.subheader(f"{name} (version {version})")
    st.markdown(f"**{r.simulation.statement}**")
    o = r.simulation.overall
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("attainment", fmt.attainment(o.attainment, r.target))
    c2.metric("target", fmt.percent(r.target))
    c3.metric("verdict", review_text.verdict(r))
    c4.metric("budget left (period)", fmt.budget(r.budget_remaining))
    st.caption(review_text.figures_sentence(r))
    for text in r.simulation.warnings:
        st.warning(text, icon=":material/warning:")
    st.plotly_chart(charts.review_trend(r.trend()), width="stretch", key=f"trend_{name}")
    s = r.suggestion
    box = st.success if s.action == "keep" else st.warning
    box(review_text.suggestion_sentence(r), icon=ACTION_ICONS[s.action])
    with st.expander(f"Versions agreed ({len(registry.versions(name))})"):
        show.table(
            pd.DataFrame(
                review_text.history_rows(
                    review_text.ReviewFindings(r, tuple(registry.versions(name)))
                ),
                columns=list(review_text.HISTORY_HEADERS),
            )
        )
    _record_review(registry, r, reviewer)
    _agree_new_version(registry, r, reviewer)
    st.divider()


def _record_review(registry: Registry, r: Review, reviewer: str) -> None:
    fingerprint = state.data_fingerprint()
    done = r.recorded_before(fingerprint)
    key = f"{r.agreed.name}_{r.agreed.version}"
    if done is not None:
        who = f", by {done.reviewed_by}" if done.reviewed_by else ""
        st.caption(
            f"This review of these data is recorded ({fmt.recorded(done.reviewed_at)}{who})."
        )
        return
    note = st.text_input("note with the review", key=f"review_note_{key}")
    if st.button(
        "Record this review",
        key=f"record_{key}",
        disabled=not reviewer.strip(),
        help="Type who reviews at the top first" if not reviewer.strip() else None,
    ):
        try:
            registry.record_review(
                r.record(
                    at=now_iso(),
                    by=reviewer,
                    source=state.load().source_name,
                    fingerprint=fingerprint,
                    note=note,
                )
            )
        except SloviewError as exc:
            st.error(exc.one_line())
            return
        st.toast(f"Recorded the review of {r.agreed.name}", icon=":material/task_alt:")
        st.rerun()


def _agree_new_version(registry: Registry, r: Review, reviewer: str) -> None:
    old = r.agreed.slo
    key = f"{r.agreed.name}_{r.agreed.version}"
    with st.expander(f"Agree version {r.agreed.version + 1} ..."):
        suggested = r.suggested_slo()
        c1, c2 = st.columns(2)
        target = c1.number_input(
            "target (%)",
            min_value=50.0,
            max_value=99.999,
            value=float(suggested.objective.target * 100),
            step=0.1,
            format="%.3f",
            key=f"new_target_{key}",
        )
        threshold = None
        if old.threshold_ms is not None and suggested.threshold_ms is not None:
            threshold = c2.number_input(
                "threshold (ms)",
                min_value=1.0,
                value=float(suggested.threshold_ms),
                step=50.0,
                key=f"new_threshold_{key}",
            )
        new = with_objective(old, target / 100, threshold)
        changes = spec_diff(old, new)
        if not changes:
            st.caption("Change the target or threshold to agree a new version.")
            return
        st.markdown(f"**New:** {statement(new)}")
        show.table(
            pd.DataFrame(
                [(path, a, b) for path, a, b in changes],
                columns=["field", f"version {r.agreed.version}", f"version {r.agreed.version + 1}"],
            )
        )
        why = st.text_input(
            "why", value=r.suggestion.why if new == suggested else "", key=f"why_{key}"
        )
        if st.button(
            f"Agree version {r.agreed.version + 1}",
            key=f"agree_new_{key}",
            type="primary",
            disabled=not reviewer.strip(),
            help="Type who agrees at the top first" if not reviewer.strip() else None,
        ):
            sim = r.simulation
            try:
                v = registry.agree(
                    new,
                    by=reviewer,
                    at=now_iso(),
                    rationale=why,
                    fingerprint=state.data_fingerprint(),
                    start=fmt.iso_utc(sim.coverage.start),
                    end=fmt.iso_utc(sim.coverage.end),
                    figures=decision_figures(sim),
                )
            except SloviewError as exc:
                st.error(exc.one_line())
                return
            st.toast(f"Agreed {v.name} version {v.version}", icon=":material/task_alt:")
            st.rerun()


def review_report(loaded: state.Loaded, registry: Registry, reviews: list[Review]) -> None:
    """The review report (HTML, Markdown, PDF), prepared on request: it simulates every SLO
    again with its recommendation, which a slider move should not wait for."""
    st.subheader("Review report")
    st.caption(
        "For people who were not in the room: this period's verdicts, the trend, the "
        "suggestions and the versions agreed, then each SLO's history on these data."
    )
    names = tuple(r.agreed.name for r in reviews)
    if st.session_state.get("review_report_for") != names:
        if st.button("Prepare the review report", key="prepare_review_report"):
            st.session_state["review_report_for"] = names
            st.rerun()
        return
    fingerprint = state.data_fingerprint()
    try:
        inputs = review_report_inputs(
            loaded.data,
            loaded.engine,
            reviews,
            generated_at=pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%d %H:%M UTC"),
            history={r.agreed.name: registry.versions(r.agreed.name) for r in reviews},
            recorded=all(r.recorded_before(fingerprint) is not None for r in reviews),
        )
    except SloviewError as exc:
        st.error(exc.one_line())
        return
    downloads.report_buttons(inputs, "slo-review", "review")
