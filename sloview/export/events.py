"""The PromQL of an SLO's events: errors and total over a window, for Sloth specs and rules.

Burn-rate alerting counts requests, so only Occurrences SLOs of availability or latency
have an error ratio PromQL can compute: latency as the histogram's `_count` minus its
bucket at the threshold (`le` in seconds), availability as requests with a failed status
over all requests. Everything else is refused here, once, with what to do instead:

- time slices (Timeslices, RatioTimeslices, a percentile per slice, throughput): each slice
  is judged by its own verdict, which a ratio of counters over a window cannot reproduce;
- a joint SLI or goodput: separate histograms count each condition on its own, and which
  requests met all of them at once is lost.

`strict` (the rule export, whose alerts must equal the backtest) also refuses what a
Sloth spec only warns about: a threshold that is not a bucket bound and `lt`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sloview.errors import SpecError
from sloview.export.common import plain_decimal
from sloview.export.source import (
    DEFAULT_BUCKETS,
    MetricSource,
    base_matchers,
    bucket_le,
    failed_matchers,
    ok_matchers,
    selector,
)
from sloview.model import SLO


@dataclass(frozen=True, kw_only=True, slots=True)
class EventQueries:
    """`error` and `total` PromQL (request rates) with `WINDOW` where the range goes."""

    error: str
    total: str
    warnings: tuple[str, ...] = ()

    def at(self, window: str) -> tuple[str, str]:
        """(error, total) with the range filled in, e.g. `5m`."""
        return self.error.replace(WINDOW, window), self.total.replace(WINDOW, window)


# Stands for the range of every rate() until a window is chosen (Sloth writes `{{.window}}`).
WINDOW = "{{.window}}"


def refuse_joint(slo: SLO, target: str) -> None:
    """Refuse a joint SLI or goodput: PromQL over separate histograms cannot count it."""
    if slo.sli.uses_conditions:
        what = "a joint SLI" if slo.sli.kind == "joint" else "goodput"
        raise SpecError(
            f"{target} needs PromQL, and {what} (several conditions on the same request: "
            f"{', '.join(c.text() for c in slo.sli.conditions)}) cannot be written in PromQL",
            where=f"{slo.name}: sli.kind",
            hint="export this SLO to OpenSLO (its conditions are kept), or count requests "
            "meeting every condition in the service and alert on that counter",
        )


def refuse_slices(slo: SLO, target: str) -> None:
    """Refuse time-slice budgeting: burn-rate rules count requests, not slices."""
    if slo.budgeting.method != "Occurrences":
        what = {
            "latency": "a latency percentile per slice" if slo.sli.is_percentile else "latency",
            "availability": "availability",
            "throughput": "throughput",
            "joint": "a joint SLI",
        }[slo.sli.kind]
        raise SpecError(
            f"{target} has no time slices, so {what} judged with {slo.budgeting.method} "
            "cannot be written for it",
            where=f"{slo.name}: budgeting.method",
            hint="export this SLO to OpenSLO, or judge it with Occurrences (a share of requests)",
        )


def event_queries(
    slo: SLO, source: MetricSource, *, target: str = "Sloth", strict: bool = False
) -> EventQueries:
    """Errors and total of an Occurrences SLO as PromQL request rates over `WINDOW`."""
    refuse_joint(slo, target)
    refuse_slices(slo, target)
    base = base_matchers(source, slo)
    rng = f"[{WINDOW}]"
    if slo.sli.kind == "availability":
        counter = source.requests()
        error = f"sum(rate({selector(counter, base + failed_matchers(source))}{rng}))"
        total = f"sum(rate({selector(counter, base)}{rng}))"
        return EventQueries(error=error, total=total)
    hist = source.histogram(slo.sli.metric)
    threshold_ms = float(slo.objective.threshold or 0)
    le, warning = bucket_le(source, threshold_ms, hist)
    warnings = []
    if warning:
        if strict:
            raise SpecError(
                _no_bound(source, threshold_ms, hist),
                where=f"{slo.name}: objective.threshold",
                hint="move the threshold to a bucket bound (the Design page and `sloview "
                "simulate --threshold-ms` show how it would have done there), or declare the "
                "histogram's real bounds with --prometheus-buckets",
            )
        warnings.append(f"{slo.name}: {warning}")
    if slo.objective.op == "lt":
        if strict:
            raise SpecError(
                "histogram buckets count requests at or under their bound, so `lt` (strictly "
                "under) cannot be counted from them",
                where=f"{slo.name}: objective.op",
                hint="use lte: the threshold is then the bucket bound itself",
            )
        warnings.append(
            f"{slo.name}: histogram buckets count requests at or under their bound, so `lt` "
            "is counted as `lte`"
        )
    ok = ok_matchers(source)
    counted = base + ok if slo.sli.failed_requests == "exclude" else base
    total = f"sum(rate({selector(hist + '_count', counted)}{rng}))"
    good = f"sum(rate({selector(hist + '_bucket', [*base, *ok, ('le', '=', le)])}{rng}))"
    return EventQueries(error=f"{total} - {good}", total=total, warnings=tuple(warnings))


def _no_bound(source: MetricSource, threshold_ms: float, hist: str) -> str:
    """`no bucket bound equals 300 ms; the nearest are le="0.25" and le="0.5"`."""
    seconds = threshold_ms / 1000
    known = source.buckets or DEFAULT_BUCKETS
    below = [b for b in known if b < seconds][-1:]
    above = [b for b in known if b > seconds][:1]
    near = " and ".join(f'le="{plain_decimal(b)}"' for b in below + above)
    whose = "its declared bounds" if source.buckets else "the Prometheus client default bounds"
    return (
        f"no bucket bound of {hist} equals the threshold {plain_decimal(seconds)} s "
        f"({whose}); the nearest are {near}: a rule at another bound would judge a different "
        "SLO than the one agreed"
    )
