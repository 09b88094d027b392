"""The readable (non-JSON) output of `simulate`: warnings first, then figures, periods,
alerts summarised per rule, per-segment rows and the recommendation."""

from __future__ import annotations

from sloview import formatting as fmt
from sloview.design import Recommendation
from sloview.simulate import CompositeSimulation, SegmentResult, Simulation

VERDICT_WORDS = {"met": "met", "missed": "MISSED", "failing": "FAILING", "n/a": "-"}


def render_composite(
    composite: CompositeSimulation,
    parts: list[tuple[Simulation, Recommendation | None, list[SegmentResult]]],
    *,
    verbose: bool = False,
) -> str:
    """The readable form of a composite SLO's simulation."""
    judged = int(composite.judged.sum())
    lines = [
        f"{composite.composite.name}: {composite.statement}",
        f"  periods     {fmt.periods_met(composite.periods_met, judged)} whole periods met "
        "(weighted budget, as OpenSLO judges composites); every objective met its own target "
        f"in {int(composite.all_met.sum())}",
        f"  budget left in the latest period {fmt.budget(composite.error_budget_remaining)}",
        "",
    ]
    text = "\n\n".join(render_simulation(sim, rec, by, verbose=verbose) for sim, rec, by in parts)
    lines.extend("  " + line if line else "" for line in text.splitlines())
    return "\n".join(lines)


def render_simulation(
    sim: Simulation,
    rec: Recommendation | None,
    by: list[SegmentResult] | None = None,
    *,
    verbose: bool = False,
) -> str:
    """The readable (non-JSON) form of one simulation."""
    o, target, cov = sim.overall, sim.slo.objective.target, sim.coverage
    lines = [f"{sim.slo.name}: {sim.statement}"]
    lines.extend(f"  WARNING: {w}" for w in sim.warnings)
    if cov.start is not None:
        lines.append(
            f"  data        {fmt.when(cov.start, cov.span_s)} -> {fmt.when(cov.end, cov.span_s)}"
            f" ({fmt.span(cov.span_s)}); {fmt.count(cov.complete_periods, 'whole period')}, "
            f"{cov.partial_periods} partial"
        )
    unit = "requests" if sim.slo.budgeting.method == "Occurrences" else "slices"
    lines.append(
        f"  attainment  {fmt.attainment(o.attainment, target)} (95% CI "
        f"{fmt.ci_range(o.ci_low, o.ci_high, target)}; {fmt.count(o.good)} good of "
        f"{fmt.count(o.total)} {unit})"
    )
    if len(sim.periods):
        if sim.periods_met is None:
            lines.append("  periods     none judged: the data cover no whole period")
        else:
            lines.append(
                f"  periods     {sim.periods_met} of {sim.periods_judged} whole periods met; "
                f"budget left in the latest {fmt.budget(sim.error_budget_remaining)}"
            )
        lines.extend(["", *_period_lines(sim)])
        lines.append("")
        lines.extend(_alert_lines(sim, verbose))
    if by:
        lines.extend(["", *_by_lines(by, target)])
    lines.append("")
    if rec is not None:
        lines.append(f"  recommendation: {rec.rationale}")
    lines.extend(f"  note: {n}" for n in sim.notes)
    return "\n".join(lines)


def _period_lines(sim: Simulation) -> list[str]:
    window, target = sim.slo.window, sim.slo.objective.target
    labels = [fmt.period_label(p.start, p.end, window.calendar, window.tz) for p in sim.periods]
    width = max([len("period"), *(len(x) for x in labels)]) + 2
    out = [f"  {'period':<{width}}{'attainment':>12}{'budget left':>13}  verdict"]
    for label, p in zip(labels, sim.periods, strict=True):
        verdict = (
            ("partial: not judged" if p.partial else "no events")
            if p.met is None
            else ("met" if p.met else "MISSED")
        )
        out.append(
            f"  {label:<{width}}{fmt.attainment(p.attainment, target):>12}"
            f"{fmt.budget(p.budget_remaining):>13}  {verdict}"
        )
    return out


def _alert_lines(sim: Simulation, verbose: bool) -> list[str]:
    if not sim.firings:
        out = ["  no alert would have fired"]
    elif verbose:
        out = [f"  alerts that would have fired ({len(sim.firings)}):"]
        for f in sim.firings:
            delay = (
                "" if f.delay_s is None else f", {fmt.span(f.delay_s)} after the violation began"
            )
            tag = "" if f.violation is not None else " (no violation)"
            out.append(
                f"    {f.rule.label():<24} {fmt.when(f.start)} -> {fmt.when(f.end)}; "
                f"{_spent(f.budget_spent)}{delay}{tag}"
            )
    else:
        out = [f"  alerts that would have fired: {len(sim.firings)} (--verbose lists every firing)"]
        by_rule: dict[str, list[int]] = {}
        for i, f in enumerate(sim.firings):
            by_rule.setdefault(f.rule.label(), []).append(i)
        for label, idx in by_rule.items():
            first, last = sim.firings[idx[0]], sim.firings[idx[-1]]
            times = fmt.count(len(idx), "time")
            span = (
                f"at {fmt.when(first.start)}"
                if len(idx) == 1
                else f"first {fmt.when(first.start)}, last {fmt.when(last.start)}"
            )
            caught = sum(1 for i in idx if sim.firings[i].violation is not None)
            out.append(f"    {label:<24} {times}, {span}; {caught} during a violation")
    for v in sim.missed_violations:
        out.append(
            f"  MISSED violation {fmt.when(v.start)} -> {fmt.when(v.end)} "
            f"(spent {fmt.budget(v.budget_spent)} of a period's budget; no alert fired)"
        )
    return out


def _spent(share: float) -> str:
    if share != share:  # NaN: less than one SLO window of data before the firing
        return "budget spent unknown (less than a window of data before it)"
    return f"budget spent {fmt.budget(share)}"


def _by_lines(rows: list[SegmentResult], target: float) -> list[str]:
    column = rows[0].column
    width = max([len(column), *(len(r.value) for r in rows)]) + 2
    # Periods only where there is history to judge (not for data without timestamps).
    history = any(r.periods_met is not None for r in rows)
    periods = f"{'periods met':>17}" if history else ""
    out = [
        f"  by {column}:",
        f"    {'value':<{width}}{'requests':>10}{'errors':>9}{'error rate':>12}"
        f"{'attainment':>12}  {'95% CI':<24}{periods}  verdict",
    ]
    for r in rows:
        met = f"{fmt.periods_met(r.periods_met, r.periods):>17}" if history else ""
        out.append(
            f"    {r.value:<{width}}{fmt.count(r.requests):>10}{fmt.count(r.errors):>9}"
            f"{fmt.percent(r.error_rate, 2, fixed=True):>12}"
            f"{fmt.attainment(r.overall.attainment, target):>12}"
            f"  {fmt.ci_range(r.overall.ci_low, r.overall.ci_high, target):<24}{met}"
            f"  {VERDICT_WORDS[r.verdict(target)]}"
        )
    return out
