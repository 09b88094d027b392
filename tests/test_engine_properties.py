"""Properties of the engine on small generated request tables (hypothesis).

- good counts per minute at any threshold equal a direct count, exactly: also for latencies one
  ulp apart and thresholds equal to a latency (`lte` counts it, `lt` does not);
- attainment never falls when the threshold rises, per period and overall;
- a threshold sweep is monotone and agrees with simulating each of its thresholds;
- the budget left in a period is 1 - (1 - attainment) / (1 - target), and the period is met
  exactly when that is not negative;
- a Clopper-Pearson interval contains its point estimate; the order-statistic interval of a
  percentile contains the linear percentile.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sloview.design import sweep_thresholds
from sloview.engine import Engine
from sloview.engine.scope import Scope
from sloview.ingest.mapping import ResolvedMapping
from sloview.ingest.table import RequestTable
from sloview.model import SLO, Op
from sloview.simulate import event_counts, simulate
from sloview.stats import (
    clopper_pearson,
    clopper_pearson_arrays,
    percentile_ci,
    percentile_sorted,
)

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Data cross the end of daylight saving time in New York (2026-11-01 06:00 UTC).
ORIGIN = pd.Timestamp("2026-10-30 18:00", tz="UTC")
SPAN_S = 3 * 86400
INTERESTING = [0.0, 1.0, 99.9, 100.0, 200.0, 250.5, 1234.5678, 30_000.0]


def table_of(ts_s: np.ndarray, values: np.ndarray, ok: np.ndarray) -> RequestTable:
    """A canonical request table (times in seconds after ORIGIN, sorted here)."""
    order = np.argsort(ts_s, kind="stable")
    ns = ORIGIN.value + (ts_s[order] * 1e9).astype(np.int64)
    frame = pd.DataFrame(
        {
            "ts": pd.DatetimeIndex(ns.view("datetime64[ns]")).tz_localize("UTC"),
            "latency_ms": values[order],
            "ok": ok[order],
        }
    )
    mapping = ResolvedMapping(
        source_format="memory",
        timestamp="ts",
        latency="latency_ms",
        latency_unit="ms",
        status=None,
        ok_column=None,
        policy_description="generated",
        ttft=None,
        ttft_unit=None,
        output_tokens=None,
        segments=(),
        where=(),
        tz="UTC",
    )
    return RequestTable(frame=frame, source_name="generated", mapping=mapping, rows_read=len(frame))


def nudge(x: float, ulps: int) -> float:
    """x moved by a number of units in the last place (never below 0)."""
    for _ in range(abs(ulps)):
        x = float(np.nextafter(x, math.inf if ulps > 0 else 0.0))
    return x


@st.composite
def latency_values(draw: st.DrawFn, size: int) -> np.ndarray:
    """Latencies clustered on a few bases, many exactly equal or one or two ulps apart."""
    bases = draw(
        st.lists(
            st.sampled_from(INTERESTING) | st.floats(0, 60_000, allow_nan=False),
            min_size=1,
            max_size=6,
        )
    )
    picks = draw(
        st.lists(
            st.tuples(st.integers(0, len(bases) - 1), st.sampled_from([-2, -1, 0, 0, 1, 2])),
            min_size=size,
            max_size=size,
        )
    )
    return np.array([nudge(bases[i], d) for i, d in picks], dtype=np.float64)


@st.composite
def request_tables(draw: st.DrawFn, max_size: int = 150) -> RequestTable:
    n = draw(st.integers(1, max_size))
    ts = np.array(
        draw(st.lists(st.floats(0, SPAN_S - 1e-3, allow_nan=False), min_size=n, max_size=n))
    )
    values = draw(latency_values(n))
    ok = np.array(draw(st.lists(st.booleans() | st.just(True), min_size=n, max_size=n)))
    return table_of(ts, values, ok)


def thresholds_near(values: np.ndarray) -> st.SearchStrategy[float]:
    """Thresholds equal to a latency, one ulp either side of one, or anywhere."""
    exact = st.sampled_from(sorted(set(values.tolist())))
    return (
        exact
        | exact.map(lambda x: nudge(x, 1))
        | exact.map(lambda x: nudge(x, -1))
        | st.floats(0, 70_000, allow_nan=False)
    )


def slo_of(
    method: str,
    window: dict[str, str],
    threshold: float,
    target: float = 0.9,
    op: str = "lte",
    failed: str = "exclude",
) -> SLO:
    budgeting: dict[str, object] = {"method": method}
    sli: dict[str, object] = {"kind": "latency", "failed_requests": failed}
    if method != "Occurrences":
        budgeting["slice"] = "30m"
    if method == "Timeslices":
        budgeting["slice_target"] = 0.75
    if method == "Percentile":
        budgeting = {"method": "Timeslices", "slice": "30m"}
        sli["percentile"] = 90.0
    return SLO.from_dict(
        {
            "name": "generated",
            "sli": sli,
            "objective": {"target": target, "threshold": threshold, "op": op},
            "window": window,
            "budgeting": budgeting,
        }
    )


METHODS = st.sampled_from(["Occurrences", "Timeslices", "RatioTimeslices", "Percentile"])
WINDOWS = st.sampled_from(
    [
        {"rolling": "1d"},
        {"rolling": "1d", "tz": "America/New_York"},
        {"rolling": "2d", "tz": "Asia/Kolkata"},
        {"calendar": "day"},
        {"calendar": "day", "tz": "America/New_York"},
        {"calendar": "week", "tz": "Europe/Paris"},
    ]
)


# -- exact counts -------------------------------------------------------------------------------


@SETTINGS
@given(st.data(), request_tables(), st.sampled_from(["lte", "lt"]))
def test_good_counts_per_minute_are_exact(
    data: st.DataObject, table: RequestTable, op: str
) -> None:
    engine = Engine(table)
    frame = table.frame
    minute = ((frame["ts"] - frame["ts"].iloc[0].floor("D")) // pd.Timedelta(minutes=1)).to_numpy()
    values, ok = frame["latency_ms"].to_numpy(), frame["ok"].to_numpy()
    index = engine.index("latency_ms")
    n = engine.n_buckets
    assert n == minute[-1] + 1
    for _ in range(4):
        t = data.draw(thresholds_near(values), label="threshold")
        good = ok & ((values <= t) if op == "lte" else (values < t))
        expected = np.bincount(minute[good], minlength=n)
        np.testing.assert_array_equal(index.good_per_bucket(index.rank(t, op)), expected)
        slo = slo_of("Occurrences", {"rolling": "1d"}, t, op=op)
        g, total = event_counts(Scope.bind(engine, slo))
        np.testing.assert_array_equal(g, expected)
        np.testing.assert_array_equal(total, np.bincount(minute[ok], minlength=n))


def test_values_one_ulp_apart_are_counted_exactly() -> None:
    # A concrete case: latencies that agree in all but the last bits, in different minutes,
    # and a threshold equal to one of them.
    x = 1234.5678
    values = np.array([nudge(x, 1), x, nudge(x, -1), x, nudge(x, 2), nudge(x, -2)])
    ts = np.array([0.0, 60, 120, 180, 240, 300])
    engine = Engine(table_of(ts, values, np.ones(6, dtype=bool)))
    index = engine.index("latency_ms")
    first = 18 * 60  # minute buckets count from midnight before ORIGIN (18:00)

    def good(t: float, op: Op) -> list[int]:
        return index.good_per_bucket(index.rank(t, op))[first:].tolist()

    assert good(x, "lte") == [0, 1, 1, 1, 0, 1]
    assert good(x, "lt") == [0, 0, 1, 0, 0, 1]
    assert good(nudge(x, 1), "lt") == [0, 1, 1, 1, 0, 1]
    assert good(nudge(x, 1), "lte") == [1, 1, 1, 1, 0, 1]


# -- monotone attainment and sweeps ---------------------------------------------------------------


@SETTINGS
@given(
    st.data(),
    request_tables(),
    METHODS,
    WINDOWS,
    st.sampled_from(["exclude", "bad"]),
)
def test_attainment_never_falls_when_the_threshold_rises(
    data: st.DataObject, table: RequestTable, method: str, window: dict[str, str], failed: str
) -> None:
    values = table.frame["latency_ms"].to_numpy()
    t1 = data.draw(thresholds_near(values), label="t1")
    t2 = data.draw(thresholds_near(values).filter(lambda t: t >= t1), label="t2")
    engine = Engine(table)
    lo = simulate(Scope.bind(engine, slo_of(method, window, t1, failed=failed)))
    hi = simulate(Scope.bind(engine, slo_of(method, window, t2, failed=failed)))
    assert lo.overall.total == hi.overall.total
    # RatioTimeslices sums float slice ratios (period sums are differences of running sums,
    # so equal ratios can differ in the last bits).
    assert lo.overall.good <= hi.overall.good + 1e-9
    np.testing.assert_array_equal(lo.periods.total, hi.periods.total)
    assert np.all(lo.periods.good <= hi.periods.good + 1e-9)
    assert np.all(lo.periods.met <= hi.periods.met)


@SETTINGS
@given(st.data(), request_tables(), METHODS, WINDOWS, st.sampled_from(["lte", "lt"]))
def test_sweep_is_monotone_and_agrees_with_simulation(
    data: st.DataObject, table: RequestTable, method: str, window: dict[str, str], op: str
) -> None:
    values = table.frame["latency_ms"].to_numpy()
    if not table.frame["ok"].any():
        return  # nothing to sweep: only failed requests
    grid = np.array(
        sorted(set(data.draw(st.lists(thresholds_near(values), min_size=1, max_size=6))))
    )
    slo = slo_of(method, window, float(grid[0]), op=op)
    engine = Engine(table)
    sweep = sweep_thresholds(Scope.bind(engine, slo), grid)
    finite = ~np.isnan(sweep.attainment)
    assert np.all(np.diff(sweep.attainment[finite]) >= 0)
    shares = sweep.periods_met_share
    assert np.all(np.isnan(shares)) or np.all(np.diff(shares) >= 0)
    for t, att, share, worst in zip(
        grid, sweep.attainment, sweep.periods_met_share, sweep.worst_period, strict=True
    ):
        sim = simulate(Scope.bind(engine, slo), threshold=float(t))
        assert att == pytest.approx(sim.overall.attainment, rel=1e-12, nan_ok=True)
        # Only complete periods are judged; without one the sweep has no share to give.
        complete = ~sim.periods.partial
        if not complete.any():
            assert math.isnan(share)
            continue
        use = complete & sim.periods.has_data
        if not use.any():
            assert math.isnan(share)  # whole periods, but none with events to judge
            continue
        assert share == pytest.approx(sim.periods.met[use].sum() / use.sum())
        assert sim.periods_met == (int(sim.periods.met[use].sum()) if use.any() else None)
        if use.any():
            assert worst == pytest.approx(np.min(sim.periods.attainment[use]), rel=1e-12)


# -- budget and confidence intervals --------------------------------------------------------------


@SETTINGS
@given(
    request_tables(),
    st.floats(0.5, 0.9999),
    METHODS,
    WINDOWS,
    st.sampled_from(INTERESTING),
)
def test_budget_remaining_is_consistent_with_attainment(
    table: RequestTable, target: float, method: str, window: dict[str, str], threshold: float
) -> None:
    sim = simulate(Scope.bind(Engine(table), slo_of(method, window, threshold, target=target)))
    for p in sim.periods:
        if p.total == 0:
            assert p.met is None
            assert math.isnan(p.budget_remaining)
            continue
        assert p.budget_remaining == pytest.approx(1 - (1 - p.attainment) / (1 - target))
        # A partial period is shown, never judged.
        assert p.met == (None if p.partial else (p.budget_remaining >= -1e-9))
        # (RatioTimeslices sums float ratios: a perfect period can read 1 + 4e-16.)
        assert p.budget_remaining <= 1.0 + 1e-9
    o = sim.overall
    if o.total > 1 or (o.total == 1 and method != "RatioTimeslices"):
        # A mean of one slice ratio has no interval (NaN); counts always have one.
        assert 0 <= o.ci_low <= o.attainment + 1e-12
        assert o.attainment <= o.ci_high + 1e-12
        assert o.ci_high <= 1


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 10**7).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_clopper_pearson_contains_the_point_estimate(pair: tuple[int, int]) -> None:
    good, total = pair
    lo, hi = clopper_pearson(good, total)
    assert 0.0 <= lo <= good / total <= hi <= 1.0
    assert (lo == 0.0) == (good == 0)
    assert (hi == 1.0) == (good == total)
    alo, ahi = clopper_pearson_arrays(np.array([good]), np.array([total]))
    assert (alo[0], ahi[0]) == pytest.approx((lo, hi), rel=1e-9, abs=1e-12)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.floats(0, 1e5, allow_nan=False), min_size=1, max_size=400),
    st.sampled_from([50.0, 90.0, 95.0, 99.0, 99.9]),
)
def test_percentile_ci_contains_the_linear_percentile(values: list[float], q: float) -> None:
    ordered = np.sort(np.array(values))
    point = percentile_sorted(ordered, q)
    assert point == pytest.approx(np.percentile(ordered, q), rel=1e-12, abs=1e-12)
    lo, hi = percentile_ci(ordered, q)
    if math.isnan(lo):
        return  # too few values for a 95% interval of this percentile
    assert lo <= point <= hi


@pytest.mark.parametrize("tz", ["UTC", "America/New_York"])
def test_a_request_in_the_last_minute_of_a_day_ends_a_window_at_midnight(tz: str) -> None:
    # Regression: the first rolling window must end at the first local midnight after the first
    # request, also when that midnight falls in the request's own minute (23:59:01 local).
    local_midnight = pd.Timestamp("2026-11-01", tz=tz)
    at = (local_midnight - pd.Timedelta(seconds=59) - ORIGIN).total_seconds()
    engine = Engine(table_of(np.array([at]), np.array([120.0]), np.array([True])))
    slo = slo_of("Occurrences", {"rolling": "1d", "tz": tz}, 200.0)
    (period,) = simulate(Scope.bind(engine, slo)).periods
    assert period.end == local_midnight
    assert (period.good, period.total) == (1, 1)
    # One minute of data covers no whole day: the window is shown, not judged.
    assert period.partial
    assert period.met is None
    sweep = sweep_thresholds(Scope.bind(engine, slo), np.array([100.0, 200.0]))
    assert np.isnan(sweep.periods_met_share).all()
    assert sweep.attainment.tolist() == [0.0, 1.0]


def test_data_ending_on_a_25_hour_day_get_a_window_ending_after_them() -> None:
    # Regression: 2026-11-01 has 25 hours in New York. The last rolling window must end at the
    # following local midnight (2026-11-02 00:00 EST = 05:00 UTC) and hold that day's requests.
    day = pd.Timestamp("2026-11-01", tz="America/New_York")
    times = np.array([(day + pd.Timedelta(hours=h) - ORIGIN).total_seconds() for h in (0, 12, 24)])
    engine = Engine(table_of(times, np.array([100.0, 100.0, 300.0]), np.ones(3, dtype=bool)))
    slo = slo_of("Occurrences", {"rolling": "1d", "tz": "America/New_York"}, 200.0)
    last = simulate(Scope.bind(engine, slo)).periods[-1]
    assert last.end == pd.Timestamp("2026-11-02", tz="America/New_York")
    assert last.end - last.start == pd.Timedelta(hours=24)
    # The window is 24 hours: it starts at 01:00 on the 25-hour day, after the midnight request.
    assert (last.good, last.total) == (1, 2)
