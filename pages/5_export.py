"""Export: the agreed SLOs as YAML, the stakeholder report, the session file and a link."""

from __future__ import annotations

import re
from dataclasses import replace

import pandas as pd
import streamlit as st

from sloview import formatting as fmt
from sloview.errors import METRICS_FROM, SloviewError
from sloview.export import MetricSource, to_openslo, validate_openslo
from sloview.export.rules_test import promtool_tests
from sloview.export.source import prometheus_needs
from sloview.export.writers import WRITERS, write_export
from sloview.ingest.table import LATENCY, LATENCY_COLUMNS
from sloview.model import SLO
from sloview.report import report_inputs
from sloview.session import Candidate, Session, agreement_conflicts, encode_slo
from sloview.sources.presets import PRESETS
from sloview.specfile import dump_slos
from sloview.ui import composite, downloads, shortlist, state
from sloview.ui.navigation import ensure_app

ensure_app()
# The radio's words -> the format's key in `sloview.export.writers` (the CLI's --format).
FORMATS = {
    "OpenSLO v1": "openslo",
    "Sloth (prometheus/v1)": "sloth",
    "Prometheus rules": "prometheus-rules",
    "Grafana dashboard": "grafana",
    "sloview YAML": "sloview",
}


def service_name(loaded: state.Loaded, items: list[Candidate]) -> str:
    """The service every export and the report name: typed, or each SLO's own, or one made
    from the data's name (never the placeholder `sloview`)."""
    own = next((c.slo.service for c in items if c.slo.service), "")
    guess = own or re.sub(r"[^a-z0-9]+", "-", loaded.source_name.lower().split(".")[0]).strip("-")
    typed = st.text_input(
        "service",
        value=st.session_state.get("export_service", guess or "my-service"),
        key="export_service",
        help="The service these SLOs belong to: every export and the report name it.",
    )
    return typed.strip() or guess or "my-service"


def metric_source(loaded: state.Loaded, slos: list[SLO]) -> MetricSource | None:
    """Where production numbers come from (the queries in an OpenSLO or Sloth export)."""
    kinds = ["Prometheus histogram", "SQL table", "this request file"]
    kind = st.radio(
        METRICS_FROM,
        kinds,
        horizontal=True,
        key="export_source_kind",
        help="The export's queries read this source. Prometheus is what monitoring tools "
        "evaluate; 'this request file' is for sloview itself.",
    )
    try:
        if kind == "Prometheus histogram":
            # From a connected Prometheus, its own histogram and status label.
            options = connected.options if (connected := state.connected()) else None
            c1, c2 = st.columns(2)
            histogram = c1.text_input(
                "latency histogram (seconds)",
                (options and options.histogram) or "http_request_duration_seconds",
            )
            buckets = c2.text_input(
                "bucket bounds (seconds, comma-separated)", placeholder="default client buckets"
            )
            c3, c4 = st.columns(2)
            label = c3.text_input("status label", (options and options.status_label) or "code")
            codes = c4.text_input("error codes (regular expression)", "5..|429")
            histograms = [(LATENCY, histogram.strip())]
            # The TTFT/TPOT histograms and the token counter, asked for when an SLO needs them
            # (from a connected Prometheus when it was given them).
            metrics, needs_tokens = prometheus_needs(slos)
            for column, metric in zip(st.columns(2), metrics, strict=False):
                name = column.text_input(
                    f"{LATENCY_COLUMNS[metric]} histogram (seconds)",
                    (options and options.histogram_of(metric)) or "",
                    placeholder=f"e.g. {PRESETS['vllm'].histogram_of(metric)}",
                )
                if name.strip():
                    histograms.append((metric, name.strip()))
            tokens = ""
            if needs_tokens:
                tokens = st.text_input(
                    "output token counter", placeholder="e.g. vllm:generation_tokens_total"
                )
            return MetricSource(
                kind="prometheus",
                histograms=tuple(histograms),
                tokens_counter=tokens.strip(),
                status_label=label.strip(),
                error_codes=codes.strip(),
                buckets=tuple(float(b) for b in buckets.split(",") if b.strip()),
            )
        if kind == "SQL table":
            c1, c2 = st.columns(2)
            table_name = c1.text_input("table of requests", "requests")
            url = c2.text_input("connection URL (credentials are never exported)", "")
            return MetricSource(kind="sql", table=table_name.strip(), url=url)
        return MetricSource(kind="file", path=loaded.source_name)
    except SloviewError as exc:
        st.error(exc.one_line(app=True))
    except ValueError:
        st.error("Bucket bounds must be numbers of seconds separated by commas, e.g. 0.1, 0.25.")
    return None


def definitions(slos: list[SLO], fmt_name: str, source: MetricSource | None) -> None:
    """The chosen format: checked, previewed folded, copied or downloaded (with the promtool
    test file for Prometheus rules)."""
    key = FORMATS[fmt_name]
    tests = None
    try:
        if key == "sloview":
            text, name, warnings = dump_slos(slos), "slos.yaml", ()
        elif key == "openslo":
            # Composites built on Design are OpenSLO composite SLOs over the agreed objectives.
            result = to_openslo([*slos, *composite.items()], source)
            text, name, warnings = result.text, WRITERS[key][2], result.warnings
            problems = validate_openslo(text)
            if problems:
                st.error(
                    "The export breaks OpenSLO rules: "
                    + "; ".join(f"{v.path}: {v.message}" for v in problems)
                )
            else:
                st.success("Valid OpenSLO v1 (checked against the OpenSLO SDK's rules).")
        else:
            result = write_export(key, slos, source)
            text, name, warnings = result.text, WRITERS[key][2], result.warnings
        if key == "prometheus-rules":
            tests = promtool_tests(slos, source, rules_file=name).text
    except SloviewError as exc:
        st.error(exc.one_line(app=True))
        return
    for warning in warnings:
        st.warning(warning)
    language = "json" if name.endswith(".json") else "yaml"
    mime = "application/json" if language == "json" else "application/x-yaml"
    lines = text.count("\n")
    with st.expander(f"Preview {name} ({lines} lines; the copy button is at its top right)"):
        st.code(text, language=language)
    st.download_button(f"Download {name}", text, file_name=name, mime=mime)
    if tests is not None:
        st.caption(
            "A promtool unit test whose expected ratios and alerts are sloview's backtest of "
            f"synthetic traffic: put it beside {name} and run "
            "`promtool test rules slo-rules.test.yml`."
        )
        st.download_button(
            "Download slo-rules.test.yml",
            tests,
            file_name="slo-rules.test.yml",
            mime="application/x-yaml",
        )


def report(loaded: state.Loaded, items: list[Candidate]) -> None:
    """The stakeholder report: HTML and Markdown at once, the PDF printed in the background."""
    st.caption(
        "For people who were not in the room: the agreed SLOs in one sentence each with their "
        "verdicts, how each would have done, the risks, data provenance, the decision log and a "
        "sign-off table. One self-contained HTML file that works offline; a Markdown summary "
        "for wikis; a PDF."
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
        st.error(exc.one_line(app=True))
        return
    downloads.report_buttons(inputs, "slo-report", "report")


def session_file(loaded: state.Loaded, items: list[Candidate]) -> None:
    """Save the workshop (never the data) and load one back."""
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
            st.error(exc.one_line(app=True))
            return
        shortlist.save(list(restored.candidates))
        state.set_mapping(restored.mapping)
        if restored.source and restored.source != loaded.source_name:
            st.warning(
                f"This session was made with '{restored.source}'; load that data on the "
                "Data page to see the same figures."
            )
        st.success(f"Restored {fmt.count(len(restored.candidates), 'candidate')}.")


def link(items: list[Candidate]) -> None:
    """A link that opens one candidate on the Design page."""
    names = [c.slo.name for c in items]
    if not names:
        st.caption(
            "The Design page's address always carries the current candidate; copy it from the "
            "browser, or shortlist candidates to pick one here."
        )
        return
    pick = st.selectbox("candidate", names)
    slo = next(c.slo for c in items if c.slo.name == pick)
    base = (st.context.url or "").split("?")[0].rsplit("/", 1)[0]
    st.code(f"{base}/design?slo={encode_slo(slo)}", language=None, wrap_lines=True)
    st.caption(
        "Opening the link shows the candidate on the Design page with the same settings. The "
        "link carries the SLO only, never data or credentials."
    )


st.title("Export")
loaded = state.load()
items = shortlist.items()
conflicts = agreement_conflicts(items)
for text in conflicts:
    st.error(text, icon=":material/rule:")
service = service_name(loaded, items)
items = [replace(c, slo=c.slo.with_changes(service=service)) for c in items]
agreed = [c for c in items if c.agreed]
chosen = agreed or items

st.subheader("SLO definitions")
if not chosen:
    st.info(
        "Nothing to export yet: add candidates to the shortlist on the Design page and mark "
        "the agreed ones on the Compare page."
    )
elif conflicts:
    st.caption("Resolve the agreements above on the Compare page to export.")
else:
    what = "agreed" if agreed else "shortlisted (none marked agreed yet)"
    st.caption(
        f"{fmt.count(len(chosen), f'{what} SLO')} for the service {service}. sloview reads any "
        "of these files back."
    )
    fmt_name = st.radio("format", list(FORMATS), horizontal=True, key="export_format")
    source = None if fmt_name == "sloview YAML" else metric_source(loaded, [c.slo for c in chosen])
    definitions([c.slo for c in chosen], fmt_name, source)

st.subheader("Stakeholder report")
if not items:
    st.caption("The report needs at least one shortlisted candidate.")
else:
    report(loaded, items)

st.subheader("Workshop session")
session_file(loaded, items)

st.subheader("Shareable link to a candidate")
link(items)
