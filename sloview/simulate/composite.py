"""Composite SLOs: every objective simulated on the same history, judged as OpenSLO v1 does.

OpenSLO's composite burns its error budget at the weighted sum of its objectives' burn
rates, so per period the composite has consumed sum(weight x consumed) of its budget
(consumed = (1 - attainment) / (1 - target) of each objective, whatever its budgeting
method), and the period is met while that is at most 1. sloview uses this rule for every
budgeting method: the spec's slice-by-slice rules for Timeslices and RatioTimeslices need
one slice length across objectives, which composites here need not share. Whether every
objective met its own target is reported beside it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sloview import formatting as fmt
from sloview.composite_slo import CompositeSLO
from sloview.engine import Engine
from sloview.engine.scope import Scope
from sloview.simulate.results import (
    AlertFiring,
    Coverage,
    PeriodTable,
    Series,
    Simulation,
    finite_or_none,
)
from sloview.simulate.run import simulate
from sloview.stats import clopper_pearson
from sloview.wording import composite_statement


@dataclass(frozen=True)
class CompositeSimulation:
    """How a composite SLO would have done: each objective, and the periods all were met."""

    composite: CompositeSLO
    statement: str
    components: tuple[Simulation, ...]

    @property
    def periods(self) -> PeriodTable:
        """The shared periods (from the first objective)."""
        return self.components[0].periods

    @property
    def weights(self) -> tuple[float, ...]:
        """The objectives' weights (OpenSLO compositeWeight, 1 by default)."""
        return self.composite.weights

    @property
    def consumed(self) -> np.ndarray:
        """Per period: the composite's budget consumed, sum of weight x each objective's."""
        spent = np.zeros(len(self.periods))
        for sim, weight in zip(self.components, self.weights, strict=True):
            spent += weight * (1.0 - sim.periods.budget_remaining)
        return spent

    @property
    def budget_remaining(self) -> np.ndarray:
        """Per period: the composite's budget left (negative when overspent; NaN unjudged)."""
        return np.where(self.judged, 1.0 - self.consumed, np.nan)

    @property
    def met(self) -> np.ndarray:
        """Per period: every objective had data and the weighted budget was not overspent."""
        with np.errstate(invalid="ignore"):
            return self.judged & (self.consumed <= 1.0 + 1e-12)

    @property
    def all_met(self) -> np.ndarray:
        """Per period: every objective had data and met its own target."""
        met = np.ones(len(self.periods), dtype=bool)
        for sim in self.components:
            met &= sim.periods.met
        return met

    @property
    def judged(self) -> np.ndarray:
        """Per period: complete, and every objective had events to judge."""
        judged = np.ones(len(self.periods), dtype=bool)
        for sim in self.components:
            judged &= sim.periods.judged
        return judged

    @property
    def periods_met(self) -> int | None:
        """Complete periods in which the composite's weighted budget held (None when none is
        judged)."""
        return int(self.met.sum()) if self.judged.any() else None

    @property
    def coverage(self) -> Coverage:
        """The data's coverage (from the first objective)."""
        return self.components[0].coverage

    @property
    def warnings(self) -> tuple[str, ...]:
        """Every objective's warnings, each once."""
        return tuple(dict.fromkeys(w for s in self.components for w in s.warnings))

    @property
    def periods_with_data(self) -> int:
        """Periods every objective had data in."""
        return int(self.judged.sum())

    @property
    def error_budget_remaining(self) -> float:
        """The composite's budget left in the most recent judged period."""
        left = self.budget_remaining[self.judged]
        return float(left[-1]) if left.size else math.nan

    @property
    def budget(self) -> Series:
        """The composite's budget remaining over time (hourly, where every objective has it)."""
        frames = [
            pd.Series(sim.budget.values, index=sim.budget.times_ns) for sim in self.components
        ]
        joined = pd.concat(frames, axis=1, join="inner")
        spent = np.zeros(len(joined))
        for i, weight in enumerate(self.weights):
            spent += weight * (1.0 - joined.iloc[:, i].to_numpy(dtype=float))
        times = joined.index.to_numpy(dtype=np.int64)
        return Series("composite error budget remaining", times, 1.0 - spent)

    @property
    def firings(self) -> tuple[AlertFiring, ...]:
        """Every objective's alert firings, in time order."""
        return tuple(
            sorted((f for s in self.components for f in s.firings), key=lambda f: f.start_ns)
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON entry of a composite in `sloview simulate --json`."""
        judged, met, remaining = self.judged, self.met, self.budget_remaining
        n, k = int(judged.sum()), int(met.sum())
        lo, hi = clopper_pearson(k, n)
        periods = self.periods
        met_counts = np.sum([s.periods.met for s in self.components], axis=0)
        return {
            "name": self.composite.name,
            "sli": "composite",
            "budgeting_method": None,
            "target": None,
            "threshold_ms": None,
            "statement": self.statement,
            "overall": {
                "good": k,
                "total": n,
                "attainment": finite_or_none(k / n if n else math.nan),
                "ci_low": finite_or_none(lo),
                "ci_high": finite_or_none(hi),
            },
            "periods": [
                {
                    "start": fmt.iso_utc(pd.Timestamp(int(periods.start_ns[i]), tz="UTC")),
                    "end": fmt.iso_utc(pd.Timestamp(int(periods.end_ns[i]), tz="UTC")),
                    "good": int(met_counts[i]),
                    "total": len(self.components),
                    "attainment": float(met_counts[i]) / len(self.components),
                    "met": bool(met[i]) if judged[i] else None,
                    "all_met": bool(self.all_met[i]) if judged[i] else None,
                    "budget_remaining": finite_or_none(float(remaining[i])),
                    "partial": bool(periods.partial[i]),
                }
                for i in range(len(periods))
            ],
            "periods_met": self.periods_met,
            "periods_all_met": int(self.all_met.sum()) if n else None,
            "periods_judged": n,
            "weights": list(self.weights),
            "coverage": self.coverage.to_dict(),
            "warnings": list(self.warnings),
            "error_budget_remaining": finite_or_none(self.error_budget_remaining),
            "alerts": [
                {"objective": s.slo.name, **f.to_dict()} for s in self.components for f in s.firings
            ],
            "components": [s.to_dict() for s in self.components],
            "slo": self.composite.to_dict(),
        }


def simulate_composite(data: Engine, composite: CompositeSLO) -> CompositeSimulation:
    """Simulate every objective of a composite SLO on the same history."""
    return CompositeSimulation(
        composite=composite,
        statement=composite_statement(composite),
        components=tuple(simulate(Scope.bind(data, slo)) for slo in composite.objectives),
    )
