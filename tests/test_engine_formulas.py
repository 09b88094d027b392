"""Every SLO formula of the engine against an independent computation in plain pandas/numpy.

The independent side reads only the canonical frame (`load_requests(...).frame`) of the bundled
sample data (six weeks of generative-AI requests, 2026-09-07 to 2026-10-19 UTC, with an incident
and a latency regression) and restates each definition from the SLO guide:

- a latency event is good when `latency <= T` (`lt`: `< T`); failed requests are left out of a
  latency SLI by default, or count as bad events;
- Occurrences: attainment = good events / valid events in the period;
- error budget remaining = 1 - (1 - attainment) / (1 - target), negative when overspent;
- burn rate over a lookback L = (bad / valid over L) / (1 - target);
- Timeslices: a slice is good when its good share reaches the slice target (or its linear p95
  is within T); attainment = good slices / slices that count; RatioTimeslices: the mean of the
  slice ratios;
- periods are rolling windows ending at each day's end, or calendar days, weeks (from Monday),
  months and quarters starting at local midnight.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from sloview.engine import Engine
from sloview.engine.scope import Scope
from sloview.ingest import RequestTable, load_requests
from sloview.model import SLO
from sloview.simulate import Simulation, simulate

DATA_START = pd.Timestamp("2026-09-07", tz="UTC")
DATA_END = pd.Timestamp("2026-10-19", tz="UTC")
T = 20_000.0  # ms: between the p90 and the p99 of chat latency


@pytest.fixture(scope="module")
def table(sample_path: Path) -> RequestTable:
    return load_requests(sample_path)


@pytest.fixture(scope="module")
def frame(table: RequestTable) -> pd.DataFrame:
    return table.frame


@pytest.fixture(scope="module")
def engine(table: RequestTable) -> Engine:
    return Engine(table)


def make(**fields: object) -> SLO:
    return SLO.from_dict({"name": "candidate", **fields})


def latency(
    threshold: float = T,
    target: float = 0.95,
    op: str = "lte",
    sli: dict[str, object] | None = None,
    **fields: object,
) -> SLO:
    return make(
        sli={"kind": "latency", **(sli or {})},
        objective={"target": target, "threshold": threshold, "op": op},
        **fields,
    )


def availability(target: float = 0.995, **fields: object) -> SLO:
    return make(sli={"kind": "availability"}, objective={"target": target}, **fields)


def counts(good: pd.Series, valid: pd.Series, key: pd.Series) -> pd.DataFrame:
    """good and valid event counts per key (only keys with valid events)."""
    out = pd.DataFrame({"good": good & valid, "total": valid, "key": key})
    out = out[valid.to_numpy()].groupby("key", observed=True)[["good", "total"]].sum()
    return out.astype(float)


def period_rows(sim: Simulation) -> pd.DataFrame:
    return pd.DataFrame(
        [(p.start, p.end, p.good, p.total, p.attainment, p.met, p.partial) for p in sim.periods],
        columns=["start", "end", "good", "total", "attainment", "met", "partial"],
    )


# -- Occurrences ----------------------------------------------------------------------------------


def test_rolling_28_days_evaluated_at_each_day_end(engine: Engine, frame: pd.DataFrame) -> None:
    sim = simulate(Scope.bind(engine, latency(window={"rolling": "28d"})))
    rows = period_rows(sim)
    # One window per day end from the first midnight after the data start to the last.
    ends = pd.date_range("2026-09-08", "2026-10-19", freq="D", tz="UTC")
    assert list(rows["end"]) == list(ends)
    assert list(rows["start"]) == list(ends - pd.Timedelta(days=28))

    ts = frame["ts"]
    valid = frame["ok"] & frame["latency_ms"].notna()
    good = valid & (frame["latency_ms"] <= T)
    for row in rows.itertuples():
        inside = (ts >= row.start) & (ts < row.end)
        assert row.good == (good & inside).sum()
        assert row.total == (valid & inside).sum()
        assert row.attainment == pytest.approx(row.good / row.total, rel=1e-12)
        # Partial windows are shown, never judged.
        assert row.met == (None if row.partial else (row.good / row.total >= 0.95))
    # Windows that begin before the data (ending before 2026-10-05) are partial; the other 15
    # are complete.
    assert list(rows["partial"]) == list(ends < pd.Timestamp("2026-10-05", tz="UTC"))
    assert (~rows["partial"]).sum() == 15


CALENDARS = [
    ("day", "UTC"),
    ("week", "UTC"),
    ("month", "UTC"),
    ("quarter", "UTC"),
    ("day", "America/New_York"),
    ("week", "America/New_York"),
    ("month", "Asia/Kolkata"),
    ("quarter", "Asia/Kolkata"),
]
PANDAS_PERIOD = {"day": "D", "week": "W-SUN", "month": "M", "quarter": "Q"}


@pytest.mark.parametrize(("calendar", "tz"), CALENDARS)
def test_calendar_periods_start_at_local_midnight(
    engine: Engine, frame: pd.DataFrame, calendar: str, tz: str
) -> None:
    sim = simulate(Scope.bind(engine, latency(window={"calendar": calendar, "tz": tz})))
    local = frame["ts"].dt.tz_convert(tz).dt.tz_localize(None)
    # Weeks ending on Sunday start on Monday.
    key = local.dt.to_period(PANDAS_PERIOD[calendar]).dt.start_time
    valid = frame["ok"] & frame["latency_ms"].notna()
    expected = counts(frame["latency_ms"] <= T, valid, key)

    rows = period_rows(sim)
    starts = [s.tz_convert(tz).tz_localize(None) for s in rows["start"]]
    assert starts == list(expected.index)
    assert all(s == s.normalize() for s in starts)
    if calendar == "week":
        assert {s.day_name() for s in starts} == {"Monday"}
    ends = [e.tz_convert(tz).tz_localize(None) for e in rows["end"]]
    assert ends[:-1] == starts[1:]
    np.testing.assert_array_equal(rows["good"], expected["good"])
    np.testing.assert_array_equal(rows["total"], expected["total"])
    # Only the first and last periods can be partly covered by the data.
    assert not rows["partial"][1:-1].any()


def test_availability_per_day_in_a_half_hour_timezone(engine: Engine, frame: pd.DataFrame) -> None:
    sim = simulate(
        Scope.bind(engine, availability(window={"calendar": "day", "tz": "Asia/Kolkata"}))
    )
    key = frame["ts"].dt.tz_convert("Asia/Kolkata").dt.tz_localize(None).dt.floor("D")
    expected = counts(frame["ok"], pd.Series(True, index=frame.index), key)
    rows = period_rows(sim)
    assert [s.tz_convert("Asia/Kolkata").hour for s in rows["start"]] == [0] * len(rows)
    np.testing.assert_array_equal(rows["good"], expected["good"])
    np.testing.assert_array_equal(rows["total"], expected["total"])
    assert sim.overall.good == frame["ok"].sum()
    assert sim.overall.total == len(frame)


def test_overall_ci_is_clopper_pearson(engine: Engine, frame: pd.DataFrame) -> None:
    o = simulate(Scope.bind(engine, availability())).overall
    good, total = int(frame["ok"].sum()), len(frame)
    ci = sps.binomtest(good, total).proportion_ci(0.95, method="exact")
    assert (o.good, o.total) == (good, total)
    assert o.attainment == good / total
    assert (o.ci_low, o.ci_high) == pytest.approx((ci.low, ci.high), rel=1e-9)


def test_error_budget_remaining_goes_negative_and_is_not_clamped(
    engine: Engine, frame: pd.DataFrame
) -> None:
    target = 0.999
    sim = simulate(Scope.bind(engine, availability(target, window={"calendar": "day"})))
    day = frame["ts"].dt.floor("D")
    per_day = frame.groupby(day)["ok"].agg(["sum", "count"])
    att = per_day["sum"] / per_day["count"]
    expected = 1 - (1 - att) / (1 - target)
    got = np.array([p.budget_remaining for p in sim.periods])
    np.testing.assert_allclose(got, expected.to_numpy(), rtol=1e-9)
    # The incident day (about 2.2% failures against a 0.1% budget) overspends about 20 times.
    incident_day = expected[pd.Timestamp("2026-09-23", tz="UTC")]
    assert incident_day < -15
    assert sim.periods[16].start == pd.Timestamp("2026-09-23", tz="UTC")
    assert sim.periods[16].budget_remaining == pytest.approx(incident_day, rel=1e-9)
    assert sim.periods[16].met is False
    assert sim.error_budget_remaining == pytest.approx(expected.iloc[-1], rel=1e-9)


AT = [
    pd.Timestamp("2026-09-23 14:05", tz="UTC"),
    pd.Timestamp("2026-09-23 15:00", tz="UTC"),
    pd.Timestamp("2026-09-25 09:37", tz="UTC"),
    pd.Timestamp("2026-10-01 23:59", tz="UTC"),
]


def test_burn_rates_over_each_lookback(engine: Engine, frame: pd.DataFrame) -> None:
    target = 0.995
    sim = simulate(Scope.bind(engine, availability(target, window={"rolling": "28d"})))
    series = {s.name: s for s in sim.burn}
    ts, ok = frame["ts"], frame["ok"]
    checked = 0
    for rule in sim.slo.alert_windows:
        for which, seconds in (("long", rule.long_s), ("short", rule.short_s)):
            s = series[f"{rule.label()} {which}"]
            for at in AT:
                # The value at a minute's end covers the requests of the `seconds` before it.
                inside = (ts >= at - pd.Timedelta(seconds=seconds)) & (ts < at)
                expected = (1 - ok[inside].mean()) / (1 - target)
                i = int(np.searchsorted(s.times_ns, at.value))
                assert s.times_ns[i] == at.value
                assert s.values[i] == pytest.approx(expected, rel=1e-9, abs=1e-12)
                checked += 1
    assert checked == 4 * 2 * len(AT)


# -- failed requests, TTFT, TPOT, segments ---------------------------------------------------------


@pytest.mark.parametrize("policy", ["exclude", "bad"])
def test_failed_requests_policy(engine: Engine, frame: pd.DataFrame, policy: str) -> None:
    sim = simulate(Scope.bind(engine, latency(sli={"failed_requests": policy})))
    good = frame["ok"] & (frame["latency_ms"] <= T)
    valid = frame["ok"] if policy == "exclude" else pd.Series(True, index=frame.index)
    assert sim.overall.good == good.sum()
    assert sim.overall.total == valid.sum()
    assert sim.overall.total == (len(frame) if policy == "bad" else frame["ok"].sum())


@pytest.mark.parametrize("op", ["lte", "lt"])
def test_time_to_first_token(engine: Engine, frame: pd.DataFrame, op: str) -> None:
    # 600 ms is a value that occurs in the data (0.1 ms resolution), so lte and lt differ.
    threshold = 600.0
    ttft = frame["ttft_ms"]
    assert (ttft == threshold).sum() > 0
    sim = simulate(
        Scope.bind(engine, latency(threshold, 0.9, op, sli={"metric": "ttft_ms"})),
    )
    valid = frame["ok"] & ttft.notna()
    good = valid & ((ttft <= threshold) if op == "lte" else (ttft < threshold))
    assert (sim.overall.good, sim.overall.total) == (good.sum(), valid.sum())


def test_time_per_output_token(engine: Engine, frame: pd.DataFrame) -> None:
    # TPOT = (latency - TTFT) / (output tokens - 1), for successful requests with > 1 token.
    tokens = frame["output_tokens"].astype("float64")
    tpot = (frame["latency_ms"] - frame["ttft_ms"]) / (tokens - 1)
    valid = frame["ok"] & (tokens > 1) & frame["ttft_ms"].notna()
    threshold = 25.0
    sim = simulate(Scope.bind(engine, latency(threshold, sli={"metric": "tpot_ms"})))
    good = valid & (tpot <= threshold)
    assert (sim.overall.good, sim.overall.total) == (good.sum(), valid.sum())
    assert 0 < sim.overall.attainment < 1


def test_segment_filter_and_per_segment_results(engine: Engine, frame: pd.DataFrame) -> None:
    slo = latency(segment={"endpoint": "chat"}, window={"calendar": "week"})
    sim = simulate(Scope.bind(engine, slo), segment_columns=("region", "model"))
    chat = frame[frame["endpoint"] == "chat"]
    valid = chat["ok"]
    good = valid & (chat["latency_ms"] <= T)
    assert (sim.overall.good, sim.overall.total) == (good.sum(), valid.sum())
    week = chat["ts"].dt.tz_localize(None).dt.to_period("W-SUN").dt.start_time
    expected = counts(chat["latency_ms"] <= T, valid, week)
    np.testing.assert_array_equal([p.good for p in sim.periods], expected["good"])

    by = {(s.column, s.value): s for s in sim.segments}
    # chat runs on atlas-large and atlas-small only; embed-v2 has no chat requests.
    assert set(by) == {
        ("region", "us-east"),
        ("region", "eu-west"),
        ("model", "atlas-large"),
        ("model", "atlas-small"),
    }
    for (column, value), result in by.items():
        part = chat[chat[column] == value]
        part_good = part["ok"] & (part["latency_ms"] <= T)
        assert (result.overall.good, result.overall.total) == (part_good.sum(), part["ok"].sum())
        weeks = part["ts"].dt.tz_localize(None).dt.to_period("W-SUN").dt.start_time
        per_week = counts(part["latency_ms"] <= T, part["ok"], weeks)
        assert result.periods == len(per_week)
        assert result.periods_met == (per_week["good"] / per_week["total"] >= 0.95).sum()


def test_exclusions_do_not_count(engine: Engine, frame: pd.DataFrame) -> None:
    start, end = (
        pd.Timestamp("2026-09-23 13:00", tz="UTC"),
        pd.Timestamp("2026-09-23 18:00", tz="UTC"),
    )
    ex = [{"start": "2026-09-23T13:00:00Z", "end": "2026-09-23T18:00:00Z", "reason": "incident"}]
    plain = simulate(Scope.bind(engine, availability(window={"calendar": "day"})))
    sim = simulate(Scope.bind(engine, availability(window={"calendar": "day"}, exclusions=ex)))
    kept = frame[(frame["ts"] < start) | (frame["ts"] >= end)]
    assert (sim.overall.good, sim.overall.total) == (kept["ok"].sum(), len(kept))
    per_day = kept.groupby(kept["ts"].dt.floor("D"))["ok"].agg(["sum", "count"])
    np.testing.assert_array_equal([p.good for p in sim.periods], per_day["sum"])
    np.testing.assert_array_equal([p.total for p in sim.periods], per_day["count"])
    # What a user sees: the incident is no longer a violation and pages nobody.
    assert any(v.start == pd.Timestamp("2026-09-23 13:40", tz="UTC") for v in plain.violations)
    assert not any(start <= v.start < end for v in sim.violations)
    assert not any(f.rule.severity == "page" and start <= f.start <= end for f in sim.firings)


# -- Timeslices -----------------------------------------------------------------------------------


def slices(frame: pd.DataFrame, length: str = "5min") -> pd.Series:
    return frame["ts"].dt.floor(length)


def test_timeslices_good_when_the_slice_share_reaches_the_slice_target(
    engine: Engine, frame: pd.DataFrame
) -> None:
    slo = latency(
        target=0.9,
        budgeting={"method": "Timeslices", "slice": "5m", "slice_target": 0.9},
        window={"calendar": "week"},
    )
    sim = simulate(Scope.bind(engine, slo))
    per = counts(frame["latency_ms"] <= T, frame["ok"], slices(frame))
    good_slice = per["good"] / per["total"] >= 0.9
    assert (sim.overall.good, sim.overall.total) == (good_slice.sum(), len(per))
    week = per.index.tz_localize(None).to_period("W-SUN").start_time
    per_week = good_slice.groupby(week).agg(["sum", "count"])
    np.testing.assert_array_equal([p.good for p in sim.periods], per_week["sum"])
    np.testing.assert_array_equal([p.total for p in sim.periods], per_week["count"])


@pytest.mark.parametrize(("policy", "op"), [("exclude", "lte"), ("bad", "lte"), ("exclude", "lt")])
def test_percentile_per_slice_matches_pandas_resample_quantile(
    engine: Engine, frame: pd.DataFrame, policy: str, op: str
) -> None:
    slo = make(
        sli={"kind": "latency", "percentile": 95, "failed_requests": policy},
        objective={"target": 0.9, "threshold": T, "op": op},
        budgeting={"method": "Timeslices", "slice": "5m"},
        segment={"endpoint": "chat"},
    )
    sim = simulate(Scope.bind(engine, slo))
    chat = frame[frame["endpoint"] == "chat"]
    if policy == "bad":
        # A failed request is slower than any threshold (a huge finite value keeps the linear
        # interpolation finite in pandas).
        values = chat["latency_ms"].where(chat["ok"], 1e300)
    else:
        values = chat["latency_ms"][chat["ok"]]
    p95 = values.groupby(chat["ts"].dt.floor("5min")).quantile(0.95)
    good = (p95 <= T) if op == "lte" else (p95 < T)
    assert (sim.overall.good, sim.overall.total) == (good.sum(), len(p95))
    assert 0.5 < sim.overall.attainment < 0.95


def test_ratio_timeslices_average_the_slice_ratios(engine: Engine, frame: pd.DataFrame) -> None:
    slo = availability(0.99, budgeting={"method": "RatioTimeslices", "slice": "1h"})
    sim = simulate(Scope.bind(engine, slo))
    ratio = frame.groupby(slices(frame, "1h"))["ok"].mean()
    assert sim.overall.total == len(ratio)
    assert sim.overall.attainment == pytest.approx(ratio.mean(), rel=1e-12)
    # Per rolling window: the mean of the hourly ratios in it.
    for p in list(sim.periods)[-3:]:
        inside = ratio[(ratio.index >= p.start) & (ratio.index < p.end)]
        assert p.attainment == pytest.approx(inside.mean(), rel=1e-12)
        assert p.total == len(inside)


@pytest.mark.parametrize("unit", ["requests", "output_tokens"])
def test_throughput_per_slice(engine: Engine, frame: pd.DataFrame, unit: str) -> None:
    minimum = 0.15 if unit == "requests" else 30.0  # per second
    slo = make(
        sli={"kind": "throughput", "unit": unit},
        objective={"target": 0.5, "threshold": minimum, "op": "gte"},
        budgeting={"method": "Timeslices", "slice": "5m"},
    )
    sim = simulate(Scope.bind(engine, slo))
    if unit == "requests":
        amount = frame.groupby(slices(frame)).size()
    else:
        tokens = frame["output_tokens"].astype("float64").where(frame["ok"], 0.0).fillna(0.0)
        amount = tokens.groupby(slices(frame)).sum()
    rate = amount / 300
    assert (sim.overall.good, sim.overall.total) == ((rate >= minimum).sum(), len(rate))
    assert 0.2 < sim.overall.attainment < 0.8


@pytest.mark.parametrize("empty", ["skip", "good", "bad"])
@pytest.mark.parametrize("min_events", [0, 3])
def test_low_traffic_slices(
    engine: Engine, frame: pd.DataFrame, empty: str, min_events: int
) -> None:
    # completions in eu-west: about 3 requests an hour, so most 5-minute slices are empty.
    seg = frame[(frame["endpoint"] == "completions") & (frame["region"] == "eu-west")]
    slo = availability(
        0.9,
        segment={"endpoint": "completions", "region": "eu-west"},
        budgeting={
            "method": "Timeslices",
            "slice": "5m",
            "slice_target": 1.0,
            "min_events": min_events,
            "empty_slices": empty,
        },
    )
    sim = simulate(Scope.bind(engine, slo))
    # Slices from the segment's first request to its last, empty ones included.
    grid = pd.date_range(seg["ts"].min().floor("5min"), seg["ts"].max().floor("5min"), freq="5min")
    per = seg.groupby(slices(seg))["ok"].agg(["sum", "count"]).reindex(grid, fill_value=0)
    low = per["count"] < max(1, min_events)
    met = (per["count"] > 0) & (per["sum"] == per["count"])
    if empty == "skip":
        expected = ((met & ~low).sum(), (~low).sum())
    elif empty == "good":
        expected = ((met & ~low).sum() + low.sum(), len(per))
    else:
        expected = ((met & ~low).sum(), len(per))
    assert (sim.overall.good, sim.overall.total) == expected
    assert low.sum() > len(per) / 2
