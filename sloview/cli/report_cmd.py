"""`sloview report`: the stakeholder report (HTML, Markdown or PDF)."""

from __future__ import annotations

import argparse
from typing import Any

from sloview.cli.base import EXIT_OK, SOURCE_HELP, now_text, share
from sloview.cli.data_flags import add_mapping_flags, add_reading_flags
from sloview.cli.simulate_cmd import engine_and_slos
from sloview.cli.slo_flags import add_objective_flags
from sloview.composite_slo import CompositeSLO
from sloview.errors import SpecError
from sloview.session import Candidate
from sloview.specfile import flatten


def register(sub: Any) -> None:
    """Add this command to the `sloview` parser."""
    report = sub.add_parser(
        "report",
        help="the stakeholder report of agreed SLOs (HTML, Markdown or PDF)",
        description="Write the stakeholder report: every SLO given (all count as agreed) with "
        "its attainment and 95% CI, periods met, budget left, charts of history, burn rates "
        "and the alert backtest, the recommendation's rationale, risks, data provenance and a "
        "sign-off table. The output's extension picks the format: .html (one self-contained "
        "file that works offline), .md (for wikis and pull requests) or .pdf (printed by "
        "headless Chromium: needs `apt-get install chromium` and `pip install playwright`).",
    )
    report.add_argument("source", metavar="SOURCE", help=SOURCE_HELP)
    add_mapping_flags(report)
    add_reading_flags(report)
    add_objective_flags(report)
    report.add_argument(
        "-o", "--output", metavar="FILE", required=True, help="FILE.html, FILE.md or FILE.pdf"
    )
    report.add_argument("--title", metavar="TEXT", help="report title")
    report.add_argument(
        "--desired-share",
        type=share,
        default=0.9,
        metavar="X",
        help="share of periods the recommendation must meet (default 0.9)",
    )
    report.add_argument(
        "--generated-at",
        metavar="TEXT",
        help="the generation time printed in the report (default: now, or SOURCE_DATE_EPOCH)",
    )
    report.set_defaults(handler=_cmd_report)


def _cmd_report(args: argparse.Namespace) -> int:
    # Imported here: the report pulls in plotly, which the other commands do not need.
    from sloview.report import DEFAULT_TITLE, format_for_path, render, report_inputs
    from sloview.report.pdf import check_pdf_renderer

    # A bad extension or a missing PDF renderer fails before the data are read.
    fmt = format_for_path(args.output)
    if fmt == "pdf":
        check_pdf_renderer()
    engine, slos, loaded = engine_and_slos(args)
    # The loaded data (rows or aggregates) give the provenance section.
    inputs = report_inputs(
        loaded,
        engine,
        [Candidate(slo=slo, agreed=True) for slo in flatten(slos)],
        generated_at=args.generated_at or now_text(),
        title=args.title or DEFAULT_TITLE,
        desired_share=args.desired_share,
        segment_columns=tuple(args.segment),
        composites=[s for s in slos if isinstance(s, CompositeSLO)],
    )
    data = render(inputs, fmt)
    try:
        with open(args.output, "wb") as out:
            out.write(data)
    except OSError as exc:
        raise SpecError(exc.strerror or "cannot be written", where=args.output) from None
    kind = {"html": "HTML", "md": "Markdown", "pdf": "PDF"}[fmt]
    print(
        f"wrote {args.output}: {len(slos)} agreed SLO{'s' if len(slos) != 1 else ''} "
        f"({kind}, {len(data):,} bytes)"
    )
    return EXIT_OK
