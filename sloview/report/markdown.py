"""The stakeholder report as Markdown, for wikis and pull requests (no images).

It holds the same summary table, key figures, rationale, risks, provenance and decision log as
the HTML report. Text from users or data is escaped so that it renders as typed: Markdown
syntax, table pipes and HTML tags in a service name or note stay literal.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sloview.report import review as review_text
from sloview.report import text
from sloview.report.inputs import ReportInputs, SLOFindings, composite_figures

# Characters that would start Markdown syntax (emphasis, code, links, tables) or raw HTML.
_ESCAPES = {
    "\\": "\\\\",
    "`": "\\`",
    "*": "\\*",
    "_": "\\_",
    "[": "\\[",
    "]": "\\]",
    "|": "\\|",
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
}


def md(value: object) -> str:
    """Text made literal in Markdown (one line: line breaks become spaces)."""
    flat = " ".join(str(value).split())
    return "".join(_ESCAPES.get(ch, ch) for ch in flat)


def render_markdown(inputs: ReportInputs) -> str:
    """The report as Markdown text (same inputs, same bytes)."""
    blocks = [
        f"# {md(inputs.title)}",
        md(text.headline(inputs)),
        _review(inputs),
        _summary(inputs),
        *(_slo(f, i) for i, f in enumerate(inputs.agreed, start=1)),
        _composites(inputs),
        _statistics(inputs),
        _alternatives(inputs),
        _provenance(inputs),
        _decisions(inputs),
    ]
    return "\n\n".join(b for b in blocks if b) + "\n"


def _table(
    headers: Sequence[str], rows: Iterable[Sequence[str]], numeric: Sequence[int] = ()
) -> str:
    """A Markdown table of plain-text cells (escaped here); `numeric` columns align right."""
    lines = [
        "| " + " | ".join(md(h) for h in headers) + " |",
        "|" + "|".join("---:" if i in numeric else "---" for i in range(len(headers))) + "|",
    ]
    lines += ["| " + " | ".join(md(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _bullets(pairs: Iterable[tuple[str, str]]) -> str:
    return "\n".join(f"- {md(k)}: {md(v)}" for k, v in pairs)


def _review(inputs: ReportInputs) -> str:
    """The review section (no chart: the trend as a table)."""
    section = inputs.review
    if section is None:
        return ""
    blocks = [
        "## Review",
        md(f"{review_text.period_sentence(section)} {review_text.recorded_sentence(section)}"),
        _table(
            review_text.VERDICT_HEADERS,
            (review_text.verdict_row(f.review) for f in section.reviews),
            numeric=(2, 3, 5),
        ),
    ]
    for f in section.reviews:
        r = f.review
        blocks += [
            f"### {md(r.agreed.name)} (version {r.agreed.version})",
            md(r.simulation.statement),
            md(review_text.figures_sentence(r)),
            f"**Suggestion.** {md(review_text.suggestion_sentence(r))}",
            "**Attainment per review**",
            _table(review_text.TREND_HEADERS, review_text.trend_rows(r), numeric=(2, 3)),
            "**Versions agreed**",
            _table(review_text.HISTORY_HEADERS, review_text.history_rows(f)),
            *(f"> {md(w)}" for w in r.simulation.warnings),
        ]
    return "\n\n".join(blocks)


def _summary(inputs: ReportInputs) -> str:
    parts = ["## Executive summary"]
    if not inputs.agreed:
        parts.append(f"> {md(text.no_agreed())}")
        return "\n\n".join(parts)
    parts.append(
        "\n".join(
            f"- **{md(f.name)}** ({md(text.verdict(f))}): {md(text.executive_sentence(f))}"
            for f in inputs.agreed
        )
    )
    parts.extend(f"> **Warning.** {md(w)}" for w in text.summary_warnings(inputs))
    parts.append(f"**The risk that matters:** {md(text.top_risk(inputs))}")
    rows = [
        (
            f.name + (f" ({f.candidate.slo.service})" if f.candidate.slo.service else ""),
            text.attainment(f.simulation.overall, f.candidate.slo.objective.target),
            text.periods_met(f.simulation),
            text.budget_left(f.simulation),
            text.verdict(f),
        )
        for f in inputs.agreed
    ]
    parts.append(
        _table(("SLO", "Attainment", "Periods met", "Budget left", "Verdict"), rows, (2, 3))
    )
    parts.append(
        "Attainment is the share of requests (or time slices) that met the objective over the "
        "whole history, with its 95% confidence interval; periods met counts complete periods "
        "only; budget left is for the latest whole period (below 0% means overspent). The "
        "statistics behind each figure are in the appendix."
    )
    return "\n\n".join(parts)


def _slo(f: SLOFindings, i: int) -> str:
    sim = f.simulation
    slo = sim.slo
    parts = [f"## {i}. {md(f.name)}", f"**Promise:** {md(sim.statement)}"]
    if slo.description:
        parts.append(md(slo.description))
    parts.append(_bullets(text.slo_figure_pairs(f)))
    parts.append(f"**Why this SLO.** {md(text.why(f))}")
    if f.candidate.note:
        parts.append(f"> **Note from the room:** {md(f.candidate.note)}")
    if not (sim.firings or sim.violations):
        parts.append(f"**Alerts.** {md(text.quiet_alerts(f))}")
    return "\n\n".join(parts)


def _statistics(inputs: ReportInputs) -> str:
    if not inputs.agreed:
        return ""
    parts = ["## Appendix: the statistics behind each SLO"]
    for i, f in enumerate(inputs.agreed, start=1):
        sim = f.simulation
        parts.append(f"### {i}. {md(f.name)}")
        rationale = text.recommendation(f)
        if rationale:
            parts.append(md(rationale))
        related = inputs.related(f)
        if related:
            parts.append("Compared with the alternatives considered for the same measure:")
            parts.append(_key_figures((f, *related)))
        parts.append(f"**Risks.** {md(text.risk_summary(f))}")
        for table in text.appendix_tables(f):
            parts.append(md(table.caption))
            parts.append(_table(table.headers, table.rows, table.numeric))
        if sim.notes:
            parts.append("\n".join(f"- {md(n)}" for n in sim.notes))
    slos = [f.candidate.slo for f in (*inputs.agreed, *inputs.alternatives)]
    parts.append("### How to read this report")
    parts.append(_bullets(text.glossary(slos)))
    return "\n\n".join(parts)


def _key_figures(items: Sequence[SLOFindings]) -> str:
    return _table(text.KEY_FIGURE_HEADERS, text.key_figure_rows(items), numeric=(3, 4, 5))


def _composites(inputs: ReportInputs) -> str:
    """Composite SLOs with their key figures (nothing when there are none)."""
    if not inputs.composites:
        return ""
    parts = [
        "## Composite SLOs",
        "A composite's error budget burns at the weighted sum of its objectives' burn rates, "
        "as OpenSLO v1 defines composite SLOs; a period is met while that stays within the "
        "budget.",
    ]
    for sim in inputs.composites:
        parts.append(f"### {md(sim.composite.name)}")
        parts.append(_bullets(composite_figures(sim)))
    return "\n\n".join(parts)


def _alternatives(inputs: ReportInputs) -> str:
    parts = ["## Alternatives considered"]
    if not inputs.alternatives:
        parts.append("No other candidate was shortlisted.")
        return "\n\n".join(parts)
    parts.append(_key_figures(inputs.alternatives))
    parts.append(
        "\n".join(
            f"- **{md(f.name)}**: {md(f.simulation.statement)}"
            + (f" Note: {md(f.candidate.note)}" if f.candidate.note else "")
            for f in inputs.alternatives
        )
    )
    return "\n\n".join(parts)


def _provenance(inputs: ReportInputs) -> str:
    p = inputs.provenance
    parts = [
        "## Data provenance",
        _bullets(text.provenance_pairs(p)),
    ]
    if p.dropped:
        parts.append(
            _table(
                ("row left out because", "rows"), ((r, text.count(n)) for r, n in p.dropped), (1,)
            )
        )
    parts.append(_table(("meaning", "column", "why this column"), p.columns))
    if p.filters:
        parts.append(
            "Only rows where "
            + md(" and ".join(f"{c} = {v}" for c, v in p.filters))
            + " were used."
        )
    slos = [f.candidate.slo for f in (*inputs.agreed, *inputs.alternatives)]
    rules = [("Status policy", p.status_policy), ("Percentiles", p.percentile_definition)]
    rules += [(f"Failed requests ({s.name})", text.failed_policy(s)) for s in slos]
    rules += [
        (f"Quiet slices ({s.name})", text.slice_policy(s)) for s in slos if text.slice_policy(s)
    ]
    parts.append(_bullets(rules))
    excluded = [(s.name, e) for s in slos for e in s.exclusions]
    if excluded:
        parts.append(
            _table(
                ("SLO", "does not count from", "to", "reason"),
                ((n, text.when(e.start), text.when(e.end), e.reason) for n, e in excluded),
            )
        )
    parts.append("**Assumptions and notes**")
    parts.append("\n".join(f"- {md(n)}" for n in (*p.notes, *text.ASSUMPTIONS)))
    return "\n\n".join(parts)


def _decisions(inputs: ReportInputs) -> str:
    rows = [
        (c.slo.name, text.objective(c.slo), "agreed" if c.agreed else "not agreed", c.note)
        for c in inputs.candidates
    ]
    sign = [(role, "", "", "") for role in inputs.sign_off_roles]
    return "\n\n".join(
        [
            "## Decision log",
            _table(("SLO", "objective", "decision", "note"), rows),
            "### Sign-off",
            "By signing, each role agrees to the SLOs marked agreed above.",
            _table(("Role", "Name", "Date", "Signature"), sign),
        ]
    )
