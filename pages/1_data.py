"""Data: load the sample or a file, check the detected mapping, see what was excluded."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from sloview import explore
from sloview import formatting as fmt
from sloview.errors import MAPPING_FORM
from sloview.ingest.error_classes import ERROR_CLASS_LABELS, ERROR_CLASS_RULES, ERROR_CLASSES
from sloview.ingest.strays import RULE as STRAY_HELP
from sloview.summary import error_breakdown
from sloview.ui import aggregated_view, connect, mapping_form, show, state, tables
from sloview.ui.navigation import ensure_app
from sloview.units import UNIT_WORDS

ensure_app()
st.title("Data")
st.caption(
    "Bring request-level samples: CSV/TSV (UTF-8 or UTF-16), Parquet, JSON Lines or JSON arrays, "
    "JMeter JTL (CSV or XML) or LLMPerf results, optionally gzip-compressed; or connect a "
    "database or warehouse (PostgreSQL, SQLite, ClickHouse, Spark or Databricks) or a Prometheus "
    "server. sloview detects the columns; check and correct them below."
)

upload = st.file_uploader(
    "Upload request data",
    type=["csv", "tsv", "txt", "parquet", "json", "jsonl", "ndjson", "jtl", "xml", "gz"],
    help="Up to 200 MB (larger data: the command line, a database or --aggregate). The "
    "bundled sample is used until you upload a file.",
)
if upload is not None and st.session_state.get("upload_seen") != upload.file_id:
    st.session_state["upload_seen"] = upload.file_id
    state.set_upload(upload.name, upload.getvalue())
    state.load()  # a bad file is refused here, with the reason kept for show_load_error
    if st.session_state.get("upload") is not None:
        st.rerun()  # the new data loaded: redraw the sidebar and its filters too
if st.session_state.get("upload") is not None and st.button(
    "Back to the bundled sample", key="use_sample"
):
    state.use_sample()
    st.rerun()
connect.render()

state.show_load_error()
mapping_form.render_pending()
loaded = state.load()
if loaded.table is None:
    aggregated_view.render(loaded)
    st.stop()
table, mapping = loaded.table, loaded.table.mapping

cols = st.columns(4)
cols[0].metric("valid requests", f"{table.rows:,}")
cols[1].metric("rows excluded", f"{table.dropped_total:,}")
errors = int((~table.frame["ok"]).sum())
cols[2].metric("failed requests", f"{errors:,}", help=mapping.policy_description)
span = explore.time_span(table)
if table.synthetic_times_note:
    st.warning(table.synthetic_times_note)
cols[3].metric(
    "time span",
    "no timestamps" if span is None else f"{(span[1] - span[0]).total_seconds() / 86400:.1f} days",
)

st.subheader("How the columns were read")
st.info(f"**Failed requests:** {mapping.policy_description}")
rows = [
    (
        "request time",
        mapping.timestamp or "(none: distribution only)",
        mapping.reasons.get("timestamp", ""),
    ),
    (
        "end-to-end latency",
        f"{mapping.latency} ({UNIT_WORDS[mapping.latency_unit]})",
        f"{mapping.reasons.get('latency', '')}; unit {mapping.reasons.get('latency_unit', '')}",
    ),
    ("status", mapping.status or "(none: all requests succeed)", mapping.reasons.get("status", "")),
    ("time to first token", mapping.ttft or "(none)", mapping.reasons.get("ttft", "")),
    ("output tokens", mapping.output_tokens or "(none)", mapping.reasons.get("output_tokens", "")),
    ("segments", ", ".join(mapping.segments) or "(none)", ""),
]
show.table(
    pd.DataFrame(
        {
            "what": [r[0] for r in rows],
            "read from": [r[1] for r in rows],
            "why": [r[2] for r in rows],
        }
    )
)
st.caption(f"Format: {mapping.source_format}. Naive times are read as {mapping.tz}.")

with st.expander(MAPPING_FORM, expanded=False):
    mapping_form.render(loaded)

st.subheader("Failed requests, by class")
breakdown = error_breakdown(table)
present = breakdown[breakdown["requests"] > 0]
if present.empty:
    st.caption("No request failed in these data.")
else:
    show.table(tables.error_classes(present, ERROR_CLASS_RULES))
    with st.form("error_classes"):
        choice = st.multiselect(
            "error classes that count as good (not failures)",
            list(ERROR_CLASSES),
            default=list(mapping.good_classes),
            format_func=lambda c: ERROR_CLASS_LABELS[c],
            key="error_good_classes",
            help="Generative APIs fail in different ways: rate limiting (429), overload (503), "
            "timeouts, content filters, too-short answers ... Decide which count against "
            "availability.",
        )
        if st.form_submit_button("Apply"):
            state.set_mapping(state.mapping().with_changes(good_classes=tuple(choice)))
            st.rerun()

st.subheader("Rows excluded, by reason")
if table.dropped:
    show.table(
        pd.DataFrame(
            {
                "reason": list(table.dropped),
                "rows left out": [fmt.count(v) for v in table.dropped.values()],
                "first one": [table.example(reason) for reason in table.dropped],
            }
        )
    )
else:
    st.success(f"All {table.rows_read:,} rows were usable.")
for note in table.notes:
    st.caption(note)
if table.has_timestamps:
    keep_strays = st.toggle(
        "Keep rows far from the rest in time",
        value=state.mapping().keep_stray_times,
        help=STRAY_HELP,
    )
    if keep_strays != state.mapping().keep_stray_times:
        state.set_mapping(state.mapping().with_changes(keep_stray_times=keep_strays))
        st.rerun()

st.subheader("The first requests, as sloview reads them")
show.table(tables.preview(table.frame))

if loaded.engine.has_time:
    aggregated_view.quality_panel(explore.data_quality(loaded.view, loaded.engine), loaded.engine)
