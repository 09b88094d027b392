"""The stakeholder report as one self-contained HTML file that works offline.

plotly.js (the bundle that ships inside the plotly Python package) is embedded once; every
figure is a JSON spec drawn by it, in a div with a fixed id (`slo-1-periods` ...). Nothing is
fetched from anywhere: no CDN, no web fonts, no MathJax, and a Content-Security-Policy that
forbids loading anything. All text that comes from users or data is HTML-escaped.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
from collections.abc import Iterable, Sequence
from html import escape
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
from plotly.io.json import to_json_plotly

from sloview import charts
from sloview.report import review as review_text
from sloview.report import text
from sloview.report.inputs import ReportInputs, SLOFindings, composite_figures
from sloview.report.style import (
    CHART_WIDTH_PX,
    CONTENT_SECURITY_POLICY,
    CSS,
    PLOTS_JS,
    REPORT_CHART_HEIGHT_PX,
)

# (suffix of the div id, heading, chart, explanation). An SLO's section draws what a
# stakeholder reads (periods, budget, and the alert chart only when an alert fired or a
# violation was found: an empty chart says nothing a sentence would not); the burn rates
# behind the alerts go to the appendix with the other statistics.
FIGURES = (
    ("periods", "Attainment per period", charts.period_attainment, text.explain_periods),
    ("budget", "Error budget burndown", charts.report_budget_burndown, text.explain_budget),
    ("alerts", "Alert backtest", charts.alert_timeline, text.explain_alerts),
)
APPENDIX_FIGURES = (
    ("burn", "Burn rate and alerts", charts.smoothed_burn_rates, text.explain_burn),
)


def figures_of(f: SLOFindings) -> tuple[tuple[str, str, Any, Any], ...]:
    """The charts an agreed SLO's section draws (no alert chart when nothing happened)."""
    sim = f.simulation
    eventful = bool(sim.firings or sim.violations)
    return tuple(fig for fig in FIGURES if fig[0] != "alerts" or eventful)


def esc(value: object) -> str:
    """Text made safe for HTML content and attribute values."""
    return escape(str(value), quote=True)


VENDOR = Path(__file__).resolve().parent / "vendor"
PLOTLY_BASIC = VENDOR / "plotly-basic.min.js"
# Trace types the basic bundle draws: a report chart may use no other.
BASIC_TRACES = frozenset({"scatter", "bar", "pie"})


@functools.cache
def plotly_bundle() -> str:
    """plotly.js, basic bundle (see vendor/README.md), safe inside a script element."""
    # The bundle holds no `</script`; the replacement keeps it that way in any future version.
    return PLOTLY_BASIC.read_text(encoding="utf-8").replace("</script", "<\\/script")


def render_html(inputs: ReportInputs) -> str:
    """The whole report as one HTML document (same inputs, same bytes)."""
    # The scripts the body runs are collected as they are written (never found by searching
    # the page), so the policy below can allow exactly these and nothing else.
    body_scripts: list[str] = []
    review = _review(inputs, body_scripts) if inputs.review else ""
    sections = [
        _slo_section(inputs, f, i, body_scripts) for i, f in enumerate(inputs.agreed, start=1)
    ]
    statistics = _statistics(inputs, body_scripts)
    body_scripts.append("sloviewDone();")
    body = "\n".join(
        part
        for part in [
            _header(inputs),
            review,
            _summary(inputs),
            _contents(inputs),
            *sections,
            _composites(inputs),
            statistics,
            _alternatives(inputs),
            _provenance(inputs),
            _decisions(inputs),
            f"<footer><p>{esc(text.headline(inputs))}</p></footer>",
            f"<script>{body_scripts[-1]}</script>",
        ]
        if part
    )
    # The first keeps plotly.js from looking for MathJax on a CDN.
    head_scripts = ("window.PlotlyConfig = {MathJaxConfig: 'local'};", plotly_bundle(), PLOTS_JS)
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta http-equiv="Content-Security-Policy" '
            f'content="{esc(content_security_policy((*head_scripts, *body_scripts)))}">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{esc(inputs.title)}</title>",
            f"<style>{CSS}</style>",
            f"<script>{head_scripts[0]}</script>",
            f'<script id="plotly-js">{head_scripts[1]}</script>',
            f"<script>{head_scripts[2]}</script>",
            "</head>",
            "<body>",
            body,
            "</body>",
            "</html>",
            "",
        ]
    )


def content_security_policy(scripts: Iterable[str]) -> str:
    """A policy that loads nothing from anywhere and runs only these exact scripts."""
    # Hashes instead of 'unsafe-inline': even text that escaped the escaping could neither
    # run a script nor an inline event handler (onerror=...).
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(s.encode('utf-8')).digest()).decode()}'"
        for s in scripts
    )
    return CONTENT_SECURITY_POLICY.format(script_hashes=hashes)


def figure_ids(inputs: ReportInputs) -> tuple[str, ...]:
    """The div ids of every chart in the report, in order."""
    main = tuple(
        f"slo-{i}-{key}" for i, f in enumerate(inputs.agreed, start=1) for key, *_ in figures_of(f)
    )
    appendix = tuple(
        f"slo-{i}-{key}" for i in range(1, len(inputs.agreed) + 1) for key, *_ in APPENDIX_FIGURES
    )
    review = (
        tuple(f"review-{i}-trend" for i in range(1, len(inputs.review.reviews) + 1))
        if inputs.review
        else ()
    )
    return review + main + appendix


# -- building blocks -------------------------------------------------------------------------


def _table(
    headers: Sequence[str], rows: Iterable[Sequence[str]], numeric: Sequence[int] = ()
) -> str:
    """A table of plain-text cells (escaped here); `numeric` columns align right."""

    def cls(i: int) -> str:
        return ' class="num"' if i in numeric else ""

    head = "".join(f"<th{cls(i)}>{esc(h)}</th>" for i, h in enumerate(headers))
    lines = [f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>"]
    for row in rows:
        cells = "".join(f"<td{cls(i)}>{esc(c)}</td>" for i, c in enumerate(row))
        lines.append(f"<tr>{cells}</tr>")
    lines.append("</tbody>\n</table>")
    return "\n".join(lines)


def _figures_dl(pairs: Iterable[tuple[str, str]]) -> str:
    items = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in pairs)
    return f'<dl class="figures">{items}</dl>'


def _verdict(f: SLOFindings) -> str:
    return f'<span class="verdict {esc(f.verdict)}">{esc(text.verdict(f))}</span>'


def _figure(div_id: str, fig: go.Figure, scripts: list[str]) -> str:
    """A chart div and the script that draws it (fixed width, so print matches screen)."""
    # The section's heading and paragraph say what the chart title says (the long titles
    # were cut off at print width); the freed space goes to the plot.
    legend = bool(fig.layout.showlegend is not False and len(fig.data) > 1)
    fig.update_layout(
        width=CHART_WIDTH_PX,
        height=REPORT_CHART_HEIGHT_PX + (30 if legend else 0),
        autosize=False,
        title_text="",
        margin_t=40 if legend else 16,
        legend_y=1.0,
    )
    spec = fig.to_dict()
    kinds = {trace.get("type", "scatter") for trace in spec.get("data", [])}
    if not kinds <= BASIC_TRACES:
        raise ValueError(f"the report's plotly bundle cannot draw {sorted(kinds - BASIC_TRACES)}")
    # The `json` engine is pinned: plotly's default switches to orjson when it is installed,
    # which formats numbers differently and would change the bytes of the report.
    data = to_json_plotly(spec.get("data", []), engine="json")
    layout = to_json_plotly(spec.get("layout", {}), engine="json")
    height = int(spec.get("layout", {}).get("height") or 380)
    script = f"sloviewPlot({json.dumps(div_id)}, {data}, {layout});"
    scripts.append(script)
    return (
        f'<div class="chart" id="{esc(div_id)}" style="height:{height}px"></div>\n'
        f"<script>{script}</script>"
    )


# -- sections --------------------------------------------------------------------------------


def _header(inputs: ReportInputs) -> str:
    return (
        f"<header>\n<h1>{esc(inputs.title)}</h1>\n"
        f'<p class="meta">{esc(text.headline(inputs))}</p>\n</header>'
    )


def _contents(inputs: ReportInputs) -> str:
    items = ['<li><a href="#review">Review</a></li>'] if inputs.review else []
    items += [
        f'<li><a href="#slo-{i}">{esc(f.name)}</a></li>'
        for i, f in enumerate(inputs.agreed, start=1)
    ]
    if inputs.composites:
        items.append('<li><a href="#composites">Composite SLOs</a></li>')
    items += [
        '<li><a href="#statistics">Appendix: the statistics behind each SLO</a></li>',
        '<li><a href="#alternatives">Alternatives considered</a></li>',
        '<li><a href="#provenance">Data provenance</a></li>',
        '<li><a href="#decisions">Decision log and sign-off</a></li>',
    ]
    return f'<nav class="contents">\n<ol>\n{chr(10).join(items)}\n</ol>\n</nav>'


def _review(inputs: ReportInputs, scripts: list[str]) -> str:
    """The review section: this period's verdicts, each SLO's trend, suggestion and history."""
    section = inputs.review
    assert section is not None
    parts = [
        '<section id="review">',
        "<h2>Review</h2>",
        f"<p>{esc(review_text.period_sentence(section))} "
        f"{esc(review_text.recorded_sentence(section))}</p>",
        _table(
            review_text.VERDICT_HEADERS,
            (review_text.verdict_row(f.review) for f in section.reviews),
            numeric=(2, 3, 5),
        ),
    ]
    for i, f in enumerate(section.reviews, start=1):
        r = f.review
        parts += [
            f'<div class="review-slo" id="review-{i}">',
            f"<h3>{esc(r.agreed.name)} (version {r.agreed.version})</h3>",
            f'<p class="statement">{esc(r.simulation.statement)}</p>',
            f"<p>{esc(review_text.figures_sentence(r))}</p>",
            f"<p><strong>Suggestion.</strong> {esc(review_text.suggestion_sentence(r))}</p>",
            f'<div class="figure">\n<h4>Attainment per review</h4>\n'
            f"<p>{esc(review_text.trend_sentence(r))}</p>\n"
            f"{_figure(f'review-{i}-trend', charts.review_trend(r.trend()), scripts)}\n</div>",
            "<h4>Versions agreed</h4>",
            _table(review_text.HISTORY_HEADERS, review_text.history_rows(f)),
        ]
        parts += [f'<p class="warning">{esc(w)}</p>' for w in r.simulation.warnings]
        parts.append("</div>")
    parts.append("</section>")
    return "\n".join(parts)


def _summary(inputs: ReportInputs) -> str:
    parts = ['<section id="summary">', "<h2>Executive summary</h2>"]
    if not inputs.agreed:
        parts.append(f'<p class="draft">{esc(text.no_agreed())}</p>')
        parts.append("</section>")
        return "\n".join(parts)
    items = "".join(
        f'<li><a href="#slo-{i}"><strong>{esc(f.name)}</strong></a> {_verdict(f)}<br>'
        f"{esc(text.executive_sentence(f))}</li>"
        for i, f in enumerate(inputs.agreed, start=1)
    )
    parts.append(f'<ul class="agreed">{items}</ul>')
    parts.extend(
        f'<p class="warning"><strong>Warning.</strong> {esc(w)}</p>'
        for w in text.summary_warnings(inputs)
    )
    parts.append(
        f'<p class="risk"><strong>The risk that matters:</strong> {esc(text.top_risk(inputs))}</p>'
    )
    head = (
        '<thead><tr><th>SLO</th><th>Attainment</th><th class="num">Periods met'
        '</th><th class="num">Budget left</th><th>Verdict</th></tr></thead>'
    )
    rows = []
    for i, f in enumerate(inputs.agreed, start=1):
        sim = f.simulation
        service = f.candidate.slo.service
        who = f' <span class="muted">({esc(service)})</span>' if service else ""
        rows.append(
            f'<tr><td><a href="#slo-{i}"><strong>{esc(f.name)}</strong></a>{who}</td>'
            f"<td>{esc(text.attainment(sim.overall, sim.slo.objective.target))}</td>"
            f'<td class="num">{esc(text.periods_met(sim))}</td>'
            f'<td class="num">{esc(text.budget_left(sim))}</td>'
            f"<td>{_verdict(f)}</td></tr>"
        )
    parts.append(f"<table>\n{head}\n<tbody>\n{chr(10).join(rows)}\n</tbody>\n</table>")
    parts.append(
        '<p class="caption">Attainment is the share of requests (or time slices) that met the '
        "objective over the whole history, with its 95% confidence interval; periods met counts "
        "complete periods only; budget left is for the latest whole period. The statistics "
        "behind each figure are in the appendix.</p>"
    )
    parts.append("</section>")
    return "\n".join(parts)


def _slo_section(inputs: ReportInputs, f: SLOFindings, i: int, scripts: list[str]) -> str:
    sim = f.simulation
    slo = sim.slo
    parts = [
        f'<section class="slo-section" id="slo-{i}">',
        f"<h2>{i}. {esc(f.name)}</h2>",
        f'<p class="statement">{esc(sim.statement)}</p>',
    ]
    if slo.description:
        parts.append(f"<p>{esc(slo.description)}</p>")
    parts.append(_figures_dl(text.slo_figure_pairs(f)))
    parts.append(f"<p><strong>Why this SLO.</strong> {esc(text.why(f))}</p>")
    if f.candidate.note:
        parts.append(
            f'<p class="note"><strong>Note from the room:</strong> {esc(f.candidate.note)}</p>'
        )
    for key, heading, chart, explain in figures_of(f):
        div_id = f"slo-{i}-{key}"
        parts.append(
            f'<div class="figure">\n<h3>{esc(heading)}</h3>\n<p>{esc(explain(f))}</p>\n'
            f"{_figure(div_id, chart(sim), scripts)}\n</div>"
        )
    if not (sim.firings or sim.violations):
        parts.append(f"<p><strong>Alerts.</strong> {esc(text.quiet_alerts(f))}</p>")
    parts.append("</section>")
    return "\n".join(parts)


def _statistics(inputs: ReportInputs, scripts: list[str]) -> str:
    """The appendix: for each agreed SLO the full rationale with its intervals, the
    comparison with alternatives, the alert rules, the risks, segments and notes."""
    parts = [
        '<section class="appendix" id="statistics">',
        "<h2>Appendix: the statistics behind each SLO</h2>",
    ]
    for i, f in enumerate(inputs.agreed, start=1):
        sim = f.simulation
        parts.append(f'<h3 id="statistics-{i}">{i}. {esc(f.name)}</h3>')
        rationale = text.recommendation(f)
        if rationale:
            parts.append(f"<p>{esc(rationale)}</p>")
        related = inputs.related(f)
        if related:
            parts.append("<p>Compared with the alternatives considered for the same measure:</p>")
            parts.append(_key_figures_table((f, *related)))
        parts.append(f"<p><strong>Risks.</strong> {esc(text.risk_summary(f))}</p>")
        for key, heading, chart, explain in APPENDIX_FIGURES:
            parts.append(
                f'<div class="figure">\n<h4>{esc(heading)}</h4>\n<p>{esc(explain(f))}</p>\n'
                f"{_figure(f'slo-{i}-{key}', chart(sim), scripts)}\n</div>"
            )
        for table in text.appendix_tables(f):
            parts.append(f"<p>{esc(table.caption)}</p>")
            parts.append(_table(table.headers, table.rows, table.numeric))
        if sim.notes:
            parts.append("<ul>" + "".join(f"<li>{esc(n)}</li>" for n in sim.notes) + "</ul>")
    parts.append("<h3>How to read this report</h3>")
    slos = [f.candidate.slo for f in (*inputs.agreed, *inputs.alternatives)]
    glossary = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in text.glossary(slos))
    parts.append(f'<dl class="glossary">{glossary}</dl>')
    parts.append("</section>")
    return "\n".join(parts)


def _key_figures_table(items: Sequence[SLOFindings]) -> str:
    return _table(text.KEY_FIGURE_HEADERS, text.key_figure_rows(items), numeric=(3, 4, 5))


def _composites(inputs: ReportInputs) -> str:
    """Composite SLOs: each with its key figures (empty when there are none)."""
    if not inputs.composites:
        return ""
    parts = ['<section id="composites">', "<h2>Composite SLOs</h2>"]
    parts.append(
        "<p>A composite's error budget burns at the weighted sum of its objectives' burn rates, "
        "as OpenSLO v1 defines composite SLOs; a period is met while that stays within the "
        "budget.</p>"
    )
    for sim in inputs.composites:
        parts.append(f"<h3>{esc(sim.composite.name)}</h3>")
        parts.append(_figures_dl(composite_figures(sim)))
    parts.append("</section>")
    return "\n".join(parts)


def _alternatives(inputs: ReportInputs) -> str:
    parts = ['<section class="appendix" id="alternatives">', "<h2>Alternatives considered</h2>"]
    if not inputs.alternatives:
        parts.append("<p>No other candidate was shortlisted.</p>")
    else:
        parts.append(
            "<p>Candidates the room shortlisted but did not agree on, with how each would have "
            "done on the same history.</p>"
        )
        parts.append(_key_figures_table(inputs.alternatives))
        for f in inputs.alternatives:
            note = f" Note: {f.candidate.note}" if f.candidate.note else ""
            parts.append(
                f"<p><strong>{esc(f.name)}</strong>: {esc(f.simulation.statement)}{esc(note)}</p>"
            )
    parts.append("</section>")
    return "\n".join(parts)


def _provenance(inputs: ReportInputs) -> str:
    p = inputs.provenance
    parts = [
        '<section class="appendix" id="provenance">',
        "<h2>Data provenance</h2>",
        _figures_dl(text.provenance_pairs(p)),
    ]
    if p.dropped:
        parts.append("<h3>Rows left out, by reason</h3>")
        parts.append(
            _table(("reason", "rows"), ((r, text.count(n)) for r, n in p.dropped), numeric=(1,))
        )
    parts.append("<h3>Columns used</h3>")
    parts.append(_table(("meaning", "column", "why this column"), p.columns))
    if p.filters:
        parts.append(
            "<p>Only rows where "
            + esc(" and ".join(f"{c} = {v}" for c, v in p.filters))
            + " were used.</p>"
        )
    slos = [f.candidate.slo for f in (*inputs.agreed, *inputs.alternatives)]
    parts.append("<h3>Rules</h3>")
    rules = [
        ("Status policy", p.status_policy),
        ("Percentiles", p.percentile_definition),
    ]
    rules += [(f"Failed requests ({s.name})", text.failed_policy(s)) for s in slos]
    rules += [
        (f"Quiet slices ({s.name})", text.slice_policy(s)) for s in slos if text.slice_policy(s)
    ]
    parts.append(_figures_dl(rules))
    excluded = [(s.name, e) for s in slos for e in s.exclusions]
    if excluded:
        parts.append("<h3>Time ranges that do not count</h3>")
        parts.append(
            _table(
                ("SLO", "from", "to", "reason"),
                ((n, text.when(e.start), text.when(e.end), e.reason) for n, e in excluded),
            )
        )
    parts.append("<h3>Assumptions and notes</h3>")
    notes = [*p.notes, *text.ASSUMPTIONS]
    parts.append("<ul>" + "".join(f"<li>{esc(n)}</li>" for n in notes) + "</ul>")
    parts.append("</section>")
    return "\n".join(parts)


def _decisions(inputs: ReportInputs) -> str:
    rows = [
        (c.slo.name, text.objective(c.slo), "agreed" if c.agreed else "not agreed", c.note)
        for c in inputs.candidates
    ]
    sign = "".join(
        f"<tr><td>{esc(role)}</td><td></td><td></td><td></td></tr>"
        for role in inputs.sign_off_roles
    )
    return "\n".join(
        [
            '<section class="appendix" id="decisions">',
            "<h2>Decision log</h2>",
            "<p>Every candidate the room shortlisted, in the order it was added.</p>",
            _table(("SLO", "objective", "decision", "note"), rows),
            "<h3>Sign-off</h3>",
            "<p>By signing, each role agrees to the SLOs marked agreed above.</p>",
            '<table class="signature">\n<thead><tr><th>Role</th><th>Name</th><th>Date</th>'
            f"<th>Signature</th></tr></thead>\n<tbody>{sign}</tbody>\n</table>",
            "</section>",
        ]
    )
