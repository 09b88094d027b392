"""Notes that go with a simulation: how the SLO was read and how exact the data are."""

from __future__ import annotations

from sloview.engine.aggregated import JOINT_BOUND_NOTE, AggregateEngine
from sloview.engine.scope import Scope
from sloview.ingest.table import LATENCY_COLUMNS
from sloview.model import SLO
from sloview.simulate.results import PeriodTable
from sloview.units import format_ms
from sloview.wording import percent


def slo_notes(slo: SLO, periods: PeriodTable) -> tuple[str, ...]:
    notes = []
    partial = int(periods.partial.sum())
    if partial:
        notes.append(
            f"{partial} of {len(periods)} periods are only partly covered by the data "
            "(marked partial)."
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
                f"The threshold {format_ms(float(t))} was counted exactly in the source, request "
                "by request; sweeps and other thresholds use the bins."
            )
        elif snapped != t:
            notes.append(
                f"The threshold {format_ms(float(t))} is evaluated at {format_ms(snapped)}, "
                "the bin edge at or below it: counts are exact there, so attainment is a lower "
                f"bound for {format_ms(float(t))}."
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
        return (JOINT_BOUND_NOTE.format(upper=percent(share)) + ".",)
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
