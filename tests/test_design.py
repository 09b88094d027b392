"""Target design: recommendations on the sample data, checked against pandas, and sweeps."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sloview.design import recommend, sweep_targets, sweep_thresholds
from sloview.engine import Engine
from sloview.engine.scope import Scope
from sloview.ingest import RequestTable, load_requests
from sloview.ingest.mapping import ResolvedMapping
from sloview.model import SLO
from sloview.simulate import PeriodTable, simulate


@pytest.fixture(scope="module")
def table(sample_path: Path) -> RequestTable:
    return load_requests(sample_path)


@pytest.fixture(scope="module")
def engine(table: RequestTable) -> Engine:
    return Engine(table)


def complete_periods(periods: PeriodTable) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    return [(p.start, p.end) for p in periods if not p.partial]


def share_met(
    frame: pd.DataFrame,
    periods: list[tuple[pd.Timestamp, pd.Timestamp]],
    metric: str,
    threshold: float,
    target: float,
    failed_bad: bool,
) -> float:
    """Share of periods whose good/valid events reach the target at `threshold` (pandas)."""
    values = frame[metric]
    valid = (frame["ok"] & values.notna()) | (~frame["ok"] if failed_bad else False)
    good = frame["ok"] & (values <= threshold)
    met = []
    for start, end in periods:
        inside = (frame["ts"] >= start) & (frame["ts"] < end)
        met.append((good & inside).sum() / (valid & inside).sum() >= target)
    return float(np.mean(met))


CASES = {
    "chat, rolling 28d": (
        {"endpoint": "chat"},
        {"kind": "latency"},
        {"target": 0.95, "threshold": 20_000},
        {"rolling": "28d"},
    ),
    "chat, days": (
        {"endpoint": "chat"},
        {"kind": "latency"},
        {"target": 0.95, "threshold": 20_000},
        {"calendar": "day"},
    ),
    "ttft, New York weeks": (
        {},
        {"kind": "latency", "metric": "ttft_ms"},
        {"target": 0.99, "threshold": 1500},
        {"calendar": "week", "tz": "America/New_York"},
    ),
    "embeddings, failures bad": (
        {"endpoint": "embeddings"},
        {"kind": "latency", "failed_requests": "bad"},
        {"target": 0.99, "threshold": 100},
        {"calendar": "day"},
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_recommended_threshold_is_the_tightest_observed_value(
    engine: Engine, table: RequestTable, case: str
) -> None:
    segment, sli, objective, window = CASES[case]
    slo = SLO.from_dict(
        {"name": "x", "sli": sli, "objective": objective, "window": window, "segment": segment}
    )
    desired = 0.9
    rec = recommend(Scope.bind(engine, slo), desired)
    assert rec.threshold is not None

    frame = table.frame
    for column, value in segment.items():
        frame = frame[frame[column] == value]
    metric, bad = sli.get("metric", "latency_ms"), sli.get("failed_requests") == "bad"
    periods = complete_periods(simulate(Scope.bind(engine, slo)).periods)
    assert rec.complete_only
    assert rec.periods_used == len(periods)
    target = objective["target"]
    observed = np.unique(frame.loc[frame["ok"], metric].dropna())
    assert rec.threshold in observed
    lower = observed[np.searchsorted(observed, rec.threshold) - 1]
    assert share_met(frame, periods, metric, rec.threshold, target, bad) >= desired
    assert share_met(frame, periods, metric, lower, target, bad) < desired
    # The 95% interval of the deciding period's percentile brackets the recommendation.
    assert rec.threshold_ci is not None
    assert rec.threshold_ci[0] <= rec.threshold <= rec.threshold_ci[1]


def test_recommended_target_is_met_in_the_desired_share(engine: Engine) -> None:
    slo = SLO.from_dict(
        {
            "name": "x",
            "sli": {"kind": "availability"},
            "objective": {"target": 0.999},
            "window": {"calendar": "day"},
        }
    )
    rec = recommend(Scope.bind(engine, slo), 0.8)
    att = np.array([p.attainment for p in simulate(Scope.bind(engine, slo)).periods])
    assert (att >= rec.target_exact).mean() >= 0.8
    assert (att > rec.target_exact).mean() < 0.8  # the binding period
    # The rounded target people write is not above the exact one.
    assert rec.target <= rec.target_exact
    assert (att >= rec.target).mean() >= 0.8
    assert rec.target_every_period == att.min()
    assert rec.target_ci[0] <= rec.target_exact <= rec.target_ci[1]
    assert rec.margin == pytest.approx(att.min() - 0.999)


@pytest.mark.parametrize("percentile", [None, 95.0])
def test_slice_recommendations_meet_the_share_and_the_next_lower_value_does_not(
    engine: Engine, percentile: float | None
) -> None:
    sli: dict[str, object] = {"kind": "latency"}
    budgeting: dict[str, object] = {"method": "Timeslices", "slice": "1h"}
    if percentile is None:
        budgeting["slice_target"] = 0.95
    else:
        sli["percentile"] = percentile
    slo = SLO.from_dict(
        {
            "name": "x",
            "sli": sli,
            "objective": {"target": 0.9, "threshold": 20_000},
            "window": {"calendar": "day"},
            "budgeting": budgeting,
            "segment": {"endpoint": "chat"},
        }
    )
    rec = recommend(Scope.bind(engine, slo), 0.75)
    assert rec.threshold is not None
    observed = engine.view((("endpoint", "chat"),)).index("latency_ms").sorted_values
    lower = observed[observed < rec.threshold].max()

    def share(t: float) -> float:
        return float(simulate(Scope.bind(engine, slo), threshold=t).periods.met.mean())

    assert share(rec.threshold) >= 0.75
    assert share(lower) < 0.75


def test_no_threshold_when_failures_alone_break_the_target(engine: Engine) -> None:
    # Failed requests counted bad: on the incident day (2026-09-23) about 2% of requests fail,
    # so no latency threshold reaches 99% on every day.
    slo = SLO.from_dict(
        {
            "name": "x",
            "sli": {"kind": "latency", "failed_requests": "bad"},
            "objective": {"target": 0.99, "threshold": 30_000},
            "window": {"calendar": "day"},
        }
    )
    rec = recommend(Scope.bind(engine, slo), 1.0)
    assert rec.threshold is None
    assert rec.threshold_every_period is None
    assert "failed requests counted as bad already exceed the budget" in rec.rationale


def test_target_sweep_matches_the_periods(engine: Engine) -> None:
    slo = SLO.from_dict(
        {
            "name": "x",
            "sli": {"kind": "availability"},
            "objective": {"target": 0.99},
            "window": {"calendar": "day"},
        }
    )
    targets = np.array([0.99, 0.995, 0.998])
    sweep = sweep_targets(Scope.bind(engine, slo), targets)
    att = np.array([p.attainment for p in simulate(Scope.bind(engine, slo)).periods])
    expected = [(att >= t).mean() for t in targets]
    np.testing.assert_allclose(sweep.periods_met_share, expected)


def test_sweep_agrees_with_simulation_across_a_dst_change() -> None:
    # Regression: rolling windows in a timezone with daylight saving time end at local midnight
    # and are 24 hours long, so the window ending on 2026-11-02 00:00 in New York starts at
    # 2026-11-01 01:00 local. The sweep used to count good events per local day and lost most
    # of a day for every window that crossed the change.
    rng = np.random.default_rng(7)
    n = 20_000
    start = pd.Timestamp("2026-10-28", tz="UTC").value
    ts = np.sort(rng.integers(start, start + 8 * 86400 * 10**9, n))
    frame = pd.DataFrame(
        {
            "ts": pd.DatetimeIndex(ts.view("datetime64[ns]")).tz_localize("UTC"),
            "latency_ms": np.round(rng.lognormal(5, 0.8, n), 1),
            "ok": rng.random(n) > 0.01,
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
    engine = Engine(RequestTable(frame=frame, source_name="x", mapping=mapping, rows_read=n))
    slo = SLO.from_dict(
        {
            "name": "x",
            "sli": {"kind": "latency"},
            "objective": {"target": 0.8, "threshold": 250},
            "window": {"rolling": "1d", "tz": "America/New_York"},
        }
    )
    thresholds = np.array([150.0, 200.0, 250.0, 300.0])
    sweep = sweep_thresholds(Scope.bind(engine, slo), thresholds)
    for t, share, worst in zip(
        thresholds, sweep.periods_met_share, sweep.worst_period, strict=True
    ):
        periods = simulate(Scope.bind(engine, slo), threshold=float(t)).periods
        use = ~periods.partial
        assert share == periods.met[use].mean()
        assert worst == pytest.approx(periods.attainment[use].min(), rel=1e-12)
    assert not math.isnan(sweep.worst_period[0])
