"""Report inputs: every figure the stakeholder report shows, computed once, before rendering.

The renderers (HTML, Markdown, PDF) only format what is here: no simulation, no clock, no
random ids. `generated_at` is passed in by the caller, so the same inputs render to the same
bytes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import pandas as pd

from sloview import formatting as fmt
from sloview.composite_slo import CompositeSLO
from sloview.design import Recommendation, recommend
from sloview.engine import Engine
from sloview.engine.scope import Scope
from sloview.errors import SpecError
from sloview.ingest.table import TS, RequestTable
from sloview.session import Candidate
from sloview.simulate import (
    AlertFiring,
    CompositeSimulation,
    PeriodResult,
    Simulation,
    Violation,
    simulate,
    simulate_composite,
)
from sloview.sources.aggregates import Aggregates
from sloview.stats import PERCENTILE_DEFINITION
from sloview.units import UNIT_WORDS

if TYPE_CHECKING:  # the review module builds on this one
    from sloview.report.review import ReviewSection

DEFAULT_TITLE = "Service level objectives: decision report"
SIGN_OFF_ROLES = ("Product owner", "Service owner (SRE)", "Engineering lead")

Verdict = Literal[
    "met-every-period", "met-most-periods", "missed-too-often", "not-judged", "no-data"
]


@dataclass(frozen=True, kw_only=True)
class Provenance:
    """Where the numbers come from: the file, its span, what was left out and the rules used."""

    source_name: str
    source_format: str
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    rows_read: int
    rows: int
    dropped: tuple[tuple[str, int], ...]
    columns: tuple[tuple[str, str, str], ...]
    filters: tuple[tuple[str, str], ...]
    timezone: str
    status_policy: str
    percentile_definition: str
    notes: tuple[str, ...]

    @property
    def dropped_total(self) -> int:
        """Rows read but left out, all reasons together."""
        return sum(count for _, count in self.dropped)

    @property
    def filtered_out(self) -> int:
        """Valid rows left out by a view's filters (the app's segment and time filters)."""
        return max(0, self.rows_read - self.dropped_total - self.rows)

    @property
    def span_s(self) -> float | None:
        """Seconds from the first to the last request (None without timestamps)."""
        if self.start is None or self.end is None:
            return None
        return float((self.end - self.start).total_seconds())


@dataclass(frozen=True, kw_only=True)
class SLOFindings:
    """One candidate's simulation, recommendation and the risks drawn from them."""

    candidate: Candidate
    simulation: Simulation
    recommendation: Recommendation | None
    recommendation_problem: str
    verdict: Verdict
    missed_periods: tuple[PeriodResult, ...]
    caught_violations: tuple[Violation, ...]
    missed_violations: tuple[Violation, ...]
    false_alerts: tuple[AlertFiring, ...]
    pages_per_month: float

    @property
    def name(self) -> str:
        """The SLO's name."""
        return self.candidate.slo.name

    @property
    def indicator(self) -> tuple[str, str, tuple[tuple[str, str], ...]]:
        """What is measured and for whom: SLOs with the same indicator are alternatives."""
        sli = self.candidate.slo.sli
        # A joint SLI measures its set of columns; different thresholds are alternatives.
        measure = ",".join(sli.metrics) if sli.uses_conditions else sli.metric
        return sli.kind, measure, self.candidate.slo.segment


@dataclass(frozen=True, kw_only=True)
class ReportInputs:
    """Everything a report renderer needs."""

    title: str
    generated_at: str
    provenance: Provenance
    agreed: tuple[SLOFindings, ...]
    alternatives: tuple[SLOFindings, ...]
    candidates: tuple[Candidate, ...]
    desired_share: float
    sign_off_roles: tuple[str, ...]
    # Composite SLOs built from the candidates, judged as OpenSLO v1 defines composites.
    composites: tuple[CompositeSimulation, ...] = ()
    # A review report's section in front (see `sloview.report.review`); None for a workshop's.
    review: ReviewSection | None = None

    def related(self, findings: SLOFindings) -> tuple[SLOFindings, ...]:
        """Alternatives that measure the same thing for the same requests as an agreed SLO."""
        return tuple(a for a in self.alternatives if a.indicator == findings.indicator)


def report_inputs(
    table: RequestTable | Aggregates,
    engine: Engine,
    candidates: Sequence[Candidate],
    *,
    generated_at: str,
    title: str = DEFAULT_TITLE,
    desired_share: float = 0.9,
    segment_columns: tuple[str, ...] = (),
    sign_off_roles: tuple[str, ...] = SIGN_OFF_ROLES,
    composites: Sequence[CompositeSLO] = (),
) -> ReportInputs:
    """Simulate every candidate and gather provenance: agreed ones first, then alternatives.

    `table` is what the engine was built from: the request table, or the aggregates of an
    `AggregateEngine` (a database or Prometheus source).
    """
    if not candidates:
        raise SpecError(
            "there is no candidate SLO to report on",
            where="report",
            hint="shortlist candidates on the Design page, or give --slo FILE",
        )
    if not 0 < desired_share <= 1:
        raise SpecError("must be in (0, 1]", where="desired_share")
    engine.require_time()
    agreed = tuple(
        findings(engine, c, desired_share, segment_columns, with_recommendation=True)
        for c in candidates
        if c.agreed
    )
    # Alternatives need their key figures only: the recommendation search is skipped (it
    # costs a second or more per latency SLO).
    alternatives = tuple(
        findings(engine, c, desired_share, (), with_recommendation=False)
        for c in candidates
        if not c.agreed
    )
    return ReportInputs(
        title=title,
        generated_at=generated_at,
        provenance=provenance(table),
        agreed=agreed,
        alternatives=alternatives,
        candidates=tuple(candidates),
        desired_share=desired_share,
        sign_off_roles=sign_off_roles,
        composites=tuple(simulate_composite(engine, c) for c in composites),
    )


def composite_figures(sim: CompositeSimulation) -> list[tuple[str, str]]:
    """The key figures of a composite SLO, as both renderers show them."""
    weights = ", ".join(
        f"{o.name} x{w:g}" for o, w in zip(sim.composite.objectives, sim.weights, strict=True)
    )
    left = sim.error_budget_remaining
    return [
        ("promise", sim.statement),
        ("weights", weights),
        ("periods met (weighted budget)", fmt.periods_met(sim.periods_met, sim.periods_with_data)),
        ("every objective met", f"{int(sim.all_met.sum())} of {sim.periods_with_data}"),
        ("budget left (latest period)", fmt.budget(left)),
        ("alerts fired (all objectives)", f"{len(sim.firings)}"),
    ]


def findings(
    engine: Engine,
    candidate: Candidate,
    desired_share: float,
    segment_columns: tuple[str, ...] = (),
    *,
    with_recommendation: bool = True,
) -> SLOFindings:
    """Simulate one candidate (and optionally recommend) and sort out its risks."""
    scope = Scope.bind(engine, candidate.slo)
    sim = simulate(scope, segment_columns=segment_columns)
    rec: Recommendation | None = None
    problem = ""
    if with_recommendation:
        try:
            rec = recommend(scope, desired_share)
        except SpecError as exc:
            # The report still shows how the SLO did; it says why there is no recommendation.
            problem = exc.one_line()
    return SLOFindings(
        candidate=candidate,
        simulation=sim,
        recommendation=rec,
        recommendation_problem=problem,
        verdict=verdict(sim, desired_share),
        missed_periods=tuple(p for p in sim.periods if p.met is False),
        caught_violations=tuple(v for v in sim.violations if v.caught_by),
        missed_violations=sim.missed_violations,
        false_alerts=sim.false_alerts,
        pages_per_month=sim.pages_per_month(),
    )


def verdict(sim: Simulation, desired_share: float) -> Verdict:
    """How the SLO did on history, judged by the share of complete periods that met it."""
    judged, met = sim.periods_judged, sim.periods_met
    if met is None or judged == 0:
        # Data that cover no whole period get a warning, not a verdict.
        return "not-judged" if sim.overall.total > 0 else "no-data"
    if met == judged:
        return "met-every-period"
    if met >= desired_share * judged - 1e-9:
        return "met-most-periods"
    return "missed-too-often"


def provenance(table: RequestTable | Aggregates) -> Provenance:
    """Source, span, row counts, exclusions, column choices and rules of a request table
    (or of aggregates)."""
    if isinstance(table, Aggregates):
        return aggregate_provenance(table)
    m = table.mapping
    reasons = m.reasons
    start = end = None
    if table.has_timestamps and table.rows:
        # The table is sorted by time (see sloview.ingest.table).
        start, end = table.frame[TS].iloc[0], table.frame[TS].iloc[-1]

    def why(*keys: str) -> str:
        return "; ".join(reasons[k] for k in keys if reasons.get(k))

    columns: list[tuple[str, str, str]] = []
    if m.timestamp:
        columns.append(("request time", m.timestamp, why("timestamp")))
    columns.append(
        ("latency", f"{m.latency} ({UNIT_WORDS[m.latency_unit]})", why("latency", "latency_unit"))
    )
    if m.status:
        columns.append(("status", m.status, why("status")))
    if m.ok_column:
        columns.append(("success flag", m.ok_column, why("ok_column")))
    if m.ttft:
        unit = f" ({UNIT_WORDS[m.ttft_unit]})" if m.ttft_unit else ""
        columns.append(("time to first token", f"{m.ttft}{unit}", why("ttft", "ttft_unit")))
    if m.output_tokens:
        columns.append(("output tokens", m.output_tokens, why("output_tokens")))
    columns.extend(("segment", s, "") for s in m.segments)
    return Provenance(
        source_name=table.source_name,
        source_format=m.source_format,
        start=start,
        end=end,
        rows_read=table.rows_read,
        rows=table.rows,
        dropped=tuple((reason, int(n)) for reason, n in table.dropped.items() if n),
        columns=tuple(columns),
        filters=m.where,
        timezone=m.tz,
        status_policy=m.policy_description,
        percentile_definition=PERCENTILE_DEFINITION,
        notes=table.notes,
    )


def aggregate_provenance(agg: Aggregates) -> Provenance:
    """Provenance of per-minute aggregates: the source (never its credentials: `source` is a
    description), span, requests counted, exclusions, status policy and how exact they are."""
    columns: list[tuple[str, str, str]] = [
        ("requests and failures", "counted per minute at the source", "exact"),
        ("latency", "per-minute histogram of successful requests", agg.exactness),
    ]
    columns.extend(("segment", s, "grouped at the source") for s in agg.group_by)
    return Provenance(
        source_name=agg.source,
        source_format="aggregates",
        start=pd.Timestamp(agg.first_ns, tz="UTC"),
        end=pd.Timestamp(agg.last_ns, tz="UTC"),
        rows_read=agg.rows_read,
        rows=agg.requests,
        dropped=tuple((reason, int(n)) for reason, n in agg.dropped.items() if n),
        columns=tuple(columns),
        filters=agg.segment,
        timezone="UTC",
        status_policy=agg.policy,
        percentile_definition=f"{PERCENTILE_DEFINITION}, each order statistic placed inside "
        "its latency bin",
        notes=(*agg.notes, f"Computed from aggregates: {agg.exactness}."),
    )


def finite(value: float | None) -> bool:
    """Whether a figure can be shown as a number (not None, NaN or infinite)."""
    return value is not None and math.isfinite(value)
