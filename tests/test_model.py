"""The SLO model: round trips through plain data and YAML, and errors that name the field path."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sloview.errors import SpecError
from sloview.ingest.table import LATENCY_COLUMNS
from sloview.model import (
    SLI,
    SLO,
    AlertWindow,
    Budgeting,
    Exclusion,
    Objective,
    TimeWindow,
    default_alerts,
)
from sloview.specfile import dump_slos, slos_from_data

SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ZONES = ["UTC", "America/New_York", "Europe/Paris", "Asia/Kolkata", "Australia/Lord_Howe"]
SLICES = [60, 300, 600, 900, 1800, 3600, 7200, 86400]

names = st.from_regex(r"[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?", fullmatch=True)
targets = st.floats(0.0001, 0.99999, allow_nan=False)
text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=30)


@st.composite
def instants(draw: st.DrawFn) -> pd.Timestamp:
    """A time in a random zone (or naive, read as UTC), to the second."""
    seconds = draw(st.integers(1_700_000_000, 1_900_000_000))
    ts = pd.Timestamp(seconds, unit="s", tz="UTC")
    zone = draw(st.sampled_from([None, *ZONES]))
    return ts.tz_localize(None) if zone is None else ts.tz_convert(zone)


@st.composite
def exclusions(draw: st.DrawFn) -> Exclusion:
    start = draw(instants())
    length = pd.Timedelta(seconds=draw(st.integers(1, 30 * 86400)))
    return Exclusion(start=start, end=start + length, reason=draw(text))


@st.composite
def alert_windows(draw: st.DrawFn) -> AlertWindow:
    short = draw(st.integers(1, 2000)) * 60
    long = short + draw(st.integers(1, 5000)) * 60
    return AlertWindow(
        severity=draw(st.sampled_from(["page", "ticket", "info"])),
        long_s=long,
        short_s=short,
        burn_rate=draw(st.floats(0.01, 100, allow_nan=False)),
    )


@st.composite
def slos(draw: st.DrawFn) -> SLO:
    kind = draw(st.sampled_from(["latency", "availability", "throughput"]))
    percentile = draw(st.none() | st.floats(0.1, 99.99)) if kind == "latency" else None
    sli = SLI(
        kind=kind,
        metric=draw(st.sampled_from(sorted(LATENCY_COLUMNS))),
        percentile=percentile,
        failed_requests=draw(st.sampled_from(["exclude", "bad"])),
        unit=draw(st.sampled_from(["requests", "output_tokens"])),
    )
    threshold = None if kind == "availability" else draw(st.floats(0, 1e6, allow_nan=False))
    op = {
        "latency": st.sampled_from(["lte", "lt"]),
        "throughput": st.sampled_from(["gte", "gt"]),
        "availability": st.sampled_from(["lte", "lt", "gte", "gt"]),
    }[kind]
    objective = Objective(target=draw(targets), threshold=threshold, op=draw(op))
    if draw(st.booleans()):
        window = TimeWindow(
            rolling_s=draw(st.integers(1, 400)) * 86400, tz=draw(st.sampled_from(ZONES))
        )
    else:
        window = TimeWindow(
            calendar=draw(st.sampled_from(["day", "week", "month", "quarter"])),
            tz=draw(st.sampled_from(ZONES)),
        )
    sliced = kind == "throughput" or percentile is not None
    method = (
        "Timeslices"
        if sliced
        else draw(st.sampled_from(["Occurrences", "Timeslices", "RatioTimeslices"]))
    )
    if method == "Occurrences":
        budgeting = Budgeting()
    else:
        slice_target = None
        if method == "Timeslices" and (not sliced or draw(st.booleans())):
            slice_target = draw(st.floats(0.001, 1.0, allow_nan=False))
        budgeting = Budgeting(
            method=method,
            slice_s=draw(st.sampled_from(SLICES)),
            slice_target=slice_target,
            min_events=draw(st.integers(0, 20)),
            empty_slices=draw(st.sampled_from(["skip", "good", "bad"])),
        )
    segment_keys = draw(st.lists(st.sampled_from(["endpoint", "model", "region"]), unique=True))
    return SLO(
        name=draw(names),
        sli=sli,
        objective=objective,
        window=window,
        budgeting=budgeting,
        alerts=draw(st.none() | st.lists(alert_windows(), max_size=4).map(tuple)),
        exclusions=tuple(draw(st.lists(exclusions(), max_size=3))),
        segment=tuple((k, draw(names)) for k in segment_keys),
        service=draw(text),
        description=draw(text),
    )


@SETTINGS
@given(slos())
def test_from_dict_of_to_dict_is_the_same_slo(slo: SLO) -> None:
    assert SLO.from_dict(slo.to_dict()) == slo
    assert SLO.from_dict(slo.to_dict()).to_dict() == slo.to_dict()


@SETTINGS
@given(st.lists(slos(), min_size=1, max_size=3))
def test_yaml_files_round_trip(items: list[SLO]) -> None:
    assert slos_from_data(yaml.safe_load(dump_slos(items))) == items


# -- errors name the field path -------------------------------------------------------------------

Corruption = Callable[[dict[str, Any]], str]


def _set(path: list[Any], value: Any) -> Corruption:
    def corrupt(d: dict[str, Any]) -> str:
        node = d
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = value
        return ".".join(str(k) for k in path)

    return corrupt


def slice_layout(field: str, value: Any) -> Corruption:
    def corrupt(d: dict[str, Any]) -> str:
        d["budgeting"] = {"method": "Timeslices", "slice": "5m", "slice_target": 0.9, field: value}
        return f"budgeting.{field}"

    return corrupt


def _window(value: dict[str, Any], where: str) -> Corruption:
    def corrupt(d: dict[str, Any]) -> str:
        d["window"] = value
        return where

    return corrupt


def _alert(field: str, value: Any, where: str) -> Corruption:
    def corrupt(d: dict[str, Any]) -> str:
        d["alerts"] = [
            {"severity": "page", "long": "1h", "short": "5m", "burn_rate": 14.4},
            {"severity": "ticket", "long": "1d", "short": "2h", "burn_rate": 3, field: value},
        ]
        return where

    return corrupt


def _exclusion(field: str, value: Any) -> Corruption:
    def corrupt(d: dict[str, Any]) -> str:
        d["exclusions"] = [
            {"start": "2026-09-10T02:00:00Z", "end": "2026-09-10T03:00:00Z"},
            {"start": "2026-09-11T02:00:00Z", "end": "2026-09-11T03:00:00Z", field: value},
        ]
        return f"exclusions[1].{field}"

    return corrupt


def _availability_threshold(d: dict[str, Any]) -> str:
    d["sli"] = {"kind": "availability"}
    d["objective"] = {"target": 0.99, "threshold": 300}
    d["budgeting"] = {"method": "Occurrences"}
    return "objective.threshold"


def _missing_slice_target(d: dict[str, Any]) -> str:
    d["sli"] = {"kind": "availability"}
    d["objective"] = {"target": 0.99}
    d["budgeting"] = {"method": "Timeslices", "slice": "5m"}
    return "budgeting.slice_target"


CORRUPTIONS: list[Corruption] = [
    _set(["objective", "target"], 1.5),
    _set(["objective", "target"], "high"),
    _set(["objective", "colour"], "blue"),
    _set(["sli", "kind"], "speed"),
    _set(["sli", "percentile"], 150),
    _set(["sli", "failed_requests"], "maybe"),
    _set(["objective", "op"], "eq"),
    slice_layout("slice", "7m"),
    slice_layout("slice", "5 minutes"),
    slice_layout("min_events", 2.5),
    slice_layout("empty_slices", "ignore"),
    _set(["name"], "Chat Latency"),
    _window({"rolling": "1M"}, "window.rolling"),
    _window({"rolling": "36h"}, "window.rolling"),
    _window({"calendar": "fortnight"}, "window.calendar"),
    _window({"calendar": "month", "tz": "Mars/Olympus_Mons"}, "window.tz"),
    _window({"rolling": "28d", "calendar": "month"}, "window"),
    _alert("burn_rate", "fast", "alerts[1].burn_rate"),
    _alert("short", "2d", "alerts[1]"),
    _alert("long", "1 fortnight", "alerts[1].long"),
    _exclusion("start", "the day before yesterday"),
    _exclusion("reason2", "x"),
    _availability_threshold,
    _missing_slice_target,
]


@SETTINGS
@given(st.lists(slos(), min_size=1, max_size=4), st.data())
def test_errors_name_the_field_path(items: list[SLO], data: st.DataObject) -> None:
    docs = [s.to_dict() for s in items]
    i = data.draw(st.integers(0, len(docs) - 1), label="which SLO")
    corrupt = data.draw(st.sampled_from(CORRUPTIONS), label="corruption")
    where = corrupt(docs[i])
    with pytest.raises(SpecError) as caught:
        slos_from_data({"slos": docs})
    assert caught.value.where == f"slos[{i}].{where}"
    assert caught.value.one_line().startswith(f"slos[{i}].{where}: ")
    # The same SLO alone (a file with one mapping) names the path from its root.
    with pytest.raises(SpecError) as alone:
        SLO.from_dict(docs[i])
    assert alone.value.where == where


# -- examples a user meets -------------------------------------------------------------------------


def test_timeslices_need_a_slice_target_unless_judged_by_percentile_or_rate() -> None:
    base = {"name": "x", "budgeting": {"method": "Timeslices", "slice": "5m"}}
    with pytest.raises(SpecError, match=r"^budgeting\.slice_target: .*E\.g\. slice_target: 0\.99"):
        SLO.from_dict({**base, "sli": {"kind": "availability"}, "objective": {"target": 0.99}})
    with pytest.raises(SpecError, match=r"^budgeting\.slice_target: "):
        SLO.from_dict(
            {**base, "sli": {"kind": "latency"}, "objective": {"target": 0.9, "threshold": 300}}
        )
    SLO.from_dict(
        {
            **base,
            "sli": {"kind": "latency", "percentile": 95},
            "objective": {"target": 0.9, "threshold": 300},
        }
    )
    SLO.from_dict(
        {
            **base,
            "sli": {"kind": "throughput"},
            "objective": {"target": 0.9, "threshold": 2, "op": "gte"},
        }
    )


def test_settings_that_do_not_apply_are_not_kept() -> None:
    assert SLI(kind="availability", metric="ttft_ms", failed_requests="bad") == SLI(
        kind="availability"
    )
    assert SLI(kind="latency", unit="output_tokens") == SLI(kind="latency")
    assert Objective(target=0.99, op="gt") == Objective(target=0.99)


def test_exclusion_times_are_utc_timestamps() -> None:
    naive = Exclusion(start=pd.Timestamp("2026-09-10 02:00"), end=dt.datetime(2026, 9, 10, 3))
    paris = Exclusion(
        start=pd.Timestamp("2026-09-10 04:00", tz="Europe/Paris"),
        end=pd.Timestamp("2026-09-10 03:00", tz="UTC"),
    )
    assert naive == paris
    assert naive.to_dict() == {
        "start": "2026-09-10T02:00:00Z",
        "end": "2026-09-10T03:00:00Z",
        "reason": "maintenance",
    }
    with pytest.raises(SpecError, match="end must be after start"):
        Exclusion(start=pd.Timestamp("2026-09-10 02:00"), end=pd.Timestamp("2026-09-10 02:00"))


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        # The Workbook / Sloth google-30d table.
        (
            {"rolling": "30d"},
            ["page 1h/5m x14.4", "page 6h/30m x6", "ticket 1d/2h x3", "ticket 3d/6h x1"],
        ),
        # Sloth google-28d: the same windows, factors scaled to 672 hours.
        (
            {"rolling": "28d"},
            ["page 1h/5m x13.44", "page 6h/30m x5.6", "ticket 1d/2h x2.8", "ticket 3d/6h x1"],
        ),
        # A calendar month counts as 720 hours.
        (
            {"calendar": "month"},
            ["page 1h/5m x14.4", "page 6h/30m x6", "ticket 1d/2h x3", "ticket 3d/6h x1"],
        ),
        # Shorter periods shrink the windows (factors stay): a week is 168/720 of 30 days.
        (
            {"calendar": "week"},
            ["page 14m/1m x14.4", "page 84m/7m x6", "ticket 336m/28m x3", "ticket 1008m/84m x1"],
        ),
    ],
)
def test_default_alerts(window: dict[str, str], expected: list[str]) -> None:
    assert [a.label() for a in default_alerts(TimeWindow.from_dict(window))] == expected


def test_error_hints_read_as_one_sentence() -> None:
    with pytest.raises(SpecError) as caught:
        TimeWindow.from_dict({"rolling": "36h"})
    assert caught.value.one_line() == (
        "window.rolling: 36h is not a whole number of days. Rolling windows are evaluated at the "
        "end of each day: use 7d, 28d or 30d."
    )
