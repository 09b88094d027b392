"""`sloview simulate` and `sloview recommend`: candidate SLOs on the history."""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from typing import Any

from sloview.cli.base import EXIT_OK, SOURCE_HELP, share
from sloview.cli.data_flags import add_mapping_flags, add_reading_flags, load_from_args
from sloview.cli.render import render_composite, render_simulation
from sloview.cli.slo_flags import add_objective_flags, slos_from_args
from sloview.composite_slo import CompositeSLO
from sloview.design import Recommendation, joint_design, recommend, segment_recommendations
from sloview.engine import Engine
from sloview.engine.aggregated import AggregateEngine
from sloview.engine.scope import Scope
from sloview.errors import SpecError
from sloview.ingest import RequestTable
from sloview.model import SLO
from sloview.simulate import (
    SegmentResult,
    Simulation,
    data_notes,
    segment_results,
    simulate,
    simulate_composite,
)
from sloview.sources.aggregates import Aggregates
from sloview.specfile import flatten, load_specs
from sloview.wording import statement


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
    sim.add_argument(
        "--by",
        metavar="COL",
        help="also evaluate each SLO on every value of this column (a provider, model or "
        "endpoint), with its error rate; works with and without timestamps",
    )
    sim.add_argument(
        "--verbose", action="store_true", help="list every alert firing, not a summary per rule"
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
    rec.add_argument(
        "--by", metavar="COL", help="also recommend for every value of this segment column"
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
    by = getattr(args, "by", None)
    if by and by not in args.segment:
        # `--by COL` splits by a column: it must be read as a segment.
        args.segment = [*args.segment, by]
    loaded = load_from_args(args, slos)
    engine = AggregateEngine(loaded) if isinstance(loaded, Aggregates) else Engine(loaded)
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
) -> tuple[Simulation, Recommendation | None, list[SegmentResult]]:
    scope = Scope.bind(engine, slo)
    sim = simulate(scope, segment_columns=tuple(c for c in args.segment if c != args.by))
    by = segment_results(scope, args.by) if args.by else []
    try:
        return sim, recommend(scope, args.desired_share), by
    except SpecError as exc:  # the simulation stands even when no recommendation can
        notes = (*sim.notes, f"No recommendation: {exc.one_line()}")
        return replace(sim, notes=notes), None, by


def _by_entry(column: str, rows: list[SegmentResult]) -> dict[str, Any]:
    return {"column": column, "rows": [r.to_dict() for r in rows]}


def _cmd_simulate(args: argparse.Namespace) -> int:
    engine, slos, _ = engine_and_slos(args)
    entries = []
    texts = []
    for spec in slos:
        if isinstance(spec, CompositeSLO):
            composite = simulate_composite(engine, spec)
            entry = composite.to_dict()
            parts = [_simulate_one(engine, slo, args) for slo in spec.objectives]
            entry["recommendation"] = [None if r is None else r.to_dict() for _, r, _ in parts]
            for component, (_, rec, by) in zip(entry["components"], parts, strict=True):
                component["recommendation"] = None if rec is None else rec.to_dict()
                if args.by:
                    component["by"] = _by_entry(args.by, by)
            entries.append(entry)
            texts.append(render_composite(composite, parts, verbose=args.verbose))
            continue
        sim, rec, by = _simulate_one(engine, spec, args)
        entry = sim.to_dict()
        entry["recommendation"] = None if rec is None else rec.to_dict()
        if args.by:
            entry["by"] = _by_entry(args.by, by)
        entries.append(entry)
        texts.append(render_simulation(sim, rec, by, verbose=args.verbose))
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
        sim = simulate(scope)
        # Warnings change how to read the recommendation; notes say how exact the data are.
        notes = data_notes(scope)
        entry = {"name": slo.name, "statement": statement(slo), **rec.to_dict()}
        entry["warnings"] = list(sim.warnings)
        entry["notes"] = list(notes)
        text = f"{slo.name}: {statement(slo)}"
        text += "".join(f"\n  WARNING: {w}" for w in sim.warnings)
        text += f"\n  {rec.rationale}"
        text += "".join(f"\n  note: {n}" for n in notes)
        if slo.sli.kind == "joint" and len(slo.sli.conditions) >= 2 and engine.has_time:
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
        if args.by:
            recs = segment_recommendations(scope, args.by, args.desired_share)
            entry["by"] = {
                "column": args.by,
                "rows": [{"value": v, **r.to_dict()} for v, r in recs.items()],
            }
            text += "".join(f"\n  {args.by}={v}: {r.rationale}" for v, r in recs.items())
        out.append(entry)
        if not args.json:
            print(text)
    if args.json:
        print(json.dumps({"slos": out}, indent=2, allow_nan=False))
    return EXIT_OK
