"""`sloview export` and `sloview validate`: SLOs as OpenSLO, Sloth, Prometheus rules or a
Grafana dashboard, and OpenSLO checks."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from typing import Any

from sloview.cli.base import EXIT_BAD_INPUT, EXIT_OK
from sloview.cli.slo_flags import add_objective_flags, slos_from_args
from sloview.cli.source_flags import add_source_flags, source_from_args
from sloview.composite_slo import CompositeSLO
from sloview.errors import SpecError
from sloview.export import (
    is_openslo,
    load_documents,
    read_text,
    validate_documents,
)
from sloview.export.openslo import to_openslo
from sloview.export.rules_test import promtool_tests
from sloview.export.writers import WRITERS, write_export
from sloview.model import SLO
from sloview.specfile import flatten, load_specs

FORMATS = tuple(WRITERS)


def register(sub: Any) -> None:
    """Add this command to the `sloview` parser."""
    export = sub.add_parser(
        "export",
        help="agreed SLOs as OpenSLO v1, Sloth YAML, Prometheus rules or a Grafana dashboard",
        description="Write SLOs (from --slo FILE in any format sloview reads, or the objective "
        "flags) as OpenSLO v1 (Service, SLO, AlertPolicy, AlertCondition ...), as a Sloth "
        "prometheus/v1 spec, as Prometheus rules (Sloth's rule names; the alerts sloview "
        "backtested) or as a Grafana dashboard over those rules. Queries follow the metric "
        "source flags: PromQL for a Prometheus histogram, SQL for a table, or a sloview source "
        "naming the request file. What the format cannot hold is kept in sloview.dev/ "
        "annotations (Sloth: sloview_ labels), so `sloview simulate SOURCE --slo FILE` reads "
        "the export back. Warnings go to stderr.",
    )
    add_objective_flags(export)
    export.add_argument(
        "--format",
        choices=FORMATS,
        default="openslo",
        help="openslo (default); sloth (a Sloth spec); prometheus-rules (recording rules and "
        "the backtested burn-rate alerts, Sloth's names); grafana (a dashboard over those "
        "rules); the last three need a Prometheus source and Occurrences SLOs",
    )
    export.add_argument(
        "--promtool-test",
        metavar="FILE",
        help="with prometheus-rules: also write a `promtool test rules` file whose expected "
        "alerts and ratios are sloview's backtest of synthetic traffic (needs -o)",
    )
    export.add_argument(
        "--service", metavar="NAME", help="service of every SLO (default: each SLO's own)"
    )
    export.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    add_source_flags(export)
    export.set_defaults(handler=_cmd_export, tz=None)

    check = sub.add_parser(
        "validate",
        help="check an OpenSLO v1 file against the OpenSLO SDK's rules",
        description="Check every document of an OpenSLO v1 file against the rules the OpenSLO "
        "Go SDK enforces. Prints `valid: N documents`, or every violation on its own line "
        "with its YAML path (exit 2).",
    )
    check.add_argument("file", metavar="FILE", help="OpenSLO v1 YAML (several documents allowed)")
    check.set_defaults(handler=_cmd_validate)


def _cmd_export(args: argparse.Namespace) -> int:
    if args.promtool_test and (args.format != "prometheus-rules" or not args.output):
        raise SpecError(
            "a promtool test file goes with a rule file",
            where="--promtool-test",
            hint="add --format prometheus-rules -o RULES.yml (the test file names it)",
        )
    # OpenSLO holds composite SLOs; the other formats get their objectives one by one.
    specs: list[SLO | CompositeSLO] = list(
        load_specs(args.slo) if args.slo else slos_from_args(args)
    )
    if args.service:
        specs = [replace(s, service=args.service) for s in specs]
    slos = flatten(specs)
    source = source_from_args(args)
    result = (
        to_openslo(specs, source)
        if args.format == "openslo"
        else write_export(args.format, slos, source)
    )
    for warning in result.warnings:
        sys.stderr.write(f"sloview: warning: {warning}\n")
    if not args.output:
        sys.stdout.write(result.text)
        return EXIT_OK
    _write(args.output, result.text)
    kind = WRITERS[args.format][1]
    print(f"wrote {args.output}: {len(slos)} SLO{'s' if len(slos) != 1 else ''} as {kind}")
    if args.promtool_test:
        tests = promtool_tests(slos, source, rules_file=args.output, test_file=args.promtool_test)
        _write(args.promtool_test, tests.text)
        print(f"wrote {args.promtool_test}: run `promtool test rules {args.promtool_test}`")
    return EXIT_OK


def _write(path: str, text: str) -> None:
    try:
        with open(path, "w", encoding="utf-8") as out:
            out.write(text)
    except OSError as exc:
        raise SpecError(exc.strerror or "cannot be written", where=path) from None


def _cmd_validate(args: argparse.Namespace) -> int:
    docs = load_documents(read_text(args.file), args.file)
    if not any(is_openslo(doc) for doc in docs):
        raise SpecError(
            "is not an OpenSLO file (no document has apiVersion: openslo/v1)",
            where=args.file,
            hint="`sloview validate` checks OpenSLO v1; `sloview export --slo FILE` converts "
            "sloview and Sloth files",
        )
    violations = validate_documents(docs)
    for violation in violations:
        # The one place several lines are printed: each is a separate violation.
        sys.stderr.write(f"{args.file}: {violation}\n")
    if violations:
        return EXIT_BAD_INPUT
    print(f"valid: {len(docs)} document{'s' if len(docs) != 1 else ''}")
    return EXIT_OK
