"""What goes with a simulation besides its figures: coverage, warnings and notes.

Warnings are sentences that change how to read the result (data shorter than the window, no
timestamps, synthetic times, periods so thin that one request decides them); notes say how
the SLO was read and how exact the data are.
"""

from __future__ import annotations

import pandas as pd

from sloview import formatting as fmt
from sloview.engine.aggregated import JOINT_BOUND_NOTE, AggregateEngine
from sloview.engine.scope import Scope
from sloview.engine.timebase import longest_rolling_days
from sloview.ingest.table import LATENCY_COLUMNS
from sloview.model import SLO
from sloview.simulate.results import Coverage, PeriodTable


def coverage_of(scope: Scope, periods: PeriodTable) -> Coverage:
    """The span of the candidate's requests and how many periods they cover whole."""
    base = scope.engine.base
    if base is None:
        return Coverage(None, None, None, 0, 0)
    partial = int(periods.partial.sum())
    return Coverage(
        start=pd.Timestamp(base.first_ns, tz="UTC"),
        end=pd.Timestamp(base.last_ns, tz="UTC"),
        span_s=(base.last_ns - base.first_ns) / 1e9,
        complete_periods=len(periods) - partial,
        partial_periods=partial,
    )


# A complete period with fewer events than this many budgets' worth is decided by a handful of
# requests: with 1 / (1 - target) events, one bad request spends the whole budget.
THIN_BUDGETS = 1.0


def slo_warnings(scope: Scope, periods: PeriodTable, coverage: Coverage) -> tuple[str, ...]:
    """Sentences that change how to read this simulation (empty when nothing does)."""
    engine, slo = scope.engine, scope.slo
    out = []
    strays, first = engine.set_apart
    if strays:
        out.append(
            f"{fmt.count(strays, 'request')} with a time far from the rest "
            f"{'was' if strays == 1 else 'were'} set apart{f' (first: {first})' if first else ''}: "
            f"{'it is' if strays == 1 else 'they are'} not in these figures (the Data page's "
            "toggle or --keep-stray-times keeps them)."
        )
    note = engine.synthetic_times_note
    if note:
        out.append(note.rstrip(".") + ": periods, budget and alerts describe that schedule.")
    if engine.base is None:
        out.append(
            f"These requests have no timestamps: the result is one figure over all "
            f"{fmt.count(engine.rows, 'request')}, with no history (no periods, error budget "
            "or alerts). Map a time column to see how the SLO would have done over time."
        )
        return tuple(out)
    if coverage.complete_periods == 0:
        days = longest_rolling_days(engine.base, slo.window.tz)
        support = (
            f"The longest rolling window these data support is {fmt.count(days, 'day')}"
            if days
            else "They cover less than a whole day, too little for any daily window"
        )
        out.append(
            f"The data span {fmt.span(coverage.span_s)}, less than {slo.window.describe()}: no "
            f"period is covered whole, so none is judged met or missed. {support}; the overall "
            "attainment still describes these requests."
        )
    shortest = min((r.long_s for r in slo.alert_windows), default=0)
    if coverage.span_s is not None and coverage.span_s < shortest:
        out.append(
            f"The data span {fmt.span(coverage.span_s)}, less than the shortest alert window "
            f"({fmt.duration(shortest)}): no alert rule could be evaluated, so the backtest "
            "says nothing about alerting."
        )
    judged = periods.judged
    if judged.any() and slo.objective.target < 1:
        enough = THIN_BUDGETS / (1 - slo.objective.target)
        thin = int((judged & (periods.total < enough)).sum())
        if thin:
            unit = "requests" if slo.budgeting.method == "Occurrences" else "slices"
            out.append(
                f"{thin} of {fmt.count(int(judged.sum()), 'judged period')} had fewer than "
                f"{enough:,.0f} {unit}: at a {fmt.percent(slo.objective.target)} target one "
                f"bad {unit[:-1]} decides such a period."
            )
    return tuple(out)


def slo_notes(slo: SLO, periods: PeriodTable) -> tuple[str, ...]:
    """How the SLO was read: partial periods, failed requests, slices, exclusions."""
    notes = []
    partial = int(periods.partial.sum())
    if partial:
        notes.append(
            f"{partial} of {len(periods)} periods are only partly covered by the data: they "
            "are shown (marked partial) but not judged."
        )
    if slo.sli.kind == "latency":
        if slo.sli.failed_requests == "exclude":
            notes.append(
                "Failed requests are left out of this latency SLI (judged by availability)."
            )
        else:
            notes.append("Failed requests count as bad events for this latency SLI.")
    if slo.sli.kind == "joint":
        notes.append(
            "Failed requests count as bad events for this joint SLI: a good request "
            "succeeded and met every condition."
        )
    if slo.budgeting.method != "Occurrences":
        rule = {"skip": "count neither way", "good": "count as good", "bad": "count as bad"}
        notes.append(
            f"Slices without enough events (< {max(1, slo.budgeting.min_events)}) "
            f"{rule[slo.budgeting.empty_slices]}."
        )
    if slo.exclusions:
        notes.append(f"{len(slo.exclusions)} excluded time ranges do not count.")
    return tuple(notes)


def data_notes(scope: Scope) -> tuple[str, ...]:
    """How exact the figures are: nothing to say for raw requests; for aggregates, the
    binning and the threshold actually evaluated."""
    engine, slo = scope.engine, scope.slo
    if engine.exact:
        return ()
    notes = [f"Computed from aggregates of {engine.source_name}: {engine.exactness}."]
    t = slo.objective.threshold
    if slo.sli.kind == "latency" and t is not None:
        snapped = engine.evaluated_threshold(slo.sli.metric, float(t), slo.objective.op)
        if slo.sli.is_percentile:
            notes.append(
                "Per-slice percentiles are placed inside their latency bins (within one bin "
                "width of the exact figure)."
            )
        elif engine.counted_in_source(slo.sli.metric, float(t), slo.objective.op):
            notes.append(
                f"The threshold {fmt.ms(float(t))} was counted exactly in the source, request "
                "by request; sweeps and other thresholds use the bins."
            )
        elif snapped != t:
            notes.append(
                f"The threshold {fmt.ms(float(t))} is evaluated at {fmt.ms(snapped)}, "
                "the bin edge at or below it: counts are exact there, so attainment is a lower "
                f"bound for {fmt.ms(float(t))}."
            )
    return tuple(notes)


def joint_notes(scope: Scope) -> tuple[str, ...]:
    """Successful requests a joint SLI (or goodput) leaves out, by the column they lack."""
    engine, slo = scope.engine, scope.slo
    if not slo.sli.uses_conditions:
        return ()
    if isinstance(engine, AggregateEngine):
        # Histograms: the good count is a lower bound; say how high it could be.
        _, total = engine.joint_counts(slo.sli.conditions)
        upper = float(engine.joint_upper(slo.sli.conditions).sum())
        share = upper / float(total.sum()) if total.sum() else 0.0
        return (JOINT_BOUND_NOTE.format(upper=fmt.percent(share)) + ".",)
    rows = engine.joint_rows(slo.sli.metrics)
    what = "this joint SLI" if slo.sli.kind == "joint" else "goodput"
    notes = []
    for metric, n in rows.missing.items():
        if n:
            notes.append(
                f"{n:,} successful request{'s' if n != 1 else ''} without a "
                f"{LATENCY_COLUMNS[metric]} ({metric}{_MISSING_WHY.get(metric, '')}) "
                f"{'are' if n != 1 else 'is'} left out of {what}."
            )
    return tuple(notes)


# Why a successful request has no value, for the notes: what the room will ask first.


# Why a successful request has no value, for the notes: what the room will ask first.
_MISSING_WHY = {
    "ttft_ms": "; e.g. embeddings stream no tokens",
    "tpot_ms": "; answers of fewer than two tokens, or without a TTFT, have none",
}
