"""Flags that describe a candidate SLO instead of an SLO file."""

from __future__ import annotations

import argparse
from typing import Any

from sloview.cli.base import default_target, flag
from sloview.errors import SpecError
from sloview.ingest.table import LATENCY_COLUMNS
from sloview.model import CALENDARS, METHODS, SLI_KINDS, SLO, THROUGHPUT_UNITS, parse_condition
from sloview.specfile import load_slo_file


def add_objective_flags(parser: argparse.ArgumentParser) -> None:
    """Flags that describe one candidate SLO (instead of --slo FILE)."""
    group = parser.add_argument_group("candidate SLO (instead of --slo FILE)")
    group.add_argument(
        "--slo", metavar="FILE", help="SLO definitions: sloview, OpenSLO v1 or Sloth YAML"
    )
    group.add_argument("--name", default=None, help="SLO name (lower case, digits, dashes)")
    group.add_argument("--sli", choices=SLI_KINDS, default="latency", help="what is measured")
    group.add_argument(
        "--metric",
        choices=tuple(LATENCY_COLUMNS),
        default="latency_ms",
        help="latency column for a latency SLI (default latency_ms)",
    )
    group.add_argument(
        "--threshold-ms", type=float, metavar="T", help="latency threshold in ms (latency SLI)"
    )
    group.add_argument(
        "--min-rate", type=float, metavar="X", help="minimum rate per second (throughput SLI)"
    )
    group.add_argument(
        "--throughput-unit",
        choices=THROUGHPUT_UNITS,
        default="requests",
        help="what the throughput SLI counts (goodput: requests meeting every --condition)",
    )
    group.add_argument(
        "--condition",
        metavar="METRIC<=MS",
        action="append",
        default=[],
        type=flag(parse_condition),
        help="a condition of a joint SLI or of goodput, e.g. ttft_ms<=500 (also <, and s or "
        "ms after the number); repeatable: a request is good when it succeeded and meets all",
    )
    group.add_argument(
        "--op",
        choices=("lte", "lt", "gte", "gt"),
        default=None,
        help="comparison (lte for latency, gte for throughput by default)",
    )
    group.add_argument(
        "--percentile",
        type=float,
        metavar="P",
        help="judge each slice by this latency percentile (with Timeslices)",
    )
    group.add_argument(
        "--target",
        type=float,
        metavar="X",
        default=None,
        help="target share between 0 and 1, e.g. 0.995",
    )
    group.add_argument("--window", metavar="DURATION", help="rolling window, e.g. 28d (default)")
    group.add_argument("--calendar", choices=CALENDARS, help="calendar window instead of rolling")
    group.add_argument(
        "--window-tz",
        metavar="ZONE",
        help="timezone of calendar periods and day ends (default: --tz or UTC)",
    )
    group.add_argument(
        "--budgeting",
        choices=METHODS,
        default=None,
        help="Occurrences (default), Timeslices or RatioTimeslices",
    )
    group.add_argument("--slice", metavar="DURATION", help="slice length, e.g. 5m")
    group.add_argument(
        "--slice-target",
        type=float,
        metavar="X",
        help="share of good events that makes a slice good (Timeslices)",
    )
    group.add_argument(
        "--failed-requests",
        choices=("exclude", "bad"),
        default=None,
        help="latency SLIs: leave failed requests out (default) or count them bad; a joint "
        "SLI always counts them bad",
    )
    group.add_argument(
        "--min-events",
        type=int,
        default=0,
        metavar="N",
        help="slices with fewer events do not count (low-traffic rule)",
    )
    group.add_argument(
        "--empty-slices",
        choices=("skip", "good", "bad"),
        default="skip",
        help="how slices without enough events count (default: neither way)",
    )


def slos_from_args(args: argparse.Namespace) -> list[SLO]:
    """The SLOs to work on: from --slo FILE, or the one the objective flags describe."""
    if args.slo:
        return load_slo_file(args.slo)
    sli: dict[str, Any] = {"kind": args.sli}
    objective: dict[str, Any] = {}
    goodput = args.sli == "throughput" and args.throughput_unit == "goodput"
    if args.condition and not (args.sli == "joint" or goodput):
        raise SpecError(
            "--condition applies to --sli joint or --throughput-unit goodput",
            where="--condition",
            hint="e.g. --sli joint --condition ttft_ms<=500 --condition tpot_ms<=50",
        )
    if args.sli == "joint" or goodput:
        if not args.condition:
            raise SpecError(
                f"{'a joint SLO' if args.sli == 'joint' else 'goodput'} needs --condition",
                where="--condition",
                hint="e.g. --condition ttft_ms<=500 --condition tpot_ms<=50",
            )
        sli["conditions"] = [c.to_dict() for c in args.condition]
    if args.sli == "joint" and args.failed_requests == "exclude":
        raise SpecError(
            "a joint SLO always counts failed requests as bad",
            where="--failed-requests",
            hint="leave the flag out: a good request succeeded and met every condition",
        )
    if args.sli == "joint" and args.threshold_ms is not None:
        raise SpecError(
            "a joint SLO takes its thresholds from --condition, not --threshold-ms",
            where="--threshold-ms",
        )
    if args.sli == "latency":
        sli["metric"] = args.metric
        sli["failed_requests"] = args.failed_requests or "exclude"
        if args.percentile is not None:
            sli["percentile"] = args.percentile
        if args.threshold_ms is None:
            raise SpecError("a latency SLO needs --threshold-ms T", where="--threshold-ms")
        objective["threshold"] = args.threshold_ms
        objective["op"] = args.op or "lte"
    elif args.sli == "throughput":
        sli["unit"] = args.throughput_unit
        if args.min_rate is None:
            raise SpecError("a throughput SLO needs --min-rate X", where="--min-rate")
        objective["threshold"] = args.min_rate
        objective["op"] = args.op or "gte"
    objective["target"] = args.target if args.target is not None else default_target(args.sli)
    tz = args.window_tz or args.tz or "UTC"
    if args.calendar and args.window:
        raise SpecError("give either --window or --calendar, not both", where="--calendar")
    window: dict[str, Any] = (
        {"calendar": args.calendar} if args.calendar else {"rolling": args.window or "28d"}
    )
    window["tz"] = tz
    method = args.budgeting or (
        "Timeslices" if args.sli == "throughput" or args.percentile is not None else "Occurrences"
    )
    budgeting: dict[str, Any] = {"method": method}
    if method != "Occurrences":
        budgeting["slice"] = args.slice or "5m"
        if method == "Timeslices" and args.sli != "throughput" and args.percentile is None:
            budgeting["slice_target"] = (
                args.slice_target if args.slice_target is not None else objective["target"]
            )
        if args.min_events:
            budgeting["min_events"] = args.min_events
        budgeting["empty_slices"] = args.empty_slices
    elif args.slice or args.slice_target is not None or args.min_events:
        raise SpecError(
            "--slice, --slice-target and --min-events need --budgeting Timeslices "
            "or RatioTimeslices",
            where="--budgeting",
        )
    name = args.name or f"{args.sli}-slo"
    return [
        SLO.from_dict(
            {
                "name": name,
                "sli": sli,
                "objective": objective,
                "window": window,
                "budgeting": budgeting,
            }
        )
    ]
