"""The review report: the stakeholder report's renderer with a review section in front.

A review report holds the agreed SLOs checked against a new period (this period's verdicts,
the trend across reviews, the suggestions and the decisions recorded), followed by the usual
sections of each SLO on the new data (history charts, budget, alerts, provenance). The words
and rows both renderers print are made here, as plain text; each renderer escapes them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from sloview import formatting as fmt
from sloview.engine import Engine
from sloview.ingest.table import RequestTable
from sloview.registry import AgreedVersion
from sloview.report.inputs import ReportInputs, report_inputs
from sloview.review import Review, trend_text
from sloview.session import Candidate
from sloview.sources.aggregates import Aggregates
from sloview.wording import statement

REVIEW_TITLE = "Service level objectives: review"
ACTIONS = {"keep": "Keep", "tighten": "Tighten", "loosen": "Loosen"}
VERDICT_HEADERS = (
    "SLO",
    "version",
    "attainment (95% CI)",
    "target",
    "verdict",
    "budget left (period)",
    "suggestion",
)
TREND_HEADERS = ("period reviewed", "version", "attainment (95% CI)", "target", "verdict")
HISTORY_HEADERS = ("version", "agreed", "by", "objective", "why")


@dataclass(frozen=True)
class ReviewFindings:
    """One agreed SLO's review and the versions agreed before it."""

    review: Review
    versions: tuple[AgreedVersion, ...]


@dataclass(frozen=True)
class ReviewSection:
    """What the review section of a report shows."""

    reviews: tuple[ReviewFindings, ...]
    # Whether the reviews were recorded in the registry (not for a dry run or a preview).
    recorded: bool


def review_report_inputs(
    table: RequestTable | Aggregates,
    engine: Engine,
    reviews: Sequence[Review],
    *,
    generated_at: str,
    history: Mapping[str, Sequence[AgreedVersion]],
    recorded: bool,
    title: str = REVIEW_TITLE,
) -> ReportInputs:
    """The report inputs of a review: each agreed SLO on the new data, with the review."""
    candidates = [
        Candidate(slo=r.agreed.slo, agreed=True, note=r.agreed.rationale) for r in reviews
    ]
    inputs = report_inputs(table, engine, candidates, generated_at=generated_at, title=title)
    section = ReviewSection(
        reviews=tuple(
            ReviewFindings(review=r, versions=tuple(history.get(r.agreed.name, (r.agreed,))))
            for r in reviews
        ),
        recorded=recorded,
    )
    return replace(inputs, review=section)


def verdict(r: Review) -> str:
    """`met`, `MISSED` or `not judged (no requests)`."""
    return {True: "met", False: "MISSED", None: "not judged (no requests)"}[r.met]


def verdict_row(r: Review) -> tuple[str, ...]:
    """A row of the verdicts table."""
    o = r.simulation.overall
    return (
        r.agreed.name,
        f"v{r.agreed.version}",
        f"{fmt.attainment(o.attainment, r.target)} ({fmt.ci_range(o.ci_low, o.ci_high, r.target)})",
        fmt.percent(r.target),
        verdict(r),
        fmt.budget(r.budget_remaining),
        ACTIONS[r.suggestion.action],
    )


def period_sentence(section: ReviewSection) -> str:
    """`Period reviewed: 2026-11-01 00:00 UTC to 2026-11-30 23:59 UTC.`"""
    cov = section.reviews[0].review.simulation.coverage
    return f"Period reviewed: {fmt.when(cov.start, cov.span_s)} to {fmt.when(cov.end, cov.span_s)}."


def figures_sentence(r: Review) -> str:
    """`1,234,567 requests, 99.541% met the objective (95% CI ...): met, 54.1% of ...`."""
    o = r.simulation.overall
    unit = "slices" if r.agreed.slo.sli.is_percentile else "requests"
    return (
        f"{fmt.count(o.total)} {unit}; {fmt.attainment(o.attainment, r.target)} met the "
        f"objective (95% CI {fmt.ci_range(o.ci_low, o.ci_high, r.target)}) against a "
        f"{fmt.percent(r.target)} target: {verdict(r)}, with {fmt.budget(r.budget_remaining)} "
        "of the period's error budget left."
    )


def recorded_sentence(section: ReviewSection) -> str:
    """Whether this review is in the registry."""
    if section.recorded:
        return "These reviews are recorded in the SLO registry with the figures above."
    return "A preview: these reviews are not recorded in the SLO registry."


def suggestion_sentence(r: Review) -> str:
    """`Keep: 99.54% met the 99% target with ...`."""
    s = r.suggestion
    change = "" if s.action == "keep" else f" Proposed: {statement(r.suggested_slo()).rstrip('.')}."
    return f"{ACTIONS[s.action]}: {s.why}{change}"


def trend_sentence(r: Review) -> str:
    """The reviews so far, oldest first."""
    return f"Trend: {trend_text(r)}."


def history_rows(f: ReviewFindings) -> list[tuple[str, ...]]:
    """The agreed versions of an SLO, oldest first (the decisions recorded)."""
    return [
        (f"v{v.version}", fmt.recorded(v.agreed_at), v.agreed_by, statement(v.slo), v.rationale)
        for v in f.versions
    ]


def trend_rows(r: Review) -> list[tuple[str, ...]]:
    """The trend as table rows, oldest first (the chart's data, for Markdown)."""
    rows: list[tuple[str, ...]] = []
    for p in r.trend():
        verdict_text = "not judged" if p.met is None else ("met" if p.met else "MISSED")
        rows.append(
            (
                p.label + (" (this review)" if p.current else ""),
                f"v{p.version}",
                f"{fmt.attainment(p.attainment, p.target)} "
                f"({fmt.ci_range(p.ci_low, p.ci_high, p.target)})",
                fmt.percent(p.target),
                verdict_text,
            )
        )
    return rows
