"""`sloview simulate` and `sloview recommend`: candidate SLOs on the history."""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from typing import Any

from sloview.cli.base import EXIT_OK, SOURCE_HELP, share
from sloview.cli.data_flags import add_mapping_flags, add_reading_flags, load_from_args
from sloview.cli.slo_flags import add_objective_flags, slos_from_args
from sloview.composite_slo import CompositeSLO
from sloview.design import Recommendation, joint_design, recommend
from sloview.engine import Engine
from sloview.engine.aggregated import AggregateEngine
from sloview.engine.scope import Scope
from sloview.errors import SpecError
from sloview.ingest import RequestTable
from sloview.model import SLO
from sloview.simulate import (
    CompositeSimulation,
    Simulation,
    data_notes,
    simulate,
    simulate_composite,
)
from sloview.sources.aggregates import Aggregates
from sloview.specfile import flatten, load_specs
from sloview.summary import iso_utc
from sloview.wording import percent, statement


def register(sub: Any) -> None:
    """Add this command to the `sloview` parser."""
    sim = sub.add_parser(
        "simulate",
        help="how candidate SLOs would have done on the history",
        description="Simulate SLOs on request history: attainment with a 95% CI, every period, "
        "error budget left, burn-rate alerts that would have fired (backtest) and the "
        "recommended threshold/target.",
    )
    sim.add_argument("source", metavar="SOURCE", help=SOURCE_HELP)
    add_mapping_flags(sim)
    add_reading_flags(sim)
    add_objective_flags(sim)
    sim.add_argument(
        "--desired-share",
        type=share,
        default=0.9,
        metavar="X",
        help="share of periods the recommendation must meet (default 0.9)",
    )
    sim.add_argument("--json", action="store_true", help='print one JSON object {"slos": [...]}')
    sim.set_defaults(handler=_cmd_simulate)

    rec = sub.add_parser(
        "recommend",
        help="the tightest threshold and highest target the history supports",
        description="Recommend targets the data support: the tightest threshold at the target "
        "and the highest target at the threshold, for a share of periods and for all, with CIs.",
    )
    rec.add_argument("source", metavar="SOURCE", help=SOURCE_HELP)
    add_mapping_flags(rec)
    add_reading_flags(rec)
    add_objective_flags(rec)
    rec.add_argument(
        "--desired-share",
        type=share,
        default=0.9,
        metavar="X",
        help="share of periods to meet (default 0.9)",
    )
    rec.add_argument("--json", action="store_true", help="print one JSON object")
    rec.set_defaults(handler=_cmd_recommend)


def engine_and_slos(
    args: argparse.Namespace,
) -> tuple[Engine, list[SLO | CompositeSLO], RequestTable | Aggregates]:
    """The engine over SOURCE (exact on rows, binned on aggregates), the SLOs, and the data."""
    slos: list[SLO | CompositeSLO] = (
        load_specs(args.slo) if args.slo else list(slos_from_args(args))
    )
    loaded = load_from_args(args, slos)
    engine = AggregateEngine(loaded) if isinstance(loaded, Aggregates) else Engine(loaded)
    engine.require_time()
    if not args.slo:
        # --where on a segment column narrows the candidate itself: say so in its statement.
        columns = engine.segment_columns()
        segment = tuple((c, v) for c, v in args.where if c in columns)
        if segment:
            slos = [
                slo.with_changes(segment=segment) if isinstance(slo, SLO) else slo for slo in slos
            ]
    return engine, slos, loaded


def _simulate_one(
    engine: Engine, slo: SLO, args: argparse.Namespace
) -> tuple[Simulation, Recommendation | None]:
    scope = Scope.bind(engine, slo)
    sim = simulate(scope, segment_columns=tuple(args.segment))
    try:
        return sim, recommend(scope, args.desired_share)
    except SpecError as exc:  # the simulation stands even when no recommendation can
        return replace(sim, notes=(*sim.notes, f"No recommendation: {exc.one_line()}")), None


def _cmd_simulate(args: argparse.Namespace) -> int:
    engine, slos, _ = engine_and_slos(args)
    entries = []
    texts = []
    for spec in slos:
        if isinstance(spec, CompositeSLO):
            composite = simulate_composite(engine, spec)
            entry = composite.to_dict()
            parts = [_simulate_one(engine, slo, args) for slo in spec.objectives]
            entry["recommendation"] = [None if r is None else r.to_dict() for _, r in parts]
            for component, (_, rec) in zip(entry["components"], parts, strict=True):
                component["recommendation"] = None if rec is None else rec.to_dict()
            entries.append(entry)
            texts.append(render_composite(composite, parts))
            continue
        sim, rec = _simulate_one(engine, spec, args)
        entry = sim.to_dict()
        entry["recommendation"] = None if rec is None else rec.to_dict()
        entries.append(entry)
        texts.append(render_simulation(sim, rec))
    if args.json:
        print(json.dumps({"slos": entries}, indent=2, allow_nan=False))
    else:
        print("\n\n".join(texts))
    return EXIT_OK


def _cmd_recommend(args: argparse.Namespace) -> int:
    engine, slos, _ = engine_and_slos(args)
    out = []
    for slo in flatten(slos):
        scope = Scope.bind(engine, slo)
        rec = recommend(scope, args.desired_share)
        # On aggregates, how exact the figures are (empty for request rows).
        notes = data_notes(scope)
        entry = {"name": slo.name, "statement": statement(slo), **rec.to_dict()}
        entry["notes"] = list(notes)
        text = f"{slo.name}: {statement(slo)}\n  {rec.rationale}"
        text += "".join(f"\n  note: {n}" for n in notes)
        if slo.sli.kind == "joint" and len(slo.sli.conditions) >= 2:
            pair = joint_design(scope, args.desired_share)
            entry["threshold_pair"] = {
                "metrics": list(pair.metrics),
                "recommended_ms": None if pair.recommended is None else list(pair.recommended),
                "iso_line_ms": [
                    [a, b]
                    for a, b in zip(pair.thresholds_a.tolist(), pair.iso_b.tolist(), strict=True)
                    if b == b  # NaN where no B qualifies at this A
                ],
                "rationale": pair.rationale,
            }
            text += f"\n  {pair.rationale}"
        out.append(entry)
        if not args.json:
            print(text)
    if args.json:
        print(json.dumps({"slos": out}, indent=2, allow_nan=False))
    return EXIT_OK


def render_composite(
    composite: CompositeSimulation, parts: list[tuple[Simulation, Recommendation | None]]
) -> str:
    """The readable form of a composite SLO's simulation."""
    judged = int(composite.judged.sum())
    lines = [
        f"{composite.composite.name}: {composite.statement}",
        f"  periods     {composite.periods_met} of {judged} met (weighted budget, as OpenSLO "
        f"judges composites); every objective met its own target in "
        f"{int(composite.all_met.sum())}",
        f"  budget left in the latest period {percent(composite.error_budget_remaining, 1)}",
        "",
    ]
    text = "\n\n".join(render_simulation(sim, rec) for sim, rec in parts)
    lines.extend("  " + line if line else "" for line in text.splitlines())
    return "\n".join(lines)


def render_simulation(sim: Simulation, rec: Recommendation | None) -> str:
    """The readable (non-JSON) form of one simulation."""
    o = sim.overall
    lines = [
        f"{sim.slo.name}: {sim.statement}",
        f"  attainment  {percent(o.attainment, 3)} (95% CI {percent(o.ci_low, 3)} - "
        f"{percent(o.ci_high, 3)}; {o.good:,.0f} good of {o.total:,.0f})",
        f"  periods     {sim.periods_met} of {sim.periods_with_data} met; budget left in the "
        f"latest period {percent(sim.error_budget_remaining, 1)}",
        "",
        f"  {'period start':<22}{'end':<22}{'attainment':>12}{'budget left':>13}  met",
    ]
    for p in sim.periods:
        met = "-" if p.met is None else ("yes" if p.met else "NO")
        flag = " (partial)" if p.partial else ""
        lines.append(
            f"  {iso_utc(p.start):<22}{iso_utc(p.end):<22}{percent(p.attainment, 3):>12}"
            f"{percent(p.budget_remaining, 1):>13}  {met}{flag}"
        )
    lines.append("")
    if sim.firings:
        lines.append(f"  alerts that would have fired ({len(sim.firings)}):")
        for f in sim.firings:
            delay = (
                "" if f.delay_s is None else f", {f.delay_s / 60:.0f} min after the violation began"
            )
            tag = "" if f.violation is not None else " (no violation)"
            lines.append(
                f"    {f.rule.label():<24} {iso_utc(f.start)} -> {iso_utc(f.end)}  budget spent "
                f"{percent(f.budget_spent, 1)}{delay}{tag}"
            )
    else:
        lines.append("  no alert would have fired")
    for v in sim.missed_violations:
        lines.append(
            f"  MISSED violation {iso_utc(v.start)} -> {iso_utc(v.end)} "
            f"(spent {percent(v.budget_spent, 1)} of a period's budget)"
        )
    for seg in sim.segments:
        lines.append(
            f"  segment {seg.column}={seg.value}: {percent(seg.overall.attainment, 3)}, "
            f"{seg.periods_met} of {seg.periods} periods met"
        )
    lines.append("")
    if rec is not None:
        lines.append(f"  recommendation: {rec.rationale}")
    lines.extend(f"  note: {n}" for n in sim.notes)
    return "\n".join(lines)
