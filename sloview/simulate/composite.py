"""Composite SLOs: every objective simulated on the same history, met when all are."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sloview import formatting as fmt
from sloview.engine import Engine
from sloview.engine.scope import Scope
from sloview.model import CompositeSLO
from sloview.simulate.results import Coverage, PeriodTable, Simulation, finite_or_none
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
    def met(self) -> np.ndarray:
        """Per period: every objective had data and met its target."""
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
        """Complete periods in which every objective was met (None when none is judged)."""
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
    def error_budget_remaining(self) -> float:
        """The tightest budget left among the objectives (latest period)."""
        left = [s.error_budget_remaining for s in self.components]
        finite = [v for v in left if math.isfinite(v)]
        return min(finite) if finite else math.nan

    def to_dict(self) -> dict[str, Any]:
        """The JSON entry of a composite in `sloview simulate --json`."""
        judged, met = self.judged, self.met
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
                    "partial": bool(periods.partial[i]),
                }
                for i in range(len(periods))
            ],
            "periods_met": self.periods_met,
            "periods_judged": n,
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
