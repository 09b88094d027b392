"""Simulate an SLO on history: attainment, periods, error budget, burn rates, alert backtest.

Pure functions of a scope (an SLO bound to its requests) -> typed results. The pieces:
`grid` (the cells each budgeting method reduces to), `budget` (periods, budget, burn rates),
`alerts` (the backtest), `notes`, `results` (typed results), `run` (one SLO) and `composite`.
"""

from sloview.simulate.budget import cumsum0, period_table
from sloview.simulate.composite import CompositeSimulation, simulate_composite
from sloview.simulate.grid import (
    build_grid,
    event_counts,
    ratio_verdict,
    slice_cells,
    slice_cells_at,
    slice_layout,
    slice_percentiles,
    slice_sum,
)
from sloview.simulate.notes import data_notes, joint_notes
from sloview.simulate.results import (
    AlertFiring,
    Attainment,
    PeriodResult,
    PeriodTable,
    SegmentResult,
    Series,
    Simulation,
    Violation,
)
from sloview.simulate.run import segment_results, simulate

__all__ = [
    "AlertFiring",
    "Attainment",
    "CompositeSimulation",
    "PeriodResult",
    "PeriodTable",
    "SegmentResult",
    "Series",
    "Simulation",
    "Violation",
    "build_grid",
    "cumsum0",
    "data_notes",
    "event_counts",
    "joint_notes",
    "period_table",
    "ratio_verdict",
    "segment_results",
    "simulate",
    "simulate_composite",
    "slice_cells",
    "slice_cells_at",
    "slice_layout",
    "slice_percentiles",
    "slice_sum",
]
