"""The engine over aggregates gives the request engine's figures: exactly for availability and
for thresholds on bin edges, within one bin for percentiles, and never above the exact
attainment between edges (thresholds snap down)."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sloview.design import recommend, sweep_thresholds
from sloview.engine import Engine
from sloview.engine.aggregated import AggregateEngine
from sloview.engine.scope import Scope
from sloview.errors import SpecError
from sloview.ingest import load_requests
from sloview.ingest.table import LATENCY, OK, TS, RequestTable, times_ns
from sloview.model import SLO
from sloview.simulate import simulate
from sloview.sources.aggregates import LOG_BIN_WIDTH, from_requests
from sloview.sources.sql import SqlSource
from sloview.stats import percentile
from sloview.units import parse_ms_list

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data" / "genai_requests.parquet"


@pytest.fixture(scope="module")
def table() -> RequestTable:
    return load_requests(SAMPLE)


@pytest.fixture(scope="module")
def engines(table: RequestTable) -> tuple[Engine, AggregateEngine]:
    frame = table.frame
    agg = from_requests(
        times_ns(frame),
        frame[OK].to_numpy(),
        frame[LATENCY].to_numpy(dtype=np.float64, na_value=np.nan),
        source="sample aggregates",
    )
    return Engine(table), AggregateEngine(agg)


def slo(**changes: object) -> SLO:
    data: dict[str, object] = {
        "name": "chat-latency",
        "sli": {"kind": "latency", "metric": "latency_ms", "failed_requests": "bad"},
        "objective": {"target": 0.95, "threshold": 1000.0},
        "window": {"rolling": "7d"},
        "budgeting": {"method": "Occurrences"},
    }
    data.update(changes)
    return SLO.from_dict(data)


def test_availability_is_exact(engines: tuple[Engine, AggregateEngine]) -> None:
    exact, agg = engines
    spec = slo(sli={"kind": "availability"}, objective={"target": 0.999})
    a, b = simulate(Scope.bind(exact, spec)), simulate(Scope.bind(agg, spec))
    assert b.overall.good == a.overall.good
    assert b.overall.total == a.overall.total
    assert np.array_equal(a.periods.attainment, b.periods.attainment, equal_nan=True)
    assert len(a.firings) == len(b.firings)


def test_a_threshold_on_a_bin_edge_is_exact(engines: tuple[Engine, AggregateEngine]) -> None:
    exact, agg = engines
    # 1000 ms is a power of ten, so a bin edge: every count agrees.
    for method in ("Occurrences", "Timeslices"):
        budgeting = (
            {"method": method}
            if method == "Occurrences"
            else {
                "method": method,
                "slice": "5m",
                "slice_target": 0.95,
            }
        )
        a = simulate(Scope.bind(exact, slo(budgeting=budgeting)))
        b = simulate(Scope.bind(agg, slo(budgeting=budgeting)))
        assert (b.overall.good, b.overall.total) == (a.overall.good, a.overall.total)
        assert np.allclose(a.periods.attainment, b.periods.attainment, equal_nan=True)
        assert [f.start for f in a.firings] == [f.start for f in b.firings]
    assert not any(n.startswith("The threshold") for n in b.notes)
    assert any("aggregates of sample aggregates" in n for n in b.notes)


def test_between_edges_the_threshold_snaps_down_and_says_so(
    engines: tuple[Engine, AggregateEngine],
) -> None:
    exact, agg = engines
    b = simulate(Scope.bind(agg, slo(objective={"target": 0.95, "threshold": 1500.0})))
    snapped = agg.index("latency_ms").snap(1500.0)
    assert 1500.0 / (1 + LOG_BIN_WIDTH) <= snapped < 1500.0
    at_snap = simulate(Scope.bind(exact, slo(objective={"target": 0.95, "threshold": snapped})))
    at_asked = simulate(Scope.bind(exact, slo(objective={"target": 0.95, "threshold": 1500.0})))
    assert b.overall.good == at_snap.overall.good
    assert b.overall.good <= at_asked.overall.good
    assert any(n.startswith("The threshold") and "lower bound" in n for n in b.notes)


def test_per_slice_percentiles_are_within_one_bin(
    engines: tuple[Engine, AggregateEngine],
) -> None:
    exact, agg = engines
    from sloview.simulate import slice_percentiles

    spec = slo(
        sli={
            "kind": "latency",
            "metric": "latency_ms",
            "percentile": 95,
            "failed_requests": "exclude",
        },
        budgeting={"method": "Timeslices", "slice": "1h"},
    )
    pa_, ea = slice_percentiles(Scope.bind(exact, spec))
    pb, eb = slice_percentiles(Scope.bind(agg, spec))
    assert np.array_equal(ea, eb)
    has = np.isfinite(pa_)
    assert np.array_equal(has, np.isfinite(pb))
    rel = np.abs(pb[has] - pa_[has]) / pa_[has]
    assert rel.max() <= LOG_BIN_WIDTH


def test_overall_percentiles_and_intervals_bracket_the_exact(
    table: RequestTable, engines: tuple[Engine, AggregateEngine]
) -> None:
    exact, agg = engines
    values = table.frame[LATENCY][table.frame[OK]].to_numpy(dtype=np.float64)
    d = agg.distribution("latency_ms")
    assert not d.exact
    assert d.size == values.size
    for q in (50, 90, 95, 99, 99.9):
        truth = percentile(values, q)
        assert abs(d.percentile(q) - truth) <= truth * LOG_BIN_WIDTH
        lo, hi = d.percentile_ci(q)
        e_lo, e_hi = exact.distribution("latency_ms").percentile_ci(q)
        assert lo <= e_lo
        assert hi >= e_hi
    assert d.meeting(1000.0, "lte") == exact.distribution("latency_ms").meeting(1000.0, "lte")


def test_sweep_and_recommendation_run_on_bin_edges(
    engines: tuple[Engine, AggregateEngine],
) -> None:
    exact, agg = engines
    spec = slo()
    sweep = sweep_thresholds(Scope.bind(agg, spec))
    index = agg.index("latency_ms")
    assert all(index.snap(float(t)) == t for t in sweep.thresholds)
    assert np.all(np.diff(sweep.attainment) >= 0)
    rec_b, rec_a = recommend(Scope.bind(agg, spec)), recommend(Scope.bind(exact, spec))
    assert rec_b.threshold is not None
    assert rec_a.threshold is not None
    # The binned answer is the bin edge at or above the exact one.
    assert rec_a.threshold <= rec_b.threshold <= rec_a.threshold * (1 + LOG_BIN_WIDTH) + 1e-9


def test_a_joint_sli_on_aggregates_is_a_lower_bound_said_in_the_notes(
    engines: tuple[Engine, AggregateEngine],
) -> None:
    exact, agg = engines
    joint = slo(
        sli={
            "kind": "joint",
            "conditions": [{"metric": "latency_ms", "op": "lte", "threshold": 1000.0}],
        },
        objective={"target": 0.95},
    )
    on_bins = simulate(Scope.bind(agg, joint))
    on_rows = simulate(Scope.bind(exact, joint))
    # Failed requests are bad in both; the bins count requests at or under the bin edge
    # below the threshold, so never more than the rows do.
    assert on_bins.overall.total == on_rows.overall.total
    assert on_bins.overall.good <= on_rows.overall.good
    assert any(n.startswith("Joint SLI from separate histograms") for n in on_bins.notes)


def test_segments_of_database_aggregates_match_the_file(
    tmp_path: Path, table: RequestTable
) -> None:
    frame = table.frame
    db = tmp_path / "requests.db"
    with sqlite3.connect(db) as conn:
        conn.execute(
            "CREATE TABLE requests (ts INTEGER, endpoint TEXT, status INTEGER, latency_ms REAL)"
        )
        status = np.where(frame[OK].to_numpy(), 200, 500)
        conn.executemany(
            "INSERT INTO requests VALUES (?, ?, ?, ?)",
            zip(
                (times_ns(frame) // 1_000_000).tolist(),
                frame["endpoint"].astype(str).tolist(),
                status.tolist(),
                frame[LATENCY].astype(float).tolist(),
                strict=True,
            ),
        )
    source = SqlSource(f"sqlite:///{db}", table="requests", row_limit=1000, group_by=("endpoint",))
    loaded = source.load()
    assert not isinstance(loaded, RequestTable)
    agg = AggregateEngine(loaded)
    exact = Engine(table)
    values = agg.segment_values("endpoint")
    assert set(values) == set(exact.segment_values("endpoint"))
    spec = slo(segment={"endpoint": values[0]})
    a, b = simulate(Scope.bind(exact, spec)), simulate(Scope.bind(agg, spec))
    assert (b.overall.good, b.overall.total) == (a.overall.good, a.overall.total)
    assert math.isclose(b.overall.attainment, a.overall.attainment)
    assert TS in frame.columns


@given(st.lists(st.floats(min_value=1e-3, max_value=1e7, allow_nan=False), max_size=5))
def test_threshold_lists_parse_back(values: list[float]) -> None:
    assert parse_ms_list(", ".join(repr(v) for v in values)) == tuple(values)


@pytest.mark.parametrize("text", ["abc", "-5", "0", "inf", "500, nan"])
def test_threshold_lists_refuse_what_is_not_a_duration(text: str) -> None:
    with pytest.raises(SpecError, match="is not a number of milliseconds"):
        parse_ms_list(text, "latency thresholds")


def test_binned_histograms_draw_on_a_log_axis_even_from_zero_and_infinity() -> None:
    from sloview.engine.distribution import BinnedValues

    edges = np.array([0.0, 100.0, 250.0, 500.0, np.inf])
    dist = BinnedValues(edges=edges, counts=np.array([3, 5, 0, 2]), exactness="le buckets")
    drawn, counts = dist.log_histogram()
    assert np.all(drawn > 0)
    assert np.all(np.isfinite(drawn))
    assert np.all(np.diff(drawn) > 0)
    assert counts.tolist() == [3, 5, 0, 2]
    assert dist.percentile(100) == 500.0  # the +Inf bucket answers its lower bound
