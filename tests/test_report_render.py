"""The stakeholder report: inputs, Markdown and HTML golden files, byte-stable output, escaping
of hostile text, and `sloview report` on the command line.

The HTML golden file has the plotly.js bundle replaced by a marker (it is 4.8 MB) and each
figure's JSON by its SHA-256 (a figure spec is up to 0.5 MB); the bundle is checked on its own
(embedded exactly once, byte for byte), and two full renders are compared byte for byte.
Set SLOVIEW_UPDATE_GOLDEN=1 to rewrite the golden files, then review the diff by eye.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import os
import re
import sys
from pathlib import Path

import pandas as pd
import pytest
from plotly.offline import get_plotlyjs_version

from sloview.cli import main
from sloview.engine import Engine
from sloview.errors import SloviewError, SpecError
from sloview.filters import Filters, apply_filters
from sloview.ingest import RequestTable, load_requests
from sloview.model import SLI, SLO, AlertWindow, Exclusion, Objective
from sloview.report import (
    ReportInputs,
    build_report,
    figure_ids,
    format_for_path,
    render_html,
    render_markdown,
    render_pdf,
    report_inputs,
)
from sloview.report.html import PLOTLY_BASIC
from sloview.report.markdown import md
from sloview.session import Candidate
from tests.conftest import SAMPLE

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("SLOVIEW_UPDATE_GOLDEN") == "1"
GENERATED_AT = "2026-10-20 09:00 UTC"

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
HOSTILE = (SCRIPT, IMG)

BUNDLE_RE = re.compile(r'(<script id="plotly-js">)(.*?)(</script>)', re.S)
FIGURE_RE = re.compile(r'^<script>sloviewPlot\(("[^"]+"), (.*)\);</script>$', re.M)


# -- shared inputs (also used by test_report_browser) -----------------------------------------


def sample_candidates() -> list[Candidate]:
    """Two agreed SLOs and one alternative on the bundled sample data."""
    chat = SLO.from_dict(
        {
            "name": "chat-latency",
            "service": "genai-api",
            "description": "Chat answers finish in time for a person waiting on them.",
            "sli": {"kind": "latency"},
            "objective": {"target": 0.95, "threshold": 20000},
            "segment": {"endpoint": "chat"},
        }
    )
    return [
        Candidate(
            slo=chat, note="p95 of chat is about 20 s today; 20 s leaves headroom.", agreed=True
        ),
        Candidate(
            slo=chat.with_changes(
                name="chat-latency-tight", objective=Objective(target=0.95, threshold=15000)
            ),
            note="Too tight: the regression week alone breaks it.",
        ),
        Candidate(
            slo=SLO.from_dict(
                {
                    "name": "availability",
                    "service": "genai-api",
                    "sli": {"kind": "availability"},
                    "objective": {"target": 0.995},
                }
            ),
            agreed=True,
        ),
    ]


def hostile_table(table: RequestTable) -> RequestTable:
    """The sample with hostile text in the source name, a segment value and a column name."""
    frame = table.frame.copy()
    frame["endpoint"] = frame["endpoint"].cat.rename_categories({"chat": SCRIPT})
    frame = frame.rename(columns={"region": IMG})
    segments = tuple(IMG if s == "region" else s for s in table.mapping.segments)
    mapping = dataclasses.replace(table.mapping, segments=segments)
    return dataclasses.replace(
        table, frame=frame, mapping=mapping, source_name=f"{SCRIPT}{IMG}.parquet"
    )


def hostile_candidates() -> list[Candidate]:
    """One agreed SLO and one alternative with hostile text in every free-text field."""
    slo = SLO(
        name="hostile",
        service=SCRIPT,
        description=f"{IMG} {SCRIPT}",
        sli=SLI(kind="latency"),
        objective=Objective(target=0.95, threshold=20000),
        segment=(("endpoint", SCRIPT),),
        alerts=(AlertWindow(severity=IMG, long_s=3600, short_s=300, burn_rate=14.4),),
        exclusions=(
            Exclusion(
                start=pd.Timestamp("2026-09-10T02:00Z"),
                end=pd.Timestamp("2026-09-10T03:00Z"),
                reason=SCRIPT,
            ),
        ),
    )
    return [
        Candidate(slo=slo, note=f"{IMG} | {SCRIPT}", agreed=True),
        Candidate(slo=slo.with_changes(name="hostile-alternative"), note=SCRIPT),
    ]


def hostile_inputs(table: RequestTable) -> ReportInputs:
    """Report inputs where every user-supplied string is an attack."""
    bad = hostile_table(table)
    return report_inputs(
        bad,
        Engine(bad),
        hostile_candidates(),
        generated_at=IMG,
        title=f"Report {SCRIPT}",
        segment_columns=("endpoint", IMG),
    )


def strip_bundle(html: str) -> str:
    """The HTML with the plotly.js bundle replaced by a marker."""
    return BUNDLE_RE.sub(r"\1/* plotly.js bundle from the plotly package */\3", html, count=1)


def normalise(html: str) -> str:
    """The HTML for the golden file: bundle marker, figure JSON replaced by its SHA-256."""

    def digest(match: re.Match[str]) -> str:
        sha = hashlib.sha256(match.group(2).encode()).hexdigest()
        return f"<script>sloviewPlot({match.group(1)}, /* figure sha256 {sha} */);</script>"

    return FIGURE_RE.sub(digest, strip_bundle(html))


def golden(name: str, text: str) -> str:
    path = GOLDEN / name
    if UPDATE:
        path.write_text(text, encoding="utf-8", newline="")
    assert path.is_file(), f"{path} is missing: run with SLOVIEW_UPDATE_GOLDEN=1 once"
    return path.read_text(encoding="utf-8")


# -- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def table() -> RequestTable:
    return load_requests(SAMPLE)


@pytest.fixture(scope="module")
def engine(table: RequestTable) -> Engine:
    return Engine(table)


@pytest.fixture(scope="module")
def inputs(table: RequestTable, engine: Engine) -> ReportInputs:
    return report_inputs(
        table, engine, sample_candidates(), generated_at=GENERATED_AT, segment_columns=("region",)
    )


@pytest.fixture(scope="module")
def html(inputs: ReportInputs) -> str:
    return render_html(inputs)


@pytest.fixture(scope="module")
def markdown(inputs: ReportInputs) -> str:
    return render_markdown(inputs)


@pytest.fixture(scope="module")
def hostile(table: RequestTable) -> ReportInputs:
    return hostile_inputs(table)


# -- inputs ----------------------------------------------------------------------------------


def test_agreed_candidates_are_the_slos_and_the_rest_are_alternatives(
    inputs: ReportInputs,
) -> None:
    assert [f.name for f in inputs.agreed] == ["chat-latency", "availability"]
    assert [f.name for f in inputs.alternatives] == ["chat-latency-tight"]
    assert [c.slo.name for c in inputs.candidates] == [
        "chat-latency",
        "chat-latency-tight",
        "availability",
    ]
    chat, availability = inputs.agreed
    # The tight alternative measures the same thing for the same requests; availability does not.
    assert [a.name for a in inputs.related(chat)] == ["chat-latency-tight"]
    assert inputs.related(availability) == ()
    # Agreed SLOs carry a recommendation; alternatives only their key figures.
    assert chat.recommendation is not None
    assert "20.0 s leaves" in chat.recommendation.rationale
    assert inputs.alternatives[0].recommendation is None


def test_verdicts_and_risks_follow_the_simulation(inputs: ReportInputs) -> None:
    chat, availability = inputs.agreed
    tight = inputs.alternatives[0]
    # 42 rolling periods, of which the 15 the data cover whole are judged.
    assert len(chat.simulation.periods) == 42
    assert chat.simulation.periods_met == chat.simulation.periods_judged == 15
    assert chat.verdict == "met-every-period"
    # Availability misses 1 of the 15 whole periods (the 5xx incident): still >= 90% met.
    assert availability.simulation.periods_met == 14
    assert availability.verdict == "met-most-periods"
    assert len(availability.missed_periods) == 1
    assert tight.verdict == "missed-too-often"
    for f in (chat, availability):
        sim = f.simulation
        assert set(f.caught_violations) | set(f.missed_violations) == set(sim.violations)
        assert all(v.alertable for v in sim.violations)
        assert all(a.violation is None for a in f.false_alerts)


def test_provenance_of_the_sample(inputs: ReportInputs) -> None:
    p = inputs.provenance
    assert (p.source_name, p.source_format) == ("genai_requests.parquet", "Parquet")
    assert (p.rows_read, p.rows, p.dropped_total) == (505_416, 505_416, 0)
    assert p.start is not None
    assert p.end is not None
    assert p.start >= pd.Timestamp("2026-09-07", tz="UTC")
    assert p.end < pd.Timestamp("2026-10-19", tz="UTC")
    assert ("request time", "timestamp", "the only column typed as date/time") in p.columns
    assert "5xx are bad" in p.status_policy
    assert "Hyndman-Fan type 7" in p.percentile_definition


def test_provenance_of_a_filtered_view_counts_the_rows_filtered_out(
    table: RequestTable,
) -> None:
    view = apply_filters(table, Filters(segments=(("endpoint", ("chat",)),)))
    slo = SLO(name="availability", sli=SLI(kind="availability"), objective=Objective(target=0.995))
    inputs = report_inputs(view, Engine(view), [Candidate(slo=slo)], generated_at=GENERATED_AT)
    p = inputs.provenance
    assert p.rows == 289_964
    assert p.filtered_out == 505_416 - 289_964
    assert any(n.startswith("Filtered to endpoint in {chat}") for n in p.notes)
    assert "- Rows outside the filters: 215,452" in render_markdown(inputs)


def test_a_report_needs_candidates(table: RequestTable, engine: Engine) -> None:
    with pytest.raises(SpecError, match="no candidate SLO"):
        report_inputs(table, engine, [], generated_at=GENERATED_AT)


def test_without_agreed_slos_the_report_is_a_draft(table: RequestTable, engine: Engine) -> None:
    not_agreed = [Candidate(slo=sample_candidates()[2].slo)]
    draft = report_inputs(table, engine, not_agreed, generated_at=GENERATED_AT)
    assert draft.agreed == ()
    assert len(draft.alternatives) == 1
    assert "this is a draft" in render_markdown(draft)
    html = render_html(draft)
    assert "this is a draft" in html
    assert figure_ids(draft) == ()
    assert 'class="js-plotly-plot' not in html
    assert 'sloviewPlot("' not in html


# -- Markdown --------------------------------------------------------------------------------


def test_markdown_matches_golden_file(markdown: str) -> None:
    assert markdown == golden("report_sample.md", markdown)


def test_markdown_holds_summary_figures_provenance_and_decisions(markdown: str) -> None:
    assert markdown.index("## Executive summary") < markdown.index("## 1. chat-latency")
    assert (
        "- **chat-latency** (Met in every period): 95% of chat requests complete within 20.0 s, "
        "measured over a rolling 28 days: met in all 15 complete periods of this history "
        "(95.54% overall)." in markdown
    )
    assert "**The risk that matters:**" in markdown
    assert "| chat-latency (genai-api) | 95.54% (95% CI 95.47% to 95.63%) | 15 of 15 | 7.6% |" in (
        markdown
    )
    assert "**Why this SLO.** In 90% of the complete periods" in markdown
    assert "## Appendix: the statistics behind each SLO" in markdown
    assert "At a 95% target the tightest threshold" in markdown  # in the appendix
    assert "## Alternatives considered" in markdown
    assert "chat-latency-tight" in markdown
    assert "- Source: genai\\_requests.parquet" in markdown
    assert "| chat-latency-tight | 95%, within 15.0 s | not agreed |" in markdown
    assert "| Product owner |  |  |  |" in markdown
    assert "<" not in markdown  # no raw HTML at all


def test_markdown_escapes_hostile_text(hostile: ReportInputs) -> None:
    text = render_markdown(hostile)
    for attack in HOSTILE:
        assert attack not in text
    assert "<" not in text
    assert ">" not in text.replace("\n> ", "\n")
    assert md(SCRIPT) == "&lt;script&gt;alert(1)&lt;/script&gt;"
    # A pipe in a note stays inside its table cell.
    row = next(line for line in text.splitlines() if line.startswith("| hostile | 95%"))
    assert row.count(" | ") == 3
    assert "\\|" in row


# -- HTML ------------------------------------------------------------------------------------


def test_html_matches_golden_file_without_the_plotly_bundle(html: str) -> None:
    text = normalise(html)
    assert len(text) < 200_000
    assert text == golden("report_sample.html", text)


def test_the_html_report_of_the_sample_stays_small(html: str) -> None:
    # plotly.js once (the basic bundle), every series decimated for display: a file people can
    # mail around.
    assert len(html.encode()) <= 1_500_000


def test_report_charts_use_only_what_the_basic_bundle_draws(inputs: ReportInputs) -> None:
    from sloview.report.html import BASIC_TRACES, figures_of

    for f in inputs.agreed:
        for _, _, chart, _ in figures_of(f):
            kinds = {trace.type for trace in chart(f.simulation).data}
            assert kinds <= BASIC_TRACES


def test_plotly_js_is_embedded_exactly_once_and_unchanged(html: str) -> None:
    bundle = PLOTLY_BASIC.read_text(encoding="utf-8")
    assert html.count(bundle) == 1
    assert html.count("plotly.js (basic - minified) v") == 1  # the bundle's licence header
    # The same plotly.js as the Python package's (the figures' JSON is its dialect).
    assert f"v{get_plotlyjs_version()}" in bundle[:200]
    match = BUNDLE_RE.search(html)
    assert match is not None
    assert match.group(2) == bundle


def test_figures_have_fixed_ids_and_no_plotly_js_of_their_own(
    inputs: ReportInputs, html: str
) -> None:
    ids = figure_ids(inputs)
    # Both SLOs had alerts firing, so both draw the alert chart; the burn rates are in the
    # appendix, after every SLO's section.
    assert ids == (
        *(f"slo-{i}-{k}" for i in (1, 2) for k in ("periods", "budget", "alerts")),
        "slo-1-burn",
        "slo-2-burn",
    )
    found = FIGURE_RE.findall(html)
    assert [json.loads(div) for div, _ in found] == list(ids)
    for div_id in ids:
        assert html.count(f'<div class="chart" id="{div_id}"') == 1
    for _, args in found:
        data, layout = json.loads(f"[{args}]")
        assert data
        assert layout["width"] == 680


def test_html_fetches_nothing(html: str) -> None:
    page = strip_bundle(html)
    assert "Content-Security-Policy" in page
    assert "default-src &#x27;none&#x27;" in page  # the attribute value, HTML-escaped
    for external in (" src=", "http://", "https://", "@import", "url(", "@font-face", "mathjax.js"):
        assert external not in page.lower()
    assert "MathJaxConfig: 'local'" in page


def test_only_the_reports_own_scripts_may_run(html: str) -> None:
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    assert policy is not None
    allowed = re.findall(r"sha256-([A-Za-z0-9+/=]+)", policy.group(1))
    scripts = re.findall(r"<script(?: id=\"plotly-js\")?>(.*?)</script>", html, re.S)
    assert len(scripts) == 3 + 8 + 1
    assert allowed == [
        base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() for s in scripts
    ]
    assert "unsafe-inline" not in policy.group(1).split("style-src")[0]


def test_html_holds_every_section(html: str) -> None:
    for text in (
        "<h2>Executive summary</h2>",
        "95% of chat requests complete within 20.0 s, measured over a rolling 28 days",
        "met in all 15 complete periods of this history (95.54% overall)",
        "<strong>The risk that matters:</strong>",
        "95.54% (95% CI 95.47% to 95.63%)",
        '<span class="verdict met-every-period">Met in every period</span>',
        "<strong>Why this SLO.</strong> In 90% of the complete periods, 95% of requests "
        "finished within 19.4 s; the chosen 20.0 s leaves 3% headroom.",
        "<h2>Appendix: the statistics behind each SLO</h2>",
        "<strong>Risks.</strong>",
        "<h2>Alternatives considered</h2>",
        "<h2>Data provenance</h2>",
        "<h2>Decision log</h2>",
        "<h3>Sign-off</h3>",
        "@media print",
        "break-inside: avoid",
    ):
        assert text in html, text
    assert html.count('<section class="slo-section"') == 2
    # The executive summary comes first; the statistics come after every SLO's section.
    assert html.index("Executive summary") < html.index('<section class="slo-section"')
    assert html.rindex('<section class="slo-section"') < html.index("<h2>Appendix: the statistics")


def test_no_empty_alert_chart(table: RequestTable, engine: Engine) -> None:
    quiet = SLO.from_dict(
        {
            "name": "embeddings-fast",
            "sli": {"kind": "latency"},
            "objective": {"target": 0.95, "threshold": 2000},
            "segment": {"endpoint": "embeddings"},
        }
    )
    inputs = report_inputs(
        table, engine, [Candidate(slo=quiet, agreed=True)], generated_at=GENERATED_AT
    )
    assert not inputs.agreed[0].simulation.firings
    page = render_html(inputs)
    assert 'id="slo-1-alerts"' not in page
    assert "No alert would have fired on this history" in page


def test_same_inputs_give_the_same_bytes(
    table: RequestTable, engine: Engine, inputs: ReportInputs, html: str, markdown: str
) -> None:
    again = report_inputs(
        table,
        Engine(table),
        sample_candidates(),
        generated_at=GENERATED_AT,
        segment_columns=("region",),
    )
    assert render_html(again) == html
    assert render_markdown(again) == markdown
    assert render_html(inputs) == html


def test_html_escapes_hostile_text(hostile: ReportInputs) -> None:
    html = strip_bundle(render_html(hostile))
    for attack in HOSTILE:
        assert attack not in html
    assert "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in html
    # Scripts: PlotlyConfig, the bundle, the plot helper, one per figure, and the final call.
    assert html.count("<script") == 3 + len(figure_ids(hostile)) + 1
    # Inside figure JSON the attack is \u-escaped, so it cannot close the script element.
    assert "\\u003cimg src=x onerror=alert(1)\\u003e" in html


# -- build_report, formats and the CLI -------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fmt"),
    [("r.html", "html"), ("R.HTM", "html"), ("out/r.md", "md"), ("r.pdf", "pdf")],
)
def test_the_extension_picks_the_format(name: str, fmt: str) -> None:
    assert format_for_path(name) == fmt


@pytest.mark.parametrize("name", ["r.txt", "report", "r.html.bak"])
def test_other_extensions_are_refused(name: str) -> None:
    with pytest.raises(SpecError, match=r"(?i)name the output \.html, \.md or \.pdf"):
        format_for_path(name)


def test_pdf_without_chromium_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLOVIEW_CHROMIUM", "/nonexistent/chromium")
    with pytest.raises(SloviewError, match=r"Chromium.*apt-get install chromium"):
        render_pdf("<html></html>")


def test_pdf_without_playwright_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "playwright.sync_api", None)
    with pytest.raises(SloviewError, match=r"playwright.*pip install playwright"):
        render_pdf("<html></html>")


def test_cli_writes_markdown_with_every_slo_agreed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], table: RequestTable, engine: Engine
) -> None:
    out = tmp_path / "report.md"
    code = main(
        [
            "report",
            str(SAMPLE),
            "--sli",
            "availability",
            "--target",
            "0.995",
            "--name",
            "availability",
            "-o",
            str(out),
            "--title",
            "Our SLOs",
            "--generated-at",
            GENERATED_AT,
        ]
    )
    stdout, stderr = capsys.readouterr()
    assert code == 0, stderr
    assert stdout.startswith(f"wrote {out}: 1 agreed SLO (Markdown, ")
    slo = SLO(name="availability", sli=SLI(kind="availability"), objective=Objective(target=0.995))
    expected = build_report(
        table,
        engine,
        [Candidate(slo=slo, agreed=True)],
        generated_at=GENERATED_AT,
        fmt="md",
        title="Our SLOs",
    )
    assert out.read_bytes() == expected
    assert "| availability | 99.5% succeed | agreed |" in out.read_text()


def test_cli_dates_the_report_from_source_date_epoch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1792486800")
    out = tmp_path / "report.md"
    code = main(["report", str(SAMPLE), "--sli", "availability", "-o", str(out)])
    _, stderr = capsys.readouterr()
    assert code == 0, stderr
    assert "Generated 2026-10-20 09:00 UTC from genai\\_requests.parquet" in out.read_text()


@pytest.mark.parametrize("name", ["report.txt", "report"])
def test_cli_refuses_a_bad_extension_on_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    out = tmp_path / name
    code = main(["report", str(SAMPLE), "--sli", "availability", "-o", str(out)])
    _, stderr = capsys.readouterr()
    assert code == 2
    assert stderr.count("\n") == 1
    assert stderr.startswith("sloview: error: ")
    assert "name the output .html, .md or .pdf" in stderr.lower()
    assert not out.exists()


def test_cli_pdf_without_chromium_exits_2_on_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLOVIEW_CHROMIUM", "/nonexistent/chromium")
    out = tmp_path / "r.pdf"
    code = main(["report", str(SAMPLE), "--sli", "availability", "-o", str(out)])
    _, stderr = capsys.readouterr()
    assert code == 2
    assert stderr.count("\n") == 1
    assert "apt-get install chromium" in stderr
    assert not out.exists()
