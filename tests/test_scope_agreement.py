"""Every view of one candidate tells the same truth as `simulate` for it.

Candidates are drawn by hypothesis (SLI kinds, budgeting methods, windows, segments, failed
request policies, thresholds and targets) on the bundled sample and on a real production
trace (Alibaba's generative image serving), and every figure a user can see elsewhere is held
to the simulation of the same candidate:

- the target sweep at the candidate's target is its share of complete periods met;
- the threshold sweep at the candidate's threshold is its attainment and share of periods met;
- a row of the segments table (and of `simulate --by`) is the simulation of the candidate
  narrowed to that value, and so is a row of Explore's per-segment comparison;
- the report's figures are the simulation's, shown with the same formatting as the page.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sloview import explore
from sloview import formatting as fmt
from sloview.design import TARGET_GRID, sweep_targets, sweep_thresholds
from sloview.engine import Engine, Scope
from sloview.ingest import Mapping, load_requests
from sloview.model import SLO
from sloview.report import render, report_inputs
from sloview.session import Candidate
from sloview.simulate import Simulation, segment_results, simulate

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data" / "genai_requests.parquet"
ALIBABA = "alibaba_gentd26_genai_serving/lora_request_trace.csv"

AGREE = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def sample() -> Engine:
    return Engine(load_requests(SAMPLE))


@pytest.fixture(scope="module")
def alibaba(realdata: Path) -> Engine:
    mapping = Mapping(segments=("predict_type", "num_lora"))
    return Engine(load_requests(realdata / ALIBABA, mapping))


@st.composite
def candidates(draw: st.DrawFn, engine: Engine) -> SLO:
    """A candidate SLO on `engine`'s data: any kind, method, window, segment and policy."""
    metric = "latency_ms"
    values = engine.values(metric)
    kind = draw(st.sampled_from(["latency", "latency", "availability"]))
    method = draw(st.sampled_from(["Occurrences", "Timeslices", "RatioTimeslices"]))
    window = draw(
        st.sampled_from(
            [
                {"rolling": "1d"},
                {"rolling": "7d"},
                {"rolling": "28d"},
                {"calendar": "day"},
                {"calendar": "week", "tz": "Europe/Berlin"},
            ]
        )
    )
    target = draw(st.sampled_from([float(t) for t in TARGET_GRID] + [0.5, 0.8]))
    sli: dict[str, object] = {"kind": kind}
    objective: dict[str, object] = {"target": target}
    if kind == "latency":
        q = draw(st.sampled_from([50.0, 80.0, 90.0, 95.0, 99.0]))
        objective["threshold"] = float(np.percentile(values, q))
        sli["failed_requests"] = draw(st.sampled_from(["exclude", "bad"]))
    budgeting: dict[str, object] = {"method": method}
    if method != "Occurrences":
        budgeting["slice"] = draw(st.sampled_from(["5m", "1h"]))
    if method == "Timeslices":
        budgeting["slice_target"] = draw(st.sampled_from([0.5, 0.9, 0.99]))
    spec: dict[str, object] = {
        "name": "candidate",
        "sli": sli,
        "objective": objective,
        "window": window,
        "budgeting": budgeting,
    }
    columns = [c for c in engine.segment_columns() if c != "output_length"]
    if columns and draw(st.booleans()):
        column = draw(st.sampled_from(columns))
        spec["segment"] = {column: draw(st.sampled_from(engine.segment_values(column)[:3]))}
    return SLO.from_dict(spec)


def share_of_complete_periods_met(sim: Simulation) -> float:
    return sim.periods_met / sim.periods_judged if sim.periods_met is not None else math.nan


def check_agreement(data: Engine, slo: SLO) -> None:
    scope = Scope.bind(data, slo)
    sim = simulate(scope)
    share = share_of_complete_periods_met(sim)

    # The target sweep at the candidate's own target.
    targets = sweep_targets(scope, np.array([slo.objective.target]))
    assert targets.periods_met_share[0] == pytest.approx(share, nan_ok=True)

    # The threshold sweep at the candidate's own threshold.
    if slo.sli.kind == "latency":
        t = float(slo.objective.threshold or 0.0)
        sweep = sweep_thresholds(scope, np.array([t]))
        assert sweep.attainment[0] == pytest.approx(sim.overall.attainment, rel=1e-12, nan_ok=True)
        assert sweep.periods_met_share[0] == pytest.approx(share, nan_ok=True)

    # Each row of the segments table is the candidate narrowed to that value.
    column = next(c for c in data.segment_columns() if c not in dict(slo.segment))
    for row in segment_results(scope, column):
        narrowed = slo.with_changes(segment=(*slo.segment, (column, row.value)))
        alone = simulate(Scope.bind(data, narrowed))
        assert (row.overall.good, row.overall.total) == (alone.overall.good, alone.overall.total)
        assert row.periods_met == alone.periods_met
        assert row.periods == alone.periods_judged

    # Explore's per-segment comparison counts as the simulation of a request-count SLO does.
    if slo.sli.kind == "latency" and slo.budgeting.method == "Occurrences" and not slo.exclusions:
        table = data.table
        frame = explore.segment_attainment(
            table,
            column,
            slo.sli.metric,
            float(slo.objective.threshold or 0.0),
            target=slo.objective.target,
            failed_requests=slo.sli.failed_requests,
        )
        for row in frame.itertuples():
            value = str(getattr(row, column))
            whole = slo.with_changes(segment=((column, value),))
            alone = simulate(Scope.bind(data, whole)).overall
            assert (row.good, row.valid) == (alone.good, alone.total)


@given(st.data())
@AGREE
def test_every_view_agrees_with_simulate_on_the_sample(sample: Engine, data: st.DataObject) -> None:
    check_agreement(sample, data.draw(candidates(sample)))


@given(st.data())
@AGREE
def test_every_view_agrees_with_simulate_on_real_data(alibaba: Engine, data: st.DataObject) -> None:
    check_agreement(alibaba, data.draw(candidates(alibaba)))


def test_a_segment_candidate_target_sweep_is_not_zero(sample: Engine) -> None:
    # The bug users met: the target sweep of a candidate limited to one endpoint read 0% for
    # every target, because the sweep ignored the segment.
    slo = SLO.from_dict(
        {
            "name": "chat",
            "sli": {"kind": "latency"},
            "objective": {"target": 0.95, "threshold": 20000},
            "segment": {"endpoint": "chat"},
        }
    )
    scope = Scope.bind(sample, slo)
    sim = simulate(scope)
    assert sim.periods_met == sim.periods_judged == 15
    assert sweep_targets(scope, np.array([0.95])).periods_met_share.tolist() == [1.0]


def test_the_report_shows_the_figures_of_the_page(sample: Engine) -> None:
    slo = SLO.from_dict(
        {
            "name": "availability",
            "sli": {"kind": "availability"},
            "objective": {"target": 0.995},
            "segment": {"region": "us-east"},
        }
    )
    sim = simulate(Scope.bind(sample, slo))
    inputs = report_inputs(
        sample.table, sample, [Candidate(slo=slo, agreed=True)], generated_at="now"
    )
    (found,) = inputs.agreed
    assert found.simulation.overall == sim.overall
    assert found.simulation.periods_met == sim.periods_met
    markdown = render(inputs, "md").decode()
    target = slo.objective.target
    # The page's metric values, as the page formats them, appear in the report.
    assert fmt.attainment(sim.overall.attainment, target) in markdown
    assert fmt.ci_range(sim.overall.ci_low, sim.overall.ci_high, target) in markdown
    assert fmt.periods_met(sim.periods_met, sim.periods_judged) in markdown
    assert fmt.budget(sim.error_budget_remaining) in markdown
