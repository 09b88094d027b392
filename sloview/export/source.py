"""Where an exported SLO's numbers come from in production, and the queries that say so.

A `MetricSource` describes a request file (read by sloview), a SQL table, or Prometheus
(a latency histogram in seconds and request counters). From it and an SLO come the
queries the OpenSLO and Sloth writers put in their files. Connection strings are kept
without credentials: user names, passwords and token-like query parameters are removed
when the source is made, so no writer can leak them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sloview import formatting as fmt
from sloview.errors import METRICS_FROM, SpecError
from sloview.export.common import format_shorthand, plain_decimal
from sloview.ingest.table import LATENCY, LATENCY_COLUMNS, OUTPUT_TOKENS
from sloview.model import SLO, Condition

SourceKind = Literal["file", "sql", "prometheus"]
SOURCE_KINDS: tuple[SourceKind, ...] = ("file", "sql", "prometheus")
# The buckets of the official Prometheus client libraries when none are declared (seconds).
DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
DEFAULT_ERROR_CODES = "5..|429"
_SECRET_PARAM = re.compile(r"pass|pwd|token|secret|key|auth|cred|signature|sig$", re.I)
_SECRET_PAIR = re.compile(r"\b(password|passwd|pwd|token|secret|api_?key)\s*=\s*\S+", re.I)
_LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_METRIC = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_SQL_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")
_OPS = {"lte": "<=", "lt": "<", "gte": ">=", "gt": ">"}
_BUCKET_LE = re.compile(r'_bucket\s*\{[^}]*\ble\s*=\s*"([0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)"')


def redact_url(url: str) -> str:
    """A connection URL without user, password, token-like parameters or fragment."""
    text = url.strip()
    if not text:
        return ""
    if "://" not in text:
        # libpq-style "host=db password=x" strings: drop the secret pairs.
        return " ".join(_SECRET_PAIR.sub("", text).split())
    parts = urlsplit(text)
    netloc = parts.netloc.rpartition("@")[2]
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    kept = [(k, v) for k, v in query if not _SECRET_PARAM.search(k)]
    if not netloc:
        # File URLs (sqlite:////abs/path.db): urlunsplit would fold the slashes of the path.
        return f"{parts.scheme}://{parts.path}" + (f"?{urlencode(kept)}" if kept else "")
    return urlunsplit((parts.scheme, netloc, parts.path, urlencode(kept), ""))


@dataclass(frozen=True, kw_only=True, slots=True)
class MetricSource:
    """Where production numbers come from: a request file, a SQL table or Prometheus."""

    kind: SourceKind = "file"
    path: str = ""
    url: str = ""
    # Prometheus: latency histograms (in seconds) per sloview latency column, counters, and
    # label matchers every query carries.
    histograms: tuple[tuple[str, str], ...] = ()
    requests_counter: str = ""
    tokens_counter: str = ""
    matchers: tuple[tuple[str, str], ...] = ()
    status_label: str = "code"
    error_codes: str = DEFAULT_ERROR_CODES
    buckets: tuple[float, ...] = ()
    # SQL: one row per request; latency columns in ms, named as in sloview unless mapped.
    table: str = ""
    timestamp_column: str = "ts"
    status_column: str = "status"
    columns: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in SOURCE_KINDS:
            raise SpecError(
                f"{self.kind!r} is not a source kind",
                where="source.kind",
                hint="use file, sql or prometheus",
            )
        object.__setattr__(self, "url", redact_url(self.url))
        if "://" in self.path:  # object-store paths can carry keys too (s3://key:secret@...)
            object.__setattr__(self, "path", redact_url(self.path))
        if self.kind == "prometheus":
            self._check_prometheus()
        if self.kind == "sql" and not self.table:
            raise SpecError("a SQL source needs the table of requests", where="source.table")
        for metric, _ in self.histograms:
            if metric not in LATENCY_COLUMNS:
                raise SpecError(
                    f"{metric!r} is not a latency column",
                    where="source.histograms",
                    hint=f"use one of {', '.join(LATENCY_COLUMNS)}",
                )
        for metric, _ in self.columns:
            if metric not in (*LATENCY_COLUMNS, OUTPUT_TOKENS):
                raise SpecError(
                    f"{metric!r} is not a sloview column",
                    where="source.columns",
                    hint=f"use one of {', '.join((*LATENCY_COLUMNS, OUTPUT_TOKENS))}",
                )

    def _check_prometheus(self) -> None:
        if not self.histograms and not self.requests_counter:
            raise SpecError(
                "a Prometheus source needs a latency histogram or a requests counter",
                where="source.histograms",
                hint="e.g. --prometheus-histogram http_request_duration_seconds",
                app_hint="enter the latency histogram's name, e.g. http_request_duration_seconds",
            )
        for name in (
            *(h for _, h in self.histograms),
            self.requests_counter,
            self.tokens_counter,
        ):
            if name and not _METRIC.match(name):
                raise SpecError(f"{name!r} is not a Prometheus metric name", where="source")
        for label, _ in self.matchers:
            if not _LABEL.match(label):
                raise SpecError(f"{label!r} is not a Prometheus label name", where="source")
        if any(not (b > 0 and math.isfinite(b)) for b in self.buckets):
            raise SpecError("bucket bounds must be positive seconds", where="source.buckets")

    @property
    def type_name(self) -> str:
        """The OpenSLO `metricSource.type`: Prometheus, PostgreSQL ..., or sloview."""
        if self.kind == "prometheus":
            return "Prometheus"
        if self.kind == "file":
            return "sloview"
        scheme = self.url.split("://", 1)[0].split("+", 1)[0].lower() if self.url else ""
        return {
            "postgresql": "PostgreSQL",
            "postgres": "PostgreSQL",
            "mysql": "MySQL",
            "duckdb": "DuckDB",
            "sqlite": "SQLite",
        }.get(scheme, "SQL")

    def histogram(self, metric: str) -> str:
        """The Prometheus histogram of a sloview latency column."""
        for column, name in self.histograms:
            if column == metric:
                return name
        raise SpecError(
            f"no Prometheus histogram is given for {metric}",
            where="source.histograms",
            hint=f"add --prometheus-histogram {metric}=METRIC (a histogram in seconds)"
            if metric != LATENCY
            else "add --prometheus-histogram METRIC (a histogram in seconds)",
            app_hint=f"enter the name of the {LATENCY_COLUMNS.get(metric, metric)} histogram "
            f"(in seconds) under '{METRICS_FROM}'",
        )

    def requests(self) -> str:
        """The counter of all requests (the latency histogram's `_count` by default)."""
        if self.requests_counter:
            return self.requests_counter
        histograms = dict(self.histograms)
        return f"{histograms.get(LATENCY) or self.histograms[0][1]}_count"

    def column(self, metric: str) -> str:
        """The SQL column of a sloview column."""
        return dict(self.columns).get(metric, metric)


# -- PromQL ----------------------------------------------------------------------------------


def promql_string(value: str) -> str:
    """A PromQL double-quoted string literal."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def selector(metric: str, matchers: list[tuple[str, str, str]]) -> str:
    """`metric{a="b",code!~"5..|429"}` (no braces without matchers)."""
    if not matchers:
        return metric
    inner = ",".join(f"{name}{op}{promql_string(value)}" for name, op, value in matchers)
    return f"{metric}{{{inner}}}"


def base_matchers(source: MetricSource, slo: SLO) -> list[tuple[str, str, str]]:
    """The source's own matchers, then the SLO's segment as label matchers."""
    out = [(k, "=", v) for k, v in source.matchers]
    for column, value in slo.segment:
        if not _LABEL.match(column):
            raise SpecError(
                f"segment column {column!r} is not a Prometheus label name",
                where="segment",
                hint="rename the column (letters, digits and _) to match the label",
            )
        out.append((column, "=", value))
    return out


def ok_matchers(source: MetricSource) -> list[tuple[str, str, str]]:
    """Matchers that keep successful requests (none when the source has no status label)."""
    if not source.status_label:
        return []
    return [(source.status_label, "!~", source.error_codes)]


def failed_matchers(source: MetricSource) -> list[tuple[str, str, str]]:
    """Matchers that keep failed requests."""
    if not source.status_label:
        raise SpecError(
            "an availability SLO on Prometheus needs the status label",
            where="source.status_label",
            hint="give --status-label, e.g. code",
            app_hint=f"enter the status label under '{METRICS_FROM}', e.g. code",
        )
    return [(source.status_label, "=~", source.error_codes)]


def bucket_le(source: MetricSource, threshold_ms: float, histogram: str) -> tuple[str, str | None]:
    """The `le` label value (seconds) for a threshold in ms, and a warning when no bucket has it."""
    # Buckets count requests at or under their bound, so `good = bucket{le=T}` is exact only
    # when T is a bound. The query keeps T (the agreed threshold) either way: a nearby bound
    # would quietly change the SLO. The warning names the bounds there are.
    seconds = threshold_ms / 1000
    known = source.buckets or DEFAULT_BUCKETS
    for bound in known:
        if math.isclose(bound, seconds, rel_tol=1e-9, abs_tol=1e-12):
            return plain_decimal(bound), None
    le = plain_decimal(seconds)
    below = [b for b in known if b < seconds]
    above = [b for b in known if b > seconds]
    near = ", ".join(f'le="{plain_decimal(b)}"' for b in (below[-1:] + above[:1]))
    whose = "declared" if source.buckets else "Prometheus client default"
    return le, (
        f'{histogram}: the threshold {fmt.ms(threshold_ms)} (le="{le}") is not one of the '
        f"{whose} bucket bounds (nearest: {near}); the query returns no data unless the "
        f"histogram has a bucket at {le} s"
    )


def bucket_threshold_ms(query: str) -> float | None:
    """The latency threshold (ms) a query counts with `x_bucket{le="0.3"}`, if any."""
    # Prometheus histograms are in seconds by convention; one named in milliseconds keeps its
    # bound as is. Decimal arithmetic keeps 0.3 s at exactly 300 ms (0.3 * 1000 is not).
    match = _BUCKET_LE.search(query)
    if match is None:
        return None
    le = Decimal(match.group(1))
    return float(le if "millisecond" in query else le * 1000)


# -- the three kinds of metricSource ---------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class IndicatorQueries:
    """What an SLO's indicator reads: `good`/`total` (ratio) or `value` (threshold metric)."""

    good: dict[str, Any] | None = None
    total: dict[str, Any] | None = None
    value: dict[str, Any] | None = None
    warnings: tuple[str, ...] = ()


def indicator_queries(slo: SLO, source: MetricSource) -> IndicatorQueries:
    """The metric sources of an SLO's indicator, for OpenSLO (queries without a window)."""
    if source.kind == "prometheus":
        return _prometheus_queries(slo, source)
    if source.kind == "sql":
        return _sql_queries(slo, source)
    return _file_queries(slo, source)


def is_threshold_metric(slo: SLO) -> bool:
    """Whether the indicator is a per-slice value (percentile, throughput), not good/total."""
    return slo.sli.is_percentile or slo.sli.kind == "throughput"


def _wrap(source: MetricSource, spec: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if source.url:
        out["metricSourceRef"] = data_source_name(source)
    out["type"] = source.type_name
    out["spec"] = spec
    return {"metricSource": out}


def data_source_name(source: MetricSource) -> str:
    """The name of the OpenSLO DataSource document that holds the source's URL."""
    return source.type_name.lower()


def _conditions_text(
    conditions: tuple[Condition, ...], column: Callable[[str], str] = str
) -> list[str]:
    """`ttft_ms <= 500` per condition (column names mapped by `column`)."""
    return [f"{column(c.metric)} {_OPS[c.op]} {plain_decimal(c.threshold)}" for c in conditions]


def _joint_promql(slo: SLO, source: MetricSource, warnings: list[str]) -> str:
    """Good-event text for a joint SLI on Prometheus, where it cannot be a query."""
    # Separate histograms count each condition on its own; which requests met all of them at
    # once is lost, so any PromQL here would be a bound, not the SLI. The text says what to
    # count instead, and stays a PromQL comment so nothing runs it by mistake.
    conditions = " AND ".join(_conditions_text(slo.sli.conditions))
    what = "a joint SLI" if slo.sli.kind == "joint" else "goodput"
    warnings.append(
        f"{slo.name}: {what} ({conditions} on the same request) cannot be computed from "
        "separate Prometheus histograms; the query describes it: count such requests "
        "in the service (a counter) and put that counter's query there"
    )
    status = f"{source.status_label}!~{promql_string(source.error_codes)}"
    who = " ".join(f"{c}={promql_string(v)}" for c, v in slo.segment)
    return (
        f"# not expressible in PromQL: count {who + ' ' if who else ''}requests with "
        f"{status} AND {conditions} (ms, all on the same request); sloview's joint SLI. "
        "Replace this line with the query of a counter of such requests."
    )


def _prometheus_queries(slo: SLO, source: MetricSource) -> IndicatorQueries:
    sli, base, ok = slo.sli, base_matchers(source, slo), ok_matchers(source)
    warnings: list[str] = []
    if sli.kind == "joint":
        good = _joint_promql(slo, source, warnings)
        # Every request counts (failed ones are bad); requests without a value for a
        # condition's column are left out by sloview, which a request counter cannot do.
        total = f"sum({selector(source.requests(), base)})"
        return IndicatorQueries(
            good=_wrap(source, {"query": good}),
            total=_wrap(source, {"query": total}),
            warnings=tuple(warnings),
        )
    if sli.kind == "availability":
        counter = source.requests()
        good = f"sum({selector(counter, base + ok)})"
        total = f"sum({selector(counter, base)})"
        return IndicatorQueries(
            good=_wrap(source, {"query": good}), total=_wrap(source, {"query": total})
        )
    window = format_shorthand(int(slo.budgeting.slice_s or 300))
    if sli.kind == "throughput":
        if sli.unit == "goodput":
            good = _joint_promql(slo, source, warnings)
            query = f"{good}\n# goodput: that counter's rate over {window}, in requests/s"
            return IndicatorQueries(value=_wrap(source, {"query": query}), warnings=tuple(warnings))
        if sli.unit == "output_tokens":
            if not source.tokens_counter:
                raise SpecError(
                    "a throughput SLO of output tokens needs the token counter",
                    where="source.tokens_counter",
                    hint="give --prometheus-tokens METRIC",
                    app_hint=f"enter the output token counter under '{METRICS_FROM}'",
                )
            query = f"sum(rate({selector(source.tokens_counter, base)}[{window}]))"
        else:
            query = f"sum(rate({selector(source.requests(), base)}[{window}]))"
        return IndicatorQueries(value=_wrap(source, {"query": query}))
    hist = source.histogram(sli.metric)
    if sli.is_percentile:
        q = plain_decimal((sli.percentile or 0) / 100)
        inner = f"sum by (le) (rate({selector(hist + '_bucket', base + ok)}[{window}]))"
        if sli.failed_requests == "bad":
            warnings.append(
                f"{slo.name}: a PromQL percentile cannot count failed requests as slow; the "
                "query leaves them out"
            )
        # The objective's value is in ms, as in sloview; the histogram is in seconds.
        query = f"histogram_quantile({q}, {inner}) * 1000"
        return IndicatorQueries(value=_wrap(source, {"query": query}), warnings=tuple(warnings))
    le, warning = bucket_le(source, float(slo.objective.threshold or 0), hist)
    if warning:
        warnings.append(f"{slo.name}: {warning}")
    if slo.objective.op == "lt":
        warnings.append(
            f"{slo.name}: histogram buckets count requests at or under their bound, so "
            "`lt` is counted as `lte`"
        )
    total_matchers = base + ok if sli.failed_requests == "exclude" else base
    good = f"sum({selector(hist + '_bucket', [*base, *ok, ('le', '=', le)])})"
    total = f"sum({selector(hist + '_count', total_matchers)})"
    return IndicatorQueries(
        good=_wrap(source, {"query": good}),
        total=_wrap(source, {"query": total}),
        warnings=tuple(warnings),
    )


def sql_ident(name: str) -> str:
    """An SQL identifier, double-quoted unless plain lower-case (schema.table kept)."""
    return ".".join(
        part if _SQL_IDENT.match(part) else '"' + part.replace('"', '""') + '"'
        for part in name.split(".")
    )


def sql_string(value: str) -> str:
    """An SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def _sql_queries(slo: SLO, source: MetricSource) -> IndicatorQueries:
    sli = slo.sli
    st = sql_ident(source.status_column)
    failed = f"({st} >= 500 OR {st} = 429)"
    where = [
        f"{sql_ident(source.timestamp_column)} >= :start",
        f"{sql_ident(source.timestamp_column)} < :end",
    ]
    where += [f"{sql_ident(c)} = {sql_string(v)}" for c, v in slo.segment]
    table = sql_ident(source.table)

    def count(extra: list[str]) -> dict[str, Any]:
        cond = " AND ".join(where + extra)
        return _wrap(source, {"query": f"SELECT count(*) FROM {table} WHERE {cond}"})

    if sli.kind == "availability":
        return IndicatorQueries(good=count([f"NOT {failed}"]), total=count([]))

    def column(metric: str) -> str:
        return sql_ident(source.column(metric))

    joint = _conditions_text(sli.conditions, column)
    if sli.kind == "joint":
        # Exact in SQL: one row is one request. Successful requests without a value in a
        # condition's column are left out of the total, as sloview does.
        present = " AND ".join(f"{column(c.metric)} IS NOT NULL" for c in sli.conditions)
        return IndicatorQueries(
            good=count([f"NOT {failed}", *joint]),
            total=count([f"({failed} OR ({present}))"]),
        )
    slice_s = int(slo.budgeting.slice_s or 300)
    if sli.kind == "throughput":
        if sli.unit == "goodput":
            cond = " AND ".join([*where, f"NOT {failed}", *joint])
            query = f"SELECT count(*) / {slice_s}.0 FROM {table} WHERE {cond}"
            return IndicatorQueries(value=_wrap(source, {"query": query}))
        amount = (
            f"coalesce(sum({sql_ident(source.column(OUTPUT_TOKENS))}), 0)"
            if sli.unit == "output_tokens"
            else "count(*)"
        )
        cond = " AND ".join(where)
        query = f"SELECT {amount} / {slice_s}.0 FROM {table} WHERE {cond}"
        return IndicatorQueries(value=_wrap(source, {"query": query}))
    col = sql_ident(source.column(sli.metric))
    if sli.is_percentile:
        q = plain_decimal((sli.percentile or 0) / 100)
        if sli.failed_requests == "bad":
            order = f"CASE WHEN {failed} THEN CAST('Infinity' AS DOUBLE PRECISION) ELSE {col} END"
            cond = " AND ".join(where)
        else:
            order, cond = col, " AND ".join([*where, f"NOT {failed}"])
        query = (
            f"SELECT percentile_cont({q}) WITHIN GROUP (ORDER BY {order}) FROM {table} WHERE {cond}"
        )
        return IndicatorQueries(value=_wrap(source, {"query": query}))
    limit = f"{col} {_OPS[slo.objective.op]} {plain_decimal(float(slo.objective.threshold or 0))}"
    total_extra = [f"NOT {failed}"] if sli.failed_requests == "exclude" else []
    return IndicatorQueries(good=count([f"NOT {failed}", limit]), total=count(total_extra))


def _file_queries(slo: SLO, source: MetricSource) -> IndicatorQueries:
    sli = slo.sli

    def spec(**fields: Any) -> dict[str, Any]:
        out: dict[str, Any] = {"file": source.path} if source.path else {}
        out.update(fields)
        if slo.segment:
            out["where"] = dict(slo.segment)
        return _wrap(source, out)

    if sli.kind == "availability":
        return IndicatorQueries(good=spec(count="ok"), total=spec(count="all"))
    joint = " and ".join(_conditions_text(sli.conditions))
    columns = [c.metric for c in sli.conditions]
    if sli.kind == "joint":
        return IndicatorQueries(
            good=spec(columns=list(columns), count=f"ok and {joint}"),
            total=spec(
                columns=list(columns),
                count=f"all, except successful requests without {' or '.join(columns)}",
            ),
        )
    per = format_shorthand(int(slo.budgeting.slice_s or 300))
    if sli.kind == "throughput":
        if sli.unit == "goodput":
            return IndicatorQueries(
                value=spec(
                    columns=columns,
                    count=f"ok and {joint}",
                    aggregate="requests per second",
                    per=per,
                )
            )
        if sli.unit == "output_tokens":
            value = spec(column=OUTPUT_TOKENS, count="all", aggregate="sum per second", per=per)
        else:
            value = spec(count="all", aggregate="requests per second", per=per)
        return IndicatorQueries(value=value)
    counted = "ok" if sli.failed_requests == "exclude" else "all (failed count as too slow)"
    if sli.is_percentile:
        return IndicatorQueries(
            value=spec(
                column=sli.metric,
                count=counted,
                aggregate=f"p{sli.percentile:g}",
                per=per,
            )
        )
    bound = plain_decimal(float(slo.objective.threshold or 0))
    limit = f"{sli.metric} {_OPS[slo.objective.op]} {bound}"
    total = "ok" if sli.failed_requests == "exclude" else "all"
    return IndicatorQueries(
        good=spec(column=sli.metric, count=f"ok and {limit}"),
        total=spec(column=sli.metric, count=total),
    )


def prometheus_needs(slos: Sequence[SLO]) -> tuple[tuple[str, ...], bool]:
    """What PromQL for these SLOs reads beyond the end-to-end latency histogram and the
    status label: the other latency histograms (TTFT, TPOT), and whether the output token
    counter (a throughput SLO of tokens)."""
    metrics = sorted({m for slo in slos for m in slo.sli.metrics} - {LATENCY})
    tokens = any(s.sli.kind == "throughput" and s.sli.unit == "output_tokens" for s in slos)
    return tuple(metrics), tokens
