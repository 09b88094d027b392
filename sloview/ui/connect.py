"""The Data page's "connect a source" form: a database or warehouse, or a Prometheus server.

Credentials typed here stay in this session's server-side state; the page shows the source
only as `describe_source` prints it (no password, no token), and cache keys are digests.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from sloview.errors import CONNECT_FORM, SloviewError
from sloview.explore import TABLE_PERCENTILES
from sloview.sources.catalog import connection_names, list_tables, with_password
from sloview.sources.open import SourceOptions, parse_matcher
from sloview.sources.presets import PRESETS
from sloview.sources.sql import ROW_LIMIT
from sloview.ui import state
from sloview.units import parse_ms_list

TYPED = "type a URL"


def _csv(text: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in text.split(",") if v.strip())


def _connection_field(kind: str, placeholder: str) -> tuple[str, dict[str, str]]:
    """(SOURCE text, extra environment) from a named connection or a typed URL + secret."""
    names = connection_names()
    choice = TYPED
    if names:
        choice = st.selectbox(
            "connection",
            [TYPED, *names],
            key=f"src_{kind}_named",
            help="Named connections come from .streamlit/secrets.toml [connections.NAME] "
            "(the file st.connection reads) or SLOVIEW_NAME_URL.",
        )
    if choice != TYPED:
        return f"@{choice}", {}
    c1, c2 = st.columns([3, 2])
    url = c1.text_input("URL", key=f"src_{kind}_url", placeholder=placeholder)
    if kind == "sql":
        password = c2.text_input(
            "password or token (optional)",
            type="password",
            key="src_sql_password",
            help="Kept in this session only; never exported, reported or shown. For Spark "
            "Connect (sc://) it is the access token.",
        )
        return (with_password(url.strip(), password) if password else url.strip()), {}
    token = c2.text_input(
        "bearer token (optional)",
        type="password",
        key="src_prom_token",
        help="Kept in this session only; never exported, reported or shown.",
    )
    env = {"SLOVIEW_PROMETHEUS_TOKEN": token} if token else {}
    url = url.strip()
    if url.startswith(("http://", "https://")):
        url = "prometheus+" + url
    return url, env


def render() -> None:
    """The connect form; a successful connection becomes the data of every page."""
    connected = state.connected()
    with st.expander(CONNECT_FORM, expanded=False):
        kind = st.radio(
            "source",
            ["SQL database", "Prometheus"],
            horizontal=True,
            key="src_kind",
            help="A database or warehouse, read-only: PostgreSQL, SQLite (any SQLAlchemy URL), "
            "ClickHouse (clickhouse://HOST:8123/DB) or Spark and Databricks over Spark Connect "
            "(sc://HOST:15002); large tables are aggregated where they live. Prometheus over "
            "its HTTP API from a latency histogram.",
        )
        try:
            if kind == "SQL database":
                text, env, options = _sql_form()
            else:
                text, env, options = _prometheus_form()
        except SloviewError as exc:
            st.error(exc.one_line(app=True))
            return
        clicked = st.button("Connect", type="primary", key="src_connect", disabled=not text)
        if clicked and state.connect(text, options, env):
            st.rerun()
    if connected is not None:
        st.success(f"Connected: {connected.label}")
        if st.button("Disconnect (back to the bundled sample)", key="src_disconnect"):
            state.use_sample()
            st.rerun()


def _time_range(required: bool) -> dict[str, Any]:
    c1, c2 = st.columns(2)
    start = c1.text_input(
        "from (UTC)" + ("" if required else ", optional"),
        key="src_start",
        placeholder="2026-09-01 or 2026-09-01T00:00:00Z",
    )
    end = c2.text_input(
        "until (UTC)" + ("" if required else ", optional"), key="src_end", placeholder="2026-10-01"
    )
    return {"start": start.strip() or None, "end": end.strip() or None}


def _sql_form() -> tuple[str, dict[str, str], SourceOptions]:
    text, env = _connection_field(
        "sql",
        "postgresql://reader@db:5432/logs, clickhouse://reader@ch:8123/logs, sc://spark:15002",
    )
    how = st.radio("read", ["a table", "a SELECT"], horizontal=True, key="src_sql_how")
    table = query = None
    if how == "a table":
        tables: list[str] = []
        if text and st.session_state.get("src_sql_listed") == text:
            tables = st.session_state.get("src_sql_tables", [])
        c1, c2 = st.columns([3, 1])
        if tables:
            table = c1.selectbox("table", tables, key="src_sql_table_pick")
        else:
            table = c1.text_input("table", key="src_sql_table").strip() or None
        if c2.button("List tables", key="src_sql_list", disabled=not text):
            try:
                st.session_state["src_sql_tables"] = list_tables(text)
                st.session_state["src_sql_listed"] = text
            except SloviewError as exc:
                st.error(exc.one_line(app=True))
            else:
                st.rerun()
    else:
        query = (
            st.text_area(
                "SELECT",
                key="src_sql_query",
                placeholder="SELECT ts, latency_ms, status, model FROM requests WHERE ...",
                help="One SELECT in the database's own SQL; anything else is refused. It runs "
                "read-only (a read-only transaction, or ClickHouse's readonly mode).",
            ).strip()
            or None
        )
    span = _time_range(required=False)
    c1, c2 = st.columns(2)
    segments = c1.text_input(
        "segments to aggregate by (comma-separated, optional)",
        key="src_sql_segments",
        help="Only used when the data are aggregated in the database; default: the detected ones.",
    )
    limit = c2.number_input(
        "most requests read as rows",
        min_value=0,
        value=ROW_LIMIT,
        step=100_000,
        key="src_sql_limit",
        help="Up to this many requests are read as rows (exact figures, every feature). Above "
        "it, counts per minute and per 1% latency bin are computed in the database and only "
        "those travel.",
    )
    c1, c2 = st.columns(2)
    exact_text = c1.text_input(
        "latency thresholds to count exactly (ms, optional)",
        key="src_sql_thresholds",
        placeholder="500, 2000",
        help="Only when aggregating: the database also counts requests at or under each of "
        "these, so candidates with exactly these thresholds are exact, not snapped to a bin "
        "edge.",
    )
    exact_pct = c2.toggle(
        "exact percentiles (percentile_cont)",
        value=False,
        key="src_sql_percentile_cont",
        help="Only when aggregating in PostgreSQL (other engines: from the bins): p50 to "
        "p99.9 computed exactly in the "
        "database. It sorts every latency once more: about 4 s more per 10 million rows; "
        "without it percentiles are within 1% (from the bins).",
    )
    options = SourceOptions(
        table=table if how == "a table" else None,
        query=query,
        group_by=_csv(segments),
        row_limit=int(limit),
        thresholds=tuple(("lte", v) for v in parse_ms_list(exact_text, "latency thresholds")),
        percentiles=TABLE_PERCENTILES if exact_pct else (),
        **span,
    )
    return text, env, options


def _apply_preset() -> None:
    """Fill the histogram and label fields with the chosen server's names."""
    name = st.session_state.get("src_prom_preset")
    if not name:
        return
    chosen = PRESETS[name]
    st.session_state["src_prom_metric"] = chosen.latency
    st.session_state["src_prom_ttft"] = chosen.ttft or ""
    st.session_state["src_prom_tpot"] = chosen.tpot or ""
    st.session_state["src_prom_label"] = chosen.status_label or ""
    st.session_state["src_prom_good"] = ", ".join(v for v in chosen.good if v)
    st.session_state["src_prom_unit"] = "s"


def _prometheus_form() -> tuple[str, dict[str, str], SourceOptions]:
    text, env = _connection_field("prom", "http://prometheus.example:9090")
    name = st.selectbox(
        "preset",
        ["", *PRESETS],
        key="src_prom_preset",
        format_func=lambda n: PRESETS[n].title if n else "none (name the histogram below)",
        on_change=_apply_preset,
        help="The latency histograms a generative-serving server exports: vLLM, Hugging Face "
        "TGI or the OpenTelemetry GenAI conventions (end to end, time to first token, time "
        "per output token).",
    )
    if name:
        st.caption(PRESETS[name].note)
    c1, c2, c3 = st.columns(3)
    histogram = c1.text_input(
        "latency histogram",
        key="src_prom_metric",
        placeholder="http_request_duration_seconds",
        help="A classic histogram: the metric name without _bucket; its le buckets become "
        "latency bins.",
    )
    unit = c2.selectbox("histogram unit", ["s", "ms"], key="src_prom_unit")
    step = c3.text_input("step", "1m", key="src_prom_step")
    c1, c2 = st.columns(2)
    ttft = c1.text_input(
        "TTFT histogram (optional)",
        key="src_prom_ttft",
        placeholder="vllm:time_to_first_token_seconds",
        help="Time to first token, in seconds: for TTFT SLIs and joint SLIs.",
    )
    tpot = c2.text_input(
        "TPOT histogram (optional)",
        key="src_prom_tpot",
        placeholder="vllm:request_time_per_output_token_seconds",
        help="Time per output token, one observation per request, in seconds. A joint SLI "
        "over separate histograms is a lower bound (the page says how high it could be).",
    )
    c1, c2, c3 = st.columns(3)
    label = c1.text_input("status label", key="src_prom_label", placeholder="code")
    good = c2.text_input("good values (optional)", key="src_prom_good", placeholder="2xx, 3xx")
    bad = c3.text_input("bad values (optional)", key="src_prom_bad", placeholder="5xx, 429")
    c1, c2 = st.columns(2)
    group = c1.text_input("group by labels (optional)", key="src_prom_group", placeholder="route")
    match = c2.text_input(
        "label matchers (optional)", key="src_prom_match", placeholder="job=api, route!=/health"
    )
    span = _time_range(required=True)
    options = SourceOptions(
        histogram=histogram.strip() or None,
        ttft_histogram=ttft.strip() or None,
        tpot_histogram=tpot.strip() or None,
        histogram_unit=unit,
        step=step.strip() or None,
        status_label=label.strip() or None,
        # OpenTelemetry's good value is "no error_type", which the field cannot show.
        good=_csv(good) or (PRESETS[name].good if name and label.strip() else ()),
        bad=_csv(bad),
        group_by=_csv(group),
        matchers=tuple(parse_matcher(m) for m in _csv(match)),
        **span,
    )
    return text, env, options
