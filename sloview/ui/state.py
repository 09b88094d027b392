"""Session state: the loaded data, the mapping, the filters, and the shared cached engine."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from sloview.engine import Engine
from sloview.errors import SloviewError
from sloview.filters import Filters, apply_filters
from sloview.ingest import Mapping, RequestTable, load_requests

BUNDLED = Path(__file__).resolve().parents[2] / "sample_data" / "genai_requests.parquet"
# SLOVIEW_DATA opens another file first (a team's own export, or a benchmark's 1e7 rows).
SAMPLE = Path(os.environ["SLOVIEW_DATA"]) if os.environ.get("SLOVIEW_DATA") else BUNDLED
SAMPLE_NAME = "sample: generative API, 42 days (bundled)" if SAMPLE == BUNDLED else SAMPLE.name


@dataclass(frozen=True)
class Loaded:
    """What every page works on: the full table, the filtered view and its engine."""

    key: str
    table: RequestTable
    view: RequestTable
    engine: Engine
    filters: Filters


@st.cache_resource(max_entries=6, show_spinner="Reading and checking the requests ...")
def _load(key: str, _source: Path | bytes, name: str, mapping_json: str) -> RequestTable:
    """Load once per (data, mapping), shared by reruns and sessions."""
    return load_requests(_source, Mapping.from_dict(json.loads(mapping_json)), name=name)


@st.cache_resource(max_entries=12, show_spinner="Indexing the requests (once per data set) ...")
def _engine(key: str, _table: RequestTable, _filters: Filters) -> tuple[RequestTable, Engine]:
    """The filtered view and its engine, built once per (data, mapping, filters)."""
    view = apply_filters(_table, _filters)
    if view.rows == 0:
        return view, Engine(_table)
    engine = Engine(view)
    if engine.has_time:
        engine.index("latency_ms")
    return view, engine


def _source() -> tuple[str, Path | bytes, str]:
    upload = st.session_state.get("upload")
    if upload is not None:
        data: bytes = upload["bytes"]
        return upload["digest"], data, upload["name"]
    return "sample", SAMPLE, SAMPLE_NAME


def set_upload(name: str, data: bytes) -> None:
    """Make an uploaded file the current data (the mapping starts from detection again)."""
    digest = hashlib.sha256(data).hexdigest()[:16]
    st.session_state["upload"] = {"name": name, "bytes": data, "digest": digest}
    st.session_state["sv_mapping"] = Mapping()
    st.session_state["sv_filters"] = Filters()


def use_sample() -> None:
    """Go back to the bundled sample data."""
    st.session_state.pop("upload", None)
    st.session_state["sv_mapping"] = Mapping()
    st.session_state["sv_filters"] = Filters()


def mapping() -> Mapping:
    """The mapping overrides in force."""
    value = st.session_state.get("sv_mapping")
    return value if isinstance(value, Mapping) else Mapping()


def set_mapping(new: Mapping) -> None:
    """Replace the mapping overrides."""
    st.session_state["sv_mapping"] = new


def filters() -> Filters:
    """The filters in force."""
    value = st.session_state.get("sv_filters")
    return value if isinstance(value, Filters) else Filters()


def set_filters(new: Filters) -> None:
    """Replace the filters."""
    st.session_state["sv_filters"] = new


def load() -> Loaded:
    """The current data; a bad upload or mapping shows st.error and falls back to the sample."""
    key, source, name = _source()
    current_mapping = mapping()
    mapping_json = json.dumps(current_mapping.to_dict(), sort_keys=True)
    try:
        table = _load(f"{key}|{mapping_json}", source, name, mapping_json)
    except SloviewError as exc:
        st.session_state["load_error"] = exc.one_line()
        if key == "sample" and current_mapping == Mapping():
            raise
        if current_mapping != Mapping():
            st.session_state["sv_mapping"] = Mapping()
        else:
            st.session_state.pop("upload", None)
        return load()
    current_filters = filters()
    engine_key = f"{key}|{mapping_json}|{current_filters!r}"
    view, engine = _engine(engine_key, table, current_filters)
    if view.rows == 0:
        st.session_state["load_error"] = (
            f"No requests match the filters ({current_filters.describe()}); filters were reset."
        )
        set_filters(Filters())
        return load()
    return Loaded(key=engine_key, table=table, view=view, engine=engine, filters=current_filters)


def show_load_error() -> None:
    """Show (once) why the last upload or mapping change was not applied."""
    message = st.session_state.pop("load_error", None)
    if message:
        st.error(message)
