"""Session state: the loaded data, the mapping, the filters, and the shared cached engine."""

from __future__ import annotations

import functools
import hashlib
import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd
import streamlit as st

from sloview.engine import Engine
from sloview.engine.aggregated import AggregateEngine
from sloview.errors import SloviewError, SpanError
from sloview.filters import Filters, apply_filters
from sloview.ingest import Mapping, RequestTable, load_requests
from sloview.ingest.span import MAX_SPAN_DAYS
from sloview.registry import fingerprint
from sloview.sources.aggregates import Aggregates
from sloview.sources.open import SourceOptions, describe_source, open_source

BUNDLED = Path(__file__).resolve().parents[2] / "sample_data" / "genai_requests.parquet"
# SLOVIEW_DATA opens another file first (a team's own export, or a benchmark's 1e7 rows).
SAMPLE = Path(os.environ["SLOVIEW_DATA"]) if os.environ.get("SLOVIEW_DATA") else BUNDLED
SAMPLE_NAME = "sample: generative API, 42 days (bundled)" if SAMPLE == BUNDLED else SAMPLE.name


# Set when the time range was narrowed to fit the span limit: the sidebar redraws its slider.
RESET_TIME_RANGE = "sv_reset_time_range"


@dataclass(frozen=True)
class Loaded:
    """What every page works on: the full table, the filtered view and its engine.

    Aggregated sources (a large table summed in the database, Prometheus) have no rows:
    `table` and `view` are None and `aggregates` holds what was read.
    """

    key: str
    table: RequestTable | None
    view: RequestTable | None
    engine: Engine
    filters: Filters
    aggregates: Aggregates | None = None

    @property
    def source_name(self) -> str:
        """Where the data come from, without credentials."""
        return self.engine.source_name

    @property
    def data(self) -> RequestTable | Aggregates:
        """What the engine was built from: the filtered view, or the aggregates."""
        if self.view is not None:
            return self.view
        assert self.aggregates is not None
        return self.aggregates


@dataclass(frozen=True)
class Connected:
    """A database or Prometheus source the room connected to."""

    text: str = field(repr=False)  # the SOURCE as typed: may hold a password, never shown
    options: SourceOptions
    env: tuple[tuple[str, str], ...] = field(repr=False, default=())
    label: str = ""
    digest: str = ""


@st.cache_resource(max_entries=4, show_spinner="Reading the source ...")
def _open(
    key: str, _connected: Connected, mapping_json: str
) -> RequestTable | tuple[Aggregates, AggregateEngine]:
    """Open a connected source once per (source, mapping): rows, or aggregates and their
    engine."""
    environ = {**os.environ, **dict(_connected.env)}
    mapping = Mapping.from_dict(json.loads(mapping_json))
    loaded = open_source(
        _connected.text, _connected.options, mapping, environ=environ, words="fields"
    )
    if isinstance(loaded, RequestTable):
        return loaded
    engine = AggregateEngine(loaded)
    engine.index("latency_ms")
    return loaded, engine


def connected() -> Connected | None:
    """The connected source, if any."""
    value = st.session_state.get("connected")
    return value if isinstance(value, Connected) else None


def connect(text: str, options: SourceOptions, env: dict[str, str] | None = None) -> bool:
    """Open a source and make it the current data; False (with st.error) when it fails."""
    env_items = tuple(sorted((env or {}).items()))
    secret = json.dumps([text, repr(options), env_items])
    candidate = Connected(
        text=text,
        options=options,
        env=env_items,
        label=describe_source(text),
        digest=hashlib.sha256(secret.encode()).hexdigest()[:16],
    )
    try:
        _open(f"src:{candidate.digest}|{{}}", candidate, "{}")
    except SloviewError as exc:
        st.error(exc.one_line())
        return False
    st.session_state.pop("upload", None)
    st.session_state["connected"] = candidate
    st.session_state["sv_mapping"] = Mapping()
    st.session_state["sv_filters"] = Filters()
    return True


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
    """(cache key, file or bytes, name) of the current file data."""
    upload = st.session_state.get("upload")
    if upload is not None:
        data: bytes = upload["bytes"]
        return upload["digest"], data, upload["name"]
    return "sample", SAMPLE, SAMPLE_NAME


def dataset_key() -> str:
    """The fingerprint of the current data set: the bundled sample, an upload's content
    digest, or a connected source's digest (workshop state belongs to it)."""
    source_now = connected()
    if source_now is not None:
        return f"src:{source_now.digest}"
    return _source()[0]


def data_fingerprint() -> str:
    """What the registry records as the data a decision or review was made on: the same
    fingerprint `sloview review` computes for the same file or source."""
    source_now = connected()
    if source_now is not None:
        o = source_now.options
        return fingerprint.of_source(source_now.text, o.table, o.query, o.histogram, o.start, o.end)
    upload = st.session_state.get("upload")
    if upload is not None:
        return str(upload["digest"])
    return _file_fingerprint(str(SAMPLE))


@functools.cache
def _file_fingerprint(path: str) -> str:
    return fingerprint.of_file(Path(path))


def set_upload(name: str, data: bytes) -> None:
    """Make an uploaded file the current data (the mapping starts from detection again)."""
    # The registry's fingerprint of a file's content: the same as `sloview review FILE`.
    digest = fingerprint.of_bytes(data)
    st.session_state.pop("connected", None)
    st.session_state["upload"] = {"name": name, "bytes": data, "digest": digest}
    st.session_state["sv_mapping"] = Mapping()
    st.session_state["sv_filters"] = Filters()


def use_sample() -> None:
    """Go back to the bundled sample data."""
    st.session_state.pop("upload", None)
    st.session_state.pop("connected", None)
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
    source_now = connected()
    try:
        if source_now is not None:
            key = f"src:{source_now.digest}"
            opened = _open(f"{key}|{mapping_json}", source_now, mapping_json)
            if not isinstance(opened, RequestTable):
                agg, agg_engine = opened
                return Loaded(
                    key=key,
                    table=None,
                    view=None,
                    engine=agg_engine,
                    filters=Filters(),
                    aggregates=agg,
                )
            table = opened
        else:
            table = _load(f"{key}|{mapping_json}", source, name, mapping_json)
    except SloviewError as exc:
        st.session_state["load_error"] = exc.one_line()
        if key == "sample" and current_mapping == Mapping():
            raise
        if current_mapping != Mapping():
            st.session_state["sv_mapping"] = Mapping()
        else:
            st.session_state.pop("upload", None)
            st.session_state.pop("connected", None)
        return load()
    current_filters = filters()
    engine_key = f"{key}|{mapping_json}|{current_filters!r}"
    try:
        view, engine = _engine(engine_key, table, current_filters)
    except SpanError as exc:
        # Too long a stretch of time for one analysis: look at the latest part that fits, and
        # say so; the sidebar's time range moves it.
        set_filters(narrowed(current_filters, exc))
        st.session_state[RESET_TIME_RANGE] = True
        st.session_state["span_note"] = (
            f"{exc.message[:1].upper()}{exc.message[1:]}. The time range was narrowed to the "
            f"last {MAX_SPAN_DAYS} days; move it in the sidebar"
            + (
                ", or set the rows far from the rest apart again on the Data page."
                if current_mapping.keep_stray_times
                else "."
            )
        )
        return load()
    if view.rows == 0:
        st.session_state["load_error"] = (
            f"No requests match the filters ({current_filters.describe()}); filters were reset."
        )
        set_filters(Filters())
        return load()
    return Loaded(key=engine_key, table=table, view=view, engine=engine, filters=current_filters)


def narrowed(current: Filters, exc: SpanError) -> Filters:
    """The filters with a time range that ends where the refused one did and fits the limit."""
    end = current.end if current.end is not None else pd.Timestamp(exc.last_ns, tz="UTC")
    end = end.ceil("h")
    start = (end - pd.Timedelta(days=MAX_SPAN_DAYS) + pd.Timedelta(hours=1)).ceil("h")
    return replace(current, start=start, end=end if current.end is not None else None)


def show_span_note() -> None:
    """Show (once, on any page) why the time range was narrowed."""
    message = st.session_state.pop("span_note", None)
    if message:
        st.warning(message, icon=":material/date_range:")


def show_load_error() -> None:
    """Show (once) why the last upload or mapping change was not applied."""
    message = st.session_state.pop("load_error", None)
    if message:
        st.error(message)
