"""The candidate editor: widgets for every SLO kind the engine simulates -> one SLO."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from sloview import formatting as fmt
from sloview.design.starting import (
    share_within,
    starting_target,
    starting_threshold,
    threshold_options,
)
from sloview.engine import Engine
from sloview.engine.distribution import Distribution
from sloview.engine.scope import requests_of
from sloview.errors import SloviewError
from sloview.ingest.table import LATENCY_COLUMNS
from sloview.model import SLO, AlertWindow, Exclusion, TimeWindow, default_alerts
from sloview.ui import state, style
from sloview.units import parse_duration

INITIAL: dict[str, Any] = {
    "c_name": "candidate-1",
    "c_kind": "latency",
    "c_failed": "exclude",
    "c_op": "lte",
    "c_pct_on": False,
    "c_pct": 95.0,
    "c_unit": "requests",
    "c_rate": 0.05,
    "c_window": "rolling 28d",
    "c_tz": "UTC",
    "c_slice": "5m",
    "c_min_events": 0,
    "c_empty": "skip",
    "c_custom_alerts": False,
    "c_share": 0.9,
}
TARGETS = [0.9, 0.95, 0.97, 0.98, 0.99, 0.995, 0.997, 0.998, 0.999, 0.9995, 0.9999]
WINDOWS = [
    "rolling 7d",
    "rolling 14d",
    "rolling 28d",
    "rolling 30d",
    "rolling 90d",
    "calendar day",
    "calendar week",
    "calendar month",
    "calendar quarter",
]
SLICES = ["1m", "5m", "10m", "15m", "30m", "1h"]
ALL = "(all)"
KIND_HELP = {
    "latency": "Share of requests (or slices) fast enough.",
    "availability": "Share of requests that succeed, by the status policy on the Data page.",
    "throughput": "Share of time slices with at least a minimum rate of requests, tokens, or "
    "good requests (goodput).",
    "joint": "Share of requests that are good in every way at once: succeeded AND fast enough "
    "on each chosen latency (e.g. time to first token AND time per output token).",
}
KIND_LABELS = {
    "latency": "latency",
    "availability": "availability",
    "throughput": "throughput",
    "joint": "several at once",
}


def load_into_widgets(slo: SLO) -> None:
    """Put an SLO into the editor's widgets (before they are drawn)."""
    ss = st.session_state
    ss["c_name"] = slo.name
    ss["c_kind"] = slo.sli.kind
    ss["c_metric"] = slo.sli.metric
    ss["c_failed"] = slo.sli.failed_requests
    ss["c_pct_on"] = slo.sli.percentile is not None
    ss["c_pct"] = float(slo.sli.percentile or 95.0)
    ss["c_unit"] = slo.sli.unit
    if slo.objective.threshold is not None:
        key = "c_threshold" if slo.sli.kind == "latency" else "c_rate"
        ss[key] = float(slo.objective.threshold)
    ss["c_op"] = slo.objective.op if slo.sli.kind == "latency" else "lte"
    ss["c_target"] = slo.objective.target
    w = slo.window
    ss["c_window"] = (
        f"rolling {w.rolling_s // 86400}d" if w.rolling_s is not None else f"calendar {w.calendar}"
    )
    ss["c_tz"] = w.tz
    b = slo.budgeting
    ss["c_method"] = b.method
    if b.slice_s:
        ss["c_slice"] = fmt.duration(b.slice_s)
    if b.slice_target is not None:
        ss["c_slice_target"] = b.slice_target
    ss["c_min_events"] = b.min_events
    ss["c_empty"] = b.empty_slices
    ss["c_custom_alerts"] = slo.alerts is not None
    ss["c_alert_rows"] = _alert_frame(slo.alert_windows)
    ss["c_exclusion_rows"] = _exclusion_frame(slo.exclusions)
    for column, value in slo.segment:
        ss[f"c_seg_{column}"] = value
    ss["c_service"] = slo.service
    for condition in slo.sli.conditions:
        ss[f"c_joint_{condition.metric}_on"] = True
        ss[f"c_joint_{condition.metric}"] = float(condition.threshold)
    if slo.sli.conditions:
        for metric in LATENCY_COLUMNS:
            ss.setdefault(f"c_joint_{metric}_on", False)
            if metric not in {c.metric for c in slo.sli.conditions}:
                ss[f"c_joint_{metric}_on"] = False


def _alert_frame(rows: tuple[AlertWindow, ...]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "severity": a.severity,
                "long window": fmt.duration(a.long_s),
                "short window": fmt.duration(a.short_s),
                "burn rate": a.burn_rate,
            }
            for a in rows
        ],
        columns=["severity", "long window", "short window", "burn rate"],
    )


def _exclusion_frame(rows: tuple[Exclusion, ...]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "start (UTC)": e.start.tz_localize(None),
                "end (UTC)": e.end.tz_localize(None),
                "reason": e.reason,
            }
            for e in rows
        ],
        columns=["start (UTC)", "end (UTC)", "reason"],
    ).astype({"start (UTC)": "datetime64[ns]", "end (UTC)": "datetime64[ns]"})


def editor(loaded: state.Loaded) -> Draft | None:
    """Draw the editor (everything but the latency threshold, which `complete` draws beside
    the figures); None with st.error when what is chosen cannot make a candidate."""
    ss = st.session_state
    metrics = list(loaded.engine.metrics())
    for key, value in INITIAL.items():
        ss.setdefault(key, value)
    # Presentation mode folds the settings a room rarely changes into one box (still drawn,
    # so they keep their values), leaving what is promised, for whom, the target and window.
    more: Any = _More()
    more.box.text_input(
        "name", key="c_name", help="Lower-case letters, digits and dashes; it becomes the SLO's id."
    )
    kinds = ["latency", "availability", "throughput"]
    # Joint conditions judge each request on several columns: rows only, not aggregates.
    joint_ok = len(metrics) > 1 and loaded.engine.exact
    if joint_ok:
        kinds.append("joint")
    if ss.get("c_kind") not in kinds:
        ss["c_kind"] = "latency"
    kind = st.radio(
        "what is promised",
        kinds,
        key="c_kind",
        horizontal=True,
        format_func=lambda k: KIND_LABELS[k],
        help=" ".join(f"**{KIND_LABELS[k]}**: {v}" for k, v in KIND_HELP.items()),
    )
    data: dict[str, Any] = {"name": ss.get("c_name") or "candidate"}
    if ss.get("c_service"):
        data["service"] = ss["c_service"]
    # Which requests first: the threshold's range and the starting values follow them.
    segment = _segment_picker(loaded)
    if segment:
        data["segment"] = segment
    scoped = requests_of(loaded.engine, tuple(segment.items()))
    sli: dict[str, Any] = {"kind": kind}
    objective: dict[str, Any] = {}

    if kind == "latency":
        metric = st.radio(
            "latency",
            metrics,
            key="c_metric",
            horizontal=True,
            format_func=lambda m: LATENCY_COLUMNS[m],
        )
        dist = scoped.distribution(metric)
        if dist.size == 0:
            st.error(
                f"No successful request of this selection has a {LATENCY_COLUMNS[metric]} "
                "value: pick other requests or another latency."
            )
            return None
        start_threshold("c_threshold", dist)
        c1, c2 = more.box.columns(2)
        op = c1.radio(
            "counts as fast when",
            ["lte", "lt"],
            key="c_op",
            horizontal=True,
            format_func=lambda o: "at or under" if o == "lte" else "strictly under",
        )
        failed = c2.radio(
            "failed requests",
            ["exclude", "bad"],
            key="c_failed",
            horizontal=True,
            format_func=lambda f: "left out" if f == "exclude" else "count as slow",
            help="Left out: availability judges them. Count as slow: a failure "
            "is never fast enough.",
        )
        sli.update(metric=metric, failed_requests=failed)
        if more.box.toggle(
            "judge each time slice by a percentile (e.g. p95 per 5 minutes)", key="c_pct_on"
        ):
            sli["percentile"] = more.box.number_input(
                "percentile", 50.0, 99.99, step=0.5, key="c_pct"
            )
        objective["op"] = op
    elif kind == "throughput":
        c1, c2 = st.columns(2)
        units = ["requests", "output_tokens", "goodput"] if joint_ok else ["requests"]
        if not loaded.engine.has_tokens and "output_tokens" in units:
            units.remove("output_tokens")
        if ss.get("c_unit") not in units:
            ss["c_unit"] = "requests"
        unit = c1.radio(
            "counting",
            units,
            key="c_unit",
            horizontal=True,
            format_func=lambda u: {
                "requests": "requests",
                "output_tokens": "output tokens",
                "goodput": "good requests (goodput)",
            }[u],
            help="Goodput counts only requests that meet every condition below.",
        )
        rate = c2.number_input(
            "at least (per second)", min_value=0.0, step=0.01, key="c_rate", format="%.3f"
        )
        sli["unit"] = unit
        if unit == "goodput":
            conditions = _conditions(scoped, metrics)
            if not conditions:
                st.error("Goodput needs at least one latency condition: tick one below.")
                return None
            sli["conditions"] = conditions
        objective.update(threshold=float(rate), op="gte")
    elif kind == "joint":
        st.caption(
            "A request is good when it succeeded and meets every ticked condition. "
            "Time to first token: how long until the answer starts appearing; time per output "
            "token: how fast it then streams."
        )
        conditions = _conditions(scoped, metrics)
        if not conditions:
            st.error("Tick at least one condition for a joint SLO.")
            return None
        sli["conditions"] = conditions

    target = float(ss.setdefault("c_target", 0.99))
    options = sorted({*TARGETS, target})
    objective["target"] = st.select_slider(
        "target", options=options, key="c_target", format_func=lambda t: fmt.percent(t)
    )
    c1, c2 = st.columns(2)
    windows = WINDOWS if ss.get("c_window") in WINDOWS else [*WINDOWS, ss["c_window"]]
    window = c1.selectbox("SLO window", windows, key="c_window")
    tz = more.box.text_input(
        "timezone of periods",
        key="c_tz",
        help="Calendar periods start at local midnight; weeks on Monday.",
    )
    style, length = window.split()
    data["window"] = {"rolling": length} if style == "rolling" else {"calendar": length}
    data["window"]["tz"] = tz.strip() or "UTC"

    forced = kind == "throughput" or "percentile" in sli
    methods = ["Timeslices"] if forced else ["Occurrences", "Timeslices", "RatioTimeslices"]
    if ss.get("c_method") not in methods:
        ss["c_method"] = methods[0]
    method = more.box.radio(
        "budgeting",
        methods,
        key="c_method",
        horizontal=True,
        help="Occurrences: count requests. Timeslices: count good time slices. "
        "RatioTimeslices: average each slice's share of good requests.",
    )
    budgeting: dict[str, Any] = {"method": method}
    if method != "Occurrences":
        c1, c2, c3 = more.box.columns(3)
        budgeting["slice"] = c1.selectbox("slice", SLICES, key="c_slice")
        budgeting["min_events"] = int(
            c2.number_input(
                "min requests per slice",
                min_value=0,
                step=1,
                key="c_min_events",
                help="Low-traffic rule: slices with fewer requests do not count.",
            )
        )
        budgeting["empty_slices"] = c3.selectbox(
            "slices below that",
            ["skip", "good", "bad"],
            key="c_empty",
            format_func=lambda e: {
                "skip": "count neither way",
                "good": "count as good",
                "bad": "count as bad",
            }[e],
        )
        if method == "Timeslices" and not forced:
            st_value = float(ss.setdefault("c_slice_target", objective["target"]))
            budgeting["slice_target"] = more.box.select_slider(
                "a slice is good when at least this share of its requests is good",
                options=sorted({*TARGETS, 1.0, float(st_value)}),
                key="c_slice_target",
                format_func=lambda t: fmt.percent(t),
            )
    data.update(sli=sli, objective=objective, budgeting=budgeting)

    with st.expander("Alert rules and maintenance exclusions"):
        custom = st.toggle(
            "custom alert rules (default: the SRE Workbook set for this window)",
            key="c_custom_alerts",
        )
        if custom:
            if "c_alert_rows" not in ss:
                ss["c_alert_rows"] = _alert_frame(_defaults(data))
            rows = st.data_editor(
                ss["c_alert_rows"], num_rows="dynamic", key="c_alert_editor", hide_index=True
            )
            try:
                data["alerts"] = [
                    {
                        "severity": str(r["severity"]),
                        "long": str(r["long window"]),
                        "short": str(r["short window"]),
                        "burn_rate": float(r["burn rate"]),
                    }
                    for r in rows.to_dict("records")
                    if r.get("long window")
                ]
            except (TypeError, ValueError):
                st.error(
                    "Each alert row needs a severity, two windows such as 1h and 5m, "
                    "and a burn rate number."
                )
                return None
        else:
            st.dataframe(_alert_frame(_defaults(data)), hide_index=True)
        st.caption("Maintenance windows that do not count (UTC):")
        if "c_exclusion_rows" not in ss:
            ss["c_exclusion_rows"] = _exclusion_frame(())
        excl = st.data_editor(
            ss["c_exclusion_rows"],
            num_rows="dynamic",
            key="c_exclusion_editor",
            hide_index=True,
            column_config={
                "start (UTC)": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
                "end (UTC)": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
            },
        )
        rows = [r for r in excl.to_dict("records") if pd.notna(r.get("start (UTC)"))]
        if rows:
            data["exclusions"] = [
                {
                    "start": pd.Timestamp(r["start (UTC)"]).isoformat() + "Z",
                    "end": pd.Timestamp(r["end (UTC)"]).isoformat() + "Z",
                    "reason": str(r.get("reason") or "maintenance"),
                }
                for r in rows
            ]
    share = more.box.slider(
        "recommend for this share of periods met", 0.5, 1.0, step=0.05, key="c_share", format="%.2f"
    )
    latency = kind == "latency"
    return Draft(
        data=data,
        share=float(share),
        segment=tuple(segment.items()),
        metric=str(sli.get("metric", "latency_ms")) if latency else None,
    )


def complete(loaded: state.Loaded, draft: Draft) -> SLO | None:
    """The candidate: the draft plus the latency threshold the slider holds (drawn by
    `threshold_control` next to the figures, so a move reruns only them); None with st.error
    when it is invalid."""
    data = copy.deepcopy(draft.data)
    if draft.metric is not None:
        start_threshold("c_threshold", _distribution(loaded, draft))
        data["objective"]["threshold"] = float(st.session_state["c_threshold"])
    try:
        return SLO.from_dict(data)
    except SloviewError as exc:
        st.error(f"This candidate is not valid yet: {exc.one_line(app=True)}")
        return None


def threshold_control(loaded: state.Loaded, draft: Draft) -> None:
    """The latency threshold's slider and typed box (nothing for SLIs without one)."""
    if draft.metric is not None:
        _threshold_control("threshold", "c_threshold", _distribution(loaded, draft))


def _distribution(loaded: state.Loaded, draft: Draft) -> Distribution:
    assert draft.metric is not None
    return requests_of(loaded.engine, draft.segment).distribution(draft.metric)


class _More:
    """Where the editor's less used settings go: the page itself, or in presentation mode a
    folded box, created where the first of them is drawn."""

    def __init__(self) -> None:
        self._box: Any = None

    @property
    def box(self) -> Any:
        """The container to draw a less used setting in (the page itself outside presentation
        mode, so every setting stays where it is)."""
        if not style.presentation():
            return st
        if self._box is None:
            self._box = st.expander("More settings")
        return self._box


@dataclass(frozen=True)
class Draft:
    """What the editor chose: the SLO's fields but the latency threshold, which `complete`
    adds (`metric` is None for SLIs without one), and the share a recommendation must meet."""

    data: dict[str, Any]
    share: float
    segment: tuple[tuple[str, str], ...]
    metric: str | None


def _segment_picker(loaded: state.Loaded) -> dict[str, str]:
    """One select per segment column (all requests by default): the candidate's segment."""
    segment: dict[str, str] = {}
    columns = loaded.engine.segment_columns()
    if not columns:
        return segment
    st.markdown("**for which requests**")
    cols = st.columns(min(2, len(columns)))
    for i, column in enumerate(columns):
        choices = [ALL, *loaded.engine.segment_values(column)][:300]
        # A value of other data (loaded since) falls back to all requests.
        if st.session_state.get(f"c_seg_{column}") not in (None, *choices):
            st.session_state[f"c_seg_{column}"] = ALL
        pick = cols[i % len(cols)].selectbox(
            column.replace("_", " "), choices, key=f"c_seg_{column}"
        )
        if pick != ALL:
            segment[column] = pick
    return segment


def start_threshold(key: str, dist: Distribution) -> None:
    """A fresh editor starts at a round threshold near the requests' p95, with a target they
    nearly meet, rather than at the slider's far end."""
    ss = st.session_state
    if ss.get(key) is None:
        start = starting_threshold(dist)
        ss[key] = start
        if key == "c_threshold" and "c_target" not in ss:
            ss["c_target"] = starting_target(share_within(dist, start))


def _threshold_control(label: str, key: str, dist: Distribution) -> float:
    """A fine slider of round values over the selected requests' range, and a box to type an
    exact value into; the slider holds the threshold (ms).

    Only callbacks write the slider's state: a write during a run would undo key presses that
    arrive while the page is running.
    """
    ss = st.session_state
    start_threshold(key, dist)
    slider_key, box_key = f"{key}_slider", f"{key}_box"
    # The threshold of a restored link or a typed value stays on the slider.
    options = sorted({*threshold_options(dist), float(ss[key])})
    if ss.get(slider_key) not in options:
        ss[slider_key] = float(ss[key])
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    c1.select_slider(
        label,
        options=options,
        key=slider_key,
        format_func=fmt.ms,
        on_change=_slid,
        args=(key, slider_key),
        help="Move it (or type a value beside it): every figure follows at once. The range "
        "spans the selected requests, from their 1st percentile to the slowest.",
    )
    c2.number_input(
        "or type ms",
        min_value=0.0,
        value=None,
        key=box_key,
        format="%g",
        placeholder=f"{ss[key]:g}",
        on_change=_typed,
        args=(key, slider_key, box_key),
    )
    return float(ss[key])


def _slid(key: str, slider_key: str) -> None:
    """The slider moved: its value is the threshold."""
    st.session_state[key] = float(st.session_state[slider_key])


def _typed(key: str, slider_key: str, box_key: str) -> None:
    """A value was typed: it becomes the threshold and joins the slider's stops."""
    value = st.session_state.get(box_key)
    if value is not None and float(value) >= 0:
        st.session_state[key] = float(value)
        st.session_state[slider_key] = float(value)
    st.session_state[box_key] = None


def _conditions(scoped: Engine, metrics: list[str]) -> list[dict[str, Any]]:
    """One tick box and threshold control per latency column; the ticked ones."""
    ss = st.session_state
    conditions = []
    defaults = {"ttft_ms": True, "tpot_ms": True}
    for metric in metrics:
        ss.setdefault(f"c_joint_{metric}_on", defaults.get(metric, False))
        dist = scoped.distribution(metric)
        if dist.size == 0:
            continue
        if st.toggle(LATENCY_COLUMNS[metric], key=f"c_joint_{metric}_on"):
            threshold = _threshold_control(
                f"{LATENCY_COLUMNS[metric]} at most", f"c_joint_{metric}", dist
            )
            conditions.append({"metric": metric, "threshold": threshold})
    return conditions


def _defaults(data: dict[str, Any]) -> tuple[AlertWindow, ...]:
    try:
        return default_alerts(TimeWindow.from_dict(data["window"]))
    except SloviewError:
        return default_alerts(TimeWindow(rolling_s=parse_duration("28d")))
