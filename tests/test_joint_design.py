"""Two-dimensional target design of a joint SLI (TTFT x TPOT on the bundled sample).

`joint_design` claims exact attainment and share of periods met at every grid pair, from one
cumulative count. The checks here recount a few pairs independently (plain pandas, or the
ordinary `simulate()`), and check that the recommended pair, simulated on its own, meets the
target in the desired share of periods.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from sloview import charts
from sloview.design import JointDesign, joint_design
from sloview.engine import Engine
from sloview.engine.scope import Scope
from sloview.errors import SpecError
from sloview.ingest import RequestTable, load_requests
from sloview.model import SLO
from sloview.simulate import simulate

TARGET = 0.9
SHARE = 0.9
PAIRS = [(0, 0), (3, 31), (12, 12), (20, 9), (39, 39), (27, 2)]


@pytest.fixture(scope="module")
def table(sample_path: Path) -> RequestTable:
    return load_requests(sample_path)


@pytest.fixture(scope="module")
def engine(table: RequestTable) -> Engine:
    return Engine(table)


@pytest.fixture(scope="module")
def chat(table: RequestTable) -> pd.DataFrame:
    frame = table.frame
    chat = frame[frame["endpoint"] == "chat"].copy()
    tokens = chat["output_tokens"].astype("float64")
    # TPOT from its definition, independent of the ingest's column.
    chat["tpot"] = ((chat["latency_ms"] - chat["ttft_ms"]) / (tokens - 1)).where(
        chat["ok"] & (tokens > 1)
    )
    return chat


def candidate(**fields: Any) -> SLO:
    return SLO.from_dict(
        {
            "name": "chat-experience",
            "sli": {"kind": "joint", "conditions": ["ttft_ms<=500", "tpot_ms<=50"]},
            "objective": {"target": fields.pop("target", TARGET)},
            "segment": {"endpoint": "chat"},
            **fields,
        }
    )


@pytest.fixture(scope="module")
def design(engine: Engine) -> JointDesign:
    return joint_design(Scope.bind(engine, candidate()), SHARE)


def used_share(sim: Any) -> float:
    """Share of periods met among complete periods with data (what the design counts)."""
    use = ~sim.periods.partial & sim.periods.has_data
    return float(sim.periods.met[use].mean())


def test_grid_spans_the_1st_to_the_999th_percentile(
    design: JointDesign, chat: pd.DataFrame
) -> None:
    judged = chat[chat["ok"] & chat["ttft_ms"].notna() & chat["tpot"].notna()]
    for grid, values in (
        (design.thresholds_a, judged["ttft_ms"]),
        (design.thresholds_b, judged["tpot"]),
    ):
        assert grid.size == 40
        assert grid[0] == pytest.approx(values.quantile(0.01), rel=1e-12)
        assert grid[-1] == pytest.approx(values.quantile(0.999), rel=1e-12)
        ratios = grid[1:] / grid[:-1]
        np.testing.assert_allclose(ratios, ratios[0], rtol=1e-9)  # log-spaced
    assert design.medians == pytest.approx(
        (judged["ttft_ms"].median(), judged["tpot"].median()), rel=1e-12
    )


@pytest.mark.parametrize(("i", "j"), PAIRS)
def test_heatmap_values_equal_a_pandas_count(
    design: JointDesign, chat: pd.DataFrame, i: int, j: int
) -> None:
    a, b = design.thresholds_a[i], design.thresholds_b[j]
    good = chat["ok"] & (chat["ttft_ms"] <= a) & (chat["tpot"] <= b)
    # Every chat request is judged: failures are bad, and each success has TTFT and TPOT.
    assert design.attainment[i, j] == good.sum() / len(chat)


@pytest.mark.parametrize(("i", "j"), PAIRS)
def test_periods_met_share_equals_the_ordinary_simulation(
    engine: Engine, design: JointDesign, i: int, j: int
) -> None:
    slo = candidate().with_conditions(
        {"ttft_ms": design.thresholds_a[i], "tpot_ms": design.thresholds_b[j]}
    )
    sim = simulate(Scope.bind(engine, slo))
    assert design.periods_met_share[i, j] == used_share(sim)
    assert design.attainment[i, j] == pytest.approx(sim.overall.attainment, rel=1e-12)
    use = ~sim.periods.partial & sim.periods.has_data
    assert design.worst_period[i, j] == pytest.approx(
        float(sim.periods.attainment[use].min()), rel=1e-12
    )


def test_the_recommended_pair_meets_the_target_in_the_desired_share_of_periods(
    engine: Engine, design: JointDesign
) -> None:
    assert design.recommended is not None
    slo = design.recommended_slo(candidate())
    assert slo is not None
    conditions = {c.metric: c.threshold for c in slo.sli.conditions}
    assert (conditions["ttft_ms"], conditions["tpot_ms"]) == design.recommended
    sim = simulate(Scope.bind(engine, slo))
    assert used_share(sim) >= SHARE
    assert design.periods_used == int((~sim.periods.partial & sim.periods.has_data).sum()) == 15
    # It is on the iso-line: one grid step tighter in TPOT would not do.
    _, j = design.recommended_index  # type: ignore[misc]
    assert j > 0
    tighter = simulate(
        Scope.bind(engine, slo.with_conditions({"tpot_ms": design.thresholds_b[j - 1]}))
    )
    assert used_share(tighter) < SHARE
    # The candidate's own 500 ms / 50 ms misses the 90% target in every period.
    assert used_share(simulate(Scope.bind(engine, candidate()))) == 0
    assert "meets the 90% target" in design.rationale


def test_the_iso_line_is_the_tightest_b_for_each_a(design: JointDesign) -> None:
    feasible = design.periods_met_share >= SHARE
    for i, b in enumerate(design.iso_b):
        if np.isnan(b):
            assert not feasible[i].any()
            continue
        j = int(np.searchsorted(design.thresholds_b, b))
        assert feasible[i, j]
        assert not feasible[i, :j].any()
    finite = design.iso_b[np.isfinite(design.iso_b)]
    assert finite.size > 5
    assert np.all(np.diff(finite) <= 0)  # a looser A never needs a looser B


def test_the_recommended_pair_minimises_the_median_scaled_product(design: JointDesign) -> None:
    on = np.isfinite(design.iso_b)
    a, b = design.thresholds_a[on], design.iso_b[on]
    score = np.log(a / design.medians[0]) + np.log(b / design.medians[1])
    best = int(np.argmin(score))
    assert design.recommended == (a[best], b[best])
    # Balanced: neither threshold sits at the end of its grid.
    ra, rb = design.recommended  # type: ignore[misc]
    assert design.thresholds_a[0] < ra < design.thresholds_a[-1]
    assert design.thresholds_b[0] < rb < design.thresholds_b[-1]


def test_slice_budgeting_matches_the_ordinary_simulation(engine: Engine) -> None:
    slo = candidate(
        target=0.8,
        window={"calendar": "week"},
        budgeting={"method": "Timeslices", "slice": "1h", "slice_target": 0.85},
    )
    d = joint_design(Scope.bind(engine, slo), 0.75, points=12)
    assert d.recommended is not None
    for i, j in [(0, 0), (4, 7), (8, 3), (11, 11)]:
        sim = simulate(
            Scope.bind(
                engine,
                slo.with_conditions({"ttft_ms": d.thresholds_a[i], "tpot_ms": d.thresholds_b[j]}),
            ),
        )
        assert d.periods_met_share[i, j] == used_share(sim)
        assert d.attainment[i, j] == pytest.approx(sim.overall.attainment, rel=1e-12)
    rec = simulate(Scope.bind(engine, d.recommended_slo(slo)))  # type: ignore[arg-type]
    assert used_share(rec) >= 0.75


def test_ratio_timeslices_and_a_fixed_third_condition(engine: Engine) -> None:
    # Three conditions: the design varies TTFT and TPOT and keeps latency <= 20 s fixed.
    slo = SLO.from_dict(
        {
            "name": "three",
            "sli": {
                "kind": "joint",
                "conditions": ["latency_ms<=20000", "ttft_ms<=500", "tpot_ms<50"],
            },
            "objective": {"target": 0.7},
            "budgeting": {"method": "RatioTimeslices", "slice": "30m"},
            "segment": {"endpoint": "chat"},
        }
    )
    d = joint_design(Scope.bind(engine, slo), 0.5, axes=("ttft_ms", "tpot_ms"), points=10)
    assert d.metrics == ("ttft_ms", "tpot_ms")
    assert d.ops == ("lte", "lt")
    for i, j in [(2, 2), (6, 8), (9, 9)]:
        moved = slo.with_conditions({"ttft_ms": d.thresholds_a[i], "tpot_ms": d.thresholds_b[j]})
        sim = simulate(Scope.bind(engine, moved))
        assert d.attainment[i, j] == pytest.approx(sim.overall.attainment, rel=1e-12)
        assert d.periods_met_share[i, j] == used_share(sim)


def test_given_thresholds_are_used_as_the_grid(engine: Engine, chat: pd.DataFrame) -> None:
    d = joint_design(
        Scope.bind(engine, candidate()),
        SHARE,
        thresholds=(np.array([600.0, 400.0]), np.array([30.0])),
    )
    np.testing.assert_array_equal(d.thresholds_a, [400.0, 600.0])
    good = chat["ok"] & (chat["ttft_ms"] <= 600.0) & (chat["tpot"] <= 30.0)
    assert d.attainment[1, 0] == good.sum() / len(chat)


def test_no_pair_qualifies_when_failures_alone_break_the_target(engine: Engine) -> None:
    # Chat loses about 0.5% of requests to failures: a 99.9% target cannot be met at all.
    d = joint_design(Scope.bind(engine, candidate(target=0.999)), SHARE, points=8)
    assert d.recommended is None
    assert np.isnan(d.iso_b).all()
    assert "No pair on the grid" in d.rationale
    assert d.recommended_slo(candidate()) is None
    assert d.to_dict()["recommended_ms"] is None


@pytest.mark.parametrize(
    ("sli", "message"),
    [
        ({"kind": "joint", "conditions": ["ttft_ms<=500"]}, "two conditions"),
        ({"kind": "availability"}, "two conditions"),
    ],
)
def test_design_needs_two_conditions(engine: Engine, sli: dict[str, Any], message: str) -> None:
    slo = SLO.from_dict({"name": "x", "sli": sli, "objective": {"target": 0.9}})
    with pytest.raises(SpecError, match=message):
        joint_design(Scope.bind(engine, slo))


def test_axes_must_be_conditions(engine: Engine) -> None:
    with pytest.raises(SpecError, match="two different conditions") as caught:
        joint_design(Scope.bind(engine, candidate()), axes=("ttft_ms", "latency_ms"))
    assert caught.value.where == "axes"


def test_the_heatmap_figure_shows_the_values_the_iso_line_and_the_pair(
    design: JointDesign,
) -> None:
    fig = charts.joint_heatmap(design, current=(500.0, 50.0))
    heat = next(t for t in fig.data if t.type == "heatmap")
    np.testing.assert_array_equal(np.asarray(heat.z), design.attainment.T)
    np.testing.assert_array_equal(np.asarray(heat.x), design.thresholds_a)
    names = [t.name for t in fig.data]
    assert "recommended pair" in names
    star = next(t for t in fig.data if t.name == "recommended pair")
    assert (star.x[0], star.y[0]) == design.recommended
    line = next(t for t in fig.data if (t.name or "").startswith("tightest TPOT"))
    np.testing.assert_array_equal(line.y, design.iso_b[np.isfinite(design.iso_b)])
    assert fig.layout.xaxis.type == "log"
    shares = charts.joint_heatmap(design, value="periods_met_share")
    heat = next(t for t in shares.data if t.type == "heatmap")
    np.testing.assert_array_equal(np.asarray(heat.z), design.periods_met_share.T)


def test_plain_data(design: JointDesign) -> None:
    data = design.to_dict()
    assert data["metrics"] == ["ttft_ms", "tpot_ms"]
    assert len(data["attainment"]) == 40
    assert len(data["attainment"][0]) == 40
    assert data["recommended_ms"] == list(design.recommended)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [np.array([]), np.array([-1.0, 5.0]), np.array([np.nan, 5.0])])
def test_given_thresholds_must_be_usable(engine: Engine, bad: np.ndarray) -> None:
    with pytest.raises(SpecError, match="thresholds in ms"):
        joint_design(Scope.bind(engine, candidate()), thresholds=(bad, np.array([30.0])))
