"""The stakeholder report: agreed SLOs, how they would have done, risks, provenance, sign-off.

Two steps, so that calculations never build HTML:

1. `report_inputs(table, engine, candidates, generated_at=...)` simulates every candidate
   and gathers provenance into a `ReportInputs` (agreed candidates are "the agreed SLOs",
   the others "alternatives considered").
2. `render_html(inputs)` (one self-contained, offline file with plotly.js embedded once),
   `render_markdown(inputs)` (for wikis and pull requests) or
   `render_pdf(render_html(inputs), title=...)` (headless Chromium, see `sloview.report.pdf`).

`build_report(...)` does both for one format. Renderers never read the clock or make ids:
the same inputs give the same bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from sloview.engine import Engine
from sloview.errors import SpecError
from sloview.ingest.table import RequestTable
from sloview.report.html import figure_ids, render_html
from sloview.report.inputs import (
    DEFAULT_TITLE,
    SIGN_OFF_ROLES,
    Provenance,
    ReportInputs,
    SLOFindings,
    report_inputs,
)
from sloview.report.markdown import render_markdown
from sloview.report.pdf import render_pdf
from sloview.session import Candidate
from sloview.sources.aggregates import Aggregates

ReportFormat = Literal["html", "md", "pdf"]
EXTENSIONS: dict[str, ReportFormat] = {".html": "html", ".htm": "html", ".md": "md", ".pdf": "pdf"}
MIME_TYPES: dict[ReportFormat, str] = {
    "html": "text/html",
    "md": "text/markdown",
    "pdf": "application/pdf",
}

__all__ = [
    "DEFAULT_TITLE",
    "EXTENSIONS",
    "MIME_TYPES",
    "SIGN_OFF_ROLES",
    "Provenance",
    "ReportFormat",
    "ReportInputs",
    "SLOFindings",
    "build_report",
    "figure_ids",
    "format_for_path",
    "render",
    "render_html",
    "render_markdown",
    "render_pdf",
    "report_inputs",
]


def format_for_path(path: str | Path) -> ReportFormat:
    """The report format a file name asks for (.html, .md or .pdf)."""
    suffix = Path(path).suffix.lower()
    fmt = EXTENSIONS.get(suffix)
    if fmt is None:
        raise SpecError(
            f"cannot write a report as {suffix or 'a file without an extension'}",
            where=str(path),
            hint="name the output .html, .md or .pdf",
        )
    return fmt


def render(inputs: ReportInputs, fmt: ReportFormat) -> bytes:
    """The report in one format, as bytes (UTF-8 for HTML and Markdown)."""
    if fmt == "md":
        return render_markdown(inputs).encode("utf-8")
    html = render_html(inputs)
    if fmt == "pdf":
        return render_pdf(html, title=inputs.title)
    return html.encode("utf-8")


def build_report(
    table: RequestTable | Aggregates,
    engine: Engine,
    candidates: Sequence[Candidate],
    *,
    generated_at: str,
    fmt: ReportFormat = "html",
    title: str = DEFAULT_TITLE,
    desired_share: float = 0.9,
    segment_columns: tuple[str, ...] = (),
) -> bytes:
    """Compute the report inputs and render them in one format."""
    inputs = report_inputs(
        table,
        engine,
        candidates,
        generated_at=generated_at,
        title=title,
        desired_share=desired_share,
        segment_columns=segment_columns,
    )
    return render(inputs, fmt)
