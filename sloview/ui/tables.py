"""Tables the pages show, in words and units: a column says what it holds ("error rate", "in
ms"), a cell is a formatted figure ("0.46%", "1.2 s"), never a raw name or a bare float.

Pure functions of computed results (no Streamlit here), so a test can read what the room reads.
"""

from __future__ import annotations

import pandas as pd

from sloview import formatting as fmt
from sloview.design import Recommendation, TargetSweep
from sloview.simulate import SegmentResult, Simulation

VERDICT_WORDS = {"met": "met", "missed": "missed", "failing": "fails too often", "n/a": "n/a"}


def firings(sim: Simulation) -> pd.DataFrame:
    """One row per alert firing: rule, when, how long, budget spent, what it caught."""
    return pd.DataFrame(
        [
            {
                "alert": f.rule.label(),
                "started": fmt.when(f.start),
                "lasted": fmt.span(f.duration_s),
                "budget spent when it fired": fmt.budget(f.budget_spent)
                if f.budget_spent == f.budget_spent
                else "unknown (less than a window of data)",
                "during a violation": "yes" if f.violation is not None else "no",
                "after the violation began": fmt.span(f.delay_s) if f.delay_s is not None else "",
            }
            for f in sim.firings
        ]
    )


def segments(
    results: list[SegmentResult], target: float, recs: dict[str, Recommendation]
) -> pd.DataFrame:
    """The candidate on each segment value: attainment, failures, periods, verdict, advice."""
    return pd.DataFrame(
        [
            {
                r.column.replace("_", " "): r.value,
                "requests": fmt.count(r.requests),
                "error rate": fmt.percent(r.error_rate, 2, fixed=True),
                "attainment": fmt.attainment(r.overall.attainment, target),
                "95% CI": fmt.ci_range(r.overall.ci_low, r.overall.ci_high, target),
                "periods met": fmt.periods_met(r.periods_met, r.periods),
                "verdict": VERDICT_WORDS[r.verdict(target)],
                "tightest threshold": _threshold(recs.get(r.value)),
                "highest target": _target(recs.get(r.value)),
            }
            for r in results
        ]
    )


def targets(sweep: TargetSweep) -> pd.DataFrame:
    """Share of complete periods each target would have met."""
    return pd.DataFrame(
        {
            "target": [fmt.percent(t) for t in sweep.targets],
            "whole periods met": [fmt.percent(x, 1) for x in sweep.periods_met_share],
        }
    )


def _threshold(rec: Recommendation | None) -> str:
    return fmt.MISSING if rec is None or rec.threshold is None else fmt.ms(rec.threshold)


def _target(rec: Recommendation | None) -> str:
    return fmt.MISSING if rec is None else fmt.percent(rec.target)


def goodput_by_segment(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """Goodput per segment value (from `generative.goodput_by_segment`), in words and units."""
    return pd.DataFrame(
        {
            column.replace("_", " "): frame[column],
            "requests": frame["requests"].map(fmt.count),
            "good in every way": frame["good"].map(fmt.count),
            "good share": frame["good_share"].map(lambda x: fmt.percent(float(x), 2)),
            "throughput": frame["requests_per_s"].map(lambda x: fmt.rate(float(x))),
            "goodput": frame["goodput_per_s"].map(lambda x: fmt.rate(float(x), "good req")),
        }
    )
