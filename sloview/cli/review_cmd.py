"""`sloview review`: the agreed SLOs checked against a new period's data (for a monthly job)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from sloview import formatting as fmt
from sloview.cli.base import EXIT_MISSED, EXIT_OK, SOURCE_HELP, now_iso, now_text
from sloview.cli.data_flags import add_mapping_flags, add_reading_flags, load_from_args
from sloview.cli.registry_cmd import REGISTRY_HELP, open_registry
from sloview.engine import Engine
from sloview.engine.aggregated import AggregateEngine
from sloview.errors import SloviewError, SpecError
from sloview.ingest import RequestTable
from sloview.registry import AgreedVersion, Registry
from sloview.registry.fingerprint import of_file, of_source
from sloview.review import Review, agreed_from_specs, review, trend_text
from sloview.sources.aggregates import Aggregates


def register(sub: Any) -> None:
    """Add this command to the `sloview` parser."""
    rev = sub.add_parser(
        "review",
        help="check the agreed SLOs against new data: met or missed, trend, keep/tighten/loosen",
        description="Evaluate each agreed SLO (from the registry) on SOURCE: the period reviewed, "
        "attainment with its 95%% CI against the target, met or missed, budget left, the "
        "previous reviews, and a suggestion (keep, tighten or loosen, with the threshold and "
        "target the new data support). The review is recorded in the registry unless "
        "--dry-run. Exit 0 when every SLO is met, 3 when any is missed or has no requests to "
        "judge, 2 on bad input.",
    )
    rev.add_argument("source", metavar="SOURCE", help=SOURCE_HELP)
    rev.add_argument(
        "--slo",
        metavar="NAME|FILE",
        action="append",
        default=[],
        help="an agreed SLO by name, or a spec file whose SLOs are all agreed (the registry's "
        "latest version must be the same spec); repeatable; default: every registered SLO",
    )
    rev.add_argument("--registry", metavar="URL", help=REGISTRY_HELP)
    rev.add_argument("--by", default="", metavar="NAME", help="who reviews (recorded)")
    rev.add_argument("--note", default="", metavar="TEXT", help="a note recorded with the review")
    rev.add_argument(
        "--report", metavar="FILE", help="also write the review report: FILE.html, .md or .pdf"
    )
    rev.add_argument("--dry-run", action="store_true", help="evaluate and print, record nothing")
    rev.add_argument(
        "--json",
        action="store_true",
        help='print one JSON object {"reviews": [{"name", "version", "period", "attainment", '
        '"ci_low", "ci_high", "target", "met", "budget_remaining", "previous", "suggestion"}]}',
    )
    add_mapping_flags(rev)
    add_reading_flags(rev)
    rev.set_defaults(handler=_cmd_review)


def _cmd_review(args: argparse.Namespace) -> int:
    # A bad report name or a missing PDF renderer fails before the data are read.
    if args.report:
        from sloview.report import format_for_path
        from sloview.report.pdf import check_pdf_renderer

        if format_for_path(args.report) == "pdf":
            check_pdf_renderer()
    registry = open_registry(args)
    agreed = _agreed(registry, args.slo)
    loaded = _load(args, agreed)
    engine = AggregateEngine(loaded) if isinstance(loaded, Aggregates) else Engine(loaded)
    fingerprint = _fingerprint(args)
    reviews = [
        review(engine, v, previous=tuple(registry.reviews(v.name)), where=f"SLO {v.name}")
        for v in agreed
    ]
    at = now_iso()
    if not args.dry_run:
        for r in reviews:
            registry.record_review(
                r.record(
                    at=at,
                    by=args.by,
                    source=_source_label(args),
                    fingerprint=fingerprint,
                    note=args.note,
                )
            )
    if args.report:
        _write_report(args, loaded, engine, reviews, registry)
    if args.json:
        print(json.dumps({"reviews": [r.to_dict() for r in reviews]}, indent=2))
    else:
        for r in reviews:
            print(_text(r))
        if args.dry_run:
            print("dry run: nothing recorded")
        else:
            print(
                f"recorded {len(reviews)} review{'s' if len(reviews) != 1 else ''} in "
                f"{registry.describe()}"
            )
        if args.report:
            print(f"wrote {args.report}")
    return EXIT_OK if all(r.met for r in reviews) else EXIT_MISSED


def _load(args: argparse.Namespace, agreed: list[AgreedVersion]) -> RequestTable | Aggregates:
    """SOURCE, with the columns the agreed SLOs are scoped by read as segments."""
    added: dict[str, AgreedVersion] = {}
    for version in agreed:
        for column, _ in version.slo.segment:
            if column not in args.segment:
                args.segment = [*args.segment, column]
                added.setdefault(column, version)
    try:
        return load_from_args(args, [v.slo for v in agreed])
    except SloviewError as exc:
        # A column the spec is scoped by (not one the user named) is gone: say which SLO.
        for column, version in added.items():
            if repr(column) in exc.message:
                value = dict(version.slo.segment)[column]
                raise SpecError(
                    f"is scoped to {column}={value}, but the data have no column {column!r}",
                    where=f"SLO {version.name}",
                    hint="review data that still have the column, or agree a new version "
                    "scoped by a column these data have",
                ) from None
        raise


def _agreed(registry: Registry, wanted: list[str]) -> list[AgreedVersion]:
    """The agreed versions `--slo` names (or every registered SLO's latest)."""
    if not wanted:
        found = registry.catalogue()
        if not found:
            raise SpecError(
                "no SLO is registered yet",
                where=f"registry {registry.describe()}",
                hint="agree one first: `sloview registry add FILE --by NAME` or the Compare page",
            )
        return found
    out: dict[str, AgreedVersion] = {}
    for item in wanted:
        if Path(item).is_file():
            for version in agreed_from_specs(registry, item):
                out[version.name] = version
        else:
            out[item] = registry.latest(item)
    return list(out.values())


def _fingerprint(args: argparse.Namespace) -> str:
    """Which data were reviewed: a file's content, or a database/Prometheus source's query."""
    path = Path(args.source)
    if path.is_file():
        return of_file(path)
    return of_source(args.source, args.table, args.query, args.histogram, args.start, args.end)


def _source_label(args: argparse.Namespace) -> str:
    """What the review record says was read (a database URL without its credentials)."""
    from sloview.export.source import redact_url

    path = Path(args.source)
    return path.name if path.is_file() else redact_url(args.source)


def _text(r: Review) -> str:
    """One SLO's review for a terminal."""
    d = r.to_dict()
    o = r.simulation.overall
    verdict = {True: "MET", False: "MISSED", None: "NOT JUDGED (no requests)"}[r.met]
    lines = [
        f"{r.agreed.name} v{r.agreed.version}: {r.simulation.statement}",
        f"  period reviewed  {fmt.when(r.simulation.coverage.start)} to "
        f"{fmt.when(r.simulation.coverage.end)} ({fmt.count(o.total)} "
        f"{'slices' if r.agreed.slo.sli.is_percentile else 'requests'})",
        f"  attainment       {fmt.attainment(o.attainment, r.target)} "
        f"(95% CI {fmt.ci_range(o.ci_low, o.ci_high, r.target)}), target "
        f"{fmt.percent(r.target)}: {verdict}",
        f"  budget left      {fmt.budget(r.budget_remaining)}",
        f"  trend            {trend_text(r)}",
        f"  suggestion       {d['suggestion']['action']}: {d['suggestion']['why']}",
    ]
    lines += [f"  warning          {w}" for w in r.simulation.warnings]
    return "\n".join(lines)


def _write_report(
    args: argparse.Namespace,
    loaded: Any,
    engine: Engine,
    reviews: list[Review],
    registry: Registry,
) -> None:
    from sloview.report import format_for_path, render
    from sloview.report.review import review_report_inputs

    inputs = review_report_inputs(
        loaded,
        engine,
        reviews,
        generated_at=now_text(),
        history={r.agreed.name: registry.versions(r.agreed.name) for r in reviews},
        recorded=not args.dry_run,
    )
    data = render(inputs, format_for_path(args.report))
    try:
        Path(args.report).write_bytes(data)
    except OSError as exc:
        raise SpecError(exc.strerror or "cannot be written", where=args.report) from None
