"""`sloview registry add|list|show`: the agreed SLOs, their versions and reviews."""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

import pandas as pd

from sloview import formatting as fmt
from sloview.cli.base import EXIT_OK, Parser, flag, now_iso
from sloview.registry import Registry
from sloview.registry.store import AgreedVersion, ReviewRecord
from sloview.sources.bounds import time_bound
from sloview.specfile import flatten, load_specs
from sloview.wording import statement

REGISTRY_HELP = (
    "the registry's database URL (default: SLOVIEW_REGISTRY, or a SQLite file under "
    "$XDG_DATA_HOME/sloview, i.e. ~/.local/share/sloview/registry.db); PostgreSQL for a team: "
    "postgresql://HOST/DB (password from PGPASSWORD or @NAME)"
)


def add_registry_flag(parser: argparse.ArgumentParser) -> None:
    """`--registry URL`."""
    parser.add_argument("--registry", metavar="URL", help=REGISTRY_HELP)


def open_registry(args: argparse.Namespace) -> Registry:
    """The registry the flags (or the environment) name."""
    return Registry(args.registry, environ=os.environ)


def register(sub: Any) -> None:
    """Add this command to the `sloview` parser."""
    registry = sub.add_parser(
        "registry",
        help="the agreed SLOs: record a version, list them, show one's history",
        description="The registry keeps every agreed version of an SLO (the spec, the service, "
        "who agreed, when, why) and every review of it.",
    )
    actions = registry.add_subparsers(dest="action", metavar="ACTION", parser_class=Parser)
    actions.required = True

    add = actions.add_parser(
        "add",
        help="record the SLOs of a file as agreed (a new version of each)",
        description="Record every SLO of FILE (sloview YAML, OpenSLO v1 or Sloth) as agreed: "
        "version 1 of a new name, or the next version of a known one.",
    )
    add.add_argument("file", metavar="FILE")
    add.add_argument("--by", required=True, metavar="NAME", help="who agreed")
    add.add_argument("--note", default="", metavar="TEXT", help="why (the room's note)")
    add.add_argument("--service", metavar="NAME", help="the service (default: each SLO's own)")
    add.add_argument(
        "--at",
        metavar="TIME",
        type=flag(_agreed_time),
        help="when it was agreed, ISO 8601 (default: now; for recording past decisions)",
    )
    add_registry_flag(add)
    add.add_argument("--json", action="store_true", help="print the recorded versions as JSON")
    add.set_defaults(handler=_cmd_add)

    listing = actions.add_parser("list", help="every registered SLO, latest version")
    add_registry_flag(listing)
    listing.add_argument("--json", action="store_true", help="print one JSON object")
    listing.set_defaults(handler=_cmd_list)

    show = actions.add_parser("show", help="one SLO's versions and reviews")
    show.add_argument("name", metavar="NAME")
    add_registry_flag(show)
    show.add_argument("--json", action="store_true", help="print one JSON object")
    show.set_defaults(handler=_cmd_show)


def _cmd_add(args: argparse.Namespace) -> int:
    registry = open_registry(args)
    slos = flatten(load_specs(args.file))
    at = args.at or now_iso()
    recorded = []
    for slo in slos:
        if args.service:
            slo = slo.with_changes(service=args.service)
        recorded.append(registry.agree(slo, by=args.by, at=at, rationale=args.note))
    if args.json:
        print(json.dumps({"versions": [v.to_dict() for v in recorded]}, indent=2))
        return EXIT_OK
    for v in recorded:
        print(f"recorded {v.name} version {v.version} (agreed by {v.agreed_by}, {v.agreed_at})")
    return EXIT_OK


def _cmd_list(args: argparse.Namespace) -> int:
    registry = open_registry(args)
    latest = registry.catalogue()
    if args.json:
        print(json.dumps({"slos": [v.to_dict() for v in latest]}, indent=2))
        return EXIT_OK
    if not latest:
        print(f"no SLO is registered in {registry.describe()} yet")
        return EXIT_OK
    for v in latest:
        service = f" [{v.service}]" if v.service else ""
        print(f"{v.name} v{v.version}{service}: {statement(v.slo)}")
        print(f"  agreed by {v.agreed_by} at {fmt.recorded(v.agreed_at)}")
    return EXIT_OK


def _cmd_show(args: argparse.Namespace) -> int:
    registry = open_registry(args)
    registry.latest(args.name)  # a clear error for an unknown name
    history = registry.versions(args.name)
    reviews = registry.reviews(args.name)
    if args.json:
        print(
            json.dumps(
                {
                    "name": args.name,
                    "versions": [v.to_dict() for v in history],
                    "reviews": [r.to_dict() for r in reviews],
                },
                indent=2,
            )
        )
        return EXIT_OK
    print(f"{args.name}: {len(history)} version{'s' if len(history) != 1 else ''}")
    for v in history:
        print(version_line(v))
    print(f"reviews: {len(reviews)}")
    for r in reviews:
        print(review_line(r))
    return EXIT_OK


def version_line(v: AgreedVersion) -> str:
    """`  v2  2026-12-01 by alice: 95% of requests ... (why)`."""
    why = f" ({v.rationale})" if v.rationale else ""
    return f"  v{v.version}  {fmt.recorded(v.agreed_at)} by {v.agreed_by}: {statement(v.slo)}{why}"


def review_line(r: ReviewRecord) -> str:
    """`  2026-11-01 -> 2026-11-30  v2  99.54% of 99.5%: met, keep`."""
    verdict = "no data" if r.met is None else ("met" if r.met else "MISSED")
    attained = fmt.attainment(r.attainment, r.target)
    return (
        f"  {fmt.recorded(r.reviewed_at)}  v{r.version} on {(r.period_start or '?')[:10]} to "
        f"{(r.period_end or '?')[:10]}: {attained} of {fmt.percent(r.target)}, {verdict}, "
        f"suggested {r.action}"
    )


def _agreed_time(text: str) -> str:
    """`--at`: any ISO 8601 time, recorded as `2026-12-04T09:00:00Z`."""
    ns = time_bound(text, "--at")
    assert ns is not None
    return f"{pd.Timestamp(ns, tz='UTC'):%Y-%m-%dT%H:%M:%SZ}"
