"""Plain-English statements of SLOs, for the room and for the report."""

from __future__ import annotations

from sloview import formatting as fmt
from sloview.composite_slo import CompositeSLO
from sloview.ingest.table import OUTPUT_LENGTH
from sloview.model import SLO, Condition

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
# Shorter verbs for a joint SLI, where several conditions share one sentence.
JOINT_VERBS = {
    "latency_ms": "complete within",
    "ttft_ms": "get their first token within",
    "tpot_ms": "stream each token within",
}
METRIC_ABBREVIATIONS = {"latency_ms": "latency", "ttft_ms": "TTFT", "tpot_ms": "TPOT"}
# What the generative measures mean, in words for people who were not in the room: (term,
# explanation) for the app's help texts and the report's glossary.
TERMS: dict[str, tuple[str, str]] = {
    "latency_ms": ("End-to-end latency", "how long until the whole answer has arrived."),
    "ttft_ms": (
        "Time to first token (TTFT)",
        "how long until the answer starts appearing: from sending the request to the first "
        "token of the reply.",
    ),
    "tpot_ms": (
        "Time per output token (TPOT)",
        "how fast the answer streams once it has started: the time after the first token "
        "divided by the number of tokens that follow.",
    ),
    "joint": (
        "Joint SLI",
        "a request counts as good only when it succeeded and met every condition at once (for "
        "example a quick first token AND a fast stream). Failed requests count as bad; "
        "requests that cannot be judged on a condition (an embedding has no first token) are "
        "left out.",
    ),
    "goodput": (
        "Goodput",
        "requests per second that were good in every way (succeeded and met every condition), "
        "as opposed to throughput, which counts every request.",
    ),
}


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
    band = next((v for c, v in slo.segment if c == OUTPUT_LENGTH), None)
    values = [v for c, v in slo.segment if c != OUTPUT_LENGTH]
    who = (
        "requests"
        if not values
        else f"{values[0]} requests" + "".join(f" ({v})" for v in values[1:])
    )
    if band is not None:
        # "requests with 257-1024 output tokens" reads better than "257-1024 requests".
        tokens = band.replace("<=", "at most ").replace(">", "more than ")
        who += f" with {tokens} output tokens" if band != "(missing)" else " without a token count"
    return who


def condition_phrase(cond: Condition) -> str:
    """`get their first token within 500 ms` / `stream each token in under 50 ms`."""
    verb = JOINT_VERBS.get(cond.metric, "complete within")
    if cond.op == "lt":
        verb = verb.replace("within", "in under")
    return f"{verb} {fmt.ms(cond.threshold)}"


def joint_phrase(conditions: tuple[Condition, ...]) -> str:
    """`succeed, get their first token within 500 ms and stream each token within 50 ms`."""
    parts = ["succeed", *(condition_phrase(c) for c in conditions)]
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def conditions_short(conditions: tuple[Condition, ...]) -> str:
    """`TTFT <= 500 ms, TPOT <= 50 ms` (labels and tables)."""
    symbol = {"lte": "<=", "lt": "<"}
    return ", ".join(
        f"{METRIC_ABBREVIATIONS.get(c.metric, c.metric)} {symbol[c.op]} {fmt.ms(c.threshold)}"
        for c in conditions
    )


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
            return f"{fmt.percent(obj.target)} of {who} succeed, {window}."
        if sli.kind == "joint":
            return f"{fmt.percent(obj.target)} of {who} {joint_phrase(sli.conditions)}, {window}."
        verb = METRIC_VERBS.get(sli.metric, "complete within")
        if obj.op == "lt":
            verb = verb.replace("within", "in under")
        limit = fmt.ms(obj.threshold or 0)
        return f"{fmt.percent(obj.target)} of {who} {verb} {limit}{failed}, {window}."
    slice_len = fmt.duration(b.slice_s or 60)
    slices = f"{fmt.percent(obj.target)} of {slice_len} slices"
    if sli.kind == "throughput":
        if sli.unit == "goodput":
            return (
                f"Goodput of {who} (requests that {joint_phrase(sli.conditions)}) is at least "
                f"{obj.threshold:g} requests/s in {slices}, {window}."
            )
        unit = "requests/s" if sli.unit == "requests" else "output tokens/s"
        return f"Throughput of {who} is at least {obj.threshold:g} {unit} in {slices}, {window}."
    if sli.is_percentile:
        noun = METRIC_NOUNS.get(sli.metric, "latency")
        return (
            f"The {ordinal(sli.percentile or 0)} percentile {noun} of {who} stays {op} "
            f"{fmt.ms(obj.threshold or 0)}{failed} in {slices}, {window}."
        )
    if sli.kind == "availability":
        inner = "succeed"
    elif sli.kind == "joint":
        inner = joint_phrase(sli.conditions)
    else:
        verb = METRIC_VERBS.get(sli.metric, "complete within")
        inner = (
            f"{verb if obj.op == 'lte' else verb.replace('within', 'in under')} "
            f"{fmt.ms(obj.threshold or 0)}{failed}"
        )
    if b.method == "RatioTimeslices":
        return (
            f"On average over {slice_len} slices, {fmt.percent(obj.target)} of {who} {inner}, "
            f"{window}."
        )
    return f"In {slices}, at least {fmt.percent(b.slice_target or 1)} of {who} {inner}, {window}."


def composite_statement(composite: CompositeSLO) -> str:
    """`A composite of 2 objectives measured over ... (its error budget burns at the weighted
    sum of theirs): (1) ...; (2) ... (weight 2)`."""
    window = f"measured over {composite.window.describe()}"
    parts = []
    for i, (slo, weight) in enumerate(
        zip(composite.objectives, composite.weights, strict=True), start=1
    ):
        text = statement(slo).rstrip(".")
        text = text.replace(f", {window}", "")
        weighs = "" if weight == 1 else f" (weight {weight:g})"
        parts.append(f"({i}) {text[:1].lower()}{text[1:]}{weighs}")
    n = len(composite.objectives)
    return (
        f"A composite of {n} objectives {window} (its error budget burns at the weighted sum "
        "of theirs): " + "; ".join(parts) + "."
    )
