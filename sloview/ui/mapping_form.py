"""The mapping override form of the Data page."""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from sloview.errors import MAPPING_FORM, SloviewError
from sloview.ingest import Mapping, open_source
from sloview.ingest.mapping import ResolvedMapping, parse_unit
from sloview.sources.open import source_columns
from sloview.ui import state
from sloview.units import LATENCY_UNITS

DETECT = "(detect)"


@st.cache_data(max_entries=8, show_spinner=False)
def _columns(key: str, _source: Path | bytes, name: str) -> list[str]:
    return open_source(_source, name).columns


@st.cache_data(max_entries=8, show_spinner=False)
def _source_columns(digest: str, _connected: state.Connected) -> list[str]:
    environ = {**os.environ, **dict(_connected.env)}
    return source_columns(_connected.text, _connected.options, environ=environ)


def _pick(label: str, options: list[str], current: str | None, help_text: str) -> str | None:
    choices = [DETECT, *options]
    index = choices.index(current) if current in choices else 0
    value = st.selectbox(label, choices, index=index, help=help_text)
    return None if value == DETECT else value


def render(loaded: state.Loaded) -> None:
    """Override widgets; applying them reloads the data with the new mapping."""
    if loaded.table is None:
        st.caption("Aggregated data: the columns were mapped when the source was aggregated.")
        return
    connected = state.connected()
    try:
        if connected is not None:
            columns = _source_columns(connected.digest, connected)
        else:
            key, source, name = state._source()
            columns = _columns(key, source, name)
    except SloviewError as exc:
        st.error(exc.one_line(app=True))
        return
    new = _form("mapping", columns, state.mapping(), loaded.table.mapping, "Apply mapping")
    if new is not None:
        state.set_mapping(new)
        st.rerun()
    if st.button("Reset to detected mapping"):
        state.set_mapping(Mapping())
        st.rerun()


def render_pending() -> None:
    """An upload whose columns were not all found: ask which column is which, and read it
    with those columns (the data loaded before stay until it reads)."""
    pending = state.pending_upload()
    if pending is None:
        return
    name = pending["name"]
    with st.container(border=True):
        st.markdown(f"**{MAPPING_FORM}: {name}**")
        st.error(pending["error"])
        st.caption(
            f"Say which of its columns ({', '.join(pending['columns'])}) is which and read "
            "it again; until then the bundled sample stays loaded."
        )
        new = _form("pending_mapping", pending["columns"], pending["mapping"], None, f"Read {name}")
        if new is not None:
            state.retry_pending(new)
            st.rerun()
        if st.button(f"Forget {name}", key="pending_forget"):
            state.drop_pending()
            st.rerun()


def _form(
    key: str, columns: list[str], m: Mapping, resolved: ResolvedMapping | None, submit: str
) -> Mapping | None:
    """The mapping widgets over `columns` (the detected choices as help); the new mapping
    when submitted."""

    def detected(field: str) -> str:
        value = getattr(resolved, field) if resolved is not None else None
        return f"detected: {value}" if value else "not detected"

    with st.form(key):
        c1, c2, c3 = st.columns(3)
        with c1:
            timestamp = _pick("time column", columns, m.timestamp, detected("timestamp"))
            latency = _pick("latency column", columns, m.latency, detected("latency"))
            unit = st.selectbox(
                "latency unit",
                [DETECT, *LATENCY_UNITS],
                index=([DETECT, *LATENCY_UNITS].index(m.latency_unit) if m.latency_unit else 0),
                help=detected("latency_unit"),
            )
            tz = st.text_input(
                "timezone of naive times",
                value=m.tz or "",
                placeholder="UTC",
                help="IANA name, e.g. Europe/Berlin",
            )
        with c2:
            status = _pick("status column", columns, m.status, detected("status"))
            good = st.text_input(
                "good status values", value=",".join(m.good), placeholder="e.g. 200,204 or SUCCEED"
            )
            bad = st.text_input(
                "bad status values", value=",".join(m.bad), placeholder="e.g. 500,503 or FAILED"
            )
            rate_limited = st.toggle(
                "HTTP 429 (rate limited) counts as bad", value=m.rate_limited_bad
            )
        with c3:
            ttft = _pick("time to first token column", columns, m.ttft, detected("ttft"))
            tokens = _pick(
                "output tokens column", columns, m.output_tokens, detected("output_tokens")
            )
            segments = st.multiselect(
                "extra segment columns", columns, default=[s for s in m.segments if s in columns]
            )
        if not st.form_submit_button(submit, type="primary"):
            return None
    return Mapping(
        timestamp=timestamp,
        latency=latency,
        latency_unit=None if unit == DETECT else parse_unit(unit),
        status=status,
        good=tuple(v.strip() for v in good.split(",") if v.strip()),
        bad=tuple(v.strip() for v in bad.split(",") if v.strip()),
        rate_limited_bad=rate_limited,
        ttft=ttft,
        output_tokens=tokens,
        segments=tuple(segments),
        tz=tz.strip() or None,
    )
