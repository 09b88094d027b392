"""The report's words and number formats, shared by the HTML and Markdown renderers.

Everything returns plain, unescaped text: each renderer escapes for its own format. Numbers
are formatted here and only here (no rounding happens in the computations).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from sloview import formatting as fmt
from sloview.design import Recommendation
from sloview.model import SLO, AlertWindow
from sloview.report.inputs import Provenance, ReportInputs, SLOFindings, Verdict, finite
from sloview.simulate import AlertFiring, Attainment, PeriodResult, Simulation, Violation
from sloview.wording import TERMS, conditions_short

MAX_ROWS = 15
VERDICTS: dict[Verdict, str] = {
    "met-every-period": "Met in every period",
    "met-most-periods": "Met in most periods",
    "missed-too-often": "Missed too often",
    "not-judged": "Not judged: no whole period in the data",
    "no-data": "No data to judge",
}
GLOSSARY = (
    (
        "Attainment",
        "the share of requests (or time slices) that met the objective over the whole history.",
    ),
    (
        "95% CI",
        "the range in which the true attainment lies with 95% confidence, given how many "
        "requests there were.",
    ),
    (
        "Period",
        "the window an SLO is judged over (for example a rolling 28 days, evaluated at the end "
        "of each day). A period is met when its attainment reaches the target.",
    ),
    (
        "Error budget",
        "the share of requests allowed to miss the objective: 100% minus the target. "
        "Budget left below 0% means the budget was overspent.",
    ),
    (
        "Burn rate",
        "how fast the budget is being spent. 1 spends exactly the whole budget in one period; "
        "10 spends it ten times as fast.",
    ),
    (
        "Alerts",
        "a page wakes someone up; a ticket waits for working hours. Each alert fires while "
        "both its long and its short window burn faster than its burn rate.",
    ),
    (
        "Violation",
        "a stretch of history in which errors ran well above the budgeted pace "
        "(at least 1.5 times) and spent at least 2% of a period's budget.",
    ),
)
# Words for generative endpoints, added to the glossary only when an SLO uses them.
TTFT_TERM, TPOT_TERM, LATENCY_TERM = TERMS["ttft_ms"], TERMS["tpot_ms"], TERMS["latency_ms"]
JOINT_TERM, GOODPUT_TERM = TERMS["joint"], TERMS["goodput"]
METRIC_TERMS = {"latency_ms": LATENCY_TERM, "ttft_ms": TTFT_TERM, "tpot_ms": TPOT_TERM}


def generative_terms(slos: Sequence[SLO]) -> tuple[tuple[str, str], ...]:
    """TTFT, TPOT, joint SLI and goodput explained, for those the SLOs use."""
    metrics = {m for slo in slos for m in slo.sli.metrics}
    joint = any(slo.sli.uses_conditions for slo in slos)
    terms: list[tuple[str, str]] = []
    for metric, term in METRIC_TERMS.items():
        # End-to-end latency needs no words unless it sits beside TTFT or TPOT in a condition.
        if metric in metrics and (metric != "latency_ms" or joint):
            terms.append(term)
    if any(slo.sli.kind == "joint" for slo in slos):
        terms.append(JOINT_TERM)
    if any(slo.sli.unit == "goodput" for slo in slos):
        terms.append(GOODPUT_TERM)
    return tuple(terms)


def glossary(slos: Sequence[SLO]) -> tuple[tuple[str, str], ...]:
    """The report's glossary, with the generative terms the SLOs use."""
    return GLOSSARY + generative_terms(slos)


ASSUMPTIONS = (
    "Figures replay the requests in this file: they show how each SLO would have done on "
    "this history, not a guarantee for the future.",
    "Periods only partly covered by the data are shown and marked partial, never judged met "
    "or missed.",
    "Confidence intervals are exact binomial (Clopper-Pearson) intervals; for "
    "RatioTimeslices SLOs they are t-intervals over the slices.",
    "Alerts are backtested on the same history: when each rule would have fired, how much "
    "budget was gone by then, and which violations no rule caught.",
    "All times are UTC.",
)


def pct(share: float | None, digits: int = 3) -> str:
    """A share as a percentage (`99.54%`), or `n/a` when it cannot be computed."""
    return fmt.percent(share, digits)


count = fmt.count
when = fmt.when
day = fmt.day
span = fmt.span


def attainment(att: Attainment, target: float) -> str:
    """`99.54% (95% CI 99.52% to 99.56%)`, with decimals that suit the target."""
    if not finite(att.attainment):
        return "n/a (no events)"
    ci = ""
    if finite(att.ci_low) and finite(att.ci_high):
        ci = f" (95% CI {fmt.ci_range(att.ci_low, att.ci_high, target)})"
    return f"{fmt.attainment(att.attainment, target)}{ci}"


def events(sim: Simulation) -> str:
    """`275,798 good of 288,643 requests` (or slices)."""
    unit = "requests" if sim.slo.budgeting.method == "Occurrences" else "slices"
    return f"{count(sim.overall.good)} good of {count(sim.overall.total)} {unit}"


def periods_met(sim: Simulation) -> str:
    """`38 of 42`, or why no period was judged."""
    return fmt.periods_met(sim.periods_met, sim.periods_judged)


def summary_warnings(inputs: ReportInputs) -> tuple[str, ...]:
    """Every agreed SLO's warnings (`name: sentence`), each once, for the summary's top."""
    return tuple(
        dict.fromkeys(f"{f.name}: {w}" for f in inputs.agreed for w in f.simulation.warnings)
    )


def budget_left(sim: Simulation) -> str:
    """Budget left in the latest whole period, not clamped: `-9.1%` means overspent."""
    return fmt.budget(sim.error_budget_remaining)


def verdict(f: SLOFindings) -> str:
    """`Met in every period`."""
    return VERDICTS[f.verdict]


def pages(f: SLOFindings) -> str:
    """Pages per month on this history: `0.7`."""
    return "n/a" if not finite(f.pages_per_month) else f"{f.pages_per_month:.1f}"


def objective(slo: SLO) -> str:
    """`95% within 20.0 s` / `99.5% succeed` / `99% of 5m slices, p95 within 1.5 s`."""
    target = fmt.percent(slo.objective.target)
    t = slo.objective.threshold
    if slo.sli.kind == "availability":
        core = f"{target} succeed"
    elif slo.sli.kind == "joint":
        core = f"{target} succeed, {conditions_short(slo.sli.conditions)}"
    elif slo.sli.unit == "goodput":
        core = f"{target} at least {t:g} good/s ({conditions_short(slo.sli.conditions)})"
    elif slo.sli.kind == "throughput":
        core = f"{target} at least {t:g}/s"
    else:
        op = "within" if slo.objective.op == "lte" else "under"
        pfx = f"p{slo.sli.percentile:g} " if slo.sli.percentile is not None else ""
        core = f"{target}, {pfx}{op} {fmt.ms(t or 0.0)}"
    if slo.budgeting.method != "Occurrences":
        core += f" per {fmt.duration(slo.budgeting.slice_s or 60)} slice"
    return core


def capped(rows: Sequence[Sequence[str]], width: int) -> list[Sequence[str]]:
    """At most MAX_ROWS rows, then one row saying how many more there are."""
    if len(rows) <= MAX_ROWS:
        return list(rows)
    more = f"... and {len(rows) - MAX_ROWS} more"
    return [*rows[:MAX_ROWS], (more, *([""] * (width - 1)))]


def rule_row(rule: AlertWindow, slo: SLO) -> tuple[str, str, str, str, str]:
    """Severity, long window, short window, burn rate, budget spent when it fires."""
    spent = rule.budget_spent_when_firing(slo.window.period_hours)
    return (
        rule.severity,
        fmt.duration(rule.long_s),
        fmt.duration(rule.short_s),
        f"{rule.burn_rate:g}",
        pct(spent, 1),
    )


def violation_row(v: Violation) -> tuple[str, str, str, str, str]:
    """Start, length, budget spent, peak burn rate, caught by whom (or MISSED)."""
    caught = "MISSED: no alert fired" if v.alertable else "before any alert could be evaluated"
    if v.caught_by:
        delay = ""
        if v.detection_delay_s is not None:
            late = v.detection_delay_s >= 60
            delay = f" after {span(v.detection_delay_s)}" if late else " within a minute"
        caught = f"caught by {', '.join(v.caught_by)}{delay}"
    return (
        when(v.start),
        span((v.end - v.start).total_seconds()),
        pct(v.budget_spent, 1),
        f"{v.peak_burn:.1f}x" if finite(v.peak_burn) else "n/a",
        caught,
    )


def firing_row(f: AlertFiring) -> tuple[str, str, str, str]:
    """Rule, start, length, budget spent when it started."""
    return (
        f.rule.label(),
        when(f.start),
        span(f.duration_s),
        pct(f.budget_spent, 1),
    )


def period_row(p: PeriodResult, target: float) -> tuple[str, str, str, str]:
    """Period, attainment, budget left, met or missed."""
    label = f"{day(p.start)} to {day(p.end)}" + (" (partial)" if p.partial else "")
    met = "not judged" if p.met is None else ("met" if p.met else "missed")
    return label, fmt.attainment(p.attainment, target), fmt.budget(p.budget_remaining), met


def explain_periods(f: SLOFindings) -> str:
    """One or two sentences for the per-period attainment chart."""
    sim = f.simulation
    window = sim.slo.window
    each = (
        f"the {window.describe().removeprefix('a ')} to each day's end"
        if window.is_rolling
        else f"one calendar {window.calendar}"
    )
    partial = " grey: only partly covered, not judged;" if sim.periods.partial.any() else ""
    return (
        f"One bar per period ({each}) against the dashed "
        f"{fmt.percent(sim.slo.objective.target)} target: green met,{partial} red missed. "
        f"{periods_met(sim)} whole periods met the target."
    )


def explain_budget(f: SLOFindings) -> str:
    """One or two sentences for the budget burndown chart."""
    slo = f.simulation.slo
    unit = "requests" if slo.budgeting.method == "Occurrences" else "time slices"
    return (
        f"The error budget ({pct(1 - slo.objective.target)} of {unit} may miss) left at each "
        f"hour; below zero it was overspent. {budget_left(f.simulation)} was left in the latest "
        "whole period."
    )


def explain_burn(f: SLOFindings) -> str:
    """One or two sentences for the burn rate chart."""
    sim = f.simulation
    n = len(sim.firings)
    return (
        "How fast the budget was spent over each alert's long window (1 = exactly on budget), "
        "averaged for reading; a dotted line marks where that alert fires, shading where one "
        f"fired ({n} time{'s' if n != 1 else ''}). The figure an alert rule reads."
    )


def explain_alerts(f: SLOFindings) -> str:
    """One or two sentences for the alert backtest chart."""
    sim = f.simulation
    n_v = len(sim.violations)
    caught = len(f.caught_violations)
    return (
        "When each rule would have fired (pages wake someone up, tickets wait for working "
        f"hours), over the violations in the data (green caught, red missed): {caught} of "
        f"{n_v} caught, about {pages(f)} pages a month, {len(f.false_alerts)} with no "
        "violation under way."
    )


def risk_summary(f: SLOFindings) -> str:
    """One sentence of risks: periods missed, violations missed, alerts with no violation."""
    sim = f.simulation
    missed_p = len(f.missed_periods)
    n_v = len(sim.violations)
    return (
        f"{missed_p} of {sim.periods_judged} complete periods missed the target; "
        f"{n_v} violation{'s' if n_v != 1 else ''} found, {len(f.missed_violations)} of them "
        f"missed by every alert; {len(f.false_alerts)} alert"
        f"{'s' if len(f.false_alerts) != 1 else ''} fired with no violation under way."
    )


def recommendation(f: SLOFindings) -> str:
    """The rationale, or why there is none."""
    rec: Recommendation | None = f.recommendation
    if rec is not None:
        return rec.rationale
    return f"No recommendation: {f.recommendation_problem}" if f.recommendation_problem else ""


def failed_policy(slo: SLO) -> str:
    """How failed requests count for this SLO."""
    if slo.sli.kind == "availability":
        return "failed requests are the bad events"
    missing = " and ".join(slo.sli.metrics)
    if slo.sli.kind == "joint":
        return (
            "failed requests count as bad (a good request succeeded and met every condition); "
            f"successful requests without {missing} are left out"
        )
    if slo.sli.unit == "goodput":
        return "only successful requests that met every condition count towards goodput"
    if slo.sli.kind == "throughput":
        return "every request counts towards throughput"
    if slo.sli.failed_requests == "bad":
        return "failed requests count as too slow"
    return "failed requests are left out (judged by availability)"


def slice_policy(slo: SLO) -> str:
    """How slices with too little traffic count ("" for Occurrences SLOs)."""
    b = slo.budgeting
    if b.method == "Occurrences":
        return ""
    rule = {"skip": "count neither way", "good": "count as good", "bad": "count as bad"}
    quiet = "no requests" if b.min_events <= 1 else f"fewer than {b.min_events} requests"
    return f"{fmt.duration(b.slice_s or 60)} slices with {quiet} {rule[b.empty_slices]}"


def source_span(p: Provenance) -> str:
    """`2026-09-07 00:00 UTC to 2026-10-18 23:59 UTC (41 days 23 h)`."""
    if p.start is None:
        return "no timestamps"
    return f"{when(p.start)} to {when(p.end)} ({span(p.span_s)})"


def headline(inputs: ReportInputs) -> str:
    """`Generated 2026-10-20 09:00 UTC from genai_requests.parquet: 2 agreed SLOs, 1 ...`."""
    n_a, n_alt = len(inputs.agreed), len(inputs.alternatives)
    if inputs.review is not None:
        return (
            f"Generated {inputs.generated_at} from {inputs.provenance.source_name}: review of "
            f"{n_a} agreed SLO{'s' if n_a != 1 else ''}."
        )
    return (
        f"Generated {inputs.generated_at} from {inputs.provenance.source_name}: "
        f"{n_a} agreed SLO{'s' if n_a != 1 else ''}, {n_alt} alternative"
        f"{'s' if n_alt != 1 else ''} considered."
    )


def no_agreed() -> str:
    """What the summary says when nothing is agreed yet."""
    return (
        "No SLO is marked agreed yet: this is a draft. The candidates are listed under "
        "Alternatives considered."
    )


KEY_FIGURE_HEADERS = (
    "SLO",
    "objective",
    "attainment",
    "periods met",
    "budget left",
    "pages/month",
    "verdict",
)


def key_figure_rows(items: Sequence[SLOFindings]) -> list[tuple[str, ...]]:
    """One row of key figures per SLO, the same in the HTML and the Markdown report."""
    return [
        (
            f.name + (" (agreed)" if f.candidate.agreed else ""),
            objective(f.candidate.slo),
            attainment(f.simulation.overall, f.candidate.slo.objective.target),
            periods_met(f.simulation),
            budget_left(f.simulation),
            pages(f),
            verdict(f),
        )
        for f in items
    ]


def slo_figure_pairs(f: SLOFindings) -> list[tuple[str, str]]:
    """(label, figure) pairs under an agreed SLO's heading, the same in both reports."""
    sim = f.simulation
    slo = sim.slo
    service = [("Service", slo.service)] if slo.service else []
    return [
        *service,
        ("Attainment", attainment(sim.overall, slo.objective.target)),
        ("Events", events(sim)),
        ("Periods met", f"{periods_met(sim)} ({slo.window.describe()})"),
        ("Budget left", f"{budget_left(sim)} in the latest whole period"),
        ("Verdict", verdict(f)),
        ("Pages per month", pages(f)),
        ("Violations caught", f"{len(f.caught_violations)} of {len(sim.violations)}"),
    ]


def provenance_pairs(p: Provenance) -> list[tuple[str, str]]:
    """(label, figure) pairs of the data provenance section, the same in both reports."""
    filtered = [("Rows outside the filters", count(p.filtered_out))] if p.filtered_out else []
    return [
        ("Source", p.source_name),
        ("Format", p.source_format),
        ("Span", source_span(p)),
        ("Rows read", count(p.rows_read)),
        ("Requests used", count(p.rows)),
        ("Rows left out", count(p.dropped_total)),
        *filtered,
        ("Timezone of naive times", p.timezone),
    ]


def executive_sentence(f: SLOFindings) -> str:
    """One sentence per agreed SLO for the executive summary: the promise and how it did."""
    sim = f.simulation
    target = sim.slo.objective.target
    overall = f"{fmt.attainment(sim.overall.attainment, target)} overall"
    judged, met = sim.periods_judged, sim.periods_met
    if f.verdict == "met-every-period":
        how = f"met in all {count(judged, 'complete period')} of this history ({overall})"
    elif f.verdict == "met-most-periods":
        how = f"met in {met} of {count(judged, 'complete period')} ({overall})"
    elif f.verdict == "missed-too-often":
        missed = judged - (met or 0)
        how = f"missed in {missed} of {count(judged, 'complete period')} ({overall})"
    elif f.verdict == "not-judged":
        how = f"not judged: the data cover no whole period ({overall})"
    else:
        how = "no data to judge it"
    return f"{sim.statement.rstrip('.')}: {how}."


def top_risk(inputs: ReportInputs) -> str:
    """The one risk that matters most across the agreed SLOs, in one sentence."""
    agreed = inputs.agreed
    missed_v = [(f, v) for f in agreed for v in f.missed_violations]
    if missed_v:
        f, v = max(missed_v, key=lambda p: p[1].budget_spent)
        return (
            f"{f.name}: no alert would have caught the incident of {when(v.start)}, which spent "
            f"{pct(v.budget_spent, 1)} of a period's budget; review its alert rules."
        )
    missing = [f for f in agreed if f.verdict == "missed-too-often"]
    if missing:
        f = missing[0]
        return (
            f"{f.name} missed its target in {len(f.missed_periods)} of "
            f"{count(f.simulation.periods_judged, 'complete period')} of this history: as "
            "agreed it would have been broken often; loosen it or improve the service first."
        )
    thin = [f for f in agreed if f.verdict == "not-judged"]
    if thin:
        return (
            f"{thin[0].name} could not be judged on whole periods: the data are shorter than "
            "its window, so its figures describe requests, not compliance over time."
        )
    margins = [
        (f, f.simulation.error_budget_remaining)
        for f in agreed
        if math.isfinite(f.simulation.error_budget_remaining)
    ]
    if margins:
        f, left = min(margins, key=lambda p: p[1])
        if left < 0.25:
            return (
                f"{f.name} has {fmt.budget(left)} of its error budget left in the latest whole "
                "period: little room for an incident before it is broken."
            )
    noisy = [f for f in agreed if f.pages_per_month >= 2]
    if noisy:
        f = max(noisy, key=lambda x: x.pages_per_month)
        return (
            f"{f.name} would page about {pages(f)} times a month: check its alert rules before "
            "they wake people up for nothing."
        )
    return "No risk stands out: every agreed SLO met its target with budget to spare."


def why(f: SLOFindings) -> str:
    """Why this SLO, in plain words: what the history supports and how much room is left (the
    statistics behind it are in the appendix)."""
    rec = f.recommendation
    sim = f.simulation
    slo = sim.slo
    if rec is None:
        return recommendation(f) or "No recommendation could be made on this history."
    if rec.periods_used == 0:
        return (
            "The data cover no whole period, so the history cannot say how often it would have "
            f"been met; {fmt.attainment(sim.overall.attainment, slo.objective.target)} of the "
            "requests met it."
        )
    share = fmt.percent(rec.desired_share, 1)
    parts = []
    if rec.threshold is not None and slo.threshold_ms is not None:
        headroom = rec.headroom or 0.0
        word = "headroom" if headroom >= 0 else "shortfall"
        parts.append(
            f"In {share} of the complete periods, {fmt.percent(slo.objective.target)} of "
            f"requests finished within {fmt.ms(rec.threshold)}; the chosen "
            f"{fmt.ms(slo.threshold_ms)} leaves {fmt.percent(abs(headroom), 0)} {word}."
        )
    parts.append(
        f"The highest target this history supports at these settings is "
        f"{fmt.percent(rec.target)}; every complete period reached at least "
        f"{fmt.at_least(rec.target_every_period, slo.objective.target)}."
    )
    return " ".join(parts)


def quiet_alerts(f: SLOFindings) -> str:
    """The sentence that replaces an empty alert chart."""
    return (
        "No alert would have fired on this history, and the data hold no violation that one "
        "should have caught."
    )


@dataclass(frozen=True)
class Table:
    """A table of plain-text cells the HTML and Markdown reports both draw (each escapes)."""

    caption: str
    headers: tuple[str, ...]
    rows: tuple[Sequence[str], ...]
    numeric: tuple[int, ...] = ()


def appendix_tables(f: SLOFindings) -> tuple[Table, ...]:
    """The statistics of one agreed SLO in the appendix, after its rationale: alert rules,
    the periods it missed, violations, alerts with no violation, segments."""
    sim = f.simulation
    slo = sim.slo
    target = slo.objective.target
    tables = [
        Table(
            "Alert rules:",
            ("severity", "long window", "short window", "burn rate", "budget spent at firing"),
            tuple(rule_row(r, slo) for r in slo.alert_windows),
            (3, 4),
        )
    ]
    if f.missed_periods:
        rows = [period_row(p, target) for p in f.missed_periods]
        tables.append(
            Table(
                "Periods that missed the target:",
                ("period", "attainment", "budget left", "result"),
                tuple(capped(rows, 4)),
                (1, 2),
            )
        )
    if sim.violations:
        tables.append(
            Table(
                "Violations (incidents) found in the data, and whether alerts caught them:",
                ("started", "lasted", "budget spent", "peak burn", "alerts"),
                tuple(capped([violation_row(v) for v in sim.violations], 5)),
                (2, 3),
            )
        )
    if f.false_alerts:
        tables.append(
            Table(
                "Alerts that would have fired with no violation under way:",
                ("rule", "started", "lasted", "budget spent by then"),
                tuple(capped([firing_row(a) for a in f.false_alerts], 4)),
                (3,),
            )
        )
    if sim.segments:
        tables.append(
            Table(
                "The same SLO applied to each group of requests on its own:",
                ("segment", "attainment", "periods met"),
                tuple(
                    (
                        f"{s.column} = {s.value}",
                        attainment(s.overall, target),
                        fmt.periods_met(s.periods_met, s.periods),
                    )
                    for s in sim.segments
                ),
                (2,),
            )
        )
    return tuple(tables)
