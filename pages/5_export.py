"""Export: the agreed SLOs as YAML, the workshop session file, and a shareable link."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from sloview.errors import SloviewError
from sloview.export import MetricSource, validate_openslo
from sloview.export.openslo import to_openslo
from sloview.export.rules_test import promtool_tests
from sloview.export.writers import PROMETHEUS_FORMATS, WRITERS, write_export
from sloview.report import render_html, render_markdown, render_pdf, report_inputs
from sloview.session import Session, encode_slo
from sloview.specfile import dump_slos
from sloview.ui import composite, shortlist, state
from sloview.ui.navigation import ensure_app

ensure_app()
st.title("Export")
loaded = state.load()
items = shortlist.items()
agreed = [c for c in items if c.agreed]
chosen = agreed or items

st.subheader("SLO definitions")
if not chosen:
    st.info(
        "Nothing to export yet: add candidates to the shortlist on the Design page and mark "
        "the agreed ones on the Compare page."
    )
else:
    what = "agreed" if agreed else "shortlisted (none marked agreed yet)"
    st.caption(
        f"{len(chosen)} {what} SLOs. `sloview simulate SOURCE --slo FILE` reads any of "
        "these formats back."
    )
    slos = [c.slo for c in chosen]
    labels = {
        "openslo": "OpenSLO v1",
        "sloth": "Sloth (prometheus/v1)",
        "prometheus-rules": "Prometheus rules",
        "grafana": "Grafana dashboard",
        "sloview": "sloview YAML",
    }
    fmt = st.radio("format", list(labels), format_func=labels.__getitem__, horizontal=True)
    promql = fmt in PROMETHEUS_FORMATS
    source: MetricSource | None = None
    if fmt != "sloview":
        with st.expander(
            "Where production numbers come from (queries in the export)", expanded=promql
        ):
            kind = st.radio(
                "metric source",
                ["Prometheus histogram", "SQL table", "this request file"],
                horizontal=True,
                index=0 if promql else 2,
            )
            try:
                if kind == "Prometheus histogram":
                    c1, c2 = st.columns(2)
                    histogram = c1.text_input(
                        "latency histogram (seconds)", "http_request_duration_seconds"
                    )
                    buckets = c2.text_input(
                        "bucket bounds (seconds, comma-separated)",
                        placeholder="default client buckets",
                    )
                    c3, c4 = st.columns(2)
                    label = c3.text_input("status label", "code")
                    codes = c4.text_input("error codes (regex)", "5..|429")
                    source = MetricSource(
                        kind="prometheus",
                        histograms=(("latency_ms", histogram.strip()),),
                        status_label=label.strip(),
                        error_codes=codes.strip(),
                        buckets=tuple(float(b) for b in buckets.split(",") if b.strip()),
                    )
                elif kind == "SQL table":
                    c1, c2 = st.columns(2)
                    table_name = c1.text_input("table of requests", "requests")
                    url = c2.text_input("connection URL (credentials are never exported)", "")
                    source = MetricSource(kind="sql", table=table_name.strip(), url=url)
                else:
                    source = MetricSource(kind="file", path=loaded.source_name)
            except (SloviewError, ValueError) as exc:
                st.error(
                    exc.one_line()
                    if isinstance(exc, SloviewError)
                    else f"Bucket bounds must be numbers in seconds ({exc})."
                )
                source = None
    tests = None
    try:
        if fmt == "sloview":
            text, name, warnings = dump_slos(slos), "slos.yaml", ()
        elif fmt == "openslo":
            result = to_openslo([*slos, *composite.items()], source)
            text, name, warnings = result.text, WRITERS[fmt][2], result.warnings
        else:
            result = write_export(fmt, slos, source)
            text, name, warnings = result.text, WRITERS[fmt][2], result.warnings
        if fmt == "openslo":
            problems = validate_openslo(text)
            if problems:
                st.error(
                    "The export breaks OpenSLO rules: "
                    + "; ".join(f"{v.path}: {v.message}" for v in problems)
                )
            else:
                st.success("Valid OpenSLO v1 (checked against the OpenSLO SDK's rules).")
        if fmt == "prometheus-rules":
            tests = promtool_tests(slos, source, rules_file=name).text
    except SloviewError as exc:
        st.error(exc.one_line())
    else:
        for warning in warnings:
            st.warning(warning)
        language = "json" if name.endswith(".json") else "yaml"
        mime = "application/json" if language == "json" else "application/x-yaml"
        st.code(text, language=language)
        st.download_button(f"Download {name}", text, file_name=name, mime=mime)
        if tests is not None:
            st.caption(
                "A promtool unit test whose expected ratios and alerts are sloview's backtest "
                f"of synthetic traffic: put it beside {name} and run "
                "`promtool test rules slo-rules.test.yml`."
            )
            st.download_button(
                "Download slo-rules.test.yml",
                tests,
                file_name="slo-rules.test.yml",
                mime="application/x-yaml",
            )

st.subheader("Stakeholder report")
if not items:
    st.caption("The report needs at least one shortlisted candidate.")
else:
    st.caption(
        "For people who were not in the room: the agreed SLOs in plain English, how each would "
        "have done (periods, budget, alerts), the recommendation and alternatives, risks, data "
        "provenance, the decision log and a sign-off table. One self-contained HTML file that "
        "works offline; a Markdown summary for wikis; a PDF."
    )
    title = st.text_input("report title", "Service Level Objectives", key="report_title")
    generated = pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%d %H:%M UTC")
    try:
        inputs = report_inputs(
            loaded.data,
            loaded.engine,
            items,
            generated_at=generated,
            title=title,
            composites=composite.items(),
        )
    except SloviewError as exc:
        st.error(exc.one_line())
    else:
        c1, c2, c3 = st.columns(3)
        c1.download_button(
            "Download report.html",
            render_html(inputs),
            file_name="slo-report.html",
            mime="text/html",
        )
        c2.download_button(
            "Download report.md",
            render_markdown(inputs),
            file_name="slo-report.md",
            mime="text/markdown",
        )
        if c3.button("Make the PDF", help="Prints the HTML report with headless Chromium"):
            with st.spinner("Printing the report with Chromium (about ten seconds) ..."):
                try:
                    st.session_state["report_pdf"] = render_pdf(render_html(inputs), title=title)
                except SloviewError as exc:
                    st.error(exc.one_line())
        if st.session_state.get("report_pdf"):
            c3.download_button(
                "Download report.pdf",
                st.session_state["report_pdf"],
                file_name="slo-report.pdf",
                mime="application/pdf",
            )

st.subheader("Workshop session")
st.caption(
    "Saves the data source's name, the column mapping, every shortlisted candidate with "
    "its note and decision. The data itself is not included."
)
session = Session(
    source=loaded.source_name,
    mapping=state.mapping(),
    candidates=tuple(items),
    saved_at=pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ"),
)
st.download_button(
    "Download session.json",
    session.to_json(),
    file_name="sloview-session.json",
    mime="application/json",
)
upload = st.file_uploader("Load a session file", type=["json"], key="session_upload")
if upload is not None and st.session_state.get("session_seen") != upload.file_id:
    st.session_state["session_seen"] = upload.file_id
    try:
        restored = Session.from_json(upload.getvalue())
    except SloviewError as exc:
        st.error(exc.one_line())
    else:
        shortlist.save(list(restored.candidates))
        state.set_mapping(restored.mapping)
        if restored.source and restored.source != loaded.source_name:
            st.warning(
                f"This session was made with '{restored.source}'; load that file on the "
                "Data page to see the same figures."
            )
        st.success(f"Restored {len(restored.candidates)} candidates.")

st.subheader("Shareable link to a candidate")
names = [c.slo.name for c in items]
if names:
    pick = st.selectbox("candidate", names)
    slo = next(c.slo for c in items if c.slo.name == pick)
    base = (st.context.url or "").split("?")[0].rsplit("/", 1)[0]
    st.code(f"{base}/design?slo={encode_slo(slo)}", language=None)
    st.caption(
        "Opening the link shows the candidate on the Design page with the same settings. "
        "The link carries the SLO only, never data or credentials."
    )
else:
    st.caption(
        "The Design page's address always carries the current candidate; copy it from "
        "the browser, or shortlist candidates to pick one here."
    )
