"""Plain-English statements of SLOs, for the room and for the report."""

from __future__ import annotations

from sloview.model import SLO, CompositeSLO
from sloview.units import format_duration, format_ms

METRIC_VERBS = {
    "latency_ms": "complete within",
    "ttft_ms": "get their first token within",
    "tpot_ms": "stream each output token within",
}
METRIC_NOUNS = {
    "latency_ms": "latency",
    "ttft_ms": "time to first token",
    "tpot_ms": "time per output token",
}


def percent(share: float, digits: int = 4) -> str:
    """0.995 -> `99.5%`, 0.95 -> `95%`, 0.9999 -> `99.99%` (at most `digits` decimals)."""
    text = f"{100 * share:.{digits}f}".rstrip("0").rstrip(".")
    return f"{text}%"


def ordinal(q: float) -> str:
    """95 -> `95th`, 99.9 -> `99.9th`, 50 -> `50th`."""
    text = f"{q:g}"
    if "." in text:
        return f"{text}th"
    n = int(q)
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def subject(slo: SLO) -> str:
    """`requests`, `chat requests`, `chat requests on atlas-large in eu-west`."""
    values = [v for _, v in slo.segment]
    if not values:
        return "requests"
    return f"{values[0]} requests" + "".join(f" ({v})" for v in values[1:])


def statement(slo: SLO) -> str:
    """One sentence a stakeholder can sign: what is promised, for whom, over which window."""
    sli, obj, b = slo.sli, slo.objective, slo.budgeting
    window = f"measured over {slo.window.describe()}"
    who = subject(slo)
    op = "within" if obj.op == "lte" else "in under"
    failed = (
        " (failed requests count as too slow)"
        if sli.kind == "latency" and (sli.failed_requests == "bad")
        else ""
    )
    if b.method == "Occurrences":
        if sli.kind == "availability":
            return f"{percent(obj.target)} of {who} succeed, {window}."
        verb = METRIC_VERBS.get(sli.metric, "complete within")
        if obj.op == "lt":
            verb = verb.replace("within", "in under")
        limit = format_ms(obj.threshold or 0)
        return f"{percent(obj.target)} of {who} {verb} {limit}{failed}, {window}."
    slice_len = format_duration(b.slice_s or 60)
    slices = f"{percent(obj.target)} of {slice_len} slices"
    if sli.kind == "throughput":
        unit = "requests/s" if sli.unit == "requests" else "output tokens/s"
        return f"Throughput of {who} is at least {obj.threshold:g} {unit} in {slices}, {window}."
    if sli.is_percentile:
        noun = METRIC_NOUNS.get(sli.metric, "latency")
        return (
            f"The {ordinal(sli.percentile or 0)} percentile {noun} of {who} stays {op} "
            f"{format_ms(obj.threshold or 0)}{failed} in {slices}, {window}."
        )
    if sli.kind == "availability":
        inner = "succeed"
    else:
        verb = METRIC_VERBS.get(sli.metric, "complete within")
        inner = (
            f"{verb if obj.op == 'lte' else verb.replace('within', 'in under')} "
            f"{format_ms(obj.threshold or 0)}{failed}"
        )
    if b.method == "RatioTimeslices":
        return (
            f"On average over {slice_len} slices, {percent(obj.target)} of {who} {inner}, {window}."
        )
    return f"In {slices}, at least {percent(b.slice_target or 1)} of {who} {inner}, {window}."


def composite_statement(composite: CompositeSLO) -> str:
    """`All of these hold, measured over ...: (1) ...; (2) ...`."""
    window = f"measured over {composite.window.describe()}"
    parts = []
    for i, slo in enumerate(composite.objectives, start=1):
        text = statement(slo).rstrip(".")
        text = text.replace(f", {window}", "")
        parts.append(f"({i}) {text[:1].lower()}{text[1:]}")
    return f"All of these hold, {window}: " + "; ".join(parts) + "."
