"""The `sloview` command: the same functions as the app, for scripts and CI."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from sloview import __version__
from sloview.errors import SloviewError
from sloview.ingest import Mapping, RequestTable, load_requests
from sloview.ingest.mapping import parse_unit, parse_where
from sloview.summary import Summary, iso_utc, summarize
from sloview.units import format_ms

EXIT_OK = 0
EXIT_BAD_INPUT = 2


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad flag on one line (exit 2) instead of usage + error."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"sloview: error: {message} (see `{self.prog} --help`)\n")
        raise SystemExit(EXIT_BAD_INPUT)


def _flag(convert: Callable[[str], Any]) -> Callable[[str], Any]:
    """Wrap a parser so argparse reports its message as a bad flag value."""

    def parse(text: str) -> Any:
        try:
            return convert(text)
        except SloviewError as exc:
            raise argparse.ArgumentTypeError(
                exc.message + (f"; {exc.hint}" if exc.hint else "")
            ) from exc

    parse.__name__ = convert.__name__
    return parse


def _csv_list(text: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in text.split(",") if v.strip())


def add_mapping_flags(parser: argparse.ArgumentParser) -> None:
    """Flags that say which column holds what (all optional: detection fills the rest)."""
    group = parser.add_argument_group("column mapping (detected when not given)")
    group.add_argument("--timestamp", metavar="COL", help="column with the request time")
    group.add_argument("--latency", metavar="COL", help="column with the end-to-end latency")
    group.add_argument(
        "--latency-unit",
        metavar="s|ms|us|ns",
        type=_flag(parse_unit),
        help="unit of the latency column (default: from the name or magnitude)",
    )
    group.add_argument("--ttft", metavar="COL", help="column with the time to first token/byte")
    group.add_argument("--output-tokens", metavar="COL", help="column with output token counts")
    group.add_argument("--status", metavar="COL", help="column with the status/result")
    group.add_argument(
        "--good",
        metavar="V1,V2",
        type=_csv_list,
        default=(),
        help="status values that count as success",
    )
    group.add_argument(
        "--bad",
        metavar="V1,V2",
        type=_csv_list,
        default=(),
        help="status values that count as failure (with --good: others excluded)",
    )
    group.add_argument(
        "--rate-limited",
        choices=("good", "bad"),
        default="bad",
        help="whether HTTP 429 counts as good or bad (default: bad)",
    )
    group.add_argument(
        "--segment",
        metavar="COL",
        action="append",
        default=[],
        help="segment column (endpoint, model, region ...); repeatable",
    )
    group.add_argument(
        "--where",
        metavar="COL=VALUE",
        action="append",
        default=[],
        type=_flag(parse_where),
        help="keep only rows where COL equals VALUE; repeatable",
    )
    group.add_argument(
        "--tz", metavar="ZONE", help="timezone of naive timestamps (IANA name; default UTC)"
    )


def mapping_from_args(args: argparse.Namespace) -> Mapping:
    """The Mapping the mapping flags describe."""
    return Mapping(
        timestamp=args.timestamp,
        latency=args.latency,
        latency_unit=args.latency_unit,
        ttft=args.ttft,
        output_tokens=args.output_tokens,
        status=args.status,
        good=args.good,
        bad=args.bad,
        rate_limited_bad=args.rate_limited == "bad",
        segments=tuple(args.segment),
        where=tuple(args.where),
        tz=args.tz,
    )


def load_from_args(args: argparse.Namespace) -> RequestTable:
    """Load SOURCE with the mapping flags."""
    return load_requests(args.source, mapping_from_args(args))


def build_parser() -> argparse.ArgumentParser:
    """The full command-line interface."""
    parser = _Parser(prog="sloview", description=__doc__)
    parser.add_argument("--version", action="version", version=f"sloview {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    summary = sub.add_parser(
        "summarize",
        help="rows, errors, span and latency percentiles of a request file",
        description="Summarise a request file: valid rows, excluded rows by reason, time span, "
        "errors, and latency percentiles (linear) of successful requests.",
    )
    summary.add_argument("source", metavar="SOURCE", help="CSV/TSV, Parquet, JSON(L), JTL ...")
    add_mapping_flags(summary)
    summary.add_argument("--json", action="store_true", help="print one JSON object")
    summary.set_defaults(handler=_cmd_summarize)
    return parser


def _cmd_summarize(args: argparse.Namespace) -> int:
    table = load_from_args(args)
    result = summarize(table, tuple(args.segment))
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, allow_nan=False))
    else:
        print(render_summary(result))
    return EXIT_OK


def render_summary(summary: Summary) -> str:
    """The readable (non-JSON) form of a summary."""
    o = summary.overall
    lines = [
        f"Source       {summary.source} ({summary.source_format})",
        f"Requests     {o.rows:,} valid of {summary.rows_read:,} rows read",
    ]
    for reason, count in summary.dropped.items():
        lines.append(f"  excluded   {count:,}  {reason}")
    if summary.start is not None:
        lines.append(f"Span         {iso_utc(summary.start)} -> {iso_utc(summary.end)}")
    else:
        lines.append("Span         no timestamps (distribution summary only)")
    lines.append(f"Errors       {o.errors:,} ({_pct(o.error_rate)})")
    lines.append(f"Status       {summary.policy}")
    lines.append("")
    lines.append(_latency_table({"all requests": o}))
    for column, groups in summary.segments.items():
        lines.append("")
        lines.append(_latency_table(groups, title=column))
    if summary.notes:
        lines.append("")
        lines.extend(f"Note: {note}" for note in summary.notes)
    lines.append("")
    lines.append("Latency of successful requests; percentiles by linear interpolation.")
    return "\n".join(lines)


def _latency_table(groups: dict[str, Any], title: str = "") -> str:
    keys = ("p50", "p90", "p95", "p99", "p99.9")
    width = max([len(title), *(len(k) for k in groups)]) + 2
    header = f"{title:<{width}}{'requests':>10}{'errors':>9}" + "".join(f"{k:>10}" for k in keys)
    header += f"{'mean':>10}{'max':>10}"
    rows = [header]
    for name, g in groups.items():
        lat = g.latency
        cells = [lat.percentiles[k] for k in keys] + [lat.mean, lat.max]
        rows.append(
            f"{name:<{width}}{g.rows:>10,}{_pct(g.error_rate):>9}"
            + "".join(f"{format_ms(v):>10}" for v in cells)
        )
    return "\n".join(rows)


def _pct(x: float) -> str:
    return "n/a" if x != x else f"{100 * x:.2f}%"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; bad input exits 2 with one line on stderr, never a traceback."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except SloviewError as exc:
        sys.stderr.write(f"sloview: error: {exc.one_line()}\n")
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
